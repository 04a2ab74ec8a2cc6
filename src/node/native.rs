//! The node side of the native worker protocol ([`crate::protocol`]): the `/v1` routes the
//! server calls to push payloads, follow them and collect them. JSON in and out; errors are
//! `{"error": …}`.

use super::payloads::{Order, RunSettings, Submitted};
use super::routes::Node;
use super::{feed, follow};
use crate::api::LogQuery;
use crate::archive;
use crate::bridge::stream_from_blocking;
use crate::http::Body;
use crate::http::download;
use crate::http::respond::{ApiError, json, no_content, parse_query, stream};
use crate::http::upload::{self, UploadBody};
use crate::jobenv::RunEnv;
use crate::logtime;
use crate::paths::LogStream;
use crate::protocol::{FeedQuery, LeaseRenewal, NodeRoute, PayloadState, PushQuery};
use crate::validator::{self, Validator};
use hyper::{Request, Response, StatusCode, header};
use std::sync::Arc;
use std::time::Duration;
use uuid::Uuid;

/// Answers a native protocol route (the caller is already authorized).
pub async fn handle(
    node: &Arc<Node>,
    route: NodeRoute,
    query: &str,
    req: Request<UploadBody>,
) -> Result<Response<Body>, ApiError> {
    match route {
        NodeRoute::Payloads => Ok(json(StatusCode::OK, &node.payloads.list())),
        NodeRoute::Feed => {
            let q: FeedQuery = parse_query(query)?;
            let beat = q.beat_ms.unwrap_or(1000).clamp(20, 60_000);
            Ok(feed::response(node.clone(), Duration::from_millis(beat)))
        }
        NodeRoute::Lease => renew(node, query),
        NodeRoute::Push(id) => put(node, &id, query, req).await,
        NodeRoute::Delete(id) => delete(node, &id).await,
        NodeRoute::Cancel(id) => cancel(node, &id).await,
        NodeRoute::Results(id) => results(node, &id, req.headers()),
        NodeRoute::Logs(id, which) => logs(node, &id, which, query),
        seed => Err(ApiError::new(
            StatusCode::NOT_FOUND,
            format!("{} {} is not a native route", seed.method(), seed.path()),
        )),
    }
}

/// The snake_case name of a state, as in the JSON.
fn state_name(state: PayloadState) -> String {
    match serde_json::to_value(state) {
        Ok(serde_json::Value::String(s)) => s,
        _ => format!("{state:?}"),
    }
}

/// `PUT /v1/payloads/{uuid}?job=ID&attempt=N[&timeout=SECS][&kill_grace_ms=MS][&run_as=USER]`,
/// body tar.gz; `403` before the body is read when the node will not run it as that user.
async fn put(
    node: &Node,
    id: &str,
    query: &str,
    req: Request<UploadBody>,
) -> Result<Response<Body>, ApiError> {
    let id = Uuid::parse_str(id).map_err(|_| {
        ApiError::bad_request(format!(
            "invalid payload id '{id}': payloads are named by a uuid"
        ))
    })?;
    let q: PushQuery = parse_query(query)?;
    if q.timeout == Some(0) {
        return Err(ApiError::bad_request(
            "timeout must be at least 1 second (leave it out for none)",
        ));
    }
    let run = run_settings(&q)?;
    // A retried push: answered as it is, its body read and thrown away (by `UploadBody`).
    if let Some(info) = node.payloads.info(&id) {
        return Ok(json(StatusCode::OK, &info));
    }
    // Fenced: the server this lease was from may be running its jobs elsewhere. `503`: the
    // server sends the job back to the queue, attempt not counted.
    if !node.lease.valid() {
        return Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "this node's lease ran out (its server did not renew it in time): it takes no \
             payloads until the server renews it",
        ));
    }
    let run_as = node
        .allowed
        .for_payload(q.run_as.as_deref())
        .map_err(|why| ApiError::new(StatusCode::FORBIDDEN, why))?;
    upload::check_length(req.headers(), node.limits.bytes)?;
    let encoding = upload::tar_encoding(req.headers())?;
    let staged = upload::staging_dir(&node.tmp)?;
    let body = req.into_body();
    upload::receive_tar(node.limits, encoding, body, &node.tmp, staged.path()).await?;
    if !staged.path().join("run.sh").is_file() {
        return Err(ApiError::bad_request("the payload has no run.sh"));
    }
    let order = Order {
        id,
        job: Some(q.job),
        attempt: Some(q.attempt),
        timeout: q.timeout.map(Duration::from_secs),
        kill_grace: q.kill_grace_ms.map(Duration::from_millis),
        seed_id: None,
        run,
        run_as,
    };
    match node.payloads.submit(order, staged).await {
        Ok(Submitted::New(info)) => {
            tracing::info!(
                "payload {id} received (job {} attempt {})",
                q.job,
                q.attempt
            );
            Ok(json(StatusCode::CREATED, &info))
        }
        Ok(Submitted::Existing(info)) => Ok(json(StatusCode::OK, &info)),
        Err(e) => Err(internal("store the payload", e)),
    }
}

