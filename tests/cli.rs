//! The CLI around the daemon: autostart (and where it finds `jobod`), endpoint errors,
//! completions, `jobod config default`, the socket's group, SIGHUP.

mod common;
use common::*;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::process::{Command, Stdio};

/// Kills every process working below a temp dir on drop (an autostarted jobod and its jobs).
struct Reaper(tempfile::TempDir);

impl Drop for Reaper {
    fn drop(&mut self) {
        kill_processes_under(self.0.path());
    }
}

/// `jobo` (the binary at `bin`) as a user whose HOME and XDG dirs are all below `home`.
fn jobo_cmd(bin: &std::path::Path, home: &std::path::Path) -> Command {
    let mut cmd = Command::new(bin);
    cmd.env_remove("JOBO_HOST")
        .env("HOME", home)
        .env("XDG_RUNTIME_DIR", home.join("run"))
        .env("XDG_DATA_HOME", home.join("data"))
        .env("XDG_CONFIG_HOME", home.join("config"))
        .current_dir(home)
        .stdin(Stdio::null());
    cmd
}

fn jobo_in(home: &std::path::Path, args: &[&str]) -> std::process::Output {
    jobo_cmd(JOBO.as_ref(), home)
        .args(args)
        .output()
        .expect("run jobo")
}

/// A copy of `jobo` alone in `home/bin`, so that no `jobod` lies next to it.
fn lone_jobo(home: &std::path::Path) -> std::path::PathBuf {
    let bin = home.join("bin");
    std::fs::create_dir_all(&bin).expect("bin dir");
    std::fs::copy(JOBO, bin.join("jobo")).expect("copy jobo");
    bin.join("jobo")
}

#[test]
fn autostarts_a_per_user_daemon_once() {
    let home = Reaper(common::job_reachable_tempdir());
    let h = home.0.path();
    std::fs::create_dir_all(h.join("run")).expect("runtime dir");
    let dir = job_dir(h, "job", &[("run.sh", "echo autostarted")]);

    let first = jobo_in(
        h,
        &["run", dir.to_str().expect("utf-8"), "--service", "example"],
    );
    let stderr = String::from_utf8_lossy(&first.stderr);
    assert!(first.status.success(), "{stderr}");
    assert!(
        stderr.contains("started jobod in the background"),
        "{stderr}"
    );
    assert_eq!(String::from_utf8_lossy(&first.stdout), "autostarted\n");
    assert!(h.join("run/jobo/jobod.sock").exists());
    assert!(h.join("data/jobo/jobo.db").exists());

    // The second call finds the daemon running and says nothing about starting one.
    let second = jobo_in(h, &["status"]);
    assert!(second.status.success());
    assert!(!String::from_utf8_lossy(&second.stderr).contains("started jobod"));
    assert!(String::from_utf8_lossy(&second.stdout).contains("succeeded"));
}

/// Kills the jobod working in a home, then removes the data dir it kept outside that home.
struct OutsideData {
    home: Reaper,
    data: Option<std::path::PathBuf>,
}

impl Drop for OutsideData {
    fn drop(&mut self) {
        kill_processes_under(self.home.0.path());
        if let Some(data) = &self.data {
            kill_processes_under(data);
            let _ = std::fs::remove_dir_all(data);
        }
    }
}

#[test]
fn root_with_a_closed_home_keeps_its_data_where_its_jobs_can_reach_it() {
    if !is_root() {
        eprintln!("skipped: only root's jobs run as another user");
        return;
    }
    ensure_user("jobo-run");
    // A `mktemp -d` home: 0700, so jobo-run cannot pass through to a data dir inside it.
    let mut guard = OutsideData {
        home: Reaper(tempfile::tempdir().expect("temp dir")),
        data: None,
    };
    let h = guard.home.0.path().to_path_buf();
    set_mode(&h, 0o700);
    std::fs::create_dir_all(h.join("run")).expect("runtime dir");
    let dir = job_dir(&h, "job", &[("run.sh", "echo reached")]);

    let out = jobo_in(
        &h,
        &["run", dir.to_str().expect("utf-8"), "--service", "example"],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    // "jobo: started jobod in the background (pid N, socket S, log DATA/jobod.log)"
    let log = stderr
        .split(", log ")
        .nth(1)
        .and_then(|rest| rest.split(')').next())
        .map(std::path::PathBuf::from);
    guard.data = log
        .as_ref()
        .and_then(|l| l.parent())
        .map(|d| d.to_path_buf());
    assert!(out.status.success(), "{stderr}");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "reached\n");
    let data = guard.data.clone().expect("jobo names the log");
    assert!(data.starts_with("/var/lib/jobo-root"), "{stderr}");
    assert!(data.join("jobo.db").exists());
    assert!(!h.join("data/jobo/jobo.db").exists());

    // The next command finds the same daemon and store.
    let again = jobo_in(&h, &["status"]);
    assert!(again.status.success());
    assert!(!String::from_utf8_lossy(&again.stderr).contains("started jobod"));
    assert!(String::from_utf8_lossy(&again.stdout).contains("succeeded"));
}

