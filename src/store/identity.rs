//! Which data dir a store belongs to, checked before `jobod serve` trusts it.
//!
//! SQLite creates a missing database without a word, so a deleted or emptied `jobo.db` used
//! to come back as an empty store: ids restarted at 1 and the next submit replaced the files
//! of the old job 1. To tell that apart from a first start, the data dir has an identity kept
//! in two places: a random uuid in the store's `meta` table and the same uuid in `jobo.id`
//! beside it. At start:
//!
//! - no store, no `jobo.id`, no job dirs: a first start; both ids are written;
//! - no store (or an empty one) but a `jobo.id` or job dirs: refused, the store was lost;
//! - a store whose `PRAGMA quick_check` fails: refused, it is damaged (`jobod check` says more);
//! - both ids present and different: refused, the store is another data dir's;
//! - one id missing: it is written from the other (a store from before ids, or a lost
//!   `jobo.id`).
//!
//! `--reinit` starts over instead of refusing: the store files, `jobo.id` and `jobs/` are
//! renamed to `*.orphaned-<time>` (nothing is deleted) and a new store is made.

use super::{Store, schema};
use crate::paths::DataDir;
use anyhow::Context;
use rusqlite::{Connection, OpenFlags, OptionalExtension};
use std::io::Write;
use std::path::{Path, PathBuf};

/// The file in the data dir holding the data dir's id (one line, a uuid).
pub const ID_FILE: &str = "jobo.id";
/// The key of the same id in the store's `meta` table.
const ID_KEY: &str = "data_dir_id";
/// The database's companion files, set aside with it (a WAL must never meet another db).
const DB_SUFFIXES: [&str; 3] = ["", "-wal", "-shm"];
/// How many lines of a failed check are kept.
const CHECK_LINES: usize = 20;

/// The state of the database file itself, before SQLite touches it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DbFile {
    Missing,
    /// 0 bytes: SQLite would take it for a new database.
    Empty,
    Present,
}

/// What is found in a data dir, read without changing anything.
#[derive(Debug)]
pub(crate) struct Inspection {
    pub db: PathBuf,
    pub db_file: DbFile,
    /// The content of `jobo.id`.
    pub file_id: Option<String>,
    /// Entries in `jobs/` (job dirs).
    pub job_entries: usize,
    /// `PRAGMA user_version`, when the store could be opened.
    pub version: Option<i64>,
    /// The id in the store's `meta` table.
    pub store_id: Option<String>,
    /// What the check found wrong, or why the store could not be read at all.
    pub damage: Option<Vec<String>>,
}

/// Why the store cannot be used as it is.
#[derive(Debug)]
pub(crate) enum Problem {
    /// Missing or 0 bytes (or without tables) while `jobo.id` or job dirs say it existed.
    Lost,
    Damaged,
    /// Another data dir's store (its id, ours).
    Foreign(String, String),
    /// A schema newer than this jobod.
    TooNew(i64),
}

/// Which of SQLite's checks to run: `quick_check` at start, `integrity_check` in `jobod check`
/// (it also compares every index with its table, which takes longer).
#[derive(Debug, Clone, Copy)]
pub(crate) enum Thoroughness {
    Quick,
    Full,
}

