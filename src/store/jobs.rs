//! Queries and state transitions on the `jobs` table.

use super::StoreError;
use crate::api::{Job, JobMeta, Limits, Usage};
use crate::job::{JobId, JobState};
use crate::jobenv::Vars;
use crate::placement::Placement;
use rusqlite::{Connection, OptionalExtension, Row, Transaction, params};
use std::time::{SystemTime, UNIX_EPOCH};

/// A job row: the API view plus what only the daemon needs.
#[derive(Debug, Clone)]
pub struct Record {
    pub job: Job,
    /// Process group of the run on the local worker, and its start time (clock ticks since
    /// boot) so a restarted daemon can tell its leftover group from a recycled pid.
    pub pid: Option<i32>,
    pub pid_start: Option<u64>,
    /// The payload uuid of the current attempt on a remote node.
    pub payload: Option<String>,
}

/// What a submit inserts.
#[derive(Debug, Clone, Default)]
pub struct NewJob {
    pub user: String,
    pub service: String,
    pub priority: i64,
    pub limits: Limits,
    pub env: Vars,
    pub input_bytes: u64,
    pub idempotency_key: Option<String>,
    /// The Unix user it is to run as ([`crate::run_as::for_submit`]).
    pub run_as: Option<String>,
    /// Name, labels, command and links (its queue fields are ignored).
    pub meta: JobMeta,
    /// `FIRST-LAST` of `--array` (not stored as such: each index is a job).
    pub array: Option<(u32, u32)>,
}

/// The `env` column: a JSON object, NULL when empty.
fn env_to_sql(env: &Vars) -> Option<String> {
    (!env.is_empty())
        .then(|| serde_json::to_string(env).ok())
        .flatten()
}

fn env_from_sql(i: usize, text: Option<String>) -> rusqlite::Result<Vars> {
    json_from_sql(i, text)
}

/// A JSON column (labels, after): NULL is the type's default (empty).
fn json_from_sql<T: serde::de::DeserializeOwned + Default>(
    i: usize,
    text: Option<String>,
) -> rusqlite::Result<T> {
    match text {
        None => Ok(T::default()),
        Some(t) => serde_json::from_str(&t).map_err(|e| {
            rusqlite::Error::FromSqlConversionFailure(i, rusqlite::types::Type::Text, e.into())
        }),
    }
}

pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

pub(super) const COLUMNS: &str = "id, user, service, state, priority, node, attempts, exit_code, reason, \
     submitted_at, started_at, finished_at, input_bytes, output_bytes, timeout_secs, pid, pid_start, payload, \
     memory_bytes, cpus, pids, max_output_bytes, env, run_as, enforced, peak_memory_bytes, cpu_ms, \
     name, labels, command, restarted_from, after, array_id, array_index";

pub(super) fn from_row(r: &Row<'_>) -> rusqlite::Result<Record> {
    let state: String = r.get(3)?;
    let state = state.parse::<JobState>().map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(3, rusqlite::types::Type::Text, e.into())
    })?;
    Ok(Record {
        job: Job {
            id: r.get(0)?,
            user: r.get(1)?,
            service: r.get(2)?,
            state,
            priority: r.get(4)?,
            node: r.get(5)?,
            attempts: r.get(6)?,
            exit_code: r.get(7)?,
            reason: r.get(8)?,
            submitted_at: r.get(9)?,
            started_at: r.get(10)?,
            finished_at: r.get(11)?,
            input_bytes: r.get(12)?,
            output_bytes: r.get(13)?,
            requested_limits: Limits {
                timeout_secs: r.get(14)?,
                memory_bytes: r.get(18)?,
                cpus: r.get(19)?,
                pids: r.get(20)?,
                output_bytes: r.get(21)?,
            },
            env: env_from_sql(22, r.get(22)?)?,
            run_as: r.get(23)?,
            slurm: None,
            enforced: r
                .get::<_, Option<String>>(24)?
                .and_then(|t| serde_json::from_str(&t).ok())
                .unwrap_or_default(),
            usage: Usage {
                peak_memory_bytes: r.get(25)?,
                cpu_ms: r.get(26)?,
            },
            meta: JobMeta {
                name: r.get(27)?,
                labels: json_from_sql(28, r.get(28)?)?,
                command: r.get(29)?,
                restarted_from: r.get(30)?,
                after: json_from_sql(31, r.get(31)?)?,
                array_id: r.get(32)?,
                array_index: r.get(33)?,
                queue_position: None,
                wait_reason: None,
            },
        },
        pid: r.get(15)?,
        pid_start: r.get(16)?,
        payload: r.get(17)?,
    })
}

