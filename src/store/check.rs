//! `jobod check`: is the store sound, and do the job files agree with it?
//!
//! It reads only, so it runs while jobod serves: SQLite's `integrity_check` (in WAL mode a
//! reader does not block the daemon's writers), the data dir's identity (store/identity.rs),
//! then files against rows: job dirs without a row (orphans, e.g. left by a store put back from
//! an older backup), unexpired jobs without their dir, queued jobs without their input, and
//! uploads left in `tmp/` (jobod empties it at start, so they only count while it is stopped).
//!
//! While jobod serves, a submit moves a job's dir in before its row commits, and removal marks
//! the row before deleting the dir; so every mismatch is looked at again a moment later and only
//! one that lasts is reported.
//!
//! `--fix` removes orphan dirs and nothing else (never a row): only while jobod is stopped
//! (it takes the data-dir lock, so no jobod can start meanwhile) and only when the store is
//! sound and belongs here, since otherwise every job dir would look like an orphan.

use super::identity::{self, DbFile, Problem, Thoroughness};
use crate::job::JobState;
use crate::paths::DataDir;
use anyhow::Context;
use rusqlite::{Connection, OptionalExtension};
use std::collections::BTreeMap;
use std::io::Write;
use std::time::Duration;

/// How long to wait before looking at a mismatch again while jobod may be running: far longer
/// than the transaction that moves a dir in or the step between expiring and deleting.
const SETTLE: Duration = Duration::from_millis(500);

/// What one look at files and rows found.
#[derive(Default)]
struct Mismatches {
    /// Job dirs with no row.
    orphans: Vec<i64>,
    /// Jobs that are not expired but have no dir: (id, state).
    missing: Vec<(i64, JobState)>,
    /// Queued jobs whose `input/` is gone: they cannot run.
    no_input: Vec<i64>,
}

impl Mismatches {
    fn is_empty(&self) -> bool {
        self.orphans.is_empty() && self.missing.is_empty() && self.no_input.is_empty()
    }
}

