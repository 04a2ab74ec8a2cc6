//! What a long-running `jobod` process needs from its machine, whichever role it plays
//! (`jobod serve` in `daemon.rs`, `jobod worker` in `node/`): the data-dir lock and the stop
//! signal. Here rather than in either, so that neither role depends on the other.

use crate::paths::DataDir;
use std::fs::{File, TryLockError};
use std::path::PathBuf;
use tokio::signal::unix::{SignalKind, signal};

/// The lock file in a data dir; `jobod serve`, `jobod worker` and `jobod check --fix` take it.
const LOCK_FILE: &str = "jobod.lock";

#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error("cannot open {path}: {source}", path = .path.display())]
    Open {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot lock {path}: {source}", path = .path.display())]
    Lock {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "another jobod{pid} is using the data dir {dir} (stop it, or pick another --data-dir)",
        dir = .0.display(),
        pid = .1.map(|p| format!(" (pid {p})")).unwrap_or_default()
    )]
    Held(PathBuf, Option<u32>),
}

fn lock_path(data: &DataDir) -> PathBuf {
    data.root().join(LOCK_FILE)
}

fn open(data: &DataDir) -> Result<File, LockError> {
    let path = lock_path(data);
    std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|source| LockError::Open { path, source })
}

/// Takes the data dir's exclusive lock, held as long as the returned file is open (the kernel
/// drops it with the process): a second jobod on the same data dir must not "recover" or
/// empty what the first one is running.
///
/// A jobod killed outright may leave a child that was between fork and exec, which holds the
/// lock's descriptor until it execs (it is close-on-exec): on a loaded machine that can take a
/// moment, so a held lock is tried again for up to a second before it counts as another jobod.
pub fn lock_data_dir(data: &DataDir) -> Result<File, LockError> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(1);
    loop {
        if let Some(file) = try_lock_data_dir(data)? {
            return Ok(file);
        }
        if std::time::Instant::now() >= deadline {
            return Err(LockError::Held(data.root().to_path_buf(), holder(data)));
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

/// [`lock_data_dir`], with `None` when a jobod holds the lock. The lock file then holds the
/// holder's pid, for people and tools to see who it is (the lock is what counts, not the pid).
pub fn try_lock_data_dir(data: &DataDir) -> Result<Option<File>, LockError> {
    let mut file = open(data)?;
    match file.try_lock() {
        Ok(()) => {
            use std::io::Write;
            let written = file
                .set_len(0)
                .and_then(|()| writeln!(file, "{}", std::process::id()));
            if let Err(e) = written {
                tracing::warn!("cannot write the pid to {}: {e}", lock_path(data).display());
            }
            Ok(Some(file))
        }
        Err(TryLockError::WouldBlock) => Ok(None),
        Err(TryLockError::Error(source)) => Err(LockError::Lock {
            path: lock_path(data),
            source,
        }),
    }
}

/// The pid the lock file names, if it names one.
fn holder(data: &DataDir) -> Option<u32> {
    std::fs::read_to_string(lock_path(data))
        .ok()?
        .trim()
        .parse()
        .ok()
}

/// Whether a jobod holds the data dir's lock. Probed with a shared lock released at once (a
/// jobod starting in that instant would see the lock taken and refuse). A lock file that
/// cannot be opened means no jobod ever ran there.
pub fn data_dir_locked(data: &DataDir) -> bool {
    let Ok(file) = File::open(lock_path(data)) else {
        return false;
    };
    file.try_lock_shared().is_err()
}

/// The signals a long-running jobod acts on: SIGTERM and SIGINT stop it; SIGHUP, which would
/// otherwise kill it on the spot (its default action) and leave the socket behind, asks
/// `jobod serve` to reload its configuration. Made before the daemon binds its socket: from
/// the moment a client can reach it, these signals are handled, never the default action.
pub struct StopSignal {
    term: tokio::signal::unix::Signal,
    int: tokio::signal::unix::Signal,
    hup: tokio::signal::unix::Signal,
}

/// What a signal asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Asked {
    Stop,
    Reload,
}

impl StopSignal {
    pub fn new() -> std::io::Result<StopSignal> {
        Ok(StopSignal {
            term: signal(SignalKind::terminate())?,
            int: signal(SignalKind::interrupt())?,
            hup: signal(SignalKind::hangup())?,
        })
    }

    /// The next signal's request.
    pub async fn next(&mut self) -> Asked {
        tokio::select! {
            _ = self.term.recv() => Asked::Stop,
            _ = self.int.recv() => Asked::Stop,
            _ = self.hup.recv() => Asked::Reload,
        }
    }

    /// Returns at the first SIGTERM or SIGINT; a SIGHUP is logged (a worker node has nothing
    /// to reload).
    pub async fn wait(mut self) {
        while self.next().await == Asked::Reload {
            tracing::info!("SIGHUP: a worker node has no configuration file to reload");
        }
    }
}
