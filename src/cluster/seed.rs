//! Nodes that speak only the seed's client routes (`jobo node add URL --protocol seed`): the
//! seed's own worker client, or a `jobod worker` driven the same way.
//!
//! Those routes have no event feed, so this side polls. The node's link is `GET /health`
//! every beat; silent for a whole lease, its jobs are requeued as for a native node. Each
//! job has a task: `POST /submit` of its input, then `GET /retrieve/{id}` with backoff until
//! a zip comes back, which is collected like any remote run. A seed node names payloads
//! itself, so the id `/submit` answers replaces the server-made one in the job row, and that
//! row is what a restarted server re-attaches by. The seed keeps no logs; it zips only a
//! completed run and reports any other end as a status word, whose files come from
//! `/retrieve_partial`. The exit code comes from a `jobod worker`'s `x-jobo-*` headers, else
//! from the `.orchestrator.exit` file the seed's `run.sh` trap writes. The seed cannot be given
//! a timeout, so this side enforces it, from dispatch while the node has not said `Running`.

use super::collect::{self, Outcome};
use super::dispatch::{self, lock};
use super::remote::{Retrieved, SEED_EXIT_FILE, SeedZip, retry};
use super::{RemoteNode, attempt, link};
use crate::archive::{self, ArchiveError};
use crate::core::Core;
use crate::job::JobState;
use crate::placement::Placement;
use crate::store::{self, Record, now_ms};
use hyper::StatusCode;
use hyper::body::Incoming;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::AsyncWriteExt;
use tokio::time::Instant;

const FIRST_POLL: Duration = Duration::from_millis(50);
const MAX_POLL: Duration = Duration::from_secs(2);

/// Submits job `rec` (just placed on `node`) and follows it to its end.
pub fn start(core: Arc<Core>, node: Arc<RemoteNode>, rec: Record) {
    let id = rec.job.id;
    lock(&node.pushing).insert(id);
    tokio::spawn(async move {
        let submitted = submit(&core, &node, &rec).await;
        lock(&node.pushing).remove(&id);
        if let Some(rec) = submitted {
            follow(core, node, rec).await;
        }
    });
}

/// The seed node's link: re-attaches to its jobs, then checks its health every beat.
pub async fn watch(core: Arc<Core>, node: Arc<RemoteNode>) {
    reattach(&core, &node).await;
    let (lease, beat) = (core.config.cluster.lease, core.config.cluster.beat());
    loop {
        let next = Instant::now() + beat;
        let health = tokio::select! {
            _ = node.stop.cancelled() => return,
            r = tokio::time::timeout(beat, node.client.seed_health()) => r,
        };
        match health {
            Ok(Ok(())) => {
                if node.alive(None) {
                    tracing::info!("node {} is reachable", node.row.name);
                    core.events.wake_scheduler();
                }
            }
            _ if Instant::now() >= node.live().seen + lease => link::lose(&core, &node).await,
            Ok(Err(e)) => tracing::debug!("node {}: health: {e}", node.row.name),
            Err(_) => tracing::debug!("node {}: health: no answer", node.row.name),
        }
        tokio::select! {
            _ = node.stop.cancelled() => return,
            _ = tokio::time::sleep_until(next) => {}
        }
    }
}

/// Follows every job the store has on this node (after a server restart, or a re-add).
async fn reattach(core: &Arc<Core>, node: &Arc<RemoteNode>) {
    let place = node.placement();
    let active = match core.store.call(move |c| store::active_on(c, &place)).await {
        Ok(a) => a,
        Err(e) => return tracing::error!("node {}: cannot re-attach: {e}", node.row.name),
    };
    for rec in active {
        if lock(&node.pushing).contains(&rec.job.id) {
            continue;
        }
        if rec.payload.is_none() {
            attempt::undo(core, &rec, "it never reached its node").await;
            continue;
        }
        // A submit cut short leaves the server-made id, which the node answers 404 to.
        tokio::spawn(follow(core.clone(), node.clone(), rec));
    }
}

