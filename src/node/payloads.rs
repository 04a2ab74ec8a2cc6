//! A worker node's payloads: an in-memory table (the server owns the truth) of what was sent
//! here, and what can be done to them (submit, look up, kill, remove).
//!
//! Each payload's [`PayloadInfo`] lives in a `watch` channel written by its run (`run.rs`), so
//! `kill` and log followers wait for the end on it; every change is also broadcast, which is
//! what the feed sends.
//!
//! Native payloads (those with a job) can be fenced when the node's lease runs out
//! (`lease.rs`); payloads from the seed's `/submit` never are.

use super::lease::Lease;
use super::run::{Fence, Fencing, Reporter, run, store};
use super::slurm::{self, Attached, Slurm, SlurmRun};
use crate::executor::RunSpec;
use crate::jobenv::RunEnv;
use crate::logs::LogWriter;
use crate::paths::{DataDir, JobDir};
use crate::protocol::{PayloadInfo, PayloadState};
use crate::run_as::RunAs;
use crate::validator::{self, Validator};
use std::collections::{HashMap, HashSet};
use std::io;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{Semaphore, broadcast, watch};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

/// In the data dir: the last number given to a payload from the seed's `/submit`.
const SEED_ID_FILE: &str = "seed-id";

/// The last seed number given by an earlier run of this node. Without a readable record,
/// the seconds since 2025 (over any count one node hands out in that time).
fn last_seed_id(data: &DataDir) -> u32 {
    let file = data.root().join(SEED_ID_FILE);
    match std::fs::read_to_string(&file) {
        Ok(text) if let Ok(n) = text.trim().parse::<u32>() => n,
        Err(e) if e.kind() == io::ErrorKind::NotFound => 0,
        _ => {
            let since_2025 = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs().saturating_sub(1_735_689_600));
            tracing::warn!(
                "{} is unreadable: seed payload numbers restart at {since_2025}",
                file.display()
            );
            u32::try_from(since_2025).unwrap_or(u32::MAX / 2)
        }
    }
}

/// How many changes a feed may fall behind before it is ended (it reconnects with a hello).
const CHANGE_BACKLOG: usize = 1024;

/// What the sender of a payload asks for.
#[derive(Debug, Clone)]
pub struct Order {
    /// Named by the server (native route) or made up here (seed `/submit`).
    pub id: Uuid,
    pub job: Option<i64>,
    pub attempt: Option<u32>,
    pub timeout: Option<Duration>,
    /// `None`: the node's default.
    pub kill_grace: Option<Duration>,
    /// The number the seed's routes know it by (payloads from `/submit` only).
    pub seed_id: Option<u32>,
    /// Who it runs as.
    pub run_as: RunAs,
    pub run: RunSettings,
}

/// How a payload runs, as its server decided (the local worker's way): its job's service and
/// user, its variables, output cap and script validator. The defaults are for payloads from
/// the seed's `/submit` and from older servers.
#[derive(Debug, Clone)]
pub struct RunSettings {
    pub service: Option<String>,
    pub user: Option<String>,
    pub env: RunEnv,
    pub max_output: Option<u64>,
    /// Memory, CPUs and pids the run is held to.
    pub caps: crate::cgroup::Caps,
    /// The service's `network` (`Off`: a network namespace of the run's own).
    pub network: crate::api::Network,
    /// None: the validator is off for this payload.
    pub validator: Option<Arc<Validator>>,
}

impl Default for RunSettings {
    fn default() -> Self {
        RunSettings {
            service: None,
            user: None,
            env: RunEnv::default(),
            max_output: None,
            caps: Default::default(),
            network: Default::default(),
            validator: validator::builtin(),
        }
    }
}

impl Order {
    fn info(&self, state: PayloadState) -> PayloadInfo {
        PayloadInfo {
            id: self.id,
            job: self.job,
            attempt: self.attempt,
            state,
            exit_code: None,
            reason: None,
            enforced: None,
            usage: None,
            run_ms: None,
            slurm: None,
        }
    }
}

/// How a submission went.
#[derive(Debug)]
pub enum Submitted {
    /// Stored and queued for a slot.
    New(PayloadInfo),
    /// The uuid was already here (a retried push): nothing was stored or started.
    Existing(PayloadInfo),
}

