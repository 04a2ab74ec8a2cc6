//! Starting a job as another user without forking jobod.
//!
//! A child that must switch users itself forces the standard library to `fork` the whole
//! daemon, and copying and then faulting back its page tables cost a root jobod more than the
//! rest of a trivial job. Instead, the thread about to spawn takes on the account's
//! credentials itself, for the spawn only: Linux keeps credentials per thread, and the raw
//! system calls used here (unlike glibc's wrappers, which change every thread of the process)
//! change only the calling one. The child, started with `posix_spawn` as before, inherits
//! them; the thread then takes root's back.
//!
//! While switched, the thread keeps root as its saved uid, which is what lets it switch back;
//! its effective capabilities are gone meanwhile, so nothing it does in between is privileged,
//! and the child loses the saved uid (and every capability) when it execs `bash`, a file that is
//! neither set-user-ID nor has file capabilities. This is how Samba's file server changes users
//! per thread.

use crate::account::Account;
use std::io;

/// The calling thread's credentials, to take back on drop.
pub struct Switched {
    uids: [libc::uid_t; 3],
    gids: [libc::gid_t; 3],
    groups: Vec<libc::gid_t>,
}

/// `rc` of a raw system call as a result.
fn check(rc: libc::c_long) -> io::Result<()> {
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

fn set_groups(groups: &[libc::gid_t]) -> io::Result<()> {
    // SAFETY: the pointer and length describe a live slice; the call only reads it.
    check(unsafe { libc::syscall(libc::SYS_setgroups, groups.len(), groups.as_ptr()) })
}

fn set_gids([r, e, s]: [libc::gid_t; 3]) -> io::Result<()> {
    // SAFETY: setresgid takes plain integers.
    check(unsafe { libc::syscall(libc::SYS_setresgid, r, e, s) })
}

fn set_uids([r, e, s]: [libc::uid_t; 3]) -> io::Result<()> {
    // SAFETY: setresuid takes plain integers.
    check(unsafe { libc::syscall(libc::SYS_setresuid, r, e, s) })
}

impl Switched {
    /// Makes the calling thread (only) `account`: its groups, its gid, its uid as real and
    /// effective uid, root kept as saved uid. jobod must be root. Do not `await` while it
    /// lives: the thread must run nothing but the spawn meanwhile.
    pub fn to(account: &Account) -> io::Result<Switched> {
        let mut uids = [0; 3];
        let mut gids = [0; 3];
        // SAFETY: each pointer is to a live integer the call writes.
        let got = unsafe {
            libc::getresuid(&mut uids[0], &mut uids[1], &mut uids[2]) == 0
                && libc::getresgid(&mut gids[0], &mut gids[1], &mut gids[2]) == 0
        };
        if !got {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: a zero size asks for the count only; the second call writes at most `n`.
        let n = unsafe { libc::getgroups(0, std::ptr::null_mut()) };
        let mut groups = vec![0; n.max(0) as usize];
        // SAFETY: as above, `groups` has room for `n` entries.
        let n = unsafe { libc::getgroups(n, groups.as_mut_ptr()) };
        if n < 0 {
            return Err(io::Error::last_os_error());
        }
        groups.truncate(n as usize);
        // From here on, a failure leaves the thread partly switched: the guard restores it.
        let switched = Switched { uids, gids, groups };
        set_groups(&account.groups)?;
        set_gids([account.gid; 3])?;
        set_uids([account.uid, account.uid, uids[2]])?;
        Ok(switched)
    }
}

impl Drop for Switched {
    fn drop(&mut self) {
        // The uid first: it brings back the capabilities the gid and groups need.
        let restored = set_uids(self.uids)
            .and_then(|()| set_gids(self.gids))
            .and_then(|()| set_groups(&self.groups));
        if let Err(e) = restored {
            // A daemon thread left as a job's user would act for the wrong user from then on.
            eprintln!("jobod: cannot take back its own credentials after a spawn: {e}");
            std::process::abort();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The effective uid of the thread `tid` of this process, from `/proc`.
    fn effective_uid(tid: i64) -> Option<u32> {
        let status = std::fs::read_to_string(format!("/proc/self/task/{tid}/status")).ok()?;
        let line = status.lines().find(|l| l.starts_with("Uid:"))?;
        line.split_whitespace().nth(2)?.parse().ok()
    }

    #[test]
    fn only_the_calling_thread_switches_and_it_switches_back() -> io::Result<()> {
        if !crate::paths::is_root() {
            eprintln!("skipped: switching users needs root");
            return Ok(());
        }
        let nobody = Account {
            name: "test".into(),
            uid: 54_321,
            gid: 54_321,
            groups: vec![54_321],
        };
        // SAFETY: gettid has no preconditions.
        let main = unsafe { libc::gettid() } as i64;
        let (tx, rx) = std::sync::mpsc::channel::<()>();
        let (back_tx, back_rx) = std::sync::mpsc::channel();
        let other = std::thread::spawn(move || {
            // SAFETY: as above.
            let _ = back_tx.send(unsafe { libc::gettid() } as i64);
            let _ = rx.recv();
        });
        let other_tid = back_rx.recv().map_err(io::Error::other)?;
        {
            let _switched = Switched::to(&nobody)?;
            // SAFETY: geteuid has no preconditions.
            assert_eq!(unsafe { libc::geteuid() }, 54_321);
            assert_eq!(effective_uid(main), Some(54_321));
            assert_eq!(
                effective_uid(other_tid),
                Some(0),
                "another thread switched too"
            );
            let out = std::process::Command::new("id").arg("-u").output()?;
            assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "54321");
        }
        // SAFETY: as above.
        assert_eq!(unsafe { libc::geteuid() }, 0);
        assert_eq!(effective_uid(main), Some(0));
        let _ = tx.send(());
        let _ = other.join();
        Ok(())
    }
}
