//! cgroup v1: finding jobod's own cgroup in the `memory`, `cpu`, `cpuacct` and `pids`
//! hierarchies, and one job's cgroup in each: limits, placing the spawning thread, killing
//! everything in it, its usage, and removing it.

use super::Caps;
use crate::api::{Enforced, Mechanism, Usage};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The controllers jobo uses.
const CONTROLLERS: [&str; 4] = ["memory", "cpu", "cpuacct", "pids"];
/// The CFS period jobo sets with a quota: 100 ms, the kernel's default.
const CFS_PERIOD_US: u64 = 100_000;

/// One v1 hierarchy: its controllers (of [`CONTROLLERS`]) and jobod's cgroup dir in it.
#[derive(Debug, Clone)]
struct Hierarchy {
    controllers: Vec<&'static str>,
    /// jobod's own cgroup, where the spawning thread goes back to.
    own: PathBuf,
    /// `<own>/jobo.<pid>`: this jobod's job cgroups.
    base: PathBuf,
}

/// The hierarchies jobod can make job cgroups in.
#[derive(Debug)]
pub struct Hierarchies(Vec<Hierarchy>);

impl Hierarchies {
    /// Finds each controller's mount and jobod's cgroup there, and makes `jobo.<pid>` in it
    /// (which proves jobod may). An error says why there are none.
    pub fn probe() -> Result<Hierarchies, String> {
        let cgroup = std::fs::read_to_string("/proc/self/cgroup")
            .map_err(|e| format!("cannot read /proc/self/cgroup: {e}"))?;
        let mountinfo = std::fs::read_to_string("/proc/self/mountinfo")
            .map_err(|e| format!("cannot read /proc/self/mountinfo: {e}"))?;
        let mut found: Vec<Hierarchy> = Vec::new();
        let mut why = Vec::new();
        for line in cgroup.lines() {
            let mut f = line.splitn(3, ':');
            let (Some(_), Some(list), Some(path)) = (f.next(), f.next(), f.next()) else {
                continue;
            };
            let controllers: Vec<&'static str> = CONTROLLERS
                .iter()
                .copied()
                .filter(|c| list.split(',').any(|l| l == *c))
                .collect();
            if controllers.is_empty() {
                continue;
            }
            let Some(own) = mount_of(&mountinfo, list, path) else {
                why.push(format!("{list}: not mounted here"));
                continue;
            };
            remove_stale(&own);
            let base = own.join(format!("jobo.{}", std::process::id()));
            match std::fs::create_dir(&base) {
                Ok(()) => found.push(Hierarchy {
                    controllers,
                    own,
                    base,
                }),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => found.push(Hierarchy {
                    controllers,
                    own,
                    base,
                }),
                Err(e) => why.push(format!("cannot create {}: {e}", base.display())),
            }
        }
        if found.is_empty() {
            if why.is_empty() {
                why.push("no cgroup v1 memory, cpu or pids hierarchy".into());
            }
            return Err(why.join("; "));
        }
        Ok(Hierarchies(found))
    }

    /// Whether `controller` has a hierarchy jobod can use.
    pub fn has(&self, controller: &str) -> bool {
        self.0.iter().any(|h| h.controllers.contains(&controller))
    }

    /// Makes job `name`'s cgroup in every hierarchy and sets `caps` there; says which were
    /// applied (a write the kernel refuses is logged and not claimed).
    pub fn create(&self, name: &str, caps: &Caps) -> std::io::Result<(JobCgroup, Enforced)> {
        let mut job = JobCgroup { dirs: Vec::new() };
        for h in &self.0 {
            let dir = h.base.join(name);
            match std::fs::create_dir(&dir) {
                Ok(()) => {}
                // A dir a crashed run left: reuse it (it is emptied below if need be).
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
                Err(e) => return Err(e),
            }
            job.dirs.push((h.controllers.clone(), h.own.clone(), dir));
        }
        let mut enforced = Enforced {
            timeout: true,
            kill: Some(Mechanism::CgroupV1),
            ..Enforced::default()
        };
        let set = |c: &str, file: &str, value: String| -> bool {
            let Some(dir) = job.dir(c) else { return false };
            match std::fs::write(dir.join(file), &value) {
                Ok(()) => true,
                Err(e) => {
                    tracing::warn!("cannot set {file} = {value} in {}: {e}", dir.display());
                    false
                }
            }
        };
        if let Some(m) = caps.memory
            && set("memory", "memory.limit_in_bytes", m.to_string())
        {
            // With swap, memsw holds the job to the same total (absent without swap accounting).
            if job
                .dir("memory")
                .is_some_and(|d| d.join("memory.memsw.limit_in_bytes").exists())
            {
                set("memory", "memory.memsw.limit_in_bytes", m.to_string());
            }
            enforced.memory = Some(Mechanism::CgroupV1);
        }
        if let Some(c) = caps.cpus {
            let quota = ((c * CFS_PERIOD_US as f64) as u64).max(1000);
            if set("cpu", "cpu.cfs_period_us", CFS_PERIOD_US.to_string())
                && set("cpu", "cpu.cfs_quota_us", quota.to_string())
            {
                enforced.cpus = Some(Mechanism::CgroupV1);
            }
        }
        if let Some(p) = caps.pids
            && set("pids", "pids.max", p.to_string())
        {
            enforced.pids = Some(Mechanism::CgroupV1);
        }
        Ok((job, enforced))
    }
}

