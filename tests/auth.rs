//! Who may see and touch which job: two users with their own API tokens over TCP, and an
//! admin. Another user's job answers exactly as a missing one, on every native route.

mod common;

use common::{Daemon, json, tgz};
use serde_json::Value;

struct As<'a> {
    d: &'a Daemon,
    bearer: String,
}

impl As<'_> {
    fn call(&self, method: &str, path: &str) -> (u16, Value) {
        let (code, body) = self.d.http(
            method,
            path,
            &[("Authorization", self.bearer.as_str())],
            b"",
        );
        let value = serde_json::from_slice(&body).unwrap_or(Value::Null);
        (code, value)
    }

    fn submit(&self, run_sh: &str) -> i64 {
        let body = tgz(&[("run.sh", run_sh.as_bytes())]);
        let (code, resp) = self.d.http(
            "POST",
            "/v1/jobs?service=example",
            &[
                ("Authorization", self.bearer.as_str()),
                ("Content-Type", "application/gzip"),
            ],
            &body,
        );
        assert_eq!(code, 201, "{}", String::from_utf8_lossy(&resp));
        json(&resp)["id"].as_i64().expect("id")
    }

    fn ids(&self, query: &str) -> Vec<i64> {
        let (code, list) = self.call("GET", &format!("/v1/jobs{query}"));
        assert_eq!(code, 200, "{list}");
        list.as_array()
            .expect("a list")
            .iter()
            .filter_map(|j| j["id"].as_i64())
            .collect()
    }
}

fn user<'a>(d: &'a Daemon, name: &str) -> As<'a> {
    As {
        d,
        bearer: format!("Bearer {}", d.make_token(name, "user")),
    }
}

