//! How the server's own failures answer: route, queue, store and node-management errors as
//! [`ApiError`]s, each with the status that says who has to act.

use crate::api::routes::RouteError;
use crate::cluster::ManageError;
use crate::http::respond::{ApiError, disk_full};
use crate::queue::QueueError;
use crate::store::StoreError;
use hyper::StatusCode;

impl From<QueueError> for ApiError {
    fn from(e: QueueError) -> ApiError {
        let status = match &e {
            QueueError::UnknownService(_) | QueueError::MissingRunSh | QueueError::Rejected(_) => {
                StatusCode::BAD_REQUEST
            }
            QueueError::Conflict(_) => StatusCode::CONFLICT,
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

/// SQLite's "database or disk is full".
fn store_full(e: &StoreError) -> bool {
    matches!(e, StoreError::Sqlite(s) if s.sqlite_error_code() == Some(rusqlite::ErrorCode::DiskFull))
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

impl From<RouteError> for ApiError {
    fn from(e: RouteError) -> ApiError {
        let status = match &e {
            RouteError::NotFound(_) => StatusCode::NOT_FOUND,
            RouteError::BadRequest(_) | RouteError::BadNodeKey(_) => StatusCode::BAD_REQUEST,
        };
        ApiError::new(status, e.to_string())
    }
}