/// What a reader of one payload needs: its state, its files and its log appends.
pub struct Handle {
    pub info: watch::Receiver<PayloadInfo>,
    pub dir: JobDir,
    pub logs: LogWriter,
    /// A kill was asked for.
    pub killed: bool,
    /// Its logs are written by someone else (Slurm), not through `logs`: followers look.
    pub polled: bool,
}

struct Entry {
    info: watch::Receiver<PayloadInfo>,
    cancel: CancellationToken,
    dir: JobDir,
    logs: LogWriter,
    kill_grace: Duration,
    /// Submission order, so lists come oldest first.
    seq: u64,
    seed_id: Option<u32>,
    /// Native payloads only: how the lease watcher kills it.
    fence: Option<Arc<Fence>>,
}

#[derive(Default)]
struct Table {
    entries: HashMap<Uuid, Entry>,
    /// Uuids whose files are being stored right now: a concurrent push of one of them must
    /// neither store nor run it a second time.
    arriving: HashSet<Uuid>,
    next_seq: u64,
    /// The seed's routes name payloads by number: those numbers, and the last one given.
    seed_ids: HashMap<u32, Uuid>,
    last_seed_id: u32,
}

/// The payload table and the slots payloads run in.
#[derive(Clone)]
pub struct Payloads {
    inner: Arc<Inner>,
}

struct Inner {
    data: DataDir,
    slots: Arc<Semaphore>,
    slot_count: usize,
    kill_grace: Duration,
    changes: broadcast::Sender<PayloadInfo>,
    table: Mutex<Table>,
    /// Checked by each native run before it starts.
    lease: Arc<Lease>,
    /// `--backend slurm`: every payload becomes a Slurm job.
    slurm: Option<Arc<Slurm>>,
}

