//! The processes of a cgroup (v1 or v2: both list them in `cgroup.procs`), signalling them
//! all, and killing them until none is left.

use std::path::Path;
use std::time::Duration;

/// The processes in cgroup `dir` now, jobod itself left out (on v1 a slot's spawn thread lives
/// there, and v1 lists the process of every thread in it).
pub fn list(dir: &Path) -> Vec<i32> {
    let me = std::process::id() as i32;
    std::fs::read_to_string(dir.join("cgroup.procs"))
        .unwrap_or_default()
        .split_whitespace()
        .filter_map(|p| p.parse().ok())
        .filter(|&p| p != me)
        .collect()
}

/// Sends `signal` to every process of cgroup `dir`.
pub fn signal(dir: &Path, signal: i32) {
    for pid in list(dir) {
        // SAFETY: kill has no memory preconditions; these pids are the job's.
        unsafe {
            libc::kill(pid, signal);
        }
    }
}

/// SIGKILLs every process of cgroup `dir` until none is left (new ones a fork bomb made
/// meanwhile included), for at most `bound`; with `cgroup.kill` (v2, Linux 5.14+) the kernel
/// does it at once and this only waits. Returns whether it is empty.
pub async fn kill_all(dir: &Path, bound: Duration, cgroup_kill: bool) -> bool {
    let deadline = tokio::time::Instant::now() + bound;
    let mut killed = false;
    loop {
        if list(dir).is_empty() {
            return true;
        }
        if cgroup_kill && !killed {
            killed = std::fs::write(dir.join("cgroup.kill"), "1").is_ok();
        }
        if !killed {
            signal(dir, libc::SIGKILL);
        }
        if tokio::time::Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// [`kill_all`] for a dead jobod's cgroup at start, blocking, then removes it.
pub fn kill_and_remove(dir: &Path) {
    for _ in 0..100 {
        if list(dir).is_empty() {
            break;
        }
        signal(dir, libc::SIGKILL);
        std::thread::sleep(Duration::from_millis(10));
    }
    let _ = std::fs::remove_dir(dir);
}
