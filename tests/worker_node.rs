//! `jobod worker`: a real worker node on a temp dir and a free loopback port, driven by raw
//! HTTP through the seed's client routes and the native worker protocol (`/v1`).

mod common;

use common::{JOBOD, json, mkfifo, multipart, parse_response, processes_under, raw_exchange, tgz};
use serde_json::Value;
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::worker::{TOKEN, Worker};

/// The seed client routes, as the seed's server calls them.
impl Worker {
    fn payload_dirs(&self) -> Vec<PathBuf> {
        std::fs::read_dir(self.root().join("data/payloads"))
            .map(|rd| rd.filter_map(|e| e.ok().map(|e| e.path())).collect())
            .unwrap_or_default()
    }

    /// `POST /submit` of `files` with `token`: (status, body).
    fn submit_with(&self, token: Option<&str>, files: &[(&str, &[u8])]) -> (u16, Vec<u8>) {
        let (ct, body) = multipart(&[], files);
        self.http("POST", "/submit", token, &[("Content-Type", &ct)], &body)
    }

    /// Submits with the right token; returns the payload's number.
    fn submit(&self, files: &[(&str, &[u8])]) -> String {
        let (status, body) = self.submit_with(Some(TOKEN), files);
        submitted(status, &body, &self.log())
    }