/// Where hierarchy `list` (its controllers as `/proc/self/cgroup` names them) is mounted, and
/// `path` (a cgroup in it) under that mount: from `/proc/self/mountinfo`, minding a mount of a
/// sub-tree (its root field, in a cgroup namespace or a container).
fn mount_of(mountinfo: &str, list: &str, path: &str) -> Option<PathBuf> {
    for line in mountinfo.lines() {
        let Some((pre, post)) = line.split_once(" - ") else {
            continue;
        };
        let mut post = post.split_whitespace();
        if post.next() != Some("cgroup") {
            continue;
        }
        let options = post.nth(1).unwrap_or("");
        let opts: Vec<&str> = options.split(',').collect();
        if !list.split(',').all(|c| opts.contains(&c)) {
            continue;
        }
        let mut pre = pre.split_whitespace();
        let root = pre.nth(3)?;
        let point = pre.next()?;
        let rel = path
            .strip_prefix(root)
            .unwrap_or(path)
            .trim_start_matches('/');
        return Some(Path::new(point).join(rel));
    }
    None
}

/// One job's cgroup in each hierarchy; removed when dropped (after [`JobCgroup::kill_all`]).
#[derive(Debug)]
pub struct JobCgroup {
    /// (controllers, jobod's own dir, the job's dir) per hierarchy.
    dirs: Vec<(Vec<&'static str>, PathBuf, PathBuf)>,
}

/// The calling thread inside a job's cgroups; back in jobod's own when dropped.
pub struct Entered<'a>(&'a JobCgroup);

impl JobCgroup {
    fn dir(&self, controller: &str) -> Option<&Path> {
        self.dirs
            .iter()
            .find(|(c, _, _)| c.contains(&controller))
            .map(|(_, _, d)| d.as_path())
    }

    /// Moves the calling thread (only it: v1 `tasks` takes a thread id) into the job's
    /// cgroups, so what it spawns starts there: in its limits before its first instruction.
    pub fn enter(&self) -> std::io::Result<Entered<'_>> {
        let entered = Entered(self);
        for (_, _, dir) in &self.dirs {
            // On error the guard moves the thread back out of those it entered.
            std::fs::write(dir.join("tasks"), tid())?;
        }
        Ok(entered)
    }

    /// The job's processes now (from the first hierarchy: every one holds them all).
    fn procs(&self) -> Vec<i32> {
        let Some((_, _, dir)) = self.dirs.first() else {
            return Vec::new();
        };
        std::fs::read_to_string(dir.join("cgroup.procs"))
            .unwrap_or_default()
            .split_whitespace()
            .filter_map(|p| p.parse().ok())
            .collect()
    }

    /// SIGKILLs every process in the cgroup until none is left (new ones a fork bomb made
    /// meanwhile included), for at most `bound`. Returns whether it is empty.
    pub async fn kill_all(&self, bound: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + bound;
        loop {
            let procs = self.procs();
            if procs.is_empty() {
                return true;
            }
            for pid in procs {
                // SAFETY: kill has no memory preconditions; these pids are the job's.
                unsafe {
                    libc::kill(pid, libc::SIGKILL);
                }
            }
            if tokio::time::Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    /// Peak memory and CPU time of the whole job.
    pub fn usage(&self) -> Usage {
        let read = |c: &str, file: &str| -> Option<u64> {
            std::fs::read_to_string(self.dir(c)?.join(file))
                .ok()?
                .trim()
                .parse()
                .ok()
        };
        Usage {
            peak_memory_bytes: read("memory", "memory.max_usage_in_bytes"),
            cpu_ms: read("cpuacct", "cpuacct.usage").map(|ns| ns / 1_000_000),
        }
    }

    /// Whether the kernel OOM-killed a process of the job (`oom_kill` of
    /// `memory.oom_control`, Linux 4.13+; else the limit was hit, `memory.failcnt`).
    pub fn oom_killed(&self) -> bool {
        let Some(dir) = self.dir("memory") else {
            return false;
        };
        let control = std::fs::read_to_string(dir.join("memory.oom_control")).unwrap_or_default();
        let count = |key: &str| {
            control.lines().find_map(|l| {
                let (k, v) = l.split_once(' ')?;
                (k == key).then(|| v.trim().parse::<u64>().ok()).flatten()
            })
        };
        match count("oom_kill") {
            Some(n) => n > 0,
            None => {
                count("under_oom").is_some_and(|n| n > 0)
                    || std::fs::read_to_string(dir.join("memory.failcnt"))
                        .ok()
                        .and_then(|s| s.trim().parse::<u64>().ok())
                        .is_some_and(|n| n > 0)
            }
        }
    }
}

impl Drop for Entered<'_> {
    fn drop(&mut self) {
        for (_, own, _) in &self.0.dirs {
            if let Err(e) = std::fs::write(own.join("tasks"), tid()) {
                tracing::error!(
                    "cannot move a spawning thread back to {}: {e}",
                    own.display()
                );
            }
        }
    }
}

