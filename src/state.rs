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
    /// Token use, node and token changes, admins' actions on others' jobs.
    pub audit: crate::audit::Audit,
}

pub type Ctx = Arc<Shared>;
