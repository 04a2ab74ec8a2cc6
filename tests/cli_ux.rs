//! The CLI as a docker user expects it, against a real jobod: progress bars and job states on
//! a terminal (and silence elsewhere), Ctrl-C on `run`, `submit --wait` and `logs -f`, the
//! forms `--host` takes, finding a running per-user jobod, where `run` puts results, links in
//! job dirs, idempotency keys reused for other content, and `run --json`.

mod common;
use common::pty::Pty;
use common::*;
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::{Command, Stdio};

/// `jobo ARGS` against `d`, set up as `Daemon::jobo` does, to run on a terminal or not.
fn jobo_cmd(d: &Daemon, args: &[&str]) -> Command {
    let mut cmd = Command::new(JOBO);
    cmd.args(args)
        .env("JOBO_HOST", d.host())
        .env("XDG_CONFIG_HOME", d.root().join("config"))
        .env("TERM", "xterm")
        .env_remove("NO_COLOR")
        .current_dir(d.work());
    cmd
}

fn path(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

/// `jobo run DIR -o RESULTS`, not on a terminal.
fn run_piped(d: &Daemon, dir: &Path, results: &Path) -> std::process::Output {
    jobo_cmd(
        d,
        &[
            "run",
            path(dir),
            "--service",
            "example",
            "-o",
            path(results),
        ],
    )
    .stdin(Stdio::null())
    .output()
    .expect("jobo")
}

/// A job dir whose input and output are 3 MB each, enough for the bars to appear.
fn big_job(d: &Daemon) -> std::path::PathBuf {
    job_dir(
        &d.work(),
        "big",
        &[
            // The job lasts a second, so its "running" state is seen before it ends.
            (
                "run.sh",
                "sleep 1; head -c 3000000 /dev/zero > out.bin; echo done",
            ),
            ("in.bin", &"x".repeat(3_000_000)),
        ],
    )
}

#[test]
fn a_terminal_shows_transfer_bars_and_job_states_and_nothing_else_does() {
    let d = Daemon::start();
    let dir = big_job(&d);
    let out = d.work().join("results-tty");
    let pty = Pty::spawn(&mut jobo_cmd(
        &d,
        &["run", path(&dir), "--service", "example", "-o", path(&out)],
    ));
    let (status, screen) = pty.wait(120);
    assert!(status.success(), "{screen}");
    for shown in [
        "uploading [",
        "downloading [",
        "MiB/2.86 MiB",
        "%",
        "ETA",
        "job 1: running",
        "done",
    ] {
        assert!(screen.contains(shown), "no '{shown}' in:\n{screen}");
    }
    assert_eq!(
        std::fs::metadata(out.join("out.bin"))
            .expect("results")
            .len(),
        3_000_000
    );

    // Not on a terminal: no bars, no states, no byte counters.
    let piped = run_piped(&d, &dir, &d.work().join("results-pipe"));
    let stderr = String::from_utf8_lossy(&piped.stderr);
    assert!(piped.status.success(), "{stderr}");
    for quiet in ["uploading", "downloading", "B/s", "running"] {
        assert!(!stderr.contains(quiet), "'{quiet}' in:\n{stderr}");
    }

    // A small job on a terminal: no bar flashes by.
    let small = job_dir(&d.work(), "small", &[("run.sh", "echo hi")]);
    let pty = Pty::spawn(&mut jobo_cmd(
        &d,
        &["run", path(&small), "--service", "example"],
    ));
    let (status, screen) = pty.wait(60);
    assert!(status.success(), "{screen}");
    assert!(
        !screen.contains("uploading") && !screen.contains("downloading"),
        "{screen}"
    );
}

/// A jobod whose cancelled jobs get a minute between SIGTERM and SIGKILL.
fn patient_daemon() -> Daemon {
    let config =
        jobo::config::DEFAULT_CONFIG.replace("kill_grace = \"5s\"", "kill_grace = \"60s\"");
    assert_ne!(
        config,
        jobo::config::DEFAULT_CONFIG,
        "kill_grace is in the default config"
    );
    Daemon::builder().config(&config).start()
}

/// `jobo run` of a job running `script`, on a terminal, after one Ctrl-C once the job has
/// printed "started".
fn interrupted_run(d: &Daemon, name: &str, script: &str) -> Pty {
    let dir = job_dir(&d.work(), name, &[("run.sh", script)]);
    let mut pty = Pty::spawn(&mut jobo_cmd(
        d,
        &["run", path(&dir), "--service", "example"],
    ));
    pty.expect("started", 60);
    pty.send(b"\x03");
    pty
}

#[test]
fn ctrl_c_on_run_cancels_the_job_and_a_second_one_detaches() {
    let d = patient_daemon();
    let pty = interrupted_run(&d, "sleepy", "echo started; exec sleep 300");
    let (status, screen) = pty.wait(60);
    assert_eq!(status.code(), Some(130), "{screen}");
    assert!(screen.contains("jobo: cancelling job 1"), "{screen}");
    assert_eq!(d.job(1)["state"], "cancelled");

    // A job that ignores SIGTERM outlives the first Ctrl-C; the second one leaves it be.
    let mut pty = interrupted_run(&d, "stubborn", "trap '' TERM; echo started; exec sleep 300");
    pty.expect("cancelling job 2", 30);
    pty.send(b"\x03");
    let (status, screen) = pty.wait(30);
    assert_eq!(status.code(), Some(130), "{screen}");
    for hint in [
        "detached from job 2",
        "jobo wait 2",
        "jobo logs -f 2",
        "jobo cancel 2",
    ] {
        assert!(screen.contains(hint), "no '{hint}' in:\n{screen}");
    }
    assert_eq!(d.job(2)["state"], "running");
}

#[test]
fn ctrl_c_on_submit_wait_cancels_and_on_logs_follow_just_stops() {
    let d = Daemon::start();
    let dir = job_dir(
        &d.work(),
        "sleepy",
        &[("run.sh", "echo started; exec sleep 300")],
    );
    let mut pty = Pty::spawn(&mut jobo_cmd(
        &d,
        &["submit", "--wait", path(&dir), "--service", "example"],
    ));
    // The spinner tells the job's state changes.
    pty.expect("job 1: running", 60);
    pty.send(b"\x03");
    let (status, screen) = pty.wait(60);
    assert_eq!(status.code(), Some(130), "{screen}");
    assert!(screen.contains("1 cancelled"), "{screen}");
    assert_eq!(d.job(1)["state"], "cancelled");

    // `logs -f` ends as `docker logs -f` does: killed by the SIGINT, the job untouched.
    let id = d.submit(&dir, "example");
    let mut pty = Pty::spawn(&mut jobo_cmd(&d, &["logs", "-f", &id.to_string()]));
    pty.expect("started", 60);
    pty.send(b"\x03");
    let (status, screen) = pty.wait(30);
    assert_eq!(status.signal(), Some(libc::SIGINT), "{status:?}: {screen}");
    assert!(!screen.contains("error"), "{screen}");
    assert_eq!(d.job(id)["state"], "running");
}

#[test]
fn host_takes_tcp_urls_and_bare_host_port() {
    let d = Daemon::builder().tcp().start();
    let addr = d.tcp.clone().expect("tcp");
    for host in [format!("tcp://{addr}"), addr.clone(), d.tcp_host()] {
        let out = jobo_cmd(&d, &["--host", &host, "status"])
            .env("JOBO_TOKEN", d.token.as_deref().expect("token"))
            .stdin(Stdio::null())
            .output()
            .expect("jobo");
        assert!(
            out.status.success(),
            "{host}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let out = jobo_cmd(&d, &["--host", "tcp://nowhere", "status"])
        .stdin(Stdio::null())
        .output()
        .expect("jobo");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains("invalid host 'tcp://nowhere'") && stderr.contains("host:port"),
        "{stderr}"
    );
}

/// Kills every process working below a temp dir on drop (an autostarted jobod and its jobs).
struct Reaper(tempfile::TempDir);

impl Drop for Reaper {
    fn drop(&mut self) {
        kill_processes_under(self.0.path());
    }
}

#[test]
fn a_shell_without_xdg_runtime_dir_finds_the_running_per_user_jobod() {
    let home = Reaper(common::job_reachable_tempdir());
    let h = home.0.path();
    std::fs::create_dir_all(h.join("run")).expect("runtime dir");
    let jobo = |runtime: bool| {
        let mut cmd = Command::new(JOBO);
        cmd.arg("status")
            .env_remove("JOBO_HOST")
            .env("HOME", h)
            .env("XDG_DATA_HOME", h.join("data"))
            .env("XDG_CONFIG_HOME", h.join("config"))
            .current_dir(h)
            .stdin(Stdio::null());
        match runtime {
            true => cmd.env("XDG_RUNTIME_DIR", h.join("run")),
            false => cmd.env_remove("XDG_RUNTIME_DIR"),
        };
        cmd.output().expect("jobo")
    };
    let first = jobo(true);
    let stderr = String::from_utf8_lossy(&first.stderr);
    assert!(first.status.success(), "{stderr}");
    assert!(stderr.contains("started jobod"), "{stderr}");
    assert_eq!(
        std::fs::read_to_string(h.join("data/jobo/jobod.socket")).expect("socket file"),
        h.join("run/jobo/jobod.sock").display().to_string()
    );

    let second = jobo(false);
    let stderr = String::from_utf8_lossy(&second.stderr);
    assert!(second.status.success(), "{stderr}");
    assert!(!stderr.contains("started jobod"), "{stderr}");

    // A jobod that names no socket (an older one): said in one line, nothing started.
    std::fs::remove_file(h.join("data/jobo/jobod.socket")).expect("remove socket file");
    let third = jobo(false);
    let stderr = String::from_utf8_lossy(&third.stderr);
    assert!(!third.status.success());
    assert!(
        stderr.contains("a jobod runs on") && stderr.contains("set JOBO_HOST"),
        "{stderr}"
    );
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
}

#[test]
fn run_inside_the_job_dir_puts_the_results_beside_it() {
    let d = Daemon::start();
    let dir = job_dir(&d.work(), "job", &[("run.sh", "ls; echo made > out.txt")]);
    for id in [1, 2] {
        let out = jobo_cmd(&d, &["run", ".", "--service", "example"])
            .current_dir(&dir)
            .stdin(Stdio::null())
            .output()
            .expect("jobo");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{stderr}");
        // The second run did not upload the first one's results.
        assert_eq!(String::from_utf8_lossy(&out.stdout), "run.sh\n", "{stderr}");
        let results = d
            .work()
            .canonicalize()
            .expect("work dir")
            .join(format!("jobo-{id}"));
        assert!(
            stderr.contains(&format!("results in {}", results.display())),
            "{stderr}"
        );
        assert_eq!(
            std::fs::read_to_string(results.join("out.txt")).expect("results"),
            "made\n"
        );
    }
    let names: Vec<_> = std::fs::read_dir(&dir)
        .expect("job dir")
        .flatten()
        .map(|e| e.file_name())
        .collect();
    assert_eq!(names, ["run.sh"]);
}

/// A job dir with a link to its input; its job reads through it and makes links of its own:
/// one that stays inside, two that lead out.
fn linked_job(d: &Daemon) -> std::path::PathBuf {
    let dir = job_dir(
        &d.work(),
        "linked",
        &[
            ("data/in.txt", "input\n"),
            (
                "run.sh",
                "cat in; echo made > out.txt; ln -s out.txt kept; ln -s /etc/passwd leak; \
                 ln -s .. up",
            ),
        ],
    );
    std::os::unix::fs::symlink("data/in.txt", dir.join("in")).expect("symlink");
    dir
}

/// Runs [`linked_job`] into `results`; checks that the links that stay inside came back, and
/// those that lead out did not, and were logged in `log`.
fn run_linked_job(d: &Daemon, results: &Path, log: &dyn Fn() -> String) -> std::path::PathBuf {
    let dir = linked_job(d);
    let out = run_piped(d, &dir, results);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}\n{}", log());
    assert_eq!(String::from_utf8_lossy(&out.stdout), "input\n");
    assert_eq!(
        std::fs::read_link(results.join("kept")).expect("kept link"),
        Path::new("out.txt")
    );
    assert_eq!(
        std::fs::read_link(results.join("in")).expect("input link"),
        Path::new("data/in.txt")
    );
    for gone in ["leak", "up"] {
        assert!(
            std::fs::symlink_metadata(results.join(gone)).is_err(),
            "{gone}"
        );
    }
    assert!(log().contains("leak is left out"), "{}", log());
    dir
}

#[test]
fn links_that_stay_inside_are_kept_and_others_are_refused_by_name() {
    let d = Daemon::start();
    let dir = run_linked_job(&d, &d.work().join("results"), &|| d.log());

    // The CLI refuses a dir with a link out of it, naming it.
    std::os::unix::fs::symlink("/etc", dir.join("escape")).expect("symlink");
    let out = d.jobo(&["submit", path(&dir), "--service", "example"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("escape -> /etc"), "{stderr}");
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");

    // So does jobod, whoever sends it.
    let gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    let mut tar = tar::Builder::new(gz);
    let mut h = tar::Header::new_gnu();
    h.set_entry_type(tar::EntryType::Regular);
    h.set_size(7);
    h.set_mode(0o644);
    tar.append_data(&mut h, "run.sh", &b"cat up\n"[..])
        .expect("append");
    let mut h = tar::Header::new_gnu();
    h.set_entry_type(tar::EntryType::Symlink);
    h.set_size(0);
    tar.append_link(&mut h, "up", "../../jobs")
        .expect("append link");
    let body = tar.into_inner().expect("tar").finish().expect("gzip");
    let (code, resp) = d.http_unix("POST", "/v1/jobs?service=example", &[], &body);
    assert_eq!(code, 400, "{}", String::from_utf8_lossy(&resp));
    let error = json(&resp)["error"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(error.contains("up is a link to ../../jobs"), "{error}");
}

#[test]
fn an_idempotency_key_reused_for_other_content_is_a_conflict() {
    let d = Daemon::start();
    let dir = job_dir(&d.work(), "job", &[("run.sh", "echo one")]);
    let submit = || {
        d.jobo(&[
            "submit",
            path(&dir),
            "--service",
            "example",
            "--idempotency-key",
            "k1",
        ])
    };
    let first = submit();
    assert!(first.status.success());
    let again = submit();
    assert_eq!(again.stdout, first.stdout, "the same content: the same job");
    std::fs::write(dir.join("run.sh"), "echo two").expect("write");
    let other = submit();
    let stderr = String::from_utf8_lossy(&other.stderr);
    assert!(!other.status.success());
    assert!(
        stderr.contains("idempotency key 'k1' was used for job 1 with other content"),
        "{stderr}"
    );

    // A client that does not say what it sends: jobod reads the upload and compares.
    let upload = |key: &str, run: &[u8]| {
        let body = tgz(&[("run.sh", run)]);
        d.http_unix(
            "POST",
            "/v1/jobs?service=example",
            &[("Idempotency-Key", key)],
            &body,
        )
    };
    let (code, body) = upload("k2", b"echo a");
    assert_eq!(code, 201, "{}", String::from_utf8_lossy(&body));
    let id = json(&body)["id"].clone();
    let (code, body) = upload("k2", b"echo a");
    assert_eq!(code, 200, "{}", String::from_utf8_lossy(&body));
    assert_eq!(json(&body)["id"], id);
    let (code, body) = upload("k2", b"echo b");
    assert_eq!(code, 409, "{}", String::from_utf8_lossy(&body));
    assert!(
        json(&body)["error"]
            .as_str()
            .is_some_and(|e| e.contains("other content")),
        "{}",
        String::from_utf8_lossy(&body)
    );
}

#[test]
fn run_json_keeps_the_jobs_output_out_of_the_json() {
    let d = Daemon::start();
    let dir = job_dir(
        &d.work(),
        "job",
        &[("run.sh", "echo to-stdout; echo to-stderr >&2")],
    );
    let out = d.jobo(&["--json", "run", path(&dir), "--service", "example"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let job: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)));
    assert_eq!(job["state"], "succeeded");
    assert!(
        stderr.contains("to-stdout") && stderr.contains("to-stderr"),
        "{stderr}"
    );
}

#[test]
fn links_that_stay_inside_go_to_a_worker_node_and_back() {
    let d = Daemon::builder()
        .config("[local_worker]\nenabled = false\n[services.example]\n")
        .start();
    let w = common::worker::Worker::start(&[]);
    w.add_to(&d, &w.url(), "node1");
    // Left out where the results are packed: on the node.
    run_linked_job(&d, &d.work().join("results"), &|| w.log());
}

#[test]
fn run_whose_reader_went_away_still_waits_for_the_job_and_fetches_its_results() {
    let d = Daemon::start();
    let dir = job_dir(
        &d.work(),
        "job",
        &[("run.sh", "seq 1 200000; echo made > out.txt")],
    );
    let results = d.work().join("results");
    // `jobo run … | head -c 0`: a pipe whose reader is gone before jobo writes.
    let (reader, writer) = std::io::pipe().expect("pipe");
    drop(reader);
    let out = jobo_cmd(
        &d,
        &[
            "run",
            path(&dir),
            "--service",
            "example",
            "-o",
            path(&results),
        ],
    )
    .stdin(Stdio::null())
    .stdout(writer)
    .stderr(Stdio::piped())
    .output()
    .expect("jobo");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("job 1 succeeded; results in"), "{stderr}");
    assert_eq!(
        std::fs::read_to_string(results.join("out.txt")).expect("results"),
        "made\n"
    );
}

/// `jobo status ID` to a pipe is not padded: no line of the detail view ends in blanks, so a
/// long value (here a label) widens its own line only. Nor are the tables' lines.
#[test]
fn status_detail_and_tables_off_a_terminal_are_not_padded() {
    let d = Daemon::start();
    let dir = job_dir(&d.work(), "job", &[("run.sh", "true")]);
    let long = format!("note={}", "x".repeat(120));
    let out = d.jobo_ok(&[
        "submit",
        path(&dir),
        "--service",
        "example",
        "--label",
        &long,
        "--wait",
    ]);
    let id = out.split_whitespace().next().expect("the job id");
    let detail = d.jobo_ok(&["status", id]);
    assert!(detail.contains(&long), "{detail}");
    let padded: Vec<&str> = detail.lines().filter(|l| l.ends_with(' ')).collect();
    assert!(padded.is_empty(), "padded lines: {padded:?}");
    let state = detail
        .lines()
        .find(|l| l.trim_start().starts_with("state:"))
        .unwrap_or_else(|| panic!("no state in {detail}"));
    assert!(state.len() < 40, "{state:?}");
    // Tables: the last column's short cells (here `true` against its header) end their lines.
    for args in [
        &["list"][..],
        &["status"],
        &["node", "ls"],
        &["service", "ls"],
    ] {
        let table = d.jobo_ok(args);
        assert!(table.lines().count() >= 2, "{args:?}: {table}");
        let padded: Vec<&str> = table.lines().filter(|l| l.ends_with(' ')).collect();
        assert!(padded.is_empty(), "{args:?}: padded lines: {padded:?}");
    }
}