pub fn insert(tx: &Transaction<'_>, new: &NewJob) -> Result<JobId, StoreError> {
    tx.prepare_cached(
        "INSERT INTO jobs (id, user, service, state, priority, submitted_at, input_bytes, \
         timeout_secs, idempotency_key, memory_bytes, cpus, pids, max_output_bytes, env, run_as, \
         name, labels, command, restarted_from, after, array_id, array_index) \
         VALUES ((SELECT last + 1 FROM job_ids), ?1, ?2, 'queued', ?3, ?4, ?5, ?6, ?7, ?8, ?9, \
         ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20)",
    )?
    .execute(params![
        new.user,
        new.service,
        new.priority,
        now_ms(),
        new.input_bytes,
        new.limits.timeout_secs,
        new.idempotency_key,
        new.limits.memory_bytes,
        new.limits.cpus,
        new.limits.pids,
        new.limits.output_bytes,
        env_to_sql(&new.env),
        new.run_as,
        new.meta.name,
        (!new.meta.labels.is_empty())
            .then(|| serde_json::to_string(&new.meta.labels).ok())
            .flatten(),
        new.meta.command,
        new.meta.restarted_from,
        (!new.meta.after.is_empty())
            .then(|| serde_json::to_string(&new.meta.after).ok())
            .flatten(),
        new.meta.array_id,
        new.meta.array_index
    ])?;
    Ok(tx.last_insert_rowid())
}

pub fn get(conn: &Connection, id: JobId) -> Result<Record, StoreError> {
    conn.prepare_cached(&format!("SELECT {COLUMNS} FROM jobs WHERE id = ?1"))?
        .query_row([id], from_row)
        .optional()?
        .ok_or(StoreError::NotFound(id))
}

pub fn find_idempotent(
    conn: &Connection,
    user: &str,
    key: &str,
) -> Result<Option<Job>, StoreError> {
    Ok(conn
        .prepare_cached(&format!(
            "SELECT {COLUMNS} FROM jobs WHERE user = ?1 AND idempotency_key = ?2"
        ))?
        .query_row([user, key], from_row)
        .optional()?
        .map(|r| r.job))
}

/// The digest of job `id`'s upload (see `input_digest` in the schema), if it has one.
pub fn input_digest(conn: &Connection, id: JobId) -> Result<Option<String>, StoreError> {
    Ok(conn
        .prepare_cached("SELECT input_digest FROM jobs WHERE id = ?1")?
        .query_row([id], |r| r.get::<_, Option<String>>(0))
        .optional()?
        .flatten())
}

pub fn set_input_digest(conn: &Connection, id: JobId, digest: &str) -> Result<(), StoreError> {
    conn.prepare_cached("UPDATE jobs SET input_digest = ?2 WHERE id = ?1")?
        .execute(rusqlite::params![id, digest])?;
    Ok(())
}

