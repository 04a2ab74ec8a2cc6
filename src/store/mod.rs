//! The SQLite job store: one database file, WAL, versioned schema.
//!
//! SQLite calls block, so [`Store::call`] runs a closure on the blocking pool with the
//! connection; the short calls of a job's life take [`Store::call_short`], which may run one
//! at a time on a runtime worker. One connection behind a mutex serialises writers,
//! which SQLite does anyway; reads are short indexed queries.
//!
//! The store also keeps a small health record for `/health`: the last failure that says the
//! database itself is unwell (locked past the busy timeout, damaged, full, I/O error), and
//! since when the connection has been busy with one call. Health probes read through their own
//! connection, so a probe never queues behind a writer stuck on a lock.

mod backup;
pub mod check;
mod identity;
mod jobs;
mod nodes;
mod placement;
mod schema;
mod select;
mod tokens;

pub use backup::backup;
pub use identity::{ID_FILE, open_data_dir};
pub use jobs::*;
pub use nodes::*;
pub use select::*;
pub use tokens::*;

use crate::job::{JobId, JobState};
use rusqlite::{Connection, ErrorCode};
use std::path::Path;
use std::sync::atomic::{AtomicI64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, TryLockError};
use std::time::{Duration, Instant};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("job {0} not found")]
    NotFound(JobId),
    #[error("job {id} is {from}, it cannot become {to}")]
    IllegalTransition {
        id: JobId,
        from: JobState,
        to: JobState,
    },
    #[error("database schema version {0} is newer than this jobod understands")]
    TooNew(i64),
    #[error("database worker failed: {0}")]
    Join(String),
}

impl StoreError {
    /// Whether the error says the database itself is unwell (as opposed to a missing job, a
    /// refused transition or a constraint): such errors are what `/health` reports.
    pub fn is_store_failure(&self) -> bool {
        match self {
            StoreError::Sqlite(e) => e.sqlite_error_code().is_some_and(|code| {
                matches!(
                    code,
                    ErrorCode::DatabaseBusy
                        | ErrorCode::DatabaseLocked
                        | ErrorCode::DatabaseCorrupt
                        | ErrorCode::NotADatabase
                        | ErrorCode::DiskFull
                        | ErrorCode::ReadOnly
                        | ErrorCode::SystemIoFailure
                        | ErrorCode::CannotOpen
                        | ErrorCode::FileLockingProtocolFailed
                        | ErrorCode::OutOfMemory
                )
            }),
            StoreError::Join(_) => true,
            _ => false,
        }
    }
}

/// A call that holds the connection longer than this makes `/health` answer 503: nothing the
/// daemon does takes that long unless the database is locked by someone else.
const BUSY_LIMIT: Duration = Duration::from_secs(5);
/// How long a health probe may take before it counts as "the store does not answer".
const PROBE_LIMIT: Duration = Duration::from_secs(3);

#[derive(Clone)]
pub struct Store {
    conn: Arc<Mutex<Connection>>,
    /// Read-only use, for health probes: in WAL mode it reads while `conn` waits on a lock.
    probe: Arc<Mutex<Connection>>,
    health: Arc<Health>,
}

#[derive(Default)]
struct Health {
    failure: Mutex<Option<Failure>>,
    /// When the call now holding the connection started (ms on `epoch`), 0 when idle.
    busy_since_ms: AtomicI64,
    epoch: EpochInstant,
    /// Outcomes of finished runs that a write has refused and that are still being retried
    /// ([`Store::owe_outcome`]). While any is owed, `/health` is 503 even if some other write
    /// went through meanwhile: a job's end is not durable yet.
    owed: AtomicUsize,
}

/// One outcome not yet durable; `/health` counts it until this is dropped.
pub struct OwedOutcome(Arc<Health>);

impl Drop for OwedOutcome {
    fn drop(&mut self) {
        self.0.owed.fetch_sub(1, Ordering::Relaxed);
    }
}

struct Failure {
    what: String,
    at: Instant,
}

/// A fixed instant to measure `busy_since_ms` from (an atomic cannot hold an `Instant`).
struct EpochInstant(Instant);

impl Default for EpochInstant {
    fn default() -> Self {
        EpochInstant(Instant::now())
    }
}

