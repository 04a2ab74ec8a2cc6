//! Taking a finished remote run's results into the server's result store.
//!
//! The files are fetched into a staging dir first; then one transaction checks that the run
//! is still the job's current attempt on that node, moves the files into `jobs/<id>/` and
//! records the outcome. A stale run (the job was requeued meanwhile) fails that check, so
//! results always come from exactly one attempt. Only then is the node told to delete its copy.
//!
//! The results are bounded: at most [`RESULTS_PER_UPLOAD`] × `[server] max_upload_bytes` of
//! file content (`work/` and the logs), 10 GiB with the default 1 GiB. A node that sends more
//! (a runaway job, a gzip bomb, a broken node) fails the job with that said, its staging dir
//! is removed and its copy deleted on the node; the server's disk is not filled through it.
//! Why a multiple of the upload bound rather than the bound itself: `work/` holds the inputs
//! plus what the job made of them, and outputs are often larger than inputs; a job running
//! on the embedded worker is not bounded at all, so the bound is against runaways, not a quota.

use super::node::Node;
use super::remote::{RemoteError, retry};
use crate::api::{Enforced, Usage};
use crate::archive::{self, ArchiveError};
use crate::core::Core;
use crate::job::JobState;
use crate::logtime;
use crate::paths::LogStream;
use crate::perms;
use crate::protocol::{PayloadInfo, PayloadState};
use crate::store::{self, Record, StoreError, now_ms};
use hyper::body::Incoming;
use std::time::Duration;

/// How a run ended, in the job's terms.
pub struct Outcome {
    pub state: JobState,
    pub exit_code: Option<i32>,
    pub reason: Option<String>,
    /// How the run was held and what it used, as its node reported (none: not reported).
    pub enforced: Option<Enforced>,
    pub usage: Option<Usage>,
    /// How long it ran, as its node measured (none: not reported).
    pub run_ms: Option<u64>,
}

impl Outcome {
    pub fn of(info: &PayloadInfo) -> Outcome {
        let (state, reason) = match info.state {
            PayloadState::Completed => (JobState::Succeeded, None),
            PayloadState::Killed => (JobState::Cancelled, Some("cancelled while running".into())),
            PayloadState::TimedOut => (JobState::TimedOut, info.reason.clone()),
            _ => (JobState::Failed, info.reason.clone()),
        };
        Outcome {
            state,
            exit_code: info.exit_code,
            reason,
            enforced: info.enforced.clone(),
            usage: info.usage.clone(),
            run_ms: info.run_ms,
        }
    }
}

/// How many times `[server] max_upload_bytes` a remote run's results may be (see the module
/// doc).
pub const RESULTS_PER_UPLOAD: u64 = 10;

/// The most file content taken from a node for one run.
pub fn results_limit(core: &Core) -> u64 {
    core.config()
        .server
        .max_upload_bytes
        .saturating_mul(RESULTS_PER_UPLOAD)
}

/// What fetching the results gave.
enum Fetched {
    Staged(tempfile::TempDir),
    /// More than the bound: nothing is kept.
    TooLarge(u64),
}

/// Fetches the results of `rec`'s finished run `payload` from its native node, records the
/// outcome if that attempt is still current, then has the node delete its copy. Whoever calls
/// this makes sure it runs once per payload at a time.
pub async fn collect(
    node: &Node,
    rec: &Record,
    payload: &str,
    outcome: Outcome,
) -> Result<(), String> {
    let core = &node.core;
    let limit = results_limit(core);
    let fetched = retry(5, || async {
        let staged = tempfile::Builder::new()
            .prefix("collect-")
            .tempdir_in(core.data.tmp())
            .map_err(|e| RemoteError::Transient(format!("cannot stage results: {e}")))?;
        let (encoding, body) = node.client.results(payload).await?;
        match unpack(
            body,
            encoding,
            staged.path().to_path_buf(),
            node.client.timeout(),
            limit,
        )
        .await
        {
            Ok(_) => Ok(Fetched::Staged(staged)),
            Err(ArchiveError::TooLarge(limit)) => {
                // Up to the bound on disk: removed off the runtime's threads.
                let _ = tokio::task::spawn_blocking(move || drop(staged)).await;
                Ok(Fetched::TooLarge(limit))
            }
            Err(e) => Err(RemoteError::Transient(format!("reading the results: {e}"))),
        }
    })
    .await
    .map_err(|e| e.to_string())?;
    match fetched {
        Fetched::Staged(staged) => {
            finish(core, rec, staged, outcome)
                .await
                .map_err(|e| e.to_string())?;
        }
        Fetched::TooLarge(limit) => {
            let why = format!(
                "its results on node {} are over the limit of {limit} bytes \
                 ({RESULTS_PER_UPLOAD} × [server] max_upload_bytes); none were kept",
                node.name
            );
            tracing::error!("job {}: {why}", rec.job.id);
            refuse(core, rec, why).await.map_err(|e| e.to_string())?;
        }
    }
    if let Err(e) = retry(3, || node.client.delete(payload)).await {
        // Its next hello shows the copy again, and it is discarded then.
        tracing::warn!("payload {payload}: node {} kept its copy: {e}", node.name);
    }
    Ok(())
}

