//! The server's worker nodes (design §5, §6): which exist, which can take jobs now, and the
//! tasks that keep in touch with them.
//!
//! The `nodes` table says which nodes exist; this registry adds what is only true while the
//! server runs (reachable, load, last heartbeat) and owns one link task per node. The
//! scheduler asks it for [`Place`]s and hands it the jobs it placed on a remote node.

mod attempt;
mod collect;
mod dispatch;
mod link;
mod manage;
mod remote;
mod requeue;
mod seed;

pub use manage::{ManageError, add, list, remove, set_draining, start};
pub use requeue::requeue_node_jobs;

use crate::api::{NodeProtocol, NodeState};
use crate::local_worker::LocalWorker;
use crate::placement::Placement;
use crate::state::Ctx;
use crate::store::{NodeRow, Record};
use remote::NodeClient;

use std::collections::{BTreeMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// A place the scheduler can put jobs: the embedded worker or a usable remote node.
#[derive(Debug, Clone)]
pub struct Place {
    pub node: Placement,
    /// `None`: every service.
    pub services: Option<Vec<String>>,
    pub slots: usize,
    pub load: f32,
}

impl Place {
    pub fn serves(&self, service: &str) -> bool {
        self.services
            .as_ref()
            .is_none_or(|s| s.iter().any(|x| x == service))
    }
}

/// One remote node: its row, what the server knows of it now, and its link's stop switch.
pub struct RemoteNode {
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
    fn new(row: NodeRow, timeout: std::time::Duration) -> RemoteNode {
        RemoteNode {
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
#[derive(Default)]
pub struct Cluster {
    nodes: Mutex<BTreeMap<String, Arc<RemoteNode>>>,
}

impl Cluster {
    fn lock(&self) -> MutexGuard<'_, BTreeMap<String, Arc<RemoteNode>>> {
        self.nodes.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn get(&self, name: &str) -> Option<Arc<RemoteNode>> {
        self.lock().get(name).cloned()
    }

    fn all(&self) -> Vec<Arc<RemoteNode>> {
        self.lock().values().cloned().collect()
    }

    /// Where jobs may go now: the embedded worker (if on) and every reachable, undrained node.
    pub fn places(&self, local: Option<&LocalWorker>) -> Vec<Place> {
        let mut places: Vec<Place> = local
            .map(|w| Place {
                node: Placement::Local,
                services: None,
                slots: w.slots(),
                load: 0.0,
            })
            .into_iter()
            .collect();
        for node in self.all() {
            let live = node.live().clone();
            if live.reachable && !live.draining {
                places.push(Place {
                    node: Placement::Node(node.row.name.clone()),
                    services: Some(node.row.services.clone()),
                    slots: node.row.slots,
                    load: live.load.unwrap_or(0.0),
                });
            }
        }
        places
    }

    /// Stops every link (at shutdown). Jobs on nodes keep running; the next start re-attaches.
    pub fn stop_all(&self) {
        for node in self.all() {
            node.stop.cancel();
        }
    }
}

/// Starts a job the scheduler placed on a remote node.
pub fn start_remote(ctx: &Ctx, rec: Record) {
    let node = rec.job.node.as_ref().and_then(Placement::node);
    let Some(node) = node.and_then(|n| ctx.cluster.get(n)) else {
        // Its node was removed between the pass and now: back to the queue.
        let ctx = ctx.clone();
        tokio::spawn(async move { attempt::undo(&ctx, &rec, "its node was removed").await });
        return;
    };
    match node.row.protocol {
        NodeProtocol::Native => dispatch::push(ctx.clone(), node, rec),
        NodeProtocol::Seed => seed::start(ctx.clone(), node, rec),
    }
}

/// Asks the node running job `rec` to cancel it; the outcome arrives as for any run.
pub async fn cancel_remote(ctx: &Ctx, rec: &Record) -> Result<(), String> {
    let node = rec
        .job
        .node
        .as_ref()
        .and_then(Placement::node)
        .and_then(|n| ctx.cluster.get(n))
        .ok_or("its node is not known to this server")?;
    let payload = rec
        .payload
        .as_deref()
        .ok_or("it has not reached its node")?;
    match node.row.protocol {
        NodeProtocol::Native => node.client.cancel(payload).await,
        NodeProtocol::Seed => {
            dispatch::lock(&node.cancelled).insert(payload.to_string());
            node.client.seed_kill(payload).await
        }
    }
    .map_err(|e| format!("node {} did not take the cancel: {e}", node.row.name))
}

/// Drops the remote copy of an attempt the store no longer wants (a job cancelled before
/// its node started it).
pub fn forget_payload(ctx: &Ctx, rec: &Record) {
    let node = rec.job.node.as_ref().and_then(Placement::node);
    let node = node.and_then(|n| ctx.cluster.get(n));
    let (Some(node), Some(payload)) = (node, rec.payload.clone()) else {
        return;
    };
    match node.row.protocol {
        NodeProtocol::Native => collect::discard(node, payload),
        NodeProtocol::Seed => {
            tokio::spawn(async move {
                let _ = remote::retry(3, || node.client.seed_kill(&payload)).await;
            });
        }
    }
}

/// A live log stream of a job running on a remote node, from `offset`, following.
pub async fn remote_log(
    ctx: &Ctx,
    rec: &Record,
    stream: crate::paths::LogStream,
    offset: u64,
) -> Option<hyper::body::Incoming> {
    let node = ctx.cluster.get(rec.job.node.as_ref()?.node()?)?;
    if node.row.protocol != NodeProtocol::Native {
        return None;
    }
    node.client
        .follow_log(rec.payload.as_deref()?, stream, offset)
        .await
        .ok()
}
