//! The task of a node that speaks only the seed's client routes (`jobo node add URL --protocol
//! seed`): the seed's own worker client, or a `jobod worker` driven the same way.
//!
//! Those routes have no event feed, so this side polls. The task checks `GET /health` every
//! beat; silent for a whole lease, the node's jobs are requeued as for a native node. Each
//! job is submitted (`submit.rs`), then followed by a sub-task of its own (`follow.rs`) until
//! its files are taken (`results.rs`) and its outcome recorded (`outcome.rs`). The seed keeps
//! no logs; it zips only a completed run and reports any other end as a status word, whose
//! files come from `/retrieve_partial`. The exit code comes from a `jobod worker`'s
//! `x-jobo-*` headers, else from the `.orchestrator.exit` file the seed's `run.sh` trap writes.
//!
//! The task owns what is in flight: the jobs being submitted, and the followed payloads, each
//! with the flag that says a cancel was sent for it (the seed's client may not say `Killed`
//! of those).

mod follow;
mod outcome;
mod results;
mod submit;

use super::attempt;
use super::live::Liveness;
use super::mailbox::{Command, Inbox, Task};
use super::node::Node;
use super::remote::retry;
use crate::job::JobId;
use crate::store::Record;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use submit::Submitted;
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// What a sub-task reports.
#[expect(
    clippy::large_enum_variant,
    reason = "one message per job or report; boxing the record would cost an allocation each"
)]
enum Report {
    /// The submit of `rec` ended.
    Submitted { rec: Record, answer: Submitted },
    /// The node answered a follower: a sign of life.
    Alive,
    /// The follower of `payload` is done.
    Followed { payload: String },
}

/// The task's state: everything in flight on its node.
struct Seed {
    node: Arc<Node>,
    live: Liveness,
    inbox: Inbox<Report>,
    /// Jobs being submitted: the node may not know them yet.
    submitting: HashSet<JobId>,
    /// Followed payloads, each with its "a cancel was sent" flag.
    followers: HashMap<String, watch::Sender<bool>>,
    /// Ends the followers when the task winds down.
    stop: CancellationToken,
}

/// Starts the task of seed node `node`, taking its commands from `commands`.
pub fn spawn(node: Arc<Node>, live: Liveness, commands: mpsc::UnboundedReceiver<Command>) {
    let task = Seed {
        node,
        live,
        inbox: Inbox::new(commands),
        submitting: HashSet::new(),
        followers: HashMap::new(),
        stop: CancellationToken::new(),
    };
    tokio::spawn(task.run());
}

impl Task for Seed {
    type Report = Report;

    fn inbox(&mut self) -> &mut Inbox<Report> {
        &mut self.inbox
    }

    async fn command(&mut self, command: Command) {
        self.on_command(command).await
    }

    async fn report(&mut self, report: Report) {
        self.on_report(report).await
    }
}

impl Seed {
    /// Re-attaches to the node's jobs, then checks its health every beat until stopped.
    async fn run(mut self) {
        self.reattach().await;
        let node = self.node.clone();
        let config = &node.core.config().cluster;
        let (lease, beat) = (config.lease, config.beat());
        loop {
            let next = Instant::now() + beat;
            let check = tokio::time::timeout(beat, node.client.seed_health());
            let Some(health) = self.alongside(check).await else {
                break;
            };
            match health {
                Ok(Ok(())) => {
                    if self.live.alive(None) {
                        tracing::info!("node {} is reachable", node.name);
                        node.core.events.wake_scheduler();
                    }
                }
                _ if Instant::now() >= self.live.expires(lease) => {
                    self.live.lose(&node.core, &node.name).await
                }
                Ok(Err(e)) => tracing::debug!("node {}: health: {e}", node.name),
                Err(_) => tracing::debug!("node {}: health: no answer", node.name),
            }
            if self
                .alongside(tokio::time::sleep_until(next))
                .await
                .is_none()
            {
                break;
            }
        }
        self.wind_down().await;
    }

    /// The node is gone from the registry: followers stop, submits on their way finish.
    async fn wind_down(&mut self) {
        self.stop.cancel();
        while !(self.submitting.is_empty() && self.followers.is_empty()) {
            match self.inbox.report().await {
                Some(report) => self.report(report).await,
                None => return,
            }
        }
    }

