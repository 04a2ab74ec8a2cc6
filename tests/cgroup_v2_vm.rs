//! The cgroup v2 controller path for real on a hybrid host (this project's CI, whose memory,
//! cpu and pids controllers are bound to v1, so jobod cannot use them on v2 there): the limit
//! tests (tests/cgroup_limits.rs, tests/cgroup_v2.rs) run again in a VM
//! (scripts/cgroup-v2-vm.sh: Debian's kernel under qemu, only cgroup2 mounted, its memory, cpu
//! and pids controllers free), and each must have taken the cgroup v2 path there.
//!
//! Skipped, saying why, without qemu, a kernel image or busybox (CI installs them), when not
//! root, or when those test binaries were not built with this one (`cargo test` builds them
//! all; `cargo test --test cgroup_v2_vm` alone does not).

use std::path::{Path, PathBuf};
use std::process::Command;

/// The newest test binary `name-<hash>` beside this one (target/<profile>/deps).
fn sibling_test(name: &str) -> Option<PathBuf> {
    let me = std::env::current_exe().ok()?;
    let dir = me.parent()?;
    let prefix = format!("{name}-");
    std::fs::read_dir(dir)
        .ok()?
        .flatten()
        .filter(|e| {
            let n = e.file_name().to_string_lossy().into_owned();
            n.strip_prefix(&prefix)
                .is_some_and(|h| h.chars().all(|c| c.is_ascii_hexdigit()))
        })
        .filter_map(|e| Some((e.metadata().ok()?.modified().ok()?, e.path())))
        .max()
        .map(|(_, p)| p)
}

fn missing(what: &[&str]) -> Option<String> {
    what.iter()
        .find(|p| !Path::new(p).exists())
        .map(|p| format!("{p} is missing"))
}

#[test]
fn the_limit_tests_take_the_cgroup_v2_path_in_a_vm() {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        println!("cgroup v2 VM: skipped, needs root (a 9p share of /)");
        return;
    }
    let kernel = std::fs::read_dir("/boot")
        .into_iter()
        .flatten()
        .flatten()
        .any(|e| e.file_name().to_string_lossy().starts_with("vmlinuz-"));
    if let Some(why) = missing(&["/usr/bin/qemu-system-x86_64", "/bin/busybox"])
        .or_else(|| (!kernel).then(|| "no kernel in /boot".to_string()))
    {
        println!(
            "cgroup v2 VM: skipped, {why} (apt-get install qemu-system-x86 linux-image-amd64 \
             busybox-static)"
        );
        return;
    }
    let (Some(limits), Some(v2)) = (sibling_test("cgroup_limits"), sibling_test("cgroup_v2"))
    else {
        println!(
            "cgroup v2 VM: skipped, tests cgroup_limits and cgroup_v2 not built (run `cargo test`)"
        );
        return;
    };
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/cgroup-v2-vm.sh");
    let command = format!(
        "{} --test-threads=1 --nocapture && {} --test-threads=1 --nocapture",
        limits.display(),
        v2.display()
    );
    let started = std::time::Instant::now();
    let out = Command::new("bash")
        .arg(&script)
        .args(["sh", "-c", &command])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("run scripts/cgroup-v2-vm.sh");
    let text = String::from_utf8_lossy(&out.stdout);
    let err = String::from_utf8_lossy(&out.stderr);
    println!("{text}");
    println!("cgroup v2 VM: {:?} ({err})", started.elapsed());
    assert!(text.contains("cgroup2 controllers: "), "no VM boot:\n{err}");
    assert!(
        out.status.success(),
        "the tests failed in the VM:\n{text}\n{err}"
    );
    assert_eq!(text.matches("test result: ok.").count(), 2, "{text}");
    for path in [
        "memory hog: cgroup_v2 path",
        "OOM kill ends the job: cgroup_v2 path",
        "fork bomb: cgroup_v2 path",
        "escapers: cgroup_v2 path",
        "stale cgroups: cgroup_v2 path",
        "cpu limit: cgroup_v2 path",
        "delegated cgroup: jobod in",
        "shared cgroup: ",
    ] {
        assert!(text.contains(path), "{path:?} not in:\n{text}");
    }
    assert!(!text.contains("slot reuse: skipped"), "{text}");
    assert!(!text.contains("cgroup: skipped"), "{text}");
}
