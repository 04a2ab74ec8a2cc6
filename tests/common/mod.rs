//! Test harness: real `jobod` processes on temp dirs, temp sockets and free loopback ports,
//! driven by the real `jobo` binary or by raw HTTP.
//!
//! Every `Daemon` kills on drop what it started: the daemon itself and every process whose
//! working directory is inside its temp dir (the jobs, including their background children),
//! because this machine's PID 1 does not reap orphans.

#![allow(dead_code)]

pub mod pki;
pub mod pty;
pub mod seed;
pub mod worker;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

pub const JOBOD: &str = env!("CARGO_BIN_EXE_jobod");
pub const JOBO: &str = env!("CARGO_BIN_EXE_jobo");

pub struct Daemon {
    pub dir: tempfile::TempDir,
    pub child: Option<Child>,
    pub tcp: Option<String>,
    /// The `seed_listen` address (seed routes, no token), when started with `.seed_tcp()`.
    pub seed_tcp: Option<String>,
    /// An admin API token, made over the socket (the tests run as root) when TCP is on:
    /// [`Daemon::http`] and `jobo` against [`Daemon::tcp_host`] send it.
    pub token: Option<String>,
    config: Option<String>,
    listen: bool,
    seed_listen: bool,
    extra: Vec<String>,
    env: Vec<(String, String)>,
    /// The command jobod is started through (none: directly).
    wrapper: Vec<String>,
    /// The data dir is a tmpfs of its own, unmounted on drop.
    mounted: bool,
}

pub struct Builder {
    config: Option<String>,
    listen: bool,
    seed_listen: bool,
    extra: Vec<String>,
    env: Vec<(String, String)>,
    tmpfs: Option<u64>,
    wrapper: Vec<String>,
}

impl Builder {
    /// A `jobod.toml` to run with (else the built-in default).
    pub fn config(mut self, toml: &str) -> Self {
        self.config = Some(toml.to_string());
        self
    }
    /// Also listen on a free loopback TCP port.
    pub fn tcp(mut self) -> Self {
        self.listen = true;
        self
    }
    /// Also serve the seed routes without a token (`--seed-listen`) on a free loopback port.
    pub fn seed_tcp(mut self) -> Self {
        self.seed_listen = true;
        self
    }
    pub fn arg(mut self, a: &str) -> Self {
        self.extra.push(a.to_string());
        self
    }
    /// The data dir on a tmpfs of `bytes` (a disk that can fill up); see [`can_mount_tmpfs`].
    pub fn tmpfs_data(mut self, bytes: u64) -> Self {
        self.tmpfs = Some(bytes);
        self
    }
    /// Start jobod through this command (which must end by exec'ing its arguments, so the
    /// pid is jobod's), e.g. `unshare` to give it a host of another shape.
    pub fn wrapper(mut self, argv: &[&str]) -> Self {
        self.wrapper = argv.iter().map(|a| a.to_string()).collect();
        self
    }
    /// An environment variable of jobod (e.g. `FAILPOINTS`).
    pub fn env(mut self, key: &str, value: &str) -> Self {
        self.env.push((key.to_string(), value.to_string()));
        self
    }
    pub fn start(self) -> Daemon {
        let dir = job_reachable_tempdir();
        std::fs::create_dir_all(dir.path().join("work")).expect("work dir");
        if let Some(bytes) = self.tmpfs {
            let data = dir.path().join("data");
            std::fs::create_dir_all(&data).expect("data dir");
            mount_tmpfs(&data, bytes).expect("mount a tmpfs (check can_mount_tmpfs first)");
        }
        let mut d = Daemon {
            dir,
            child: None,
            tcp: None,
            seed_tcp: None,
            token: None,
            config: self.config,
            listen: self.listen,
            seed_listen: self.seed_listen,
            extra: self.extra,
            env: self.env,
            wrapper: self.wrapper,
            mounted: self.tmpfs.is_some(),
        };
        d.boot();
        d
    }
}

impl Daemon {
    pub fn builder() -> Builder {
        Builder {
            config: None,
            listen: false,
            seed_listen: false,
            extra: Vec::new(),
            env: Vec::new(),
            tmpfs: None,
            wrapper: Vec::new(),
        }
    }

    pub fn start() -> Daemon {
        Daemon::builder().start()
    }

