//! Per-job resource limits and whole-job kill through cgroups, where jobod can create them.
//!
//! What this host offers is probed once at start ([`init`], logged, reported by
//! `GET /v1/system`): the cgroup v1 hierarchies of the `memory`, `cpu`, `cpuacct` and `pids`
//! controllers (hybrid hosts such as this project's CI), under jobod's own cgroup in each, where
//! jobod may `mkdir` (root, or a delegated cgroup). Each run gets
//! `<jobod's cgroup>/jobo.<jobod pid>/job-<id>-<attempt>` in every such hierarchy ([`v1`]); it is
//! placed there before `exec` without forking the daemon: the spawning thread moves itself in
//! (v1 lets threads of one process sit in different cgroups), spawns, and moves back
//! ([`v1::JobCgroup::enter`]).
//!
//! cgroup v2 is not used yet: it keeps all threads of a process in one cgroup, so placing a
//! job there before exec needs `clone3(CLONE_INTO_CGROUP)` or a fork; hosts with only v2
//! controllers get the rlimit fallback ([`rlimit`]), and say so.

pub mod rlimit;
pub mod v1;

use crate::api::{Enforced, Mechanism};
use std::sync::OnceLock;

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
    /// No cgroups: rlimits only; the reason, for the log and `GET /v1/system`.
    Rlimits(String),
}

static SUPPORT: OnceLock<Support> = OnceLock::new();

/// Probes the host (or takes the fallback when `cgroups` is false, the config's
/// `[local_worker] cgroups`) and logs what jobod can enforce. Later calls change nothing.
pub fn init(cgroups: bool) -> &'static Support {
    SUPPORT.get_or_init(|| {
        let support = if !cgroups {
            Support::Rlimits("cgroups = false in [local_worker]".into())
        } else {
            match v1::Hierarchies::probe() {
                Ok(h) => Support::V1(h),
                Err(why) => Support::Rlimits(why),
            }
        };
        for line in describe(&support) {
            tracing::info!("enforces: {line}");
        }
        if let Support::Rlimits(why) = &support {
            tracing::warn!(
                "no job cgroups ({why}): memory by RLIMIT_AS only; cpus and pids are not enforced"
            );
        }
        support
    })
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
    if let Some(Support::V1(h)) = SUPPORT.get() {
        v1::remove_base(h);
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
