//! One `jobod serve` and real `jobod worker` nodes on loopback, talking the native worker
//! protocol: placement within slots, node loss and return, stale runs, draining, a wrong
//! token, a server crash mid-run, remote logs and cancel.
//!
//! The server runs with a 1 s lease and no embedded worker, so every job goes to a node.
//! Waiting is on the server's long polls where it announces the event (`/v1/jobs/{id}/wait`);
//! what it cannot announce (a node's health, files a job or a node writes, processes going
//! away) is polled with a bounded backoff.

mod common;

use common::worker::Worker;
use common::*;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::mpsc;
use std::time::{Duration, Instant};

const LIMIT: Duration = Duration::from_secs(60);

const CONFIG: &str = "[cluster]\nlease = \"1s\"\n\
                      [local_worker]\nenabled = false\n\
                      [services.example]\n";

/// A server and its workers, named "a", "b", … in order. Guards: all killed on drop.
struct Cluster {
    d: Daemon,
    w: Vec<Worker>,
}

/// Starts a server and `n` workers running `worker_slots` payloads at once, adds each as a
/// node taking `node_slots` jobs, and waits until all are healthy.
fn cluster(n: usize, worker_slots: usize, node_slots: usize) -> Cluster {
    cluster_with(CONFIG, n, worker_slots, node_slots)
}

fn cluster_with(config: &str, n: usize, worker_slots: usize, node_slots: usize) -> Cluster {
    let d = Daemon::builder().config(config).start();
    let slots = worker_slots.to_string();
    let w: Vec<Worker> = (0..n)
        .map(|_| Worker::start(&["--slots", &slots]))
        .collect();
    let c = Cluster { d, w };
    for i in 0..n {
        c.add_node(i, node_slots, &c.w[i].token_file());
    }
    for i in 0..n {
        c.wait_node(&name(i), "healthy");
    }
    c
}

/// A server whose only place is node `a`, started by `daemon`'s builder, once `a` is healthy.
fn with_node_a(w: Worker, daemon: impl FnOnce(Builder) -> Builder) -> Cluster {
    let node = format!(
        "[[nodes]]\nurl = \"{}\"\nname = \"a\"\nservices = [\"example\"]\ntoken_file = \"{}\"\n",
        w.url(),
        w.token_file().display()
    );
    let c = Cluster {
        d: daemon(Daemon::builder().config(&format!("{CONFIG}{node}"))).start(),
        w: vec![w],
    };
    c.wait_node("a", "healthy");
    c
}

fn name(i: usize) -> String {
    ((b'a' + i as u8) as char).to_string()
}

fn index(name: &str) -> usize {
    (name.as_bytes()[0] - b'a') as usize
}

const TERMINAL: [&str; 6] = [
    "succeeded",
    "failed",
    "cancelled",
    "timed_out",
    "lost",
    "expired",
];

impl Cluster {
    /// `jobo node add` of worker `i` as node `name(i)`.
    fn add_node(&self, i: usize, slots: usize, token_file: &Path) {
        self.d.jobo_ok(&[
            "node",
            "add",
            &self.w[i].url(),
            "--name",
            &name(i),
            "--service",
            "example",
            "--slots",
            &slots.to_string(),
            "--token-file",
            token_file.to_str().expect("utf-8 path"),
        ]);
    }

    /// The server's log and every worker's, for failure messages.
    fn logs(&self) -> String {
        let mut out = format!("--- jobod log:\n{}", self.d.log());
        for (i, w) in self.w.iter().enumerate() {
            out.push_str(&format!("--- worker {} log:\n{}", name(i), w.log()));
        }
        out
    }

    /// `jobo node ls --json`.
    fn nodes(&self) -> Vec<Value> {
        match self.d.jobo_json(&["node", "ls"]) {
            Value::Array(a) => a,
            other => panic!("node ls: not a list: {other}"),
        }
    }

    fn node(&self, name: &str) -> Value {
        self.nodes()
            .into_iter()
            .find(|n| n["name"] == name)
            .unwrap_or_else(|| panic!("no node {name} in node ls"))
    }

