//! A worker node's payloads: an in-memory table (the server owns the truth) and their runs.
//!
//! Each submitted payload gets a task that waits for a slot (a semaphore, so a finished run
//! wakes the next one; nothing polls), then runs `bash run.sh` through the same executor as the
//! server's local worker. Its state is a `watch` channel, so `kill` can wait for the end.

use crate::executor::{self, Outcome, RunSpec};
use crate::logs::LogWriter;
use crate::paths::{DataDir, JobDir, LogStream};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{Semaphore, watch};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

/// The seed's payload status words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Prepared,
    Running,
    Completed,
    Failed,
    Killed,
}

impl Status {
    pub fn word(self) -> &'static str {
        match self {
            Status::Prepared => "Prepared",
            Status::Running => "Running",
            Status::Completed => "Completed",
            Status::Failed => "Failed",
            Status::Killed => "Killed",
        }
    }

    /// The run is over: its files are final.
    pub fn is_done(self) -> bool {
        matches!(self, Status::Completed | Status::Failed | Status::Killed)
    }
}

/// Where a payload is now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Snapshot {
    pub status: Status,
    /// `run.sh`'s exit code once it exited (128 + N for a death by signal N).
    pub exit_code: Option<i32>,
}

impl Snapshot {
    pub fn message(&self) -> String {
        match (self.status, self.exit_code) {
            (Status::Prepared, _) => "waiting for a free slot".into(),
            (Status::Running, _) => "running".into(),
            (Status::Killed, _) => "killed".into(),
            (_, Some(code)) => format!("run.sh exited with code {code}"),
            (_, None) => "run.sh could not be started".into(),
        }
    }
}

struct Entry {
    state: watch::Receiver<Snapshot>,
    cancel: CancellationToken,
    dir: JobDir,
}

/// The payload table and the slots payloads run in.
#[derive(Clone)]
pub struct Payloads {
    inner: Arc<Inner>,
}

struct Inner {
    data: DataDir,
    slots: Arc<Semaphore>,
    kill_grace: Duration,
    table: Mutex<HashMap<Uuid, Entry>>,
}

impl Payloads {
    pub fn new(data: DataDir, slots: usize, kill_grace: Duration) -> Payloads {
        Payloads {
            inner: Arc::new(Inner {
                data,
                slots: Arc::new(Semaphore::new(slots.max(1))),
                kill_grace,
                table: Mutex::new(HashMap::new()),
            }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Uuid, Entry>> {
        self.inner.table.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Moves a fully received upload into `payloads/<id>/work` and queues it for a slot.
    pub async fn submit(&self, staged: tempfile::TempDir) -> std::io::Result<Uuid> {
        let id = Uuid::new_v4();
        let dir = self.inner.data.payload(&id.to_string());
        let prepare = {
            let dir = dir.clone();
            tokio::task::spawn_blocking(move || -> std::io::Result<()> {
                std::fs::create_dir_all(dir.path())?;
                std::fs::rename(staged.path(), dir.work())?;
                // Renamed away: nothing is left for the TempDir to remove.
                let _ = staged.keep();
                std::fs::create_dir_all(dir.scratch())?;
                for stream in [LogStream::Stdout, LogStream::Stderr] {
                    std::fs::File::create(dir.log(stream))?;
                }
                Ok(())
            })
            .await
            .map_err(std::io::Error::other)?
        };
        if let Err(e) = prepare {
            let _ = tokio::fs::remove_dir_all(dir.path()).await;
            return Err(e);
        }
        let (tx, rx) = watch::channel(Snapshot {
            status: Status::Prepared,
            exit_code: None,
        });
        let cancel = CancellationToken::new();
        self.lock().insert(
            id,
            Entry {
                state: rx,
                cancel: cancel.clone(),
                dir: dir.clone(),
            },
        );
        let spec = RunSpec {
            job_id: id.to_string(),
            user: crate::paths::user_name(crate::paths::uid()),
            service: "node".into(),
            dir,
            timeout: None,
            kill_grace: self.inner.kill_grace,
        };
        tokio::spawn(run(self.inner.slots.clone(), spec, cancel, tx));
        Ok(id)
    }

    /// The payload's state and the dir whose files are its results.
    pub fn get(&self, id: &Uuid) -> Option<(Snapshot, PathBuf)> {
        let table = self.lock();
        let entry = table.get(id)?;
        let snapshot = *entry.state.borrow();
        Some((snapshot, entry.dir.work()))
    }

    /// Kills a payload (its whole process group: SIGTERM, then SIGKILL after the grace) and
    /// waits until it is over; a payload still waiting for a slot never starts.
    pub async fn kill(&self, id: &Uuid) -> Option<Snapshot> {
        let (mut state, cancel) = {
            let table = self.lock();
            let entry = table.get(id)?;
            (entry.state.clone(), entry.cancel.clone())
        };
        cancel.cancel();
        let limit = self.inner.kill_grace + Duration::from_secs(10);
        let _ = tokio::time::timeout(limit, state.wait_for(|s| s.status.is_done())).await;
        let snapshot = *state.borrow();
        Some(snapshot)
    }

    /// Kills every payload and waits (bounded) until they are over; used at shutdown.
    pub async fn kill_all(&self) {
        let ids: Vec<Uuid> = self.lock().keys().copied().collect();
        let kills = ids.iter().map(|id| self.kill(id));
        futures_util::future::join_all(kills).await;
    }
}

async fn run(
    slots: Arc<Semaphore>,
    spec: RunSpec,
    cancel: CancellationToken,
    state: watch::Sender<Snapshot>,
) {
    let set = |status, exit_code| state.send_replace(Snapshot { status, exit_code });
    let permit = tokio::select! {
        biased;
        _ = cancel.cancelled() => None,
        p = slots.acquire_owned() => p.ok(),
    };
    let Some(_permit) = permit else {
        set(Status::Killed, None);
        return;
    };
    let running = match executor::spawn(&spec, LogWriter::detached()) {
        Ok(r) => r,
        Err(e) => {
            tracing::error!("payload {}: cannot start run.sh: {e}", spec.job_id);
            let note = format!("jobod worker: cannot start run.sh: {e}\n");
            let _ = tokio::fs::write(spec.dir.log(LogStream::Stderr), note).await;
            set(Status::Failed, None);
            return;
        }
    };
    set(Status::Running, None);
    tracing::info!("payload {} running (pid {})", spec.job_id, running.pid);
    let outcome = running.wait(&spec, &cancel).await;
    let (status, code) = match outcome {
        Outcome::Exited(0) => (Status::Completed, Some(0)),
        Outcome::Exited(n) => (Status::Failed, Some(n)),
        Outcome::Cancelled | Outcome::TimedOut => (Status::Killed, None),
    };
    tracing::info!("payload {} {}", spec.job_id, status.word());
    set(status, code);
}
