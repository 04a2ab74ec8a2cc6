//! `jobo node …` and `/v1/nodes` against a real `jobod` and real `jobod worker` nodes.

mod common;

use common::worker::{TOKEN, Worker};
use common::{Daemon, json};
use serde_json::Value;
use std::process::Output;
use std::time::{Duration, Instant};

/// A short lease so that health changes show quickly; `example` must be declared by hand.
const CONFIG: &str = "[cluster]\nlease = \"1s\"\n\n[services.example]\n";

fn daemon() -> Daemon {
    Daemon::builder().config(CONFIG).start()
}

fn path(p: &std::path::Path) -> &str {
    p.to_str().expect("utf-8 path")
}

/// `jobo node add URL --service example --slots 2 --token-file …` that must succeed.
fn add(d: &Daemon, w: &Worker) -> Value {
    d.jobo_json(&[
        "node",
        "add",
        &w.url(),
        "--service",
        "example",
        "--slots",
        "2",
        "--token-file",
        path(&w.token_file()),
    ])
}

fn nodes(d: &Daemon) -> Vec<Value> {
    d.jobo_json(&["node", "ls"])
        .as_array()
        .expect("a JSON array")
        .clone()
}

fn node<'a>(list: &'a [Value], id: &Value) -> Option<&'a Value> {
    list.iter().find(|n| &n["id"] == id)
}

/// Polls `jobo node ls --json` with backoff (up to 20 s) until node `id` satisfies `ok`.
fn wait_for_node(d: &Daemon, id: &Value, what: &str, ok: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut pause = Duration::from_millis(20);
    loop {
        let list = nodes(d);
        if let Some(n) = node(&list, id).filter(|n| ok(n)) {
            return n.clone();
        }
        assert!(
            Instant::now() < deadline,
            "node {id} never became {what}: {list:#?}\njobod log:\n{}",
            d.log()
        );
        std::thread::sleep(pause);
        pause = (pause * 2).min(Duration::from_millis(500));
    }
}