#[test]
fn users_see_and_touch_only_their_own_jobs() {
    let d = Daemon::builder().tcp().start();
    let alice = user(&d, "alice");
    let bob = user(&d, "bob");
    let admin = As {
        d: &d,
        bearer: d.bearer(),
    };
    let a_done = alice.submit("echo alice > out.txt");
    let a_long = alice.submit("sleep 300");
    let b_done = bob.submit("echo bob");
    for id in [a_done, b_done] {
        let (code, job) = admin.call("GET", &format!("/v1/jobs/{id}/wait?timeout=60"));
        assert_eq!(
            (code, job["state"].as_str()),
            (200, Some("succeeded")),
            "{job}"
        );
    }

    // Lists: one's own only; another user's name is refused; an admin sees all.
    assert_eq!(alice.ids(""), vec![a_long, a_done]);
    assert_eq!(bob.ids(""), vec![b_done]);
    assert_eq!(bob.ids("?user=bob"), vec![b_done]);
    let (code, e) = bob.call("GET", "/v1/jobs?user=alice");
    assert_eq!(code, 403, "{e}");
    assert_eq!(admin.ids(""), vec![b_done, a_long, a_done]);
    assert_eq!(admin.ids("?user=alice"), vec![a_long, a_done]);

    // Every route on another user's job answers as on a missing one.
    let routes = |id: i64| {
        [
            ("GET", format!("/v1/jobs/{id}")),
            ("GET", format!("/v1/jobs/{id}/wait?timeout=1")),
            ("GET", format!("/v1/jobs/{id}/logs/stdout")),
            ("GET", format!("/v1/jobs/{id}/logs/stderr?follow=true")),
            ("GET", format!("/v1/jobs/{id}/results")),
            ("POST", format!("/v1/jobs/{id}/cancel")),
            ("POST", format!("/v1/jobs/{id}/restart")),
            ("DELETE", format!("/v1/jobs/{id}")),
        ]
    };
    // Nor can a job wait for another user's job (`--after`): it is missing too.
    let after = |id: i64| {
        let (code, body) = d.http(
            "POST",
            &format!("/v1/jobs?service=example&after={id}"),
            &[
                ("Authorization", bob.bearer.as_str()),
                ("Content-Type", "application/gzip"),
            ],
            &tgz(&[("run.sh", b"true")]),
        );
        (
            code,
            json(&body)["error"]
                .as_str()
                .unwrap_or("")
                .replace(&id.to_string(), "N"),
        )
    };
    assert_eq!(after(a_done), after(999));
    assert_eq!(after(999).0, 400);
    for (method, path) in routes(a_done).into_iter().chain(routes(a_long)) {
        let (code, theirs) = bob.call(method, &path);
        let missing_path = path
            .replace(&format!("/{a_done}"), "/999")
            .replace(&format!("/{a_long}"), "/999");
        let (missing_code, missing) = bob.call(method, &missing_path);
        assert_eq!(
            (code, missing_code),
            (404, 404),
            "{method} {path}: {theirs}"
        );
        let scrub = |v: &Value, id: &str| v["error"].as_str().unwrap_or("").replace(id, "N");
        let id = path.split('/').nth(3).unwrap_or("");
        assert_eq!(
            scrub(&theirs, id),
            scrub(&missing, "999"),
            "{method} {path}"
        );
    }
    // Nothing happened to alice's jobs.
    let (_, job) = alice.call("GET", &format!("/v1/jobs/{a_long}"));
    assert!(
        matches!(job["state"].as_str(), Some("queued" | "running")),
        "{job}"
    );
    let (code, _) = alice.call("GET", &format!("/v1/jobs/{a_done}/results"));
    assert_eq!(code, 200);

    // Their owner, and an admin, may.
    let (code, logs) = {
        let (code, body) = d.http(
            "GET",
            &format!("/v1/jobs/{a_done}/logs/stdout"),
            &[("Authorization", alice.bearer.as_str())],
            b"",
        );
        (code, String::from_utf8_lossy(&body).into_owned())
    };
    assert_eq!((code, logs.as_str()), (200, ""), "stdout went to out.txt");
    let (code, job) = admin.call("POST", &format!("/v1/jobs/{a_long}/cancel"));
    assert_eq!(
        (code, job["state"].as_str()),
        (200, Some("cancelled")),
        "{job}"
    );
    let (code, job) = alice.call("DELETE", &format!("/v1/jobs/{a_done}"));
    assert_eq!(code, 200, "{job}");
    let (code, job) = admin.call("DELETE", &format!("/v1/jobs/{b_done}"));
    assert_eq!(code, 200, "{job}");
}

/// An upload to `/upload` as a portal sends it; (status, answer).
fn seed_upload(d: &Daemon, addr: &str, headers: &[(&str, &str)], user_id: &str) -> (u16, Value) {
    let (ct, body) = common::multipart(
        &[("user_id", user_id), ("service", "example")],
        &[("run.sh", b"echo portal > out.txt\n")],
    );
    let mut all = headers.to_vec();
    all.push(("Content-Type", &ct));
    let stream = std::net::TcpStream::connect(addr).expect("connect");
    let (code, resp) = common::raw_http(stream, "POST", "/upload", &all, &body);
    let _ = d;
    (code, serde_json::from_slice(&resp).unwrap_or(Value::Null))
}

/// `(status, WWW-Authenticate present)` of a request to `addr` with `headers`.
fn seed_call(addr: &str, method: &str, path: &str, headers: &[(&str, &str)]) -> (u16, bool) {
    let stream = std::net::TcpStream::connect(addr).expect("connect");
    let resp = common::raw_exchange(stream, method, path, headers, b"");
    let head = String::from_utf8_lossy(&resp).to_ascii_lowercase();
    let challenged = head
        .split("\r\n\r\n")
        .next()
        .is_some_and(|h| h.contains("www-authenticate: bearer"));
    (common::parse_response(&resp).0, challenged)
}

