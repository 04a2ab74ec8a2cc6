//! The node's host as the node reports it (`GET /load`, and every feed hello and beat): CPU
//! use in percent and memory in use, sampled in the background over fixed windows of
//! [`WINDOW`], so a reading never depends on who asked last or how often.
//!
//! These are the *host's* figures, whatever runs there: a node with nothing to do on a host
//! busy with other work (compilers, other services) shows that host's CPU use, up to 100 %.
//! That is what the old `LOAD` column showed, and why an idle node could read 100 %: it was
//! the host's load, not the node's. What the node itself is doing is its slots in use, which
//! the server counts (`jobo node ls`, SLOTS and FREE).

use crate::api::HostLoad;
use std::time::Duration;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

/// How long one CPU sample is averaged over.
pub const WINDOW: Duration = Duration::from_secs(1);

/// The latest sample (none until the first window is over, or where none can be taken).
pub struct Load(watch::Receiver<Option<HostLoad>>);

impl Load {
    /// Starts sampling in the background until `stop`.
    pub fn start(stop: CancellationToken) -> Load {
        let (tx, rx) = watch::channel(None);
        match sysinfo::System::new() {
            Ok(sys) => {
                tokio::spawn(sample(sys, tx, stop));
            }
            Err(e) => tracing::warn!("cannot read the host's CPU and memory use: {e}"),
        }
        Load(rx)
    }

    pub fn host(&self) -> Option<HostLoad> {
        *self.0.borrow()
    }

    /// CPU use in percent (0 before the first sample), for the seed's `GET /load`.
    pub fn percent(&self) -> f32 {
        self.host().map_or(0.0, |h| h.cpu_percent)
    }
}

/// Takes a sample at the end of every window: CPU use over it, memory in use at its end.
async fn sample(
    mut sys: sysinfo::System,
    tx: watch::Sender<Option<HostLoad>>,
    stop: CancellationToken,
) {
    // The first refresh only sets the start of the first window.
    sys.refresh_cpu_usage();
    let mut tick = tokio::time::interval(WINDOW);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tick.tick().await;
    loop {
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tick.tick() => {}
        }
        sys.refresh_cpu_usage();
        sys.refresh_memory();
        let now = HostLoad {
            cpu_percent: sys.global_cpu_usage().clamp(0.0, 100.0),
            memory_used_bytes: sys.used_memory(),
            memory_total_bytes: sys.total_memory(),
        };
        tx.send_replace(Some(now));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `MemTotal` of `/proc/meminfo`, in bytes.
    fn mem_total() -> u64 {
        let info = std::fs::read_to_string("/proc/meminfo").expect("meminfo");
        let line = info
            .lines()
            .find(|l| l.starts_with("MemTotal:"))
            .expect("MemTotal");
        let kb: u64 = line
            .split_whitespace()
            .nth(1)
            .expect("kB")
            .parse()
            .expect("n");
        kb * 1024
    }

    #[tokio::test]
    async fn a_sample_comes_after_one_window_and_says_the_hosts_memory() {
        let stop = CancellationToken::new();
        let load = Load::start(stop.clone());
        assert_eq!(load.host(), None, "a sample before its window was over");
        let mut rx = load.0.clone();
        let host = tokio::time::timeout(WINDOW * 5, rx.wait_for(Option::is_some))
            .await
            .expect("a sample within a few windows")
            .expect("sampler alive")
            .expect("some");
        assert!((0.0..=100.0).contains(&host.cpu_percent), "{host:?}");
        assert_eq!(host.memory_total_bytes, mem_total());
        assert!(host.memory_used_bytes > 0 && host.memory_used_bytes < host.memory_total_bytes);
        stop.cancel();
    }
}
