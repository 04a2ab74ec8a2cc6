//! jobod's cgroup v2 controllers where it does not run in the root cgroup (src/cgroup/v2.rs):
//! in a cgroup of its own, as systemd's `Delegate=yes` gives it, jobod moves itself into a leaf
//! and enables memory, cpu and pids for its jobs' cgroups, and leaves its cgroup as it found
//! it at exit; in a cgroup it shares with another process it cannot (the kernel's "no internal
//! processes" rule), says why, and still kills the whole job there.
//!
//! These need a v2 hierarchy that offers the controllers to the test (a v2-only host, as root);
//! on a hybrid host (this project's CI) they print why they are skipped, and run in a VM
//! instead (tests/cgroup_v2_vm.rs).

mod common;

use common::*;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The v2 root where the test runs in it, as root, and it offers memory, cpu and pids.
fn v2_root_with_controllers(test: &str) -> Option<PathBuf> {
    if !is_root() {
        println!("{test}: skipped, needs root");
        return None;
    }
    let cgroup = std::fs::read_to_string("/proc/self/cgroup").unwrap_or_default();
    if !cgroup.lines().any(|l| l == "0::/") {
        println!("{test}: skipped, the test does not run in the v2 root cgroup ({cgroup:?})");
        return None;
    }
    let info = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    let mount = info.lines().find_map(|l| {
        let (pre, post) = l.split_once(" - ")?;
        (post.split_whitespace().next() == Some("cgroup2"))
            .then(|| pre.split_whitespace().nth(4).map(PathBuf::from))?
    })?;
    let offered = std::fs::read_to_string(mount.join("cgroup.controllers")).unwrap_or_default();
    let has = |c: &str| offered.split_whitespace().any(|o| o == c);
    if !(has("memory") && has("cpu") && has("pids")) {
        println!(
            "{test}: skipped, no v2 controllers here (hybrid host: {} offers {offered:?})",
            mount.display()
        );
        return None;
    }
    Some(mount)
}

/// A cgroup made for a daemon (its "service" cgroup), removed with all below it after the
/// daemon (declare it before the daemon), killing what is left.
struct ServiceCgroup(PathBuf);

impl ServiceCgroup {
    fn new(root: &Path, name: &str) -> ServiceCgroup {
        let dir = root.join(format!("{name}.{}", std::process::id()));
        std::fs::create_dir(&dir).expect("a cgroup for the daemon");
        ServiceCgroup(dir)
    }

    /// A daemon of `config` started in this cgroup (the controllers offered to it, as systemd's
    /// Delegate=yes does), with `also` (a shell command) beside it.
    fn start(&self, root: &Path, also: &str, config: &str) -> Daemon {
        std::fs::write(root.join("cgroup.subtree_control"), "+memory +cpu +pids")
            .expect("controllers enabled at the root");
        let script = format!(
            "echo $$ > {}/cgroup.procs || exit 1; {also} exec \"$@\"",
            self.0.display()
        );
        Daemon::builder()
            .wrapper(&["sh", "-c", &script, "sh"])
            .config(config)
            .start()
    }

    fn subtree_control(&self) -> String {
        std::fs::read_to_string(self.0.join("cgroup.subtree_control")).unwrap_or_default()
    }
}

impl Drop for ServiceCgroup {
    fn drop(&mut self) {
        // Deepest first.
        let mut dirs = vec![self.0.clone()];
        let mut i = 0;
        while i < dirs.len() {
            let subdirs = std::fs::read_dir(&dirs[i]).into_iter().flatten().flatten();
            dirs.extend(subdirs.map(|e| e.path()).filter(|p| p.is_dir()));
            i += 1;
        }
        for dir in dirs.iter().rev() {
            let _ = std::fs::write(dir.join("cgroup.kill"), "1");
            for _ in 0..100 {
                if std::fs::remove_dir(dir).is_ok() || !dir.exists() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(10));
            }
        }
    }
}

fn pid_of(d: &Daemon) -> u64 {
    d.jobo_json(&["system", "info"])["pid"]
        .as_u64()
        .expect("jobod's pid")
}

