//! `jobo system info|stop`: what the server is, and stopping it.

use super::SystemCommand;
use super::output::outln;
use super::output::{ago, print_json, timestamp};
use crate::api::{Route, SystemInfo};
use crate::client::Client;
use std::time::Duration;

pub async fn run(client: &Client, cmd: SystemCommand, json: bool) -> anyhow::Result<i32> {
    match cmd {
        SystemCommand::Info => {
            let info: SystemInfo = client.route(&Route::System).await?;
            if json {
                print_json(&info)?;
            } else {
                super::output::write_stdout(&describe(&info));
            }
            Ok(0)
        }
        SystemCommand::Stop => {
            let info: SystemInfo = client.route(&Route::Stop).await?;
            // Gone once it no longer answers: its socket is closed before it exits.
            let deadline = std::time::Instant::now() + Duration::from_secs(60);
            while client.route::<SystemInfo>(&Route::System).await.is_ok() {
                anyhow::ensure!(
                    std::time::Instant::now() < deadline,
                    "jobod (pid {}) still answers a minute after it was asked to stop",
                    info.pid
                );
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            if json {
                print_json(&info)?;
            } else {
                outln!("jobod (pid {}) stopped", info.pid);
            }
            Ok(0)
        }
    }
}

/// Fails unless a jobod answers on the socket `jobo` would use (so `stop` starts none).
pub async fn ensure_running() -> anyhow::Result<()> {
    let sockets = [
        crate::paths::default_socket(true),
        crate::paths::default_socket(false),
    ];
    for socket in &sockets {
        if tokio::net::UnixStream::connect(socket).await.is_ok() {
            return Ok(());
        }
    }
    anyhow::bail!(
        "no jobod is running (no answer on {} or {})",
        sockets[0].display(),
        sockets[1].display()
    )
}

fn describe(i: &SystemInfo) -> String {
    let or = |v: &Option<String>, none: &str| v.clone().unwrap_or_else(|| none.to_string());
    let rows = [
        ("version", i.version.clone()),
        ("mode", i.mode.clone()),
        ("pid", i.pid.to_string()),
        (
            "started",
            format!("{} ({})", timestamp(i.started_at), ago(i.started_at)),
        ),
        ("data dir", i.data_dir.clone()),
        ("config", or(&i.config_file, "built-in default")),
        ("socket", i.socket.clone()),
        ("listen", or(&i.listen, "-")),
        ("seed listen", or(&i.seed_listen, "-")),
        ("jobs run as", i.jobs_run_as.clone()),
        ("enforces", i.enforces.join("; ")),
        ("local slots", i.local_slots.to_string()),
        (
            "nodes",
            format!("{} ({} healthy)", i.nodes, i.healthy_nodes),
        ),
        ("services", i.services.join(", ")),
        (
            "you",
            format!("{}{}", i.caller, if i.admin { " (admin)" } else { "" }),
        ),
    ];
    rows.iter()
        .map(|(k, v)| format!("{:<12} {v}\n", format!("{k}:")))
        .collect()
}
