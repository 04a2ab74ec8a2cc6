//! Fencing: a node whose server stops renewing its lease kills its runs before the server may
//! run them again elsewhere, so two copies of one job never run at once: a frozen server
//! (SIGSTOP), a node cut off by a partition (a TCP proxy that drops everything), and the
//! node's side of `POST /v1/lease` on its own. And the bounds on what a node sends the server:
//! results over the limit, a feed line over the limit.
//!
//! Real binaries on loopback, a 1 s lease. Each run of the overlap jobs appends `start ID`,
//! `tick ID` every 50 ms, and `end ID` (ID: the payload, one per attempt) to a file outside
//! every data dir: two runs overlapped if their lines interleave.

mod common;

use common::worker::{TOKEN, Worker};
use common::*;
use serde_json::Value;
use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const LEASE: Duration = Duration::from_secs(1);
const LIMIT: Duration = Duration::from_secs(60);

const CONFIG: &str = "[cluster]\nlease = \"1s\"\n\
                      [local_worker]\nenabled = false\n\
                      [services.example]\n";

fn node(d: &Daemon, name: &str) -> Value {
    match d.jobo_json(&["node", "ls"]) {
        Value::Array(a) => a
            .into_iter()
            .find(|n| n["name"] == name)
            .unwrap_or_else(|| panic!("no node {name}")),
        other => panic!("node ls: not a list: {other}"),
    }
}

/// Polls `cond` with a bounded backoff; fails with `logs()` after [`LIMIT`].
fn eventually(what: &str, logs: &dyn Fn() -> String, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + LIMIT;
    let mut pause = Duration::from_millis(5);
    while !cond() {
        assert!(Instant::now() < deadline, "never: {what}\n{}", logs());
        std::thread::sleep(pause);
        pause = (pause * 2).min(Duration::from_millis(100));
    }
}

fn wait_node(d: &Daemon, name: &str, state: &str, logs: &dyn Fn() -> String) {
    eventually(&format!("node {name} {state}"), logs, || {
        node(d, name)["state"] == state
    });
}

/// Polls (every 10 ms) until nothing runs under `root`; returns how long that took.
fn time_until_no_process(root: &Path, logs: &dyn Fn() -> String) -> Duration {
    let start = Instant::now();
    while !processes_under(root).is_empty() {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "the run was never killed\n{}",
            logs()
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    start.elapsed()
}

/// A job whose first run (no `marker` yet) ticks until killed, and whose later runs tick a
/// few times and end; every run logs to `log` (see the module doc).
fn overlap_job(parent: &Path, log: &Path, marker: &Path) -> PathBuf {
    let script = format!(
        "log={log}\n\
         id=$JOBO_JOB_ID\n\
         echo \"start $id\" >> $log\n\
         if [ ! -e {marker} ]; then\n\
           touch {marker}\n\
           while :; do echo \"tick $id\" >> $log; sleep 0.05; done\n\
         fi\n\
         for i in 1 2 3 4 5; do echo \"tick $id\" >> $log; sleep 0.05; done\n\
         echo \"end $id\" >> $log\n\
         echo second > second.txt\n",
        log = log.display(),
        marker = marker.display()
    );
    job_dir(parent, "overlap", &[("run.sh", &script)])
}

/// One run as its log lines tell it.
#[derive(Debug)]
struct Run {
    id: String,
    first: usize,
    last: usize,
    ended: bool,
}

/// The runs in `log`, in the order they started; asserts that no two overlap (a run's lines
/// all come before the next run's first line).
fn runs_without_overlap(log: &Path) -> Vec<Run> {
    let text = std::fs::read_to_string(log).expect("read the run log");
    let mut runs: Vec<Run> = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let (what, id) = line
            .split_once(' ')
            .unwrap_or_else(|| panic!("bad log line {line:?}"));
        match runs.iter_mut().find(|r| r.id == id) {
            Some(r) => {
                r.last = i;
                r.ended |= what == "end";
            }
            None => {
                assert_eq!(what, "start", "{line:?} before its start:\n{text}");
                runs.push(Run {
                    id: id.to_string(),
                    first: i,
                    last: i,
                    ended: false,
                })
            }
        }
    }
    for pair in runs.windows(2) {
        assert!(
            pair[0].last < pair[1].first,
            "runs {} and {} overlapped:\n{text}",
            pair[0].id,
            pair[1].id
        );
    }
    runs
}

/// SIGSTOPs a process; SIGCONTs it on drop (even when the test fails).
struct Frozen(i32);