#[test]
fn seed_routes_keep_jobs_apart_too() {
    let d = Daemon::builder().tcp().seed_tcp().start();
    let main = d.tcp.clone().expect("tcp");
    let seed = d.seed_tcp.clone().expect("seed tcp");
    let alice = user(&d, "alice");
    let bob = user(&d, "bob");
    let portal = format!("Bearer {}", d.make_token("web", "portal"));
    let other_portal = format!("Bearer {}", d.make_token("lab", "portal"));
    let a_long = alice.submit("sleep 300");
    let a = [("Authorization", alice.bearer.as_str())];
    let b = [("Authorization", bob.bearer.as_str())];
    let p = [("Authorization", portal.as_str())];
    let q = [("Authorization", other_portal.as_str())];

    // Without a token, the main listener's seed routes are 401 with the Bearer challenge.
    for (method, path) in [
        ("GET", format!("/download/{a_long}")),
        ("GET", format!("/download_partial/{a_long}")),
        ("POST", format!("/terminate/{a_long}")),
    ] {
        assert_eq!(seed_call(&main, method, &path, &[]), (401, true), "{path}");
        // Another user's job is 404, as a missing one.
        assert_eq!(seed_call(&main, method, &path, &b).0, 404, "bob {path}");
        assert_eq!(seed_call(&main, method, &path, &p).0, 404, "portal {path}");
        assert_eq!(
            seed_call(&seed, method, &path, &[]).0,
            404,
            "anonymous {path}"
        );
    }
    assert_eq!(seed_upload(&d, &main, &[], "5").0, 401);

    // A user's upload is theirs (user_id is ignored); a portal's is portal:<user_id>.
    let (code, up) = seed_upload(&d, &main, &a, "5");
    assert_eq!(code, 201, "{up}");
    let a_seed = up["id"].as_i64().expect("id");
    let (code, up) = seed_upload(&d, &main, &p, "5");
    assert_eq!(code, 201, "{up}");
    let p_job = up["id"].as_i64().expect("id");
    let (code, up) = seed_upload(&d, &seed, &[], "6");
    assert_eq!(code, 201, "{up}");
    let anon_job = up["id"].as_i64().expect("id");
    let admin = As {
        d: &d,
        bearer: d.bearer(),
    };
    for (id, owner) in [
        (a_seed, "alice"),
        (p_job, "portal:web:5"),
        (anon_job, "portal:6"),
    ] {
        let (_, job) = admin.call("GET", &format!("/v1/jobs/{id}/wait?timeout=60"));
        assert_eq!(job["user"], owner, "{job}");
        assert_eq!(job["state"], "succeeded", "{job}");
    }
    // Each portal (a token, or the anonymous listener) sees its own jobs only, not alice's
    // nor another portal's; alice and bob not the portals'; an admin all.
    let download = |addr: &str, id: i64, h: &[(&str, &str)]| {
        seed_call(addr, "GET", &format!("/download/{id}"), h).0
    };
    assert_eq!(download(&main, p_job, &p), 200);
    assert_eq!(download(&seed, anon_job, &[]), 200);
    assert_eq!(download(&main, anon_job, &p), 404);
    assert_eq!(download(&seed, p_job, &[]), 404);
    assert_eq!(download(&main, p_job, &q), 404);
    assert_eq!(
        seed_call(&main, "POST", &format!("/terminate/{p_job}"), &q).0,
        404
    );
    assert_eq!(download(&main, a_seed, &p), 404);
    assert_eq!(download(&seed, a_seed, &[]), 404);
    assert_eq!(download(&main, p_job, &a), 404);
    assert_eq!(download(&main, a_seed, &b), 404);
    assert_eq!(download(&main, a_seed, &a), 200);
    let admin_h = [("Authorization", admin.bearer.as_str())];
    assert_eq!(download(&main, p_job, &admin_h), 200);
    // A portal token is no /v1 caller, and the seed listener serves nothing but seed routes.
    assert_eq!(seed_call(&main, "GET", "/v1/jobs", &p).0, 403);
    assert_eq!(seed_call(&seed, "GET", "/v1/jobs", &[]).0, 404);
    assert_eq!(seed_call(&seed, "GET", "/health", &[]).0, 404);
    assert_eq!(seed_call(&seed, "GET", "/", &[]).0, 200);
    // alice's running job survived every terminate above; she may terminate it herself.
    assert_eq!(
        seed_call(&main, "POST", &format!("/terminate/{a_long}"), &a).0,
        200
    );
    let (_, job) = alice.call("GET", &format!("/v1/jobs/{a_long}"));
    assert_eq!(job["state"], "cancelled", "{job}");
}

