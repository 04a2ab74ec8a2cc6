//! Each job records what its run used (peak memory, CPU time) and how its limits were held,
//! on the embedded worker and on a worker node alike: `jobo status ID`, `--json` and the API
//! show them. Without job cgroups (the default) the usage is the kernel's rusage of `run.sh`.

mod common;

use common::worker::Worker;
use common::*;

/// Holds a 32 MiB string in bash itself and burns a fixed amount of CPU (half a second or so;
/// counted, not timed, so a busy machine does not shrink it).
const BUSY: &str = "x=$(head -c 33554432 /dev/zero | tr '\\0' a)\n\
                    for ((i = 0; i < 300000; i++)); do :; done\n";

/// Runs `BUSY` with a memory request (the rlimit fallback enforces it) and checks its record
/// in the three places that show it; returns the job's JSON.
fn busy_job(d: &Daemon, name: &str) -> serde_json::Value {
    let dir = job_dir(&d.work(), name, &[("run.sh", BUSY)]);
    let id = d
        .jobo_ok(&[
            "submit",
            dir.to_str().expect("utf-8"),
            "--service",
            "s",
            "--memory",
            "1G",
            "--timeout",
            "1m",
        ])
        .trim()
        .parse::<i64>()
        .expect("id");
    let job = d.wait(id);
    assert_eq!(job["state"], "succeeded", "{job}\n{}", d.log());
    let peak = job["usage"]["peak_memory_bytes"].as_u64().unwrap_or(0);
    let cpu = job["usage"]["cpu_ms"].as_u64().unwrap_or(0);
    assert!(
        peak >= 30 << 20,
        "peak memory {peak} below the 32 MiB held: {job}"
    );
    assert!(cpu >= 200, "cpu time {cpu} ms for a busy loop: {job}");
    assert_eq!(job["enforced"]["timeout"], true, "{job}");
    assert!(job["enforced"]["memory"].is_string(), "{job}");

    let (code, body) = d.http_unix("GET", &format!("/v1/jobs/{id}"), &[], b"");
    assert_eq!(code, 200);
    let api = json(&body);
    assert_eq!(api["usage"], job["usage"], "{api}");
    assert_eq!(api["enforced"], job["enforced"], "{api}");

    let text = d.jobo_ok(&["status", &id.to_string()]);
    let row = |key: &str| {
        let line = text.lines().find(|l| l.trim_start().starts_with(key));
        let line = line.unwrap_or_else(|| panic!("no {key} in {text}"));
        line.trim_start()[key.len()..].trim().to_string()
    };
    assert!(row("peak memory:").ends_with("MiB"), "{text}");
    assert!(row("cpu time:").ends_with(" s"), "{text}");
    assert!(
        row("limits:").contains("memory 1 GiB (enforced, "),
        "{text}"
    );
    job
}

#[test]
fn a_local_job_records_its_usage() {
    let d = Daemon::builder().config("[services.s]\n").start();
    busy_job(&d, "here");
}

/// The node measures the run and reports its usage and enforcement with its outcome.
#[test]
fn a_job_on_a_node_records_its_usage_too() {
    let w = Worker::start(&[]);
    let config = format!(
        "[local_worker]\nenabled = false\n[services.s]\n\
         [[nodes]]\nurl = \"{}\"\nname = \"n\"\nservices = [\"s\"]\ntoken_file = \"{}\"\n",
        w.url(),
        w.token_file().display()
    );
    let d = Daemon::builder().config(&config).start();
    let job = busy_job(&d, "there");
    assert_eq!(job["node"], "n", "{job}");
}