#[test]
fn autostart_without_a_jobod_names_where_it_looked_and_how_to_get_one() {
    let home = Reaper(common::job_reachable_tempdir());
    let h = home.0.path();
    std::fs::create_dir_all(h.join("run")).expect("runtime dir");
    let empty = h.join("empty");
    std::fs::create_dir_all(&empty).expect("empty dir");
    let out = jobo_cmd(&lone_jobo(h), h)
        .arg("status")
        .env("PATH", &empty)
        .output()
        .expect("run jobo");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains(&format!("looked for {}", h.join("bin/jobod").display()))
            && stderr.contains(&format!("then in PATH ({})", empty.display()))
            && stderr.contains("cargo install --locked --path ."),
        "{stderr}"
    );
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(!stderr.contains("started jobod"), "{stderr}");

    // A jobo in a cargo target dir (as `cargo run --release --bin jobo` leaves it, without
    // jobod) is told to build both binaries with the same profile.
    let release = h.join("clone/target/release");
    std::fs::create_dir_all(&release).expect("target dir");
    std::fs::copy(JOBO, release.join("jobo")).expect("copy jobo");
    let out = jobo_cmd(&release.join("jobo"), h)
        .arg("status")
        .env("PATH", &empty)
        .output()
        .expect("run jobo");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains(&format!("looked for {}", release.join("jobod").display()))
            && stderr.contains("build both binaries with `cargo build --release`"),
        "{stderr}"
    );
    assert!(processes_under(h).is_empty());
}

#[test]
fn autostart_starts_the_jobod_on_path_when_none_is_next_to_jobo() {
    let home = Reaper(common::job_reachable_tempdir());
    let h = home.0.path();
    std::fs::create_dir_all(h.join("run")).expect("runtime dir");
    let path = h.join("path");
    std::fs::create_dir_all(&path).expect("path dir");
    std::os::unix::fs::symlink(JOBOD, path.join("jobod")).expect("symlink jobod");
    let out = jobo_cmd(&lone_jobo(h), h)
        .arg("status")
        .env(
            "PATH",
            format!("{}:{}", h.join("empty").display(), path.display()),
        )
        .output()
        .expect("run jobo");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    // The message names the daemon's pid, so a script (or .ci/run) can stop it.
    let pid: u32 = stderr
        .split("(pid ")
        .nth(1)
        .and_then(|rest| rest.split(',').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no pid in: {stderr}"));
    let exe = std::fs::read_link(format!("/proc/{pid}/exe")).expect("the pid is a live process");
    assert_eq!(
        exe,
        std::path::Path::new(JOBOD)
            .canonicalize()
            .expect("jobod path")
    );
}

#[test]
fn explicit_hosts_never_autostart() {
    let home = Reaper(common::job_reachable_tempdir());
    let h = home.0.path();
    let missing = format!("unix://{}/nothing.sock", h.display());
    let out = Command::new(JOBO)
        .args(["--host", &missing, "status"])
        .env("HOME", h)
        .output()
        .expect("run jobo");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("cannot connect to jobod"), "{stderr}");
    assert!(!stderr.contains("started jobod"));
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(processes_under(h).is_empty());

    let bad = Command::new(JOBO)
        .args(["status"])
        .env("JOBO_HOST", "ftp://x")
        .output()
        .expect("run jobo");
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("invalid host"));
}

#[test]
fn completions_and_default_config() {
    for shell in ["bash", "zsh", "fish"] {
        let out = Command::new(JOBO)
            .args(["completions", shell])
            .output()
            .expect("jobo");
        assert!(out.status.success());
        let script = String::from_utf8_lossy(&out.stdout);
        // jobo completes itself (live job ids, services, nodes): the script registers it.
        assert!(
            script.contains("COMPLETE=") && script.contains("jobo"),
            "{shell}: {script}"
        );
    }
    let out = Command::new(JOBOD)
        .args(["config", "default"])
        .output()
        .expect("jobod");
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    let config = jobo::config::Config::parse(&text, "printed").expect("the printed config parses");
    assert!(config.service("example").is_some());
}