impl Frozen {
    fn freeze(pid: i32) -> Frozen {
        // SAFETY: kill has no memory preconditions.
        assert_eq!(
            unsafe { libc::kill(pid, libc::SIGSTOP) },
            0,
            "SIGSTOP {pid}"
        );
        Frozen(pid)
    }
}

impl Drop for Frozen {
    fn drop(&mut self) {
        // SAFETY: as above.
        unsafe {
            libc::kill(self.0, libc::SIGCONT);
        }
    }
}

/// A TCP proxy on loopback to `target`, which can cut every connection and refuse (accept and
/// close at once) new ones, then heal. Everything is closed on drop.
struct Proxy {
    addr: String,
    state: Arc<ProxyState>,
}

#[derive(Default)]
struct ProxyState {
    cut: AtomicBool,
    stop: AtomicBool,
    /// Both ends of every forwarded connection, to shut them down on a cut.
    open: Mutex<Vec<TcpStream>>,
}

impl ProxyState {
    fn cut_all(&self) {
        self.cut.store(true, Ordering::SeqCst);
        for s in self.open.lock().expect("proxy lock").drain(..) {
            let _ = s.shutdown(Shutdown::Both);
        }
    }
}

impl Proxy {
    fn start(target: &str) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").expect("proxy bind");
        let addr = listener.local_addr().expect("proxy addr").to_string();
        let state = Arc::new(ProxyState::default());
        let (st, target) = (state.clone(), target.to_string());
        std::thread::spawn(move || {
            for client in listener.incoming() {
                if st.stop.load(Ordering::SeqCst) {
                    return;
                }
                let Ok(client) = client else { continue };
                if st.cut.load(Ordering::SeqCst) {
                    continue; // dropped: closed at once
                }
                let Ok(upstream) = TcpStream::connect(&target) else {
                    continue;
                };
                let ends = [&client, &upstream].map(|s| s.try_clone().expect("clone stream"));
                {
                    let mut open = st.open.lock().expect("proxy lock");
                    if st.cut.load(Ordering::SeqCst) {
                        continue;
                    }
                    open.extend(ends);
                }
                pump(&client, &upstream);
                pump(&upstream, &client);
            }
        });
        Proxy { addr, state }
    }

    fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    fn cut(&self) {
        self.state.cut_all();
    }

    fn heal(&self) {
        self.state.cut.store(false, Ordering::SeqCst);
    }
}

/// Copies `from` to `to` in a thread until either side ends, then closes both.
fn pump(from: &TcpStream, to: &TcpStream) {
    let (mut from, mut to) = (
        from.try_clone().expect("clone"),
        to.try_clone().expect("clone"),
    );
    std::thread::spawn(move || {
        let mut buf = [0u8; 16 * 1024];
        loop {
            match from.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    if to.write_all(&buf[..n]).is_err() {
                        break;
                    }
                }
            }
        }
        let _ = from.shutdown(Shutdown::Both);
        let _ = to.shutdown(Shutdown::Both);
    });
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.state.stop.store(true, Ordering::SeqCst);
        self.state.cut_all();
        // Wakes the accept loop so it sees `stop`.
        let _ = TcpStream::connect(&self.addr);
    }
}

