//! Bad input gets a clear error and loses nothing: every refused request answers 4xx with a
//! message that says what is wrong (native `{"error"}`, seed `{"id","status","message"}`),
//! leaves no file behind (no staged upload, no new `data/jobs` entry, nothing written outside)
//! and creates no job row.

mod common;
use common::*;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The upload limit of [`LIMITED`].
const LIMIT: usize = 100_000;
const LIMITED: &str = "[server]\nmax_upload_bytes = 100000\n\n[services.example]\n";
const NATIVE_SUBMIT: &str = "/v1/jobs?service=example";
const RUN_SH: &[u8] = b"echo hi > out.txt\n";

fn daemon() -> Daemon {
    Daemon::builder().tcp().start()
}

fn limited_daemon() -> Daemon {
    Daemon::builder().config(LIMITED).tcp().start()
}

// ---------------------------------------------------------------------------------------------
// "Loses nothing": what must be the same after a refused request.

/// Every path below `root`, except the files the daemon legitimately touches at any time.
fn tree(root: &Path) -> BTreeSet<PathBuf> {
    let mut out = BTreeSet::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&dir) else {
            continue;
        };
        for e in rd.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if name == "jobod.log" || name.starts_with("jobo.db") {
                continue;
            }
            let path = e.path();
            if e.file_type().is_ok_and(|t| t.is_dir()) {
                stack.push(path.clone());
            }
            out.insert(path);
        }
    }
    out
}

fn job_entries(d: &Daemon) -> BTreeSet<PathBuf> {
    std::fs::read_dir(d.data().join("jobs"))
        .map(|rd| rd.flatten().map(|e| e.path()).collect())
        .unwrap_or_default()
}

fn job_count(d: &Daemon) -> usize {
    d.jobo_json(&["list", "--limit", "1000"])
        .as_array()
        .expect("jobo --json list gives an array")
        .len()
}

/// The state a refused request must not change.
struct Snapshot {
    files: BTreeSet<PathBuf>,
    job_dirs: BTreeSet<PathBuf>,
    jobs: usize,
}

impl Snapshot {
    fn take(d: &Daemon) -> Snapshot {
        Snapshot {
            files: tree(d.root()),
            job_dirs: job_entries(d),
            jobs: job_count(d),
        }
    }

    fn assert_unchanged(&self, d: &Daemon, case: &str) {
        assert!(
            d.staged_uploads().is_empty(),
            "{case}: upload left staged: {:?}",
            d.staged_uploads()
        );
        assert_eq!(
            job_entries(d),
            self.job_dirs,
            "{case}: data/jobs gained an entry"
        );
        let now = tree(d.root());
        let added: Vec<_> = now.difference(&self.files).collect();
        let removed: Vec<_> = self.files.difference(&now).collect();
        assert!(
            added.is_empty() && removed.is_empty(),
            "{case}: files changed: added {added:?}, removed {removed:?}"
        );
        assert_eq!(job_count(d), self.jobs, "{case}: a job row was created");
    }
}

// ---------------------------------------------------------------------------------------------
// Error shapes.

fn text(body: &[u8]) -> String {
    String::from_utf8_lossy(body).into_owned()
}

/// A native error: exactly `{"error": "..."}` with the given status, the message mentioning
/// every needle (case-insensitive). Returns the message.
fn native_error(case: &str, (status, body): (u16, Vec<u8>), want: u16, needles: &[&str]) -> String {
    assert_eq!(status, want, "{case}: status; body: {}", text(&body));
    let v = json(&body);
    let obj = v
        .as_object()
        .unwrap_or_else(|| panic!("{case}: not an object: {v}"));
    assert_eq!(obj.len(), 1, "{case}: native error has only 'error': {v}");
    let msg = obj["error"]
        .as_str()
        .unwrap_or_else(|| panic!("{case}: 'error' is not a string: {v}"));
    mentions(case, msg, needles);
    msg.to_string()
}

