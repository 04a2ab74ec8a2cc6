//! Phases with remote worker nodes: a server with the embedded worker off and `jobod worker`
//! nodes declared in its `jobod.toml`, all on loopback.
//!
//! 5. latency of a trivial job through one node;
//! 6. throughput through two nodes;
//! 7. a node killed under a running job: time until the job runs again on the other node.

use crate::jobs::{self, ms, quantile, script_tgz, submit, wait_until};
use crate::procs::{self, CpuMeter, Daemon, Node};
use crate::{Report, Res, Sizes, verdict};
use hyper::StatusCode;
use jobo::api::{Job, NodeState};
use jobo::client::ClientError;
use jobo::job::JobState;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// Lease of the latency and throughput setups (short enough to notice a broken setup soon).
pub const LEASE: &str = "3s";
/// Lease of the node-death setups: the requeue time is measured against it.
pub const DEATH_LEASE: Duration = Duration::from_secs(1);

/// A server with the embedded worker disabled and its nodes, all started. Dropping it kills
/// the server first, then the nodes (each with the processes under its dir).
pub struct Setup {
    pub daemon: Daemon,
    pub nodes: Vec<Node>,
    /// How long after the server's start every node showed as healthy (`None`: the server
    /// has no `GET /v1/nodes`, so the first jobs were the wait).
    healthy_after: Option<Duration>,
}

impl Setup {
    /// Starts `count` nodes named `n1`, `n2`, … with `slots` each, then the server with them
    /// in its `jobod.toml`, and waits until it can use them all.
    pub async fn start(count: usize, slots: usize, lease: &str) -> Res<Setup> {
        let nodes = (1..=count)
            .map(|i| Node::start(&format!("n{i}"), slots))
            .collect::<Res<Vec<_>>>()?;
        Setup::with_nodes(nodes, lease, Daemon::new).await
    }

    /// Starts the server, made by `daemon` from its config, with `nodes` (started) in its
    /// `jobod.toml`, and waits until it can use them all.
    pub async fn with_nodes(
        nodes: Vec<Node>,
        lease: &str,
        daemon: impl FnOnce(Option<&str>) -> Res<Daemon>,
    ) -> Res<Setup> {
        let mut config = format!(
            "[local_worker]\nenabled = false\n\n[cluster]\nlease = \"{lease}\"\n\n\
             [services.example]\n"
        );
        for n in &nodes {
            config.push('\n');
            config.push_str(&n.toml());
        }
        let t = Instant::now();
        let daemon = daemon(Some(&config))?.start()?;
        let mut setup = Setup {
            daemon,
            nodes,
            healthy_after: None,
        };
        let healthy = setup.wait_healthy().await;
        setup.healthy_after = setup.explain(healthy)?.then(|| t.elapsed());
        Ok(setup)
    }