    /// The directory of a payload not completed yet (`loc` of its record is its `work/`).
    fn payload_dir(&self, id: &str) -> PathBuf {
        let (_, body) = self.http("GET", &format!("/retrieve/{id}"), Some(TOKEN), &[], b"");
        let v = json(&body);
        let loc = PathBuf::from(v["loc"].as_str().unwrap_or_else(|| panic!("no loc: {v}")));
        loc.parent().expect("payload dir").to_path_buf()
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
/// Checks a `/submit` answer is the seed client's: `200` and its payload record, numbered;
/// returns the number.
fn submitted(status: u16, body: &[u8], log: &str) -> String {
    assert_eq!(
        status,
        200,
        "submit: {}\n{log}",
        String::from_utf8_lossy(body)
    );
    let v = json(body);
    let keys: Vec<&str> = v
        .as_object()
        .map_or(vec![], |o| o.keys().map(String::as_str).collect());
    assert_eq!(
        keys,
        ["id", "input", "killed", "loc", "pid", "status"],
        "{v}"
    );
    assert_eq!(v["status"], "Prepared", "{v}");
    assert_eq!(v["input"], serde_json::json!({}), "{v}");
    let n = v["id"]
        .as_u64()
        .filter(|n| *n > 0 && *n <= u64::from(u32::MAX));
    n.unwrap_or_else(|| panic!("not a u32 id: {v}")).to_string()
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

#[test]
fn submit_retrieve_while_running_then_zip() {
    let w = Worker::start(&["--slots", "2"]);
    let fifo = w.root().join("go");
    mkfifo(&fifo);
    let script = format!(
        "read line < {}\necho \"$line\" > out/result.txt\ncat data/in.txt >> out/result.txt\n",
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
    assert_eq!(v["id"].to_string(), id);
    assert_eq!(v["status"], "Running");
    assert_eq!(v["killed"], false, "{v}");
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
        "go\ninput data\n"
    );
    assert_eq!(file(&files, "run.sh"), script.as_bytes());
    assert!(w.log().contains("Completed"), "{}", w.log());

    // Unknown numbers: 404 with the seed's empty record; not a number: 400, as the seed.
    for (method, path) in [
        ("GET", "/retrieve/999"),
        ("GET", "/retrieve_partial/999"),
        ("POST", "/kill/999"),
    ] {
        let (status, body) = w.http(method, path, Some(TOKEN), &[], b"");
        assert_eq!(status, 404, "{method} {path}");
        let v = json(&body);
        assert_eq!(
            (v["id"].as_u64(), v["status"].as_str()),
            (Some(0), Some("Unknown")),
            "{v}"
        );
    }
    let (status, body) = w.http("GET", "/retrieve/nope", Some(TOKEN), &[], b"");
    assert_eq!(status, 400);
    assert!(String::from_utf8_lossy(&body).contains("Cannot parse"));
    // A wrong method on a seed path: 405.
    let (status, _) = w.http("GET", &format!("/kill/{id}"), Some(TOKEN), &[], b"");
    assert_eq!(status, 405);
}

#[test]
fn failing_run_is_failed_and_its_files_are_kept() {
    let w = Worker::start(&[]);
    let id = w.submit(&[("run.sh", b"echo partial > partial.txt\nexit 3\n")]);
    // As the seed's client: a run that did not complete is a status, never a zip…
    w.wait_status(&id, "Failed");
    // …with how it ended in headers the seed ignores.
    let head = raw_head(&w, &format!("/retrieve/{id}"));
    assert!(head.contains("content-type: application/json"), "{head}");
    assert!(head.contains("x-jobo-status: failed"), "{head}");
    assert!(head.contains("x-jobo-exit-code: 3"), "{head}");
    // Its files come from the partial route, with the same headers.
    let (status, zip) = w.http(
        "GET",
        &format!("/retrieve_partial/{id}"),
        Some(TOKEN),
        &[],
        b"",
    );
    assert_eq!(status, 200);
    assert_eq!(file(&unzip(&zip), "partial.txt"), b"partial\n");
    assert!(raw_head(&w, &format!("/retrieve_partial/{id}")).contains("x-jobo-exit-code: 3"));
    // The kill of a finished payload only reports it: 200, no body, as the seed.
    let (status, body) = w.http("POST", &format!("/kill/{id}"), Some(TOKEN), &[], b"");
    assert_eq!((status, body.len()), (200, 0));
}

/// The head of a `GET path` answer, lowercased.
fn raw_head(w: &Worker, path: &str) -> String {
    let mut s = TcpStream::connect(&w.addr).expect("connect");
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\nAuthorization: Bearer {TOKEN}\r\n\r\n"
    )
    .expect("send");
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).expect("read");
    let end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or(raw.len());
    String::from_utf8_lossy(&raw[..end]).to_ascii_lowercase()
}

#[test]
fn kill_stops_the_whole_group() {
    let w = Worker::start(&[]);
    let id = w.submit(&[("run.sh", b"sleep 300 &\necho $! > child.pid\nwait\n")]);
    w.wait_status(&id, "Running");
    let pid_file = w.payload_dir(&id).join("work/child.pid");
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
    assert!(body.is_empty(), "the seed's kill answers no body");
    // The answer comes once the group is gone (reaped by the node, its subreaper).
    let alive = std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| {
        !s.rsplit_once(')')
            .is_some_and(|(_, r)| r.trim_start().starts_with('Z'))
    });
    assert!(!alive, "background child {pid} survived the kill");
    assert!(processes_under(&w.root().join("data/payloads")).is_empty());
    // Over: the status says Killed, and the record that a kill was asked.
    w.wait_status(&id, "Killed");
    let (_, body) = w.http("GET", &format!("/retrieve/{id}"), Some(TOKEN), &[], b"");
    assert_eq!(json(&body)["killed"], true);
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
        ("GET", "/retrieve/1"),
        ("POST", "/kill/1"),
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
        submitted(status, &body, &w.log())
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
    // A bare JSON float, as the seed's.
    let load = json(&body).as_f64().expect("bare float");
    assert!((0.0..=100.0).contains(&load), "{load}");
    let (status, body) = w.http("GET", "/health", Some(TOKEN), &[], b"");
    assert_eq!(status, 200);
    assert_eq!(
        json(&body),
        serde_json::json!({"status": "ok", "database": "ok"})
    );
    let (status, body) = w.http("GET", "/", Some(TOKEN), &[], b"");
    assert_eq!(status, 200);
    assert_eq!(json(&body), serde_json::json!({"message": "pong"}));
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
    let dirs = w.payload_dirs();
    w.kill9_node_only();
    assert_eq!(dirs.len(), 1, "{dirs:?}");
    assert!(dirs[0].exists());
    w.boot();
    assert!(w.payload_dirs().is_empty(), "{:?}", w.payload_dirs());
    let (status, _) = w.http("GET", &format!("/retrieve/{id}"), Some(TOKEN), &[], b"");
    assert_eq!(status, 404);
    // A seed server still polling the old number must never get another payload's files:
    // numbers go on from where the killed node left them.
    let next = w.submit(&[("run.sh", b"true\n")]);
    assert!(
        next.parse::<u32>().ok() > id.parse::<u32>().ok(),
        "{next} after {id}"
    );
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
    let (status, _) = w.http("POST", &format!("/kill/{second}"), Some(TOKEN), &[], b"");
    assert_eq!(status, 200);
    w.wait_status(&second, "Killed");
    std::fs::write(&fifo, "go\n").expect("release the first");
    w.retrieve_done(&first);
    // The killed payload is over and never ran.
    w.wait_status(&second, "Killed");
    assert!(!marker.exists());
}

