//! The seed's client routes on a node: `/submit`, `/retrieve/{n}`, `/retrieve_partial/{n}`,
//! `/kill/{n}`, answered exactly as the seed's own client answers them, so that the seed's
//! server can drive a `jobod worker` (its `SERVICE_*_UPLOAD_URL` and friends pointed here) and
//! so can jobo's `--protocol seed` nodes.
//!
//! The seed's server keeps the number `/submit` answers as a `u32` and reads every answer into
//! its payload record ([`SeedPayload`]), so these routes name payloads by number, over the same
//! payload table as the native routes. Beyond the seed's answers they add `x-jobo-status` and
//! `x-jobo-exit-code` headers, which the seed ignores and jobo's seed driver reads.

use super::payloads::{Handle, Order, Submitted};
use super::routes::Node;
use crate::http::Body;
use crate::http::download::{Format, archive_response};
use crate::http::multipart;
use crate::http::respond::{ApiError, full, json};
use crate::http::upload::{self, UploadBody};
use crate::protocol::{PayloadInfo, PayloadState, SeedPayload};
use hyper::{Request, Response, StatusCode, header};
use uuid::Uuid;

/// A seed-shaped failure: the status, and the seed's empty record with an `error` added.
pub struct SeedError(ApiError);

impl From<ApiError> for SeedError {
    fn from(e: ApiError) -> SeedError {
        SeedError(e)
    }
}

impl SeedError {
    pub fn response(self) -> Response<Body> {
        let SeedError(e) = self;
        if e.status == StatusCode::BAD_REQUEST && e.message.starts_with("Invalid URL") {
            // What the seed's router answers to a path id that is not a number.
            return full(e.status, "text/plain; charset=utf-8", e.message);
        }
        if e.status.is_server_error() {
            tracing::error!("{}", e.message);
        }
        let mut body = serde_json::to_value(SeedPayload::empty()).unwrap_or_default();
        body["error"] = e.message.clone().into();
        e.headed(json(e.status, &body))
    }
}

/// A payload number in a path, as the seed's router parses it.
fn number(s: &str) -> Result<u32, ApiError> {
    s.parse()
        .map_err(|_| ApiError::bad_request(format!("Invalid URL: Cannot parse `{s}` to a `u32`")))
}

fn unknown(n: u32) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        format!("no payload {n} on this node"),
    )
}

fn internal(what: &str, e: std::io::Error) -> ApiError {
    ApiError::new(
        StatusCode::INTERNAL_SERVER_ERROR,
        format!("cannot {what}: {e}"),
    )
}

/// The payload numbered `n`, with what it takes to answer for it.
fn lookup(node: &Node, n: &str) -> Result<(u32, Handle), ApiError> {
    let n = number(n)?;
    let handle = node
        .payloads
        .by_seed_id(n)
        .and_then(|id| node.payloads.handle(&id))
        .ok_or_else(|| unknown(n))?;
    Ok((n, handle))
}

fn record(n: u32, info: &PayloadInfo, handle: &Handle) -> SeedPayload {
    SeedPayload {
        id: n,
        input: Default::default(),
        status: info.state.seed_word().into(),
        loc: handle.dir.work().display().to_string(),
        pid: 0,
        killed: handle.killed,
    }
}

/// The `x-jobo-*` headers: how the run ended, in more words than the seed has.
fn with_outcome(mut resp: Response<Body>, info: &PayloadInfo) -> Response<Body> {
    let headers = resp.headers_mut();
    headers.insert(
        "x-jobo-status",
        header::HeaderValue::from_static(info.state.seed_word()),
    );
    if let Some(code) = info.exit_code {
        headers.insert("x-jobo-exit-code", header::HeaderValue::from(code));
    }
    resp
}

/// `POST /submit`: multipart files → a payload waiting for a slot, answered `200` with its
/// record (`"status":"Prepared"`).
pub async fn submit(node: &Node, req: Request<UploadBody>) -> Result<Response<Body>, SeedError> {
    let run_as = node
        .allowed
        .for_payload(None)
        .map_err(|why| ApiError::new(StatusCode::FORBIDDEN, why))?;
    upload::check_length(req.headers(), node.limits.bytes)?;
    let staged = upload::staging_dir(&node.tmp)?;
    let (parts, body) = req.into_parts();
    multipart::receive_multipart(node.limits, &parts.headers, body, staged.path()).await?;
    if !staged.path().join("run.sh").is_file() {
        return Err(ApiError::bad_request("the payload has no run.sh").into());
    }
    let n = node
        .payloads
        .next_seed_id()
        .map_err(|e| internal("number the payload", e))?;
    let order = Order {
        id: Uuid::new_v4(),
        job: None,
        attempt: None,
        timeout: None,
        kill_grace: None,
        seed_id: Some(n),
        run: Default::default(),
        run_as,
    };
    let info = match node.payloads.submit(order, staged).await {
        Ok(Submitted::New(info) | Submitted::Existing(info)) => info,
        Err(e) => return Err(internal("store the payload", e).into()),
    };
    tracing::info!("payload {n} ({}) received", info.id);
    let handle = node.payloads.handle(&info.id).ok_or_else(|| unknown(n))?;
    Ok(json(StatusCode::OK, &record(n, &info, &handle)))
}

/// `GET /retrieve/{n}`: the zip of its files once it completed, else its record (`Running`,
/// `Failed`, `Killed` …); `GET /retrieve_partial/{n}`: the zip of its files whatever its state.
pub fn retrieve(node: &Node, n: &str, partial: bool) -> Result<Response<Body>, SeedError> {
    let (n, handle) = lookup(node, n)?;
    let info = handle.info.borrow().clone();
    let resp = if partial || info.state == PayloadState::Completed {
        archive_response(handle.dir.work(), Format::Zip, &format!("payload-{n}"))
    } else {
        json(StatusCode::OK, &record(n, &info, &handle))
    };
    Ok(with_outcome(resp, &info))
}

/// `POST /kill/{n}`: kills the payload's whole process group, answers `200` with no body once
/// it is over (the seed kills only `bash`, and at once).
pub async fn kill(node: &Node, n: &str) -> Result<Response<Body>, SeedError> {
    let n = number(n)?;
    let id = node.payloads.by_seed_id(n).ok_or_else(|| unknown(n))?;
    let info = node.payloads.kill(&id).await.ok_or_else(|| unknown(n))?;
    Ok(with_outcome(full(StatusCode::OK, "text/plain", ""), &info))
}
