//! Phase 9, a million stored jobs (`JOBO_BENCH_ONLY=million`; not in the default run: the
//! fill and the purge take minutes). `JOBO_BENCH_MILLION=N` changes the count (quick mode:
//! 100,000).
//!
//! - an empty store first: sequential submits (p50, p99) and the throughput batch;
//! - the store filled with N finished jobs by [`fill_store`] (the real store code, batched
//!   inserts; finished 2 h to N s + 2 h ago) plus 8 jobs "running" when jobod died, for the
//!   start-up's recovery to repair; the store file size per job;
//! - jobod started on it (spawn → socket accepts, which includes `quick_check`, migrations
//!   and recovery), then `jobo list` and `jobo status ID` walls, the same submits and
//!   throughput batch, VmRSS;
//! - restarted with `retention = "1h"`: the cleaner expires all N at once while one client
//!   submits back to back; submit p50/p99/max during the purge and how long the purge took;
//! - jobod's CPU over idle windows in which the cleaner sweeps every second: over the N jobs
//!   when none is due yet (restarted with `cleanup_interval = "1s"` first), and over the N
//!   expired ones after the purge (what every later sweep costs).
//!
//! Figures (2026-12-01, 2 CPUs under a load average of 10-16 from other work; medians of 3
//! runs of `JOBO_BENCH_DIR=/dev/shm/jb-scale JOBO_BENCH_ONLY=million cargo bench --bench e2e`,
//! "before" one run of the code before batched retention):
//!
//! | figure                                  | before    | after           | target   |
//! |-----------------------------------------|-----------|-----------------|----------|
//! | submit p50, 1M stored / empty           | 1.41×     | 1.08×           | ≤ 1.2×   |
//! | throughput, empty / 1M stored           | 0.89      | 0.93            | ≤ 1.2    |
//! | `jobo list`                             | 4.4 ms    | 5.3 ms          | ≤ 20 ms  |
//! | `jobo status ID`                        | 2.7 ms    | 4.0 ms          | ≤ 10 ms  |
//! | start-up incl. recovery                 | 1029 ms   | 1446 ms (660-3418) | ≤ 2 s |
//! | VmRSS                                   | 30.5 MB   | 29.2 MB         | ≤ 50 MB  |
//! | store file per job                      | 171 B     | 197 B           | -        |
//! | submit p99 during the purge             | 35,981 ms | 15.6 ms (max 25-245) | no stall |
//! | purge of 1M (all rows expired, files gone) | > 5 min | 23.7 s        | -        |
//! | idle CPU, sweeps every 1 s, 1M not due  | 294 ms/s  | 0.0 ms/s        | -        |

use crate::jobs::{self, ms, quantile, submit, trivial_tgz};
use crate::local::{fill_store, run_jobo};
use crate::procs::{self, CpuMeter, Daemon};
use crate::{Report, Res, Sizes, verdict};
use jobo::store::{Store, now_ms};
use std::time::{Duration, Instant};

/// Jobs marked running when jobod "died", repaired by the start-up's recovery.
const INTERRUPTED: usize = 8;
/// How long the purge may take before the phase fails.
const PURGE_LIMIT: Duration = Duration::from_secs(600);
/// The idle window over which the cleaner's sweeps of expired rows are measured.
const IDLE_WINDOW: Duration = Duration::from_secs(5);

/// The daemons' `jobod.toml`: the throughput phase's slots (`JOBO_BENCH_SLOTS`).
fn config(s: &Sizes, retention: &str, cleanup_interval: &str) -> String {
    format!(
        "[server]\ncleanup_interval = \"{cleanup_interval}\"\n\n\
         [local_worker]\nslots = {}\n\n\
         [services.example]\nretention = \"{retention}\"\n",
        s.slots
    )
}

pub fn describe(s: &Sizes) -> String {
    format!(
        "million: {} stored jobs (fill, start-up, list, status, submits, purge)",
        s.million_rows
    )
}

/// Sequential submits (with their waits) and the throughput batch of one daemon.
struct Submits {
    lat: jobs::Latency,
    rate: f64,
}

