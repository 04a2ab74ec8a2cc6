//! Who a job runs as. A root jobod never runs a job as root: a job that a Unix user submitted
//! over the socket runs as that user (as Slurm does), every other one (root's own, API
//! tokens over TCP even when a Unix user has the token's name, portals) as its service's
//! `run_as` user, `jobo-run` by default. The choice is made at submit and kept on the job.
//! A jobod that is not root cannot switch users: its jobs run as itself, whatever is asked.
//!
//! Worker nodes apply the same rule to the user the server names, within their allow-list
//! (`jobod worker --run-as-allow`).

use crate::account::Account;
use crate::config::Config;
use crate::paths;
use std::io;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

/// The `run_as` of a service that names none, and a root worker node's default.
pub const DEFAULT_RUN_AS: &str = "jobo-run";

/// What to run to create [`DEFAULT_RUN_AS`] (said in the errors that need it).
pub const CREATE_DEFAULT: &str =
    "useradd --system --no-create-home --shell /usr/sbin/nologin jobo-run";

/// Who one run runs as.
#[derive(Debug, Clone)]
pub enum RunAs {
    /// jobod's own user: jobod is not root (it cannot switch), or the account is its own.
    Daemon(Arc<str>),
    /// Another account, switched to in the child before `run.sh` starts.
    Account(Arc<Account>),
}

impl RunAs {
    /// The user name (the job's `USER` and `LOGNAME`).
    pub fn name(&self) -> &str {
        match self {
            RunAs::Daemon(name) => name,
            RunAs::Account(a) => &a.name,
        }
    }

    /// The account to switch to, if the run switches.
    pub fn account(&self) -> Option<&Account> {
        match self {
            RunAs::Daemon(_) => None,
            RunAs::Account(a) => Some(a),
        }
    }

