//! Forward-only schema migrations, numbered by `PRAGMA user_version`.

use super::StoreError;
use rusqlite::Connection;

/// Migration `i` takes the schema from version `i` to `i + 1`. Append only; never edit.
const MIGRATIONS: &[&str] = &[
    r#"
CREATE TABLE jobs (
    id              INTEGER PRIMARY KEY,
    user            TEXT    NOT NULL,
    service         TEXT    NOT NULL,
    state           TEXT    NOT NULL,
    priority        INTEGER NOT NULL DEFAULT 0,
    node            TEXT,
    attempts        INTEGER NOT NULL DEFAULT 0,
    exit_code       INTEGER,
    reason          TEXT,
    submitted_at    INTEGER NOT NULL,
    started_at      INTEGER,
    finished_at     INTEGER,
    input_bytes     INTEGER NOT NULL,
    output_bytes    INTEGER,
    timeout_secs    INTEGER,
    idempotency_key TEXT,
    pid             INTEGER,
    pid_start       INTEGER
);
-- The scheduler's queries: queued users per service, a user's head job, active counts.
CREATE INDEX jobs_queue ON jobs (state, service, user, priority DESC, id);
-- Retention: finished jobs by age.
CREATE INDEX jobs_finished ON jobs (finished_at) WHERE finished_at IS NOT NULL;
CREATE UNIQUE INDEX jobs_idempotency ON jobs (user, idempotency_key)
    WHERE idempotency_key IS NOT NULL;
"#,
    r#"
-- Worker nodes. `services` is a comma-separated list; the token is kept here
-- (the data dir is 0700) because the server must send it, and it is never shown.
CREATE TABLE nodes (
    id          INTEGER PRIMARY KEY,
    name        TEXT    NOT NULL UNIQUE,
    url         TEXT    NOT NULL UNIQUE,
    services    TEXT    NOT NULL,
    slots       INTEGER NOT NULL,
    token       TEXT,
    protocol    TEXT    NOT NULL,
    draining    INTEGER NOT NULL DEFAULT 0,
    from_config INTEGER NOT NULL DEFAULT 0,
    added_at    INTEGER NOT NULL
);
-- The payload (uuid) of a job's current attempt on a remote node: what the node reports it by.
ALTER TABLE jobs ADD COLUMN payload TEXT;
CREATE INDEX jobs_payload ON jobs (payload) WHERE payload IS NOT NULL;
"#,
    r#"
-- Facts about the store itself, by key. `data_dir_id` is a uuid also written to the data
-- dir's `jobo.id`: the two together tell the store that belongs to the job dirs beside it
-- from an empty, restored-elsewhere or foreign one (store/identity.rs).
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
"#,
    r#"
-- API tokens (store/tokens.rs). Only the SHA-256 of a secret is kept: a copy of the database
-- lets no one in. `expires` is Unix ms or NULL (never); `revoked` is Unix ms or NULL.
CREATE TABLE tokens (
    id      INTEGER PRIMARY KEY,
    user    TEXT    NOT NULL,
    role    TEXT    NOT NULL,
    hash    TEXT    NOT NULL UNIQUE,
    created INTEGER NOT NULL,
    expires INTEGER,
    revoked INTEGER
);
"#,
    r#"
-- A job's requested limits besides timeout_secs (src/limits/; NULL: none) and its own
-- environment variables as a JSON object (src/jobenv.rs; NULL: none).
ALTER TABLE jobs ADD COLUMN memory_bytes INTEGER;
ALTER TABLE jobs ADD COLUMN cpus REAL;
ALTER TABLE jobs ADD COLUMN pids INTEGER;
ALTER TABLE jobs ADD COLUMN max_output_bytes INTEGER;
ALTER TABLE jobs ADD COLUMN env TEXT;
-- The Unix user a job runs as, decided at submit (run_as.rs). NULL on jobs submitted before:
-- those run as their service's run_as.
ALTER TABLE jobs ADD COLUMN run_as TEXT;
"#,
    r#"
-- How the last run's limits were enforced (api::Enforced as JSON; NULL: not run yet) and
-- what it used (src/cgroup/; NULL: not measured).
ALTER TABLE jobs ADD COLUMN enforced TEXT;
ALTER TABLE jobs ADD COLUMN peak_memory_bytes INTEGER;
ALTER TABLE jobs ADD COLUMN cpu_ms INTEGER;
"#,
    r#"
-- The archive::tree_digest of a job's upload, kept for jobs submitted with an idempotency key
-- (NULL otherwise): a reuse of the key for other content is refused (409).
ALTER TABLE jobs ADD COLUMN input_digest TEXT;
"#,
    r#"
-- What users name, tag and link jobs by (api/meta.rs): a name, labels (a JSON object), the
-- first command of run.sh, the job a restart came from, the jobs that must succeed first
-- (a JSON array of ids; the scheduler reads it) and an array's first job and own index.
ALTER TABLE jobs ADD COLUMN name TEXT;
ALTER TABLE jobs ADD COLUMN labels TEXT;
ALTER TABLE jobs ADD COLUMN command TEXT;
ALTER TABLE jobs ADD COLUMN restarted_from INTEGER;
ALTER TABLE jobs ADD COLUMN after TEXT;
ALTER TABLE jobs ADD COLUMN array_id INTEGER;
ALTER TABLE jobs ADD COLUMN array_index INTEGER;
CREATE INDEX jobs_name ON jobs (name) WHERE name IS NOT NULL;
CREATE INDEX jobs_array ON jobs (array_id) WHERE array_id IS NOT NULL;
-- A user's jobs, newest first, and how many: `jobo status` and `list` of a non-admin.
CREATE INDEX jobs_user ON jobs (user, id);
-- Each scheduling pass looks for queued jobs whose dependencies failed.
CREATE INDEX jobs_after ON jobs (state) WHERE after IS NOT NULL;
"#,
    r#"
-- Retention (cleaner.rs): the jobs that can still expire, by service and age. Expired jobs,
-- most rows of a big store, are not in it, so a sweep reads only what is due.
CREATE INDEX jobs_expirable ON jobs (service, finished_at)
    WHERE state IN ('succeeded', 'failed', 'cancelled', 'timed_out', 'lost');
"#,
    r#"
-- The highest job id ever given. `jobo prune` deletes rows, and without AUTOINCREMENT SQLite
-- gives the next job max(id) + 1, so pruning the newest jobs would hand their ids (saved by a
-- portal, named in an `--after`) to new ones. jobs::insert takes `last + 1`; the trigger keeps
-- it, whatever inserts.
CREATE TABLE job_ids (last INTEGER NOT NULL);
INSERT INTO job_ids SELECT coalesce(max(id), 0) FROM jobs;
CREATE TRIGGER job_ids_last AFTER INSERT ON jobs WHEN NEW.id > (SELECT last FROM job_ids)
BEGIN
    UPDATE job_ids SET last = NEW.id;
END;
"#,
    r#"
-- Jobs each place finished (`jobo node ls`, `jobo_node_jobs_done_total`), kept as they end:
-- counting them in `jobs` read every finished row (a few hundred ms holding the store at a
-- million jobs, on every `/metrics` scrape), and the count, a Prometheus counter, dropped
-- when `jobo prune` deleted rows. Expiry (from an end state) does not count again.
CREATE TABLE node_done (node TEXT PRIMARY KEY, n INTEGER NOT NULL) WITHOUT ROWID;
INSERT INTO node_done SELECT node, count(*) FROM jobs WHERE node IS NOT NULL
    AND state IN ('succeeded', 'failed', 'cancelled', 'timed_out', 'expired') GROUP BY node;
CREATE TRIGGER node_done_count AFTER UPDATE OF state ON jobs
    WHEN NEW.node IS NOT NULL AND OLD.state IN ('dispatched', 'running')
    AND NEW.state IN ('succeeded', 'failed', 'cancelled', 'timed_out')
BEGIN
    INSERT INTO node_done (node, n) VALUES (NEW.node, 1)
        ON CONFLICT (node) DO UPDATE SET n = n + 1;
END;
"#,
];

