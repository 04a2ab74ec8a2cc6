//! The seed-compatible routes exactly as a web portal uses them: multipart `POST /upload`,
//! `GET /download/{id}` (status JSON until completed, then a zip), `GET /download_partial/{id}`,
//! `POST /terminate/{id}`, `GET /health` and `GET /`, over TCP and over the Unix socket.
//!
//! Jobs are held in place with FIFOs instead of sleeps: a job writes a line to `ready` once it
//! has produced its partial output and then blocks reading `go` until the test writes to it.
//! The test holds both FIFOs open read-write, so neither side ever blocks in `open`.

mod common;
use common::*;
use serde_json::Value;
use std::collections::BTreeMap;
use std::fs::File;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::os::unix::fs::FileTypeExt;
use std::os::unix::io::AsRawFd;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Copy)]
enum Via {
    Tcp,
    Socket,
}

/// An HTTP answer with its head, so content types can be checked.
struct Reply {
    status: u16,
    head: String,
    body: Vec<u8>,
}

impl Reply {
    fn header(&self, name: &str) -> Option<String> {
        self.head.lines().skip(1).find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.trim()
                .eq_ignore_ascii_case(name)
                .then(|| v.trim().to_string())
        })
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    fn json(&self) -> Value {
        assert_eq!(
            self.header("content-type").as_deref(),
            Some("application/json"),
            "{}\n{}",
            self.head,
            self.text()
        );
        json(&self.body)
    }
}

fn exchange(
    s: impl Read + Write,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Reply {
    let resp = raw_exchange(s, method, path, headers, body);
    let split = resp
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("no response head: {:?}", String::from_utf8_lossy(&resp)));
    let head = String::from_utf8_lossy(&resp[..split]).into_owned();
    let (status, body) = parse_response(&resp);
    Reply { status, head, body }
}

fn request(
    d: &Daemon,
    via: Via,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Reply {
    let timeout = Some(Duration::from_secs(60));
    match via {
        // The native API with the admin token; the seed routes as an old portal does: on
        // the seed_listen listener, without a token.
        Via::Tcp if path.starts_with("/v1") || path == "/health" => {
            let s = TcpStream::connect(d.tcp.as_ref().expect("tcp")).expect("connect tcp");
            s.set_read_timeout(timeout).expect("timeout");
            let bearer = d.bearer();
            exchange(s, method, path, &d.with_token(headers, &bearer), body)
        }
        Via::Tcp => {
            let s = TcpStream::connect(d.seed_tcp.as_ref().expect("seed tcp")).expect("connect");
            s.set_read_timeout(timeout).expect("timeout");
            exchange(s, method, path, headers, body)
        }
        Via::Socket => {
            let s = UnixStream::connect(d.socket()).expect("connect socket");
            s.set_read_timeout(timeout).expect("timeout");
            exchange(s, method, path, headers, body)
        }
    }
}

fn get(d: &Daemon, via: Via, path: &str) -> Reply {
    request(d, via, "GET", path, &[], b"")
}

/// `POST /upload` as a portal sends it; returns the new job's id after checking the answer.
fn upload(d: &Daemon, via: Via, user_id: &str, files: &[(&str, &[u8])]) -> i64 {
    let (ct, body) = multipart(&[("user_id", user_id), ("service", "example")], files);
    let r = request(d, via, "POST", "/upload", &[("Content-Type", &ct)], &body);
    assert_eq!(r.status, 201, "{}\n{}", r.text(), d.log());
    let v = r.json();
    assert_eq!(v["status"], "Queued", "{v}");
    assert!(v["message"].is_string(), "{v}");
    v["id"]
        .as_i64()
        .filter(|id| *id > 0)
        .unwrap_or_else(|| panic!("no job id: {v}"))
}

fn is_final(state: &Value) -> bool {
    !matches!(state.as_str(), Some("queued" | "dispatched" | "running"))
}

/// Waits with the native long poll (no sleeping) until job `id` is final.
fn wait_final(d: &Daemon, via: Via, id: i64) -> Value {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let r = get(d, via, &format!("/v1/jobs/{id}/wait?timeout=30"));
        assert_eq!(r.status, 200, "{}", r.text());
        let job = r.json();
        if is_final(&job["state"]) {
            return job;
        }
        assert!(
            Instant::now() < deadline,
            "job {id} not final in time: {job}"
        );
    }
}

