//! Receiving uploads: streamed straight from the socket into a temp dir inside the data dir,
//! counted against the size limit as they arrive, never held in memory whole.

use super::respond::ApiError;
use crate::archive::{self, ArchiveError};
use bytes::Bytes;
use futures_util::{Stream, StreamExt, TryStreamExt};
use http_body_util::BodyExt;
use hyper::body::{Body, Frame, Incoming, SizeHint};
use hyper::{HeaderMap, StatusCode, header};
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

/// How long, and how much, of a refused upload is still read (and thrown away).
const LINGER_TIME: Duration = Duration::from_secs(10);
const LINGER_BYTES: u64 = 64 << 20;

/// The body of an upload. If it is dropped before its end (the upload was refused, or the
/// archive ended before the body did), the rest is read and thrown away in the background for
/// a while: closing a connection the client is still sending on makes it fail with a broken
/// pipe or a reset instead of reading the answer (RFC 9112 §9.6).
pub struct UploadBody {
    inner: Option<Incoming>,
    done: bool,
}

impl UploadBody {
    pub fn new(body: Incoming) -> UploadBody {
        UploadBody {
            inner: Some(body),
            done: false,
        }
    }
}

impl Body for UploadBody {
    type Data = Bytes;
    type Error = hyper::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, hyper::Error>>> {
        let Some(inner) = self.inner.as_mut() else {
            return Poll::Ready(None);
        };
        let polled = Pin::new(inner).poll_frame(cx);
        if matches!(polled, Poll::Ready(None | Some(Err(_)))) {
            self.done = true;
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.done || self.inner.as_ref().is_none_or(|b| b.is_end_stream())
    }

    fn size_hint(&self) -> SizeHint {
        self.inner
            .as_ref()
            .map_or_else(|| SizeHint::with_exact(0), |b| b.size_hint())
    }
}

impl Drop for UploadBody {
    fn drop(&mut self) {
        let Some(mut body) = self.inner.take() else {
            return;
        };
        if self.done || body.is_end_stream() {
            return;
        }
        let Ok(rt) = tokio::runtime::Handle::try_current() else {
            return;
        };
        rt.spawn(async move {
            let _ = tokio::time::timeout(LINGER_TIME, async {
                let mut seen = 0u64;
                while let Some(Ok(frame)) = body.frame().await {
                    seen += frame.data_ref().map_or(0, |d| d.len() as u64);
                    if seen > LINGER_BYTES {
                        break;
                    }
                }
            })
            .await;
        });
    }
}

/// A body stream that fails once more than `limit` bytes came, and says so in `exceeded`.
pub(super) fn limited(
    body: UploadBody,
    limit: u64,
    exceeded: Arc<AtomicBool>,
) -> impl Stream<Item = io::Result<Bytes>> + Send + 'static {
    let mut seen = 0u64;
    body.into_data_stream()
        .map_err(io::Error::other)
        .map(move |chunk| {
            let chunk = chunk?;
            seen += chunk.len() as u64;
            if seen > limit {
                exceeded.store(true, Ordering::Relaxed);
                return Err(io::Error::new(
                    io::ErrorKind::FileTooLarge,
                    "upload too large",
                ));
            }
            Ok(chunk)
        })
}

pub(super) fn too_large(limit: u64) -> ApiError {
    ArchiveError::TooLarge(limit).into()
}

/// Refuses at once a body whose declared length is over the limit.
pub fn check_length(headers: &HeaderMap, limit: u64) -> Result<(), ApiError> {
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    match declared {
        Some(n) if n > limit => Err(too_large(limit)),
        _ => Ok(()),
    }
}

/// A fresh `upload-*` dir inside `tmp` (the data dir's, so the final rename stays on one
/// filesystem); removed on drop unless kept.
pub fn staging_dir(tmp: &std::path::Path) -> Result<tempfile::TempDir, ApiError> {
    tempfile::Builder::new()
        .prefix("upload-")
        .tempdir_in(tmp)
        .map_err(|e| {
            ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("cannot stage upload: {e}"),
            )
        })
}

/// Unpacks a tar.gz body of at most `limit` content bytes into `dest`; returns the content bytes.
pub async fn receive_tgz(
    limit: u64,
    body: UploadBody,
    dest: &std::path::Path,
) -> Result<u64, ApiError> {
    let exceeded = Arc::new(AtomicBool::new(false));
    let reader = tokio_util::io::SyncIoBridge::new(tokio_util::io::StreamReader::new(limited(
        body,
        limit,
        exceeded.clone(),
    )));
    let dest = dest.to_path_buf();
    let res = tokio::task::spawn_blocking(move || archive::unpack_tgz(reader, &dest, limit))
        .await
        .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?;
    match res {
        _ if exceeded.load(Ordering::Relaxed) => Err(too_large(limit)),
        Err(ArchiveError::TooLarge(_)) => Err(too_large(limit)),
        other => Ok(other?),
    }
}