/// A seed error: exactly `{"id", "status", "message"}`, numeric `id` (0: no job) and one of
/// the seed's status words, as a client that reads it into the seed's `StatusBody` needs.
fn seed_error(
    case: &str,
    (status, body): (u16, Vec<u8>),
    want: u16,
    id: Option<i64>,
    word: &str,
    needles: &[&str],
) -> String {
    assert_eq!(status, want, "{case}: status; body: {}", text(&body));
    let v = json(&body);
    let obj = v
        .as_object()
        .unwrap_or_else(|| panic!("{case}: not an object: {v}"));
    let keys: BTreeSet<&str> = obj.keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        BTreeSet::from(["id", "status", "message"]),
        "{case}: seed shape: {v}"
    );
    assert_eq!(obj["id"], Value::from(id.unwrap_or(0)), "{case}: {v}");
    assert_eq!(obj["status"], word, "{case}: {v}");
    let msg = obj["message"]
        .as_str()
        .unwrap_or_else(|| panic!("{case}: 'message' is not a string: {v}"));
    mentions(case, msg, needles);
    msg.to_string()
}

fn mentions(case: &str, msg: &str, needles: &[&str]) {
    assert!(!msg.trim().is_empty(), "{case}: empty message");
    for n in needles {
        assert!(
            msg.to_lowercase().contains(&n.to_lowercase()),
            "{case}: message {msg:?} should mention {n:?}"
        );
    }
}

/// A failed `jobo` run: non-zero exit, exactly one line on stderr mentioning every needle.
fn jobo_fails(case: &str, out: &std::process::Output, needles: &[&str]) {
    let err = text(&out.stderr);
    assert!(!out.status.success(), "{case}: jobo succeeded: {err}");
    assert_eq!(
        err.trim_end().lines().count(),
        1,
        "{case}: one line: {err:?}"
    );
    mentions(case, &err, needles);
}

// ---------------------------------------------------------------------------------------------
// Requests.

fn native_upload(d: &Daemon, path: &str, body: &[u8]) -> (u16, Vec<u8>) {
    d.http("POST", path, &[("Content-Type", "application/gzip")], body)
}

fn seed_upload(d: &Daemon, fields: &[(&str, &str)], files: &[(&str, &[u8])]) -> (u16, Vec<u8>) {
    let (ct, body) = multipart(fields, files);
    d.http("POST", "/upload", &[("Content-Type", &ct)], &body)
}

const PORTAL: &[(&str, &str)] = &[("user_id", "7"), ("service", "example")];

fn connect(d: &Daemon) -> TcpStream {
    let s = TcpStream::connect(d.tcp.as_ref().expect("tcp")).expect("connect tcp");
    s.set_read_timeout(Some(Duration::from_secs(30)))
        .expect("read timeout");
    s.set_write_timeout(Some(Duration::from_secs(30)))
        .expect("write timeout");
    s
}

/// A POST head with the given body framing header, ready for the body.
fn head(d: &Daemon, path: &str, headers: &[(&str, &str)], framing: &str) -> String {
    let mut h =
        format!("POST {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n{framing}\r\n");
    let bearer = d.bearer();
    for (k, v) in d.with_token(headers, &bearer) {
        h.push_str(&format!("{k}: {v}\r\n"));
    }
    h.push_str("\r\n");
    h
}

/// Reads one answer: its head and its `Content-Length` body, without waiting for the server
/// to close (it may keep reading what the client still sends).
fn read_answer(mut s: TcpStream, case: &str) -> (u16, Vec<u8>) {
    let mut resp = Vec::new();
    let mut buf = [0u8; 8192];
    let end = loop {
        if let Some(end) = complete(&resp) {
            break end;
        }
        match s.read(&mut buf) {
            Ok(0) | Err(_) => break resp.len(),
            Ok(n) => resp.extend_from_slice(&buf[..n]),
        }
    };
    assert!(
        resp.windows(4).any(|w| w == b"\r\n\r\n"),
        "{case}: no answer (got {:?})",
        text(&resp)
    );
    parse_response(&resp[..end])
}

