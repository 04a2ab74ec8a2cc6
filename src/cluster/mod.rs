//! The server's remote nodes: which exist, which can take jobs now, and one task per node that
//! keeps in touch with it.
//!
//! The `nodes` table says which nodes exist; this registry holds a [`NodeHandle`] per node
//! (its [`Backend`]) and starts its task: `native/` for a `jobod worker` (pushed payloads, an
//! event feed, leases), `seed/` for a node that speaks only the seed's client routes (polled).
//! A task owns what is in flight on its node and takes [`Command`]s over a channel
//! (`mailbox.rs`); the helpers both kinds share (`attempt.rs`, `collect.rs`, `requeue.rs`,
//! `live.rs`, the node client in `node_client.rs`, `seed_client.rs`, `renewal.rs` and
//! `remote.rs`) never call back into either.
//!
//! Node management (`jobo node add|ls|rm|drain`) is in `manage.rs`.

mod attempt;
mod collect;
mod handle;
mod live;
mod mailbox;
mod manage;
mod native;
mod node;
mod node_client;
mod remote;
mod renewal;
mod requeue;
mod seed;
mod seed_client;

pub use handle::NodeHandle;
pub use manage::ManageError;

use crate::api::NodeProtocol;
use crate::backend::{Backend, Place};
use crate::core::Core;
use crate::placement::Placement;
use crate::store::{NodeRow, Record};
use live::Liveness;
use mailbox::Command;
use node::Node;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};
use tokio::sync::mpsc;

/// Every remote node the server knows, by name.
pub struct Cluster {
    core: Arc<Core>,
    nodes: Mutex<BTreeMap<String, Arc<NodeHandle>>>,
}

impl Cluster {
    pub fn new(core: Arc<Core>) -> Cluster {
        Cluster {
            core,
            nodes: Mutex::default(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, BTreeMap<String, Arc<NodeHandle>>> {
        self.nodes.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn get(&self, name: &str) -> Option<Arc<NodeHandle>> {
        self.lock().get(name).cloned()
    }

    /// Starts the task of node `row` and puts its handle in the registry, in place of an
    /// older one of the same name (whose task then winds down).
    fn register(&self, row: NodeRow) {
        let (commands, mailbox) = mpsc::unbounded_channel::<Command>();
        let (live, view) = Liveness::new();
        let node = Arc::new(Node::new(self.core.clone(), &row));
        match row.protocol {
            NodeProtocol::Native => native::spawn(node, live, mailbox),
            NodeProtocol::Seed => seed::spawn(node, live, mailbox),
        }
        let handle = NodeHandle::new(self.core.clone(), row, commands, view);
        self.lock()
            .insert(handle.row.name.clone(), Arc::new(handle));
    }

    /// Takes node `name` out of the registry: its task ends once it has handled what was
    /// sent to it before.
    fn unregister(&self, name: &str) -> Option<Arc<NodeHandle>> {
        self.lock().remove(name)
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

    /// Stops every node's task (at shutdown). Jobs on nodes keep running; the next start
    /// re-attaches to them.
    pub fn stop_all(&self) {
        let nodes = std::mem::take(&mut *self.lock());
        drop(nodes);
    }
}
