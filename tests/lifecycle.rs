//! Job lifecycles end to end against a real `jobod`: cancel (with background children),
//! quotas, crash recovery after `kill -9`, retention, idempotent submits, followed logs,
//! listing and removal.
//!
//! Waiting is done with server-side long polls (`jobo wait`, `/v1/jobs/{id}/wait?until=`)
//! wherever the daemon announces the event; the few things it cannot announce (a file a job
//! writes, a job's files being deleted after its row says `expired`) are polled in short,
//! time-bounded loops. Processes are checked after the call that must have ended them.

mod common;
use common::*;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::io::BufRead;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

const LIMIT: Duration = Duration::from_secs(60);

fn id_of(job: &Value) -> i64 {
    job["id"]
        .as_i64()
        .unwrap_or_else(|| panic!("no id in {job}"))
}

fn state_of(job: &Value) -> &str {
    job["state"].as_str().unwrap_or("?")
}

/// Long-polls (server side) until job `id` is in `state`; fails if it ends in another one.
fn wait_state(d: &Daemon, id: i64, state: &str) -> Value {
    let deadline = Instant::now() + LIMIT;
    loop {
        let (code, body) = d.http_unix(
            "GET",
            &format!("/v1/jobs/{id}/wait?until={state}&timeout=10"),
            &[],
            b"",
        );
        assert_eq!(code, 200, "{}", String::from_utf8_lossy(&body));
        let job = json(&body);
        if state_of(&job) == state {
            return job;
        }
        let now = state_of(&job);
        let pending = ["queued", "dispatched", "running"];
        assert!(
            pending.contains(&now) || !pending.contains(&state),
            "job {id} is {now}, it will never be {state}: {job}\njobod log:\n{}",
            d.log()
        );
        assert!(
            Instant::now() < deadline,
            "job {id} not {state} in time: {job}\njobod log:\n{}",
            d.log()
        );
    }
}