/// The length of the first response in `resp` if it is all there (it has a Content-Length).
fn complete(resp: &[u8]) -> Option<usize> {
    let split = resp.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = String::from_utf8_lossy(&resp[..split]).to_ascii_lowercase();
    let len: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))?
        .trim()
        .parse()
        .ok()?;
    let end = split + 4 + len;
    (resp.len() >= end).then_some(end)
}

/// Declares a `Content-Length` of `declared` bytes and sends none of them: the answer must
/// come from the headers alone.
fn declared_only(
    d: &Daemon,
    path: &str,
    headers: &[(&str, &str)],
    declared: u64,
) -> (u16, Vec<u8>) {
    let mut s = connect(d);
    let h = head(d, path, headers, &format!("Content-Length: {declared}"));
    s.write_all(h.as_bytes()).expect("send head");
    read_answer(s, "declared length")
}

/// What a streamed upload got: the answer, and whether the whole body could be sent.
struct Streamed {
    answer: (u16, Vec<u8>),
    sent_all: bool,
}

/// Streams `body` with `Transfer-Encoding: chunked` (no Content-Length) from another thread
/// while this one reads the answer.
fn chunked(d: &Daemon, path: &str, headers: &[(&str, &str)], body: Vec<u8>) -> Streamed {
    let mut s = connect(d);
    let h = head(d, path, headers, "Transfer-Encoding: chunked");
    s.write_all(h.as_bytes()).expect("send head");
    let mut writer = s.try_clone().expect("clone stream");
    let sender = std::thread::spawn(move || {
        for piece in body.chunks(16 * 1024) {
            let framed = [format!("{:x}\r\n", piece.len()).as_bytes(), piece, b"\r\n"].concat();
            if writer.write_all(&framed).is_err() {
                return false;
            }
        }
        writer.write_all(b"0\r\n\r\n").is_ok()
    });
    let answer = read_answer(s, "chunked upload");
    let sent_all = sender.join().expect("sender thread");
    Streamed { answer, sent_all }
}

// ---------------------------------------------------------------------------------------------
// Payloads.

/// Bytes that do not compress (xorshift), so a tar.gz of them is as big as they are.
fn noise(len: usize) -> Vec<u8> {
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

fn tar_header(name: &[u8], size: usize, kind: tar::EntryType) -> tar::Header {
    let mut h = tar::Header::new_gnu();
    h.set_size(size as u64);
    h.set_mode(0o644);
    h.set_entry_type(kind);
    h.as_old_mut().name[..name.len()].copy_from_slice(name);
    h.set_cksum();
    h
}

/// A tar.gz without compression (quick to build, as big as its content).
fn tgz_stored(files: &[(&str, &[u8])]) -> Vec<u8> {
    let gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::none());
    let mut tar = tar::Builder::new(gz);
    for (name, content) in files {
        let h = tar_header(name.as_bytes(), content.len(), tar::EntryType::Regular);
        tar.append(&h, *content).expect("append");
    }
    tar.into_inner().expect("tar").finish().expect("gzip")
}

/// A tar.gz of run.sh plus one file whose name (with a NUL) travels in a GNU long-name entry,
/// the one way a NUL can be part of a tar member name.
fn tgz_gnu_long_name(name: &[u8]) -> Vec<u8> {
    let gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    let mut tar = tar::Builder::new(gz);
    tar.append(
        &tar_header(b"run.sh", RUN_SH.len(), tar::EntryType::Regular),
        RUN_SH,
    )
    .expect("append");
    let mut long = name.to_vec();
    long.push(0);
    let h = tar_header(b"././@LongLink", long.len(), tar::EntryType::GNULongName);
    tar.append(&h, &long[..]).expect("append long name");
    tar.append(
        &tar_header(b"placeholder", 4, tar::EntryType::Regular),
        &b"evil"[..],
    )
    .expect("append");
    tar.into_inner().expect("tar").finish().expect("gzip")
}

