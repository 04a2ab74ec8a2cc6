//! The processes under test: `jobod serve` ([`Daemon`]) and `jobod worker` ([`Node`]), each
//! on its own temp dir ([`Sandbox`]), and what the benchmark reads about them from `/proc`.
//!
//! A sandbox's process is killed on drop together with every process whose working directory
//! is inside its temp dir (its jobs); processes and dirs left by an earlier run of this
//! benchmark that was killed outright are killed at start ([`kill_leftovers`]).

use crate::Res;
use jobo::client::{Client, Endpoint};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const JOBOD: &str = env!("CARGO_BIN_EXE_jobod");
pub const JOBO: &str = env!("CARGO_BIN_EXE_jobo");
/// Temp dirs of this benchmark are named `jobo-e2e-bench-<pid of the bench>-...`.
const PREFIX: &str = "jobo-e2e-bench-";
/// The token every benchmark node is started with.
const NODE_TOKEN: &str = "bench-node-token";

/// Where the temp dirs go.
pub fn base_dir() -> PathBuf {
    std::env::var_os("JOBO_BENCH_DIR")
        .filter(|d| !d.is_empty())
        .map_or_else(|| PathBuf::from(env!("CARGO_TARGET_TMPDIR")), PathBuf::from)
}

/// Temp dirs of stopped processes. They are removed at the very end: removing thousands of
/// files between phases would slow the next phase down on filesystems whose inode allocator
/// skips recently deleted inodes (ext4 without a journal), which is not what we measure.
static FINISHED: std::sync::Mutex<Vec<tempfile::TempDir>> = std::sync::Mutex::new(Vec::new());

fn finished() -> std::sync::MutexGuard<'static, Vec<tempfile::TempDir>> {
    FINISHED.lock().unwrap_or_else(|p| p.into_inner())
}

/// Removes the temp dirs of every stopped process (at exit).
pub fn remove_finished_dirs() {
    finished().clear();
}

// ---------------------------------------------------------------------------------------------
// A temp dir and the process started on it

/// A temp dir and (once started) the process that runs on it. Dropping it, or [`kill`]
/// (Sandbox::kill), SIGKILLs that process and every process whose cwd is inside the dir.
pub struct Sandbox {
    /// Always `Some` until dropped.
    dir: Option<tempfile::TempDir>,
    child: Option<Child>,
    /// The file the process's stderr goes to, inside the dir.
    log_name: &'static str,
}

/// Whom a root jobod runs the benchmark's jobs as.
const RUN_AS: &str = jobo::run_as::DEFAULT_RUN_AS;

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

fn user_exists(name: &str) -> bool {
    jobo::account::Account::by_name(name).is_ok_and(|a| a.is_some())
}

