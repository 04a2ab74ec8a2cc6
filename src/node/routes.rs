//! A worker node's HTTP routes: the seed's client routes (design §8), behind the node token.

use super::payloads::{Payloads, Snapshot};
use crate::server::Body;
use crate::server::download::{Format, archive_response};
use crate::server::respond::{ApiError, full, json};
use crate::server::upload::{self, UploadBody};
use hyper::body::Incoming;
use hyper::{Method, Request, Response, StatusCode, header};
use serde::Serialize;
use std::convert::Infallible;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Instant;
use uuid::Uuid;

/// What every request handler of a node shares.
pub struct Node {
    pub payloads: Payloads,
    /// The node token; compared in constant time and never logged.
    pub token: String,
    /// Let the seed routes through without a token (for the seed's server, which sends none).
    pub allow_seed_without_token: bool,
    pub max_upload_bytes: u64,
    /// Uploads in progress (emptied at start).
    pub tmp: PathBuf,
    pub load: Load,
}

/// `{"id", "status", "message"}` with the payload's uuid.
#[derive(Serialize)]
struct PayloadStatus {
    id: String,
    status: &'static str,
    message: String,
}

fn status_json(code: StatusCode, id: &Uuid, s: &Snapshot) -> Response<Body> {
    json(
        code,
        &PayloadStatus {
            id: id.to_string(),
            status: s.status.word(),
            message: s.message(),
        },
    )
}

/// The seed's client routes; all of them may be let through without a token when the
/// operator opted in. Routes added later for the server (node management) are not.
fn is_seed_route(method: &Method, path: &str) -> bool {
    match *method {
        Method::GET => {
            path == "/load"
                || path == "/health"
                || path.starts_with("/retrieve/")
                || path.starts_with("/retrieve_partial/")
        }
        Method::POST => path == "/submit" || path.starts_with("/kill/"),
        _ => false,
    }
}

/// Equal-length-independent, data-independent comparison: the time depends only on the
/// length of the expected token.
fn token_matches(expected: &[u8], given: &[u8]) -> bool {
    let mut diff = (expected.len() != given.len()) as u8;
    for (i, e) in expected.iter().enumerate() {
        diff |= e ^ given.get(i).copied().unwrap_or(0);
    }
    std::hint::black_box(diff) == 0
}

fn authorize<B>(node: &Node, req: &Request<B>) -> Result<(), ApiError> {
    let given = req.headers().get(header::AUTHORIZATION);
    if given.is_none()
        && node.allow_seed_without_token
        && is_seed_route(req.method(), req.uri().path())
    {
        return Ok(());
    }
    let bearer = given
        .and_then(|v| v.as_bytes().strip_prefix(b"Bearer "))
        .map(<[u8]>::trim_ascii);
    match bearer {
        Some(t) if token_matches(node.token.as_bytes(), t) => Ok(()),
        Some(_) => Err(ApiError::new(StatusCode::UNAUTHORIZED, "wrong node token")),
        None => Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "this worker node needs its token: Authorization: Bearer <token>",
        )),
    }
}

pub async fn handle(node: Arc<Node>, req: Request<Incoming>) -> Result<Response<Body>, Infallible> {
    // A refused upload is still read for a while, so its client gets the answer.
    let req = req.map(UploadBody::new);
    if let Err(e) = authorize(&node, &req) {
        let mut resp = e.native();
        resp.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            header::HeaderValue::from_static("Bearer"),
        );
        return Ok(resp);
    }
    let path = req.uri().path().to_string();
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    let resp = match (req.method().clone(), segments.as_slice()) {
        (Method::POST, ["submit"]) => submit(&node, req).await,
        (Method::GET, ["retrieve", id]) => retrieve(&node, id, false),
        (Method::GET, ["retrieve_partial", id]) => retrieve(&node, id, true),
        (Method::POST, ["kill", id]) => kill(&node, id).await,
        (Method::GET, ["load"]) => Ok(full(
            StatusCode::OK,
            "text/plain",
            format!("{:.2}", node.load.percent()),
        )),
        (Method::GET, ["health"]) => Ok(json(StatusCode::OK, &serde_json::json!({"status": "ok"}))),
        _ => Err(ApiError::new(
            StatusCode::NOT_FOUND,
            format!("no route {} {path} on a worker node", req.method()),
        )),
    };
    Ok(resp.unwrap_or_else(ApiError::native))
}

