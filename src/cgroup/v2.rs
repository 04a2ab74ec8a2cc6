//! cgroup v2: the job's cgroup in the unified hierarchy, with the `memory`, `cpu` and `pids`
//! controllers where the hierarchy offers them to jobod (v2-only hosts: `memory.max`,
//! `cpu.max`, `pids.max`; OOM kills from `memory.events`, peak memory from `memory.peak`), and
//! without any (the unified hierarchy of a hybrid host) for whole-job kill and CPU time only,
//! memory then held by `RLIMIT_AS`. Either way `cgroup.kill` (Linux 5.14+; a SIGKILL per
//! process before) ends every process of the job, setsid and double-forked ones too, and
//! `cpu.stat` gives its CPU time.
//!
//! Controllers and the "no internal processes" rule: a cgroup can hand controllers to its
//! children (`cgroup.subtree_control`) only while it holds no process itself, the root
//! excepted. So at start ([`Unified::probe`]) jobod, in a cgroup of its own (systemd's
//! `Delegate=yes`), moves itself into a leaf `jobo.<pid>/daemon` and enables the controllers
//! in its cgroup and in `jobo.<pid>`, whose other children are the slots; in the root cgroup
//! (root on a plain host) it stays where it is. Where its cgroup holds other processes too
//! (jobod started from a shell), nothing is enabled and jobod says why.
//!
//! v2 keeps all threads of a process in one cgroup, so a spawning thread cannot step into a
//! slot as on v1: the child places itself, writing to the slot's `cgroup.procs` between its
//! clone and `exec` (src/spawn.rs; `clone3(CLONE_INTO_CGROUP)` would save it that write, but
//! has no glibc wrapper that runs a function on the child's stack). The slot's limits are
//! written before the spawn, so the job never runs unlimited. Slots are reused as on v1,
//! except where a slot's `memory.peak` cannot be reset (Linux before 6.12), which would carry
//! one run's peak into the next: there each run gets a fresh cgroup.

use super::procs;
use super::{Caps, Oom};
use crate::api::{Enforced, Mechanism, Usage};
use std::fs::File;
use std::io::{Read, Seek, Write};
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

/// The CFS period jobo sets with a quota: 100 ms, the kernel's default.
const CPU_PERIOD_US: u64 = 100_000;
/// Charges a free slot may keep from earlier runs (page cache, kernel objects): more would
/// show in the next run's peak and count against its limit.
const LEFTOVER_BYTES: u64 = 4 << 20;

/// The v2 controllers jobo uses, as enabled for its job cgroups.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Controllers {
    pub memory: bool,
    pub cpu: bool,
    pub pids: bool,
}

impl Controllers {
    /// Those of a `cgroup.controllers` or `cgroup.subtree_control` list.
    fn parse(list: &str) -> Controllers {
        let has = |c: &str| list.split_whitespace().any(|l| l == c);
        Controllers {
            memory: has("memory"),
            cpu: has("cpu"),
            pids: has("pids"),
        }
    }

    pub fn all(&self) -> bool {
        self.memory && self.cpu && self.pids
    }

    pub fn any(&self) -> bool {
        self.memory || self.cpu || self.pids
    }

    fn names(&self) -> Vec<&'static str> {
        [
            (self.memory, "memory"),
            (self.cpu, "cpu"),
            (self.pids, "pids"),
        ]
        .into_iter()
        .filter_map(|(on, n)| on.then_some(n))
        .collect()
    }
}

/// This jobod's cgroups in the v2 hierarchy.
pub struct Unified {
    /// jobod's cgroup when it started.
    own: PathBuf,
    /// `<own>/jobo.<pid>`: the slots' parent.
    base: PathBuf,
    /// Whether jobod moved itself into `<base>/daemon` (out of `own`, to enable controllers).
    moved: bool,
    /// Enabled for the slots.
    pub controllers: Controllers,
    /// Why none is, where the hierarchy offers some (for the log).
    pub not_enabled: Option<String>,
    /// Whether the kernel has `cgroup.kill`.
    cgroup_kill: bool,
    free: Mutex<Vec<Slot>>,
    next: AtomicUsize,
}

impl std::fmt::Debug for Unified {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Unified")
            .field("base", &self.base)
            .field("controllers", &self.controllers)
            .finish()
    }
}