/// The same with a PAX `path` record.
fn tgz_pax_path(name: &[u8]) -> Vec<u8> {
    let gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    let mut tar = tar::Builder::new(gz);
    tar.append(
        &tar_header(b"run.sh", RUN_SH.len(), tar::EntryType::Regular),
        RUN_SH,
    )
    .expect("append");
    // "<len> path=<name>\n" where <len> counts the whole record, itself included.
    let rest = [b" path=".as_slice(), name, b"\n"].concat();
    let mut len = rest.len() + 1;
    while len != rest.len() + len.to_string().len() {
        len = rest.len() + len.to_string().len();
    }
    let record = [len.to_string().as_bytes(), &rest].concat();
    let h = tar_header(b"PaxHeader", record.len(), tar::EntryType::XHeader);
    tar.append(&h, &record[..]).expect("append pax");
    tar.append(
        &tar_header(b"placeholder", 4, tar::EntryType::Regular),
        &b"evil"[..],
    )
    .expect("append");
    tar.into_inner().expect("tar").finish().expect("gzip")
}

/// A path outside the daemon's temp dir that an escaping upload would create.
fn outside(tag: &str) -> String {
    format!("/tmp/jobo-bad-input-{}-{tag}", std::process::id())
}

fn tgz_files(bytes: &[u8]) -> BTreeMap<String, Vec<u8>> {
    let mut a = tar::Archive::new(flate2::read::GzDecoder::new(bytes));
    let mut out = BTreeMap::new();
    for e in a.entries().expect("a valid tar.gz") {
        let mut e = e.expect("tar entry");
        if !e.header().entry_type().is_file() {
            continue;
        }
        let name = e.path().expect("path").to_string_lossy().into_owned();
        let mut data = Vec::new();
        e.read_to_end(&mut data).expect("read tar entry");
        out.insert(name, data);
    }
    out
}

// ---------------------------------------------------------------------------------------------
// The cases.

#[test]
fn missing_run_sh_is_refused_by_every_door() {
    let d = daemon();
    let dir = job_dir(&d.work(), "norun", &[("in.txt", "data\n")]);
    let before = Snapshot::take(&d);

    let r = native_upload(&d, NATIVE_SUBMIT, &tgz(&[("in.txt", b"data\n")]));
    native_error("native, no run.sh", r, 400, &["run.sh"]);
    before.assert_unchanged(&d, "native, no run.sh");

    let r = seed_upload(&d, PORTAL, &[("in.txt", b"data\n")]);
    seed_error("seed, no run.sh", r, 400, None, "Unknown", &["run.sh"]);
    before.assert_unchanged(&d, "seed, no run.sh");

    // A run.sh in a subdirectory is not the job's run.sh.
    let r = seed_upload(&d, PORTAL, &[("sub/run.sh", RUN_SH)]);
    seed_error("seed, run.sh nested", r, 400, None, "Unknown", &["run.sh"]);
    before.assert_unchanged(&d, "seed, run.sh nested");

    let out = d.jobo(&["submit", dir.to_str().unwrap(), "--service", "example"]);
    jobo_fails("jobo submit, no run.sh", &out, &["run.sh", "norun"]);
    before.assert_unchanged(&d, "jobo submit, no run.sh");
}

