//! Answers: response bodies, and the error type every handler of the server and of a node
//! returns. The server's own errors (queue, store, nodes) become [`ApiError`]s in
//! `server/errors.rs`; only what both sides share is here.

use crate::api::{ErrorBody, SeedStatus};
use crate::archive::ArchiveError;
use crate::job::JobId;
use bytes::Bytes;
use futures_util::{Stream, TryStreamExt};
use http_body_util::{BodyExt, Full, StreamBody};
use hyper::body::Frame;
use hyper::{Response, StatusCode, header};
use serde::{Deserialize, Serialize};

use super::Body;

/// A client-facing failure: an HTTP status and a message that says what to do.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub message: String,
    /// Seconds after which trying again may work (`Retry-After`), for a `429` or `503`.
    pub retry_after: Option<u64>,
}

impl ApiError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            message: message.into(),
            retry_after: None,
        }
    }

    /// The same error, telling the client to try again in `secs` seconds.
    pub fn retry_after(mut self, secs: u64) -> ApiError {
        self.retry_after = Some(secs);
        self
    }

    /// Headers the answer carries besides its body.
    pub fn headed(&self, mut resp: Response<Body>) -> Response<Body> {
        if let Some(secs) = self.retry_after {
            resp.headers_mut()
                .insert(header::RETRY_AFTER, header::HeaderValue::from(secs));
        }
        // A request that timed out ends its connection: its client stopped sending halfway.
        if self.status == StatusCode::REQUEST_TIMEOUT {
            resp.headers_mut().insert(
                header::CONNECTION,
                header::HeaderValue::from_static("close"),
            );
        }
        resp
    }

    pub fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, message)
    }

    /// `{"error": …}`, the native shape.
    pub fn native(self) -> Response<Body> {
        if self.status.is_server_error() {
            tracing::error!("{}", self.message);
        }
        let resp = json(
            self.status,
            &ErrorBody {
                error: self.message.clone(),
            },
        );
        self.headed(resp)
    }

    /// `{"id", "status", "message"}`, the seed's shape; like the seed, an error names no
    /// status (`Unknown`), and `id` 0 when there is no job to name.
    pub fn seed(self, id: Option<JobId>) -> Response<Body> {
        if self.status.is_server_error() {
            tracing::error!("{}", self.message);
        }
        let resp = json(
            self.status,
            &SeedStatus {
                id: id.unwrap_or(0),
                status: "Unknown".into(),
                message: self.message.clone(),
            },
        );
        self.headed(resp)
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

/// `204` with no body (and so no content type).
pub fn no_content() -> Response<Body> {
    let mut resp = full(StatusCode::NO_CONTENT, "text/plain", "");
    resp.headers_mut().remove(header::CONTENT_TYPE);
    resp
}

/// Reads a query string into `T`; `400` saying what is wrong when it does not fit.
pub fn parse_query<'a, T: Deserialize<'a>>(query: &'a str) -> Result<T, ApiError> {
    serde_urlencoded::from_str(query)
        .map_err(|e| ApiError::bad_request(format!("invalid query string: {e}")))
}
