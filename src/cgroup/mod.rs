//! Per-job resource limits and whole-job kill through cgroups, where jobod can create them.
//!
//! What this host offers is probed once at start ([`init`], logged, reported by
//! `GET /v1/system`): the cgroup v1 hierarchies of the `memory`, `cpu`, `cpuacct` and `pids`
//! controllers (hybrid hosts such as this project's CI), under jobod's own cgroup in each, where
//! jobod may `mkdir` (root, or a delegated cgroup). Runs are held in *slots*:
//! `<jobod's cgroup>/jobo.<jobod pid>/slot-<n>` in every such hierarchy ([`v1`]), made when
//! more runs are under way at once than ever before and reused run after run. Each slot has a
//! thread of jobod that lives in its cgroups ([`spawner`]; v1 lets threads of one process sit
//! in different cgroups) and spawns the slot's runs, so a run is in its cgroups before `exec`
//! without forking the daemon. Per run only the limits that changed are written and the
//! counters reset; at its end everything left in the slot is killed before the slot is free
//! again. A cgroup per run instead (mkdir, eight thread migrations and rmdir under the
//! kernel's cgroup lock, a dying memory cgroup per run) cost a third of the trivial-job
//! throughput.
//!
//! Where the v2 hierarchy offers the controllers instead (v2-only hosts, most current
//! distributions), or offers more of them than v1, runs are held in v2 slots ([`v2`]) with
//! `memory.max`, `cpu.max` and `pids.max`. Where no v1 limit controller can be used and v2 has
//! none either (the unified hierarchy of a hybrid host), v2 slots still track the whole job and
//! kill it (`cgroup.kill`) and measure its CPU time; memory is held by `RLIMIT_AS`. Elsewhere:
//! rlimits and the process group only ([`rlimit`]), and jobod says so. The order: v1 where it
//! has memory, cpu and pids, else v2 where it has all three, else whichever has controllers
//! (v1 first), else a v2 cgroup without, else rlimits.

mod procs;
pub mod rlimit;
mod spawner;
pub mod v1;
pub mod v2;

use crate::api::{Enforced, Mechanism, Usage};
use std::sync::OnceLock;
use std::time::Duration;

/// jobod's `/proc/self/cgroup` and `/proc/self/mountinfo`: where its cgroups are, and where
/// each hierarchy is mounted. An error says which could not be read.
fn own_cgroups() -> Result<(String, String), String> {
    let read =
        |path: &str| std::fs::read_to_string(path).map_err(|e| format!("cannot read {path}: {e}"));
    Ok((read("/proc/self/cgroup")?, read("/proc/self/mountinfo")?))
}

/// The limits a run asks the kernel to hold it to (`None`: no limit).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Caps {
    pub memory: Option<u64>,
    pub cpus: Option<f64>,
    pub pids: Option<u64>,
}

impl Caps {
    pub fn of(l: &crate::api::Limits) -> Caps {
        Caps {
            memory: l.memory_bytes,
            cpus: l.cpus,
            pids: l.pids,
        }
    }
}

/// What this host lets jobod enforce, decided once.
#[derive(Debug)]
pub enum Support {
    /// Job cgroups can be made in these v1 hierarchies.
    V1(v1::Hierarchies),
    /// Job cgroups in the v2 hierarchy, with the controllers it enabled (maybe none: kill and
    /// CPU time only).
    V2(v2::Unified),
    /// No cgroups: rlimits only; the reason, for the log and `GET /v1/system`.
    Rlimits(String),
}

static SUPPORT: OnceLock<Support> = OnceLock::new();

/// `path` (a cgroup) under the mount a `/proc/self/mountinfo` line describes, given the part
/// before its " - ": the mount's root field minds a mount of a sub-tree (in a cgroup namespace
/// or a container).
fn under_mount(pre: &str, path: &str) -> Option<std::path::PathBuf> {
    let mut pre = pre.split_whitespace();
    let root = pre.nth(3)?;
    let point = pre.next()?;
    let rel = path
        .strip_prefix(root)
        .unwrap_or(path)
        .trim_start_matches('/');
    Some(std::path::Path::new(point).join(rel))
}

/// Probes the host (or takes the fallback when `cgroups` is false, the config's
/// `[local_worker] cgroups`) and logs what jobod can enforce. Later calls change nothing.
pub fn init(cgroups: bool) -> &'static Support {
    SUPPORT.get_or_init(|| {
        let support = if !cgroups {
            Support::Rlimits("cgroups = false in [local_worker]".into())
        } else {
            probe()
        };
        for line in describe(&support) {
            tracing::info!("enforces: {line}");
        }
        if let Support::V2(u) = &support
            && let Some(why) = &u.not_enabled
        {
            tracing::warn!("no cgroup v2 controllers for jobs: {why}");
        }
        if let Support::Rlimits(why) = &support {
            tracing::warn!(
                "no job cgroups ({why}): memory by RLIMIT_AS only; cpus and pids are not enforced"
            );
        }
        support
    })
}

