//! Runs one payload: `bash run.sh` in the payload dir, in a process group of its
//! own, with a scrubbed environment, output captured to files, and cancel/timeout handled by
//! signalling the whole group (SIGTERM, then SIGKILL after a grace period).
//!
//! Where jobod can make cgroups (src/cgroup/), each run holds a slot's cgroups, with its memory,
//! CPU and pids limits, from before `exec` (the slot's own thread spawns it); at the end of the
//! run everything left in it is killed, `setsid` children included, and its usage read.
//! Elsewhere memory is held by `RLIMIT_AS` and the process group is all that is killed.
//!
//! A run that is to be another user's ([`RunAs::Account`], a root jobod) is spawned by a thread
//! that has taken on that user's credentials for the spawn ([`crate::as_user`]); either way it
//! starts with a vfork-like clone ([`crate::spawn`]) and the daemon is never forked.

use crate::api::{Enforced, Network, NetworkIsolation, Usage};
use crate::as_user::Switched;
use crate::cgroup::{self, Caps, Lease, Oom};
use crate::jobenv::RunEnv;
use crate::logs::LogWriter;
use crate::logtime::{self, IndexWriter};
use crate::paths::{JobDir, LogStream};
use crate::process;
use crate::run_as::RunAs;
use crate::spawn::{self, Child};
use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// What one run needs to know.
pub struct RunSpec {
    /// `JOBO_JOB_ID` of the run: a job number on the server, a payload uuid on a node.
    pub job_id: String,
    /// Whose job it is (`JOBO_USER`): a user name, or `portal:<id>`.
    pub user: String,
    /// The Unix user it runs as (`USER`, `LOGNAME`).
    pub run_as: RunAs,
    pub service: String,
    pub dir: JobDir,
    pub timeout: Option<Duration>,
    pub kill_grace: Duration,
    /// `JOBO_ATTEMPT`: which run of the job this is (1 for the first).
    pub attempt: u32,
    /// `PATH`, `LANG`, `TZ` and the job's own variables (src/jobenv.rs).
    pub env: RunEnv,
    /// Each log file stops growing at this size (the service's `max_output`).
    pub max_output: Option<u64>,
    /// Memory, CPUs and pids the run is held to.
    pub caps: Caps,
    /// The service's `network`: `Off` runs it in a network namespace of its own
    /// (src/netns.rs).
    pub network: Network,
}

/// How a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// `run.sh` exited (a death by signal N is reported as 128 + N, like a shell).
    Exited(i32),
    TimedOut,
    Cancelled,
    /// The kernel killed a process of the job for memory over its limit (the exit code).
    OutOfMemory(i32),
}

/// A started run.
pub struct Running {
    child: Child,
    /// The process group id (= pid of `bash run.sh`).
    pub pid: i32,
    /// Its start time, to recognise the group after a daemon restart.
    pub start_time: Option<u64>,
    copiers: Vec<JoinHandle<()>>,
    /// The run's slot cgroups, where there are.
    cgroup: Option<Lease>,
    /// The limits it is held to, and how.
    pub enforced: Enforced,
}

/// `bash` as the child's `execvp` would find it in `path` (the job's `PATH`), or the bare name
/// when that search depends on the child's working directory (a relative or empty entry).
/// Known before the spawn, it is the job's `SHELL`, and its one `execve`.
fn shell(path: &std::ffi::OsStr) -> PathBuf {
    use std::os::unix::ffi::OsStrExt;
    for dir in std::env::split_paths(path) {
        if !dir.is_absolute() {
            break;
        }
        let candidate = dir.join("bash");
        let Ok(c) = std::ffi::CString::new(candidate.as_os_str().as_bytes()) else {
            continue;
        };
        // SAFETY: `c` is a valid NUL-terminated string; access only reads it.
        if candidate.is_file() && unsafe { libc::access(c.as_ptr(), libc::X_OK) } == 0 {
            return candidate;
        }
    }
    "bash".into()
}

