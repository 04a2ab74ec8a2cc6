//! cgroup v1: finding jobod's own cgroup in the `memory`, `cpu`, `cpuacct` and `pids`
//! hierarchies, and the slots made there (a cgroup in each, and its spawn thread): leasing one
//! to a run with its limits, killing everything in it, its usage, and removing them at exit.
//!
//! v1 has no group OOM kill (v2's `memory.oom.group`): the kernel kills one process and the
//! rest of the job runs on. So each slot registers an eventfd for its OOM events
//! (`cgroup.event_control` with `memory.oom_control`), and the executor ends the whole run when
//! it fires ([`Lease::oom_notice`]), as a container's runtime does.
//!
//! The slot's thread is no candidate of the slot's OOM killer, which picks among processes
//! (thread-group leaders), and its pages are charged to jobod's own memory cgroup (the owner
//! of its address space); it does count in `pids.current`, so `pids.max` is one more than asked.

use super::procs;
use super::spawner::Spawner;
use super::{Caps, Oom};
use crate::api::{Enforced, Mechanism, Usage};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

/// The controllers jobo uses.
const CONTROLLERS: [&str; 4] = ["memory", "cpu", "cpuacct", "pids"];
/// The CFS period jobo sets with a quota: 100 ms, the kernel's default.
const CFS_PERIOD_US: u64 = 100_000;
/// The kernel's largest `cpu.shares`.
const MAX_SHARES: u64 = 262_144;

/// One v1 hierarchy: its controllers (of [`CONTROLLERS`]) and jobod's cgroup dir in it.
#[derive(Debug, Clone)]
struct Hierarchy {
    controllers: Vec<&'static str>,
    /// jobod's own cgroup, where the spawning thread goes back to.
    own: PathBuf,
    /// `<own>/jobo.<pid>`: this jobod's job cgroups.
    base: PathBuf,
}

/// The hierarchies jobod can make job cgroups in, and the slots made there so far.
pub struct Hierarchies {
    list: Vec<Hierarchy>,
    /// Slots no run holds, each empty of processes.
    free: Mutex<Vec<Slot>>,
    /// The number of the next slot made.
    next: AtomicUsize,
}

impl std::fmt::Debug for Hierarchies {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.list.iter()).finish()
    }
}

impl Hierarchies {
    /// Finds each controller's mount and jobod's cgroup there, and makes `jobo.<pid>` in it
    /// (which proves jobod may). An error says why there are none.
    pub fn probe() -> Result<Hierarchies, String> {
        let (cgroup, mountinfo) = super::own_cgroups()?;
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
        Ok(Hierarchies {
            list: found,
            free: Mutex::new(Vec::new()),
            next: AtomicUsize::new(0),
        })
    }

    /// Whether `controller` has a hierarchy jobod can use.
    pub fn has(&self, controller: &str) -> bool {
        self.list
            .iter()
            .any(|h| h.controllers.contains(&controller))
    }

    /// A slot for a run held to `caps`: a free one, or a new one. Says which limits were
    /// applied (a write the kernel refuses is logged and not claimed).
    pub fn lease(&'static self, caps: &Caps) -> std::io::Result<(Lease, Enforced)> {
        let free = self.free.lock().unwrap_or_else(|p| p.into_inner()).pop();
        let mut slot = match free {
            Some(s) => s,
            None => self.new_slot()?,
        };
        if !slot.prepare(caps) {
            // Memory it cannot give back under the new limit, or a refused write: a fresh slot
            // starts with nothing charged and no limit set.
            slot.retire();
            slot = self.new_slot()?;
            slot.prepare(caps);
        }
        let enforced = slot.enforced(caps);
        Ok((
            Lease {
                slot,
                pool: self,
                emptied: false,
            },
            enforced,
        ))
    }

