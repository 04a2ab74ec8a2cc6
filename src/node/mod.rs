//! `jobod worker`: a worker node. It runs the payloads sent to it in slots, with
//! the same executor as the server's local worker, and serves, behind a node token, the native
//! worker protocol the server speaks ([`crate::protocol`], `/v1/…`) and the seed's client
//! routes (`/submit`, `/retrieve`, `/kill`, `/load`, …). It owns no authoritative state: its
//! payload table is in memory and its payload dirs are emptied at start. With `--backend
//! slurm` (`slurm/`) it hands each payload to Slurm instead, and keeps the payloads whose
//! Slurm jobs it re-attaches to at start. With `--tls-cert` it
//! serves inside TLS, and with `--tls-client-ca` it takes only clients (servers) that show a
//! certificate signed by that CA, on top of the node token.

mod allow;
mod feed;
mod follow;
mod lease;
mod load;
mod native;
mod payloads;
mod routes;
mod run;
mod seed;
mod slurm;

pub use slurm::SlurmOptions;

use crate::config::ServerConfig;
use crate::paths::DataDir;
use crate::tls::ServerTls;
use crate::{host, http, perms, process, run_as};
use allow::Allowed;
use anyhow::Context;
use lease::Lease;
use load::Load;
use payloads::Payloads;
use routes::Node;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

/// Everything `jobod worker` can be told on its command line.
#[derive(Debug, Clone)]
pub struct WorkerOptions {
    pub listen: String,
    pub token_file: PathBuf,
    pub slots: usize,
    pub data_dir: PathBuf,
    pub allow_seed_without_token: bool,
    /// `--cgroups`: payloads in cgroups of their own (src/cgroup/).
    pub cgroups: bool,
    /// `--run-as-allow`: whom a root node may run payloads as (see `allow.rs`).
    pub run_as_allow: Vec<String>,
    /// `--tls-cert` and `--tls-key`: serve inside TLS.
    pub tls: Option<(PathBuf, PathBuf)>,
    /// `--tls-client-ca`: require a client certificate signed by this CA (needs `tls`).
    pub tls_client_ca: Option<PathBuf>,
    /// `--max-upload-bytes`, `--max-upload-entries`: what one payload may be.
    pub max_upload_bytes: u64,
    pub max_upload_entries: u64,
    /// `--backend slurm`: hand every payload to Slurm (`slurm/`) instead of running it here.
    pub slurm: Option<SlurmOptions>,
}

