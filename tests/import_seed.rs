//! `jobod config import-seed` run as a real process on a controlled environment, and a real
//! `jobod` started on what it printed (there is no `--check`: starting is the check, since a
//! daemon validates its `[[nodes]]` only when it loads them).

mod common;

use common::{Daemon, JOBOD};
use std::process::{Command, Output};

/// `jobod config import-seed` with only PATH and `vars` in its environment.
fn import(vars: &[(&str, &str)]) -> Output {
    Command::new(JOBOD)
        .args(["config", "import-seed"])
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .envs(vars.iter().copied())
        .output()
        .expect("run jobod")
}

#[test]
fn imported_config_starts_a_daemon_with_seed_nodes() {
    let out = import(&[
        // Closed loopback ports: the nodes never answer, which the daemon tolerates.
        ("SERVICE_EXAMPLE_UPLOAD_URL", "http://127.0.0.1:9/submit"),
        (
            "SERVICE_EXAMPLE_DOWNLOAD_URL",
            "http://127.0.0.1:9/retrieve",
        ),
        ("SERVICE_EXAMPLE_TERMINATE_URL", "http://127.0.0.1:9/kill"),
        ("SERVICE_EXAMPLE_MAX_RUNS", "3"),
        ("SERVICE_OTHER_UPLOAD_URL", "http://127.0.0.1:9/submit"),
        ("SERVICE_GPU_UPLOAD_URL", "http://localhost:7/submit"),
        ("MAX_AGE", "86400"),
        ("PORT", "5005"),
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{}: {stderr}", out.status);
    assert!(stderr.is_empty(), "{stderr}");
    assert!(stdout.contains("\n[services.example]\n"), "{stdout}");
    assert!(stdout.contains("\nprotocol = \"seed\"\n"), "{stdout}");
    assert!(stdout.contains("\nlisten = \"0.0.0.0:5005\"\n"), "{stdout}");
    let config = jobo::config::Config::parse(&stdout, "import-seed").expect("parses");
    assert_eq!(config.services.len(), 3);

    // `.tcp()` listens on 127.0.0.1:0 instead of the imported 0.0.0.0:5005.
    let d = Daemon::builder().config(&stdout).tcp().start();
    let list = d.jobo_json(&["node", "ls"]);
    let seed: Vec<_> = list
        .as_array()
        .expect("a JSON array")
        .iter()
        .filter(|n| n["protocol"] == "seed")
        .map(|n| (n["url"].clone(), n["services"].clone(), n["slots"].clone()))
        .collect();
    let expected = [
        (
            "http://127.0.0.1:9",
            serde_json::json!(["example", "other"]),
            10,
        ),
        ("http://localhost:7", serde_json::json!(["gpu"]), 10),
    ]
    .map(|(url, services, slots)| (url.into(), services, slots.into()));
    assert_eq!(seed, expected, "{list:#}\njobod log:\n{}", d.log());
}

#[test]
fn bad_number_fails_and_prints_nothing() {
    let out = import(&[
        ("SERVICE_EXAMPLE_UPLOAD_URL", "http://127.0.0.1:9/submit"),
        ("SERVICE_EXAMPLE_MAX_RUNS", "abc"),
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        out.stdout.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(
        stderr.starts_with("jobod: error: SERVICE_EXAMPLE_MAX_RUNS=\"abc\""),
        "{stderr}"
    );
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
}