/// Starts `bash run.sh` in the job's work dir.
pub async fn spawn(spec: &RunSpec, logs: LogWriter) -> std::io::Result<Running> {
    let work = spec.dir.work();
    // Nothing of the daemon's own environment: the allow-list of src/jobenv.rs only.
    let path = std::ffi::OsStr::new(&spec.env.path);
    let shell = shell(path);
    let mut cmd = spawn::Spec::new(&shell, &work);
    cmd.arg("run.sh");
    for (k, v) in &spec.env.vars {
        cmd.env(k, v);
    }
    cmd.env("PATH", path);
    // `SHELL` as a login sets it; without it bash reads the passwd database at every start.
    cmd.env("HOME", &work)
        .env("SHELL", &shell)
        .env("TMPDIR", spec.dir.scratch())
        .env("USER", spec.run_as.name())
        .env("LOGNAME", spec.run_as.name())
        .env("JOBO_JOB_ID", &spec.job_id)
        .env("JOBO_USER", &spec.user)
        .env("JOBO_SERVICE", &spec.service)
        .env("JOBO_ATTEMPT", spec.attempt.to_string());

    // Opened here, not by the copiers: a run of a few milliseconds ends before a trip to the
    // blocking pool would have opened them, and its end waits for the copiers.
    let stdout_log = open_log(spec.dir.log(LogStream::Stdout))?;
    let stderr_log = open_log(spec.dir.log(LogStream::Stderr))?;
    let (cgroup, enforced) = cgroup::lease(&mut cmd, &spec.caps)?;
    // As the account, on the spawning thread only, the child is started as that user (entering
    // the work dir as that user too), without forking the daemon. With v1 cgroups that thread
    // is the slot's, which lives in them: the child starts there.
    // No network: spawned from a thread in a fresh network namespace, made by the slot's
    // thread so it starts in the same cgroups (before it switches users: it needs root).
    let isolation = isolation(spec.network);
    let account = spec.run_as.account().cloned();
    let runtime = tokio::runtime::Handle::current();
    let start = move || {
        let _runtime = runtime.enter();
        let as_account = move || {
            let as_user = account.as_ref().map(Switched::to).transpose()?;
            let spawned = process::spawn_own(|| cmd.spawn(), |c| Some(c.id()));
            drop(as_user);
            spawned
        };
        match isolation {
            Some(NetworkIsolation::Namespace) => crate::netns::spawn_isolated(as_account),
            _ => as_account(),
        }
    };
    let mut child = match &cgroup {
        Some(lease) => lease.spawn(start).await?,
        None => start()?,
    };
    let enforced = Enforced {
        network: isolation,
        ..enforced
    };
    let pid = child.id() as i32;
    let start_time = process::start_time(pid);
    let mut copiers = Vec::with_capacity(2);
    if let Some(out) = child.stdout.take() {
        copiers.push(copy_to_log(out, stdout_log, logs.clone(), spec.max_output));
    }
    if let Some(err) = child.stderr.take() {
        copiers.push(copy_to_log(err, stderr_log, logs, spec.max_output));
    }
    Ok(Running {
        child,
        pid,
        start_time,
        copiers,
        cgroup,
        enforced,
    })
}

/// What `network` gets a run here: none asked for, a namespace, or not possible here.
fn isolation(network: Network) -> Option<NetworkIsolation> {
    match network {
        Network::Host => None,
        Network::Off if crate::netns::support().is_ok() => Some(NetworkIsolation::Namespace),
        Network::Off => Some(NetworkIsolation::NotApplied),
    }
}

/// Why a run that exited with `code` failed. Under `RLIMIT_AS` going over the memory limit
/// fails an allocation instead of killing the job, so nothing tells an out-of-memory exit
/// from another: the reason names the cap, for the reader to look for the job's own error.
pub fn exit_reason(code: i32, caps: &Caps, enforced: &Enforced) -> String {
    match (caps.memory, enforced.memory) {
        (Some(cap), Some(crate::api::Mechanism::Rlimit)) => format!(
            "run.sh exited with code {code} (memory was capped at {} by RLIMIT_AS, which fails \
             an allocation over it rather than killing the job: its stderr may say out of memory)",
            crate::limits::size::format(cap)
        ),
        _ => format!("run.sh exited with code {code}"),
    }
}

