//! Hostile clients against a real `jobod`: stalled uploads, too many connections, huge
//! multipart headers and fields, uploads of too many entries or bad names, submit floods and
//! bodies far over the limit. Each is a clear 4xx (or 503) with a JSON error, keeps nothing
//! (no staged upload, no job), and leaves everyone else served.

mod common;
use common::*;
use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::{Duration, Instant};

const RUN_SH: &[u8] = b"echo hi > out.txt\n";
const SUBMIT: &str = "/v1/jobs?service=example";
const GZIP: (&str, &str) = ("Content-Type", "application/gzip");

// ---------------------------------------------------------------------------------------------
// Helpers.

fn text(body: &[u8]) -> String {
    String::from_utf8_lossy(body).into_owned()
}

fn connect(d: &Daemon) -> UnixStream {
    let s = UnixStream::connect(d.socket()).expect("connect socket");
    s.set_read_timeout(Some(Duration::from_secs(60)))
        .expect("read timeout");
    s.set_write_timeout(Some(Duration::from_secs(60)))
        .expect("write timeout");
    s
}

/// A POST head with `framing` (`Content-Length: N` or `Transfer-Encoding: chunked`).
fn head(path: &str, headers: &[(&str, &str)], framing: &str) -> Vec<u8> {
    let mut h = format!("POST {path} HTTP/1.1\r\nHost: localhost\r\n{framing}\r\n");
    for (k, v) in headers {
        h.push_str(&format!("{k}: {v}\r\n"));
    }
    h.push_str("\r\n");
    h.into_bytes()
}

/// One answer: (status, head in lower case, body); reads its `Content-Length` body without
/// waiting for the server to close.
fn read_answer(s: &mut impl Read) -> (u16, String, Vec<u8>) {
    let mut resp = Vec::new();
    let mut buf = [0u8; 8192];
    loop {
        if let Some(split) = resp.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = text(&resp[..split]).to_ascii_lowercase();
            let len: usize = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|l| l.trim().parse().ok())
                .unwrap_or(0);
            if resp.len() >= split + 4 + len {
                let status = head.split(' ').nth(1).and_then(|s| s.parse().ok());
                let body = resp[split + 4..split + 4 + len].to_vec();
                return (status.expect("a status"), head, body);
            }
        }
        match s.read(&mut buf) {
            Ok(0) | Err(_) => panic!("no whole answer: {:?}", text(&resp)),
            Ok(n) => resp.extend_from_slice(&buf[..n]),
        }
    }
}

/// A native error: exactly `{"error": …}` with status `want`, mentioning every needle.
fn error(case: &str, status: u16, body: &[u8], want: u16, needles: &[&str]) -> String {
    assert_eq!(status, want, "{case}: {}", text(body));
    let v = json(body);
    let msg = v["error"]
        .as_str()
        .unwrap_or_else(|| panic!("{case}: no error message: {v}"));
    assert_eq!(v.as_object().map(|o| o.len()), Some(1), "{case}: {v}");
    for n in needles {
        assert!(msg.contains(n), "{case}: {msg:?} does not mention {n:?}");
    }
    msg.to_string()
}

/// A field of `/proc/<jobod>/status`, in its unit (kB, or a count).
fn proc_status(d: &Daemon, key: &str) -> u64 {
    let pid = d.child.as_ref().expect("jobod").id();
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("proc status");
    status
        .lines()
        .find_map(|l| l.strip_prefix(key)?.strip_prefix(':'))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or_else(|| panic!("no {key} in /proc/{pid}/status"))
}

/// Polls `cond` every 20 ms until it holds; fails after `limit` saying `what`.
fn eventually(what: &str, limit: Duration, cond: impl Fn() -> bool) {
    let deadline = Instant::now() + limit;
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for: {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn job_count(d: &Daemon) -> usize {
    let (status, body) = d.http_unix("GET", "/v1/jobs?limit=1000", &[], b"");
    assert_eq!(status, 200, "{}", text(&body));
    json(&body).as_array().expect("a list").len()
}

/// Total size of the files below `dir`.
fn disk_use(dir: &Path) -> u64 {
    let mut total = 0;
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            match e.metadata() {
                Ok(m) if m.is_dir() => stack.push(e.path()),
                Ok(m) => total += m.len(),
                Err(_) => {}
            }
        }
    }
    total
}