/// Moves job `id` to `to` and applies `patch`, refusing edges the lifecycle forbids.
/// Runs inside the caller's transaction so a transition and what goes with it commit together.
pub fn transition(
    tx: &Transaction<'_>,
    id: JobId,
    to: JobState,
    patch: impl FnOnce(&mut Record),
) -> Result<Record, StoreError> {
    let mut rec = get(tx, id)?;
    let from = rec.job.state;
    if !from.can_become(to) {
        return Err(StoreError::IllegalTransition { id, from, to });
    }
    rec.job.state = to;
    if to.is_terminal() && to != JobState::Expired {
        rec.job.finished_at = Some(now_ms());
        rec.pid = None;
        rec.pid_start = None;
    }
    if to == JobState::Queued {
        // Back to the queue: nothing of the abandoned attempt may be taken for the next one.
        rec.job.node = None;
        rec.job.started_at = None;
        rec.pid = None;
        rec.pid_start = None;
        rec.payload = None;
    }
    patch(&mut rec);
    let j = &rec.job;
    tx.prepare_cached(
        "UPDATE jobs SET state = ?2, node = ?3, attempts = ?4, exit_code = ?5, reason = ?6, \
         started_at = ?7, finished_at = ?8, output_bytes = ?9, pid = ?10, pid_start = ?11, \
         payload = ?12, enforced = ?13, peak_memory_bytes = ?14, cpu_ms = ?15 WHERE id = ?1",
    )?
    .execute(params![
        id,
        j.state.as_str(),
        j.node,
        j.attempts,
        j.exit_code,
        j.reason,
        j.started_at,
        j.finished_at,
        j.output_bytes,
        rec.pid,
        rec.pid_start,
        rec.payload,
        serde_json::to_string(&j.enforced).ok(),
        j.usage.peak_memory_bytes,
        j.usage.cpu_ms
    ])?;
    Ok(rec)
}

/// [`transition`] in a transaction of its own.
pub fn transition_now(
    conn: &mut Connection,
    id: JobId,
    to: JobState,
    patch: impl FnOnce(&mut Record),
) -> Result<Record, StoreError> {
    let tx = conn.transaction()?;
    let rec = transition(&tx, id, to, patch)?;
    tx.commit()?;
    Ok(rec)
}

/// Jobs holding a slot: dispatched or running.
pub fn active(conn: &Connection) -> Result<Vec<Record>, StoreError> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM jobs WHERE state IN ('dispatched', 'running')"
    ))?;
    let rows = stmt.query_map([], from_row)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Jobs holding a slot on `place`.
pub fn active_on(conn: &Connection, place: &Placement) -> Result<Vec<Record>, StoreError> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM jobs WHERE state IN ('dispatched', 'running') AND node = ?1"
    ))?;
    let rows = stmt.query_map([place], from_row)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// The job whose current attempt is `payload`, if any.
pub fn by_payload(conn: &Connection, payload: &str) -> Result<Option<Record>, StoreError> {
    Ok(conn
        .prepare_cached(&format!("SELECT {COLUMNS} FROM jobs WHERE payload = ?1"))?
        .query_row([payload], from_row)
        .optional()?)
}

/// Renames the payload of job `id`'s current attempt: a seed node names payloads itself.
pub fn set_payload(tx: &Transaction<'_>, id: JobId, payload: &str) -> Result<(), StoreError> {
    tx.prepare_cached("UPDATE jobs SET payload = ?2 WHERE id = ?1")?
        .execute(params![id, payload])?;
    Ok(())
}

