//! The real job-orchestrator 2.3.1 (the seed jobo replaces), as a `server` or a `client`, on a
//! temp dir and a free port; killed on drop with every process of its group (its clients run
//! `bash run.sh` as children and nobody reaps orphans here).
//!
//! `.ci/run` installs it with `cargo install job-orchestrator --version 2.3.1`. Where it is not
//! installed the tests that need it skip with a message, unless `JOBO_REQUIRE_SEED` is set.

use super::parse_response;
use std::net::{TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The seed's binary, or `None` (after saying why) when the tests should skip.
pub fn binary() -> Option<PathBuf> {
    let cargo_bin = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")))
        .map(|c| c.join("bin"));
    let path = std::env::var_os("PATH").unwrap_or_default();
    let found = std::env::split_paths(&path)
        .chain(cargo_bin)
        .map(|dir| dir.join("job-orchestrator"))
        .find(|p| p.is_file());
    if found.is_none() {
        let why = "job-orchestrator is not installed (cargo install job-orchestrator \
                   --version 2.3.1; see .ci/run)";
        assert!(std::env::var_os("JOBO_REQUIRE_SEED").is_none(), "{why}");
        eprintln!("skipped: {why}");
    }
    found
}

/// A free TCP port (the seed binds `0.0.0.0:$PORT` and cannot be given port 0).
fn free_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    l.local_addr().expect("local addr").port()
}

pub struct Seed {
    dir: tempfile::TempDir,
    child: Option<Child>,
    pub port: u16,
}

impl Seed {
    /// Starts `job-orchestrator MODE` (`server` or `client`) with `env`, and waits until it
    /// answers `GET /`.
    pub fn start(bin: &Path, mode: &str, env: &[(&str, String)]) -> Seed {
        let dir = tempfile::tempdir().expect("temp dir");
        let port = free_port();
        let log = std::fs::File::create(dir.path().join("seed.log")).expect("log");
        let err = log.try_clone().expect("log");
        let child = Command::new(bin)
            .arg(mode)
            .current_dir(dir.path())
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("PORT", port.to_string())
            .env("DB_PATH", dir.path().join("db.sqlite"))
            .env("DATA_PATH", dir.path().join("data"))
            .envs(env.iter().map(|(k, v)| (k, v)))
            .process_group(0)
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(err)
            .spawn()
            .expect("spawn job-orchestrator");
        let mut seed = Seed {
            dir,
            child: Some(child),
            port,
        };
        seed.wait_ready();
        seed
    }

    fn wait_ready(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(20);
        let mut pause = Duration::from_millis(5);
        loop {
            // Connected is not enough: the port may still be closing from someone else, and
            // an empty answer is no answer.
            if let Ok(s) = TcpStream::connect(("127.0.0.1", self.port)) {
                let raw = super::raw_exchange(s, "GET", "/", &[], b"");
                if raw.starts_with(b"HTTP/1.1 200") {
                    return;
                }
            }
            if let Some(Ok(Some(status))) = self.child.as_mut().map(|c| c.try_wait()) {
                panic!(
                    "job-orchestrator exited at start ({status}):\n{}",
                    self.log()
                );
            }
            assert!(
                Instant::now() < deadline,
                "job-orchestrator did not come up:\n{}",
                self.log()
            );
            std::thread::sleep(pause);
            pause = (pause * 2).min(Duration::from_millis(50));
        }
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn root(&self) -> &Path {
        self.dir.path()
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.root().join("seed.log")).unwrap_or_default()
    }

    /// `kill -9` of the seed and of every process in its group (its runs included).
    pub fn kill9(&mut self) {
        if let Some(mut child) = self.child.take() {
            let pgid = child.id() as i32;
            // SAFETY: plain kill(2) of a process group this guard created.
            unsafe { libc::kill(-pgid, libc::SIGKILL) };
            let _ = child.wait();
        }
    }
}

impl Drop for Seed {
    fn drop(&mut self) {
        self.kill9();
    }
}

/// One HTTP exchange with `base` (`http://host:port`): status, lowercased head, body.
pub fn http(
    base: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> (u16, String, Vec<u8>) {
    let addr = base.trim_start_matches("http://");
    let s = TcpStream::connect(addr).unwrap_or_else(|e| panic!("connect {addr}: {e}"));
    s.set_read_timeout(Some(Duration::from_secs(60)))
        .expect("read timeout");
    let raw = super::raw_exchange(s, method, path, headers, body);
    let end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or(raw.len());
    let head = String::from_utf8_lossy(&raw[..end]).to_ascii_lowercase();
    let (status, body) = parse_response(&raw);
    (status, head, body)
}