/// Waits with the native long poll until job `id` is `running` (the store says so).
fn wait_running(d: &Daemon, via: Via, id: i64) {
    let r = get(
        d,
        via,
        &format!("/v1/jobs/{id}/wait?until=running&timeout=30"),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let job = r.json();
    assert_eq!(job["state"], "running", "{job}");
}

fn reply_zip(r: &Reply) -> BTreeMap<String, Vec<u8>> {
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(
        r.header("content-type").as_deref(),
        Some("application/zip"),
        "{}",
        r.head
    );
    common::zip_files(&r.body)
}

fn content<'a>(files: &'a BTreeMap<String, Vec<u8>>, name: &str) -> &'a str {
    let data = files
        .get(name)
        .unwrap_or_else(|| panic!("{name} missing from {:?}", files.keys().collect::<Vec<_>>()));
    std::str::from_utf8(data).expect("utf-8")
}

/// A FIFO at `path`, opened read-write (so opening it never blocks either side).
fn fifo(path: &Path) -> File {
    let c = std::ffi::CString::new(path.to_str().expect("utf-8 path")).expect("no NUL");
    // SAFETY: a valid NUL-terminated path.
    // 0666: the job runs as jobo-run when jobod is root.
    let rc = unsafe { libc::mkfifo(c.as_ptr(), 0o666) };
    assert_eq!(
        rc,
        0,
        "mkfifo {}: {}",
        path.display(),
        std::io::Error::last_os_error()
    );
    assert!(std::fs::metadata(path).unwrap().file_type().is_fifo());
    common::set_mode(path, 0o666);
    std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)
        .expect("open fifo")
}

/// Reads what the job wrote to a FIFO, waiting at most `limit` for it.
fn read_signal(d: &Daemon, f: &mut File, limit: Duration) -> String {
    let mut pfd = libc::pollfd {
        fd: f.as_raw_fd(),
        events: libc::POLLIN,
        revents: 0,
    };
    // SAFETY: one valid pollfd.
    let n = unsafe { libc::poll(&mut pfd, 1, limit.as_millis() as i32) };
    assert_eq!(
        n,
        1,
        "the job gave no signal within {limit:?}:\n{}",
        d.log()
    );
    let mut buf = [0u8; 256];
    let k = f.read(&mut buf).expect("read fifo");
    String::from_utf8_lossy(&buf[..k]).into_owned()
}

/// A job that writes `partial.txt`, says `ready`, waits for `go`, then uses its input.
struct HeldJob {
    ready: File,
    go: File,
    run_sh: String,
}

fn held_job(d: &Daemon, tag: &str) -> HeldJob {
    let ready_path: PathBuf = d.root().join(format!("{tag}.ready"));
    let go_path: PathBuf = d.root().join(format!("{tag}.go"));
    let ready = fifo(&ready_path);
    let go = fifo(&go_path);
    let run_sh = format!(
        "set -e\n\
         echo partial > partial.txt\n\
         echo ready > '{}'\n\
         read line < '{}'\n\
         echo \"got $line\" > got.txt\n\
         wc -l < data/in.csv | tr -d ' ' > lines.txt\n\
         cp data/in.csv copy.csv\n\
         echo finished\n",
        ready_path.display(),
        go_path.display()
    );
    HeldJob { ready, go, run_sh }
}

const CSV: &[u8] = b"a,b\n1,2\n3,4\n";

