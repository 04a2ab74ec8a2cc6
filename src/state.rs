//! The API's context: what the HTTP handlers, the queue, the scheduler and the cleaner hold.
//! Backends never see it; they get the narrow [`Core`] inside it.

use crate::backends::Backends;
use crate::core::Core;
use std::path::PathBuf;
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

/// What `jobod serve` was started with, for `GET /v1/system`.
pub struct Facts {
    pub system: bool,
    /// Unix milliseconds.
    pub started_at: i64,
    /// The config file loaded, if one existed.
    pub config_file: Option<PathBuf>,
    pub socket: PathBuf,
    /// The TCP addresses bound (`listen`, `seed_listen`), once they are.
    pub listen: std::sync::OnceLock<String>,
    pub seed_listen: std::sync::OnceLock<String>,
}

pub struct Shared {
    /// Store, wake-ups, live logs, data dir, config.
    pub core: Arc<Core>,
    /// Where jobs run: the embedded worker and the remote nodes.
    pub backends: Backends,
    /// The uid jobod runs as: on the socket, it and root may touch every job.
    pub admin_uid: u32,
    /// Token use, node and token changes, admins' actions on others' jobs.
    pub audit: crate::audit::Audit,
    pub facts: Facts,
    /// Cancelled by `POST /v1/system/stop`: the daemon then stops as on SIGTERM.
    pub stop: CancellationToken,
    /// Open connections, across the listeners (`[server] max_connections`).
    pub conns: Arc<crate::http::Conns>,
    /// The per-user submit rate limit (`[server] submit_rate`).
    pub submits: crate::server::throttle::Throttle,
}

pub type Ctx = Arc<Shared>;