/// Bytes that do not compress (xorshift).
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

/// A tar entry: raw name, type flag, content.
type Entry<'a> = (&'a [u8], u8, &'a [u8]);

/// A tar.gz of (raw name, type, content) entries written as given; a name longer than the
/// header's 100 bytes travels in a GNU long-name entry.
fn raw_tgz(entries: &[Entry]) -> Vec<u8> {
    let gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    let mut tar = tar::Builder::new(gz);
    let header = |name: &[u8], kind: u8, size: usize| {
        let mut h = tar::Header::new_gnu();
        h.set_size(size as u64);
        h.set_mode(0o755);
        h.set_entry_type(tar::EntryType::new(kind));
        let n = name.len().min(100);
        h.as_old_mut().name[..n].copy_from_slice(&name[..n]);
        h.set_cksum();
        h
    };
    for (name, kind, data) in entries {
        if name.len() > 100 {
            let long = [*name, b"\0"].concat();
            let h = header(b"././@LongLink", b'L', long.len());
            tar.append(&h, &long[..]).expect("append long name");
        }
        tar.append(&header(name, *kind, data.len()), *data)
            .expect("append");
    }
    tar.into_inner().expect("tar").finish().expect("gzip")
}

fn native(d: &Daemon, body: &[u8]) -> (u16, Vec<u8>) {
    d.http_unix("POST", SUBMIT, &[GZIP], body)
}

fn seed(d: &Daemon, files: &[(&str, &str, &[u8])]) -> (u16, Vec<u8>) {
    let (ct, body) = multipart_parts(&[("user_id", "7"), ("service", "example")], files);
    d.http_unix("POST", "/upload", &[("Content-Type", &ct)], &body)
}

/// A seed error: `{"id", "status", "message"}` with status `want`, mentioning every needle.
fn seed_error(case: &str, (status, body): (u16, Vec<u8>), want: u16, needles: &[&str]) {
    assert_eq!(status, want, "{case}: {}", text(&body));
    let v = json(&body);
    let msg = v["message"].as_str().unwrap_or_default();
    for n in needles {
        assert!(msg.contains(n), "{case}: {msg:?} does not mention {n:?}");
    }
}

/// Nothing of a refused upload is left, and no job was made.
fn nothing_kept(d: &Daemon, case: &str, jobs: usize) {
    eventually(
        &format!("{case}: staging emptied"),
        Duration::from_secs(10),
        || d.staged_uploads().is_empty(),
    );
    assert_eq!(job_count(d), jobs, "{case}: a job was recorded");
}

// ---------------------------------------------------------------------------------------------
// The cases.

