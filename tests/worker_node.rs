//! `jobod worker`: a real worker node on a temp dir and a free loopback port, driven by raw
//! HTTP through the seed's client routes.

mod common;

use common::{JOBOD, json, kill_processes_under, multipart, processes_under, raw_http};
use std::io::Read;
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const TOKEN: &str = "s3cret-node-token";

/// A running `jobod worker`; killed on drop together with its payloads' processes.
struct Worker {
    dir: tempfile::TempDir,
    child: Option<Child>,
    addr: String,
    extra: Vec<String>,
}

impl Worker {
    fn start(extra: &[&str]) -> Worker {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::write(dir.path().join("token"), format!("{TOKEN}\n")).expect("token file");
        let mut w = Worker {
            dir,
            child: None,
            addr: String::new(),
            extra: extra.iter().map(|s| s.to_string()).collect(),
        };
        w.boot();
        w
    }

    fn data(&self) -> PathBuf {
        self.root().join("data")
    }

    fn boot(&mut self) {
        let file = self.data().join("jobod-worker.tcp");
        let _ = std::fs::remove_file(&file);
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.root().join("worker.log"))
            .expect("log");
        let child = Command::new(JOBOD)
            .arg("worker")
            .arg("--listen")
            .arg("127.0.0.1:0")
            .arg("--token-file")
            .arg(self.root().join("token"))
            .arg("--data-dir")
            .arg(self.data())
            .args(&self.extra)
            .env("JOBOD_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("spawn jobod worker");
        self.child = Some(child);
        // The address file appears (whole, by rename) once the listener is bound.
        let deadline = Instant::now() + Duration::from_secs(20);
        let mut pause = Duration::from_millis(2);
        loop {
            if let Ok(addr) = std::fs::read_to_string(&file) {
                self.addr = addr.trim().to_string();
                return;
            }
            if let Some(Ok(Some(status))) = self.child.as_mut().map(|c| c.try_wait()) {
                panic!("jobod worker exited at start ({status}):\n{}", self.log());
            }
            assert!(
                Instant::now() < deadline,
                "jobod worker did not come up:\n{}",
                self.log()
            );
            std::thread::sleep(pause);
            pause = (pause * 2).min(Duration::from_millis(50));
        }
    }

    fn kill9(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    fn root(&self) -> &Path {
        self.dir.path()
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.root().join("worker.log")).unwrap_or_default()
    }

    fn payload_dirs(&self) -> Vec<PathBuf> {
        std::fs::read_dir(self.root().join("data/payloads"))
            .map(|rd| rd.filter_map(|e| e.ok().map(|e| e.path())).collect())
            .unwrap_or_default()
    }

    fn http(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> (u16, Vec<u8>) {
        let auth = token.map(|t| format!("Bearer {t}"));
        let mut all: Vec<(&str, &str)> = headers.to_vec();
        if let Some(a) = &auth {
            all.push(("Authorization", a));
        }
        let stream = TcpStream::connect(&self.addr).expect("connect worker");
        raw_http(stream, method, path, &all, body)
    }

    /// `POST /submit` of `files` with `token`: (status, body).
    fn submit_with(&self, token: Option<&str>, files: &[(&str, &[u8])]) -> (u16, Vec<u8>) {
        let (ct, body) = multipart(&[], files);
        self.http("POST", "/submit", token, &[("Content-Type", &ct)], &body)
    }

    /// Submits with the right token; returns the payload id.
    fn submit(&self, files: &[(&str, &[u8])]) -> String {
        let (status, body) = self.submit_with(Some(TOKEN), files);
        assert!(
            status == 200 || status == 201,
            "submit: {status} {}\n{}",
            String::from_utf8_lossy(&body),
            self.log()
        );
        let v = json(&body);
        assert_eq!(v["status"], "Prepared", "{v}");
        v["id"].as_str().expect("id").to_string()
    }

    /// `GET /retrieve/{id}` until it answers with a zip (bounded back-off: the seed protocol
    /// polls); returns the zip bytes.
    fn retrieve_done(&self, id: &str) -> Vec<u8> {
        let deadline = Instant::now() + Duration::from_secs(30);
        let mut pause = Duration::from_millis(5);
        loop {
            let (status, body) =
                self.http("GET", &format!("/retrieve/{id}"), Some(TOKEN), &[], b"");
            assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
            if body.starts_with(b"PK") {
                return body;
            }
            let v = json(&body);
            assert!(v["status"] == "Prepared" || v["status"] == "Running", "{v}");
            assert!(
                Instant::now() < deadline,
                "payload {id} never finished: {v}\n{}",
                self.log()
            );
            std::thread::sleep(pause);
            pause = (pause * 2).min(Duration::from_millis(100));
        }
    }

    /// Retrieves until the status is `want` (bounded back-off).
    fn wait_status(&self, id: &str, want: &str) {
        let deadline = Instant::now() + Duration::from_secs(30);
        let mut pause = Duration::from_millis(5);
        loop {
            let (_, body) = self.http("GET", &format!("/retrieve/{id}"), Some(TOKEN), &[], b"");
            if !body.starts_with(b"PK") && json(&body)["status"] == want {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "payload {id} never got to {want}: {}",
                String::from_utf8_lossy(&body)
            );
            std::thread::sleep(pause);
            pause = (pause * 2).min(Duration::from_millis(100));
        }
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        self.kill9();
        kill_processes_under(self.dir.path());
    }
}

/// The files of a zip, by name.
fn unzip(bytes: &[u8]) -> Vec<(String, Vec<u8>)> {
    common::zip_files(bytes).into_iter().collect()
}

fn file<'a>(files: &'a [(String, Vec<u8>)], name: &str) -> &'a [u8] {
    &files
        .iter()
        .find(|(n, _)| n == name)
        .unwrap_or_else(|| {
            panic!(
                "no {name} in {:?}",
                files.iter().map(|f| &f.0).collect::<Vec<_>>()
            )
        })
        .1
}