    /// As jobod itself.
    pub fn daemon() -> RunAs {
        RunAs::Daemon(own_name())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum RunAsError {
    #[error("there is no Unix user '{0}'")]
    NoSuchUser(String),
    #[error("'{0}' is root (uid 0), and jobs never run as root")]
    Root(String),
    #[error("cannot look up the Unix user '{0}': {1}")]
    Lookup(String, io::Error),
}

/// The name of the user jobod runs as, looked up once.
fn own_name() -> Arc<str> {
    static NAME: OnceLock<Arc<str>> = OnceLock::new();
    NAME.get_or_init(|| paths::user_name(paths::uid()).into())
        .clone()
}

/// Whom a job runs as, decided when it is submitted: the caller's own Unix user when it came
/// over the socket (`socket_uid`), is not root and has an account; else the service's
/// `run_as`. A jobod that is not root: itself.
pub fn for_submit(config: &Config, socket_uid: Option<u32>, service: &str) -> String {
    if !paths::is_root() {
        return own_name().to_string();
    }
    if let Some(uid) = socket_uid.filter(|&uid| uid != 0)
        && let Ok(Some(name)) = Account::name_of(uid)
    {
        return name;
    }
    config.run_as(service).to_string()
}

/// How a run of `name` runs: as that account when jobod is root (never root itself), as jobod
/// when it is not.
pub fn resolve(name: &str) -> Result<RunAs, RunAsError> {
    if !paths::is_root() {
        return Ok(RunAs::daemon());
    }
    let account = cached_account(name)?;
    if account.is_root() {
        return Err(RunAsError::Root(name.to_string()));
    }
    Ok(RunAs::Account(account))
}

/// The account `name` (looked up at most once a minute: [`crate::account::Cache`]).
fn cached_account(name: &str) -> Result<Arc<Account>, RunAsError> {
    Account::cached_by_name(name)
        .map_err(|e| RunAsError::Lookup(name.to_string(), e))?
        .ok_or_else(|| RunAsError::NoSuchUser(name.to_string()))
}

/// At the start of a root jobod: the account of every service's `run_as`, or an error naming
/// the service, the user and the fix. A jobod that is not root says that its jobs run as
/// itself and checks nothing.
pub fn check_services(config: &Config) -> anyhow::Result<Vec<Arc<Account>>> {
    if !paths::is_root() {
        tracing::info!(
            "jobod runs as {} (uid {}), not root: every job runs as {0} too, and run_as in \
             jobod.toml is ignored",
            own_name(),
            paths::uid()
        );
        return Ok(Vec::new());
    }
    let mut accounts: Vec<Arc<Account>> = Vec::new();
    for name in config.services.keys() {
        let user = config.run_as(name);
        match resolve(user) {
            Ok(RunAs::Account(a)) => {
                if !accounts.iter().any(|known| known.uid == a.uid) {
                    accounts.push(a);
                }
            }
            Ok(RunAs::Daemon(_)) => {}
            Err(RunAsError::NoSuchUser(_)) if user == DEFAULT_RUN_AS => anyhow::bail!(
                "service '{name}' runs jobs as '{user}', and there is no such user: create it \
                 ({CREATE_DEFAULT}) or set run_as in [services.{name}] of jobod.toml"
            ),
            Err(e) => anyhow::bail!(
                "service '{name}' has run_as = \"{user}\": {e}; set run_as in \
                 [services.{name}] of jobod.toml to an unprivileged user that exists (e.g. \
                 {DEFAULT_RUN_AS}: {CREATE_DEFAULT})"
            ),
        }
    }
    Ok(accounts)
}

/// Logs an error for each account that cannot reach `dir` (the jobs' or payloads' parent),
/// naming the directory in the way: its jobs would fail to start.
pub fn warn_unreachable(dir: &Path, accounts: &[Arc<Account>]) {
    for account in accounts {
        if let Some(blocked) = blocked_at(dir, account) {
            tracing::error!(
                "jobs that run as {} cannot reach {}: {} is not searchable by them; give it \
                 o+x (chmod o+x {2}) or use a data dir they can reach",
                account.name,
                dir.display(),
                blocked.display()
            );
        }
    }
}

/// The first directory on the way to `path` (itself included) that `account` may not search,
/// judged from owners and mode bits (ACLs are not read). `None` when every one is searchable.
pub fn blocked_at(path: &Path, account: &Account) -> Option<PathBuf> {
    let path = path.canonicalize().unwrap_or_else(|_| path.to_path_buf());
    let mut dirs: Vec<&Path> = path.ancestors().collect();
    dirs.reverse();
    dirs.into_iter()
        .find(|dir| std::fs::metadata(dir).is_ok_and(|m| !searchable(&m, account)))
        .map(Path::to_path_buf)
}

/// Whether `account` may search (traverse) a directory with metadata `m`.
fn searchable(m: &std::fs::Metadata, account: &Account) -> bool {
    let mode = m.mode();
    if account.uid == 0 {
        true
    } else if m.uid() == account.uid {
        mode & 0o100 != 0
    } else if account.gid == m.gid() || account.groups.contains(&m.gid()) {
        mode & 0o010 != 0
    } else {
        mode & 0o001 != 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn a_closed_directory_on_the_way_is_named() -> io::Result<()> {
        let top = tempfile::tempdir()?;
        let deep = top.path().join("a/b");
        std::fs::create_dir_all(&deep)?;
        let nobody = Account {
            name: "nobody-like".into(),
            uid: 65_000,
            gid: 65_000,
            groups: vec![65_000],
        };
        let set =
            |p: &Path, mode| std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode));
        set(top.path(), 0o711)?;
        set(&top.path().join("a"), 0o700)?;
        assert_eq!(blocked_at(&deep, &nobody), Some(top.path().join("a")));
        set(&top.path().join("a"), 0o701)?;
        assert_eq!(blocked_at(&deep, &nobody), None);
        Ok(())
    }
}