#[test]
fn in_a_delegated_cgroup_jobod_moves_into_a_leaf_and_enables_the_controllers() {
    let test = "delegated cgroup";
    let Some(root) = v2_root_with_controllers(test) else {
        return;
    };
    let service = ServiceCgroup::new(&root, "jobod-test-delegated");
    let config = "[services.s]\nmemory = \"48M\"\ncpus = 0.5\npids = 32\n";
    let mut d = service.start(&root, "", config);
    let pid = pid_of(&d);
    let enforces = d.jobo_json(&["system", "info"])["enforces"].to_string();
    println!("{test}: {enforces}");
    assert!(enforces.contains("cgroup v2 memory.max"), "{enforces}");
    assert!(enforces.contains("cgroup v2 cpu.max"), "{enforces}");
    assert!(enforces.contains("cgroup v2 pids.max"), "{enforces}");
    // jobod sits in a leaf of its cgroup, which hands the controllers to the jobs' cgroups.
    let base = service.0.join(format!("jobo.{pid}"));
    let in_leaf = std::fs::read_to_string(base.join("daemon/cgroup.procs")).unwrap_or_default();
    assert!(
        in_leaf.lines().any(|p| p == pid.to_string()),
        "jobod not in {}/daemon: {in_leaf:?}",
        base.display()
    );
    assert_eq!(
        std::fs::read_to_string(service.0.join("cgroup.procs")).unwrap_or_default(),
        "",
        "no process left in the service cgroup itself"
    );
    for c in ["memory", "cpu", "pids"] {
        assert!(service.subtree_control().contains(c), "{c}");
    }
    // A job gets them: a memory hog is OOM-killed by its cgroup, its peak held under the limit.
    let dir = job_dir(
        &d.work(),
        "hog",
        &[("run.sh", "head -c 1G /dev/zero | tail\n")],
    );
    let job = d.wait(d.submit(&dir, "s"));
    assert_eq!(job["state"], "failed", "{job}");
    assert_eq!(job["reason"], "out of memory", "{job}");
    for limit in ["memory", "cpus", "pids", "kill"] {
        assert_eq!(job["enforced"][limit], "cgroup_v2", "{limit}: {job}");
    }
    let peak = job["usage"]["peak_memory_bytes"].as_u64().unwrap_or(0);
    assert!(peak > 16 << 20 && peak <= 48 << 20, "peak {peak}: {job}");
    // The kill takes the whole job (memory.oom.group): run.sh does not go on to exit 0.
    let dir = job_dir(
        &d.work(),
        "hog-then-ok",
        &[(
            "run.sh",
            "head -c 1G /dev/zero | tail\necho survived\nexit 0\n",
        )],
    );
    let id = d.submit(&dir, "s");
    let job = d.wait(id);
    assert_eq!(job["state"], "failed", "{job}");
    assert_eq!(job["reason"], "out of memory", "{job}");
    let out = d.jobo(&["logs", &id.to_string()]);
    assert!(
        !String::from_utf8_lossy(&out.stdout).contains("survived"),
        "run.sh went on after the kill: {job}"
    );
    // At exit it leaves the service cgroup as it found it: controllers off, jobod back in it.
    d.stop();
    assert!(!base.exists(), "{} left", base.display());
    assert_eq!(service.subtree_control().trim(), "", "controllers left on");
    println!(
        "{test}: jobod in {}/daemon, peak {} MiB",
        base.display(),
        peak >> 20
    );
}

#[test]
fn in_a_shared_cgroup_jobod_says_why_it_has_no_controllers_and_still_kills_the_job() {
    let test = "shared cgroup";
    let Some(root) = v2_root_with_controllers(test) else {
        return;
    };
    let service = ServiceCgroup::new(&root, "jobod-test-shared");
    // A process beside jobod in its cgroup (a shell that started it, say), killed with it.
    let config = "[services.s]\nmemory = \"48M\"\ncpus = 0.5\ntimeout = \"2s\"\n";
    let d = service.start(&root, "sleep 600 &", config);
    let enforces = d.jobo_json(&["system", "info"])["enforces"].to_string();
    println!("{test}: {enforces}");
    assert!(!enforces.contains("memory.max"), "{enforces}");
    assert!(enforces.contains("cgroup v2"), "{enforces}");
    let log = d.log();
    assert!(
        log.contains("no cgroup v2 controllers for jobs") && log.contains("1 other process"),
        "{log}"
    );
    // Nothing claimed that was not applied; the whole job still dies with it.
    let dir = job_dir(
        &d.work(),
        "escapers",
        &[("run.sh", "setsid sleep 300 &\n( sleep 301 & )\nsleep 600\n")],
    );
    let job = d.wait(d.submit(&dir, "s"));
    assert_eq!(job["state"], "timed_out", "{job}");
    assert_eq!(job["enforced"]["memory"], "rlimit", "{job}");
    assert!(job["enforced"]["cpus"].is_null(), "{job}");
    assert_eq!(job["enforced"]["kill"], "cgroup_v2", "{job}");
    assert!(d.job_processes().is_empty(), "{:?}", d.job_processes());
}