fn mkfifo(path: &Path) {
    let c = std::ffi::CString::new(path.as_os_str().as_encoded_bytes()).expect("path");
    // SAFETY: a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0, "mkfifo");
}

#[test]
fn submit_retrieve_while_running_then_zip() {
    let w = Worker::start(&["--slots", "2"]);
    let fifo = w.root().join("go");
    mkfifo(&fifo);
    let script = format!(
        "read line < {}\necho \"$line $JOBO_JOB_ID\" > out/result.txt\ncat data/in.txt >> out/result.txt\n",
        fifo.display()
    );
    let id = w.submit(&[
        ("run.sh", script.as_bytes()),
        ("data/in.txt", b"input data\n"),
        ("out/.keep", b""),
    ]);
    // Blocked on the fifo: the node says it runs.
    w.wait_status(&id, "Running");
    let (status, body) = w.http("GET", &format!("/retrieve/{id}"), Some(TOKEN), &[], b"");
    assert_eq!(status, 200);
    let v = json(&body);
    assert_eq!(v["id"], id.as_str());
    assert_eq!(v["status"], "Running");
    assert!(v["message"].is_string(), "{v}");
    // A partial zip is there already, with the inputs.
    let (status, partial) = w.http(
        "GET",
        &format!("/retrieve_partial/{id}"),
        Some(TOKEN),
        &[],
        b"",
    );
    assert_eq!(status, 200);
    let files = unzip(&partial);
    assert_eq!(file(&files, "data/in.txt"), b"input data\n");

    // Opening the fifo for writing waits for the job's reader: no sleep needed.
    std::fs::write(&fifo, "go\n").expect("release the job");
    let zip = w.retrieve_done(&id);
    let files = unzip(&zip);
    assert_eq!(
        String::from_utf8_lossy(file(&files, "out/result.txt")),
        format!("go {id}\ninput data\n")
    );
    assert_eq!(file(&files, "run.sh"), script.as_bytes());
    assert!(w.log().contains("Completed"), "{}", w.log());

    // Unknown ids.
    let (status, body) = w.http(
        "GET",
        "/retrieve/00000000-0000-0000-0000-000000000000",
        Some(TOKEN),
        &[],
        b"",
    );
    assert_eq!(status, 404);
    assert!(json(&body)["error"].is_string());
    let (status, _) = w.http("GET", "/retrieve/nope", Some(TOKEN), &[], b"");
    assert_eq!(status, 404);
    let (status, _) = w.http(
        "POST",
        "/kill/00000000-0000-0000-0000-000000000000",
        Some(TOKEN),
        &[],
        b"",
    );
    assert_eq!(status, 404);
}