/// Polls for a path a job creates (jobod has no event for it).
fn wait_for_path(d: &Daemon, path: &Path) {
    let deadline = Instant::now() + LIMIT;
    while !path.exists() {
        assert!(
            Instant::now() < deadline,
            "{} never appeared\njobod log:\n{}",
            path.display(),
            d.log()
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Polls for a file a job writes (moved into place whole); returns its content.
fn wait_for_file(d: &Daemon, path: &Path) -> String {
    wait_for_path(d, path);
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// `(state char, start time)` of a process, from `/proc/PID/stat`.
fn proc_stat(pid: i32) -> Option<(char, u64)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = stat.rsplit_once(')')?.1.trim_start();
    let fields: Vec<&str> = rest.split(' ').collect();
    let state = fields.first()?.chars().next()?;
    let start = fields.get(19)?.parse().ok()?;
    Some((state, start))
}

/// Whether the process `pid` that started at `start` is still alive (zombies count as dead).
fn alive(pid: i32, start: u64) -> bool {
    matches!(proc_stat(pid), Some((s, t)) if s != 'Z' && t == start)
}

/// A native submit over TCP as `user`: (HTTP status, job).
fn submit_as(d: &Daemon, user: &str, run_sh: &str, key: Option<&str>) -> (u16, Value) {
    let body = tgz(&[("run.sh", run_sh.as_bytes())]);
    let bearer = format!("Bearer {}", d.make_token(user, "user"));
    let mut headers = vec![
        ("Authorization", bearer.as_str()),
        ("Content-Type", "application/gzip"),
    ];
    if let Some(k) = key {
        headers.push(("Idempotency-Key", k));
    }
    let (code, resp) = d.http("POST", "/v1/jobs?service=example", &headers, &body);
    assert!(
        code == 200 || code == 201,
        "submit as {user} answered {code}: {}",
        String::from_utf8_lossy(&resp)
    );
    (code, json(&resp))
}

fn stderr_of(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn ids(list: &Value) -> Vec<i64> {
    list.as_array()
        .unwrap_or_else(|| panic!("not a list: {list}"))
        .iter()
        .map(id_of)
        .collect()
}

// ---------------------------------------------------------------------------------------------
// 1. cancel

#[test]
fn cancel_kills_a_running_job_and_its_background_child() {
    let d = Daemon::builder()
        .config("[local_worker]\nslots = 2\n[services.example]\n")
        .start();
    let pidfile = d.root().join("child.pid");
    let p = pidfile.display();
    // The child ignores SIGTERM, so only killing the whole group for good gets rid of it.
    // `started` is written before the pid file, so it is in the log whenever the test cancels.
    let script = format!(
        "(trap '' TERM; exec sleep 300) &\n\
         echo started\n\
         echo $! > '{p}.tmp' && mv '{p}.tmp' '{p}'\n\
         wait\n"
    );
    let dir = job_dir(&d.work(), "job", &[("run.sh", &script)]);
    let id = d.submit(&dir, "example");
    wait_state(&d, id, "running");
    let child: i32 = wait_for_file(&d, &pidfile)
        .trim()
        .parse()
        .expect("child pid");
    let (state, start) = proc_stat(child).expect("the background child runs");
    assert_ne!(state, 'Z');
    assert!(d.job_processes().contains(&child));

    let out = d.jobo_ok(&["cancel", &id.to_string()]);
    assert_eq!(out.trim(), format!("{id} cancelled"));
    let job = d.job(id);
    assert_eq!(job["state"], "cancelled", "{job}");
    assert_eq!(job["exit_code"], Value::Null, "{job}");
    assert!(
        job["reason"]
            .as_str()
            .is_some_and(|r| r.contains("while running")),
        "{job}"
    );
    // cancel answers once the job is final, which is after its group is gone.
    assert!(
        !alive(child, start),
        "background child {child} survived the cancel: {:?}",
        proc_stat(child)
    );
    assert_eq!(d.job_processes(), Vec::<i32>::new());
    assert_eq!(d.jobo_ok(&["logs", &id.to_string()]), "started\n");
}

#[test]
fn cancel_escalates_to_sigkill_when_run_sh_ignores_sigterm() {
    let d = Daemon::builder()
        .config("[server]\nkill_grace = \"300ms\"\n[services.example]\n")
        .start();
    let marker = d.root().join("trapping");
    let script = format!(
        "trap '' TERM\nsleep 300 &\ntouch '{}'\nwait\necho survived\n",
        marker.display()
    );
    let dir = job_dir(&d.work(), "job", &[("run.sh", &script)]);
    let id = d.submit(&dir, "example");
    wait_state(&d, id, "running");
    wait_for_path(&d, &marker);
    let before: Vec<(i32, u64)> = d
        .job_processes()
        .into_iter()
        .filter_map(|p| proc_stat(p).map(|(_, t)| (p, t)))
        .collect();
    assert!(before.len() >= 2, "bash and sleep: {before:?}");

    let t0 = Instant::now();
    let out = d.jobo_ok(&["cancel", &id.to_string()]);
    let took = t0.elapsed();
    assert_eq!(out.trim(), format!("{id} cancelled"));
    assert!(
        took >= Duration::from_millis(300),
        "SIGKILL came before the grace period ended ({took:?})"
    );
    assert_eq!(d.job(id)["state"], "cancelled");
    for (pid, start) in before {
        assert!(!alive(pid, start), "{pid} survived the cancel");
    }
    assert_eq!(d.jobo_ok(&["logs", &id.to_string()]), "");
}

#[test]
fn cancel_of_a_finished_job_fails_and_keeps_its_results() {
    let d = Daemon::start();
    let dir = job_dir(
        &d.work(),
        "job",
        &[("run.sh", "echo result > out.txt; echo done")],
    );
    let id = d.submit(&dir, "example");
    assert_eq!(d.wait(id)["state"], "succeeded");

    let out = d.jobo(&["cancel", &id.to_string()]);
    assert!(!out.status.success(), "cancel of a finished job succeeded");
    let err = stderr_of(&out);
    assert_eq!(err.trim_end().lines().count(), 1, "not one line: {err:?}");
    assert!(err.contains("already succeeded"), "{err}");
    assert!(
        out.stdout.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );

    let job = d.job(id);
    assert_eq!(job["state"], "succeeded", "{job}");
    assert_eq!(job["exit_code"], 0);
    d.jobo_ok(&["fetch", &id.to_string(), "-o", "res"]);
    assert_eq!(
        std::fs::read_to_string(d.work().join("res/out.txt")).expect("fetched"),
        "result\n"
    );
    assert_eq!(d.jobo_ok(&["logs", &id.to_string()]), "done\n");
}

#[test]
fn cancel_of_a_queued_job_never_runs_it() {
    let d = Daemon::builder()
        .config("[local_worker]\nslots = 1\n[services.example]\n")
        .start();
    let ran = d.root().join("ran");
    let blocker = job_dir(&d.work(), "blocker", &[("run.sh", "sleep 300")]);
    let queued = job_dir(
        &d.work(),
        "queued",
        &[("run.sh", &format!("touch '{}'", ran.display()))],
    );
    let b = d.submit(&blocker, "example");
    wait_state(&d, b, "running");
    let q = d.submit(&queued, "example");
    assert_eq!(d.job(q)["state"], "queued");

    assert_eq!(
        d.jobo_ok(&["cancel", &q.to_string()]).trim(),
        format!("{q} cancelled")
    );
    let job = d.job(q);
    assert_eq!(job["state"], "cancelled", "{job}");
    assert_eq!(job["attempts"], 0, "{job}");
    assert_eq!(job["started_at"], Value::Null, "{job}");
    assert!(
        job["reason"]
            .as_str()
            .is_some_and(|r| r.contains("while queued")),
        "{job}"
    );
    // Freeing the slot does not start the cancelled job.
    d.jobo_ok(&["cancel", &b.to_string()]);
    assert_eq!(d.wait(b)["state"], "cancelled");
    assert_eq!(d.wait(q)["state"], "cancelled");
    let (code, body) = d.http_unix("GET", "/v1/services", &[], b"");
    assert_eq!(code, 200);
    let svc = json(&body);
    assert_eq!(svc[0]["queued"], 0, "{svc}");
    assert_eq!(svc[0]["running"], 0, "{svc}");
    assert!(!ran.exists(), "the cancelled job ran");
}

// ---------------------------------------------------------------------------------------------
// 2. quotas

/// A run.sh recording `USER START_NS END_NS` into `times/ID` around a short sleep.
fn timed_script(times: &Path) -> String {
    format!(
        "s=$(date +%s%N)\nsleep 0.3\ne=$(date +%s%N)\n\
         echo \"$JOBO_USER $s $e\" > '{}'/\"$JOBO_JOB_ID\"\n",
        times.display()
    )
}

/// Per job id: (user, start ns, end ns) as the jobs recorded them.
fn read_times(times: &Path, ids: &[i64]) -> BTreeMap<i64, (String, u128, u128)> {
    ids.iter()
        .map(|id| {
            let text = std::fs::read_to_string(times.join(id.to_string()))
                .unwrap_or_else(|e| panic!("job {id} left no times: {e}"));
            let f: Vec<&str> = text.split_whitespace().collect();
            assert_eq!(f.len(), 3, "{text:?}");
            let (s, e) = (f[1].parse().expect("start"), f[2].parse().expect("end"));
            assert!(s < e, "{text:?}");
            (*id, (f[0].to_string(), s, e))
        })
        .collect()
}

fn overlap(a: (u128, u128), b: (u128, u128)) -> bool {
    a.0 < b.1 && b.0 < a.1
}

#[test]
fn max_running_per_user_serialises_each_user_but_not_users() {
    let d = Daemon::builder()
        .config("[local_worker]\nslots = 4\n[services.example]\nmax_running_per_user = 1\n")
        .tcp()
        .start();
    let times = d.root().join("times");
    std::fs::create_dir_all(&times).expect("times dir");
    set_mode(&times, 0o1777); // jobs (jobo-run, under a root jobod) write in it
    let script = timed_script(&times);
    let mut jobs = Vec::new();
    for _ in 0..3 {
        for user in ["alice", "bob"] {
            let (code, job) = submit_as(&d, user, &script, None);
            assert_eq!(code, 201);
            assert_eq!(job["user"], user);
            jobs.push(id_of(&job));
        }
    }
    let mut api = BTreeMap::new();
    for &id in &jobs {
        let job = d.wait(id);
        assert_eq!(job["state"], "succeeded", "{job}");
        api.insert(id, job);
    }
    let t = read_times(&times, &jobs);
    for (id, (user, _, _)) in &t {
        assert_eq!(api[id]["user"], user.as_str(), "JOBO_USER of job {id}");
    }
    let mut cross = 0;
    for (a, (ua, sa, ea)) in &t {
        for (b, (ub, sb, eb)) in &t {
            if a >= b || !overlap((*sa, *ea), (*sb, *eb)) {
                continue;
            }
            assert_ne!(ua, ub, "jobs {a} and {b} of {ua} ran at once: {t:?}");
            cross += 1;
        }
    }
    assert!(cross > 0, "alice's and bob's jobs never ran at once: {t:?}");
    // The daemon's own record agrees: a user's next job starts after the previous ended.
    for user in ["alice", "bob"] {
        let mut runs: Vec<(i64, i64)> = api
            .values()
            .filter(|j| j["user"] == user)
            .map(|j| {
                (
                    j["started_at"].as_i64().expect("started"),
                    j["finished_at"].as_i64().expect("finished"),
                )
            })
            .collect();
        runs.sort();
        for w in runs.windows(2) {
            assert!(w[1].0 >= w[0].1, "{user}'s runs overlap: {runs:?}");
        }
    }
}

#[test]
fn max_running_serialises_the_whole_service() {
    let d = Daemon::builder()
        .config("[local_worker]\nslots = 4\n[services.example]\nmax_running = 1\n")
        .tcp()
        .start();
    let times = d.root().join("times");
    std::fs::create_dir_all(&times).expect("times dir");
    set_mode(&times, 0o1777); // jobs (jobo-run, under a root jobod) write in it
    let script = timed_script(&times);
    let mut jobs = Vec::new();
    for _ in 0..2 {
        for user in ["alice", "bob"] {
            jobs.push(id_of(&submit_as(&d, user, &script, None).1));
        }
    }
    let (code, body) = d.http_unix("GET", "/v1/services", &[], b"");
    assert_eq!(code, 200);
    let svc = json(&body);
    assert!(svc[0]["running"].as_u64().is_some_and(|n| n <= 1), "{svc}");
    for &id in &jobs {
        assert_eq!(d.wait(id)["state"], "succeeded");
    }
    let t = read_times(&times, &jobs);
    for (a, (_, sa, ea)) in &t {
        for (b, (_, sb, eb)) in &t {
            assert!(
                a >= b || !overlap((*sa, *ea), (*sb, *eb)),
                "jobs {a} and {b} ran at once: {t:?}"
            );
        }
    }
}

// ---------------------------------------------------------------------------------------------
// 3. crash recovery

/// The job processes a killed daemon left, with their start times (to tell a survivor from a
/// recycled pid).
fn orphans(d: &Daemon) -> Vec<(i32, u64)> {
    d.job_processes()
        .into_iter()
        .filter_map(|p| proc_stat(p).map(|(_, t)| (p, t)))
        .collect()
}

#[test]
fn kill9_with_jobs_queued_and_running_loses_and_repeats_nothing() {
    let mut d = Daemon::builder()
        .config("[local_worker]\nslots = 1\n[services.example]\n")
        .start();
    let ledger = d.root().join("ledger");
    let l = ledger.display();
    let normal = format!("sleep 1\necho \"$JOBO_JOB_ID\" >> '{l}'\n");
    // The first job's first attempt is the one interrupted: it lingers, so that if the
    // restarted daemon did not kill it, it would still be alive below (not race to finish).
    let first_attempt = d.root().join("first-attempt");
    let lingering = format!(
        "if mkdir '{}' 2>/dev/null; then sleep 60; fi\n{normal}",
        first_attempt.display()
    );
    let mut jobs = vec![d.submit(
        &job_dir(&d.work(), "j0", &[("run.sh", &lingering)]),
        "example",
    )];
    for i in 1..4 {
        let dir = job_dir(&d.work(), &format!("j{i}"), &[("run.sh", &normal)]);
        jobs.push(d.submit(&dir, "example"));
    }
    let running = wait_state(&d, jobs[0], "running");
    assert_eq!(running["attempts"], 1);
    wait_for_path(&d, &first_attempt); // the run is past its mkdir
    for &id in &jobs[1..] {
        assert_eq!(d.job(id)["state"], "queued");
    }

    d.kill9();
    // The run outlives the daemon, as after a real crash.
    let orphans = orphans(&d);
    assert!(!orphans.is_empty(), "the interrupted run died with jobod");

    d.restart();
    // Recovery kills the leftover group before the daemon accepts connections.
    for &(pid, start) in &orphans {
        assert!(
            !alive(pid, start),
            "leftover process {pid} of the interrupted run survived the restart\njobod log:\n{}",
            d.log()
        );
    }
    for &id in &jobs {
        let job = d.wait(id);
        assert_eq!(job["state"], "succeeded", "{job}\njobod log:\n{}", d.log());
        let attempts = if id == jobs[0] { 2 } else { 1 };
        assert_eq!(job["attempts"], attempts, "{job}");
    }
    let text = std::fs::read_to_string(&ledger).expect("ledger");
    let mut done: Vec<i64> = text
        .lines()
        .map(|l| l.trim().parse().expect("id"))
        .collect();
    done.sort();
    assert_eq!(done, jobs, "each job must complete exactly once: {text:?}");
    assert_eq!(d.job_processes(), Vec::<i32>::new());
}

#[test]
fn kill9_fails_an_interrupted_job_with_no_attempts_left() {
    let mut d = Daemon::builder()
        .config("[local_worker]\nslots = 1\n[services.example]\nmax_attempts = 1\n")
        .start();
    let stuck = d.submit(
        &job_dir(&d.work(), "stuck", &[("run.sh", "sleep 300")]),
        "example",
    );
    let next = d.submit(
        &job_dir(&d.work(), "next", &[("run.sh", "echo next")]),
        "example",
    );
    wait_state(&d, stuck, "running");
    d.kill9();
    let orphans = orphans(&d);
    assert!(!orphans.is_empty(), "the interrupted run died with jobod");
    d.restart();
    for &(pid, start) in &orphans {
        assert!(!alive(pid, start), "leftover {pid} survived the restart");
    }
    let job = d.wait(stuck);
    assert_eq!(job["state"], "failed", "{job}");
    assert_eq!(job["attempts"], 1, "{job}");
    assert_eq!(job["exit_code"], Value::Null, "{job}");
    assert!(
        job["reason"]
            .as_str()
            .is_some_and(|r| r.contains("no attempts left")),
        "{job}"
    );
    let job = d.wait(next);
    assert_eq!(job["state"], "succeeded", "{job}");
    assert_eq!(job["attempts"], 1, "{job}");
    assert_eq!(d.jobo_ok(&["logs", &next.to_string()]), "next\n");
}

// ---------------------------------------------------------------------------------------------
// 4. retention

#[test]
fn retention_expires_finished_jobs_and_keeps_their_history() {
    let d = Daemon::builder()
        .config("[server]\ncleanup_interval = \"100ms\"\n[services.example]\nretention = \"1s\"\n")
        .tcp()
        .start();
    let (_, job) = submit_as(&d, "carol", "echo bye > out.txt\nexit 3\n", None);
    let id = id_of(&job);
    // A job still running when the finished one expires must keep its files.
    let gate = d.root().join("gate");
    let (_, long) = submit_as(
        &d,
        "carol",
        &format!(
            "for i in $(seq 1 1200); do [ -e '{}' ] && exit 0; sleep 0.05; done\nexit 9\n",
            gate.display()
        ),
        None,
    );
    let long = id_of(&long);

    let done = d.wait(id);
    assert_eq!(done["state"], "failed", "{done}");
    assert_eq!(done["exit_code"], 3);
    let finished = done["finished_at"].as_i64().expect("finished_at");
    let job_dir = d.data().join("jobs").join(id.to_string());
    assert!(job_dir.join("work/out.txt").is_file());

    let expired = wait_state(&d, id, "expired");
    assert_eq!(expired["user"], "carol");
    assert_eq!(expired["exit_code"], 3, "{expired}");
    assert_eq!(expired["finished_at"], finished, "{expired}");
    let age = now_ms() - finished;
    assert!(age >= 1000, "expired {age} ms after it finished");
    // The row turns `expired` just before the files go; give the removal a moment.
    let deadline = Instant::now() + Duration::from_secs(10);
    while job_dir.exists() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(!job_dir.exists(), "{} still exists", job_dir.display());

    let text = d.jobo_ok(&["status", &id.to_string()]);
    let field = |name: &str| -> String {
        text.lines()
            .find_map(|l| l.trim().strip_prefix(&format!("{name}:")))
            .unwrap_or_else(|| panic!("no {name} in:\n{text}"))
            .trim()
            .to_string()
    };
    assert_eq!(field("state"), "expired", "{text}");
    assert_eq!(field("user"), "carol", "{text}");
    assert_eq!(field("exit code"), "3", "{text}");
    assert_ne!(field("finished"), "-", "{text}");
    let fetch = d.jobo(&["fetch", &id.to_string(), "-o", "gone"]);
    assert!(!fetch.status.success());
    assert!(
        stderr_of(&fetch).contains("removed"),
        "{}",
        stderr_of(&fetch)
    );

    // The running job was left alone, and expires only once it has finished.
    let job = d.job(long);
    assert_eq!(job["state"], "running", "{job}");
    assert!(
        d.data()
            .join("jobs")
            .join(long.to_string())
            .join("work")
            .is_dir()
    );
    std::fs::write(&gate, "").expect("open gate");
    assert_eq!(d.wait(long)["state"], "succeeded");
    assert_eq!(wait_state(&d, long, "expired")["exit_code"], 0);
}

// ---------------------------------------------------------------------------------------------
// 5. idempotency

#[test]
fn idempotency_keys_return_the_same_job() {
    let d = Daemon::builder().tcp().start();
    let dir = job_dir(&d.work(), "job", &[("run.sh", "echo first")]);
    let path = dir.to_str().expect("utf-8");
    let submit = |key: &str| -> i64 {
        d.jobo_ok(&[
            "submit",
            path,
            "--service",
            "example",
            "--idempotency-key",
            key,
        ])
        .trim()
        .parse()
        .expect("job id")
    };
    let a = submit("K");
    assert_eq!(submit("K"), a);
    // With changed files the key is refused (409: tests/cli_ux.rs); the first job's stay.
    std::fs::write(dir.join("run.sh"), "echo second").expect("rewrite");
    let reused = d.jobo(&[
        "submit",
        path,
        "--service",
        "example",
        "--idempotency-key",
        "K",
    ]);
    assert!(!reused.status.success());
    assert!(stderr_of(&reused).contains("other content"));
    assert_eq!(d.wait(a)["state"], "succeeded");
    assert_eq!(d.jobo_ok(&["logs", &a.to_string()]), "first\n");
    assert_eq!(ids(&d.jobo_json(&["list"])), vec![a]);

    // Raw HTTP: created, then the same job again.
    let (c1, j1) = submit_as(&d, "dave", "echo dave", Some("K2"));
    let (c2, j2) = submit_as(&d, "dave", "echo dave", Some("K2"));
    assert_eq!((c1, c2), (201, 200));
    assert_eq!(id_of(&j1), id_of(&j2));
    let b = id_of(&j1);
    // Keys belong to a user: someone else's "K" is a new job.
    let (c3, j3) = submit_as(&d, "erin", "echo erin", Some("K"));
    assert_eq!(c3, 201);
    let c = id_of(&j3);
    assert!(c != a && c != b);

    // Concurrent retries of one submit make one job.
    let key = "K3";
    let racing: Vec<i64> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..4).map(|_| s.spawn(|| submit(key))).collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("submit thread"))
            .collect()
    });
    assert!(racing.iter().all(|&id| id == racing[0]), "{racing:?}");
    let e = racing[0];

    let all: BTreeSet<i64> = ids(&d.jobo_json(&["list"])).into_iter().collect();
    assert_eq!(all, BTreeSet::from([a, b, c, e]));
    for id in [b, c, e] {
        assert_eq!(d.wait(id)["state"], "succeeded");
    }
    assert_eq!(d.jobo_ok(&["logs", &b.to_string()]), "dave\n");
}

