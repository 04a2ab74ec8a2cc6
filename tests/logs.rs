//! `jobo logs --since/--timestamps`: each line has the time jobod read it from the job, kept in
//! a time index beside the log, on the server's own worker and on a `jobod worker` node (live,
//! relayed, and once the results are back). Driven with the real binaries.
//!
//! Each job prints A, waits on a fifo the test writes once it has seen A, then prints B: a time
//! taken in between separates them, with no sleep anywhere.

mod common;

use common::worker::Worker;
use common::*;
use serde_json::Value;
use std::path::Path;
use std::sync::mpsc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

const LIMIT: Duration = Duration::from_secs(60);

/// Reads an RFC 3339 time as jobo writes it (UTC, `Z`).
fn time(s: &str) -> SystemTime {
    humantime::parse_rfc3339(s).unwrap_or_else(|e| panic!("not an RFC 3339 time: {s:?}: {e}"))
}

fn ms(t: SystemTime) -> i64 {
    t.duration_since(UNIX_EPOCH)
        .expect("after 1970")
        .as_millis() as i64
}

/// Splits `TIME line`.
fn stamped(line: &str) -> (SystemTime, &str) {
    let (t, rest) = line
        .split_once(' ')
        .unwrap_or_else(|| panic!("no time before {line:?}"));
    (time(t), rest)
}

/// The job: A on stdout, then (once the fifo is written) B on stdout and E on stderr.
fn script(fifo: &Path) -> String {
    format!(
        "echo A\nread line < {}\necho B\necho E >&2\n",
        fifo.display()
    )
}

/// Runs `jobo logs -f --timestamps ID` against `d` as the job runs: sees A, takes a time,
/// releases the job, sees B. Returns that time in between.
fn follow_across(d: &Daemon, id: i64, fifo: &Path, logs: &dyn Fn() -> String) -> SystemTime {
    let mut follower = d.jobo_follow(&["logs", "-f", "--timestamps", "--stdout", &id.to_string()]);
    let rx = &follower.lines;
    let first = rx
        .recv_timeout(LIMIT)
        .unwrap_or_else(|e| panic!("A: {e}\n{}", logs()));
    let (a, text) = stamped(&first);
    assert_eq!(text, "A");
    let between = SystemTime::now();
    assert!(a <= between, "A at {a:?}, after now");
    // Not followed, while it runs (on a node: relayed from there): what it printed so far.
    let so_far = d.jobo_ok(&["logs", "-t", "--stdout", &id.to_string()]);
    assert_eq!(stamped(so_far.trim_end()), (a, "A"), "{so_far}");
    std::fs::write(fifo, "go\n").expect("release the job");
    let second = rx
        .recv_timeout(LIMIT)
        .unwrap_or_else(|e| panic!("B: {e}\n{}", logs()));
    let (b, text) = stamped(&second);
    assert_eq!(text, "B");
    assert!(between <= b, "B at {b:?}, before {between:?}");
    // The follower ends with the job.
    assert!(
        matches!(
            rx.recv_timeout(LIMIT),
            Err(mpsc::RecvTimeoutError::Disconnected)
        ),
        "{}",
        logs()
    );
    let deadline = Instant::now() + LIMIT;
    while follower.child.try_wait().expect("try_wait").is_none() {
        assert!(Instant::now() < deadline, "jobo logs -f never exited");
        std::thread::sleep(Duration::from_millis(10));
    }
    between
}

/// What a finished job's logs show with the new flags; `between` separates A from B. Each time
/// is between the job's `from` (`started_at`, or `submitted_at` on a node, which starts the run
/// before the server hears of it) and its `finished_at`.
fn check_finished(d: &Daemon, id: i64, between: SystemTime, from: &str) {
    let id_s = id.to_string();
    let job = d.job(id);
    let (start, end) = (
        job[from].as_i64().expect("start"),
        job["finished_at"].as_i64().expect("finished_at"),
    );
    let since = humantime::format_rfc3339_nanos(between).to_string();

    assert_eq!(
        d.jobo_ok(&["logs", "--since", &since, "--stdout", &id_s]),
        "B\n"
    );
    let both = d.jobo(&["logs", "--since", &since, &id_s]);
    assert_eq!(String::from_utf8_lossy(&both.stdout), "B\n");
    assert_eq!(String::from_utf8_lossy(&both.stderr), "E\n");
    // A duration is a time ago: an hour covers the whole job, none of it is in the future.
    assert_eq!(
        d.jobo_ok(&["logs", "--since", "1h", "--stdout", &id_s]),
        "A\nB\n"
    );
    assert_eq!(d.jobo_ok(&["logs", "--since", "0s", "--stdout", &id_s]), "");

    let out = d.jobo_ok(&["logs", "--timestamps", "--stdout", &id_s]);
    let lines: Vec<(SystemTime, &str)> = out.lines().map(stamped).collect();
    assert_eq!(
        lines.iter().map(|(_, l)| *l).collect::<Vec<_>>(),
        ["A", "B"],
        "{out}"
    );
    assert!(lines[0].0 <= lines[1].0, "{out}");
    for (t, _) in &lines {
        // Job times are whole milliseconds.
        assert!(
            start <= ms(*t) && ms(*t) <= end,
            "{out} not in {start}..{end}"
        );
    }
    assert!(lines[0].0 < between && between <= lines[1].0, "{out}");

    // --tail takes the last lines, then dates them.
    let out = d.jobo_ok(&["logs", "--tail", "1", "-t", "--stdout", &id_s]);
    assert_eq!(stamped(out.trim_end()).1, "B", "{out}");
    assert_eq!(
        d.jobo_ok(&["logs", "--tail", "2", "--since", &since, "--stdout", &id_s]),
        "B\n"
    );

    // --json: the time in each record.
    let out = d.jobo_ok(&["--json", "logs", "-t", &id_s]);
    let records: Vec<Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON line"))
        .collect();
    assert_eq!(records.len(), 3, "{out}");
    for r in &records {
        let t = time(r["time"].as_str().unwrap_or_else(|| panic!("no time: {r}")));
        assert!(start <= ms(t) && ms(t) <= end, "{r}");
    }
    let b = records.iter().find(|r| r["line"] == "B").expect("B");
    assert_eq!(b["stream"], "stdout");
}