/// How a pushed payload runs, from its query (defaults for what an older server leaves out).
fn run_settings(q: &PushQuery) -> Result<RunSettings, ApiError> {
    let json = |what: &str, text: &str| ApiError::bad_request(format!("invalid {what}: {text}"));
    let vars = q
        .env
        .as_deref()
        .map(|e| serde_json::from_str(e).map_err(|err| json("env", &err.to_string())))
        .transpose()?;
    let validator = match q.validator.as_deref() {
        None => validator::builtin(),
        Some(text) => {
            let settings: validator::Settings =
                serde_json::from_str(text).map_err(|e| json("validator", &e.to_string()))?;
            Validator::new(&settings)
                .map_err(|e| json("validator", &e.to_string()))?
                .map(Arc::new)
        }
    };
    Ok(RunSettings {
        service: q.service.clone(),
        user: q.user.clone(),
        env: RunEnv::received(q.path.clone(), vars),
        max_output: q.max_output,
        caps: crate::cgroup::Caps {
            memory: q.memory,
            cpus: q.cpus,
            pids: q.pids,
        },
        network: q.network.unwrap_or_default(),
        validator,
    })
}

/// `POST /v1/lease?sent_ms=T&lease_ms=L`: the server renews the node's lease (fencing).
fn renew(node: &Node, query: &str) -> Result<Response<Body>, ApiError> {
    let renewal: LeaseRenewal = parse_query(query)?;
    node.lease.renew(renewal).map_err(ApiError::bad_request)?;
    Ok(no_content())
}

/// `POST /v1/payloads/{uuid}/cancel`: answers once the run is over; the files stay.
async fn cancel(node: &Node, id: &str) -> Result<Response<Body>, ApiError> {
    let id = payload_id(id)?;
    let info = node.payloads.kill(&id).await.ok_or_else(|| unknown(&id))?;
    Ok(json(StatusCode::OK, &info))
}

/// `DELETE /v1/payloads/{uuid}`: kills it if needed, then forgets it and its files.
async fn delete(node: &Node, id: &str) -> Result<Response<Body>, ApiError> {
    let id = payload_id(id)?;
    match node.payloads.remove(&id).await {
        None => Err(unknown(&id)),
        Some(Err(e)) => Err(internal(&format!("remove payload {id}"), e)),
        Some(Ok(())) => Ok(no_content()),
    }
}

/// `GET /v1/payloads/{uuid}/results`: `work/`, `stdout.log` and `stderr.log` as tar, in the
/// encoding the server's `Accept-Encoding` asks for; tar.gz to a server that sends none.
fn results(node: &Node, id: &str, headers: &hyper::HeaderMap) -> Result<Response<Body>, ApiError> {
    let id = payload_id(id)?;
    let handle = node.payloads.handle(&id).ok_or_else(|| unknown(&id))?;
    let info = handle.info.borrow().clone();
    if !info.state.is_done() {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            format!(
                "payload {id} is {}; its results are ready when it is over",
                state_name(info.state)
            ),
        ));
    }
    let dir = handle.dir.path().to_path_buf();
    let encoding = match headers.contains_key(header::ACCEPT_ENCODING) {
        true => Some(download::accepted(headers)),
        false => None,
    };
    let chunks = stream_from_blocking(move |w| {
        // The logs' time indexes travel with them (src/logtime.rs); a run without output has none.
        let top = [
            "work",
            LogStream::Stdout.file_name(),
            LogStream::Stderr.file_name(),
            logtime::INDEXES[0],
            logtime::INDEXES[1],
        ];
        let e = encoding.unwrap_or(archive::Encoding::Gzip);
        archive::pack_tar_only(&dir, &top, e, w)
    });
    let mut resp = match encoding {
        Some(e) => {
            let mut resp = stream(archive::media::TAR, chunks);
            download::tar_encoded(&mut resp, e);
            resp
        }
        None => stream(archive::media::TGZ, chunks),
    };
    let headers = resp.headers_mut();
    let ext = if encoding.is_some() { "tar" } else { "tar.gz" };
    if let Ok(v) = format!("attachment; filename=\"payload-{id}.{ext}\"").parse() {
        headers.insert(header::CONTENT_DISPOSITION, v);
    }
    if let Ok(v) = state_name(info.state).parse() {
        headers.insert("x-jobo-status", v);
    }
    if let Some(code) = info.exit_code {
        headers.insert("x-jobo-exit-code", header::HeaderValue::from(code));
    }
    Ok(resp)
}

/// `GET /v1/payloads/{uuid}/logs/{stdout|stderr}?offset=N&follow=true`.
fn logs(node: &Node, id: &str, which: LogStream, query: &str) -> Result<Response<Body>, ApiError> {
    let id = payload_id(id)?;
    let q: LogQuery = parse_query(query)?;
    let handle = node.payloads.handle(&id).ok_or_else(|| unknown(&id))?;
    Ok(follow::log_response(handle, which, q))
}

/// A payload id in a path: anything else is a payload that is not here.
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

fn internal(what: &str, e: std::io::Error) -> ApiError {
    ApiError::new(
        StatusCode::INTERNAL_SERVER_ERROR,
        format!("cannot {what}: {e}"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_names_are_the_json_names() {
        assert_eq!(state_name(PayloadState::TimedOut), "timed_out");
        assert_eq!(state_name(PayloadState::Completed), "completed");
    }
}