#[test]
fn failing_run_is_failed_and_its_files_are_kept() {
    let w = Worker::start(&[]);
    let id = w.submit(&[("run.sh", b"echo partial > partial.txt\nexit 3\n")]);
    let zip = w.retrieve_done(&id);
    assert_eq!(file(&unzip(&zip), "partial.txt"), b"partial\n");
    // The status travels with the zip, and the kill of a finished payload only reports it.
    let (status, body) = w.http("POST", &format!("/kill/{id}"), Some(TOKEN), &[], b"");
    assert_eq!(status, 200);
    assert_eq!(json(&body)["status"], "Failed");
    let stream = TcpStream::connect(&w.addr).expect("connect");
    let mut raw = Vec::new();
    {
        use std::io::Write;
        let mut s = stream;
        write!(
            s,
            "GET /retrieve/{id} HTTP/1.1\r\nHost: x\r\nConnection: close\r\nAuthorization: Bearer {TOKEN}\r\n\r\n"
        )
        .expect("send");
        s.read_to_end(&mut raw).expect("read");
    }
    let head = String::from_utf8_lossy(&raw).to_ascii_lowercase();
    assert!(head.contains("x-jobo-status: failed"), "{head}");
    assert!(head.contains("x-jobo-exit-code: 3"), "{head}");
}

#[test]
fn kill_stops_the_whole_group() {
    let w = Worker::start(&[]);
    let id = w.submit(&[("run.sh", b"sleep 300 &\necho $! > child.pid\nwait\n")]);
    w.wait_status(&id, "Running");
    let pid_file = w
        .root()
        .join("data/payloads")
        .join(&id)
        .join("work/child.pid");
    let deadline = Instant::now() + Duration::from_secs(20);
    let pid: i32 = loop {
        if let Some(p) = std::fs::read_to_string(&pid_file)
            .ok()
            .and_then(|s| s.trim().parse().ok())
        {
            break p;
        }
        assert!(Instant::now() < deadline, "no child.pid");
        std::thread::sleep(Duration::from_millis(10));
    };
    let (status, body) = w.http("POST", &format!("/kill/{id}"), Some(TOKEN), &[], b"");
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    assert_eq!(json(&body)["status"], "Killed");
    // The answer comes once the group is gone (reaped by the node, its subreaper).
    let alive = std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| {
        !s.rsplit_once(')')
            .is_some_and(|(_, r)| r.trim_start().starts_with('Z'))
    });
    assert!(!alive, "background child {pid} survived the kill");
    assert!(processes_under(&w.root().join("data/payloads")).is_empty());
    // Done: the zip is there, status Killed.
    w.retrieve_done(&id);
}

#[test]
fn token_is_required_and_checked() {
    let w = Worker::start(&[]);
    let marker = w.root().join("ran");
    let script = format!("touch {}\n", marker.display());
    for token in [None, Some("wrong"), Some("s3cret-node-token-but-longer")] {
        let (status, body) = w.submit_with(token, &[("run.sh", script.as_bytes())]);
        assert_eq!(status, 401, "{token:?}: {}", String::from_utf8_lossy(&body));
        assert!(json(&body)["error"].is_string());
    }
    for (method, path) in [
        ("GET", "/health"),
        ("GET", "/load"),
        ("GET", "/retrieve/00000000-0000-0000-0000-000000000000"),
        ("POST", "/kill/00000000-0000-0000-0000-000000000000"),
    ] {
        let (status, _) = w.http(method, path, None, &[], b"");
        assert_eq!(status, 401, "{method} {path}");
    }
    assert!(w.payload_dirs().is_empty(), "{:?}", w.payload_dirs());
    assert!(!marker.exists());
    assert!(!w.log().contains(TOKEN), "the token was logged");
}

#[test]
fn seed_routes_without_token_when_allowed() {
    let w = Worker::start(&["--allow-seed-without-token"]);
    assert!(
        w.log().contains("--allow-seed-without-token"),
        "{}",
        w.log()
    );
    let id = {
        let (status, body) = w.submit_with(None, &[("run.sh", b"echo hi > hi.txt\n")]);
        assert_eq!(status, 201, "{}", String::from_utf8_lossy(&body));
        json(&body)["id"].as_str().expect("id").to_string()
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (status, body) = w.http("GET", &format!("/retrieve/{id}"), None, &[], b"");
        assert_eq!(status, 200);
        if body.starts_with(b"PK") {
            assert_eq!(file(&unzip(&body), "hi.txt"), b"hi\n");
            break;
        }
        assert!(Instant::now() < deadline);
        std::thread::sleep(Duration::from_millis(20));
    }
    // A wrong token is still refused.
    let (status, _) = w.http("GET", "/health", Some("wrong"), &[], b"");
    assert_eq!(status, 401);
}