/// 64 uploads stall halfway: they hold no thread of the blocking pool (but the four streaming
/// unpackers'), `/health` and a normal submit are answered meanwhile, and each stalled one is
/// answered 408 after `body_read_timeout` and closed, its staging (a spool file for the
/// larger ones past the streamers) removed.
#[test]
fn stalled_uploads_block_nothing_and_are_dropped() {
    const TIMEOUT: Duration = Duration::from_secs(10);
    let d = Daemon::builder()
        .config("[server]\nbody_read_timeout = \"10s\"\n\n[services.example]\n")
        .start();
    let threads_before = proc_status(&d, "Threads");
    let big = noise(3 << 20);
    let body = tgz(&[("run.sh", RUN_SH), ("big.bin", &big)]);
    let framing = format!("Content-Length: {}", body.len());
    let (ct, form) = multipart(
        &[("user_id", "7"), ("service", "example")],
        &[("big.bin", &big)],
    );
    let form_framing = format!("Content-Length: {}", form.len());
    let started = Instant::now();
    let mut stalled = Vec::new();
    for i in 0..64 {
        let mut s = connect(&d);
        if i % 16 == 8 {
            // Four seed uploads, their multipart written as it comes.
            s.write_all(&head("/upload", &[("Content-Type", &ct)], &form_framing))
                .expect("head");
            s.write_all(&form[..100_000]).expect("part of the body");
        } else {
            s.write_all(&head(SUBMIT, &[GZIP], &framing)).expect("head");
            // Eight send more than is kept in memory: four are unpacked as they come (each
            // holding a thread until the timeout), four are spooled to a file.
            let part = if i % 16 == 0 || i % 16 == 4 {
                2 << 20
            } else {
                10_000
            };
            s.write_all(&body[..part]).expect("part of the body");
        }
        stalled.push(s);
    }
    // And one never finishes its request head.
    let mut idle = connect(&d);
    idle.write_all(b"GET /health HTTP/1.1\r\nHost: loc")
        .expect("half a head");
    eventually(
        "64 uploads staged, 4 of them spooled",
        Duration::from_secs(10),
        || d.staged_uploads().len() >= 68,
    );
    let threads = proc_status(&d, "Threads");
    assert!(
        threads < threads_before + 24,
        "stalled uploads hold threads: {threads_before} before, {threads} with 64 stalled"
    );
    let t = Instant::now();
    let (status, body) = d.http_unix("GET", "/health", &[], b"");
    assert_eq!(status, 200, "{}", text(&body));
    assert!(
        t.elapsed() < Duration::from_secs(2),
        "/health took {:?}",
        t.elapsed()
    );
    let dir = job_dir(&d.work(), "fine", &[("run.sh", "echo fine\n")]);
    let id = d.submit(&dir, "example");
    assert!(
        started.elapsed() < TIMEOUT,
        "the submit waited for the stalled uploads"
    );
    assert_eq!(d.wait(id)["state"], "succeeded");

    for (i, mut s) in stalled.into_iter().enumerate() {
        let (status, head, body) = read_answer(&mut s);
        let needles = ["stalled", "body_read_timeout"];
        if i % 16 == 8 {
            seed_error("stalled seed upload", (status, body), 408, &needles);
        } else {
            error("stalled upload", status, &body, 408, &needles);
        }
        assert!(head.contains("connection: close"), "{head}");
        let mut rest = Vec::new();
        let _ = s.read_to_end(&mut rest);
    }
    assert!(started.elapsed() >= TIMEOUT, "answered before the timeout");
    // The half head: closed after the same timeout, whatever hyper answers first.
    let mut rest = Vec::new();
    let _ = idle.read_to_end(&mut rest);
    nothing_kept(&d, "stalled uploads", 1);
}

