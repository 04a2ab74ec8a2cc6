//! A server with a node added as `--protocol seed`, backed by a real `jobod worker`: the
//! server drives it only through the seed's client routes (`/submit`, `/retrieve`, `/kill`,
//! `/health`), polling for the end of each run.
//!
//! The server runs with a 1 s lease and no embedded worker, so every job goes to the node.

mod common;

use common::worker::Worker;
use common::*;
use std::time::{Duration, Instant};

const CONFIG: &str = "[cluster]\nlease = \"1s\"\n\
                      [local_worker]\nenabled = false\n\
                      [services.example]\n";

const LIMIT: Duration = Duration::from_secs(60);

/// A server with `w` added as seed node "s" (with its token unless `token` is false),
/// waited on until healthy.
fn server_with_seed_node(w: &Worker, token: bool) -> Daemon {
    let d = Daemon::builder().config(CONFIG).start();
    let token_file = w.token_file();
    let mut args = vec![
        "node",
        "add",
        "--protocol",
        "seed",
        "--name",
        "s",
        "--service",
        "example",
        "--slots",
        "4",
    ];
    let url = w.url();
    if token {
        args.extend(["--token-file", token_file.to_str().expect("utf-8 path")]);
    }
    args.push(&url);
    d.jobo_ok(&args);
    eventually(&d, w, "node s healthy", || node_state(&d) == "healthy");
    d
}

fn node_state(d: &Daemon) -> String {
    let nodes = d.jobo_json(&["node", "ls"]);
    nodes
        .as_array()
        .and_then(|a| a.iter().find(|n| n["name"] == "s"))
        .and_then(|n| n["state"].as_str())
        .unwrap_or("?")
        .to_string()
}

fn logs(d: &Daemon, w: &Worker) -> String {
    format!("--- jobod log:\n{}--- worker log:\n{}", d.log(), w.log())
}

/// Polls `cond` with a bounded backoff; fails (with both logs) after [`LIMIT`].
fn eventually(d: &Daemon, w: &Worker, what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + LIMIT;
    let mut pause = Duration::from_millis(5);
    while !cond() {
        assert!(Instant::now() < deadline, "never: {what}\n{}", logs(d, w));
        std::thread::sleep(pause);
        pause = (pause * 2).min(Duration::from_millis(200));
    }
}

fn job_dir(d: &Daemon, name: &str, script: &str) -> std::path::PathBuf {
    common::job_dir(
        &d.root().join("jobs"),
        name,
        &[("run.sh", script), ("data/in.txt", name)],
    )
}

#[test]
fn jobs_run_on_a_seed_node_and_end_as_their_script_did() {
    let w = Worker::start(&["--slots", "4"]);
    let d = server_with_seed_node(&w, true);
    let ok = "cat data/in.txt > out.txt; echo done >> out.txt\n";
    let ids: Vec<i64> = (0..3)
        .map(|i| d.submit(&job_dir(&d, &format!("ok{i}"), ok), "example"))
        .collect();
    let failing = d.submit(
        &job_dir(&d, "bad", "echo partial > out.txt; exit 3\n"),
        "example",
    );

    for (i, id) in ids.iter().enumerate() {
        let job = d.wait_until(*id, "succeeded", &|| logs(&d, &w));
        assert_eq!(job["state"], "succeeded", "{job}\n{}", logs(&d, &w));
        assert_eq!(job["node"], "s", "{job}");
        assert_eq!(job["exit_code"], 0, "{job}");
        let out = format!("res{i}");
        d.jobo_ok(&["fetch", &id.to_string(), "-o", &out]);
        let text = std::fs::read_to_string(d.work().join(&out).join("out.txt")).expect("out.txt");
        assert_eq!(text, format!("ok{i}done\n"));
    }
    let job = d.wait_until(failing, "failed", &|| logs(&d, &w));
    assert_eq!(job["state"], "failed", "{job}\n{}", logs(&d, &w));
    assert_eq!(job["exit_code"], 3, "{job}");
    assert_eq!(job["node"], "s", "{job}");
    assert!(
        job["reason"].as_str().unwrap_or("").contains("code 3"),
        "{job}"
    );
    // Its partial output is kept, as for a local run.
    d.jobo_ok(&["fetch", &failing.to_string(), "-o", "bad"]);
    let text = std::fs::read_to_string(d.work().join("bad/out.txt")).expect("out.txt");
    assert_eq!(text, "partial\n");
    assert!(d.staged_uploads().is_empty(), "{:?}", d.staged_uploads());
}

#[test]
fn a_running_job_on_a_seed_node_can_be_cancelled() {
    let w = Worker::start(&["--slots", "2"]);
    let d = server_with_seed_node(&w, true);
    let id = d.submit(&job_dir(&d, "long", "sleep 300\n"), "example");
    let job = d.wait_until(id, "running", &|| logs(&d, &w));
    assert_eq!(job["state"], "running", "{job}");
    d.jobo_ok(&["cancel", &id.to_string()]);
    let job = d.wait_until(id, "cancelled", &|| logs(&d, &w));
    assert_eq!(job["state"], "cancelled", "{job}\n{}", logs(&d, &w));
    eventually(&d, &w, "the run's processes gone", || {
        processes_under(w.root()).is_empty()
    });
}

