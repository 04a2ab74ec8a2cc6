//! Where things live on disk: the data dir, the socket, the config.
//!
//! User mode follows the XDG base directories; system mode uses the FHS paths the packaged
//! systemd unit expects. The CLI uses the same functions to find the default socket.

use crate::account::{Account, Cache};
use std::path::{Path, PathBuf};

/// The layout of the server's data directory. Everything the daemon writes lives below it.
#[derive(Debug, Clone)]
pub struct DataDir {
    root: PathBuf,
}

impl DataDir {
    pub fn new(root: impl Into<PathBuf>) -> DataDir {
        DataDir { root: root.into() }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn db(&self) -> PathBuf {
        self.root.join("jobo.db")
    }

    /// Uploads in progress; emptied at start-up.
    pub fn tmp(&self) -> PathBuf {
        self.root.join("tmp")
    }

    pub fn jobs(&self) -> PathBuf {
        self.root.join("jobs")
    }

    pub fn job(&self, id: i64) -> JobDir {
        JobDir(self.jobs().join(id.to_string()))
    }

    /// The actual TCP address, written once bound (useful with `--listen 127.0.0.1:0`).
    /// The audit log (`audit.rs`): JSON lines, readable by jobod alone.
    pub fn audit_log(&self) -> PathBuf {
        self.root.join("audit.log")
    }

    pub fn tcp_addr_file(&self) -> PathBuf {
        self.root.join("jobod.tcp")
    }

    /// Where `jobod serve` writes the path of the Unix socket it listens on, so that a `jobo`
    /// whose environment names another default socket (a shell without `XDG_RUNTIME_DIR`)
    /// still finds the per-user jobod of this data dir.
    pub fn socket_file(&self) -> PathBuf {
        self.root.join("jobod.socket")
    }

    /// Where `jobod serve` writes the address `seed_listen` bound.
    pub fn seed_addr_file(&self) -> PathBuf {
        self.root.join("jobod-seed.tcp")
    }

    /// A worker node's payloads, one dir per payload (emptied at start: the server owns the truth).
    pub fn payloads(&self) -> PathBuf {
        self.root.join("payloads")
    }

    pub fn payload(&self, id: &str) -> JobDir {
        JobDir(self.payloads().join(id))
    }

    /// The actual TCP address of a worker node, written once bound.
    pub fn worker_addr_file(&self) -> PathBuf {
        self.root.join("jobod-worker.tcp")
    }

    /// Where an autostarted daemon writes its log.
    pub fn log_file(&self) -> PathBuf {
        self.root.join("jobod.log")
    }
}

/// One job's files: the pristine input, the run's working dir (= results) and its logs.
#[derive(Debug, Clone)]
pub struct JobDir(PathBuf);

impl JobDir {
    pub fn path(&self) -> &Path {
        &self.0
    }
    /// The upload as received; kept until the job is final so a retry starts from it.
    pub fn input(&self) -> PathBuf {
        self.0.join("input")
    }
    /// The payload dir the run happens in; everything in it is the result.
    pub fn work(&self) -> PathBuf {
        self.0.join("work")
    }
    /// The job's TMPDIR, outside `work` so scratch files are not results.
    pub fn scratch(&self) -> PathBuf {
        self.0.join("tmp")
    }
    pub fn log(&self, stream: LogStream) -> PathBuf {
        self.0.join(stream.file_name())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogStream {
    Stdout,
    Stderr,
}

impl LogStream {
    pub fn file_name(self) -> &'static str {
        match self {
            LogStream::Stdout => "stdout.log",
            LogStream::Stderr => "stderr.log",
        }
    }
    /// How routes name it.
    pub fn name(self) -> &'static str {
        match self {
            LogStream::Stdout => "stdout",
            LogStream::Stderr => "stderr",
        }
    }
    pub fn parse(s: &str) -> Option<LogStream> {
        match s {
            "stdout" => Some(LogStream::Stdout),
            "stderr" => Some(LogStream::Stderr),
            _ => None,
        }
    }
}

/// Whether this process runs as root (its effective uid).
pub fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() == 0 }
}

fn project_dirs() -> Option<directories::ProjectDirs> {
    directories::ProjectDirs::from("", "", "jobo")
}