/// jobod's own cgroup dir in the v2 hierarchy.
fn own_dir() -> Result<PathBuf, String> {
    let (cgroup, mountinfo) = super::own_cgroups()?;
    let path = cgroup
        .lines()
        .find_map(|l| l.strip_prefix("0::"))
        .ok_or("no cgroup v2 hierarchy")?;
    mount_of(&mountinfo, path).ok_or_else(|| "cgroup v2 is not mounted here".into())
}

/// The controllers of jobo's that the v2 hierarchy offers jobod's cgroup (none on a hybrid
/// host, where they are bound to v1). Reads only.
pub fn offered() -> Controllers {
    own_dir()
        .ok()
        .and_then(|own| std::fs::read_to_string(own.join("cgroup.controllers")).ok())
        .map_or_else(Controllers::default, |l| Controllers::parse(&l))
}

fn mkdir(dir: &Path) -> std::io::Result<()> {
    match std::fs::create_dir(dir) {
        Err(e) if e.kind() != std::io::ErrorKind::AlreadyExists => Err(e),
        _ => Ok(()),
    }
}

/// Writes `+controller` for each of `want` into `dir`'s `cgroup.subtree_control`; those the
/// kernel took.
fn enable(dir: &Path, want: Controllers) -> Controllers {
    let file = dir.join("cgroup.subtree_control");
    let on = |asked: bool, name: &str| asked && std::fs::write(&file, format!("+{name}")).is_ok();
    Controllers {
        memory: on(want.memory, "memory"),
        cpu: on(want.cpu, "cpu"),
        pids: on(want.pids, "pids"),
    }
}

/// Moves jobod (all its threads) into cgroup `dir`.
fn move_self(dir: &Path) -> std::io::Result<()> {
    std::fs::write(dir.join("cgroup.procs"), std::process::id().to_string())
}

impl Unified {
    /// Finds jobod's cgroup in the v2 hierarchy and makes `jobo.<pid>` in it (which proves
    /// jobod may); with `controllers`, enables those offered for the slots (moving jobod into
    /// a leaf first, out of the root). An error says why there is no v2 cgroup at all.
    pub fn probe(controllers: bool) -> Result<Unified, String> {
        let own = own_dir()?;
        super::v1::remove_stale(&own);
        let base = own.join(format!("jobo.{}", std::process::id()));
        mkdir(&base).map_err(|e| format!("cannot create {}: {e}", base.display()))?;
        let (controllers, not_enabled) = if controllers {
            match enable_for_slots(&own, &base) {
                Ok(c) => (c, None),
                Err(why) => (Controllers::default(), Some(why)),
            }
        } else {
            (Controllers::default(), None)
        };
        let moved = controllers.any() && own.join("cgroup.type").exists();
        Ok(Unified {
            cgroup_kill: base.join("cgroup.kill").exists(),
            own,
            base,
            moved,
            controllers,
            not_enabled,
            free: Mutex::new(Vec::new()),
            next: AtomicUsize::new(0),
        })
    }

    /// A free slot or a new one, readied for a run held to `caps` that `cmd` will spawn, whose
    /// child will place itself there before `exec`; says which limits were applied (a write
    /// the kernel refuses is logged and not claimed).
    pub fn lease(
        &'static self,
        cmd: &mut crate::spawn::Spec,
        caps: &Caps,
    ) -> std::io::Result<(Lease, Enforced)> {
        let free = self.free.lock().unwrap_or_else(|p| p.into_inner()).pop();
        let mut slot = match free {
            Some(s) => s,
            None => self.new_slot()?,
        };
        if !slot.prepare(caps, self.controllers) {
            // Charges it cannot give back, a peak it cannot reset, a refused write: a fresh
            // slot starts with nothing charged and no limit set.
            slot.retire();
            slot = self.new_slot()?;
            slot.prepare(caps, self.controllers);
        }
        cmd.place = Some(slot.procs.as_raw_fd());
        let enforced = slot.enforced(caps, self.controllers);
        let cpu_before = cpu_usec(&slot.dir);
        Ok((
            Lease {
                slot: Some(slot),
                pool: self,
                emptied: false,
                cpu_before,
            },
            enforced,
        ))
    }

