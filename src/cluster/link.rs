//! One task per native node keeps the node's event feed open (design §6).
//!
//! The feed is both the heartbeat and the completion signal: every line is a sign of life,
//! `change` lines say a payload started or ended, and nothing is polled. When the feed
//! breaks, the link reconnects with backoff; once the node has been silent for a whole lease
//! its jobs are requeued elsewhere. Every (re)connection starts with the node's `hello`,
//! which is reconciled with the store: finished payloads are collected, stale ones discarded,
//! and jobs the node does not know are requeued. A server restart is one more reconnection.
//!
//! The link also renews the node's lease (fencing, `node/lease.rs`): for each `hello` and
//! `beat` it reads, it echoes the line's `sent_ms` to `POST /v1/lease`, the hello's at once
//! (before the node is offered to the scheduler: a node whose lease ran out takes no payload
//! until renewed), the beats' from a task of its own, newest first, so a slow answer never
//! holds up the feed. A node that stops hearing those renewals kills its runs before this link
//! may requeue them; a run it killed comes back `fenced`, and is requeued and discarded here.
//!
//! A feed line is at most [`MAX_LINE`] long: a longer one ends the connection, with an error
//! logged, before the link holds more of it in memory.

use super::remote::RemoteError;
use super::{RemoteNode, attempt, collect, dispatch, requeue};
use crate::core::Core;
use crate::job::JobState;
use crate::placement::Placement;
use crate::protocol::{FeedEvent, PayloadInfo, PayloadState};
use crate::store;
use bytes::BytesMut;
use http_body_util::BodyExt;
use hyper::body::Incoming;
use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tokio::time::Instant;

/// The longest feed line read: 4 MiB. The hello is the long one: it lists every native payload
/// the node holds, about 120 bytes each as JSON (some 220 with a long reason), so at least
/// 19,000 payloads fit, where a node holds its slots' worth plus the few not collected yet.
pub const MAX_LINE: usize = 4 << 20;

/// Aborts the renewal task when the session ends, however it ends.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

