//! `jobo system info` and `jobo system stop`, and the config file named in the log.

mod common;
use common::*;

#[test]
fn info_says_what_the_server_is() {
    let d = Daemon::builder()
        .config("[services.example]\n[services.other]\n")
        .tcp()
        .start();
    let info = d.jobo_json(&["system", "info"]);
    assert_eq!(info["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(info["mode"], "user");
    assert_eq!(info["data_dir"], d.data().display().to_string());
    let config = d.root().join("jobod.toml").display().to_string();
    assert_eq!(info["config_file"], config.as_str());
    assert_eq!(info["socket"], d.socket().display().to_string());
    assert_eq!(info["listen"].as_str(), d.tcp.as_deref());
    assert_eq!(info["services"], serde_json::json!(["example", "other"]));
    assert_eq!(info["nodes"], 0);
    assert_eq!(info["admin"], true);
    assert!(info["enforces"].as_array().is_some_and(|e| !e.is_empty()));
    assert_eq!(
        info["pid"].as_u64(),
        d.child.as_ref().map(|c| u64::from(c.id()))
    );
    assert!(
        d.log().contains(&format!("configuration: {config}")),
        "{}",
        d.log()
    );
    let text = d.jobo_ok(&["system", "info"]);
    assert!(text.contains(&format!("config:      {config}")), "{text}");

    // Without a config file, it says the built-in default is in use.
    let plain = Daemon::start();
    let info = plain.jobo_json(&["system", "info"]);
    assert_eq!(info["config_file"], serde_json::Value::Null);
    assert!(
        plain
            .jobo_ok(&["system", "info"])
            .contains("built-in default")
    );
    assert!(plain.log().contains("configuration: built-in default"));
}

#[test]
fn stop_is_for_admins_and_waits_until_jobod_is_gone() {
    let mut d = Daemon::builder().tcp().start();
    let user = format!("Bearer {}", d.make_token("alice", "user"));
    let (code, body) = d.http(
        "POST",
        "/v1/system/stop",
        &[("Authorization", user.as_str())],
        b"",
    );
    assert_eq!(code, 403, "{}", String::from_utf8_lossy(&body));
    let (code, body) = d.http(
        "GET",
        "/v1/system",
        &[("Authorization", user.as_str())],
        b"",
    );
    assert_eq!(code, 200);
    assert_eq!(json(&body)["admin"], false);

    let held = job_dir(&d.work(), "held", &[("run.sh", "sleep 300")]);
    let id = d.submit(&held, "example");
    d.wait_until(id, "running", &|| d.log());
    let out = d.jobo_ok(&["system", "stop"]);
    assert!(out.contains("stopped"), "{out}");
    // It exited cleanly, as on SIGTERM, and took its socket and its job's processes along.
    let status = d.child.take().expect("jobod").wait().expect("wait");
    assert!(status.success(), "{status}");
    assert!(!d.socket().exists());
    assert!(d.job_processes().is_empty());
    assert!(
        d.log().contains("asked to stop over the API"),
        "{}",
        d.log()
    );
    // The job was interrupted, not lost: the next start runs it again.
    d.restart();
    d.wait_until(id, "running", &|| d.log());
}

#[test]
fn stop_starts_no_jobod_to_stop_it() {
    let home = tempfile::tempdir().expect("temp dir");
    let out = std::process::Command::new(JOBO)
        .args(["system", "stop"])
        .env_remove("JOBO_HOST")
        .env("HOME", home.path())
        .env("XDG_RUNTIME_DIR", home.path())
        .env("XDG_DATA_HOME", home.path().join("data"))
        .env("XDG_CONFIG_HOME", home.path().join("config"))
        .output()
        .expect("run jobo");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("no jobod is running"), "{err}");
    assert!(!home.path().join("jobo").exists(), "a jobod was started");
}