// ---- The native worker protocol (`/v1`) ----

/// A streamed (chunked) response read as it arrives; every read gives up after 30 s, so a
/// stream that never comes fails the test instead of hanging it.
struct Streamed {
    head: String,
    reader: BufReader<TcpStream>,
    pending: Vec<u8>,
    ended: bool,
}

impl Streamed {
    fn status(&self) -> u16 {
        self.head
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .expect("status")
    }

    /// The next chunk of the body; `None` at its end.
    fn chunk(&mut self) -> Option<Vec<u8>> {
        if self.ended {
            return None;
        }
        let mut size = String::new();
        let n = self.reader.read_line(&mut size).expect("chunk size");
        if n == 0 {
            self.ended = true;
            return None;
        }
        let size = usize::from_str_radix(size.trim(), 16).expect("hex chunk size");
        let mut data = vec![0u8; size + 2];
        self.reader.read_exact(&mut data).expect("chunk");
        data.truncate(size);
        if size == 0 {
            self.ended = true;
            return None;
        }
        Some(data)
    }

    /// The next line of the body, without its newline.
    fn line(&mut self) -> Option<String> {
        loop {
            if let Some(pos) = self.pending.iter().position(|&b| b == b'\n') {
                let line: Vec<u8> = self.pending.drain(..=pos).collect();
                return Some(String::from_utf8_lossy(&line[..pos]).into_owned());
            }
            let chunk = self.chunk()?;
            self.pending.extend_from_slice(&chunk);
        }
    }

    /// Reads until the body read so far contains `want`; returns it all.
    fn read_until(&mut self, want: &str) -> String {
        while !String::from_utf8_lossy(&self.pending).contains(want) {
            let chunk = self
                .chunk()
                .unwrap_or_else(|| panic!("stream ended before {want:?}: {:?}", self.text()));
            self.pending.extend_from_slice(&chunk);
        }
        self.text()
    }

    /// Reads to the end of the body; returns it all.
    fn read_to_end(&mut self) -> String {
        while let Some(chunk) = self.chunk() {
            self.pending.extend_from_slice(&chunk);
        }
        self.text()
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.pending).into_owned()
    }

    /// The next feed event (an ndjson line).
    fn event(&mut self) -> Value {
        let line = self.line().expect("the feed ended");
        serde_json::from_str(&line).unwrap_or_else(|e| panic!("bad feed line ({e}): {line}"))
    }

    /// Feed events until `id` changes to `state`; returns the states it went through.
    fn wait_change(&mut self, id: &str, state: &str) -> Vec<Value> {
        let deadline = Instant::now() + Duration::from_secs(30);
        let mut seen = Vec::new();
        loop {
            assert!(
                Instant::now() < deadline,
                "{id} never got to {state}: {seen:?}"
            );
            let e = self.event();
            if e["kind"] != "change" || e["payload"]["id"] != id {
                continue;
            }
            seen.push(e["payload"].clone());
            if e["payload"]["state"] == state {
                return seen;
            }
        }
    }
}

