//! The worker embedded in `jobod`, as a [`Backend`]: runs the jobs placed on
//! [`Placement::Local`] on this machine, one task per run (`run.rs`); after a crash, kills
//! what the interrupted runs left and requeues them (`recover.rs`).
//!
//! Slots are counted in the store (jobs `dispatched`/`running` here), so they survive
//! restarts; the worker itself only keeps each run's cancel switch.

mod recover;
mod run;

pub use recover::{kill_local_runs, local_runs, recover};

use crate::backend::{Backend, Place};
use crate::core::Core;
use crate::job::JobId;
use crate::placement::Placement;
use crate::store::Record;
use futures_util::future::BoxFuture;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use tokio_util::sync::CancellationToken;

pub struct LocalWorker {
    inner: Arc<Inner>,
}

/// What the worker and its run tasks share.
struct Inner {
    core: Arc<Core>,
    slots: usize,
    /// Each run's cancel switch, from its start (or an earlier cancel) to its end.
    runs: Mutex<HashMap<JobId, CancellationToken>>,
    /// jobod is stopping: runs that end now were killed by the stop, not by themselves, and
    /// are left to the next start's recovery instead of being recorded.
    stopping: AtomicBool,
}

impl Inner {
    fn runs(&self) -> MutexGuard<'_, HashMap<JobId, CancellationToken>> {
        self.runs.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn is_stopping(&self) -> bool {
        self.stopping.load(Ordering::SeqCst)
    }
}

impl LocalWorker {
    pub fn new(core: Arc<Core>, slots: usize) -> LocalWorker {
        LocalWorker {
            inner: Arc::new(Inner {
                core,
                slots,
                runs: Mutex::new(HashMap::new()),
                stopping: AtomicBool::new(false),
            }),
        }
    }

    pub fn slots(&self) -> usize {
        self.inner.slots
    }
}

impl Backend for LocalWorker {
    fn offer(&self) -> Option<Place> {
        Some(Place {
            node: Placement::Local,
            services: None,
            slots: self.inner.slots,
            load: 0.0,
        })
    }

    fn start(&self, rec: Record) {
        // A cancel that came between dispatch and here has left its token already cancelled.
        let token = self.inner.runs().entry(rec.job.id).or_default().clone();
        let inner = self.inner.clone();
        tokio::spawn(async move {
            let id = rec.job.id;
            run::run(&inner, rec, &token).await;
            inner.runs().remove(&id);
            inner.core.events.wake_scheduler();
        });
    }

    /// Cancels the run, even if its task has not started yet.
    fn cancel(&self, rec: &Record) -> BoxFuture<'static, Result<(), String>> {
        self.inner.runs().entry(rec.job.id).or_default().cancel();
        Box::pin(std::future::ready(Ok(())))
    }

    /// Drops the cancel switch of a job that ended anyway (a cancel of a run that was over
    /// already leaves one behind).
    fn settle(&self, rec: &Record) {
        self.inner.runs().remove(&rec.job.id);
    }

    /// Called before jobod kills its runs on the way out: from now on no run records an end.
    fn shutdown(&self) {
        self.inner.stopping.store(true, Ordering::SeqCst);
    }
}