#[test]
fn a_seed_node_without_a_token_works_when_the_worker_allows_it() {
    let w = Worker::start(&["--allow-seed-without-token"]);
    let d = server_with_seed_node(&w, false);
    let id = d.submit(&job_dir(&d, "j", "echo hi > out.txt\n"), "example");
    let job = d.wait_until(id, "succeeded", &|| logs(&d, &w));
    assert_eq!(job["state"], "succeeded", "{job}\n{}", logs(&d, &w));
}

#[test]
fn a_restarted_server_reattaches_to_its_seed_runs() {
    let w = Worker::start(&["--slots", "2"]);
    let mut d = server_with_seed_node(&w, true);
    // The job counts its runs, then waits for a file the test writes once the server is down.
    let (flag, runs) = (d.root().join("go"), d.root().join("runs"));
    let script = format!(
        "echo run >> '{}'; while [ ! -e '{}' ]; do sleep 0.05; done; echo after > out.txt\n",
        runs.display(),
        flag.display()
    );
    let id = d.submit(&job_dir(&d, "long", &script), "example");
    let job = d.wait_until(id, "running", &|| logs(&d, &w));
    assert_eq!(job["state"], "running", "{job}");
    d.kill9();
    std::fs::write(&flag, "").expect("flag");
    d.restart();
    let job = d.wait_until(id, "succeeded", &|| logs(&d, &w));
    assert_eq!(job["state"], "succeeded", "{job}\n{}", logs(&d, &w));
    assert_eq!(job["attempts"], 1, "{job}");
    d.jobo_ok(&["fetch", &id.to_string(), "-o", "res"]);
    let text = std::fs::read_to_string(d.work().join("res/out.txt")).expect("out.txt");
    assert_eq!(text, "after\n");
    // The same run, followed again: not a second one.
    assert_eq!(std::fs::read_to_string(&runs).expect("runs"), "run\n");
}

#[test]
fn jobs_of_a_vanished_seed_node_go_back_to_the_queue() {
    let mut w = Worker::start(&["--slots", "2"]);
    let d = server_with_seed_node(&w, true);
    let id = d.submit(&job_dir(&d, "long", "sleep 300\n"), "example");
    let job = d.wait_until(id, "running", &|| logs(&d, &w));
    assert_eq!(job["state"], "running", "{job}");
    w.kill9();
    let job = d.wait_until(id, "queued", &|| logs(&d, &w));
    assert_eq!(job["state"], "queued", "{job}\n{}", logs(&d, &w));
    assert!(
        job["reason"]
            .as_str()
            .unwrap_or("")
            .contains("node s unreachable"),
        "{job}"
    );
    eventually(&d, &w, "node s unreachable", || {
        node_state(&d) == "unreachable"
    });
}

fn submit_with_timeout(d: &Daemon, dir: &std::path::Path, timeout: &str) -> i64 {
    let dir = dir.to_str().expect("utf-8 path");
    let out = d.jobo_ok(&["submit", dir, "--service", "example", "--timeout", timeout]);
    out.trim().parse().expect("job id")
}

#[test]
fn a_seed_run_past_its_timeout_is_killed() {
    let w = Worker::start(&["--slots", "2"]);
    let d = server_with_seed_node(&w, true);
    let dir = job_dir(&d, "slow", "sleep 300\n");
    let id = submit_with_timeout(&d, &dir, "1s");
    let job = d.wait_until(id, "timed_out", &|| logs(&d, &w));
    assert_eq!(job["state"], "timed_out", "{job}\n{}", logs(&d, &w));
    assert_eq!(job["reason"], "timed out after 1s", "{job}");
    // This side's timer held it, and the record says so (nothing else: the seed takes none).
    assert_eq!(job["enforced"]["timeout"], true, "{job}");
    assert_eq!(job["enforced"]["memory"], serde_json::Value::Null, "{job}");
    eventually(&d, &w, "the run's processes gone", || {
        processes_under(w.root()).is_empty()
    });
}

#[test]
fn a_seed_job_that_never_starts_times_out_from_dispatch() {
    // The server thinks the node has 4 slots; it has 1, held by a job on a FIFO, so the second
    // payload waits on the node as `Prepared` and never says `Running`.
    let w = Worker::start(&["--slots", "1"]);
    let d = server_with_seed_node(&w, true);
    let fifo = d.root().join("hold");
    mkfifo(&fifo);
    let hold = format!("read line < '{}'\n", fifo.display());
    let first = d.submit(&job_dir(&d, "hold", &hold), "example");
    d.wait_until(first, "running", &|| logs(&d, &w));
    let dir = job_dir(&d, "stuck", "true\n");
    let id = submit_with_timeout(&d, &dir, "1s");
    let job = d.wait_until(id, "timed_out", &|| logs(&d, &w));
    assert_eq!(job["state"], "timed_out", "{job}\n{}", logs(&d, &w));
    // It timed out while the node's one slot was still taken: it never ran.
    assert_eq!(d.job(first)["state"], "running");
    std::fs::write(&fifo, "go\n").expect("release the first job");
    let job = d.wait_until(first, "succeeded", &|| logs(&d, &w));
    assert_eq!(job["state"], "succeeded", "{job}\n{}", logs(&d, &w));
}
