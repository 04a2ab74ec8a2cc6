//! TLS end to end with a CA made in the test (rcgen): `jobod serve --tls-cert/--tls-key` driven
//! by `jobo --host https://… --ca-cert`, the failures a user meets told in one line, and a
//! `jobod worker` that requires a client certificate (`--tls-client-ca`), reached by a server
//! with and without one.

mod common;

use common::pki::{Issued, Pki};
use common::worker::Worker;
use common::*;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::Output;
use std::time::Duration;

/// A server whose TCP listener serves TLS with `cert`; `extra` builder steps before start.
fn tls_daemon(cert: &Issued, extra: impl FnOnce(Builder) -> Builder) -> Daemon {
    extra(
        Daemon::builder()
            .tcp()
            .arg("--tls-cert")
            .arg(cert.cert())
            .arg("--tls-key")
            .arg(cert.key()),
    )
    .start()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// `jobo` must fail with one line on stderr that holds every needle.
fn fails_in_one_line(case: &str, out: &Output, needles: &[&str]) {
    let err = text(&out.stderr);
    assert!(!out.status.success(), "{case}: jobo succeeded: {err}");
    assert_eq!(
        err.trim_end().lines().count(),
        1,
        "{case}: one line: {err:?}"
    );
    for n in needles {
        assert!(err.contains(n), "{case}: {err:?} does not mention {n:?}");
    }
}

/// What a plain-HTTP request to a TLS port gets back: anything but an HTTP answer, and the
/// connection closed (bounded by a read timeout, so a hang fails the test instead).
fn plain_http_answer(addr: &str) -> Vec<u8> {
    let mut s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(20)))
        .expect("timeout");
    s.write_all(b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .expect("write");
    let mut answer = Vec::new();
    match s.read_to_end(&mut answer) {
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => {}
        Err(e) => panic!("the TLS port neither answered nor closed: {e}"),
    }
    answer
}

