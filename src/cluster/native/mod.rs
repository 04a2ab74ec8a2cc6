//! A `jobod worker` node's task: one per node, owning what is in flight on it.
//!
//! It keeps the node's event feed open (`session.rs`, reading lines with `feed.rs`): the feed
//! is both the heartbeat and the completion signal, so nothing is polled. When the feed
//! breaks, it reconnects with backoff; once the node has been silent for a whole lease, its
//! jobs are requeued elsewhere. Between feed lines it takes commands (start, cancel, discard,
//! follow a log) and the reports of its sub-tasks: a push of one payload (`push.rs`), one
//! collection of results (`super::collect`), one discard. The sets of jobs being pushed and
//! payloads being collected are its own fields; no other task sees them.

mod feed;
mod push;
mod session;

use super::attempt;
use super::collect::{self, Outcome};
use super::live::Liveness;
use super::mailbox::{Command, Inbox, Task};
use super::node::Node;
use super::remote::{RemoteError, retry};
use crate::job::JobId;
use crate::protocol::{PayloadInfo, PayloadState};
use crate::store::{self, Record};
use hyper::StatusCode;
use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::time::Instant;

/// What a sub-task reports when it is done.
#[expect(
    clippy::large_enum_variant,
    reason = "one message per job or report; boxing the record would cost an allocation each"
)]
enum Report {
    /// The push of `rec`'s payload ended.
    Pushed {
        rec: Record,
        answer: Result<PayloadInfo, RemoteError>,
    },
    /// A collection or a discard of `payload` ended.
    Released { payload: String },
}

/// The task's state: everything in flight on its node.
struct Native {
    node: Arc<Node>,
    live: Liveness,
    inbox: Inbox<Report>,
    /// Jobs whose payload is on its way: the node may not know them yet.
    pushing: HashSet<JobId>,
    /// Payloads being collected or discarded, so a repeated report does not start another.
    collecting: HashSet<String>,
}

/// Starts the task of native node `node`, taking its commands from `commands`.
pub fn spawn(node: Arc<Node>, live: Liveness, commands: mpsc::UnboundedReceiver<Command>) {
    let task = Native {
        node,
        live,
        inbox: Inbox::new(commands),
        pushing: HashSet::new(),
        collecting: HashSet::new(),
    };
    tokio::spawn(task.run());
}

impl Task for Native {
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

impl Native {
    async fn run(mut self) {
        let config = &self.node.core.config().cluster;
        let (lease, beat) = (config.lease, config.beat());
        let max_backoff = beat.clamp(Duration::from_millis(50), Duration::from_secs(2));
        let mut backoff = Duration::from_millis(50);
        // Said once per kind of trouble, not at every reconnection.
        let mut last_error = String::new();
        'link: loop {
            match self.session(lease, beat).await {
                Ok(()) => {
                    backoff = Duration::from_millis(50);
                    last_error.clear();
                }
                Err(session::Broke::Stopped) => break,
                Err(e) => {
                    let said = e.to_string();
                    if said != last_error {
                        match e {
                            session::Broke::Protocol(_) => {
                                tracing::error!("node {}: {said}", self.node.name)
                            }
                            _ => tracing::warn!("node {}: {said}", self.node.name),
                        }
                        last_error = said;
                    }
                }
            }
            // Wait a little before reconnecting; the lease may run out meanwhile.
            let wake = Instant::now() + backoff;
            loop {
                let expires = self.live.expires(lease);
                if Instant::now() >= expires {
                    self.live.lose(&self.node.core, &self.node.name).await;
                }
                let until = if self.live.requeued() {
                    wake
                } else {
                    wake.min(expires)
                };
                if self
                    .alongside(tokio::time::sleep_until(until))
                    .await
                    .is_none()
                {
                    break 'link;
                }
                if Instant::now() >= wake {
                    break;
                }
            }
            backoff = (backoff * 2).min(max_backoff);
        }
        self.wind_down().await;
    }

    /// The node is gone from the registry: the link is over; what is in flight finishes.
    async fn wind_down(&mut self) {
        while !(self.pushing.is_empty() && self.collecting.is_empty()) {
            match self.inbox.report().await {
                Some(report) => self.report(report).await,
                None => return,
            }
        }
    }

    async fn on_command(&mut self, command: Command) {
        match command {
            Command::Start(rec) => self.push(rec),
            Command::Cancel { rec, reply } => {
                let node = self.node.clone();
                tokio::spawn(async move {
                    let Some(payload) = rec.payload else {
                        let _ = reply.send(Err("it has not reached its node".into()));
                        return;
                    };
                    let asked =
                        node.client.cancel(&payload).await.map_err(|e| {
                            format!("node {} did not take the cancel: {e}", node.name)
                        });
                    let _ = reply.send(asked);
                });
            }
            Command::Discard(rec) => {
                if let Some(payload) = rec.payload {
                    self.discard(payload);
                }
            }
            Command::FollowLog {
                rec,
                stream,
                query,
                reply,
            } => {
                let node = self.node.clone();
                tokio::spawn(async move {
                    let log = match rec.payload {
                        Some(p) => node.client.follow_log(&p, stream, &query).await.ok(),
                        None => None,
                    };
                    let _ = reply.send(log);
                });
            }
        }
    }