#[test]
fn jobod_refuses_a_bad_config_with_one_line() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let config = tmp.path().join("jobod.toml");
    std::fs::write(&config, "[services.x]\nretention = \"soon\"\n").expect("write");
    let out = Command::new(JOBOD)
        .args(["serve", "--user", "--config"])
        .arg(&config)
        .arg("--data-dir")
        .arg(tmp.path().join("d"))
        .arg("--socket")
        .arg(tmp.path().join("s.sock"))
        .output()
        .expect("jobod");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("invalid config") && stderr.contains("soon"),
        "{stderr}"
    );
}

#[test]
fn a_second_daemon_does_not_steal_the_socket() {
    let d = Daemon::start();
    let out = Command::new(JOBOD)
        .args(["serve", "--user", "--data-dir"])
        .arg(d.root().join("other"))
        .arg("--socket")
        .arg(d.socket())
        .output()
        .expect("jobod");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("already listening"));
    d.jobo_ok(&["status"]);
}

#[test]
fn a_second_daemon_does_not_take_over_a_data_dir_in_use() {
    let d = Daemon::start();
    let dir = job_dir(&d.work(), "job", &[("run.sh", "echo ok")]);
    let id = d.submit(&dir, "example");
    let out = Command::new(JOBOD)
        .args(["serve", "--user", "--data-dir"])
        .arg(d.data())
        .arg("--socket")
        .arg(d.root().join("other.sock"))
        .output()
        .expect("jobod");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    // The lock file names the holder's pid, and so does the refusal.
    let pid = d.child.as_ref().expect("jobod").id();
    let lock = std::fs::read_to_string(d.data().join("jobod.lock")).expect("lock file");
    assert_eq!(lock.trim(), pid.to_string());
    assert!(
        stderr.contains(&format!("another jobod (pid {pid}) is using the data dir")),
        "{stderr}"
    );
    assert_eq!(d.wait(id)["state"], "succeeded");
}

/// Polls `cond` every 10 ms for up to 10 s.
fn eventually(what: &str, cond: impl Fn() -> bool) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !cond() {
        assert!(std::time::Instant::now() < deadline, "timed out: {what}");
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
}

#[test]
fn sighup_reloads_the_server_and_leaves_a_worker_node_running() {
    let mut d = Daemon::start();
    let pid = d.child.as_ref().expect("jobod runs").id() as i32;
    // SAFETY: kill(2) on our own child's pid.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGHUP) }, 0);
    eventually("jobod logs the reload", || {
        d.log().contains("SIGHUP: reloaded")
    });
    let child = d.child.as_mut().expect("jobod runs");
    assert!(matches!(child.try_wait(), Ok(None)), "{}", d.log());
    let dir = job_dir(&d.work(), "job", &[("run.sh", "echo after the hangup")]);
    let id = d.submit(&dir, "example");
    assert_eq!(d.wait(id)["state"], "succeeded");

    let mut w = common::worker::Worker::start(&[]);
    let pid = w.child.as_ref().expect("worker runs").id() as i32;
    // SAFETY: as above.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGHUP) }, 0);
    eventually("the worker logs the SIGHUP", || {
        w.log()
            .contains("SIGHUP: a worker node has no configuration file to reload")
    });
    assert!(matches!(
        w.child.as_mut().expect("worker").try_wait(),
        Ok(None)
    ));
    assert_eq!(
        w.http("GET", "/health", Some(common::worker::TOKEN), &[], b"")
            .0,
        200
    );
}

/// A group or user made for one test with groupadd/useradd, deleted on drop.
struct Account {
    kind: &'static str,
    name: String,
}

impl Account {
    fn group(name: String) -> Account {
        run_ok("groupadd", &[&name]);
        Account {
            kind: "group",
            name,
        }
    }
    /// A user without a home, in `group` when given.
    fn user(name: String, group: Option<&Account>) -> Account {
        let mut args = vec!["-M", "-N", "-s", "/bin/sh"];
        if let Some(g) = group {
            args.extend(["-G", &g.name]);
        }
        args.push(&name);
        run_ok("useradd", &args);
        Account { kind: "user", name }
    }
    fn gid(&self) -> u32 {
        jobo::paths::group_id(&self.name)
            .expect("getgrnam")
            .expect("the group exists")
    }
}

impl Drop for Account {
    fn drop(&mut self) {
        let tool = if self.kind == "group" {
            "groupdel"
        } else {
            "userdel"
        };
        let _ = Command::new(tool).arg(&self.name).status();
    }
}