fn payload_id(s: &str) -> Result<Uuid, ApiError> {
    Uuid::parse_str(s)
        .map_err(|_| ApiError::new(StatusCode::NOT_FOUND, format!("no payload '{s}'")))
}

fn unknown(id: &Uuid) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        format!("no payload {id} on this node"),
    )
}

/// `POST /submit`: multipart files (field name = relative path) → a queued payload.
async fn submit(node: &Node, req: Request<UploadBody>) -> Result<Response<Body>, ApiError> {
    upload::check_length(req.headers(), node.max_upload_bytes)?;
    let staged = upload::staging_dir(&node.tmp)?;
    let (parts, body) = req.into_parts();
    upload::receive_multipart(node.max_upload_bytes, &parts.headers, body, staged.path()).await?;
    if !staged.path().join("run.sh").is_file() {
        return Err(ApiError::bad_request("the payload has no run.sh"));
    }
    let id = node.payloads.submit(staged).await.map_err(|e| {
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("cannot store the payload: {e}"),
        )
    })?;
    tracing::info!("payload {id} received");
    let s = Snapshot {
        status: super::payloads::Status::Prepared,
        exit_code: None,
    };
    Ok(status_json(StatusCode::CREATED, &id, &s))
}

/// `GET /retrieve/{id}` (zip once done, else the status) and `GET /retrieve_partial/{id}`
/// (zip of the current files whatever the state).
fn retrieve(node: &Node, id: &str, partial: bool) -> Result<Response<Body>, ApiError> {
    let id = payload_id(id)?;
    let (s, dir) = node.payloads.get(&id).ok_or_else(|| unknown(&id))?;
    if !partial && !s.status.is_done() {
        return Ok(status_json(StatusCode::OK, &id, &s));
    }
    let mut resp = archive_response(dir, Format::Zip, &format!("payload-{id}"));
    let headers = resp.headers_mut();
    headers.insert(
        "x-jobo-status",
        header::HeaderValue::from_static(s.status.word()),
    );
    if let Some(code) = s.exit_code {
        headers.insert("x-jobo-exit-code", header::HeaderValue::from(code));
    }
    Ok(resp)
}

/// `POST /kill/{id}`: kills the payload's process group and answers once it is over.
async fn kill(node: &Node, id: &str) -> Result<Response<Body>, ApiError> {
    let id = payload_id(id)?;
    let s = node.payloads.kill(&id).await.ok_or_else(|| unknown(&id))?;
    Ok(status_json(StatusCode::OK, &id, &s))
}

/// The machine's CPU use for `GET /load`, measured between two requests (at least
/// sysinfo's minimum interval apart, else the last value is given again).
pub struct Load(Mutex<Option<LoadState>>);

struct LoadState {
    sys: sysinfo::System,
    at: Instant,
    value: f32,
}

impl Load {
    /// Takes the first measurement, so the first request already covers the time since start.
    pub fn new() -> Load {
        let state = sysinfo::System::new().ok().map(|mut sys| {
            sys.refresh_cpu_usage();
            LoadState {
                sys,
                at: Instant::now(),
                value: 0.0,
            }
        });
        Load(Mutex::new(state))
    }

    pub fn percent(&self) -> f32 {
        let mut guard = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let Some(state) = guard.as_mut() else {
            return 0.0;
        };
        if state.at.elapsed() >= sysinfo::MINIMUM_CPU_UPDATE_INTERVAL {
            state.sys.refresh_cpu_usage();
            state.at = Instant::now();
            state.value = state.sys.global_cpu_usage();
        }
        state.value
    }
}

impl Default for Load {
    fn default() -> Self {
        Load::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_compare_whole() {
        assert!(token_matches(b"secret", b"secret"));
        assert!(!token_matches(b"secret", b"secre"));
        assert!(!token_matches(b"secret", b"secretx"));
        assert!(!token_matches(b"secret", b"Secret"));
        assert!(!token_matches(b"secret", b""));
    }

    #[test]
    fn only_client_routes_are_seed_routes() {
        assert!(is_seed_route(&Method::POST, "/submit"));
        assert!(is_seed_route(&Method::GET, "/retrieve/x"));
        assert!(is_seed_route(&Method::POST, "/kill/x"));
        assert!(!is_seed_route(&Method::GET, "/submit"));
        assert!(!is_seed_route(&Method::GET, "/v1/nodes"));
    }
}
