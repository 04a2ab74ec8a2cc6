//! Wake-ups between the daemon's tasks, so nothing polls.
//!
//! - Every committed state change is announced on a broadcast channel; waiters (`jobo wait`,
//!   log followers, cancel) subscribe *before* they read the state, then sleep on it. An
//!   announcement carries the job as committed where its sender has it, so a waiter for a
//!   final state answers from it without reading the store again.
//! - Anything that may let a queued job start (submit, requeue, completion, cancel, config
//!   change, a node's slots) pokes the scheduler through a `Notify`, which coalesces bursts
//!   into one pass.

use crate::api::Job;
use crate::job::{JobId, JobState};
use std::sync::Arc;
use tokio::sync::{Notify, broadcast};

/// One committed transition.
#[derive(Debug, Clone)]
pub struct Change {
    pub id: JobId,
    pub state: JobState,
    /// The job as the transition committed it (`None` where the sender only has its id).
    pub job: Option<Arc<Job>>,
}

impl Change {
    /// The committed job when it is in a final state: final states are only left by a new
    /// transition, announced after this one, so it is a true answer however late it is read
    /// (a non-final one may already be stale: announcements of two tasks can cross).
    pub fn final_job(self) -> Option<Job> {
        self.job
            .filter(|j| j.state.is_terminal())
            .map(Arc::unwrap_or_clone)
    }
}

pub struct Events {
    jobs: broadcast::Sender<Change>,
    schedule: Notify,
}

impl Default for Events {
    fn default() -> Self {
        Events {
            jobs: broadcast::channel(1024).0,
            schedule: Notify::new(),
        }
    }
}

impl Events {
    /// Announces a committed transition (and wakes the scheduler if it may let a job start).
    pub fn job_changed(&self, id: JobId, state: JobState) {
        self.announce(Change {
            id,
            state,
            job: None,
        });
    }

    /// [`Events::job_changed`], with the job as committed.
    pub fn job_committed(&self, job: &Job) {
        self.announce(Change {
            id: job.id,
            state: job.state,
            job: Some(Arc::new(job.clone())),
        });
    }

    /// Only a new, requeued or ended job can let another start: a pass after `dispatched` or
    /// `running` (two of every job's transitions) would find nothing new to do.
    fn announce(&self, change: Change) {
        let frees = !matches!(change.state, JobState::Dispatched | JobState::Running);
        let _ = self.jobs.send(change);
        if frees {
            self.schedule.notify_one();
        }
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Change> {
        self.jobs.subscribe()
    }

    pub fn wake_scheduler(&self) {
        self.schedule.notify_one();
    }

    pub async fn scheduler_woken(&self) {
        self.schedule.notified().await
    }
}

/// Waits until the next announcement about `id` and returns it. A lagging receiver (it
/// missed messages) returns `None`, so the caller re-reads the state instead of missing a
/// change.
pub async fn next_change(rx: &mut broadcast::Receiver<Change>, id: JobId) -> Option<Change> {
    loop {
        match rx.recv().await {
            Ok(change) if change.id == id => return Some(change),
            Ok(_) => continue,
            Err(broadcast::error::RecvError::Lagged(_)) => return None,
            Err(broadcast::error::RecvError::Closed) => std::future::pending().await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{self, NewJob, Store, StoreError};

    /// Only a final job rides along to waiters; a queued or running one is re-read.
    #[test]
    fn a_change_hands_over_its_job_only_when_it_is_final() -> Result<(), StoreError> {
        let dir = tempfile::tempdir().map_err(|e| StoreError::Join(e.to_string()))?;
        let store = Store::open(&dir.path().join("t.db"))?;
        let events = Events::default();
        let mut rx = events.subscribe();
        store.call_sync(|c| {
            let tx = c.transaction()?;
            let id = store::insert(
                &tx,
                &NewJob {
                    user: "ann".into(),
                    service: "s".into(),
                    ..NewJob::default()
                },
            )?;
            tx.commit()?;
            for to in [JobState::Dispatched, JobState::Running, JobState::Failed] {
                let rec = store::transition_now(c, id, to, |_| {})?;
                events.job_committed(&rec.job);
            }
            events.job_changed(id, JobState::Expired);
            Ok(())
        })?;
        let mut handed = Vec::new();
        while let Ok(change) = rx.try_recv() {
            let state = change.state;
            handed.push((state, change.final_job().map(|j| j.state)));
        }
        assert_eq!(
            handed,
            [
                (JobState::Dispatched, None),
                (JobState::Running, None),
                (JobState::Failed, Some(JobState::Failed)),
                (JobState::Expired, None),
            ]
        );
        Ok(())
    }
}
