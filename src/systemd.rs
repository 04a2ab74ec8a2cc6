//! What systemd gives a service and expects of it, without linking libsystemd: readiness
//! (`sd_notify`: a datagram to `$NOTIFY_SOCKET`, for `Type=notify`) and socket activation
//! (`$LISTEN_PID`/`$LISTEN_FDS`: listening sockets handed over from fd 3 on, for a
//! `jobod.socket` unit). Outside systemd the variables are absent and both are no-ops.

use std::os::fd::{FromRawFd, OwnedFd, RawFd};
use std::os::unix::net::UnixDatagram;

/// The first descriptor systemd passes (`SD_LISTEN_FDS_START`).
const FIRST_FD: RawFd = 3;

/// Tells systemd `state` (e.g. `READY=1`, `STOPPING=1`); nothing when not started by it.
pub fn notify(state: &str) {
    let Some(path) = std::env::var_os("NOTIFY_SOCKET") else {
        return;
    };
    let sent = UnixDatagram::unbound().and_then(|socket| {
        let bytes = std::os::unix::ffi::OsStrExt::as_bytes(path.as_os_str());
        match bytes.strip_prefix(b"@") {
            // An abstract socket: its name is what follows the '@'.
            Some(name) => {
                use std::os::linux::net::SocketAddrExt;
                let addr = std::os::unix::net::SocketAddr::from_abstract_name(name)?;
                socket.send_to_addr(state.as_bytes(), &addr)
            }
            None => socket.send_to(state.as_bytes(), &path),
        }
    });
    if let Err(e) = sent {
        tracing::warn!("cannot notify systemd ({state}): {e}");
    }
}

/// Listening sockets systemd passed to this process.
pub struct Activated {
    pub unix: Option<std::os::unix::net::UnixListener>,
    pub tcp: Option<std::net::TcpListener>,
}

/// Takes the sockets of `$LISTEN_FDS` when `$LISTEN_PID` is this process: at most one Unix
/// socket (the API socket) and one TCP socket (the `listen` address). The variables stay
/// (changing the environment of a threaded process is unsound); jobs never see them, as the
/// executor starts them with a cleared environment, and `$LISTEN_PID` names only us.
/// Call it once: the descriptors are then owned by what it returns.
pub fn activated() -> anyhow::Result<Activated> {
    let mut found = Activated {
        unix: None,
        tcp: None,
    };
    let for_us = std::env::var("LISTEN_PID")
        .ok()
        .and_then(|p| p.parse::<u32>().ok())
        == Some(std::process::id());
    let count = std::env::var("LISTEN_FDS")
        .ok()
        .and_then(|n| n.parse::<RawFd>().ok())
        .unwrap_or(0);
    if !for_us {
        return Ok(found);
    }
    for fd in FIRST_FD..FIRST_FD + count {
        // SAFETY: systemd passed these descriptors to us and nothing else owns them.
        let owned = unsafe { OwnedFd::from_raw_fd(fd) };
        match family(fd)? {
            libc::AF_UNIX if found.unix.is_none() => found.unix = Some(owned.into()),
            libc::AF_INET | libc::AF_INET6 if found.tcp.is_none() => found.tcp = Some(owned.into()),
            other => anyhow::bail!(
                "socket activation: descriptor {fd} (address family {other}) is not what jobod \
                 takes: one Unix socket and at most one TCP socket"
            ),
        }
    }
    for listener in [
        found.unix.as_ref().map(|l| l.set_nonblocking(true)),
        found.tcp.as_ref().map(|l| l.set_nonblocking(true)),
    ]
    .into_iter()
    .flatten()
    {
        listener?;
    }
    Ok(found)
}

/// The address family of socket `fd`.
fn family(fd: RawFd) -> std::io::Result<libc::c_int> {
    // SAFETY: a zeroed sockaddr_storage is valid, and getsockname writes at most `len` bytes.
    unsafe {
        let mut addr: libc::sockaddr_storage = std::mem::zeroed();
        let mut len = std::mem::size_of::<libc::sockaddr_storage>() as libc::socklen_t;
        if libc::getsockname(fd, (&raw mut addr).cast(), &mut len) != 0 {
            return Err(std::io::Error::last_os_error());
        }
        Ok(libc::c_int::from(addr.ss_family))
    }
}