/// Jobs each node finished (what `jobo node ls` shows as "jobs done"), as the `node_done`
/// trigger counted them: pruned jobs stay counted.
pub fn done_per_node(conn: &Connection) -> Result<Vec<(Placement, u64)>, StoreError> {
    let mut stmt = conn.prepare_cached("SELECT node, n FROM node_done")?;
    let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// One row per (place, service, user) with active jobs, and how many.
pub struct ActiveCount {
    /// Always set for an active job; `None` only for a row someone edited by hand.
    pub node: Option<Placement>,
    pub service: String,
    pub user: String,
    pub count: u32,
}

pub fn active_counts(conn: &Connection) -> Result<Vec<ActiveCount>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT node, service, user, COUNT(*) FROM jobs \
         WHERE state IN ('dispatched', 'running') GROUP BY 1, 2, 3",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok(ActiveCount {
            node: r.get(0)?,
            service: r.get(1)?,
            user: r.get(2)?,
            count: r.get(3)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

pub fn queued_services(conn: &Connection) -> Result<Vec<String>, StoreError> {
    let mut stmt =
        conn.prepare_cached("SELECT DISTINCT service FROM jobs WHERE state = 'queued'")?;
    let rows = stmt.query_map([], |r| r.get(0))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Users with queued jobs in `service`, sorted by name (the round-robin order).
pub fn queued_users(conn: &Connection, service: &str) -> Result<Vec<String>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT DISTINCT user FROM jobs WHERE state = 'queued' AND service = ?1 ORDER BY user",
    )?;
    let rows = stmt.query_map([service], |r| r.get(0))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// The job a user runs next in a service: highest priority, then oldest, of those whose
/// dependencies (`--after`) all succeeded.
pub fn head(conn: &Connection, service: &str, user: &str) -> Result<Option<JobId>, StoreError> {
    Ok(conn
        .prepare_cached(&format!(
            "SELECT id FROM jobs WHERE state = 'queued' AND service = ?1 AND user = ?2 \
             AND {} ORDER BY priority DESC, id LIMIT 1",
            super::select::deps_met_sql()
        ))?
        .query_row([service, user], |r| r.get(0))
        .optional()?)
}

/// The states a job can expire from: finished, its files still there. The same list is the
/// condition of the `jobs_expirable` index, which [`expirable`] must repeat word for word for
/// SQLite to use it.
const EXPIRABLE: &str = "state IN ('succeeded', 'failed', 'cancelled', 'timed_out', 'lost')";

/// Up to `limit` finished jobs of `service` whose files are due for removal, oldest first.
/// Reads the `jobs_expirable` index: the jobs that expired already (most of a big store) are
/// not in it, and those not due yet are past the end of the range.
pub fn expirable(
    conn: &Connection,
    service: &str,
    cutoff_ms: i64,
    limit: u32,
) -> Result<Vec<JobId>, StoreError> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT id FROM jobs INDEXED BY jobs_expirable WHERE {EXPIRABLE} AND service = ?1 \
         AND finished_at < ?2 ORDER BY finished_at LIMIT ?3"
    ))?;
    let rows = stmt.query_map(params![service, cutoff_ms, limit], |r| r.get(0))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Jobs queued, dispatched or running, as `(service, state, count)`: what `/metrics`
/// reports live (finished ones are counted as they finish, not by scanning history).
pub fn live_counts(conn: &Connection) -> Result<Vec<(String, String, u64)>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT service, state, COUNT(*) FROM jobs \
         WHERE state IN ('queued', 'dispatched', 'running') GROUP BY 1, 2",
    )?;
    let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// (queued, active) job counts of a service.
