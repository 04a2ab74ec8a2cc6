//! The Slurm backend against a real Slurm: `jobod serve` → `jobod worker --backend slurm` →
//! slurmctld and two slurmd on this host (`scripts/slurm-dev.sh`). Success with results,
//! a non-zero exit, Slurm's `--time` → `timed_out`, cancel → `scancel`, `logs -f`, a worker
//! restart that re-attaches, jobs queued behind `slots`, and one service spread over a local
//! node and a Slurm node.
//!
//! Where Slurm cannot be had: in CI (`CI=true` or `JOBO_REQUIRE_SLURM=1`) every test fails
//! loudly; elsewhere they are skipped, saying why, when `sbatch` is not installed. When it is
//! installed but not running, the tests start it as root with the script.
//!
//! The tests take turns (one lock) so their jobs do not compete for Slurm's four CPUs, except
//! the timeout test, which waits a minute or more for Slurm's time limit and runs meanwhile.

mod common;

use common::worker::Worker;
use common::*;
use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::{Mutex, MutexGuard, OnceLock, mpsc};
use std::time::{Duration, Instant};

const LIMIT: Duration = Duration::from_secs(120);

static TURN: Mutex<()> = Mutex::new(());

fn turn() -> MutexGuard<'static, ()> {
    TURN.lock().unwrap_or_else(|p| p.into_inner())
}

fn required() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
        || std::env::var("JOBO_REQUIRE_SLURM").is_ok_and(|v| v == "1")
}

fn answers(program: &str, args: &[&str]) -> bool {
    Command::new(program)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Whether Slurm is here and answers (started with the script if need be); panics where it
/// is required and cannot be had.
fn slurm() -> bool {
    static UP: OnceLock<Result<(), String>> = OnceLock::new();
    let up = UP.get_or_init(|| {
        if !answers("sbatch", &["--version"]) {
            return Err("sbatch is not installed (apt-get install slurm-wlm munge)".into());
        }
        let idle = || {
            Command::new("sinfo")
                .args(["-h", "-N", "-t", "idle,mix,alloc", "-o", "%N"])
                .output()
                .is_ok_and(|o| o.status.success() && !o.stdout.is_empty())
        };
        if !idle() {
            if !is_root() {
                return Err("Slurm is not running, and only root can start it".into());
            }
            let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/slurm-dev.sh");
            let out = Command::new("bash")
                .arg(&script)
                .arg("start")
                .output()
                .map_err(|e| format!("cannot run {}: {e}", script.display()))?;
            if !out.status.success() {
                return Err(format!(
                    "{} start failed: {}{}",
                    script.display(),
                    String::from_utf8_lossy(&out.stdout),
                    String::from_utf8_lossy(&out.stderr)
                ));
            }
        }
        if !is_root() {
            return Err("the Slurm tests run jobs as jobo-run, which needs root".into());
        }
        Ok(())
    });
    match up {
        Ok(()) => true,
        Err(why) if required() => panic!("Slurm is required here (CI) but: {why}"),
        Err(why) => {
            eprintln!("skipped: {why}");
            false
        }
    }
}

/// The tests' turn and a [`setup`]; `None` (skip) without Slurm where it is not required.
fn begin(
    local_slots: Option<usize>,
    node_slots: usize,
) -> Option<(MutexGuard<'static, ()>, Setup)> {
    if !slurm() {
        return None;
    }
    let t = turn();
    Some((t, setup(local_slots, node_slots, &[])))
}

/// A `jobod worker --backend slurm`, whose Slurm jobs are cancelled when it is dropped.
struct SlurmNode(Worker);

impl SlurmNode {
    fn start(slots: usize, extra: &[&str]) -> SlurmNode {
        let slots = slots.to_string();
        let mut args = vec![
            "--backend",
            "slurm",
            "--slots",
            &slots,
            "--slurm-poll",
            "1s",
        ];
        args.extend_from_slice(extra);
        SlurmNode(Worker::start(&args))
    }

    /// The Slurm job ids its payloads' records hold.
    fn slurm_ids(&self) -> Vec<u64> {
        let Ok(dirs) = std::fs::read_dir(self.0.data().join("payloads")) else {
            return Vec::new();
        };
        dirs.filter_map(|d| {
            let text = std::fs::read(d.ok()?.path().join("slurm.json")).ok()?;
            json(&text)["slurm_id"].as_u64()
        })
        .collect()
    }
}

impl Drop for SlurmNode {
    fn drop(&mut self) {
        for id in self.slurm_ids() {
            let _ = Command::new("scancel").arg(id.to_string()).status();
        }
    }
}

/// What Slurm says of job `id`: (state, exit code) from `scontrol show job`.
fn scontrol(id: u64) -> (String, String) {
    let out = Command::new("scontrol")
        .args(["-o", "show", "job", &id.to_string()])
        .output()
        .expect("scontrol");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let field = |name: &str| {
        text.split_whitespace()
            .find_map(|f| f.strip_prefix(&format!("{name}=")))
            .unwrap_or_default()
            .to_string()
    };
    (field("JobState"), field("ExitCode"))
}

/// The Slurm jobs whose name starts with `prefix`, as `squeue` lists them now.
fn squeue_names(prefix: &str) -> Vec<String> {
    let out = Command::new("squeue")
        .args(["-h", "-o", "%j"])
        .output()
        .expect("squeue");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| l.starts_with(prefix))
        .map(String::from)
        .collect()
}

