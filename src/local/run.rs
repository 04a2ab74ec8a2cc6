//! One run on the embedded worker: copy the pristine input into a fresh work dir, start
//! `run.sh`, record `running` with its process group, wait, record the outcome, and only then
//! drop the input copy (a retry needs it until the outcome is durable).

use super::Inner;
use crate::archive;
use crate::executor::{self, Outcome, RunSpec};
use crate::job::{JobId, JobState};
use crate::jobenv::RunEnv;
use crate::limits::{self, output};
use crate::logs;
use crate::paths::{JobDir, LogStream};
use crate::perms;
use crate::run_as::{self, RunAs};
use crate::store::{self, Record, now_ms};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// Commits a transition of job `id` and announces it; errors are logged (the next start's
/// recovery repairs a job whose final write failed).
async fn record(
    worker: &Inner,
    id: JobId,
    to: JobState,
    patch: impl FnOnce(&mut Record) + Send + 'static,
) {
    match worker
        .core
        .store
        .call_short(move |c| store::transition_now(c, id, to, patch))
        .await
    {
        Ok(rec) => worker.core.job_changed(&rec.job),
        Err(e) => tracing::error!("job {id}: cannot record {to}: {e}"),
    }
}

pub(super) async fn run(worker: &Inner, rec: Record, cancel: &CancellationToken) {
    let job = rec.job;
    let id = job.id;
    let dir = worker.core.data.job(id);
    let config = worker.core.config();
    let service = config.service(&job.service);
    let timeout = limits::run_timeout(&job.requested_limits, service);
    let run_as = job
        .run_as
        .clone()
        .unwrap_or_else(|| config.run_as(&job.service).to_string());
    let prepare = {
        let dir = dir.clone();
        tokio::task::spawn_blocking(move || prepare(&dir, &run_as)).await
    };
    let run_as = match prepare.map_err(|e| e.to_string()).and_then(|r| r) {
        Ok(run_as) => run_as,
        Err(reason) => {
            record(worker, id, JobState::Failed, move |r| {
                r.job.reason = Some(reason)
            })
            .await;
            return;
        }
    };
    let spec = RunSpec {
        job_id: id.to_string(),
        user: job.user.clone(),
        run_as,
        service: job.service.clone(),
        dir: dir.clone(),
        timeout,
        kill_grace: worker.core.config().server.kill_grace,
        attempt: job.attempts,
        env: RunEnv::of(service, &job.env),
        max_output: job.requested_limits.output_bytes,
        caps: crate::cgroup::Caps::of(&job.requested_limits),
        network: service.map(|s| s.network).unwrap_or_default(),
    };
    if cancel.is_cancelled() {
        record(worker, id, JobState::Cancelled, |r| {
            r.job.reason = Some("cancelled before it started".into())
        })
        .await;
        return;
    }

    let writer = worker.core.logs.open(id);
    // Taken before the spawn: the job's first output line must not predate its start.
    let started = now_ms();
    let running = match executor::spawn(&spec, writer).await {
        Ok(running) => running,
        Err(e) => {
            worker.core.logs.close(id);
            let reason = executor::spawn_failure(&spec, &e);
            record(worker, id, JobState::Failed, move |r| {
                r.job.reason = Some(reason)
            })
            .await;
            return;
        }
    };
    let (pid, start) = (running.pid, running.start_time);
    let enforced = running.enforced.clone();
    let held = enforced.clone();
    record(worker, id, JobState::Running, move |r| {
        r.job.started_at = Some(started);
        r.job.enforced = held;
        r.pid = Some(pid);
        r.pid_start = start;
    })
    .await;

    let (outcome, usage) = running.wait(&spec, cancel).await;
    worker.core.logs.close(id);
    if worker.is_stopping() {
        tracing::info!("job {id}: left for the next start (jobod is stopping)");
        return;
    }

    let cap = spec.max_output;
    let measured = {
        let dir = dir.clone();
        tokio::task::spawn_blocking(move || {
            let bytes = archive::dir_size(&dir.work()).ok();
            let over = cap.and_then(|cap| output::over_cap(&dir, bytes.unwrap_or(0), cap));
            (bytes, over)
        })
        .await
        .unwrap_or_default()
    };
    let (output_bytes, over_cap) = measured;
    let (state, exit_code, reason) = match outcome {
        Outcome::Exited(code) if over_cap.is_some() => (JobState::Failed, Some(code), over_cap),
        Outcome::Exited(0) => (JobState::Succeeded, Some(0), None),
        Outcome::OutOfMemory(code) => (JobState::Failed, Some(code), Some("out of memory".into())),
        Outcome::Exited(code) => (
            JobState::Failed,
            Some(code),
            Some(executor::exit_reason(code, &spec.caps, &enforced)),
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
        r.job.usage = usage.clone();
    };
    if !record_outcome(worker, id, state, end).await {
        return;
    }
    // The pristine input is only needed for a retry, and there is none after a durable outcome.
    let input = dir.input();
    let _ = tokio::task::spawn_blocking(move || std::fs::remove_dir_all(input)).await;
}

/// Lays out the job's dir for a run as `run_as` (resolved here: an account lookup may block):
/// a fresh copy of the input as `work/`, an empty `tmp/` and empty logs. When the run is
/// another user's, `work/` and `tmp/` become theirs and the job dir stays jobod's (0711).
/// `Err` is the reason the job fails with.
fn prepare(dir: &JobDir, run_as: &str) -> Result<RunAs, String> {
    let run_as = run_as::resolve(run_as).map_err(|e| format!("cannot run the job: {e}"))?;
    let laid_out = (|| -> std::io::Result<()> {
        for stale in [dir.work(), dir.scratch()] {
            if stale.exists() {
                std::fs::remove_dir_all(&stale)?;
            }
        }
        archive::copy_dir(&dir.input(), &dir.work())?;
        std::fs::create_dir_all(dir.scratch())?;
        for stream in [LogStream::Stdout, LogStream::Stderr] {
            logs::create(&dir.log(stream))?;
        }
        if let Some(account) = run_as.account() {
            perms::set_mode(dir.path(), perms::PASS_THROUGH)?;
            perms::give(&dir.work(), account)?;
            perms::give(&dir.scratch(), account)?;
        }
        Ok(())
    })();
    laid_out.map_err(|e| format!("cannot prepare the job directory: {e}"))?;
    Ok(run_as)
}

/// Commits a run's outcome, trying again with backoff while the store refuses (locked, disk
/// full): the slot stays taken and the input kept until it is durable. Gives up only when
/// jobod stops (the next start's recovery runs the job again) or the job is no longer active
/// (cancelled meanwhile). Returns whether the outcome was committed.
async fn record_outcome(
    worker: &Inner,
    id: JobId,
    to: JobState,
    patch: impl Fn(&mut Record) + Clone + Send + 'static,
) -> bool {
    let mut pause = Duration::from_millis(100);
    // Held from the first refusal until the outcome is durable (or given up): `/health`.
    let mut owed = None;
    loop {
        let patch = patch.clone();
        let res = worker
            .core
            .store
            .call_short(move |c| {
                crate::failpoint!("local_worker::outcome");
                store::transition_now(c, id, to, patch)
            })
            .await;
        match res {
            Ok(rec) => {
                worker.core.job_changed(&rec.job);
                return true;
            }
            Err(store::StoreError::IllegalTransition { from, .. }) => {
                tracing::warn!("job {id}: ended as {to}, but it is {from} already");
                return false;
            }
            Err(e) => {
                // Owed before it is logged, so whoever reads the log finds `/health` 503.
                owed.get_or_insert_with(|| worker.core.store.owe_outcome());
                tracing::error!(
                    "job {id}: cannot record {to} yet ({e}); trying again in {pause:?}"
                );
            }
        }
        if worker.is_stopping() {
            return false;
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(Duration::from_secs(5));
    }
}