impl Payloads {
    pub fn new(
        data: DataDir,
        slots: usize,
        kill_grace: Duration,
        lease: Arc<Lease>,
        slurm: Option<Arc<Slurm>>,
    ) -> Payloads {
        let slot_count = slots.max(1);
        let table = Table {
            last_seed_id: last_seed_id(&data),
            ..Table::default()
        };
        Payloads {
            inner: Arc::new(Inner {
                data,
                slots: Arc::new(Semaphore::new(slot_count)),
                slot_count,
                kill_grace,
                changes: broadcast::channel(CHANGE_BACKLOG).0,
                table: Mutex::new(table),
                lease,
                slurm,
            }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Table> {
        self.inner.table.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn slots(&self) -> usize {
        self.inner.slot_count
    }

    /// Where this node runs its payloads.
    pub fn backend(&self) -> crate::protocol::NodeBackend {
        match self.inner.slurm {
            Some(_) => crate::protocol::NodeBackend::Slurm,
            None => crate::protocol::NodeBackend::Local,
        }
    }

    /// Every state change from now on (a payload's new [`PayloadInfo`]).
    pub fn subscribe(&self) -> broadcast::Receiver<PayloadInfo> {
        self.inner.changes.subscribe()
    }

    /// Moves a fully received upload into `payloads/<id>/work` and queues it for a slot,
    /// unless that id is already here.
    pub async fn submit(&self, order: Order, staged: tempfile::TempDir) -> io::Result<Submitted> {
        {
            let mut table = self.lock();
            if let Some(entry) = table.entries.get(&order.id) {
                return Ok(Submitted::Existing(entry.info.borrow().clone()));
            }
            if !table.arriving.insert(order.id) {
                return Ok(Submitted::Existing(order.info(PayloadState::Prepared)));
            }
        }
        // In a task of its own: a client leaving mid-way must not leave the id reserved.
        let this = self.clone();
        tokio::spawn(async move { this.admit(order, staged).await })
            .await
            .map_err(io::Error::other)?
    }

    async fn admit(&self, order: Order, staged: tempfile::TempDir) -> io::Result<Submitted> {
        let dir = self.inner.data.payload(&order.id.to_string());
        let stored = store(dir.clone(), staged, order.run_as.clone()).await;
        let mut table = self.lock();
        table.arriving.remove(&order.id);
        stored?;
        drop(table);
        Ok(Submitted::New(self.enter(order, dir, None)))
    }

    /// Re-attaches the payloads a previous node on this data dir handed to Slurm.
    pub fn reattach(&self, records: Vec<slurm::record::Record>) {
        for rec in records {
            let Some(slurm_id) = rec.slurm_id else {
                continue;
            };
            let run_as = match crate::run_as::resolve(&rec.run_as) {
                Ok(r) => r,
                Err(e) => {
                    tracing::warn!("payload {}: {e}; re-attached as jobod's user", rec.id);
                    crate::run_as::RunAs::daemon()
                }
            };
            let order = Order {
                id: rec.id,
                job: rec.job,
                attempt: rec.attempt,
                timeout: rec.timeout_secs.map(Duration::from_secs),
                kill_grace: None,
                seed_id: rec.seed_id,
                run_as,
                run: RunSettings {
                    service: Some(rec.service.clone()),
                    user: Some(rec.user.clone()),
                    max_output: rec.max_output,
                    validator: None,
                    ..RunSettings::default()
                },
            };
            let dir = self.inner.data.payload(&rec.id.to_string());
            let ended = rec.ended.clone();
            tracing::info!("payload {}: re-attached to Slurm job {slurm_id}", rec.id);
            self.enter(order, dir, Some(Attached { slurm_id, ended }));
        }
    }

    /// Enters a stored payload in the table and starts its run.
    fn enter(&self, order: Order, dir: JobDir, attached: Option<Attached>) -> PayloadInfo {
        let mut table = self.lock();
        let info = order.info(PayloadState::Prepared);
        let (tx, rx) = watch::channel(info.clone());
        let cancel = CancellationToken::new();
        let logs = LogWriter::detached();
        let kill_grace = order.kill_grace.unwrap_or(self.inner.kill_grace);
        let seq = table.next_seq;
        table.next_seq += 1;
        if let Some(n) = order.seed_id {
            table.seed_ids.insert(n, order.id);
        }
        let fence = order.job.is_some().then(|| Arc::new(Fence::default()));
        table.entries.insert(
            order.id,
            Entry {
                info: rx,
                cancel: cancel.clone(),
                dir: dir.clone(),
                logs: logs.clone(),
                kill_grace,
                seq,
                seed_id: order.seed_id,
                fence: fence.clone(),
            },
        );
        drop(table);
        // Before the run starts, so the feed sees `prepared` before `running`.
        let _ = self.inner.changes.send(info.clone());
        // The job's id, service and user, as on the server's own worker.
        let job_id = match (order.job, order.seed_id) {
            (Some(job), _) => job.to_string(),
            (None, Some(n)) => n.to_string(),
            (None, None) => order.id.to_string(),
        };
        let how = order.run;
        let spec = RunSpec {
            job_id,
            user: how
                .user
                .unwrap_or_else(|| crate::paths::user_name(crate::paths::uid())),
            service: how.service.unwrap_or_else(|| "node".into()),
            run_as: order.run_as.clone(),
            dir,
            timeout: order.timeout,
            kill_grace,
            attempt: order.attempt.unwrap_or(1),
            env: how.env,
            max_output: how.max_output,
            caps: how.caps,
            network: how.network,
        };
        let report = Reporter {
            info: tx,
            changes: self.inner.changes.clone(),
            started: std::sync::OnceLock::new(),
        };
        let fencing = fence.map(|fence| Fencing {
            fence,
            lease: self.inner.lease.clone(),
        });
        if let Some(slurm) = &self.inner.slurm {
            let record = slurm::record::Record {
                id: order.id,
                job: order.job,
                attempt: order.attempt,
                seed_id: order.seed_id,
                timeout_secs: order.timeout.map(|t| t.as_secs()),
                run_as: spec.run_as.name().to_string(),
                service: spec.service.clone(),
                user: spec.user.clone(),
                max_output: spec.max_output,
                name: slurm::job_name(&spec.job_id, &order.id.to_string()),
                slurm_id: attached.as_ref().map(|a| a.slurm_id),
                ended: None,
            };
            let r = SlurmRun {
                slurm: slurm.clone(),
                spec,
                cancel,
                report,
                fence: fencing.map(|f| (f.fence, f.lease)),
                validator: how.validator,
                record,
            };
            tokio::spawn(slurm::run(self.inner.slots.clone(), r, attached));
        } else {
            tokio::spawn(run(
                self.inner.slots.clone(),
                spec,
                cancel,
                report,
                logs,
                fencing,
                how.validator,
            ));
        }
        info
    }

    /// The payload as it is now.
    pub fn info(&self, id: &Uuid) -> Option<PayloadInfo> {
        self.lock().entries.get(id).map(|e| e.info.borrow().clone())
    }

    /// What it takes to read a payload's files and follow its logs.
    pub fn handle(&self, id: &Uuid) -> Option<Handle> {
        self.lock().entries.get(id).map(|e| Handle {
            info: e.info.clone(),
            dir: e.dir.clone(),
            logs: e.logs.clone(),
            killed: e.cancel.is_cancelled(),
            polled: self.inner.slurm.is_some(),
        })
    }

    /// A new number for a payload from the seed's `/submit`. The last one given is kept in the
    /// data dir: a restarted node empties `payloads/`, and must not hand a seed server that
    /// still polls an old number someone else's results.
    pub fn next_seed_id(&self) -> io::Result<u32> {
        let mut table = self.lock();
        let next = table.last_seed_id.checked_add(1).ok_or_else(|| {
            io::Error::other("payload numbers for the seed routes are used up (u32)")
        })?;
        let file = self.inner.data.root().join(SEED_ID_FILE);
        let tmp = file.with_extension("tmp");
        std::fs::write(&tmp, next.to_string()).and_then(|()| std::fs::rename(&tmp, &file))?;
        table.last_seed_id = next;
        Ok(next)
    }

    /// The payload the seed's routes call `n`.
    pub fn by_seed_id(&self, n: u32) -> Option<Uuid> {
        self.lock().seed_ids.get(&n).copied()
    }

    /// Every payload, oldest first.
    pub fn list(&self) -> Vec<PayloadInfo> {
        let table = self.lock();
        let mut entries: Vec<&Entry> = table.entries.values().collect();
        entries.sort_by_key(|e| e.seq);
        entries.iter().map(|e| e.info.borrow().clone()).collect()
    }

    /// How many payloads run right now.
    pub fn running(&self) -> usize {
        self.lock()
            .entries
            .values()
            .filter(|e| e.info.borrow().state == PayloadState::Running)
            .count()
    }

    /// Kills a payload (its whole process group: SIGTERM, then SIGKILL after the grace) and
    /// waits until it is over; a payload still waiting for a slot never starts.
    pub async fn kill(&self, id: &Uuid) -> Option<PayloadInfo> {
        let (mut info, cancel, grace) = {
            let table = self.lock();
            let entry = table.entries.get(id)?;
            (entry.info.clone(), entry.cancel.clone(), entry.kill_grace)
        };
        cancel.cancel();
        let limit = grace.saturating_add(Duration::from_secs(10));
        let _ = tokio::time::timeout(limit, info.wait_for(|i| i.state.is_done())).await;
        let now = info.borrow().clone();
        Some(now)
    }

    /// Kills a payload if it still runs, then removes its files and forgets it. `None` when
    /// unknown; an error leaves it in the table, so the removal can be asked again.
    pub async fn remove(&self, id: &Uuid) -> Option<io::Result<()>> {
        let dir = self.lock().entries.get(id)?.dir.clone();
        let info = self.kill(id).await?;
        if !info.state.is_done() {
            tracing::warn!("payload {id} is still not over; removing its files anyway");
        }
        let removed = match tokio::fs::remove_dir_all(dir.path()).await {
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            other => other,
        };
        if removed.is_ok() {
            let mut table = self.lock();
            if let Some(n) = table.entries.remove(id).and_then(|e| e.seed_id) {
                table.seed_ids.remove(&n);
            }
            tracing::info!("payload {id} removed");
        }
        Some(removed)
    }

    /// Fences every native payload that is not over: a running one's process group gets
    /// SIGKILL now (no grace: the server may run the job elsewhere soon), one waiting for a slot
    /// never starts; each ends [`PayloadState::Fenced`] with `why`. Does not wait. Returns how
    /// many it fenced (not counting ones fenced before).
    pub fn fence(&self, why: &str) -> usize {
        let table = self.lock();
        let mut fenced = 0;
        for entry in table.entries.values() {
            let Some(fence) = &entry.fence else { continue };
            if entry.info.borrow().state.is_done() {
                continue;
            }
            if fence.fence(why) {
                entry.cancel.cancel();
                fenced += 1;
            }
        }
        fenced
    }

    /// Kills every payload and waits (bounded) until they are over; used at shutdown. Not on
    /// a Slurm node: its jobs go on in Slurm, and the next start re-attaches to them.
    pub async fn kill_all(&self) {
        if self.inner.slurm.is_some() {
            return;
        }
        let ids: Vec<Uuid> = self.lock().entries.keys().copied().collect();
        let kills = ids.iter().map(|id| self.kill(id));
        futures_util::future::join_all(kills).await;
    }
}
