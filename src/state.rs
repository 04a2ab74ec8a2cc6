//! The API's context: what the HTTP handlers, the queue, the scheduler and the cleaner hold.
//! Backends never see it; they get the narrow [`Core`] inside it.

use crate::backends::Backends;
use crate::core::Core;
use std::sync::Arc;

pub struct Shared {
    /// Store, wake-ups, live logs, data dir, config.
    pub core: Arc<Core>,
    /// Where jobs run: the embedded worker and the remote nodes.
    pub backends: Backends,
    /// The uid jobod runs as: on the socket, it and root may touch every job.
    pub admin_uid: u32,
    /// Open connections, across the listeners (`[server] max_connections`).
    pub conns: Arc<crate::http::Conns>,
    /// The per-user submit rate limit (`[server] submit_rate`).
    pub submits: crate::server::throttle::Throttle,
}

pub type Ctx = Arc<Shared>;
