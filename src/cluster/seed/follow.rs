//! Following one run on a seed node: `GET /retrieve/{id}` with backoff until a zip or a final
//! status comes back, whose files are then taken (`results.rs`). The seed cannot be given a
//! timeout, so this side enforces it, counted from dispatch while the node has not said
//! `Running`.

use super::outcome::{ended_by_us, held, is_final, outcome};
use super::results::{empty_results, finish, take};
use crate::cluster::attempt;
use crate::cluster::node::Node;
use crate::cluster::seed_client::Retrieved;
use crate::core::Core;
use crate::job::{JobId, JobState};
use crate::store::{self, Record, now_ms};
use hyper::StatusCode;
use std::time::Duration;
use tokio::sync::watch;

const FIRST_POLL: Duration = Duration::from_millis(50);
const MAX_POLL: Duration = Duration::from_secs(2);
/// How long a `Lost` run may go without a pid before it counts as one that never started.
const NEVER_STARTED: Duration = Duration::from_secs(3);

/// Kills a run the job no longer wants, once; a node that does not answer keeps it until it
/// is cleaned there.
pub async fn kill_stale(node: &Node, payload: &str) {
    if let Err(e) = node.client.seed_kill(payload).await {
        tracing::debug!("payload {payload}: cannot kill the stale run: {e}");
    }
}

/// Polls job `id`'s run `payload` until its end is recorded or the job moves on; returns true
/// in the second case (the node's copy is then stale). `cancelled` says whether a cancel was
/// sent for it; `alive` is told of every answer from the node.
pub async fn poll(
    node: &Node,
    id: JobId,
    payload: &str,
    cancelled: &watch::Receiver<bool>,
    alive: &(dyn Fn() + Send + Sync),
) -> bool {
    let core = &node.core;
    let mut wait = FIRST_POLL;
    let mut last = String::new();
    let mut timed_out = None;
    let followed_since = std::time::Instant::now();
    let mut unstarted_since: Option<std::time::Instant> = None;
    let cancelled = || *cancelled.borrow();
    loop {
        let rec = match current(node, id, payload).await {
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
            tracing::info!("job {id}: timed out on {}, killing it", node.name);
            if node.client.seed_kill(payload).await.is_ok() {
                timed_out = Some(limit);
            }
        }
        let answer = node.client.seed_retrieve(payload).await;
        let answered = match &answer {
            Ok(_) => true,
            Err(e) => e.status() == Some(StatusCode::NOT_FOUND),
        };
        if answered {
            alive();
        }
        let ended = match answer {
            Ok(Retrieved::Status { word, .. }) if !is_final(&word) => {
                if word == "Running" && rec.job.state == JobState::Dispatched {
                    attempt::started(core, &rec, held()).await;
                }
                if word != last {
                    wait = FIRST_POLL;
                    last = word;
                }
                Ok(false)
            }
            // `Lost` before the run's pid is recorded: the seed's client says that of runs it
            // is still starting (its runner and updater race); a run that never starts is
            // told apart by its pid staying 0.
            Ok(Retrieved::Status { word, pid: 0 })
                if word == "Lost"
                    && unstarted_since
                        .get_or_insert_with(std::time::Instant::now)
                        .elapsed()
                        < NEVER_STARTED =>
            {
                Ok(false)
            }
            Ok(Retrieved::Status { word, pid }) => {
                // Over, but not completed: the seed zips only completed runs.
                let by_us = ended_by_us(timed_out, cancelled());
                let ran = pid != 0;
                match node.client.seed_retrieve_partial(payload).await {
                    Ok(zip) => take(core, node, &rec, zip, Some(word), by_us, ran).await,
                    Err(e) if e.status().is_some() => {
                        tracing::warn!("job {id}: no files from {}: {e}", node.name);
                        let outcome = outcome(Some(&word), None, by_us);
                        finish(core, &rec, empty_results(core).await, outcome).await
                    }
                    Err(e) => Err(e.to_string()),
                }
            }
            Ok(Retrieved::Zip(zip)) => {
                let by_us = ended_by_us(timed_out, cancelled());
                take(core, node, &rec, zip, None, by_us, true).await
            }
            Err(e) if e.status() == Some(StatusCode::NOT_FOUND) => {
                attempt::unknown_to_node(core, &node.name, &rec).await;
                return false;
            }
            Err(e) => {
                tracing::debug!("job {id}: polling {}: {e}", node.name);
                Ok(false)
            }
        };
        match ended {
            // Once the run is over on the node, its copy there is nobody's concern.
            Ok(true) => return false,
            Ok(false) => {}
            Err(e) => tracing::warn!("job {id}: cannot take its results yet: {e}"),
        }
        tokio::time::sleep(wait).await;
        wait = (wait * 2).min(MAX_POLL);
    }
}

/// Job `id` if it is still active on `node` with `payload`.
async fn current(
    node: &Node,
    id: JobId,
    payload: &str,
) -> Result<Option<Record>, store::StoreError> {
    match node.core.store.call(move |c| store::get(c, id)).await {
        Ok(rec) => Ok(Some(rec).filter(|r| node.holds(r) && r.payload.as_deref() == Some(payload))),
        Err(store::StoreError::NotFound(_)) => Ok(None),
        Err(e) => Err(e),
    }
}

/// The job's time limit, if it has one and ran past it (counted from `followed_since`, about
/// its dispatch, while the node has not said it runs).
fn overdue(core: &Core, rec: &Record, followed_since: std::time::Instant) -> Option<Duration> {
    let job = &rec.job;
    let config = core.config();
    let service = config.service(&job.service);
    let secs = crate::limits::run_timeout(&job.requested_limits, service)?
        .as_secs()
        .max(1);
    let limit = Duration::from_secs(secs);
    let over = match job.started_at {
        Some(started) => now_ms() >= started.saturating_add(secs as i64 * 1000),
        None => followed_since.elapsed() >= limit,
    };
    over.then_some(limit)
}
