//! The output cap (`max_output` of a service): while a run goes, each log file stops growing
//! at the cap (the executor's log copier); when it ends, its work dir and logs together must be
//! under the cap, else the job fails naming it. Checked at the end rather than watched: a job
//! that writes past the cap is stopped by nothing but the timeout meanwhile, and disk quotas
//! (or the cgroup work to come) are what bound it while it runs.

use super::size;
use crate::paths::{JobDir, LogStream};

/// The reason a finished run fails with when `work_bytes` (its work dir) and its logs are
/// over `cap`, or a log was cut at the cap; `None` when within it.
pub fn over_cap(dir: &JobDir, work_bytes: u64, cap: u64) -> Option<String> {
    let logs: Vec<u64> = [LogStream::Stdout, LogStream::Stderr]
        .iter()
        .map(|s| std::fs::metadata(dir.log(*s)).map_or(0, |m| m.len()))
        .collect();
    let cut = logs.iter().any(|&l| l >= cap);
    let total = logs.iter().fold(work_bytes, |a, l| a.saturating_add(*l));
    if total <= cap && !cut {
        return None;
    }
    Some(format!(
        "output over the service's max_output of {}: {} in the work dir and logs{}",
        size::format(cap),
        size::format(total),
        if cut {
            " (a log was cut at the cap)"
        } else {
            ""
        }
    ))
}

/// [`over_cap`] off the async threads, measuring the work dir itself.
pub async fn check(dir: &JobDir, cap: Option<u64>) -> Option<String> {
    let cap = cap?;
    let dir = dir.clone();
    tokio::task::spawn_blocking(move || {
        let work = crate::archive::dir_size(&dir.work()).unwrap_or(0);
        over_cap(&dir, work, cap)
    })
    .await
    .ok()
    .flatten()
}