/// Why a run could not start, in words that say what to do: a work dir the run's account cannot
/// reach names the directory in the way.
pub fn spawn_failure(spec: &RunSpec, e: &std::io::Error) -> String {
    if e.kind() == std::io::ErrorKind::PermissionDenied
        && let Some(account) = spec.run_as.account()
        && let Some(blocked) = crate::run_as::blocked_at(&spec.dir.work(), account)
    {
        return format!(
            "cannot start run.sh as {}: {} is not searchable by that user (chmod o+x {1}, or \
             use a data dir it can reach)",
            account.name,
            blocked.display()
        );
    }
    format!("cannot start run.sh: {e}")
}

/// A log opened for appending, and where its end is.
struct OpenLog {
    path: std::path::PathBuf,
    file: std::fs::File,
    len: u64,
}

fn open_log(path: std::path::PathBuf) -> std::io::Result<OpenLog> {
    let opened = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .and_then(|file| Ok((file.metadata()?.len(), file)));
    match opened {
        Ok((len, file)) => Ok(OpenLog { path, file, len }),
        Err(e) => Err(std::io::Error::new(
            e.kind(),
            format!("cannot open log {}: {e}", path.display()),
        )),
    }
}

/// Appends a pipe to a log file, telling followers after each write, and dates each chunk in
/// the log's time index (src/logtime.rs) before writing it. With a `cap`, the file stops
/// growing there and the rest is read and dropped (the job is not blocked on a full pipe; the
/// end-of-run check fails it, src/limits/output.rs).
fn copy_to_log(
    mut pipe: impl AsyncRead + Unpin + Send + 'static,
    log: OpenLog,
    logs: LogWriter,
    cap: Option<u64>,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let OpenLog {
            path,
            file,
            len: mut offset,
        } = log;
        let index = IndexWriter::new(logtime::index_of(&path), cap);
        let mut sink = (file, index);
        let mut buf = vec![0u8; 64 * 1024];
        let mut room = cap.unwrap_or(u64::MAX);
        loop {
            match pipe.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    let at = std::time::SystemTime::now();
                    let n = n.min(usize::try_from(room).unwrap_or(usize::MAX));
                    if n == 0 {
                        continue;
                    }
                    room -= n as u64;
                    // One trip to the blocking pool for the record and the bytes, in that order.
                    let wrote = tokio::task::spawn_blocking(move || {
                        let (file, index) = &mut sink;
                        let written = index
                            .record(offset, at)
                            .and_then(|()| file.write_all(&buf[..n]));
                        (sink, buf, written)
                    })
                    .await;
                    let written;
                    (sink, buf, written) = match wrote {
                        Ok(w) => w,
                        Err(e) => {
                            tracing::error!("cannot write log {}: {e}", path.display());
                            break;
                        }
                    };
                    if let Err(e) = written {
                        tracing::error!("cannot write log {}: {e}", path.display());
                        break;
                    }
                    offset += n as u64;
                    logs.appended(n);
                }
            }
        }
    })
}