/// A frozen server (SIGSTOP) while its job runs on a node: while the server lives, the run
/// goes on for leases; frozen, the node hears no renewal and kills the run within the lease,
/// before the server could requeue it. Thawed, the server requeues
/// the job, which runs again once and succeeds; the two runs never overlapped.
#[test]
fn frozen_server_its_node_fences_the_run_before_a_requeue() {
    let d = Daemon::builder().config(CONFIG).start();
    let w = Worker::start(&["--slots", "2"]);
    let logs = || format!("--- jobod:\n{}\n--- worker:\n{}", d.log(), w.log());
    w.add_to(&d, &w.url(), "a");
    wait_node(&d, "a", "healthy", &logs);
    let runs = d.root().join("runs.log");
    let marker = d.root().join("first-started");
    let id = d.submit(&overlap_job(&d.work(), &runs, &marker), "example");
    d.wait_until(id, "running", &logs);
    eventually("the first run ticks", &logs, || {
        std::fs::read_to_string(&runs).is_ok_and(|t| t.contains("tick"))
    });
    // A live server keeps renewing the lease (from the beats, once the hello's echo is old):
    // three leases on, the run still goes.
    std::thread::sleep(3 * LEASE);
    let job = d.job(id);
    assert_eq!(job["state"], "running", "{job}\n{}", logs());
    assert_eq!(job["attempts"], 1, "{job}");
    assert!(!processes_under(w.root()).is_empty(), "{}", logs());
    assert!(!w.log().contains("fenced"), "{}", logs());

    let pid = d.child.as_ref().expect("jobod runs").id() as i32;
    let frozen = Frozen::freeze(pid);
    let took = time_until_no_process(w.root(), &logs);
    eprintln!("the run died {took:?} after its server froze");
    assert!(
        took < LEASE,
        "the node killed its run {took:?} after its server froze: the server may requeue \
         a lease ({LEASE:?}) after it last heard from the node\n{}",
        logs()
    );
    // It stays dead: nothing ticks any more.
    let before = std::fs::read_to_string(&runs).expect("runs");
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(std::fs::read_to_string(&runs).expect("runs"), before);
    assert!(w.log().contains("fenced"), "{}", logs());
    drop(frozen);

    let job = d.wait_until(id, "succeeded", &logs);
    assert_eq!(job["state"], "succeeded", "{job}\n{}", logs());
    assert_eq!(job["attempts"], 2, "{job}\n{}", logs());
    let runs = runs_without_overlap(&runs);
    assert_eq!(runs.len(), 2, "{runs:?}");
    assert!(!runs[0].ended && runs[1].ended, "{runs:?}");
    // The fenced copy is discarded; the results are the second run's.
    eventually("the fenced payload is gone", &logs, || {
        std::fs::read_dir(w.data().join("payloads")).is_ok_and(|mut rd| rd.next().is_none())
    });
    d.jobo_ok(&["fetch", &id.to_string(), "-o", "res"]);
    assert!(d.work().join("res/second.txt").is_file());
}

/// A node cut off from its server by a partition: it fences its run within the lease, the
/// server requeues the job to the other node, where it succeeds, the two runs never overlapping.
/// Once the partition heals, the node is healthy again and its fenced copy is discarded.
#[test]
fn partitioned_node_fences_and_the_job_runs_elsewhere_once() {
    let d = Daemon::builder().config(CONFIG).start();
    let wa = Worker::start(&["--slots", "2"]);
    let wb = Worker::start(&["--slots", "2"]);
    let proxy = Proxy::start(&wa.addr);
    let logs = || {
        format!(
            "--- jobod:\n{}\n--- worker a:\n{}\n--- worker b:\n{}",
            d.log(),
            wa.log(),
            wb.log()
        )
    };
    wa.add_to(&d, &proxy.url(), "a");
    wb.add_to(&d, &wb.url(), "b");
    wait_node(&d, "a", "healthy", &logs);
    wait_node(&d, "b", "healthy", &logs);
    // The job must start on a.
    d.jobo_ok(&["node", "drain", "b"]);
    let runs = d.root().join("runs.log");
    let marker = d.root().join("first-started");
    let id = d.submit(&overlap_job(&d.work(), &runs, &marker), "example");
    let job = d.wait_until(id, "running", &logs);
    assert_eq!(job["node"], "a", "{job}");
    d.jobo_ok(&["node", "undrain", "b"]);
    eventually("the first run ticks", &logs, || {
        std::fs::read_to_string(&runs).is_ok_and(|t| t.contains("tick"))
    });

    proxy.cut();
    let took = time_until_no_process(wa.root(), &logs);
    eprintln!("the run died {took:?} after the cut");
    assert!(
        took < LEASE,
        "the cut-off node killed its run {took:?} after the cut, later than a lease\n{}",
        logs()
    );
    let job = d.wait_until(id, "succeeded", &logs);
    assert_eq!(job["state"], "succeeded", "{job}\n{}", logs());
    assert_eq!(job["attempts"], 2, "{job}\n{}", logs());
    assert_eq!(job["node"], "b", "{job}");
    let found = runs_without_overlap(&runs);
    assert_eq!(found.len(), 2, "{found:?}");
    assert!(!found[0].ended && found[1].ended, "{found:?}");

    proxy.heal();
    wait_node(&d, "a", "healthy", &logs);
    eventually("a's fenced payload is discarded", &logs, || {
        std::fs::read_dir(wa.data().join("payloads")).is_ok_and(|mut rd| rd.next().is_none())
    });
    let job = d.job(id);
    assert_eq!(job["state"], "succeeded", "{job}");
    assert_eq!(job["attempts"], 2, "{job}");
    assert_eq!(runs_without_overlap(&runs).len(), 2);
}