/// The schema version this jobod writes (`PRAGMA user_version` after [`migrate`]).
pub const VERSION: i64 = MIGRATIONS.len() as i64;

pub fn migrate(conn: &mut Connection) -> Result<(), StoreError> {
    let version: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    let target = MIGRATIONS.len() as i64;
    if version > target {
        return Err(StoreError::TooNew(version));
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(version as usize) {
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", i as i64 + 1)?;
        tx.commit()?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A store made before `node_done` starts it from the jobs its nodes had ended.
    #[test]
    fn node_done_starts_from_the_jobs_already_ended() -> Result<(), StoreError> {
        let mut conn = Connection::open_in_memory()?;
        let before = MIGRATIONS.len() - 1;
        for sql in &MIGRATIONS[..before] {
            conn.execute_batch(sql)?;
        }
        conn.pragma_update(None, "user_version", before as i64)?;
        for (node, state) in [
            ("n1", "succeeded"),
            ("n1", "expired"),
            ("n1", "running"),
            ("n2", "lost"),
            ("n2", "timed_out"),
        ] {
            conn.execute(
                "INSERT INTO jobs (user, service, state, node, submitted_at, input_bytes) \
                 VALUES ('ann', 's', ?1, ?2, 0, 0)",
                [state, node],
            )?;
        }
        migrate(&mut conn)?;
        let mut stmt = conn.prepare("SELECT node, n FROM node_done ORDER BY node")?;
        let rows: Vec<(String, i64)> = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<Result<_, _>>()?;
        assert_eq!(rows, [("n1".to_string(), 2), ("n2".to_string(), 1)]);
        Ok(())
    }
}