/// Opens an existing database without creating it, for reading only.
pub(crate) fn open_existing(db: &Path) -> rusqlite::Result<Connection> {
    let conn = Connection::open_with_flags(
        db,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    conn.busy_timeout(std::time::Duration::from_secs(10))?;
    conn.pragma_update(None, "query_only", "ON")?;
    Ok(conn)
}

/// Looks at the data dir and its store without changing either.
pub(crate) fn inspect(data: &DataDir, how: Thoroughness) -> anyhow::Result<Inspection> {
    let db = data.db();
    let db_file = match std::fs::metadata(&db) {
        Ok(m) if m.len() == 0 => DbFile::Empty,
        Ok(_) => DbFile::Present,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => DbFile::Missing,
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", db.display())),
    };
    let mut found = Inspection {
        db,
        db_file,
        file_id: read_id_file(data)?,
        job_entries: count_entries(&data.jobs())?,
        version: None,
        store_id: None,
        damage: None,
    };
    if db_file != DbFile::Present {
        return Ok(found);
    }
    if let Err(e) = read_store(&mut found, how) {
        // What SQLite says about the file's content is damage; anything else (permissions,
        // a lock held past the timeout) is an error to report as it is.
        let damage = matches!(
            e.sqlite_error_code(),
            Some(rusqlite::ErrorCode::DatabaseCorrupt | rusqlite::ErrorCode::NotADatabase)
        );
        if !damage {
            return Err(e).with_context(|| format!("cannot read {}", found.db.display()));
        }
        found.damage = Some(vec![e.to_string()]);
    }
    Ok(found)
}

fn read_store(found: &mut Inspection, how: Thoroughness) -> rusqlite::Result<()> {
    let conn = open_existing(&found.db)?;
    let version: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    found.version = Some(version);
    let lines = match how {
        Thoroughness::Quick => run_check(&conn, "quick_check")?,
        // integrity_check reads every index against its table and stops with an error at a
        // b-tree it cannot read; quick_check still lists what is wrong with the pages then.
        Thoroughness::Full => match run_check(&conn, "integrity_check") {
            Err(e) if e.sqlite_error_code() == Some(rusqlite::ErrorCode::DatabaseCorrupt) => {
                let mut lines = run_check(&conn, "quick_check")?;
                lines.retain(|l| l != "ok");
                lines.push(format!("integrity_check stopped: {e}"));
                lines
            }
            other => other?,
        },
    };
    if lines != ["ok"] {
        found.damage = Some(name_trees(&conn, lines));
        return Ok(());
    }
    found.store_id = store_id(&conn)?;
    Ok(())
}

/// Runs `PRAGMA <pragma>(N)`; returns its findings one per line ("ok" when there are none).
fn run_check(conn: &Connection, pragma: &str) -> rusqlite::Result<Vec<String>> {
    let mut stmt = conn.prepare(&format!("PRAGMA {pragma}({CHECK_LINES})"))?;
    let rows = stmt
        .query_map([], |r| r.get::<_, String>(0))?
        .collect::<Result<Vec<_>, _>>()?;
    // The first row starts with "*** in database main ***" and a newline: one line each.
    Ok(rows
        .iter()
        .flat_map(|row| row.lines())
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with("*** in database"))
        .map(String::from)
        .collect())
}

/// SQLite names damaged b-trees by their root page ("Tree 4 page 4: …", "Page 3: …"); adds
/// the table or index it is.
fn name_trees(conn: &Connection, lines: Vec<String>) -> Vec<String> {
    let roots: Vec<(i64, String, String)> = conn
        .prepare("SELECT rootpage, type, name FROM sqlite_master WHERE rootpage > 0")
        .and_then(|mut s| {
            s.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
                .collect()
        })
        .unwrap_or_default();
    let number_after = |line: &str, word: &str| -> Option<i64> {
        let rest = line.split(word).nth(1)?;
        rest.split(|c: char| !c.is_ascii_digit())
            .next()?
            .parse()
            .ok()
    };
    lines
        .into_iter()
        .map(|line| {
            let root = number_after(&line, "Tree ")
                .or_else(|| number_after(&line, "Page ").filter(|_| line.starts_with("Page ")));
            match root.and_then(|n| roots.iter().find(|(r, ..)| *r == n)) {
                Some((_, kind, name)) => format!("{line} ({kind} {name})"),
                None => line,
            }
        })
        .collect()
}

/// The id in the `meta` table, if the table and the key exist.
pub(crate) fn store_id(conn: &Connection) -> rusqlite::Result<Option<String>> {
    let has_meta: bool = conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meta')",
        [],
        |r| r.get(0),
    )?;
    if !has_meta {
        return Ok(None);
    }
    conn.query_row("SELECT value FROM meta WHERE key = ?1", [ID_KEY], |r| {
        r.get(0)
    })
    .optional()
}

fn read_id_file(data: &DataDir) -> anyhow::Result<Option<String>> {
    let path = data.root().join(ID_FILE);
    match std::fs::read_to_string(&path) {
        Ok(s) => Ok(Some(s.trim().to_string())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e).with_context(|| format!("cannot read {}", path.display())),
    }
}