/// Picks the cgroups to use: v1 with all of memory, cpu and pids; else v2 with all three
/// (enabled there only then: it moves jobod); else v1 with some; else v2 with what it has.
fn probe() -> Support {
    let v1 = v1::Hierarchies::probe();
    let full_v1 = v1
        .as_ref()
        .is_ok_and(|h| ["memory", "cpu", "pids"].iter().all(|c| h.has(c)));
    if full_v1 {
        return v1.map_or_else(Support::Rlimits, Support::V1);
    }
    let v2_first = v1.is_err() || v2::offered().all();
    let v2 = v2_first.then(|| v2::Unified::probe(true));
    match (v1, v2) {
        (Ok(h), Some(Ok(u))) if u.controllers.all() => {
            v1::remove_base(&h);
            Support::V2(u)
        }
        (Ok(h), Some(Ok(u))) => {
            v2::remove_base(&u);
            Support::V1(h)
        }
        (Ok(h), _) => Support::V1(h),
        (Err(_), Some(Ok(u))) => Support::V2(u),
        (Err(v1), Some(Err(v2))) => Support::Rlimits(format!("{v1}; {v2}")),
        (Err(v1), None) => Support::Rlimits(v1),
    }
}

/// What was decided by [`init`] (probing now with cgroups on if nothing called it: tools and
/// tests that run the executor without a daemon).
pub fn support() -> &'static Support {
    match SUPPORT.get() {
        Some(s) => s,
        None => init(true),
    }
}

/// At exit: removes this jobod's (by then empty) cgroup dirs.
pub fn shutdown() {
    match SUPPORT.get() {
        Some(Support::V1(h)) => v1::remove_base(h),
        Some(Support::V2(u)) => v2::remove_base(u),
        _ => {}
    }
}

/// What a job gets here, in words, for `GET /v1/system` and the start log.
pub fn describe(support: &Support) -> Vec<String> {
    let mut out = vec!["timeout (timer, SIGTERM to the job's process group, then SIGKILL)".into()];
    match support {
        Support::V1(h) => {
            if h.has("memory") {
                out.push("memory (cgroup v1 memory.limit_in_bytes; OOM kill → failed)".into());
            }
            if h.has("cpu") {
                out.push("cpus (cgroup v1 cpu.cfs_quota_us / cpu.cfs_period_us)".into());
            }
            if h.has("pids") {
                out.push("pids (cgroup v1 pids.max)".into());
            }
            out.push(
                "whole-job kill (every process of the job's cgroup, setsid children included)"
                    .into(),
            );
            out.push("usage (peak memory, CPU time from the job's cgroup)".into());
        }
        Support::V2(u) => {
            let c = u.controllers;
            out.push(match c.memory {
                true => "memory (cgroup v2 memory.max; OOM kill → failed)".into(),
                false => "memory (RLIMIT_AS of run.sh and what it starts)".into(),
            });
            if c.cpu {
                out.push("cpus (cgroup v2 cpu.max)".into());
            }
            if c.pids {
                out.push("pids (cgroup v2 pids.max)".into());
            }
            out.push(
                "whole-job kill (every process of the job's cgroup v2, setsid children included)"
                    .into(),
            );
            out.push(match c.memory {
                true => "usage (peak memory, CPU time from the job's cgroup v2)".into(),
                false => "usage (CPU time from the job's cgroup v2, peak memory of run.sh's \
                          processes from rusage)"
                    .into(),
            });
        }
        Support::Rlimits(_) => {
            out.push("memory (RLIMIT_AS of run.sh and what it starts)".into());
        }
    }
    out
}

/// The mechanisms [`Caps`] would get on this host, for the job record: only those applied.
pub fn enforced_by(support: &Support, caps: &Caps) -> Enforced {
    let timeout = true;
    match support {
        Support::V1(h) => {
            let on = |c: &str, asked: bool| (asked && h.has(c)).then_some(Mechanism::CgroupV1);
            Enforced {
                timeout,
                memory: on("memory", caps.memory.is_some()),
                cpus: on("cpu", caps.cpus.is_some()),
                pids: on("pids", caps.pids.is_some()),
                kill: Some(Mechanism::CgroupV1),
                network: None,
            }
        }
        Support::V2(u) => {
            let c = u.controllers;
            let on = |has: bool, asked: bool| (asked && has).then_some(Mechanism::CgroupV2);
            Enforced {
                timeout,
                memory: match c.memory {
                    true => on(true, caps.memory.is_some()),
                    false => caps.memory.map(|_| Mechanism::Rlimit),
                },
                cpus: on(c.cpu, caps.cpus.is_some()),
                pids: on(c.pids, caps.pids.is_some()),
                kill: Some(Mechanism::CgroupV2),
                network: None,
            }
        }
        Support::Rlimits(_) => Enforced {
            timeout,
            memory: caps.memory.map(|_| Mechanism::Rlimit),
            cpus: None,
            pids: None,
            kill: None,
            network: None,
        },
    }
}

/// The OOM events of a run's slot, as an eventfd the runtime watches.
pub struct OomNotice {
    fd: tokio::io::unix::AsyncFd<std::os::fd::OwnedFd>,
}