/// Default data dir: `/var/lib/jobo` in system mode, else `$XDG_DATA_HOME/jobo`.
///
/// Root is the exception in user mode: its jobs run as another user (`run_as.rs`), who must
/// pass through every directory above the data dir. When one of them is closed to others (a
/// `0700` home or `mktemp -d`), root's per-user data lives in [`ROOT_USER_DATA`] instead, under
/// a name derived from the XDG path, so that two such homes keep two stores.
pub fn default_data_dir(system: bool) -> PathBuf {
    if system {
        return PathBuf::from("/var/lib/jobo");
    }
    let xdg = project_dirs()
        .map(|d| d.data_dir().to_path_buf())
        .unwrap_or_else(|| std::env::temp_dir().join(format!("jobo-{}", uid())));
    if is_root() && !others_may_pass(&xdg) {
        return root_user_data_dir(&xdg);
    }
    xdg
}

/// Where root's per-user data dirs go when its XDG data dir is out of the run-as users' reach.
pub const ROOT_USER_DATA: &str = "/var/lib/jobo-root";

/// `ROOT_USER_DATA/<digest of xdg>`: stable across runs and releases (a SHA-256 prefix), so the
/// same home finds the same jobs again.
fn root_user_data_dir(xdg: &Path) -> PathBuf {
    use sha2::Digest;
    use std::os::unix::ffi::OsStrExt;
    let digest = sha2::Sha256::digest(xdg.as_os_str().as_bytes());
    let name: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
    Path::new(ROOT_USER_DATA).join(name)
}

/// Whether every existing directory above `dir` lets others search it (`o+x`). Those not made
/// yet will be, with the usual `0755`; `dir` itself is jobod's to set.
fn others_may_pass(dir: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    dir.ancestors().skip(1).all(|a| match std::fs::metadata(a) {
        Ok(m) => m.permissions().mode() & 0o001 != 0,
        Err(_) => true,
    })
}

/// Default socket: `/run/jobo/jobod.sock` in system mode, else `$XDG_RUNTIME_DIR/jobo/jobod.sock`,
/// falling back to the data dir when there is no runtime dir.
pub fn default_socket(system: bool) -> PathBuf {
    if system {
        return PathBuf::from("/run/jobo/jobod.sock");
    }
    match project_dirs().and_then(|d| d.runtime_dir().map(Path::to_path_buf)) {
        Some(dir) => dir.join("jobod.sock"),
        None => default_data_dir(false).join("jobod.sock"),
    }
}

/// Default config file: `/etc/jobo/jobod.toml` or `$XDG_CONFIG_HOME/jobo/jobod.toml`.
pub fn default_config(system: bool) -> PathBuf {
    if system {
        return PathBuf::from("/etc/jobo/jobod.toml");
    }
    project_dirs()
        .map(|d| d.config_dir().join("jobod.toml"))
        .unwrap_or_else(|| PathBuf::from("jobod.toml"))
}

/// System mode is the default for root (as under the packaged unit).
pub fn system_mode_default() -> bool {
    is_root() && std::env::var_os("JOBO_USER_MODE").is_none()
}

pub fn uid() -> u32 {
    // SAFETY: getuid has no preconditions and cannot fail.
    unsafe { libc::getuid() }
}

/// Whether the user `uid` belongs to the Unix group `group`, as its primary group or as a
/// supplementary one (through NSS, so LDAP groups count). `false` when either is unknown.
/// Answers are kept for a minute ([`crate::account::Cache`]): every socket request asks.
pub fn in_group(uid: u32, group: &str) -> bool {
    static GIDS: Cache<String, u32> = Cache::new();
    let Ok(Some(wanted)) = GIDS.get(group.to_string(), || group_id(group)) else {
        return false;
    };
    Account::cached_by_uid(uid)
        .ok()
        .flatten()
        .is_some_and(|a| a.gid == wanted || a.groups.contains(&wanted))
}

/// The name of a Unix user, or its number when it has no passwd entry (kept for a minute).
pub fn user_name(uid: u32) -> String {
    match Account::cached_by_uid(uid) {
        Ok(Some(account)) => account.name.clone(),
        _ => uid.to_string(),
    }
}

/// The gid of the group called `name`, or `None` when there is no such group.
pub fn group_id(name: &str) -> std::io::Result<Option<u32>> {
    let cname = std::ffi::CString::new(name)
        .map_err(|_| std::io::Error::new(std::io::ErrorKind::InvalidInput, "NUL in group name"))?;
    // A group lists its members in the entry, so the buffer may need to grow.
    let mut buf = vec![0u8; 4096];
    loop {
        let mut grp: libc::group = unsafe { std::mem::zeroed() };
        let mut result: *mut libc::group = std::ptr::null_mut();
        // SAFETY: all pointers are valid for the given sizes; getgrnam_r writes only into them.
        let rc = unsafe {
            libc::getgrnam_r(
                cname.as_ptr(),
                &mut grp,
                buf.as_mut_ptr().cast(),
                buf.len(),
                &mut result,
            )
        };
        if rc == libc::ERANGE && buf.len() < 1 << 24 {
            buf.resize(buf.len() * 2, 0);
            continue;
        }
        if rc != 0 {
            return Err(std::io::Error::from_raw_os_error(rc));
        }
        return Ok((!result.is_null()).then_some(grp.gr_gid));
    }
}

