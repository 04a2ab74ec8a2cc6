//! Running under systemd: readiness (`Type=notify`), socket activation (`jobod.socket`), and
//! log lines a collector can parse (`--log-format json`).

mod common;
use common::*;
use std::os::unix::net::UnixDatagram;
use std::time::Duration;

#[test]
fn jobod_tells_systemd_when_it_is_ready_and_when_it_stops() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("notify");
    let listener = UnixDatagram::bind(&path).expect("bind notify socket");
    listener
        .set_read_timeout(Some(Duration::from_secs(30)))
        .expect("timeout");
    let mut d = Daemon::builder()
        .env("NOTIFY_SOCKET", path.to_str().expect("utf-8"))
        .start();
    let mut buf = [0u8; 256];
    let n = listener.recv(&mut buf).expect("READY=1 from jobod");
    assert_eq!(&buf[..n], b"READY=1");
    // Ready means ready: the socket answers.
    d.jobo_ok(&["system", "info"]);
    // The variable does not reach jobs.
    let job = job_dir(&d.work(), "env", &[("run.sh", "env > env.txt")]);
    let id = d.submit(&job, "example");
    assert_eq!(d.wait(id)["state"], "succeeded");
    d.jobo_ok(&["fetch", &id.to_string(), "-o", "res"]);
    let env = std::fs::read_to_string(d.work().join("res/env.txt")).expect("env.txt");
    assert!(!env.contains("NOTIFY_SOCKET"), "{env}");
    d.stop();
    let n = listener.recv(&mut buf).expect("STOPPING=1 from jobod");
    assert_eq!(&buf[..n], b"STOPPING=1");
}

/// `jobod` started by `systemd-socket-activate`, as a `jobod.socket` unit starts it.
struct Activated {
    child: std::process::Child,
    dir: tempfile::TempDir,
}

impl Drop for Activated {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        kill_processes_under(self.dir.path());
    }
}

#[test]
fn jobod_serves_on_a_socket_systemd_made() {
    let Ok(activate) = which("systemd-socket-activate") else {
        eprintln!("skipped: systemd-socket-activate is not installed (package systemd)");
        return;
    };
    let dir = tempfile::tempdir().expect("temp dir");
    let socket = dir.path().join("activated.sock");
    let notify = dir.path().join("notify");
    let ready = UnixDatagram::bind(&notify).expect("bind notify socket");
    ready
        .set_read_timeout(Some(Duration::from_secs(30)))
        .expect("timeout");
    let child = std::process::Command::new(activate)
        .arg("--listen")
        .arg(&socket)
        .arg("-E")
        .arg(format!("NOTIFY_SOCKET={}", notify.display()))
        .arg(JOBOD)
        .args(["serve", "--user", "--data-dir"])
        .arg(dir.path().join("data"))
        // A path of its own is ignored: the socket is systemd's.
        .arg("--socket")
        .arg(dir.path().join("unused.sock"))
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::fs::File::create(dir.path().join("jobod.log")).expect("log"))
        .spawn()
        .expect("spawn systemd-socket-activate");
    let guard = Activated { child, dir };
    // systemd-socket-activate binds the socket after it starts: wait for it (bounded back-off).
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    let mut pause = Duration::from_millis(2);
    while !socket.exists() {
        assert!(
            std::time::Instant::now() < deadline,
            "systemd-socket-activate never bound {}",
            socket.display()
        );
        std::thread::sleep(pause);
        pause = (pause * 2).min(Duration::from_millis(50));
    }

    let jobo = |args: &[&str]| {
        std::process::Command::new(JOBO)
            .args(args)
            .env("JOBO_HOST", format!("unix://{}", socket.display()))
            .env("XDG_CONFIG_HOME", guard.dir.path().join("config"))
            .current_dir(guard.dir.path())
            .output()
            .expect("run jobo")
    };
    let out = jobo(&["--json", "system", "info"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let info: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(info["socket"], socket.display().to_string());
    assert!(!guard.dir.path().join("unused.sock").exists());
    let job = job_dir(guard.dir.path(), "job", &[("run.sh", "echo activated")]);
    let out = jobo(&["run", job.to_str().expect("utf-8"), "-s", "example"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("activated"));
    // The socket is systemd's: jobod leaves it in place when it stops.
    let out = jobo(&["system", "stop"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(socket.exists());
}

fn which(name: &str) -> Result<std::path::PathBuf, ()> {
    let path = std::env::var_os("PATH").ok_or(())?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
        .ok_or(())
}

#[test]
fn log_lines_can_be_json() {
    let d = Daemon::builder().arg("--log-format").arg("json").start();
    d.jobo_ok(&["system", "info"]);
    let log = d.log();
    let mut messages = Vec::new();
    for line in log.lines().filter(|l| !l.trim().is_empty()) {
        let v: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
        assert!(v["level"].is_string(), "{line}");
        messages.push(v["fields"]["message"].as_str().unwrap_or("").to_string());
    }
    assert!(
        messages.iter().any(|m| m.starts_with("configuration:")),
        "{messages:?}"
    );
}