async fn submits(d: &Daemon, s: &Sizes) -> Res<Submits> {
    let lat = jobs::latency(&d.client(), s.warmup_jobs, s.latency_jobs).await?;
    let b = jobs::batch(d, s.throughput_jobs, s.submitters).await?;
    Ok(Submits {
        lat,
        rate: b.rate(),
    })
}

/// Marks `INTERRUPTED` jobs of the store as running on the local worker with their attempts
/// used up: the start-up's recovery fails them (they have no files to run again).
fn interrupt_some(db: &std::path::Path) -> Res<()> {
    let store = Store::open(db)?;
    store.call_sync(|c| {
        for _ in 0..INTERRUPTED {
            c.execute(
                "INSERT INTO jobs (user, service, state, priority, node, attempts, \
                 submitted_at, started_at, input_bytes) \
                 VALUES ('user0', 'example', 'running', 0, 'local', 3, ?1, ?1, 133)",
                [now_ms() - 1000],
            )?;
        }
        Ok(())
    })?;
    Ok(())
}

/// jobod's CPU (ms per second) over [`IDLE_WINDOW`] without requests.
async fn idle_cpu_ms_per_s(d: &Daemon) -> Res<f64> {
    let cpu = CpuMeter::start(&[d.pid().ok_or("no daemon")?]);
    tokio::time::sleep(IDLE_WINDOW).await;
    Ok(cpu.stop().procs[0].0 * 1000.0 / IDLE_WINDOW.as_secs_f64())
}

fn median_wall(host: &str, args: &[&str], runs: usize) -> Res<Duration> {
    run_jobo(host, args)?;
    let mut walls = Vec::with_capacity(runs);
    for _ in 0..runs {
        walls.push(run_jobo(host, args)?.0);
    }
    walls.sort();
    Ok(quantile(&walls, 0.5))
}

