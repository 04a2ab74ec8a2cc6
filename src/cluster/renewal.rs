//! Lease renewals (fencing, `node/lease.rs`): one `POST /v1/lease` per beat per node, on a
//! kept-alive connection of their own (not worth a TCP handshake each). The connection is
//! taken out while a renewal uses it and put back only after a clean answer, so a broken or
//! timed-out one is never reused.

use super::remote::RemoteError;
use crate::client::{self, ClientError, Endpoint, ReqBody};
use crate::protocol::{LeaseRenewal, NodeRoute};
use http_body_util::BodyExt;
use hyper::client::conn::http1::SendRequest;
use hyper::header::{self, HeaderValue};
use hyper_util::rt::TokioIo;
use std::time::Duration;
use tokio::sync::Mutex;

/// The renewal connection to one node.
pub struct Renewals {
    endpoint: Endpoint,
    /// The node token.
    token: Option<String>,
    conn: Mutex<Option<SendRequest<ReqBody>>>,
}

impl Renewals {
    pub fn new(endpoint: Endpoint, token: Option<String>) -> Renewals {
        Renewals {
            endpoint,
            token,
            conn: Mutex::new(None),
        }
    }

    /// `POST /v1/lease?sent_ms=T&lease_ms=L`: renews the node's lease by echoing the
    /// `sent_ms` of a feed line just read ([`LeaseRenewal`]); answered within `within` or
    /// given up.
    pub async fn renew(
        &self,
        sent_ms: u64,
        lease: Duration,
        within: Duration,
    ) -> Result<(), RemoteError> {
        let lease_ms = u64::try_from(lease.as_millis().max(1)).unwrap_or(u64::MAX);
        let path = NodeRoute::Lease.uri(&LeaseRenewal { sent_ms, lease_ms })?;
        let mut slot = self.conn.lock().await;
        let exchange = async {
            if let Some(mut sender) = slot.take().filter(|s| !s.is_closed()) {
                match self.lease_request(&mut sender, &path).await {
                    Ok(()) => return Ok(sender),
                    // The node may have closed the idle connection as this was sent: once
                    // more on a new one (a renewal may be repeated).
                    Err(e) if e.is_transient() => {}
                    Err(e) => return Err(e),
                }
            }
            let mut sender = self.connect_for_lease().await?;
            self.lease_request(&mut sender, &path).await?;
            Ok(sender)
        };
        match tokio::time::timeout(within, exchange).await {
            Ok(Ok(sender)) => {
                *slot = Some(sender);
                Ok(())
            }
            Ok(Err(e)) => Err(e),
            Err(_) => Err(RemoteError::Transient(format!(
                "no answer to the lease renewal within {}",
                humantime::format_duration(within)
            ))),
        }
    }

    /// One `POST` of `path` on the renewal connection; a non-2xx answer is an error.
    async fn lease_request(
        &self,
        sender: &mut SendRequest<ReqBody>,
        path: &str,
    ) -> Result<(), RemoteError> {
        let transient = |e: hyper::Error| RemoteError::Transient(e.to_string());
        let mut req = client::request(NodeRoute::Lease.method(), path, client::empty())?;
        self.authorize(&mut req);
        sender.ready().await.map_err(transient)?;
        let resp = sender.send_request(req).await.map_err(transient)?;
        let status = resp.status();
        let body = resp
            .into_body()
            .collect()
            .await
            .map_err(transient)?
            .to_bytes();
        if status.is_success() {
            return Ok(());
        }
        let message = serde_json::from_slice::<crate::api::ErrorBody>(&body)
            .map(|e| e.error)
            .unwrap_or_else(|_| String::from_utf8_lossy(&body).trim().to_string());
        Err(ClientError::Api { status, message }.into())
    }

    /// A new HTTP/1.1 connection to the node for renewals.
    async fn connect_for_lease(&self) -> Result<SendRequest<ReqBody>, RemoteError> {
        let refused = |e: std::io::Error| RemoteError::Transient(format!("cannot connect: {e}"));
        match &self.endpoint {
            Endpoint::Tcp(addr) => {
                let io = tokio::net::TcpStream::connect(addr)
                    .await
                    .map_err(refused)?;
                let _ = io.set_nodelay(true);
                handshake(io).await
            }
            Endpoint::Unix(path) => {
                let io = tokio::net::UnixStream::connect(path)
                    .await
                    .map_err(refused)?;
                handshake(io).await
            }
        }
    }

    /// The headers [`crate::client::Client::send`] sets, for requests on this connection.
    fn authorize(&self, req: &mut hyper::Request<ReqBody>) {
        let host = match &self.endpoint {
            Endpoint::Unix(_) => "localhost".to_string(),
            Endpoint::Tcp(a) => a.clone(),
        };
        if let Ok(v) = HeaderValue::from_str(&host) {
            req.headers_mut().insert(header::HOST, v);
        }
        if let Some(v) = self.token.as_deref().and_then(crate::token::bearer) {
            req.headers_mut().insert(header::AUTHORIZATION, v);
        }
    }
}

/// An HTTP/1.1 handshake on `io`, its connection driven by a task of its own.
async fn handshake<S>(io: S) -> Result<SendRequest<ReqBody>, RemoteError>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(io))
        .await
        .map_err(|e| RemoteError::Transient(e.to_string()))?;
    tokio::spawn(async move {
        let _ = conn.await;
    });
    Ok(sender)
}