/// The whole portal round trip over one transport.
fn portal_round_trip(via: Via) {
    let d = Daemon::builder().tcp().seed_tcp().start();

    let r = get(&d, via, "/");
    assert_eq!(r.status, 200);
    assert_eq!(r.json(), serde_json::json!({"message": "pong"}));
    let r = get(&d, via, "/health");
    assert_eq!(r.status, 200);
    assert_eq!(
        r.json(),
        serde_json::json!({"status": "ok", "database": "ok"})
    );

    let mut job = held_job(&d, "rt");
    let id = upload(
        &d,
        via,
        "42",
        &[("run.sh", job.run_sh.as_bytes()), ("data/in.csv", CSV)],
    );
    let native = get(&d, via, &format!("/v1/jobs/{id}")).json();
    // An anonymous portal's job is its user's, under portal:; a socket user's is theirs.
    let owner = match via {
        Via::Tcp => "portal:42",
        Via::Socket => "root",
    };
    assert_eq!(native["user"], owner, "{native}");
    assert_eq!(native["service"], "example", "{native}");

    // Not finished yet: the status, as JSON.
    assert_eq!(
        read_signal(&d, &mut job.ready, Duration::from_secs(60)),
        "ready\n"
    );
    wait_running(&d, via, id);
    let r = get(&d, via, &format!("/download/{id}"));
    assert_eq!(r.status, 200, "{}", r.text());
    let v = r.json();
    assert_eq!(v["id"], id, "{v}");
    assert_eq!(v["status"], "Running", "{v}");
    assert!(v["message"].as_str().is_some_and(|m| !m.is_empty()), "{v}");

    // The partial download has what the run wrote so far, and the input.
    let files = reply_zip(&get(&d, via, &format!("/download_partial/{id}")));
    assert_eq!(content(&files, "partial.txt"), "partial\n");
    assert_eq!(content(&files, "data/in.csv").as_bytes(), CSV);
    assert!(!files.contains_key("lines.txt"), "{:?}", files.keys());

    job.go.write_all(b"go\n").expect("release the job");
    let fin = wait_final(&d, via, id);
    assert_eq!(fin["state"], "succeeded", "{fin}");

    // Completed: the zip of the results.
    let r = get(&d, via, &format!("/download/{id}"));
    assert_eq!(
        r.header("content-disposition").as_deref(),
        Some(format!("attachment; filename=\"job-{id}.zip\"").as_str())
    );
    let files = reply_zip(&r);
    assert_eq!(content(&files, "run.sh"), job.run_sh);
    assert_eq!(content(&files, "data/in.csv").as_bytes(), CSV);
    assert_eq!(content(&files, "copy.csv").as_bytes(), CSV);
    assert_eq!(content(&files, "lines.txt"), "3\n");
    assert_eq!(content(&files, "got.txt"), "got go\n");
    assert_eq!(content(&files, "partial.txt"), "partial\n");

    // The partial download of a finished job is the same set of files.
    let partial = reply_zip(&get(&d, via, &format!("/download_partial/{id}")));
    assert_eq!(partial, files);

    // The run's stdout went to its log, not into the results.
    let r = get(&d, via, &format!("/v1/jobs/{id}/logs/stdout"));
    assert_eq!((r.status, r.text().as_str()), (200, "finished\n"));
    assert!(d.staged_uploads().is_empty());
}

#[test]
fn portal_round_trip_over_tcp() {
    portal_round_trip(Via::Tcp);
}

#[test]
fn portal_round_trip_over_the_socket() {
    portal_round_trip(Via::Socket);
}

fn terminate_running(via: Via) {
    let d = Daemon::builder().tcp().seed_tcp().start();
    let mut job = held_job(&d, "term");
    let id = upload(
        &d,
        via,
        "5",
        &[("run.sh", job.run_sh.as_bytes()), ("data/in.csv", CSV)],
    );
    assert_eq!(
        read_signal(&d, &mut job.ready, Duration::from_secs(60)),
        "ready\n"
    );
    wait_running(&d, via, id);

    let r = request(&d, via, "POST", &format!("/terminate/{id}"), &[], b"");
    assert_eq!(r.status, 200, "{}\n{}", r.text(), d.log());
    let v = r.json();
    assert_eq!(v["id"], id, "{v}");
    assert_eq!(v["status"], "Killed", "{v}");
    assert!(v["message"].is_string(), "{v}");
    assert!(
        d.job_processes().is_empty(),
        "job processes survive: {:?}",
        d.job_processes()
    );

    // The portal sees it killed, not completed: the status, not a zip.
    let r = get(&d, via, &format!("/download/{id}"));
    assert_eq!(r.status, 200, "{}", r.text());
    let v = r.json();
    assert_eq!(v["id"], id, "{v}");
    assert_eq!(v["status"], "Killed", "{v}");
    let job_json = get(&d, via, &format!("/v1/jobs/{id}")).json();
    assert_eq!(job_json["state"], "cancelled", "{job_json}");

    // What it wrote before it was killed is still there.
    let files = reply_zip(&get(&d, via, &format!("/download_partial/{id}")));
    assert_eq!(content(&files, "partial.txt"), "partial\n");
    assert!(!files.contains_key("got.txt"), "{:?}", files.keys());

    // Terminating again: nothing to do, and it says so.
    let r = request(&d, via, "POST", &format!("/terminate/{id}"), &[], b"");
    assert_eq!(r.status, 409, "{}", r.text());
    let v = r.json();
    assert_eq!(v["status"], "Killed", "{v}");
    assert!(
        v["message"].as_str().is_some_and(|m| m.contains("already")),
        "{v}"
    );
}

