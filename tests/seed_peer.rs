//! jobo against the real job-orchestrator 2.3.1, the system it replaces, both ways round:
//! its `client` mode as a `--protocol seed` node of `jobod`; its `server` mode driving a
//! `jobod worker` through its three service URLs; and one portal, written only against the old
//! documented routes, run unchanged against `jobod` and against the old server.
//!
//! The old system polls every 500 ms, so these tests take seconds, not milliseconds. Where it
//! offers no event the tests poll it too, with a bounded backoff.

mod common;

use common::seed::{self, Seed};
use common::worker::Worker;
use common::*;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

const LIMIT: Duration = Duration::from_secs(60);

/// The first line of every old `run.sh`: the old client learns the exit code from this file.
const TRAP: &str = "trap 'echo $? > .orchestrator.exit' EXIT\n";

/// Polls `cond` with a bounded backoff; fails saying `what` and `logs()` after [`LIMIT`].
fn eventually<T>(what: &str, logs: impl Fn() -> String, mut cond: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + LIMIT;
    let mut pause = Duration::from_millis(20);
    loop {
        if let Some(v) = cond() {
            return v;
        }
        assert!(Instant::now() < deadline, "never: {what}\n{}", logs());
        std::thread::sleep(pause);
        pause = (pause * 2).min(Duration::from_millis(250));
    }
}

// ---------------------------------------------------------------------------------------------
// A portal that knows only the old routes.

/// What a portal written for the old system does: upload every file as field `file` with
/// `user_id` and `service`, then poll `/download/{id}` until it answers a zip (or a final
/// status). Returns the last status word and, when completed, the zip's files.
fn portal(base: &str, files: &[(&str, &[u8])]) -> (i64, String, BTreeMap<String, Vec<u8>>) {
    let parts: Vec<(&str, &str, &[u8])> = files.iter().map(|(n, c)| ("file", *n, *c)).collect();
    let (ct, body) = multipart_parts(&[("user_id", "1"), ("service", "example")], &parts);
    let (status, _, answer) = seed::http(base, "POST", "/upload", &[("Content-Type", &ct)], &body);
    assert_eq!(status, 201, "upload: {}", String::from_utf8_lossy(&answer));
    let v = json(&answer);
    assert_eq!(v["status"], "Queued", "{v}");
    let id = v["id"].as_i64().unwrap_or_else(|| panic!("no id: {v}"));
    eventually(&format!("job {id} done at {base}"), String::new, || {
        let (status, head, body) = seed::http(base, "GET", &format!("/download/{id}"), &[], b"");
        assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
        if head.contains("content-type: application/zip") {
            return Some((id, "Completed".to_string(), zip_files(&body)));
        }
        let v = json(&body);
        let word = v["status"].as_str().unwrap_or("?").to_string();
        let over = ["Failed", "Killed", "Cleaned", "Invalid", "Lost"].contains(&word.as_str());
        over.then(|| (id, word, BTreeMap::new()))
    })
}

const PDB: &[u8] = b"ATOM      1  N   MET A   1\n";

fn portal_job() -> Vec<(&'static str, Vec<u8>)> {
    let run = format!("{TRAP}wc -l < input.pdb > lines.txt\ncp input.pdb copy.pdb\n");
    vec![("run.sh", run.into_bytes()), ("input.pdb", PDB.to_vec())]
}

fn check_portal_results(files: &BTreeMap<String, Vec<u8>>) {
    let text = |n: &str| String::from_utf8_lossy(&files[n]).trim().to_string();
    assert!(files.contains_key("lines.txt"), "{:?}", files.keys());
    assert_eq!(text("lines.txt"), "1");
    assert_eq!(files["copy.pdb"], PDB);
    assert_eq!(files["input.pdb"], PDB);
}

#[test]
fn one_portal_runs_unchanged_against_jobod_and_the_old_server() {
    let Some(bin) = seed::binary() else { return };
    let job = portal_job();
    let files: Vec<(&str, &[u8])> = job.iter().map(|(n, c)| (*n, c.as_slice())).collect();

    // The portal sends no token: it talks to the seed_listen listener, as it would in a
    // deployment that keeps an old portal.
    let d = Daemon::builder().seed_tcp().start();
    let (_, word, zip) = portal(&d.seed_host(), &files);
    assert_eq!(word, "Completed", "jobod: {}", d.log());
    check_portal_results(&zip);

    // The old server. Behind it a jobod worker, not its own client: that client loses runs by
    // itself (its runner and updater race on the pid and report `Lost`; under load, most
    // runs), which is the old system failing, not the portal.
    let w = Worker::start(&["--allow-seed-without-token"]);
    let server = Seed::start(&bin, "server", &service_urls(&w.url()));
    let (_, word, zip) = portal(&server.url(), &files);
    assert_eq!(word, "Completed", "{}\n{}", server.log(), w.log());
    check_portal_results(&zip);
}