impl Worker {
    /// Sends a body-less request with the token and returns its response to be read as it
    /// streams.
    fn open(&self, method: &str, path: &str) -> Streamed {
        let mut stream = TcpStream::connect(&self.addr).expect("connect worker");
        stream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .expect("read timeout");
        write!(
            stream,
            "{method} {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\nAuthorization: Bearer {TOKEN}\r\n\r\n"
        )
        .expect("send");
        let mut reader = BufReader::new(stream);
        let mut head = String::new();
        loop {
            let mut line = String::new();
            reader.read_line(&mut line).expect("response head");
            if line == "\r\n" || line.is_empty() {
                break;
            }
            head.push_str(&line);
        }
        assert!(
            head.to_ascii_lowercase()
                .contains("transfer-encoding: chunked"),
            "{head}"
        );
        Streamed {
            head,
            reader,
            pending: Vec::new(),
            ended: false,
        }
    }

    /// `GET /v1/feed?beat_ms=N`, its hello already read and returned.
    fn feed(&self, beat_ms: u64) -> (Streamed, Value) {
        let mut feed = self.open("GET", &format!("/v1/feed?beat_ms={beat_ms}"));
        assert_eq!(feed.status(), 200, "{}", feed.head);
        assert!(
            feed.head
                .to_ascii_lowercase()
                .contains("content-type: application/x-ndjson"),
            "{}",
            feed.head
        );
        let hello = feed.event();
        assert_eq!(hello["kind"], "hello", "{hello}");
        (feed, hello)
    }

    /// `PUT /v1/payloads/{id}?{query}` of a tar.gz of `files`: (status, JSON).
    fn put(&self, id: &str, query: &str, files: &[(&str, &[u8])]) -> (u16, Value) {
        self.put_raw(id, query, &tgz(files))
    }

    fn put_raw(&self, id: &str, query: &str, body: &[u8]) -> (u16, Value) {
        let (status, body) = self.http(
            "PUT",
            &format!("/v1/payloads/{id}?{query}"),
            Some(TOKEN),
            &[("Content-Type", "application/gzip")],
            body,
        );
        (status, json(&body))
    }

    /// A request with the token: (lower-cased head, body).
    fn exchange(&self, method: &str, path: &str) -> (String, Vec<u8>) {
        let stream = TcpStream::connect(&self.addr).expect("connect worker");
        let auth = format!("Bearer {TOKEN}");
        let raw = raw_exchange(stream, method, path, &[("Authorization", &auth)], b"");
        let split = raw
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .expect("response head");
        let head = String::from_utf8_lossy(&raw[..split]).to_ascii_lowercase();
        (head, parse_response(&raw).1)
    }

    fn list(&self) -> Value {
        let (status, body) = self.http("GET", "/v1/payloads", Some(TOKEN), &[], b"");
        assert_eq!(status, 200);
        json(&body)
    }

    fn staged_uploads(&self) -> Vec<PathBuf> {
        std::fs::read_dir(self.data().join("tmp"))
            .map(|rd| rd.filter_map(|e| e.ok().map(|e| e.path())).collect())
            .unwrap_or_default()
    }
}

fn new_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// Every entry of a tar.gz: files with their content, directories with `None`.
fn untar(bytes: &[u8]) -> BTreeMap<String, Option<Vec<u8>>> {
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(bytes));
    let mut out = BTreeMap::new();
    for entry in archive.entries().expect("a tar.gz") {
        let mut entry = entry.expect("tar entry");
        let name = entry
            .path()
            .expect("entry name")
            .to_string_lossy()
            .trim_end_matches('/')
            .to_string();
        let content = if entry.header().entry_type().is_dir() {
            None
        } else {
            let mut data = Vec::new();
            entry.read_to_end(&mut data).expect("read entry");
            Some(data)
        };
        out.insert(name, content);
    }
    out
}

fn content<'a>(files: &'a BTreeMap<String, Option<Vec<u8>>>, name: &str) -> &'a [u8] {
    files
        .get(name)
        .and_then(|c| c.as_deref())
        .unwrap_or_else(|| panic!("no file {name} in {:?}", files.keys()))
}

