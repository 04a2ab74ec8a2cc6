//! The happy path end to end, over the socket and over TCP.

mod common;
use common::*;

#[test]
fn submit_wait_fetch_over_the_socket() {
    let d = Daemon::start();
    let dir = job_dir(
        &d.work(),
        "job",
        &[
            ("run.sh", "echo out; echo err >&2; cat in.txt > copy.txt"),
            ("in.txt", "data\n"),
        ],
    );
    let id = d.submit(&dir, "example");
    let job = d.wait(id);
    assert_eq!(job["state"], "succeeded", "{job}");
    assert_eq!(job["exit_code"], 0);
    assert_eq!(job["attempts"], 1);
    assert_eq!(job["node"], "local");
    assert_eq!(d.jobo_ok(&["logs", &id.to_string()]), "out\n");
    d.jobo_ok(&["fetch", &id.to_string(), "-o", "res"]);
    assert_eq!(
        std::fs::read_to_string(d.work().join("res/copy.txt")).unwrap(),
        "data\n"
    );
    // Refuses to overwrite without --force.
    let again = d.jobo(&["fetch", &id.to_string(), "-o", "res"]);
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("--force"));
    d.jobo_ok(&["fetch", &id.to_string(), "-o", "res", "--force"]);
}

#[test]
fn run_propagates_the_exit_code_over_tcp() {
    let d = Daemon::builder().tcp().start();
    let dir = job_dir(
        &d.work(),
        "job",
        &[("run.sh", "echo partial > out.txt; echo bye; exit 7")],
    );
    let out = d.jobo_with(
        &d.tcp_host(),
        &["run", dir.to_str().unwrap(), "--service", "example"],
    );
    assert_eq!(
        out.status.code(),
        Some(7),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout), "bye\n");
    let fetched = std::fs::read_dir(d.work())
        .unwrap()
        .flatten()
        .find(|e| e.file_name().to_string_lossy().starts_with("jobo-"))
        .expect("results dir");
    assert_eq!(
        std::fs::read_to_string(fetched.path().join("out.txt")).unwrap(),
        "partial\n"
    );
}

#[test]
fn a_job_over_its_timeout_is_killed_and_marked_timed_out() {
    let d = Daemon::builder()
        .config("[server]\nkill_grace = \"200ms\"\n[services.example]\n")
        .start();
    let dir = job_dir(
        &d.work(),
        "job",
        &[("run.sh", "echo started; trap '' TERM; sleep 60")],
    );
    let out = d.jobo_ok(&[
        "submit",
        dir.to_str().unwrap(),
        "--service",
        "example",
        "--timeout",
        "1s",
    ]);
    let id: i64 = out.trim().parse().unwrap();
    let job = d.wait(id);
    assert_eq!(job["state"], "timed_out", "{job}");
    assert_eq!(job["requested_limits"]["timeout_secs"], 1);
    assert!(
        job["reason"]
            .as_str()
            .unwrap()
            .contains("timed out after 1s")
    );
    // SIGTERM was ignored; SIGKILL after the grace period ended the whole group.
    assert!(d.job_processes().is_empty(), "{:?}", d.job_processes());
    assert_eq!(d.jobo_ok(&["logs", &id.to_string()]), "started\n");
    // `jobo wait` exits non-zero when a job did not succeed.
    assert!(!d.jobo(&["wait", &id.to_string()]).status.success());
}

#[test]
fn waiting_for_a_state_a_final_job_cannot_reach_answers_at_once() {
    let d = Daemon::start();
    let dir = job_dir(&d.work(), "job", &[("run.sh", "true")]);
    let id = d.submit(&dir, "example");
    assert_eq!(d.wait(id)["state"], "succeeded");
    let started = std::time::Instant::now();
    let path = format!("/v1/jobs/{id}/wait?until=running&timeout=600");
    let (status, body) = d.http_unix("GET", &path, &[], b"");
    assert_eq!(status, 200);
    assert_eq!(json(&body)["state"], "succeeded");
    // Generous bound: the bug this guards against waits the full 600 s.
    assert!(started.elapsed() < std::time::Duration::from_secs(60));
}
