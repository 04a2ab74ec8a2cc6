//! The facade over every place jobs run: the one thing the scheduler, the queue, the API and
//! the daemon call to place, start, cancel, follow and stop jobs. It owns the embedded
//! worker (`local/`) and the remote nodes (`cluster/`), picks the [`Backend`] a job's
//! [`Placement`] names, and knows nothing of how any of them runs a job.

use crate::api::LogQuery;
use crate::backend::{Backend, Place};
use crate::cluster::{Cluster, NodeHandle};
use crate::core::Core;
use crate::local::{self, LocalWorker};
use crate::paths::LogStream;
use crate::placement::Placement;
use crate::store::{Record, StoreError};
use hyper::body::Incoming;
use std::sync::Arc;

pub struct Backends {
    core: Arc<Core>,
    /// The embedded worker, unless turned off (`--no-local-worker`).
    local: Option<LocalWorker>,
    /// The remote nodes.
    cluster: Cluster,
}

/// The backend of one placement, for one call.
enum Chosen<'a> {
    Local(&'a LocalWorker),
    Node(Arc<NodeHandle>),
}

impl Chosen<'_> {
    fn backend(&self) -> &dyn Backend {
        match self {
            Chosen::Local(worker) => *worker,
            Chosen::Node(node) => node.as_ref(),
        }
    }
}

impl Backends {
    /// The backends of a server whose embedded worker has `local_slots` (`None`: off).
    pub fn new(core: Arc<Core>, local_slots: Option<usize>) -> Backends {
        Backends {
            local: local_slots.map(|slots| LocalWorker::new(core.clone(), slots)),
            cluster: Cluster::new(core.clone()),
            core,
        }
    }

    /// After a restart, before anything is scheduled: kills what the interrupted local runs
    /// left and requeues them (whether or not the embedded worker is on now); loads the nodes
    /// and starts their links, whose first contact reconciles each node's runs with the
    /// store; requeues the jobs of nodes that no longer exist. Returns how many local runs
    /// were requeued.
    pub async fn recover(&self) -> anyhow::Result<usize> {
        let requeued = local::recover(&self.core).await?;
        self.cluster.load().await?;
        Ok(requeued)
    }

    /// The embedded worker's slots (0 when it is off).
    pub fn local_slots(&self) -> usize {
        self.local.as_ref().map_or(0, LocalWorker::slots)
    }

    /// The remote nodes, for `/v1/nodes`.
    pub fn cluster(&self) -> &Cluster {
        &self.cluster
    }

    fn choose(&self, place: Option<&Placement>) -> Option<Chosen<'_>> {
        match place? {
            Placement::Local => self.local.as_ref().map(Chosen::Local),
            Placement::Node(name) => self.cluster.get(name).map(Chosen::Node),
        }
    }

    /// Where jobs may go now: the embedded worker (if on) and every reachable, undrained node.
    pub fn places(&self) -> Vec<Place> {
        let mut places: Vec<Place> = self.local.iter().filter_map(|w| w.offer()).collect();
        self.cluster.offers(&mut places);
        places
    }

    /// Starts a job the scheduler just placed (its row says `dispatched`).
    pub fn start(&self, rec: Record) {
        match &self.local {
            Some(worker) if rec.job.node == Some(Placement::Local) => worker.start(rec),
            // A node, or (never, as it is not offered) a disabled embedded worker.
            _ => self.cluster.start(rec),
        }
    }

    /// Asks the backend running job `rec` to stop it; the outcome is recorded as any other.
    pub async fn cancel(&self, rec: &Record) -> Result<(), String> {
        let asked = match self.choose(rec.job.node.as_ref()) {
            Some(chosen) => chosen.backend().cancel(rec),
            None if rec.job.node.as_ref().is_some_and(Placement::is_local) => {
                return Err("the embedded worker is off".into());
            }
            None => return Err("its node is not known to this server".into()),
        };
        asked.await
    }

    /// Job `rec`, which [`Backends::cancel`] was asked for, is final.
    pub fn settle(&self, rec: &Record) {
        if let Some(chosen) = self.choose(rec.job.node.as_ref()) {
            chosen.backend().settle(rec);
        }
    }

    /// The store gave up job `rec`'s attempt before it ended: its backend drops the rest.
    pub fn discard(&self, rec: &Record) {
        if let Some(chosen) = self.choose(rec.job.node.as_ref()) {
            chosen.backend().discard(rec);
        }
    }

    /// A stream of job `rec`'s log as `query` asks, if its run's log is elsewhere than its
    /// log file.
    pub async fn follow_log(
        &self,
        rec: &Record,
        stream: LogStream,
        query: LogQuery,
    ) -> Option<Incoming> {
        let relay = self
            .choose(rec.job.node.as_ref())?
            .backend()
            .follow_log(rec, stream, query)?;
        relay.await
    }

    /// jobod is stopping: the links stop (jobs on nodes go on; the next start re-attaches),
    /// and the local runs are killed, to be requeued by the next start. The worker is told
    /// first, so it does not take their deaths for their ends.
    pub async fn shutdown(&self) -> Result<(), StoreError> {
        self.cluster.stop_all();
        if let Some(worker) = &self.local {
            worker.shutdown();
        }
        let runs = local::local_runs(&self.core.store).await?;
        local::kill_local_runs(&self.core.data, &runs).await;
        Ok(())
    }
}
