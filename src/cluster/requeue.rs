//! What happens to jobs whose node is gone: another attempt elsewhere while attempts are
//! left (`max_attempts` of the service), `lost` with the reason after that.

use crate::config::Config;
use crate::core::Core;
use crate::job::JobState;
use crate::placement::Placement;
use crate::store::{self, Record, StoreError};
use rusqlite::Transaction;

/// Requeues (or loses) every job active on `node`, in one transaction. `why` says what
/// happened to the node, e.g. "node n1 unreachable". Returns how many jobs it moved.
pub async fn requeue_node_jobs(core: &Core, node: &str, why: &str) -> Result<usize, StoreError> {
    let place = Placement::Node(node.to_string());
    let (why, config) = (why.to_string(), core.config());
    let moved = core
        .store
        .call(move |c| {
            let tx = c.transaction()?;
            let mut moved = Vec::new();
            for rec in store::active_on(&tx, &place)? {
                moved.push(requeue(&tx, &config, &rec, &why)?);
            }
            tx.commit()?;
            Ok(moved)
        })
        .await?;
    for rec in &moved {
        tracing::warn!(
            "job {}: {}",
            rec.job.id,
            rec.job.reason.as_deref().unwrap_or("")
        );
        core.job_changed(&rec.job);
    }
    Ok(moved.len())
}

/// Requeues one job whose attempt `rec` was interrupted, inside the caller's transaction.
pub fn requeue(
    tx: &Transaction<'_>,
    config: &Config,
    rec: &Record,
    why: &str,
) -> Result<Record, StoreError> {
    let job = &rec.job;
    let max = config.service(&job.service).map_or(3, |s| s.max_attempts);
    let attempt = job.attempts;
    if attempt < max {
        store::transition(tx, job.id, JobState::Queued, |r| {
            r.job.reason = Some(format!("requeued: {why} during attempt {attempt}"));
        })
    } else {
        store::transition(tx, job.id, JobState::Lost, |r| {
            r.job.reason = Some(format!(
                "{why} during attempt {attempt} of {max}; no attempts left"
            ));
        })
    }
}