pub async fn run(core: Arc<Core>, node: Arc<RemoteNode>) {
    let lease = core.config.cluster.lease;
    let beat = core.config.cluster.beat();
    let max_backoff = beat.clamp(Duration::from_millis(50), Duration::from_secs(2));
    let mut backoff = Duration::from_millis(50);
    // Said once per kind of trouble, not at every reconnection.
    let mut last_error = String::new();
    loop {
        let res = tokio::select! {
            _ = node.stop.cancelled() => return,
            r = session(&core, &node, lease, beat) => r,
        };
        match res {
            Ok(()) => {
                backoff = Duration::from_millis(50);
                last_error.clear();
            }
            Err(e) => {
                let said = e.to_string();
                if said != last_error {
                    match e {
                        Broke::Protocol(_) => tracing::error!("node {}: {said}", node.row.name),
                        Broke::Remote(_) => tracing::warn!("node {}: {said}", node.row.name),
                    }
                    last_error = said;
                }
            }
        }
        // Wait a little before reconnecting; the lease may run out meanwhile.
        let wake = Instant::now() + backoff;
        loop {
            let expires = node.live().seen + lease;
            if Instant::now() >= expires {
                lose(&core, &node).await;
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
    core: &Arc<Core>,
    node: &Arc<RemoteNode>,
    lease: Duration,
    beat: Duration,
) -> Result<(), Broke> {
    let body = node.client.feed(beat).await?;
    let mut lines = Lines::new(body);
    let mut greeted = false;
    let (echo, echoes) = watch::channel(None);
    let _renewer = AbortOnDrop(tokio::spawn(renew(node.clone(), echoes, lease, beat)));
    loop {
        let line = match tokio::time::timeout(lease, lines.next()).await {
            Err(_) => return Err(RemoteError::Transient("silent for a whole lease".into()).into()),
            Ok(Err(LineError::TooLong)) => {
                return Err(Broke::Protocol(format!(
                    "a feed line longer than {MAX_LINE} bytes; ending the link"
                )));
            }
            Ok(Err(LineError::Remote(e))) if greeted => {
                tracing::warn!("node {}: feed broke: {e}", node.row.name);
                return Ok(());
            }
            Ok(Err(LineError::Remote(e))) => return Err(e.into()),
            Ok(Ok(None)) => return if greeted { Ok(()) } else { Err(ended().into()) },
            Ok(Ok(Some(line))) => line,
        };
        let event: FeedEvent = serde_json::from_slice(&line)
            .map_err(|e| Broke::Protocol(format!("unexpected feed line: {e}")))?;
        match event {
            FeedEvent::Hello {
                load,
                payloads,
                sent_ms,
                ..
            } => {
                greeted = true;
                // Renewed before the node is reachable (`alive`): the scheduler may push to it
                // from then on. No requeue can happen before `alive` records this line: only
                // `run` requeues, once this session is over.
                if let Some(sent) = sent_ms
                    && let Err(e) = node.client.renew(sent, lease, beat).await
                {
                    tracing::warn!("node {}: cannot renew its lease: {e}", node.row.name);
                }
                if node.alive(Some(load)) {
                    tracing::info!("node {} is reachable", node.row.name);
                }
                reconcile(core, node, payloads).await;
                core.events.wake_scheduler();
            }
            FeedEvent::Change { payload } => {
                node.alive(None);
                on_payload(core, node, payload).await;
            }
            FeedEvent::Beat { load, sent_ms, .. } => {
                if node.alive(Some(load)) {
                    core.events.wake_scheduler();
                }
                // After `alive`: the server's last-seen time is at least `sent` when the node
                // hears of it.
                if sent_ms.is_some() {
                    echo.send_replace(sent_ms);
                }
            }
        }
    }
}

/// Renews the node's lease with the newest beat read, one renewal at a time: beats that come
/// while one is on its way are folded into the next. Says so once when renewals start failing
/// and once when they work again.
async fn renew(
    node: Arc<RemoteNode>,
    mut echoes: watch::Receiver<Option<u64>>,
    lease: Duration,
    beat: Duration,
) {
    let mut failing = false;
    while echoes.changed().await.is_ok() {
        let Some(sent) = *echoes.borrow_and_update() else {
            continue;
        };
        match node.client.renew(sent, lease, beat).await {
            Ok(()) if failing => {
                failing = false;
                tracing::info!("node {}: its lease is renewed again", node.row.name);
            }
            Ok(()) => {}
            Err(e) if !failing => {
                failing = true;
                tracing::warn!("node {}: cannot renew its lease: {e}", node.row.name);
            }
            Err(_) => {}
        }
    }
}

/// Why a feed connection ended.
#[derive(Debug, thiserror::Error)]
enum Broke {
    #[error("{0}")]
    Remote(#[from] RemoteError),
    /// The node broke the protocol (logged as an error): a line too long, or not an event.
    #[error("{0}")]
    Protocol(String),
}

fn ended() -> RemoteError {
    RemoteError::Transient("the feed ended before its hello".into())
}

/// The node has been silent for a lease: it takes no jobs, and the ones it had run elsewhere.
pub(super) async fn lose(core: &Arc<Core>, node: &RemoteNode) {
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
    match requeue::requeue_node_jobs(core, &node.row.name, &why).await {
        Ok(0) => {}
        Ok(n) => tracing::warn!("{why}: its {n} jobs were requeued"),
        Err(e) => tracing::error!("{why}: cannot requeue its jobs: {e}"),
    }
    core.events.wake_scheduler();
}

/// Brings the store in line with what the node holds.
async fn reconcile(core: &Arc<Core>, node: &Arc<RemoteNode>, payloads: Vec<PayloadInfo>) {
    let known: HashSet<String> = payloads.iter().map(|p| p.id.to_string()).collect();
    for p in payloads {
        on_payload(core, node, p).await;
    }
    let place = node.placement();
    let active = match core.store.call(move |c| store::active_on(c, &place)).await {
        Ok(a) => a,
        Err(e) => return tracing::error!("node {}: cannot reconcile: {e}", node.row.name),
    };
    for rec in active {
        if rec.payload.as_ref().is_some_and(|p| known.contains(p))
            || dispatch::lock(&node.pushing).contains(&rec.job.id)
        {
            continue;
        }
        attempt::unknown_to_node(core, &node.row.name, &rec).await;
    }
}

/// A payload's state as the node reports it: record the start, collect the end, discard
/// what is not the current attempt of a job on this node.
pub async fn on_payload(core: &Arc<Core>, node: &Arc<RemoteNode>, info: PayloadInfo) {
    if info.job.is_none() {
        return; // sent through the seed's /submit by someone else: not ours
    }
    let payload = info.id.to_string();
    let key = payload.clone();
    let rec = match core.store.call(move |c| store::by_payload(c, &key)).await {
        Ok(rec) => rec,
        Err(e) => return tracing::error!("payload {payload}: {e}"),
    };
    let current = rec.filter(|r| {
        r.job.state.is_active()
            && r.job.node.as_ref().and_then(Placement::node) == Some(&node.row.name)
    });
    let Some(rec) = current else {
        collect::discard(node.clone(), payload);
        return;
    };
    if info.state == PayloadState::Fenced {
        return fenced(core, node, &rec, payload).await;
    }
    if info.state.is_done() {
        collect::start(core.clone(), node.clone(), rec, info);
    } else if info.state == PayloadState::Running {
        attempt::started(core, &rec).await;
    }
}

/// The node killed the job's current run because its lease ran out: the run is lost, never a
/// result. The job goes back to the queue (the attempt counts once the run was seen running,
/// as for any run lost with its node), then the node's copy is deleted.
async fn fenced(core: &Arc<Core>, node: &Arc<RemoteNode>, rec: &store::Record, payload: String) {
    let why = format!("node {} fenced its run (its lease ran out)", node.row.name);
    tracing::warn!("job {}: {why}", rec.job.id);
    if rec.job.state == JobState::Dispatched {
        attempt::undo(core, rec, &why).await;
    } else {
        attempt::lost_on_node(core, rec, why).await;
    }
    collect::discard(node.clone(), payload);
}

/// Why no line came.
enum LineError {
    /// Over [`MAX_LINE`] bytes without a newline.
    TooLong,
    Remote(RemoteError),
}

/// Newline-separated lines of a streamed body, each at most [`MAX_LINE`] bytes.
struct Lines {
    body: Incoming,
    buf: BytesMut,
    /// How much of `buf` is known to hold no newline (so each byte is looked at once).
    scanned: usize,
}

impl Lines {
    fn new(body: Incoming) -> Lines {
        Lines {
            body,
            buf: BytesMut::new(),
            scanned: 0,
        }
    }

    async fn next(&mut self) -> Result<Option<BytesMut>, LineError> {
        loop {
            if let Some(line) = self.split_line()? {
                return Ok(Some(line));
            }
            match self.body.frame().await {
                None => return Ok(None),
                Some(Err(e)) => {
                    return Err(LineError::Remote(RemoteError::Transient(e.to_string())));
                }
                Some(Ok(frame)) => {
                    if let Ok(data) = frame.into_data() {
                        self.buf.extend_from_slice(&data);
                    }
                }
            }
        }
    }

    /// The first whole line of the buffer, if there is one.
    fn split_line(&mut self) -> Result<Option<BytesMut>, LineError> {
        match self.buf[self.scanned..].iter().position(|&b| b == b'\n') {
            Some(at) => {
                let at = self.scanned + at;
                if at > MAX_LINE {
                    return Err(LineError::TooLong);
                }
                let mut line = self.buf.split_to(at + 1);
                line.truncate(at);
                self.scanned = 0;
                Ok(Some(line))
            }
            None if self.buf.len() > MAX_LINE => Err(LineError::TooLong),
            None => {
                self.scanned = self.buf.len();
                Ok(None)
            }
        }
    }
}