/// A server (`[local_worker]` as `local_slots` says) and Slurm node "s", service `example`.
struct Setup {
    d: Daemon,
    s: SlurmNode,
}

fn setup(local_slots: Option<usize>, node_slots: usize, extra: &[&str]) -> Setup {
    let local = match local_slots {
        Some(n) => format!("[local_worker]\nslots = {n}\n"),
        None => "[local_worker]\nenabled = false\n".into(),
    };
    let config = format!(
        "[cluster]\nlease = \"5s\"\n{local}[services.example]\n[services.offline]\nnetwork = \"none\"\n"
    );
    let d = Daemon::builder().config(&config).start();
    let s = SlurmNode::start(node_slots, extra);
    d.jobo_ok(&[
        "node",
        "add",
        &s.0.url(),
        "--name",
        "s",
        "--service",
        "example,offline",
        "--slots",
        &node_slots.to_string(),
        "--token-file",
        s.0.token_file().to_str().expect("utf-8 path"),
    ]);
    let setup = Setup { d, s };
    setup.eventually("node s healthy", || setup.node("s")["state"] == "healthy");
    setup
}

impl Setup {
    fn logs(&self) -> String {
        format!(
            "--- jobod log:\n{}\n--- slurm node log:\n{}",
            self.d.log(),
            self.s.0.log()
        )
    }

    fn node(&self, name: &str) -> Value {
        match self.d.jobo_json(&["node", "ls"]) {
            Value::Array(a) => a.into_iter().find(|n| n["name"] == name),
            _ => None,
        }
        .unwrap_or_else(|| panic!("no node {name}"))
    }

    fn eventually(&self, what: &str, mut cond: impl FnMut() -> bool) {
        let deadline = Instant::now() + LIMIT;
        let mut pause = Duration::from_millis(5);
        while !cond() {
            assert!(Instant::now() < deadline, "never: {what}\n{}", self.logs());
            std::thread::sleep(pause);
            pause = (pause * 2).min(Duration::from_millis(200));
        }
    }

    fn submit(&self, name: &str, script: &str, extra: &[&str]) -> i64 {
        let dir = job_dir(&self.d.work(), name, &[("run.sh", script)]);
        let mut args = vec!["submit", dir.to_str().expect("utf-8"), "-s", "example"];
        args.extend_from_slice(extra);
        let out = self.d.jobo_ok(&args);
        out.trim().parse().expect("a job id")
    }

    /// Long-polls until job `id` is `state` or final.
    fn wait_until(&self, id: i64, state: &str) -> Value {
        self.d.wait_until(id, state, &|| self.logs())
    }

    /// Its Slurm job id, as `jobo status` shows it.
    fn slurm_id(&self, id: i64) -> u64 {
        let job = self.d.job(id);
        job["slurm"]["id"]
            .as_u64()
            .unwrap_or_else(|| panic!("no Slurm job in {job}\n{}", self.logs()))
    }
}