// ---------------------------------------------------------------------------------------------
// 6. logs -f

/// Starts `jobo logs -f ID` with its output piped.
fn follow(d: &Daemon, id: i64) -> std::process::Child {
    Command::new(JOBO)
        .args(["logs", "-f", &id.to_string()])
        .env("JOBO_HOST", d.host())
        .env("NO_COLOR", "1")
        .current_dir(d.work())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn jobo logs -f")
}

/// Waits (bounded) for a child to exit on its own; kills it and fails after [`LIMIT`].
fn finish(d: &Daemon, child: std::process::Child) -> std::process::Output {
    let pid = child.id() as i32;
    let (tx, rx) = mpsc::channel();
    let waiter = std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    let out = rx.recv_timeout(LIMIT).unwrap_or_else(|_| {
        // SAFETY: kill has no memory preconditions; pid is our own, unreaped child.
        unsafe { libc::kill(pid, libc::SIGKILL) };
        panic!(
            "jobo logs -f did not end with the job\njobod log:\n{}",
            d.log()
        )
    });
    let _ = waiter.join();
    out.expect("wait for jobo")
}

#[test]
fn logs_follow_streams_output_while_the_job_runs() {
    let d = Daemon::start();
    let gate = |n: u32| d.root().join(format!("gate{n}"));
    // Each line after the first waits for the test to have seen the one before, so the
    // follower can only pass by streaming.
    let script = format!(
        "gate() {{ for i in $(seq 1 1200); do [ -e \"$1\" ] && return 0; sleep 0.05; done; exit 9; }}\n\
         echo one\n\
         gate '{}'\n\
         echo two\n\
         echo warn >&2\n\
         gate '{}'\n\
         echo three\n",
        gate(1).display(),
        gate(2).display()
    );
    let dir = job_dir(&d.work(), "job", &[("run.sh", &script)]);
    let id = d.submit(&dir, "example");

    let mut follower = follow(&d, id);
    let pid = follower.id() as i32;
    let stdout = follower.stdout.take().expect("stdout");
    let (tx, rx) = mpsc::channel::<String>();
    let reader = std::thread::spawn(move || {
        for line in std::io::BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let next_line = |what: &str| -> String {
        rx.recv_timeout(LIMIT).unwrap_or_else(|e| {
            // SAFETY: kill has no memory preconditions; pid is our own child.
            unsafe { libc::kill(pid, libc::SIGKILL) };
            panic!("no {what} from jobo logs -f: {e}\njobod log:\n{}", d.log())
        })
    };

    assert_eq!(next_line("first line"), "one");
    assert_eq!(d.job(id)["state"], "running");
    std::fs::write(gate(1), "").expect("gate 1");
    assert_eq!(next_line("second line"), "two");
    assert_eq!(d.job(id)["state"], "running");
    std::fs::write(gate(2), "").expect("gate 2");
    assert_eq!(next_line("third line"), "three");

    // The job ends, so does the stream: the follower exits on its own.
    let out = finish(&d, follower);
    let _ = reader.join();
    let rest: Vec<String> = rx.try_iter().collect();
    assert!(rest.is_empty(), "extra output: {rest:?}");
    let err = stderr_of(&out);
    assert!(out.status.success(), "{err}");
    assert_eq!(err, "warn\n");
    assert_eq!(d.job(id)["state"], "succeeded");
    assert_eq!(d.jobo_ok(&["logs", &id.to_string()]), "one\ntwo\nthree\n");
}

#[test]
fn logs_follow_of_a_queued_job_waits_for_it_to_run() {
    let d = Daemon::builder()
        .config("[local_worker]\nslots = 1\n[services.example]\n")
        .start();
    let gate = d.root().join("gate");
    let blocker = job_dir(
        &d.work(),
        "blocker",
        &[(
            "run.sh",
            &format!(
                "for i in $(seq 1 1200); do [ -e '{}' ] && exit 0; sleep 0.05; done\nexit 9\n",
                gate.display()
            ),
        )],
    );
    let job = job_dir(
        &d.work(),
        "job",
        &[("run.sh", "echo a\nsleep 0.2\necho b >&2\necho c\n")],
    );
    let b = d.submit(&blocker, "example");
    wait_state(&d, b, "running");
    let id = d.submit(&job, "example");
    assert_eq!(d.job(id)["state"], "queued");
    let follower = follow(&d, id);
    std::fs::write(&gate, "").expect("open gate");
    let out = finish(&d, follower);
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "a\nc\n");
    assert_eq!(stderr_of(&out), "b\n");
    assert_eq!(d.job(id)["state"], "succeeded");
    assert_eq!(d.wait(b)["state"], "succeeded");
}

// ---------------------------------------------------------------------------------------------
// 7. list and rm

#[test]
fn list_filters_by_state_and_rm_removes_files_but_keeps_history() {
    let d = Daemon::builder()
        .config("[local_worker]\nslots = 4\n[services.example]\n")
        .start();
    let ok_dir = job_dir(&d.work(), "ok", &[("run.sh", "echo ok > out.txt")]);
    let bad_dir = job_dir(&d.work(), "bad", &[("run.sh", "exit 1")]);
    let long_dir = job_dir(&d.work(), "long", &[("run.sh", "sleep 300")]);
    let ok = d.submit(&ok_dir, "example");
    let bad = d.submit(&bad_dir, "example");
    let long = d.submit(&long_dir, "example");
    assert_eq!(d.wait(ok)["state"], "succeeded");
    assert_eq!(d.wait(bad)["state"], "failed");
    wait_state(&d, long, "running");

    let list = |state: &str| ids(&d.jobo_json(&["list", "--state", state]));
    assert_eq!(list("succeeded"), vec![ok]);
    assert_eq!(list("failed"), vec![bad]);
    assert_eq!(list("running"), vec![long]);
    assert_eq!(list("expired"), Vec::<i64>::new());
    for job in d
        .jobo_json(&["list", "--state", "succeeded"])
        .as_array()
        .expect("list")
    {
        assert_eq!(job["state"], "succeeded");
    }
    // Newest first, unfiltered.
    assert_eq!(ids(&d.jobo_json(&["list"])), vec![long, bad, ok]);
    let bogus = d.jobo(&["list", "--state", "finished"]);
    assert!(!bogus.status.success());
    assert!(
        stderr_of(&bogus).contains("succeeded"),
        "{}",
        stderr_of(&bogus)
    );

    // rm of a finished job: files gone, row stays as `expired`.
    let ok_files = d.data().join("jobs").join(ok.to_string());
    assert!(ok_files.join("work/out.txt").is_file());
    assert_eq!(
        d.jobo_ok(&["rm", &ok.to_string()]).trim(),
        format!("{ok} expired")
    );
    assert!(!ok_files.exists(), "{} still exists", ok_files.display());
    let job = d.job(ok);
    assert_eq!(job["state"], "expired", "{job}");
    assert_eq!(job["exit_code"], 0, "{job}");
    assert!(job["finished_at"].is_i64(), "{job}");
    assert!(
        job["reason"]
            .as_str()
            .is_some_and(|r| r.contains("files removed")),
        "{job}"
    );
    assert_eq!(list("succeeded"), Vec::<i64>::new());
    assert_eq!(list("expired"), vec![ok]);
    // Again: nothing left to do, still fine.
    assert_eq!(
        d.jobo_ok(&["rm", &ok.to_string()]).trim(),
        format!("{ok} expired")
    );
    let fetch = d.jobo(&["fetch", &ok.to_string(), "-o", "res"]);
    assert!(!fetch.status.success());

    // rm of a running job: refused with a hint, and nothing changes.
    let out = d.jobo(&["rm", &long.to_string()]);
    assert!(!out.status.success(), "rm of a running job succeeded");
    let err = stderr_of(&out);
    assert!(err.contains("running"), "{err}");
    assert!(err.contains(&format!("jobo cancel {long}")), "{err}");
    assert_eq!(d.job(long)["state"], "running");
    assert!(
        d.data()
            .join("jobs")
            .join(long.to_string())
            .join("work")
            .is_dir()
    );

    // Several ids: each reported, non-zero if any failed.
    let mixed = d.jobo(&["rm", &bad.to_string(), &long.to_string()]);
    assert!(!mixed.status.success());
    assert_eq!(
        String::from_utf8_lossy(&mixed.stdout).trim(),
        format!("{bad} expired")
    );
    assert_eq!(d.job(bad)["state"], "expired");
    assert_eq!(d.job(bad)["exit_code"], 1);

    d.jobo_ok(&["cancel", &long.to_string()]);
    assert_eq!(
        d.jobo_ok(&["rm", &long.to_string()]).trim(),
        format!("{long} expired")
    );
    assert!(!d.data().join("jobs").join(long.to_string()).exists());
    assert_eq!(list("expired"), vec![long, bad, ok]);
}