    pub fn root(&self) -> &Path {
        self.dir.path()
    }
    pub fn data(&self) -> PathBuf {
        self.root().join("data")
    }
    pub fn socket(&self) -> PathBuf {
        self.root().join("jobod.sock")
    }
    /// Where `jobo` runs (its cwd), so `jobo run`/`fetch` results land in the temp dir.
    pub fn work(&self) -> PathBuf {
        self.root().join("work")
    }
    pub fn host(&self) -> String {
        format!("unix://{}", self.socket().display())
    }
    /// `http://` address of the `seed_listen` listener (started with `.seed_tcp()`).
    pub fn seed_host(&self) -> String {
        format!(
            "http://{}",
            self.seed_tcp.as_ref().expect("started with .seed_tcp()")
        )
    }
    pub fn tcp_host(&self) -> String {
        format!("http://{}", self.tcp.as_ref().expect("started with .tcp()"))
    }
    /// The TCP listener as `https://` (started with `.tcp()` and `--tls-cert/--tls-key`).
    pub fn https_host(&self) -> String {
        format!(
            "https://{}",
            self.tcp.as_ref().expect("started with .tcp()")
        )
    }

    fn boot(&mut self) {
        let mut cmd = match self.wrapper.split_first() {
            Some((first, rest)) => {
                let mut c = Command::new(first);
                c.args(rest).arg(JOBOD);
                c
            }
            None => Command::new(JOBOD),
        };
        cmd.arg("serve")
            .arg("--user")
            .arg("--data-dir")
            .arg(self.data())
            .arg("--socket")
            .arg(self.socket())
            .args(&self.extra)
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .env("JOBOD_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log_file(&self.root().join("jobod.log")));
        if let Some(toml) = &self.config {
            let path = self.root().join("jobod.toml");
            std::fs::write(&path, toml).expect("write config");
            cmd.arg("--config").arg(path);
        }
        if self.listen {
            cmd.arg("--listen").arg("127.0.0.1:0");
            let _ = std::fs::remove_file(self.data().join("jobod.tcp"));
        }
        if self.seed_listen {
            cmd.arg("--seed-listen").arg("127.0.0.1:0");
            let _ = std::fs::remove_file(self.data().join("jobod-seed.tcp"));
        }
        self.child = Some(cmd.spawn().expect("spawn jobod"));
        self.wait_ready();
        if self.listen {
            let addr = std::fs::read_to_string(self.data().join("jobod.tcp")).expect("tcp addr");
            self.tcp = Some(addr.trim().to_string());
            if self.token.is_none() {
                self.token = Some(self.make_token("root", "admin"));
            }
        }
        if self.seed_listen {
            let file = self.data().join("jobod-seed.tcp");
            let addr = std::fs::read_to_string(file).expect("seed tcp addr");
            self.seed_tcp = Some(addr.trim().to_string());
        }
    }

    /// A new API token for `user` with `role`, made over the socket as this (root) process.
    pub fn make_token(&self, user: &str, role: &str) -> String {
        let body = format!(r#"{{"user": "{user}", "role": "{role}"}}"#);
        let (code, resp) = self.http_unix(
            "POST",
            "/v1/tokens",
            &[("Content-Type", "application/json")],
            body.as_bytes(),
        );
        assert_eq!(
            code,
            201,
            "token for {user}: {}",
            String::from_utf8_lossy(&resp)
        );
        json(&resp)["secret"]
            .as_str()
            .expect("a secret")
            .to_string()
    }

    /// `Authorization: Bearer …` with this daemon's admin token (started with `.tcp()`).
    pub fn bearer(&self) -> String {
        format!(
            "Bearer {}",
            self.token.as_deref().expect("started with .tcp()")
        )
    }

    /// Waits until the socket accepts connections (the daemon binds it last).
    fn wait_ready(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(20);
        let mut pause = Duration::from_millis(2);
        while Instant::now() < deadline {
            if UnixStream::connect(self.socket()).is_ok() {
                return;
            }
            if let Some(Ok(Some(status))) = self.child.as_mut().map(|c| c.try_wait()) {
                panic!("jobod exited at start ({status}):\n{}", self.log());
            }
            std::thread::sleep(pause);
            pause = (pause * 2).min(Duration::from_millis(50));
        }
        panic!("jobod did not come up:\n{}", self.log());
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.root().join("jobod.log")).unwrap_or_default()
    }

    /// `kill -9` of the daemon (its jobs keep running, as after a real crash).
    pub fn kill9(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Graceful stop (SIGTERM) and wait.
    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            unsafe {
                libc::kill(c.id() as i32, libc::SIGTERM);
            }
            let _ = c.wait();
        }
    }

