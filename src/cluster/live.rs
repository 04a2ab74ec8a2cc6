//! Whether a node is alive, as its task keeps track: every sign of life (a feed line, an
//! answer) moves its last-seen time; a node silent for a whole `[cluster] lease` is lost,
//! and its jobs are requeued once per outage. The task alone writes this; the scheduler and
//! `jobo node ls` read the [`Live`] view it publishes.

use super::requeue;
use crate::core::Core;
use crate::protocol::{NodeBackend, SlurmJob};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tokio::time::Instant;

/// What the rest of the server sees of a node's health.
#[derive(Debug, Clone, Default)]
pub struct Live {
    pub reachable: bool,
    /// CPU use in percent, as the node last reported it.
    pub load: Option<f32>,
    /// Its host's CPU and memory use, as the node last reported them.
    pub host: Option<crate::api::HostLoad>,
    /// Unix milliseconds of the last sign of life.
    pub seen_ms: Option<i64>,
    /// Where the node runs its payloads, as its last hello said.
    pub backend: Option<NodeBackend>,
    /// The Slurm jobs of its jobs (Slurm nodes), as it last reported them; the newest
    /// [`SLURM_KEPT`] jobs.
    pub slurm: Arc<BTreeMap<i64, SlurmJob>>,
}

/// How many jobs' Slurm jobs a node's view keeps (finished ones stay for `jobo status`).
pub const SLURM_KEPT: usize = 4096;

/// A node task's record of its node's health.
pub struct Liveness {
    view: watch::Sender<Live>,
    /// The last sign of life (or when the task started watching the node).
    seen: Instant,
    /// Its jobs were requeued for the current outage already.
    requeued: bool,
}

impl Liveness {
    /// A node not heard from yet, and the view of it others read.
    pub fn new() -> (Liveness, watch::Receiver<Live>) {
        let (view, seen_by_others) = watch::channel(Live::default());
        let live = Liveness {
            view,
            seen: Instant::now(),
            requeued: false,
        };
        (live, seen_by_others)
    }

    /// A sign of life, with the load if it said. True if it was unreachable.
    pub fn alive(&mut self, load: Option<f32>) -> bool {
        self.requeued = false;
        self.seen = Instant::now();
        let mut back = false;
        self.view.send_modify(|live| {
            back = !live.reachable;
            live.reachable = true;
            live.seen_ms = Some(crate::store::now_ms());
            if load.is_some() {
                live.load = load;
            }
        });
        back
    }

    /// The node's report of its host (nodes that send none keep the last one).
    pub fn host(&mut self, host: Option<crate::api::HostLoad>) {
        if host.is_some() {
            self.view.send_modify(|live| live.host = host);
        }
    }

    /// The node said where it runs its payloads.
    pub fn backend(&mut self, backend: NodeBackend) {
        self.view
            .send_if_modified(|live| live.backend.replace(backend) != Some(backend));
    }

    /// The node reported job `job`'s Slurm job.
    pub fn slurm(&mut self, job: i64, slurm: SlurmJob) {
        self.view.send_if_modified(|live| {
            if live.slurm.get(&job) == Some(&slurm) {
                return false;
            }
            let map = Arc::make_mut(&mut live.slurm);
            map.insert(job, slurm);
            while map.len() > SLURM_KEPT {
                map.pop_first();
            }
            true
        });
    }

    /// It failed to take a job: no more jobs until it shows life again.
    pub fn unreachable(&mut self) {
        self.view.send_if_modified(|live| {
            let was = live.reachable;
            live.reachable = false;
            was
        });
    }

    /// When the node is lost if nothing is heard from it.
    pub fn expires(&self, lease: Duration) -> Instant {
        self.seen + lease
    }

    /// Its jobs were requeued for the current outage.
    pub fn requeued(&self) -> bool {
        self.requeued
    }

    /// The node has been silent for a lease: it takes no jobs, and the ones it had run
    /// elsewhere (once per outage).
    pub async fn lose(&mut self, core: &Core, name: &str) {
        self.unreachable();
        if std::mem::replace(&mut self.requeued, true) {
            return;
        }
        let why = format!("node {name} unreachable");
        match requeue::requeue_node_jobs(core, name, &why).await {
            Ok(0) => {}
            Ok(n) => tracing::warn!("{why}: its {n} jobs were requeued"),
            Err(e) => tracing::error!("{why}: cannot requeue its jobs: {e}"),
        }
        core.events.wake_scheduler();
    }
}
