//! SIGHUP reloads `jobod.toml`: services and quotas change while jobod runs and its jobs go on;
//! what needs a restart is said; a broken file changes nothing.

mod common;
use common::*;
use std::time::{Duration, Instant};

fn hup(d: &Daemon) {
    let pid = d.child.as_ref().expect("jobod").id();
    // SAFETY: kill(2) on the pid of a child this test started and still holds.
    assert_eq!(unsafe { libc::kill(pid as i32, libc::SIGHUP) }, 0);
}

/// Waits until jobod's log has `text` `times` times (what a reload writes when done).
fn logged(d: &Daemon, text: &str, times: usize) -> String {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let log = d.log();
        if log.matches(text).count() >= times {
            return log;
        }
        assert!(Instant::now() < deadline, "no {text} in\n{log}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn sighup_applies_services_and_quotas_without_a_restart() {
    let d = Daemon::builder()
        .config("[local_worker]\nslots = 4\n\n[services.example]\nmax_running = 1\n")
        .start();
    let pid = d.child.as_ref().map(|c| c.id());
    // One runs, one waits on the quota.
    let slow = job_dir(&d.work(), "slow", &[("run.sh", "sleep 300")]);
    let first = d.submit(&slow, "example");
    d.wait_until(first, "running", &|| d.log());
    let second = d.submit(&slow, "example");
    assert_eq!(d.job(second)["state"], "queued");
    let quick = job_dir(&d.work(), "quick", &[("run.sh", "echo new")]);
    let refused = d.jobo(&["submit", quick.to_str().expect("utf-8"), "-s", "other"]);
    assert!(!refused.status.success());

    std::fs::write(
        d.root().join("jobod.toml"),
        "[server]\nlisten = \"127.0.0.1:1\"\n\n[local_worker]\nslots = 4\n\n\
         [services.example]\nmax_running = 2\n\n[services.other]\n",
    )
    .expect("write config");
    hup(&d);
    let log = logged(&d, "SIGHUP: reloaded", 1);
    assert!(log.contains("service 'example' changed"), "{log}");
    assert!(log.contains("service 'other' added"), "{log}");
    assert!(log.contains("server.listen"), "{log}");
    // The raised quota lets the waiting job start; the new service takes jobs.
    d.wait_until(second, "running", &|| d.log());
    let id = d.submit(&quick, "other");
    assert_eq!(d.wait(id)["state"], "succeeded");
    assert_eq!(d.job(first)["state"], "running");
    // Still the same jobod, and its listen address was left alone.
    assert_eq!(d.child.as_ref().map(|c| c.id()), pid);
    assert_eq!(
        d.jobo_json(&["system", "info"])["listen"],
        serde_json::Value::Null
    );

    // A broken file changes nothing.
    std::fs::write(d.root().join("jobod.toml"), "[services.example\n").expect("write");
    hup(&d);
    let log = logged(&d, "the configuration in use is unchanged", 1);
    assert!(log.contains("SIGHUP: invalid config"), "{log}");
    let id = d.submit(&quick, "other");
    assert_eq!(d.wait(id)["state"], "succeeded");
    let services = d.jobo_json(&["service", "ls"]);
    assert_eq!(services.as_array().map(Vec::len), Some(2), "{services}");

    // A root jobod takes no reload that would run a service's jobs as root.
    if unsafe { libc::geteuid() } == 0 {
        std::fs::write(
            d.root().join("jobod.toml"),
            "[services.example]\nrun_as = \"root\"\n[services.other]\n",
        )
        .expect("write");
        hup(&d);
        let log = logged(&d, "the configuration in use is unchanged", 2);
        assert!(log.contains("root"), "{log}");
    }
}
