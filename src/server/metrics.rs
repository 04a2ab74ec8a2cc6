//! `GET /metrics`: the Prometheus text format. Live numbers (jobs queued or running by service,
//! nodes and their slots) are read at scrape time; counters and histograms come from
//! [`crate::metrics::Metrics`]. Any authenticated caller may scrape (on TCP a `user` or
//! `admin` token, e.g. Prometheus' `authorization: credentials_file`): the numbers are
//! aggregates and name no user.

use crate::http::Body;
use crate::http::respond::{ApiError, full};
use crate::metrics::{header, label};
use crate::state::Ctx;
use crate::store;
use hyper::{Response, StatusCode};
use std::fmt::Write;

pub async fn metrics(ctx: &Ctx) -> Result<Response<Body>, ApiError> {
    let live = ctx.core.store.call(|c| store::live_counts(c)).await?;
    let local = ctx.backends.local_slots();
    let nodes = ctx
        .backends
        .cluster()
        .list((local > 0).then_some(local))
        .await?;

    let mut out = String::with_capacity(4096);
    header(
        &mut out,
        "jobo_jobs",
        "gauge",
        "Jobs queued, dispatched or running now, by service and state.",
    );
    let mut queued = 0;
    for (service, state, n) in &live {
        if state == "queued" {
            queued += n;
        }
        let _ = writeln!(
            out,
            "jobo_jobs{{service=\"{}\",state=\"{state}\"}} {n}",
            label(service)
        );
    }
    header(
        &mut out,
        "jobo_queue_depth",
        "gauge",
        "Jobs waiting to run, all services.",
    );
    let _ = writeln!(out, "jobo_queue_depth {queued}");
    for (name, kind, help) in [
        (
            "jobo_node_up",
            "gauge",
            "1 if the node is healthy or draining, 0 if unreachable.",
        ),
        ("jobo_node_slots", "gauge", "Jobs the node runs at once."),
        ("jobo_node_running", "gauge", "Jobs on the node now."),
        (
            "jobo_node_jobs_done_total",
            "counter",
            "Jobs the node finished, as the store records them.",
        ),
    ] {
        header(&mut out, name, kind, help);
        for n in &nodes {
            let value = match name {
                "jobo_node_up" => u64::from(n.state != crate::api::NodeState::Unreachable),
                "jobo_node_slots" => n.slots as u64,
                "jobo_node_running" => n.used as u64,
                _ => n.jobs_done,
            };
            let _ = writeln!(out, "{name}{{node=\"{}\"}} {value}", label(&n.name));
        }
    }
    ctx.core.metrics.write(&mut out);
    Ok(full(
        StatusCode::OK,
        "text/plain; version=0.0.4; charset=utf-8",
        out,
    ))
}

/// `resp` with the bytes of its body counted as results sent as they stream out.
pub fn counted(ctx: &Ctx, resp: Response<Body>) -> Response<Body> {
    use http_body_util::BodyExt;
    let core = ctx.core.clone();
    resp.map(|body| {
        body.map_frame(move |frame| {
            if let Some(data) = frame.data_ref() {
                core.metrics.results(data.len() as u64);
            }
            frame
        })
        .boxed_unsync()
    })
}
