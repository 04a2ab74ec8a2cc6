//! Owners and modes in a data dir whose jobs run as other users than jobod (a root jobod or
//! worker node): the directories on the way to a job's work dir may be passed through but not
//! listed (0711); what jobod keeps there is its own alone (`jobo.db` and logs 0600, `tmp/`,
//! `input/` and results fetched from nodes 0700); a job's `work/` and `tmp/` are handed to the
//! account it runs as (0700). So a job can write only in its own dirs, and cannot list or
//! read another job's, the store or a token. Modes are set where each thing is made, not
//! through the umask: jobs inherit jobod's umask.

use crate::account::Account;
use std::fs;
use std::io;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

/// Mode of the directories a job's account passes through: the data dir, `jobs/`,
/// `jobs/<id>/` (and a node's `payloads/…`).
pub const PASS_THROUGH: u32 = 0o711;
/// Mode of what is one user's alone: a job's `work/` and `tmp/`, jobod's own data dir when
/// it runs no job as another user.
pub const PRIVATE_DIR: u32 = 0o700;
/// Mode of jobod's own files: the store, logs, tokens.
pub const PRIVATE_FILE: u32 = 0o600;

/// The mode of the data dir (and of `jobs/` or `payloads/` in it): passed through by job
/// accounts when jobod is root, jobod's alone otherwise.
pub fn data_dir_mode() -> u32 {
    if crate::paths::is_root() {
        PASS_THROUGH
    } else {
        PRIVATE_DIR
    }
}

pub fn set_mode(path: &Path, mode: u32) -> io::Result<()> {
    fs::set_permissions(path, fs::Permissions::from_mode(mode))
}

/// Makes each of `files` that exists readable by jobod alone (a store made by an older jobod,
/// or under another umask, may be 0644).
pub fn make_private(files: &[&Path]) -> io::Result<()> {
    for file in files {
        match fs::symlink_metadata(file) {
            Ok(m) if m.is_file() && m.permissions().mode() & 0o077 != 0 => {
                set_mode(file, PRIVATE_FILE)?;
            }
            Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
            _ => {}
        }
    }
    Ok(())
}

/// Hands the tree at `dir`, which jobod just made and nobody else can reach yet, to
/// `account`: every entry is `lchown`ed (links are not followed), `dir` last and with mode
/// 0700, so the account gets in only once all of it is its own.
pub fn give(dir: &Path, account: &Account) -> io::Result<()> {
    let (uid, gid) = (Some(account.uid), Some(account.gid));
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in fs::read_dir(&d)? {
            let entry = entry?;
            let path = entry.path();
            if entry.file_type()?.is_dir() {
                stack.push(path.clone());
            }
            std::os::unix::fs::lchown(&path, uid, gid)?;
        }
    }
    set_mode(dir, PRIVATE_DIR)?;
    std::os::unix::fs::lchown(dir, uid, gid)
}

/// Warns when a secret's file (a node token) can be read by users other than its owner: jobs
/// running as those users could read it.
pub fn warn_if_readable(path: &Path, what: &str) {
    use std::os::unix::fs::MetadataExt;
    if let Ok(m) = fs::metadata(path)
        && m.mode() & 0o044 != 0
    {
        tracing::warn!(
            "{what} {} can be read by other users (mode {:04o}); jobs running as them could \
             read it: chmod 600 {1}",
            path.display(),
            m.mode() & 0o7777
        );
    }
}