    fn new_slot(&self) -> std::io::Result<Slot> {
        let dir = self.base.join(format!(
            "slot-{}",
            self.next.fetch_add(1, Ordering::Relaxed)
        ));
        mkdir(&dir)?;
        let procs = std::fs::OpenOptions::new()
            .write(true)
            .open(dir.join("cgroup.procs"))?
            .into();
        let mut slot = Slot {
            procs,
            applied: Caps::default(),
            oom_kills: None,
            peak: None,
            reusable: true,
            used: false,
            dir,
        };
        if self.controllers.memory {
            // An out-of-memory kill takes the whole run, as a container's: a job whose
            // process was killed half-way is not left to exit 0 without it.
            slot.write("memory.oom.group", "1");
            let peak = slot.dir.join("memory.peak");
            // Writable (a reset) from Linux 6.12; readable from 5.19.
            let rw = std::fs::OpenOptions::new()
                .read(true)
                .write(true)
                .open(&peak);
            slot.reusable = rw.is_ok();
            slot.peak = rw.or_else(|_| File::open(&peak)).ok();
        }
        Ok(slot)
    }
}

/// Enables the offered controllers for children of `base` (`<own>/jobo.<pid>`): in `own` and
/// `base`, with jobod moved out of `own` into `base/daemon` unless `own` is the root. What was
/// enabled, or why nothing could be.
fn enable_for_slots(own: &Path, base: &Path) -> Result<Controllers, String> {
    let offered = std::fs::read_to_string(own.join("cgroup.controllers"))
        .map(|l| Controllers::parse(&l))
        .unwrap_or_default();
    if !offered.any() {
        return Ok(offered);
    }
    // Only the root cgroup lacks `cgroup.type`; it may hold processes and still hand out
    // controllers.
    let root = !own.join("cgroup.type").exists();
    let leaf = base.join("daemon");
    if !root {
        mkdir(&leaf).map_err(|e| format!("cannot create {}: {e}", leaf.display()))?;
        if let Err(e) = move_self(&leaf) {
            let _ = std::fs::remove_dir(&leaf);
            return Err(format!("cannot move jobod into {}: {e}", leaf.display()));
        }
    }
    let enabled = enable(own, offered);
    if !enabled.any() {
        let others = procs::list(own).len();
        if !root {
            let _ = move_self(own);
            let _ = std::fs::remove_dir(&leaf);
        }
        return Err(format!(
            "cannot enable {} in {}: it holds {others} other process(es) (run jobod in a \
             cgroup of its own, as systemd's Delegate=yes does)",
            offered.names().join(", "),
            own.display()
        ));
    }
    let enabled = enable(base, enabled);
    if !enabled.any() {
        return Err(format!(
            "cannot enable {} in {}",
            offered.names().join(", "),
            base.display()
        ));
    }
    Ok(enabled)
}

/// `usage_usec` of the cgroup's `cpu.stat` (there without the cpu controller).
fn cpu_usec(dir: &Path) -> Option<u64> {
    let stat = std::fs::read_to_string(dir.join("cpu.stat")).ok()?;
    key_value(&stat, "usage_usec")
}

/// The value of `key` in a flat-keyed file (`cpu.stat`, `memory.events`).
fn key_value(text: &str, key: &str) -> Option<u64> {
    text.lines().find_map(|l| {
        let (k, v) = l.split_once(' ')?;
        (k == key).then(|| v.trim().parse().ok()).flatten()
    })
}

/// Where the v2 hierarchy is mounted, and `path` (a cgroup in it) under that mount.
fn mount_of(mountinfo: &str, path: &str) -> Option<PathBuf> {
    mountinfo.lines().find_map(|line| {
        let (pre, post) = line.split_once(" - ")?;
        if post.split_whitespace().next() != Some("cgroup2") {
            return None;
        }
        super::under_mount(pre, path)
    })
}

/// One slot: a v2 cgroup, reused run after run where its counters can be reset; empty of
/// processes whenever it is free.
struct Slot {
    dir: PathBuf,
    /// Its `cgroup.procs`, open for the child to write itself into.
    procs: OwnedFd,
    /// The limits written into it now (a fresh cgroup has none).
    applied: Caps,
    /// `oom_kill` of `memory.events` at the lease.
    oom_kills: Option<u64>,
    /// Its `memory.peak`, open (read-write where the kernel resets it by a write).
    peak: Option<File>,
    /// Whether a run may have it after another: its peak can be reset, or is not measured.
    reusable: bool,
    /// Whether a run had it already.
    used: bool,
}

impl Slot {
    fn read(&self, file: &str) -> Option<String> {
        std::fs::read_to_string(self.dir.join(file)).ok()
    }

