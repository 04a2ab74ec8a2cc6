//! Faults of the job store that must not lose anything, against real `jobod` processes: a
//! deleted or emptied `jobo.db` beside existing job dirs, a damaged one, orphan job dirs,
//! online backups, and `/health` while the store cannot write.
//!
//! The store is damaged or locked from the test itself with rusqlite (a dependency of the
//! crate), as an outside process would.

mod common;
use common::*;
use rusqlite::Connection;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::{Duration, Instant};

fn stdout_of(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr_of(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// The `jobod: error: …` line of a refused command.
fn error_line(out: &Output) -> String {
    let err = stderr_of(out);
    err.lines()
        .find(|l| l.starts_with("jobod: error: "))
        .unwrap_or_else(|| panic!("no error line in:\n{err}"))
        .to_string()
}

/// Every file below `dir` with its content, by path relative to `dir`.
fn tree(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<PathBuf, Vec<u8>>) {
        let Ok(rd) = std::fs::read_dir(dir) else {
            return;
        };
        for e in rd.flatten() {
            let path = e.path();
            let rel = path.strip_prefix(root).expect("below root").to_path_buf();
            if path.is_dir() {
                out.insert(rel.join(""), Vec::new());
                walk(root, &path, out);
            } else {
                out.insert(rel, std::fs::read(&path).unwrap_or_default());
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

/// Names in the data dir that start with `prefix`.
fn named(d: &Daemon, prefix: &str) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(d.data())
        .expect("read data dir")
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with(prefix))
        .map(|e| e.path())
        .collect();
    v.sort();
    v
}

/// A daemon with two finished jobs, each of which wrote `out.txt`.
fn daemon_with_two_jobs() -> Daemon {
    let d = Daemon::start();
    for n in 1..=2 {
        let dir = job_dir(
            &d.work(),
            &format!("job{n}"),
            &[("run.sh", &format!("echo result {n} > out.txt"))],
        );
        let id = d.submit(&dir, "example");
        assert_eq!(id, n);
        assert_eq!(d.wait(id)["state"], "succeeded", "{}", d.log());
    }
    d
}

/// What the old job files must still say after a refusal or a `--reinit`.
fn assert_old_jobs_in(jobs: &Path) {
    for n in 1..=2 {
        let out = jobs.join(n.to_string()).join("work/out.txt");
        let text =
            std::fs::read_to_string(&out).unwrap_or_else(|e| panic!("{}: {e}", out.display()));
        assert_eq!(text, format!("result {n}\n"));
    }
}

/// The old dirs are intact, and `--reinit` moves them aside and starts over with job 1.
fn refused_then_reinit(d: &mut Daemon, expect: &str) {
    let before = tree(&d.data().join("jobs"));
    assert!(!before.is_empty());
    let out = d.serve_refused(&[]);
    assert!(!out.status.success());
    let line = error_line(&out);
    for needle in [
        expect,
        "/data/jobs ",
        "2 job dirs",
        "backup",
        "--reinit",
        "nothing is deleted",
    ] {
        assert!(line.contains(needle), "{needle:?} not in: {line}");
    }
    assert_eq!(
        tree(&d.data().join("jobs")),
        before,
        "a refused start changed the job dirs"
    );
    // Refused again, the same way: the refusal left nothing that would let a start through.
    assert_eq!(error_line(&d.serve_refused(&[])), line);

    d.restart_with(&["--reinit"]);
    let aside = named(d, "jobs.orphaned-");
    assert_eq!(aside.len(), 1, "{aside:?}");
    assert_eq!(tree(&aside[0]), before);
    assert_old_jobs_in(&aside[0]);
    assert!(d.log().contains(" aside to "), "{}", d.log());
    // A new store: ids start again at 1, in an empty jobs/, and the old files stay aside.
    let dir = job_dir(&d.work(), "new", &[("run.sh", "echo new > out.txt")]);
    let id = d.submit(&dir, "example");
    assert_eq!(id, 1);
    assert_eq!(d.wait(id)["state"], "succeeded");
    assert_old_jobs_in(&aside[0]);
    // The next start needs no --reinit, and a --reinit on a sound store does nothing.
    d.stop();
    d.restart_with(&["--reinit"]);
    assert_eq!(named(d, "jobs.orphaned-").len(), 1);
    assert!(d.data().join("jobs/1/work/out.txt").exists());
}

#[test]
fn a_deleted_store_is_refused_and_reinit_sets_the_old_jobs_aside() {
    let mut d = daemon_with_two_jobs();
    d.stop();
    std::fs::remove_file(d.data().join("jobo.db")).expect("rm jobo.db");
    refused_then_reinit(&mut d, "is missing");
    assert_eq!(named(&d, "jobo.id.orphaned-").len(), 1);
}

#[test]
fn a_store_emptied_after_a_crash_is_refused_and_reinit_sets_its_wal_aside() {
    let mut d = daemon_with_two_jobs();
    // kill -9 leaves the WAL beside the store: it must not be replayed into a new one.
    d.kill9();
    kill_processes_under(d.root());
    std::fs::File::create(d.data().join("jobo.db")).expect("truncate jobo.db");
    let wal = d.data().join("jobo.db-wal").exists();
    refused_then_reinit(&mut d, "is empty (0 bytes)");
    assert_eq!(named(&d, "jobo.db.orphaned-").len(), 1);
    assert_eq!(named(&d, "jobo.db-wal.orphaned-").len(), usize::from(wal));
}

#[test]
fn a_store_of_another_data_dir_is_refused() {
    let mut a = daemon_with_two_jobs();
    let mut b = Daemon::start();
    a.stop();
    b.stop();
    for suffix in ["-wal", "-shm"] {
        let _ = std::fs::remove_file(b.data().join(format!("jobo.db{suffix}")));
    }
    std::fs::copy(a.data().join("jobo.db"), b.data().join("jobo.db")).expect("copy db");
    let line = error_line(&b.serve_refused(&[]));
    assert!(line.contains("belongs to another data dir"), "{line}");
}

/// Fills the stopped daemon's store with `n` expired jobs (no files needed), so that the
/// queue index spans several pages, and checkpoints everything into the main file.
fn add_expired_jobs(db: &Path, n: usize) {
    let c = Connection::open(db).expect("open db");
    let tx = c.unchecked_transaction().expect("begin");
    for i in 0..n {
        tx.execute(
            "INSERT INTO jobs (user, service, state, priority, submitted_at, finished_at, \
             input_bytes) VALUES (?1, ?2, 'expired', ?3, 1, 2, 10)",
            rusqlite::params![format!("user-{i}"), format!("service-{}", i % 7), i % 5],
        )
        .expect("insert");
    }
    tx.commit().expect("commit");
    c.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
        .expect("checkpoint");
}

/// Overwrites the start of the queue index's root page with garbage, in the main file.
fn damage_queue_index(db: &Path) {
    let (root, page_size): (u64, u64) = {
        let c = Connection::open(db).expect("open db");
        let root = c
            .query_row(
                "SELECT rootpage FROM sqlite_master WHERE name = 'jobs_queue'",
                [],
                |r| r.get(0),
            )
            .expect("root page");
        let size = c
            .query_row("PRAGMA page_size", [], |r| r.get(0))
            .expect("page size");
        let pages: u64 = c
            .query_row("PRAGMA page_count", [], |r| r.get(0))
            .expect("page count");
        assert!(pages > root, "the index is not in the main file");
        (root, size)
    };
    // Checkpointed: no page of the store is only in the WAL.
    let mut wal = db.as_os_str().to_owned();
    wal.push("-wal");
    assert_eq!(
        std::fs::metadata(PathBuf::from(wal)).map_or(0, |m| m.len()),
        0
    );
    use std::io::{Seek, SeekFrom, Write};
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .open(db)
        .expect("open db file");
    f.seek(SeekFrom::Start((root - 1) * page_size))
        .expect("seek");
    f.write_all(&[0xA5; 64]).expect("write garbage");
    f.sync_all().expect("sync");
}

#[test]
fn a_damaged_store_is_refused_and_check_reports_it() {
    let mut d = daemon_with_two_jobs();
    d.stop();
    let db = d.data().join("jobo.db");
    add_expired_jobs(&db, 400);
    damage_queue_index(&db);

    let out = d.serve_refused(&[]);
    let line = error_line(&out);
    for needle in [
        "is damaged",
        "jobo.db",
        "jobod check --data-dir",
        "--reinit",
    ] {
        assert!(line.contains(needle), "{needle:?} not in: {line}");
    }
    assert_old_jobs_in(&d.data().join("jobs"));

    let check = d.jobod(&["check"]);
    let report = stdout_of(&check);
    assert_eq!(
        check.status.code(),
        Some(1),
        "{report}{}",
        stderr_of(&check)
    );
    assert!(report.contains("DAMAGED"), "{report}");
    assert!(report.contains("jobs_queue"), "{report}");
    // The rows are still readable through the table: no job lost its dir.
    assert!(!report.contains("is missing"), "{report}");
    // --fix does not touch a damaged store's data.
    let fix = d.jobod(&["check", "--fix"]);
    assert_eq!(fix.status.code(), Some(1), "{}", stdout_of(&fix));
    assert_old_jobs_in(&d.data().join("jobs"));
}

#[test]
fn check_finds_orphans_and_missing_dirs_and_fixes_orphans_only_when_stopped() {
    let mut d = daemon_with_two_jobs();
    let clean = d.jobod(&["check"]);
    assert!(
        clean.status.success(),
        "{}{}",
        stdout_of(&clean),
        stderr_of(&clean)
    );
    assert!(
        stdout_of(&clean).contains("integrity ok"),
        "{}",
        stdout_of(&clean)
    );
    assert!(
        stdout_of(&clean).trim_end().ends_with("clean"),
        "{}",
        stdout_of(&clean)
    );

    let orphan = d.data().join("jobs/999");
    std::fs::create_dir_all(orphan.join("work")).expect("orphan dir");
    std::fs::write(orphan.join("work/x"), "x").expect("orphan file");
    let found = d.jobod(&["check"]);
    assert_eq!(found.status.code(), Some(1), "{}", stdout_of(&found));
    assert!(
        stdout_of(&found).contains(&format!("orphan dir {}", orphan.display())),
        "{}",
        stdout_of(&found)
    );

    let refused = d.jobod(&["check", "--fix"]);
    assert_eq!(refused.status.code(), Some(1));
    let line = error_line(&refused);
    assert!(
        line.contains("jobod is running") && line.contains("stop it"),
        "{line}"
    );
    assert!(orphan.exists(), "--fix removed a dir while jobod runs");

    // A job whose dir is gone is reported, and never "fixed".
    let two = d.data().join("jobs/2");
    let away = d.root().join("job-2-away");
    std::fs::rename(&two, &away).expect("move job 2 away");
    let missing = d.jobod(&["check"]);
    assert_eq!(missing.status.code(), Some(1));
    assert!(
        stdout_of(&missing).contains("job 2 is succeeded but its dir"),
        "{}",
        stdout_of(&missing)
    );
    std::fs::rename(&away, &two).expect("move job 2 back");

    d.stop();
    let fixed = d.jobod(&["check", "--fix"]);
    assert!(
        fixed.status.success(),
        "{}{}",
        stdout_of(&fixed),
        stderr_of(&fixed)
    );
    assert!(
        stdout_of(&fixed).contains("removed orphan dir"),
        "{}",
        stdout_of(&fixed)
    );
    assert!(!orphan.exists());
    assert_old_jobs_in(&d.data().join("jobs"));
    let after = d.jobod(&["check"]);
    assert!(after.status.success(), "{}", stdout_of(&after));
    assert!(
        stdout_of(&after).trim_end().ends_with("clean"),
        "{}",
        stdout_of(&after)
    );
    d.restart();
}

/// Opens a backup and returns its job ids.
fn ids_in(copy: &Path) -> Vec<i64> {
    let c = Connection::open(copy).expect("open backup");
    let ok: String = c
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .expect("integrity_check");
    assert_eq!(ok, "ok");
    let mut stmt = c
        .prepare("SELECT id FROM jobs ORDER BY id")
        .expect("prepare");
    stmt.query_map([], |r| r.get(0))
        .expect("query")
        .collect::<Result<Vec<i64>, _>>()
        .expect("ids")
}

#[test]
fn backup_while_jobs_are_submitted_is_consistent_and_restorable() {
    let mut d = Daemon::start();
    let dir = job_dir(&d.work(), "job", &[("run.sh", "echo hi")]);
    const N: i64 = 20;
    let copies: Vec<PathBuf> = std::thread::scope(|s| {
        let submitter = s.spawn(|| {
            for n in 1..=N {
                assert_eq!(d.submit(&dir, "example"), n);
            }
        });
        let mut copies = Vec::new();
        let mut k = 0;
        while !submitter.is_finished() || k < 2 {
            k += 1;
            let copy = d.root().join(format!("backup-{k}.db"));
            let out = d.jobod(&["backup", copy.to_str().expect("utf-8")]);
            assert!(out.status.success(), "{}", stderr_of(&out));
            assert!(
                stdout_of(&out).contains("integrity ok"),
                "{}",
                stdout_of(&out)
            );
            copies.push(copy);
        }
        submitter.join().expect("submitter");
        copies
    });
    // Each copy is a snapshot: jobs 1..=n with no gap, never more than were submitted.
    for copy in &copies {
        let ids = ids_in(copy);
        let expected: Vec<i64> = (1..=ids.len() as i64).collect();
        assert_eq!(ids, expected, "{}", copy.display());
    }
    // The last copy, once every job is final: what a restore must bring back.
    for id in 1..=N {
        d.wait(id);
    }
    let last = d.root().join("final.db");
    let out = d.jobod(&["backup", last.to_str().expect("utf-8")]);
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert_eq!(ids_in(&last).len(), N as usize);
    // It holds the node tokens: its owner's alone, as the store is.
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&last)
        .expect("backup")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600, "backup mode {mode:o}");

    // Never over an existing file.
    let before = std::fs::read(&last).expect("read backup");
    let again = d.jobod(&["backup", last.to_str().expect("utf-8")]);
    assert_eq!(again.status.code(), Some(1));
    assert!(
        error_line(&again).contains("exists"),
        "{}",
        stderr_of(&again)
    );
    assert_eq!(std::fs::read(&last).expect("read backup"), before);

    // Put back in place of a lost store, it is this data dir's: jobod starts with the jobs.
    d.stop();
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(d.data().join(format!("jobo.db{suffix}")));
    }
    std::fs::copy(&last, d.data().join("jobo.db")).expect("restore");
    d.restart();
    assert_eq!(d.job(N)["state"], "succeeded");
    assert_eq!(
        d.submit(&dir, "example"),
        N + 1,
        "a restored store reused an id"
    );
    d.wait(N + 1);
    let check = d.jobod(&["check"]);
    assert!(check.status.success(), "{}", stdout_of(&check));
}

