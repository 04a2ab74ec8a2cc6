//! Retention: removes the files of jobs finished longer ago than their service's `retention`
//! and marks them `expired`; the history rows stay.
//!
//! A sweep works in batches of [`BATCH`] jobs, each marked in a transaction of its own, its
//! files removed before the next batch is read: the store's one connection is never held
//! for long, so submits and the scheduler go on while a backlog of a million jobs expires.
//! Finding the batch reads the `jobs_expirable` index (only jobs that can still expire, by
//! age), so a sweep over a store of a million already expired jobs costs nothing.

use crate::job::{JobId, JobState};
use crate::queue;
use crate::state::Ctx;
use crate::store::{self, now_ms};
use tokio_util::sync::CancellationToken;

/// Jobs marked expired per transaction. Each takes some 20 µs to mark, so a batch holds the
/// store for a few milliseconds at most.
pub const BATCH: u32 = 256;

pub async fn run(ctx: Ctx, shutdown: CancellationToken) {
    loop {
        match sweep(&ctx).await {
            Ok(0) => {}
            Ok(n) => tracing::info!("retention: expired {n} jobs"),
            Err(e) => tracing::error!("retention sweep failed: {e}"),
        }
        tokio::select! {
            _ = tokio::time::sleep(ctx.core.config().server.cleanup_interval) => {}
            _ = shutdown.cancelled() => return,
        }
    }
}

/// One pass over every service; returns how many jobs expired.
pub async fn sweep(ctx: &Ctx) -> Result<usize, store::StoreError> {
    let mut expired = 0;
    for (name, svc) in &ctx.core.config().services {
        let cutoff = now_ms() - svc.retention.as_millis() as i64;
        loop {
            let ids = expire_batch(ctx, name, cutoff).await?;
            expired += ids.len();
            let more = ids.len() == BATCH as usize;
            queue::remove_files_of(ctx, ids.clone()).await;
            for id in ids {
                ctx.core.events.job_changed(id, JobState::Expired);
            }
            if !more {
                break;
            }
        }
    }
    Ok(expired)
}

/// Marks the oldest [`BATCH`] expirable jobs of `service` expired, in one transaction.
async fn expire_batch(
    ctx: &Ctx,
    service: &str,
    cutoff: i64,
) -> Result<Vec<JobId>, store::StoreError> {
    let service = service.to_string();
    ctx.core
        .store
        .call(move |c| {
            let tx = c.transaction()?;
            let ids = store::expirable(&tx, &service, cutoff, BATCH)?;
            for id in &ids {
                store::transition(&tx, *id, JobState::Expired, |_| {})?;
            }
            tx.commit()?;
            Ok(ids)
        })
        .await
}
