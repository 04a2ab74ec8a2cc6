//! The one router served on the Unix socket and on TCP: native `/v1` and seed-compatible
//! routes, plus health. It decides who the caller is, then hands over to a handler.

use super::respond::{ApiError, Body, full, job_id, json};
use super::{native, nodes, seed};
use crate::api::USER_HEADER;
use crate::paths::user_name;
use crate::queue::Caller;
use crate::state::Ctx;
use hyper::body::Incoming;
use hyper::{Method, Request, Response, StatusCode};
use std::convert::Infallible;

/// Where a connection comes from.
#[derive(Debug, Clone)]
pub enum Peer {
    /// The Unix socket: the kernel tells us the caller's uid (SO_PEERCRED).
    Unix {
        uid: u32,
    },
    Tcp(std::net::SocketAddr),
}

/// Who the caller of a native route is. On the socket, their Unix user; on TCP, the user the
/// client declares (`X-Jobo-User`) until token authentication exists.
pub fn caller(ctx: &Ctx, peer: &Peer, req: &Request<Incoming>) -> Result<Caller, ApiError> {
    match peer {
        Peer::Unix { uid } => Ok(Caller {
            user: user_name(*uid),
            admin: *uid == 0 || *uid == ctx.admin_uid,
        }),
        Peer::Tcp(_) => {
            let declared = req.headers().get(USER_HEADER).and_then(|v| v.to_str().ok());
            let user = match declared {
                None => "anonymous".to_string(),
                Some(u) if valid_user(u) => u.to_string(),
                Some(u) => {
                    return Err(ApiError::bad_request(format!(
                        "invalid user name '{u}': use letters, digits, '.', '_' or '-'"
                    )));
                }
            };
            Ok(Caller { user, admin: true })
        }
    }
}

pub fn valid_user(u: &str) -> bool {
    !u.is_empty()
        && u.len() <= 64
        && u.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
}

pub async fn handle(
    ctx: Ctx,
    peer: Peer,
    req: Request<Incoming>,
) -> Result<Response<Body>, Infallible> {
    let path = req.uri().path().to_string();
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    let method = req.method().clone();
    let resp = match (&method, segments.as_slice()) {
        (&Method::GET, [""]) => json(StatusCode::OK, &serde_json::json!({"message": "pong"})),
        (&Method::GET, ["health"]) => health(&ctx).await,
        // Seed-compatible routes answer in the seed's JSON shape.
        (&Method::POST, ["upload"]) => seed::upload(&ctx, req).await,
        (&Method::GET, ["download", id]) => seed::download(&ctx, id, false).await,
        (&Method::GET, ["download_partial", id]) => seed::download(&ctx, id, true).await,
        (&Method::POST, ["terminate", id]) => seed::terminate(&ctx, id).await,
        (_, ["v1", rest @ ..]) => native_route(&ctx, &peer, req, &method, rest)
            .await
            .unwrap_or_else(ApiError::native),
        // A seed path with the wrong method: the seed's router answers 405.
        (_, ["" | "health" | "upload"] | ["download" | "download_partial" | "terminate", _]) => {
            drop(req.map(super::upload::UploadBody::new));
            full(StatusCode::METHOD_NOT_ALLOWED, "text/plain", "")
        }
        _ => ApiError::new(
            StatusCode::NOT_FOUND,
            format!("no route for {method} {path}"),
        )
        .native(),
    };
    Ok(resp)
}

async fn native_route(
    ctx: &Ctx,
    peer: &Peer,
    req: Request<Incoming>,
    method: &Method,
    rest: &[&str],
) -> Result<Response<Body>, ApiError> {
    let query = req.uri().query().unwrap_or("").to_string();
    let who = match caller(ctx, peer, &req) {
        Ok(who) => who,
        Err(e) => {
            // Let a client that is still sending an upload finish, so it reads the refusal.
            drop(req.map(super::upload::UploadBody::new));
            return Err(e);
        }
    };
    match (method, rest) {
        (&Method::GET, ["services"]) => native::services(ctx).await,
        (&Method::GET, ["jobs"]) => native::list(ctx, &query).await,
        (&Method::POST, ["jobs"]) => native::submit(ctx, &who, &query, req).await,
        (&Method::GET, ["jobs", id]) => native::get(ctx, job_id(id)?).await,
        (&Method::DELETE, ["jobs", id]) => native::remove(ctx, &who, job_id(id)?).await,
        (&Method::GET, ["jobs", id, "wait"]) => native::wait(ctx, job_id(id)?, &query).await,
        (&Method::POST, ["jobs", id, "cancel"]) => native::cancel(ctx, &who, job_id(id)?).await,
        (&Method::GET, ["jobs", id, "logs", stream]) => {
            native::logs(ctx, job_id(id)?, stream, &query).await
        }
        (&Method::GET, ["jobs", id, "results"]) => native::results(ctx, job_id(id)?, &query).await,
        (_, ["nodes", sub @ ..]) => nodes::route(ctx, &who, method, sub, &query, req).await,
        _ => Err(ApiError::new(
            StatusCode::NOT_FOUND,
            format!("no route for {method} /v1/{}", rest.join("/")),
        )),
    }
}

/// `/health`: 503 naming what is wrong when the store cannot answer, has recorded a failure
/// (a write that did not go through) or is stuck; see `Store::health`.
async fn health(ctx: &Ctx) -> Response<Body> {
    match ctx.store.health().await {
        Ok(()) => json(
            StatusCode::OK,
            &serde_json::json!({"status": "ok", "database": "ok"}),
        ),
        Err(what) => json(
            StatusCode::SERVICE_UNAVAILABLE,
            &serde_json::json!({"status": "error", "database": what}),
        ),
    }
}
