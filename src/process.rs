//! Unix process-group plumbing: signalling a job's whole group, reaping what it leaves, and
//! recognising a group a crashed daemon left behind.

use std::time::Duration;

/// Sends `signal` to every process in group `pgid`. A group that is already gone is fine.
pub fn kill_group(pgid: i32, signal: i32) {
    if pgid <= 1 {
        return; // never signal init's group or "every process"
    }
    // SAFETY: kill has no memory preconditions; a negative pid names a process group.
    unsafe {
        libc::kill(-pgid, signal);
    }
}

/// Whether any process of group `pgid` is still alive (signal 0 probes without sending).
pub fn group_alive(pgid: i32) -> bool {
    // SAFETY: as above; signal 0 only checks for existence and permission.
    pgid > 1 && unsafe { libc::kill(-pgid, 0) } == 0
}

/// Makes this process the reaper of its orphaned descendants, so a job's background children
/// that outlive `run.sh` are re-parented to jobod (and reaped by [`reap_group`]) rather than to
/// a PID 1 that may never reap them.
pub fn become_subreaper() {
    // SAFETY: prctl with PR_SET_CHILD_SUBREAPER only sets a flag on this process.
    unsafe {
        libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
    }
}

/// Reaps every exited child of ours in group `pgid`, without touching other children
/// (the tokio runtime reaps the processes it spawned itself).
pub fn reap_group(pgid: i32) {
    loop {
        let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
        // SAFETY: `info` is a valid out-pointer; P_PGID limits the wait to the job's group.
        let rc = unsafe {
            libc::waitid(
                libc::P_PGID,
                pgid as libc::id_t,
                &mut info,
                libc::WEXITED | libc::WNOHANG,
            )
        };
        // SAFETY: si_pid is valid to read after a successful waitid.
        if rc != 0 || unsafe { info.si_pid() } == 0 {
            return;
        }
    }
}

/// Kills group `pgid` and waits (bounded) until none of it is left.
pub async fn kill_group_and_wait(pgid: i32, limit: Duration) {
    kill_group(pgid, libc::SIGKILL);
    let deadline = tokio::time::Instant::now() + limit;
    let mut pause = Duration::from_millis(1);
    while group_alive(pgid) && tokio::time::Instant::now() < deadline {
        reap_group(pgid);
        // Dying processes give no event to wait on; a short back-off bounds this rare path.
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(Duration::from_millis(50));
    }
    reap_group(pgid);
}

/// The start time of `pid` in clock ticks since boot (field 22 of `/proc/PID/stat`).
pub fn start_time(pid: i32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) may contain spaces; fields resume after the last ')'.
    let rest = &stat[stat.rfind(')')? + 2..];
    rest.split(' ').nth(19)?.parse().ok()
}