/// The first line of `GET /v1/feed` (the hello) of worker `w`.
fn hello(w: &Worker) -> Value {
    let mut s = TcpStream::connect(&w.addr).expect("connect worker");
    write!(
        s,
        "GET /v1/feed?beat_ms=60000 HTTP/1.1\r\nHost: localhost\r\n\
         Authorization: Bearer {TOKEN}\r\n\r\n"
    )
    .expect("send");
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let n = s.read(&mut buf).expect("read the feed");
        assert!(n > 0, "the feed ended: {}", String::from_utf8_lossy(&got));
        got.extend_from_slice(&buf[..n]);
        let text = String::from_utf8_lossy(&got);
        if let Some(start) = text.find("{\"kind\"")
            && let Some(len) = text[start..].find('\n')
        {
            return json(text[start..start + len].as_bytes());
        }
    }
}

fn renew(w: &Worker, sent_ms: u64, lease_ms: u64) -> u16 {
    let path = format!("/v1/lease?sent_ms={sent_ms}&lease_ms={lease_ms}");
    w.http("POST", &path, Some(TOKEN), &[], b"").0
}

fn push(w: &Worker, job: i64) -> (u16, Value) {
    let id = format!("00000000-0000-4000-8000-{job:012}");
    let body = tgz(&[("run.sh", b"sleep 60\n")]);
    let path = format!("/v1/payloads/{id}?job={job}&attempt=1");
    let (code, body) = w.http("PUT", &path, Some(TOKEN), &[], &body);
    (code, serde_json::from_slice(&body).unwrap_or(Value::Null))
}

fn payload_state(w: &Worker, job: i64) -> String {
    let (code, body) = w.http("GET", "/v1/payloads", Some(TOKEN), &[], b"");
    assert_eq!(code, 200);
    json(&body)
        .as_array()
        .expect("a list")
        .iter()
        .find(|p| p["job"] == job)
        .map(|p| p["state"].as_str().unwrap_or("?").to_string())
        .unwrap_or_else(|| "absent".into())
}

/// The node's side on its own: a node never renewed does not fence; a renewal is refused
/// without the token, with an echo from the node's future or a zero lease; a renewed lease
/// that runs out kills the run (`fenced`) and turns pushes away with `503` until renewed.
#[test]
fn node_lease_renewal_and_expiry() {
    let w = Worker::start(&["--slots", "2"]);
    let logs = || w.log();
    let (code, info) = push(&w, 1);
    assert_eq!(code, 201, "{info}");
    eventually("payload 1 runs", &logs, || {
        payload_state(&w, 1) == "running"
    });
    // Never renewed: it runs on, however long.
    std::thread::sleep(LEASE + LEASE / 2);
    assert_eq!(payload_state(&w, 1), "running");

    let now = hello(&w)["sent_ms"]
        .as_u64()
        .expect("the hello has sent_ms");
    let path = format!("/v1/lease?sent_ms={now}&lease_ms=1000");
    assert_eq!(w.http("POST", &path, None, &[], b"").0, 401);
    assert_eq!(renew(&w, now + 60_000, 1000), 400);
    assert_eq!(renew(&w, now, 0), 400);
    assert_eq!(
        w.http("POST", "/v1/lease?sent_ms=x", Some(TOKEN), &[], b"")
            .0,
        400
    );
    assert_eq!(payload_state(&w, 1), "running");

    // A lease of 1 s from `now`: fenced at now + 900 ms, on the node's clock.
    assert_eq!(renew(&w, now, 1000), 204);
    let took = time_until_no_process(w.root(), &logs);
    assert!(took < LEASE, "{took:?}\n{}", logs());
    eventually("payload 1 fenced", &logs, || {
        payload_state(&w, 1) == "fenced"
    });
    let (code, body) = w.http("GET", "/v1/payloads", Some(TOKEN), &[], b"");
    assert_eq!(code, 200);
    let reason = json(&body)[0]["reason"].as_str().unwrap_or("").to_string();
    assert!(reason.contains("lease"), "{reason}");
    let (code, info) = push(&w, 2);
    assert_eq!(code, 503, "{info}");
    // A late renewal of an old line does not revive it; a fresh one does.
    assert_eq!(renew(&w, now, 1000), 204);
    assert_eq!(push(&w, 2).0, 503);
    let fresh = hello(&w)["sent_ms"].as_u64().expect("sent_ms");
    assert_eq!(renew(&w, fresh, 60_000), 204);
    let (code, info) = push(&w, 2);
    assert_eq!(code, 201, "{info}");
    eventually("payload 2 runs", &logs, || {
        payload_state(&w, 2) == "running"
    });
    assert_eq!(payload_state(&w, 1), "fenced");
}

