//! End-to-end benchmark of the real release binaries (`cargo bench --bench e2e`).
//!
//! Starts `jobod serve --user` (and `jobod worker` nodes) on temp dirs and measures, as a
//! client would, over the Unix socket:
//!
//! 1. latency of a trivial job (`run.sh` = `true`): one submit (`POST /v1/jobs`, tar.gz
//!    body), then the long poll `GET /v1/jobs/{id}/wait` until terminal; sequential jobs;
//! 2. throughput: trivial jobs from 4 concurrent submitters until all succeeded;
//! 3. wall time of the real `jobo list` with 100,000 finished jobs in the store;
//! 4. jobod's resident memory with those jobs stored, after the list runs;
//! 5. remote latency: as 1., on a server whose embedded worker is off, through one
//!    `jobod worker` node (8 slots) declared in its `jobod.toml`;
//! 6. remote throughput: as 2., through two such nodes; and how many jobs each ran;
//! 7. node death: a job blocks on its first run; the node running it is SIGKILLed (with its
//!    jobs); time from the kill until the job runs again on the other node, against 3 leases;
//! 8. bulk data: the real `jobo submit` and `jobo fetch` of 1 GB dirs against a tar pipe of
//!    the same data (`bulk.rs` says which, and its variables); only when asked for
//!    (`JOBO_BENCH_ONLY=bulk`): it needs a few GB of room in `JOBO_BENCH_DIR`;
//!    `bulk-remote` (in the `bulk` group too) moves such a job input server → node and its
//!    results back, through one node on loopback (`bulk_remote.rs`);
//! 9. netem: remote latency with the server's pooled node connections against a fresh
//!    connection per request, on loopback and over a link with 50 ms of added delay in a
//!    network namespace (`netem.rs`; as root with iproute2 and the netem qdisc, else through
//!    a delaying proxy, `proxy.rs`); only when asked for (`JOBO_BENCH_ONLY=netem`);
//! 10. cli: wall time of whole `jobo` processes (`--version`, `submit`, `submit --wait`)
//!     against `bash run.sh`, their instruction counts, and the system calls of jobod and its
//!     job per `submit --wait` (`cli.rs`); only when asked for (`JOBO_BENCH_ONLY=cli`).
//! 11. a million stored jobs (`JOBO_BENCH_ONLY=million`, `million.rs`; `JOBO_BENCH_MILLION=N`
//!     changes the count): submits and throughput against an empty store, `jobo list` and
//!     `jobo status ID` walls, start-up with recovery, VmRSS, store size per job, and submits
//!     while the cleaner expires all of them;
//! 12. many nodes (`JOBO_BENCH_ONLY=nodes50`, `nodes.rs`; `JOBO_BENCH_NODES=N`, default
//!     50): latency and throughput through 50 nodes of 2 slots against 2 nodes of 8, a node
//!     death among them, and jobod's CPU per idle node.
//!
//! Phases 1-4 are in `local.rs`, 5-7 in `cluster.rs`, 8 in `bulk.rs` and `bulk_remote.rs`, 9
//! in `netem.rs`, 10 in `cli.rs`, 11 in `million.rs`, 12 in `nodes.rs`; the processes under
//! test and their clean-up in `procs.rs`; the client and the shared measurements in `jobs.rs`.
//!
//! `JOBO_BENCH_QUICK=1` shrinks every size for a smoke run. `JOBO_BENCH_ONLY=LIST` runs only
//! some phases: a comma-separated list of `local` (1-4), `cluster` (5-7), or phase names
//! (`latency`, `throughput`, `list`, `remote-latency`, `remote-throughput`, `node-death`,
//! `bulk`, `bulk-remote`, `netem`, `cli`, `million`, `nodes50`).
//! The local daemons run with job cgroups, jobod's default; `JOBO_BENCH_CGROUPS=0` turns them
//! off (their cost: compare the two).
//! `JOBO_BENCH_SLOTS=N` changes the local slots of the throughput daemon (default 8).
//! `JOBO_BENCH_DIR=DIR` puts the temp dirs in DIR instead of cargo's `target/tmp` (`/tmp` is a
//! poor default on machines whose `/tmp` sees heavy file churn, e.g. from compilers, on ext4
//! without a journal: see [`procs::create_cost_us`]).
//!
//! Every daemon and node is killed on drop together with every process whose working
//! directory is inside its temp dir (its jobs); those left by an earlier run of this benchmark
//! that was killed outright are killed at start. A phase that fails is reported as such and
//! the others still run; the benchmark then exits with an error.

