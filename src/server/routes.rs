//! The one router served on the Unix socket and on TCP: native `/v1` and seed-compatible
//! routes, plus health. It asks `identity.rs` who the caller is, then hands over to a handler.

use super::identity::{Asked, caller, seed_caller};
use super::{control, docs, native, nodes, seed, tokens};
use crate::api::routes::{Route, RouteError};
use crate::http::Body;
use crate::http::respond::{ApiError, full, json};
use crate::http::upload::UploadBody;
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
    /// The `seed_listen` listener: seed routes only, no token, an anonymous portal.
    SeedTcp(std::net::SocketAddr),
}

/// Whether `u` may name a user: what a token is made for and a job is owned by.
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
    let seed_only = matches!(peer, Peer::SeedTcp(_));
    let is_seed = matches!(
        (&method, segments.as_slice()),
        (&Method::POST, ["upload"])
            | (&Method::GET, ["download" | "download_partial", _])
            | (&Method::POST, ["terminate", _])
    );
    let who = if is_seed {
        match seed_caller(&ctx, &Asked::of(&peer, &req)).await {
            Ok(who) => Some(who),
            Err(e) => {
                // Let a client that is still sending an upload finish, so it reads the refusal.
                drop(req.map(UploadBody::new));
                return Ok(challenge(e.seed(None)));
            }
        }
    } else {
        None
    };
    let resp = match (&method, segments.as_slice(), who) {
        (&Method::GET, [""], _) => {
            json(StatusCode::OK, &serde_json::json!({"message": "pong"}))
        }
        // Seed-compatible routes answer in the seed's JSON shape.
        (&Method::POST, ["upload"], Some(who)) => seed::upload(&ctx, &who, req).await,
        (&Method::GET, ["download", id], Some(who)) => {
            seed::download(&ctx, &who, id, false).await
        }
        (&Method::GET, ["download_partial", id], Some(who)) => {
            seed::download(&ctx, &who, id, true).await
        }
        (&Method::POST, ["terminate", id], Some(who)) => seed::terminate(&ctx, &who, id).await,
        (&Method::GET, ["health"], _) if !seed_only => health(&ctx).await,
        (&Method::GET, ["v1", "openapi.json"], _) if !seed_only => docs::openapi(),
        (&Method::GET, ["swagger"], _) if !seed_only => docs::swagger(None),
        (&Method::GET, ["swagger", file], _) if !seed_only => docs::swagger(Some(file)),
        (&Method::GET, ["metrics"], _) if !seed_only => {
            match caller(&ctx, &Asked::of(&peer, &req)).await {
                Ok(_) => super::metrics::metrics(&ctx).await.unwrap_or_else(refusal),
                Err(e) => refusal(e),
            }
        }
        (_, ["v1", ..], _) => native_route(&ctx, &peer, req, &method, &path)
            .await
            .unwrap_or_else(refusal),
        // A seed path with the wrong method: the seed's router answers 405.
        (_, ["" | "health" | "upload"] | ["download" | "download_partial" | "terminate", _], _)
            if !(seed_only && method == Method::GET && segments == ["health"]) =>
        {
            drop(req.map(UploadBody::new));
            full(StatusCode::METHOD_NOT_ALLOWED, "text/plain", "")
        }
        _ if seed_only => ApiError::new(
            StatusCode::NOT_FOUND,
            format!("no route for {method} {path}: this listener (seed_listen) serves only the seed routes"),
        )
        .native(),
        _ => ApiError::new(
            StatusCode::NOT_FOUND,
            format!("no route for {method} {path}"),
        )
        .native(),
    };
    Ok(resp)
}

/// A native error answer; a `401` also names the scheme to authenticate with (RFC 9110).
fn refusal(e: ApiError) -> Response<Body> {
    challenge(e.native())
}

/// `resp`, with `WWW-Authenticate: Bearer` if it is a `401`.
fn challenge(mut resp: Response<Body>) -> Response<Body> {
    if resp.status() == StatusCode::UNAUTHORIZED {
        resp.headers_mut().insert(
            hyper::header::WWW_AUTHENTICATE,
            hyper::header::HeaderValue::from_static("Bearer"),
        );
    }
    resp
}

async fn native_route(
    ctx: &Ctx,
    peer: &Peer,
    req: Request<Incoming>,
    method: &Method,
    path: &str,
) -> Result<Response<Body>, ApiError> {
    let query = req.uri().query().unwrap_or("").to_string();
    let who = match caller(ctx, &Asked::of(peer, &req)).await {
        Ok(who) => who,
        Err(e) => {
            // Let a client that is still sending an upload finish, so it reads the refusal.
            drop(req.map(UploadBody::new));
            return Err(e);
        }
    };
    let route = match Route::parse(method, path) {
        Ok(route) => route,
        Err(e) => {
            // Only an admin hears what is wrong with a node key.
            if matches!(e, RouteError::BadNodeKey(_)) {
                nodes::check_admin(&who)?;
            }
            return Err(e.into());
        }
    };
    match route {
        Route::Services => native::services(ctx).await,
        Route::ListJobs => control::list(ctx, &who, &query).await,
        Route::Submit => native::submit(ctx, &who, &query, req).await,
        Route::Job(id) => native::get(ctx, &who, id).await,
        Route::RemoveJob(id) => native::remove(ctx, &who, id).await,
        Route::Wait(id) => native::wait(ctx, &who, id, &query).await,
        Route::Cancel(id) => native::cancel(ctx, &who, id).await,
        Route::Restart(id) => control::restart(ctx, &who, id).await,
        Route::Prune => control::prune(ctx, &who, &query).await,
        Route::Logs(id, stream) => native::logs(ctx, &who, id, stream, &query).await,
        Route::Results(id) => native::results(ctx, &who, id, &query, req.headers()).await,
        Route::Nodes
        | Route::AddNode
        | Route::RemoveNode(_)
        | Route::Drain(_)
        | Route::Undrain(_) => nodes::route(ctx, &who, route, &query, req).await,
        Route::System => super::system::info(ctx, &who).await,
        Route::Stop => super::system::stop(ctx, &who).await,
        Route::Tokens | Route::CreateToken | Route::RevokeToken(_) => {
            tokens::route(ctx, &who, route, req).await
        }
    }
}

/// `/health`: 503 naming what is wrong when the store cannot answer, has recorded a failure
/// (a write that did not go through) or is stuck; see `Store::health`.
async fn health(ctx: &Ctx) -> Response<Body> {
    match ctx.core.store.health().await {
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