impl OomNotice {
    /// Resolves at the run's next OOM event (the kernel has killed one of its processes).
    pub async fn fired(&self) {
        loop {
            let Ok(mut ready) = self.fd.readable().await else {
                return std::future::pending().await;
            };
            if take_events(self.fd.get_ref()) > 0 {
                return;
            }
            ready.clear_ready();
        }
    }
}

/// Takes the count of a non-blocking eventfd, zeroing it: 0 when nothing happened since.
fn take_events(fd: &impl std::os::fd::AsRawFd) -> u64 {
    let mut count = [0u8; 8];
    // SAFETY: read into a live 8-byte buffer, as an eventfd requires; it does not block.
    let n = unsafe { libc::read(fd.as_raw_fd(), count.as_mut_ptr().cast(), count.len()) };
    if n == 8 { u64::from_ne_bytes(count) } else { 0 }
}

/// A run's cgroups: a slot it holds until dropped.
pub enum Lease {
    V1(v1::Lease),
    V2(v2::Lease),
}

/// Readies `cmd` for a run held to `caps` on this host: a slot where there are cgroups, an
/// rlimit where not; says what is enforced.
pub fn lease(
    cmd: &mut crate::spawn::Spec,
    caps: &Caps,
) -> std::io::Result<(Option<Lease>, Enforced)> {
    let support = support();
    let cgroup_memory = match support {
        Support::V1(_) => true,
        Support::V2(u) => u.controllers.memory,
        Support::Rlimits(_) => false,
    };
    if let Some(bytes) = caps.memory.filter(|_| !cgroup_memory) {
        rlimit::limit_memory(cmd, bytes);
    }
    Ok(match support {
        Support::V1(h) => {
            let (lease, enforced) = h.lease(caps)?;
            (Some(Lease::V1(lease)), enforced)
        }
        Support::V2(u) => {
            let (lease, enforced) = u.lease(cmd, caps)?;
            (Some(Lease::V2(lease)), enforced)
        }
        Support::Rlimits(_) => (None, enforced_by(support, caps)),
    })
}

/// What the kernel did about a run's memory, read at its end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Oom {
    /// It OOM-killed a process of the run. The job fails "out of memory" whatever `run.sh`
    /// exits with: on v2 the kill took the whole job (`memory.oom.group`); v1 has no group
    /// kill, so the rest of the job may have run on, and even exited 0.
    Killed,
    /// The run hit its limit, and the kernel does not count kills (v1 before Linux 4.13): an
    /// out-of-memory failure only if `run.sh` failed too.
    HitLimit,
    None,
}

impl Lease {
    /// Runs `spawn` where its child starts in the run's cgroups: on the v1 slot's own thread;
    /// on v2 here (the child places itself).
    pub async fn spawn<R: Send + 'static>(
        &self,
        spawn: impl FnOnce() -> std::io::Result<R> + Send + 'static,
    ) -> std::io::Result<R> {
        match self {
            Lease::V1(l) => l.spawn(spawn).await,
            Lease::V2(_) => spawn(),
        }
    }

    /// Sends `signal` to every process of the run (setsid children included).
    pub fn signal_all(&self, signal: i32) {
        match self {
            Lease::V1(l) => l.signal_all(signal),
            Lease::V2(l) => l.signal_all(signal),
        }
    }

    /// Kills every process of the run, for at most `bound`; whether none is left.
    pub async fn kill_all(&mut self, bound: Duration) -> bool {
        match self {
            Lease::V1(l) => l.kill_all(bound).await,
            Lease::V2(l) => l.kill_all(bound).await,
        }
    }

    pub fn usage(&self) -> Usage {
        match self {
            Lease::V1(l) => l.usage(),
            Lease::V2(l) => l.usage(),
        }
    }

    /// What the kernel did about the run's memory (where a cgroup limits it).
    pub fn oom(&mut self) -> Oom {
        match self {
            Lease::V1(l) => l.oom(),
            Lease::V2(l) => l.oom(),
        }
    }

    /// Where the kernel kills one process of the run for memory and lets the rest go on
    /// (v1), what fires at each such kill; `None` where the kill takes the whole run already
    /// (v2's `memory.oom.group`) or nothing tells of it.
    pub fn oom_notice(&self) -> Option<OomNotice> {
        match self {
            Lease::V1(l) => {
                let fd = l.oom_events()?;
                // SAFETY: the AsyncFd owns `fd`, which stays open and the same until dropped.
                let fd = unsafe {
                    tokio::io::unix::AsyncFd::register_with_interest(
                        fd,
                        tokio::io::Interest::READABLE,
                    )
                };
                fd.ok().map(|fd| OomNotice { fd })
            }
            Lease::V2(_) => None,
        }
    }

    /// Whether [`Lease::usage`] has the run's peak memory (else rusage stands in).
    pub fn measures_memory(&self) -> bool {
        match self {
            Lease::V1(_) => true,
            Lease::V2(l) => l.measures_memory(),
        }
    }
}
