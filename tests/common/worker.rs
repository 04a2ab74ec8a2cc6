//! A real `jobod worker` on a temp dir and a free loopback port; killed on drop together with
//! its payloads' processes.

use super::{Daemon, JOBOD, kill_processes_under, raw_http};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const TOKEN: &str = "s3cret-node-token";

pub struct Worker {
    pub dir: tempfile::TempDir,
    pub child: Option<Child>,
    /// `host:port` it listens on (the same across restarts).
    pub addr: String,
    extra: Vec<String>,
    env: Vec<(String, String)>,
}

impl Worker {
    pub fn start(extra: &[&str]) -> Worker {
        Worker::start_with_env(extra, &[])
    }

    /// As [`Worker::start`], with these variables in the node's environment (`FAILPOINTS`).
    pub fn start_with_env(extra: &[&str], env: &[(&str, &str)]) -> Worker {
        let dir = super::job_reachable_tempdir();
        std::fs::write(dir.path().join("token"), format!("{TOKEN}\n")).expect("token file");
        // As an operator would keep it: jobs must not read it.
        super::set_mode(&dir.path().join("token"), 0o600);
        let mut w = Worker {
            dir,
            child: None,
            addr: "127.0.0.1:0".into(),
            extra: extra.iter().map(|s| s.to_string()).collect(),
            env: env
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        };
        w.boot();
        w
    }

    pub fn root(&self) -> &Path {
        self.dir.path()
    }

    pub fn data(&self) -> PathBuf {
        self.root().join("data")
    }

    pub fn token_file(&self) -> PathBuf {
        self.root().join("token")
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Starts the process on `self.addr` (port 0 the first time) and waits until it listens.
    pub fn boot(&mut self) {
        let file = self.data().join("jobod-worker.tcp");
        let _ = std::fs::remove_file(&file);
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.root().join("worker.log"))
            .expect("log");
        let child = Command::new(JOBOD)
            .arg("worker")
            .arg("--listen")
            .arg(&self.addr)
            .arg("--token-file")
            .arg(self.token_file())
            .arg("--data-dir")
            .arg(self.data())
            .args(&self.extra)
            .env("JOBOD_LOG", "info")
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("spawn jobod worker");
        self.child = Some(child);
        // The address file appears (whole, by rename) once the listener is bound.
        let deadline = Instant::now() + Duration::from_secs(20);
        let mut pause = Duration::from_millis(2);
        loop {
            if let Ok(addr) = std::fs::read_to_string(&file) {
                self.addr = addr.trim().to_string();
                return;
            }
            if let Some(Ok(Some(status))) = self.child.as_mut().map(|c| c.try_wait()) {
                panic!("jobod worker exited at start ({status}):\n{}", self.log());
            }
            assert!(
                Instant::now() < deadline,
                "jobod worker did not come up:\n{}",
                self.log()
            );
            std::thread::sleep(pause);
            pause = (pause * 2).min(Duration::from_millis(50));
        }
    }

    /// `kill -9` of the node, and of its payloads' processes (nobody reaps orphans here).
    pub fn kill9(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
        kill_processes_under(self.dir.path());
    }

    /// `kill -9` only the node process, leaving its payloads' processes running (a node
    /// crash); the node's next start kills them.
    pub fn kill9_node_only(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.root().join("worker.log")).unwrap_or_default()
    }

    /// `jobo node add URL --name NAME` on `d` with this node's token: 2 slots, service
    /// `example`. `url` is this node's ([`Worker::url`]) or one in front of it.
    pub fn add_to(&self, d: &Daemon, url: &str, name: &str) {
        d.jobo_ok(&[
            "node",
            "add",
            url,
            "--name",
            name,
            "--service",
            "example",
            "--slots",
            "2",
            "--token-file",
            self.token_file().to_str().expect("utf-8 path"),
        ]);
    }

    pub fn http(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> (u16, Vec<u8>) {
        let auth = token.map(|t| format!("Bearer {t}"));
        let mut all: Vec<(&str, &str)> = headers.to_vec();
        if let Some(a) = &auth {
            all.push(("Authorization", a));
        }
        let stream = TcpStream::connect(&self.addr).expect("connect worker");
        raw_http(stream, method, path, &all, body)
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        self.kill9();
    }
}
