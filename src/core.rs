//! [`Core`]: the narrow handle every backend and daemon task holds — the store, the wake-ups,
//! the live logs, the data dir and the configuration (with the nodes' TLS settings, loaded).
//! Backends get this and nothing else of the daemon: not the API's context, not each other.

use crate::api::Job;
use crate::config::Config;
use crate::events::Events;
use crate::logs::LogHub;
use crate::metrics::Metrics;
use crate::paths::DataDir;
use crate::store::Store;
use crate::tls::ClientTls;
use std::sync::Arc;

pub struct Core {
    pub config: Arc<Config>,
    pub data: DataDir,
    pub store: Store,
    pub events: Events,
    pub logs: LogHub,
    /// How `https://` nodes are reached: the CAs trusted and the client certificate shown.
    pub node_tls: ClientTls,
    /// Counters and histograms for `/metrics`.
    pub metrics: Metrics,
}

impl Core {
    /// Announces a committed transition of `job` (now in its new state) and counts it.
    pub fn job_changed(&self, job: &Job) {
        self.metrics.observe(job);
        self.events.job_changed(job.id, job.state);
    }
}
