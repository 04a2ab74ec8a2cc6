//! A job's environment is an allow-list: nothing of jobod's own (secrets, its PATH, LANG, TZ)
//! reaches it; `JOBO_*`, `PATH` and `LANG` are the same on the embedded worker and on a node;
//! `-e KEY=VALUE` passes only for the names the service allows.

mod common;

use common::worker::Worker;
use common::*;

const SERVICE: &str = "[services.s]\nenv = [\"OMP_NUM_THREADS\", \"MY_*\"]\n";

/// Prints the job's variables that are not bash's own, sorted.
const DUMP: &str = "env | grep -v -E '^(PWD|SHLVL|_|OLDPWD)=' | sort > env.txt\n";

/// Runs `DUMP` with `extra` submit arguments; returns the job and its env.txt.
fn dump(d: &Daemon, name: &str, extra: &[&str]) -> (serde_json::Value, String) {
    let dir = job_dir(&d.work(), name, &[("run.sh", DUMP)]);
    let mut args = vec!["submit", dir.to_str().expect("utf-8"), "--service", "s"];
    args.extend_from_slice(extra);
    let id: i64 = d.jobo_ok(&args).trim().parse().expect("id");
    let job = d.wait(id);
    assert_eq!(job["state"], "succeeded", "{job}\n{}", d.log());
    let out = d.root().join(format!("fetched-{name}"));
    d.jobo_ok(&["fetch", &id.to_string(), "-o", out.to_str().expect("utf-8")]);
    let env = std::fs::read_to_string(out.join("env.txt")).expect("env.txt");
    (job, env)
}

/// The lines of `env` that do not depend on where the job ran (its dirs do).
fn portable(env: &str) -> Vec<String> {
    env.lines()
        .filter(|l| !l.starts_with("HOME=") && !l.starts_with("TMPDIR="))
        .map(str::to_string)
        .collect()
}

#[test]
fn the_daemon_environment_never_reaches_a_job() {
    let d = Daemon::builder()
        .config(SERVICE)
        .env("AWS_SECRET_ACCESS_KEY", "x-secret")
        .env("JOBO_TOKEN", "jobo_secret")
        .env("LANG", "de_DE.UTF-8")
        .env("TZ", "Pacific/Auckland")
        .env("LC_ALL", "de_DE.UTF-8")
        .env("PATH", "/opt/daemon-only/bin:/usr/local/bin:/usr/bin:/bin")
        .start();
    let (job, env) = dump(&d, "clean", &[]);
    let id = job["id"].as_i64().expect("id");
    assert!(!env.contains("secret"), "{env}");
    assert!(!env.contains("daemon-only"), "{env}");
    assert!(!env.contains("TZ="), "{env}");
    assert!(!env.contains("LC_ALL"), "{env}");
    let user = job["user"].as_str().expect("user");
    let names: Vec<&str> = env.lines().filter_map(|l| l.split('=').next()).collect();
    assert_eq!(
        names,
        [
            "HOME",
            "JOBO_ATTEMPT",
            "JOBO_JOB_ID",
            "JOBO_SERVICE",
            "JOBO_USER",
            "LANG",
            "LOGNAME",
            "PATH",
            "SHELL",
            "TMPDIR",
            "USER"
        ],
        "{env}"
    );
    for line in [
        "PATH=/usr/local/bin:/usr/bin:/bin".to_string(),
        "LANG=C.UTF-8".into(),
        format!("JOBO_JOB_ID={id}"),
        "JOBO_SERVICE=s".into(),
        format!("JOBO_USER={user}"),
        "JOBO_ATTEMPT=1".into(),
    ] {
        assert!(env.lines().any(|l| l == line), "{line} not in {env}");
    }
}

#[test]
fn job_variables_pass_only_when_the_service_allows_them() {
    let d = Daemon::builder().config(SERVICE).start();
    let (job, env) = dump(
        &d,
        "allowed",
        &["-e", "OMP_NUM_THREADS=4", "-e", "MY_NOTE=a b=c"],
    );
    assert!(env.contains("\nOMP_NUM_THREADS=4\n"), "{env}");
    assert!(env.contains("\nMY_NOTE=a b=c\n"), "{env}");
    assert_eq!(job["env"]["OMP_NUM_THREADS"], "4", "{job}");
    let refused = |args: &[&str], words: &[&str]| {
        let dir = job_dir(&d.work(), "refused", &[("run.sh", "true\n")]);
        let mut all = vec!["submit", dir.to_str().expect("utf-8"), "--service", "s"];
        all.extend_from_slice(args);
        let out = d.jobo(&all);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{args:?} was accepted");
        assert_eq!(err.trim().lines().count(), 1, "{err}");
        for w in words {
            assert!(err.contains(w), "'{w}' not in {err}");
        }
    };
    refused(
        &["-e", "AWS_SECRET_ACCESS_KEY=x"],
        &[
            "AWS_SECRET_ACCESS_KEY",
            "not allowed",
            "OMP_NUM_THREADS, MY_*",
        ],
    );
    refused(&["-e", "JOBO_JOB_ID=7"], &["JOBO_JOB_ID", "set by jobo"]);
    refused(&["-e", "MY-X=1"], &["invalid variable name 'MY-X'"]);
    refused(&["-e", "NOEQUALS"], &["expected KEY=VALUE"]);
    let (status, body) = d.http_unix("POST", "/v1/jobs?service=s&env=nonsense", &[], b"");
    assert_eq!(status, 400, "{}", String::from_utf8_lossy(&body));
}

/// The same job on the embedded worker and on a `jobod worker` node sees the same variables
/// (all but its own dirs), the job's id, service, user and attempt included.
#[test]
fn a_job_sees_the_same_environment_on_a_node() {
    let local = Daemon::builder().config(SERVICE).start();
    let (local_job, local_env) = dump(&local, "here", &["-e", "MY_X=1"]);

    let w = Worker::start(&[]);
    let config = format!(
        "[local_worker]\nenabled = false\n{SERVICE}\n\
         [[nodes]]\nurl = \"{}\"\nname = \"n\"\nservices = [\"s\"]\ntoken_file = \"{}\"\n",
        w.url(),
        w.token_file().display()
    );
    let remote = Daemon::builder()
        .config(&config)
        .env("AWS_SECRET_ACCESS_KEY", "x-secret")
        .start();
    let (remote_job, remote_env) = dump(&remote, "there", &["-e", "MY_X=1"]);
    assert_eq!(remote_job["node"], "n", "{remote_job}");
    assert_eq!(local_job["id"], remote_job["id"]);
    assert_eq!(portable(&local_env), portable(&remote_env));
    assert!(remote_env.contains("\nJOBO_SERVICE=s\n"), "{remote_env}");
    assert!(remote_env.contains("\nMY_X=1\n"), "{remote_env}");
}
