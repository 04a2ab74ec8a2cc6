//! A bounded soak: a few hundred short jobs on the embedded worker and two real nodes while
//! the server and the nodes are `kill -9`ed at random moments. Then every accepted job must be
//! final and succeeded, each with its own results, and no job process may be left anywhere.
//!
//! The moments come from a seeded generator; the seed is printed, and `JOBO_SOAK_SEED=N`
//! replays a run.

mod common;

use common::worker::Worker;
use common::*;
use serde_json::Value;
use std::collections::BTreeMap;
use std::io::Read;
use std::os::unix::net::UnixStream;
use std::time::{Duration, Instant};

const JOBS: usize = 240;
const LIMIT: Duration = Duration::from_secs(60);

/// xorshift64: enough to pick moments, and replayable from its seed.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

/// One request over the socket, or `None` while the server is down.
fn try_http(
    d: &Daemon,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Option<(u16, Vec<u8>)> {
    let stream = UnixStream::connect(d.socket()).ok()?;
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .ok()?;
    let raw = raw_exchange(stream, method, path, headers, body);
    (!raw.is_empty()).then(|| parse_response(&raw))
}

/// Submits job `i` until the server accepts it (the idempotency key makes a retry after a
/// lost answer the same job); returns its id.
fn submit(d: &Daemon, i: usize, body: &[u8]) -> i64 {
    let key = format!("soak-{i}");
    let headers = [
        ("Content-Type", "application/gzip"),
        ("Idempotency-Key", key.as_str()),
    ];
    let deadline = Instant::now() + LIMIT;
    loop {
        if let Some((status, answer)) =
            try_http(d, "POST", "/v1/jobs?service=example", &headers, body)
        {
            assert!(
                status == 201 || status == 200,
                "job {i}: {status} {}",
                String::from_utf8_lossy(&answer)
            );
            return json(&answer)["id"].as_i64().expect("id");
        }
        assert!(
            Instant::now() < deadline,
            "job {i} never accepted\n{}",
            d.log()
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// The files of a tar.gz, by name.
fn untgz(bytes: &[u8]) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(bytes));
    for entry in archive.entries().expect("tar entries") {
        let mut entry = entry.expect("tar entry");
        let name = entry
            .path()
            .expect("entry path")
            .to_string_lossy()
            .into_owned();
        let mut data = Vec::new();
        entry.read_to_end(&mut data).expect("read entry");
        out.insert(name, data);
    }
    out
}

fn add_node(d: &Daemon, w: &Worker, name: &str) {
    let token = w.token_file();
    d.jobo_ok(&[
        "node",
        "add",
        &w.url(),
        "--name",
        name,
        "--service",
        "example",
        "--slots",
        "3",
        "--token-file",
        token.to_str().expect("utf-8 path"),
    ]);
}

#[test]
fn jobs_survive_random_kill_9s_of_server_and_nodes() {
    let seed = std::env::var("JOBO_SOAK_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(1, |d| d.as_nanos() as u64 | 1)
        });
    eprintln!("soak seed {seed} (JOBO_SOAK_SEED={seed} replays it)");
    let mut rng = Rng(seed);

    let mut d = Daemon::builder()
        .config(
            "[cluster]\nlease = \"1s\"\n[local_worker]\nslots = 2\n\
             [services.example]\nmax_attempts = 50\n",
        )
        .start();
    let mut workers = [
        Worker::start(&["--slots", "3"]),
        Worker::start(&["--slots", "3"]),
    ];
    add_node(&d, &workers[0], "a");
    add_node(&d, &workers[1], "b");
    let logs = |d: &Daemon, w: &[Worker]| {
        format!(
            "--- jobod:\n{}--- a:\n{}--- b:\n{}",
            d.log(),
            w[0].log(),
            w[1].log()
        )
    };

    // Jobs, with six kill -9s (each target twice: the server, then a node) at random moments,
    // each followed by a restart.
    let mut kill_at = std::collections::BTreeSet::new();
    while kill_at.len() < 6 {
        kill_at.insert(10 + rng.below(JOBS as u64 - 10) as usize);
    }
    let mut ids = Vec::with_capacity(JOBS);
    for i in 0..JOBS {
        let run = "sleep 0.0$((RANDOM % 5))\ncp in.txt out.txt\n";
        let token = format!("job {i} {}\n", rng.below(u64::MAX));
        let body = tgz(&[("run.sh", run.as_bytes()), ("in.txt", token.as_bytes())]);
        ids.push((submit(&d, i, &body), token));
        if kill_at.contains(&i) {
            match kill_at.range(..i).count() % 3 {
                0 => {
                    d.kill9();
                    d.restart();
                }
                n => {
                    let w = &mut workers[n - 1];
                    w.kill9_node_only();
                    w.boot();
                }
            }
        }
    }

    // Every accepted job ends, succeeded, with its own results.
    for (id, token) in &ids {
        let deadline = Instant::now() + LIMIT;
        let job = loop {
            let path = format!("/v1/jobs/{id}/wait?timeout=10");
            if let Some((200, body)) = try_http(&d, "GET", &path, &[], b"") {
                let job: Value = json(&body);
                if !["queued", "dispatched", "running"]
                    .contains(&job["state"].as_str().unwrap_or("?"))
                {
                    break job;
                }
            }
            assert!(
                Instant::now() < deadline,
                "job {id} never ended\n{}",
                logs(&d, &workers)
            );
        };
        assert_eq!(job["state"], "succeeded", "{job}\n{}", logs(&d, &workers));
        let (status, body) = d.http_unix("GET", &format!("/v1/jobs/{id}/results"), &[], b"");
        assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
        let files = untgz(&body);
        let out = files
            .get("out.txt")
            .map(|b| String::from_utf8_lossy(b).into_owned());
        assert_eq!(out.as_deref(), Some(token.as_str()), "job {id}: {job}");
    }

    // Nothing of any run is left, on the server or on a node.
    let deadline = Instant::now() + LIMIT;
    loop {
        let mut left = d.job_processes();
        for w in &workers {
            left.extend(processes_under(w.root()));
        }
        if left.is_empty() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "processes left: {left:?}\n{}",
            logs(&d, &workers)
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}