fn is_alive(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| {
        !s.rsplit_once(')')
            .is_some_and(|(_, r)| r.trim_start().starts_with('Z'))
    })
}

#[test]
fn native_push_feed_results_delete() {
    let w = Worker::start(&["--slots", "3"]);
    let (mut feed, hello) = w.feed(60_000);
    assert_eq!(hello["slots"], 3, "{hello}");
    assert_eq!(hello["payloads"], serde_json::json!([]), "{hello}");
    assert!(hello["load"].is_number(), "{hello}");

    let id = new_id();
    let script: &[u8] = b"echo out-line\necho err-line >&2\necho made > out/result.txt\necho scratch > \"$TMPDIR/s.txt\"\n";
    let (status, info) = w.put(
        &id,
        "job=7&attempt=2",
        &[("run.sh", script), ("out/.keep", b"")],
    );
    assert_eq!(status, 201, "{info}");
    assert_eq!(info["id"], id.as_str());
    assert_eq!(info["job"], 7);
    assert_eq!(info["attempt"], 2);
    assert_eq!(info["state"], "prepared");

    let seen = feed.wait_change(&id, "completed");
    let states: Vec<&str> = seen.iter().filter_map(|p| p["state"].as_str()).collect();
    assert!(
        states.ends_with(&["running", "completed"]),
        "changes: {states:?}"
    );
    let done = seen.last().expect("completed");
    assert_eq!(done["exit_code"], 0, "{done}");
    assert_eq!(done["job"], 7, "{done}");

    let list = w.list();
    assert_eq!(list.as_array().map(Vec::len), Some(1), "{list}");
    assert_eq!(list[0]["state"], "completed", "{list}");
    // A new feed starts with what the node holds.
    let (_, hello) = w.feed(60_000);
    assert_eq!(hello["payloads"][0]["id"], id.as_str(), "{hello}");
    assert_eq!(hello["payloads"][0]["state"], "completed", "{hello}");

    let (head, body) = w.exchange("GET", &format!("/v1/payloads/{id}/results"));
    assert!(head.starts_with("http/1.1 200"), "{head}");
    assert!(head.contains("x-jobo-status: completed"), "{head}");
    assert!(head.contains("x-jobo-exit-code: 0"), "{head}");
    let files = untar(&body);
    assert_eq!(content(&files, "work/run.sh"), script);
    assert_eq!(content(&files, "work/out/result.txt"), b"made\n");
    assert_eq!(content(&files, "stdout.log"), b"out-line\n");
    assert_eq!(content(&files, "stderr.log"), b"err-line\n");
    // Each log's time index travels with it: one 16-byte record (offset, time) per chunk.
    let index = content(&files, "stdout.idx");
    assert!(
        !index.is_empty() && index.len().is_multiple_of(16),
        "{index:?}"
    );
    assert_eq!(&index[..8], 0u64.to_le_bytes());
    assert!(
        files.keys().all(|k| k == "work"
            || k.starts_with("work/")
            || k.ends_with(".log")
            || k.ends_with(".idx")),
        "{:?}",
        files.keys()
    );

    let payload_dir = w.data().join("payloads").join(&id);
    assert!(payload_dir.is_dir());
    let (status, body) = w.http(
        "DELETE",
        &format!("/v1/payloads/{id}"),
        Some(TOKEN),
        &[],
        b"",
    );
    assert_eq!(status, 204, "{}", String::from_utf8_lossy(&body));
    assert!(body.is_empty());
    assert!(!payload_dir.exists());
    assert_eq!(w.list(), serde_json::json!([]));
    for (method, path) in [
        ("DELETE", format!("/v1/payloads/{id}")),
        ("GET", format!("/v1/payloads/{id}/results")),
        ("POST", format!("/v1/payloads/{id}/cancel")),
        ("GET", format!("/v1/payloads/{id}/logs/stdout")),
    ] {
        let (status, body) = w.http(method, &path, Some(TOKEN), &[], b"");
        assert_eq!(status, 404, "{method} {path}");
        assert!(json(&body)["error"].is_string());
    }
    assert!(w.staged_uploads().is_empty(), "{:?}", w.staged_uploads());
}

