//! Jobs never run as root: a root jobod runs a socket user's job as that user, everything
//! else as the service's `run_as` user (`jobo-run`); job users cannot read each other's job
//! dirs, the store or a node token; nodes run payloads only as users in their allow-list; and
//! results never carry what a job's links point to. Run as root (CI does); skipped otherwise.

mod common;

use common::worker::Worker;
use common::*;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// A Unix user made for one test (`useradd --system`), deleted at its end.
struct TestUser {
    name: String,
    uid: u32,
    gid: u32,
}

impl TestUser {
    fn create(name: &str) -> TestUser {
        ensure_user(name);
        let account = jobo::account::Account::by_name(name)
            .expect("look the user up")
            .expect("the user exists");
        TestUser {
            name: name.to_string(),
            uid: account.uid,
            gid: account.gid,
        }
    }

    /// A dir of its own in `parent` holding a job dir `job` with `run_sh`; returns the dir.
    fn home_with_job(&self, parent: &Path, run_sh: &str) -> PathBuf {
        let home = job_dir(parent, &self.name, &[("job/run.sh", run_sh)]);
        let status = Command::new("chown")
            .args(["-R", &format!("{}:{}", self.uid, self.gid)])
            .arg(&home)
            .status();
        assert!(
            status.is_ok_and(|s| s.success()),
            "chown {}",
            home.display()
        );
        home
    }

    /// `jobo ARGS` as this user over `d`'s socket, in `cwd`.
    fn jobo(&self, d: &Daemon, jobo: &Path, cwd: &Path, args: &[&str]) -> Output {
        Command::new(jobo)
            .args(args)
            .uid(self.uid)
            .gid(self.gid)
            .env_clear()
            .env("PATH", "/usr/bin:/bin")
            .env("JOBO_HOST", d.host())
            .env("NO_COLOR", "1")
            .current_dir(cwd)
            .stdin(Stdio::null())
            .output()
            .expect("run jobo as a test user")
    }

    /// Submits `home/job` as this user, waits for it, and returns its id.
    fn run(&self, d: &Daemon, jobo: &Path, home: &Path) -> i64 {
        let out = self.jobo(d, jobo, home, &["submit", "job", "-s", "example"]);
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{} submit: {}\n{}",
            self.name,
            String::from_utf8_lossy(&out.stderr),
            d.log()
        );
        let id: i64 = stdout.trim().parse().expect("a job id");
        d.wait(id);
        id
    }
}

impl Drop for TestUser {
    fn drop(&mut self) {
        let _ = Command::new("userdel").arg(&self.name).output();
    }
}

/// Whether to run: creating users and switching to them needs root.
fn as_root() -> bool {
    if !is_root() {
        eprintln!("skipped: jobs run as other users only under a root jobod");
    }
    is_root()
}

/// A copy of `jobo` that every user can run (the build dir may be private, e.g. in /root).
fn public_jobo(d: &Daemon) -> PathBuf {
    let bin = d.root().join("bin");
    std::fs::create_dir_all(&bin).expect("bin dir");
    let jobo = bin.join("jobo");
    std::fs::copy(JOBO, &jobo).expect("copy jobo");
    set_mode(&bin, 0o755);
    set_mode(&jobo, 0o755);
    jobo
}

/// A file of job `id`'s work dir on the server.
fn work_file(d: &Daemon, id: i64, name: &str) -> String {
    let path = d.data().join(format!("jobs/{id}/work/{name}"));
    std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e}\n{}", path.display(), d.log()))
        .trim()
        .to_string()
}