    /// Polls `node ls` until node `name` is in `state`.
    fn wait_node(&self, name: &str, state: &str) -> Value {
        let mut last = Value::Null;
        self.eventually(&format!("node {name} {state}"), || {
            last = self.node(name);
            last["state"] == state
        });
        last
    }

    /// Polls `cond` with a bounded backoff; fails (with every log) after [`LIMIT`].
    fn eventually(&self, what: &str, mut cond: impl FnMut() -> bool) {
        let deadline = Instant::now() + LIMIT;
        let mut pause = Duration::from_millis(5);
        while !cond() {
            assert!(Instant::now() < deadline, "never: {what}\n{}", self.logs());
            std::thread::sleep(pause);
            pause = (pause * 2).min(Duration::from_millis(200));
        }
    }

    /// Long-polls (server side) until job `id` is final; returns it.
    fn wait_final(&self, id: i64) -> Value {
        self.wait_until(id, None)
    }

    /// Long-polls until job `id` is in `state` (or final); returns it.
    fn wait_until(&self, id: i64, state: Option<&str>) -> Value {
        let deadline = Instant::now() + LIMIT;
        let until = state.map(|s| format!("&until={s}")).unwrap_or_default();
        loop {
            let path = format!("/v1/jobs/{id}/wait?timeout=10{until}");
            let (code, body) = self.d.http_unix("GET", &path, &[], b"");
            assert_eq!(code, 200, "{}", String::from_utf8_lossy(&body));
            let job = json(&body);
            let now = job["state"].as_str().unwrap_or("?");
            if Some(now) == state || TERMINAL.contains(&now) {
                return job;
            }
            assert!(
                Instant::now() < deadline,
                "job {id} still {now}: {job}\n{}",
                self.logs()
            );
        }
    }

    /// The node job `id` is (or was last) on.
    fn node_of(&self, id: i64) -> String {
        let job = self.d.job(id);
        job["node"]
            .as_str()
            .unwrap_or_else(|| panic!("job {id} has no node: {job}"))
            .to_string()
    }

    fn submit(&self, dir: &Path) -> i64 {
        self.d.submit(dir, "example")
    }

    /// `jobo --json status IDS…`.
    fn status(&self, ids: &[i64]) -> Vec<Value> {
        let ids: Vec<String> = ids.iter().map(i64::to_string).collect();
        let mut args = vec!["status"];
        args.extend(ids.iter().map(String::as_str));
        match self.d.jobo_json(&args) {
            Value::Array(a) => a,
            other => panic!("status: not a list: {other}"),
        }
    }
}