impl Health {
    fn now_ms(&self) -> i64 {
        // +1 so that a call starting at the epoch is not taken for "idle" (0).
        self.epoch.0.elapsed().as_millis() as i64 + 1
    }
}

impl Store {
    /// Opens (creating if needed) and migrates the database. This knows nothing of the data
    /// dir around it; `jobod serve` opens through [`open_data_dir`], which checks first.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        let mut conn = Connection::open(path)?;
        conn.busy_timeout(Duration::from_secs(10))?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        schema::migrate(&mut conn)?;
        let probe = Connection::open(path)?;
        probe.busy_timeout(Duration::from_secs(1))?;
        probe.pragma_update(None, "query_only", "ON")?;
        Ok(Store {
            conn: Arc::new(Mutex::new(conn)),
            probe: Arc::new(Mutex::new(probe)),
            health: Arc::default(),
        })
    }

    /// Runs `f` with the connection on the blocking pool.
    pub async fn call<R, F>(&self, f: F) -> Result<R, StoreError>
    where
        R: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<R, StoreError> + Send + 'static,
    {
        let store = self.clone();
        let result = tokio::task::spawn_blocking(move || store.call_sync(f))
            .await
            .map_err(|e| StoreError::Join(e.to_string()));
        if let Err(e) = &result {
            self.record(e);
        }
        result?
    }

    /// Like [`Store::call`], for a call that touches a few rows through an index (a job's
    /// transition, a scheduling pass, a read by id): when the connection is free and the
    /// runtime has another worker, `f` runs right here, without the two thread hand-offs of
    /// a trip to the blocking pool (together ≈ 0.5 ms of a trivial `submit --wait`'s 8 here).
    ///
    /// The connection is only *tried*, never waited for, so at most one runtime worker is
    /// ever inside SQLite; the others go on serving (and `/health` answers from its own
    /// connection) even while another process holds the database's lock and this call waits
    /// out the busy timeout. With a single worker, or a connection in use, it is `call`.
    pub async fn call_short<R, F>(&self, f: F) -> Result<R, StoreError>
    where
        R: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<R, StoreError> + Send + 'static,
    {
        let spare_worker = tokio::runtime::Handle::try_current().is_ok_and(|h| {
            h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread
                && h.metrics().num_workers() > 1
        });
        if spare_worker {
            let free = match self.conn.try_lock() {
                Ok(guard) => Some(guard),
                Err(TryLockError::Poisoned(p)) => Some(p.into_inner()),
                Err(TryLockError::WouldBlock) => None,
            };
            if let Some(guard) = free {
                return self.run(guard, f);
            }
        }
        self.call(f).await
    }

    /// Runs `f` on the calling thread; for start-up and tools that are not async.
    pub fn call_sync<R>(
        &self,
        f: impl FnOnce(&mut Connection) -> Result<R, StoreError>,
    ) -> Result<R, StoreError> {
        // A panic in another call poisons the lock; the connection itself is still sound.
        self.run(self.conn.lock().unwrap_or_else(|p| p.into_inner()), f)
    }

    /// Runs `f` on the connection `guard` holds, keeping the health record.
    fn run<R>(
        &self,
        mut guard: MutexGuard<'_, Connection>,
        f: impl FnOnce(&mut Connection) -> Result<R, StoreError>,
    ) -> Result<R, StoreError> {
        let health = &self.health;
        health
            .busy_since_ms
            .store(health.now_ms(), Ordering::Relaxed);
        let changes_before = guard.total_changes();
        let result = f(&mut guard);
        health.busy_since_ms.store(0, Ordering::Relaxed);
        match &result {
            Err(e) => self.record(e),
            // A write went through and nothing is left open: the database works again.
            Ok(_) if guard.total_changes() > changes_before && guard.is_autocommit() => {
                self.clear_failure()
            }
            Ok(_) => {}
        }
        result
    }

    fn record(&self, e: &StoreError) {
        if e.is_store_failure() {
            self.note_failure(e.to_string());
        }
    }

    /// Records that the store failed (e.g. a commit did not go through): `/health` answers
    /// 503 naming `what` until [`Store::clear_failure`] or until a later write commits.
    /// Errors of [`Store::call`] that say the database is unwell are recorded here already.
    pub fn note_failure(&self, what: String) {
        tracing::warn!("job store failure: {what}");
        let mut slot = self
            .health
            .failure
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        *slot = Some(Failure {
            what,
            at: Instant::now(),
        });
    }

    /// Marks one run's outcome as owed to the store (a write of it failed and will be
    /// retried) until the returned guard is dropped.
    pub fn owe_outcome(&self) -> OwedOutcome {
        self.health.owed.fetch_add(1, Ordering::Relaxed);
        OwedOutcome(self.health.clone())
    }

    /// Forgets the failure recorded by [`Store::note_failure`].
    pub fn clear_failure(&self) {
        let mut slot = self
            .health
            .failure
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        if let Some(old) = slot.take() {
            tracing::info!("job store works again (last failure: {})", old.what);
        }
    }

    /// The recorded failure and how long ago it happened, if any.
    pub fn last_error(&self) -> Option<String> {
        let slot = self
            .health
            .failure
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        slot.as_ref()
            .map(|f| format!("{} ({} s ago)", f.what, f.at.elapsed().as_secs()))
    }

    /// For `/health`: `Err(what is wrong)` when the store cannot answer. Cheap but real: it
    /// reads the newest row through the table's b-tree and both ends of the queue index
    /// (where `SELECT 1` would pass on a damaged file), on its own connection and with a
    /// time limit; and it reports a recorded failure, or a call stuck on the connection.
    pub async fn health(&self) -> Result<(), String> {
        let owed = self.health.owed.load(Ordering::Relaxed);
        if owed > 0 {
            let last = self.last_error().unwrap_or_else(|| "retrying".into());
            return Err(format!(
                "{owed} finished job(s) whose outcome is not recorded yet: {last}"
            ));
        }
        if let Some(what) = self.last_error() {
            return Err(what);
        }
        let since = self.health.busy_since_ms.load(Ordering::Relaxed);
        if since != 0 {
            let busy = Duration::from_millis((self.health.now_ms() - since).max(0) as u64);
            if busy > BUSY_LIMIT {
                return Err(format!(
                    "the database has been busy with one request for {} s (locked by another \
                     process?)",
                    busy.as_secs()
                ));
            }
        }
        let probe = self.probe.clone();
        let read = tokio::task::spawn_blocking(move || {
            let conn = probe.lock().unwrap_or_else(|p| p.into_inner());
            probe_reads(&conn)
        });
        match tokio::time::timeout(PROBE_LIMIT, read).await {
            Ok(Ok(Ok(()))) => Ok(()),
            Ok(Ok(Err(e))) => Err(format!("database error: {e}")),
            Ok(Err(e)) => Err(format!("database worker failed: {e}")),
            Err(_) => Err(format!(
                "the database did not answer within {} s",
                PROBE_LIMIT.as_secs()
            )),
        }
    }

    /// `SELECT 1` through the main connection: kept for callers that only need a round trip.
    pub async fn ping(&self) -> Result<(), StoreError> {
        self.call(|c| Ok(c.query_row("SELECT 1", [], |_| Ok(()))?))
            .await
    }
}