/// A job's run ends with success: its results come back, `jobo status` shows its Slurm job
/// (id and state, also in the table), it ran as `jobo-run` on a slurmd, and `node ls` says the
/// node's backend is slurm.
#[test]
fn success_with_results_and_slurm_status() {
    let Some((_t, c)) = begin(None, 2) else {
        return;
    };
    assert_eq!(c.node("s")["backend"], "slurm");
    let table = c.d.jobo_ok(&["node", "ls"]);
    assert!(
        table.contains("BACKEND") && table.contains("slurm"),
        "{table}"
    );
    let script = "echo \"$(id -un) on $SLURMD_NODENAME job $JOBO_JOB_ID\" > out.txt\n\
                  echo to-stdout\necho to-stderr >&2\n";
    let id = c.submit("ok", script, &["--timeout", "5m", "--memory", "64M"]);
    let job = c.wait_until(id, "succeeded");
    assert_eq!(job["state"], "succeeded", "{job}\n{}", c.logs());
    assert_eq!(job["exit_code"], 0);
    assert_eq!(job["node"], "s");
    let sid = c.slurm_id(id);
    assert_eq!(c.d.job(id)["slurm"]["state"], "COMPLETED");
    assert_eq!(scontrol(sid).0, "COMPLETED");
    let detail = c.d.jobo_ok(&["status", &id.to_string()]);
    assert!(
        detail.contains(&format!("{sid} COMPLETED")),
        "no Slurm job in:\n{detail}"
    );
    c.d.jobo_ok(&["fetch", &id.to_string(), "-o", "res"]);
    let out = std::fs::read_to_string(c.d.work().join("res/out.txt")).expect("out.txt");
    assert!(
        out.starts_with("jobo-run on jobo") && out.trim_end().ends_with(&format!("job {id}")),
        "{out}"
    );
    assert_eq!(c.d.jobo_ok(&["logs", &id.to_string()]), "to-stdout\n");
    // Slurm holds the time limit; whether `--mem` binds is the cluster's business: unclaimed.
    let enforced = &c.d.job(id)["enforced"];
    assert_eq!(enforced["timeout"], true, "{enforced}");
    assert!(enforced["memory"].is_null(), "{enforced}");

    // `network = "none"` cannot be applied to a Slurm job, and the status says so.
    let dir = job_dir(&c.d.work(), "offline", &[("run.sh", "true\n")]);
    let out =
        c.d.jobo_ok(&["submit", dir.to_str().expect("utf-8"), "-s", "offline"]);
    let id: i64 = out.trim().parse().expect("a job id");
    let job = c.wait_until(id, "succeeded");
    assert_eq!(job["enforced"]["network"], "not_applied", "{job}");
}

/// A non-zero exit is `failed` with its code and Slurm's word on it.
#[test]
fn nonzero_exit_fails_with_its_code() {
    let Some((_t, c)) = begin(None, 2) else {
        return;
    };
    let id = c.submit("bad", "echo failing\nexit 3\n", &[]);
    let job = c.wait_until(id, "failed");
    assert_eq!(job["state"], "failed", "{job}\n{}", c.logs());
    assert_eq!(job["exit_code"], 3);
    let reason = job["reason"].as_str().unwrap_or_default();
    assert!(
        reason.contains("code 3") && reason.contains("Slurm job"),
        "{reason}"
    );
    let sid = c.slurm_id(id);
    assert_eq!(scontrol(sid), ("FAILED".to_string(), "3:0".to_string()));
}

/// The job's timeout becomes Slurm's `--time`; Slurm enforces it (in whole minutes, checked
/// every 30 s) and the job ends `timed_out`.
#[test]
fn slurm_time_limit_is_timed_out() {
    if !slurm() {
        return;
    }
    // No turn: this one mostly waits, for a minute and more.
    let c = setup(None, 1, &[]);
    let id = c.submit("slow", "echo started\nsleep 600\n", &["--timeout", "60s"]);
    // Slurm ends it 60 to 90 s after it started (plus KillWait): long-poll the server.
    let deadline = Instant::now() + Duration::from_secs(240);
    let job = loop {
        let path = format!("/v1/jobs/{id}/wait?timeout=20&until=timed_out");
        let (code, body) = c.d.http_unix("GET", &path, &[], b"");
        assert_eq!(code, 200, "{}", String::from_utf8_lossy(&body));
        let job = json(&body);
        if job["state"] != "running" && job["state"] != "dispatched" {
            break job;
        }
        assert!(
            Instant::now() < deadline,
            "never timed out: {job}\n{}",
            c.logs()
        );
    };
    assert_eq!(job["state"], "timed_out", "{job}\n{}", c.logs());
    let sid = c.slurm_id(id);
    assert_eq!(scontrol(sid).0, "TIMEOUT");
}

