//! Watching a node's Slurm jobs: one `squeue` for all of them per poll cycle, never one per
//! job (Slurm pushes nothing). Each job's run task gets what was seen of its job through a
//! watch.
//!
//! The cycle is `--slurm-poll` (2 s by default), shortened to [`FAST`] while a job is likely
//! to end soon: it was submitted or changed state less than [`FAST_FOR`] ago (short jobs end
//! early), or a cancel was just asked. So a short job's end is seen within [`FAST`] of Slurm
//! recording it, a long one's within the cycle.
//!
//! A job `squeue` no longer lists (slurmctld forgets finished jobs after `MinJobAge`) is looked
//! up with `sacct`, which answers where accounting is configured; a job neither knows for
//! [`MISSES`] cycles is reported [`Seen::gone`].

use super::command;
use super::state::{self, Seen};
use std::collections::{HashMap, HashSet};
use std::sync::Mutex;
use std::time::Duration;
use tokio::sync::{Notify, watch};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// The short cycle.
pub const FAST: Duration = Duration::from_millis(250);
/// How long after a job's submission or last change the short cycle is used.
pub const FAST_FOR: Duration = Duration::from_secs(10);
/// Cycles a job may be missing from `squeue` and `sacct` before it is given up.
const MISSES: u32 = 3;

struct Watched {
    tx: watch::Sender<Option<Seen>>,
    /// Registered, or last changed state.
    since: Instant,
    /// A cancel was asked: poll fast until it ends.
    hurry: bool,
    misses: u32,
}

pub struct Poller {
    jobs: Mutex<HashMap<u64, Watched>>,
    wake: Notify,
    cycle: Duration,
}

impl Poller {
    pub fn new(cycle: Duration) -> Poller {
        Poller {
            jobs: Mutex::new(HashMap::new()),
            wake: Notify::new(),
            cycle: cycle.max(FAST),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<u64, Watched>> {
        self.jobs.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Starts watching Slurm job `id`; the receiver holds `None` until the first poll.
    pub fn watch(&self, id: u64) -> watch::Receiver<Option<Seen>> {
        let (tx, rx) = watch::channel(None);
        self.lock().insert(
            id,
            Watched {
                tx,
                since: Instant::now(),
                hurry: false,
                misses: 0,
            },
        );
        self.wake.notify_one();
        rx
    }

    /// A cancel of job `id` was asked: poll fast until it ends.
    pub fn hurry(&self, id: u64) {
        if let Some(w) = self.lock().get_mut(&id) {
            w.hurry = true;
        }
        self.wake.notify_one();
    }

    pub fn forget(&self, id: u64) {
        self.lock().remove(&id);
    }

    /// Polls until `shutdown`.
    pub async fn run(&self, shutdown: CancellationToken) {
        let mut last_error = String::new();
        loop {
            let ids: Vec<u64> = self.lock().keys().copied().collect();
            if !ids.is_empty() {
                match query(&ids).await {
                    Ok(seen) => {
                        last_error.clear();
                        self.apply(seen).await;
                    }
                    Err(e) => {
                        if e != last_error {
                            tracing::warn!("cannot poll Slurm: {e}");
                            last_error = e;
                        }
                    }
                }
            }
            let polled = Instant::now();
            let pause = self.pause(ids.is_empty());
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = self.wake.notified() => {
                    // Never more than one query per short cycle, however many jobs arrive.
                    tokio::select! {
                        _ = shutdown.cancelled() => return,
                        _ = tokio::time::sleep_until(polled + FAST) => {}
                    }
                }
                _ = sleep_maybe(pause) => {}
            }
        }
    }

    /// How long until the next poll: `None` while there is nothing to watch.
    fn pause(&self, idle: bool) -> Option<Duration> {
        if idle {
            return None;
        }
        let jobs = self.lock();
        let soon = jobs
            .values()
            .any(|w| w.hurry || w.since.elapsed() < FAST_FOR);
        Some(if soon { FAST } else { self.cycle })
    }

    /// Hands each watcher what was seen; looks up the missing ones in `sacct`.
    async fn apply(&self, mut seen: HashMap<u64, Seen>) {
        let missing: Vec<u64> = {
            let jobs = self.lock();
            jobs.keys()
                .filter(|id| !seen.contains_key(id))
                .copied()
                .collect()
        };
        if !missing.is_empty()
            && let Ok(found) = query_sacct(&missing).await
        {
            seen.extend(found);
        }
        let mut jobs = self.lock();
        for (id, w) in jobs.iter_mut() {
            let now = match seen.remove(id) {
                Some(s) => {
                    w.misses = 0;
                    s
                }
                None => {
                    w.misses += 1;
                    if w.misses < MISSES {
                        continue;
                    }
                    Seen::gone()
                }
            };
            let changed_state = w.tx.borrow().as_ref().map(|s| &s.state) != Some(&now.state);
            if changed_state {
                w.since = Instant::now();
            }
            w.tx.send_if_modified(|old| {
                let differs = old.as_ref() != Some(&now);
                if differs {
                    *old = Some(now);
                }
                differs
            });
        }
    }
}

async fn sleep_maybe(pause: Option<Duration>) {
    match pause {
        Some(p) => tokio::time::sleep(p).await,
        None => std::future::pending().await,
    }
}

fn id_list(ids: &[u64]) -> String {
    ids.iter().map(u64::to_string).collect::<Vec<_>>().join(",")
}

/// One `squeue` for `ids` (finished jobs too, while slurmctld keeps them).
async fn query(ids: &[u64]) -> Result<HashMap<u64, Seen>, String> {
    let mut cmd = command::new("squeue");
    cmd.args(["--noheader", "--states=all"])
        .arg(format!("--jobs={}", id_list(ids)))
        .arg("--Format=JobID:|,State:|,Reason:|,exit_code:|");
    let text = command::output("squeue", &mut cmd).await?;
    let wanted: HashSet<u64> = ids.iter().copied().collect();
    let mut seen = HashMap::new();
    for line in text.lines() {
        let f: Vec<&str> = line.split('|').collect();
        let [id, st, reason, exit, ..] = f.as_slice() else {
            continue;
        };
        let Ok(id) = id.trim().parse::<u64>() else {
            continue; // an array or het job's member: not one of ours
        };
        if !wanted.contains(&id) {
            continue;
        }
        let exit_code = exit
            .trim()
            .parse::<i32>()
            .ok()
            .map(state::exit_of_wait_status);
        seen.insert(
            id,
            Seen {
                state: st.trim().to_string(),
                reason: state::reason(reason),
                exit_code,
            },
        );
    }
    Ok(seen)
}

/// One `sacct` for `ids` (fails where accounting is not configured).
async fn query_sacct(ids: &[u64]) -> Result<HashMap<u64, Seen>, String> {
    let mut cmd = command::new("sacct");
    cmd.args(["--noheader", "--parsable2", "--allocations"])
        .arg(format!("--jobs={}", id_list(ids)))
        .arg("--format=JobIDRaw,State,ExitCode,Reason");
    let text = command::output("sacct", &mut cmd).await?;
    let mut seen = HashMap::new();
    for line in text.lines() {
        let f: Vec<&str> = line.split('|').collect();
        let [id, st, exit, reason, ..] = f.as_slice() else {
            continue;
        };
        let Ok(id) = id.trim().parse::<u64>() else {
            continue;
        };
        // "CANCELLED by 0"
        let st = st.split_whitespace().next().unwrap_or_default().to_string();
        seen.insert(
            id,
            Seen {
                state: st,
                reason: state::reason(reason),
                exit_code: state::exit_of_pair(exit),
            },
        );
    }
    Ok(seen)
}