pub async fn serve(opts: WorkerOptions) -> anyhow::Result<()> {
    let token = crate::token::read(&opts.token_file)?;
    perms::warn_if_readable(&opts.token_file, "the node token file");
    let allowed = Allowed::at_start(&opts.run_as_allow)?;
    let tls = match &opts.tls {
        Some((cert, key)) => Some(ServerTls::load(cert, key, opts.tls_client_ca.as_deref())?),
        None => None,
    };
    let data = DataDir::new(opts.data_dir.clone());
    std::fs::create_dir_all(data.root())
        .with_context(|| format!("cannot create data dir {}", data.root().display()))?;
    let _ = perms::set_mode(data.root(), perms::data_dir_mode());
    // Held until exit: a second node on the same dir must not empty our payloads.
    let _lock = host::lock_data_dir(&data)?;
    let stop = host::StopSignal::new()?;
    let shutdown = CancellationToken::new();
    // A Slurm node keeps its payloads: their jobs go on in Slurm, and are re-attached.
    let (slurm, leftovers) = match opts.slurm.clone() {
        Some(o) => {
            let slurm = slurm::Slurm::start(o, &data, shutdown.clone()).await?;
            clean_dir(&data.tmp(), perms::PRIVATE_DIR)?;
            (Some(slurm), slurm::leftovers(&data).await?)
        }
        None => {
            clean_leftovers(&data).await?;
            (None, Vec::new())
        }
    };
    run_as::warn_unreachable(&data.payloads(), &allowed.accounts());
    process::become_subreaper();

    let defaults = ServerConfig::default();
    let slots = opts.slots.max(1);
    let lease = Arc::new(Lease::new());
    let payloads = Payloads::new(
        data.clone(),
        slots,
        defaults.kill_grace,
        lease.clone(),
        slurm,
    );
    payloads.reattach(leftovers);
    // Fencing: the native payloads die before the server may run them elsewhere.
    let fencing = tokio::spawn(lease::watch(
        lease.clone(),
        payloads.clone(),
        shutdown.clone(),
    ));
    let node = Arc::new(Node {
        payloads: payloads.clone(),
        lease,
        token,
        allow_seed_without_token: opts.allow_seed_without_token,
        allowed,
        limits: http::upload::UploadLimits {
            bytes: opts.max_upload_bytes,
            entries: opts.max_upload_entries,
            ..http::upload::UploadLimits::new(&defaults)
        },
        tmp: data.tmp(),
        load: Load::start(shutdown.clone()),
        shutdown: shutdown.clone(),
    });
    if opts.allow_seed_without_token {
        tracing::warn!(
            "!!! --allow-seed-without-token: ANYONE who can reach {} can submit and run \
             payloads on this node without a token. Use it only on a private network. !!!",
            opts.listen
        );
    }

    let listener = TcpListener::bind(&opts.listen)
        .await
        .with_context(|| format!("cannot listen on {}", opts.listen))?;
    let bound = listener.local_addr()?;
    write_atomically(&data.worker_addr_file(), bound.to_string().as_bytes())?;
    let scheme = if tls.is_some() { "https" } else { "http" };
    let client_certs = match &tls {
        Some(t) if t.requires_client_cert() => ", client certificates required",
        _ => "",
    };
    tracing::info!(
        "worker node listening on {scheme}://{bound} (data in {}, {slots} slots, backend {}{client_certs})",
        data.root().display(),
        payloads.backend().as_str()
    );
    crate::cgroup::init(opts.cgroups);
    crate::netns::init(false);
    let accept = tokio::spawn(accept_loop(node, listener, tls, shutdown.clone()));

    stop.wait().await;
    tracing::info!("shutting down: killing running payloads");
    // Stops accepting and ends the feeds; log followers end with their payloads.
    shutdown.cancel();
    let _ = accept.await;
    let _ = fencing.await;
    payloads.kill_all().await;
    let _ = std::fs::remove_file(data.worker_addr_file());
    crate::cgroup::shutdown();
    Ok(())
}

/// A previous node's payloads are worth nothing now (the server requeues them): kill what
/// still runs there and empty `payloads/` and `tmp/`.
async fn clean_leftovers(data: &DataDir) -> anyhow::Result<()> {
    let payloads = data.payloads();
    if payloads.is_dir() {
        for pgid in process::groups_working_under(&payloads) {
            process::kill_group_and_wait(pgid, std::time::Duration::from_secs(5)).await;
        }
    }
    // Payload accounts pass through it to their own dirs; uploads in progress are the node's.
    clean_dir(&payloads, perms::data_dir_mode())?;
    clean_dir(&data.tmp(), perms::PRIVATE_DIR)
}

/// Empties `dir` (making it if needed) and gives it `mode`.
fn clean_dir(dir: &Path, mode: u32) -> anyhow::Result<()> {
    if dir.exists() {
        std::fs::remove_dir_all(dir).with_context(|| format!("cannot empty {}", dir.display()))?;
    }
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    perms::set_mode(dir, mode)?;
    Ok(())
}

/// Writes `path` through a temp file and a rename, so a reader never sees half of it.
fn write_atomically(path: &Path, content: &[u8]) -> anyhow::Result<()> {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, content).with_context(|| format!("cannot write {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("cannot write {}", path.display()))?;
    Ok(())
}

async fn accept_loop(
    node: Arc<Node>,
    listener: TcpListener,
    tls: Option<ServerTls>,
    shutdown: CancellationToken,
) {
    let defaults = ServerConfig::default();
    let conns = http::Conns::new(defaults.max_connections, defaults.body_read_timeout);
    http::accept_tcp(listener, tls, shutdown, move |stream, _| {
        let node = node.clone();
        conns.serve(stream, move |req| routes::handle(node.clone(), req));
    })
    .await
}
