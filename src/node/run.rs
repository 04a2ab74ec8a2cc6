//! One payload's run: its dir laid out around the upload, a wait for a slot (a semaphore, so a
//! finished run wakes the next one; nothing polls), then `bash run.sh` through the same
//! executor as the server's local worker, each state change reported as it happens.

use crate::executor::{self, Outcome, RunSpec};
use crate::logs::LogWriter;
use crate::paths::{JobDir, LogStream};
use crate::protocol::{PayloadInfo, PayloadState};
use std::io;
use std::sync::Arc;
use tokio::sync::{Semaphore, broadcast, watch};
use tokio_util::sync::CancellationToken;

/// Lays out a payload dir (same layout as a job dir) around the staged upload.
pub async fn store(dir: JobDir, staged: tempfile::TempDir) -> io::Result<()> {
    let target = dir.clone();
    let prepared = tokio::task::spawn_blocking(move || -> io::Result<()> {
        std::fs::create_dir_all(target.path())?;
        std::fs::rename(staged.path(), target.work())?;
        // Renamed away: nothing is left for the TempDir to remove.
        let _ = staged.keep();
        std::fs::create_dir_all(target.scratch())?;
        for stream in [LogStream::Stdout, LogStream::Stderr] {
            std::fs::File::create(target.log(stream))?;
        }
        Ok(())
    })
    .await
    .map_err(io::Error::other)?;
    if prepared.is_err() {
        let _ = tokio::fs::remove_dir_all(dir.path()).await;
    }
    prepared
}

/// Publishes a payload's state changes: to its watch, then to the feed's broadcast.
pub struct Reporter {
    pub info: watch::Sender<PayloadInfo>,
    pub changes: broadcast::Sender<PayloadInfo>,
}

impl Reporter {
    fn set(&self, state: PayloadState, exit_code: Option<i32>, reason: Option<String>) {
        self.info.send_modify(|i| {
            i.state = state;
            i.exit_code = exit_code;
            i.reason = reason;
        });
        let now = self.info.borrow().clone();
        // An error only means no feed is listening.
        let _ = self.changes.send(now);
    }
}

/// Waits for a slot, runs `run.sh` and reports each state; `tmp/` (the run's TMPDIR) is
/// removed before the payload is reported done, so its results never hold scratch files.
pub async fn run(
    slots: Arc<Semaphore>,
    spec: RunSpec,
    cancel: CancellationToken,
    report: Reporter,
    logs: LogWriter,
) {
    let permit = tokio::select! {
        biased;
        _ = cancel.cancelled() => None,
        p = slots.acquire_owned() => p.ok(),
    };
    let (state, code, reason) = match permit {
        Some(_permit) => execute(&spec, &cancel, &report, logs).await,
        None => (
            PayloadState::Killed,
            None,
            Some("cancelled before it started".to_string()),
        ),
    };
    if let Err(e) = tokio::fs::remove_dir_all(spec.dir.scratch()).await
        && e.kind() != io::ErrorKind::NotFound
    {
        tracing::warn!("payload {}: cannot remove its tmp dir: {e}", spec.job_id);
    }
    tracing::info!(
        "payload {} {state:?}{}",
        spec.job_id,
        reason
            .as_deref()
            .map(|r| format!(": {r}"))
            .unwrap_or_default()
    );
    report.set(state, code, reason);
}

/// Runs `run.sh` once it has a slot; returns how it ended.
async fn execute(
    spec: &RunSpec,
    cancel: &CancellationToken,
    report: &Reporter,
    logs: LogWriter,
) -> (PayloadState, Option<i32>, Option<String>) {
    let running = match executor::spawn(spec, logs) {
        Ok(r) => r,
        Err(e) => {
            tracing::error!("payload {}: cannot start run.sh: {e}", spec.job_id);
            let note = format!("jobod worker: cannot start run.sh: {e}\n");
            let _ = tokio::fs::write(spec.dir.log(LogStream::Stderr), note).await;
            return (
                PayloadState::Failed,
                None,
                Some(format!("cannot start run.sh: {e}")),
            );
        }
    };
    report.set(PayloadState::Running, None, None);
    tracing::info!("payload {} running (pid {})", spec.job_id, running.pid);
    match running.wait(spec, cancel).await {
        Outcome::Exited(0) => (PayloadState::Completed, Some(0), None),
        Outcome::Exited(n) => (
            PayloadState::Failed,
            Some(n),
            Some(format!("run.sh exited with code {n}")),
        ),
        Outcome::Cancelled => (PayloadState::Killed, None, Some("cancelled".into())),
        Outcome::TimedOut => {
            let after = spec.timeout.unwrap_or_default();
            let after = humantime::format_duration(after);
            (
                PayloadState::TimedOut,
                None,
                Some(format!("timed out after {after}")),
            )
        }
    }
}
