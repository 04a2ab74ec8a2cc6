//! Live job output: who is writing a job's logs, and how followers wait for more.
//!
//! The executor appends a job's stdout and stderr to one file each and bumps a per-job
//! counter after every append. A follower reads the file from its offset, then waits for the
//! counter to change; when the run ends the writer is dropped and followers see the end.
//! No follower ever polls the file.

use crate::job::JobId;
use std::collections::HashMap;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::sync::{Arc, Mutex};
use tokio::sync::watch;

/// Creates (or empties) a log file that jobod alone may read: logs reach users through the
/// API, which checks who asks, never through the file system.
pub fn create(path: &Path) -> std::io::Result<std::fs::File> {
    std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(crate::perms::PRIVATE_FILE)
        .open(path)
}

#[derive(Clone, Default)]
pub struct LogHub {
    live: Arc<Mutex<HashMap<JobId, Arc<watch::Sender<u64>>>>>,
}

/// Held by the code writing a job's logs; dropping every clone ends the live stream.
#[derive(Clone)]
pub struct LogWriter(Arc<watch::Sender<u64>>);

impl LogWriter {
    /// A writer outside any hub: whoever holds it follows it with [`LogWriter::subscribe`]
    /// (a worker node keeps one per payload in its payload table).
    pub fn detached() -> LogWriter {
        LogWriter(Arc::new(watch::channel(0).0))
    }

    /// A receiver that changes on every append from now on.
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.0.subscribe()
    }

    /// Tells followers that `n` more bytes are in the files.
    pub fn appended(&self, n: usize) {
        self.0.send_modify(|total| *total += n as u64);
    }
}

impl LogHub {
    /// Registers job `id` as live. Followers can subscribe until [`LogHub::close`].
    pub fn open(&self, id: JobId) -> LogWriter {
        let (tx, _) = watch::channel(0);
        let tx = Arc::new(tx);
        self.lock().insert(id, tx.clone());
        LogWriter(tx)
    }

    pub fn close(&self, id: JobId) {
        self.lock().remove(&id);
    }

    /// A receiver that changes on every append, or `None` when the job is not running here.
    pub fn subscribe(&self, id: JobId) -> Option<watch::Receiver<u64>> {
        self.lock().get(&id).map(|tx| tx.subscribe())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<JobId, Arc<watch::Sender<u64>>>> {
        self.live.lock().unwrap_or_else(|p| p.into_inner())
    }
}
