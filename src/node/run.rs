//! One payload's run: its dir laid out around the upload, a wait for a slot (a semaphore, so a
//! finished run wakes the next one; nothing polls), then `bash run.sh` through the same
//! executor as the server's local worker, each state change reported as it happens.
//!
//! A native payload's run can also be fenced (`lease.rs`): killed at once, whole group, with
//! SIGKILL, when the server stops renewing the node's lease; it then ends
//! [`PayloadState::Fenced`].

use super::lease::Lease;
use crate::executor::{self, Outcome, RunSpec};
use crate::limits::output;
use crate::logs::LogWriter;
use crate::paths::{JobDir, LogStream};
use crate::perms;
use crate::process;
use crate::protocol::{PayloadInfo, PayloadState, SlurmJob};
use crate::run_as::RunAs;
use crate::validator::{Rejection, Validator};
use std::io;
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::sync::{Arc, Mutex};
use tokio::sync::{Semaphore, broadcast, watch};
use tokio_util::sync::CancellationToken;

/// Fencing of one native run, shared by its table entry (which fences it) and its run task.
#[derive(Default)]
pub struct Fence {
    fenced: AtomicBool,
    /// The process group once `run.sh` is spawned, 0 before and after.
    pgid: AtomicI32,
    why: Mutex<String>,
}

impl Fence {
    /// Marks the run fenced and SIGKILLs its group if it runs (the caller also cancels it, so
    /// one waiting for a slot never starts). False if it was fenced already.
    ///
    /// The flag is set before the group is read here, and the group stored before the flag is
    /// read in [`Fence::spawned`] (both sequentially consistent), so a run spawned meanwhile is
    /// killed by one side or the other.
    pub fn fence(&self, why: &str) -> bool {
        if let Ok(mut w) = self.why.lock() {
            *w = why.to_string();
        }
        if self.fenced.swap(true, Ordering::SeqCst) {
            return false;
        }
        let pgid = self.pgid.load(Ordering::SeqCst);
        if pgid > 0 {
            process::kill_group(pgid, libc::SIGKILL);
        }
        true
    }

    pub(super) fn is_fenced(&self) -> bool {
        self.fenced.load(Ordering::SeqCst)
    }

    fn spawned(&self, pgid: i32) {
        self.pgid.store(pgid, Ordering::SeqCst);
        if self.is_fenced() {
            process::kill_group(pgid, libc::SIGKILL);
        }
    }

    fn ended(&self) {
        self.pgid.store(0, Ordering::SeqCst);
    }

    pub(super) fn why(&self) -> String {
        self.why.lock().map(|w| w.clone()).unwrap_or_default()
    }
}

/// What fences a native run: its [`Fence`], and the node's lease, checked before it starts.
pub struct Fencing {
    pub fence: Arc<Fence>,
    pub lease: Arc<Lease>,
}