/// Unpacks a tar body in `encoding`, each read bounded by `timeout` so a stalled node cannot
/// hang us, and at most `limit` bytes of content ([`ArchiveError::TooLarge`] past it).
async fn unpack(
    body: Incoming,
    encoding: archive::Encoding,
    dest: std::path::PathBuf,
    timeout: Duration,
    limit: u64,
) -> Result<u64, ArchiveError> {
    let reader = crate::bridge::stream_reader(super::remote::frames(body, timeout));
    // A job may leave any number of files: only their size is bounded.
    let limits = archive::Limits {
        bytes: limit,
        ..archive::Limits::NONE
    };
    tokio::task::spawn_blocking(move || {
        let src = std::io::BufReader::with_capacity(256 * 1024, reader);
        archive::unpack_tar(src, encoding, &dest, limits)
    })
    .await
    .map_err(|e| ArchiveError::Io(std::io::Error::other(e)))?
}

/// Fails `rec`'s job, if that attempt is still its current one, without results: `why` says
/// what was wrong with them.
async fn refuse(core: &Core, rec: &Record, why: String) -> Result<(), StoreError> {
    let (id, attempt) = (rec.job.id, rec.clone());
    let done = core
        .store
        .call_short(move |c| {
            let tx = c.transaction()?;
            let now = store::get(&tx, id)?;
            if !super::attempt::is_current(&now, &attempt) {
                return Ok(None);
            }
            let rec = store::transition(&tx, id, JobState::Failed, |r| {
                r.job.reason = Some(why);
            })?;
            tx.commit()?;
            Ok(Some(rec))
        })
        .await?;
    if let Some(rec) = done {
        core.job_changed(&rec.job);
        // As after any outcome: no retry, so no pristine input to keep.
        let _ = tokio::fs::remove_dir_all(core.data.job(id).input()).await;
    }
    Ok(())
}

/// Records the outcome of `rec`'s attempt with the files in `staged` (`work/` and the logs),
/// if that attempt is still the job's current one. Returns whether it was.
pub async fn finish(
    core: &Core,
    rec: &Record,
    staged: tempfile::TempDir,
    outcome: Outcome,
) -> Result<bool, StoreError> {
    let (id, attempt) = (rec.job.id, rec.clone());
    let dir = core.data.job(id);
    let work = staged.path().join("work");
    let output_bytes = {
        let work = work.clone();
        tokio::task::spawn_blocking(move || archive::dir_size(&work).ok())
            .await
            .ok()
            .flatten()
    };
    let done = core
        .store
        .call_short(move |c| {
            let tx = c.transaction()?;
            let now = store::get(&tx, id)?;
            if !super::attempt::is_current(&now, &attempt) {
                return Ok(None);
            }
            if let Err(e) = move_results(staged.path(), &dir) {
                tracing::error!("job {id}: cannot store its results: {e}");
                return Ok(None);
            }
            if now.job.state == JobState::Dispatched {
                // It ran and ended before its start was reported: dated back by how long
                // it ran on the node (a duration, so the node's clock need not agree).
                let ran = outcome.run_ms.and_then(|ms| i64::try_from(ms).ok());
                store::transition(&tx, id, JobState::Running, |r| {
                    let start = now_ms().saturating_sub(ran.unwrap_or(0));
                    r.job.started_at = Some(start.max(r.job.submitted_at));
                })?;
            }
            let rec = store::transition(&tx, id, outcome.state, |r| {
                r.job.exit_code = outcome.exit_code;
                r.job.reason = outcome.reason;
                r.job.output_bytes = output_bytes;
                if let Some(enforced) = outcome.enforced {
                    r.job.enforced = enforced;
                }
                if let Some(usage) = outcome.usage {
                    r.job.usage = usage;
                }
            })?;
            tx.commit()?;
            Ok(Some((rec, dir)))
        })
        .await?;
    let Some((rec, dir)) = done else {
        return Ok(false);
    };
    core.job_changed(&rec.job);
    // The pristine input was kept for a retry; there is none after an outcome.
    let _ = tokio::fs::remove_dir_all(dir.input()).await;
    Ok(true)
}

/// Moves `staged/work` and the logs into the job's dir, replacing what an earlier attempt left.
/// They stay jobod's: `work/` 0700 and the logs 0600 (the job's user may not exist here), in
/// a job dir that job users may only pass through.
fn move_results(staged: &std::path::Path, dir: &crate::paths::JobDir) -> std::io::Result<()> {
    let work = dir.work();
    if work.exists() {
        std::fs::remove_dir_all(&work)?;
    }
    let from = staged.join("work");
    if from.is_dir() {
        std::fs::rename(&from, &work)?;
    } else {
        std::fs::create_dir_all(&work)?;
    }
    perms::set_mode(&work, perms::PRIVATE_DIR)?;
    for stream in [LogStream::Stdout, LogStream::Stderr] {
        let from = staged.join(stream.file_name());
        if from.is_file() {
            std::fs::rename(&from, dir.log(stream))?;
            perms::set_mode(&dir.log(stream), perms::PRIVATE_FILE)?;
        } else {
            crate::logs::create(&dir.log(stream))?;
        }
        // Its time index, if the node kept one (not Slurm's logs); else none of an earlier attempt.
        let index = logtime::index_of(&dir.log(stream));
        let from = logtime::index_of(&from);
        if from.is_file() {
            std::fs::rename(&from, &index)?;
            perms::set_mode(&index, perms::PRIVATE_FILE)?;
        } else if index.exists() {
            std::fs::remove_file(&index)?;
        }
    }
    perms::set_mode(dir.path(), perms::PASS_THROUGH)
}
