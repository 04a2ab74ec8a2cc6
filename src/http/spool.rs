//! Spooling an upload's body before it is unpacked: read asynchronously, so a client that
//! stalls holds a connection and a small buffer, never a thread of the blocking pool (the
//! unpackers block, and ran on that pool reading straight from the socket: a few hundred
//! stalled uploads hung every request). Small bodies stay in memory; larger ones go to a
//! temp file in the data dir's `tmp/`, removed on drop, which never holds more than the
//! upload limit (plus one chunk): the body is refused as soon as it is over.

use super::respond::ApiError;
use super::upload::{BodyFault, UploadBody, UploadLimits, body_stream};
use crate::archive::ArchiveError;
use bytes::{Bytes, BytesMut};
use futures_util::StreamExt;
use hyper::StatusCode;
use std::path::Path;
use std::sync::Arc;
use tokio::io::AsyncWriteExt;

/// Bodies up to this size are kept in memory (a trivial job's is a few hundred bytes); small,
/// since every connection may hold one while its client stalls.
const IN_MEMORY: usize = 64 * 1024;

/// A whole body, ready for a blocking reader.
pub enum Spooled {
    Memory(Bytes),
    File(tempfile::NamedTempFile),
}

/// Reads all of `body` within `limits` (size, and idle time between reads).
pub async fn spool(
    body: UploadBody,
    limits: UploadLimits,
    tmp: &Path,
) -> Result<Spooled, ApiError> {
    let fault = Arc::new(BodyFault::default());
    let mut stream = std::pin::pin!(body_stream(body, limits, fault.clone()));
    let mut memory = BytesMut::new();
    let mut file: Option<(tempfile::NamedTempFile, tokio::fs::File)> = None;
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| {
            fault.error(&limits).unwrap_or_else(|| {
                ApiError::bad_request(format!("the upload could not be read: {e}"))
            })
        })?;
        if file.is_none() && memory.len() + chunk.len() > IN_MEMORY {
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