/// `POST /submit`; returns the job with the node's payload id recorded, or `None` when the
/// job went back to the queue, failed, or moved on meanwhile.
async fn submit(core: &Arc<Core>, node: &RemoteNode, rec: &Record) -> Option<Record> {
    let input = core.data.job(rec.job.id).input();
    let names = {
        let input = input.clone();
        tokio::task::spawn_blocking(move || archive::multipart_names(&input)).await
    };
    let names = match names {
        Ok(Ok(names)) => Arc::new(names),
        Ok(Err(e)) => {
            let why = format!("its input cannot go to seed node {}: {e}", node.row.name);
            dispatch::fail(core, rec, why).await;
            return None;
        }
        Err(e) => {
            attempt::undo(core, rec, &format!("cannot list its input: {e}")).await;
            return None;
        }
    };
    let bytes = rec.job.input_bytes;
    let res = retry(3, || {
        node.client.seed_submit(input.clone(), names.clone(), bytes)
    })
    .await;
    let payload = match res {
        Ok(payload) => payload,
        Err(e) => {
            let why = format!("node {} could not take it: {e}", node.row.name);
            tracing::warn!("job {}: {why}", rec.job.id);
            match e.status() {
                // The node read the files and refused them: no other node will differ.
                Some(StatusCode::BAD_REQUEST | StatusCode::PAYLOAD_TOO_LARGE) => {
                    dispatch::fail(core, rec, why).await
                }
                _ => {
                    node.mark_unreachable();
                    attempt::undo(core, rec, &why).await;
                }
            }
            return None;
        }
    };
    node.alive(None);
    let (id, old, new) = (rec.job.id, rec.payload.clone(), payload.clone());
    let adopted = core
        .store
        .call(move |c| {
            let tx = c.transaction()?;
            let now = store::get(&tx, id)?;
            if now.job.state != JobState::Dispatched || now.payload != old {
                return Ok(None);
            }
            store::set_payload(&tx, id, &new)?;
            tx.commit()?;
            Ok(Some(Record {
                payload: Some(new),
                ..now
            }))
        })
        .await;
    match adopted {
        Ok(Some(rec)) => Some(rec),
        Ok(None) => {
            // Cancelled or requeued while it was on its way: the node's copy is no one's.
            kill_stale(node, payload).await;
            None
        }
        Err(e) => {
            tracing::error!("job {id}: cannot record its payload {payload}: {e}");
            kill_stale(node, payload).await;
            None
        }
    }
}

async fn kill_stale(node: &RemoteNode, payload: String) {
    if let Err(e) = node.client.seed_kill(&payload).await {
        tracing::debug!("payload {payload}: cannot kill the stale run: {e}");
    }
}

/// Polls job `rec`'s payload until its end is recorded, the job moves on, or the link stops.
async fn follow(core: Arc<Core>, node: Arc<RemoteNode>, rec: Record) {
    let Some(payload) = rec.payload.clone() else {
        return;
    };
    if !lock(&node.collecting).insert(payload.clone()) {
        return; // followed already
    }
    let stale = tokio::select! {
        _ = node.stop.cancelled() => false,
        stale = poll(&core, &node, rec.job.id, &payload) => stale,
    };
    lock(&node.collecting).remove(&payload);
    if stale {
        kill_stale(&node, payload).await;
    }
}

/// The polling loop; returns true when the job moved on without this run (its copy on the
/// node is then stale).
async fn poll(core: &Arc<Core>, node: &Arc<RemoteNode>, id: i64, payload: &str) -> bool {
    let mut wait = FIRST_POLL;
    let mut last = String::new();
    let mut timed_out = None;
    let followed_since = std::time::Instant::now();
    let cancelled = || lock(&node.cancelled).contains(payload);
    loop {
        let rec = match current(core, &node.row.name, id, payload).await {
            Ok(Some(rec)) => rec,
            Ok(None) => return true,
            Err(e) => {
                tracing::error!("job {id}: {e}");
                tokio::time::sleep(MAX_POLL).await;
                continue;
            }
        };
        if timed_out.is_none()
            && let Some(limit) = overdue(core, &rec, followed_since)
        {
            tracing::info!("job {id}: timed out on {}, killing it", node.row.name);
            if node.client.seed_kill(payload).await.is_ok() {
                timed_out = Some(limit);
            }
        }
        let answer = node.client.seed_retrieve(payload).await;
        let answered = match &answer {
            Ok(_) => true,
            Err(e) => e.status() == Some(StatusCode::NOT_FOUND),
        };
        if answered && node.alive(None) {
            core.events.wake_scheduler();
        }
        let ended = match answer {
            Ok(Retrieved::Status(word)) if !is_final(&word) => {
                if word == "Running" && rec.job.state == JobState::Dispatched {
                    attempt::started(core, &rec).await;
                }
                if word != last {
                    wait = FIRST_POLL;
                    last = word;
                }
                Ok(false)
            }
            Ok(Retrieved::Status(word)) => {
                // Over, but not completed: the seed zips only completed runs.
                let by_us = ended_by_us(timed_out, cancelled());
                match node.client.seed_retrieve_partial(payload).await {
                    Ok(zip) => take(core, node, &rec, zip, Some(word), by_us).await,
                    Err(e) if e.status().is_some() => {
                        tracing::warn!("job {id}: no files from {}: {e}", node.row.name);
                        let outcome = outcome(Some(&word), None, by_us);
                        finish(core, &rec, empty_results(core).await, outcome).await
                    }
                    Err(e) => Err(e.to_string()),
                }
            }
            Ok(Retrieved::Zip(zip)) => {
                let by_us = ended_by_us(timed_out, cancelled());
                take(core, node, &rec, zip, None, by_us).await
            }
            Err(e) if e.status() == Some(StatusCode::NOT_FOUND) => {
                attempt::unknown_to_node(core, &node.row.name, &rec).await;
                return false;
            }
            Err(e) => {
                tracing::debug!("job {id}: polling {}: {e}", node.row.name);
                Ok(false)
            }
        };
        match ended {
            // Once the run is over on the node, its copy there is nobody's concern.
            Ok(true) => {
                lock(&node.cancelled).remove(payload);
                return false;
            }
            Ok(false) => {}
            Err(e) => tracing::warn!("job {id}: cannot take its results yet: {e}"),
        }
        tokio::time::sleep(wait).await;
        wait = (wait * 2).min(MAX_POLL);
    }
}