fn count_entries(dir: &Path) -> anyhow::Result<usize> {
    match std::fs::read_dir(dir) {
        Ok(rd) => Ok(rd.count()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(0),
        Err(e) => Err(e).with_context(|| format!("cannot read {}", dir.display())),
    }
}

impl Inspection {
    /// Whether there is anything that says a store existed here before.
    fn has_history(&self) -> bool {
        self.file_id.is_some() || self.job_entries > 0
    }

    /// Why this store must not be used as it is, if it must not.
    pub(crate) fn problem(&self) -> Option<Problem> {
        let no_tables = self.db_file != DbFile::Present || self.version == Some(0);
        if self.damage.is_some() {
            return Some(Problem::Damaged);
        }
        if no_tables {
            return self.has_history().then_some(Problem::Lost);
        }
        if let Some(v) = self.version.filter(|&v| v > schema::VERSION) {
            return Some(Problem::TooNew(v));
        }
        match (&self.store_id, &self.file_id) {
            (Some(ours), Some(file)) if ours != file => {
                Some(Problem::Foreign(ours.clone(), file.clone()))
            }
            _ => None,
        }
    }

    /// What happened, in one sentence without the remedy.
    pub(crate) fn describe(&self, problem: &Problem, data: &DataDir) -> String {
        let db = self.db.display();
        match problem {
            Problem::Lost => {
                let how = match self.db_file {
                    DbFile::Missing => "is missing",
                    DbFile::Empty => "is empty (0 bytes)",
                    DbFile::Present => "has no tables",
                };
                let mut evidence = Vec::new();
                if self.job_entries > 0 {
                    let (n, s) = (
                        self.job_entries,
                        if self.job_entries == 1 { "" } else { "s" },
                    );
                    evidence.push(format!("{n} job dir{s} in {}", data.jobs().display()));
                }
                if let Some(id) = &self.file_id {
                    evidence.push(format!("{ID_FILE} (data dir id {id})"));
                }
                format!(
                    "the job store {db} {how}, but the data dir holds {}: the rows of those jobs \
                     are gone, and a new store would hand out their ids again",
                    evidence.join(" and ")
                )
            }
            Problem::Damaged => {
                let lines = self.damage.as_deref().unwrap_or_default();
                let first = lines.first().map_or("", String::as_str);
                let more = match lines.len() {
                    0 | 1 => String::new(),
                    n => format!(" and {} more", n - 1),
                };
                format!("the job store {db} is damaged ({first}{more})")
            }
            Problem::Foreign(ours, file) => format!(
                "the job store {db} belongs to another data dir (its id is {ours}, this data \
                 dir's {ID_FILE} says {file})"
            ),
            Problem::TooNew(v) => format!(
                "the job store {db} has schema version {v}, newer than this jobod's {}: it was \
                 written by a newer jobod",
                schema::VERSION
            ),
        }
    }

    /// The one-line refusal `jobod serve` exits with: what happened and how to go on.
    fn refusal(&self, problem: &Problem, data: &DataDir) -> String {
        let what = self.describe(problem, data);
        let dir = data.root().display();
        let reinit = format!(
            "or start with --reinit to start over (it renames {} to jobs.orphaned-<time> and the \
             store to jobo.db.orphaned-<time>; nothing is deleted)",
            data.jobs().display()
        );
        match problem {
            Problem::Lost => format!(
                "{what}. Stop here and restore jobo.db from a backup (see `jobod backup`), {reinit}"
            ),
            Problem::Damaged => format!(
                "{what}. Run `jobod check --data-dir {dir}` for the details, then restore jobo.db \
                 from a backup, {reinit}"
            ),
            Problem::Foreign(..) => format!(
                "{what}. Put this data dir's own jobo.db back (from a backup), or use --data-dir \
                 to point at the data dir it belongs to, {reinit}"
            ),
            Problem::TooNew(_) => format!("{what}. Run that jobod, or restore an older backup"),
        }
    }
}

/// Opens the store of `data` for `jobod serve`, after checking it belongs there and is sound;
/// refuses with a one-line message otherwise, unless `reinit`. The caller holds the data-dir
/// lock, so nothing else is touching these files.
pub fn open_data_dir(data: &DataDir, reinit: bool) -> anyhow::Result<Store> {
    let mut found = inspect(data, Thoroughness::Quick)?;
    match found.problem() {
        None if reinit => {
            tracing::info!("--reinit: the job store is sound and belongs here; nothing to redo")
        }
        None => {}
        Some(Problem::TooNew(v)) => anyhow::bail!("{}", found.refusal(&Problem::TooNew(v), data)),
        Some(problem) if reinit => {
            tracing::warn!("--reinit: {}", found.describe(&problem, data));
            set_aside(data)?;
            found = inspect(data, Thoroughness::Quick)?;
            anyhow::ensure!(
                found.problem().is_none(),
                "--reinit could not clear {}",
                data.root().display()
            );
        }
        Some(problem) => anyhow::bail!("{}", found.refusal(&problem, data)),
    }
    if found.db_file != DbFile::Present {
        // A WAL left by a store that is gone would be replayed into the new one.
        set_aside_files(data, &["-wal", "-shm"], &stamp())?;
    }
    let store = Store::open(&found.db)
        .with_context(|| format!("cannot open the job store {}", found.db.display()))?;
    match (found.store_id, found.file_id) {
        (Some(_), Some(_)) => {}
        (Some(id), None) => {
            if found.job_entries > 0 {
                tracing::warn!("{ID_FILE} was missing; written again from the job store ({id})");
            }
            write_id_file(data, &id)?;
        }
        (None, Some(id)) => {
            // A store from before data dir ids (an upgrade, or an old backup put back).
            tracing::info!("job store: adopting the data dir id {id} from {ID_FILE}");
            set_store_id(&store, &id)?;
        }
        (None, None) => {
            let id = uuid::Uuid::new_v4().to_string();
            tracing::info!("job store: new data dir id {id}");
            set_store_id(&store, &id)?;
            write_id_file(data, &id)?;
        }
    }
    Ok(store)
}

fn set_store_id(store: &Store, id: &str) -> anyhow::Result<()> {
    let id = id.to_string();
    store
        .call_sync(move |c| {
            c.execute(
                "INSERT INTO meta (key, value) VALUES (?1, ?2) \
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                [ID_KEY, id.as_str()],
            )?;
            Ok(())
        })
        .context("cannot record the data dir id in the job store")
}

/// Writes `jobo.id` whole (temp file, fsync, rename, fsync of the dir).
fn write_id_file(data: &DataDir, id: &str) -> anyhow::Result<()> {
    let path = data.root().join(ID_FILE);
    let tmp = data.root().join(format!("{ID_FILE}.tmp"));
    let write = || -> std::io::Result<()> {
        let mut f = std::fs::File::create(&tmp)?;
        writeln!(f, "{id}")?;
        f.sync_all()?;
        std::fs::rename(&tmp, &path)?;
        std::fs::File::open(data.root())?.sync_all()
    };
    write().with_context(|| format!("cannot write {}", path.display()))
}

/// `--reinit`: renames the store files, `jobo.id` and `jobs/` to `*.orphaned-<time>`.
fn set_aside(data: &DataDir) -> anyhow::Result<()> {
    let stamp = stamp();
    set_aside_files(data, &DB_SUFFIXES, &stamp)?;
    let id = data.root().join(ID_FILE);
    if id.exists() {
        move_aside(&id, &stamp)?;
    }
    if count_entries(&data.jobs())? > 0 {
        move_aside(&data.jobs(), &stamp)?;
    }
    Ok(())
}

fn set_aside_files(data: &DataDir, suffixes: &[&str], stamp: &str) -> anyhow::Result<()> {
    for suffix in suffixes {
        let mut name = data.db().into_os_string();
        name.push(suffix);
        let path = PathBuf::from(name);
        if path.symlink_metadata().is_ok() {
            move_aside(&path, stamp)?;
        }
    }
    Ok(())
}

/// Renames `path` to `<path>.orphaned-<stamp>` (with `-2`, `-3`… if that exists already).
fn move_aside(path: &Path, stamp: &str) -> anyhow::Result<PathBuf> {
    let named = |n: u32| {
        let mut name = path.as_os_str().to_owned();
        name.push(format!(".orphaned-{stamp}"));
        if n > 1 {
            name.push(format!("-{n}"));
        }
        PathBuf::from(name)
    };
    let mut n = 1;
    let mut to = named(n);
    while to.symlink_metadata().is_ok() {
        n += 1;
        to = named(n);
    }
    std::fs::rename(path, &to)
        .with_context(|| format!("cannot move {} to {}", path.display(), to.display()))?;
    tracing::warn!("moved {} aside to {}", path.display(), to.display());
    Ok(to)
}

/// The current UTC time as `20250131T235959Z`, for names that sort by time.
fn stamp() -> String {
    humantime::format_rfc3339_seconds(std::time::SystemTime::now())
        .to_string()
        .replace(['-', ':'], "")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data_dir() -> (tempfile::TempDir, DataDir) {
        let dir = tempfile::tempdir().expect("temp dir");
        let data = DataDir::new(dir.path().join("data"));
        std::fs::create_dir_all(data.jobs()).expect("jobs dir");
        (dir, data)
    }

    fn id_file(data: &DataDir) -> Option<String> {
        read_id_file(data).expect("read jobo.id")
    }

    #[test]
    fn first_start_writes_both_ids_and_the_next_start_accepts_them() {
        let (_tmp, data) = data_dir();
        let store = open_data_dir(&data, false).expect("first start");
        let id = id_file(&data).expect("jobo.id written");
        let in_store = store.call_sync(|c| Ok(store_id(c)?)).expect("read meta");
        assert_eq!(in_store.as_deref(), Some(id.as_str()));
        drop(store);
        std::fs::create_dir_all(data.job(1).path()).expect("job dir");
        open_data_dir(&data, false).expect("second start");
        assert_eq!(id_file(&data), Some(id));
    }

    #[test]
    fn a_lost_store_is_refused_and_reinit_sets_everything_aside() {
        let (_tmp, data) = data_dir();
        drop(open_data_dir(&data, false).expect("first start"));
        std::fs::create_dir_all(data.job(1).path()).expect("job dir");
        std::fs::remove_file(data.db()).expect("rm db");
        let err = open_data_dir(&data, false)
            .err()
            .expect("refused")
            .to_string();
        assert!(
            err.contains("is missing") && err.contains("--reinit"),
            "{err}"
        );
        assert!(!data.db().exists(), "the refusal created a store");
        assert!(data.job(1).path().exists());

        open_data_dir(&data, true).expect("reinit");
        assert!(!data.job(1).path().exists());
        let aside: Vec<String> = std::fs::read_dir(data.root())
            .expect("read data dir")
            .filter_map(|e| e.ok()?.file_name().into_string().ok())
            .filter(|n| n.contains(".orphaned-"))
            .collect();
        assert!(
            aside.iter().any(|n| n.starts_with("jobs.orphaned-")),
            "{aside:?}"
        );
        assert!(
            aside.iter().any(|n| n.starts_with("jobo.id.orphaned-")),
            "{aside:?}"
        );
    }

    #[test]
    fn a_store_from_another_data_dir_is_refused() {
        let (_tmp, a) = data_dir();
        let (_tmp2, b) = data_dir();
        drop(open_data_dir(&a, false).expect("start a"));
        drop(open_data_dir(&b, false).expect("start b"));
        std::fs::copy(a.db(), b.db()).expect("copy db");
        let err = open_data_dir(&b, false).err().expect("refused").to_string();
        assert!(err.contains("belongs to another data dir"), "{err}");
    }

    #[test]
    fn a_store_from_before_ids_adopts_or_gets_one() {
        let (_tmp, data) = data_dir();
        drop(Store::open(&data.db()).expect("old-style store"));
        std::fs::create_dir_all(data.job(1).path()).expect("job dir");
        open_data_dir(&data, false).expect("upgrade");
        assert!(id_file(&data).is_some());
    }

    #[test]
    fn stamps_sort_by_time() {
        let s = stamp();
        assert_eq!(s.len(), "20250131T235959Z".len(), "{s}");
        assert!(s.ends_with('Z') && s.as_bytes()[8] == b'T', "{s}");
    }
}