#[test]
fn unknown_service_is_refused() {
    let d = daemon();
    let dir = job_dir(&d.work(), "job", &[("run.sh", "true\n")]);
    let before = Snapshot::take(&d);
    let body = tgz(&[("run.sh", RUN_SH)]);

    let r = native_upload(&d, "/v1/jobs?service=nope", &body);
    native_error(
        "native, unknown service",
        r,
        400,
        &["unknown service", "nope"],
    );
    before.assert_unchanged(&d, "native, unknown service");

    let r = native_upload(&d, "/v1/jobs", &body);
    native_error("native, no service", r, 400, &["service"]);
    before.assert_unchanged(&d, "native, no service");

    // Refused before the body is read: a client still sending (as `jobo submit` streams its
    // archive) must get to read the refusal, not a broken pipe.
    let big = tgz_stored(&[("run.sh", RUN_SH), ("big.bin", &noise(16 << 20))]);
    let r = chunked(
        &d,
        "/v1/jobs?service=nope",
        &[("Content-Type", "application/gzip")],
        big,
    );
    native_error(
        "native, unknown service, streamed",
        r.answer,
        400,
        &["nope"],
    );
    assert!(r.sent_all, "the refusal broke the connection");
    before.assert_unchanged(&d, "native, unknown service, streamed");

    // A caller refused before its upload is looked at (the untrusted X-Jobo-User header) is
    // drained the same way.
    let big = tgz_stored(&[("run.sh", RUN_SH), ("big.bin", &noise(16 << 20))]);
    let r = chunked(
        &d,
        "/v1/jobs?service=example",
        &[
            ("Content-Type", "application/gzip"),
            ("X-Jobo-User", "no/such user"),
        ],
        big,
    );
    native_error(
        "native, X-Jobo-User",
        r.answer,
        400,
        &["X-Jobo-User is no longer trusted", "token"],
    );
    assert!(r.sent_all, "the refusal broke the connection");
    before.assert_unchanged(&d, "native, X-Jobo-User");

    let r = seed_upload(
        &d,
        &[("user_id", "7"), ("service", "nope")],
        &[("run.sh", RUN_SH)],
    );
    seed_error(
        "seed, unknown service",
        r,
        400,
        None,
        "Unknown",
        &["unknown service", "nope"],
    );
    before.assert_unchanged(&d, "seed, unknown service");

    let r = seed_upload(&d, &[("user_id", "7")], &[("run.sh", RUN_SH)]);
    seed_error("seed, no service", r, 400, None, "Unknown", &["service"]);
    before.assert_unchanged(&d, "seed, no service");

    let out = d.jobo(&["submit", dir.to_str().unwrap(), "--service", "nope"]);
    jobo_fails("jobo submit, unknown service", &out, &["nope"]);
    before.assert_unchanged(&d, "jobo submit, unknown service");
}

#[test]
fn seed_upload_needs_a_numeric_user_id() {
    let d = daemon();
    let before = Snapshot::take(&d);
    let files: &[(&str, &[u8])] = &[("run.sh", RUN_SH), ("data/in.csv", b"a,b\n")];

    let r = seed_upload(&d, &[("service", "example")], files);
    seed_error("no user_id", r, 400, None, "Unknown", &["user_id"]);
    before.assert_unchanged(&d, "no user_id");

    for bad in ["abc", "", "12x", "1.5"] {
        let case = format!("user_id {bad:?}");
        let r = seed_upload(&d, &[("user_id", bad), ("service", "example")], files);
        seed_error(&case, r, 400, None, "Unknown", &["user_id", "number"]);
        before.assert_unchanged(&d, &case);
    }
}

#[test]
fn hostile_names_in_multipart_are_refused() {
    let d = daemon();
    let before = Snapshot::take(&d);
    let abs = outside("multipart");
    for name in [
        "../evil.txt",
        "../../evil.txt",
        "data/../../evil.txt",
        "/etc/jobo-evil",
        abs.as_str(),
    ] {
        let case = format!("multipart name {name:?}");
        let r = seed_upload(&d, PORTAL, &[("run.sh", RUN_SH), (name, b"evil")]);
        seed_error(&case, r, 400, None, "Unknown", &["invalid file name"]);
        before.assert_unchanged(&d, &case);
    }
    // A NUL in a field name: refused, whether by the multipart parser or the name check.
    for name in ["a\0b.txt", "data/\0/x", "run.sh\0../../evil"] {
        let case = format!("multipart name {name:?}");
        let r = seed_upload(&d, PORTAL, &[("run.sh", RUN_SH), (name, b"evil")]);
        seed_error(&case, r, 400, None, "Unknown", &[]);
        before.assert_unchanged(&d, &case);
    }
    assert!(!Path::new(&abs).exists(), "{abs} was written");
    assert!(
        !Path::new("/etc/jobo-evil").exists(),
        "/etc/jobo-evil was written"
    );
}

