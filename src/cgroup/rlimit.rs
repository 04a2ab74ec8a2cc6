//! The fallback where no job cgroup can be made: `RLIMIT_AS` for memory, set by the child
//! itself before it execs (src/spawn.rs).
//!
//! Not used, and said so: `RLIMIT_NPROC` counts every process of the job's real uid (other
//! jobs of the same user, and jobod itself when jobs run as jobod's user), so it is no per-job
//! pids limit; `RLIMIT_CPU` caps total CPU seconds, not a rate, so it is no `cpus` limit.

/// Makes `cmd`'s child set `RLIMIT_AS` to `bytes` before it execs.
pub fn limit_memory(cmd: &mut crate::spawn::Spec, bytes: u64) {
    cmd.memory_rlimit = Some(bytes);
}