/// Job `id` if it is still active on `node` with `payload`.
async fn current(
    core: &Arc<Core>,
    node: &str,
    id: i64,
    payload: &str,
) -> Result<Option<Record>, store::StoreError> {
    match core.store.call(move |c| store::get(c, id)).await {
        Ok(rec) => Ok(Some(rec).filter(|r| {
            r.job.state.is_active()
                && r.job.node.as_ref().and_then(Placement::node) == Some(node)
                && r.payload.as_deref() == Some(payload)
        })),
        Err(store::StoreError::NotFound(_)) => Ok(None),
        Err(e) => Err(e),
    }
}

/// The job's time limit, if it has one and ran past it (counted from `followed_since`, about
/// its dispatch, while the node has not said it runs).
fn overdue(core: &Arc<Core>, rec: &Record, followed_since: std::time::Instant) -> Option<Duration> {
    let job = &rec.job;
    let secs = job.timeout_secs.or_else(|| {
        let service = core.config.service(&job.service)?;
        service.timeout.map(|t| t.as_secs().max(1))
    })?;
    let limit = Duration::from_secs(secs);
    let over = match job.started_at {
        Some(started) => now_ms() >= started.saturating_add(secs as i64 * 1000),
        None => followed_since.elapsed() >= limit,
    };
    over.then_some(limit)
}

/// A status word that says the run is over: every word but those of a payload on its way to
/// running or running (the seed's `Invalid`, `Lost`, `Cleaned` … and words jobo does not know
/// end the job; waiting on them would hold its slot forever).
fn is_final(word: &str) -> bool {
    !matches!(
        word,
        "Prepared" | "Running" | "Submitted" | "Queued" | "Processing"
    )
}

/// How this side ended a run, if it did: killed for its timeout, or for a cancel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ended {
    TimedOut(Duration),
    Cancelled,
}

