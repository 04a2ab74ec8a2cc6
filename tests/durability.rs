//! Faults that must not lose a job or change its outcome, on the embedded worker: a graceful
//! stop with jobs running, an outcome the store refuses (failpoint `local_worker::outcome`,
//! as a full disk or a locked store would), and the orphans a job leaves outside its group.
//!
//! Jobs wait on FIFOs, not sleeps: the test releases them.

mod common;
use common::*;
use std::path::Path;
use std::time::{Duration, Instant};

const LIMIT: Duration = Duration::from_secs(60);

/// Polls `cond` with a bounded backoff (for what gives no event: logs, `/proc`).
fn eventually(what: &str, logs: impl Fn() -> String, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + LIMIT;
    let mut pause = Duration::from_millis(5);
    while !cond() {
        assert!(Instant::now() < deadline, "never: {what}\n{}", logs());
        std::thread::sleep(pause);
        pause = (pause * 2).min(Duration::from_millis(100));
    }
}

/// A job that blocks until `fifo` is written, then writes `out.txt`.
fn held_job(d: &Daemon, name: &str, fifo: &Path) -> i64 {
    let script = format!(
        "read line < '{}'\necho \"$line\" > out.txt\n",
        fifo.display()
    );
    let dir = job_dir(&d.root().join("jobs"), name, &[("run.sh", &script)]);
    d.submit(&dir, "example")
}

#[test]
fn a_graceful_stop_never_changes_a_running_jobs_outcome() {
    let mut d = Daemon::builder()
        .config("[local_worker]\nslots = 6\n[services.example]\nmax_attempts = 3\n")
        .start();
    // A FIFO each: several readers of one FIFO may all see its writer's close, and the rest
    // of the writes would then wait for readers that are gone.
    let fifos: Vec<_> = (0..6).map(|i| d.root().join(format!("go{i}"))).collect();
    let ids: Vec<i64> = fifos
        .iter()
        .enumerate()
        .map(|(i, fifo)| {
            mkfifo(fifo);
            held_job(&d, &format!("j{i}"), fifo)
        })
        .collect();
    for &id in &ids {
        let job = d.wait_until(id, "running", &|| d.log());
        assert_eq!(job["state"], "running", "{job}");
    }
    // SIGTERM: jobod kills its runs on the way out; their deaths are not their ends.
    d.stop();
    d.restart();
    for &id in &ids {
        let job = d.job(id);
        let state = job["state"].as_str().unwrap_or("?");
        assert!(
            ["queued", "dispatched", "running"].contains(&state),
            "job {id} changed its outcome on a stop: {job}\n{}",
            d.log()
        );
    }
    for &id in &ids {
        d.wait_until(id, "running", &|| d.log());
    }
    for fifo in &fifos {
        // Opening a FIFO for writing waits for its job to read it.
        std::fs::write(fifo, "go\n").expect("release a job");
    }
    for &id in &ids {
        let job = d.wait(id);
        assert_eq!(job["state"], "succeeded", "{job}\n{}", d.log());
        assert_eq!(job["attempts"], 2, "{job}");
    }
}

#[test]
fn an_outcome_the_store_refuses_keeps_the_job_and_its_input() {
    // Every commit of an outcome fails, as with a full disk: the run is over, the job is not.
    let mut d = Daemon::builder()
        .env("FAILPOINTS", "local_worker::outcome=return")
        .start();
    let dir = job_dir(
        &d.root().join("jobs"),
        "kept",
        &[("run.sh", "cat in.txt > out.txt\n"), ("in.txt", "input\n")],
    );
    let id = d.submit(&dir, "example");
    eventually(
        "the outcome refused",
        || d.log(),
        || {
            d.log()
                .contains(&format!("job {id}: cannot record succeeded yet"))
        },
    );
    let job = d.job(id);
    assert_eq!(
        job["state"], "running",
        "not final before it is durable: {job}"
    );
    let input = d.data().join(format!("jobs/{id}/input/in.txt"));
    assert!(input.is_file(), "the input a retry needs was deleted");
    // Other writes go through (here: a token), yet the job's end is still owed to the store.
    d.make_token("someone", "user");
    let (status, body) = d.http_unix("GET", "/health", &[], b"");
    let body = String::from_utf8_lossy(&body);
    assert_eq!(status, 503, "{body}");
    assert!(body.contains("not recorded yet"), "{body}");

    // A crash in that state: the next start runs the job again, from its input.
    d.kill9();
    kill_processes_under(d.root());
    d.clear_env();
    d.restart();
    let job = d.wait(id);
    assert_eq!(job["state"], "succeeded", "{job}\n{}", d.log());
    assert_eq!(job["attempts"], 2, "{job}");
    let out = d.jobo_ok(&["fetch", &id.to_string(), "-o", "res"]);
    assert!(out.is_empty() || !out.contains("error"), "{out}");
    let text = std::fs::read_to_string(d.work().join("res/out.txt")).expect("out.txt");
    assert_eq!(text, "input\n");
    assert!(
        !d.data().join(format!("jobs/{id}/input")).exists(),
        "input dropped once durable"
    );
}

