//! What users do to jobs: submit, cancel, remove, wait. Each is a store transaction plus the
//! file moves and wake-ups that go with it; both API flavours (native and seed) call these.

use crate::api::Job;
use crate::config::ServiceConfig;
use crate::events::{Change, next_change};
use crate::job::{JobId, JobState};
use crate::state::Ctx;
use crate::store::{self, NewJob, StoreError};
use crate::validator::{self, Rejection};
use std::path::Path;
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum QueueError {
    #[error("unknown service '{0}' (see `jobo service ls`)")]
    UnknownService(String),
    #[error("the job directory has no run.sh")]
    MissingRunSh,
    #[error(transparent)]
    Rejected(#[from] Rejection),
    #[error("{0}")]
    Conflict(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
}

/// Who asks: a user name, and whether they may touch other users' jobs.
#[derive(Debug, Clone)]
pub struct Caller {
    pub user: String,
    pub admin: bool,
    /// Who this is in the audit log (how they authenticated).
    pub actor: crate::audit::Actor,
}

impl Caller {
    /// The caller's uid when it came over the Unix socket (the kernel said so): a root jobod
    /// runs that caller's jobs as that user. `None` on TCP.
    pub fn socket_uid(&self) -> Option<u32> {
        match self.actor {
            crate::audit::Actor::Socket { uid, .. } => Some(uid),
            _ => None,
        }
    }
}

/// An upload unpacked into a temp dir inside the data dir, ready to become a job.
pub struct Upload {
    pub job: NewJob,
    /// Removed on drop unless the job takes it over.
    pub dir: tempfile::TempDir,
    /// With an idempotency key: the upload's [`crate::archive::tree_digest`], kept with the
    /// job so that a reuse of the key for other content can be refused.
    pub digest: Option<String>,
}

/// Returns the existing job for an idempotency key, if the user already used it.
pub async fn find_idempotent(
    ctx: &Ctx,
    user: &str,
    key: Option<&str>,
) -> Result<Option<Job>, QueueError> {
    let Some(key) = key else { return Ok(None) };
    let (user, key) = (user.to_string(), key.to_string());
    Ok(ctx
        .core
        .store
        .call(move |c| store::find_idempotent(c, &user, &key))
        .await?)
}

/// The digest kept with job `id`'s upload (see [`Upload::digest`]), if any.
pub async fn input_digest(ctx: &Ctx, id: JobId) -> Result<Option<String>, QueueError> {
    Ok(ctx
        .core
        .store
        .call(move |c| store::input_digest(c, id))
        .await?)
}

/// The settings of service `name` now, if it exists (a copy: a reload may replace them).
pub fn service(ctx: &Ctx, name: &str) -> Result<ServiceConfig, QueueError> {
    ctx.core
        .config()
        .service(name)
        .cloned()
        .ok_or_else(|| QueueError::UnknownService(name.to_string()))
}

/// The upload's `run.sh`, read once for the validator of `service` (all of it, up to its
/// bound) and for the job's command (its head). A script over the bound fails the
/// validator; with the validator off, only the head is read.
fn read_script(service: &ServiceConfig, run_sh: &Path) -> Result<Vec<u8>, QueueError> {
    use std::io::Read;
    let bound = match service.checker {
        Some(_) => validator::MAX_SCRIPT_BYTES + 1,
        None => HEAD_BYTES,
    };
    let mut script = Vec::new();
    std::fs::File::open(run_sh)?
        .take(bound)
        .read_to_end(&mut script)?;
    if let Some(checker) = &service.checker {
        if script.len() as u64 > validator::MAX_SCRIPT_BYTES {
            let size = std::fs::metadata(run_sh)?.len();
            return Err(Rejection::TooLarge(size).into());
        }
        checker.check(&script)?;
    }
    Ok(script)
}

/// How much of `run.sh` names the job's command: a `run.sh` may be large.
const HEAD_BYTES: u64 = 64 * 1024;

/// Turns a complete, valid upload into a queued job. Returns the job and whether it is new
/// (false: the idempotency key named an existing job, and this upload is discarded).
///
/// The row insert and the move of the files into `jobs/<id>/input` commit together: the move
/// happens inside the transaction, so a crash leaves either both or (after the rollback) a
/// stray directory that the next submit with that id replaces.
///
/// With `array` set, one job per index, each with its own copy of the files, made in the same
/// transaction: all of them or none.
pub async fn submit(ctx: &Ctx, mut upload: Upload) -> Result<(Job, bool), QueueError> {
    let service = service(ctx, &upload.job.service)?;
    let run_sh = upload.dir.path().join("run.sh");
    if !run_sh.is_file() {
        return Err(QueueError::MissingRunSh);
    }
    let script = read_script(&service, &run_sh)?;
    if upload.job.meta.command.is_none() {
        let head = &script[..script.len().min(HEAD_BYTES as usize)];
        upload.job.meta.command = crate::api::meta::command_of(head);
    }
    if let Some((first, _)) = upload.job.array {
        upload.job.meta.array_index = Some(first);
        upload.job.env.insert(ARRAY_INDEX.into(), first.to_string());
    }
    let data = ctx.core.data.clone();
    // The closure's outer error is the database's, the inner one the file move's (after
    // which the transaction rolls back as it is dropped).
    // An array's rest copies the input once per index: too long for a runtime worker.
    let short = upload.job.array.is_none();
    let insert = move |c: &mut rusqlite::Connection| {
        let tx = c.transaction()?;
        if let Some(key) = &upload.job.idempotency_key
            && let Some(job) = store::find_idempotent(&tx, &upload.job.user, key)?
        {
            return Ok(Ok((job, false)));
        }
        let id = store::insert(&tx, &upload.job)?;
        if let Some(digest) = &upload.digest {
            store::set_input_digest(&tx, id, digest)?;
        }
        let dir = data.job(id);
        let moved = (|| {
            if dir.path().exists() {
                std::fs::remove_dir_all(dir.path())?;
            }
            std::fs::create_dir_all(dir.path())?;
            std::fs::rename(upload.dir.path(), dir.input())
        })();
        if let Err(e) = moved {
            return Ok(Err(e));
        }
        let _ = upload.dir.keep();
        if let Some(range) = upload.job.array {
            store::set_array(&tx, id, id)?;
            if let Err(e) = array_rest(&tx, &data, &upload.job, id, range)? {
                return Ok(Err(e));
            }
        }
        let job = store::get(&tx, id)?.job;
        if let Err(e) = tx.commit() {
            let _ = std::fs::remove_dir_all(dir.path());
            return Err(e.into());
        }
        Ok(Ok((job, true)))
    };
    let store = &ctx.core.store;
    let (job, created) = if short {
        store.call_short(insert).await??
    } else {
        store.call(insert).await??
    };
    if created {
        ctx.core.metrics.input(job.input_bytes);
        ctx.core.job_changed(&job);
    }
    Ok((job, created))
}

/// The variable that tells a job of an array its index.
pub const ARRAY_INDEX: &str = "JOBO_ARRAY_INDEX";

/// Inserts the jobs of array `first`'s indices after the first one, each with a copy of the
/// first one's input. A failed copy removes the copies made so far (the transaction rolls
/// back the rows); the outer error is the database's.
fn array_rest(
    tx: &rusqlite::Transaction<'_>,
    data: &crate::paths::DataDir,
    job: &NewJob,
    first: JobId,
    (from, to): (u32, u32),
) -> Result<std::io::Result<()>, StoreError> {
    let source = data.job(first).input();
    let mut made = vec![data.job(first)];
    for index in from + 1..=to {
        let mut next = job.clone();
        next.idempotency_key = None;
        next.meta.array_id = Some(first);
        next.meta.array_index = Some(index);
        next.env.insert(ARRAY_INDEX.into(), index.to_string());
        let id = store::insert(tx, &next)?;
        let dir = data.job(id);
        let copied = (|| {
            if dir.path().exists() {
                std::fs::remove_dir_all(dir.path())?;
            }
            crate::archive::copy_dir(&source, &dir.input())
        })();
        made.push(dir);
        if let Err(e) = copied {
            for dir in made {
                let _ = std::fs::remove_dir_all(dir.path());
            }
            return Ok(Err(e));
        }
    }
    Ok(Ok(()))
}

pub async fn get(ctx: &Ctx, id: JobId) -> Result<Job, QueueError> {
    Ok(ctx
        .core
        .store
        .call_short(move |c| Ok(store::get(c, id)?.job))
        .await?)
}

/// A job the caller may see and `action` on: their own, or any for an admin (which the audit
/// log records). Another user's job answers exactly as a missing one does, so a job id tells
/// nobody what others run.
pub async fn get_own(
    ctx: &Ctx,
    caller: &Caller,
    id: JobId,
    action: &str,
) -> Result<Job, QueueError> {
    let job = get(ctx, id).await?;
    if caller.user == job.user {
        Ok(job)
    } else if caller.admin {
        ctx.audit.record(crate::audit::Event {
            action,
            actor: &caller.actor,
            target: Some(format!("job {id}")),
            owner: Some(&job.user),
        });
        Ok(job)
    } else {
        Err(StoreError::NotFound(id).into())
    }
}

/// Cancels a queued or running job and returns it once it is final.
pub async fn cancel(ctx: &Ctx, caller: &Caller, id: JobId) -> Result<Job, QueueError> {
    let mut changes = ctx.core.events.subscribe();
    let job = get_own(ctx, caller, id, "cancel").await?;
    if job.state.is_terminal() {
        return Err(QueueError::Conflict(format!(
            "job {id} is already {}; nothing to cancel (its results stay available)",
            job.state
        )));
    }
    // A queued job, or one not yet started on a remote node, is cancelled in the store (the
    // node's copy is then stale and discarded); a started one by its worker, which records
    // the outcome once the process group is gone.
    let by = caller.user.clone();
    let done = ctx
        .core
        .store
        .call(move |c| {
            let tx = c.transaction()?;
            let rec = store::get(&tx, id)?;
            let remote = rec.job.node.as_ref().is_some_and(|p| !p.is_local());
            let when = match rec.job.state {
                JobState::Queued => "while queued",
                JobState::Dispatched if remote => "before it started",
                _ => return Ok((rec, None)),
            };
            let done = store::transition(&tx, id, JobState::Cancelled, |r| {
                r.job.reason = Some(format!("cancelled by {by} {when}"));
            })?;
            tx.commit()?;
            Ok((rec, Some(done.job)))
        })
        .await?;
    let rec = match done {
        (rec, Some(job)) => {
            ctx.core.job_changed(&job);
            ctx.backends.discard(&rec);
            return Ok(job);
        }
        (rec, None) => rec,
    };
    ctx.backends
        .cancel(&rec)
        .await
        .map_err(|e| QueueError::Conflict(format!("cannot cancel job {id} now: {e}; try again")))?;
    let grace = ctx.core.config().server.kill_grace + Duration::from_secs(10);
    let _ = tokio::time::timeout(grace, async {
        loop {
            match get(ctx, id).await {
                Ok(job) if job.state.is_terminal() => return,
                Err(_) => return,
                Ok(_) => drop(next_change(&mut changes, id).await),
            }
        }
    })
    .await;
    let job = get(ctx, id).await?;
    if job.state.is_terminal() {
        ctx.backends.settle(&rec);
    }
    Ok(job)
}

/// Removes a finished job's files and marks it `expired`; its history row stays.
pub async fn remove(ctx: &Ctx, caller: &Caller, id: JobId) -> Result<Job, QueueError> {
    let job = get_own(ctx, caller, id, "remove").await?;
    if !job.state.is_terminal() {
        return Err(QueueError::Conflict(format!(
            "job {id} is {}; cancel it first (`jobo cancel {id}`)",
            job.state
        )));
    }
    if job.state == JobState::Expired {
        return Ok(job);
    }
    let by = caller.user.clone();
    let rec = ctx
        .core
        .store
        .call(move |c| {
            store::transition_now(c, id, JobState::Expired, |r| {
                let was = r
                    .job
                    .reason
                    .take()
                    .map(|w| format!("; {w}"))
                    .unwrap_or_default();
                r.job.reason = Some(format!("files removed by {by}{was}"));
            })
        })
        .await?;
    remove_files(ctx, id).await;
    ctx.core.job_changed(&rec.job);
    Ok(rec.job)
}

/// Deletes `jobs/<id>` (after the row says `expired`, so a crash in between only leaks files).
pub async fn remove_files(ctx: &Ctx, id: JobId) {
    remove_files_of(ctx, vec![id]).await
}

/// [`remove_files`] of several jobs, on one blocking thread (the cleaner's batches).
pub async fn remove_files_of(ctx: &Ctx, ids: Vec<JobId>) {
    let data = ctx.core.data.clone();
    let _ = tokio::task::spawn_blocking(move || {
        for id in ids {
            match std::fs::remove_dir_all(data.job(id).path()) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                    tracing::warn!("cannot remove files of job {id}: {e}");
                }
                _ => {}
            }
        }
    })
    .await;
}