/// A job Slurm keeps pending is still `dispatched`, and `jobo status` shows why Slurm holds
/// it; cancelled there, it is gone from Slurm's queue.
#[test]
fn pending_is_dispatched_with_slurms_reason() {
    if !slurm() {
        return;
    }
    let _t = turn();
    // Every job of this node may start only in an hour: Slurm says "BeginTime".
    let c = setup(None, 2, &["--sbatch-arg=--begin=now+1hour"]);
    let id = c.submit("later", "echo never\n", &[]);
    c.eventually("Slurm says PENDING", || {
        c.d.job(id)["slurm"]["state"] == "PENDING"
    });
    let job = c.d.job(id);
    assert_eq!(job["state"], "dispatched", "{job}");
    assert_eq!(job["slurm"]["reason"], "BeginTime", "{job}");
    let sid = c.slurm_id(id);
    let detail = c.d.jobo_ok(&["status", &id.to_string()]);
    assert!(
        detail.contains(&format!("{sid} PENDING (BeginTime)")),
        "{detail}"
    );
    c.d.jobo_ok(&["cancel", &id.to_string()]);
    assert_eq!(c.wait_until(id, "cancelled")["state"], "cancelled");
    // slurmctld applies the scancel on its own time: wait for it rather than race it.
    c.eventually("Slurm says CANCELLED", || scontrol(sid).0 == "CANCELLED");
}

/// `jobo cancel` of a job running in Slurm is `scancel`: the job ends `cancelled` and Slurm
/// says CANCELLED.
#[test]
fn cancel_is_scancel() {
    let Some((_t, c)) = begin(None, 2) else {
        return;
    };
    let id = c.submit("long", "echo started\nsleep 600\n", &[]);
    let job = c.wait_until(id, "running");
    assert_eq!(job["state"], "running", "{job}\n{}", c.logs());
    let sid = c.slurm_id(id);
    assert_eq!(c.d.job(id)["slurm"]["state"], "RUNNING");
    c.d.jobo_ok(&["cancel", &id.to_string()]);
    let job = c.wait_until(id, "cancelled");
    assert_eq!(job["state"], "cancelled", "{job}\n{}", c.logs());
    c.eventually("Slurm says CANCELLED", || scontrol(sid).0 == "CANCELLED");
}

/// `jobo logs -f` shows the output as Slurm writes it and ends with the job.
#[test]
fn logs_follow_slurm_output() {
    let Some((_t, c)) = begin(None, 2) else {
        return;
    };
    let fifo = c.d.root().join("go");
    mkfifo(&fifo);
    let script = format!("echo one\nread line < {}\necho two\n", fifo.display());
    let id = c.submit("follow", &script, &[]);
    assert_eq!(c.wait_until(id, "running")["state"], "running");
    let mut follower = Command::new(JOBO)
        .args(["logs", "-f", &id.to_string()])
        .env("JOBO_HOST", c.d.host())
        .current_dir(c.d.work())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn jobo logs -f");
    let stdout = follower.stdout.take().expect("stdout");
    let (tx, rx) = mpsc::channel::<String>();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                return;
            }
        }
    });
    let first = rx.recv_timeout(LIMIT);
    let still = c.d.job(id)["state"].clone();
    std::fs::write(&fifo, "go\n").expect("release the fifo");
    let second = rx.recv_timeout(LIMIT);
    let end = rx.recv_timeout(LIMIT);
    let _ = follower.kill();
    let _ = follower.wait();
    assert_eq!(first.as_deref(), Ok("one"), "{}", c.logs());
    assert_eq!(still, "running", "the first line came while it ran");
    assert_eq!(second.as_deref(), Ok("two"), "{}", c.logs());
    assert_eq!(end, Err(mpsc::RecvTimeoutError::Disconnected));
    assert_eq!(c.wait_until(id, "succeeded")["state"], "succeeded");
    // Slurm writes these logs itself: no times, said once, and every line printed.
    let out = c.d.jobo(&["logs", "-t", "--since", "1s", &id.to_string()]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "one\ntwo\n");
    assert_eq!(err.matches("no time index").count(), 1, "{err}");
}