#[test]
fn jobo_submits_waits_and_fetches_over_tls() {
    let pki = Pki::new("jobo test CA");
    let cert = pki.server("server", &["localhost", "127.0.0.1"]);
    let d = tls_daemon(&cert, |b| b);
    assert!(d.log().contains("listening on https://"), "{}", d.log());
    let host = d.https_host();
    let ca = pki.ca_str();
    // A client that opens a connection and never starts its handshake holds up nobody.
    let _stalled = TcpStream::connect(d.tcp.as_deref().expect("tcp")).expect("connect");

    let dir = job_dir(
        &d.work(),
        "job",
        &[
            ("run.sh", "echo over-tls; cat in.txt > copy.txt"),
            ("in.txt", "secret data\n"),
        ],
    );
    let dir = dir.to_str().expect("utf-8 path");
    let out = d.jobo_with(
        &host,
        &["--ca-cert", &ca, "submit", dir, "--service", "example"],
    );
    assert!(out.status.success(), "{}\n{}", text(&out.stderr), d.log());
    let id = text(&out.stdout).trim().to_string();
    let out = d.jobo_with(&host, &["--ca-cert", &ca, "--json", "wait", &id]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let job: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(job[0]["state"], "succeeded", "{job}");
    let out = d.jobo_with(&host, &["--ca-cert", &ca, "logs", &id]);
    assert_eq!(text(&out.stdout), "over-tls\n", "{}", text(&out.stderr));
    let out = d.jobo_with(&host, &["--ca-cert", &ca, "fetch", &id, "-o", "res"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(
        std::fs::read_to_string(d.work().join("res/copy.txt")).expect("fetched"),
        "secret data\n"
    );

    // By name rather than address, and with the CA in JOBO_CA_CERT instead of the flag.
    let port = host.rsplit(':').next().expect("port");
    let out = std::process::Command::new(JOBO)
        .args(["--json", "status", &id])
        .env("JOBO_HOST", format!("https://localhost:{port}"))
        .env("JOBO_CA_CERT", &ca)
        .env("JOBO_TOKEN", d.token.as_deref().expect("token"))
        .env("XDG_CONFIG_HOME", d.root().join("config"))
        .output()
        .expect("run jobo");
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("succeeded"));
}

#[test]
fn tls_failures_are_one_line_with_the_fix() {
    let pki = Pki::new("jobo test CA");
    let good = pki.server("server", &["localhost", "127.0.0.1"]);
    let d = tls_daemon(&good, |b| b);
    let addr = d.tcp.clone().expect("tcp");
    let ca = pki.ca_str();

    // No CA given: the system's CAs do not know the test's.
    let out = d.jobo_with(&d.https_host(), &["status"]);
    fails_in_one_line("no --ca-cert", &out, &[&addr, "--ca-cert"]);

    // A CA that did not sign the server's certificate.
    let other = Pki::new("another CA");
    let out = d.jobo_with(&d.https_host(), &["--ca-cert", &other.ca_str(), "status"]);
    fails_in_one_line("wrong CA", &out, &[&addr, "--ca-cert"]);

    // Plain HTTP to the TLS port: jobo says to use https://, a raw client gets no HTTP answer,
    // and the server goes on serving.
    let out = d.jobo_with(&d.tcp_host(), &["status"]);
    fails_in_one_line("http:// to TLS", &out, &[&addr, &format!("https://{addr}")]);
    let answer = plain_http_answer(&addr);
    assert!(!answer.starts_with(b"HTTP/"), "{}", text(&answer));
    let out = d.jobo_with(&d.https_host(), &["--ca-cert", &ca, "status"]);
    assert!(out.status.success(), "{}", text(&out.stderr));

    // A certificate for another name, on a server whose seed listener is plain HTTP.
    let elsewhere = pki.server("elsewhere", &["elsewhere.test"]);
    let e = tls_daemon(&elsewhere, |b| b.seed_tcp());
    let out = e.jobo_with(&e.https_host(), &["--ca-cert", &ca, "status"]);
    fails_in_one_line(
        "name mismatch",
        &out,
        &[
            e.tcp.as_deref().expect("tcp"),
            "not valid for the name '127.0.0.1'",
        ],
    );
    // https:// to a plain HTTP port.
    let plain = e.seed_tcp.clone().expect("seed tcp");
    let out = e.jobo_with(&format!("https://{plain}"), &["--ca-cert", &ca, "status"]);
    fails_in_one_line(
        "https:// to plain",
        &out,
        &[&plain, &format!("http://{plain}")],
    );
}

/// Server config: a 1 s lease, no embedded worker (jobs go to the node), the test's CA, and
/// when `client` is given, the client certificate nodes with `--tls-client-ca` ask for.
fn config(pki: &Pki, client: Option<&Issued>) -> String {
    let identity = client.map_or(String::new(), |c| {
        format!(
            "client_cert = \"{}\"\nclient_key = \"{}\"\n",
            c.cert(),
            c.key()
        )
    });
    format!(
        "[cluster]\nlease = \"1s\"\nca_cert = \"{}\"\n{identity}\
         [local_worker]\nenabled = false\n[services.example]\n",
        pki.ca_str()
    )
}

fn node_state(d: &Daemon) -> String {
    let nodes = d.jobo_json(&["node", "ls"]);
    nodes[0]["state"].as_str().unwrap_or_default().to_string()
}

/// A node started with `--tls-client-ca` takes no server without a client certificate signed
/// by that CA: the node stays unreachable, the job stays queued and nothing reaches the node,
/// and the server's log says what to set. Given the certificate, the same server runs the job
/// there.
#[test]
fn node_with_client_ca_serves_only_servers_with_a_client_certificate() {
    let pki = Pki::new("jobo test CA");
    let node_cert = pki.server("node", &["127.0.0.1"]);
    let client = pki.client("jobod-client");
    let w = Worker::start(&[
        "--slots",
        "2",
        "--tls-cert",
        node_cert.cert(),
        "--tls-key",
        node_cert.key(),
        "--tls-client-ca",
        &pki.ca_str(),
    ]);
    assert!(
        w.log().contains("client certificates required"),
        "{}",
        w.log()
    );
    // Plain HTTP, even with the node token, gets no HTTP answer from the TLS port.
    let answer = plain_http_answer(&w.addr);
    assert!(!answer.starts_with(b"HTTP/"), "{}", text(&answer));

    let mut d = Daemon::builder().config(&config(&pki, None)).start();
    w.add_to(&d, &format!("https://{}", w.addr), "tls-node");
    let dir = job_dir(&d.work(), "job", &[("run.sh", "echo ran on the node\n")]);
    let id = d.submit(&dir, "example");
    // Three leases: the server tries the node again and again and is refused each time.
    let path = format!("/v1/jobs/{id}/wait?until=dispatched&timeout=3");
    let (code, body) = d.http_unix("GET", &path, &[], b"");
    assert_eq!(code, 200);
    let job = json(&body);
    assert_eq!(job["state"], "queued", "{job}\n{}", d.log());
    assert_eq!(node_state(&d), "unreachable");
    assert!(
        d.log().contains("client_cert and client_key"),
        "the server's log should say what to set:\n{}",
        d.log()
    );
    let payloads: Vec<_> = std::fs::read_dir(w.data().join("payloads"))
        .expect("payloads dir")
        .collect();
    assert!(payloads.is_empty(), "{payloads:?}");

    // The same server with its client certificate: the job runs on the node.
    d.stop();
    d.set_config(&config(&pki, Some(&client)));
    d.restart();
    let job = d.wait(id);
    assert_eq!(job["state"], "succeeded", "{job}\n{}\n{}", d.log(), w.log());
    assert_eq!(job["node"], "tls-node");
    assert_eq!(d.jobo_ok(&["logs", &id.to_string()]), "ran on the node\n");
}

/// TLS files that cannot be used stop the start with a message naming them, rather than
/// every connection failing later.
#[test]
fn unusable_tls_files_stop_the_start() {
    let pki = Pki::new("jobo test CA");
    let cert = pki.server("server", &["127.0.0.1"]);
    let other = pki.server("other", &["127.0.0.1"]);
    let mut d = Daemon::start();
    d.stop();
    let stderr = |out: Output| text(&out.stderr);

    let missing = d.root().join("missing.pem");
    let missing = missing.to_str().expect("utf-8 path");
    let serve = |cert: &str, key: &str| {
        let args = [
            "--listen",
            "127.0.0.1:0",
            "--tls-cert",
            cert,
            "--tls-key",
            key,
        ];
        stderr(d.serve_refused(&args))
    };
    let err = serve(missing, cert.key());
    assert!(err.contains(missing), "{err}");
    // A key that is not the certificate's.
    let err = serve(cert.cert(), other.key());
    assert!(err.contains("the key is not the certificate's"), "{err}");
    // The server's CA for nodes.
    let config = d.root().join("bad.toml");
    std::fs::write(&config, format!("[cluster]\nca_cert = \"{missing}\"\n")).expect("config");
    let out = d.serve_refused(&["--config", config.to_str().expect("utf-8 path")]);
    let err = stderr(out);
    assert!(
        err.contains(missing) && err.contains("CA certificate"),
        "{err}"
    );

    // A worker: a key without its certificate, and a missing client CA.
    let token = d.root().join("node.token");
    std::fs::write(&token, "t0ken\n").expect("token file");
    let worker = |args: &[&str]| {
        std::process::Command::new(JOBOD)
            .args(["worker", "--listen", "127.0.0.1:0", "--token-file"])
            .arg(&token)
            .arg("--data-dir")
            .arg(d.root().join("worker"))
            .args(args)
            .output()
            .expect("run jobod worker")
    };
    let out = worker(&["--tls-key", cert.key()]);
    assert!(!out.status.success());
    assert!(stderr(out).contains("--tls-cert"));
    let out = worker(&[
        "--tls-cert",
        cert.cert(),
        "--tls-key",
        cert.key(),
        "--tls-client-ca",
        missing,
    ]);
    assert!(!out.status.success());
    let err = stderr(out);
    assert!(err.contains(missing) && err.contains("client CA"), "{err}");
}
