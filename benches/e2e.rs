//! End-to-end benchmark of the real release binaries (`cargo bench --bench e2e`).
//!
//! Starts `jobod serve --user` on temp dirs and measures, as a client would, over the Unix
//! socket:
//!
//! 1. latency of a trivial job (`run.sh` = `true`): one submit (`POST /v1/jobs`, tar.gz
//!    body), then the long poll `GET /v1/jobs/{id}/wait` until terminal; sequential jobs;
//! 2. throughput: trivial jobs from 4 concurrent submitters until all succeeded;
//! 3. wall time of the real `jobo list` with 100,000 finished jobs in the store;
//! 4. jobod's resident memory with those jobs stored, after the list runs.
//!
//! `JOBO_BENCH_QUICK=1` shrinks every size for a smoke run. `JOBO_BENCH_SLOTS=N` changes the
//! local slots of the throughput daemon (default 8). `JOBO_BENCH_DIR=DIR` puts the daemons'
//! temp dirs in DIR instead of cargo's `target/tmp` (`/tmp` is a poor default on machines whose
//! `/tmp` sees heavy file churn, e.g. from compilers, on ext4 without a journal: see
//! [`create_cost_us`]).
//!
//! Every daemon is killed on drop together with every process whose working directory is
//! inside its temp dir (its jobs); daemons and jobs left by an earlier run of this benchmark
//! that was killed outright are killed at start.

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::{Method, StatusCode, header};
use jobo::api::Job;
use jobo::client::{self, Client, Endpoint};
use jobo::job::JobState;
use jobo::store::{Store, StoreError, now_ms};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const JOBOD: &str = env!("CARGO_BIN_EXE_jobod");
const JOBO: &str = env!("CARGO_BIN_EXE_jobo");
/// Temp dirs of this benchmark are named `jobo-e2e-bench-<pid of the bench>-...`.
const PREFIX: &str = "jobo-e2e-bench-";

/// Where the daemons' temp dirs go.
fn base_dir() -> PathBuf {
    std::env::var_os("JOBO_BENCH_DIR")
        .filter(|d| !d.is_empty())
        .map_or_else(|| PathBuf::from(env!("CARGO_TARGET_TMPDIR")), PathBuf::from)
}

type Res<T> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

struct Sizes {
    latency_jobs: usize,
    warmup_jobs: usize,
    throughput_jobs: usize,
    submitters: usize,
    slots: usize,
    stored_rows: usize,
    list_runs: usize,
}