    /// Makes `slot-<n>` in every hierarchy and starts its spawn thread in it.
    fn new_slot(&self) -> std::io::Result<Slot> {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        let mut dirs = Vec::with_capacity(self.list.len());
        for h in &self.list {
            let dir = h.base.join(format!("slot-{n}"));
            match std::fs::create_dir(&dir) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
                Err(e) => return Err(e),
            }
            dirs.push((h.controllers.clone(), dir));
        }
        let enter: Vec<PathBuf> = dirs.iter().map(|(_, d)| d.join("tasks")).collect();
        let leave: Vec<PathBuf> = self.list.iter().map(|h| h.own.join("tasks")).collect();
        // "0": the writing thread itself, which the kernel moves without its global
        // thread-group lock.
        let spawner = Spawner::start(
            format!("jobo-slot-{n}"),
            move || enter.iter().try_for_each(|t| std::fs::write(t, "0")),
            move || {
                for t in leave {
                    if let Err(e) = std::fs::write(&t, "0") {
                        tracing::warn!("a slot thread cannot move back to {}: {e}", t.display());
                    }
                }
            },
        )?;
        let mut slot = Slot {
            dirs,
            spawner: Some(spawner),
            applied: Caps::default(),
            oom_kills: None,
            memsw: false,
            oom_events: None,
        };
        if let Some(dir) = slot.dir("memory").map(Path::to_path_buf) {
            slot.memsw = dir.join("memory.memsw.limit_in_bytes").exists();
            slot.oom_events = oom_eventfd(&dir)
                .inspect_err(|e| {
                    tracing::warn!(
                        "no OOM events from {}: a job's other processes outlive an OOM kill \
                         until run.sh ends ({e})",
                        dir.display()
                    )
                })
                .ok();
        }
        slot.oom_kills = slot.oom_kill_count();
        if let Some(dir) = slot.dir("cpu") {
            let _ = std::fs::write(dir.join("cpu.cfs_period_us"), CFS_PERIOD_US.to_string());
        }
        // The scheduler weighs `jobo.<pid>` as one task against its siblings (jobod's other
        // processes, or everything else at the root): give it a task's weight per slot, the
        // share the jobs had as plain processes.
        if let Some(h) = self.list.iter().find(|h| h.controllers.contains(&"cpu")) {
            let shares = (1024 * (n as u64 + 1)).min(MAX_SHARES);
            let _ = std::fs::write(h.base.join("cpu.shares"), shares.to_string());
        }
        Ok(slot)
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
        return super::under_mount(pre, path);
    }
    None
}

/// One slot: a cgroup in each hierarchy, and the thread that lives there and spawns the
/// slot's runs. Reused run after run: it is empty of processes whenever it is free.
struct Slot {
    /// (controllers, dir) per hierarchy.
    dirs: Vec<(Vec<&'static str>, PathBuf)>,
    /// `None` once stopped (the slot retired).
    spawner: Option<Spawner>,
    /// The limits written into it now (a fresh cgroup has none).
    applied: Caps,
    /// `oom_kill` of `memory.oom_control` as last read (`None`: the kernel does not count).
    oom_kills: Option<u64>,
    /// Whether `memory.memsw.limit_in_bytes` exists (swap accounting).
    memsw: bool,
    /// An eventfd the kernel counts the slot's OOM events in (non-blocking).
    oom_events: Option<OwnedFd>,
}

/// Charges a free slot may keep from earlier runs (page cache, kernel objects) before they are
/// reclaimed at the next lease: more would show in the next run's peak.
const LEFTOVER_BYTES: u64 = 4 << 20;

impl Slot {
    /// What a lease holds once its slot was handed back.
    fn none() -> Slot {
        Slot {
            dirs: Vec::new(),
            spawner: None,
            applied: Caps::default(),
            oom_kills: None,
            memsw: false,
            oom_events: None,
        }
    }

    fn dir(&self, controller: &str) -> Option<&Path> {
        self.dirs
            .iter()
            .find(|(c, _)| c.contains(&controller))
            .map(|(_, d)| d.as_path())
    }

    fn read(&self, controller: &str, file: &str) -> Option<u64> {
        std::fs::read_to_string(self.dir(controller)?.join(file))
            .ok()?
            .trim()
            .parse()
            .ok()
    }

    fn write(&self, controller: &str, file: &str, value: &str) -> bool {
        let Some(dir) = self.dir(controller) else {
            return false;
        };
        match std::fs::write(dir.join(file), value) {
            Ok(()) => true,
            Err(e) => {
                tracing::warn!("cannot set {file} = {value} in {}: {e}", dir.display());
                false
            }
        }
    }

