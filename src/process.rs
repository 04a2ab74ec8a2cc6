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

/// Whether any process of group `pgid` is still alive. Signal 0 is the cheap probe; but it
/// also succeeds for zombies, and the zombies of a daemon that was `kill -9`ed belong to a
/// PID 1 that may never reap them, so a positive answer is checked against `/proc`.
pub fn group_alive(pgid: i32) -> bool {
    // SAFETY: as above; signal 0 only checks for existence and permission.
    if pgid <= 1 || unsafe { libc::kill(-pgid, 0) } != 0 {
        return false;
    }
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return true;
    };
    entries.flatten().any(|e| {
        let Ok(stat) = std::fs::read_to_string(e.path().join("stat")) else {
            return false;
        };
        // After the command name: state, ppid, pgrp, ...
        let Some((_, rest)) = stat.rsplit_once(')') else {
            return false;
        };
        let mut fields = rest.split_whitespace();
        let state = fields.next();
        let pgrp = fields.nth(1).and_then(|f| f.parse::<i32>().ok());
        pgrp == Some(pgid) && state != Some("Z")
    })
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

/// Process groups of live processes whose working directory is below `dir`: how a restarted
/// daemon finds a run it started but had not yet recorded (it died in between).
pub fn groups_working_under(dir: &std::path::Path) -> Vec<i32> {
    let dir = dir.canonicalize().unwrap_or_else(|_| dir.to_path_buf());
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    let mut groups: Vec<i32> = entries
        .flatten()
        .filter(|e| std::fs::read_link(e.path().join("cwd")).is_ok_and(|cwd| cwd.starts_with(&dir)))
        .filter_map(|e| {
            let stat = std::fs::read_to_string(e.path().join("stat")).ok()?;
            let (_, rest) = stat.rsplit_once(')')?;
            let mut fields = rest.split_whitespace();
            let state = fields.next()?;
            let pgrp = fields.nth(1)?.parse::<i32>().ok()?;
            (state != "Z").then_some(pgrp)
        })
        .collect();
    groups.sort_unstable();
    groups.dedup();
    groups
}

/// The start time of `pid` in clock ticks since boot (field 22 of `/proc/PID/stat`).
pub fn start_time(pid: i32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) may contain spaces; fields resume after the last ')'.
    let (_, rest) = stat.rsplit_once(')')?;
    rest.split_whitespace().nth(19)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::process::CommandExt;

    #[test]
    fn sees_kills_and_reaps_a_group() -> std::io::Result<()> {
        let dir = tempfile::tempdir()?;
        let mut child = std::process::Command::new("sleep")
            .arg("30")
            .current_dir(dir.path())
            .process_group(0)
            .spawn()?;
        let pid = child.id() as i32;
        assert!(group_alive(pid));
        assert!(start_time(pid).is_some());
        assert_eq!(start_time(pid), start_time(pid));
        assert_eq!(groups_working_under(dir.path()), vec![pid]);
        kill_group(pid, libc::SIGKILL);
        child.wait()?;
        assert!(!group_alive(pid));
        assert_eq!(start_time(pid), None);
        Ok(())
    }
}