    fn write(&self, file: &str, value: &str) -> bool {
        match std::fs::write(self.dir.join(file), value) {
            Ok(()) => true,
            Err(e) => {
                tracing::warn!("cannot set {file} = {value} in {}: {e}", self.dir.display());
                false
            }
        }
    }

    fn memory_current(&self) -> u64 {
        self.read("memory.current")
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0)
    }

    /// Readies the slot for a run held to `caps`: the limits that differ from the last run's
    /// written, the counters reset. False when that failed (charges left that cannot be
    /// reclaimed, a peak that cannot be reset, a refused write).
    fn prepare(&mut self, caps: &Caps, on: Controllers) -> bool {
        let mut ok = true;
        if on.memory {
            if self.used {
                let current = self.memory_current();
                if current > LEFTOVER_BYTES {
                    // Page cache an earlier run left (Linux 5.19+): reclaim it now, synchronously.
                    let _ = std::fs::write(self.dir.join("memory.reclaim"), current.to_string());
                    if self.memory_current() > LEFTOVER_BYTES {
                        return false;
                    }
                }
                let reset = self
                    .peak
                    .as_mut()
                    .is_some_and(|f| f.write_all(b"0").is_ok());
                if !reset {
                    return false;
                }
            }
            if caps.memory != self.applied.memory {
                let max = caps.memory.map_or("max".to_string(), |m| m.to_string());
                // No swap beyond the limit either, where there is swap accounting.
                let swap = if caps.memory.is_some() { "0" } else { "max" };
                let swap_file = self.dir.join("memory.swap.max");
                if self.write("memory.max", &max)
                    && (!swap_file.exists() || self.write("memory.swap.max", swap))
                {
                    self.applied.memory = caps.memory;
                } else {
                    ok = false;
                }
            }
            self.oom_kills = self.oom_kill_count();
        }
        if on.cpu && caps.cpus != self.applied.cpus {
            let quota = caps.cpus.map_or("max".to_string(), |c| {
                ((c * CPU_PERIOD_US as f64) as u64).max(1000).to_string()
            });
            if self.write("cpu.max", &format!("{quota} {CPU_PERIOD_US}")) {
                self.applied.cpus = caps.cpus;
            } else {
                ok = false;
            }
        }
        if on.pids && caps.pids != self.applied.pids {
            let max = caps.pids.map_or("max".to_string(), |p| p.to_string());
            if self.write("pids.max", &max) {
                self.applied.pids = caps.pids;
            } else {
                ok = false;
            }
        }
        self.used = true;
        ok
    }

    /// What `caps` got in this slot: the limits now written, of the controllers enabled.
    fn enforced(&self, caps: &Caps, on: Controllers) -> Enforced {
        let by = |enabled: bool, asked: bool, applied: bool| {
            (enabled && asked && applied).then_some(Mechanism::CgroupV2)
        };
        Enforced {
            timeout: true,
            memory: match on.memory {
                true => by(
                    true,
                    caps.memory.is_some(),
                    caps.memory == self.applied.memory,
                ),
                false => caps.memory.map(|_| Mechanism::Rlimit),
            },
            cpus: by(on.cpu, caps.cpus.is_some(), caps.cpus == self.applied.cpus),
            pids: by(on.pids, caps.pids.is_some(), caps.pids == self.applied.pids),
            kill: Some(Mechanism::CgroupV2),
            network: None,
        }
    }

    fn oom_kill_count(&self) -> Option<u64> {
        key_value(&self.read("memory.events")?, "oom_kill")
    }

    /// The peak memory since the slot was made or its peak reset.
    fn peak(&self) -> Option<u64> {
        let mut f = self.peak.as_ref()?;
        f.rewind().ok()?;
        let mut s = String::new();
        f.read_to_string(&mut s).ok()?;
        s.trim().parse().ok()
    }

    /// Removes the slot's dir (empty of processes by now).
    fn retire(&self) {
        if let Err(e) = std::fs::remove_dir(&self.dir)
            && e.kind() != std::io::ErrorKind::NotFound
        {
            tracing::warn!("cannot remove slot cgroup {}: {e}", self.dir.display());
        }
    }
}

/// A run's hold on a v2 slot: back to the free slots when dropped if [`Lease::kill_all`]
/// emptied it (removed if it cannot be reused), else left (jobod's next start removes it).
pub struct Lease {
    slot: Option<Slot>,
    pool: &'static Unified,
    emptied: bool,
    cpu_before: Option<u64>,
}