/// Past `max_connections` a connection is answered `503` with `Retry-After`, and served
/// again once others close.
#[test]
fn connections_past_the_limit_are_answered_503() {
    let d = Daemon::builder()
        .config("[server]\nmax_connections = 8\n\n[services.example]\n")
        .start();
    let held: Vec<_> = (0..8).map(|_| connect(&d)).collect();
    // The eight are accepted (in order) before the next one.
    let mut s = connect(&d);
    s.write_all(b"GET /health HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .expect("request");
    let (status, head, body) = read_answer(&mut s);
    error(
        "ninth connection",
        status,
        &body,
        503,
        &["max_connections", "8"],
    );
    let retry = head
        .lines()
        .find_map(|l| l.strip_prefix("retry-after:"))
        .and_then(|v| v.trim().parse::<u64>().ok());
    assert!(retry.is_some_and(|s| s >= 1), "no Retry-After: {head}");
    let mut rest = Vec::new();
    let _ = s.read_to_end(&mut rest);

    drop(held);
    eventually("served again", Duration::from_secs(10), || {
        d.http_unix("GET", "/health", &[], b"").0 == 200
    });
}

/// A seed upload whose text field, part header or preamble is hundreds of megabytes is
/// refused without jobod growing: nothing of it is held in memory.
#[test]
fn huge_multipart_headers_and_fields_are_refused_unbuffered() {
    let d = Daemon::start();
    let boundary = "hostileb0undary";
    let ct = format!("multipart/form-data; boundary={boundary}");
    let huge: usize = 300 << 20;
    let cases: [(&str, String, &[&str]); 3] = [
        (
            "a 300 MB text field",
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"user_id\"\r\n\r\n"),
            &["user_id", "too long"],
        ),
        (
            "a 300 MB part header",
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"x\"; x=\""),
            &["part headers"],
        ),
        (
            "300 MB before the first part",
            String::new(),
            &["before the first part"],
        ),
    ];
    for (case, start, needles) in cases {
        let hwm_before = proc_status(&d, "VmHWM");
        let mut s = connect(&d);
        let framing = format!("Content-Length: {}", start.len() + huge);
        s.write_all(&head("/upload", &[("Content-Type", &ct)], &framing))
            .expect("head");
        s.write_all(start.as_bytes()).expect("start");
        let mut writer = s.try_clone().expect("clone");
        let sender = std::thread::spawn(move || {
            let chunk = vec![b'7'; 1 << 20];
            for _ in 0..huge >> 20 {
                if writer.write_all(&chunk).is_err() {
                    return;
                }
            }
        });
        let (status, _, body) = read_answer(&mut s);
        drop(s);
        sender.join().expect("sender");
        assert_eq!(status, 400, "{case}: {}", text(&body));
        let msg = json(&body)["message"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        for n in needles {
            assert!(msg.contains(n), "{case}: {msg:?} does not mention {n:?}");
        }
        let grown = proc_status(&d, "VmHWM").saturating_sub(hwm_before);
        assert!(grown < 100 << 10, "{case}: jobod grew by {grown} kB");
        nothing_kept(&d, case, 0);
    }
}

/// `max_upload_entries` counts the files and directories an upload makes, implied
/// directories included, in tar.gz and multipart.
#[test]
fn uploads_of_too_many_entries_are_refused() {
    let d = Daemon::builder()
        .config("[server]\nmax_upload_entries = 20\n\n[services.example]\n")
        .start();
    let names: Vec<String> = (0..25).map(|i| format!("in{i}.txt")).collect();
    let mut files: Vec<(&str, &[u8])> = vec![("run.sh", RUN_SH)];
    files.extend(names.iter().map(|n| (n.as_str(), &b"x"[..])));

    let (status, body) = native(&d, &tgz(&files));
    error(
        "26 tar entries",
        status,
        &body,
        400,
        &["max_upload_entries", "20"],
    );
    nothing_kept(&d, "26 tar entries", 0);

    let deep = format!("{}/f.txt", vec!["d"; 25].join("/"));
    let (status, body) = native(&d, &tgz(&[("run.sh", RUN_SH), (&deep, b"x")]));
    error(
        "25 implied directories",
        status,
        &body,
        400,
        &["max_upload_entries"],
    );
    nothing_kept(&d, "25 implied directories", 0);

    let parts: Vec<(&str, &str, &[u8])> = files.iter().map(|(n, c)| (*n, *n, *c)).collect();
    seed_error(
        "26 parts",
        seed(&d, &parts),
        400,
        &["max_upload_entries", "20"],
    );
    nothing_kept(&d, "26 parts", 0);

    // Twenty is fine.
    let (status, body) = native(&d, &tgz(&files[..20]));
    assert_eq!(status, 201, "{}", text(&body));
    let (status, body) = seed(&d, &parts[..20]);
    assert_eq!(status, 201, "{}", text(&body));
}

