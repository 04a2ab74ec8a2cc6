//! What the `jobo` process itself costs: wall time of whole processes, started as a shell
//! starts them, the commands interleaved round by round (the machine is shared: medians).
//!
//! - `jobo --version` (the floor: exec, dynamic loading, argument parsing);
//! - `jobo submit` of a directory with one small file (`run.sh` = `true`), its job then
//!   waited for, untimed, so that it does not run during the next command;
//! - `jobo submit --wait` of that job (submit, the server runs it, the answer printed);
//! - `bash run.sh` of the same script (what the job itself costs, run by hand).
//!
//! The server is a `jobod serve --user` on the bench's socket (`JOBO_HOST`). Wall time depends
//! on the load of the machine; the instruction counts (callgrind, when valgrind is installed)
//! do not: they are counted for one run of each `jobo` command, the process alone. Nor does
//! the other side's count: the system calls of jobod and the job it runs per `submit --wait`
//! (`strace -f -c` attached to jobod for [`TRACED_JOBS`] jobs, when strace is installed).

use crate::jobs::{ms, quantile};
use crate::procs::{Daemon, JOBO};
use crate::{Report, Res, Sizes, verdict};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Targets: `jobo submit` against `jobo --version`, `jobo submit --wait` against `bash run.sh`.
const SUBMIT_TARGET: f64 = 2.0;
const WAIT_TARGET: f64 = 2.5;
/// Jobs run under strace for the server's system calls per job.
const TRACED_JOBS: u32 = 50;

/// The commands timed, in the order of each round.
const COMMANDS: [&str; 4] = [
    "jobo --version",
    "jobo submit DIR",
    "jobo submit --wait DIR",
    "bash run.sh",
];

fn command(which: usize, host: &str, dir: &Path) -> Command {
    let jobo = |args: &[&str]| {
        let mut c = Command::new(JOBO);
        c.env("JOBO_HOST", host).args(args);
        c
    };
    let mut c = match which {
        0 => jobo(&["--version"]),
        1 => jobo(&["submit", "--service", "example"]),
        2 => jobo(&["submit", "--wait", "--service", "example"]),
        _ => {
            let mut c = Command::new("bash");
            c.arg("run.sh").current_dir(dir);
            c
        }
    };
    if which == 1 || which == 2 {
        c.arg(dir);
    }
    c.stdin(Stdio::null())
        .stderr(Stdio::null())
        .stdout(Stdio::null());
    c
}

/// `jobo wait --all`: until every job submitted so far has ended.
fn settle(host: &str) -> Command {
    let mut c = Command::new(JOBO);
    c.env("JOBO_HOST", host)
        .args(["wait", "--all"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    c
}

fn wall(mut cmd: Command) -> Res<Duration> {
    let t = Instant::now();
    let status = cmd.status()?;
    let took = t.elapsed();
    if !status.success() {
        return Err(format!("{cmd:?}: {status}").into());
    }
    Ok(took)
}

/// Instructions run by `cmd` (its process alone), as callgrind counts them; `None` without
/// valgrind.
fn instructions(cmd: &Command) -> Option<u64> {
    let out = Command::new("valgrind")
        .args(["--tool=callgrind", "--callgrind-out-file=/dev/null"])
        .arg(cmd.get_program())
        .args(cmd.get_args())
        .envs(
            cmd.get_envs()
                .filter_map(|(k, v)| v.map(|v| (k.to_owned(), v.to_owned()))),
        )
        .current_dir(cmd.get_current_dir().unwrap_or(Path::new(".")))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&out.stderr);
    let line = text.lines().find(|l| l.contains("Collected :"))?;
    line.rsplit(':').next()?.trim().parse().ok()
}

pub async fn cli(sizes: &Sizes, r: &mut Report) -> Res<()> {
    // A round takes ~12 ms; on a shared 2-core VM medians of 41 moved by ±5% run to run.
    let rounds = if sizes.quick { 11 } else { 201 };
    let d = Daemon::new(Some("[services.example]\n"))?.start()?;
    let host = d.host();
    let dir = d.root().join("job");
    std::fs::create_dir_all(&dir)?;
    std::fs::write(dir.join("run.sh"), "true\n")?;
    // A job of a root jobod runs as jobo-run, which must read it.
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755))?;
    std::fs::set_permissions(dir.join("run.sh"), std::fs::Permissions::from_mode(0o644))?;

    // Each command is timed on a machine with nothing left to do from the one before: a
    // plain submit's job is waited for (untimed), or it would run during the next command.
    let timed = |which: usize| -> Res<Duration> {
        let took = wall(command(which, &host, &dir))?;
        if which == 1 {
            wall(settle(&host))?;
        }
        Ok(took)
    };
    // One untimed round: the page cache, the server's first job.
    for which in 0..COMMANDS.len() {
        timed(which)?;
    }
    let mut times: Vec<Vec<Duration>> = vec![Vec::with_capacity(rounds); COMMANDS.len()];
    for _ in 0..rounds {
        for (which, t) in times.iter_mut().enumerate() {
            t.push(timed(which)?);
        }
    }
    let p50: Vec<f64> = times
        .iter_mut()
        .map(|t| {
            t.sort();
            ms(quantile(t, 0.5))
        })
        .collect();
    let submit = p50[1] / p50[0];
    let wait = p50[2] / p50[3];
    r.row(
        format!("jobo submit / jobo --version (wall, median of {rounds})"),
        format!("{submit:.2}×"),
        format!("≤ {SUBMIT_TARGET}×"),
        verdict(submit <= SUBMIT_TARGET),
    );
    r.row(
        format!("jobo submit --wait / bash run.sh (wall, median of {rounds})"),
        format!("{wait:.2}×"),
        format!("≤ {WAIT_TARGET}×"),
        verdict(wait <= WAIT_TARGET),
    );
    let spread = |t: &[Duration]| format!("{:.2}-{:.2}", ms(t[0]), ms(quantile(t, 0.9)));
    let walls: Vec<String> = COMMANDS
        .iter()
        .zip(&p50)
        .zip(&times)
        .map(|((c, p), t)| format!("{c} {p:.2} ms (min-p90 {})", spread(t)))
        .collect();
    r.detail(format!(
        "cli wall time, medians of {rounds} interleaved rounds: {}",
        walls.join(", ")
    ));
    // What jobo and jobod add beyond the two processes any `submit --wait` starts (jobo
    // itself, at least `--version`'s cost, and the job's bash): the part this code owns.
    let floor = p50[0] + p50[3];
    r.detail(format!(
        "cli: submit --wait beyond jobo --version + bash run.sh: {:.2} ms (that floor alone \
         is {:.2}× bash run.sh)",
        p50[2] - floor,
        floor / p50[3]
    ));
    let counted: Vec<String> = (0..3)
        .filter_map(|which| {
            instructions(&command(which, &host, &dir))
                .map(|n| format!("{} {:.2} M", COMMANDS[which], n as f64 / 1e6))
        })
        .collect();
    r.detail(if counted.is_empty() {
        "cli instructions: not counted (no valgrind)".to_string()
    } else {
        format!(
            "cli instructions (callgrind, the jobo process alone): {}",
            counted.join(", ")
        )
    });
    r.detail(match d.pid() {
        Some(pid) => server_syscalls(pid, &host, &dir)?,
        None => "server system calls: not counted (no jobod pid)".to_string(),
    });
    Ok(())
}

