//! Idle HTTP/1 connections of one [`super::Client`], reused by its later requests.
//!
//! A connection goes back to the pool once its answer has been read to the end (hyper says
//! so by `ready()`); one whose answer was dropped halfway, or that the server closed, never
//! does. Idle ones are kept a short while only: the server closes a connection that sends
//! no request within its header timeout, and a request sent as it does would fail.

use super::ReqBody;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

pub type Sender = hyper::client::conn::http1::SendRequest<ReqBody>;

/// Idle connections kept; more are closed (a burst of parallel requests opens more).
const MAX_IDLE: usize = 16;
/// Idle time after which a connection is not used again (well under a server's header
/// timeout, 10 s at the least).
const MAX_IDLE_TIME: Duration = Duration::from_secs(5);

#[derive(Default)]
pub struct Pool {
    idle: Mutex<Vec<(Instant, Sender)>>,
}

impl Pool {
    /// The most recently used idle connection that can take a request now, if any.
    pub fn take(&self) -> Option<Sender> {
        let mut idle = self.idle.lock().unwrap_or_else(PoisonError::into_inner);
        while let Some((since, sender)) = idle.pop() {
            if since.elapsed() < MAX_IDLE_TIME && sender.is_ready() {
                return Some(sender);
            }
        }
        None
    }

    /// Puts `sender` back once its connection is idle again (its answer read to the end).
    pub fn keep_when_idle(self: &Arc<Self>, mut sender: Sender) {
        let pool = Arc::downgrade(self);
        tokio::spawn(async move {
            if sender.ready().await.is_err() {
                return;
            }
            let Some(pool) = pool.upgrade() else {
                return;
            };
            let mut idle = pool.idle.lock().unwrap_or_else(PoisonError::into_inner);
            idle.retain(|(since, s)| since.elapsed() < MAX_IDLE_TIME && !s.is_closed());
            if idle.len() < MAX_IDLE {
                idle.push((Instant::now(), sender));
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::super::{Client, Endpoint, empty, request};
    use bytes::Bytes;
    use http_body_util::{BodyExt, Full};
    use hyper::{Method, Response};
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// A hyper server on loopback that counts the connections it accepts.
    async fn server() -> std::io::Result<(String, Arc<AtomicUsize>)> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?.to_string();
        let accepted = Arc::new(AtomicUsize::new(0));
        let count = accepted.clone();
        tokio::spawn(async move {
            while let Ok((io, _)) = listener.accept().await {
                count.fetch_add(1, Ordering::SeqCst);
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(|_req| async {
                        Ok::<_, std::convert::Infallible>(Response::new(Full::new(
                            Bytes::from_static(b"{}"),
                        )))
                    });
                    let io = hyper_util::rt::TokioIo::new(io);
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(io, service)
                        .await;
                });
            }
        });
        Ok((addr, accepted))
    }

    #[tokio::test]
    async fn a_pooled_client_reuses_its_connection() -> Result<(), Box<dyn std::error::Error>> {
        let (addr, accepted) = server().await?;
        let pooled = Client::new(Endpoint::Tcp(addr.clone())).pooled();
        for _ in 0..5 {
            let resp = pooled.send(request(Method::GET, "/", empty())?).await?;
            resp.into_body().collect().await?;
            // The connection goes back once hyper has seen the answer's end.
            let pool = pooled.pool.clone().ok_or("not pooled")?;
            for _ in 0..1000 {
                if !pool.idle.lock().map_err(|e| e.to_string())?.is_empty() {
                    break;
                }
                tokio::time::sleep(std::time::Duration::from_millis(1)).await;
            }
        }
        assert_eq!(accepted.load(Ordering::SeqCst), 1);

        let plain = Client::new(Endpoint::Tcp(addr));
        for _ in 0..3 {
            let _: serde_json::Value = plain.get("/").await?;
        }
        assert_eq!(accepted.load(Ordering::SeqCst), 4);
        Ok(())
    }
}
