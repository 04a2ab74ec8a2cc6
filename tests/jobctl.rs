//! Job control from the CLI, end to end against a real `jobod`: names and labels and the
//! filters, `-q` and `--format`, `--limit` and its "N more" hint, tables that fit 60 columns,
//! dependencies (`--after`, also across a restart of jobod), arrays, `restart`, `wait --all`,
//! the `logs` flags, `prune`, why a queued job waits, and who may do what over TCP.
//!
//! Jobs that must stay running block on a FIFO the test writes to when it is time.

mod common;
use common::worker::Worker;
use common::*;
use serde_json::Value;
use std::path::{Path, PathBuf};

fn out(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn err(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// A job that prints `text` and succeeds.
fn echo_job(d: &Daemon, name: &str, text: &str) -> PathBuf {
    job_dir(
        &d.root().join("jobs"),
        name,
        &[("run.sh", &format!("echo {text}\necho {text}-err >&2\n"))],
    )
}

/// A job that blocks until the test writes a line to FIFO `gate` (one job per gate: a
/// second reader could take the end of the first one's line), then exits with `code`.
fn gated_job(d: &Daemon, name: &str, gate: &Path, code: i32) -> PathBuf {
    if !gate.exists() {
        mkfifo(gate);
    }
    job_dir(
        &d.root().join("jobs"),
        name,
        &[(
            "run.sh",
            &format!(
                "read x < '{}'\necho released\nexit {code}\n",
                gate.display()
            ),
        )],
    )
}

/// Lets one job blocked on `gate` go on.
fn release(gate: &Path) {
    use std::io::Write;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .open(gate)
        .expect("open gate");
    f.write_all(b"go\n").expect("release");
}

fn submit_args<'a>(dir: &'a Path, extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec!["submit", dir.to_str().expect("utf-8"), "-s", "example"];
    args.extend_from_slice(extra);
    args
}

fn submit_with(d: &Daemon, dir: &Path, extra: &[&str]) -> i64 {
    d.jobo_ok(&submit_args(dir, extra))
        .trim()
        .parse()
        .expect("a job id")
}

/// Submitting `dir` with `extra` fails with a message that says `says`.
fn submit_refused(d: &Daemon, dir: &Path, extra: &[&str], says: &str) {
    let o = d.jobo(&submit_args(dir, extra));
    assert!(!o.status.success() && err(&o).contains(says), "{}", err(&o));
}

#[test]
fn names_labels_filters_quiet_and_format() {
    let d = Daemon::start();
    let a = submit_with(
        &d,
        &echo_job(&d, "a", "a"),
        &["--name", "train", "--label", "team=ml", "-l", "run=1"],
    );
    let b = submit_with(
        &d,
        &echo_job(&d, "b", "b"),
        &["--name", "eval", "-l", "team=ops"],
    );
    let c = submit_with(&d, &echo_job(&d, "c", "c"), &[]);
    for id in [a, b, c] {
        assert_eq!(d.wait(id)["state"], "succeeded");
    }
    let job = d.job(a);
    assert_eq!(job["name"], "train", "{job}");
    assert_eq!(job["labels"]["team"], "ml", "{job}");
    assert_eq!(job["command"], "echo a", "{job}");

    assert_eq!(
        d.jobo_ok(&["list", "-q", "--name", "train"]),
        format!("{a}\n")
    );
    assert_eq!(
        d.jobo_ok(&["status", "-q", "--label", "team=ops"]),
        format!("{b}\n")
    );
    assert_eq!(
        d.jobo_ok(&["list", "-q", "-l", "team=ml", "-l", "run=1"]),
        format!("{a}\n")
    );
    assert_eq!(
        d.jobo_ok(&["list", "-q", "-l", "team=ml", "-l", "run=2"]),
        ""
    );
    let lines = d.jobo_ok(&["list", "--format", "{id} {state} {labels.team}|{{.name}}"]);
    assert_eq!(
        lines,
        format!("{c} succeeded |\n{b} succeeded ops|eval\n{a} succeeded ml|train\n")
    );
    // Several states, repeated or comma-separated.
    let both = d.jobo_ok(&[
        "list",
        "-q",
        "--state",
        "failed,succeeded",
        "--state",
        "queued",
    ]);
    assert_eq!(both.lines().count(), 3, "{both}");
    assert_eq!(d.jobo_ok(&["list", "-q", "--state", "failed"]), "");
    let bad = d.jobo(&["list", "--state", "nope"]);
    assert!(!bad.status.success());
    // The table: NAME and the command column; details name it too.
    let table = d.jobo_ok(&["status"]);
    assert!(table.contains("NAME") && table.contains("train"), "{table}");
    assert!(
        table.contains("COMMAND") && table.contains("echo a"),
        "{table}"
    );
    let detail = d.jobo_ok(&["status", &a.to_string()]);
    assert!(
        detail.contains("team=ml") && detail.contains("train"),
        "{detail}"
    );
    // Bad names and labels are refused in words.
    let x = echo_job(&d, "x", "x");
    submit_refused(&d, &x, &["--label", "novalue"], "KEY=VALUE");
    submit_refused(&d, &x, &["--name", "has space"], "invalid job name");
}

#[test]
fn limits_say_how_many_more_and_tables_fit_sixty_columns() {
    let d = Daemon::start();
    let dir = echo_job(&d, "e", "a-rather-long-output-line-for-the-command-column");
    let ids: Vec<i64> = (0..4)
        .map(|i| submit_with(&d, &dir, &["--name", &format!("experiment-number-{i}")]))
        .collect();
    for id in &ids {
        d.wait(*id);
    }
    let o = d.jobo(&["status", "--limit", "2"]);
    assert!(o.status.success());
    assert_eq!(out(&o).lines().count(), 3, "{}", out(&o));
    assert!(
        err(&o).contains("2 more jobs (use --limit 4"),
        "{}",
        err(&o)
    );
    let o = d.jobo(&["list", "-n", "3", "-q"]);
    assert_eq!(out(&o).lines().count(), 3);
    assert!(err(&o).is_empty(), "-q stays quiet: {}", err(&o));
    let o = d.jobo(&["list"]);
    assert!(!err(&o).contains("more"), "{}", err(&o));

    let narrow = std::process::Command::new(JOBO)
        .args(["status"])
        .env("JOBO_HOST", d.host())
        .env("COLUMNS", "60")
        .env("NO_COLOR", "1")
        .output()
        .expect("jobo");
    let text = out(&narrow);
    for line in text.lines() {
        assert!(
            line.chars().count() <= 60,
            "{line:?} is wider than 60:\n{text}"
        );
    }
    assert!(text.contains("experiment-"), "{text}");
    assert!(
        text.contains(&ids[0].to_string()) && text.contains("succeeded"),
        "{text}"
    );
    // Runtimes read like 0.0s, never "20s 60ms".
    let wide = d.jobo_ok(&["status"]);
    assert!(
        wide.lines().skip(1).all(|l| l
            .split_whitespace()
            .any(|w| w.ends_with('s') && w.trim_end_matches('s').parse::<f64>().is_ok())),
        "{wide}"
    );
    assert!(!wide.contains("ms"), "{wide}");
}

#[test]
fn dependencies_wait_for_success_and_fail_with_their_dependency() {
    let d = Daemon::start();
    let (gate_a, gate_f) = (d.root().join("gate-a"), d.root().join("gate-f"));
    let a = submit_with(&d, &gated_job(&d, "a", &gate_a, 0), &[]);
    let b = submit_with(&d, &echo_job(&d, "b", "b"), &["--after", &a.to_string()]);
    let f = submit_with(&d, &gated_job(&d, "f", &gate_f, 3), &[]);
    let g = submit_with(
        &d,
        &echo_job(&d, "g", "g"),
        &["--after", &format!("{a},{f}")],
    );
    // A dependent of a dependent fails as well.
    let h = submit_with(&d, &echo_job(&d, "h", "h"), &["--after", &g.to_string()]);
    let job = d.job(b);
    assert_eq!(job["state"], "queued", "{job}");
    assert_eq!(job["after"], serde_json::json!([a]));
    assert!(
        job["wait_reason"]
            .as_str()
            .is_some_and(|r| r.contains(&format!("waiting for job {a}"))),
        "{job}"
    );
    let shown = d.jobo_ok(&["status", &b.to_string()]);
    assert!(shown.contains(&format!("waiting for job {a}")), "{shown}");
    release(&gate_a);
    release(&gate_f);
    let a_done = d.wait(a);
    let b_done = d.wait(b);
    assert_eq!(a_done["state"], "succeeded");
    assert_eq!(b_done["state"], "succeeded", "{b_done}");
    assert!(b_done["started_at"].as_i64() >= a_done["finished_at"].as_i64());
    assert_eq!(d.wait(f)["state"], "failed");
    let g_done = d.wait(g);
    assert_eq!(g_done["state"], "failed", "{g_done}");
    assert!(g_done["started_at"].is_null(), "it never ran: {g_done}");
    let reason = g_done["reason"].as_str().unwrap_or("");
    assert!(
        reason.contains(&format!("dependency failed: job {f} is failed")),
        "{reason}"
    );
    let h_done = d.wait(h);
    assert!(
        h_done["reason"]
            .as_str()
            .is_some_and(|r| r.contains("dependency failed")),
        "{h_done}"
    );
    // A job one may not see, or none at all, is refused at submit.
    submit_refused(
        &d,
        &echo_job(&d, "x", "x"),
        &["--after", "9999"],
        "--after 9999",
    );
}

#[test]
fn a_dependency_holds_across_a_restart_of_jobod() {
    let mut d = Daemon::start();
    let gate = d.root().join("gate");
    let a = submit_with(&d, &gated_job(&d, "a", &gate, 0), &[]);
    d.wait_until(a, "running", &|| d.log());
    let b = submit_with(&d, &echo_job(&d, "b", "b"), &["--after", &a.to_string()]);
    d.kill9();
    kill_processes_under(d.root());
    d.restart();
    // A runs again from its input; B still waits for it.
    d.wait_until(a, "running", &|| d.log());
    assert_eq!(d.job(b)["state"], "queued", "{}", d.log());
    release(&gate);
    let a_done = d.wait(a);
    let b_done = d.wait(b);
    assert_eq!(a_done["state"], "succeeded", "{a_done}");
    assert_eq!(b_done["state"], "succeeded", "{b_done}");
    assert!(b_done["started_at"].as_i64() >= a_done["finished_at"].as_i64());
}

#[test]
fn arrays_run_one_job_per_index_and_fold_in_status() {
    let d = Daemon::start();
    let dir = job_dir(
        &d.root().join("jobs"),
        "arr",
        &[("run.sh", "echo \"index=$JOBO_ARRAY_INDEX\" > out.txt\n")],
    );
    let o = d.jobo(&[
        "submit",
        dir.to_str().expect("utf-8"),
        "-s",
        "example",
        "--array",
        "3-5",
        "--name",
        "sweep",
    ]);
    assert!(o.status.success(), "{}", err(&o));
    let first: i64 = out(&o).trim().parse().expect("id");
    assert!(err(&o).contains("array of 3 jobs"), "{}", err(&o));
    for (i, id) in (first..first + 3).enumerate() {
        let job = d.wait(id);
        assert_eq!(job["state"], "succeeded", "{job}");
        assert_eq!(job["array_id"], first, "{job}");
        assert_eq!(job["array_index"], 3 + i as i64, "{job}");
        d.jobo_ok(&["fetch", &id.to_string(), "-o", &format!("r{id}")]);
        let text = std::fs::read_to_string(d.work().join(format!("r{id}/out.txt"))).expect("out");
        assert_eq!(text, format!("index={}\n", 3 + i));
    }
    let table = d.jobo_ok(&["status"]);
    let rows: Vec<&str> = table.lines().skip(1).collect();
    assert_eq!(rows.len(), 1, "an array is one row:\n{table}");
    assert!(rows[0].contains(&format!("{first}[3-5]")), "{table}");
    assert!(rows[0].contains("3 succeeded"), "{table}");
    // -q and --json list each job.
    assert_eq!(d.jobo_ok(&["status", "-q"]).lines().count(), 3);
    submit_refused(&d, &dir, &["--array", "1-5000"], "too large");
    submit_refused(
        &d,
        &dir,
        &["--array", "1-2", "--wait"],
        "cannot be used with",
    );
    let o = d.jobo(&[
        "run",
        dir.to_str().expect("utf-8"),
        "-s",
        "example",
        "--array",
        "1-2",
    ]);
    assert!(
        !o.status.success() && err(&o).contains("jobo wait --all"),
        "{}",
        err(&o)
    );
}

#[test]
fn restart_runs_a_finished_job_again_linked_to_it() {
    let d = Daemon::start();
    let dir = job_dir(
        &d.root().join("jobs"),
        "r",
        &[("run.sh", "cat in.txt\nexit 4\n"), ("in.txt", "hello\n")],
    );
    let old = submit_with(&d, &dir, &["--name", "again", "-l", "k=v"]);
    assert_eq!(d.wait(old)["state"], "failed");
    let o = d.jobo(&["restart", &old.to_string()]);
    assert!(o.status.success(), "{}", err(&o));
    let new: i64 = out(&o).trim().parse().expect("new id");
    assert_ne!(new, old);
    let job = d.wait(new);
    assert_eq!(job["restarted_from"], old, "{job}");
    assert_eq!(job["name"], "again");
    assert_eq!(job["labels"]["k"], "v");
    assert_eq!(job["exit_code"], 4);
    assert_eq!(
        d.jobo_ok(&["logs", &new.to_string(), "--stdout"]),
        "hello\n"
    );
    // Not while it runs; not once its files are gone.
    let gate = d.root().join("gate");
    let running = submit_with(&d, &gated_job(&d, "g", &gate, 0), &[]);
    let o = d.jobo(&["restart", &running.to_string()]);
    assert!(
        !o.status.success() && err(&o).contains("restart it once it ends"),
        "{}",
        err(&o)
    );
    release(&gate);
    d.wait(running);
    d.jobo_ok(&["rm", &old.to_string()]);
    let o = d.jobo(&["restart", &old.to_string()]);
    assert!(
        !o.status.success() && err(&o).contains("files were removed"),
        "{}",
        err(&o)
    );
}

#[test]
fn wait_all_waits_for_every_live_job_and_times_out() {
    let d = Daemon::builder()
        .config("[services.example]\n[services.other]\n")
        .start();
    let gate = d.root().join("gate");
    let g = job_dir(
        &d.root().join("jobs"),
        "g",
        &[("run.sh", &format!("read x < '{}'\n", gate.display()))],
    );
    mkfifo(&gate);
    let blocked = d.jobo_ok(&["submit", g.to_str().expect("utf-8"), "-s", "other"]);
    let blocked: i64 = blocked.trim().parse().expect("id");
    let (gate_a, gate_b) = (d.root().join("gate-a"), d.root().join("gate-b"));
    let a = submit_with(&d, &gated_job(&d, "a", &gate_a, 0), &[]);
    let b = submit_with(&d, &gated_job(&d, "b", &gate_b, 0), &[]);
    // Only the service's jobs, and all of them (they cannot end while the gate is shut).
    let o = d.jobo(&[
        "wait",
        "--all",
        "--service",
        "example",
        "--timeout",
        "300ms",
    ]);
    assert_eq!(o.status.code(), Some(124), "{}", err(&o));
    assert!(err(&o).contains(&format!("jobs {a}, {b}")), "{}", err(&o));
    release(&gate_a);
    release(&gate_b);
    let o = d.jobo(&["wait", "--all", "--service", "example"]);
    assert!(o.status.success(), "{}", err(&o));
    assert_eq!(d.job(a)["state"], "succeeded");
    assert_eq!(d.job(b)["state"], "succeeded");
    let o = d.jobo(&["wait", "--all", "--timeout", "300ms"]);
    assert_eq!(o.status.code(), Some(124), "{}", err(&o));
    assert!(
        err(&o).contains(&format!("still waiting for job {blocked}")),
        "{}",
        err(&o)
    );
    release(&gate);
    let o = d.jobo(&["wait", "--all", "--timeout", "60s"]);
    assert!(o.status.success(), "{}", err(&o));
    assert!(
        out(&o).contains(&format!("{blocked} succeeded")) || d.job(blocked)["state"] == "succeeded"
    );
    let o = d.jobo(&["wait", "--all"]);
    assert!(
        o.status.success() && err(&o).contains("no queued or running jobs"),
        "{o:?}"
    );
}

#[test]
fn logs_tail_streams_several_jobs_json_and_gone_or_queued_jobs() {
    let d = Daemon::builder()
        .config("[services.example]\n[services.held]\nmax_running = 0\n")
        .start();
    let dir = job_dir(
        &d.root().join("jobs"),
        "l",
        &[(
            "run.sh",
            "for i in 1 2 3 4 5; do echo line$i; done\necho oops >&2\n",
        )],
    );
    let a = submit_with(&d, &dir, &[]);
    let b = submit_with(&d, &echo_job(&d, "b", "bee"), &[]);
    d.wait(a);
    d.wait(b);
    let (sa, sb) = (a.to_string(), b.to_string());
    assert_eq!(d.jobo_ok(&["logs", &sa, "--tail", "2"]), "line4\nline5\n");
    let o = d.jobo(&["logs", &sa, "--stderr"]);
    assert_eq!((out(&o).as_str(), err(&o).as_str()), ("", "oops\n"));
    let o = d.jobo(&["logs", &sa, "--stdout"]);
    assert_eq!(
        (out(&o).as_str(), err(&o).as_str()),
        ("line1\nline2\nline3\nline4\nline5\n", "")
    );
    let both = d.jobo_ok(&["logs", "-f", &sa, &sb, "--stdout", "--tail", "1"]);
    let mut lines: Vec<&str> = both.lines().collect();
    lines.sort();
    assert_eq!(lines, [format!("[{a}] line5"), format!("[{b}] bee")]);
    let json = d.jobo_ok(&["--json", "logs", &sb]);
    let objects: Vec<Value> = json
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect();
    assert!(objects.contains(&serde_json::json!({"id": b, "stream": "stdout", "line": "bee"})));
    assert!(objects.contains(&serde_json::json!({"id": b, "stream": "stderr", "line": "bee-err"})));
    // Removed: an error. Never existed: an error. Queued: a note.
    d.jobo_ok(&["rm", &sb]);
    let o = d.jobo(&["logs", &sb]);
    assert!(
        !o.status.success() && err(&o).contains("files were removed"),
        "{}",
        err(&o)
    );
    let o = d.jobo(&["logs", "9999"]);
    assert!(
        !o.status.success() && err(&o).contains("not found"),
        "{}",
        err(&o)
    );
    let q = d.jobo_ok(&[
        "submit",
        echo_job(&d, "q", "q").to_str().expect("utf-8"),
        "-s",
        "held",
    ]);
    let o = d.jobo(&["logs", q.trim()]);
    assert!(
        o.status.success() && err(&o).contains("is queued: no output yet"),
        "{}",
        err(&o)
    );
    // Why it waits, and where it is in the queue.
    let job = d.job(q.trim().parse().expect("id"));
    assert_eq!(job["queue_position"], 1, "{job}");
    assert!(
        job["wait_reason"]
            .as_str()
            .is_some_and(|r| r.contains("quota") && r.contains("max_running")),
        "{job}"
    );
    let shown = d.jobo_ok(&["status", q.trim()]);
    assert!(
        shown.contains("queue position") && shown.contains("quota"),
        "{shown}"
    );
}

#[test]
fn prune_lists_first_then_deletes_rows_and_files_of_ones_own_jobs() {
    let d = Daemon::builder().tcp().start();
    let ann = d.make_token("ann", "user");
    let bob = d.make_token("bob", "user");
    let as_user = |token: &str, args: &[&str]| {
        std::process::Command::new(JOBO)
            .args(args)
            .env("JOBO_HOST", d.tcp_host())
            .env("JOBO_TOKEN", token)
            .env("XDG_CONFIG_HOME", d.root().join("config"))
            .current_dir(d.work())
            .output()
            .expect("jobo")
    };
    let dir = echo_job(&d, "p", "p");
    let submit = |token: &str| -> i64 {
        let o = as_user(
            token,
            &["submit", dir.to_str().expect("utf-8"), "-s", "example"],
        );
        assert!(o.status.success(), "{}", err(&o));
        out(&o).trim().parse().expect("id")
    };
    let (a, b) = (submit(&ann), submit(&bob));
    d.wait(a);
    d.wait(b);
    // Another user's job: not restartable, not visible to prune.
    let o = as_user(&ann, &["restart", &b.to_string()]);
    assert!(
        !o.status.success() && err(&o).contains("not found"),
        "{}",
        err(&o)
    );
    let o = as_user(&ann, &["prune", "--older-than", "0s", "--user", "bob"]);
    assert!(
        !o.status.success() && err(&o).contains("only their own"),
        "{}",
        err(&o)
    );
    let o = as_user(&ann, &["prune", "--older-than", "0s"]);
    assert!(o.status.success(), "{}", err(&o));
    assert!(
        out(&o).contains(&a.to_string()) && !out(&o).contains(&format!("\n{b} ")),
        "{}",
        out(&o)
    );
    assert!(err(&o).contains("would delete these 1 job"), "{}", err(&o));
    assert!(
        d.data().join(format!("jobs/{a}")).exists(),
        "a dry run deletes nothing"
    );
    let o = as_user(&ann, &["prune", "--older-than", "1h", "--yes"]);
    assert!(
        err(&o).contains("no finished jobs older than 1h"),
        "{}",
        err(&o)
    );
    let o = as_user(
        &ann,
        &[
            "prune",
            "--older-than",
            "0s",
            "--state",
            "succeeded",
            "--yes",
        ],
    );
    assert!(
        o.status.success() && err(&o).contains("deleted 1 job"),
        "{}",
        err(&o)
    );
    assert!(!d.data().join(format!("jobs/{a}")).exists());
    let o = as_user(&ann, &["status", &a.to_string()]);
    assert!(!o.status.success(), "its row is gone too");
    assert_eq!(d.job(b)["state"], "succeeded", "bob's job stays");
    let o = d.jobo(&["prune", "--older-than", "0s", "--state", "running"]);
    assert!(
        !o.status.success() && err(&o).contains("only finished jobs"),
        "{}",
        err(&o)
    );
    // An admin prunes everyone's.
    let o = d.jobo(&["--json", "prune", "--older-than", "0s", "--force"]);
    let pruned: Value = serde_json::from_slice(&o.stdout).expect("json");
    assert_eq!(pruned["dry_run"], false);
    assert_eq!(pruned["jobs"][0]["id"], b);
    // The newest job's row is gone, not its id: the next job does not take it.
    let next = d.submit(&dir, "example");
    assert!(next > b, "job {next} took the id of pruned job {b}");
}

#[test]
fn array_jobs_see_their_index_on_a_node_and_wait_for_a_node_in_words() {
    let d = Daemon::builder()
        .config("[local_worker]\nenabled = false\n[services.example]\n")
        .start();
    let dir = job_dir(
        &d.root().join("jobs"),
        "arr",
        &[("run.sh", "echo \"index=$JOBO_ARRAY_INDEX\" > out.txt\n")],
    );
    let first = submit_with(&d, &dir, &["--array", "1-2"]);
    let job = d.job(first);
    assert!(
        job["wait_reason"]
            .as_str()
            .is_some_and(|r| r.contains("no node for service example")),
        "{job}"
    );
    let w = Worker::start(&["--slots", "2"]);
    let token = w.token_file();
    d.jobo_ok(&[
        "node",
        "add",
        &w.url(),
        "-s",
        "example",
        "--token-file",
        token.to_str().expect("utf-8"),
    ]);
    for (i, id) in (first..first + 2).enumerate() {
        let job = d.wait(id);
        assert_eq!(job["state"], "succeeded", "{job}\n{}", d.log());
        assert!(job["node"].as_str().is_some_and(|n| n != "local"), "{job}");
        d.jobo_ok(&["fetch", &id.to_string(), "-o", &format!("r{id}")]);
        let text = std::fs::read_to_string(d.work().join(format!("r{id}/out.txt"))).expect("out");
        assert_eq!(text, format!("index={}\n", 1 + i));
    }
}

/// Runs `script` in `shell` from the repository root, with this build's `jobo` first on PATH
/// and `d` as its server; returns stdout.
fn in_shell(shell: &str, d: &Daemon, script: &str) -> String {
    let bin = Path::new(JOBO).parent().expect("bin dir");
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut cmd = std::process::Command::new(shell);
    if shell == "bash" {
        cmd.args(["--norc", "--noprofile"]);
    }
    let o = cmd
        .args(["-c", script])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("PATH", path)
        .env("JOBO_HOST", d.host())
        .output()
        .expect("shell");
    assert!(o.status.success(), "{shell}: {script}: {}", err(&o));
    out(&o)
}

/// What bash's <Tab> offers after `line` (ending with the word being completed).
fn bash_complete(d: &Daemon, line: &str) -> Vec<String> {
    let words: Vec<&str> = line.split(' ').collect();
    let script = format!(
        "source completions/jobo.bash
         COMP_WORDS=({line}); COMP_CWORD={cword}; COMP_LINE='{line}'; COMP_POINT=${{#COMP_LINE}}
         _clap_complete_jobo jobo '{cur}' '{prev}'
         printf '%s\\n' \"${{COMPREPLY[@]}}\"",
        cword = words.len() - 1,
        cur = words[words.len() - 1],
        prev = words[words.len() - 2],
    );
    in_shell("bash", d, &script)
        .lines()
        .map(|l| l.trim().to_string())
        .collect()
}

#[test]
fn completion_offers_live_job_ids_services_and_nodes() {
    let d = Daemon::start();
    let id = submit_with(&d, &echo_job(&d, "c", "c"), &["--name", "findme"]);
    d.wait(id);
    let other = submit_with(&d, &echo_job(&d, "o", "o"), &[]);
    d.wait(other);
    d.jobo_ok(&[
        "node",
        "add",
        "http://127.0.0.1:9",
        "-s",
        "example",
        "--name",
        "gpu-box",
        "--protocol",
        "seed",
    ]);
    let ids = bash_complete(&d, "jobo status ");
    assert!(
        ids.contains(&id.to_string()) && ids.contains(&other.to_string()),
        "{ids:?}"
    );
    let ids = bash_complete(
        &d,
        &format!("jobo logs -f {other} {}", &id.to_string()[..1]),
    );
    assert!(ids.contains(&id.to_string()), "{ids:?}");
    assert_eq!(bash_complete(&d, "jobo submit . -s ex"), ["example"]);
    assert_eq!(bash_complete(&d, "jobo node drain gpu"), ["gpu-box"]);
    // Static parts still complete; a server that does not answer offers nothing, quickly.
    assert_eq!(bash_complete(&d, "jobo pru"), ["prune"]);

    if std::process::Command::new("fish")
        .arg("--version")
        .output()
        .is_ok()
    {
        let offered = in_shell(
            "fish",
            &d,
            "source completions/jobo.fish; complete -C 'jobo status '",
        );
        assert!(
            offered
                .lines()
                .any(|l| l.starts_with(&format!("{id}\t")) && l.contains("findme")),
            "fish: {offered}"
        );
        let offered = in_shell(
            "fish",
            &d,
            "source completions/jobo.fish; complete -C 'jobo submit . --service '",
        );
        assert!(offered.lines().any(|l| l == "example"), "fish: {offered}");
    } else {
        eprintln!("fish is not installed: its completion is not checked here");
    }
    if std::process::Command::new("zsh")
        .arg("--version")
        .output()
        .is_ok()
    {
        // zsh completes only in its line editor: check the script loads, and the call it makes.
        let offered = in_shell(
            "zsh",
            &d,
            "autoload -U compinit && compinit -u -D && source completions/_jobo && \
             whence -w _clap_dynamic_completer_jobo >/dev/null && \
             _CLAP_IFS=$'\\n' _CLAP_COMPLETE_INDEX=2 COMPLETE=zsh jobo -- jobo status ''",
        );
        assert!(
            offered.lines().any(|l| l.starts_with(&format!("{id}:"))),
            "zsh: {offered}"
        );
    } else {
        eprintln!("zsh is not installed: its completion is not checked here");
    }
}
