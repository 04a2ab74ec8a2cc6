//! `jobo token …` and `/v1/tokens` against a real `jobod`: secrets are shown once, never
//! listed, stored hashed; only admins manage tokens.

mod common;

use common::{Daemon, json};
use serde_json::Value;

#[test]
fn create_list_revoke() {
    let d = Daemon::start();
    // `create` prints the secret alone on stdout.
    let out = d.jobo(&["token", "create", "--user", "alice", "--expires", "30d"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let secret = stdout.trim_end_matches('\n');
    assert!(
        secret.starts_with("jobo_") && secret.len() == 5 + 64 && !secret.contains('\n'),
        "{stdout:?}"
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("alice"));

    let portal = d.jobo_json(&["token", "create", "--user", "web", "--role", "portal"]);
    assert_eq!(portal["role"], "portal");
    assert_eq!(portal["expires"], serde_json::Value::Null);
    assert_ne!(portal["secret"].as_str(), Some(secret));

    // `ls` shows both, never a secret or a hash.
    let listed = d.jobo_json(&["token", "ls"]);
    let listed = listed.as_array().expect("a JSON array");
    assert_eq!(listed.len(), 2, "{listed:?}");
    assert_eq!(listed[0]["user"], "alice");
    assert_eq!(listed[0]["role"], "user");
    assert!(listed[0]["expires"].as_i64() > listed[0]["created"].as_i64());
    let text = serde_json::to_string(listed).expect("json");
    assert!(!text.contains("secret") && !text.contains("hash"), "{text}");
    let table = d.jobo_ok(&["token", "ls"]);
    assert!(
        table.contains("alice") && table.contains("active"),
        "{table}"
    );
    assert!(!table.contains(secret), "{table}");

    // The database keeps the SHA-256 of the secret, not the secret.
    let db = std::fs::read(d.data().join("jobo.db")).unwrap_or_default();
    let db = String::from_utf8_lossy(&db);
    assert!(!db.contains(secret));

    // Revoking marks it, once; an unknown id is 404.
    let id = listed[0]["id"].as_i64().expect("id").to_string();
    assert_eq!(
        d.jobo_ok(&["token", "revoke", &id]).trim(),
        format!("{id} revoked")
    );
    let after = d.jobo_json(&["token", "ls"]);
    assert!(after[0]["revoked"].is_i64(), "{after}");
    assert!(d.jobo_ok(&["token", "ls"]).contains("revoked"));
    let (code, body) = d.http_unix("DELETE", "/v1/tokens/999", &[], b"");
    assert_eq!(code, 404, "{}", String::from_utf8_lossy(&body));
    assert!(!d.jobo(&["token", "revoke", "999"]).status.success());
}

#[test]
fn bad_token_descriptions_are_refused_in_words() {
    let d = Daemon::start();
    let post = |body: &str| {
        let (code, body) = d.http_unix(
            "POST",
            "/v1/tokens",
            &[("Content-Type", "application/json")],
            body.as_bytes(),
        );
        (
            code,
            json(&body)["error"].as_str().unwrap_or("").to_string(),
        )
    };
    let (code, e) = post(r#"{"user": "a b"}"#);
    assert_eq!(code, 400);
    assert!(e.contains("invalid user name"), "{e}");
    let (code, e) = post(r#"{"user": "a", "role": "god"}"#);
    assert_eq!(code, 400);
    assert!(e.contains("invalid token description"), "{e}");
    let (code, e) = post(r#"{"user": "a", "expires": "soon"}"#);
    assert_eq!(code, 400);
    assert!(e.contains("invalid expiry 'soon'"), "{e}");
    let (code, _) = post(&format!(r#"{{"user": "{}"}}"#, "x".repeat(8000)));
    assert_eq!(code, 413);
    let (code, e) = post("not json");
    assert_eq!(code, 400);
    assert!(e.contains("expected JSON like"), "{e}");
}

/// `(status, WWW-Authenticate, error)` of a TCP request with exactly `headers`.
fn tcp(d: &Daemon, path: &str, headers: &[(&str, &str)]) -> (u16, Option<String>, String) {
    let stream = std::net::TcpStream::connect(d.tcp.as_ref().expect("tcp")).expect("connect");
    let resp = common::raw_exchange(stream, "GET", path, headers, b"");
    let head = String::from_utf8_lossy(&resp).to_ascii_lowercase();
    let challenge = head.split("\r\n\r\n").next().and_then(|h| {
        h.lines().find_map(|l| {
            l.strip_prefix("www-authenticate:")
                .map(|v| v.trim().to_string())
        })
    });
    let (code, body) = common::parse_response(&resp);
    let error = json(&body)["error"].as_str().unwrap_or("").to_string();
    (code, challenge, error)
}

#[test]
fn tcp_callers_are_who_their_token_says() {
    let d = Daemon::builder().tcp().start();
    let bearer = |t: &str| format!("Bearer {t}");

    // No token, a wrong one, a node token: 401 with the Bearer challenge, in JSON.
    let node = bearer(common::worker::TOKEN);
    for (case, headers) in [
        ("none", vec![]),
        ("wrong", vec![("Authorization", "Bearer jobo_0000")]),
        ("not bearer", vec![("Authorization", "Basic cm9vdDo=")]),
        ("node token", vec![("Authorization", node.as_str())]),
    ] {
        let (code, challenge, error) = tcp(&d, "/v1/jobs", &headers);
        assert_eq!(code, 401, "{case}: {error}");
        assert_eq!(challenge.as_deref(), Some("bearer"), "{case}");
        assert!(!error.is_empty(), "{case}");
    }

    // The old declared user is refused in words.
    let (code, _, error) = tcp(&d, "/v1/jobs", &[("X-Jobo-User", "root")]);
    assert_eq!(code, 400);
    assert!(
        error.contains("X-Jobo-User") && error.contains("token"),
        "{error}"
    );

    // A user token works for jobs but not for nodes or tokens.
    let alice = bearer(&d.make_token("alice", "user"));
    let auth = [("Authorization", alice.as_str())];
    assert_eq!(tcp(&d, "/v1/jobs", &auth).0, 200);
    for path in ["/v1/nodes", "/v1/tokens"] {
        let (code, _, error) = tcp(&d, path, &auth);
        assert_eq!(code, 403, "{path}: {error}");
        assert!(error.contains("alice"), "{error}");
    }
    // Nor add a node or make a token.
    for (path, body) in [
        (
            "/v1/nodes",
            r#"{"url": "http://127.0.0.1:9", "services": ["example"]}"#,
        ),
        ("/v1/tokens", r#"{"user": "alice", "role": "admin"}"#),
    ] {
        let (code, resp) = d.http(
            "POST",
            path,
            &[
                ("Authorization", alice.as_str()),
                ("Content-Type", "application/json"),
            ],
            body.as_bytes(),
        );
        assert_eq!(code, 403, "POST {path}: {}", String::from_utf8_lossy(&resp));
    }
    // An admin token may.
    let admin = d.bearer();
    assert_eq!(
        tcp(&d, "/v1/tokens", &[("Authorization", admin.as_str())]).0,
        200
    );

    // A portal token is not a /v1 caller.
    let portal = bearer(&d.make_token("web", "portal"));
    let (code, _, error) = tcp(&d, "/v1/jobs", &[("Authorization", portal.as_str())]);
    assert_eq!(code, 403, "{error}");
    assert!(error.contains("seed routes"), "{error}");

    // Revoked and expired tokens stop working.
    let tokens = d.jobo_json(&["token", "ls"]);
    let alice_id = tokens
        .as_array()
        .and_then(|a| a.iter().find(|t| t["user"] == "alice"))
        .and_then(|t| t["id"].as_i64())
        .expect("alice's token");
    d.jobo_ok(&["token", "revoke", &alice_id.to_string()]);
    assert_eq!(tcp(&d, "/v1/jobs", &auth).0, 401);
    let out = d.jobo(&["token", "create", "--user", "bob", "--expires", "1ms"]);
    assert!(out.status.success());
    let bob = bearer(String::from_utf8_lossy(&out.stdout).trim());
    std::thread::sleep(std::time::Duration::from_millis(20));
    assert_eq!(
        tcp(&d, "/v1/jobs", &[("Authorization", bob.as_str())]).0,
        401
    );
}

#[test]
fn an_api_token_is_no_node_token() {
    let d = Daemon::builder().tcp().start();
    let w = common::worker::Worker::start(&[]);
    let admin = d.token.clone().expect("token");
    let (code, _) = w.http("GET", "/v1/payloads", Some(&admin), &[], b"");
    assert_eq!(code, 401, "a worker took an API token");
    let (code, _) = w.http("GET", "/v1/payloads", Some(common::worker::TOKEN), &[], b"");
    assert_eq!(code, 200);
}

#[test]
fn jobo_sends_its_token_from_the_flag_the_environment_or_the_file() {
    let d = Daemon::builder().tcp().start();
    let admin = d.token.clone().expect("token");
    let jobo = |env: &[(&str, &str)], args: &[&str]| {
        std::process::Command::new(common::JOBO)
            .args(args)
            .env("JOBO_HOST", d.tcp_host())
            .env_remove("JOBO_TOKEN")
            .env("XDG_CONFIG_HOME", d.root().join("config"))
            .envs(env.iter().copied())
            .output()
            .expect("run jobo")
    };
    let out = jobo(&[], &["token", "ls"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("authentication required"));
    assert!(
        jobo(&[], &["--token", &admin, "token", "ls"])
            .status
            .success()
    );
    assert!(
        jobo(&[("JOBO_TOKEN", &admin)], &["token", "ls"])
            .status
            .success()
    );
    // The flag comes before the environment.
    let out = jobo(
        &[("JOBO_TOKEN", &admin)],
        &["--token", "jobo_bad", "token", "ls"],
    );
    assert!(!out.status.success());
    let dir = d.root().join("config").join("jobo");
    std::fs::create_dir_all(&dir).expect("config dir");
    std::fs::write(dir.join("token"), format!("{admin}\n")).expect("token file");
    assert!(jobo(&[], &["token", "ls"]).status.success());
}

/// The audit log's events, once `pred` holds for them (the log is appended in the background).
fn audit_events(d: &Daemon, pred: impl Fn(&[Value]) -> bool) -> Vec<Value> {
    let path = d.data().join("audit.log");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let events: Vec<Value> = std::fs::read_to_string(&path)
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).expect("one JSON object a line"))
            .collect();
        if pred(&events) || std::time::Instant::now() > deadline {
            return events;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

#[test]
fn the_audit_log_names_who_did_what() {
    use std::os::unix::fs::PermissionsExt;
    let d = Daemon::builder().tcp().start();
    let w = common::worker::Worker::start(&[]);
    let alice = format!("Bearer {}", d.make_token("alice", "user"));
    let admin = d.bearer();
    let (code, _, _) = tcp(&d, "/v1/jobs", &[("Authorization", alice.as_str())]);
    assert_eq!(code, 200);
    let (code, _, _) = tcp(&d, "/v1/jobs", &[("Authorization", "Bearer jobo_0000")]);
    assert_eq!(code, 401);

    // Alice's job, looked at by an admin token and cancelled by root on the socket.
    let body = common::tgz(&[("run.sh", b"sleep 300\n")]);
    let (code, resp) = d.http(
        "POST",
        "/v1/jobs?service=example",
        &[
            ("Authorization", alice.as_str()),
            ("Content-Type", "application/gzip"),
        ],
        &body,
    );
    assert_eq!(code, 201, "{}", String::from_utf8_lossy(&resp));
    let id = json(&resp)["id"].as_i64().expect("id");
    let (code, _, _) = tcp(
        &d,
        &format!("/v1/jobs/{id}"),
        &[("Authorization", admin.as_str())],
    );
    assert_eq!(code, 200);
    d.jobo_ok(&["cancel", &id.to_string()]);
    // Alice's own look at her job is no admin action.
    let (code, _, _) = tcp(
        &d,
        &format!("/v1/jobs/{id}"),
        &[("Authorization", alice.as_str())],
    );
    assert_eq!(code, 200);

    let token_file = w.token_file();
    let token_file = token_file.to_str().expect("utf-8 path");
    d.jobo_json(&[
        "node",
        "add",
        &w.url(),
        "--service",
        "example",
        "--name",
        "n1",
        "--token-file",
        token_file,
    ]);
    d.jobo_ok(&["node", "drain", "n1"]);
    let bob = d.jobo_json(&["token", "create", "--user", "bob"]);
    let bob_id = bob["id"].as_i64().expect("token id").to_string();
    d.jobo_ok(&["token", "revoke", &bob_id]);

    let has = |events: &[Value], action: &str| events.iter().any(|e| e["action"] == action);
    let events = audit_events(&d, |e| has(e, "token_revoke"));
    let find = |action: &str, extra: &dyn Fn(&Value) -> bool| {
        events
            .iter()
            .find(|e| e["action"] == action && extra(e))
            .unwrap_or_else(|| panic!("no {action} in {events:#?}"))
            .clone()
    };
    let used = find("token_used", &|e| e["user"] == "alice");
    assert_eq!(used["via"], "token");
    assert_eq!(used["target"], "GET /v1/jobs");
    assert!(
        used["peer"]
            .as_str()
            .is_some_and(|p| p.starts_with("127.0.0.1:"))
    );
    let refused = find("token_refused", &|_| true);
    assert_eq!(refused["via"], "unauthenticated");
    let look = find("status", &|_| true);
    assert_eq!(look["via"], "token");
    assert_eq!(look["owner"], "alice");
    assert_eq!(look["target"], format!("job {id}"));
    let cancel = find("cancel", &|_| true);
    assert_eq!(cancel["via"], "socket");
    assert_eq!(cancel["uid"], 0);
    assert_eq!(cancel["owner"], "alice");
    // Only actions on others' jobs: alice's own look is not there.
    assert_eq!(
        events.iter().filter(|e| e["action"] == "status").count(),
        1,
        "{events:#?}"
    );
    assert!(
        find("node_add", &|_| true)["target"]
            .as_str()
            .is_some_and(|t| t.contains("n1"))
    );
    find("node_drain", &|_| true);
    let created = find("token_create", &|e| {
        e["target"].as_str().is_some_and(|t| t.contains("bob"))
    });
    assert_eq!(created["via"], "socket");
    find("token_revoke", &|_| true);
    // Never a secret, and readable by jobod alone.
    let text = std::fs::read_to_string(d.data().join("audit.log")).expect("audit log");
    assert!(!text.contains(&alice[7..]) && !text.contains("jobo_0000"));
    let mode = std::fs::metadata(d.data().join("audit.log"))
        .expect("audit log")
        .permissions()
        .mode();
    assert_eq!(mode & 0o077, 0, "{mode:o}");
}