    /// Starts jobod again on the same data dir, socket and config.
    /// The `jobod.toml` the next (re)start runs with.
    pub fn set_config(&mut self, toml: &str) {
        self.config = Some(toml.to_string());
    }

    /// The next (re)start runs without the environment given to the builder.
    pub fn clear_env(&mut self) {
        self.env.clear();
    }

    pub fn restart(&mut self) {
        assert!(self.child.is_none(), "stop or kill9 first");
        self.boot();
    }

    /// `jobo ARGS` against this daemon's socket.
    pub fn jobo(&self, args: &[&str]) -> Output {
        self.jobo_with(&self.host(), args)
    }

    pub fn jobo_with(&self, host: &str, args: &[&str]) -> Output {
        let mut cmd = Command::new(JOBO);
        if (host.starts_with("http://") || host.starts_with("https://"))
            && let Some(token) = &self.token
        {
            cmd.env("JOBO_TOKEN", token);
        }
        cmd.args(args)
            .env("JOBO_HOST", host)
            // No token file of the machine's user leaks in.
            .env("XDG_CONFIG_HOME", self.root().join("config"))
            .env("NO_COLOR", "1")
            .current_dir(self.work())
            .stdin(Stdio::null())
            .output()
            .expect("run jobo")
    }

    /// `jobo ARGS` that must succeed; returns its stdout.
    pub fn jobo_ok(&self, args: &[&str]) -> String {
        let out = self.jobo(args);
        assert!(
            out.status.success(),
            "jobo {args:?} failed ({}):\nstdout: {}\nstderr: {}\njobod log:\n{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
            self.log()
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// `jobo --json ARGS`, parsed.
    pub fn jobo_json(&self, args: &[&str]) -> serde_json::Value {
        let mut all = vec!["--json"];
        all.extend_from_slice(args);
        let out = self.jobo_ok(&all);
        serde_json::from_str(&out)
            .unwrap_or_else(|e| panic!("bad JSON from jobo {args:?}: {e}\n{out}"))
    }

    /// Submits `dir` and returns the job id.
    pub fn submit(&self, dir: &Path, service: &str) -> i64 {
        let out = self.jobo_ok(&[
            "submit",
            dir.to_str().expect("utf-8 path"),
            "--service",
            service,
        ]);
        out.trim()
            .parse()
            .unwrap_or_else(|_| panic!("not a job id: {out}"))
    }

    /// Waits (server-side long poll, no sleeping) until job `id` is final; returns its JSON.
    pub fn wait(&self, id: i64) -> serde_json::Value {
        let out = self.jobo(&["--json", "wait", &id.to_string()]);
        let v: serde_json::Value = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("wait {id}: {e}: {}", String::from_utf8_lossy(&out.stderr)));
        v[0].clone()
    }

    /// Long-polls (server side) until job `id` is `state` or final; returns it. Fails after a
    /// minute with `logs()`.
    pub fn wait_until(&self, id: i64, state: &str, logs: &dyn Fn() -> String) -> serde_json::Value {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let path = format!("/v1/jobs/{id}/wait?timeout=10&until={state}");
            let (code, body) = self.http_unix("GET", &path, &[], b"");
            assert_eq!(code, 200, "{}", String::from_utf8_lossy(&body));
            let job = json(&body);
            let now = job["state"].as_str().unwrap_or("?");
            let done = ["succeeded", "failed", "cancelled", "timed_out", "lost"];
            if now == state || done.contains(&now) {
                return job;
            }
            assert!(
                Instant::now() < deadline,
                "job {id} still {now}: {job}\n{}",
                logs()
            );
        }
    }

    pub fn job(&self, id: i64) -> serde_json::Value {
        self.jobo_json(&["status", &id.to_string()])[0].clone()
    }

