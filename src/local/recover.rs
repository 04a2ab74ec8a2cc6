//! Start-up repair after a crash or `kill -9`: nothing stays `running` forever.
//!
//! Jobs the store shows as dispatched or running on the local worker were interrupted: their
//! leftover process group (recognised by pid *and* start time, so a recycled pid is never
//! signalled) is killed, then the job is requeued for another attempt or, with its attempts
//! used up, failed with a reason. The same kill ends the local runs when jobod stops.

use crate::core::Core;
use crate::job::JobState;
use crate::paths::DataDir;
use crate::placement::Placement;
use crate::process;
use crate::store::{self, Record, Store, StoreError};
use std::time::Duration;

/// Kills the process groups of local runs the store knows about (if they are still ours):
/// the recorded group when its pid and start time match, and any group still working in the
/// job's directory (a run started just before a crash, before its pid was recorded).
pub async fn kill_local_runs(data: &DataDir, runs: &[Record]) {
    let own = std::process::id() as i32;
    for rec in runs {
        let mut groups = process::groups_working_under(data.job(rec.job.id).path());
        if let (Some(pid), Some(start)) = (rec.pid, rec.pid_start)
            && process::start_time(pid) == Some(start)
        {
            groups.push(pid);
        }
        groups.sort_unstable();
        groups.dedup();
        // SAFETY: getpgrp has no preconditions.
        let ours = unsafe { libc::getpgrp() };
        for pgid in groups
            .into_iter()
            .filter(|&g| g > 1 && g != own && g != ours)
        {
            tracing::info!("job {}: killing leftover process group {pgid}", rec.job.id);
            process::kill_group_and_wait(pgid, Duration::from_secs(5)).await;
        }
    }
}

/// The local runs that were interrupted.
pub async fn local_runs(store: &Store) -> Result<Vec<Record>, StoreError> {
    let active = store.call(|c| store::active(c)).await?;
    Ok(active
        .into_iter()
        .filter(|r| r.job.node.as_ref().is_none_or(Placement::is_local))
        .collect())
}

/// Requeues or fails every interrupted local run. Returns how many were requeued.
pub async fn recover(core: &Core) -> Result<usize, StoreError> {
    let runs = local_runs(&core.store).await?;
    kill_local_runs(&core.data, &runs).await;
    let config = core.config();
    core.store
        .call(move |c| {
            let tx = c.transaction()?;
            let mut requeued = 0;
            for rec in runs {
                let job = &rec.job;
                let max = config.service(&job.service).map_or(3, |s| s.max_attempts);
                let attempt = job.attempts;
                if attempt < max {
                    store::transition(&tx, job.id, JobState::Queued, |r| {
                        r.job.node = None;
                        r.pid = None;
                        r.pid_start = None;
                        r.job.reason =
                            Some(format!("requeued: jobod stopped during attempt {attempt}"));
                    })?;
                    requeued += 1;
                } else {
                    store::transition(&tx, job.id, JobState::Failed, |r| {
                        r.job.reason = Some(format!(
                            "jobod stopped during attempt {attempt} of {max}; no attempts left"
                        ));
                    })?;
                }
            }
            tx.commit()?;
            Ok(requeued)
        })
        .await
}