    /// Readies the slot for a run held to `caps`: what earlier runs left charged is reclaimed,
    /// the limits that differ from the last run's are written, the counters reset. False when
    /// that failed (memory that cannot be reclaimed under the new limit, a refused write).
    fn prepare(&mut self, caps: &Caps) -> bool {
        let mut ok = true;
        if self.dir("memory").is_some() {
            let usage = self.read("memory", "memory.usage_in_bytes").unwrap_or(0);
            let room = caps
                .memory
                .unwrap_or(u64::MAX)
                .min(u64::MAX - LEFTOVER_BYTES);
            if usage > LEFTOVER_BYTES || usage + LEFTOVER_BYTES > room {
                // Synchronous reclaim of the slot's charges (a few ms; only after runs that
                // left page cache). A limit under what stays (tmpfs files) would be refused
                // after seconds of trying: the caller takes a fresh slot instead.
                let _ = std::fs::write(self.dir_file("memory", "memory.force_empty"), "0");
                let usage = self.read("memory", "memory.usage_in_bytes").unwrap_or(0);
                if caps.memory.is_some_and(|m| usage >= m) {
                    return false;
                }
            }
            ok &= self.set_memory(caps.memory);
            // Events of earlier runs are theirs.
            if let Some(fd) = &self.oom_events {
                super::take_events(fd);
            }
            self.write("memory", "memory.max_usage_in_bytes", "0");
            if self.oom_kills.is_none() {
                self.write("memory", "memory.failcnt", "0");
            }
        }
        if self.dir("cpu").is_some() && caps.cpus != self.applied.cpus {
            let quota = caps.cpus.map_or("-1".to_string(), |c| {
                ((c * CFS_PERIOD_US as f64) as u64).max(1000).to_string()
            });
            if self.write("cpu", "cpu.cfs_quota_us", &quota) {
                self.applied.cpus = caps.cpus;
            } else {
                ok = false;
            }
        }
        if self.dir("pids").is_some() && caps.pids != self.applied.pids {
            // The slot's own spawn thread counts as one.
            let max = caps.pids.map_or("max".to_string(), |p| (p + 1).to_string());
            if self.write("pids", "pids.max", &max) {
                self.applied.pids = caps.pids;
            } else {
                ok = false;
            }
        }
        if self.dir("cpuacct").is_some() {
            self.write("cpuacct", "cpuacct.usage", "0");
        }
        ok
    }

    fn dir_file(&self, controller: &str, file: &str) -> PathBuf {
        self.dir(controller)
            .map(|d| d.join(file))
            .unwrap_or_default()
    }

    /// Writes the memory limit when it changes; with swap accounting the memory+swap limit
    /// too, in the order the kernel accepts (it must never be under the memory limit).
    fn set_memory(&mut self, want: Option<u64>) -> bool {
        if want == self.applied.memory {
            return true;
        }
        let value = want.map_or("-1".to_string(), |m| m.to_string());
        let raising = match (self.applied.memory, want) {
            (_, None) => true,
            (None, Some(_)) => false,
            (Some(old), Some(new)) => new > old,
        };
        let mut files = vec!["memory.limit_in_bytes"];
        if self.memsw {
            files.push("memory.memsw.limit_in_bytes");
        }
        if raising {
            files.reverse();
        }
        let ok = files.iter().all(|f| self.write("memory", f, &value));
        if ok {
            self.applied.memory = want;
        }
        ok
    }

    /// What `caps` got in this slot: the limits now written, of the controllers it has.
    fn enforced(&self, caps: &Caps) -> Enforced {
        let on = |c: &str, asked: bool, applied: bool| {
            (asked && applied && self.dir(c).is_some()).then_some(Mechanism::CgroupV1)
        };
        Enforced {
            timeout: true,
            memory: on(
                "memory",
                caps.memory.is_some(),
                caps.memory == self.applied.memory,
            ),
            cpus: on("cpu", caps.cpus.is_some(), caps.cpus == self.applied.cpus),
            pids: on("pids", caps.pids.is_some(), caps.pids == self.applied.pids),
            kill: Some(Mechanism::CgroupV1),
            network: None,
        }
    }

    /// One of its dirs: each holds all of the slot's processes.
    fn any_dir(&self) -> &Path {
        self.dirs
            .first()
            .map_or(Path::new(""), |(_, d)| d.as_path())
    }

    fn oom_kill_count(&self) -> Option<u64> {
        let control =
            std::fs::read_to_string(self.dir("memory")?.join("memory.oom_control")).ok()?;
        oom_control_count(&control, "oom_kill")
    }