/// What is left in a worker's payloads dir.
fn payload_dirs(w: &Worker) -> Vec<PathBuf> {
    std::fs::read_dir(w.data().join("payloads"))
        .map(|rd| rd.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default()
}

/// Sends a signal with `kill(1)`.
fn signal(pid: u32, sig: &str) {
    let ok = Command::new("kill")
        .args([sig, &pid.to_string()])
        .status()
        .expect("run kill")
        .success();
    assert!(ok, "kill {sig} {pid}");
}

/// A job whose first run writes `first.txt`, creates `marker` and blocks; a later run (which
/// sees the marker) writes `second.txt` and succeeds.
fn first_run_blocks(c: &Cluster, marker: &Path) -> PathBuf {
    let script = format!(
        "if [ -e {m} ]; then echo second > second.txt; echo second-run\n\
         else echo first > first.txt; echo first-run; touch {m}; sleep 60; fi\n",
        m = marker.display()
    );
    job_dir(&c.d.work(), "retried", &[("run.sh", &script)])
}

/// Waits until a job created `path` (the server has no event for it).
fn wait_path(c: &Cluster, path: &Path) {
    c.eventually(&format!("{} exists", path.display()), || path.exists());
}

/// Two nodes taking 2 jobs each (their workers could run 4): 50 jobs all succeed at the first
/// attempt, both nodes get some, no node ever runs more than its 2 slots, and a job's results
/// and stdout come back through the server.
#[test]
fn fifty_jobs_spread_over_nodes_within_slots() {
    let c = cluster(2, 4, 2);
    // The run's cwd is <worker root>/data/payloads/<uuid>/work: `../../../..` is the worker's
    // temp root, where jobs may write (the payloads dir is the node's alone).
    let mut ids = Vec::new();
    for i in 0..50 {
        let script = format!(
            "top=../../../..\nmkdir -p $top/marks\ntouch $top/marks/$$\n\
             ls $top/marks | wc -l >> $top/concurrency\nsleep 0.05\nrm $top/marks/$$\n\
             echo result {i} > out.txt\necho stdout {i}\n"
        );
        let dir = job_dir(&c.d.work(), &format!("job{i}"), &[("run.sh", &script)]);
        ids.push(c.submit(&dir));
    }
    for &id in &ids {
        c.wait_final(id);
    }
    let jobs = c.status(&ids);
    assert_eq!(jobs.len(), 50);
    for job in &jobs {
        assert_eq!(job["state"], "succeeded", "{job}\n{}", c.logs());
        assert_eq!(job["attempts"], 1, "{job}\n{}", c.logs());
    }
    for (i, w) in c.w.iter().enumerate() {
        let ran = jobs.iter().filter(|j| j["node"] == name(i)).count();
        assert!(ran > 0, "node {} ran no job", name(i));
        let seen = std::fs::read_to_string(w.root().join("concurrency"))
            .unwrap_or_else(|e| panic!("node {} concurrency file: {e}", name(i)));
        let counts: Vec<usize> = seen.lines().map(|l| l.trim().parse().unwrap()).collect();
        assert_eq!(counts.len(), ran, "node {}: one line per run", name(i));
        let max = counts.iter().copied().max().unwrap_or(0);
        assert!(
            (1..=2).contains(&max),
            "node {} ran {max} jobs at once",
            name(i)
        );
    }
    let total: u64 = c
        .nodes()
        .iter()
        .map(|n| n["jobs_done"].as_u64().unwrap())
        .sum();
    assert_eq!(total, 50);
    // Each payload was deleted once collected; only the jobs' own bookkeeping is left.
    for w in &c.w {
        c.eventually("collected payloads are deleted", || {
            payload_dirs(w)
                .iter()
                .all(|p| p.ends_with("marks") || p.ends_with("concurrency"))
        });
    }
    let id = ids[7].to_string();
    c.d.jobo_ok(&["fetch", &id, "-o", "res7"]);
    let out = std::fs::read_to_string(c.d.work().join("res7/out.txt")).expect("out.txt");
    assert_eq!(out, "result 7\n");
    assert_eq!(c.d.jobo_ok(&["logs", &id]), "stdout 7\n");
}

/// A node killed with its run still going (a crash of the node daemon): the job runs again on
/// the other node and succeeds at attempt 2; the dead node shows `unreachable`. Started again
/// on the same port, it is `healthy` again and its leftover run is gone.
#[test]
fn killed_node_job_runs_elsewhere_then_node_comes_back() {
    let mut c = cluster(2, 2, 2);
    let marker = c.d.root().join("first-started");
    let id = c.submit(&first_run_blocks(&c, &marker));
    wait_path(&c, &marker);
    let first = c.node_of(id);
    let k = index(&first);
    c.w[k].kill9_node_only();
    assert!(
        !processes_under(c.w[k].root()).is_empty(),
        "the first run should outlive its node"
    );
    let job = c.wait_final(id);
    assert_eq!(job["state"], "succeeded", "{job}\n{}", c.logs());
    assert_eq!(job["attempts"], 2, "{job}");
    assert_ne!(job["node"], first.as_str(), "{job}");
    assert_eq!(c.node(&first)["state"], "unreachable");

    c.w[k].boot();
    c.wait_node(&first, "healthy");
    let left = processes_under(c.w[k].root());
    assert!(left.is_empty(), "leftover processes {left:?}");
    assert_eq!(payload_dirs(&c.w[k]), Vec::<PathBuf>::new());
    // The results are the second run's.
    c.d.jobo_ok(&["fetch", &id.to_string(), "-o", "res"]);
    assert!(c.d.work().join("res/second.txt").is_file());
    assert!(!c.d.work().join("res/first.txt").exists());
}

/// A frozen node (SIGSTOP) looks gone: its job runs elsewhere. Thawed, it reconnects and
/// reports its stale run, which the server discards: its process and files go, and the job's
/// results are the second run's only.
#[test]
fn silent_node_stale_run_is_discarded() {
    let c = cluster(2, 2, 2);
    let marker = c.d.root().join("first-started");
    let id = c.submit(&first_run_blocks(&c, &marker));
    wait_path(&c, &marker);
    let first = c.node_of(id);
    let w = &c.w[index(&first)];
    let pid = w.child.as_ref().expect("worker runs").id();
    signal(pid, "-STOP");
    let job = c.wait_final(id);
    signal(pid, "-CONT");
    assert_eq!(job["state"], "succeeded", "{job}\n{}", c.logs());
    assert_eq!(job["attempts"], 2, "{job}");
    assert_ne!(job["node"], first.as_str(), "{job}");

    c.wait_node(&first, "healthy");
    c.eventually("the stale run is discarded", || {
        payload_dirs(w).is_empty() && processes_under(w.root()).is_empty()
    });
    let id = id.to_string();
    c.d.jobo_ok(&["fetch", &id, "-o", "res"]);
    assert!(c.d.work().join("res/second.txt").is_file());
    assert!(!c.d.work().join("res/first.txt").exists());
    assert_eq!(c.d.jobo_ok(&["logs", &id]), "second-run\n");
}

/// A drained node gets no new jobs, and what runs on it finishes there.
#[test]
fn drain_sends_no_new_jobs_and_lets_running_finish() {
    let c = cluster(2, 2, 2);
    c.d.jobo_ok(&["node", "drain", "b"]);
    let fifo = c.d.root().join("go");
    mkfifo(&fifo);
    let script = format!("read line < {}\necho done\n", fifo.display());
    let blocked = c.submit(&job_dir(&c.d.work(), "blocked", &[("run.sh", &script)]));
    assert_eq!(c.wait_until(blocked, Some("running"))["state"], "running");
    assert_eq!(c.node_of(blocked), "a");

    c.d.jobo_ok(&["node", "undrain", "b"]);
    c.d.jobo_ok(&["node", "drain", "a"]);
    let quick: Vec<i64> = (0..4)
        .map(|i| {
            let dir = job_dir(
                &c.d.work(),
                &format!("quick{i}"),
                &[("run.sh", "echo hi\n")],
            );
            c.submit(&dir)
        })
        .collect();
    for &id in &quick {
        let job = c.wait_final(id);
        assert_eq!(job["state"], "succeeded", "{job}\n{}", c.logs());
        assert_eq!(job["node"], "b", "{job}");
    }
    std::fs::write(&fifo, "go\n").expect("release the fifo");
    let job = c.wait_final(blocked);
    assert_eq!(job["state"], "succeeded", "{job}\n{}", c.logs());
    assert_eq!(job["node"], "a");
    assert_eq!(job["attempts"], 1);
    assert_eq!(c.node("a")["state"], "draining");
    assert_eq!(c.node("b")["state"], "healthy");
}

/// A node added with the wrong token never becomes usable: it stays `unreachable`, a job stays
/// queued for several leases, and nothing reaches the node. With the right token it runs.
#[test]
fn wrong_token_gets_401_and_nothing_runs() {
    let c = Cluster {
        d: Daemon::builder().config(CONFIG).start(),
        w: vec![Worker::start(&["--slots", "2"])],
    };
    let wrong = c.d.root().join("wrong-token");
    std::fs::write(&wrong, "not-the-node-token\n").expect("token file");
    c.add_node(0, 2, &wrong);
    let dir = job_dir(&c.d.work(), "job", &[("run.sh", "echo ran\n")]);
    let id = c.submit(&dir);
    // Three leases: the server asks for the feed again and again, and is refused each time.
    let path = format!("/v1/jobs/{id}/wait?until=dispatched&timeout=3");
    let (code, body) = c.d.http_unix("GET", &path, &[], b"");
    assert_eq!(code, 200);
    let job = json(&body);
    assert_eq!(job["state"], "queued", "{job}\n{}", c.logs());
    assert_eq!(c.node("a")["state"], "unreachable");
    assert_eq!(payload_dirs(&c.w[0]), Vec::<PathBuf>::new());

    // The same node with its right token: the job runs there.
    c.d.jobo_ok(&["node", "rm", "a"]);
    c.add_node(0, 2, &c.w[0].token_file());
    let job = c.wait_final(id);
    assert_eq!(job["state"], "succeeded", "{job}\n{}", c.logs());
    assert_eq!(job["node"], "a");
}

/// `kill -9` of the server while nodes run its jobs (10 jobs of 0.5 s on 4 slots): the restarted server re-attaches to
/// them, and every job ends once, at its first attempt.
#[test]
fn server_kill9_mid_run_every_job_ends_once() {
    let mut c = cluster(2, 2, 2);
    let ran = c.d.root().join("ran");
    let ids: Vec<i64> = (0..10)
        .map(|i| {
            let script = format!("echo {i} >> {}\nsleep 0.5\n", ran.display());
            c.submit(&job_dir(
                &c.d.work(),
                &format!("job{i}"),
                &[("run.sh", &script)],
            ))
        })
        .collect();
    c.eventually("2 jobs running", || {
        let jobs = c.status(&ids);
        jobs.iter().filter(|j| j["state"] == "running").count() >= 2
    });
    c.d.kill9();
    c.d.restart();
    for &id in &ids {
        c.wait_final(id);
    }
    for job in c.status(&ids) {
        assert_eq!(job["state"], "succeeded", "{job}\n{}", c.logs());
        assert_eq!(job["attempts"], 1, "{job}\n{}", c.logs());
    }
    let mut runs: Vec<usize> = std::fs::read_to_string(&ran)
        .expect("ran file")
        .lines()
        .map(|l| l.parse().unwrap())
        .collect();
    runs.sort_unstable();
    assert_eq!(runs, (0..10).collect::<Vec<_>>(), "each job ran once");
    let done: u64 = c
        .nodes()
        .iter()
        .map(|n| n["jobs_done"].as_u64().unwrap())
        .sum();
    assert_eq!(done, 10);
}

/// `jobo logs -f` of a job on a node shows its output as it is written and ends with the
/// job; `jobo cancel` of a job on a node kills it, background children included.
#[test]
fn remote_logs_follow_and_cancel() {
    let c = cluster(1, 2, 2);
    let fifo = c.d.root().join("go");
    mkfifo(&fifo);
    let script = format!("echo one\nread line < {}\necho two\n", fifo.display());
    let id = c.submit(&job_dir(&c.d.work(), "follow", &[("run.sh", &script)]));
    c.wait_until(id, Some("running"));
    let mut follower = c.d.jobo_follow(&["logs", "-f", &id.to_string()]);
    let rx = &follower.lines;
    let first = rx
        .recv_timeout(LIMIT)
        .expect("the first line while it runs");
    assert_eq!(first, "one");
    assert_eq!(c.d.job(id)["state"], "running");
    std::fs::write(&fifo, "go\n").expect("release the fifo");
    let second = rx.recv_timeout(LIMIT).expect("the second line");
    assert_eq!(second, "two");
    // The follower ends with the job.
    match rx.recv_timeout(LIMIT) {
        Err(mpsc::RecvTimeoutError::Disconnected) => {}
        other => panic!(
            "expected the end of the output, got {other:?}\n{}",
            c.logs()
        ),
    }
    let mut status = None;
    c.eventually("jobo logs -f exits", || {
        status = follower.child.try_wait().expect("try_wait");
        status.is_some()
    });
    assert!(status.is_some_and(|s| s.success()), "{status:?}");
    assert_eq!(c.wait_final(id)["state"], "succeeded");

    let started = c.d.root().join("bg-started");
    let script = format!("sleep 60 &\ntouch {}\nwait\n", started.display());
    let id = c.submit(&job_dir(&c.d.work(), "bg", &[("run.sh", &script)]));
    wait_path(&c, &started);
    c.wait_until(id, Some("running"));
    assert!(!processes_under(c.w[0].root()).is_empty());
    c.d.jobo_ok(&["cancel", &id.to_string()]);
    let job = c.d.job(id);
    assert_eq!(job["state"], "cancelled", "{job}\n{}", c.logs());
    c.eventually("no process or payload left on the node", || {
        processes_under(c.w[0].root()).is_empty() && payload_dirs(&c.w[0]).is_empty()
    });
}

/// With its attempts used up, a job whose node vanished ends `lost`, saying why.
#[test]
fn node_loss_with_no_attempts_left_is_lost() {
    let config = "[cluster]\nlease = \"1s\"\n[local_worker]\nenabled = false\n\
                  [services.example]\nmax_attempts = 1\n";
    let mut c = cluster_with(config, 1, 1, 1);
    let marker = c.d.root().join("first-started");
    let id = c.submit(&first_run_blocks(&c, &marker));
    wait_path(&c, &marker);
    c.w[0].kill9();
    let job = c.wait_final(id);
    assert_eq!(job["state"], "lost", "{job}\n{}", c.logs());
    assert_eq!(job["attempts"], 1, "{job}");
    let reason = job["reason"].as_str().unwrap_or("");
    assert!(reason.contains("node a unreachable"), "{reason}");
    assert!(reason.contains("no attempts left"), "{reason}");
}

/// A node that died but whose lease has not run out yet still gets jobs placed on it; the
/// push fails, the job goes back to the queue without losing an attempt and runs elsewhere.
#[test]
fn node_down_at_dispatch_job_goes_elsewhere() {
    // A long lease: the server still thinks the dead node is healthy when it places jobs.
    let config = "[cluster]\nlease = \"60s\"\n[local_worker]\nenabled = false\n\
                  [services.example]\n";
    let mut c = cluster_with(config, 2, 4, 4);
    c.w[0].kill9();
    let dir = job_dir(c.d.root(), "quick", &[("run.sh", "echo ok > out.txt\n")]);
    let ids: Vec<i64> = (0..6).map(|_| c.submit(&dir)).collect();
    for &id in &ids {
        let job = c.wait_final(id);
        assert_eq!(job["state"], "succeeded", "{job}\n{}", c.logs());
        assert_eq!(job["attempts"], 1, "{job}");
        assert_eq!(job["node"], "b", "{job}");
    }
    assert!(
        c.d.log().contains("node a could not take it"),
        "no job was tried on the dead node:\n{}",
        c.logs()
    );
    assert_eq!(c.node("a")["state"], "unreachable");
}

/// `wait?until=queued` sees a requeue although the job is queued only for a moment before
/// it is dispatched again.
#[test]
fn wait_until_queued_sees_a_requeue() {
    let mut c = cluster(2, 2, 2);
    let marker = c.d.root().join("first-started");
    let fifo = c.d.root().join("go");
    mkfifo(&fifo);
    let script = format!(
        "if [ -e {m} ]; then read line < {f}; echo second > second.txt\n\
         else touch {m}; sleep 60; fi\n",
        m = marker.display(),
        f = fifo.display()
    );
    let id = c.submit(&job_dir(&c.d.work(), "requeued", &[("run.sh", &script)]));
    wait_path(&c, &marker);
    let first = index(&c.node_of(id));
    c.w[first].kill9();
    // The second run blocks, so only the requeue itself can answer this poll in time.
    let path = format!("/v1/jobs/{id}/wait?until=queued&timeout=30");
    let asked = Instant::now();
    let (code, body) = c.d.http_unix("GET", &path, &[], b"");
    // Answered by the requeue, not by the poll's own 30 s timeout.
    assert!(asked.elapsed() < Duration::from_secs(25), "{}", c.logs());
    assert_eq!(code, 200, "{}", String::from_utf8_lossy(&body));
    let job = json(&body);
    assert!(
        job["state"] == "queued" || job["attempts"] == 2,
        "the poll missed the requeue: {job}\n{}",
        c.logs()
    );
    std::fs::write(&fifo, "go\n").expect("release the fifo");
    let job = c.wait_final(id);
    assert_eq!(job["state"], "succeeded", "{job}");
    assert_eq!(job["attempts"], 2, "{job}");
}

/// A node dropped from `jobod.toml` while it ran a job: the restarted server no longer knows
/// the node, so the job goes back to the queue, saying why.
#[test]
fn job_on_a_node_removed_from_the_config_is_requeued() {
    let mut c = with_node_a(Worker::start(&[]), |b| b);
    let marker = c.d.root().join("first-started");
    let id = c.submit(&first_run_blocks(&c, &marker));
    wait_path(&c, &marker);
    c.d.kill9();
    c.d.set_config(CONFIG);
    c.d.restart();
    let job = c.d.job(id);
    assert_eq!(job["state"], "queued", "{job}\n{}", c.logs());
    let reason = job["reason"].as_str().unwrap_or("");
    assert!(reason.contains("node a was removed"), "{reason}");
    assert!(c.nodes().iter().all(|n| n["name"] != "a"));
}

/// A node takes payloads up to its own `--max-upload-bytes` (the server's `max_upload_bytes`
/// is for what users send it): a larger job fails naming the node's limit, a smaller one runs.
#[test]
fn a_node_takes_payloads_up_to_its_own_upload_limit() {
    let c = with_node_a(Worker::start(&["--max-upload-bytes", "100000"]), |b| b);
    let big = job_dir(&c.d.work(), "big", &[("run.sh", "true\n")]);
    std::fs::write(big.join("data.bin"), vec![7u8; 200_000]).expect("write data");
    let job = c.wait_final(c.submit(&big));
    assert_eq!(job["state"], "failed", "{job}\n{}", c.logs());
    let reason = job["reason"].as_str().unwrap_or("");
    assert!(
        reason.contains("node a could not take it") && reason.contains("100000 bytes"),
        "{reason}"
    );
    let small = job_dir(&c.d.work(), "small", &[("run.sh", "true\n")]);
    std::fs::write(small.join("data.bin"), vec![7u8; 50_000]).expect("write data");
    let job = c.wait_final(c.submit(&small));
    assert_eq!(job["state"], "succeeded", "{job}\n{}", c.logs());
}

/// A node job whose start the server never recorded (here a failpoint refuses that write)
/// is dated back by how long it ran on its node, not started when its results came. The
/// node's clock starts before the spawn: here the node is slow to go on after it (a busy
/// runtime), and the run must not come out shorter than its `sleep`.
#[test]
fn a_node_job_whose_start_was_missed_is_dated_by_its_run_time() {
    let node = Worker::start_with_env(&[], &[("FAILPOINTS", "node::spawned=sleep(300)")]);
    let c = with_node_a(node, |b| b.env("FAILPOINTS", "cluster::started=return"));
    let dir = job_dir(&c.d.work(), "slow", &[("run.sh", "sleep 0.6\n")]);
    let job = c.wait_final(c.submit(&dir));
    assert_eq!(job["state"], "succeeded", "{job}\n{}", c.logs());
    let (started, finished) = (
        job["started_at"].as_i64().expect("started_at"),
        job["finished_at"].as_i64().expect("finished_at"),
    );
    assert!(
        finished - started >= 600,
        "ran {} ms by its record: {job}",
        finished - started
    );
    assert!(
        started >= job["submitted_at"].as_i64().unwrap_or(i64::MAX),
        "{job}"
    );
}
