//! Spooling an upload's body before it is unpacked: read asynchronously, so a client that
//! stalls holds a connection and a small buffer, never a thread of the blocking pool (the
//! unpackers block, and ran on that pool reading straight from the socket: a few hundred
//! stalled uploads hung every request). Small bodies stay in memory. A larger one is handed
//! on as it arrives to one of [`STREAMERS`] unpackers when one is free: each holds a blocking
//! thread, for at most the idle timeout if its client stalls, and skips writing and reading
//! the body once more (a tar pipe's speed on the socket). Otherwise it goes to a temp file in
//! the data dir's `tmp/`, removed on drop, which never holds more than the upload limit
//! (plus one chunk): the body is refused as soon as it is over.

use super::respond::ApiError;
use super::upload::{BodyFault, UploadLimits};
use crate::archive::ArchiveError;
use bytes::{Bytes, BytesMut};
use futures_util::{Stream, StreamExt};
use hyper::StatusCode;
use std::path::Path;
use std::pin::Pin;
use tokio::io::AsyncWriteExt;
use tokio::sync::{Semaphore, SemaphorePermit};

/// Uploads unpacked as they arrive at once, per process; more are spooled.
const STREAMERS: usize = 4;
static STREAMING: Semaphore = Semaphore::const_new(STREAMERS);

/// A body's data as [`super::upload::body_stream`] gives it.
pub type BodyStream = Pin<Box<dyn Stream<Item = std::io::Result<Bytes>> + Send>>;

/// Bodies up to this size are kept in memory (a trivial job's is a few hundred bytes); small,
/// since every connection may hold one while its client stalls.
const IN_MEMORY: usize = 64 * 1024;

/// A body ready for a blocking reader: whole, or its start and the rest as it comes.
pub enum Spooled {
    Memory(Bytes),
    File(tempfile::NamedTempFile),
    Streaming {
        head: Bytes,
        rest: BodyStream,
        /// One of the [`STREAMERS`], held until the unpacker is done.
        permit: SemaphorePermit<'static>,
    },
}

/// Reads `stream` (a body within `limits`, whose faults `fault` tells) whole into memory or
/// a file, or as much as fits in memory when a streaming unpacker is free.
pub async fn spool(
    mut stream: BodyStream,
    fault: &BodyFault,
    limits: UploadLimits,
    tmp: &Path,
) -> Result<Spooled, ApiError> {
    let mut memory = BytesMut::new();
    let mut file: Option<(tempfile::NamedTempFile, tokio::fs::File)> = None;
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| {
            fault.error(&limits).unwrap_or_else(|| {
                ApiError::bad_request(format!("the upload could not be read: {e}"))
            })
        })?;
        if file.is_none() && memory.len() + chunk.len() > IN_MEMORY {
            if let Ok(permit) = STREAMING.try_acquire() {
                memory.extend_from_slice(&chunk);
                return Ok(Spooled::Streaming {
                    head: memory.freeze(),
                    rest: stream,
                    permit,
                });
            }
            let (named, mut out) = spill_file(tmp).await?;
            out.write_all(&memory).await.map_err(write_error)?;
            memory = BytesMut::new();
            file = Some((named, out));
        }
        match &mut file {
            Some((_, out)) => out.write_all(&chunk).await.map_err(write_error)?,
            None => memory.extend_from_slice(&chunk),
        }
    }
    match file {
        None => Ok(Spooled::Memory(memory.freeze())),
        Some((named, mut out)) => {
            out.flush().await.map_err(write_error)?;
            Ok(Spooled::File(named))
        }
    }
}

/// A new `upload-*.body` file in `tmp`, and a handle to write it.
async fn spill_file(tmp: &Path) -> Result<(tempfile::NamedTempFile, tokio::fs::File), ApiError> {
    let tmp = tmp.to_path_buf();
    let made = tokio::task::spawn_blocking(move || {
        let named = tempfile::Builder::new()
            .prefix("upload-")
            .suffix(".body")
            .tempfile_in(tmp)?;
        let out = named.reopen()?;
        Ok::<_, std::io::Error>((named, out))
    })
    .await
    .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?;
    let (named, out) = made.map_err(write_error)?;
    Ok((named, tokio::fs::File::from_std(out)))
}

/// A full disk is `507`, anything else `500` (see `ApiError::from`).
fn write_error(e: std::io::Error) -> ApiError {
    ArchiveError::Io(e).into()
}