/// Names over 4096 bytes, or with a component over 255, are refused naming the entry.
#[test]
fn names_too_long_are_refused() {
    let d = Daemon::start();
    let component = format!("{}.txt", "n".repeat(300));
    let path = vec!["p"; 2100].join("/");
    for (case, name) in [
        ("a 304-byte component", &component),
        ("a 4199-byte path", &path),
    ] {
        let (status, body) = native(
            &d,
            &raw_tgz(&[(b"run.sh", b'0', RUN_SH), (name.as_bytes(), b'0', b"x")]),
        );
        let msg = error(case, status, &body, 400, &["too long", "4096", "255"]);
        assert!(
            msg.contains(&name[..40]),
            "{case}: {msg:?} does not name the entry"
        );
        nothing_kept(&d, case, 0);
    }
    let files: [(&str, &str, &[u8]); 2] = [("run.sh", "run.sh", RUN_SH), ("f", &component, b"x")];
    seed_error(
        "multipart",
        seed(&d, &files),
        400,
        &["too long", &component[..40]],
    );
    nothing_kept(&d, "multipart", 0);
}

/// A file and a directory of one name, or one name twice, is a `400` naming it.
#[test]
fn a_file_and_a_directory_of_one_name_is_refused() {
    let d = Daemon::start();
    let run: Entry = (b"run.sh", b'0', RUN_SH);
    let cases: [(&str, Vec<Entry>, &[&str]); 4] = [
        (
            "file a, then a/b",
            vec![run, (b"a", b'0', b"1"), (b"a/b", b'0', b"2")],
            &["'a'", "both a file and a directory"],
        ),
        (
            "a/b, then file a",
            vec![run, (b"a/b", b'0', b"2"), (b"a", b'0', b"1")],
            &["'a'", "both a file and a directory"],
        ),
        (
            "file a, then directory a",
            vec![run, (b"a", b'0', b"1"), (b"a/", b'5', b"")],
            &["'a'", "both a file and a directory"],
        ),
        (
            "file a twice",
            vec![run, (b"a", b'0', b"1"), (b"a", b'0', b"2")],
            &["'a'", "twice"],
        ),
    ];
    for (case, entries, needles) in cases {
        let (status, body) = native(&d, &raw_tgz(&entries));
        error(case, status, &body, 400, needles);
        nothing_kept(&d, case, 0);
    }
    let parts: [(&str, &str, &[u8]); 3] = [
        ("run.sh", "run.sh", RUN_SH),
        ("a", "a", b"1"),
        ("a/b", "b", b"2"),
    ];
    seed_error("multipart a, a/b", seed(&d, &parts), 400, &["'a'", "both"]);
    nothing_kept(&d, "multipart a, a/b", 0);
}