#[test]
fn hostile_names_in_tar_gz_are_refused() {
    let d = daemon();
    let before = Snapshot::take(&d);
    let abs = outside("tgz");
    for name in [
        "../evil.txt",
        "../../evil.txt",
        "a/../../evil.txt",
        "/etc/jobo-evil",
        abs.as_str(),
    ] {
        let case = format!("tar name {name:?}");
        let r = native_upload(
            &d,
            NATIVE_SUBMIT,
            &tgz(&[("run.sh", RUN_SH), (name, b"evil")]),
        );
        native_error(&case, r, 400, &["invalid file name"]);
        before.assert_unchanged(&d, &case);
    }
    for name in [&b"sub\0evil.txt"[..], b"run.sh\0../../evil", b"\0"] {
        let case = format!("GNU long name {:?}", text(name));
        let r = native_upload(&d, NATIVE_SUBMIT, &tgz_gnu_long_name(name));
        native_error(&case, r, 400, &["invalid file name"]);
        before.assert_unchanged(&d, &case);

        let case = format!("PAX path {:?}", text(name));
        let r = native_upload(&d, NATIVE_SUBMIT, &tgz_pax_path(name));
        native_error(&case, r, 400, &["invalid file name"]);
        before.assert_unchanged(&d, &case);
    }
    assert!(!Path::new(&abs).exists(), "{abs} was written");
    assert!(
        !Path::new("/etc/jobo-evil").exists(),
        "/etc/jobo-evil was written"
    );
}

#[test]
fn a_body_that_is_not_tar_gz_or_multipart_is_refused() {
    let d = daemon();
    let before = Snapshot::take(&d);

    let good = tgz(&[("run.sh", RUN_SH), ("big.bin", &noise(50_000))]);
    let gzip_of_text = {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(&[b'x'; 2000]).unwrap();
        gz.finish().unwrap()
    };
    let native_cases: [(&str, &[u8]); 4] = [
        ("plain text", b"this is not a tar.gz at all"),
        ("truncated tar.gz", &good[..good.len() / 2]),
        ("gzip of non-tar", &gzip_of_text),
        ("tar.gz with junk in the middle", &{
            let mut b = good.clone();
            for x in &mut b[40..200] {
                *x ^= 0x5a;
            }
            b
        }),
    ];
    for (case, body) in native_cases {
        let r = native_upload(&d, NATIVE_SUBMIT, body);
        native_error(case, r, 400, &["tar.gz"]);
        before.assert_unchanged(&d, case);
    }

    let (ct, body) = multipart(PORTAL, &[("run.sh", RUN_SH), ("in.txt", b"data")]);
    let boundary_ct = ct.as_str();
    let seed_cases: [(&str, &str, &[u8]); 5] = [
        (
            "json instead of multipart",
            "application/json",
            b"{\"user_id\": 7}",
        ),
        ("multipart without boundary", "multipart/form-data", &body),
        (
            "garbage multipart",
            boundary_ct,
            b"this is not multipart at all",
        ),
        ("truncated multipart", boundary_ct, &body[..body.len() - 60]),
        ("no content type", "", &body),
    ];
    for (case, ct, body) in seed_cases {
        let headers: &[(&str, &str)] = if ct.is_empty() {
            &[]
        } else {
            &[("Content-Type", ct)]
        };
        let r = d.http("POST", "/upload", headers, body);
        seed_error(case, r, 400, None, "Unknown", &["multipart"]);
        before.assert_unchanged(&d, case);
    }
}