/// Real Unix users (and an admin group) for the socket, removed on drop.
struct Users {
    names: Vec<String>,
    group: String,
}

impl Users {
    /// `None` (with the reason printed) unless running as root with `useradd`.
    fn create(names: &[&str], group: &str) -> Option<Users> {
        if unsafe { libc::geteuid() } != 0 {
            eprintln!("skipped: creating Unix users needs root");
            return None;
        }
        let run = |cmd: &str, args: &[&str]| {
            std::process::Command::new(cmd)
                .args(args)
                .output()
                .map(|o| o.status.success())
                .unwrap_or(false)
        };
        let users = Users {
            names: names.iter().map(|n| n.to_string()).collect(),
            group: group.to_string(),
        };
        users.remove();
        if !run("groupadd", &[group]) {
            eprintln!("skipped: groupadd {group} failed");
            return None;
        }
        for name in names {
            if !run("useradd", &["-M", "-N", "-s", "/bin/sh", name]) {
                eprintln!("skipped: useradd {name} failed");
                return None;
            }
        }
        Some(users)
    }

    fn remove(&self) {
        for name in &self.names {
            let _ = std::process::Command::new("userdel").arg(name).output();
        }
        let _ = std::process::Command::new("groupdel")
            .arg(&self.group)
            .output();
    }
}

impl Drop for Users {
    fn drop(&mut self) {
        self.remove();
    }
}

/// `jobo ARGS` run as Unix user `user` against the socket, in `cwd`.
fn jobo_as(d: &Daemon, user: &str, cwd: &std::path::Path, args: &[&str]) -> std::process::Output {
    // A copy in the daemon's dir (opened to others by the caller): the build's own may sit
    // below a dir other users cannot pass, such as a clone in `mktemp -d`.
    let jobo = d.root().join("jobo");
    if !jobo.exists() {
        std::fs::copy(common::JOBO, &jobo).expect("copy jobo");
    }
    std::process::Command::new("runuser")
        .args(["-u", user, "--"])
        .arg(&jobo)
        .args(args)
        .env("JOBO_HOST", d.host())
        .env("XDG_CONFIG_HOME", cwd)
        .env("NO_COLOR", "1")
        .current_dir(cwd)
        .stdin(std::process::Stdio::null())
        .output()
        .expect("run jobo as another user")
}