#[test]
fn a_retried_push_never_runs_twice() {
    let w = Worker::start(&[]);
    let fifo = w.root().join("go");
    mkfifo(&fifo);
    let (mut feed, _) = w.feed(60_000);
    let id = new_id();
    let script = format!("echo ran >> counter.txt\nread line < {}\n", fifo.display());
    let files: &[(&str, &[u8])] = &[("run.sh", script.as_bytes())];
    let (status, first) = w.put(&id, "job=1&attempt=1", files);
    assert_eq!(status, 201, "{first}");
    feed.wait_change(&id, "running");

    // While it runs: the same push again, and one whose body is not even an archive.
    let (status, again) = w.put(&id, "job=1&attempt=1", files);
    assert_eq!(status, 200, "{again}");
    assert_eq!(again["state"], "running", "{again}");
    let (status, junk) = w.put_raw(&id, "job=1&attempt=1", b"not a tar.gz");
    assert_eq!(status, 200, "{junk}");

    std::fs::write(&fifo, "go\n").expect("release the run");
    feed.wait_change(&id, "completed");
    let (status, late) = w.put(&id, "job=1&attempt=1", files);
    assert_eq!(status, 200, "{late}");
    assert_eq!(late["state"], "completed", "{late}");
    assert_eq!(late["exit_code"], 0, "{late}");

    let (_, body) = w.exchange("GET", &format!("/v1/payloads/{id}/results"));
    assert_eq!(content(&untar(&body), "work/counter.txt"), b"ran\n");
    assert_eq!(w.list().as_array().map(Vec::len), Some(1));
    assert_eq!(w.payload_dirs().len(), 1);
    assert!(w.staged_uploads().is_empty(), "{:?}", w.staged_uploads());
}

#[test]
fn native_routes_need_the_token_even_when_seed_routes_do_not() {
    let w = Worker::start(&["--allow-seed-without-token"]);
    let marker = w.root().join("ran");
    let body = tgz(&[("run.sh", format!("touch {}\n", marker.display()).as_bytes())]);
    let id = new_id();
    let path = format!("/v1/payloads/{id}?job=1&attempt=1");
    for token in [None, Some("wrong"), Some("s3cret-node-token-but-longer")] {
        let (status, resp) = w.http("PUT", &path, token, &[], &body);
        assert_eq!(status, 401, "{token:?}: {}", String::from_utf8_lossy(&resp));
        assert!(json(&resp)["error"].is_string());
    }
    for (method, path) in [
        ("GET", "/v1/payloads".to_string()),
        ("GET", "/v1/feed".to_string()),
        ("GET", format!("/v1/payloads/{id}/results")),
        ("GET", format!("/v1/payloads/{id}/logs/stdout")),
        ("POST", format!("/v1/payloads/{id}/cancel")),
        ("DELETE", format!("/v1/payloads/{id}")),
    ] {
        let (status, _) = w.http(method, &path, None, &[], b"");
        assert_eq!(status, 401, "{method} {path}");
    }
    assert!(w.payload_dirs().is_empty(), "{:?}", w.payload_dirs());
    assert!(w.staged_uploads().is_empty(), "{:?}", w.staged_uploads());
    assert_eq!(w.list(), serde_json::json!([]));
    assert!(!marker.exists());
}

