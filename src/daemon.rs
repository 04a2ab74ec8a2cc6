//! `jobod serve`: opens the store, has the backends repair what a crash left, starts the
//! scheduler, the cleaner and the listeners, and shuts them down on SIGTERM/SIGINT.

use crate::backends::Backends;
use crate::config::Config;
use crate::core::Core;
use crate::paths::{self, DataDir};
use crate::state::{Ctx, Facts, Shared};
use crate::tls::{ClientTls, ServerTls};
use crate::{cleaner, host, perms, process, run_as, scheduler, server};
use anyhow::Context;
use std::path::PathBuf;
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

/// Everything `jobod serve` can be told on its command line.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    pub system: bool,
    pub data_dir: Option<PathBuf>,
    pub socket: Option<PathBuf>,
    pub listen: Option<String>,
    pub seed_listen: Option<String>,
    pub config: Option<PathBuf>,
    pub no_local_worker: bool,
    /// Start over when the store is missing, empty, damaged or another data dir's (its files
    /// and the job dirs are renamed aside, never deleted); without it jobod refuses to start.
    pub reinit: bool,
    /// `--socket-group`: see [`paths::SocketAccess::resolve`] for the default.
    pub socket_group: Option<String>,
    /// `--tls-cert` and `--tls-key` (else `[server] tls_cert/tls_key`): TCP inside TLS.
    pub tls: Option<(PathBuf, PathBuf)>,
}

