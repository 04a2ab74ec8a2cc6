//! Response bodies and the error type every handler returns.

use crate::api::{ErrorBody, SeedStatus};
use crate::archive::ArchiveError;
use crate::cluster::ManageError;
use crate::job::JobId;
use crate::queue::QueueError;
use crate::store::StoreError;
use bytes::Bytes;
use futures_util::{Stream, TryStreamExt};
use http_body_util::{BodyExt, Full, StreamBody, combinators::UnsyncBoxBody};
use hyper::body::Frame;
use hyper::{Response, StatusCode, header};
use serde::Serialize;

pub type Body = UnsyncBoxBody<Bytes, std::io::Error>;

/// A client-facing failure: an HTTP status and a message that says what to do.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub message: String,
}

impl ApiError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            message: message.into(),
        }
    }

    pub fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, message)
    }

    /// `{"error": …}`, the native shape.
    pub fn native(self) -> Response<Body> {
        if self.status.is_server_error() {
            tracing::error!("{}", self.message);
        }
        json(
            self.status,
            &ErrorBody {
                error: self.message,
            },
        )
    }

    /// `{"id", "status", "message"}`, the seed's shape; like the seed, an error names no
    /// status (`Unknown`), and `id` 0 when there is no job to name.
    pub fn seed(self, id: Option<JobId>) -> Response<Body> {
        if self.status.is_server_error() {
            tracing::error!("{}", self.message);
        }
        json(
            self.status,
            &SeedStatus {
                id: id.unwrap_or(0),
                status: "Unknown".into(),
                message: self.message,
            },
        )
    }
}

impl From<QueueError> for ApiError {
    fn from(e: QueueError) -> ApiError {
        let status = match &e {
            QueueError::UnknownService(_) | QueueError::MissingRunSh => StatusCode::BAD_REQUEST,
            QueueError::Conflict(_) => StatusCode::CONFLICT,
            QueueError::Forbidden(_) => StatusCode::FORBIDDEN,
            QueueError::Store(StoreError::NotFound(_)) => StatusCode::NOT_FOUND,
            QueueError::Io(io) if io.kind() == std::io::ErrorKind::StorageFull => {
                return disk_full(io);
            }
            QueueError::Store(store) if store_full(store) => {
                return disk_full(&std::io::Error::other(store.to_string()));
            }
            QueueError::Store(_) | QueueError::Io(_) => StatusCode::INTERNAL_SERVER_ERROR,
        };
        ApiError::new(status, e.to_string())
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> ApiError {
        QueueError::Store(e).into()
    }
}

impl From<ManageError> for ApiError {
    fn from(e: ManageError) -> ApiError {
        let status = match &e {
            ManageError::Invalid(_) => StatusCode::BAD_REQUEST,
            ManageError::NotFound(_) => StatusCode::NOT_FOUND,
            ManageError::Conflict(_) => StatusCode::CONFLICT,
            ManageError::Store(_) => StatusCode::INTERNAL_SERVER_ERROR,
        };
        ApiError::new(status, e.to_string())
    }
}

impl From<ArchiveError> for ApiError {
    fn from(e: ArchiveError) -> ApiError {
        let status = match &e {
            ArchiveError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ArchiveError::Io(io) if io.kind() == std::io::ErrorKind::StorageFull => {
                return disk_full(io);
            }
            ArchiveError::Io(_) => StatusCode::INTERNAL_SERVER_ERROR,
            _ => StatusCode::BAD_REQUEST,
        };
        ApiError::new(status, e.to_string())
    }
}

/// SQLite's "database or disk is full".
fn store_full(e: &StoreError) -> bool {
    matches!(e, StoreError::Sqlite(s) if s.sqlite_error_code() == Some(rusqlite::ErrorCode::DiskFull))
}

/// A full disk on the server's side: nothing of the request was kept, and it may well work
/// later, so it is said as such (`507`), not as a bug (`500`).
pub fn disk_full(e: &std::io::Error) -> ApiError {
    ApiError::new(
        StatusCode::INSUFFICIENT_STORAGE,
        format!("the server's disk is full ({e}); nothing was kept, try again later"),
    )
}

pub fn full(status: StatusCode, content_type: &str, body: impl Into<Bytes>) -> Response<Body> {
    let body = Full::new(body.into())
        .map_err(|never| match never {})
        .boxed_unsync();
    let mut resp = Response::new(body);
    *resp.status_mut() = status;
    if let Ok(v) = content_type.parse() {
        resp.headers_mut().insert(header::CONTENT_TYPE, v);
    }
    resp
}

pub fn json<T: Serialize>(status: StatusCode, value: &T) -> Response<Body> {
    match serde_json::to_vec(value) {
        Ok(bytes) => full(status, "application/json", bytes),
        Err(e) => full(
            StatusCode::INTERNAL_SERVER_ERROR,
            "text/plain",
            format!("cannot encode response: {e}"),
        ),
    }
}

/// A streamed body of unknown length (chunked transfer encoding).
pub fn stream(
    content_type: &str,
    chunks: impl Stream<Item = std::io::Result<Bytes>> + Send + 'static,
) -> Response<Body> {
    let body = StreamBody::new(chunks.map_ok(Frame::data)).boxed_unsync();
    let mut resp = Response::new(body);
    if let Ok(v) = content_type.parse() {
        resp.headers_mut().insert(header::CONTENT_TYPE, v);
    }
    resp
}

/// Parses a job id path segment.
pub fn job_id(s: &str) -> Result<JobId, ApiError> {
    match s.parse::<JobId>() {
        Ok(id) if id > 0 => Ok(id),
        _ => Err(ApiError::bad_request(format!(
            "invalid job id '{s}': job ids are positive integers"
        ))),
    }
}