#[test]
fn socket_users_see_and_touch_only_their_own_jobs() {
    use std::os::unix::fs::PermissionsExt;
    let (alice, bob, carol, admins) = ("jobotest-a", "jobotest-b", "jobotest-c", "jobotest-adm");
    let Some(_users) = Users::create(&[alice, bob, carol], admins) else {
        return;
    };
    assert!(
        std::process::Command::new("usermod")
            .args(["-a", "-G", admins, carol])
            .status()
            .is_ok_and(|s| s.success())
    );
    let d = Daemon::builder()
        .config(&format!(
            "[server]\nadmin_group = \"{admins}\"\n\n[services.example]\n"
        ))
        .start();
    // Let the test users reach the socket and a working dir of their own.
    let open = |p: &std::path::Path, mode| {
        std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode)).expect("chmod")
    };
    open(d.root(), 0o711);
    open(&d.socket(), 0o666);
    let home = |user: &str| {
        let dir = d.root().join(user);
        std::fs::create_dir_all(dir.join("job")).expect("home");
        std::fs::write(dir.join("job/run.sh"), format!("echo {user}\n")).expect("run.sh");
        let status = std::process::Command::new("chown")
            .args(["-R", user])
            .arg(&dir)
            .status();
        assert!(status.is_ok_and(|s| s.success()));
        dir
    };
    let (a_home, b_home, c_home) = (home(alice), home(bob), home(carol));
    let ok = |out: std::process::Output| {
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    };
    let a_job = ok(jobo_as(
        &d,
        alice,
        &a_home,
        &["submit", "job", "-s", "example", "--wait"],
    ));
    let a_id = a_job.split_whitespace().next().expect("id").to_string();
    let b_job = ok(jobo_as(
        &d,
        bob,
        &b_home,
        &["submit", "job", "-s", "example"],
    ));
    let b_id = b_job.trim().to_string();
    ok(jobo_as(&d, bob, &b_home, &["wait", &b_id]));

    // Bob: alice's job is as missing as job 999, through every command.
    for args in [
        vec!["status", a_id.as_str()],
        vec!["wait", a_id.as_str()],
        vec!["logs", a_id.as_str()],
        vec!["fetch", a_id.as_str()],
        vec!["cancel", a_id.as_str()],
        vec!["rm", a_id.as_str()],
    ] {
        let out = jobo_as(&d, bob, &b_home, &args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "bob {args:?} succeeded");
        assert!(err.contains("not found"), "bob {args:?}: {err}");
    }
    // The seed routes on the socket too.
    for (method, path) in [
        ("GET", format!("/download/{a_id}")),
        ("GET", format!("/download_partial/{a_id}")),
        ("POST", format!("/terminate/{a_id}")),
    ] {
        let script = format!(
            "import socket,sys\ns=socket.socket(socket.AF_UNIX)\ns.connect(sys.argv[1])\n\
             s.sendall(b'{method} {path} HTTP/1.1\\r\\nHost: x\\r\\nContent-Length: 0\\r\\n\
             Connection: close\\r\\n\\r\\n')\nprint(s.recv(64).split(b' ')[1].decode())"
        );
        let socket = d.socket();
        let out = std::process::Command::new("runuser")
            .args(["-u", bob, "--", "python3", "-c", &script])
            .arg(&socket)
            .output()
            .expect("python3");
        assert_eq!(
            String::from_utf8_lossy(&out.stdout).trim(),
            "404",
            "bob {method} {path}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let listed = ok(jobo_as(&d, bob, &b_home, &["--json", "list"]));
    let listed: Value = serde_json::from_str(&listed).expect("json");
    let owners: Vec<&str> = listed
        .as_array()
        .expect("list")
        .iter()
        .filter_map(|j| j["user"].as_str())
        .collect();
    assert_eq!(owners, vec![bob]);
    // Nor may bob manage nodes or tokens.
    for args in [vec!["node", "ls"], vec!["token", "ls"]] {
        let out = jobo_as(&d, bob, &b_home, &args);
        assert!(!out.status.success(), "bob {args:?}");
        assert!(String::from_utf8_lossy(&out.stderr).contains("administrator"));
    }

    // Alice sees hers; carol, in the admin group, and root see both and manage tokens.
    assert_eq!(ok(jobo_as(&d, alice, &a_home, &["logs", &a_id])), alice);
    ok(jobo_as(&d, alice, &a_home, &["fetch", &a_id]));
    let all = ok(jobo_as(&d, carol, &c_home, &["--json", "list"]));
    assert_eq!(
        serde_json::from_str::<Value>(&all)
            .expect("json")
            .as_array()
            .map(Vec::len),
        Some(2)
    );
    ok(jobo_as(&d, carol, &c_home, &["token", "ls"]));
    ok(jobo_as(&d, carol, &c_home, &["rm", &b_id]));
    assert_eq!(d.jobo_json(&["list"]).as_array().map(Vec::len), Some(2));
}
