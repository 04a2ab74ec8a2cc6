//! Unix process-group plumbing: signalling a job's whole group, reaping what it leaves, and
//! recognising a group a crashed daemon left behind.

use std::collections::HashSet;
use std::sync::{Mutex, RwLock};
use std::time::Duration;

/// The runs this process spawned itself. The runtime reaps those (their exit status is the
/// job's), so the orphan reaper must leave them alone.
static OWN: Mutex<Option<HashSet<i32>>> = Mutex::new(None);

/// Held for reading across a spawn and the record of its pid, for writing while the reaper
/// looks: a run that exits at once is never taken for an orphan, and spawns do not wait for
/// one another.
static SPAWNING: RwLock<()> = RwLock::new(());

fn own() -> std::sync::MutexGuard<'static, Option<HashSet<i32>>> {
    OWN.lock().unwrap_or_else(|p| p.into_inner())
}

/// Spawns a run with `spawn` and records its pid as ours (see [`reap_orphans`]).
pub fn spawn_own<C>(
    spawn: impl FnOnce() -> std::io::Result<C>,
    pid: impl Fn(&C) -> Option<u32>,
) -> std::io::Result<C> {
    let _spawning = SPAWNING.read().unwrap_or_else(|p| p.into_inner());
    let child = spawn()?;
    if let Some(p) = pid(&child) {
        own().get_or_insert_default().insert(p as i32);
    }
    Ok(child)
}

/// Forgets a run of ours once the runtime has reaped it.
pub fn forget_own(pid: i32) {
    if let Some(set) = own().as_mut() {
        set.remove(&pid);
    }
}

/// Our children that may be orphans: `/proc/self/task/PID/children`, the main thread's, or a
/// scan of `/proc` for our pid as parent where the kernel does not offer that file.
///
/// An orphan goes to its subreaper's first live thread (`find_alive_thread` in the kernel's
/// `exit.c` walks the thread list from the group leader), and jobod's main thread lives as
/// long as jobod: so the main thread's list holds every orphan. The other threads' lists hold
/// only what they spawned themselves, runs and commands whose owners reap them; reading those
/// too cost a scan (one per SIGCHLD burst, at most ten a second) 3 system calls a thread,
/// with spawns held back meanwhile, and could race those owners for their zombies.
fn children() -> Vec<i32> {
    if let Some(listed) = children_of(std::process::id()) {
        return listed;
    }
    let me = std::process::id() as i32;
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter(|&pid| stat_fields(pid).is_some_and(|(_, ppid)| ppid == me))
        .collect()
}

/// The children thread `tid` of this process spawned or adopted, when the kernel lists them.
fn children_of(tid: u32) -> Option<Vec<i32>> {
    let text = std::fs::read_to_string(format!("/proc/self/task/{tid}/children")).ok()?;
    Some(
        text.split_whitespace()
            .filter_map(|p| p.parse::<i32>().ok())
            .collect(),
    )
}

/// State and parent of `pid`, from `/proc/PID/stat`.
fn stat_fields(pid: i32) -> Option<(char, i32)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let (_, rest) = stat.rsplit_once(')')?;
    let mut fields = rest.split_whitespace();
    let state = fields.next()?.chars().next()?;
    let ppid = fields.next()?.parse().ok()?;
    Some((state, ppid))
}

/// Reaps exited children that are not runs of ours: what jobs left behind outside their
/// process group (a `setsid` child), re-parented to us as their subreaper. Returns how many.
pub fn reap_orphans() -> usize {
    reap_among(children())
}

/// [`reap_orphans`] among `pids` (children of ours).
fn reap_among(pids: Vec<i32>) -> usize {
    let _no_spawn = SPAWNING.write().unwrap_or_else(|p| p.into_inner());
    let own = own();
    let mut reaped = 0;
    for pid in pids {
        if own.as_ref().is_some_and(|s| s.contains(&pid)) {
            continue;
        }
        if stat_fields(pid).is_some_and(|(state, _)| state == 'Z') {
            let mut status = 0;
            // SAFETY: waitpid on a child of ours, with a valid out-pointer.
            if unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) } == pid {
                reaped += 1;
            }
        }
    }
    reaped
}

/// Reaps orphans whenever a child exits, for as long as the process lives. Checks are at
/// most ten a second however many jobs end: SIGCHLDs that come meanwhile coalesce into one.
pub async fn reap_orphans_forever() {
    let Ok(mut sigchld) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::child())
    else {
        tracing::warn!("cannot watch SIGCHLD: orphans of jobs will not be reaped");
        return;
    };
    while sigchld.recv().await.is_some() {
        let reaped = tokio::task::spawn_blocking(reap_orphans).await.unwrap_or(0);
        if reaped > 0 {
            tracing::debug!("reaped {reaped} orphaned processes");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

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
/// that outlive `run.sh` are re-parented to jobod rather than to a PID 1 that may never reap
/// them, and reaps them (by [`reap_group`] at the end of a run, and by
/// [`reap_orphans_forever`] for those that left the job's group). Call within the runtime.
pub fn become_subreaper() {
    // SAFETY: prctl with PR_SET_CHILD_SUBREAPER only sets a flag on this process.
    unsafe {
        libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
    }
    if let Ok(rt) = tokio::runtime::Handle::try_current() {
        rt.spawn(reap_orphans_forever());
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
    fn orphans_are_reaped_and_own_runs_left_alone() -> std::io::Result<()> {
        // Ours: spawned through spawn_own; an orphan stand-in: spawned behind its back.
        let mut mine = spawn_own(
            || std::process::Command::new("true").spawn(),
            |c| Some(c.id()),
        )?;
        let stray = std::process::Command::new("true").spawn()?;
        let (mine_pid, stray_pid) = (mine.id() as i32, stray.id() as i32);
        let zombie = |pid| stat_fields(pid).is_some_and(|(s, _)| s == 'Z');
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while !(zombie(mine_pid) && zombie(stray_pid)) {
            assert!(std::time::Instant::now() < deadline, "they never exited");
            std::thread::sleep(Duration::from_millis(5));
        }
        // A test thread is not the main thread, which adopts orphans: the stand-in is listed
        // as a child of this one (tests/durability.rs checks a real orphan with jobod).
        // SAFETY: gettid has no preconditions.
        let me = unsafe { libc::gettid() } as u32;
        assert!(children_of(me).is_some_and(|c| c.contains(&stray_pid)));
        // Only among these two: other tests of this binary have children of their own.
        assert_eq!(reap_among(vec![mine_pid, stray_pid]), 1);
        assert!(!zombie(stray_pid), "the orphan is reaped");
        assert!(
            zombie(mine_pid),
            "our own run is left for its owner to reap"
        );
        assert!(mine.wait()?.success());
        forget_own(mine_pid);
        drop(stray);
        Ok(())
    }

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