#[test]
fn terminate_kills_a_running_job_over_tcp() {
    terminate_running(Via::Tcp);
}

#[test]
fn terminate_kills_a_running_job_over_the_socket() {
    terminate_running(Via::Socket);
}

#[test]
fn a_failed_job_downloads_as_failed_status() {
    let d = Daemon::builder().tcp().seed_tcp().start();
    let id = upload(
        &d,
        Via::Tcp,
        "9",
        &[
            ("run.sh", b"echo half > half.txt; exit 3\n"),
            ("data/in.csv", CSV),
        ],
    );
    let fin = wait_final(&d, Via::Tcp, id);
    assert_eq!(fin["state"], "failed", "{fin}");
    let r = get(&d, Via::Tcp, &format!("/download/{id}"));
    assert_eq!(r.status, 200, "{}", r.text());
    let v = r.json();
    assert_eq!(v["id"], id, "{v}");
    assert_eq!(v["status"], "Failed", "{v}");
    assert!(
        v["message"].as_str().is_some_and(|m| m.contains('3')),
        "the message gives the exit code: {v}"
    );
    // Its files are still there for the portal to show.
    let files = reply_zip(&get(&d, Via::Tcp, &format!("/download_partial/{id}")));
    assert_eq!(content(&files, "half.txt"), "half\n");
}

#[test]
fn uploads_from_several_portal_users_are_separate_jobs() {
    let d = Daemon::builder().tcp().seed_tcp().start();
    let a = upload(&d, Via::Tcp, "1", &[("run.sh", b"echo a > who.txt\n")]);
    let b = upload(&d, Via::Socket, "2", &[("run.sh", b"echo b > who.txt\n")]);
    assert_ne!(a, b);
    for (id, user, who) in [(a, "portal:1", "a\n"), (b, "root", "b\n")] {
        let fin = wait_final(&d, Via::Socket, id);
        assert_eq!(fin["state"], "succeeded", "{fin}");
        assert_eq!(fin["user"], user, "{fin}");
        // Root (an admin) downloads either over the socket; the portal only its own.
        let files = reply_zip(&get(&d, Via::Socket, &format!("/download/{id}")));
        assert_eq!(content(&files, "who.txt"), who);
    }
    let files = reply_zip(&get(&d, Via::Tcp, &format!("/download/{a}")));
    assert_eq!(content(&files, "who.txt"), "a\n");
    assert_eq!(get(&d, Via::Tcp, &format!("/download/{b}")).status, 404);
}

/// Uploads `parts` (field name, filename, content) as user 3; returns the answer.
fn upload_parts(d: &Daemon, parts: &[(&str, &str, &[u8])]) -> Reply {
    let (ct, body) = multipart_parts(&[("user_id", "3"), ("service", "example")], parts);
    request(
        d,
        Via::Tcp,
        "POST",
        "/upload",
        &[("Content-Type", &ct)],
        &body,
    )
}

