//! `jobo token …` and `/v1/tokens` against a real `jobod`: secrets are shown once, never
//! listed, stored hashed; only admins manage tokens.

mod common;

use common::{Daemon, json};

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