mod bulk;
mod bulk_remote;
mod cli;
mod cluster;
mod jobs;
mod local;
mod million;
mod netem;
mod nodes;
mod procs;
mod proxy;

use std::path::Path;
use std::time::Duration;

type Res<T> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

struct Sizes {
    quick: bool,
    latency_jobs: usize,
    warmup_jobs: usize,
    throughput_jobs: usize,
    submitters: usize,
    slots: usize,
    stored_rows: usize,
    list_runs: usize,
    /// Slots of each worker node.
    node_slots: usize,
    /// Node deaths timed.
    death_runs: usize,
    /// Stored jobs of the `million` phase (`JOBO_BENCH_MILLION`).
    million_rows: usize,
    /// Nodes of the `nodes50` phase (`JOBO_BENCH_NODES`).
    many_nodes: usize,
}

impl Sizes {
    fn from_env() -> Sizes {
        let quick = std::env::var("JOBO_BENCH_QUICK").is_ok_and(|v| !v.is_empty() && v != "0");
        let slots = std::env::var("JOBO_BENCH_SLOTS")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(8);
        let env_num = |name: &str| std::env::var(name).ok().and_then(|s| s.parse().ok());
        let million_rows = env_num("JOBO_BENCH_MILLION");
        let many_nodes = env_num("JOBO_BENCH_NODES").unwrap_or(50);
        if quick {
            Sizes {
                quick,
                latency_jobs: 50,
                warmup_jobs: 5,
                throughput_jobs: 300,
                submitters: 4,
                slots,
                stored_rows: 10_000,
                list_runs: 5,
                node_slots: 8,
                death_runs: 3,
                million_rows: million_rows.unwrap_or(100_000),
                many_nodes,
            }
        } else {
            Sizes {
                quick,
                latency_jobs: 200,
                warmup_jobs: 10,
                throughput_jobs: 2_000,
                submitters: 4,
                slots,
                stored_rows: 100_000,
                list_runs: 11,
                node_slots: 8,
                death_runs: 5,
                million_rows: million_rows.unwrap_or(1_000_000),
                many_nodes,
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The report: one table of (metric, result, target, met) and details lines

struct Row {
    metric: String,
    result: String,
    target: String,
    met: &'static str,
}

struct Report {
    rows: Vec<Row>,
    details: Vec<String>,
    cpus: usize,
    failed: usize,
}

impl Report {
    fn row(
        &mut self,
        metric: impl Into<String>,
        result: impl Into<String>,
        target: impl Into<String>,
        met: &'static str,
    ) {
        self.rows.push(Row {
            metric: metric.into(),
            result: result.into(),
            target: target.into(),
            met,
        });
    }

    /// Two rows comparing a run at scale with its baseline (`what`: "10 nodes / 2 nodes"):
    /// latency p50 and throughput, each within `bound` times the baseline's.
    fn scale_rows(
        &mut self,
        latency: &str,
        what: &str,
        (lat, base_lat): (Duration, Duration),
        (rate, base_rate): (f64, f64),
        bound: f64,
    ) {
        let lat_ratio = jobs::ms(lat) / jobs::ms(base_lat);
        let rate_ratio = base_rate / rate;
        self.row(
            format!("{latency}, {what}"),
            format!(
                "{:.2} / {:.2} ms = {lat_ratio:.2}×",
                jobs::ms(lat),
                jobs::ms(base_lat)
            ),
            format!("≤ {bound}×"),
            verdict(lat_ratio <= bound),
        );
        self.row(
            format!("throughput, {what}"),
            format!("{rate:.0} / {base_rate:.0} jobs/s = 1/{rate_ratio:.2}"),
            format!("≥ 1/{bound}"),
            verdict(rate_ratio <= bound),
        );
    }

    fn detail(&mut self, line: impl Into<String>) {
        self.details.push(line.into());
    }

    fn print(&self) {
        let w0 = self.rows.iter().map(|r| r.metric.chars().count()).max();
        let w1 = self.rows.iter().map(|r| r.result.chars().count()).max();
        let w2 = self.rows.iter().map(|r| r.target.chars().count()).max();
        let (w0, w1, w2) = (
            w0.unwrap_or(0).max(6),
            w1.unwrap_or(0).max(6),
            w2.unwrap_or(0).max(6),
        );
        // `{:<w$}` pads by chars, which is what the arrows and `≤` need.
        println!();
        println!(
            "{:<w0$}  {:>w1$}  {:<w2$}  met",
            "metric", "result", "target"
        );
        for r in &self.rows {
            println!(
                "{:<w0$}  {:>w1$}  {:<w2$}  {}",
                r.metric, r.result, r.target, r.met
            );
        }
        println!();
        println!("details:");
        for d in &self.details {
            println!("  {d}");
        }
    }
}

fn verdict(ok: bool) -> &'static str {
    if ok { "ok" } else { "MISSED" }
}

// ---------------------------------------------------------------------------------------------
// Phases

#[derive(Clone, Copy)]
enum Phase {
    Latency,
    Throughput,
    List,
    RemoteLatency,
    RemoteThroughput,
    NodeDeath,
    Bulk,
    BulkRemote,
    Netem,
    Cli,
    Million,
    Nodes50,
}

impl Phase {
    /// Run when no phase is named.
    const DEFAULT: [Phase; 6] = [
        Phase::Latency,
        Phase::Throughput,
        Phase::List,
        Phase::RemoteLatency,
        Phase::RemoteThroughput,
        Phase::NodeDeath,
    ];
    /// Every phase: the default ones and those run only when named.
    fn all() -> impl Iterator<Item = Phase> {
        Phase::DEFAULT.into_iter().chain([
            Phase::Bulk,
            Phase::BulkRemote,
            Phase::Netem,
            Phase::Cli,
            Phase::Million,
            Phase::Nodes50,
        ])
    }

    fn name(self) -> &'static str {
        match self {
            Phase::Latency => "latency",
            Phase::Throughput => "throughput",
            Phase::List => "list",
            Phase::RemoteLatency => "remote-latency",
            Phase::RemoteThroughput => "remote-throughput",
            Phase::NodeDeath => "node-death",
            Phase::Bulk => "bulk",
            Phase::BulkRemote => "bulk-remote",
            Phase::Netem => "netem",
            Phase::Cli => "cli",
            Phase::Million => "million",
            Phase::Nodes50 => "nodes50",
        }
    }

    fn group(self) -> &'static str {
        match self {
            Phase::Latency | Phase::Throughput | Phase::List => "local",
            Phase::Bulk | Phase::BulkRemote => "bulk",
            Phase::Netem => "netem",
            Phase::Cli => "cli",
            Phase::Million => "million",
            Phase::Nodes50 => "nodes50",
            _ => "cluster",
        }
    }

    fn describe(self, s: &Sizes) -> String {
        match self {
            Phase::Latency => format!("latency: {} sequential trivial jobs", s.latency_jobs),
            Phase::Throughput => format!(
                "throughput: {} jobs, {} submitters, {} slots",
                s.throughput_jobs, s.submitters, s.slots
            ),
            Phase::List => format!("list + memory: {} stored jobs", s.stored_rows),
            Phase::RemoteLatency => format!(
                "remote latency: {} sequential trivial jobs, 1 node",
                s.latency_jobs
            ),
            Phase::RemoteThroughput => format!(
                "remote throughput: {} jobs, {} submitters, 2 nodes × {} slots",
                s.throughput_jobs, s.submitters, s.node_slots
            ),
            Phase::NodeDeath => format!("node death → rerun: {} kills", s.death_runs),
            Phase::Bulk => bulk::describe(s),
            Phase::BulkRemote => format!(
                "bulk server ↔ node: 2 data sets of {} MB through one node vs tar pipe",
                bulk_remote::bytes(s) >> 20
            ),
            Phase::Netem => "netem: remote latency, pooled vs fresh node connections, \
                              loopback and +50 ms"
                .into(),
            Phase::Cli => "cli: jobo --version, submit, submit --wait vs bash run.sh".into(),
            Phase::Million => million::describe(s),
            Phase::Nodes50 => nodes::describe(s),
        }
    }

    async fn run(self, s: &Sizes, r: &mut Report) -> Res<()> {
        match self {
            Phase::Latency => local::latency(s, r).await,
            Phase::Throughput => local::throughput(s, r).await,
            Phase::List => local::big_store(s, r).await,
            Phase::RemoteLatency => cluster::remote_latency(s, r).await,
            Phase::RemoteThroughput => cluster::remote_throughput(s, r).await,
            Phase::NodeDeath => cluster::node_death(s, r).await,
            Phase::Bulk => bulk::bulk(s, r).await,
            Phase::BulkRemote => bulk_remote::bulk_remote(s, r).await,
            Phase::Netem => netem::netem(s, r).await,
            Phase::Cli => cli::cli(s, r).await,
            Phase::Million => million::million(s, r).await,
            Phase::Nodes50 => nodes::nodes50(s, r).await,
        }
    }
}

/// The phases `JOBO_BENCH_ONLY` selects (all when unset), in their fixed order.
fn selected_phases() -> Res<Vec<Phase>> {
    let Some(only) = std::env::var("JOBO_BENCH_ONLY")
        .ok()
        .filter(|v| !v.is_empty())
    else {
        return Ok(Phase::DEFAULT.to_vec());
    };
    let words: Vec<&str> = only.split(',').map(str::trim).collect();
    for w in &words {
        if !Phase::all().any(|p| p.name() == *w || p.group() == *w) {
            let names: Vec<&str> = Phase::all().map(|p| p.name()).collect();
            return Err(format!(
                "JOBO_BENCH_ONLY: unknown phase '{w}' (local, cluster, {})",
                names.join(", ")
            )
            .into());
        }
    }
    Ok(Phase::all()
        .filter(|p| words.iter().any(|w| p.name() == *w || p.group() == *w))
        .collect())
}

fn main() -> Res<()> {
    // `cargo bench` passes `--bench` (and maybe a filter); nothing here takes arguments.
    let base = procs::base_dir();
    if let Err(e) = std::fs::create_dir_all(&base) {
        return Err(format!("cannot create {}: {e}", base.display()).into());
    }
    procs::kill_leftovers(&base);
    let res = run(&base);
    procs::remove_finished_dirs();
    res
}

fn run(base: &Path) -> Res<()> {
    let sizes = Sizes::from_env();
    let phases = selected_phases()?;
    let fs = procs::fs_type(base);
    let create_us = procs::create_cost_us(base)?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    let load_before = procs::loadavg();
    eprintln!(
        "jobo e2e bench: {cpus} CPUs, load average {load_before}, jobod {}{}",
        procs::JOBOD,
        if sizes.quick { " (quick mode)" } else { "" }
    );

    let mut report = Report {
        rows: Vec::new(),
        details: Vec::new(),
        cpus,
        failed: 0,
    };
    for (i, phase) in phases.iter().enumerate() {
        eprintln!("{}/{} {}...", i + 1, phases.len(), phase.describe(&sizes));
        let t = std::time::Instant::now();
        if let Err(e) = rt.block_on(phase.run(&sizes, &mut report)) {
            eprintln!("phase {} FAILED: {e}", phase.name());
            report.row(phase.name(), "error", "-", "FAILED");
            report.failed += 1;
        } else {
            eprintln!("    ({:.1} s)", t.elapsed().as_secs_f64());
        }
    }

    report.detail(format!(
        "machine: {cpus} CPUs; load average before {load_before}, after {} \
         (other work on the machine skews every figure)",
        procs::loadavg()
    ));
    report.detail(format!(
        "data dirs under {} ({fs}; JOBO_BENCH_DIR moves them): {create_us:.1} µs to create a file \
         at start (tmpfs ~10 µs; ext4 without a journal gets far slower after many deletions)",
        base.display()
    ));
    report.print();
    if report.failed > 0 {
        return Err(format!("{} phase(s) failed (see above)", report.failed).into());
    }
    Ok(())
}
