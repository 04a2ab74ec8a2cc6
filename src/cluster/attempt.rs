//! Changes to one remote attempt, each made only while it is still the job's current attempt
//! (same payload, job still active on the same node), so that a late or repeated report from
//! a node never touches a job that has moved on.

use super::requeue;
use crate::api::Enforced;
use crate::core::Core;
use crate::job::JobState;
use crate::store::{self, Record, StoreError, now_ms};
use rusqlite::Transaction;

/// Whether `now` (the job as stored) is still on the attempt `rec` describes.
pub fn is_current(now: &Record, rec: &Record) -> bool {
    now.payload == rec.payload && now.job.state.is_active() && now.job.node == rec.job.node
}

/// Applies `change` to job `rec` in one transaction if `rec` is still its current attempt
/// (and, with `only_dispatched`, not started yet); announces the new state.
pub async fn if_current(
    core: &Core,
    rec: &Record,
    only_dispatched: bool,
    change: impl FnOnce(&Transaction<'_>, &Record) -> Result<Record, StoreError> + Send + 'static,
) {
    let (id, attempt) = (rec.job.id, rec.clone());
    let res = core
        .store
        .call_short(move |c| {
            let tx = c.transaction()?;
            let now = store::get(&tx, id)?;
            if !is_current(&now, &attempt)
                || (only_dispatched && now.job.state != JobState::Dispatched)
            {
                return Ok(None);
            }
            let changed = change(&tx, &now)?;
            tx.commit()?;
            Ok(Some(changed))
        })
        .await;
    match res {
        Ok(Some(changed)) => core.job_changed(&changed.job),
        Ok(None) => {}
        Err(e) => tracing::error!("job {id}: cannot record what its node said: {e}"),
    }
}

/// The node says the run started, and how it holds it if it says.
pub async fn started(core: &Core, rec: &Record, enforced: Option<Enforced>) {
    if_current(core, rec, true, |tx, now| {
        crate::failpoint!("cluster::started");
        store::transition(tx, now.job.id, JobState::Running, |r| {
            r.job.started_at = Some(now_ms());
            if let Some(enforced) = enforced {
                r.job.enforced = enforced;
            }
        })
    })
    .await
}

/// Back to the queue without counting the attempt: it never reached its node.
pub async fn undo(core: &Core, rec: &Record, why: &str) {
    let why = format!("requeued: {why}");
    if_current(core, rec, true, move |tx, now| {
        store::transition(tx, now.job.id, JobState::Queued, |r| {
            r.job.attempts = r.job.attempts.saturating_sub(1);
            r.job.reason = Some(why);
        })
    })
    .await
}

/// The node refused the job's files for good (no other node would take them): it fails.
pub async fn fail(core: &Core, rec: &Record, why: String) {
    if_current(core, rec, true, move |tx, now| {
        store::transition(tx, now.job.id, JobState::Failed, |r| {
            r.job.reason = Some(why)
        })
    })
    .await
}

/// The node does not know the attempt: a push or submit cut short (not an attempt), or a
/// node that lost its runs (it restarted): that attempt is over.
pub async fn unknown_to_node(core: &Core, node: &str, rec: &Record) {
    let why = format!("node {node} does not know its payload");
    if rec.job.state == JobState::Dispatched {
        return undo(core, rec, &why).await;
    }
    lost_on_node(core, rec, why).await
}

/// The run is gone on its node: the attempt counts, and the job goes back to the queue (or is
/// `lost` once its attempts are used up).
pub async fn lost_on_node(core: &Core, rec: &Record, why: String) {
    let config = core.config();
    if_current(core, rec, false, move |tx, now| {
        requeue::requeue(tx, &config, now, &why)
    })
    .await
}
