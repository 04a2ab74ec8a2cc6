//! How a run on a seed node ended, in the job's terms: from the seed's status word, the exit
//! code the run itself recorded, and what this side did to it (a timeout, a cancel).

use crate::api::Enforced;
use crate::cluster::collect::Outcome;
use crate::job::JobState;
use std::time::Duration;

/// A status word that says the run is over: every word but those of a payload on its way to
/// running or running (the seed's `Invalid`, `Lost`, `Cleaned` … and words jobo does not know
/// end the job; waiting on them would hold its slot forever).
pub fn is_final(word: &str) -> bool {
    !matches!(
        word,
        "Prepared" | "Running" | "Submitted" | "Queued" | "Processing"
    )
}

/// How a run on a seed node is held: by nothing of the node's own (it takes no limits and
/// reports no usage); this side ends it at its timeout.
pub fn held() -> Option<Enforced> {
    Some(Enforced {
        timeout: true,
        ..Enforced::default()
    })
}

/// How this side ended a run, if it did: killed for its timeout, or for a cancel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ended {
    TimedOut(Duration),
    Cancelled,
}

/// How a run ended, from the seed's status word (none: a zip, which only comes when
/// completed), what this side did to it, and the exit code the run itself recorded, which is
/// the better witness of the rest: the seed's client reports `Lost` of runs whose pid it read
/// too early, though they went on and wrote their exit code.
pub fn outcome(word: Option<&str>, exit_code: Option<i32>, ended: Option<Ended>) -> Outcome {
    let (state, reason) = match (word, ended, exit_code) {
        (None | Some("Completed"), _, _) => {
            return Outcome {
                state: JobState::Succeeded,
                exit_code: Some(exit_code.unwrap_or(0)),
                reason: None,
                enforced: held(),
                usage: None,
                run_ms: None,
            };
        }
        (_, Some(Ended::TimedOut(after)), _) => (
            JobState::TimedOut,
            Some(format!(
                "timed out after {}",
                humantime::format_duration(after)
            )),
        ),
        (_, Some(Ended::Cancelled), _) | (Some("Killed"), None, _) => {
            (JobState::Cancelled, Some("cancelled while running".into()))
        }
        (_, None, Some(0)) => {
            return Outcome {
                state: JobState::Succeeded,
                exit_code: Some(0),
                reason: None,
                enforced: held(),
                usage: None,
                run_ms: None,
            };
        }
        (_, None, Some(code)) => (
            JobState::Failed,
            Some(format!("run.sh exited with code {code}")),
        ),
        (Some("Failed"), None, None) => (JobState::Failed, Some("it failed on its node".into())),
        (Some(other), None, None) => (
            JobState::Failed,
            Some(format!("its seed node reported the payload {other}")),
        ),
    };
    Outcome {
        state,
        exit_code,
        reason,
        enforced: held(),
        usage: None,
        run_ms: None,
    }
}

pub fn ended_by_us(timed_out: Option<Duration>, cancelled: bool) -> Option<Ended> {
    match (timed_out, cancelled) {
        (Some(after), _) => Some(Ended::TimedOut(after)),
        (None, true) => Some(Ended::Cancelled),
        (None, false) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcomes_follow_the_seed_words() {
        let secs = |n| Some(Ended::TimedOut(Duration::from_secs(n)));
        let o = outcome(None, None, None);
        assert_eq!((o.state, o.reason), (JobState::Succeeded, None));
        assert_eq!(o.exit_code, Some(0), "a completed seed run exited 0");
        let o = outcome(Some("Completed"), Some(0), secs(5));
        assert_eq!(o.state, JobState::Succeeded, "completed before the kill");
        let o = outcome(Some("Failed"), Some(3), None);
        assert_eq!((o.state, o.exit_code), (JobState::Failed, Some(3)));
        assert_eq!(o.reason.as_deref(), Some("run.sh exited with code 3"));
        assert_eq!(outcome(Some("Failed"), None, None).state, JobState::Failed);
        assert_eq!(
            outcome(Some("Killed"), None, None).state,
            JobState::Cancelled
        );
        let o = outcome(Some("Killed"), Some(143), secs(5));
        assert_eq!(o.state, JobState::TimedOut);
        assert_eq!(o.reason.as_deref(), Some("timed out after 5s"));
        // A cancel or a timeout of this side outweighs what the trap wrote on the way out.
        let o = outcome(Some("Lost"), Some(0), Some(Ended::Cancelled));
        assert_eq!(o.state, JobState::Cancelled);
        let o = outcome(Some("Invalid"), None, None);
        assert_eq!(o.state, JobState::Failed);
        assert!(o.reason.is_some_and(|r| r.contains("Invalid")));
        // The run's own exit code outweighs a status the seed's client got wrong.
        let o = outcome(Some("Lost"), Some(3), None);
        assert_eq!((o.state, o.exit_code), (JobState::Failed, Some(3)));
        assert_eq!(
            outcome(Some("Lost"), Some(0), None).state,
            JobState::Succeeded
        );
        let o = outcome(Some("Lost"), None, None);
        assert!(o.reason.is_some_and(|r| r.contains("Lost")));
    }

    #[test]
    fn only_done_words_are_final() {
        for w in ["Prepared", "Running", "Submitted", "Queued", "Processing"] {
            assert!(!is_final(w), "{w}");
        }
        for w in [
            "Completed",
            "Failed",
            "Killed",
            "Invalid",
            "Lost",
            "Cleaned",
            "Unknown",
            "?",
        ] {
            assert!(is_final(w), "{w}");
        }
    }
}
