//! Retention of a large backlog against a real `jobod`: the cleaner expires tens of thousands
//! of jobs in short transactions, so a submit made meanwhile is answered before the purge
//! ends (it used to wait for one transaction marking them all), and every job expires.

mod common;
use common::*;
use rusqlite::Connection;
use std::path::Path;
use std::time::{Duration, Instant};

/// Expired rows of the store, read beside the daemon (WAL: readers do not block it).
fn expired(db: &Path) -> i64 {
    let c = Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
        .expect("open the store");
    c.busy_timeout(Duration::from_secs(5))
        .expect("busy timeout");
    c.query_row(
        "SELECT COUNT(*) FROM jobs WHERE state = 'expired'",
        [],
        |r| r.get(0),
    )
    .expect("count")
}

#[test]
fn a_backlog_expires_in_batches_while_submits_go_on() {
    const BACKLOG: i64 = 60_000;
    let mut d = Daemon::builder()
        .config("[services.example]\nretention = \"10d\"\n")
        .start();
    d.stop();
    // Jobs finished two hours ago, through the real store code.
    let db = d.data().join("jobo.db");
    {
        let store = jobo::store::Store::open(&db).expect("open the store");
        let old = jobo::store::now_ms() - 2 * 3600 * 1000;
        store
            .call_sync(|c| {
                let tx = c.transaction()?;
                let mut stmt = tx.prepare(
                    "INSERT INTO jobs (user, service, state, attempts, exit_code, \
                     submitted_at, started_at, finished_at, input_bytes) \
                     VALUES ('ann', 'example', 'succeeded', 1, 0, ?1, ?1, ?1, 1)",
                )?;
                for i in 0..BACKLOG {
                    stmt.execute([old - i])?;
                }
                drop(stmt);
                tx.commit()?;
                Ok(())
            })
            .expect("fill the store");
    }
    // The cleaner's first sweep runs at start; none after it during the test.
    d.set_config("[server]\ncleanup_interval = \"1h\"\n[services.example]\nretention = \"1h\"\n");
    d.restart();

    // Once the purge has begun, a submit is answered while it still runs.
    let deadline = Instant::now() + Duration::from_secs(60);
    while expired(&db) == 0 {
        assert!(Instant::now() < deadline, "no job expired within 60 s");
        std::thread::sleep(Duration::from_millis(2));
    }
    let dir = job_dir(d.work().as_path(), "j", &[("run.sh", "true\n")]);
    let id = d.submit(&dir, "example");
    let when_answered = expired(&db);
    assert!(
        when_answered < BACKLOG,
        "the submit waited for the whole purge ({when_answered} of {BACKLOG} expired)"
    );
    assert_eq!(d.wait(id)["state"], "succeeded");

    // And the purge does finish.
    let deadline = Instant::now() + Duration::from_secs(120);
    while expired(&db) < BACKLOG {
        assert!(Instant::now() < deadline, "the purge did not finish");
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(
        d.log()
            .contains(&format!("retention: expired {BACKLOG} jobs")),
        "{}",
        d.log()
    );
}