#[test]
fn bad_pushes_are_refused_with_json() {
    let w = Worker::start(&[]);
    let id = new_id();
    let (status, v) = w.put(&id, "job=1&attempt=1", &[("data.txt", b"no script\n")]);
    assert_eq!(status, 400, "{v}");
    assert!(
        v["error"].as_str().is_some_and(|e| e.contains("run.sh")),
        "{v}"
    );
    let run: &[(&str, &[u8])] = &[("run.sh", b"true\n")];
    for (id, query) in [
        ("not-a-uuid", "job=1&attempt=1"),
        (id.as_str(), "attempt=1"),
        (id.as_str(), "job=x&attempt=1"),
        (id.as_str(), "job=1&attempt=1&timeout=0"),
    ] {
        let (status, v) = w.put(id, query, run);
        assert_eq!(status, 400, "{id}?{query}: {v}");
        assert!(v["error"].is_string(), "{v}");
    }
    let (status, v) = w.put_raw(&id, "job=1&attempt=1", b"not a tar.gz at all");
    assert_eq!(status, 400, "{v}");
    // Nothing of them stayed, and the uuid is still free.
    assert!(w.payload_dirs().is_empty(), "{:?}", w.payload_dirs());
    assert!(w.staged_uploads().is_empty(), "{:?}", w.staged_uploads());
    let (status, v) = w.put(&id, "job=1&attempt=1", run);
    assert_eq!(status, 201, "{v}");

    let (status, _) = w.http("GET", "/v1/feed?beat_ms=often", Some(TOKEN), &[], b"");
    assert_eq!(status, 400);
    let (status, _) = w.http("GET", "/v1/nothing", Some(TOKEN), &[], b"");
    assert_eq!(status, 404);
}

#[test]
fn timeout_gives_timed_out() {
    let w = Worker::start(&[]);
    let (mut feed, _) = w.feed(60_000);
    let id = new_id();
    let (status, v) = w.put(
        &id,
        "job=3&attempt=1&timeout=1&kill_grace_ms=200",
        &[("run.sh", b"echo started\nsleep 300\n")],
    );
    assert_eq!(status, 201, "{v}");
    let seen = feed.wait_change(&id, "timed_out");
    let done = seen.last().expect("timed out");
    assert_eq!(done["reason"], "timed out after 1s", "{done}");
    assert_eq!(done["exit_code"], Value::Null, "{done}");
    assert!(processes_under(&w.data().join("payloads")).is_empty());
    let (head, body) = w.exchange("GET", &format!("/v1/payloads/{id}/results"));
    assert!(head.contains("x-jobo-status: timed_out"), "{head}");
    assert!(!head.contains("x-jobo-exit-code"), "{head}");
    assert_eq!(content(&untar(&body), "stdout.log"), b"started\n");
}

#[test]
fn cancel_kills_the_whole_group_and_keeps_the_files() {
    let w = Worker::start(&[]);
    let fifo = w.root().join("pid");
    mkfifo(&fifo);
    let (mut feed, _) = w.feed(60_000);
    let id = new_id();
    let script = format!(
        "echo before > before.txt\nsleep 300 &\necho $! > {}\nwait\n",
        fifo.display()
    );
    let (status, v) = w.put(&id, "job=4&attempt=1", &[("run.sh", script.as_bytes())]);
    assert_eq!(status, 201, "{v}");
    feed.wait_change(&id, "running");
    // Opening the fifo for reading waits for the run's writer: no polling.
    let pid: i32 = std::fs::read_to_string(&fifo)
        .expect("child pid")
        .trim()
        .parse()
        .expect("a pid");
    assert!(is_alive(pid));
    let (status, body) = w.http(
        "GET",
        &format!("/v1/payloads/{id}/results"),
        Some(TOKEN),
        &[],
        b"",
    );
    assert_eq!(status, 409, "{}", String::from_utf8_lossy(&body));
    assert!(json(&body)["error"].is_string());

    let (status, body) = w.http(
        "POST",
        &format!("/v1/payloads/{id}/cancel"),
        Some(TOKEN),
        &[],
        b"",
    );
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    let v = json(&body);
    assert_eq!(v["state"], "killed", "{v}");
    assert_eq!(v["reason"], "cancelled", "{v}");
    // The answer comes once the group is gone (reaped by the node, its subreaper).
    assert!(!is_alive(pid), "background child {pid} survived the cancel");
    assert!(processes_under(&w.data().join("payloads")).is_empty());
    feed.wait_change(&id, "killed");
    // Its files stay until it is deleted.
    let (head, body) = w.exchange("GET", &format!("/v1/payloads/{id}/results"));
    assert!(head.contains("x-jobo-status: killed"), "{head}");
    assert_eq!(content(&untar(&body), "work/before.txt"), b"before\n");
    // Cancelling again only reports it.
    let (status, body) = w.http(
        "POST",
        &format!("/v1/payloads/{id}/cancel"),
        Some(TOKEN),
        &[],
        b"",
    );
    assert_eq!(status, 200);
    assert_eq!(json(&body)["state"], "killed");
}