/// The old server's environment for service `example` whose client is at `base`.
fn service_urls(base: &str) -> Vec<(&'static str, String)> {
    vec![
        ("SERVICE_EXAMPLE_UPLOAD_URL", format!("{base}/submit")),
        ("SERVICE_EXAMPLE_DOWNLOAD_URL", format!("{base}/retrieve")),
        ("SERVICE_EXAMPLE_TERMINATE_URL", format!("{base}/kill")),
        ("SERVICE_EXAMPLE_RUNS_PER_USER", "5".into()),
        ("SERVICE_EXAMPLE_MAX_RUNS", "5".into()),
    ]
}

// ---------------------------------------------------------------------------------------------
// The old server driving a `jobod worker`.

#[test]
fn the_old_server_drives_a_jobod_worker() {
    let Some(bin) = seed::binary() else { return };
    let w = Worker::start(&["--allow-seed-without-token", "--slots", "2"]);
    let server = Seed::start(&bin, "server", &service_urls(&w.url()));
    let logs = || format!("--- old server:\n{}--- worker:\n{}", server.log(), w.log());

    // A job uploaded to the old server runs on jobo's worker; the old server serves the zip.
    let job = portal_job();
    let files: Vec<(&str, &[u8])> = job.iter().map(|(n, c)| (*n, c.as_slice())).collect();
    let (_, word, zip) = portal(&server.url(), &files);
    assert_eq!(word, "Completed", "{}", logs());
    check_portal_results(&zip);

    // A failing one is Failed there, as with its own client.
    let failing: &[(&str, &[u8])] = &[("run.sh", b"echo half > half.txt\nexit 3\n")];
    let (id, word, _) = portal(&server.url(), failing);
    assert_eq!(word, "Failed", "job {id}\n{}", logs());

    // Terminate kills the whole process group on the worker, background children included.
    let run = b"sleep 300 &\necho $! > child.pid\nwait\n";
    let parts: &[(&str, &str, &[u8])] = &[("file", "run.sh", run)];
    let (ct, body) = multipart_parts(&[("user_id", "2"), ("service", "example")], parts);
    let (status, _, answer) = seed::http(
        &server.url(),
        "POST",
        "/upload",
        &[("Content-Type", &ct)],
        &body,
    );
    assert_eq!(status, 201, "{}", String::from_utf8_lossy(&answer));
    let id = json(&answer)["id"].as_i64().expect("id");
    let pid: i32 = eventually("the background child's pid", logs, || {
        let dirs = std::fs::read_dir(w.data().join("payloads")).ok()?;
        dirs.filter_map(|e| e.ok())
            .filter_map(|e| std::fs::read_to_string(e.path().join("work/child.pid")).ok())
            .find_map(|t| t.trim().parse().ok())
    });
    // The old server dispatches and learns `Running` on its own 500 ms ticks.
    eventually("the old server says Running", logs, || {
        let (_, _, body) = seed::http(&server.url(), "GET", &format!("/download/{id}"), &[], b"");
        (json(&body)["status"] == "Running").then_some(())
    });
    let (status, _, body) =
        seed::http(&server.url(), "POST", &format!("/terminate/{id}"), &[], b"");
    assert_eq!(
        status,
        200,
        "{}\n{}",
        String::from_utf8_lossy(&body),
        logs()
    );
    // The worker answers the kill once the group is gone (and reaped: it is a subreaper).
    assert!(
        !alive(pid),
        "background child {pid} survived terminate\n{}",
        logs()
    );
    let (_, _, body) = seed::http(&server.url(), "GET", &format!("/download/{id}"), &[], b"");
    assert_eq!(json(&body)["status"], "Killed", "{}", logs());
}

/// Whether `pid` runs (a zombie does not).
fn alive(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| {
        !s.rsplit_once(')')
            .is_some_and(|(_, r)| r.trim_start().starts_with('Z'))
    })
}

// ---------------------------------------------------------------------------------------------
// Old clients as `--protocol seed` nodes of jobod.

/// A server whose only places are the old clients `clients` (1 slot each), lease 1 s. Its
/// own validator lets network tools through, so that the old client's refuses them.
fn server_with_clients(clients: &[&Seed]) -> Daemon {
    let mut config = String::from(
        "[cluster]\nlease = \"1s\"\n[local_worker]\nenabled = false\n\
         [services.example]\nmax_attempts = 3\nallow_rules = [\"network-tool\"]\n",
    );
    for c in clients {
        config.push_str(&format!(
            "[[nodes]]\nurl = \"{}\"\nprotocol = \"seed\"\nservices = [\"example\"]\nslots = 1\n",
            c.url()
        ));
    }
    let d = Daemon::builder().config(&config).start();
    eventually(
        "every old client healthy",
        || d.log(),
        || {
            let nodes = d.jobo_json(&["node", "ls"]);
            let healthy = nodes.as_array()?.iter().filter(|n| {
                let url = n["url"].as_str().unwrap_or_default();
                n["state"] == "healthy" && clients.iter().any(|c| url == c.url())
            });
            (healthy.count() == clients.len()).then_some(())
        },
    );
    d
}

fn submit(d: &Daemon, name: &str, run_sh: &str) -> i64 {
    let dir = job_dir(
        &d.root().join("jobs"),
        name,
        &[("run.sh", run_sh), ("in.txt", name)],
    );
    d.submit(&dir, "example")
}

