//! The script validator as users meet it: a reverse shell in `run.sh` is refused at submit on
//! the native API and on the seed's `/upload` (400 naming the rule and the line), a service
//! with `validator = false` takes it, allow rules let a service use network tools, and a node
//! checks again before it runs a payload.

mod common;

use common::worker::Worker;
use common::*;

const REVERSE_SHELL: &str = "#!/bin/bash\necho start\nbash -i >& /dev/tcp/127.0.0.1/9 0>&1\n";

fn refused_words(text: &str) {
    for w in ["line 3", "'dev-tcp'", "reverse-shell"] {
        assert!(text.contains(w), "'{w}' not in {text}");
    }
}

#[test]
fn a_reverse_shell_is_refused_at_submit_on_both_apis() {
    let d = Daemon::builder()
        .config("[services.s]\n[services.open]\nvalidator = false\n")
        .start();
    let dir = job_dir(&d.work(), "rs", &[("run.sh", REVERSE_SHELL)]);
    let out = d.jobo(&["submit", dir.to_str().expect("utf-8"), "--service", "s"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    refused_words(&err);

    let body = tgz(&[("run.sh", REVERSE_SHELL.as_bytes())]);
    let (status, answer) = d.http_unix(
        "POST",
        "/v1/jobs?service=s",
        &[("Content-Type", "application/gzip")],
        &body,
    );
    assert_eq!(status, 400);
    refused_words(json(&answer)["error"].as_str().unwrap_or(""));

    let (ct, form) = multipart_parts(
        &[("user_id", "1"), ("service", "s")],
        &[("file", "run.sh", REVERSE_SHELL.as_bytes())],
    );
    let (status, answer) = d.http_unix("POST", "/upload", &[("Content-Type", &ct)], &form);
    assert_eq!(status, 400, "{}", String::from_utf8_lossy(&answer));
    refused_words(json(&answer)["message"].as_str().unwrap_or(""));
    assert!(d.staged_uploads().is_empty());
    assert!(
        d.jobo_json(&["list"])
            .as_array()
            .is_some_and(|l| l.is_empty())
    );

    // Off for this service: taken (it fails to connect, which is not the point here).
    let id = d.submit(&dir, "open");
    assert_ne!(d.wait(id)["state"], "succeeded");
}

#[test]
fn allow_rules_and_allow_lines_let_a_service_fetch_data() {
    let d = Daemon::builder()
        .config(
            "[services.s]\n[services.fetch]\nallow_rules = [\"network-tool\"]\n\
             [services.one]\nallow = ['^wget -q https://data\\.example\\.org/']\n",
        )
        .start();
    let script = "wget -q https://data.example.org/in.csv || true\n";
    let dir = job_dir(&d.work(), "fetch", &[("run.sh", script)]);
    let out = d.jobo(&["submit", dir.to_str().expect("utf-8"), "--service", "s"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        err.contains("'network-tool'") && err.contains("line 1"),
        "{err}"
    );
    for service in ["fetch", "one"] {
        let out = d.jobo(&["submit", dir.to_str().expect("utf-8"), "--service", service]);
        assert!(
            out.status.success(),
            "{service}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// A payload the server would have refused (it was queued while the service had the
/// validator off) is refused by the node before it runs, and the job fails naming the rule.
#[test]
fn a_node_checks_the_script_again_before_running_it() {
    let w = Worker::start(&[]);
    let node = format!(
        "[[nodes]]\nurl = \"{}\"\nname = \"n\"\nservices = [\"s\"]\ntoken_file = \"{}\"\n",
        w.url(),
        w.token_file().display()
    );
    let mut d = Daemon::builder()
        .config("[local_worker]\nenabled = false\n[services.s]\nvalidator = false\n")
        .start();
    let marker = d.root().join("ran");
    let script = format!(
        "touch {}\nbash -i >& /dev/tcp/127.0.0.1/9 0>&1\n",
        marker.display()
    );
    let id = d.submit(&job_dir(&d.work(), "rs", &[("run.sh", &script)]), "s");
    d.stop();
    d.set_config(&format!(
        "[local_worker]\nenabled = false\n[services.s]\n{node}"
    ));
    d.restart();
    let job = d.wait(id);
    assert_eq!(job["state"], "failed", "{job}\n{}", w.log());
    assert_eq!(job["node"], "n", "{job}");
    let reason = job["reason"].as_str().unwrap_or("");
    assert!(
        reason.contains("'dev-tcp'") && reason.contains("line 2"),
        "{reason}"
    );
    assert!(!marker.exists(), "run.sh ran");
    let logs = d.jobo(&["logs", &id.to_string()]);
    let stderr = String::from_utf8_lossy(&logs.stderr);
    assert!(
        stderr.contains("refused by the script validator"),
        "{stderr}"
    );
}

#[test]
fn a_script_over_the_validators_bound_is_refused_with_its_size_and_taken_where_it_is_off() {
    let d = Daemon::builder()
        .config("[services.s]\n[services.open]\nvalidator = false\n")
        .start();
    // A first command, then comments past the 1 MiB the validator reads.
    let mut script = String::from("echo big\n");
    while script.len() <= 1 << 20 {
        script.push_str("# padding padding padding padding padding padding padding padding\n");
    }
    let size = script.len();
    let body = tgz(&[("run.sh", script.as_bytes())]);
    let submit = |service: &str| {
        d.http_unix(
            "POST",
            &format!("/v1/jobs?service={service}"),
            &[("Content-Type", "application/gzip")],
            &body,
        )
    };
    let (status, answer) = submit("s");
    assert_eq!(status, 400, "{}", String::from_utf8_lossy(&answer));
    let error = json(&answer)["error"].as_str().unwrap_or("").to_string();
    assert!(
        error.contains(&format!("run.sh is {size} bytes")),
        "{error}"
    );
    assert!(d.staged_uploads().is_empty());

    // Without the validator the head alone names the command, and the job runs.
    let (status, answer) = submit("open");
    assert_eq!(status, 201, "{}", String::from_utf8_lossy(&answer));
    let job = json(&answer);
    assert_eq!(job["command"], "echo big", "{job}");
    let id = job["id"].as_i64().expect("id");
    assert_eq!(d.wait(id)["state"], "succeeded");
}