    /// A request over the Unix socket: (status, body).
    pub fn http_unix(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> (u16, Vec<u8>) {
        let stream = UnixStream::connect(self.socket()).expect("connect socket");
        raw_http(stream, method, path, headers, body)
    }

    /// A request over TCP: (status, body). It carries the admin token unless `headers`
    /// has an `Authorization` of its own.
    pub fn http(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> (u16, Vec<u8>) {
        let stream = TcpStream::connect(self.tcp.as_ref().expect("started with .tcp()"))
            .expect("connect tcp");
        let bearer = self.bearer();
        let headers = self.with_token(headers, &bearer);
        raw_http(stream, method, path, &headers, body)
    }

    /// `headers` and `Authorization: <bearer>`, unless they have one already.
    pub fn with_token<'a>(
        &self,
        headers: &[(&'a str, &'a str)],
        bearer: &'a str,
    ) -> Vec<(&'a str, &'a str)> {
        let mut all = headers.to_vec();
        if !headers
            .iter()
            .any(|(k, _)| k.eq_ignore_ascii_case("authorization"))
        {
            all.push(("Authorization", bearer));
        }
        all
    }

    /// Every entry below `data/tmp` (should be empty when no upload is in progress).
    pub fn staged_uploads(&self) -> Vec<PathBuf> {
        std::fs::read_dir(self.data().join("tmp"))
            .map(|rd| rd.filter_map(|e| e.ok().map(|e| e.path())).collect())
            .unwrap_or_default()
    }

    /// Pids of live processes whose cwd is inside this daemon's temp dir (its jobs).
    pub fn job_processes(&self) -> Vec<i32> {
        processes_under(self.root())
    }

    /// `jobo ARGS` left running (`logs -f`): its stdout, line by line, as it comes.
    pub fn jobo_follow(&self, args: &[&str]) -> Follower {
        let mut child = Command::new(JOBO)
            .args(args)
            .env("JOBO_HOST", self.host())
            .env("XDG_CONFIG_HOME", self.root().join("config"))
            .env("NO_COLOR", "1")
            .current_dir(self.work())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn jobo");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, lines) = std::sync::mpsc::channel::<String>();
        std::thread::spawn(move || {
            use std::io::BufRead;
            for line in std::io::BufReader::new(stdout)
                .lines()
                .map_while(Result::ok)
            {
                if tx.send(line).is_err() {
                    return;
                }
            }
        });
        Follower { child, lines }
    }
}

/// A running `jobo` ([`Daemon::jobo_follow`]), killed and reaped on drop.
pub struct Follower {
    pub child: Child,
    /// Its stdout's lines; disconnected once it closed its stdout.
    pub lines: std::sync::mpsc::Receiver<String>,
}

impl Drop for Follower {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        self.kill9();
        // Jobs (and their children) left by a killed daemon: kill them too.
        kill_processes_under(self.root());
        if self.mounted {
            let _ = Command::new("umount").arg(self.data()).status();
        }
    }
}

/// Mounts a tmpfs of `bytes` at `at` (root only).
fn mount_tmpfs(at: &Path, bytes: u64) -> std::io::Result<()> {
    let status = Command::new("mount")
        .args([
            "-t",
            "tmpfs",
            "-o",
            &format!("size={bytes},mode=0700"),
            "tmpfs",
        ])
        .arg(at)
        .stderr(Stdio::null())
        .status()?;
    if status.success() {
        Ok(())
    } else {
        Err(std::io::Error::other(format!("mount exited with {status}")))
    }
}

/// Whether this test run may mount a tmpfs (as root, where the sandbox allows it); `Err`
/// says why not, for the skipping test to print.
pub fn can_mount_tmpfs() -> Result<(), String> {
    let probe = tempfile::tempdir().map_err(|e| e.to_string())?;
    mount_tmpfs(probe.path(), 1 << 20).map_err(|e| format!("cannot mount a tmpfs here: {e}"))?;
    let _ = Command::new("umount").arg(probe.path()).status();
    Ok(())
}