pub async fn million(s: &Sizes, r: &mut Report) -> Res<()> {
    let n = s.million_rows;
    let keep = config(s, "1000d", "60s");

    // An empty store, the reference.
    let empty = {
        let d = Daemon::new(Some(&keep))?.start()?;
        submits(&d, s).await?
    };

    // The filled store.
    let d = Daemon::new(Some(&keep))?;
    let db = d.data().join("jobo.db");
    let t = Instant::now();
    fill_store(&db, n, 2 * 3600 * 1000, 1000)?;
    interrupt_some(&db)?;
    let fill = t.elapsed();
    let db_bytes = std::fs::metadata(&db)?.len();
    let t = Instant::now();
    let d = d.start()?;
    let startup = t.elapsed();
    let host = d.host();
    let mut recovered = 0;
    for id in n + 1..=n + INTERRUPTED {
        let job: jobo::api::Job = d.client().get(&format!("/v1/jobs/{id}")).await?;
        recovered += usize::from(job.state == jobo::job::JobState::Failed);
    }
    let list = median_wall(&host, &["list"], s.list_runs)?;
    let status_id = (n / 2).max(1).to_string();
    let status = median_wall(&host, &["status", &status_id], s.list_runs)?;
    let full = submits(&d, s).await?;
    let pid = d.pid().ok_or("no daemon")?;
    let rss_mb = procs::rss_kib(pid) as f64 / 1024.0;
    let hwm_mb = procs::hwm_kib(pid) as f64 / 1024.0;

    // The cleaner sweeping every second over the stored jobs, none of them due yet.
    let d = d.restart(Some(&config(s, "1000d", "1s")))?;
    let sweeping_cpu = idle_cpu_ms_per_s(&d).await?;

    // The purge: every stored job is past a retention of 1 h.
    let t = Instant::now();
    let d = d.restart(Some(&config(s, "1h", "1s")))?;
    let restart = t.elapsed();
    let c = d.client();
    let tgz = trivial_tgz()?;
    let mut during = Vec::new();
    let purge_started = Instant::now();
    // Done when the newest stored job (expired last) is expired; the sweep's log line may
    // come later (after the files of the last batch are gone).
    let newest = format!("/v1/jobs/{n}");
    loop {
        let t = Instant::now();
        let id = submit(&c, &tgz).await?.id;
        during.push(t.elapsed());
        // One job at a time: the queue stays empty, only the purge competes with submits.
        jobs::wait(&c, id).await?;
        let job: jobo::api::Job = c.get(&newest).await?;
        if job.state == jobo::job::JobState::Expired {
            break;
        }
        if purge_started.elapsed() > PURGE_LIMIT {
            return Err(format!("not all expired after {} s", PURGE_LIMIT.as_secs()).into());
        }
    }
    let purge = purge_started.elapsed();
    during.sort();
    let expired_cpu = idle_cpu_ms_per_s(&d).await?;
    let logged = d
        .log()
        .lines()
        .find(|l| l.contains("retention: expired"))
        .map_or_else(
            || "the sweep had not ended after the idle window".to_string(),
            |l| l.trim().to_string(),
        );

    r.scale_rows(
        "submit p50",
        &format!("{n} stored / empty"),
        (full.lat.submit_p50, empty.lat.submit_p50),
        (full.rate, empty.rate),
        1.2,
    );
    r.row(
        format!("`jobo list` median of {} ({n} jobs)", s.list_runs),
        format!("{:.2} ms", ms(list)),
        "≤ 20 ms",
        verdict(list <= Duration::from_millis(20)),
    );
    r.row(
        format!("`jobo status ID` median of {} ({n} jobs)", s.list_runs),
        format!("{:.2} ms", ms(status)),
        "≤ 10 ms",
        verdict(status <= Duration::from_millis(10)),
    );
    r.row(
        format!("jobod start-up incl. recovery ({n} jobs)"),
        format!("{:.0} ms", ms(startup)),
        "≤ 2 s",
        verdict(startup <= Duration::from_secs(2)),
    );
    r.row(
        format!("jobod VmRSS ({n} jobs)"),
        format!("{rss_mb:.1} MB"),
        "≤ 50 MB",
        verdict(rss_mb <= 50.0),
    );
    r.row(
        "store file per job",
        format!("{:.0} B", db_bytes as f64 / (n + INTERRUPTED) as f64),
        "-",
        "",
    );
    let p99 = quantile(&during, 0.99);
    r.row(
        format!("submit p99 during the purge of {n} jobs"),
        format!("{:.2} ms", ms(p99)),
        "no stall (≤ 50 ms)",
        verdict(p99 <= Duration::from_millis(50)),
    );
    r.detail(format!(
        "million: fill {:.1} s ({:.0} rows/s), store {:.1} MB; start-up {:.0} ms ({recovered} of \
         {INTERRUPTED} interrupted jobs failed by recovery), restart with retention 1h {:.0} ms",
        fill.as_secs_f64(),
        n as f64 / fill.as_secs_f64(),
        db_bytes as f64 / 1e6,
        ms(startup),
        ms(restart),
    ));
    r.detail(format!(
        "million: submit p50/p99 empty {:.2}/{:.2} ms, stored {:.2}/{:.2} ms; submit → \
         succeeded p50 empty {:.2} ms, stored {:.2} ms; VmRSS {rss_mb:.1} MB, VmHWM {hwm_mb:.1} MB",
        ms(empty.lat.submit_p50),
        ms(empty.lat.submit_p99),
        ms(full.lat.submit_p50),
        ms(full.lat.submit_p99),
        ms(empty.lat.p50),
        ms(full.lat.p50),
    ));
    r.detail(format!(
        "million purge: {} submits (each then waited for) during {:.1} s, p50 {:.2} ms, p99 \
         {:.2} ms, max {:.0} ms; log: {}",
        during.len(),
        purge.as_secs_f64(),
        ms(quantile(&during, 0.5)),
        ms(p99),
        ms(*during.last().ok_or("no submits")?),
        logged
    ));
    r.row(
        format!("idle jobod CPU, cleaner every 1 s, {n} jobs not due"),
        format!("{sweeping_cpu:.1} ms/s"),
        "-",
        "",
    );
    r.detail(format!(
        "million: idle jobod CPU with the cleaner sweeping every 1 s: {sweeping_cpu:.1} ms/s \
         over {n} jobs not due yet, {expired_cpu:.1} ms/s over {n} expired ones (over {} s)",
        IDLE_WINDOW.as_secs()
    ));
    Ok(())
}