fn health(d: &Daemon) -> (u16, serde_json::Value) {
    let (code, body) = d.http_unix("GET", "/health", &[], b"");
    (code, json(&body))
}

#[test]
fn health_answers_503_while_the_store_cannot_write() {
    let d = Daemon::start();
    assert_eq!(
        health(&d),
        (200, serde_json::json!({"status": "ok", "database": "ok"}))
    );

    // Another process holds the write lock: a submit waits out the busy timeout (10 s).
    let locker = Connection::open(d.data().join("jobo.db")).expect("open db");
    locker.execute_batch("BEGIN EXCLUSIVE").expect("lock");
    let body = tgz(&[("run.sh", b"echo hi")]);
    let started = Instant::now();
    let (code, answer) = std::thread::scope(|s| {
        let submit = s.spawn(|| d.http_unix("POST", "/v1/jobs?service=example", &[], &body));
        // /health says so while the submit is stuck, without waiting behind it.
        let mut seen = None;
        while started.elapsed() < Duration::from_secs(30) {
            let t = Instant::now();
            let (code, v) = health(&d);
            assert!(
                t.elapsed() < Duration::from_secs(5),
                "/health took {:?}",
                t.elapsed()
            );
            if code == 503 {
                seen = Some(v);
                break;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        let v = seen.unwrap_or_else(|| panic!("/health never said 503\n{}", d.log()));
        assert_eq!(v["status"], "error", "{v}");
        submit.join().expect("submit")
    });
    assert_eq!(code, 500, "{}", String::from_utf8_lossy(&answer));
    assert!(started.elapsed() < Duration::from_secs(30));
    let (code, v) = health(&d);
    assert_eq!(code, 503, "{v}");
    assert!(
        v["database"].as_str().is_some_and(|s| s.contains("locked")),
        "{v}"
    );

    // Released, the failure stays reported until a write goes through (an idle jobod with no
    // nodes writes nothing by itself).
    locker.execute_batch("ROLLBACK").expect("unlock");
    drop(locker);
    assert_eq!(health(&d).0, 503);
    let dir = job_dir(&d.work(), "job", &[("run.sh", "echo hi")]);
    let id = d.submit(&dir, "example");
    assert_eq!(d.wait(id)["state"], "succeeded");
    assert_eq!(
        health(&d),
        (200, serde_json::json!({"status": "ok", "database": "ok"}))
    );
    assert!(d.staged_uploads().is_empty(), "{:?}", d.staged_uploads());
}