impl Lease {
    fn dir(&self) -> &Path {
        self.slot
            .as_ref()
            .map_or(Path::new(""), |s| s.dir.as_path())
    }

    pub fn signal_all(&self, signal: i32) {
        procs::signal(self.dir(), signal);
    }

    pub async fn kill_all(&mut self, bound: Duration) -> bool {
        self.emptied = procs::kill_all(self.dir(), bound, self.pool.cgroup_kill).await;
        self.emptied
    }

    /// Whether the cgroup measures the run's peak memory (the memory controller).
    pub fn measures_memory(&self) -> bool {
        self.slot.as_ref().is_some_and(|s| s.peak.is_some())
    }

    /// CPU time of the run, and its peak memory where the memory controller is on.
    pub fn usage(&self) -> Usage {
        let now = cpu_usec(self.dir());
        Usage {
            peak_memory_bytes: self.slot.as_ref().and_then(Slot::peak),
            cpu_ms: now.map(|n| n.saturating_sub(self.cpu_before.unwrap_or(0)) / 1000),
        }
    }

    /// Whether the kernel OOM-killed a process of the run: `oom_kill` of `memory.events`
    /// grew since the lease.
    pub fn oom(&mut self) -> Oom {
        let Some(slot) = self.slot.as_mut() else {
            return Oom::None;
        };
        match (slot.oom_kills, slot.oom_kill_count()) {
            (Some(before), Some(now)) if now > before => {
                slot.oom_kills = Some(now);
                Oom::Killed
            }
            _ => Oom::None,
        }
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        let Some(slot) = self.slot.take() else {
            return;
        };
        if !self.emptied {
            tracing::error!("slot cgroup {} still holds processes", slot.dir.display());
            return;
        }
        if !slot.reusable {
            // A peak that cannot be reset (Linux before 6.12): a fresh cgroup per run.
            slot.retire();
            return;
        }
        self.pool
            .free
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(slot);
    }
}

/// Removes the free slots and this jobod's `jobo.<pid>` dir at exit; where jobod moved itself
/// into `jobo.<pid>/daemon`, it disables the controllers again and moves back first, leaving
/// its cgroup as it found it (what a slot still leased keeps is left to the next start).
pub fn remove_base(u: &Unified) {
    let slots = std::mem::take(&mut *u.free.lock().unwrap_or_else(|p| p.into_inner()));
    for slot in slots {
        slot.retire();
    }
    if u.moved {
        let off: Vec<String> = u
            .controllers
            .names()
            .iter()
            .map(|c| format!("-{c}"))
            .collect();
        let off = off.join(" ");
        let _ = std::fs::write(u.base.join("cgroup.subtree_control"), &off);
        let _ = std::fs::write(u.own.join("cgroup.subtree_control"), &off);
        if move_self(&u.own).is_ok() {
            let _ = std::fs::remove_dir(u.base.join("daemon"));
        }
    }
    let _ = std::fs::remove_dir(&u.base);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_v2_mount_and_a_subtree_root() {
        let info = "41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n";
        assert_eq!(
            mount_of(info, "/"),
            Some(PathBuf::from("/sys/fs/cgroup/unified"))
        );
        let info = "29 23 0:26 /ctr /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n";
        assert_eq!(
            mount_of(info, "/ctr/system.slice/jobod.service"),
            Some(PathBuf::from("/sys/fs/cgroup/system.slice/jobod.service"))
        );
        assert_eq!(
            mount_of("30 25 0:26 / /x - cgroup cgroup rw,memory\n", "/"),
            None
        );
    }

    #[test]
    fn reads_controller_lists_and_flat_keyed_files() {
        let c = Controllers::parse("cpuset cpu io memory hugetlb pids rdma misc\n");
        assert!(c.all());
        assert_eq!(c.names(), ["memory", "cpu", "pids"]);
        let c = Controllers::parse("cpuset io memory\n");
        assert!(c.memory && !c.cpu && !c.pids && c.any() && !c.all());
        assert!(!Controllers::parse("").any());
        let events = "low 0\nhigh 0\nmax 12\noom 1\noom_kill 1\noom_group_kill 0\n";
        assert_eq!(key_value(events, "oom_kill"), Some(1));
        assert_eq!(key_value(events, "oom"), Some(1));
        assert_eq!(
            key_value("usage_usec 1234\nuser_usec 1000\n", "usage_usec"),
            Some(1234)
        );
    }
}
