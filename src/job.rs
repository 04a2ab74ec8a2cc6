//! The job lifecycle: states and the one place that says which transitions are legal.
//!
//! Every state change in the store goes through [`JobState::can_become`], so an
//! illegal transition is caught as a bug instead of silently overwriting history.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// A job's id: the SQLite rowid, shown to users as a plain integer (`jobo status 42`).
pub type JobId = i64;

/// Where a job is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JobState {
    Queued,
    Dispatched,
    Running,
    Succeeded,
    Failed,
    Cancelled,
    TimedOut,
    /// Its node vanished and it could not be retried.
    Lost,
    /// Its files were removed (retention or `jobo rm`); the history row stays.
    Expired,
}

impl JobState {
    pub const ALL: [JobState; 9] = [
        JobState::Queued,
        JobState::Dispatched,
        JobState::Running,
        JobState::Succeeded,
        JobState::Failed,
        JobState::Cancelled,
        JobState::TimedOut,
        JobState::Lost,
        JobState::Expired,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            JobState::Queued => "queued",
            JobState::Dispatched => "dispatched",
            JobState::Running => "running",
            JobState::Succeeded => "succeeded",
            JobState::Failed => "failed",
            JobState::Cancelled => "cancelled",
            JobState::TimedOut => "timed_out",
            JobState::Lost => "lost",
            JobState::Expired => "expired",
        }
    }

    /// Finished: the job will not run again. `Expired` counts, its files are gone too.
    pub fn is_terminal(self) -> bool {
        !matches!(
            self,
            JobState::Queued | JobState::Dispatched | JobState::Running
        )
    }

    /// Holding a worker slot (counts against quotas).
    pub fn is_active(self) -> bool {
        matches!(self, JobState::Dispatched | JobState::Running)
    }

    /// The legal edges of the lifecycle graph.
    pub fn can_become(self, next: JobState) -> bool {
        use JobState::*;
        match (self, next) {
            (Queued, Dispatched | Cancelled | Failed) => true,
            // Back to the queue: a retry after the daemon or a node died.
            (Dispatched | Running, Queued) => true,
            (Dispatched, Running | Cancelled | Failed | Lost) => true,
            (Running, Succeeded | Failed | Cancelled | TimedOut | Lost) => true,
            (Succeeded | Failed | Cancelled | TimedOut | Lost, Expired) => true,
            _ => false,
        }
    }

    /// The status word the seed-compatible API uses for this state.
    pub fn seed_word(self) -> &'static str {
        match self {
            JobState::Queued => "Queued",
            JobState::Dispatched => "Submitted",
            JobState::Running => "Running",
            JobState::Succeeded => "Completed",
            JobState::Failed | JobState::TimedOut | JobState::Lost => "Failed",
            JobState::Cancelled => "Killed",
            JobState::Expired => "Cleaned",
        }
    }
}

impl fmt::Display for JobState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for JobState {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        JobState::ALL
            .into_iter()
            .find(|st| st.as_str() == s)
            .ok_or_else(|| {
                let names: Vec<_> = JobState::ALL.iter().map(|s| s.as_str()).collect();
                format!("unknown state '{s}' (one of: {})", names.join(", "))
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terminal_states_only_expire() {
        for st in JobState::ALL.into_iter().filter(|s| s.is_terminal()) {
            for next in JobState::ALL {
                let ok = st.can_become(next);
                assert_eq!(ok, next == JobState::Expired && st != JobState::Expired);
            }
        }
    }

    #[test]
    fn names_round_trip() {
        for st in JobState::ALL {
            assert_eq!(st.as_str().parse::<JobState>(), Ok(st));
        }
        assert!("nope".parse::<JobState>().is_err());
    }
}
