//! The server's worker nodes, each a [`Backend`]: which exist, which can take jobs now, and
//! the tasks that keep in touch with them.
//!
//! The `nodes` table says which nodes exist; this registry adds what is only true while the
//! server runs (reachable, load, last heartbeat) and owns one link task per node. The facade
//! (`backends.rs`) asks it for [`Place`]s and hands each node the jobs placed on it.

mod attempt;
mod collect;
mod dispatch;
mod link;
mod manage;
mod remote;
mod requeue;
mod seed;

pub use manage::ManageError;
pub use requeue::requeue_node_jobs;

use crate::api::{NodeProtocol, NodeState};
use crate::backend::{Backend, Place};
use crate::core::Core;
use crate::paths::LogStream;
use crate::placement::Placement;
use crate::store::{NodeRow, Record};
use futures_util::future::BoxFuture;
use hyper::body::Incoming;
use remote::NodeClient;

use std::collections::{BTreeMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// One remote node: its row, what the server knows of it now, and its link's stop switch.
pub struct RemoteNode {
    core: Arc<Core>,
    pub row: NodeRow,
    client: NodeClient,
    live: Mutex<Live>,
    /// Payloads being collected, so a repeated report does not collect twice.
    collecting: Mutex<HashSet<String>>,
    /// Jobs whose payload is being pushed: the node may not know them yet.
    pushing: Mutex<HashSet<i64>>,
    /// Seed payloads a cancel was sent for: the seed's client may not say `Killed` of them.
    cancelled: Mutex<HashSet<String>>,
    stop: CancellationToken,
}

#[derive(Debug, Clone)]
struct Live {
    reachable: bool,
    draining: bool,
    /// The last sign of life (or when the server started watching the node).
    seen: Instant,
    seen_ms: Option<i64>,
    load: Option<f32>,
    /// Its jobs were requeued for the current outage already.
    requeued: bool,
}

impl RemoteNode {
    fn new(core: Arc<Core>, row: NodeRow) -> RemoteNode {
        let timeout = core.config.cluster.request_timeout;
        RemoteNode {
            core,
            client: NodeClient::new(&row, timeout),
            live: Mutex::new(Live {
                reachable: false,
                draining: row.draining,
                seen: Instant::now(),
                seen_ms: None,
                load: None,
                requeued: false,
            }),
            collecting: Mutex::default(),
            pushing: Mutex::default(),
            cancelled: Mutex::default(),
            stop: CancellationToken::new(),
            row,
        }
    }

    fn live(&self) -> MutexGuard<'_, Live> {
        self.live.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn state(&self) -> NodeState {
        let live = self.live();
        if !live.reachable {
            NodeState::Unreachable
        } else if live.draining {
            NodeState::Draining
        } else {
            NodeState::Healthy
        }
    }

    /// A sign of life: a feed line, or an answer to a request. True if it was unreachable.
    fn alive(&self, load: Option<f32>) -> bool {
        let mut live = self.live();
        let back = !live.reachable;
        live.reachable = true;
        live.requeued = false;
        live.seen = Instant::now();
        live.seen_ms = Some(crate::store::now_ms());
        if load.is_some() {
            live.load = load;
        }
        back
    }

    /// Where jobs placed on this node are.
    pub fn placement(&self) -> Placement {
        Placement::Node(self.row.name.clone())
    }

    fn mark_unreachable(&self) {
        self.live().reachable = false;
    }
}

/// Every remote node the server knows, by name.
pub struct Cluster {
    core: Arc<Core>,
    nodes: Mutex<BTreeMap<String, Arc<RemoteNode>>>,
}

impl Cluster {
    pub fn new(core: Arc<Core>) -> Cluster {
        Cluster {
            core,
            nodes: Mutex::default(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, BTreeMap<String, Arc<RemoteNode>>> {
        self.nodes.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn get(&self, name: &str) -> Option<Arc<RemoteNode>> {
        self.lock().get(name).cloned()
    }

    fn all(&self) -> Vec<Arc<RemoteNode>> {
        self.lock().values().cloned().collect()
    }

    /// Starts a job the scheduler placed on a node; if the node was removed since, the job
    /// goes back to the queue (the attempt not counted).
    pub fn start(&self, rec: Record) {
        let node = rec.job.node.as_ref().and_then(Placement::node);
        match node.and_then(|name| self.get(name)) {
            Some(node) => node.start(rec),
            None => {
                let core = self.core.clone();
                tokio::spawn(
                    async move { attempt::undo(&core, &rec, "its node was removed").await },
                );
            }
        }
    }

    /// Adds to `places` every node that takes jobs now: reachable and not draining.
    pub fn offers(&self, places: &mut Vec<Place>) {
        places.extend(self.lock().values().filter_map(|n| n.offer()));
    }

    /// Stops every link (at shutdown). Jobs on nodes keep running; the next start re-attaches.
    pub fn stop_all(&self) {
        for node in self.all() {
            node.shutdown();
        }
    }
}

impl Backend for Arc<RemoteNode> {
    fn offer(&self) -> Option<Place> {
        let live = self.live();
        (live.reachable && !live.draining).then(|| Place {
            node: self.placement(),
            services: Some(self.row.services.clone()),
            slots: self.row.slots,
            load: live.load.unwrap_or(0.0),
        })
    }

    fn start(&self, rec: Record) {
        match self.row.protocol {
            NodeProtocol::Native => dispatch::push(self.core.clone(), self.clone(), rec),
            NodeProtocol::Seed => seed::start(self.core.clone(), self.clone(), rec),
        }
    }

    /// Asks the node to cancel the run; the outcome arrives as for any run.
    fn cancel(&self, rec: &Record) -> BoxFuture<'static, Result<(), String>> {
        let (node, payload) = (self.clone(), rec.payload.clone());
        Box::pin(async move {
            let payload = payload.ok_or("it has not reached its node")?;
            match node.row.protocol {
                NodeProtocol::Native => node.client.cancel(&payload).await,
                NodeProtocol::Seed => {
                    dispatch::lock(&node.cancelled).insert(payload.clone());
                    node.client.seed_kill(&payload).await
                }
            }
            .map_err(|e| format!("node {} did not take the cancel: {e}", node.row.name))
        })
    }

    /// Drops the node's copy of an attempt the store no longer wants.
    fn discard(&self, rec: &Record) {
        let Some(payload) = rec.payload.clone() else {
            return;
        };
        match self.row.protocol {
            NodeProtocol::Native => collect::discard(self.clone(), payload),
            NodeProtocol::Seed => {
                let node = self.clone();
                tokio::spawn(async move {
                    let _ = remote::retry(3, || node.client.seed_kill(&payload)).await;
                });
            }
        }
    }

    /// The node's live log of the run (native nodes; the seed's keep none).
    fn follow_log(
        &self,
        rec: &Record,
        stream: LogStream,
        offset: u64,
    ) -> BoxFuture<'static, Option<Incoming>> {
        let (node, payload) = (self.clone(), rec.payload.clone());
        Box::pin(async move {
            if node.row.protocol != NodeProtocol::Native {
                return None;
            }
            node.client
                .follow_log(payload.as_deref()?, stream, offset)
                .await
                .ok()
        })
    }

    fn shutdown(&self) {
        self.stop.cancel();
    }
}
