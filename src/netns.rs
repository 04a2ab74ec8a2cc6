//! `network = "none"` (a service's setting): the service's jobs run in a network namespace of
//! their own, made fresh for each run, with nothing in it but a loopback interface (up, as in
//! a container with no network). They reach no address of the host, `127.0.0.1` included, and
//! nothing outside.
//!
//! Making a network namespace needs `CAP_SYS_ADMIN` (a root jobod); a per-user jobod cannot
//! (`CLONE_NEWUSER`, the unprivileged way, is refused to a multi-threaded process). Whether it
//! can is probed once at start, logged, and shown by `GET /v1/system`; a run that asks for no
//! network where none can be made runs with the host's network, and its job record says so
//! ([`crate::api::NetworkIsolation::NotApplied`]).
//!
//! The namespace is per *thread* in Linux, and a spawned child starts in the namespaces of the
//! thread that spawns it. So the run is spawned from a short-lived thread that first moves
//! itself into a new namespace ([`spawn_isolated`]); the thread ends after the spawn, and the
//! namespace lives on only as long as the run's processes. No thread of jobod that does
//! anything else ever leaves the host's network, and there is nothing to move back. The new
//! thread starts in the cgroups and with the credentials of the thread that made it, so the
//! executor's placement of the run is unchanged.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::sync::OnceLock;

static SUPPORT: OnceLock<Result<(), String>> = OnceLock::new();

/// Whether runs can get a network namespace of their own here (`Err`: why not). Probed on
/// the first call, by making one.
pub fn support() -> &'static Result<(), String> {
    SUPPORT.get_or_init(|| {
        let probed = std::thread::scope(|s| {
            s.spawn(isolate_this_thread)
                .join()
                .unwrap_or_else(|_| Err(io::Error::other("the probe thread panicked")))
        });
        probed.map_err(|e| match e.raw_os_error() {
            Some(libc::EPERM) => "making a network namespace needs root (CAP_SYS_ADMIN)".into(),
            _ => format!("cannot make a network namespace: {e}"),
        })
    })
}

/// Probes and logs what `network = "none"` gets here (at start); a warning when `wanted` (a
/// service asks for it) and it cannot be had.
pub fn init(wanted: bool) {
    match support() {
        Ok(()) => tracing::info!("enforces: {}", describe().unwrap_or_default()),
        Err(why) if wanted => tracing::warn!(
            "network = \"none\" cannot be enforced here ({why}): such jobs run with the \
             host's network, and their status says so"
        ),
        Err(why) => tracing::info!("network = \"none\" would not be enforced here: {why}"),
    }
}

/// What `network = "none"` gets here, for `GET /v1/system` (none: it is not enforced).
pub fn describe() -> Option<String> {
    support().as_ref().ok().map(|()| {
        "network = \"none\" (a fresh network namespace per job, loopback only)".to_string()
    })
}

/// Runs `spawn` on a thread of its own that has first moved into a fresh network namespace
/// (loopback up): what it spawns starts there. The thread, and with it jobod's hold on the
/// namespace, ends when `spawn` returns. Inside a tokio runtime, `spawn` runs in its context
/// (tokio's `Command::spawn` needs it).
pub fn spawn_isolated<T: Send>(spawn: impl FnOnce() -> io::Result<T> + Send) -> io::Result<T> {
    let runtime = tokio::runtime::Handle::try_current().ok();
    std::thread::scope(|s| {
        let thread = std::thread::Builder::new()
            .name("jobo-netns".into())
            .spawn_scoped(s, move || {
                let _runtime = runtime.as_ref().map(tokio::runtime::Handle::enter);
                isolate_this_thread()?;
                spawn()
            })?;
        thread
            .join()
            .unwrap_or_else(|_| Err(io::Error::other("the spawning thread panicked")))
    })
    .map_err(|e| io::Error::new(e.kind(), format!("network = \"none\": {e}")))
}

/// Moves the calling thread (only) into a new network namespace and brings its loopback up.
fn isolate_this_thread() -> io::Result<()> {
    // SAFETY: unshare takes no pointers; CLONE_NEWNET affects the calling thread only.
    if unsafe { libc::unshare(libc::CLONE_NEWNET) } != 0 {
        return Err(io::Error::last_os_error());
    }
    loopback_up().map_err(|e| io::Error::new(e.kind(), format!("cannot bring up lo: {e}")))
}

/// `ip link set lo up`, in the calling thread's network namespace.
fn loopback_up() -> io::Result<()> {
    // SAFETY: plain socket(2); the descriptor is owned below.
    let fd = unsafe { libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `fd` is a fresh descriptor nobody else owns.
    let sock = unsafe { OwnedFd::from_raw_fd(fd) };
    // SAFETY: an all-zero ifreq is valid (a name of NULs, zero flags).
    let mut req: libc::ifreq = unsafe { std::mem::zeroed() };
    for (dst, src) in req.ifr_name.iter_mut().zip(b"lo\0") {
        *dst = *src as libc::c_char;
    }
    // SAFETY: SIOCGIFFLAGS/SIOCSIFFLAGS read and write the ifreq passed, which lives across
    // the calls.
    unsafe {
        if libc::ioctl(sock.as_raw_fd(), libc::SIOCGIFFLAGS, &mut req) != 0 {
            return Err(io::Error::last_os_error());
        }
        req.ifr_ifru.ifru_flags |= libc::IFF_UP as libc::c_short;
        if libc::ioctl(sock.as_raw_fd(), libc::SIOCSIFFLAGS, &req) != 0 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The interfaces of the calling thread's network namespace (`/proc/thread-self/net/dev`).
    fn interfaces() -> Vec<String> {
        let dev = std::fs::read_to_string("/proc/thread-self/net/dev").expect("net/dev");
        dev.lines()
            .skip(2)
            .filter_map(|l| Some(l.split(':').next()?.trim().to_string()))
            .collect()
    }

    #[test]
    fn a_spawn_in_isolation_sees_only_loopback_and_this_thread_stays_put() {
        if let Err(why) = support() {
            eprintln!("skipped: {why}");
            return;
        }
        let before = interfaces();
        let inside = spawn_isolated(|| Ok(interfaces())).expect("isolated");
        assert_eq!(inside, ["lo"]);
        assert_eq!(
            interfaces(),
            before,
            "the calling thread left the host's network"
        );
    }
}
