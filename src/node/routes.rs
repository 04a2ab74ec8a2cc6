//! A worker node's HTTP front: who may call (the node token) and which handler answers.
//! The handlers live with their protocol: the seed's client routes in `seed.rs`, the native
//! worker protocol (`/v1`, [`crate::protocol`]) in `native.rs`.

use super::lease::Lease;
use super::load::Load;
use super::payloads::Payloads;
use super::{native, seed};
use crate::http::Body;
use crate::http::respond::{ApiError, full, json};
use crate::http::upload::UploadBody;
use crate::protocol::NodeRoute;
use crate::protocol::routes::NodeRouteError;
use hyper::body::Incoming;
use hyper::{Request, Response, StatusCode, header};
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
    /// Whom payloads may run as.
    pub allowed: super::allow::Allowed,
    pub limits: crate::http::upload::UploadLimits,
    /// Uploads in progress (emptied at start).
    pub tmp: PathBuf,
    pub load: Load,
    /// Cancelled when the node stops: ends the streams that would otherwise never end.
    pub shutdown: CancellationToken,
}

/// Lets the request through if it carries the node token, or if it is one of the seed's
/// client routes and the operator opted in to those without a token. Routes added later for
/// the server are never let through without it.
fn authorize<B>(node: &Node, req: &Request<B>, seed_route: bool) -> Result<(), ApiError> {
    let given = req.headers().get(header::AUTHORIZATION);
    if given.is_none() && node.allow_seed_without_token && seed_route {
        return Ok(());
    }
    let bearer = given
        .and_then(|v| v.as_bytes().strip_prefix(b"Bearer "))
        .map(<[u8]>::trim_ascii);
    match bearer {
        Some(t) if crate::token::matches(node.token.as_bytes(), t) => Ok(()),
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
    let route = NodeRoute::parse(req.method(), req.uri().path());
    let seed_route = route.as_ref().is_ok_and(NodeRoute::is_seed);
    if let Err(e) = authorize(&node, &req, seed_route) {
        let mut resp = e.native();
        resp.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            header::HeaderValue::from_static("Bearer"),
        );
        return Ok(resp);
    }
    let route = match route {
        Ok(route) => route,
        Err(NodeRouteError::MethodNotAllowed) => return Ok(method_not_allowed()),
        Err(e @ NodeRouteError::NotFound { .. }) => {
            return Ok(ApiError::new(StatusCode::NOT_FOUND, e.to_string()).native());
        }
        Err(NodeRouteError::BadRequest(message)) => {
            return Ok(ApiError::bad_request(message).native());
        }
    };
    let query = req.uri().query().unwrap_or("").to_string();
    let seed_resp = |r: Result<Response<Body>, seed::SeedError>| r.unwrap_or_else(|e| e.response());
    let resp = match route {
        NodeRoute::SeedSubmit => seed_resp(seed::submit(&node, req).await),
        NodeRoute::SeedRetrieve(n) => seed_resp(seed::retrieve(&node, &n, false)),
        NodeRoute::SeedRetrievePartial(n) => seed_resp(seed::retrieve(&node, &n, true)),
        NodeRoute::SeedKill(n) => seed_resp(seed::kill(&node, &n).await),
        NodeRoute::SeedLoad => json(StatusCode::OK, &node.load.percent()),
        NodeRoute::SeedHealth => json(
            StatusCode::OK,
            &serde_json::json!({"status": "ok", "database": "ok"}),
        ),
        NodeRoute::SeedPing => json(StatusCode::OK, &serde_json::json!({"message": "pong"})),
        native => native::handle(&node, native, &query, req)
            .await
            .unwrap_or_else(ApiError::native),
    };
    Ok(resp)
}

/// What the seed answers to a known path with the wrong method.
pub fn method_not_allowed() -> Response<Body> {
    full(StatusCode::METHOD_NOT_ALLOWED, "text/plain", "")
}