/// Runs the check on `data`, printing the report to `out`. Returns whether it is clean (after
/// `fix`, whether nothing is left to fix by hand). Errors are for a check that could not run.
pub fn check(data: &DataDir, fix: bool, out: &mut dyn Write) -> anyhow::Result<bool> {
    let root = data.root();
    anyhow::ensure!(
        root.is_dir(),
        "{} is not a data dir (it does not exist)",
        root.display()
    );
    // Held until the end: no jobod may start while orphans are being removed.
    let _lock = if fix {
        Some(crate::host::try_lock_data_dir(data)?.with_context(|| {
            format!(
                "jobod is running on {} (it holds jobod.lock): stop it before `jobod check \
                 --fix`; `jobod check` without --fix works while it runs",
                root.display()
            )
        })?)
    } else {
        None
    };
    let mut problems = Vec::new();
    let found = identity::inspect(data, Thoroughness::Full)?;
    let id = found.file_id.as_deref().unwrap_or("none");
    writeln!(out, "data dir  {} (id {id})", root.display())?;

    let db = found.db.display();
    match (found.db_file, &found.damage) {
        (DbFile::Missing, _) => writeln!(out, "store     {db}: missing")?,
        (DbFile::Empty, _) => writeln!(out, "store     {db}: empty (0 bytes)")?,
        (DbFile::Present, Some(lines)) => {
            writeln!(out, "store     {db}: DAMAGED (integrity_check)")?;
            for line in lines {
                problems.push(format!("store: {line}"));
            }
        }
        (DbFile::Present, None) => writeln!(
            out,
            "store     {db}: integrity ok, schema version {}",
            found.version.unwrap_or(0)
        )?,
    }
    let problem = found.problem();
    let mut hint = None;
    match &problem {
        Some(p @ Problem::TooNew(_)) => problems.push(found.describe(p, data)),
        // Its lines are listed above already.
        Some(Problem::Damaged) => {
            hint = Some(
                "restore jobo.db from a backup (stop jobod first), or start jobod with --reinit \
                 to set the store and the job dirs aside and start over",
            )
        }
        Some(p) => problems.push(format!(
            "{}; restore jobo.db from a backup (stop jobod first), or start jobod with --reinit \
             to set the store and the job dirs aside and start over",
            found.describe(p, data)
        )),
        None if found.db_file != DbFile::Present => writeln!(
            out,
            "note      no store yet: jobod creates it at its first start"
        )?,
        None => {
            if found.store_id.is_none() || found.file_id.is_none() {
                writeln!(
                    out,
                    "note      the data dir id is kept in one place only; jobod writes the \
                     other at its next start"
                )?;
            }
        }
    }

    // Files against rows, unless the store is lost or another's: then every dir would differ.
    let comparable =
        found.db_file == DbFile::Present && matches!(problem, None | Some(Problem::Damaged));
    let mut orphans = Vec::new();
    if comparable {
        match compare(data, &found.db, !fix) {
            Ok((m, dirs, rows)) => {
                writeln!(
                    out,
                    "files     {dirs} job dirs, {rows} jobs in the store (expired ones have none)"
                )?;
                for id in &m.orphans {
                    problems.push(format!(
                        "orphan dir {}: no job {id} in the store (`jobod check --fix` removes \
                         it)",
                        data.job(*id).path().display()
                    ));
                }
                for (id, state) in &m.missing {
                    problems.push(format!(
                        "job {id} is {state} but its dir {} is missing",
                        data.job(*id).path().display()
                    ));
                }
                for id in &m.no_input {
                    problems.push(format!(
                        "job {id} is queued but its input {} is missing: it cannot run",
                        data.job(*id).input().display()
                    ));
                }
                orphans = m.orphans;
            }
            Err(e) => problems.push(format!("cannot compare job files with the store: {e:#}")),
        }
        for name in unexpected_entries(data)? {
            problems.push(format!(
                "unexpected entry {}: not a job dir",
                data.jobs().join(name).display()
            ));
        }
    } else if found.job_entries > 0 {
        writeln!(
            out,
            "files     {} entries in {}: not compared with the store (it is not usable)",
            found.job_entries,
            data.jobs().display()
        )?;
    }

    let uploads = entries(&data.tmp())?;
    if !uploads.is_empty() {
        if !fix && crate::host::data_dir_locked(data) {
            writeln!(out, "note      {} uploads in progress", uploads.len())?;
        } else {
            for name in uploads {
                problems.push(format!(
                    "leftover upload {}: jobod removes it at its next start",
                    data.tmp().join(name).display()
                ));
            }
        }
    }

    for p in &problems {
        writeln!(out, "problem   {p}")?;
    }
    if let Some(hint) = hint {
        writeln!(out, "to do     {hint}")?;
    }
    let mut left = problems.len();
    if fix && !orphans.is_empty() {
        if problem.is_some() {
            writeln!(
                out,
                "fix       not removing orphan dirs: the store is not sound, so job dirs cannot \
                 be told from orphans"
            )?;
        } else {
            for id in orphans {
                let dir = data.job(id);
                std::fs::remove_dir_all(dir.path())
                    .with_context(|| format!("cannot remove {}", dir.path().display()))?;
                writeln!(out, "fixed     removed orphan dir {}", dir.path().display())?;
                left -= 1;
            }
        }
    }
    match left {
        0 if problems.is_empty() => writeln!(out, "clean")?,
        0 => writeln!(out, "clean after the fixes")?,
        1 => writeln!(out, "1 problem")?,
        n => writeln!(out, "{n} problems")?,
    }
    Ok(left == 0)
}

