//! Finding jobs by what users give them (states, name, labels, array) for `jobo status` and
//! `list`, deleting old ones for `jobo prune`, and the dependency checks of `--after`.

use super::StoreError;
use super::jobs::{COLUMNS, from_row};
use crate::api::{Job, Labels};
use crate::job::{JobId, JobState};
use rusqlite::types::Value;
use rusqlite::{Connection, Transaction, params, params_from_iter};

/// Which jobs a list or a prune is about; empty fields do not filter.
#[derive(Debug, Clone, Default)]
pub struct JobFilter {
    pub states: Vec<JobState>,
    pub service: Option<String>,
    pub user: Option<String>,
    pub name: Option<String>,
    pub labels: Labels,
    pub array: Option<JobId>,
    /// Finished before this (Unix ms).
    pub finished_before: Option<i64>,
}

impl JobFilter {
    /// The `WHERE` clause and its parameters.
    fn clause(&self) -> (String, Vec<Value>) {
        let mut terms = vec!["1".to_string()];
        let mut args: Vec<Value> = Vec::new();
        if !self.states.is_empty() {
            let marks = vec!["?"; self.states.len()].join(", ");
            // `+state`: not by the state index, whose matches would all be sorted by id to
            // find the newest; the newest-first scan stops at the limit.
            terms.push(format!("+state IN ({marks})"));
            args.extend(self.states.iter().map(|s| Value::Text(s.as_str().into())));
        }
        for (column, value) in [
            ("service", &self.service),
            ("user", &self.user),
            ("name", &self.name),
        ] {
            if let Some(v) = value {
                terms.push(format!("{column} = ?"));
                args.push(Value::Text(v.clone()));
            }
        }
        for (k, v) in &self.labels {
            terms.push(
                "EXISTS (SELECT 1 FROM json_each(jobs.labels) l WHERE l.key = ? AND l.value = ?)"
                    .into(),
            );
            args.push(Value::Text(k.clone()));
            args.push(Value::Text(v.clone()));
        }
        if let Some(a) = self.array {
            terms.push("array_id = ?".into());
            args.push(Value::Integer(a));
        }
        if let Some(t) = self.finished_before {
            terms.push("finished_at < ?".into());
            args.push(Value::Integer(t));
        }
        (terms.join(" AND "), args)
    }
}

/// Matches counted beyond this are not counted: a count is a scan.
pub const COUNT_CAP: u64 = 10_000;

/// Newest first, at most `limit`; and how many match in all, up to [`COUNT_CAP`] + 1
/// (counted only when `limit` cut the list).
pub fn list(
    conn: &Connection,
    filter: &JobFilter,
    limit: u32,
) -> Result<(Vec<Job>, u64), StoreError> {
    let (clause, args) = filter.clause();
    let mut page = args.clone();
    page.push(Value::Integer(i64::from(limit)));
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM jobs WHERE {clause} ORDER BY id DESC LIMIT ?"
    ))?;
    let rows = stmt.query_map(params_from_iter(page.iter()), |r| {
        from_row(r).map(|rec| rec.job)
    })?;
    let jobs: Vec<Job> = rows.collect::<Result<_, _>>()?;
    if jobs.len() < limit as usize {
        let n = jobs.len() as u64;
        return Ok((jobs, n));
    }
    let mut capped = args;
    capped.push(Value::Integer((COUNT_CAP + 1) as i64));
    let total: u64 = conn
        .prepare_cached(&format!(
            "SELECT COUNT(*) FROM (SELECT 1 FROM jobs WHERE {clause} LIMIT ?)"
        ))?
        .query_row(params_from_iter(capped.iter()), |r| r.get(0))?;
    Ok((jobs, total))
}

/// Deletes the rows of jobs `ids` (their files are the caller's to remove).
pub fn delete(tx: &Transaction<'_>, ids: &[JobId]) -> Result<(), StoreError> {
    let mut stmt = tx.prepare_cached("DELETE FROM jobs WHERE id = ?1")?;
    for id in ids {
        stmt.execute([id])?;
    }
    Ok(())
}