impl Sizes {
    fn from_env() -> Sizes {
        let quick = std::env::var("JOBO_BENCH_QUICK").is_ok_and(|v| !v.is_empty() && v != "0");
        let slots = std::env::var("JOBO_BENCH_SLOTS")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(8);
        if quick {
            Sizes {
                latency_jobs: 50,
                warmup_jobs: 5,
                throughput_jobs: 300,
                submitters: 4,
                slots,
                stored_rows: 10_000,
                list_runs: 5,
            }
        } else {
            Sizes {
                latency_jobs: 200,
                warmup_jobs: 10,
                throughput_jobs: 2_000,
                submitters: 4,
                slots,
                stored_rows: 100_000,
                list_runs: 11,
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The daemon under test

struct Daemon {
    /// Always `Some` until dropped.
    dir: Option<tempfile::TempDir>,
    child: Option<Child>,
    config: Option<String>,
}

/// Temp dirs of stopped daemons. They are removed at the very end: removing thousands of
/// files between phases would slow the next phase down on filesystems whose inode allocator
/// skips recently deleted inodes (ext4 without a journal), which is not what we measure.
static FINISHED: std::sync::Mutex<Vec<tempfile::TempDir>> = std::sync::Mutex::new(Vec::new());

impl Daemon {
    /// A temp dir for a daemon, not started yet (so the store can be filled first).
    fn new(config: Option<&str>) -> Res<Daemon> {
        let dir = tempfile::Builder::new()
            .prefix(&format!("{PREFIX}{}-", std::process::id()))
            .tempdir_in(base_dir())?;
        std::fs::create_dir_all(dir.path().join("data"))?;
        Ok(Daemon {
            dir: Some(dir),
            child: None,
            config: config.map(str::to_string),
        })
    }

    fn root(&self) -> &Path {
        self.dir
            .as_ref()
            .map_or(Path::new("/nonexistent"), |d| d.path())
    }
    fn data(&self) -> PathBuf {
        self.root().join("data")
    }
    fn socket(&self) -> PathBuf {
        self.root().join("jobod.sock")
    }
    fn host(&self) -> String {
        format!("unix://{}", self.socket().display())
    }
    fn client(&self) -> Client {
        Client::new(Endpoint::Unix(self.socket()), "bench".into())
    }
    fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }
    fn log(&self) -> String {
        std::fs::read_to_string(self.root().join("jobod.log")).unwrap_or_default()
    }

    fn start(mut self) -> Res<Daemon> {
        let log = std::fs::File::create(self.root().join("jobod.log"))?;
        let mut cmd = Command::new(JOBOD);
        cmd.arg("serve")
            .arg("--user")
            .arg("--data-dir")
            .arg(self.data())
            .arg("--socket")
            .arg(self.socket())
            .env("JOBOD_LOG", "info")
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log);
        if let Some(toml) = &self.config {
            let path = self.root().join("jobod.toml");
            std::fs::write(&path, toml)?;
            cmd.arg("--config").arg(path);
        }
        self.child = Some(cmd.spawn()?);
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if std::os::unix::net::UnixStream::connect(self.socket()).is_ok() {
                return Ok(self);
            }
            if let Some(Ok(Some(status))) = self.child.as_mut().map(|c| c.try_wait()) {
                return Err(format!("jobod exited at start ({status}):\n{}", self.log()).into());
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        Err(format!("jobod did not come up:\n{}", self.log()).into())
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
        for _ in 0..100 {
            let pids = processes_under(self.root());
            if pids.is_empty() {
                break;
            }
            for pid in pids {
                // SAFETY: kill has no memory preconditions.
                unsafe {
                    libc::kill(pid, libc::SIGKILL);
                }
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        if let Some(dir) = self.dir.take() {
            FINISHED.lock().unwrap_or_else(|p| p.into_inner()).push(dir);
        }
    }
}

fn zombie(proc_dir: &Path) -> bool {
    let stat = std::fs::read_to_string(proc_dir.join("stat")).unwrap_or_default();
    stat.rsplit_once(')')
        .is_none_or(|(_, rest)| rest.trim_start().starts_with('Z'))
}

/// Live processes whose cwd is below `root` (the jobs of a daemon rooted there).
fn processes_under(root: &Path) -> Vec<i32> {
    let Ok(root) = root.canonicalize() else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for e in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        let Ok(cwd) = std::fs::read_link(e.path().join("cwd")) else {
            continue;
        };
        if cwd.starts_with(&root) && !zombie(&e.path()) {
            out.push(pid);
        }
    }
    out
}

/// Kills what an earlier run of this benchmark left when it was itself killed (no drops ran):
/// processes whose command line or cwd names a bench temp dir of a bench process that is gone,
/// then those temp dirs. Dirs of a bench that is still running are left alone.
fn kill_leftovers(base: &Path) {
    let owner_alive = |name: &str| -> bool {
        let Some(rest) = name.split(PREFIX).nth(1) else {
            return true;
        };
        match rest.split('-').next().and_then(|p| p.parse::<u32>().ok()) {
            Some(pid) if pid == std::process::id() => true,
            Some(pid) => {
                let dir = PathBuf::from(format!("/proc/{pid}"));
                dir.exists() && !zombie(&dir)
            }
            None => true,
        }
    };
    let mut killed = 0;
    for e in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        if pid as u32 == std::process::id() || zombie(&e.path()) {
            continue;
        }
        let cmdline = std::fs::read(e.path().join("cmdline")).unwrap_or_default();
        let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
        let cwd = std::fs::read_link(e.path().join("cwd"))
            .map(|p| p.display().to_string())
            .unwrap_or_default();
        let stale = [cmdline.as_str(), cwd.as_str()]
            .iter()
            .any(|s| s.contains(PREFIX) && !owner_alive(s));
        if stale {
            // SAFETY: kill has no memory preconditions.
            unsafe {
                libc::kill(pid, libc::SIGKILL);
            }
            killed += 1;
        }
    }
    let mut removed = 0;
    for e in std::fs::read_dir(base).into_iter().flatten().flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if name.starts_with(PREFIX) && !owner_alive(&name) {
            let _ = std::fs::remove_dir_all(e.path());
            removed += 1;
        }
    }
    if killed + removed > 0 {
        eprintln!("cleaned up after an earlier run: {killed} processes, {removed} dirs");
    }
}

// ---------------------------------------------------------------------------------------------
// A client, as `jobo` is one: one request per connection over the socket

/// The upload of a trivial job: `run.sh` = `true`.
fn trivial_tgz() -> Res<Bytes> {
    let gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    let mut tar = tar::Builder::new(gz);
    let content = b"true\n";
    let mut h = tar::Header::new_gnu();
    h.set_size(content.len() as u64);
    h.set_mode(0o755);
    h.set_entry_type(tar::EntryType::Regular);
    h.set_path("run.sh")?;
    h.set_cksum();
    tar.append(&h, &content[..])?;
    Ok(Bytes::from(tar.into_inner()?.finish()?))
}

async fn submit(c: &Client, tgz: &Bytes) -> Res<Job> {
    let body = Full::new(tgz.clone())
        .map_err(|never| match never {})
        .boxed_unsync();
    let mut req = client::request(Method::POST, "/v1/jobs?service=example", body)?;
    req.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("application/gzip"),
    );
    let resp = c.send_ok(req).await?;
    if resp.status() != StatusCode::CREATED {
        return Err(format!("submit answered {}", resp.status()).into());
    }
    Ok(client::decode(resp).await?)
}

/// Long-polls until the job is terminal.
async fn wait(c: &Client, id: i64) -> Res<Job> {
    loop {
        let job: Job = c.get(&format!("/v1/jobs/{id}/wait?timeout=30")).await?;
        if job.state.is_terminal() {
            return Ok(job);
        }
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// The `q` quantile (nearest rank) of sorted values.
fn quantile<T: Copy>(sorted: &[T], q: f64) -> T {
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

// ---------------------------------------------------------------------------------------------
// 1. latency

struct Latency {
    n: usize,
    p50: Duration,
    p90: Duration,
    p99: Duration,
    max: Duration,
    submit_p50: Duration,
    /// Server-side medians from the job's own timestamps (ms): submitted → running recorded,
    /// running → finished.
    to_running_p50: i64,
    run_p50: i64,
}

async fn latency(sizes: &Sizes) -> Res<Latency> {
    let d = Daemon::new(None)?.start()?;
    let c = d.client();
    let tgz = trivial_tgz()?;
    for _ in 0..sizes.warmup_jobs {
        let job = submit(&c, &tgz).await?;
        wait(&c, job.id).await?;
    }
    let mut total = Vec::with_capacity(sizes.latency_jobs);
    let mut submits = Vec::with_capacity(sizes.latency_jobs);
    let mut to_running = Vec::new();
    let mut runs = Vec::new();
    for _ in 0..sizes.latency_jobs {
        let t0 = Instant::now();
        let job = submit(&c, &tgz).await?;
        let t1 = Instant::now();
        let done = wait(&c, job.id).await?;
        let t2 = Instant::now();
        if done.state != JobState::Succeeded {
            return Err(format!("job {} ended {}: {:?}", done.id, done.state, done.reason).into());
        }
        total.push(t2 - t0);
        submits.push(t1 - t0);
        if let (Some(s), Some(f)) = (done.started_at, done.finished_at) {
            to_running.push(s - done.submitted_at);
            runs.push(f - s);
        }
    }
    total.sort();
    submits.sort();
    to_running.sort();
    runs.sort();
    Ok(Latency {
        n: total.len(),
        p50: quantile(&total, 0.5),
        p90: quantile(&total, 0.9),
        p99: quantile(&total, 0.99),
        max: *total.last().ok_or("no jobs")?,
        submit_p50: quantile(&submits, 0.5),
        to_running_p50: quantile(&to_running, 0.5),
        run_p50: quantile(&runs, 0.5),
    })
}

// ---------------------------------------------------------------------------------------------
// 2. throughput

struct Throughput {
    jobs: usize,
    slots: usize,
    submitters: usize,
    submitted_in: Duration,
    total: Duration,
    rss_kib: u64,
    /// CPU seconds during the run: jobod itself, its reaped children (the jobs' bash), and
    /// this process (the submitters and waiters).
    daemon_cpu: f64,
    jobs_cpu: f64,
    client_cpu: f64,
}

async fn throughput(sizes: &Sizes) -> Res<Throughput> {
    let config = format!(
        "[local_worker]\nslots = {}\n\n[services.example]\n",
        sizes.slots
    );
    let d = Daemon::new(Some(&config))?.start()?;
    let tgz = trivial_tgz()?;
    // Warm-up: a few jobs, so the first connection and the page cache are not measured.
    let c = d.client();
    for _ in 0..3 {
        let job = submit(&c, &tgz).await?;
        wait(&c, job.id).await?;
    }
    let per = sizes.throughput_jobs / sizes.submitters;
    let pid = d.pid().ok_or("no daemon")?;
    let (cpu0, client0) = (cpu_ticks(pid), self_cpu());
    let start = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..sizes.submitters {
        let c = d.client();
        let tgz = tgz.clone();
        let n = per + usize::from(i < sizes.throughput_jobs % sizes.submitters);
        tasks.spawn(async move {
            let mut ids = Vec::with_capacity(n);
            for _ in 0..n {
                ids.push(submit(&c, &tgz).await?.id);
            }
            let submitted = Instant::now();
            for id in ids {
                let job = wait(&c, id).await?;
                if job.state != JobState::Succeeded {
                    return Err::<_, Box<dyn std::error::Error + Send + Sync>>(
                        format!("job {id} ended {}: {:?}", job.state, job.reason).into(),
                    );
                }
            }
            Ok((n, submitted))
        });
    }
    let mut jobs = 0;
    let mut last_submit = start;
    while let Some(r) = tasks.join_next().await {
        let (n, submitted) = r??;
        jobs += n;
        last_submit = last_submit.max(submitted);
    }
    let total = start.elapsed();
    let (cpu1, client1) = (cpu_ticks(pid), self_cpu());
    // SAFETY: sysconf has no memory preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as f64;
    Ok(Throughput {
        daemon_cpu: (cpu1.0 - cpu0.0) as f64 / hz,
        jobs_cpu: (cpu1.1 - cpu0.1) as f64 / hz,
        client_cpu: client1 - client0,
        jobs,
        slots: sizes.slots,
        submitters: sizes.submitters,
        submitted_in: last_submit - start,
        total,
        rss_kib: d.pid().map(rss_kib).unwrap_or(0),
    })
}

// ---------------------------------------------------------------------------------------------
// 3. + 4. `jobo list` and memory with a large store

struct ListRun {
    rows: usize,
    fill: Duration,
    list: Vec<Duration>,
    list_filtered: Vec<Duration>,
    api: Vec<Duration>,
    rss_kib: u64,
    hwm_kib: u64,
}

/// Fills the store of a daemon that is not started yet with `n` finished jobs, in one
/// transaction, the way the daemon would have left them.
fn fill_store(db: &Path, n: usize) -> Result<(), StoreError> {
    let store = Store::open(db)?;
    let now = now_ms();
    store.call_sync(|c| {
        let tx = c.transaction()?;
        {
            let mut stmt = tx.prepare(
                "INSERT INTO jobs (user, service, state, priority, node, attempts, exit_code, \
                 reason, submitted_at, started_at, finished_at, input_bytes, output_bytes) \
                 VALUES (?1, 'example', ?2, 0, 'local', 1, ?3, ?4, ?5, ?6, ?7, 133, 5)",
            )?;
            for i in 0..n {
                // Oldest first; a few seconds apart, all within the retention of 10 days.
                let submitted = now - ((n - i) as i64) * 5_000;
                let failed = i % 10 == 9;
                stmt.execute(rusqlite::params![
                    format!("user{}", i % 8),
                    if failed { "failed" } else { "succeeded" },
                    if failed { 1 } else { 0 },
                    failed.then_some("run.sh exited with code 1"),
                    submitted,
                    submitted + 3,
                    submitted + 9,
                ])?;
            }
        }
        tx.commit()?;
        Ok(())
    })
}

fn run_jobo(host: &str, args: &[&str]) -> Res<(Duration, String)> {
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

async fn big_store(sizes: &Sizes) -> Res<ListRun> {
    let d = Daemon::new(None)?;
    let t = Instant::now();
    fill_store(&d.data().join("jobo.db"), sizes.stored_rows)?;
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
    Ok(ListRun {
        rows: sizes.stored_rows,
        fill,
        list,
        list_filtered,
        api,
        rss_kib: rss_kib(pid),
        hwm_kib: status_kib(pid, "VmHWM:"),
    })
}

fn status_kib(pid: u32, key: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix(key))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// (utime + stime, cutime + cstime) of `pid`, in clock ticks.
fn cpu_ticks(pid: u32) -> (u64, u64) {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let fields: Vec<u64> = stat
        .rsplit_once(')')
        .map(|(_, rest)| {
            rest.split_whitespace()
                .map(|f| f.parse().unwrap_or(0))
                .collect()
        })
        .unwrap_or_default();
    // Fields 14-17 of proc(5), counted from field 3 (the first after the command name).
    let f = |i: usize| fields.get(i - 3).copied().unwrap_or(0);
    (f(14) + f(15), f(16) + f(17))
}

/// CPU seconds this process used so far (all threads).
fn self_cpu() -> f64 {
    // SAFETY: getrusage writes into the zeroed struct we pass.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe {
        libc::getrusage(libc::RUSAGE_SELF, &mut ru);
    }
    let t = |tv: libc::timeval| tv.tv_sec as f64 + tv.tv_usec as f64 / 1e6;
    t(ru.ru_utime) + t(ru.ru_stime)
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .unwrap_or_default()
        .split_whitespace()
        .take(3)
        .collect::<Vec<_>>()
        .join(" ")
}

fn rss_kib(pid: u32) -> u64 {
    status_kib(pid, "VmRSS:")
}

// ---------------------------------------------------------------------------------------------

/// The filesystem type holding `path` (longest mount point of /proc/self/mounts above it).
fn fs_type(path: &Path) -> String {
    let path = path.canonicalize().unwrap_or_else(|_| path.to_path_buf());
    std::fs::read_to_string("/proc/self/mounts")
        .unwrap_or_default()
        .lines()
        .filter_map(|l| {
            let mut f = l.split(' ');
            let (_dev, mnt, kind) = (f.next()?, f.next()?, f.next()?);
            path.starts_with(mnt).then(|| (mnt.len(), kind.to_string()))
        })
        .max()
        .map_or_else(|| "?".into(), |(_, kind)| kind)
}

/// Microseconds to create one empty file in a fresh dir under `base`: jobod creates about
/// eight files and dirs per job, so a slow inode allocator shows in every figure. On ext4
/// without a journal, the allocator skips (one buffer-cache lookup each) every inode of the
/// block group deleted in the last 30 s to 3 min, so after heavy churn a create can cost a
/// millisecond instead of ~10 µs.
fn create_cost_us(base: &Path) -> Res<f64> {
    let dir = tempfile::Builder::new()
        .prefix(&format!("{PREFIX}{}-probe-", std::process::id()))
        .tempdir_in(base)?;
    let n = 200;
    let t = Instant::now();
    for i in 0..n {
        std::fs::File::create(dir.path().join(i.to_string()))?;
    }
    let us = t.elapsed().as_secs_f64() * 1e6 / n as f64;
    FINISHED.lock().unwrap_or_else(|p| p.into_inner()).push(dir);
    Ok(us)
}

fn verdict(ok: bool) -> &'static str {
    if ok { "ok" } else { "MISSED" }
}

fn main() -> Res<()> {
    // `cargo bench` passes `--bench` (and maybe a filter); nothing here takes arguments.
    let base = base_dir();
    if let Err(e) = std::fs::create_dir_all(&base) {
        return Err(format!("cannot create {}: {e}", base.display()).into());
    }
    kill_leftovers(&base);
    let res = run(&base);
    FINISHED.lock().unwrap_or_else(|p| p.into_inner()).clear();
    res
}

fn run(base: &Path) -> Res<()> {
    let sizes = Sizes::from_env();
    let fs = fs_type(base);
    let create_us = create_cost_us(base)?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    let load_before = loadavg();
    eprintln!(
        "jobo e2e bench: {cpus} CPUs, load average {load_before}, jobod {JOBOD}{}",
        if sizes.latency_jobs < 200 {
            " (quick mode)"
        } else {
            ""
        }
    );

    eprintln!(
        "1/3 latency: {} sequential trivial jobs...",
        sizes.latency_jobs
    );
    let lat = rt.block_on(latency(&sizes))?;
    eprintln!(
        "2/3 throughput: {} jobs, {} submitters, {} slots...",
        sizes.throughput_jobs, sizes.submitters, sizes.slots
    );
    let thr = rt.block_on(throughput(&sizes))?;
    eprintln!("3/3 list + memory: {} stored jobs...", sizes.stored_rows);
    let big = rt.block_on(big_store(&sizes))?;

    let rate = thr.jobs as f64 / thr.total.as_secs_f64();
    let list_p50 = quantile(&big.list, 0.5);
    let rss_mb = big.rss_kib as f64 / 1024.0;
    let rows = [
        (
            format!("latency p50, submit → succeeded ({} jobs)", lat.n),
            format!("{:.2} ms", ms(lat.p50)),
            "≤ 10 ms".to_string(),
            verdict(lat.p50 <= Duration::from_millis(10)),
        ),
        (
            "latency p99".into(),
            format!("{:.2} ms", ms(lat.p99)),
            "-".into(),
            "",
        ),
        (
            format!(
                "throughput ({} jobs, {} submitters, {} slots)",
                thr.jobs, thr.submitters, thr.slots
            ),
            format!("{rate:.0} jobs/s"),
            "≥ 300 jobs/s".into(),
            verdict(rate >= 300.0),
        ),
        (
            format!(
                "`jobo list` median of {} ({} jobs)",
                big.list.len(),
                big.rows
            ),
            format!("{:.2} ms", ms(list_p50)),
            "≤ 100 ms".into(),
            verdict(list_p50 <= Duration::from_millis(100)),
        ),
        (
            format!("jobod VmRSS ({} jobs, after the lists)", big.rows),
            format!("{rss_mb:.1} MB"),
            "≤ 50 MB".into(),
            verdict(rss_mb <= 50.0),
        ),
    ];
    let w0 = rows.iter().map(|r| r.0.chars().count()).max().unwrap_or(0);
    let w1 = rows.iter().map(|r| r.1.len()).max().unwrap_or(0);
    println!();
    println!("{:<w0$}  {:>w1$}  {:<13} met", "metric", "result", "target");
    for (name, value, target, ok) in &rows {
        println!("{name:<w0$}  {value:>w1$}  {target:<13} {ok}");
    }
    println!();
    println!("details:");
    println!(
        "  latency: p90 {:.2} ms, max {:.2} ms; submit answered (201) p50 {:.2} ms; \
         server-side p50: submitted → running {} ms, running → finished {} ms",
        ms(lat.p90),
        ms(lat.max),
        ms(lat.submit_p50),
        lat.to_running_p50,
        lat.run_p50
    );
    println!(
        "  throughput: all submitted after {:.2} s ({:.0} submits/s), all succeeded after {:.2} s; \
         jobod VmRSS then {:.1} MB",
        thr.submitted_in.as_secs_f64(),
        thr.jobs as f64 / thr.submitted_in.as_secs_f64(),
        thr.total.as_secs_f64(),
        thr.rss_kib as f64 / 1024.0
    );
    let per_job = |secs: f64| secs * 1000.0 / thr.jobs as f64;
    println!(
        "  throughput CPU per job: jobod {:.2} ms, the jobs' bash {:.2} ms, bench client {:.2} ms \
         (machine: {cpus} CPUs = {:.2} ms of CPU per job at the measured rate)",
        per_job(thr.daemon_cpu),
        per_job(thr.jobs_cpu),
        per_job(thr.client_cpu),
        cpus as f64 * 1000.0 / rate
    );
    println!(
        "  list: store filled in {:.2} s; `jobo list` min {:.2} / max {:.2} ms; \
         `jobo list --state failed` median {:.2} ms; GET /v1/jobs?limit=50 in-process median {:.2} ms",
        big.fill.as_secs_f64(),
        ms(big.list[0]),
        ms(*big.list.last().ok_or("no runs")?),
        ms(quantile(&big.list_filtered, 0.5)),
        ms(quantile(&big.api, 0.5))
    );
    println!(
        "  memory: jobod VmRSS {:.1} MB, VmHWM {:.1} MB",
        rss_mb,
        big.hwm_kib as f64 / 1024.0
    );
    println!(
        "  machine: {cpus} CPUs; load average before {load_before}, after {} \
         (other work on the machine skews every figure)",
        loadavg()
    );
    println!(
        "  data dirs under {} ({fs}; JOBO_BENCH_DIR moves them): {create_us:.1} µs to create a file \
         at start (tmpfs ~10 µs; ext4 without a journal gets far slower after many deletions)",
        base.display()
    );
    Ok(())
}