impl Running {
    /// Waits for the run to end, for `cancel`, or for the timeout; then makes sure nothing of
    /// the job's process group (and cgroup) is left and its output is in the files. Also
    /// returns what the run used.
    pub async fn wait(mut self, spec: &RunSpec, cancel: &CancellationToken) -> (Outcome, Usage) {
        let timeout = async {
            match spec.timeout {
                Some(t) => tokio::time::sleep(t).await,
                None => std::future::pending().await,
            }
        };
        // Where an OOM kill takes one process (cgroup v1), it ends the whole run, as on v2.
        let oom = self.cgroup.as_ref().and_then(Lease::oom_notice);
        let oom_killed = async {
            match &oom {
                Some(notice) => notice.fired().await,
                None => std::future::pending().await,
            }
        };
        let (outcome, rusage) = tokio::select! {
            waited = self.child.wait() => (Outcome::Exited(exit_code(&waited)), usage(waited)),
            _ = cancel.cancelled() => (Outcome::Cancelled, self.terminate(spec.kill_grace).await),
            _ = timeout => (Outcome::TimedOut, self.terminate(spec.kill_grace).await),
            _ = oom_killed => {
                process::kill_group(self.pid, libc::SIGKILL);
                if let Some(cg) = &self.cgroup {
                    cg.signal_all(libc::SIGKILL);
                }
                let waited = self.child.wait().await;
                (Outcome::OutOfMemory(exit_code(&waited)), usage(waited))
            }
        };
        // What run.sh used (the rusage of its reaping) stands in only where no cgroup measures
        // the whole job's memory.
        let rusage = rusage.filter(|_| self.cgroup.as_ref().is_none_or(|cg| !cg.measures_memory()));
        // Background children outlive run.sh only until here, as a container's do.
        process::kill_group_and_wait(self.pid, Duration::from_secs(5)).await;
        // And what left the group (setsid, double fork): everything in the job's cgroup.
        let mut usage = rusage.unwrap_or_default();
        let mut outcome = outcome;
        if let Some(cg) = &mut self.cgroup {
            if !cg.kill_all(Duration::from_secs(10)).await {
                tracing::error!(
                    "job {}: processes left in its cgroup after 10 s of SIGKILL",
                    spec.job_id
                );
            }
            usage = cg.usage().or(usage);
            if let Outcome::Exited(code) = outcome {
                match cg.oom() {
                    Oom::Killed => outcome = Outcome::OutOfMemory(code),
                    Oom::HitLimit if code != 0 => outcome = Outcome::OutOfMemory(code),
                    Oom::HitLimit | Oom::None => {}
                }
            }
        }
        for copier in std::mem::take(&mut self.copiers) {
            // The pipes close once the group is gone; bound it for a child that left the group.
            let _ = tokio::time::timeout(Duration::from_secs(2), copier).await;
        }
        (outcome, usage)
    }

    /// Ends the run's process group (SIGTERM, SIGKILL after `grace`); returns what run.sh used.
    async fn terminate(&mut self, grace: Duration) -> Option<Usage> {
        process::kill_group(self.pid, libc::SIGTERM);
        // And what left the group, so a setsid child gets its grace too.
        if let Some(cg) = &self.cgroup {
            cg.signal_all(libc::SIGTERM);
        }
        match tokio::time::timeout(grace, self.child.wait()).await {
            Ok(waited) => usage(waited),
            Err(_) => {
                process::kill_group(self.pid, libc::SIGKILL);
                usage(self.child.wait().await)
            }
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        // Reaped by now; if not (jobod stopping), the orphan reaper may take it.
        process::forget_own(self.pid);
    }
}

type Waited = std::io::Result<(std::process::ExitStatus, Option<Usage>)>;

fn usage(waited: Waited) -> Option<Usage> {
    waited.ok().and_then(|(_, used)| used)
}

fn exit_code(waited: &Waited) -> i32 {
    use std::os::unix::process::ExitStatusExt;
    match waited {
        Ok((s, _)) => s
            .code()
            .or_else(|| s.signal().map(|n| 128 + n))
            .unwrap_or(-1),
        Err(_) => -1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shell_is_searched_like_execvp() {
        let dir = tempfile::tempdir().expect("temp dir");
        let bin = dir.path().join("bin");
        std::fs::create_dir_all(&bin).expect("mkdir");
        let fake = bin.join("bash");
        std::fs::write(&fake, "#!/bin/sh\n").expect("write");
        let at = |mode| {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(mode)).expect("chmod");
        };
        let path = format!("/nonexistent:{}:/usr/bin:/bin", bin.display());
        at(0o755);
        assert_eq!(shell(path.as_ref()), fake);
        // Not executable: the search goes on, as execvp's does.
        at(0o644);
        assert_ne!(shell(path.as_ref()), fake);
        // A relative or empty entry depends on the child's cwd: leave the search to it.
        at(0o755);
        let relative = format!("bin:{}", bin.display());
        assert_eq!(shell(relative.as_ref()), PathBuf::from("bash"));
        assert_eq!(
            shell(format!(":{}", bin.display()).as_ref()),
            PathBuf::from("bash")
        );
    }
}