#[test]
fn since_and_timestamps_on_the_servers_own_worker() {
    let d = Daemon::builder().config("[services.example]\n").start();
    let fifo = d.root().join("go");
    mkfifo(&fifo);
    let dir = job_dir(&d.work(), "ab", &[("run.sh", &script(&fifo))]);
    let id = d.submit(&dir, "example");
    let between = follow_across(&d, id, &fifo, &|| d.log());
    assert_eq!(d.wait(id)["state"], "succeeded");
    check_finished(&d, id, between, "started_at");

    // A bad --since: one line, non-zero exit, nothing asked of the server.
    let out = d.jobo(&["logs", "--since", "yesterday-ish", &id.to_string()]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("yesterday-ish") && err.contains("RFC 3339"),
        "{err}"
    );
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    // A bad since on the API: 400 with a JSON error.
    for bad in ["yesterday", "2026-12-01T15:04:05", "10m"] {
        let path = format!("/v1/jobs/{id}/logs/stdout?since={bad}");
        let (code, body) = d.http_unix("GET", &path, &[], b"");
        assert_eq!(code, 400, "{bad}: {}", String::from_utf8_lossy(&body));
        let msg = json(&body)["error"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        assert!(msg.contains("RFC 3339"), "{msg}");
    }
    // A zone offset is read: 16:00+02:00 is 14:00 UTC.
    let hours = |h: u64| {
        let t =
            humantime::format_rfc3339_seconds(SystemTime::now() + Duration::from_secs(h * 3600));
        t.to_string().replace('Z', "%2B02:00")
    };
    for (at, want) in [(hours(4), ""), (hours(1), "A\nB\n")] {
        let path = format!("/v1/jobs/{id}/logs/stdout?since={at}");
        let (code, body) = d.http_unix("GET", &path, &[], b"");
        assert_eq!(
            (code, String::from_utf8_lossy(&body).as_ref()),
            (200, want),
            "{at}"
        );
    }

    // A log without an index (written before jobo kept one): printed whole and untimed, with
    // a note saying so.
    for idx in ["stdout.idx", "stderr.idx"] {
        let path = d.data().join("jobs").join(id.to_string()).join(idx);
        std::fs::remove_file(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    }
    let out = d.jobo(&["logs", "-t", "--since", "1s", &id.to_string()]);
    assert!(out.status.success());
    assert_eq!(String::from_utf8_lossy(&out.stdout), "A\nB\n");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.matches("no time index").count(), 1, "{err}");
    assert!(
        err.contains("--since shows every line") && err.ends_with("E\n"),
        "{err}"
    );
}

#[test]
fn since_and_timestamps_on_a_worker_node() {
    let config = "[cluster]\nlease = \"1s\"\n[local_worker]\nenabled = false\n\
                  [services.example]\n";
    let d = Daemon::builder().config(config).start();
    let w = Worker::start(&["--slots", "1"]);
    let token = w.token_file();
    d.jobo_ok(&[
        "node",
        "add",
        &w.url(),
        "--name",
        "a",
        "--service",
        "example",
        "--slots",
        "1",
        "--token-file",
        token.to_str().expect("utf-8 path"),
    ]);
    let logs = || format!("{}\n--- worker:\n{}", d.log(), w.log());
    let fifo = d.root().join("go");
    mkfifo(&fifo);
    let dir = job_dir(&d.work(), "ab", &[("run.sh", &script(&fifo))]);
    let id = d.submit(&dir, "example");
    let job = d.wait_until(id, "running", &logs);
    assert_eq!(job["state"], "running", "{job}");
    // Followed while it runs on the node: the server relays the node's dated lines.
    let between = follow_across(&d, id, &fifo, &logs);
    assert_eq!(d.wait(id)["state"], "succeeded", "{}", logs());
    // Back on the server with its results: the node's index came with the logs.
    check_finished(&d, id, between, "submitted_at");
}
