//! What can go wrong with a request from the server to a node, trying again while it may be
//! transient, and reading a node's streamed answers without letting a stalled node hang us.

use crate::client::ClientError;
use bytes::Bytes;
use http_body_util::BodyExt;
use hyper::StatusCode;
use hyper::body::Incoming;
use std::future::Future;
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum RemoteError {
    /// No answer (refused, reset, timed out) or a 5xx: worth trying again.
    #[error("{0}")]
    Transient(String),
    /// The node answered and said no (4xx): trying again will not help.
    #[error("{status}: {message}")]
    Refused { status: StatusCode, message: String },
}

impl RemoteError {
    pub fn is_transient(&self) -> bool {
        matches!(self, RemoteError::Transient(_))
    }

    pub fn status(&self) -> Option<StatusCode> {
        match self {
            RemoteError::Refused { status, .. } => Some(*status),
            RemoteError::Transient(_) => None,
        }
    }
}

impl From<serde_urlencoded::ser::Error> for RemoteError {
    fn from(e: serde_urlencoded::ser::Error) -> Self {
        RemoteError::Transient(format!("cannot encode the request: {e}"))
    }
}

impl From<ClientError> for RemoteError {
    fn from(e: ClientError) -> Self {
        match e {
            ClientError::Api { status, message } if status.is_client_error() => {
                RemoteError::Refused { status, message }
            }
            other => RemoteError::Transient(other.to_string()),
        }
    }
}

/// Tries `op` up to `tries` times while it fails transiently, waiting 100 ms, 400 ms, … between.
pub async fn retry<T, F, Fut>(tries: u32, mut op: F) -> Result<T, RemoteError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, RemoteError>>,
{
    let mut wait = Duration::from_millis(100);
    let mut attempt = 1;
    loop {
        match op().await {
            Err(e) if e.is_transient() && attempt < tries => {
                tokio::time::sleep(wait).await;
                wait = (wait * 4).min(Duration::from_secs(5));
                attempt += 1;
            }
            other => return other,
        }
    }
}

/// The data of a response body, each read bounded by `timeout` so a stalled node cannot
/// hang its reader.
pub fn frames(
    body: Incoming,
    timeout: Duration,
) -> impl futures_util::Stream<Item = std::io::Result<Bytes>> + Send + Unpin + 'static {
    Box::pin(futures_util::stream::unfold(
        body,
        move |mut body| async move {
            loop {
                match tokio::time::timeout(timeout, body.frame()).await {
                    Err(_) => return Some((Err(std::io::Error::other("the node stalled")), body)),
                    Ok(None) => return None,
                    Ok(Some(Err(e))) => return Some((Err(std::io::Error::other(e)), body)),
                    Ok(Some(Ok(frame))) => {
                        if let Ok(data) = frame.into_data() {
                            return Some((Ok(data), body));
                        }
                    }
                }
            }
        },
    ))
}