/// A worker killed mid-job and started again re-attaches to its Slurm job: the job was not
/// cancelled nor run twice (one attempt, the same Slurm job) and its result arrives.
#[test]
fn worker_restart_reattaches() {
    let Some((_t, mut c)) = begin(None, 2) else {
        return;
    };
    let fifo = c.d.root().join("go");
    mkfifo(&fifo);
    let script = format!(
        "echo before\nread line < {}\necho after > out.txt\n",
        fifo.display()
    );
    let id = c.submit("restart", &script, &[]);
    assert_eq!(c.wait_until(id, "running")["state"], "running");
    let sid = c.slurm_id(id);
    c.s.0.kill9_node_only();
    assert_eq!(
        scontrol(sid).0,
        "RUNNING",
        "the job goes on without its node"
    );
    c.s.0.boot();
    c.eventually("the node re-attached", || {
        c.s.0
            .log()
            .contains(&format!("re-attached to Slurm job {sid}"))
    });
    std::fs::write(&fifo, "go\n").expect("release the fifo");
    let job = c.wait_until(id, "succeeded");
    assert_eq!(job["state"], "succeeded", "{job}\n{}", c.logs());
    assert_eq!(job["attempts"], 1, "{job}");
    assert_eq!(c.slurm_id(id), sid);
    c.d.jobo_ok(&["fetch", &id.to_string(), "-o", "res"]);
    let out = std::fs::read_to_string(c.d.work().join("res/out.txt")).expect("out.txt");
    assert_eq!(out, "after\n");
}

/// More jobs than slots: the node keeps at most `slots` of them in Slurm at once (the rest
/// wait on the node), and all of them run.
#[test]
fn jobs_queue_behind_slots() {
    if !slurm() {
        return;
    }
    let _t = turn();
    // The server may send 6 at once; the node keeps 2 in Slurm.
    let config = "[cluster]\nlease = \"5s\"\n[local_worker]\nenabled = false\n[services.example]\n";
    let d = Daemon::builder().config(config).start();
    let s = SlurmNode::start(2, &[]);
    d.jobo_ok(&[
        "node",
        "add",
        &s.0.url(),
        "--name",
        "s",
        "--service",
        "example",
        "--slots",
        "6",
        "--token-file",
        s.0.token_file().to_str().expect("utf-8 path"),
    ]);
    let c = Setup { d, s };
    c.eventually("node s healthy", || c.node("s")["state"] == "healthy");
    let ids: Vec<i64> = (0..6)
        .map(|i| c.submit(&format!("q{i}"), "sleep 1\n", &[]))
        .collect();
    let first = ids[0];
    let mut most = 0;
    let deadline = Instant::now() + LIMIT;
    loop {
        let ours = squeue_names("jobo-")
            .into_iter()
            .filter(|n| {
                n.strip_prefix("jobo-")
                    .and_then(|r| r.split('-').next())
                    .and_then(|j| j.parse::<i64>().ok())
                    .is_some_and(|j| j >= first && j < first + 6)
            })
            .count();
        most = most.max(ours);
        let done = ids
            .iter()
            .all(|id| c.d.job(*id)["state"].as_str() == Some("succeeded"));
        if done {
            break;
        }
        assert!(Instant::now() < deadline, "not all done\n{}", c.logs());
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(most, 2, "jobs in Slurm at once at most (slots: 2)");
}

/// Slurm runs the node's jobs on both of its slurmd (two on this host: jobo1 and jobo2).
#[test]
fn jobs_run_on_both_slurmd() {
    let Some((_t, c)) = begin(None, 4) else {
        return;
    };
    let ids: Vec<i64> = (0..4)
        .map(|i| c.submit(&format!("n{i}"), "echo $SLURMD_NODENAME\nsleep 3\n", &[]))
        .collect();
    let mut hosts: Vec<String> = ids
        .iter()
        .map(|id| {
            let job = c.d.wait(*id);
            assert_eq!(job["state"], "succeeded", "{job}\n{}", c.logs());
            c.d.jobo_ok(&["logs", &id.to_string()]).trim().to_string()
        })
        .collect();
    hosts.sort();
    hosts.dedup();
    assert_eq!(hosts, ["jobo1", "jobo2"]);
}

/// One service's jobs spread over the server's own worker and a Slurm node.
#[test]
fn one_service_over_local_and_slurm() {
    let Some((_t, c)) = begin(Some(2), 2) else {
        return;
    };
    let ids: Vec<i64> = (0..8)
        .map(|i| c.submit(&format!("mix{i}"), "sleep 2\necho done\n", &[]))
        .collect();
    let mut places = Vec::new();
    for id in &ids {
        let job = c.d.wait(*id);
        assert_eq!(job["state"], "succeeded", "{job}\n{}", c.logs());
        places.push(job["node"].as_str().unwrap_or_default().to_string());
    }
    assert!(places.iter().any(|p| p == "local"), "{places:?}");
    assert!(places.iter().any(|p| p == "s"), "{places:?}");
    for (id, place) in ids.iter().zip(&places) {
        let slurm = &c.d.job(*id)["slurm"];
        assert_eq!(
            slurm.is_object(),
            place == "s",
            "job {id} on {place}: {slurm}"
        );
    }
}

/// How long after a trivial job's script ends the server has it `succeeded`: Slurm's own
/// bookkeeping plus the short poll cycle (printed; bounded loosely here).
#[test]
fn completion_latency() {
    let Some((_t, c)) = begin(None, 2) else {
        return;
    };
    let mut lags = Vec::new();
    for i in 0..5 {
        let id = c.submit(&format!("lat{i}"), "sleep 0.5\ndate +%s%3N\n", &[]);
        let job = c.d.wait(id);
        assert_eq!(job["state"], "succeeded", "{job}\n{}", c.logs());
        let ended: i64 =
            c.d.jobo_ok(&["logs", &id.to_string()])
                .trim()
                .parse()
                .expect("ms");
        let finished = job["finished_at"].as_i64().expect("finished_at");
        lags.push(finished - ended);
    }
    lags.sort_unstable();
    eprintln!("Slurm completion latency (script end → succeeded), ms: {lags:?}");
    assert!(lags[2] < 5_000, "median {} ms: {lags:?}", lags[2]);
}

/// A Slurm node refuses to start, saying why, where Slurm's commands do not answer (here: not
/// on its PATH), and a local node refuses Slurm settings. Needs no Slurm.
#[test]
fn refuses_to_start_without_slurm() {
    let dir = job_reachable_tempdir();
    let token = dir.path().join("token");
    std::fs::write(&token, "t0ken\n").expect("token");
    set_mode(&token, 0o600);
    let empty = dir.path().join("empty-path");
    std::fs::create_dir(&empty).expect("dir");
    let out = Command::new(JOBOD)
        .args(["worker", "--backend", "slurm", "--listen", "127.0.0.1:0"])
        .arg("--token-file")
        .arg(&token)
        .arg("--data-dir")
        .arg(dir.path().join("data"))
        .env("PATH", &empty)
        .stdin(Stdio::null())
        .output()
        .expect("run jobod worker");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "started without Slurm: {err}");
    assert!(
        err.contains("--backend slurm") && err.contains("sbatch"),
        "unclear refusal: {err}"
    );
    // Slurm settings on a local node are a mistake, said as such.
    let out = Command::new(JOBOD)
        .args(["worker", "--listen", "127.0.0.1:0", "--partition", "p"])
        .arg("--token-file")
        .arg(&token)
        .arg("--data-dir")
        .arg(dir.path().join("data"))
        .stdin(Stdio::null())
        .output()
        .expect("run jobod worker");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "started: {err}");
    assert!(
        err.contains("--partition is for --backend slurm only"),
        "{err}"
    );
}