/// Tar names that are not UTF-8 are kept exactly, so two that a lossy conversion would merge
/// stay two files; multipart names must be UTF-8 and are refused otherwise, never merged.
#[test]
fn names_that_are_not_utf8_are_kept_exactly_or_refused() {
    let d = Daemon::start();
    let (status, body) = native(
        &d,
        &raw_tgz(&[
            (b"run.sh", b'0', b"cat caf*.txt > out.txt\n"),
            (b"caf\xe9.txt", b'0', b"latin-1 "),
            (b"caf\xff.txt", b'0', b"not utf-8"),
        ]),
    );
    assert_eq!(status, 201, "{}", text(&body));
    let id = json(&body)["id"].as_i64().expect("job id");
    assert_eq!(d.wait(id)["state"], "succeeded");
    let (status, tgz) = d.http_unix("GET", &format!("/v1/jobs/{id}/results"), &[], b"");
    assert_eq!(status, 200);
    let mut files = std::collections::BTreeMap::new();
    let mut a = tar::Archive::new(flate2::read::GzDecoder::new(&tgz[..]));
    for e in a.entries().expect("results tar.gz") {
        let mut e = e.expect("entry");
        let name = e.path_bytes().into_owned();
        let mut data = Vec::new();
        e.read_to_end(&mut data).expect("read");
        files.insert(name, data);
    }
    assert_eq!(
        files.get(&b"caf\xe9.txt"[..]).map(Vec::as_slice),
        Some(&b"latin-1 "[..])
    );
    assert_eq!(
        files.get(&b"caf\xff.txt"[..]).map(Vec::as_slice),
        Some(&b"not utf-8"[..])
    );
    assert_eq!(
        files.get(&b"out.txt"[..]).map(Vec::as_slice),
        Some(&b"latin-1 not utf-8"[..])
    );

    // The same names as multipart filenames.
    let (ct, mut body) = multipart_parts(&[("user_id", "7"), ("service", "example")], &[]);
    let end = body.len() - format!("{}--\r\n", ct.rsplit('=').next().unwrap_or("")).len() - 2;
    let tail = body.split_off(end);
    let boundary = ct.rsplit('=').next().expect("boundary");
    for (name, data) in [(&b"caf\xe9.txt"[..], "1"), (b"caf\xff.txt", "2")] {
        body.extend_from_slice(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"")
                .as_bytes(),
        );
        body.extend_from_slice(name);
        body.extend_from_slice(format!("\"\r\n\r\n{data}\r\n").as_bytes());
    }
    body.extend_from_slice(&tail);
    let r = d.http_unix("POST", "/upload", &[("Content-Type", &ct)], &body);
    seed_error(
        "multipart names not UTF-8",
        r,
        400,
        &["not valid UTF-8", "caf\\xe9"],
    );
    nothing_kept(&d, "multipart names not UTF-8", 1);
}

/// Past `submit_rate`/`submit_burst` a user's submits are `429` with `Retry-After`; other
/// users (each portal user too) have their own allowance.
#[test]
fn submits_past_the_rate_are_429_with_retry_after() {
    let d = Daemon::builder()
        .config("[server]\nsubmit_rate = \"1/h\"\nsubmit_burst = 2\n\n[services.example]\n")
        .seed_tcp()
        .start();
    let body = tgz(&[("run.sh", RUN_SH)]);
    for _ in 0..2 {
        assert_eq!(native(&d, &body).0, 201);
    }
    let resp = raw_exchange(connect(&d), "POST", SUBMIT, &[GZIP], &body);
    let (status, body_3) = parse_response(&resp);
    error(
        "third submit",
        status,
        &body_3,
        429,
        &["submit_rate", "try again in"],
    );
    let head = text(&resp).to_ascii_lowercase();
    let retry = head
        .lines()
        .find_map(|l| l.strip_prefix("retry-after:"))
        .and_then(|v| v.trim().parse::<u64>().ok());
    assert!(
        retry.is_some_and(|s| s > 60),
        "Retry-After of about an hour: {head}"
    );
    nothing_kept(&d, "third submit", 2);

    let portal = |user: &str| {
        let (ct, body) = multipart(
            &[("user_id", user), ("service", "example")],
            &[("run.sh", RUN_SH)],
        );
        let addr = d.seed_tcp.as_ref().expect("seed listener");
        let stream = std::net::TcpStream::connect(addr).expect("connect");
        raw_http(stream, "POST", "/upload", &[("Content-Type", &ct)], &body)
    };
    for _ in 0..2 {
        assert_eq!(portal("7").0, 201);
    }
    seed_error(
        "portal user 7, third",
        portal("7"),
        429,
        &["portal:7", "submit_rate"],
    );
    assert_eq!(
        portal("8").0,
        201,
        "another portal user has an allowance of their own"
    );
    nothing_kept(&d, "portal", 5);
}