fn owner_and_mode(path: &Path) -> (u32, u32) {
    let m = std::fs::metadata(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    (m.uid(), m.mode() & 0o7777)
}

#[test]
fn socket_users_jobs_run_as_them_and_read_nothing_of_others() {
    if !as_root() {
        return;
    }
    let (ann, bob) = (
        TestUser::create("jobo-t-ann"),
        TestUser::create("jobo-t-bob"),
    );
    let d = Daemon::builder()
        .config("[services.example]\n\n[services.remote]\n")
        .tcp()
        .start();
    set_mode(&d.socket(), 0o666);
    let jobo = public_jobo(&d);
    // A node whose token the server keeps in jobo.db, and whose token file is on this machine.
    let w = Worker::start(&[]);
    let token_file = w.token_file();
    d.jobo_ok(&[
        "node",
        "add",
        &w.url(),
        "--service",
        "remote",
        "--token-file",
        token_file.to_str().expect("utf-8"),
    ]);

    let bob_home = bob.home_with_job(
        d.root(),
        "echo bob-secret > secret.txt\nid -u > uid.txt\necho bob-out\n",
    );
    let b = bob.run(&d, &jobo, &bob_home);
    assert_eq!(work_file(&d, b, "uid.txt"), bob.uid.to_string());

    let data = d.data();
    let tries = [
        (
            "bob-work-file",
            format!("cat {}/jobs/{b}/work/secret.txt", data.display()),
        ),
        (
            "bob-work-dir",
            format!("ls {}/jobs/{b}/work", data.display()),
        ),
        (
            "bob-log",
            format!("cat {}/jobs/{b}/stdout.log", data.display()),
        ),
        ("jobs-list", format!("ls {}/jobs", data.display())),
        ("data-list", format!("ls {}", data.display())),
        ("store", format!("cat {}/jobo.db", data.display())),
        ("node-token", format!("cat {}", token_file.display())),
        (
            "write-jobs",
            format!("touch {}/jobs/planted", data.display()),
        ),
    ];
    let mut script = String::from(
        "id -u > uid.txt\nid -un > name.txt\ngrep -E '^(Uid|Gid|Cap(Prm|Eff)):' /proc/self/status \
         > status.txt\n: > tries.txt\n",
    );
    for (what, cmd) in &tries {
        script.push_str(&format!(
            "if {cmd} >/dev/null 2>&1; then echo '{what} allowed' >> tries.txt; \
             else echo '{what} refused' >> tries.txt; fi\n"
        ));
    }
    let ann_home = ann.home_with_job(d.root(), &script);
    let a = ann.run(&d, &jobo, &ann_home);
    assert_eq!(
        work_file(&d, a, "uid.txt"),
        ann.uid.to_string(),
        "{}",
        d.log()
    );
    assert_eq!(work_file(&d, a, "name.txt"), ann.name);
    // Real, effective, saved and file-system ids are all ann's, and no capability is left.
    let status = work_file(&d, a, "status.txt");
    let fields = |key: &str| -> Vec<String> {
        let line = status
            .lines()
            .find(|l| l.starts_with(key))
            .unwrap_or_default();
        line.split_whitespace()
            .skip(1)
            .map(str::to_string)
            .collect()
    };
    assert_eq!(fields("Uid:"), vec![ann.uid.to_string(); 4], "{status}");
    assert_eq!(fields("Gid:"), vec![ann.gid.to_string(); 4], "{status}");
    assert_eq!(fields("CapPrm:"), ["0000000000000000"], "{status}");
    assert_eq!(fields("CapEff:"), ["0000000000000000"], "{status}");
    let tried = work_file(&d, a, "tries.txt");
    for (what, _) in &tries {
        assert!(
            tried.contains(&format!("{what} refused")),
            "ann's job could do {what}:\n{tried}"
        );
    }
    assert_eq!(d.job(a)["run_as"], ann.name.as_str());
    assert_eq!(d.job(b)["run_as"], bob.name.as_str());
    let status = d.jobo_ok(&["status", &a.to_string()]);
    assert!(
        status
            .lines()
            .any(|l| l.contains("runs as") && l.contains(&ann.name)),
        "{status}"
    );

    // The layout that makes it so.
    let job = data.join(format!("jobs/{a}"));
    assert_eq!(owner_and_mode(&data), (0, 0o711));
    assert_eq!(owner_and_mode(&data.join("jobs")), (0, 0o711));
    assert_eq!(owner_and_mode(&job), (0, 0o711));
    assert_eq!(owner_and_mode(&job.join("work")), (ann.uid, 0o700));
    assert_eq!(owner_and_mode(&job.join("tmp")), (ann.uid, 0o700));
    assert_eq!(owner_and_mode(&job.join("stdout.log")), (0, 0o600));
    assert_eq!(owner_and_mode(&data.join("jobo.db")), (0, 0o600));

    // Root's own job, and a TCP token's (named like a Unix user), run as jobo-run.
    let root_dir = job_dir(&d.work(), "root-job", &[("run.sh", "id -un > name.txt\n")]);
    let r = d.submit(&root_dir, "example");
    d.wait(r);
    assert_eq!(work_file(&d, r, "name.txt"), "jobo-run");
    assert_eq!(d.job(r)["run_as"], "jobo-run");
    let token = d.make_token(&ann.name, "user");
    let out = Command::new(JOBO)
        .args(["submit", root_dir.to_str().expect("utf-8"), "-s", "example"])
        .env("JOBO_HOST", d.tcp_host())
        .env("JOBO_TOKEN", &token)
        .env("XDG_CONFIG_HOME", d.root().join("config"))
        .output()
        .expect("jobo over TCP");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let t: i64 = String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .expect("a job id");
    let job = d.wait(t);
    assert_eq!(job["user"], ann.name.as_str());
    assert_eq!(job["run_as"], "jobo-run");
    assert_eq!(work_file(&d, t, "name.txt"), "jobo-run");
}

#[test]
fn a_root_jobod_refuses_to_run_jobs_as_root_or_a_missing_user() {
    if !as_root() {
        return;
    }
    let mut d = Daemon::start();
    d.stop();
    for (config, words) in [
        (
            "[services.lab]\nrun_as = \"root\"\n",
            ["service 'lab'", "root", "run_as"],
        ),
        (
            "[services.lab]\nrun_as = \"jobo-t-nobody\"\n",
            ["service 'lab'", "jobo-t-nobody", "no Unix user"],
        ),
    ] {
        std::fs::write(d.root().join("jobod.toml"), config).expect("config");
        let config_path = d.root().join("jobod.toml");
        let out = d.serve_refused(&["--config", config_path.to_str().expect("utf-8")]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "started with {config}");
        for word in words {
            assert!(err.contains(word), "{config}: {word} not in: {err}");
        }
    }
}

#[test]
fn nodes_run_payloads_only_as_users_they_allow() {
    if !as_root() {
        return;
    }
    let (cy, di) = (TestUser::create("jobo-t-cy"), TestUser::create("jobo-t-di"));
    let w = Worker::start(&["--run-as-allow", "jobo-run,jobo-t-cy"]);
    let d = Daemon::builder()
        .config(&format!(
            "[local_worker]\nenabled = false\n\n[services.example]\n\n[[nodes]]\nurl = \"{}\"\n\
             services = [\"example\"]\ntoken_file = \"{}\"\n",
            w.url(),
            w.token_file().display()
        ))
        .start();
    set_mode(&d.socket(), 0o666);
    let jobo = public_jobo(&d);
    let secret = root_only_file(&d);
    let script = format!("id -u > uid.txt\nln -s {} link\n", secret.display());

    let allowed = cy.run(&d, &jobo, &cy.home_with_job(d.root(), &script));
    let job = d.job(allowed);
    assert_eq!(job["state"], "succeeded", "{job}\n{}\n{}", d.log(), w.log());
    assert_ne!(job["node"], "local", "{job}");
    assert_eq!(work_file(&d, allowed, "uid.txt"), cy.uid.to_string());
    let link = d.data().join(format!("jobs/{allowed}/work/link"));
    assert!(
        std::fs::symlink_metadata(&link).is_err(),
        "the node sent the link back"
    );

    let refused = di.run(&d, &jobo, &di.home_with_job(d.root(), &script));
    let job = d.job(refused);
    assert_eq!(job["state"], "failed", "{job}");
    let reason = job["reason"].as_str().unwrap_or_default();
    for word in [
        "jobo-t-di",
        "allow-list",
        "jobo-run,jobo-t-cy",
        "--run-as-allow",
    ] {
        assert!(reason.contains(word), "{word} not in: {reason}");
    }

    let root_dir = job_dir(&d.work(), "root-job", &[("run.sh", "id -un > name.txt\n")]);
    let r = d.submit(&root_dir, "example");
    assert_eq!(d.wait(r)["state"], "succeeded");
    assert_eq!(work_file(&d, r, "name.txt"), "jobo-run");
}

/// A file in `d`'s temp root that only root may read, holding [`SECRET`].
fn root_only_file(d: &Daemon) -> PathBuf {
    let path = d.root().join("root-only.txt");
    std::fs::write(&path, SECRET).expect("secret");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    path
}

const SECRET: &str = "root-only-secret-4711";

#[test]
fn results_never_carry_what_a_jobs_links_point_to() {
    if !as_root() {
        return;
    }
    let d = Daemon::start();
    let secret = root_only_file(&d);
    let script = format!(
        "echo visible > plain.txt\nln -s {s} link\nln {s} hard 2>/dev/null || true\n\
         mkdir sub\nln -s / sub/up\nln -s {root} rootdir\ncat {s} > stolen.txt 2>/dev/null\n\
         true\n",
        s = secret.display(),
        root = d.root().display()
    );
    let id = d.submit(
        &job_dir(&d.work(), "links", &[("run.sh", &script)]),
        "example",
    );
    assert_eq!(d.wait(id)["state"], "succeeded", "{}", d.log());
    // Where the kernel refuses the job's hard link (protected_hardlinks), make it as root: a
    // file of another owner in the job's dir is what an allowed hard link would leave.
    let hard = d.data().join(format!("jobs/{id}/work/hard"));
    if !hard.exists() {
        std::fs::hard_link(&secret, &hard).expect("hard link as root");
    }

    let fetched = d.work().join("fetched");
    d.jobo_ok(&[
        "fetch",
        &id.to_string(),
        "-o",
        fetched.to_str().expect("utf-8"),
    ]);
    let files = files_below(&fetched);
    assert!(files.contains_key("plain.txt"), "{:?}", files.keys());
    for name in ["link", "hard", "sub/up", "rootdir"] {
        assert!(
            !files.contains_key(name),
            "{name} came back: {:?}",
            files.keys()
        );
    }
    for (name, content) in &files {
        assert!(!content.contains(SECRET), "{name} holds the secret");
    }

    for path in [
        format!("/download/{id}"),
        format!("/v1/jobs/{id}/results?format=zip"),
    ] {
        let (code, body) = d.http_unix("GET", &path, &[], b"");
        assert_eq!(code, 200, "{path}");
        let zip = zip_files(&body);
        assert!(zip.contains_key("plain.txt"), "{path}: {:?}", zip.keys());
        for (name, content) in &zip {
            let text = String::from_utf8_lossy(content);
            assert!(!text.contains(SECRET), "{path}: {name} holds the secret");
        }
        assert!(
            !zip.contains_key("hard") && !zip.contains_key("link"),
            "{path}"
        );
    }
}

/// Every regular file below `dir` by relative path, with its content (lossy UTF-8).
fn files_below(dir: &Path) -> std::collections::BTreeMap<String, String> {
    let mut out = std::collections::BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).expect("read dir").flatten() {
            let path = entry.path();
            let kind = entry.file_type().expect("file type");
            if kind.is_dir() {
                stack.push(path);
            } else if kind.is_file() {
                let rel = path.strip_prefix(dir).expect("below").display().to_string();
                let bytes = std::fs::read(&path).expect("read");
                out.insert(rel, String::from_utf8_lossy(&bytes).into_owned());
            } else {
                let rel = path.strip_prefix(dir).expect("below").display().to_string();
                out.insert(rel, String::new());
            }
        }
    }
    out
}
