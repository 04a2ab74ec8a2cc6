//! The fallback where no job cgroup can be made: `RLIMIT_AS` for memory, set in the child
//! between fork and exec (which costs a fork of the daemon instead of `posix_spawn`, on such
//! hosts only).
//!
//! Not used, and said so: `RLIMIT_NPROC` counts every process of the job's real uid (other
//! jobs of the same user, and jobod itself when jobs run as jobod's user), so it is no per-job
//! pids limit; `RLIMIT_CPU` caps total CPU seconds, not a rate, so it is no `cpus` limit.

use std::os::unix::process::CommandExt;

/// Makes `cmd`'s child set `RLIMIT_AS` to `bytes` before it execs.
pub fn limit_memory(cmd: &mut tokio::process::Command, bytes: u64) {
    let limit = libc::rlimit {
        rlim_cur: bytes as libc::rlim_t,
        rlim_max: bytes as libc::rlim_t,
    };
    // SAFETY: the closure only calls setrlimit, which is async-signal-safe, on a stack value.
    unsafe {
        cmd.as_std_mut().pre_exec(move || {
            if libc::setrlimit(libc::RLIMIT_AS, &limit) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
}