#[test]
fn a_declared_length_over_the_limit_is_refused_at_once() {
    let d = limited_daemon();
    let before = Snapshot::take(&d);
    let limit = LIMIT.to_string();

    // Only the head is sent: the answer cannot wait for the body.
    let r = declared_only(
        &d,
        NATIVE_SUBMIT,
        &[("Content-Type", "application/gzip")],
        10_000_000,
    );
    native_error("native, declared length", r, 413, &[&limit]);
    before.assert_unchanged(&d, "native, declared length");

    let (ct, _) = multipart(PORTAL, &[]);
    let r = declared_only(&d, "/upload", &[("Content-Type", &ct)], 10_000_000);
    seed_error("seed, declared length", r, 413, None, "Unknown", &[&limit]);
    before.assert_unchanged(&d, "seed, declared length");

    // The same with the whole body sent.
    let big = noise(LIMIT + 1);
    let r = native_upload(
        &d,
        NATIVE_SUBMIT,
        &tgz(&[("run.sh", RUN_SH), ("big.bin", &big)]),
    );
    native_error("native, whole body", r, 413, &[&limit]);
    before.assert_unchanged(&d, "native, whole body");

    let r = seed_upload(&d, PORTAL, &[("run.sh", RUN_SH), ("big.bin", &big)]);
    seed_error("seed, whole body", r, 413, None, "Unknown", &[&limit]);
    before.assert_unchanged(&d, "seed, whole body");

    // Small on the wire, big unpacked: the unpacked size counts too.
    let bomb = tgz(&[("run.sh", RUN_SH), ("zeros.bin", &vec![0u8; 4 * LIMIT])]);
    assert!(bomb.len() < LIMIT);
    let r = native_upload(&d, NATIVE_SUBMIT, &bomb);
    native_error("native, unpacked size", r, 413, &[&limit]);
    before.assert_unchanged(&d, "native, unpacked size");
}

#[test]
fn a_streamed_body_over_the_limit_is_refused_while_streaming() {
    let d = limited_daemon();
    let before = Snapshot::take(&d);
    let limit = LIMIT.to_string();
    // Far more than socket buffers hold: the client can only send it all if the server keeps
    // reading (and discarding) after its refusal instead of closing on it.
    let big = noise(160 * LIMIT);
    let gzip = [("Content-Type", "application/gzip")];

    let body = tgz_stored(&[("run.sh", RUN_SH), ("big.bin", &big)]);
    let r = chunked(&d, NATIVE_SUBMIT, &gzip, body);
    native_error("native, chunked", r.answer, 413, &[&limit]);
    assert!(
        r.sent_all,
        "native, chunked: the refusal broke the connection"
    );
    before.assert_unchanged(&d, "native, chunked");

    let (ct, body) = multipart(PORTAL, &[("run.sh", RUN_SH), ("big.bin", &big)]);
    let r = chunked(&d, "/upload", &[("Content-Type", &ct)], body);
    seed_error("seed, chunked", r.answer, 413, None, "Unknown", &[&limit]);
    assert!(
        r.sent_all,
        "seed, chunked: the refusal broke the connection"
    );
    before.assert_unchanged(&d, "seed, chunked");

    // The same helper under the limit is accepted: the 413 is about size, not framing.
    let small = noise(LIMIT / 4);
    let body = tgz_stored(&[("run.sh", RUN_SH), ("small.bin", &small)]);
    let (status, body) = chunked(&d, NATIVE_SUBMIT, &gzip, body).answer;
    assert_eq!(status, 201, "{}", text(&body));
    let (ct, body) = multipart(PORTAL, &[("run.sh", RUN_SH), ("small.bin", &small)]);
    let (status, body) = chunked(&d, "/upload", &[("Content-Type", &ct)], body).answer;
    assert_eq!(status, 201, "{}", text(&body));
    assert_eq!(job_count(&d), before.jobs + 2);
    assert!(d.staged_uploads().is_empty());
}

