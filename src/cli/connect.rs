//! Which server `jobo` talks to: `--host`, then `JOBO_HOST`, then the system
//! socket if one exists, then the per-user socket, then the socket that the per-user data dir
//! says its running `jobod` listens on (it may have been started with another
//! `XDG_RUNTIME_DIR`), starting a per-user `jobod` in the background when nothing answers
//! there. An explicit host is never autostarted.
//!
//! On an `http://` or `https://` host the caller is whoever its API token says: `--token`,
//! then `JOBO_TOKEN` (clap reads both), then the first line of `$XDG_CONFIG_HOME/jobo/token`.
//! On the socket the kernel tells the server who the caller is, so no token is sent there.
//! An `https://` host's certificate must be signed by the `--ca-cert` CA (`JOBO_CA_CERT`), or
//! without one by a CA the system trusts; the TLS settings are loaded only for such a host.

use crate::client::{Client, Endpoint};
use crate::paths;
use crate::tls::ClientTls;
use anyhow::Context;
use std::os::unix::ffi::OsStringExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

pub async fn client(
    host: Option<&str>,
    token: Option<String>,
    ca_cert: Option<&Path>,
) -> anyhow::Result<Client> {
    if let Some(host) = host {
        let endpoint = Endpoint::parse(host)?;
        if endpoint.authority().is_none() {
            return Ok(Client::new(endpoint));
        }
        let token = match token.filter(|t| !t.trim().is_empty()) {
            Some(t) => Some(t.trim().to_string()),
            None => token_file()?,
        };
        let mut client = Client::new(endpoint.clone()).with_token(token);
        if matches!(endpoint, Endpoint::Https(_)) {
            client = client.with_tls(ClientTls::for_cli(ca_cert)?);
        }
        return Ok(client);
    }
    let system = paths::default_socket(true);
    if system.exists() {
        return Ok(Client::new(Endpoint::Unix(system)));
    }
    let socket = paths::default_socket(false);
    if tokio::net::UnixStream::connect(&socket).await.is_ok() {
        return Ok(Client::new(Endpoint::Unix(socket)));
    }
    if let Some(running) = socket_of_running(&socket).await {
        return Ok(Client::new(Endpoint::Unix(running)));
    }
    let data = paths::DataDir::new(paths::default_data_dir(false));
    if crate::host::data_dir_locked(&data) {
        // Starting another would only fail on the lock.
        anyhow::bail!(
            "a jobod runs on {} but answers on no socket jobo knows ({}); set JOBO_HOST to its \
             socket (unix://PATH), or stop it",
            data.root().display(),
            socket.display()
        );
    }
    autostart(&socket).await?;
    Ok(Client::new(Endpoint::Unix(socket)))
}

/// The socket of the per-user jobod already running on the default data dir, when it is not
/// `default` (it was started where `XDG_RUNTIME_DIR` named another runtime dir, or none): its
/// data dir's socket file names it. Starting a second jobod there would only fail on the lock.
async fn socket_of_running(default: &Path) -> Option<PathBuf> {
    let data = paths::DataDir::new(paths::default_data_dir(false));
    let named = std::fs::read(data.socket_file()).ok()?;
    let path = PathBuf::from(std::ffi::OsString::from_vec(named));
    if path == default || !path.is_absolute() {
        return None;
    }
    tokio::net::UnixStream::connect(&path).await.ok()?;
    Some(path)
}

/// The token in `$XDG_CONFIG_HOME/jobo/token` (`~/.config/jobo/token`), if that file
/// exists; a file that exists but cannot be read or is empty is an error, not "no token".
fn token_file() -> anyhow::Result<Option<String>> {
    let config = match std::env::var_os("XDG_CONFIG_HOME").filter(|d| !d.is_empty()) {
        Some(dir) => PathBuf::from(dir),
        None => match std::env::var_os("HOME").filter(|d| !d.is_empty()) {
            Some(home) => PathBuf::from(home).join(".config"),
            None => return Ok(None),
        },
    };
    let path = config.join("jobo").join("token");
    match std::fs::read_to_string(&path) {
        Ok(text) => {
            let token = text.lines().next().unwrap_or("").trim();
            anyhow::ensure!(
                !token.is_empty(),
                "the token file {} is empty (put the token on its first line)",
                path.display()
            );
            Ok(Some(token.to_string()))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e).with_context(|| format!("cannot read the token file {}", path.display())),
    }
}

/// The `jobod` to autostart: the one next to this `jobo` first (an install puts both in one
/// directory and `cargo build` puts both in `target/<profile>/`, so a `jobo` from a build tree
/// starts the `jobod` of the same build, not an older one on PATH), then the first on PATH.
/// When there is none, the error names every place looked in and how to get one, because
/// "No such file or directory" alone does not tell a newcomer what is missing.
fn find_jobod(socket: &Path) -> anyhow::Result<PathBuf> {
    let exe_dir = std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(Path::to_path_buf));
    let path_dirs: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|p| {
            std::env::split_paths(&p)
                .filter(|d| !d.as_os_str().is_empty())
                .collect()
        })
        .unwrap_or_default();
    let candidates = exe_dir
        .iter()
        .chain(&path_dirs)
        .map(|dir| dir.join("jobod"));
    for candidate in candidates {
        if is_executable(&candidate) {
            return Ok(candidate);
        }
    }
    let next_to = exe_dir.as_ref().map_or_else(
        || "next to jobo (its path is unknown)".to_string(),
        |dir| dir.join("jobod").display().to_string(),
    );
    let path = std::env::join_paths(&path_dirs)
        .map(|p| p.to_string_lossy().into_owned())
        .unwrap_or_default();
    anyhow::bail!(
        "no jobod answers on {} and there is no jobod to start: looked for {next_to}, then in PATH ({path}); {}",
        socket.display(),
        how_to_get_jobod(exe_dir.as_deref())
    )
}

/// The command that puts a `jobod` where [`find_jobod`] looks. A `jobo` inside a cargo target
/// dir (`…/target/release/jobo`, as `cargo run --bin jobo` builds it) needs the same profile's
/// build of both binaries; anywhere else, an install of both.
fn how_to_get_jobod(exe_dir: Option<&Path>) -> String {
    let profile = exe_dir
        .filter(|dir| dir.parent().and_then(Path::file_name) == Some("target".as_ref()))
        .and_then(Path::file_name)
        .and_then(|p| p.to_str());
    match profile {
        Some("release") => "build both binaries with `cargo build --release` in the source tree".into(),
        Some("debug") => "build both binaries with `cargo build` in the source tree".into(),
        Some(other) => {
            format!("build both binaries with `cargo build --profile {other}` in the source tree")
        }
        None => "install it next to jobo or on PATH: `cargo install --locked --path .` from the source tree installs both, or use the .deb or Homebrew package (README: Install)".into(),
    }
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

async fn autostart(socket: &Path) -> anyhow::Result<()> {
    let bin = find_jobod(socket)?;
    let data = paths::default_data_dir(false);
    std::fs::create_dir_all(&data).with_context(|| format!("cannot create {}", data.display()))?;
    let log_path = paths::DataDir::new(&data).log_file();
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&log_path)
        .with_context(|| format!("cannot open {}", log_path.display()))?;
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
        "jobo: started jobod in the background (pid {}, socket {}, log {})",
        child.id(),
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