/// SIGCONTs a process SIGSTOPped by the test on drop (even when the test fails).
struct Frozen(i32);

impl Drop for Frozen {
    fn drop(&mut self) {
        // SAFETY: a signal to a pid of ours.
        unsafe { libc::kill(self.0, libc::SIGCONT) };
    }
}

/// Fencing on a Slurm node is `scancel`: with its server frozen past the lease, the node
/// cancels its Slurm job before the server may run the job again; thawed, the server runs it
/// again as a new Slurm job (attempt 2), never two at once.
#[test]
fn fencing_cancels_the_slurm_job() {
    let Some((_t, c)) = begin(None, 2) else {
        return;
    };
    let id = c.submit("fenced", "echo started\nsleep 600\n", &[]);
    assert_eq!(c.wait_until(id, "running")["state"], "running");
    let first = c.slurm_id(id);
    let pid = c.d.child.as_ref().expect("jobod runs").id() as i32;
    // SAFETY: a signal to our own child.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGSTOP) }, 0);
    let frozen = Frozen(pid);
    c.eventually("the node scancelled its job", || {
        scontrol(first).0 == "CANCELLED"
    });
    drop(frozen);
    c.eventually("attempt 2 runs as another Slurm job", || {
        let job = c.d.job(id);
        job["attempts"] == 2
            && job["state"] == "running"
            && job["slurm"]["id"].as_u64().is_some_and(|s| s != first)
    });
    c.d.jobo_ok(&["cancel", &id.to_string()]);
    assert_eq!(c.wait_until(id, "cancelled")["state"], "cancelled");
}
