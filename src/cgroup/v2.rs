//! cgroup v2 for whole-job kill where no v1 limit controller can be used: a v2 hierarchy
//! tracks every process of a job (setsid and double-forked ones too) and kills them at once
//! with `cgroup.kill` (Linux 5.14+; a SIGKILL per process before), even with no controller
//! enabled. Its `cpu.stat` gives the job's CPU time as well. Limits are not set here: a v2
//! controller is only usable in a cgroup whose parent has no processes, and jobod's own cgroup
//! has jobod (that needs jobod moved into a leaf of a delegated cgroup first, not done yet);
//! memory stays with `RLIMIT_AS`.
//!
//! v2 keeps all threads of a process in one cgroup, so a spawning thread cannot step into a
//! slot as on v1: the child places itself, writing to the slot's `cgroup.procs` between fork
//! and `exec` (which costs a fork of the daemon instead of `posix_spawn`, on such hosts only;
//! `clone3(CLONE_INTO_CGROUP)` would avoid both, and is not used yet). Slots are reused as on v1.

use super::procs;
use crate::api::Usage;
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

/// This jobod's cgroups in the v2 hierarchy.
pub struct Unified {
    /// `<jobod's cgroup>/jobo.<pid>`.
    base: PathBuf,
    /// Whether the kernel has `cgroup.kill`.
    cgroup_kill: bool,
    free: Mutex<Vec<Slot>>,
    next: AtomicUsize,
}

impl std::fmt::Debug for Unified {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Unified").field("base", &self.base).finish()
    }
}

struct Slot {
    dir: PathBuf,
    /// Its `cgroup.procs`, open for the child to write itself into.
    procs: OwnedFd,
}

impl Unified {
    /// Finds jobod's cgroup in the v2 hierarchy and makes `jobo.<pid>` in it (which proves
    /// jobod may). An error says why not.
    pub fn probe() -> Result<Unified, String> {
        let (cgroup, mountinfo) = super::own_cgroups()?;
        let path = cgroup
            .lines()
            .find_map(|l| l.strip_prefix("0::"))
            .ok_or("no cgroup v2 hierarchy")?;
        let own = mount_of(&mountinfo, path).ok_or("cgroup v2 is not mounted here")?;
        super::v1::remove_stale(&own);
        let base = own.join(format!("jobo.{}", std::process::id()));
        match std::fs::create_dir(&base) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(format!("cannot create {}: {e}", base.display())),
        }
        Ok(Unified {
            cgroup_kill: base.join("cgroup.kill").exists(),
            base,
            free: Mutex::new(Vec::new()),
            next: AtomicUsize::new(0),
        })
    }

    /// A free slot or a new one, for a run about to be spawned by `cmd`, whose child will
    /// place itself there before `exec`.
    pub fn lease(&'static self, cmd: &mut tokio::process::Command) -> std::io::Result<Lease> {
        let free = self.free.lock().unwrap_or_else(|p| p.into_inner()).pop();
        let slot = match free {
            Some(s) => s,
            None => {
                let dir = self.base.join(format!(
                    "slot-{}",
                    self.next.fetch_add(1, Ordering::Relaxed)
                ));
                match std::fs::create_dir(&dir) {
                    Ok(()) => {}
                    Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
                    Err(e) => return Err(e),
                }
                let procs = std::fs::OpenOptions::new()
                    .write(true)
                    .open(dir.join("cgroup.procs"))?
                    .into();
                Slot { dir, procs }
            }
        };
        place(cmd, slot.procs.as_raw_fd());
        let cpu_before = cpu_usec(&slot.dir);
        Ok(Lease {
            slot: Some(slot),
            pool: self,
            emptied: false,
            cpu_before,
        })
    }
}

/// Makes `cmd`'s child write itself into the cgroup whose `cgroup.procs` is open as `fd`
/// before it execs. (The kernel checks the opener's rights, Linux 5.16+: root's, also for a
/// child that already is the job's user; before 5.16, the child takes root's effective uid
/// back for the write, which its saved uid allows, see src/as_user.rs.)
fn place(cmd: &mut tokio::process::Command, fd: i32) {
    // SAFETY: between fork and exec the closure only makes raw system calls (write,
    // getresuid, setresuid), which are async-signal-safe, on stack values.
    unsafe {
        cmd.as_std_mut().pre_exec(move || {
            let write = || libc::write(fd, b"0".as_ptr().cast(), 1) == 1;
            if write() {
                return Ok(());
            }
            let err = std::io::Error::last_os_error();
            let (mut r, mut e, mut s) = (0, 0, 0);
            if libc::getresuid(&mut r, &mut e, &mut s) != 0 || s != 0 || e == 0 {
                return Err(err);
            }
            let minus = libc::uid_t::MAX;
            if libc::syscall(libc::SYS_setresuid, minus, 0, minus) != 0 {
                return Err(err);
            }
            let placed = write();
            if libc::syscall(libc::SYS_setresuid, minus, e, minus) != 0 || !placed {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
}

/// `usage_usec` of the cgroup's `cpu.stat` (there without the cpu controller).
fn cpu_usec(dir: &Path) -> Option<u64> {
    let stat = std::fs::read_to_string(dir.join("cpu.stat")).ok()?;
    stat.lines()
        .find_map(|l| l.strip_prefix("usage_usec "))
        .and_then(|v| v.trim().parse().ok())
}

/// Where the v2 hierarchy is mounted, and `path` (a cgroup in it) under that mount.
fn mount_of(mountinfo: &str, path: &str) -> Option<PathBuf> {
    mountinfo.lines().find_map(|line| {
        let (pre, post) = line.split_once(" - ")?;
        if post.split_whitespace().next() != Some("cgroup2") {
            return None;
        }
        let mut pre = pre.split_whitespace();
        let root = pre.nth(3)?;
        let point = pre.next()?;
        let rel = path
            .strip_prefix(root)
            .unwrap_or(path)
            .trim_start_matches('/');
        Some(Path::new(point).join(rel))
    })
}

/// A run's hold on a v2 slot: back to the free slots when dropped if [`Lease::kill_all`]
/// emptied it, else left (jobod's exit or next start removes it).
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

    /// CPU time of the run (no peak memory without the memory controller).
    pub fn usage(&self) -> Usage {
        let now = cpu_usec(self.dir());
        Usage {
            peak_memory_bytes: None,
            cpu_ms: now.map(|n| n.saturating_sub(self.cpu_before.unwrap_or(0)) / 1000),
        }
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        let Some(slot) = self.slot.take() else {
            return;
        };
        if self.emptied {
            self.pool
                .free
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .push(slot);
        } else {
            tracing::error!("slot cgroup {} still holds processes", slot.dir.display());
        }
    }
}

/// Removes the free slots and this jobod's `jobo.<pid>` dir at exit.
pub fn remove_base(u: &Unified) {
    let slots = std::mem::take(&mut *u.free.lock().unwrap_or_else(|p| p.into_inner()));
    for slot in slots {
        let _ = std::fs::remove_dir(&slot.dir);
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
}