/// The group that system mode gives its socket to: users in it may use a system jobod.
pub const SYSTEM_SOCKET_GROUP: &str = "jobo";

/// Who may connect to jobod's Unix socket: the daemon's user always (mode `0600`), and with
/// `group` also that group's members (mode `0660`). The API trusts the peer uid the kernel
/// reports, so this is the whole access control of the socket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SocketAccess {
    pub mode: u32,
    /// The group's name (for messages) and gid.
    pub group: Option<(String, u32)>,
}

impl SocketAccess {
    /// `--socket-group` when given (it must exist). Otherwise system mode shares the socket
    /// with the `jobo` group, or, when that group does not exist, with the daemon's own group
    /// (root's, as root) and warns, since then ordinary users cannot use the daemon; user mode
    /// keeps it to its owner.
    pub fn resolve(system: bool, group: Option<&str>) -> anyhow::Result<SocketAccess> {
        if let Some(name) = group {
            let gid = group_id(name)
                .map_err(|e| anyhow::anyhow!("cannot look up group '{name}': {e}"))?
                .ok_or_else(|| anyhow::anyhow!("--socket-group {name}: there is no such group"))?;
            return Ok(SocketAccess {
                mode: 0o660,
                group: Some((name.to_string(), gid)),
            });
        }
        if !system {
            return Ok(SocketAccess {
                mode: 0o600,
                group: None,
            });
        }
        if let Ok(Some(gid)) = group_id(SYSTEM_SOCKET_GROUP) {
            return Ok(SocketAccess {
                mode: 0o660,
                group: Some((SYSTEM_SOCKET_GROUP.to_string(), gid)),
            });
        }
        // SAFETY: getegid has no preconditions and cannot fail.
        let own = unsafe { libc::getegid() };
        tracing::warn!(
            "there is no group '{SYSTEM_SOCKET_GROUP}': the socket goes to jobod's own group \
             (gid {own}), so ordinary users cannot use this jobod; create the group (groupadd \
             --system {SYSTEM_SOCKET_GROUP}), add them to it and restart, or pass --socket-group"
        );
        Ok(SocketAccess {
            mode: 0o660,
            group: Some((own.to_string(), own)),
        })
    }

    /// Gives the socket at `path` to the group, if any (its mode was set when it was bound).
    pub fn apply(&self, path: &Path) -> anyhow::Result<()> {
        if let Some((name, gid)) = &self.group {
            std::os::unix::fs::chown(path, None, Some(*gid)).map_err(|e| {
                anyhow::anyhow!(
                    "cannot give the socket {} to group {name}: {e} (jobod must run as root or \
                     as a member of {name})",
                    path.display()
                )
            })?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_closed_ancestor_sends_roots_data_elsewhere_and_keeps_homes_apart() {
        use std::os::unix::fs::PermissionsExt;
        let top = tempfile::tempdir().expect("temp dir");
        let data = top.path().join("home/.local/share/jobo");
        std::fs::create_dir_all(&data).expect("dirs");
        std::fs::set_permissions(top.path(), std::fs::Permissions::from_mode(0o711))
            .expect("chmod");
        assert!(others_may_pass(&data));
        std::fs::set_permissions(
            top.path().join("home"),
            std::fs::Permissions::from_mode(0o700),
        )
        .expect("chmod");
        assert!(!others_may_pass(&data));
        let other = top.path().join("other/.local/share/jobo");
        assert_ne!(root_user_data_dir(&data), root_user_data_dir(&other));
        assert_eq!(root_user_data_dir(&data), root_user_data_dir(&data));
        assert!(root_user_data_dir(&data).starts_with(ROOT_USER_DATA));
    }

    #[test]
    fn group_membership_counts_the_primary_group() {
        // root's primary group is gid 0, named "root" on every Linux this runs on.
        assert!(in_group(0, "root"));
        assert!(!in_group(0, "no-such-group-jobo"));
        assert!(!in_group(0, "bad\0name"));
    }
}
