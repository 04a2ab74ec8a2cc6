//! What Slurm says of a job, and what that means for its payload: Slurm's state words mapped to
//! [`PayloadState`], its exit codes decoded, and a reason worth showing.

use crate::protocol::{PayloadState, SlurmJob};

/// One job as a poll saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seen {
    /// Slurm's state word (`RUNNING`, `COMPLETED`, …), or [`GONE`].
    pub state: String,
    /// Slurm's reason; `None` when it says `None`.
    pub reason: Option<String>,
    /// The batch script's exit code (128 + N for a death by signal N), once it has one.
    pub exit_code: Option<i32>,
}

/// The state of a job Slurm no longer knows (aged out of slurmctld, no accounting to ask).
pub const GONE: &str = "UNKNOWN";

impl Seen {
    pub fn gone() -> Seen {
        Seen {
            state: GONE.into(),
            reason: Some("Slurm no longer knows the job".into()),
            exit_code: None,
        }
    }

    pub fn job(&self, id: u64) -> SlurmJob {
        SlurmJob {
            id,
            state: self.state.clone(),
            reason: self.reason.clone(),
        }
    }
}

/// A reason as Slurm prints it: `None` and empty mean none.
pub fn reason(text: &str) -> Option<String> {
    let t = text.trim();
    (!t.is_empty() && t != "None" && t != "(null)").then(|| t.to_string())
}

/// `squeue -O exit_code`: a raw wait status.
pub fn exit_of_wait_status(status: i32) -> i32 {
    let signal = status & 0x7f;
    if signal == 0 {
        (status >> 8) & 0xff
    } else {
        128 + signal
    }
}

/// `sacct`'s and `scontrol`'s `ExitCode=CODE:SIGNAL`.
pub fn exit_of_pair(text: &str) -> Option<i32> {
    let (code, signal) = text.trim().split_once(':')?;
    let (code, signal) = (code.parse::<i32>().ok()?, signal.parse::<i32>().ok()?);
    Some(if signal == 0 { code } else { 128 + signal })
}

/// Where a payload is, from what Slurm says of its job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mapped {
    /// PENDING and the like: still waiting (the payload stays `prepared`).
    Waiting,
    Running,
    /// Over: the payload's final state, exit code and reason.
    Done(PayloadState, Option<i32>, Option<String>),
}

pub fn map(id: u64, seen: &Seen, timeout: Option<std::time::Duration>) -> Mapped {
    let slurm = |what: &str| match &seen.reason {
        Some(r) => format!("Slurm job {id} {what}: {r}"),
        None => format!("Slurm job {id} {what}"),
    };
    let code = seen.exit_code;
    match seen.state.as_str() {
        "PENDING" | "CONFIGURING" | "REQUEUED" | "REQUEUE_FED" | "REQUEUE_HOLD" | "RESIZING"
        | "RESV_DEL_HOLD" => Mapped::Waiting,
        "RUNNING" | "COMPLETING" | "SUSPENDED" | "STOPPED" | "SIGNALING" | "STAGE_OUT" => {
            Mapped::Running
        }
        "COMPLETED" => Mapped::Done(PayloadState::Completed, Some(code.unwrap_or(0)), None),
        "FAILED" => {
            let why = match code {
                Some(n) => format!("run.sh exited with code {n} (Slurm job {id} FAILED)"),
                None => slurm("FAILED"),
            };
            Mapped::Done(PayloadState::Failed, code, Some(why))
        }
        "OUT_OF_MEMORY" => Mapped::Done(
            PayloadState::Failed,
            code,
            Some(format!("out of memory (Slurm job {id} OUT_OF_MEMORY)")),
        ),
        "TIMEOUT" => {
            let after = timeout
                .map(|t| format!(" after {}", humantime::format_duration(t)))
                .unwrap_or_default();
            let why = format!("timed out{after} (Slurm job {id} TIMEOUT)");
            Mapped::Done(PayloadState::TimedOut, None, Some(why))
        }
        "CANCELLED" => Mapped::Done(
            PayloadState::Killed,
            None,
            Some(format!("cancelled (Slurm job {id} CANCELLED)")),
        ),
        // NODE_FAIL, BOOT_FAIL, DEADLINE, PREEMPTED, REVOKED, and a job Slurm forgot.
        other => Mapped::Done(PayloadState::Failed, code, Some(slurm(other))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seen(state: &str, reason: Option<&str>, exit_code: Option<i32>) -> Seen {
        Seen {
            state: state.into(),
            reason: reason.map(String::from),
            exit_code,
        }
    }

    #[test]
    fn exit_codes_decode() {
        assert_eq!(exit_of_wait_status(768), 3);
        assert_eq!(exit_of_wait_status(0), 0);
        assert_eq!(exit_of_wait_status(9), 137);
        assert_eq!(exit_of_pair("3:0"), Some(3));
        assert_eq!(exit_of_pair("0:15"), Some(143));
        assert_eq!(exit_of_pair("x"), None);
    }

    #[test]
    fn states_map_faithfully() {
        assert_eq!(
            map(1, &seen("PENDING", Some("Resources"), None), None),
            Mapped::Waiting
        );
        assert_eq!(
            map(1, &seen("COMPLETING", None, None), None),
            Mapped::Running
        );
        assert_eq!(
            map(1, &seen("COMPLETED", None, Some(0)), None),
            Mapped::Done(PayloadState::Completed, Some(0), None)
        );
        let Mapped::Done(PayloadState::Failed, Some(3), Some(why)) =
            map(7, &seen("FAILED", Some("NonZeroExitCode"), Some(3)), None)
        else {
            panic!("FAILED maps to failed with its code");
        };
        assert!(
            why.contains("code 3") && why.contains("Slurm job 7"),
            "{why}"
        );
        assert!(matches!(
            map(1, &seen("TIMEOUT", None, None), None),
            Mapped::Done(PayloadState::TimedOut, None, _)
        ));
        assert!(matches!(
            map(1, &seen("CANCELLED", None, None), None),
            Mapped::Done(PayloadState::Killed, None, _)
        ));
        let Mapped::Done(PayloadState::Failed, _, Some(why)) =
            map(2, &seen("NODE_FAIL", Some("NodeDown"), None), None)
        else {
            panic!("NODE_FAIL maps to failed");
        };
        assert!(
            why.contains("NODE_FAIL") && why.contains("NodeDown"),
            "{why}"
        );
        assert!(matches!(
            map(1, &Seen::gone(), None),
            Mapped::Done(PayloadState::Failed, None, Some(_))
        ));
        assert_eq!(reason("None"), None);
    }
}