#[test]
fn unknown_and_invalid_job_ids() {
    let d = daemon();
    let before = Snapshot::take(&d);

    for (method, path) in [
        ("GET", "/v1/jobs/999"),
        ("GET", "/v1/jobs/999/results"),
        ("GET", "/v1/jobs/999/wait?timeout=1"),
        ("POST", "/v1/jobs/999/cancel"),
        ("DELETE", "/v1/jobs/999"),
    ] {
        let case = format!("{method} {path}");
        native_error(
            &case,
            d.http(method, path, &[], b""),
            404,
            &["job 999", "not found"],
        );
    }
    for (method, path) in [
        ("GET", "/v1/jobs/abc"),
        ("GET", "/v1/jobs/abc/results"),
        ("POST", "/v1/jobs/abc/cancel"),
        ("GET", "/v1/jobs/-1"),
        ("GET", "/v1/jobs/0"),
        ("GET", "/v1/jobs/1.5"),
    ] {
        let case = format!("{method} {path}");
        native_error(
            &case,
            d.http(method, path, &[], b""),
            400,
            &["invalid job id"],
        );
    }
    for (method, path) in [
        ("GET", "/download/999"),
        ("GET", "/download_partial/999"),
        ("POST", "/terminate/999"),
    ] {
        let case = format!("{method} {path}");
        let r = d.http(method, path, &[], b"");
        seed_error(
            &case,
            r,
            404,
            Some(999),
            "Unknown",
            &["job 999", "not found"],
        );
    }
    for (method, path) in [
        ("GET", "/download/abc"),
        ("GET", "/download_partial/abc"),
        ("POST", "/terminate/abc"),
        ("GET", "/download/-3"),
    ] {
        let case = format!("{method} {path}");
        let r = d.http(method, path, &[], b"");
        seed_error(&case, r, 400, None, "Unknown", &["invalid job id"]);
    }
    // The same over the socket.
    native_error(
        "socket GET /v1/jobs/999",
        d.http_unix("GET", "/v1/jobs/999", &[], b""),
        404,
        &["not found"],
    );
    seed_error(
        "socket GET /download/abc",
        d.http_unix("GET", "/download/abc", &[], b""),
        400,
        None,
        "Unknown",
        &["invalid job id"],
    );

    jobo_fails(
        "jobo status abc",
        &d.jobo(&["status", "abc"]),
        &["invalid job id", "abc"],
    );
    jobo_fails(
        "jobo status 999",
        &d.jobo(&["status", "999"]),
        &["999", "not found"],
    );
    jobo_fails(
        "jobo cancel abc",
        &d.jobo(&["cancel", "abc"]),
        &["invalid job id"],
    );
    jobo_fails("jobo fetch 999", &d.jobo(&["fetch", "999"]), &["999"]);
    before.assert_unchanged(&d, "job id lookups");
}

#[test]
fn cancelling_a_finished_job_conflicts_and_keeps_its_results() {
    let d = daemon();
    let dir = job_dir(
        &d.work(),
        "job",
        &[
            ("run.sh", "cat data/in.txt > out.txt\n"),
            ("data/in.txt", "kept\n"),
        ],
    );
    let id = d.submit(&dir, "example");
    assert_eq!(d.wait(id)["state"], "succeeded");

    let r = d.http("POST", &format!("/v1/jobs/{id}/cancel"), &[], b"");
    let msg = native_error("native cancel", r, 409, &["already succeeded"]);
    assert!(msg.contains(&id.to_string()), "{msg}");

    let r = d.http("POST", &format!("/terminate/{id}"), &[], b"");
    seed_error(
        "seed terminate",
        r,
        409,
        Some(id),
        "Completed",
        &["already succeeded"],
    );

    jobo_fails(
        "jobo cancel",
        &d.jobo(&["cancel", &id.to_string()]),
        &["already succeeded"],
    );

    // Nothing changed: still succeeded, results still there in both formats.
    let job = d.job(id);
    assert_eq!(job["state"], "succeeded", "{job}");
    assert_eq!(job["exit_code"], 0, "{job}");

    let (status, body) = d.http("GET", &format!("/v1/jobs/{id}/results"), &[], b"");
    assert_eq!(status, 200, "{}", text(&body));
    let files = tgz_files(&body);
    assert_eq!(
        files.get("out.txt").map(Vec::as_slice),
        Some(&b"kept\n"[..]),
        "{files:?}"
    );
    assert_eq!(
        files.get("data/in.txt").map(Vec::as_slice),
        Some(&b"kept\n"[..])
    );

    let (status, body) = d.http("GET", &format!("/download/{id}"), &[], b"");
    assert_eq!(status, 200, "{}", text(&body));
    let files = zip_files(&body);
    assert_eq!(
        files.get("out.txt").map(Vec::as_slice),
        Some(&b"kept\n"[..]),
        "{files:?}"
    );
    assert_eq!(
        files.get("data/in.txt").map(Vec::as_slice),
        Some(&b"kept\n"[..])
    );
}
