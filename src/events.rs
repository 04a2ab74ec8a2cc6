//! Wake-ups between the daemon's tasks, so nothing polls.
//!
//! - Every committed state change is announced on a broadcast channel; waiters (`jobo wait`,
//!   log followers, cancel) subscribe *before* they read the state, then sleep on it.
//! - Anything that may let a queued job start (submit, completion, cancel, config change)
//!   pokes the scheduler through a `Notify`, which coalesces bursts into one pass.

use crate::job::{JobId, JobState};
use tokio::sync::{Notify, broadcast};

pub struct Events {
    jobs: broadcast::Sender<(JobId, JobState)>,
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
    /// Announces a committed transition, and wakes the scheduler.
    pub fn job_changed(&self, id: JobId, state: JobState) {
        let _ = self.jobs.send((id, state));
        self.schedule.notify_one();
    }

    pub fn subscribe(&self) -> broadcast::Receiver<(JobId, JobState)> {
        self.jobs.subscribe()
    }

    pub fn wake_scheduler(&self) {
        self.schedule.notify_one();
    }

    pub async fn scheduler_woken(&self) {
        self.schedule.notified().await
    }
}

/// Waits until the next announcement about `id` and returns the state it announced. A
/// lagging receiver (it missed messages) returns `None`, so the caller re-reads the state
/// instead of missing a change.
pub async fn next_change(
    rx: &mut broadcast::Receiver<(JobId, JobState)>,
    id: JobId,
) -> Option<JobState> {
    loop {
        match rx.recv().await {
            Ok((changed, state)) if changed == id => return Some(state),
            Ok(_) => continue,
            Err(broadcast::error::RecvError::Lagged(_)) => return None,
            Err(broadcast::error::RecvError::Closed) => std::future::pending().await,
        }
    }
}