/// How a run ended, from the seed's status word (none: a zip, which only comes when
/// completed), what this side did to it, and the exit code the run itself recorded, which is
/// the better witness of the rest: the seed's client reports `Lost` of runs whose pid it read
/// too early, though they went on and wrote their exit code.
fn outcome(word: Option<&str>, exit_code: Option<i32>, ended: Option<Ended>) -> Outcome {
    let (state, reason) = match (word, ended, exit_code) {
        (None | Some("Completed"), _, _) => {
            return Outcome {
                state: JobState::Succeeded,
                exit_code: Some(exit_code.unwrap_or(0)),
                reason: None,
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
    }
}

/// Records the outcome with the staged files (if any could be staged): `Ok(true)` once the
/// run is dealt with, whether or not it was still the job's current attempt.
async fn finish(
    core: &Arc<Core>,
    rec: &Record,
    staged: std::io::Result<tempfile::TempDir>,
    outcome: Outcome,
) -> Result<bool, String> {
    let staged = staged.map_err(|e| format!("cannot stage its results: {e}"))?;
    collect::finish(core, rec, staged, outcome)
        .await
        .map(|_| true)
        .map_err(|e| format!("cannot record its end: {e}"))
}

fn staging(core: &Arc<Core>) -> std::io::Result<tempfile::TempDir> {
    tempfile::Builder::new()
        .prefix("seed-")
        .tempdir_in(core.data.tmp())
}

async fn empty_results(core: &Arc<Core>) -> std::io::Result<tempfile::TempDir> {
    let staged = staging(core)?;
    tokio::fs::create_dir(staged.path().join("work")).await?;
    Ok(staged)
}

/// Takes a zip of the run's files and records how the run ended: `word` is the status the node
/// reported (none: completed, as a `/retrieve` zip says).
async fn take(
    core: &Arc<Core>,
    node: &RemoteNode,
    rec: &Record,
    zip: SeedZip,
    word: Option<String>,
    ended: Option<Ended>,
) -> Result<bool, String> {
    let word = zip.status.or(word);
    match take_zip(core, node, zip.body).await {
        Ok(staged) => {
            let exit_code = match zip.exit_code {
                Some(code) => Some(code),
                None => exit_file(staged.path()).await,
            };
            if exit_code.is_none() && ended.is_none() && word.as_deref() == Some("Lost") {
                // The seed's client also says `Lost` of runs whose pid it read too early,
                // which go on: follow it until it writes its exit code (or its timeout, a
                // cancel or the node's loss ends it).
                if rec.job.state == JobState::Dispatched {
                    attempt::started(core, rec).await;
                }
                return Ok(false);
            }
            let outcome = outcome(word.as_deref(), exit_code, ended);
            finish(core, rec, Ok(staged), outcome).await
        }
        Err(Taken::Unusable(e)) => {
            let outcome = Outcome {
                state: JobState::Failed,
                exit_code: zip.exit_code,
                reason: Some(format!(
                    "its results from {} are unusable: {e}",
                    node.row.name
                )),
            };
            finish(core, rec, empty_results(core).await, outcome).await
        }
        Err(Taken::Retry(e)) => Err(e),
    }
}

fn ended_by_us(timed_out: Option<Duration>, cancelled: bool) -> Option<Ended> {
    match (timed_out, cancelled) {
        (Some(after), _) => Some(Ended::TimedOut(after)),
        (None, true) => Some(Ended::Cancelled),
        (None, false) => None,
    }
}

/// The exit code the seed's `run.sh` trap left in the staged results, if any.
async fn exit_file(staged: &Path) -> Option<i32> {
    let text = tokio::fs::read_to_string(staged.join("work").join(SEED_EXIT_FILE))
        .await
        .ok()?;
    text.trim().parse().ok()
}

/// Why results could not be taken: worth another download, or not.
enum Taken {
    Retry(String),
    Unusable(String),
}

/// Downloads the zip to a file in a staging dir and unpacks it as `<staged>/work`.
async fn take_zip(
    core: &Arc<Core>,
    node: &RemoteNode,
    body: Incoming,
) -> Result<tempfile::TempDir, Taken> {
    let staged = staging(core).map_err(|e| Taken::Retry(format!("cannot stage results: {e}")))?;
    let zip = staged.path().join("results.zip");
    spool(body, &zip, node.client.timeout())
        .await
        .map_err(Taken::Retry)?;
    let work = staged.path().join("work");
    let unpacked = tokio::task::spawn_blocking(move || {
        std::fs::create_dir(&work)?;
        let file = std::io::BufReader::new(std::fs::File::open(&zip)?);
        archive::unpack_zip(file, &work, u64::MAX)?;
        std::fs::remove_file(&zip)?;
        Ok(())
    })
    .await
    .map_err(|e| Taken::Retry(e.to_string()))?;
    match unpacked {
        Ok(()) => Ok(staged),
        Err(ArchiveError::Io(e)) => Err(Taken::Retry(e.to_string())),
        // The whole body came and is not an acceptable zip: the next one would be the same.
        Err(e) => Err(Taken::Unusable(e.to_string())),
    }
}

/// Writes a body to `to`, each read bounded by `timeout` so a stalled node cannot hang us.
async fn spool(body: Incoming, to: &Path, timeout: Duration) -> Result<(), String> {
    let io = |e: std::io::Error| format!("cannot take the results: {e}");
    let mut file = tokio::fs::File::create(to).await.map_err(io)?;
    let mut chunks = super::remote::frames(body, timeout);
    while let Some(chunk) = futures_util::StreamExt::next(&mut chunks).await {
        file.write_all(&chunk.map_err(io)?).await.map_err(io)?;
    }
    file.flush().await.map_err(io)
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
