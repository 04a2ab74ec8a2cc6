//! Which server `jobo` talks to: `--host`, then `JOBO_HOST`, then the system
//! socket if one exists, then the per-user socket, starting a per-user `jobod` in the
//! background when nothing answers there. An explicit host is never autostarted.

use crate::client::{Client, Endpoint};
use crate::paths;
use anyhow::Context;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

pub async fn client(host: Option<&str>) -> anyhow::Result<Client> {
    let user = paths::user_name(paths::uid());
    if let Some(host) = host {
        return Ok(Client::new(Endpoint::parse(host)?, user));
    }
    let system = paths::default_socket(true);
    if system.exists() {
        return Ok(Client::new(Endpoint::Unix(system), user));
    }
    let socket = paths::default_socket(false);
    if tokio::net::UnixStream::connect(&socket).await.is_err() {
        autostart(&socket).await?;
    }
    Ok(Client::new(Endpoint::Unix(socket), user))
}

/// `jobod` next to this executable (as installed and in `target/`), else from PATH.
fn jobod_binary() -> PathBuf {
    std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(|dir| dir.join("jobod")))
        .filter(|p| p.is_file())
        .unwrap_or_else(|| PathBuf::from("jobod"))
}

async fn autostart(socket: &Path) -> anyhow::Result<()> {
    let data = paths::default_data_dir(false);
    std::fs::create_dir_all(&data).with_context(|| format!("cannot create {}", data.display()))?;
    let log_path = paths::DataDir::new(&data).log_file();
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&log_path)
        .with_context(|| format!("cannot open {}", log_path.display()))?;
    let bin = jobod_binary();
    let mut child = std::process::Command::new(&bin)
        .args(["serve", "--user", "--socket"])
        .arg(socket)
        .arg("--data-dir")
        .arg(&data)
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log)
        // Its own process group, so the terminal's Ctrl-C does not reach the daemon.
        .process_group(0)
        .spawn()
        .with_context(|| {
            format!(
                "no jobod answers on {} and starting {} failed",
                socket.display(),
                bin.display()
            )
        })?;
    eprintln!(
        "jobo: started jobod in the background (socket {}, log {})",
        socket.display(),
        log_path.display()
    );
    // Start-up takes milliseconds; back off from 2 ms up to 100 ms, for at most 10 s.
    let mut pause = Duration::from_millis(2);
    for _ in 0..200 {
        if tokio::net::UnixStream::connect(socket).await.is_ok() {
            return Ok(());
        }
        if let Ok(Some(status)) = child.try_wait() {
            anyhow::bail!(
                "jobod exited during start-up ({status}); see {}",
                log_path.display()
            );
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(Duration::from_millis(100));
    }
    anyhow::bail!(
        "jobod did not open {} within 10 s; see {}",
        socket.display(),
        log_path.display()
    )
}
