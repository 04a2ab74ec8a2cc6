//! Phase 10, many nodes (`JOBO_BENCH_ONLY=nodes50`; not in the default run): `JOBO_BENCH_NODES`
//! (default 50) `jobod worker` nodes of 2 slots each on loopback against a reference of 2
//! nodes of 8 slots, both with a lease of 1 s (the node-death lease):
//!
//! - jobod's CPU over an idle window (no jobs; the lease renewals and feeds of every node):
//!   CPU per idle node per second is the difference over the extra nodes;
//! - sequential latency (submit → succeeded; the jobs go round the nodes) and the
//!   throughput batch, as the ratio many / 2 nodes;
//! - node deaths among the many: the node under a blocking job SIGKILLed, time until the job
//!   runs again elsewhere (one setup, one node after the other).
//!
//! Figures (2026-12-01, 2 CPUs under a load average of 8-17 from other work; 5 runs of
//! `JOBO_BENCH_DIR=/dev/shm/jb-scale JOBO_BENCH_ONLY=nodes50 cargo bench --bench e2e`,
//! median and range; no code change was needed for them):
//!
//! | figure                                   | median   | range       | target  |
//! |------------------------------------------|----------|-------------|---------|
//! | latency p50, 50 nodes / 2 nodes          | 0.87×    | 0.77-2.13×  | ≤ 1.5×  |
//! | throughput, 2 nodes / 50 nodes           | 1.10     | 0.87-1.38   | ≤ 1.5   |
//! | node death among 50 → running, max of 3  | 0.98 s   | 0.98-1.15 s | ≤ 3 s   |
//! | jobod CPU per idle node per second       | 0.31 ms  | 0.19-0.31   | -       |
//!
//! The latency ratio swings with the machine's load: each sequential job wakes a node that
//! slept for 50 jobs, which waits for a CPU when others hold both.

use crate::cluster::{DEATH_LEASE, Setup, one_death};
use crate::jobs::{self, quantile};
use crate::procs::CpuMeter;
use crate::{Report, Res, Sizes, verdict};
use std::time::Duration;

/// Slots of each of the many nodes.
const SMALL_SLOTS: usize = 2;
/// The idle window jobod's CPU is read over.
const IDLE_WINDOW: Duration = Duration::from_secs(10);
/// Node deaths timed among the many nodes.
const DEATHS: usize = 3;

pub fn describe(s: &Sizes) -> String {
    format!(
        "many nodes: {} × {SMALL_SLOTS} slots against 2 × {} slots (idle CPU, latency, \
         throughput, {DEATHS} node deaths)",
        s.many_nodes, s.node_slots
    )
}

/// What one setup measured.
struct Figures {
    idle_cpu_ms_per_s: f64,
    lat: jobs::Latency,
    rate: f64,
}

async fn measure(s: &Setup, sizes: &Sizes) -> Res<Figures> {
    let c = s.daemon.client();
    // Every node gets its first payloads (the jobs go to the least busy node).
    jobs::batch(
        &s.daemon,
        4 * s.nodes.len().max(sizes.submitters),
        sizes.submitters,
    )
    .await?;
    jobs::warm_up(&c, 2 * s.nodes.len()).await?;
    let pid = s.daemon.pid().ok_or("no daemon")?;
    let cpu = CpuMeter::start(&[pid]);
    tokio::time::sleep(IDLE_WINDOW).await;
    let idle = cpu.stop();
    let lat = jobs::latency(&c, 0, sizes.latency_jobs).await?;
    let b = jobs::batch(&s.daemon, sizes.throughput_jobs, sizes.submitters).await?;
    Ok(Figures {
        idle_cpu_ms_per_s: idle.procs[0].0 * 1000.0 / IDLE_WINDOW.as_secs_f64(),
        lat,
        rate: b.rate(),
    })
}

pub async fn nodes50(sizes: &Sizes, r: &mut Report) -> Res<()> {
    let lease = format!("{}ms", DEATH_LEASE.as_millis());
    let many = sizes.many_nodes;
    let two = {
        let s = Setup::start(2, sizes.node_slots, &lease).await?;
        let f = measure(&s, sizes).await;
        s.explain(f)?
    };
    let mut s = Setup::start(many, SMALL_SLOTS, &lease).await?;
    let healthy = s.healthy_detail();
    let f = measure(&s, sizes).await;
    let lots = s.explain(f)?;
    let mut deaths = Vec::with_capacity(DEATHS);
    for _ in 0..DEATHS {
        let d = one_death(&mut s).await;
        deaths.push(s.explain(d)?.running_after);
    }
    drop(s);
    deaths.sort();

    r.scale_rows(
        "latency p50",
        &format!("{many} nodes / 2 nodes"),
        (lots.lat.p50, two.lat.p50),
        (lots.rate, two.rate),
        1.5,
    );
    let worst = *deaths.last().ok_or("no deaths")?;
    r.row(
        format!("node death among {many} → running again, max of {DEATHS}"),
        format!("{:.2} s", worst.as_secs_f64()),
        "≤ 3 s",
        verdict(worst <= Duration::from_secs(3)),
    );
    let per_node = (lots.idle_cpu_ms_per_s - two.idle_cpu_ms_per_s) / (many - 2).max(1) as f64;
    r.row(
        "jobod CPU per idle node per second",
        format!("{per_node:.3} ms"),
        "-",
        "",
    );
    r.detail(format!(
        "many nodes: jobod idle CPU {:.1} ms/s with {many} nodes, {:.1} ms/s with 2 (lease {} s, \
         over {} s); {healthy}",
        lots.idle_cpu_ms_per_s,
        two.idle_cpu_ms_per_s,
        DEATH_LEASE.as_secs_f64(),
        IDLE_WINDOW.as_secs()
    ));
    r.detail(format!(
        "many nodes: submit → running recorded p50 {} / {} ms ({many} / 2 nodes); {}; {}",
        lots.lat
            .to_running_p50
            .map_or("?".into(), |v| v.to_string()),
        two.lat.to_running_p50.map_or("?".into(), |v| v.to_string()),
        lots.lat.detail(&format!("{many} nodes")),
        two.lat.detail("2 nodes"),
    ));
    r.detail(format!(
        "many nodes: deaths → running again {} s (median {:.2} s)",
        deaths
            .iter()
            .map(|d| format!("{:.2}", d.as_secs_f64()))
            .collect::<Vec<_>>()
            .join(", "),
        quantile(&deaths, 0.5).as_secs_f64()
    ));
    Ok(())
}