    /// Polls `GET /v1/nodes` until every node is `healthy`. `false` if the route is missing.
    async fn wait_healthy(&self) -> Res<bool> {
        let c = self.daemon.client();
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let list: Vec<jobo::api::Node> = match c.get("/v1/nodes").await {
                Ok(list) => list,
                Err(ClientError::Api { status, .. }) if status == StatusCode::NOT_FOUND => {
                    return Ok(false);
                }
                Err(e) => return Err(e.into()),
            };
            let state = |name: &str| list.iter().find(|l| l.name == name).map(|l| l.state);
            if self
                .nodes
                .iter()
                .all(|n| state(&n.name) == Some(NodeState::Healthy))
            {
                return Ok(true);
            }
            if Instant::now() >= deadline {
                let states: Vec<String> = self
                    .nodes
                    .iter()
                    .map(|n| format!("{}: {:?}", n.name, state(&n.name)))
                    .collect();
                return Err(format!(
                    "nodes not healthy 30 s after the server's start ({})",
                    states.join(", ")
                )
                .into());
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// `res`, or its error followed by the end of every log of the setup.
    pub fn explain<T>(&self, res: Res<T>) -> Res<T> {
        res.map_err(|e| {
            let mut msg = e.to_string();
            let tail = |log: String| -> String {
                let lines: Vec<&str> = log.lines().collect();
                lines[lines.len().saturating_sub(15)..].join("\n")
            };
            msg.push_str(&format!(
                "\n--- jobod.log (end):\n{}",
                tail(self.daemon.log())
            ));
            for n in &self.nodes {
                msg.push_str(&format!(
                    "\n--- node {} worker.log (end):\n{}",
                    n.name,
                    tail(n.log())
                ));
            }
            msg.into()
        })
    }

    pub fn pids(&self) -> Res<Vec<u32>> {
        std::iter::once(self.daemon.pid())
            .chain(self.nodes.iter().map(Node::pid))
            .map(|p| p.ok_or_else(|| "a process of the setup is not running".into()))
            .collect()
    }

    pub fn healthy_detail(&self) -> String {
        self.healthy_after.map_or_else(
            || "GET /v1/nodes missing: the warm-up jobs waited for the nodes".into(),
            |d| format!("nodes healthy {:.0} ms after the server's start", ms(d)),
        )
    }
}

// ---------------------------------------------------------------------------------------------
// 5. remote latency

pub async fn remote_latency(sizes: &Sizes, r: &mut Report) -> Res<()> {
    let s = Setup::start(1, sizes.node_slots, LEASE).await?;
    let c = s.daemon.client();
    let measured = async {
        jobs::warm_up(&c, sizes.warmup_jobs).await?;
        let cpu = CpuMeter::start(&s.pids()?);
        let lat = jobs::latency(&c, 0, sizes.latency_jobs).await?;
        Ok((lat, cpu.stop()))
    }
    .await;
    let (lat, cpu) = s.explain(measured)?;
    r.row(
        format!(
            "remote latency p50, submit → succeeded ({} jobs, 1 node)",
            lat.n
        ),
        format!("{:.2} ms", ms(lat.p50)),
        "≤ 20 ms",
        verdict(lat.p50 <= Duration::from_millis(20)),
    );
    r.row(
        "remote latency p99",
        format!("{:.2} ms", ms(lat.p99)),
        "-",
        "",
    );
    r.detail(format!(
        "{}; {}",
        lat.detail("remote latency"),
        s.healthy_detail()
    ));
    let per_job = |secs: f64| secs * 1000.0 / lat.n as f64;
    r.detail(format!(
        "remote latency CPU per job: jobod {:.2} ms, node {:.2} ms, the jobs' bash {:.2} ms, \
         bench client {:.2} ms",
        per_job(cpu.procs[0].0),
        per_job(cpu.procs[1].0),
        per_job(cpu.procs[1].1),
        per_job(cpu.client),
    ));
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// 6. remote throughput

pub async fn remote_throughput(sizes: &Sizes, r: &mut Report) -> Res<()> {
    let s = Setup::start(2, sizes.node_slots, LEASE).await?;
    let measured = async {
        // Warm-up: a small concurrent batch, so both nodes have had payloads.
        jobs::batch(&s.daemon, 4 * sizes.submitters, sizes.submitters).await?;
        let pids = s.pids()?;
        let rss_before: Vec<u64> = pids.iter().map(|&p| procs::rss_kib(p)).collect();
        let cpu = CpuMeter::start(&pids);
        let b = jobs::batch(&s.daemon, sizes.throughput_jobs, sizes.submitters).await?;
        Ok((b, cpu.stop(), rss_before))
    }
    .await;
    let (b, cpu, rss_before) = s.explain(measured)?;
    let rate = b.rate();
    let n = b.jobs.len();
    r.row(
        format!(
            "remote throughput ({n} jobs, {} submitters, {} nodes × {} slots)",
            sizes.submitters,
            s.nodes.len(),
            sizes.node_slots
        ),
        format!("{rate:.0} jobs/s"),
        "≥ 300 jobs/s",
        verdict(rate >= 300.0),
    );
    let mut per_node: BTreeMap<&str, usize> = BTreeMap::new();
    for job in &b.jobs {
        *per_node
            .entry(job.node.as_ref().map_or("(none)", |p| p.as_str()))
            .or_default() += 1;
    }
    let per_node: Vec<String> = per_node.iter().map(|(k, v)| format!("{k} {v}")).collect();
    let pids = s.pids()?;
    let mb = |kib: u64| kib as f64 / 1024.0;
    let rss = |i: usize| {
        let before = rss_before.get(i).copied().unwrap_or(0);
        format!("{:.1} → {:.1} MB", mb(before), mb(procs::rss_kib(pids[i])))
    };
    r.detail(format!(
        "remote throughput: all submitted after {:.2} s ({:.0} submits/s), all succeeded after \
         {:.2} s; jobs run per node: {}; VmRSS before → after: jobod {}, nodes {}",
        b.submitted_in.as_secs_f64(),
        n as f64 / b.submitted_in.as_secs_f64(),
        b.total.as_secs_f64(),
        per_node.join(", "),
        rss(0),
        (1..pids.len()).map(rss).collect::<Vec<_>>().join(", "),
    ));
    let per_job = |secs: f64| secs * 1000.0 / n as f64;
    let nodes_cpu: f64 = cpu.procs[1..].iter().map(|c| c.0).sum();
    let bash_cpu: f64 = cpu.procs[1..].iter().map(|c| c.1).sum();
    r.detail(format!(
        "remote throughput CPU per job: jobod {:.2} ms, nodes {:.2} ms, the jobs' bash {:.2} ms, \
         bench client {:.2} ms (machine: {cpus} CPUs = {:.2} ms of CPU per job at the measured \
         rate)",
        per_job(cpu.procs[0].0),
        per_job(nodes_cpu),
        per_job(bash_cpu),
        per_job(cpu.client),
        r.cpus as f64 * 1000.0 / rate,
        cpus = r.cpus,
    ));
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// 7. node death → rerun

/// One node death, as the client saw it.
pub struct Death {
    from: String,
    to: String,
    /// Kill → the long poll `until=queued` answered `queued` (`None`: the job was past
    /// `queued` already when the server re-read it).
    queued_after: Option<Duration>,
    /// What that long poll answered.
    polled: JobState,
    /// Kill → the job was seen running (or done) on the other node.
    pub running_after: Duration,
    /// Kill → the rerun's `started_at` as the server recorded it.
    started_after_ms: Option<i64>,
}

pub async fn node_death(sizes: &Sizes, r: &mut Report) -> Res<()> {
    let lease = format!("{}ms", DEATH_LEASE.as_millis());
    let mut deaths = Vec::with_capacity(sizes.death_runs);
    for _ in 0..sizes.death_runs {
        // A fresh server and nodes each time: every run starts from two healthy nodes.
        let mut s = Setup::start(2, sizes.node_slots, &lease).await?;
        let death = one_death(&mut s).await;
        deaths.push(s.explain(death)?);
    }
    let mut running: Vec<Duration> = deaths.iter().map(|d| d.running_after).collect();
    running.sort();
    let median = quantile(&running, 0.5);
    let max = *running.last().ok_or("no runs")?;
    let target = 3 * DEATH_LEASE;
    let lease_s = DEATH_LEASE.as_secs_f64();
    r.row(
        format!(
            "node death → running again elsewhere, median of {} (lease {lease_s} s)",
            running.len()
        ),
        format!("{:.2} s", median.as_secs_f64()),
        format!("≤ {:.0} s", target.as_secs_f64()),
        verdict(median <= target),
    );
    r.row(
        "node death → running again, max",
        format!("{:.2} s", max.as_secs_f64()),
        format!("≤ {:.0} s", target.as_secs_f64()),
        verdict(max <= target),
    );
    let runs: Vec<String> = deaths
        .iter()
        .map(|d| {
            let queued = d.queued_after.map_or_else(
                || format!("until=queued answered {}", d.polled),
                |q| format!("queued {:.3} s", q.as_secs_f64()),
            );
            let recorded = d
                .started_after_ms
                .map_or_else(|| "?".into(), |t| format!("{:.3} s", t as f64 / 1000.0));
            format!(
                "{} killed → {queued} → seen running/done on {} {:.3} s (started_at {recorded})",
                d.from,
                d.to,
                d.running_after.as_secs_f64()
            )
        })
        .collect();
    let mut recorded: Vec<i64> = deaths.iter().filter_map(|d| d.started_after_ms).collect();
    recorded.sort();
    if let Some(&max) = recorded.last() {
        r.detail(format!(
            "node death, kill → the rerun's started_at as the server recorded it: median {:.3} s, \
             max {:.3} s (the kill comes right after the first run started, a fresh sign of \
             life: the node is declared lost a whole lease later)",
            quantile(&recorded, 0.5) as f64 / 1000.0,
            max as f64 / 1000.0
        ));
    }
    r.detail(format!(
        "node death runs (SIGKILL of the node and its jobs, lease {lease_s} s, times from the \
         kill; a long poll until=queued that answers another state missed a transient queued): {}",
        runs.join("; ")
    ));
    Ok(())
}

/// `'…'` for the shell.
fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// Runs a job that blocks on its first run only, kills the node running it, and times the
/// rerun on the other node.
pub async fn one_death(s: &mut Setup) -> Res<Death> {
    let c = s.daemon.client();
    // A job of a root jobod runs as another user (jobo-run): give it a place to write.
    use std::os::unix::fs::PermissionsExt;
    let shared = s.daemon.root().join("shared");
    std::fs::create_dir_all(&shared)?;
    std::fs::set_permissions(&shared, std::fs::Permissions::from_mode(0o1777))?;
    std::fs::set_permissions(s.daemon.root(), std::fs::Permissions::from_mode(0o711))?;
    let marker = shared.join("first-run-started");
    // Left by an earlier death on the same setup (`nodes.rs` kills several in a row).
    let _ = std::fs::remove_file(&marker);
    let m = shell_quote(&marker.display().to_string());
    let script = format!("if [ -e {m} ]; then exit 0; fi\n: > {m}\nsleep 60\n");
    let id = submit(&c, &script_tgz(&script)?).await?.id;
    let first = wait_until(&c, id, JobState::Running, 30).await?;
    if first.state != JobState::Running {
        return Err(format!("job {id} not running after 30 s: {}", first.state).into());
    }
    let from = first
        .node
        .as_ref()
        .map(ToString::to_string)
        .ok_or("a running job without a node")?;
    // `running` is recorded when the node has started bash; kill only once the script has
    // created its marker, or the rerun would be the run that blocks.
    let deadline = Instant::now() + Duration::from_secs(10);
    while !marker.exists() {
        if Instant::now() >= deadline {
            return Err(format!("job {id}: running, but its script did not start in 10 s").into());
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let node = s
        .nodes
        .iter_mut()
        .find(|n| n.name == from)
        .ok_or_else(|| format!("job {id} runs on unknown node {from}"))?;

    node.kill9();
    let t0 = Instant::now();
    let killed_ms = jobo::store::now_ms();

    let elsewhere = |j: &Job| {
        j.node.as_ref().map(|p| p.as_str()) != Some(from.as_str()) && j.state != JobState::Queued
    };
    let q = wait_until(&c, id, JobState::Queued, 30).await?;
    let queued_after = (q.state == JobState::Queued).then(|| t0.elapsed());
    let q_state = q.state;
    // The server may have moved it on from `queued` before the long poll re-read it.
    let again = if matches!(q.state, JobState::Running) || q.state.is_terminal() {
        q
    } else {
        wait_until(&c, id, JobState::Running, 30).await?
    };
    let running_after = t0.elapsed();
    if !elsewhere(&again) || !matches!(again.state, JobState::Running | JobState::Succeeded) {
        return Err(format!(
            "job {id} not running again 30 s after {from} was killed: {} on {:?} ({:?})",
            again.state, again.node, again.reason
        )
        .into());
    }
    let done = jobs::wait(&c, id).await?;
    if done.state != JobState::Succeeded || !elsewhere(&done) {
        return Err(format!(
            "job {id} ended {} on {:?} after {from} was killed: {:?}",
            done.state, done.node, done.reason
        )
        .into());
    }
    Ok(Death {
        from,
        to: done
            .node
            .as_ref()
            .map(ToString::to_string)
            .unwrap_or_default(),
        started_after_ms: done.started_at.map(|t| t - killed_ms),
        queued_after,
        polled: q_state,
        running_after,
    })
}
