//! A remote node as the rest of the server holds it: its row, the view of its health its task
//! publishes, whether it is drained, and the sending end of its task's commands. This is the
//! node's [`Backend`]: every call becomes a [`Command`] to the task, which alone acts on it.

use super::attempt;
use super::live::Live;
use super::mailbox::Command;
use crate::api::{LogQuery, NodeState};
use crate::backend::{Backend, Place};
use crate::core::Core;
use crate::paths::LogStream;
use crate::placement::Placement;
use crate::store::{NodeRow, Record};
use futures_util::future::BoxFuture;
use hyper::body::Incoming;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use tokio::sync::mpsc::error::SendError;
use tokio::sync::{mpsc, oneshot, watch};

pub struct NodeHandle {
    core: Arc<Core>,
    pub row: NodeRow,
    place: Placement,
    commands: mpsc::UnboundedSender<Command>,
    live: watch::Receiver<Live>,
    /// Takes no new jobs (`jobo node drain`); set here, read by the scheduler.
    draining: AtomicBool,
}

impl NodeHandle {
    pub fn new(
        core: Arc<Core>,
        row: NodeRow,
        commands: mpsc::UnboundedSender<Command>,
        live: watch::Receiver<Live>,
    ) -> NodeHandle {
        NodeHandle {
            core,
            place: Placement::Node(row.name.clone()),
            draining: AtomicBool::new(row.draining),
            row,
            commands,
            live,
        }
    }

    /// Its health as its task last published it.
    pub fn live(&self) -> Live {
        self.live.borrow().clone()
    }

    /// Job `job`'s Slurm job, if this is a Slurm node and it reported one.
    pub fn slurm_job(&self, job: i64) -> Option<crate::protocol::SlurmJob> {
        self.live.borrow().slurm.get(&job).cloned()
    }

    pub fn state(&self) -> NodeState {
        if !self.live.borrow().reachable {
            NodeState::Unreachable
        } else if self.draining.load(Ordering::Relaxed) {
            NodeState::Draining
        } else {
            NodeState::Healthy
        }
    }

    pub fn set_draining(&self, draining: bool) {
        self.draining.store(draining, Ordering::Relaxed);
    }

    fn gone(&self) -> String {
        format!("node {} is being removed", self.row.name)
    }
}

impl Backend for NodeHandle {
    fn offer(&self) -> Option<Place> {
        let live = self.live.borrow();
        (live.reachable && !self.draining.load(Ordering::Relaxed)).then(|| Place {
            node: self.place.clone(),
            services: Some(self.row.services.clone()),
            slots: self.row.slots,
            load: live.load.unwrap_or(0.0),
        })
    }

    /// Hands the job to the node's task; if the node is being removed, the job goes back to
    /// the queue (the attempt not counted).
    fn start(&self, rec: Record) {
        if let Err(SendError(Command::Start(rec))) = self.commands.send(Command::Start(rec)) {
            let core = self.core.clone();
            tokio::spawn(async move { attempt::undo(&core, &rec, "its node was removed").await });
        }
    }

    fn cancel(&self, rec: &Record) -> BoxFuture<'static, Result<(), String>> {
        let (reply, answer) = oneshot::channel();
        let sent = self.commands.send(Command::Cancel {
            rec: rec.clone(),
            reply,
        });
        let gone = self.gone();
        Box::pin(async move {
            if sent.is_err() {
                return Err(gone);
            }
            answer.await.unwrap_or(Err(gone))
        })
    }

    fn discard(&self, rec: &Record) {
        let _ = self.commands.send(Command::Discard(rec.clone()));
    }

    fn follow_log(
        &self,
        rec: &Record,
        stream: LogStream,
        query: LogQuery,
    ) -> Option<BoxFuture<'static, Option<Incoming>>> {
        let (reply, answer) = oneshot::channel();
        let sent = self.commands.send(Command::FollowLog {
            rec: rec.clone(),
            stream,
            query,
            reply,
        });
        Some(Box::pin(async move {
            sent.ok()?;
            answer.await.ok().flatten()
        }))
    }

    /// Nothing to do here: the task ends once its handle is dropped from the registry.
    fn shutdown(&self) {}
}