/// Compares job dirs with rows; returns the lasting mismatches, the number of dirs and rows.
/// `settle`: jobod may be running, so look at each mismatch again after [`SETTLE`].
fn compare(
    data: &DataDir,
    db: &std::path::Path,
    settle: bool,
) -> anyhow::Result<(Mismatches, usize, usize)> {
    let conn = identity::open_existing(db)?;
    // Through the table itself: an index may be what is damaged.
    let rows: BTreeMap<i64, JobState> = {
        let mut stmt = conn.prepare("SELECT id, state FROM jobs NOT INDEXED")?;
        let rows = stmt.query_map([], |r| {
            let state: String = r.get(1)?;
            Ok((r.get::<_, i64>(0)?, state))
        })?;
        let mut out = BTreeMap::new();
        for row in rows {
            let (id, state) = row?;
            out.insert(id, parse_state(&state)?);
        }
        out
    };
    let dirs = job_dirs(data)?;
    let mut m = Mismatches::default();
    for id in &dirs {
        if !rows.contains_key(id) {
            m.orphans.push(*id);
        }
    }
    for (id, state) in &rows {
        if *state == JobState::Expired {
            continue;
        }
        if !dirs.contains(id) {
            m.missing.push((*id, *state));
        } else if *state == JobState::Queued && !data.job(*id).input().is_dir() {
            m.no_input.push(*id);
        }
    }
    if settle && !m.is_empty() {
        std::thread::sleep(SETTLE);
        m = recheck(data, &conn, m)?;
    }
    Ok((m, dirs.len(), rows.len()))
}

/// Looks at each mismatch again with a fresh read; keeps those that still are.
fn recheck(data: &DataDir, conn: &Connection, m: Mismatches) -> anyhow::Result<Mismatches> {
    let state_of = |id: i64| -> anyhow::Result<Option<JobState>> {
        let state: Option<String> = conn
            .query_row(
                "SELECT state FROM jobs NOT INDEXED WHERE id = ?1",
                [id],
                |r| r.get(0),
            )
            .optional()?;
        state
            .map(|s| parse_state(&s))
            .transpose()
            .map_err(Into::into)
    };
    let mut again = Mismatches::default();
    for id in m.orphans {
        if data.job(id).path().is_dir() && state_of(id)?.is_none() {
            again.orphans.push(id);
        }
    }
    for (id, _) in m.missing {
        if let Some(state) = state_of(id)?
            && state != JobState::Expired
            && !data.job(id).path().is_dir()
        {
            again.missing.push((id, state));
        }
    }
    for id in m.no_input {
        if state_of(id)? == Some(JobState::Queued) && !data.job(id).input().is_dir() {
            again.no_input.push(id);
        }
    }
    Ok(again)
}

fn parse_state(s: &str) -> rusqlite::Result<JobState> {
    s.parse::<JobState>().map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(1, rusqlite::types::Type::Text, e.into())
    })
}

/// The ids of the job dirs (entries of `jobs/` that are dirs named by a number).
fn job_dirs(data: &DataDir) -> anyhow::Result<std::collections::BTreeSet<i64>> {
    Ok(entries(&data.jobs())?
        .into_iter()
        .filter(|name| data.jobs().join(name).is_dir())
        .filter_map(|name| name.parse().ok())
        .collect())
}

/// Entries of `jobs/` that are not job dirs.
fn unexpected_entries(data: &DataDir) -> anyhow::Result<Vec<String>> {
    Ok(entries(&data.jobs())?
        .into_iter()
        .filter(|name| !(name.parse::<i64>().is_ok() && data.jobs().join(name).is_dir()))
        .collect())
}

/// The names in `dir` (none if it does not exist), sorted.
fn entries(dir: &std::path::Path) -> anyhow::Result<Vec<String>> {
    let rd = match std::fs::read_dir(dir) {
        Ok(rd) => rd,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", dir.display())),
    };
    let mut names = Vec::new();
    for e in rd {
        let e = e.with_context(|| format!("cannot read {}", dir.display()))?;
        names.push(e.file_name().to_string_lossy().into_owned());
    }
    names.sort();
    Ok(names)
}
