//! The state every task of the daemon shares, in one plain struct.

use crate::cluster::Cluster;
use crate::config::Config;
use crate::events::Events;
use crate::local_worker::LocalWorker;
use crate::logs::LogHub;
use crate::paths::DataDir;
use crate::store::Store;
use std::sync::Arc;

pub struct Shared {
    pub config: Arc<Config>,
    pub data: DataDir,
    pub store: Store,
    pub events: Events,
    pub logs: LogHub,
    /// The embedded worker, unless turned off (`--no-local-worker`).
    pub worker: Option<LocalWorker>,
    /// The remote worker nodes.
    pub cluster: Cluster,
    /// The uid jobod runs as: on the socket, it and root may touch every job.
    pub admin_uid: u32,
}

pub type Ctx = Arc<Shared>;