#[test]
fn files_are_named_by_filename_unless_the_field_is_their_path() {
    let d = Daemon::builder().tcp().seed_tcp().start();
    // The seed's own docs: `curl -F file=@run.sh -F file=@input.pdb …`.
    let r = upload_parts(
        &d,
        &[
            ("file", "run.sh", b"cat input.pdb sub/a.txt > out.txt\n"),
            ("file", "input.pdb", b"ATOM\n"),
            // As the seed's server sends files to its clients: the field keeps `sub/`.
            ("sub/a.txt", "a.txt", b"nested\n"),
        ],
    );
    assert_eq!(r.status, 201, "{}", r.text());
    let id = r.json()["id"].as_i64().expect("id");
    let fin = wait_final(&d, Via::Tcp, id);
    assert_eq!(fin["state"], "succeeded", "{fin}");
    let files = reply_zip(&get(&d, Via::Tcp, &format!("/download/{id}")));
    assert_eq!(content(&files, "out.txt"), "ATOM\nnested\n");
    let names: Vec<&str> = files.keys().map(String::as_str).collect();
    assert_eq!(names, ["input.pdb", "out.txt", "run.sh", "sub/a.txt"]);
}

#[test]
fn the_same_path_twice_or_a_bad_filename_is_refused() {
    let d = Daemon::builder().tcp().seed_tcp().start();
    let run: &[u8] = b"true\n";
    type Case<'a> = (&'a str, &'a [(&'a str, &'a str, &'a [u8])], &'a str);
    let cases: &[Case] = &[
        (
            "the same file twice",
            &[
                ("file", "run.sh", run),
                ("file", "in.txt", b"1"),
                ("file", "in.txt", b"2"),
            ],
            "'in.txt' is in the upload twice",
        ),
        (
            "a field path and a filename that meet",
            &[
                ("file", "run.sh", run),
                ("sub/a", "a", b"1"),
                ("x", "sub/a", b"2"),
            ],
            "'sub/a' is in the upload twice",
        ),
        (
            "an empty filename",
            &[("file", "run.sh", run), ("file", "", b"1")],
            "file name",
        ),
        (
            "a filename going up",
            &[("file", "run.sh", run), ("file", "../x", b"1")],
            "../x",
        ),
        (
            "an absolute filename",
            &[("file", "run.sh", run), ("f", "/etc/x", b"1")],
            "/etc/x",
        ),
    ];
    for (case, parts, needle) in cases {
        let r = upload_parts(&d, parts);
        assert_eq!(r.status, 400, "{case}: {}", r.text());
        let v = r.json();
        assert_eq!(
            (v["id"].as_i64(), v["status"].as_str()),
            (Some(0), Some("Unknown")),
            "{case}: {v}"
        );
        let msg = v["message"].as_str().unwrap_or_default();
        assert!(
            msg.contains(needle),
            "{case}: {msg:?} does not name {needle:?}"
        );
    }
    assert!(d.staged_uploads().is_empty(), "a refused upload left files");
    let jobs = get(&d, Via::Tcp, "/v1/jobs").json();
    assert_eq!(jobs.as_array().map(Vec::len), Some(0), "{jobs}");
}

#[test]
fn seed_paths_answer_a_wrong_method_with_405() {
    let d = Daemon::builder().tcp().seed_tcp().start();
    for (method, path) in [
        ("GET", "/upload"),
        ("POST", "/download/1"),
        ("DELETE", "/download_partial/1"),
        ("GET", "/terminate/1"),
        ("POST", "/health"),
        ("POST", "/"),
    ] {
        let r = request(&d, Via::Tcp, method, path, &[], b"");
        assert_eq!(r.status, 405, "{method} {path}: {}", r.text());
    }
}

#[test]
fn zip_entries_carry_the_files_modification_times() {
    let d = Daemon::builder().tcp().seed_tcp().start();
    let id = upload(&d, Via::Tcp, "4", &[("run.sh", b"echo x > out.txt\n")]);
    wait_final(&d, Via::Tcp, id);
    let r = get(&d, Via::Tcp, &format!("/download/{id}"));
    let mut z = zip::ZipArchive::new(std::io::Cursor::new(r.body)).expect("a zip");
    let entry = z.by_name("out.txt").expect("out.txt");
    let t = entry.last_modified().expect("a modification time");
    // The file was written just now, not in 1980 (zip's zero).
    assert!(t.year() >= 2026, "out.txt is dated {t:?}");
}
