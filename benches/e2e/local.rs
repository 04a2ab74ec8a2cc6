//! Phases with the embedded worker: latency, throughput, and `jobo list` + memory with a
//! large store.

use crate::jobs::{self, ms, quantile};
use crate::procs::{self, CpuMeter, Daemon, JOBO};
use crate::{Report, Res, Sizes, verdict};
use jobo::api::Job;
use jobo::store::{Store, StoreError, now_ms};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

// ---------------------------------------------------------------------------------------------
// 1. latency

/// The local daemons run with jobod's default, job cgroups on (where they can be made);
/// `JOBO_BENCH_CGROUPS=0` turns them off (`[local_worker] cgroups = false`), to measure what
/// they cost against the same build.
fn cgroups_line() -> &'static str {
    match std::env::var("JOBO_BENCH_CGROUPS").as_deref() {
        Ok("0") => "cgroups = false\n",
        _ => "",
    }
}

pub async fn latency(sizes: &Sizes, r: &mut Report) -> Res<()> {
    let config = format!("[local_worker]\n{}\n[services.example]\n", cgroups_line());
    let d = Daemon::new(Some(&config))?.start()?;
    let system: serde_json::Value = d.client().get("/v1/system").await?;
    let cgroups = system["enforces"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| e.as_str())
        .find(|e| e.starts_with("whole-job kill"))
        .unwrap_or("off: no whole-job kill");
    r.detail(format!("local daemons' job cgroups: {cgroups}"));
    let lat = jobs::latency(&d.client(), sizes.warmup_jobs, sizes.latency_jobs).await?;
    r.row(
        format!("latency p50, submit → succeeded ({} jobs)", lat.n),
        format!("{:.2} ms", ms(lat.p50)),
        "≤ 10 ms",
        verdict(lat.p50 <= Duration::from_millis(10)),
    );
    r.row("latency p99", format!("{:.2} ms", ms(lat.p99)), "-", "");
    r.detail(lat.detail("latency"));
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// 2. throughput

pub async fn throughput(sizes: &Sizes, r: &mut Report) -> Res<()> {
    let config = format!(
        "[local_worker]\nslots = {}\n{}\n[services.example]\n",
        sizes.slots,
        cgroups_line()
    );
    let d = Daemon::new(Some(&config))?.start()?;
    // Warm-up: a few jobs, so the first connection and the page cache are not measured.
    jobs::warm_up(&d.client(), 3).await?;
    let pid = d.pid().ok_or("no daemon")?;
    let cpu = CpuMeter::start(&[pid]);
    let b = jobs::batch(&d, sizes.throughput_jobs, sizes.submitters).await?;
    let cpu = cpu.stop();
    let rate = b.rate();
    let n = b.jobs.len();
    r.row(
        format!(
            "throughput ({n} jobs, {} submitters, {} slots)",
            sizes.submitters, sizes.slots
        ),
        format!("{rate:.0} jobs/s"),
        "≥ 300 jobs/s",
        verdict(rate >= 300.0),
    );
    r.detail(format!(
        "throughput: all submitted after {:.2} s ({:.0} submits/s), all succeeded after {:.2} s; \
         jobod VmRSS then {:.1} MB",
        b.submitted_in.as_secs_f64(),
        n as f64 / b.submitted_in.as_secs_f64(),
        b.total.as_secs_f64(),
        procs::rss_kib(pid) as f64 / 1024.0
    ));
    let per_job = |secs: f64| secs * 1000.0 / n as f64;
    r.detail(format!(
        "throughput CPU per job: jobod {:.2} ms, the jobs' bash {:.2} ms, bench client {:.2} ms \
         (machine: {cpus} CPUs = {:.2} ms of CPU per job at the measured rate)",
        per_job(cpu.procs[0].0),
        per_job(cpu.procs[0].1),
        per_job(cpu.client),
        r.cpus as f64 * 1000.0 / rate,
        cpus = r.cpus,
    ));
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// 3. + 4. `jobo list` and memory with a large store

/// Fills the store of a daemon that is not started yet with `n` finished jobs, the way the
/// daemon would have left them: through the real store code (`Store::open` migrates), one
/// prepared insert, committed every 50,000 rows (one transaction would grow the WAL to the
/// size of the whole store). The newest finished `newest_age_ms` ago, each older one
/// `spacing_ms` before the next; users `user0`..`user7`, every tenth job failed.
pub fn fill_store(
    db: &Path,
    n: usize,
    newest_age_ms: i64,
    spacing_ms: i64,
) -> Result<(), StoreError> {
    const BATCH: usize = 50_000;
    let store = Store::open(db)?;
    let now = now_ms();
    store.call_sync(|c| {
        let mut i = 0;
        while i < n {
            let tx = c.transaction()?;
            {
                let mut stmt = tx.prepare(
                    "INSERT INTO jobs (user, service, state, priority, node, attempts, exit_code, \
                     reason, submitted_at, started_at, finished_at, input_bytes, output_bytes) \
                     VALUES (?1, 'example', ?2, 0, 'local', 1, ?3, ?4, ?5, ?6, ?7, 133, 5)",
                )?;
                for i in i..(i + BATCH).min(n) {
                    // Oldest first.
                    let finished = now - newest_age_ms - ((n - 1 - i) as i64) * spacing_ms;
                    let failed = i % 10 == 9;
                    stmt.execute(rusqlite::params![
                        format!("user{}", i % 8),
                        if failed { "failed" } else { "succeeded" },
                        if failed { 1 } else { 0 },
                        failed.then_some("run.sh exited with code 1"),
                        finished - 9,
                        finished - 6,
                        finished,
                    ])?;
                }
            }
            tx.commit()?;
            i += BATCH;
        }
        Ok(())
    })
}

pub fn run_jobo(host: &str, args: &[&str]) -> Res<(Duration, String)> {
    let t = Instant::now();
    let out = Command::new(JOBO)
        .arg("--host")
        .arg(host)
        .args(args)
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .output()?;
    let took = t.elapsed();
    if !out.status.success() {
        return Err(format!(
            "jobo {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        )
        .into());
    }
    Ok((took, String::from_utf8_lossy(&out.stdout).into_owned()))
}

pub async fn big_store(sizes: &Sizes, r: &mut Report) -> Res<()> {
    let rows = sizes.stored_rows;
    let d = Daemon::new(None)?;
    let t = Instant::now();
    // A few seconds apart, all within the default retention of 10 days.
    fill_store(&d.data().join("jobo.db"), rows, 0, 5_000)?;
    let fill = t.elapsed();
    let d = d.start()?;
    let host = d.host();

    // One untimed run each warms the page cache and the daemon's statement cache.
    let (_, out) = run_jobo(&host, &["list"])?;
    let lines = out.lines().count();
    if lines != 51 {
        return Err(format!("jobo list printed {lines} lines, expected 51:\n{out}").into());
    }
    run_jobo(&host, &["list", "--state", "failed"])?;
    let mut list = Vec::new();
    let mut list_filtered = Vec::new();
    for _ in 0..sizes.list_runs {
        list.push(run_jobo(&host, &["list"])?.0);
        list_filtered.push(run_jobo(&host, &["list", "--state", "failed"])?.0);
    }
    // The same request without the CLI process around it.
    let c = d.client();
    let mut api = Vec::new();
    for _ in 0..sizes.list_runs {
        let t = Instant::now();
        let jobs: Vec<Job> = c.get("/v1/jobs?limit=50").await?;
        api.push(t.elapsed());
        if jobs.len() != 50 {
            return Err(format!("GET /v1/jobs gave {} jobs", jobs.len()).into());
        }
    }
    list.sort();
    list_filtered.sort();
    api.sort();
    let pid = d.pid().ok_or("no daemon")?;
    let rss_mb = procs::rss_kib(pid) as f64 / 1024.0;
    let hwm_mb = procs::hwm_kib(pid) as f64 / 1024.0;

    let list_p50 = quantile(&list, 0.5);
    r.row(
        format!("`jobo list` median of {} ({rows} jobs)", list.len()),
        format!("{:.2} ms", ms(list_p50)),
        "≤ 100 ms",
        verdict(list_p50 <= Duration::from_millis(100)),
    );
    r.row(
        format!("jobod VmRSS ({rows} jobs, after the lists)"),
        format!("{rss_mb:.1} MB"),
        "≤ 50 MB",
        verdict(rss_mb <= 50.0),
    );
    r.detail(format!(
        "list: store filled in {:.2} s; `jobo list` min {:.2} / max {:.2} ms; \
         `jobo list --state failed` median {:.2} ms; GET /v1/jobs?limit=50 in-process median {:.2} ms",
        fill.as_secs_f64(),
        ms(list[0]),
        ms(*list.last().ok_or("no runs")?),
        ms(quantile(&list_filtered, 0.5)),
        ms(quantile(&api, 0.5))
    ));
    r.detail(format!(
        "memory: jobod VmRSS {rss_mb:.1} MB, VmHWM {hwm_mb:.1} MB"
    ));
    Ok(())
}
