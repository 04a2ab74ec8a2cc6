//! How the CLI shows things: tables, job details, sizes, times and JSON (progress bars are in
//! `progress.rs`).

use crate::api::{Enforced, Job, Limits, Mechanism, NetworkIsolation, Node, Token};
use crate::limits::size;
use crate::store::now_ms;
use comfy_table::{Table, presets};
use serde::Serialize;
use std::time::{Duration, UNIX_EPOCH};

/// `println!` for the CLI's results: when the reader went away (`jobo status | head -3`), jobo
/// ends quietly with exit 0, as other Unix tools do, instead of panicking; another error
/// writing stdout (a full disk) ends it with a one-line message and exit 1.
macro_rules! outln {
    ($($arg:tt)*) => { $crate::cli::output::write_stdout(&format!("{}\n", format_args!($($arg)*))) };
}
pub(crate) use outln;

/// Writes `text` to stdout as [`outln!`] says.
pub fn write_stdout(text: &str) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    if let Err(e) = out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(0);
        }
        eprintln!("jobo: error: cannot write to stdout: {e}");
        std::process::exit(1);
    }
}

/// What an asynchronous copy to stdout or stderr (`jobo logs`) returns when its reader went
/// away: `main` ends quietly with exit 0 on it.
#[derive(Debug, thiserror::Error)]
#[error("the output's reader went away")]
pub struct OutputClosed;

pub fn print_json<T: Serialize>(value: &T) -> anyhow::Result<()> {
    outln!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}

pub fn timestamp(ms: i64) -> String {
    let t = UNIX_EPOCH + Duration::from_millis(ms.max(0) as u64);
    humantime::format_rfc3339_seconds(t).to_string()
}

/// "3m ago", at a resolution that suits a table.
pub fn ago(ms: i64) -> String {
    let secs = ((now_ms() - ms).max(0) / 1000) as u64;
    let rounded = match secs {
        0..60 => secs,
        60..3600 => secs / 60 * 60,
        3600..86400 => secs / 3600 * 3600,
        _ => secs / 86400 * 86400,
    };
    format!(
        "{} ago",
        humantime::format_duration(Duration::from_secs(rounded))
    )
}

pub fn runtime(job: &Job) -> Option<String> {
    let start = job.started_at?;
    let end = job.finished_at.unwrap_or_else(now_ms);
    Some(short_duration((end - start).max(0) as u64))
}

/// A duration as a table shows it, two units at most: `0.4s`, `20.1s`, `3m 05s`, `1h 02m`,
/// `2d 03h`.
pub fn short_duration(ms: u64) -> String {
    let secs = ms / 1000;
    match secs {
        0..60 => format!("{:.1}s", ms as f64 / 1000.0),
        60..3600 => format!("{}m {:02}s", secs / 60, secs % 60),
        3600..86400 => format!("{}h {:02}m", secs / 3600, secs % 3600 / 60),
        _ => format!("{}d {:02}h", secs / 86400, secs % 86400 / 3600),
    }
}

pub fn table() -> Table {
    let mut t = Table::new();
    t.load_style(presets::NOTHING);
    t
}

pub fn nodes_table(nodes: &[Node]) -> String {
    let mut t = table();
    t.set_header([
        "ID",
        "NAME",
        "URL",
        "BACKEND",
        "SERVICES",
        "SLOTS",
        "FREE",
        "HOST CPU",
        "HOST MEMORY",
        "STATE",
        "LAST HEARTBEAT",
        "DONE",
    ]);
    for n in nodes {
        t.add_row([
            n.id.to_string(),
            n.name.clone(),
            n.url.clone(),
            n.backend.as_str().to_string(),
            if n.services.is_empty() {
                "*".into()
            } else {
                n.services.join(",")
            },
            format!("{}/{}", n.used, n.slots),
            n.free_slots.to_string(),
            n.host
                .map(|h| h.cpu_percent)
                .or(n.load)
                .map_or("-".into(), |l| format!("{l:.0}%")),
            n.host.map_or("-".into(), |h| {
                format!(
                    "{} / {}",
                    size::format(h.memory_used_bytes),
                    size::format(h.memory_total_bytes)
                )
            }),
            n.state.as_str().to_string(),
            n.last_heartbeat.map_or("-".into(), ago),
            n.jobs_done.to_string(),
        ]);
    }
    t.trim_fmt()
}

pub fn tokens_table(tokens: &[Token]) -> String {
    let mut t = table();
    t.set_header(["ID", "USER", "ROLE", "CREATED", "EXPIRES", "STATE"]);
    let now = now_ms();
    for k in tokens {
        let state = match (k.revoked, k.expires) {
            (Some(_), _) => "revoked",
            (None, Some(e)) if e <= now => "expired",
            _ => "active",
        };
        t.add_row([
            k.id.to_string(),
            k.user.clone(),
            k.role.as_str().to_string(),
            timestamp(k.created),
            k.expires.map_or("never".into(), timestamp),
            state.to_string(),
        ]);
    }
    t.trim_fmt()
}

