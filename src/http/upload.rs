//! Receiving uploads into a temp dir inside the data dir, within [`UploadLimits`]: bytes
//! counted as they arrive, an idle client dropped after `body_read_timeout`, never held in
//! memory whole. A tar body (plain, gzip or zstd) is unpacked as it arrives by one of a few
//! streaming unpackers, or spooled first (`spool.rs`) when they are busy; multipart is
//! written as it arrives (`multipart.rs`).

use super::respond::ApiError;
use super::spool::{Spooled, spool};
use crate::archive::{self, ArchiveError, Encoding};
use crate::config::ServerConfig;
use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use http_body_util::BodyExt;
use hyper::body::{Body, Frame, Incoming, SizeHint};
use hyper::{HeaderMap, StatusCode, header};
use std::io;
use std::path::Path;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

/// What one upload may be: the server's `[server]` settings, a node's defaults.
#[derive(Debug, Clone, Copy)]
pub struct UploadLimits {
    /// Bytes of the body, and bytes of file content once unpacked (`max_upload_bytes`).
    pub bytes: u64,
    /// Files and directories (`max_upload_entries`).
    pub entries: u64,
    /// The longest wait for the next bytes of a body (`body_read_timeout`).
    pub idle: Duration,
}

impl UploadLimits {
    pub fn new(server: &ServerConfig) -> UploadLimits {
        UploadLimits {
            bytes: server.max_upload_bytes,
            entries: server.max_upload_entries,
            idle: server.body_read_timeout,
        }
    }

    pub fn archive(&self) -> archive::Limits {
        archive::Limits {
            bytes: self.bytes,
            entries: self.entries,
        }
    }
}

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

    /// The client stalled: nothing of the rest is waited for (the connection is dropped).
    fn abandon(&mut self) {
        self.done = true;
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

pub(super) fn too_large(limit: u64) -> ApiError {
    ArchiveError::TooLarge(limit).into()
}

/// Why a body stream ended early, for the answer: the parser reading the stream (multer)
/// wraps the stream's error in its own.
#[derive(Default)]
pub(super) struct BodyFault(AtomicU8);

const TOO_LARGE: u8 = 1;
const STALLED: u8 = 2;
const FRAMING: u8 = 3;

impl BodyFault {
    pub(super) fn set_framing(&self) {
        self.0.store(FRAMING, Ordering::Relaxed);
    }

    /// The answer for a stream that failed, if it failed for one of these reasons.
    pub(super) fn error(&self, limits: &UploadLimits) -> Option<ApiError> {
        match self.0.load(Ordering::Relaxed) {
            TOO_LARGE => Some(too_large(limits.bytes)),
            STALLED => Some(stalled(limits.idle)),
            FRAMING => Some(ApiError::bad_request(format!(
                "invalid multipart body: more than {} bytes of part headers (or of text \
                 before the first part) in a row",
                super::multipart::MAX_FRAMING
            ))),
            _ => None,
        }
    }
}

/// `408`: the client stopped sending. Answered with `Connection: close` (see `respond.rs`).
pub(super) fn stalled(idle: Duration) -> ApiError {
    ApiError::new(
        StatusCode::REQUEST_TIMEOUT,
        format!(
            "the upload stalled: no data for {} (the server's body_read_timeout); nothing was kept",
            humantime::format_duration(idle)
        ),
    )
}

/// The body's data as a stream that fails once more than `limits.bytes` came, or when no
/// bytes came for `limits.idle`; `fault` says which. A stalled body is abandoned, not
/// drained (see [`UploadBody`]).
pub(super) fn body_stream(
    body: UploadBody,
    limits: UploadLimits,
    fault: Arc<BodyFault>,
) -> impl Stream<Item = io::Result<Bytes>> + Send + 'static {
    futures_util::stream::unfold(Some((body, 0u64)), move |state| {
        let fault = fault.clone();
        async move {
            let (mut body, mut seen) = state?;
            loop {
                let frame = match tokio::time::timeout(limits.idle, body.frame()).await {
                    Err(_) => {
                        body.abandon();
                        fault.0.store(STALLED, Ordering::Relaxed);
                        let e = io::Error::new(io::ErrorKind::TimedOut, "the upload stalled");
                        return Some((Err(e), None));
                    }
                    Ok(None) => return None,
                    Ok(Some(Err(e))) => return Some((Err(io::Error::other(e)), None)),
                    Ok(Some(Ok(frame))) => frame,
                };
                // Trailers carry no data.
                let Ok(data) = frame.into_data() else {
                    continue;
                };
                seen += data.len() as u64;
                if seen > limits.bytes {
                    fault.0.store(TOO_LARGE, Ordering::Relaxed);
                    let e = io::Error::new(io::ErrorKind::FileTooLarge, "upload too large");
                    return Some((Err(e), None));
                }
                return Some((Ok(data), Some((body, seen))));
            }
        }
    })
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

/// How an upload's tar is encoded, from its headers (see [`Encoding::of_body`]); one this
/// server cannot read is `415`.
pub fn tar_encoding(headers: &HeaderMap) -> Result<Encoding, ApiError> {
    let text = |name| {
        headers
            .get(name)
            .and_then(|v: &header::HeaderValue| v.to_str().ok())
    };
    Encoding::of_body(text(header::CONTENT_TYPE), text(header::CONTENT_ENCODING)).map_err(
        |coding| {
            ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                format!("unknown Content-Encoding '{coding}' (identity, gzip or zstd)"),
            )
        },
    )
}

/// Unpacks a tar body in `encoding` into `dest` within `limits`; returns the content bytes.
/// A small body is read whole first; a larger one is unpacked as it arrives by one of a few
/// streaming unpackers (a stalled client holds one for at most `limits.idle`), or, when all
/// are busy, spooled to a file first (see [`spool`]), so the unpacker, which blocks, never
/// waits on the network and stalled clients hold no more threads of the blocking pool.
pub async fn receive_tar(
    limits: UploadLimits,
    encoding: Encoding,
    body: UploadBody,
    tmp: &Path,
    dest: &Path,
) -> Result<u64, ApiError> {
    let fault = Arc::new(BodyFault::default());
    let stream = Box::pin(body_stream(body, limits, fault.clone()));
    let dest = dest.to_path_buf();
    match spool(stream, &fault, limits, tmp).await? {
        Spooled::Memory(bytes) => {
            blocking(move || archive::unpack_tar(&bytes[..], encoding, &dest, limits.archive()))
                .await?
                .map_err(ApiError::from)
        }
        Spooled::File(file) => blocking(move || {
            let src = io::BufReader::with_capacity(READ_BUF, file.reopen()?);
            archive::unpack_tar(src, encoding, &dest, limits.archive())
        })
        .await?
        .map_err(ApiError::from),
        Spooled::Streaming { head, rest, permit } => {
            let chunks = futures_util::stream::iter([Ok(head)]).chain(rest);
            let reader = crate::bridge::stream_reader(chunks);
            let out = blocking(move || {
                let src = io::BufReader::with_capacity(READ_BUF, reader);
                archive::unpack_tar(src, encoding, &dest, limits.archive())
            })
            .await?;
            drop(permit);
            // A body over the limit or stalled says so, not as the unpacker saw it.
            out.map_err(|e| fault.error(&limits).unwrap_or_else(|| e.into()))
        }
    }
}

/// Reads of a body being unpacked: fewer wake-ups of the bridge per header.
const READ_BUF: usize = 256 * 1024;

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))
}