pub async fn serve(opts: ServeOptions) -> anyhow::Result<()> {
    let data = DataDir::new(
        opts.data_dir
            .clone()
            .unwrap_or_else(|| paths::default_data_dir(opts.system)),
    );
    std::fs::create_dir_all(data.root())
        .with_context(|| format!("cannot create data dir {}", data.root().display()))?;
    // Held until exit: a second jobod on the same data dir must not "recover" our live jobs
    // (nor change the dir's mode under them: the lock comes first).
    let _lock = host::lock_data_dir(&data)?;
    // Closed until the store in it is private (a new one is made 0644); opened below.
    let _ = perms::set_mode(data.root(), perms::PRIVATE_DIR);
    let mut signals = host::StopSignal::new()?;

    let config_path = opts
        .config
        .clone()
        .unwrap_or_else(|| paths::default_config(opts.system));
    let config = Config::load(&config_path, opts.config.is_some())?;
    let config_file = config_path.exists().then(|| config_path.clone());
    match &config_file {
        Some(path) => tracing::info!("configuration: {}", path.display()),
        None => tracing::info!(
            "configuration: built-in default ({} does not exist; `jobod config default` prints it)",
            config_path.display()
        ),
    }
    crate::cgroup::init(config.local_worker.cgroups);
    crate::netns::init(
        config
            .services
            .values()
            .any(|s| s.network == crate::api::Network::Off),
    );
    // Before the store is touched, so a wrong --socket-group or run_as fails fast.
    let access = paths::SocketAccess::resolve(opts.system, opts.socket_group.as_deref())?;
    let accounts = run_as::check_services(&config)?;

    // Checks that the store is sound and belongs to the job dirs beside it before trusting it:
    // a lost store must not come back empty and hand out the ids of existing job dirs.
    let store = crate::store::open_data_dir(&data, opts.reinit)?;
    clean_tmp(&data).context("cannot prepare the data dir")?;
    let db = data.db();
    let (wal, shm) = (db.with_extension("db-wal"), db.with_extension("db-shm"));
    perms::make_private(&[&db, &wal, &shm]).context("cannot make the job store private")?;
    // Job users pass through it to their job dirs (when jobod is root).
    perms::set_mode(data.root(), perms::data_dir_mode())
        .with_context(|| format!("cannot set the mode of {}", data.root().display()))?;
    run_as::warn_unreachable(&data.jobs(), &accounts);
    let local_slots = (config.local_worker.enabled && !opts.no_local_worker)
        .then(|| config.local_worker.effective_slots());
    let listen = opts.listen.clone().or_else(|| config.server.listen.clone());
    let seed_listen = opts
        .seed_listen
        .clone()
        .or_else(|| config.server.seed_listen.clone());
    let server_tls = match opts.tls.clone().or_else(|| config.server.tls()) {
        Some((cert, key)) => Some(ServerTls::load(&cert, &key, None)?),
        None => None,
    };
    let scheme = if server_tls.is_some() {
        "https"
    } else {
        "http"
    };
    // Loaded now, so a wrong path stops the start rather than every request to a node.
    let node_tls = ClientTls::for_nodes(
        config.cluster.ca_cert.as_deref(),
        config.cluster.client_identity(),
    )?;
    let core = Arc::new(Core::new(Arc::new(config), data.clone(), store, node_tls));
    let backends = Backends::new(core.clone(), local_slots);
    let requeued = backends.recover().await?;
    if requeued > 0 {
        tracing::info!("requeued {requeued} jobs interrupted by the last stop");
    }
    process::become_subreaper();
    // Sockets systemd made for us (jobod.socket) replace the ones we would bind.
    let activated = crate::systemd::activated()?;
    let socket = match activated.unix.as_ref().map(|l| l.local_addr()) {
        Some(addr) => addr?
            .as_pathname()
            .map(PathBuf::from)
            .context("the socket from systemd has no path")?,
        None => opts
            .socket
            .clone()
            .unwrap_or_else(|| paths::default_socket(opts.system)),
    };
    let limits = &core.config().server;
    let conns = crate::http::Conns::new(limits.max_connections, limits.body_read_timeout);
    let submits = server::throttle::Throttle::new(limits.submit_rate, limits.submit_burst);
    let ctx: Ctx = Arc::new(Shared {
        core,
        backends,
        admin_uid: paths::uid(),
        audit: crate::audit::Audit::start(data.audit_log()),
        facts: Facts {
            system: opts.system,
            started_at: crate::store::now_ms(),
            config_file,
            socket: socket.clone(),
            listen: Default::default(),
            seed_listen: Default::default(),
        },
        stop: CancellationToken::new(),
        conns,
        submits,
    });

    // The socket is bound last: once it accepts connections, everything else (the TCP
    // listener and its address file included) is in place.
    if activated.unix.is_none() {
        server::check_socket_free(&socket)?;
    }
    let mut tcp = None;
    if let Some(listener) = activated.tcp {
        let listener = tokio::net::TcpListener::from_std(listener)?;
        let bound = listener.local_addr()?;
        std::fs::write(data.tcp_addr_file(), bound.to_string())?;
        let _ = ctx.facts.listen.set(bound.to_string());
        tracing::info!("listening on {scheme}://{bound} (socket from systemd)");
        tcp = Some(listener);
    } else if let Some(addr) = listen {
        let listener = tokio::net::TcpListener::bind(&addr)
            .await
            .with_context(|| format!("cannot listen on {addr}"))?;
        let bound = listener.local_addr()?;
        std::fs::write(data.tcp_addr_file(), bound.to_string())?;
        let _ = ctx.facts.listen.set(bound.to_string());
        tracing::info!("listening on {scheme}://{bound}");
        tcp = Some(listener);
    }
    if tcp.is_none() && server_tls.is_some() {
        tracing::warn!("a TLS certificate is set but there is no TCP listener (--listen): unused");
    }
    let mut seed_tcp = None;
    if let Some(addr) = seed_listen {
        let listener = tokio::net::TcpListener::bind(&addr)
            .await
            .with_context(|| format!("cannot listen on {addr} (seed_listen)"))?;
        let bound = listener.local_addr()?;
        std::fs::write(data.seed_addr_file(), bound.to_string())?;
        let _ = ctx.facts.seed_listen.set(bound.to_string());
        tracing::warn!(
            "seed_listen: serving the seed routes WITHOUT A TOKEN on http://{bound}: anyone \
             who reaches it may upload, fetch and cancel every portal:* job; keep it on \
             localhost behind the portal"
        );
        seed_tcp = Some(listener);
    }
    let from_systemd = activated.unix.is_some();
    let unix = match activated.unix {
        // Its path, mode and group are the socket unit's (SocketMode=, SocketGroup=).
        Some(listener) => tokio::net::UnixListener::from_std(listener)?,
        None => {
            let unix = server::bind_unix(&socket, access.mode)?;
            access.apply(&socket)?;
            unix
        }
    };
    let absolute = std::path::absolute(&socket).unwrap_or_else(|_| socket.clone());
    if let Err(e) = std::fs::write(data.socket_file(), absolute.as_os_str().as_encoded_bytes()) {
        tracing::warn!("cannot write {}: {e}", data.socket_file().display());
    }
    let shutdown = CancellationToken::new();
    let mut tasks = tokio::task::JoinSet::new();
    if let Some(listener) = tcp {
        tasks.spawn(server::serve_tcp(
            ctx.clone(),
            listener,
            server_tls,
            shutdown.clone(),
        ));
    }
    if let Some(listener) = seed_tcp {
        tasks.spawn(server::serve_seed_tcp(
            ctx.clone(),
            listener,
            shutdown.clone(),
        ));
    }
    tracing::info!(
        "listening on {} (data in {}, {} local slots)",
        socket.display(),
        data.root().display(),
        ctx.backends.local_slots()
    );
    tasks.spawn(server::serve_unix(ctx.clone(), unix, shutdown.clone()));
    tasks.spawn(scheduler::run(ctx.clone(), shutdown.clone()));
    tasks.spawn(cleaner::run(ctx.clone(), shutdown.clone()));
    crate::systemd::notify("READY=1");

    // SIGHUP reloads what it can from the file that was loaded at start (or the built-in
    // default when there was none, which a file created since then replaces).
    let reload_path = ctx.facts.config_file.clone().or_else(|| {
        opts.config
            .clone()
            .or_else(|| Some(paths::default_config(opts.system)))
    });
    loop {
        tokio::select! {
            asked = signals.next() => match asked {
                host::Asked::Stop => break,
                host::Asked::Reload => {
                    let path = reload_path.as_deref().filter(|p| p.exists());
                    let result = crate::reload::reload(&ctx.core, path);
                    crate::reload::log(path, &result);
                }
            },
            _ = ctx.stop.cancelled() => {
                tracing::info!("asked to stop over the API");
                break;
            }
        }
    }
    tracing::info!("shutting down");
    crate::systemd::notify("STOPPING=1");
    shutdown.cancel();
    // Runs are not left behind: local ones are killed now and requeued by the next start.
    if let Err(e) = ctx.backends.shutdown().await {
        tracing::error!("cannot list the local runs to stop them: {e}");
    }
    if !from_systemd {
        let _ = std::fs::remove_file(&socket);
    }
    crate::cgroup::shutdown();
    Ok(())
}

/// Empties the upload staging dir (what is there was cut short by the last stop) and makes
/// sure the job dirs' parent exists.
fn clean_tmp(data: &DataDir) -> std::io::Result<()> {
    let tmp = data.tmp();
    if tmp.exists() {
        std::fs::remove_dir_all(&tmp)?;
    }
    std::fs::create_dir_all(&tmp)?;
    perms::set_mode(&tmp, perms::PRIVATE_DIR)?;
    std::fs::create_dir_all(data.jobs())?;
    // Job accounts pass through it to their own job's dir.
    perms::set_mode(&data.jobs(), perms::data_dir_mode())
}