#[test]
fn a_refused_outcome_is_tried_again_until_it_is_durable() {
    let d = Daemon::builder()
        .env("FAILPOINTS", "local_worker::outcome=2*return")
        .start();
    let dir = job_dir(&d.root().join("jobs"), "retry", &[("run.sh", "exit 4\n")]);
    let id = d.submit(&dir, "example");
    let job = d.wait(id);
    assert_eq!(job["state"], "failed", "{job}\n{}", d.log());
    assert_eq!(job["exit_code"], 4, "{job}");
    let tries = d
        .log()
        .matches(&format!("job {id}: cannot record failed yet"))
        .count();
    assert_eq!(tries, 2, "{}", d.log());
}

#[test]
fn orphans_a_job_leaves_outside_its_group_are_reaped() {
    // Without job cgroups: with them the orphan dies with its job (tests/cgroup_limits.rs).
    let d = Daemon::builder()
        .config("[local_worker]\ncgroups = false\n[services.example]\n")
        .start();
    let fifo = d.root().join("orphan");
    mkfifo(&fifo);
    // A child in a session of its own outlives the job (only a cgroup stops it) and is
    // re-parented to jobod, its subreaper.
    // run.sh waits on `up` until the child has its own session, so the end of the job's group
    // cannot catch it half-way.
    let script = format!(
        "mkfifo up\nsetsid bash -c 'echo $$ > up; read x < \"{}\"' &\nread pid < up\necho $pid > orphan.pid\n",
        fifo.display()
    );
    let dir = job_dir(&d.root().join("jobs"), "orphan", &[("run.sh", &script)]);
    let id = d.submit(&dir, "example");
    assert_eq!(d.wait(id)["state"], "succeeded");
    let pid_file = d.data().join(format!("jobs/{id}/work/orphan.pid"));
    let pid = std::fs::read_to_string(pid_file).expect("orphan.pid");
    let proc_dir = format!("/proc/{}", pid.trim());
    assert!(Path::new(&proc_dir).exists(), "the orphan outlived its job");
    std::fs::write(&fifo, "bye\n").expect("end the orphan");
    // Gone from /proc only once reaped: a zombie keeps its entry.
    eventually(
        "the orphan reaped",
        || d.log(),
        || !Path::new(&proc_dir).exists(),
    );
}

#[test]
fn a_full_disk_loses_no_job_and_refuses_uploads_cleanly() {
    if let Err(why) = can_mount_tmpfs() {
        eprintln!("skipped: {why}");
        return;
    }
    // The data dir on a 24 MiB tmpfs: a job filling it makes the disk full for everyone.
    let d = Daemon::builder().tmpfs_data(24 << 20).start();
    let kept = job_dir(
        &d.root().join("jobs"),
        "kept",
        &[("run.sh", "echo kept > out.txt\n")],
    );
    let first = d.submit(&kept, "example");
    assert_eq!(d.wait(first)["state"], "succeeded");

    let fill = "head -c 64M /dev/zero > big.bin; echo filled\n";
    let filler = d.submit(
        &job_dir(&d.root().join("jobs"), "fill", &[("run.sh", fill)]),
        "example",
    );
    // Its end cannot be committed while the disk is full (or just could): wait for either.
    let refused = format!("job {filler}: cannot record");
    eventually(
        "the filler over",
        || d.log(),
        || {
            // Not yet started counts as not over: the filler may still be queued.
            let state = d.job(filler)["state"].clone();
            d.log().contains(&refused)
                || !["queued", "dispatched", "running"].contains(&state.as_str().unwrap_or("?"))
        },
    );
    let state = d.job(filler)["state"].as_str().unwrap_or("?").to_string();
    eprintln!("filler: {state}");
    // While its end is not durable, /health says so, whatever other writes go through meanwhile
    // (health read first: the end may become durable right after).
    let health_while_owed = |when: &str| {
        let health = d.http_unix("GET", "/health", &[], b"").0;
        let now = d.job(filler)["state"].as_str().unwrap_or("?").to_string();
        assert!(
            health == 503 || now != "running",
            "{when}: /health {health} while the filler's end is not durable\n{}",
            d.log()
        );
    };
    health_while_owed("after the refusal");
    // A submit on the full disk is refused with a clear error and leaves nothing behind.
    let big = "x".repeat(1 << 20);
    let body = tgz(&[("run.sh", b"true\n"), ("in.bin", big.as_bytes())]);
    let (status, answer) = d.http_unix(
        "POST",
        "/v1/jobs?service=example",
        &[("Content-Type", "application/gzip")],
        &body,
    );
    eprintln!(
        "submit on a full disk: {status} {}",
        String::from_utf8_lossy(&answer)
    );
    assert_eq!(status, 507, "{}", String::from_utf8_lossy(&answer));
    let msg = json(&answer)["error"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(
        msg.contains("disk is full") && msg.contains("try again"),
        "{msg}"
    );
    assert!(d.staged_uploads().is_empty(), "{:?}", d.staged_uploads());
    health_while_owed("after a refused submit");

    // Space again: the filler's end is (or becomes) durable, and everything works as before.
    std::fs::remove_file(d.data().join(format!("jobs/{filler}/work/big.bin"))).expect("free space");
    let job = d.wait(filler);
    assert!(
        ["succeeded", "failed"].contains(&job["state"].as_str().unwrap_or("?")),
        "{job} (was {state})"
    );
    let again = d.submit(&kept, "example");
    assert_eq!(d.wait(again)["state"], "succeeded", "{}", d.log());
    let (status, body) = d.http_unix("GET", &format!("/v1/jobs/{first}/results"), &[], b"");
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    let (status, _) = d.http_unix("GET", "/health", &[], b"");
    assert_eq!(status, 200);
}