/// SIGKILLs every live process working below `root`, until none is left (bounded).
pub fn kill_processes_under(root: &Path) {
    for _ in 0..50 {
        let pids = processes_under(root);
        if pids.is_empty() {
            return;
        }
        for pid in pids {
            unsafe {
                libc::kill(pid, libc::SIGKILL);
            }
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn log_file(path: &Path) -> Stdio {
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map(Stdio::from)
        .unwrap_or_else(|_| Stdio::null())
}

/// Live (non-zombie) processes whose cwd is below `root`.
pub fn processes_under(root: &Path) -> Vec<i32> {
    let Ok(root) = root.canonicalize() else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let Ok(rd) = std::fs::read_dir("/proc") else {
        return out;
    };
    for e in rd.flatten() {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        let Ok(cwd) = std::fs::read_link(e.path().join("cwd")) else {
            continue;
        };
        if !cwd.starts_with(&root) {
            continue;
        }
        let stat = std::fs::read_to_string(e.path().join("stat")).unwrap_or_default();
        let zombie = stat
            .rsplit_once(')')
            .is_some_and(|(_, rest)| rest.trim_start().starts_with('Z'));
        if !zombie {
            out.push(pid);
        }
    }
    out
}

/// HTTP/1.1 with `Connection: close`, body sent in one piece with a Content-Length.
pub fn raw_http(
    stream: impl Read + Write,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> (u16, Vec<u8>) {
    parse_response(&raw_exchange(stream, method, path, headers, body))
}

/// Sends one request as [`raw_http`] does and returns the raw response bytes.
pub fn raw_exchange(
    mut stream: impl Read + Write,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Vec<u8> {
    let mut req = format!(
        "{method} {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    stream.write_all(req.as_bytes()).expect("send head");
    // A server may answer (and close) before the whole body is sent; read that answer.
    let _ = stream.write_all(body);
    let mut resp = Vec::new();
    let _ = stream.read_to_end(&mut resp);
    resp
}

/// Splits a raw response into status and (de-chunked) body.
pub fn parse_response(resp: &[u8]) -> (u16, Vec<u8>) {
    let split = resp
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("response head");
    let head = String::from_utf8_lossy(&resp[..split]).to_string();
    let status: u16 = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("status");
    let mut body = resp[split + 4..].to_vec();
    if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        body = dechunk(&body);
    }
    (status, body)
}

fn dechunk(mut data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(eol) = data.windows(2).position(|w| w == b"\r\n") {
        let size =
            usize::from_str_radix(String::from_utf8_lossy(&data[..eol]).trim(), 16).unwrap_or(0);
        if size == 0 {
            break;
        }
        let start = eol + 2;
        out.extend_from_slice(&data[start..(start + size).min(data.len())]);
        data = &data[(start + size + 2).min(data.len())..];
    }
    out
}

/// Makes a FIFO: jobs block on one instead of sleeping, and the test releases them. Mode
/// 0666: jobs of a root jobod run as another user (`jobo-run`).
pub fn mkfifo(path: &Path) {
    let c = std::ffi::CString::new(path.as_os_str().as_encoded_bytes()).expect("path");
    // SAFETY: a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o666) }, 0, "mkfifo");
    set_mode(path, 0o666);
}

pub fn set_mode(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
        .unwrap_or_else(|e| panic!("chmod {mode:o} {}: {e}", path.display()));
}

pub fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

/// A temp dir for a jobod (or node) and the jobs it runs. A root jobod runs jobs as
/// `jobo-run` or as their submitter, so as root the dir is made like `/tmp` (1777: a temp dir
/// is 0700): their work dirs inside are reachable, and the marker files tests have jobs write
/// next to the data dir can be made; the data dir itself is jobod's to guard. As root, it also
/// makes sure `jobo-run` exists: a root jobod refuses to start without it.
pub fn job_reachable_tempdir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    if is_root() {
        ensure_user("jobo-run");
        set_mode(dir.path(), 0o1777);
    }
    dir
}

/// Makes sure the system user `name` exists (root only), as CI's fresh machine may lack it.
/// Test binaries run at once, and `useradd` fails while another holds the passwd lock: it is
/// tried again, and "already exists" counts as done.
pub fn ensure_user(name: &str) {
    let exists = || {
        Command::new("getent")
            .args(["passwd", name])
            .stdout(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut last = String::new();
    while !exists() {
        assert!(
            Instant::now() < deadline,
            "cannot create the user {name}: {last}"
        );
        let out = Command::new("useradd")
            .args([
                "--system",
                "--no-create-home",
                "--shell",
                "/usr/sbin/nologin",
                name,
            ])
            .output()
            .expect("run useradd");
        // 9: the name is taken (another test binary was faster).
        if out.status.success() || out.status.code() == Some(9) {
            continue;
        }
        last = String::from_utf8_lossy(&out.stderr).into_owned();
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Writes a job directory under `parent/name` with the given files; returns its path.
pub fn job_dir(parent: &Path, name: &str, files: &[(&str, &str)]) -> PathBuf {
    let dir = parent.join(name);
    for (rel, content) in files {
        let path = dir.join(rel);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(&path, content).expect("write job file");
    }
    dir
}

/// A multipart/form-data body as the seed's server sends it to its clients: text fields, then
/// files whose field name is their relative path and whose filename is the base name.
/// Returns (content type, body).
pub fn multipart(fields: &[(&str, &str)], files: &[(&str, &[u8])]) -> (String, Vec<u8>) {
    let parts: Vec<(&str, &str, &[u8])> = files
        .iter()
        .map(|(name, content)| (*name, name.rsplit('/').next().unwrap_or(name), *content))
        .collect();
    multipart_parts(fields, &parts)
}

/// A multipart/form-data body of text `fields` and file `parts` given as (field name,
/// filename, content); a web portal sends every file as field `file`.
pub fn multipart_parts(
    fields: &[(&str, &str)],
    parts: &[(&str, &str, &[u8])],
) -> (String, Vec<u8>) {
    let boundary = "----jobotestboundary7MA4YWxkTrZu0gW";
    let mut body = Vec::new();
    for (name, value) in fields {
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
            )
            .as_bytes(),
        );
    }
    for (name, file_name, content) in parts {
        body.extend_from_slice(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"; filename=\"{file_name}\"\r\nContent-Type: application/octet-stream\r\n\r\n").as_bytes(),
        );
        body.extend_from_slice(content);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

/// A tar.gz of `files`, for native uploads made by hand.
pub fn tgz(files: &[(&str, &[u8])]) -> Vec<u8> {
    let gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    let mut tar = tar::Builder::new(gz);
    for (name, content) in files {
        let mut h = tar::Header::new_gnu();
        h.set_size(content.len() as u64);
        h.set_mode(0o644);
        h.set_entry_type(tar::EntryType::Regular);
        // set_path refuses '..'; write the raw name so tests can send hostile names.
        let bytes = name.as_bytes();
        h.as_old_mut().name[..bytes.len()].copy_from_slice(bytes);
        h.set_cksum();
        tar.append(&h, *content).expect("append");
    }
    tar.into_inner().expect("tar").finish().expect("gzip")
}

pub fn json(body: &[u8]) -> serde_json::Value {
    serde_json::from_slice(body)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(body)))
}

/// The files of a zip (directories left out), by name.
pub fn zip_files(bytes: &[u8]) -> std::collections::BTreeMap<String, Vec<u8>> {
    let mut z = zip::ZipArchive::new(std::io::Cursor::new(bytes)).expect("a valid zip");
    let mut out = std::collections::BTreeMap::new();
    for i in 0..z.len() {
        let mut f = z.by_index(i).expect("zip entry");
        if f.is_dir() {
            continue;
        }
        let mut data = Vec::new();
        f.read_to_end(&mut data).expect("read zip entry");
        out.insert(f.name().expect("zip entry name").into_owned(), data);
    }
    out
}

// Helpers of tests/store_faults.rs: starts that must be refused, and `jobod` maintenance
// commands on a daemon's data dir.

impl Daemon {
    /// Runs `jobod serve` as [`Daemon::restart`] would, plus `extra`, where it must exit at
    /// start (refused); returns its output. Fails if it is still running after 30 s.
    pub fn serve_refused(&self, extra: &[&str]) -> Output {
        let mut cmd = Command::new(JOBOD);
        cmd.arg("serve")
            .arg("--user")
            .arg("--data-dir")
            .arg(self.data())
            .arg("--socket")
            .arg(self.socket())
            .args(&self.extra)
            .args(extra)
            .env("JOBOD_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        if self.config.is_some() {
            cmd.arg("--config").arg(self.root().join("jobod.toml"));
        }
        let mut child = cmd.spawn().expect("spawn jobod");
        let deadline = Instant::now() + Duration::from_secs(30);
        while child.try_wait().expect("wait for jobod").is_none() {
            if Instant::now() > deadline {
                let _ = child.kill();
                let out = child.wait_with_output().expect("jobod output");
                panic!(
                    "jobod started instead of refusing:\n{}",
                    String::from_utf8_lossy(&out.stderr)
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        child.wait_with_output().expect("jobod output")
    }

    /// Starts jobod again with `extra` arguments for this start only.
    pub fn restart_with(&mut self, extra: &[&str]) {
        let keep = self.extra.len();
        self.extra.extend(extra.iter().map(|a| a.to_string()));
        self.restart();
        self.extra.truncate(keep);
    }

    /// `jobod ARGS --data-dir <this daemon's data dir>` (e.g. `check`, `backup PATH`).
    pub fn jobod(&self, args: &[&str]) -> Output {
        Command::new(JOBOD)
            .args(args)
            .arg("--data-dir")
            .arg(self.data())
            .env("NO_COLOR", "1")
            .current_dir(self.work())
            .stdin(Stdio::null())
            .output()
            .expect("run jobod")
    }
}
