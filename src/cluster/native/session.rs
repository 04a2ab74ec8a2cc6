//! One connection to a native node's event feed, from its `hello` until it breaks.
//!
//! Every line is a sign of life; `change` lines say a payload started or ended. Every
//! (re)connection starts with the node's `hello`, which is reconciled with the store:
//! finished payloads are collected, stale ones discarded, and jobs the node does not know are
//! requeued. A server restart is one more reconnection.
//!
//! The session also renews the node's lease (fencing, `node/lease.rs`): for each `hello` and
//! `beat` it reads, it echoes the line's `sent_ms` to `POST /v1/lease`, the hello's at once
//! (before the node is offered to the scheduler: a node whose lease ran out takes no payload
//! until renewed), the beats' from a task of its own, newest first, so a slow answer never
//! holds up the feed, and only once the line counts as a sign of life here. A node that stops
//! hearing those renewals kills its runs before this side may requeue them; a run it killed
//! comes back `fenced`, and is requeued and discarded.
//!
//! A feed line is at most [`MAX_LINE`] long: a longer one ends the connection, with an error
//! logged, before more of it is held in memory.

use super::Native;
use super::feed::{AbortOnDrop, LineError, Lines, MAX_LINE, renew};
use crate::cluster::attempt;
use crate::cluster::mailbox::Task;
use crate::cluster::remote::RemoteError;
use crate::protocol::{FeedEvent, PayloadInfo};
use std::collections::HashSet;
use std::time::Duration;
use tokio::sync::watch;

/// Why a feed connection ended.
#[derive(Debug, thiserror::Error)]
pub enum Broke {
    #[error("{0}")]
    Remote(#[from] RemoteError),
    /// The node broke the protocol (logged as an error): a line too long, or not an event.
    #[error("{0}")]
    Protocol(String),
    /// The node's task is winding down.
    #[error("stopped")]
    Stopped,
}

fn ended() -> RemoteError {
    RemoteError::Transient("the feed ended before its hello".into())
}

impl Native {
    /// One connection to the feed; returns `Ok` if it got as far as the hello.
    pub(super) async fn session(&mut self, lease: Duration, beat: Duration) -> Result<(), Broke> {
        let node = self.node.clone();
        let body = self
            .alongside(node.client.feed(beat))
            .await
            .ok_or(Broke::Stopped)??;
        let mut lines = Lines::new(body);
        let mut greeted = false;
        let (echo, echoes) = watch::channel(None);
        let _renewer = AbortOnDrop(tokio::spawn(renew(node.clone(), echoes, lease, beat)));
        loop {
            let next = tokio::time::timeout(lease, lines.next());
            let line = match self.alongside(next).await.ok_or(Broke::Stopped)? {
                Err(_) => {
                    return Err(RemoteError::Transient("silent for a whole lease".into()).into());
                }
                Ok(Err(LineError::TooLong)) => {
                    return Err(Broke::Protocol(format!(
                        "a feed line longer than {MAX_LINE} bytes; ending the link"
                    )));
                }
                Ok(Err(LineError::Remote(e))) if greeted => {
                    tracing::warn!("node {}: feed broke: {e}", node.name);
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
                    host,
                    payloads,
                    sent_ms,
                    backend,
                    ..
                } => {
                    greeted = true;
                    self.live.backend(backend);
                    // Renewed before the node is reachable (`alive`): the scheduler may push to
                    // it from then on. No requeue can happen before `alive` records this line:
                    // only the link loop requeues, once this session is over.
                    if let Some(sent) = sent_ms {
                        let renewal = node.client.renew(sent, lease, beat);
                        if let Err(e) = self.alongside(renewal).await.ok_or(Broke::Stopped)? {
                            tracing::warn!("node {}: cannot renew its lease: {e}", node.name);
                        }
                    }
                    self.live.host(host);
                    if self.live.alive(Some(load)) {
                        tracing::info!("node {} is reachable", node.name);
                    }
                    self.reconcile(payloads).await;
                    node.core.events.wake_scheduler();
                }
                FeedEvent::Change { payload } => {
                    self.live.alive(None);
                    self.on_payload(payload).await;
                }
                FeedEvent::Beat {
                    load,
                    host,
                    sent_ms,
                    ..
                } => {
                    self.live.host(host);
                    if self.live.alive(Some(load)) {
                        node.core.events.wake_scheduler();
                    }
                    // After `alive`: the server's last-seen time is at least `sent` when the
                    // node hears of it.
                    if sent_ms.is_some() {
                        echo.send_replace(sent_ms);
                    }
                }
            }
        }
    }

    /// Brings the store in line with what the node holds.
    async fn reconcile(&mut self, payloads: Vec<PayloadInfo>) {
        let known: HashSet<String> = payloads.iter().map(|p| p.id.to_string()).collect();
        for p in payloads {
            self.on_payload(p).await;
        }
        let node = self.node.clone();
        let active = match node.active_jobs().await {
            Ok(a) => a,
            Err(e) => return tracing::error!("node {}: cannot reconcile: {e}", node.name),
        };
        for rec in active {
            if rec.payload.as_ref().is_some_and(|p| known.contains(p))
                || self.pushing.contains(&rec.job.id)
            {
                continue;
            }
            attempt::unknown_to_node(&node.core, &node.name, &rec).await;
        }
    }
}