pub fn service_counts(conn: &Connection, service: &str) -> Result<(u64, u64), StoreError> {
    Ok(conn
        .prepare_cached(
            "SELECT COUNT(*) FILTER (WHERE state = 'queued'), \
             COUNT(*) FILTER (WHERE state IN ('dispatched', 'running')) \
             FROM jobs WHERE state IN ('queued', 'dispatched', 'running') AND service = ?1",
        )?
        .query_row([service], |r| Ok((r.get(0)?, r.get(1)?)))?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Store;

    fn new_job(user: &str, priority: i64) -> NewJob {
        NewJob {
            user: user.into(),
            service: "s".into(),
            priority,
            input_bytes: 1,
            ..NewJob::default()
        }
    }

    #[test]
    fn each_node_counts_the_jobs_it_ended_once_and_keeps_them_counted() -> Result<(), StoreError> {
        use JobState::*;
        let dir = tempfile::tempdir().map_err(|e| StoreError::Join(e.to_string()))?;
        let store = Store::open(&dir.path().join("t.db"))?;
        store.call_sync(|c| {
            // A job placed on `node` (at each dispatch) that goes through `path`.
            let mut job = |node: &str, path: &[JobState]| -> Result<JobId, StoreError> {
                let tx = c.transaction()?;
                let id = insert(&tx, &new_job("ann", 0))?;
                tx.commit()?;
                for to in path {
                    transition_now(c, id, *to, |r| {
                        if *to == Dispatched {
                            r.job.node = Some(Placement::parse(node));
                        }
                    })?;
                }
                Ok(id)
            };
            let pruned = job("n1", &[Dispatched, Running, Succeeded, Expired])?;
            // A retry ends once.
            job(
                "n1",
                &[Dispatched, Running, Queued, Dispatched, Running, Failed],
            )?;
            job("n2", &[Dispatched, Lost])?;
            job("n2", &[Cancelled])?;
            job("local", &[Dispatched, Cancelled])?;
            c.execute("DELETE FROM jobs WHERE id = ?1", params![pruned])?;
            let mut done = done_per_node(c)?;
            done.sort_by(|a, b| a.0.as_str().cmp(b.0.as_str()));
            assert_eq!(
                done,
                [(Placement::Local, 1), (Placement::parse("n1"), 2)],
                "lost and never-placed jobs are not done"
            );
            Ok(())
        })
    }

    #[test]
    fn expirable_jobs_come_from_their_index_oldest_first() -> Result<(), StoreError> {
        let dir = tempfile::tempdir().map_err(|e| StoreError::Join(e.to_string()))?;
        let store = Store::open(&dir.path().join("t.db"))?;
        store.call_sync(|c| {
            // Finished at 10, 20, … 60; the one at 30 expired already; one still queued.
            let mut ids = Vec::new();
            for t in 1..=6 {
                let tx = c.transaction()?;
                let id = insert(&tx, &new_job("ann", 0))?;
                tx.commit()?;
                transition_now(c, id, JobState::Cancelled, |_| {})?;
                c.execute(
                    "UPDATE jobs SET finished_at = ?2 WHERE id = ?1",
                    params![id, t * 10],
                )?;
                ids.push(id);
            }
            transition_now(c, ids[2], JobState::Expired, |_| {})?;
            let tx = c.transaction()?;
            insert(&tx, &new_job("ann", 0))?;
            tx.commit()?;
            // INDEXED BY makes the query fail if SQLite could not use the partial index.
            assert_eq!(expirable(c, "s", 55, 3)?, [ids[0], ids[1], ids[3]]);
            assert_eq!(
                expirable(c, "s", 55, 100)?,
                [ids[0], ids[1], ids[3], ids[4]]
            );
            assert!(expirable(c, "other", 55, 100)?.is_empty());
            let plan: String = c.query_row(
                "EXPLAIN QUERY PLAN SELECT id FROM jobs INDEXED BY jobs_expirable WHERE \
                 state IN ('succeeded', 'failed', 'cancelled', 'timed_out', 'lost') \
                 AND service = 's' AND finished_at < 5 ORDER BY finished_at LIMIT 3",
                [],
                |r| r.get(3),
            )?;
            assert!(
                plan.contains("finished_at<?"),
                "a range of the index: {plan}"
            );
            Ok(())
        })
    }

    #[test]
    fn transitions_are_checked_and_heads_follow_priority() -> Result<(), StoreError> {
        let dir = tempfile::tempdir().map_err(|e| StoreError::Join(e.to_string()))?;
        let store = Store::open(&dir.path().join("t.db"))?;
        store.call_sync(|c| {
            let tx = c.transaction()?;
            let a = insert(&tx, &new_job("ann", 0))?;
            let b = insert(&tx, &new_job("ann", 5))?;
            tx.commit()?;
            assert_eq!(head(c, "s", "ann")?, Some(b));
            let err = transition_now(c, a, JobState::Succeeded, |_| {});
            assert!(matches!(err, Err(StoreError::IllegalTransition { .. })));
            transition_now(c, a, JobState::Dispatched, |r| {
                r.job.node = Some(Placement::Node("n".into()))
            })?;
            let rec = transition_now(c, a, JobState::Running, |_| {})?;
            assert_eq!(rec.job.node, Some(Placement::Node("n".into())));
            let counts = active_counts(c)?;
            assert_eq!((counts.len(), counts[0].count), (1, 1));
            assert!(matches!(get(c, 99), Err(StoreError::NotFound(99))));
            Ok(())
        })
    }
}
