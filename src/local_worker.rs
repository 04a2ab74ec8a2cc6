//! The worker embedded in `jobod`: runs dispatched jobs on this machine, one task per job.
//!
//! A run: copy the pristine input into a fresh work dir, start `run.sh`, record `running`
//! with its process group, wait, record the outcome, and only then drop the input copy (a
//! retry needs it until the outcome is durable). Slots are counted in the store (jobs
//! `dispatched`/`running` on [`crate::placement::Placement::Local`]), so they survive restarts.

use crate::archive;
use crate::executor::{self, Outcome, RunSpec};
use crate::job::{JobId, JobState};
use crate::state::Ctx;
use crate::store::{self, Record, now_ms};
use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

pub struct LocalWorker {
    slots: usize,
    runs: Mutex<HashMap<JobId, CancellationToken>>,
    /// jobod is stopping: runs that end now were killed by the stop, not by themselves, and
    /// are left to the next start's recovery instead of being recorded.
    stopping: AtomicBool,
}

impl LocalWorker {
    pub fn new(slots: usize) -> LocalWorker {
        LocalWorker {
            slots,
            runs: Mutex::new(HashMap::new()),
            stopping: AtomicBool::new(false),
        }
    }

    /// Called before jobod kills its runs on the way out: from now on no run records an end.
    pub fn stop(&self) {
        self.stopping.store(true, Ordering::SeqCst);
    }

    fn is_stopping(&self) -> bool {
        self.stopping.load(Ordering::SeqCst)
    }

    pub fn slots(&self) -> usize {
        self.slots
    }

    /// Starts a dispatched job in the background.
    pub fn start(&self, ctx: Ctx, rec: Record) {
        // A cancel that came between dispatch and here has left its token already cancelled.
        let token = self.lock().entry(rec.job.id).or_default().clone();
        tokio::spawn(async move {
            let id = rec.job.id;
            run(&ctx, rec, &token).await;
            if let Some(w) = &ctx.worker {
                w.lock().remove(&id);
            }
            ctx.events.wake_scheduler();
        });
    }

    /// Asks the run of a job dispatched here to stop, even if its task has not started yet.
    pub fn cancel(&self, id: JobId) {
        self.lock().entry(id).or_default().cancel();
    }