impl Sandbox {
    fn new(kind: &str, log_name: &'static str) -> Res<Sandbox> {
        let dir = tempfile::Builder::new()
            .prefix(&format!("{PREFIX}{}-{kind}-", std::process::id()))
            .tempdir_in(base_dir())?;
        if is_root() {
            // A root jobod runs the jobs as jobo-run, which must pass through to their dirs.
            if !user_exists(RUN_AS) {
                return Err(format!(
                    "run as root, jobod runs jobs as {RUN_AS}, and there is no such user: \
                     useradd --system --no-create-home --shell /usr/sbin/nologin {RUN_AS}"
                )
                .into());
            }
            std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o711))?;
        }
        std::fs::create_dir_all(dir.path().join("data"))?;
        Ok(Sandbox {
            dir: Some(dir),
            child: None,
            log_name,
        })
    }

    pub fn root(&self) -> &Path {
        self.dir
            .as_ref()
            .map_or(Path::new("/nonexistent"), |d| d.path())
    }
    pub fn data(&self) -> PathBuf {
        self.root().join("data")
    }
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.root().join(self.log_name)).unwrap_or_default()
    }

    /// Starts `cmd` with its stderr in the log file (appended: a restart keeps the old lines).
    fn spawn(&mut self, cmd: &mut Command) -> Res<()> {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.root().join(self.log_name))?;
        cmd.env("JOBOD_LOG", "info")
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log);
        self.child = Some(cmd.spawn()?);
        Ok(())
    }

    /// Waits until `ready` says yes, failing if the process exits first or 30 s pass.
    fn wait_ready(&mut self, what: &str, mut ready: impl FnMut() -> bool) -> Res<()> {
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if ready() {
                return Ok(());
            }
            if let Some(Ok(Some(status))) = self.child.as_mut().map(|c| c.try_wait()) {
                return Err(format!("{what} exited at start ({status}):\n{}", self.log()).into());
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        Err(format!("{what} did not come up:\n{}", self.log()).into())
    }

    /// SIGKILLs the process, then every live process whose cwd is inside the dir, until none
    /// is left (or a second has passed).
    pub fn kill(&mut self) {
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
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        self.kill();
        if let Some(dir) = self.dir.take() {
            finished().push(dir);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The server

pub struct Daemon {
    sandbox: Sandbox,
    config: Option<String>,
    /// Extra environment of the `jobod serve` process.
    env: Vec<(String, String)>,
}

impl Daemon {
    /// A temp dir for a daemon, not started yet (so the store can be filled first).
    pub fn new(config: Option<&str>) -> Res<Daemon> {
        Ok(Daemon {
            sandbox: Sandbox::new("serve", "jobod.log")?,
            config: config.map(str::to_string),
            env: Vec::new(),
        })
    }

    /// Starts it with `key=value` in its environment.
    pub fn env(mut self, key: &str, value: &str) -> Daemon {
        self.env.push((key.into(), value.into()));
        self
    }

    pub fn root(&self) -> &Path {
        self.sandbox.root()
    }
    pub fn data(&self) -> PathBuf {
        self.sandbox.data()
    }
    pub fn socket(&self) -> PathBuf {
        self.root().join("jobod.sock")
    }
    pub fn host(&self) -> String {
        format!("unix://{}", self.socket().display())
    }
    pub fn client(&self) -> Client {
        Client::new(Endpoint::Unix(self.socket()))
    }
    pub fn pid(&self) -> Option<u32> {
        self.sandbox.pid()
    }
    pub fn log(&self) -> String {
        self.sandbox.log()
    }

    pub fn start(mut self) -> Res<Daemon> {
        let mut cmd = Command::new(JOBOD);
        cmd.arg("serve")
            .arg("--user")
            .arg("--data-dir")
            .arg(self.data())
            .arg("--socket")
            .arg(self.socket())
            .envs(self.env.iter().map(|(k, v)| (k, v)));
        if let Some(toml) = &self.config {
            let path = self.root().join("jobod.toml");
            std::fs::write(&path, toml)?;
            cmd.arg("--config").arg(path);
        }
        self.sandbox.spawn(&mut cmd)?;
        let socket = self.socket();
        self.sandbox.wait_ready("jobod", || {
            std::os::unix::net::UnixStream::connect(&socket).is_ok()
        })?;
        Ok(self)
    }

    /// SIGKILLs the daemon (and its jobs), then starts it again on the same data dir with
    /// `config`.
    pub fn restart(mut self, config: Option<&str>) -> Res<Daemon> {
        self.sandbox.kill();
        self.config = config.map(str::to_string);
        self.start()
    }
}

// ---------------------------------------------------------------------------------------------
// A worker node

pub struct Node {
    sandbox: Sandbox,
    /// Its name in the server's `jobod.toml` (and so in the jobs' `node` field).
    pub name: String,
    pub slots: usize,
    /// `host:port` it listens on.
    pub addr: String,
}

impl Node {
    /// Starts `jobod worker` on a free loopback port and waits until it listens.
    pub fn start(name: &str, slots: usize) -> Res<Node> {
        Node::start_in(name, slots, None, "127.0.0.1")
    }

    /// Starts `jobod worker` on a free port of `ip`, inside network namespace `netns` if
    /// given (`ip netns exec` execs it: the pid is the worker's), and waits until it listens.
    pub fn start_in(name: &str, slots: usize, netns: Option<&str>, ip: &str) -> Res<Node> {
        let mut sandbox = Sandbox::new(&format!("node-{name}"), "worker.log")?;
        std::fs::write(sandbox.root().join("token"), format!("{NODE_TOKEN}\n"))?;
        let mut cmd = match netns {
            Some(ns) => {
                let mut c = Command::new("ip");
                c.args(["netns", "exec", ns, JOBOD]);
                c
            }
            None => Command::new(JOBOD),
        };
        cmd.arg("worker")
            .arg("--listen")
            .arg(format!("{ip}:0"))
            .arg("--token-file")
            .arg(sandbox.root().join("token"))
            .arg("--slots")
            .arg(slots.to_string())
            .arg("--data-dir")
            .arg(sandbox.data());
        sandbox.spawn(&mut cmd)?;
        // The address file appears (whole, by rename) once the listener is bound.
        let file = sandbox.data().join("jobod-worker.tcp");
        sandbox.wait_ready("jobod worker", || file.is_file())?;
        let addr = std::fs::read_to_string(&file)?.trim().to_string();
        Ok(Node {
            sandbox,
            name: name.to_string(),
            slots,
            addr,
        })
    }

    pub fn token_file(&self) -> PathBuf {
        self.sandbox.root().join("token")
    }
    pub fn pid(&self) -> Option<u32> {
        self.sandbox.pid()
    }
    pub fn log(&self) -> String {
        self.sandbox.log()
    }

    /// `kill -9` of the node and of its payloads' processes: the machine is gone.
    pub fn kill9(&mut self) {
        self.sandbox.kill();
    }

    /// Its `[[nodes]]` entry in the server's `jobod.toml`.
    pub fn toml(&self) -> String {
        let s = |v: &str| serde_json::to_string(v).unwrap_or_default();
        format!(
            "[[nodes]]\nname = {}\nurl = {}\nservices = [\"example\"]\nslots = {}\ntoken_file = {}\n",
            s(&self.name),
            s(&format!("http://{}", self.addr)),
            self.slots,
            s(&self.token_file().display().to_string()),
        )
    }
}

// ---------------------------------------------------------------------------------------------
// /proc

fn zombie(proc_dir: &Path) -> bool {
    let stat = std::fs::read_to_string(proc_dir.join("stat")).unwrap_or_default();
    stat.rsplit_once(')')
        .is_none_or(|(_, rest)| rest.trim_start().starts_with('Z'))
}

/// Live processes whose cwd is below `root` (the jobs of a daemon or node rooted there).
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
pub fn kill_leftovers(base: &Path) {
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

fn status_kib(pid: u32, key: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix(key))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

pub fn rss_kib(pid: u32) -> u64 {
    status_kib(pid, "VmRSS:")
}

pub fn hwm_kib(pid: u32) -> u64 {
    status_kib(pid, "VmHWM:")
}

/// CPU seconds of `pid` so far: (its own utime + stime, its reaped children's).
pub fn cpu_secs(pid: u32) -> (f64, f64) {
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
    // SAFETY: sysconf has no memory preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as f64;
    ((f(14) + f(15)) as f64 / hz, (f(16) + f(17)) as f64 / hz)
}

/// CPU seconds this process used so far (all threads).
pub fn self_cpu() -> f64 {
    // SAFETY: getrusage writes into the zeroed struct we pass.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe {
        libc::getrusage(libc::RUSAGE_SELF, &mut ru);
    }
    let t = |tv: libc::timeval| tv.tv_sec as f64 + tv.tv_usec as f64 / 1e6;
    t(ru.ru_utime) + t(ru.ru_stime)
}

/// CPU used between [`CpuMeter::start`] and [`CpuMeter::stop`] by some processes (each with
/// its reaped children) and by this one.
pub struct CpuMeter {
    pids: Vec<u32>,
    start: Vec<(f64, f64)>,
    self_start: f64,
}

/// What a [`CpuMeter`] measured, in CPU seconds.
pub struct CpuUse {
    /// Per process given to [`CpuMeter::start`], in that order: (itself, its reaped children).
    pub procs: Vec<(f64, f64)>,
    /// This process (the bench's submitters and waiters).
    pub client: f64,
}

impl CpuMeter {
    pub fn start(pids: &[u32]) -> CpuMeter {
        CpuMeter {
            pids: pids.to_vec(),
            start: pids.iter().map(|&p| cpu_secs(p)).collect(),
            self_start: self_cpu(),
        }
    }

    pub fn stop(self) -> CpuUse {
        let procs = self
            .pids
            .iter()
            .zip(&self.start)
            .map(|(&p, s)| {
                let now = cpu_secs(p);
                (now.0 - s.0, now.1 - s.1)
            })
            .collect();
        CpuUse {
            procs,
            client: self_cpu() - self.self_start,
        }
    }
}

pub fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .unwrap_or_default()
        .split_whitespace()
        .take(3)
        .collect::<Vec<_>>()
        .join(" ")
}

/// The filesystem type holding `path` (longest mount point of /proc/self/mounts above it).
pub fn fs_type(path: &Path) -> String {
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
pub fn create_cost_us(base: &Path) -> Res<f64> {
    let dir = tempfile::Builder::new()
        .prefix(&format!("{PREFIX}{}-probe-", std::process::id()))
        .tempdir_in(base)?;
    let n = 200;
    let t = Instant::now();
    for i in 0..n {
        std::fs::File::create(dir.path().join(i.to_string()))?;
    }
    let us = t.elapsed().as_secs_f64() * 1e6 / n as f64;
    finished().push(dir);
    Ok(us)
}