/// The reads of a health probe: each walks a b-tree from its root to a leaf.
fn probe_reads(conn: &Connection) -> rusqlite::Result<()> {
    use rusqlite::OptionalExtension;
    conn.prepare_cached("SELECT id FROM jobs ORDER BY id DESC LIMIT 1")?
        .query_row([], |r| r.get::<_, i64>(0))
        .optional()?;
    // MIN and MAX of the index's first column each read one end of the index.
    for sql in [
        "SELECT MIN(state) FROM jobs INDEXED BY jobs_queue",
        "SELECT MAX(state) FROM jobs INDEXED BY jobs_queue",
    ] {
        conn.prepare_cached(sql)?
            .query_row([], |r| r.get::<_, Option<String>>(0))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::future::Future;
    use std::task::Poll;

    /// Whether a `call_short` ran its closure on the calling thread.
    async fn in_place(store: &Store) -> Result<bool, StoreError> {
        let here = std::thread::current().id();
        let there = store
            .call_short(|_| Ok(std::thread::current().id()))
            .await?;
        Ok(here == there)
    }

    #[test]
    fn short_calls_run_in_place_only_with_a_free_connection_and_a_spare_worker()
    -> Result<(), StoreError> {
        let dir = tempfile::tempdir().map_err(|e| StoreError::Join(e.to_string()))?;
        let store = Store::open(&dir.path().join("t.db"))?;
        let runtime = |workers| {
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(workers)
                .build()
                .map_err(|e| StoreError::Join(e.to_string()))
        };
        runtime(2)?.block_on(async {
            assert!(in_place(&store).await?, "free: in place");
            // The connection held by a call on the blocking pool: no wait here, but a trip.
            let (held_tx, held_rx) = tokio::sync::oneshot::channel();
            let (release_tx, release_rx) = std::sync::mpsc::channel::<()>();
            let holder = tokio::spawn({
                let store = store.clone();
                async move {
                    store
                        .call(move |_| {
                            let _ = held_tx.send(());
                            let _ = release_rx.recv_timeout(Duration::from_secs(10));
                            Ok(())
                        })
                        .await
                }
            });
            let _ = held_rx.await;
            // One poll: the connection is busy, so the call goes to the pool and is pending
            // (waiting for the lock here would hold this thread until the holder gives up).
            let mut short = std::pin::pin!(in_place(&store));
            let first = std::future::poll_fn(|cx| Poll::Ready(short.as_mut().poll(cx))).await;
            assert!(first.is_pending(), "held: no answer yet");
            let _ = release_tx.send(());
            let there = short.await?;
            assert!(!there, "held: on the pool");
            holder
                .await
                .map_err(|e| StoreError::Join(e.to_string()))??;
            Ok::<_, StoreError>(())
        })?;
        // One worker: it must never block on SQLite, so always the pool.
        runtime(1)?.block_on(async {
            assert!(!in_place(&store).await?, "one worker: on the pool");
            Ok::<_, StoreError>(())
        })?;
        let current = tokio::runtime::Builder::new_current_thread()
            .build()
            .map_err(|e| StoreError::Join(e.to_string()))?;
        current.block_on(async {
            assert!(!in_place(&store).await?, "current-thread: on the pool");
            Ok(())
        })
    }

    #[tokio::test]
    async fn failures_are_reported_until_a_write_commits() -> Result<(), StoreError> {
        let dir = tempfile::tempdir().map_err(|e| StoreError::Join(e.to_string()))?;
        let store = Store::open(&dir.path().join("t.db"))?;
        assert_eq!(store.health().await, Ok(()));
        store.note_failure("commit failed: disk I/O error".into());
        let what = store.health().await.expect_err("a failure is reported");
        assert!(
            what.starts_with("commit failed: disk I/O error ("),
            "{what}"
        );
        // A read does not prove the store works again; a committed write does.
        store
            .call(|c| Ok(c.query_row("SELECT 1", [], |_| Ok(()))?))
            .await?;
        assert!(store.health().await.is_err());
        store
            .call(|c| {
                let tx = c.transaction()?;
                tx.execute(
                    "INSERT INTO nodes (name, url, services, slots, protocol, added_at) \
                     VALUES ('n', 'http://n', 'a', 1, 'native', 0)",
                    [],
                )?;
                tx.commit()?;
                Ok(())
            })
            .await?;
        assert_eq!(store.health().await, Ok(()));
        // A missing job is not a store failure.
        let missing = store.call(|c| get(c, 99)).await;
        assert!(matches!(missing, Err(StoreError::NotFound(99))));
        assert_eq!(store.health().await, Ok(()));
        Ok(())
    }

    #[test]
    fn the_probe_reads_use_the_queue_index() -> Result<(), StoreError> {
        let dir = tempfile::tempdir().map_err(|e| StoreError::Join(e.to_string()))?;
        let store = Store::open(&dir.path().join("t.db"))?;
        store.call_sync(|c| {
            for sql in [
                "SELECT MIN(state) FROM jobs INDEXED BY jobs_queue",
                "SELECT MAX(state) FROM jobs INDEXED BY jobs_queue",
            ] {
                let plan: String =
                    c.query_row(&format!("EXPLAIN QUERY PLAN {sql}"), [], |r| r.get(3))?;
                assert!(plan.contains("jobs_queue"), "{sql}: {plan}");
            }
            Ok(probe_reads(c)?)
        })
    }
}
