//! Retention: removes the files of jobs finished longer ago than their service's `retention`
//! and marks them `expired`; the history rows stay.

use crate::job::JobState;
use crate::queue;
use crate::state::Ctx;
use crate::store::{self, now_ms};
use tokio_util::sync::CancellationToken;

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
        let service = name.clone();
        let ids = ctx
            .core
            .store
            .call(move |c| {
                let ids = store::expirable(c, &service, cutoff)?;
                let tx = c.transaction()?;
                for id in &ids {
                    store::transition(&tx, *id, JobState::Expired, |_| {})?;
                }
                tx.commit()?;
                Ok(ids)
            })
            .await?;
        for id in ids {
            queue::remove_files(ctx, id).await;
            ctx.core.events.job_changed(id, JobState::Expired);
            expired += 1;
        }
    }
    Ok(expired)
}
