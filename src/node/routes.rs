//! A worker node's HTTP front: who may call (the node token) and which handler answers.
//! The handlers live with their protocol: the seed's client routes in `seed.rs`, the native
//! worker protocol (`/v1`, [`crate::protocol`]) in `native.rs`.

use super::lease::Lease;
use super::load::Load;
use super::payloads::Payloads;
use super::{native, seed};
use crate::server::Body;
use crate::server::respond::{ApiError, full, json};
use crate::server::upload::UploadBody;
use hyper::body::Incoming;
use hyper::{Method, Request, Response, StatusCode, header};
use std::convert::Infallible;
use std::path::PathBuf;
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

/// What every request handler of a node shares.
pub struct Node {
    pub payloads: Payloads,
    /// The lease the server renews (`POST /v1/lease`); fencing, see `lease.rs`.
    pub lease: Arc<Lease>,
    /// The node token; compared in constant time and never logged.
    pub token: String,
    /// Let the seed routes through without a token (for the seed's server, which sends none).
    pub allow_seed_without_token: bool,
    pub max_upload_bytes: u64,
    /// Uploads in progress (emptied at start).
    pub tmp: PathBuf,
    pub load: Load,
    /// Cancelled when the node stops: ends the streams that would otherwise never end.
    pub shutdown: CancellationToken,
}

/// The seed's client routes; all of them may be let through without a token when the
/// operator opted in. Routes added later for the server (node management) are not.
fn is_seed_route(method: &Method, path: &str) -> bool {
    match *method {
        Method::GET => {
            path == "/"
                || path == "/load"
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
    let query = req.uri().query().unwrap_or("").to_string();
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    let seed_resp = |r: Result<Response<Body>, seed::SeedError>| r.unwrap_or_else(|e| e.response());
    let resp = match (req.method().clone(), segments.as_slice()) {
        (Method::POST, ["submit"]) => seed_resp(seed::submit(&node, req).await),
        (Method::GET, ["retrieve", n]) => seed_resp(seed::retrieve(&node, n, false)),
        (Method::GET, ["retrieve_partial", n]) => seed_resp(seed::retrieve(&node, n, true)),
        (Method::POST, ["kill", n]) => seed_resp(seed::kill(&node, n).await),
        (Method::GET, ["load"]) => json(StatusCode::OK, &node.load.percent()),
        (Method::GET, ["health"]) => json(
            StatusCode::OK,
            &serde_json::json!({"status": "ok", "database": "ok"}),
        ),
        (Method::GET, [""]) => json(StatusCode::OK, &serde_json::json!({"message": "pong"})),
        (method, ["v1", rest @ ..]) => native::handle(&node, method, rest, &query, req)
            .await
            .unwrap_or_else(ApiError::native),
        (_, ["submit" | "retrieve" | "retrieve_partial" | "kill" | "load" | "health" | ""])
        | (_, ["retrieve" | "retrieve_partial" | "kill", _]) => method_not_allowed(),
        _ => not_found(req.method(), &path).native(),
    };
    Ok(resp)
}

/// What the seed answers to a known path with the wrong method.
pub fn method_not_allowed() -> Response<Body> {
    full(StatusCode::METHOD_NOT_ALLOWED, "text/plain", "")
}

pub fn not_found(method: &Method, path: &str) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        format!("no route {method} {path} on a worker node"),
    )
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
        assert!(!is_seed_route(&Method::GET, "/v1/payloads"));
        assert!(!is_seed_route(&Method::PUT, "/v1/payloads/x"));
    }
}