    /// Follows every job the store has on this node (after a server restart, or a re-add).
    async fn reattach(&mut self) {
        let node = self.node.clone();
        let active = match node.active_jobs().await {
            Ok(a) => a,
            Err(e) => return tracing::error!("node {}: cannot re-attach: {e}", node.name),
        };
        for rec in active {
            if self.submitting.contains(&rec.job.id) {
                continue;
            }
            if rec.payload.is_none() {
                attempt::undo(&node.core, &rec, "it never reached its node").await;
                continue;
            }
            // A submit cut short leaves the server-made id, which the node answers 404 to.
            self.follow(rec);
        }
    }

    async fn on_command(&mut self, command: Command) {
        match command {
            Command::Start(rec) => {
                self.submitting.insert(rec.job.id);
                let (node, reporter) = (self.node.clone(), self.inbox.reporter());
                tokio::spawn(async move {
                    let answer = submit::submit(&node, &rec).await;
                    let _ = reporter.send(Report::Submitted { rec, answer });
                });
            }
            Command::Cancel { rec, reply } => {
                let Some(payload) = rec.payload else {
                    let _ = reply.send(Err("it has not reached its node".into()));
                    return;
                };
                if let Some(cancelled) = self.followers.get(&payload) {
                    cancelled.send_replace(true);
                }
                let node = self.node.clone();
                tokio::spawn(async move {
                    let asked =
                        node.client.seed_kill(&payload).await.map_err(|e| {
                            format!("node {} did not take the cancel: {e}", node.name)
                        });
                    let _ = reply.send(asked);
                });
            }
            Command::Discard(rec) => {
                let Some(payload) = rec.payload else { return };
                let node = self.node.clone();
                tokio::spawn(async move {
                    let _ = retry(3, || node.client.seed_kill(&payload)).await;
                });
            }
            // The seed keeps no logs: the job's log file is all there is.
            Command::FollowLog { reply, .. } => drop(reply.send(None)),
        }
    }

    async fn on_report(&mut self, report: Report) {
        match report {
            Report::Submitted { rec, answer } => {
                self.submitting.remove(&rec.job.id);
                self.submitted(rec, answer).await;
            }
            Report::Alive => {
                if self.live.alive(None) {
                    self.node.core.events.wake_scheduler();
                }
            }
            Report::Followed { payload } => {
                self.followers.remove(&payload);
            }
        }
    }

    /// Acts on how the submit of `rec` went: follow it under the node's id, or fail it, or
    /// send it back to the queue.
    async fn submitted(&mut self, rec: Record, answer: Submitted) {
        let core = &self.node.core;
        let payload = match answer {
            Submitted::Accepted(payload) => payload,
            Submitted::Refused(why) => return attempt::fail(core, &rec, why).await,
            Submitted::NotSent(why) => return attempt::undo(core, &rec, &why).await,
            Submitted::Unreachable(why) => {
                self.live.unreachable();
                return attempt::undo(core, &rec, &why).await;
            }
        };
        self.live.alive(None);
        match submit::adopt(&self.node, &rec, &payload).await {
            Ok(Some(rec)) if !self.stop.is_cancelled() => self.follow(rec),
            // Stopping: the next start re-attaches by the recorded id.
            Ok(Some(_)) => {}
            // Cancelled or requeued while it was on its way: the node's copy is no one's.
            Ok(None) => self.kill_stale(payload),
            Err(e) => {
                tracing::error!(
                    "job {}: cannot record its payload {payload}: {e}",
                    rec.job.id
                );
                self.kill_stale(payload);
            }
        }
    }

    fn kill_stale(&self, payload: String) {
        let node = self.node.clone();
        tokio::spawn(async move { follow::kill_stale(&node, &payload).await });
    }

    /// Polls job `rec`'s payload in a sub-task until its end is recorded, the job moves on
    /// (then its copy on the node is killed), or the task winds down.
    fn follow(&mut self, rec: Record) {
        let Some(payload) = rec.payload.clone() else {
            return;
        };
        if self.followers.contains_key(&payload) {
            return; // followed already
        }
        let (cancelled, flag) = watch::channel(false);
        self.followers.insert(payload.clone(), cancelled);
        let (node, reporter, stop) = (self.node.clone(), self.inbox.reporter(), self.stop.clone());
        tokio::spawn(async move {
            let alive = {
                let reporter = reporter.clone();
                move || drop(reporter.send(Report::Alive))
            };
            let stale = tokio::select! {
                _ = stop.cancelled() => false,
                stale = follow::poll(&node, rec.job.id, &payload, &flag, &alive) => stale,
            };
            if stale {
                follow::kill_stale(&node, &payload).await;
            }
            let _ = reporter.send(Report::Followed { payload });
        });
    }
}