/// Lays out a payload dir (same layout as a job dir) around the staged upload; when it runs
/// as another user, `work/` and `tmp/` become theirs and the payload dir stays the node's.
pub async fn store(dir: JobDir, staged: tempfile::TempDir, run_as: RunAs) -> io::Result<()> {
    let target = dir.clone();
    let prepared = tokio::task::spawn_blocking(move || -> io::Result<()> {
        std::fs::create_dir_all(target.path())?;
        std::fs::rename(staged.path(), target.work())?;
        // Renamed away: nothing is left for the TempDir to remove.
        let _ = staged.keep();
        std::fs::create_dir_all(target.scratch())?;
        for stream in [LogStream::Stdout, LogStream::Stderr] {
            crate::logs::create(&target.log(stream))?;
        }
        if let Some(account) = run_as.account() {
            perms::set_mode(target.path(), perms::PASS_THROUGH)?;
            perms::give(&target.work(), account)?;
            perms::give(&target.scratch(), account)?;
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
    /// When its spawn began, for the run's duration at its end.
    pub started: std::sync::OnceLock<std::time::Instant>,
}

impl Reporter {
    /// Notes how the run is held or what it used, for the next state change to carry.
    pub(super) fn note(&self, change: impl FnOnce(&mut PayloadInfo)) {
        self.info.send_modify(change);
    }

    pub(super) fn set(&self, state: PayloadState, exit_code: Option<i32>, reason: Option<String>) {
        if state == PayloadState::Running {
            self.started.get_or_init(std::time::Instant::now);
        }
        let run_ms = self
            .started
            .get()
            .filter(|_| state.is_done())
            .map(|t| t.elapsed().as_millis() as u64);
        self.info.send_modify(|i| {
            i.state = state;
            i.exit_code = exit_code;
            i.reason = reason;
            i.run_ms = run_ms;
        });
        let now = self.info.borrow().clone();
        // An error only means no feed is listening.
        let _ = self.changes.send(now);
    }

    /// What Slurm says of the payload's job now (Slurm nodes): published when it changed.
    pub(super) fn slurm(&self, job: SlurmJob) {
        let changed = self.info.send_if_modified(|i| {
            let differs = i.slurm.as_ref() != Some(&job);
            if differs {
                i.slurm = Some(job);
            }
            differs
        });
        if changed {
            let _ = self.changes.send(self.info.borrow().clone());
        }
    }
}

/// Waits for a slot, runs `run.sh` and reports each state; `tmp/` (the run's TMPDIR) is
/// removed before the payload is reported done, so its results never hold scratch files.
/// With `fencing` (native payloads), a run whose lease has run out by the time it has a slot
/// does not start, and a fenced run is reported [`PayloadState::Fenced`] once it is over.
pub async fn run(
    slots: Arc<Semaphore>,
    spec: RunSpec,
    cancel: CancellationToken,
    report: Reporter,
    logs: LogWriter,
    fencing: Option<Fencing>,
    validator: Option<Arc<Validator>>,
) {
    let payload = name(&spec);
    let permit = tokio::select! {
        biased;
        _ = cancel.cancelled() => None,
        p = slots.acquire_owned() => p.ok(),
    };
    if let (Some(_), Some(f)) = (&permit, &fencing)
        && !f.lease.valid()
    {
        f.fence.fence(&f.lease.why());
    }
    let fence = fencing.as_ref().map(|f| &*f.fence);
    let (mut state, mut code, mut reason) = match permit {
        Some(_permit) if !fence.is_some_and(Fence::is_fenced) => {
            match refused(&spec, validator.as_deref()).await {
                Some(why) => (PayloadState::Failed, None, Some(why)),
                None => execute(&spec, &cancel, &report, logs, fence).await,
            }
        }
        Some(_) => (PayloadState::Killed, None, None),
        None => (
            PayloadState::Killed,
            None,
            Some("cancelled before it started".to_string()),
        ),
    };
    // However it ended after that (killed, or exited 137 from the SIGKILL): a lost run.
    if let Some(f) = fence
        && f.is_fenced()
    {
        state = PayloadState::Fenced;
        code = None;
        reason = Some(f.why());
    }
    if let Err(e) = tokio::fs::remove_dir_all(spec.dir.scratch()).await
        && e.kind() != io::ErrorKind::NotFound
    {
        tracing::warn!("payload {payload}: cannot remove its tmp dir: {e}");
    }
    tracing::info!(
        "payload {payload} {state:?}{}",
        reason
            .as_deref()
            .map(|r| format!(": {r}"))
            .unwrap_or_default()
    );
    report.set(state, code, reason);
}

/// The payload's uuid (its dir's name), for the node's log: `JOBO_JOB_ID` is the job's.
fn name(spec: &RunSpec) -> String {
    spec.dir
        .path()
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// The script validator's answer on the payload's `run.sh` before it runs: the reason it
/// fails with (also written to its stderr log), or `None` to run it.
pub(super) async fn refused(spec: &RunSpec, validator: Option<&Validator>) -> Option<String> {
    let validator = validator?;
    let run_sh = spec.dir.work().join("run.sh");
    let checked = match tokio::fs::metadata(&run_sh).await {
        Ok(m) if m.len() > crate::validator::MAX_SCRIPT_BYTES => {
            Err(Rejection::TooLarge(m.len()).to_string())
        }
        Ok(_) => match tokio::fs::read(&run_sh).await {
            Ok(script) => validator.check(&script).map_err(|r| r.to_string()),
            Err(e) => Err(format!("cannot read run.sh: {e}")),
        },
        Err(e) => Err(format!("cannot read run.sh: {e}")),
    };
    let why = checked.err()?;
    let note = format!("jobod worker: {why}\n");
    let _ = tokio::fs::write(spec.dir.log(LogStream::Stderr), note).await;
    Some(why)
}

/// Runs `run.sh` once it has a slot; returns how it ended.
async fn execute(
    spec: &RunSpec,
    cancel: &CancellationToken,
    report: &Reporter,
    logs: LogWriter,
    fence: Option<&Fence>,
) -> (PayloadState, Option<i32>, Option<String>) {
    // The run's clock starts before the spawn: the process may be running well before the
    // awaited spawn returns on a busy runtime, and its run time must not come out short.
    let spawning = std::time::Instant::now();
    let running = match executor::spawn(spec, logs).await {
        Ok(r) => r,
        Err(e) => {
            let why = executor::spawn_failure(spec, &e);
            tracing::error!("payload {}: {why}", name(spec));
            let note = format!("jobod worker: {why}\n");
            let _ = tokio::fs::write(spec.dir.log(LogStream::Stderr), note).await;
            return (PayloadState::Failed, None, Some(why));
        }
    };
    crate::delaypoint!("node::spawned");
    if let Some(f) = fence {
        f.spawned(running.pid);
    }
    let enforced = running.enforced.clone();
    report.note(|i| i.enforced = Some(enforced.clone()));
    report.started.get_or_init(|| spawning);
    report.set(PayloadState::Running, None, None);
    tracing::info!("payload {} running (pid {})", name(spec), running.pid);
    let (outcome, usage) = running.wait(spec, cancel).await;
    report.note(|i| i.usage = Some(usage));
    if let Some(f) = fence {
        f.ended();
    }
    if let Outcome::Exited(n) = outcome
        && let Some(why) = output::check(&spec.dir, spec.max_output).await
    {
        return (PayloadState::Failed, Some(n), Some(why));
    }
    match outcome {
        Outcome::Exited(0) => (PayloadState::Completed, Some(0), None),
        Outcome::Exited(n) => (
            PayloadState::Failed,
            Some(n),
            Some(crate::executor::exit_reason(n, &spec.caps, &enforced)),
        ),
        Outcome::OutOfMemory(n) => (PayloadState::Failed, Some(n), Some("out of memory".into())),
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