/// The command failed with exactly one line on stderr; returns that line.
fn one_line_error(out: &Output) -> String {
    assert!(
        !out.status.success(),
        "expected a failure, got success: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    let err = String::from_utf8_lossy(&out.stderr).trim().to_string();
    assert_eq!(
        err.lines().count(),
        1,
        "expected one line of error: {err:?}"
    );
    assert!(err.starts_with("jobo: error: "), "{err}");
    err
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn added_worker_becomes_healthy_and_its_token_never_shows() {
    let w = Worker::start(&[]);
    let d = daemon();
    let added = add(&d, &w);
    assert_eq!(added["url"], w.url());
    assert_eq!(added["from_config"], false);
    assert!(added.get("token").is_none(), "{added}");
    let id = added["id"].clone();
    assert!(id.as_i64().is_some_and(|i| i > 0), "{added}");

    let list = nodes(&d);
    let n = node(&list, &id).expect("listed");
    assert_eq!(n["url"], w.url());
    assert_eq!(n["name"], w.addr);
    assert_eq!(n["services"], serde_json::json!(["example"]));
    assert_eq!(n["slots"], 2);
    assert_eq!(n["protocol"], "native");

    let healthy = wait_for_node(&d, &id, "healthy with a heartbeat", |n| {
        n["state"] == "healthy" && n["last_heartbeat"].is_i64()
    });
    assert_eq!(healthy["used"], 0);

    // The table shows the node with its slots and state.
    let table = d.jobo_ok(&["node", "ls"]);
    let header = table.lines().next().expect("a header");
    for col in [
        "ID",
        "NAME",
        "URL",
        "SERVICES",
        "SLOTS",
        "FREE",
        "HOST CPU",
        "HOST MEMORY",
        "STATE",
        "LAST HEARTBEAT",
        "DONE",
    ] {
        assert!(header.contains(col), "missing {col}: {table}");
    }
    let row = table
        .lines()
        .find(|l| l.contains(&w.url()))
        .unwrap_or_else(|| panic!("no row for the node:\n{table}"));
    assert!(row.contains("0/2"), "{row}");
    assert!(row.contains("example"), "{row}");
    assert!(row.contains("ago"), "{row}");

    // The token goes in and never comes out: not in tables, JSON, nor the log.
    let json_out = stdout(&d.jobo(&["--json", "node", "ls"]));
    for (what, text) in [
        ("node ls", table.as_str()),
        ("node ls --json", json_out.as_str()),
        ("the jobod log", d.log().as_str()),
    ] {
        assert!(!text.contains(TOKEN), "the token shows in {what}:\n{text}");
    }
}

/// The host's CPU use over `window`, in percent, from `/proc/stat` (as the node measures it).
fn host_cpu_over(window: Duration) -> f64 {
    let read = || -> (u64, u64) {
        let stat = std::fs::read_to_string("/proc/stat").expect("/proc/stat");
        let cpu: Vec<u64> = stat
            .lines()
            .next()
            .expect("cpu line")
            .split_whitespace()
            .skip(1)
            .map(|n| n.parse().expect("a number"))
            .collect();
        // idle + iowait are idle; guest and guest_nice are counted in user and nice already.
        let total: u64 = cpu.iter().take(8).sum();
        (total, cpu[3] + cpu[4])
    };
    let (t0, i0) = read();
    std::thread::sleep(window);
    let (t1, i1) = read();
    let total = (t1 - t0).max(1) as f64;
    100.0 * (total - (i1 - i0) as f64) / total
}

fn mem_total_bytes() -> u64 {
    let info = std::fs::read_to_string("/proc/meminfo").expect("/proc/meminfo");
    let line = info
        .lines()
        .find(|l| l.starts_with("MemTotal:"))
        .expect("MemTotal");
    let kb: u64 = line
        .split_whitespace()
        .nth(1)
        .expect("kB")
        .parse()
        .expect("a number");
    kb * 1024
}

/// A node reports its host's CPU and memory use (sampled in the background) and the server
/// its slots: an idle node has every slot free, and a low CPU figure when its host is quiet
/// (the figure is the host's, whatever else runs there); a busy one shows its slots used and
/// its host's CPU busy.
#[test]
fn an_idle_node_has_its_slots_free_and_a_busy_one_shows_them_used() {
    let w = Worker::start(&[]);
    // Every job on the node.
    let d = Daemon::builder()
        .config(&format!("[local_worker]\nenabled = false\n{CONFIG}"))
        .start();
    let id = add(&d, &w)["id"].clone();
    let idle = wait_for_node(&d, &id, "healthy with its host's load", |n| {
        n["state"] == "healthy" && n["host"].is_object()
    });
    assert_eq!(idle["used"], 0, "{idle}");
    assert_eq!(idle["free_slots"], 2, "{idle}");
    let host = &idle["host"];
    assert_eq!(host["memory_total_bytes"], mem_total_bytes(), "{idle}");
    let used = host["memory_used_bytes"].as_u64().expect("memory used");
    assert!(used > 0 && used < mem_total_bytes(), "{idle}");
    let cpu = host["cpu_percent"].as_f64().expect("cpu");
    assert!((0.0..=100.0).contains(&cpu), "{idle}");
    assert_eq!(idle["load"], host["cpu_percent"], "{idle}");

    // Low when the host is quiet: measured here, then read from a beat sent after that.
    let quiet = host_cpu_over(Duration::from_secs(2));
    let after = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_millis() as i64;
    let later = wait_for_node(&d, &id, "heard from again", |n| {
        n["last_heartbeat"].as_i64().is_some_and(|t| t > after)
    });
    let cpu = later["host"]["cpu_percent"].as_f64().expect("cpu");
    if quiet < 30.0 {
        assert!(
            cpu < 60.0,
            "an idle node on a quiet host ({quiet:.0} %) reads {cpu} %"
        );
    } else {
        println!("the host is busy ({quiet:.0} % CPU): not checking that an idle node reads low");
    }
    let table = d.jobo_ok(&["node", "ls"]);
    let row = table.lines().find(|l| l.contains(&w.url())).expect("a row");
    assert!(
        row.contains("0/2") && row.contains("GiB") && row.contains('%'),
        "{table}"
    );

    // Busy: both slots taken, one job keeping every CPU of the host busy.
    let busy = "for _ in $(seq $(nproc)); do (end=$((SECONDS + 6)); \
                while [ $SECONDS -lt $end ]; do :; done) & done; wait\n";
    let spin = common::job_dir(&d.work(), "spin", &[("run.sh", busy)]);
    let nap = common::job_dir(&d.work(), "nap", &[("run.sh", "sleep 6\n")]);
    let jobs = [d.submit(&spin, "example"), d.submit(&nap, "example")];
    let busy = wait_for_node(&d, &id, "busy on every slot and CPU", |n| {
        n["used"] == 2 && n["host"]["cpu_percent"].as_f64().is_some_and(|c| c >= 75.0)
    });
    assert_eq!(busy["free_slots"], 0, "{busy}");
    let table = d.jobo_ok(&["node", "ls"]);
    let row = table.lines().find(|l| l.contains(&w.url())).expect("a row");
    assert!(row.contains("2/2"), "{table}");
    for job in jobs {
        d.jobo_ok(&["cancel", &job.to_string()]);
    }
}

#[test]
fn drain_undrain_and_remove() {
    let w = Worker::start(&[]);
    let d = daemon();
    let id = add(&d, &w)["id"].clone();
    let key = id.to_string();
    wait_for_node(&d, &id, "healthy", |n| n["state"] == "healthy");

    let out = d.jobo_ok(&["node", "drain", &key]);
    assert!(out.contains("draining"), "{out}");
    assert_eq!(node(&nodes(&d), &id).expect("listed")["state"], "draining");

    // By name as well as by id.
    let drained = d.jobo_json(&["node", "undrain", &w.addr]);
    assert_eq!(drained[0]["id"], id);
    wait_for_node(&d, &id, "healthy again", |n| n["state"] == "healthy");

    let removed = d.jobo_json(&["node", "rm", &key]);
    assert_eq!(removed[0]["id"], id);
    assert!(node(&nodes(&d), &id).is_none(), "still listed");
    assert!(!d.log().contains(TOKEN));
}

#[test]
fn embedded_worker_is_listed_first_and_cannot_be_removed_or_drained() {
    let d = daemon();
    let list = nodes(&d);
    assert_eq!(list.len(), 1, "{list:#?}");
    let local = &list[0];
    assert_eq!(local["id"], 0);
    assert_eq!(local["name"], "local");
    assert_eq!(local["services"], serde_json::json!([]));
    assert_eq!(local["state"], "healthy");
    assert_eq!(local["from_config"], true);

    let row = d
        .jobo_ok(&["node", "ls"])
        .lines()
        .nth(1)
        .expect("a row")
        .to_string();
    assert!(row.contains("local") && row.contains('*'), "{row}");

    for args in [
        ["node", "rm", "local"],
        ["node", "rm", "0"],
        ["node", "drain", "local"],
    ] {
        let err = one_line_error(&d.jobo(&args));
        assert!(err.contains("embedded worker"), "{err}");
    }
    assert_eq!(nodes(&d).len(), 1);
}

#[test]
fn removing_an_unknown_node_fails_clearly() {
    let d = daemon();
    let err = one_line_error(&d.jobo(&["node", "rm", "nope"]));
    assert!(err.contains("no node 'nope'"), "{err}");
    let err = one_line_error(&d.jobo(&["node", "drain", "42"]));
    assert!(err.contains("no node '42'"), "{err}");
    // A key that is not plain text reaches the server intact.
    let err = one_line_error(&d.jobo(&["node", "rm", "a b/c"]));
    assert!(err.contains("no node 'a b/c'"), "{err}");
    // Several keys: each is tried, and the exit says one failed.
    let out = d.jobo(&["node", "undrain", "x", "y"]);
    assert!(!out.status.success());
    assert_eq!(
        String::from_utf8_lossy(&out.stderr).trim().lines().count(),
        2
    );
}

#[test]
fn add_refuses_bad_input_and_adds_nothing() {
    let w = Worker::start(&[]);
    let d = daemon();
    let token = w.token_file();
    let token = path(&token);
    let empty = d.root().join("empty.token");
    std::fs::write(&empty, "\n  \n").expect("empty token file");
    let missing = d.root().join("missing.token");
    let url = w.url();
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (
            vec!["ftp://x", "--service", "example", "--token-file", token],
            "invalid node URL",
        ),
        (
            vec![&url, "--service", "nosuch", "--token-file", token],
            "unknown service 'nosuch'",
        ),
        (
            vec![&url, "--service", "example", "--token-file", path(&missing)],
            "cannot read the node token file",
        ),
        (
            vec![&url, "--service", "example", "--token-file", path(&empty)],
            "is empty",
        ),
        (vec![&url, "--service", "example"], "needs its token"),
        (
            vec![&url, "-s", "example", "--slots", "0", "--token-file", token],
            "slots",
        ),
    ];
    for (args, expected) in cases {
        let mut all = vec!["node", "add"];
        all.extend(args);
        let err = one_line_error(&d.jobo(&all));
        assert!(err.contains(expected), "{all:?}: {err}");
        assert_eq!(nodes(&d).len(), 1, "{all:?} added a node");
    }

    // The same URL twice (even written differently): refused, one node stays.
    add(&d, &w);
    let url = format!("{url}/");
    let out = d.jobo(&[
        "node",
        "add",
        &url,
        "--service",
        "example",
        "--name",
        "other",
        "--token-file",
        token,
    ]);
    let err = one_line_error(&out);
    assert!(err.contains("exists already"), "{err}");
    assert_eq!(nodes(&d).len(), 2);
    assert!(!d.log().contains(TOKEN));
}

#[test]
fn node_api_answers_json_errors() {
    let d = daemon();
    let (status, body) = d.http_unix("POST", "/v1/nodes", &[], b"{not json");
    assert_eq!(status, 400);
    let msg = json(&body)["error"].as_str().expect("error").to_string();
    assert!(msg.contains("invalid node description"), "{msg}");

    // A misplaced token is not quoted back.
    let bad = format!(
        r#"{{"url": "http://127.0.0.1:1", "services": ["example"], "token": "{TOKEN}", "slots": "{TOKEN}"}}"#
    );
    let (status, body) = d.http_unix("POST", "/v1/nodes", &[], bad.as_bytes());
    assert_eq!(status, 400);
    assert!(!String::from_utf8_lossy(&body).contains(TOKEN));

    let big = vec![b' '; 65 * 1024];
    let (status, body) = d.http_unix("POST", "/v1/nodes", &[], &big);
    assert_eq!(status, 413, "{}", String::from_utf8_lossy(&body));

    let (status, body) = d.http_unix("DELETE", "/v1/nodes/nope", &[], b"");
    assert_eq!(status, 404);
    assert!(json(&body)["error"].is_string());

    let (status, _) = d.http_unix("PUT", "/v1/nodes", &[], b"");
    assert_eq!(status, 404);

    let (status, body) = d.http_unix("GET", "/v1/nodes", &[], b"");
    assert_eq!(status, 200);
    assert_eq!(json(&body)[0]["name"], "local");
}

#[test]
fn nodes_from_the_config_are_listed_and_not_removable() {
    let w = Worker::start(&[]);
    let config = format!(
        "{CONFIG}\n[[nodes]]\nurl = \"{}\"\nname = \"n1\"\nservices = [\"example\"]\nslots = 3\ntoken_file = \"{}\"\n",
        w.url(),
        path(&w.token_file())
    );
    let d = Daemon::builder().config(&config).start();
    let list = nodes(&d);
    let n = list
        .iter()
        .find(|n| n["name"] == "n1")
        .unwrap_or_else(|| panic!("n1 not listed: {list:#?}"));
    assert_eq!(n["url"], w.url());
    assert_eq!(n["from_config"], true);
    assert_eq!(n["slots"], 3);
    let id = n["id"].clone();
    wait_for_node(&d, &id, "healthy", |n| n["state"] == "healthy");

    let err = one_line_error(&d.jobo(&["node", "rm", "n1"]));
    assert!(err.contains("jobod.toml"), "{err}");
    let err = one_line_error(&d.jobo(&["node", "rm", "--force", &id.to_string()]));
    assert!(err.contains("jobod.toml"), "{err}");
    assert!(node(&nodes(&d), &id).is_some(), "removed anyway");
    assert!(!d.log().contains(TOKEN));
}