fn fetched(d: &Daemon, id: i64, file: &str) -> String {
    let out = format!("res-{id}");
    d.jobo_ok(&["fetch", &id.to_string(), "-o", &out]);
    std::fs::read_to_string(d.work().join(&out).join(file)).unwrap_or_default()
}

#[test]
fn old_clients_as_seed_nodes_report_every_end() {
    let Some(bin) = seed::binary() else { return };
    let client = Seed::start(&bin, "client", &[]);
    let d = server_with_clients(&[&client]);
    let logs = || format!("--- jobod:\n{}--- old client:\n{}", d.log(), client.log());

    // Success: results back, exit code 0 (from the trap's file; the client sends no outcome).
    let ok = submit(&d, "ok", &format!("{TRAP}cat in.txt > out.txt\n"));
    let job = d.wait_until(ok, "succeeded", &logs);
    assert_eq!(job["state"], "succeeded", "{job}\n{}", logs());
    assert_eq!(job["exit_code"], 0, "{job}");
    assert_eq!(fetched(&d, ok, "out.txt"), "ok");

    // A failure keeps its exit code and its partial files.
    let bad = submit(&d, "bad", &format!("{TRAP}echo half > half.txt\nexit 3\n"));
    let job = d.wait_until(bad, "failed", &logs);
    assert_eq!(job["state"], "failed", "{job}\n{}", logs());
    assert_eq!(job["exit_code"], 3, "{job}");
    assert!(
        job["reason"].as_str().unwrap_or("").contains("code 3"),
        "{job}"
    );
    assert_eq!(fetched(&d, bad, "half.txt"), "half\n");

    // The old client's validator refuses the script: Invalid is final, and the one slot is free
    // again for the next job.
    let invalid = submit(&d, "invalid", &format!("{TRAP}curl http://127.0.0.1:9/x\n"));
    let job = d.wait_until(invalid, "failed", &logs);
    assert_eq!(job["state"], "failed", "{job}\n{}", logs());
    // The old client sometimes overwrites its own Invalid with Lost (its updater marks a run
    // without a pid lost while its runner is still refusing the script); either way the run
    // never started, and the job fails naming what the client said.
    let reason = job["reason"].as_str().unwrap_or("");
    assert!(
        reason.contains("Invalid") || reason.contains("Lost"),
        "{job}"
    );
    let after = submit(&d, "after", &format!("{TRAP}echo after > after.txt\n"));
    let job = d.wait_until(after, "succeeded", &logs);
    assert_eq!(job["state"], "succeeded", "{job}\n{}", logs());

    // Cancel while it runs (blocked on a FIFO, so no sleep decides anything).
    let fifo = d.root().join("hold");
    mkfifo(&fifo);
    let held = submit(
        &d,
        "held",
        &format!("{TRAP}read line < '{}'\n", fifo.display()),
    );
    let job = d.wait_until(held, "running", &logs);
    assert_eq!(job["state"], "running", "{job}\n{}", logs());
    d.jobo_ok(&["cancel", &held.to_string()]);
    let job = d.wait_until(held, "cancelled", &logs);
    assert_eq!(job["state"], "cancelled", "{job}\n{}", logs());
}

#[test]
fn a_job_on_a_killed_old_client_runs_again_on_another() {
    let Some(bin) = seed::binary() else { return };
    let mut clients = [
        Seed::start(&bin, "client", &[]),
        Seed::start(&bin, "client", &[]),
    ];
    let d = server_with_clients(&[&clients[0], &clients[1]]);
    let logs = |c: &[Seed]| {
        let mut s = format!("--- jobod:\n{}", d.log());
        for c in c {
            s.push_str(&format!("--- old client {}:\n{}", c.port, c.log()));
        }
        s
    };
    let fifo = d.root().join("hold");
    mkfifo(&fifo);
    let script = format!(
        "{TRAP}read line < '{}'\necho \"$line\" > got.txt\n",
        fifo.display()
    );
    let id = submit(&d, "moved", &script);
    let job = d.wait_until(id, "running", &|| logs(&clients));
    let node = job["node"].as_str().unwrap_or_default().to_string();
    let first = clients
        .iter()
        .position(|c| node.ends_with(&format!(":{}", c.port)))
        .unwrap_or_else(|| panic!("job on {node}? {job}"));
    clients[first].kill9();

    // After the lease the job is queued again and placed on the other client.
    let job = eventually(
        "the job running on the other client",
        || logs(&clients),
        || {
            let job = d.job(id);
            (job["state"] == "running" && job["node"] != node.as_str()).then_some(job)
        },
    );
    // 2, or more when an old client lost a run of it on its own (its runner/updater race).
    assert!(job["attempts"].as_u64() >= Some(2), "{job}");
    // Opening the FIFO for writing waits for the new run to read it.
    std::fs::write(&fifo, "go\n").expect("release the job");
    let job = d.wait_until(id, "succeeded", &|| logs(&clients));
    assert_eq!(job["state"], "succeeded", "{job}\n{}", logs(&clients));
    assert_eq!(fetched(&d, id, "got.txt"), "go\n");
}