fn run_ok(program: &str, args: &[&str]) {
    let out = Command::new(program).args(args).output().expect(program);
    assert!(
        out.status.success(),
        "{program} {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `jobo --host HOST status` as another user, through runuser.
fn jobo_as(user: &str, jobo: &std::path::Path, host: &str) -> std::process::Output {
    Command::new("runuser")
        .args(["-u", user, "--"])
        .arg(jobo)
        .args(["--host", host, "status"])
        .current_dir("/")
        .output()
        .expect("runuser")
}

#[test]
fn socket_group_lets_its_members_and_only_them_use_the_socket() {
    if !is_root() {
        eprintln!("skipped: creating a group and users (groupadd, useradd) needs root");
        return;
    }
    let tag = std::process::id();
    let group = Account::group(format!("jobog{tag}"));
    let member = Account::user(format!("jobom{tag}"), Some(&group));
    let outsider = Account::user(format!("joboo{tag}"), None);
    let d = Daemon::builder()
        .arg("--socket-group")
        .arg(&group.name)
        .start();
    // Other users must reach the socket (in the temp dir) and run a jobo they can read.
    std::fs::set_permissions(d.root(), std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let jobo = d.root().join("jobo");
    std::fs::copy(JOBO, &jobo).expect("copy jobo");

    let meta = std::fs::metadata(d.socket()).expect("socket");
    assert_eq!(meta.permissions().mode() & 0o777, 0o660);
    assert_eq!(meta.gid(), group.gid());
    assert_eq!(meta.uid(), 0);

    let out = jobo_as(&member.name, &jobo, &d.host());
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = jobo_as(&outsider.name, &jobo, &d.host());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("ermission denied"), "{stderr}");

    // A group that does not exist is refused at start, naming it.
    let out = Command::new(JOBOD)
        .args(["serve", "--user", "--socket-group", "no-such-group-jobo"])
        .arg("--data-dir")
        .arg(d.root().join("other"))
        .arg("--socket")
        .arg(d.root().join("other.sock"))
        .output()
        .expect("jobod");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains("--socket-group no-such-group-jobo: there is no such group"),
        "{stderr}"
    );
}

#[test]
fn system_mode_gives_the_socket_to_the_jobo_group_or_warns() {
    if !is_root() {
        eprintln!("skipped: system mode's socket group is only chosen as root");
        return;
    }
    let tmp = Reaper(common::job_reachable_tempdir());
    let t = tmp.0.path();
    let config = t.join("jobod.toml");
    std::fs::write(&config, jobo::config::DEFAULT_CONFIG).expect("config");
    let socket = t.join("jobod.sock");
    let mut child = Command::new(JOBOD)
        .args(["serve", "--system", "--config"])
        .arg(&config)
        .arg("--data-dir")
        .arg(t.join("data"))
        .arg("--socket")
        .arg(&socket)
        .env_remove("JOBOD_SOCKET_GROUP")
        .current_dir(t)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(t.join("log")).expect("log"))
        .spawn()
        .expect("jobod");
    let log = || std::fs::read_to_string(t.join("log")).unwrap_or_default();
    eventually("jobod listens", || {
        std::os::unix::net::UnixStream::connect(&socket).is_ok()
    });
    let meta = std::fs::metadata(&socket).expect("socket");
    assert_eq!(meta.permissions().mode() & 0o777, 0o660);
    match jobo::paths::group_id("jobo").expect("getgrnam") {
        Some(gid) => assert_eq!(meta.gid(), gid, "{}", log()),
        None => {
            assert_eq!(meta.gid(), 0);
            assert!(log().contains("there is no group 'jobo'"), "{}", log());
        }
    }
    // SAFETY: kill(2) on our own child.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    assert!(child.wait().expect("wait").success(), "{}", log());
}

#[test]
fn a_reader_that_went_away_ends_jobo_quietly() {
    let d = Daemon::start();
    let dir = job_dir(&d.work(), "job", &[("run.sh", "seq 1 20000")]);
    let id = d.submit(&dir, "example");
    d.wait(id);
    let id = id.to_string();
    for args in [
        vec!["status"],
        vec!["--json", "list"],
        vec!["completions", "zsh"],
        vec!["logs", &id],
        vec!["status", &id],
    ] {
        // A pipe whose reader is gone before jobo writes: every write fails with EPIPE.
        let (reader, writer) = std::io::pipe().expect("pipe");
        drop(reader);
        let out = Command::new(JOBO)
            .args(&args)
            .env("JOBO_HOST", d.host())
            .env("XDG_CONFIG_HOME", d.root().join("config"))
            .stdout(writer)
            .stderr(std::process::Stdio::piped())
            .output()
            .expect("run jobo");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{args:?}: {stderr}");
        assert!(stderr.is_empty(), "{args:?}: {stderr}");
    }
}

#[test]
fn a_connection_error_says_its_cause_once() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = Command::new(JOBO)
        .arg("status")
        .env(
            "JOBO_HOST",
            format!("unix://{}", dir.path().join("none.sock").display()),
        )
        .env("XDG_CONFIG_HOME", dir.path())
        .output()
        .expect("run jobo");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert_eq!(err.matches("No such file or directory").count(), 1, "{err}");
}