/// What counts as a dependency that succeeded: `succeeded`, or `expired` after exit code 0
/// (its files were removed later).
const DEP_OK: &str = "(p.state = 'succeeded' OR (p.state = 'expired' AND p.exit_code = 0))";
/// A dependency that can no longer succeed: gone, or final otherwise.
const DEP_BROKEN: &str = "(p.id IS NULL OR (p.state IN ('failed', 'cancelled', 'timed_out', 'lost') \
     OR (p.state = 'expired' AND COALESCE(p.exit_code, 1) != 0)))";

/// The SQL condition (on a `jobs` row) of a job whose dependencies all succeeded.
pub fn deps_met_sql() -> String {
    format!(
        "(jobs.after IS NULL OR NOT EXISTS (SELECT 1 FROM json_each(jobs.after) d \
         LEFT JOIN jobs p ON p.id = d.value WHERE NOT COALESCE({DEP_OK}, 0)))"
    )
}

/// Queued jobs with a dependency that can no longer succeed, each with that dependency and
/// its state (`None`: the job is gone).
pub fn broken_deps(conn: &Connection) -> Result<Vec<(JobId, JobId, Option<String>)>, StoreError> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT j.id, d.value, p.state FROM jobs j, json_each(j.after) d \
         LEFT JOIN jobs p ON p.id = d.value \
         WHERE j.state = 'queued' AND j.after IS NOT NULL AND {DEP_BROKEN}"
    ))?;
    let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
    let mut found: Vec<(JobId, JobId, Option<String>)> = Vec::new();
    for row in rows {
        let row = row?;
        if found.last().is_none_or(|(id, ..)| *id != row.0) {
            found.push(row);
        }
    }
    Ok(found)
}

/// The first dependency of a queued job that has not succeeded yet, and its state.
pub fn pending_dep(
    conn: &Connection,
    id: JobId,
) -> Result<Option<(JobId, Option<String>)>, StoreError> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT d.value, p.state FROM jobs j, json_each(j.after) d \
         LEFT JOIN jobs p ON p.id = d.value WHERE j.id = ?1 AND NOT COALESCE({DEP_OK}, 0) \
         LIMIT 1"
    ))?;
    let mut rows = stmt.query_map([id], |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok(rows.next().transpose()?)
}

/// A queued job's place among the queued jobs of its service (1: next): those of higher
/// priority, then older ones, go first.
pub fn queue_position(conn: &Connection, job: &Job) -> Result<u64, StoreError> {
    let ahead: u64 = conn
        .prepare_cached(
            "SELECT COUNT(*) FROM jobs WHERE state = 'queued' AND service = ?1 \
             AND (priority > ?2 OR (priority = ?2 AND id < ?3))",
        )?
        .query_row(params![job.service, job.priority, job.id], |r| r.get(0))?;
    Ok(ahead + 1)
}

/// Running (dispatched or running) jobs of `service`, and of `user` in it.
pub fn running_counts(
    conn: &Connection,
    service: &str,
    user: &str,
) -> Result<(u32, u32), StoreError> {
    Ok(conn
        .prepare_cached(
            "SELECT COUNT(*), COUNT(*) FILTER (WHERE user = ?2) FROM jobs \
             WHERE state IN ('dispatched', 'running') AND service = ?1",
        )?
        .query_row([service, user], |r| Ok((r.get(0)?, r.get(1)?)))?)
}

/// Makes job `id` (just inserted) its own array's first job.
pub fn set_array(tx: &Transaction<'_>, id: JobId, array_id: JobId) -> Result<(), StoreError> {
    tx.prepare_cached("UPDATE jobs SET array_id = ?2 WHERE id = ?1")?
        .execute([id, array_id])?;
    Ok(())
}
