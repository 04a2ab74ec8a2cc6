//! The seed's client routes on a node (design §8): `/submit`, `/retrieve`, `/retrieve_partial`,
//! `/kill`. They speak the seed's shapes (`{"id", "status", "message"}`, zips, status words),
//! over the same payload table as the native routes.

use super::payloads::{Order, Submitted};
use super::routes::Node;
use crate::protocol::{PayloadInfo, PayloadState};
use crate::server::Body;
use crate::server::download::{Format, archive_response};
use crate::server::respond::{ApiError, json};
use crate::server::upload::{self, UploadBody};
use hyper::{Request, Response, StatusCode, header};
use serde::Serialize;
use uuid::Uuid;

/// `{"id", "status", "message"}` with the payload's uuid.
#[derive(Serialize)]
struct PayloadStatus {
    id: String,
    status: &'static str,
    message: String,
}

fn message(info: &PayloadInfo) -> String {
    match (info.state, &info.reason) {
        (PayloadState::Prepared, _) => "waiting for a free slot".into(),
        (PayloadState::Running, _) => "running".into(),
        (_, Some(reason)) => reason.clone(),
        (PayloadState::Completed, None) => "run.sh exited with code 0".into(),
        (state, None) => state.seed_word().to_lowercase(),
    }
}

fn status_json(code: StatusCode, info: &PayloadInfo) -> Response<Body> {
    json(
        code,
        &PayloadStatus {
            id: info.id.to_string(),
            status: info.state.seed_word(),
            message: message(info),
        },
    )
}

/// A payload id in a path: anything else is a payload that is not here.
pub fn payload_id(s: &str) -> Result<Uuid, ApiError> {
    Uuid::parse_str(s)
        .map_err(|_| ApiError::new(StatusCode::NOT_FOUND, format!("no payload '{s}'")))
}

pub fn unknown(id: &Uuid) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        format!("no payload {id} on this node"),
    )
}

pub fn internal(what: &str, e: std::io::Error) -> ApiError {
    ApiError::new(
        StatusCode::INTERNAL_SERVER_ERROR,
        format!("cannot {what}: {e}"),
    )
}

/// `POST /submit`: multipart files (field name = relative path) → a queued payload.
pub async fn submit(node: &Node, req: Request<UploadBody>) -> Result<Response<Body>, ApiError> {
    upload::check_length(req.headers(), node.max_upload_bytes)?;
    let staged = upload::staging_dir(&node.tmp)?;
    let (parts, body) = req.into_parts();
    upload::receive_multipart(node.max_upload_bytes, &parts.headers, body, staged.path()).await?;
    if !staged.path().join("run.sh").is_file() {
        return Err(ApiError::bad_request("the payload has no run.sh"));
    }
    let order = Order {
        id: Uuid::new_v4(),
        job: None,
        attempt: None,
        timeout: None,
        kill_grace: None,
    };
    let info = match node.payloads.submit(order, staged).await {
        Ok(Submitted::New(info) | Submitted::Existing(info)) => info,
        Err(e) => return Err(internal("store the payload", e)),
    };
    tracing::info!("payload {} received", info.id);
    Ok(status_json(StatusCode::CREATED, &info))
}

/// `GET /retrieve/{id}` (zip once done, else the status) and `GET /retrieve_partial/{id}`
/// (zip of the current files whatever the state).
pub fn retrieve(node: &Node, id: &str, partial: bool) -> Result<Response<Body>, ApiError> {
    let id = payload_id(id)?;
    let handle = node.payloads.handle(&id).ok_or_else(|| unknown(&id))?;
    let info = handle.info.borrow().clone();
    if !partial && !info.state.is_done() {
        return Ok(status_json(StatusCode::OK, &info));
    }
    let mut resp = archive_response(handle.dir.work(), Format::Zip, &format!("payload-{id}"));
    let headers = resp.headers_mut();
    headers.insert(
        "x-jobo-status",
        header::HeaderValue::from_static(info.state.seed_word()),
    );
    if let Some(code) = info.exit_code {
        headers.insert("x-jobo-exit-code", header::HeaderValue::from(code));
    }
    Ok(resp)
}

/// `POST /kill/{id}`: kills the payload's process group and answers once it is over.
pub async fn kill(node: &Node, id: &str) -> Result<Response<Body>, ApiError> {
    let id = payload_id(id)?;
    let info = node.payloads.kill(&id).await.ok_or_else(|| unknown(&id))?;
    Ok(status_json(StatusCode::OK, &info))
}