    async fn on_report(&mut self, report: Report) {
        match report {
            Report::Pushed { rec, answer } => {
                self.pushing.remove(&rec.job.id);
                self.pushed(rec, answer).await;
            }
            Report::Released { payload } => {
                self.collecting.remove(&payload);
            }
        }
    }

    /// Sends job `rec`'s input to the node as the payload the scheduler named.
    fn push(&mut self, rec: Record) {
        self.pushing.insert(rec.job.id);
        let (node, reporter) = (self.node.clone(), self.inbox.reporter());
        tokio::spawn(async move {
            let answer = push::send(&node, &rec).await;
            let _ = reporter.send(Report::Pushed { rec, answer });
        });
    }

    /// A node that cannot take a payload does not fail the job: it goes back to the queue,
    /// with the attempt not counted, and the node is skipped until it shows life again.
    async fn pushed(&mut self, rec: Record, answer: Result<PayloadInfo, RemoteError>) {
        match answer {
            Ok(info) => {
                self.live.alive(None);
                self.on_payload(info).await;
            }
            Err(e) => {
                let why = format!("node {} could not take it: {e}", self.node.name);
                tracing::warn!("job {}: {why}", rec.job.id);
                let core = &self.node.core;
                match e.status() {
                    // The node read the payload and refused it (or will not run it as the
                    // job's user): the job fails with the node's reason.
                    Some(
                        StatusCode::BAD_REQUEST
                        | StatusCode::PAYLOAD_TOO_LARGE
                        | StatusCode::FORBIDDEN,
                    ) => attempt::fail(core, &rec, why).await,
                    _ => {
                        self.live.unreachable();
                        attempt::undo(core, &rec, &why).await;
                    }
                }
            }
        }
    }

    /// A payload's state as the node reports it: record the start, collect the end, discard
    /// what is not the current attempt of a job on this node.
    async fn on_payload(&mut self, info: PayloadInfo) {
        let Some(job) = info.job else {
            return; // sent through the seed's /submit by someone else: not ours
        };
        if let Some(slurm) = &info.slurm {
            self.live.slurm(job, slurm.clone());
        }
        let payload = info.id.to_string();
        let key = payload.clone();
        let rec = match self
            .node
            .core
            .store
            .call(move |c| store::by_payload(c, &key))
            .await
        {
            Ok(rec) => rec,
            Err(e) => return tracing::error!("payload {payload}: {e}"),
        };
        let Some(rec) = rec.filter(|r| self.node.holds(r)) else {
            self.discard(payload);
            return;
        };
        if info.state == PayloadState::Fenced {
            return self.fenced(&rec, payload).await;
        }
        if info.state.is_done() {
            self.collect(rec, info);
        } else if info.state == PayloadState::Running {
            attempt::started(&self.node.core, &rec, info.enforced).await;
        }
    }

    /// The node killed the job's current run because its lease ran out: the run is lost,
    /// never a result. The job goes back to the queue (the attempt counts once the run was
    /// seen running, as for any run lost with its node), then the node's copy is deleted.
    async fn fenced(&mut self, rec: &Record, payload: String) {
        let why = format!("node {} fenced its run (its lease ran out)", self.node.name);
        tracing::warn!("job {}: {why}", rec.job.id);
        let core = &self.node.core;
        if rec.job.state == crate::job::JobState::Dispatched {
            attempt::undo(core, rec, &why).await;
        } else {
            attempt::lost_on_node(core, rec, why).await;
        }
        self.discard(payload);
    }

    /// Collects a finished payload in the background (once, however often it is reported).
    fn collect(&mut self, rec: Record, info: PayloadInfo) {
        let payload = info.id.to_string();
        if !self.collecting.insert(payload.clone()) {
            return;
        }
        let (node, reporter) = (self.node.clone(), self.inbox.reporter());
        tokio::spawn(async move {
            let id = rec.job.id;
            if let Err(e) = collect::collect(&node, &rec, &payload, Outcome::of(&info)).await {
                // The next hello from the node reports it again, and it is tried again then.
                tracing::error!("job {id}: cannot collect from {}: {e}", node.name);
            }
            let _ = reporter.send(Report::Released { payload });
        });
    }

    /// Tells the node to kill and delete a payload that is no job's current attempt.
    fn discard(&mut self, payload: String) {
        if !self.collecting.insert(payload.clone()) {
            return;
        }
        let (node, reporter) = (self.node.clone(), self.inbox.reporter());
        tokio::spawn(async move {
            tracing::info!(
                "payload {payload}: stale run on {}, discarding it",
                node.name
            );
            if let Err(e) = retry(3, || node.client.delete(&payload)).await {
                tracing::warn!("payload {payload}: cannot discard it: {e}");
            }
            let _ = reporter.send(Report::Released { payload });
        });
    }
}
