//! One task per native node keeps the node's event feed open (design §6).
//!
//! The feed is both the heartbeat and the completion signal: every line is a sign of life,
//! `change` lines say a payload started or ended, and nothing is polled. When the feed
//! breaks, the link reconnects with backoff; once the node has been silent for a whole lease
//! its jobs are requeued elsewhere. Every (re)connection starts with the node's `hello`,
//! which is reconciled with the store: finished payloads are collected, stale ones discarded,
//! and jobs the node does not know are requeued. A server restart is one more reconnection.

use super::remote::RemoteError;
use super::{RemoteNode, attempt, collect, dispatch, requeue};
use crate::protocol::{FeedEvent, PayloadInfo};
use crate::state::Ctx;
use crate::store;
use bytes::BytesMut;
use http_body_util::BodyExt;
use hyper::body::Incoming;
use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;

pub async fn run(ctx: Ctx, node: Arc<RemoteNode>) {
    let lease = ctx.config.cluster.lease;
    let beat = ctx.config.cluster.beat();
    let max_backoff = beat.clamp(Duration::from_millis(50), Duration::from_secs(2));
    let mut backoff = Duration::from_millis(50);
    // Said once per kind of trouble, not at every reconnection.
    let mut last_error = String::new();
    loop {
        let res = tokio::select! {
            _ = node.stop.cancelled() => return,
            r = session(&ctx, &node, lease, beat) => r,
        };
        match res {
            Ok(()) => {
                backoff = Duration::from_millis(50);
                last_error.clear();
            }
            Err(e) => {
                let said = e.to_string();
                if said != last_error {
                    tracing::warn!("node {}: {said}", node.row.name);
                    last_error = said;
                }
            }
        }
        // Wait a little before reconnecting; the lease may run out meanwhile.
        let wake = Instant::now() + backoff;
        loop {
            let expires = node.live().seen + lease;
            if Instant::now() >= expires {
                lose(&ctx, &node).await;
            }
            let until = if node.live().requeued {
                wake
            } else {
                wake.min(expires)
            };
            tokio::select! {
                _ = node.stop.cancelled() => return,
                _ = tokio::time::sleep_until(until) => {}
            }
            if Instant::now() >= wake {
                break;
            }
        }
        backoff = (backoff * 2).min(max_backoff);
    }
}

/// One connection to the feed; returns `Ok` if it got as far as the hello.
async fn session(
    ctx: &Ctx,
    node: &Arc<RemoteNode>,
    lease: Duration,
    beat: Duration,
) -> Result<(), RemoteError> {
    let body = node.client.feed(beat).await?;
    let mut lines = Lines::new(body);
    let mut greeted = false;
    loop {
        let line = match tokio::time::timeout(lease, lines.next()).await {
            Err(_) => return Err(RemoteError::Transient("silent for a whole lease".into())),
            Ok(Err(e)) if greeted => {
                tracing::warn!("node {}: feed broke: {e}", node.row.name);
                return Ok(());
            }
            Ok(Err(e)) => return Err(e),
            Ok(Ok(None)) => return if greeted { Ok(()) } else { Err(ended()) },
            Ok(Ok(Some(line))) => line,
        };
        let event: FeedEvent = serde_json::from_slice(&line)
            .map_err(|e| RemoteError::Transient(format!("unexpected feed line: {e}")))?;
        match event {
            FeedEvent::Hello { load, payloads, .. } => {
                greeted = true;
                if node.alive(Some(load)) {
                    tracing::info!("node {} is reachable", node.row.name);
                }
                reconcile(ctx, node, payloads).await;
                ctx.events.wake_scheduler();
            }
            FeedEvent::Change { payload } => {
                node.alive(None);
                on_payload(ctx, node, payload).await;
            }
            FeedEvent::Beat { load, .. } => {
                if node.alive(Some(load)) {
                    ctx.events.wake_scheduler();
                }
            }
        }
    }
}

fn ended() -> RemoteError {
    RemoteError::Transient("the feed ended before its hello".into())
}

/// The node has been silent for a lease: it takes no jobs, and the ones it had run elsewhere.
pub(super) async fn lose(ctx: &Ctx, node: &RemoteNode) {
    let first = {
        let mut live = node.live();
        let first = !live.requeued;
        live.reachable = false;
        live.requeued = true;
        first
    };
    if !first {
        return;
    }
    let why = format!("node {} unreachable", node.row.name);
    match requeue::requeue_node_jobs(ctx, &node.row.name, &why).await {
        Ok(0) => {}
        Ok(n) => tracing::warn!("{why}: its {n} jobs were requeued"),
        Err(e) => tracing::error!("{why}: cannot requeue its jobs: {e}"),
    }
    ctx.events.wake_scheduler();
}

/// Brings the store in line with what the node holds.
async fn reconcile(ctx: &Ctx, node: &Arc<RemoteNode>, payloads: Vec<PayloadInfo>) {
    let known: HashSet<String> = payloads.iter().map(|p| p.id.to_string()).collect();
    for p in payloads {
        on_payload(ctx, node, p).await;
    }
    let name = node.row.name.clone();
    let active = match ctx.store.call(move |c| store::active_on(c, &name)).await {
        Ok(a) => a,
        Err(e) => return tracing::error!("node {}: cannot reconcile: {e}", node.row.name),
    };
    for rec in active {
        if rec.payload.as_ref().is_some_and(|p| known.contains(p))
            || dispatch::lock(&node.pushing).contains(&rec.job.id)
        {
            continue;
        }
        attempt::unknown_to_node(ctx, &node.row.name, &rec).await;
    }
}

/// A payload's state as the node reports it: record the start, collect the end, discard
/// what is not the current attempt of a job on this node.
pub async fn on_payload(ctx: &Ctx, node: &Arc<RemoteNode>, info: PayloadInfo) {
    if info.job.is_none() {
        return; // sent through the seed's /submit by someone else: not ours
    }
    let payload = info.id.to_string();
    let key = payload.clone();
    let rec = match ctx.store.call(move |c| store::by_payload(c, &key)).await {
        Ok(rec) => rec,
        Err(e) => return tracing::error!("payload {payload}: {e}"),
    };
    let current = rec.filter(|r| {
        r.job.state.is_active() && r.job.node.as_deref() == Some(node.row.name.as_str())
    });
    let Some(rec) = current else {
        collect::discard(node.clone(), payload);
        return;
    };
    if info.state.is_done() {
        collect::start(ctx.clone(), node.clone(), rec, info);
    } else if info.state == crate::protocol::PayloadState::Running {
        attempt::started(ctx, &rec).await;
    }
}

/// Newline-separated lines of a streamed body.
struct Lines {
    body: Incoming,
    buf: BytesMut,
}

impl Lines {
    fn new(body: Incoming) -> Lines {
        Lines {
            body,
            buf: BytesMut::new(),
        }
    }

    async fn next(&mut self) -> Result<Option<BytesMut>, RemoteError> {
        loop {
            if let Some(at) = self.buf.iter().position(|&b| b == b'\n') {
                let mut line = self.buf.split_to(at + 1);
                line.truncate(at);
                return Ok(Some(line));
            }
            match self.body.frame().await {
                None => return Ok(None),
                Some(Err(e)) => return Err(RemoteError::Transient(e.to_string())),
                Some(Ok(frame)) => {
                    if let Ok(data) = frame.into_data() {
                        self.buf.extend_from_slice(&data);
                    }
                }
            }
        }
    }
}
