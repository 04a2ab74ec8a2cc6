//! Serving connections within limits: at most `max_connections` open at once across a
//! server's listeners, each request head read within a timeout. A connection past the limit
//! is not just left unaccepted (its client would hang in the backlog): it is answered `503`
//! with `Retry-After` and closed, by a bounded number of short-lived tasks.

use super::Body;
use super::respond::ApiError;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::Semaphore;

/// Connections past the limit answered at once; past these too, a connection is closed
/// unanswered.
const OVERFLOW_ANSWERS: usize = 64;
/// How long answering one connection past the limit may take.
const OVERFLOW_TIME: Duration = Duration::from_secs(2);
/// What a client past the limit is told to wait, in seconds.
const RETRY_AFTER_SECS: u64 = 1;

/// The connections of one server (every listener of `jobod serve`, or a node).
pub struct Conns {
    slots: Arc<Semaphore>,
    overflow: Arc<Semaphore>,
    max: usize,
    head_timeout: Duration,
    /// When the limit was last logged (seconds since `started`), so a flood logs little.
    warned: AtomicU64,
    started: Instant,
}

impl Conns {
    /// At most `max` connections; a request head must arrive within `head_timeout`.
    pub fn new(max: usize, head_timeout: Duration) -> Arc<Conns> {
        Arc::new(Conns {
            slots: Arc::new(Semaphore::new(max)),
            overflow: Arc::new(Semaphore::new(OVERFLOW_ANSWERS)),
            max,
            head_timeout,
            warned: AtomicU64::new(0),
            started: Instant::now(),
        })
    }

    /// Says at most once a minute that connections are being refused.
    fn warn_now_and_then(&self) {
        let now = self.started.elapsed().as_secs() + 60;
        let last = self.warned.load(Ordering::Relaxed);
        if now >= last + 60
            && self
                .warned
                .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
        {
            tracing::warn!(
                "{} connections open (max_connections): new ones are answered 503",
                self.max
            );
        }
    }

    /// Serves HTTP/1.1 on `io` in its own task, every request through `handler`, if a slot
    /// is free; else answers `503`.
    pub fn serve<S, F, Fut>(&self, io: S, handler: F)
    where
        S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
        F: Fn(Request<Incoming>) -> Fut + Send + 'static,
        Fut: Future<Output = Result<Response<Body>, Infallible>> + Send + 'static,
    {
        let Ok(slot) = self.slots.clone().try_acquire_owned() else {
            return self.refuse(io);
        };
        let head_timeout = self.head_timeout;
        tokio::spawn(async move {
            // The timer arms hyper's header-read timeout, so a client that never finishes its
            // request head (or sends none) cannot hold a slot for long.
            if let Err(e) = http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(head_timeout)
                .serve_connection(TokioIo::new(io), service_fn(handler))
                .await
            {
                tracing::debug!("connection ended: {e}");
            }
            drop(slot);
        });
    }

    /// Answers every request on `io` with `503` and closes it.
    fn refuse<S>(&self, io: S)
    where
        S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let Ok(answering) = self.overflow.clone().try_acquire_owned() else {
            tracing::debug!("connection past the limit closed unanswered");
            return;
        };
        let max = self.max;
        self.warn_now_and_then();
        tokio::spawn(async move {
            let answer = service_fn(move |_req| async move {
                Ok::<_, Infallible>(
                    ApiError::new(
                        StatusCode::SERVICE_UNAVAILABLE,
                        format!(
                            "the server has {max} connections open, its limit \
                             (max_connections); try again shortly"
                        ),
                    )
                    .retry_after(RETRY_AFTER_SECS)
                    .native(),
                )
            });
            let conn = http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(OVERFLOW_TIME)
                .keep_alive(false)
                .serve_connection(TokioIo::new(io), answer);
            let _ = tokio::time::timeout(OVERFLOW_TIME, conn).await;
            drop(answering);
        });
    }
}