/// A body far over `max_upload_bytes` never makes the staging dir hold more than the limit
/// (plus a chunk): it is refused as it goes past, and what was staged is removed.
#[test]
fn temp_disk_of_a_refused_upload_is_bounded_by_the_limit() {
    let limit: u64 = 4 << 20;
    let d = Daemon::builder()
        .config(&format!(
            "[server]\nmax_upload_bytes = {limit}\n\n[services.example]\n"
        ))
        .start();
    let tmp = d.data().join("tmp");
    let body = tgz(&[("run.sh", RUN_SH), ("big.bin", &noise(64 << 20))]);
    let (ct, form) = multipart(
        &[("user_id", "7"), ("service", "example")],
        &[("run.sh", RUN_SH), ("big.bin", &noise(64 << 20))],
    );
    let cases = [
        ("native", SUBMIT, GZIP.1.to_string(), body),
        ("seed", "/upload", ct, form),
    ];
    for (case, path, ct, body) in cases {
        let mut s = connect(&d);
        s.write_all(&head(
            path,
            &[("Content-Type", &ct)],
            "Transfer-Encoding: chunked",
        ))
        .expect("head");
        let mut writer = s.try_clone().expect("clone");
        let sender = std::thread::spawn(move || {
            for piece in body.chunks(64 * 1024) {
                let framed = [format!("{:x}\r\n", piece.len()).as_bytes(), piece, b"\r\n"].concat();
                if writer.write_all(&framed).is_err() {
                    return;
                }
            }
            let _ = writer.write_all(b"0\r\n\r\n");
        });
        let watching = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
        let watcher = {
            let (tmp, watching) = (tmp.clone(), watching.clone());
            std::thread::spawn(move || {
                let mut most = 0;
                while watching.load(std::sync::atomic::Ordering::Relaxed) {
                    most = most.max(disk_use(&tmp));
                }
                most
            })
        };
        let (status, _, answer) = read_answer(&mut s);
        watching.store(false, std::sync::atomic::Ordering::Relaxed);
        let most = watcher.join().expect("watcher");
        drop(s);
        sender.join().expect("sender");
        assert_eq!(status, 413, "{case}: {}", text(&answer));
        assert!(
            most <= limit + (1 << 20),
            "{case}: the staging dir held {most} bytes (limit {limit})"
        );
        nothing_kept(&d, case, 0);
    }
}

/// A worker node takes uploads too (native pushes, the seed's `/submit`): the same names
/// are refused there the same way, and nothing is kept.
#[test]
fn a_worker_node_refuses_the_same_uploads() {
    use common::worker::{TOKEN, Worker};
    let w = Worker::start(&[]);
    let staged = || {
        std::fs::read_dir(w.data().join("tmp"))
            .map(|rd| rd.count())
            .unwrap_or(0)
    };
    let long = format!("{}.txt", "n".repeat(300));
    let cases: [(&str, Vec<u8>, &[&str]); 2] = [
        (
            "file a, then a/b",
            raw_tgz(&[
                (b"run.sh", b'0', RUN_SH),
                (b"a", b'0', b"1"),
                (b"a/b", b'0', b"2"),
            ]),
            &["'a'", "both a file and a directory"],
        ),
        (
            "a 304-byte name",
            raw_tgz(&[(b"run.sh", b'0', RUN_SH), (long.as_bytes(), b'0', b"x")]),
            &["too long"],
        ),
    ];
    for (i, (case, body, needles)) in cases.into_iter().enumerate() {
        let path = format!("/v1/payloads/00000000-0000-4000-8000-00000000000{i}?job=1&attempt=1");
        let (status, answer) = w.http("PUT", &path, Some(TOKEN), &[GZIP], &body);
        error(case, status, &answer, 400, needles);
        eventually(
            &format!("{case}: node staging emptied"),
            Duration::from_secs(10),
            || staged() == 0,
        );
    }
    let (ct, body) = multipart(&[], &[("run.sh", RUN_SH), ("a", b"1"), ("a/b", b"2")]);
    let (status, answer) = w.http(
        "POST",
        "/submit",
        Some(TOKEN),
        &[("Content-Type", &ct)],
        &body,
    );
    assert_eq!(status, 400, "{}", text(&answer));
    assert!(
        text(&answer).contains("both a file and a directory"),
        "{}",
        text(&answer)
    );
    eventually("node staging emptied", Duration::from_secs(10), || {
        staged() == 0
    });
}