impl Drop for JobCgroup {
    fn drop(&mut self) {
        for (_, _, dir) in &self.dirs {
            if let Err(e) = std::fs::remove_dir(dir)
                && e.kind() != std::io::ErrorKind::NotFound
            {
                tracing::warn!("cannot remove job cgroup {}: {e}", dir.display());
            }
        }
    }
}

fn tid() -> String {
    // SAFETY: gettid has no preconditions.
    unsafe { libc::gettid() }.to_string()
}

/// Removes this jobod's (empty) `jobo.<pid>` dirs at exit.
pub fn remove_base(h: &Hierarchies) {
    for hier in &h.0 {
        let _ = std::fs::remove_dir(&hier.base);
    }
}

/// Removes the `jobo.<pid>` dirs of jobods that are gone (a crash, `kill -9`), killing what
/// their jobs left in them: nothing of a dead daemon's runs outlives the next start.
fn remove_stale(own: &Path) {
    let Ok(entries) = std::fs::read_dir(own) else {
        return;
    };
    for e in entries.flatten() {
        let name = e.file_name();
        let Some(pid) = name.to_str().and_then(|n| n.strip_prefix("jobo.")) else {
            continue;
        };
        if pid.parse::<u32>().is_err() || Path::new("/proc").join(pid).exists() {
            continue;
        }
        let jobs = std::fs::read_dir(e.path()).into_iter().flatten().flatten();
        for job in jobs.filter(|j| j.path().is_dir()) {
            for _ in 0..100 {
                let procs =
                    std::fs::read_to_string(job.path().join("cgroup.procs")).unwrap_or_default();
                if procs.trim().is_empty() {
                    break;
                }
                for p in procs
                    .split_whitespace()
                    .filter_map(|p| p.parse::<i32>().ok())
                {
                    // SAFETY: kill has no memory preconditions; these are a dead jobod's jobs.
                    unsafe {
                        libc::kill(p, libc::SIGKILL);
                    }
                }
                std::thread::sleep(Duration::from_millis(10));
            }
            let _ = std::fs::remove_dir(job.path());
        }
        let _ = std::fs::remove_dir(e.path());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_mount_of_a_hierarchy_and_a_subtree_root() {
        let info = "30 25 0:26 / /sys/fs/cgroup/memory rw,relatime shared:9 - cgroup cgroup rw,memory\n\
                    31 25 0:27 / /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct\n\
                    32 25 0:28 /docker/abc /sys/fs/cgroup/pids rw - cgroup cgroup rw,pids\n";
        assert_eq!(
            mount_of(info, "memory", "/a/b"),
            Some(PathBuf::from("/sys/fs/cgroup/memory/a/b"))
        );
        assert_eq!(
            mount_of(info, "cpu,cpuacct", "/"),
            Some(PathBuf::from("/sys/fs/cgroup/cpu,cpuacct"))
        );
        assert_eq!(
            mount_of(info, "pids", "/docker/abc/x"),
            Some(PathBuf::from("/sys/fs/cgroup/pids/x"))
        );
        assert_eq!(mount_of(info, "freezer", "/"), None);
    }
}