    /// Stops the spawn thread (out of the slot first) and removes the slot's dirs; what
    /// cannot be removed (processes left) stays for jobod's exit or the next start.
    fn retire(&mut self) {
        drop(self.spawner.take());
        for (_, dir) in &self.dirs {
            if let Err(e) = std::fs::remove_dir(dir)
                && e.kind() != std::io::ErrorKind::NotFound
            {
                tracing::warn!("cannot remove slot cgroup {}: {e}", dir.display());
            }
        }
    }
}

/// A non-blocking eventfd the kernel signals at each OOM event of memory cgroup `dir`.
fn oom_eventfd(dir: &Path) -> std::io::Result<OwnedFd> {
    // SAFETY: eventfd takes an initial count and flags; the result is a new descriptor or -1.
    let fd = unsafe { libc::eventfd(0, libc::EFD_CLOEXEC | libc::EFD_NONBLOCK) };
    if fd < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: a fresh descriptor nobody else owns.
    let fd = unsafe { OwnedFd::from_raw_fd(fd) };
    let control = std::fs::File::open(dir.join("memory.oom_control"))?;
    // The registration holds the eventfd; `control` may be closed after it.
    std::fs::write(
        dir.join("cgroup.event_control"),
        format!("{} {}", fd.as_raw_fd(), control.as_raw_fd()),
    )?;
    Ok(fd)
}

fn oom_control_count(control: &str, key: &str) -> Option<u64> {
    control.lines().find_map(|l| {
        let (k, v) = l.split_once(' ')?;
        (k == key).then(|| v.trim().parse::<u64>().ok()).flatten()
    })
}

/// A run's hold on a slot: back to the free slots when dropped if [`Lease::kill_all`] emptied
/// it, else retired.
pub struct Lease {
    slot: Slot,
    pool: &'static Hierarchies,
    emptied: bool,
}

impl Lease {
    /// Runs `spawn` on the slot's thread: what it starts begins in the slot's cgroups, in its
    /// limits before its first instruction.
    pub async fn spawn<R: Send + 'static>(
        &self,
        spawn: impl FnOnce() -> std::io::Result<R> + Send + 'static,
    ) -> std::io::Result<R> {
        match &self.slot.spawner {
            Some(s) => s.run(spawn).await?,
            None => Err(std::io::Error::other("the slot is retired")),
        }
    }

    /// Sends `signal` to every process of the run (setsid children included).
    pub fn signal_all(&self, signal: i32) {
        procs::signal(self.slot.any_dir(), signal);
    }

    /// SIGKILLs every process in the slot until none is left (new ones a fork bomb made
    /// meanwhile included), for at most `bound`. Returns whether it is empty.
    pub async fn kill_all(&mut self, bound: Duration) -> bool {
        self.emptied = procs::kill_all(self.slot.any_dir(), bound, false).await;
        self.emptied
    }

    /// What tells of the run's OOM events: a copy of the slot's eventfd, to be watched in
    /// the runtime the run is waited in.
    pub fn oom_events(&self) -> Option<OwnedFd> {
        self.slot.oom_events.as_ref()?.try_clone().ok()
    }

    /// Peak memory and CPU time of the run (counters reset when it was leased).
    pub fn usage(&self) -> Usage {
        let slot = &self.slot;
        Usage {
            peak_memory_bytes: slot.read("memory", "memory.max_usage_in_bytes"),
            cpu_ms: slot
                .read("cpuacct", "cpuacct.usage")
                .map(|ns| ns / 1_000_000),
        }
    }

    /// What the kernel did about the run's memory: `oom_kill` of `memory.oom_control`
    /// (Linux 4.13+) grew since the lease; on older kernels only whether the limit was hit
    /// (`memory.failcnt`, reset at the lease).
    pub fn oom(&mut self) -> Oom {
        let slot = &mut self.slot;
        if slot.dir("memory").is_none() {
            return Oom::None;
        }
        match (slot.oom_kills, slot.oom_kill_count()) {
            (Some(before), Some(now)) => {
                slot.oom_kills = Some(now);
                if now > before { Oom::Killed } else { Oom::None }
            }
            _ => match slot.read("memory", "memory.failcnt") {
                Some(n) if n > 0 => Oom::HitLimit,
                _ => Oom::None,
            },
        }
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        let mut slot = std::mem::replace(&mut self.slot, Slot::none());
        if self.emptied {
            // The OOM count moves with the run that caused it: read it for the next run.
            slot.oom_kills = slot.oom_kill_count().or(slot.oom_kills);
            self.pool
                .free
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .push(slot);
        } else {
            tracing::error!("a slot cgroup still holds processes: retired");
            slot.retire();
        }
    }
}

/// Stops every free slot's thread and removes its dirs, then this jobod's `jobo.<pid>` dirs
/// (at exit; a slot still leased is left to the next start).
pub fn remove_base(h: &Hierarchies) {
    let slots = std::mem::take(&mut *h.free.lock().unwrap_or_else(|p| p.into_inner()));
    for mut slot in slots {
        slot.retire();
    }
    for hier in &h.list {
        let _ = std::fs::remove_dir(&hier.base);
    }
}

/// Removes the `jobo.<pid>` dirs of jobods that are gone (a crash, `kill -9`), killing what
/// their jobs left in them: nothing of a dead daemon's runs outlives the next start.
pub(super) fn remove_stale(own: &Path) {
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
            procs::kill_and_remove(&job.path());
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
