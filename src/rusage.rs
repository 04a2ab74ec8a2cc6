//! What a run used where no cgroup measures it: the kernel's resource usage of `run.sh` and of
//! every descendant it waited for, read when it has exited and before it is reaped.
//!
//! The runtime reaps `run.sh` (its exit status is the job's), and a reaped child's usage is
//! gone. So the executor first waits for the exit without reaping: a pidfd becomes readable
//! when the process ends, and `waitid(…, WEXITED | WNOWAIT)` with the raw system call's
//! `rusage` argument reads its usage (its own and its waited-for children's) while it is still a
//! zombie, which also keeps its pid from being reused meanwhile. Then the runtime reaps it as
//! before.
//!
//! Peak memory here is the largest resident size of any one of those processes
//! (`ru_maxrss`), not of all of them together as a cgroup measures it; CPU time is user plus
//! system time of them all.

use crate::api::Usage;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use tokio::io::unix::AsyncFd;

/// A child of ours, watched through a pidfd.
pub struct Exit {
    fd: AsyncFd<OwnedFd>,
}

impl Exit {
    /// Watches child `pid` (none where pidfds are missing: Linux before 5.3).
    pub fn watch(pid: i32) -> Option<Exit> {
        // SAFETY: pidfd_open takes a pid and flags; the result is a new descriptor or -1.
        let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
        if fd < 0 {
            return None;
        }
        // SAFETY: a fresh descriptor that nobody else owns.
        let fd = unsafe { OwnedFd::from_raw_fd(fd as i32) };
        // SAFETY: the AsyncFd owns `fd`, which stays open and the same until it is dropped.
        let fd = unsafe { AsyncFd::register_with_interest(fd, tokio::io::Interest::READABLE) };
        fd.ok().map(|fd| Exit { fd })
    }

    /// Waits until the child has exited (it stays unreaped) and returns what it used.
    pub async fn usage(&self) -> Option<Usage> {
        // Readable once the process has exited; it stays readable, so one wake is enough.
        let _ready = self.fd.readable().await.ok()?;
        // SAFETY: zeroed siginfo and rusage are valid out-values for waitid.
        let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
        let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
        // SAFETY: raw waitid(P_PIDFD, fd, &info, options, &rusage) with live out-pointers;
        // WNOWAIT leaves the child to be reaped by its owner.
        let rc = unsafe {
            libc::syscall(
                libc::SYS_waitid,
                libc::P_PIDFD,
                self.fd.get_ref().as_raw_fd(),
                &mut info as *mut libc::siginfo_t,
                libc::WEXITED | libc::WNOWAIT,
                &mut ru as *mut libc::rusage,
            )
        };
        if rc != 0 {
            return None;
        }
        let ms = |t: libc::timeval| t.tv_sec as u64 * 1000 + t.tv_usec as u64 / 1000;
        Some(Usage {
            // Kilobytes on Linux.
            peak_memory_bytes: Some(ru.ru_maxrss as u64 * 1024),
            cpu_ms: Some(ms(ru.ru_utime) + ms(ru.ru_stime)),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_busy_child_shows_its_cpu_and_memory_and_is_left_to_be_reaped() {
        // A 32 MiB string held by bash itself, and a second of CPU.
        let mut child = tokio::process::Command::new("bash")
            .arg("-c")
            .arg(
                "x=$(head -c 33554432 /dev/zero | tr '\\0' a); \
                 end=$((SECONDS + 2)); while [ $SECONDS -lt $end ]; do :; done",
            )
            .spawn()
            .expect("spawn");
        let pid = child.id().expect("pid") as i32;
        let exit = Exit::watch(pid).expect("pidfd");
        let usage = exit.usage().await.expect("usage");
        let status = child.wait().await.expect("reaped by its owner");
        assert!(status.success());
        assert!(usage.cpu_ms.expect("cpu") >= 300, "{usage:?}");
        assert!(
            usage.peak_memory_bytes.expect("memory") >= 30 << 20,
            "{usage:?}"
        );
    }
}