/// A job's requested limits, each saying whether and how its last run was held to it.
fn requested_limits(l: &Limits, e: &Enforced, ran: bool) -> String {
    let how = |m: Option<Mechanism>| match (m, ran) {
        (Some(m), _) => format!("enforced, {m}"),
        (None, true) => "not enforced here".into(),
        (None, false) => "requested".into(),
    };
    let timeout = l.timeout_secs.map_or("none".into(), |s| {
        format!(
            "{} ({})",
            humantime::format_duration(Duration::from_secs(s)),
            if ran && !e.timeout {
                "not enforced"
            } else {
                "enforced"
            }
        )
    });
    let mut parts = vec![format!("timeout {timeout}")];
    parts.extend(
        [
            l.memory_bytes
                .map(|m| format!("memory {} ({})", size::format(m), how(e.memory))),
            l.cpus.map(|c| format!("cpus {c} ({})", how(e.cpus))),
            l.pids.map(|p| format!("pids {p} ({})", how(e.pids))),
        ]
        .into_iter()
        .flatten(),
    );
    if let Some(cap) = l.output_bytes {
        parts.push(format!("output {} (checked at the end)", size::format(cap)));
    }
    parts.join("; ")
}

/// What ends the whole job: its cgroup, or only its process group.
fn kill(j: &Job) -> String {
    match (j.enforced.kill, j.started_at.is_some()) {
        (Some(m), _) => format!("every process of its cgroup ({m})"),
        (None, true) => "its process group only".into(),
        (None, false) => "-".into(),
    }
}

/// The network its last run had: `network = "none"` of its service, and whether that held.
fn network(j: &Job) -> String {
    match (j.enforced.network, j.started_at.is_some()) {
        (Some(NetworkIsolation::Namespace), _) => {
            "none (enforced, a network namespace of its own)".into()
        }
        (Some(NetworkIsolation::NotApplied), _) => {
            "the host's: network = \"none\" not enforced where it ran".into()
        }
        (None, true) => "the host's".into(),
        (None, false) => "-".into(),
    }
}

fn env(vars: &crate::jobenv::Vars) -> String {
    if vars.is_empty() {
        return "-".into();
    }
    let pairs: Vec<String> = vars.iter().map(|(k, v)| format!("{k}={v}")).collect();
    pairs.join(" ")
}

/// `123 PENDING (Resources)`: a job's Slurm job as `jobo status` shows it.
fn slurm_job(s: &crate::protocol::SlurmJob) -> String {
    match &s.reason {
        Some(r) => format!("{} {} ({r})", s.id, s.state),
        None => format!("{} {}", s.id, s.state),
    }
}

pub fn job_detail(j: &Job) -> String {
    let opt = |v: Option<String>| v.unwrap_or_else(|| "-".into());
    let mut t = table();
    let rows = [
        ("id", j.id.to_string()),
        ("state", j.state.to_string()),
        ("user", j.user.clone()),
        ("runs as", opt(j.run_as.clone())),
        ("service", j.service.clone()),
        ("node", opt(j.node.as_ref().map(ToString::to_string))),
        ("slurm job", opt(j.slurm.as_ref().map(slurm_job))),
        ("priority", j.priority.to_string()),
        ("attempts", j.attempts.to_string()),
        ("submitted", timestamp(j.submitted_at)),
        ("started", opt(j.started_at.map(timestamp))),
        ("finished", opt(j.finished_at.map(timestamp))),
        ("runtime", opt(runtime(j))),
        ("exit code", opt(j.exit_code.map(|c| c.to_string()))),
        ("reason", opt(j.reason.clone())),
        ("input", size::format(j.input_bytes)),
        ("output", opt(j.output_bytes.map(size::format))),
        (
            "limits",
            requested_limits(&j.requested_limits, &j.enforced, j.started_at.is_some()),
        ),
        ("killed by", kill(j)),
        ("network", network(j)),
        (
            "peak memory",
            opt(j.usage.peak_memory_bytes.map(size::format)),
        ),
        (
            "cpu time",
            opt(j
                .usage
                .cpu_ms
                .map(|ms| format!("{:.2} s", ms as f64 / 1000.0))),
        ),
        ("env", env(&j.env)),
    ];
    let m = &j.meta;
    let ids = |ids: &[i64]| {
        let ids: Vec<String> = ids.iter().map(ToString::to_string).collect();
        ids.join(", ")
    };
    let labels: Vec<String> = m.labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
    // What users named and linked it by, only where set.
    let extra = [
        ("name", m.name.clone()),
        ("labels", (!labels.is_empty()).then(|| labels.join(" "))),
        ("command", m.command.clone()),
        ("restarted from", m.restarted_from.map(|id| id.to_string())),
        ("after", (!m.after.is_empty()).then(|| ids(&m.after))),
        (
            "array",
            m.array_id
                .map(|a| format!("{a}, index {}", m.array_index.unwrap_or(0))),
        ),
        ("queue position", m.queue_position.map(|p| p.to_string())),
        ("waiting for", m.wait_reason.clone()),
    ];
    let extra = extra.into_iter().filter_map(|(k, v)| v.map(|v| (k, v)));
    let (head, tail) = rows.split_at(2);
    for (k, v) in head
        .iter()
        .cloned()
        .chain(extra)
        .chain(tail.iter().cloned())
    {
        t.add_row([format!("{k}:"), v]);
    }
    // Not padded to the widest value: off a terminal nothing wraps, so that is every line.
    t.trim_fmt()
}
