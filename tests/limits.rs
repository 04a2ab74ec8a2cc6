//! Per-job limits within the service's: requests over a maximum are refused naming it, the
//! service's timeout caps every run (also one stored before the limit was lowered), requested
//! limits are shown as such, and the output cap fails a run that writes past it.

mod common;

use common::*;
use std::time::{Duration, Instant};

fn submit_args(d: &Daemon, name: &str, script: &str, extra: &[&str]) -> std::process::Output {
    let dir = job_dir(&d.work(), name, &[("run.sh", script)]);
    let mut args = vec!["submit", dir.to_str().expect("utf-8"), "--service", "s"];
    args.extend_from_slice(extra);
    d.jobo(&args)
}

#[test]
fn a_request_over_the_service_maximum_is_refused_naming_the_limit() {
    let d = Daemon::builder()
        .config(
            "[services.s]\ntimeout = \"2s\"\nmemory = \"1G\"\nmax_memory = \"2G\"\n\
             cpus = 1\nmax_cpus = 2\npids = 64\n",
        )
        .start();
    let refused = |extra: &[&str], words: &[&str]| {
        let out = submit_args(&d, "over", "true\n", extra);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{extra:?} was accepted");
        assert_eq!(err.trim().lines().count(), 1, "one line: {err}");
        for w in words {
            assert!(err.contains(w), "{extra:?}: '{w}' not in {err}");
        }
    };
    refused(&["--timeout", "1h"], &["timeout 1h", "2s", "(timeout)"]);
    refused(
        &["--memory", "3G"],
        &["memory 3 GiB", "2 GiB", "(max_memory)"],
    );
    refused(&["--cpus", "2.5"], &["cpus 2.5", "(max_cpus)"]);
    refused(&["--pids", "65"], &["pids 65", "64 (pids)"]);
    refused(&["--memory", "lots"], &["invalid memory 'lots'"]);
    // Over the API: 400 with the message in the JSON body, before any upload is read.
    let (status, body) = d.http_unix("POST", "/v1/jobs?service=s&memory=3G", &[], b"");
    assert_eq!(status, 400);
    let msg = json(&body)["error"].as_str().unwrap_or("").to_string();
    assert!(msg.contains("max_memory"), "{msg}");
    assert!(
        d.jobo_json(&["list"])
            .as_array()
            .is_some_and(|l| l.is_empty())
    );

    // Within the maxima: stored as requested, the rest from the defaults, and said so.
    let out = submit_args(&d, "ok", "true\n", &["--memory", "1536M", "--cpus", "1.5"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let id: i64 = String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .expect("id");
    let job = d.wait(id);
    let l = &job["requested_limits"];
    assert_eq!(l["timeout_secs"], 2, "{job}");
    assert_eq!(l["memory_bytes"], 1536 << 20, "{job}");
    assert_eq!(l["cpus"], 1.5, "{job}");
    assert_eq!(l["pids"], 64, "{job}");
    let text = d.jobo_ok(&["status", &id.to_string()]);
    assert!(text.contains("timeout 2s (enforced)"), "{text}");
    // Each says how it was held, as the record does (the host decides: tests/cgroup_limits.rs).
    for (key, shown) in [
        ("memory", "memory 1.5 GiB"),
        ("cpus", "cpus 1.5"),
        ("pids", "pids 64"),
    ] {
        let how = match job["enforced"][key].as_str() {
            Some("cgroup_v1") => "enforced, cgroup v1",
            Some("rlimit") => "enforced, rlimit",
            _ => "not enforced here",
        };
        assert!(text.contains(&format!("{shown} ({how})")), "{key}: {text}");
    }
    let services = d.jobo_json(&["service", "ls"]);
    assert_eq!(services[0]["max_limits"]["memory_bytes"], 2u64 << 30);
    assert_eq!(services[0]["default_limits"]["memory_bytes"], 1u64 << 30);
}

/// The service's timeout caps every run: a job asking for none gets it, and a job stored with
/// a longer one (before the operator lowered the limit) is killed at the new limit.
#[test]
fn the_service_timeout_caps_every_run() {
    let mut d = Daemon::builder()
        .config(
            "[server]\nkill_grace = \"200ms\"\n[local_worker]\nenabled = false\n\
             [services.s]\ntimeout = \"1h\"\nmax_timeout = \"2h\"\n",
        )
        .start();
    let out = submit_args(&d, "long", "sleep 100\n", &["--timeout", "1h"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stored: i64 = String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .expect("id");
    let defaulted = d.submit(
        &job_dir(&d.work(), "plain", &[("run.sh", "sleep 100\n")]),
        "s",
    );
    // Queued (no worker) while the operator lowers the limit to 2 s.
    d.stop();
    d.set_config(
        "[server]\nkill_grace = \"200ms\"\n[local_worker]\nslots = 2\n\
         [services.s]\ntimeout = \"2s\"\n",
    );
    d.restart();
    let started = Instant::now();
    for id in [stored, defaulted] {
        let job = d.wait(id);
        assert_eq!(job["state"], "timed_out", "{job}");
        assert!(
            job["reason"]
                .as_str()
                .is_some_and(|r| r.contains("timed out after 2s")),
            "{job}"
        );
    }
    let took = started.elapsed();
    assert!(took < Duration::from_secs(30), "took {took:?}");
    assert!(d.job_processes().is_empty());
}

#[test]
fn output_over_max_output_fails_the_job_naming_the_cap() {
    let d = Daemon::builder()
        .config("[services.s]\nmax_output = \"64K\"\n")
        .start();
    // A file in the work dir over the cap.
    let big = d.submit(
        &job_dir(
            &d.work(),
            "big",
            &[("run.sh", "head -c 100000 /dev/zero > big.bin\n")],
        ),
        "s",
    );
    let job = d.wait(big);
    assert_eq!(job["state"], "failed", "{job}");
    assert_eq!(job["exit_code"], 0, "{job}");
    let reason = job["reason"].as_str().unwrap_or("");
    assert!(reason.contains("max_output of 64 KiB"), "{reason}");
    // A log over the cap: cut there, and the job fails saying so.
    let chatty = d.submit(
        &job_dir(
            &d.work(),
            "chatty",
            &[("run.sh", "yes jobo | head -c 300000\necho done >&2\n")],
        ),
        "s",
    );
    let job = d.wait(chatty);
    assert_eq!(job["state"], "failed", "{job}");
    let reason = job["reason"].as_str().unwrap_or("");
    assert!(reason.contains("a log was cut at the cap"), "{reason}");
    let log = d.data().join(format!("jobs/{chatty}/stdout.log"));
    let len = std::fs::metadata(&log).expect("stdout.log").len();
    assert_eq!(len, 64 * 1024);
    // Within the cap: succeeds.
    let small = d.submit(
        &job_dir(&d.work(), "small", &[("run.sh", "echo fine > out.txt\n")]),
        "s",
    );
    assert_eq!(d.wait(small)["state"], "succeeded");
}