#[test]
fn one_slot_runs_one_payload_at_a_time() {
    let w = Worker::start(&["--slots", "1"]);
    let record = w.root().join("record");
    let ids: Vec<String> = (0..3)
        .map(|i| {
            let script = format!(
                "echo start {i} >> {r}\nsleep 0.2\necho end {i} >> {r}\n",
                r = record.display()
            );
            w.submit(&[("run.sh", script.as_bytes())])
        })
        .collect();
    for id in &ids {
        w.retrieve_done(id);
    }
    let text = std::fs::read_to_string(&record).expect("record");
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 6, "{text}");
    for pair in lines.chunks(2) {
        let (s, e) = (pair[0], pair[1]);
        assert!(s.starts_with("start "), "{text}");
        assert_eq!(s.replace("start", "end"), e, "overlap:\n{text}");
    }
}

#[test]
fn load_and_health() {
    let w = Worker::start(&[]);
    let (status, body) = w.http("GET", "/load", Some(TOKEN), &[], b"");
    assert_eq!(status, 200);
    let load: f64 = String::from_utf8_lossy(&body)
        .trim()
        .parse()
        .expect("bare float");
    assert!((0.0..=100.0).contains(&load), "{load}");
    let (status, body) = w.http("GET", "/health", Some(TOKEN), &[], b"");
    assert_eq!(status, 200);
    assert_eq!(json(&body), serde_json::json!({"status": "ok"}));
}

#[test]
fn missing_or_empty_token_file_is_a_clear_error() {
    let dir = tempfile::tempdir().expect("temp dir");
    let empty = dir.path().join("empty");
    std::fs::write(&empty, "\n").expect("write");
    for token_file in [dir.path().join("missing"), empty] {
        let out = Command::new(JOBOD)
            .arg("worker")
            .arg("--listen")
            .arg("127.0.0.1:0")
            .arg("--token-file")
            .arg(&token_file)
            .arg("--data-dir")
            .arg(dir.path().join("data"))
            .stdin(Stdio::null())
            .output()
            .expect("run jobod worker");
        assert!(!out.status.success());
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(err.trim().lines().count(), 1, "{err}");
        assert!(err.contains("token file"), "{err}");
    }
}

#[test]
fn leftover_payloads_are_emptied_at_start() {
    let mut w = Worker::start(&[]);
    let id = w.submit(&[("run.sh", b"true\n")]);
    w.retrieve_done(&id);
    w.kill9();
    assert!(w.data().join("payloads").join(&id).exists());
    w.boot();
    assert!(w.payload_dirs().is_empty(), "{:?}", w.payload_dirs());
    let (status, _) = w.http("GET", &format!("/retrieve/{id}"), Some(TOKEN), &[], b"");
    assert_eq!(status, 404);
}

#[test]
fn a_payload_killed_while_waiting_for_a_slot_never_runs() {
    let w = Worker::start(&["--slots", "1"]);
    let fifo = w.root().join("go");
    mkfifo(&fifo);
    let first = w.submit(&[(
        "run.sh",
        format!("read line < {}\n", fifo.display()).as_bytes(),
    )]);
    w.wait_status(&first, "Running");
    let marker = w.root().join("second-ran");
    let second = w.submit(&[("run.sh", format!("touch {}\n", marker.display()).as_bytes())]);
    let (status, body) = w.http("GET", &format!("/retrieve/{second}"), Some(TOKEN), &[], b"");
    assert_eq!(status, 200);
    assert_eq!(json(&body)["status"], "Prepared");
    let (status, body) = w.http("POST", &format!("/kill/{second}"), Some(TOKEN), &[], b"");
    assert_eq!(status, 200);
    assert_eq!(json(&body)["status"], "Killed");
    std::fs::write(&fifo, "go\n").expect("release the first");
    w.retrieve_done(&first);
    // The slot went to nobody else: the killed payload is done and never ran.
    w.retrieve_done(&second);
    assert!(!marker.exists());
}
