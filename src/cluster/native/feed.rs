//! Reading a node's event feed: newline-separated lines of bounded length, and the lease
//! renewals that answer its beats (fencing, `node/lease.rs`).

use crate::cluster::node::Node;
use crate::cluster::remote::RemoteError;
use bytes::BytesMut;
use http_body_util::BodyExt;
use hyper::body::Incoming;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

/// The longest feed line read: 4 MiB. The hello is the long one: it lists every native payload
/// the node holds, about 120 bytes each as JSON (some 220 with a long reason), so at least
/// 19,000 payloads fit, where a node holds its slots' worth plus the few not collected yet.
pub const MAX_LINE: usize = 4 << 20;

/// Aborts the renewal task when the session ends, however it ends.
pub struct AbortOnDrop(pub tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Renews the node's lease with the newest beat read, one renewal at a time: beats that come
/// while one is on its way are folded into the next. Says so once when renewals start failing
/// and once when they work again.
pub async fn renew(
    node: Arc<Node>,
    mut echoes: watch::Receiver<Option<u64>>,
    lease: Duration,
    beat: Duration,
) {
    let mut failing = false;
    while echoes.changed().await.is_ok() {
        let Some(sent) = *echoes.borrow_and_update() else {
            continue;
        };
        match node.client.renew(sent, lease, beat).await {
            Ok(()) if failing => {
                failing = false;
                tracing::info!("node {}: its lease is renewed again", node.name);
            }
            Ok(()) => {}
            Err(e) if !failing => {
                failing = true;
                tracing::warn!("node {}: cannot renew its lease: {e}", node.name);
            }
            Err(_) => {}
        }
    }
}

/// Why no line came.
pub enum LineError {
    /// Over [`MAX_LINE`] bytes without a newline.
    TooLong,
    Remote(RemoteError),
}

/// Newline-separated lines of a streamed body, each at most [`MAX_LINE`] bytes.
pub struct Lines {
    body: Incoming,
    buf: BytesMut,
    /// How much of `buf` is known to hold no newline (so each byte is looked at once).
    scanned: usize,
}

impl Lines {
    pub fn new(body: Incoming) -> Lines {
        Lines {
            body,
            buf: BytesMut::new(),
            scanned: 0,
        }
    }

    pub async fn next(&mut self) -> Result<Option<BytesMut>, LineError> {
        loop {
            if let Some(line) = self.split_line()? {
                return Ok(Some(line));
            }
            match self.body.frame().await {
                None => return Ok(None),
                Some(Err(e)) => {
                    return Err(LineError::Remote(RemoteError::Transient(e.to_string())));
                }
                Some(Ok(frame)) => {
                    if let Ok(data) = frame.into_data() {
                        self.buf.extend_from_slice(&data);
                    }
                }
            }
        }
    }

    /// The first whole line of the buffer, if there is one.
    fn split_line(&mut self) -> Result<Option<BytesMut>, LineError> {
        match self.buf[self.scanned..].iter().position(|&b| b == b'\n') {
            Some(at) => {
                let at = self.scanned + at;
                if at > MAX_LINE {
                    return Err(LineError::TooLong);
                }
                let mut line = self.buf.split_to(at + 1);
                line.truncate(at);
                self.scanned = 0;
                Ok(Some(line))
            }
            None if self.buf.len() > MAX_LINE => Err(LineError::TooLong),
            None => {
                self.scanned = self.buf.len();
                Ok(None)
            }
        }
    }
}