/// Waits until job `id` of `caller` is final (or, with `until`, is or has been in that state
/// since the call), or `limit` passes. Returns the job as it is then.
pub async fn wait(
    ctx: &Ctx,
    caller: &Caller,
    id: JobId,
    until: Option<JobState>,
    limit: Duration,
) -> Result<Job, QueueError> {
    let mut changes = ctx.core.events.subscribe();
    let deadline = tokio::time::Instant::now() + limit;
    // A state announced since the call counts even if the job has already moved on (a
    // requeued job is `queued` for a millisecond before it is dispatched again).
    let mut passed = false;
    // The first read is the ownership check (404 for a job not theirs, before waiting).
    let mut known = Some(get_own(ctx, caller, id, "wait").await?);
    loop {
        let job = match known.take() {
            Some(job) => job,
            None => get(ctx, id).await?,
        };
        // A final job that cannot reach `until` any more is answered now, not at the timeout.
        let reached = match until {
            Some(state) => {
                passed
                    || job.state == state
                    || (job.state.is_terminal() && !job.state.can_become(state))
            }
            None => job.state.is_terminal(),
        };
        if reached {
            return Ok(job);
        }
        match tokio::time::timeout_at(deadline, next_change(&mut changes, id)).await {
            Err(_) => return Ok(job),
            Ok(seen) => {
                passed = until.is_some() && seen.as_ref().map(|c| c.state) == until;
                known = seen.and_then(Change::final_job);
            }
        }
    }
}
