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
use std::sync::{Arc, RwLock};

pub struct Core {
    /// Swapped whole by a reload (SIGHUP, `reload.rs`); read it through [`Core::config`].
    config: RwLock<Arc<Config>>,
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
    pub fn new(config: Arc<Config>, data: DataDir, store: Store, node_tls: ClientTls) -> Core {
        Core {
            config: RwLock::new(config),
            data,
            store,
            events: Events::default(),
            logs: LogHub::default(),
            node_tls,
            metrics: Metrics::default(),
        }
    }

    /// The configuration now: a snapshot, which a reload does not change under its holder.
    pub fn config(&self) -> Arc<Config> {
        match self.config.read() {
            Ok(c) => c.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Puts `config` in place for everything that reads it from now on.
    pub fn set_config(&self, config: Arc<Config>) {
        match self.config.write() {
            Ok(mut c) => *c = config,
            Err(poisoned) => *poisoned.into_inner() = config,
        }
    }

    /// Announces a committed transition of `job` (now in its new state) and counts it.
    pub fn job_changed(&self, job: &Job) {
        self.metrics.observe(job);
        self.events.job_committed(job);
    }
}