#[test]
fn delete_of_a_running_payload_kills_it_first() {
    let w = Worker::start(&[]);
    let (mut feed, _) = w.feed(60_000);
    let id = new_id();
    let (status, v) = w.put(
        &id,
        "job=5&attempt=1",
        &[("run.sh", b"sleep 300 &\nwait\n")],
    );
    assert_eq!(status, 201, "{v}");
    feed.wait_change(&id, "running");
    let (status, _) = w.http(
        "DELETE",
        &format!("/v1/payloads/{id}"),
        Some(TOKEN),
        &[],
        b"",
    );
    assert_eq!(status, 204);
    assert!(processes_under(&w.data().join("payloads")).is_empty());
    assert!(w.payload_dirs().is_empty(), "{:?}", w.payload_dirs());
    assert_eq!(w.list(), serde_json::json!([]));
}

#[test]
fn logs_follow_streams_while_running_and_ends_when_done() {
    let w = Worker::start(&[]);
    let fifo = w.root().join("go");
    mkfifo(&fifo);
    let id = new_id();
    let script = format!(
        "echo first\nread line < {}\necho \"$line\"\necho oops >&2\n",
        fifo.display()
    );
    let (status, v) = w.put(&id, "job=6&attempt=1", &[("run.sh", script.as_bytes())]);
    assert_eq!(status, 201, "{v}");
    let mut out = w.open("GET", &format!("/v1/payloads/{id}/logs/stdout?follow=true"));
    assert_eq!(out.status(), 200, "{}", out.head);
    assert_eq!(out.read_until("first\n"), "first\n");
    // The run printed "first", so it is about to read the fifo; writing waits for it.
    std::fs::write(&fifo, "second\n").expect("release the run");
    assert_eq!(out.read_to_end(), "first\nsecond\n");

    // Done: from an offset, and the other stream, without following.
    let (status, body) = w.http(
        "GET",
        &format!("/v1/payloads/{id}/logs/stdout?offset=6"),
        Some(TOKEN),
        &[],
        b"",
    );
    assert_eq!(status, 200);
    assert_eq!(body, b"second\n");
    let mut err = w.open("GET", &format!("/v1/payloads/{id}/logs/stderr?follow=true"));
    assert_eq!(err.read_to_end(), "oops\n");

    let (status, body) = w.http(
        "GET",
        &format!("/v1/payloads/{id}/logs/stdin"),
        Some(TOKEN),
        &[],
        b"",
    );
    assert_eq!(status, 400);
    assert!(json(&body)["error"].is_string());
    let (status, _) = w.http(
        "GET",
        &format!("/v1/payloads/{}/logs/stdout", new_id()),
        Some(TOKEN),
        &[],
        b"",
    );
    assert_eq!(status, 404);
}

#[test]
fn feed_beats_arrive() {
    let w = Worker::start(&["--slots", "2"]);
    let start = Instant::now();
    let (mut feed, hello) = w.feed(50);
    assert_eq!(hello["slots"], 2);
    let mut beats = 0;
    while beats < 2 {
        let e = feed.event();
        assert_eq!(e["kind"], "beat", "{e}");
        assert_eq!(e["running"], 0, "{e}");
        assert!(e["load"].is_number(), "{e}");
        beats += 1;
    }
    assert!(start.elapsed() < Duration::from_secs(20));
    // An absurd beat is clamped, not refused.
    let (mut fast, _) = w.feed(0);
    assert_eq!(fast.event()["kind"], "beat");
}