/// System calls of jobod `pid` and its jobs per `jobo submit --wait` of `dir`: `strace -f -c`
/// attached for [`TRACED_JOBS`] jobs; the total and the most frequent calls.
fn server_syscalls(pid: u32, host: &str, dir: &Path) -> Res<String> {
    use std::io::BufRead;
    let out = std::env::temp_dir().join(format!("jobo-bench-strace-{pid}.txt"));
    let strace = Command::new("strace")
        .args(["-f", "-c", "-o"])
        .arg(&out)
        .args(["-p", &pid.to_string()])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn();
    let Ok(mut strace) = strace else {
        return Ok("server system calls: not counted (no strace)".to_string());
    };
    // Attached once it says so for jobod's threads.
    let mut said = std::io::BufReader::new(strace.stderr.take().ok_or("strace stderr")?);
    let (mut line, mut last) = (String::new(), String::new());
    while !line.contains("attached") {
        if !line.trim().is_empty() {
            last = line.trim().to_string();
        }
        line.clear();
        if said.read_line(&mut line)? == 0 {
            let _ = strace.wait();
            return Ok(format!(
                "server system calls: not counted (strace did not attach: {last})"
            ));
        }
    }
    // The rest of its stderr is not read: it says one line per attach, far under a pipe's room.
    let traced = (0..TRACED_JOBS).try_for_each(|_| wall(command(2, host, dir)).map(|_| ()));
    // SAFETY: kill with the pid of our own child; SIGINT makes strace detach and summarise.
    unsafe { libc::kill(strace.id() as i32, libc::SIGINT) };
    strace.wait()?;
    traced?;
    let summary = std::fs::read_to_string(&out)?;
    let _ = std::fs::remove_file(&out);
    // Rows: % time, seconds, usecs/call, calls, [errors,] syscall; the last one is "total".
    let mut rows: Vec<(u64, String)> = summary
        .lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            let name = f.last()?.to_string();
            let calls = f.get(3)?.parse().ok()?;
            Some((calls, name))
        })
        .collect();
    let total = rows
        .iter()
        .find(|(_, n)| n == "total")
        .map(|(c, _)| *c)
        .ok_or_else(|| format!("no total in strace's summary:\n{summary}"))?;
    rows.retain(|(_, n)| n != "total");
    rows.sort_by_key(|r| std::cmp::Reverse(r.0));
    let per_job = |calls: u64| calls as f64 / f64::from(TRACED_JOBS);
    let top: Vec<String> = rows
        .iter()
        .take(8)
        .map(|(c, n)| format!("{n} {:.0}", per_job(*c)))
        .collect();
    Ok(format!(
        "server system calls per submit --wait (strace -f -c of jobod and its jobs, {TRACED_JOBS} \
         jobs): {:.0}; most: {}",
        per_job(total),
        top.join(", ")
    ))
}