    /// Drops the cancel request of a job that ended anyway.
    pub fn forget(&self, id: JobId) {
        self.lock().remove(&id);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<JobId, CancellationToken>> {
        self.runs.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Commits a transition of job `id` and announces it; errors are logged (the next start's
/// recovery repairs a job whose final write failed).
async fn record(
    ctx: &Ctx,
    id: JobId,
    to: JobState,
    patch: impl FnOnce(&mut Record) + Send + 'static,
) {
    match ctx
        .store
        .call(move |c| store::transition_now(c, id, to, patch))
        .await
    {
        Ok(rec) => ctx.events.job_changed(id, rec.job.state),
        Err(e) => tracing::error!("job {id}: cannot record {to}: {e}"),
    }
}

async fn run(ctx: &Ctx, rec: Record, cancel: &CancellationToken) {
    let job = rec.job;
    let id = job.id;
    let dir = ctx.data.job(id);
    let timeout = job
        .timeout_secs
        .map(Duration::from_secs)
        .or_else(|| ctx.config.service(&job.service).and_then(|s| s.timeout));
    let spec = RunSpec {
        job_id: id.to_string(),
        user: job.user.clone(),
        service: job.service.clone(),
        dir: dir.clone(),
        timeout,
        kill_grace: ctx.config.server.kill_grace,
    };

    let prepare = {
        let dir = dir.clone();
        tokio::task::spawn_blocking(move || -> std::io::Result<()> {
            for stale in [dir.work(), dir.scratch()] {
                if stale.exists() {
                    std::fs::remove_dir_all(&stale)?;
                }
            }
            archive::copy_dir(&dir.input(), &dir.work())?;
            std::fs::create_dir_all(dir.scratch())?;
            for stream in [
                crate::paths::LogStream::Stdout,
                crate::paths::LogStream::Stderr,
            ] {
                std::fs::File::create(dir.log(stream))?;
            }
            Ok(())
        })
        .await
    };
    if let Err(e) = prepare.map_err(std::io::Error::other).and_then(|r| r) {
        let reason = format!("cannot prepare the job directory: {e}");
        record(ctx, id, JobState::Failed, move |r| {
            r.job.reason = Some(reason)
        })
        .await;
        return;
    }
    if cancel.is_cancelled() {
        record(ctx, id, JobState::Cancelled, |r| {
            r.job.reason = Some("cancelled before it started".into())
        })
        .await;
        return;
    }

    let writer = ctx.logs.open(id);
    let running = match executor::spawn(&spec, writer) {
        Ok(running) => running,
        Err(e) => {
            ctx.logs.close(id);
            let reason = format!("cannot start run.sh: {e}");
            record(ctx, id, JobState::Failed, move |r| {
                r.job.reason = Some(reason)
            })
            .await;
            return;
        }
    };
    let (pid, start) = (running.pid, running.start_time);
    record(ctx, id, JobState::Running, move |r| {
        r.job.started_at = Some(now_ms());
        r.pid = Some(pid);
        r.pid_start = start;
    })
    .await;

    let outcome = running.wait(&spec, cancel).await;
    ctx.logs.close(id);
    if ctx.worker.as_ref().is_some_and(|w| w.is_stopping()) {
        tracing::info!("job {id}: left for the next start (jobod is stopping)");
        return;
    }

    let work = dir.work();
    let output_bytes = tokio::task::spawn_blocking(move || archive::dir_size(&work).ok())
        .await
        .ok()
        .flatten();
    let (state, exit_code, reason) = match outcome {
        Outcome::Exited(0) => (JobState::Succeeded, Some(0), None),
        Outcome::Exited(code) => (
            JobState::Failed,
            Some(code),
            Some(format!("run.sh exited with code {code}")),
        ),
        Outcome::TimedOut => (
            JobState::TimedOut,
            None,
            Some(format!(
                "timed out after {}",
                humantime::format_duration(timeout.unwrap_or_default())
            )),
        ),
        Outcome::Cancelled => (
            JobState::Cancelled,
            None,
            Some("cancelled while running".into()),
        ),
    };
    let end = move |r: &mut Record| {
        r.job.exit_code = exit_code;
        r.job.reason = reason.clone();
        r.job.output_bytes = output_bytes;
    };
    if !record_outcome(ctx, id, state, end).await {
        return;
    }
    // The pristine input is only needed for a retry, and there is none after a durable outcome.
    let input = dir.input();
    let _ = tokio::task::spawn_blocking(move || std::fs::remove_dir_all(input)).await;
}

/// Commits a run's outcome, trying again with backoff while the store refuses (locked, disk
/// full): the slot stays taken and the input kept until it is durable. Gives up only when
/// jobod stops (the next start's recovery runs the job again) or the job is no longer active
/// (cancelled meanwhile). Returns whether the outcome was committed.
async fn record_outcome(
    ctx: &Ctx,
    id: JobId,
    to: JobState,
    patch: impl Fn(&mut Record) + Clone + Send + 'static,
) -> bool {
    let mut pause = Duration::from_millis(100);
    loop {
        let patch = patch.clone();
        let res = ctx
            .store
            .call(move |c| {
                crate::failpoint!("local_worker::outcome");
                store::transition_now(c, id, to, patch)
            })
            .await;
        match res {
            Ok(rec) => {
                ctx.events.job_changed(id, rec.job.state);
                return true;
            }
            Err(store::StoreError::IllegalTransition { from, .. }) => {
                tracing::warn!("job {id}: ended as {to}, but it is {from} already");
                return false;
            }
            Err(e) => {
                tracing::error!(
                    "job {id}: cannot record {to} yet ({e}); trying again in {pause:?}"
                );
            }
        }
        if ctx.worker.as_ref().is_some_and(|w| w.is_stopping()) {
            return false;
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(Duration::from_secs(5));
    }
}