/// Results over the bound (10 × `max_upload_bytes` of content): the job fails, saying so,
/// nothing of them stays in the server's staging dir, and the node's copy is deleted.
#[test]
fn results_over_the_bound_fail_the_job_cleanly() {
    let config = format!("[server]\nmax_upload_bytes = 100000\n{CONFIG}");
    let d = Daemon::builder().config(&config).start();
    let w = Worker::start(&["--slots", "2"]);
    let logs = || format!("--- jobod:\n{}\n--- worker:\n{}", d.log(), w.log());
    w.add_to(&d, &w.url(), "a");
    wait_node(&d, "a", "healthy", &logs);

    // 3 MB of zeros: a few KB as tar.gz, over the 1 MB bound once unpacked.
    let big = job_dir(
        &d.work(),
        "big",
        &[("run.sh", "head -c 3000000 /dev/zero > big.bin\n")],
    );
    let id = d.submit(&big, "example");
    let job = d.wait_until(id, "failed", &logs);
    assert_eq!(job["state"], "failed", "{job}\n{}", logs());
    let reason = job["reason"].as_str().unwrap_or("");
    assert!(
        reason.contains("over the limit of 1000000 bytes"),
        "{reason}\n{}",
        logs()
    );
    assert_eq!(d.staged_uploads(), Vec::<PathBuf>::new());
    eventually("the node's copy is deleted", &logs, || {
        std::fs::read_dir(w.data().join("payloads")).is_ok_and(|mut rd| rd.next().is_none())
    });

    // Within the bound, results come back as ever.
    let small = job_dir(
        &d.work(),
        "small",
        &[("run.sh", "head -c 500000 /dev/zero > half.bin\n")],
    );
    let id = d.submit(&small, "example");
    let job = d.wait_until(id, "succeeded", &logs);
    assert_eq!(job["state"], "succeeded", "{job}\n{}", logs());
    let out = d.data().join(format!("jobs/{id}/work/half.bin"));
    assert_eq!(std::fs::metadata(&out).map(|m| m.len()).ok(), Some(500_000));
}

/// A "node" (a thread here) whose feed sends a line longer than the server's cap (4 MiB): the
/// server ends the link with an error in its log, without reading on, and keeps serving.
#[test]
fn feed_line_over_the_cap_ends_the_link() {
    let d = Daemon::builder().config(CONFIG).start();
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr").to_string();
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut conn) = conn else { continue };
            std::thread::spawn(move || {
                let mut head = Vec::new();
                let mut byte = [0u8; 1];
                while !head.ends_with(b"\r\n\r\n") {
                    match conn.read(&mut byte) {
                        Ok(1) => head.push(byte[0]),
                        _ => return,
                    }
                }
                if !head.starts_with(b"GET /v1/feed") {
                    let _ = conn.write_all(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n");
                    return;
                }
                // 8 MiB announced; a line that never ends (the server gives up past 4 MiB).
                let _ = conn.write_all(
                    b"HTTP/1.1 200 OK\r\nContent-Type: application/x-ndjson\r\n\
                      Content-Length: 8388608\r\n\r\n{\"kind\":\"hello\",\"pad\":\"",
                );
                let chunk = vec![b'x'; 64 * 1024];
                for _ in 0..128 {
                    if conn.write_all(&chunk).is_err() {
                        return;
                    }
                }
                // Held open: only the server's cap ends this.
                let _ = conn.read(&mut byte);
            });
        }
    });
    let token = d.root().join("token");
    std::fs::write(&token, "t\n").expect("token");
    d.jobo_ok(&[
        "node",
        "add",
        &format!("http://{addr}"),
        "--name",
        "huge",
        "--service",
        "example",
        "--token-file",
        token.to_str().expect("utf-8"),
    ]);
    let logs = || d.log();
    eventually("the server says the line is too long", &logs, || {
        d.log()
            .contains("node huge: a feed line longer than 4194304 bytes; ending the link")
    });
    assert_eq!(node(&d, "huge")["state"], "unreachable");
    // Still serving.
    let (code, _) = d.http_unix("GET", "/v1/nodes", &[], b"");
    assert_eq!(code, 200);
}
