//! `jobod serve`: opens the store, has the backends repair what a crash left, starts the
//! scheduler, the cleaner and the listeners, and shuts them down on SIGTERM/SIGINT.

use crate::backends::Backends;
use crate::config::Config;
use crate::core::Core;
use crate::events::Events;
use crate::logs::LogHub;
use crate::paths::{self, DataDir};
use crate::state::{Ctx, Shared};
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
}

pub async fn serve(opts: ServeOptions) -> anyhow::Result<()> {
    let data = DataDir::new(
        opts.data_dir
            .clone()
            .unwrap_or_else(|| paths::default_data_dir(opts.system)),
    );
    std::fs::create_dir_all(data.root())
        .with_context(|| format!("cannot create data dir {}", data.root().display()))?;
    // Closed until the store in it is private (a new one is made 0644); opened below.
    let _ = perms::set_mode(data.root(), perms::PRIVATE_DIR);
    // Held until exit: a second jobod on the same data dir must not "recover" our live jobs.
    let _lock = host::lock_data_dir(&data)?;
    let stop = host::StopSignal::new()?;

    let config_path = opts
        .config
        .clone()
        .unwrap_or_else(|| paths::default_config(opts.system));
    let config = Config::load(&config_path, opts.config.is_some())?;
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
    let core = Arc::new(Core {
        config: Arc::new(config),
        data: data.clone(),
        store,
        events: Events::default(),
        logs: LogHub::default(),
    });
    let backends = Backends::new(core.clone(), local_slots);
    let requeued = backends.recover().await?;
    if requeued > 0 {
        tracing::info!("requeued {requeued} jobs interrupted by the last stop");
    }
    process::become_subreaper();
    let ctx: Ctx = Arc::new(Shared {
        core,
        backends,
        admin_uid: paths::uid(),
    });

    let socket = opts
        .socket
        .clone()
        .unwrap_or_else(|| paths::default_socket(opts.system));
    // The socket is bound last: once it accepts connections, everything else (the TCP
    // listener and its address file included) is in place.
    server::check_socket_free(&socket)?;
    let mut tcp = None;
    if let Some(addr) = listen {
        let listener = tokio::net::TcpListener::bind(&addr)
            .await
            .with_context(|| format!("cannot listen on {addr}"))?;
        let bound = listener.local_addr()?;
        std::fs::write(data.tcp_addr_file(), bound.to_string())?;
        tracing::info!("listening on http://{bound}");
        tcp = Some(listener);
    }
    let mut seed_tcp = None;
    if let Some(addr) = seed_listen {
        let listener = tokio::net::TcpListener::bind(&addr)
            .await
            .with_context(|| format!("cannot listen on {addr} (seed_listen)"))?;
        let bound = listener.local_addr()?;
        std::fs::write(data.seed_addr_file(), bound.to_string())?;
        tracing::warn!(
            "seed_listen: serving the seed routes WITHOUT A TOKEN on http://{bound}: anyone \
             who reaches it may upload, fetch and cancel every portal:* job; keep it on \
             localhost behind the portal"
        );
        seed_tcp = Some(listener);
    }
    let unix = server::bind_unix(&socket, access.mode)?;
    access.apply(&socket)?;
    let shutdown = CancellationToken::new();
    let mut tasks = tokio::task::JoinSet::new();
    if let Some(listener) = tcp {
        tasks.spawn(server::serve_tcp(ctx.clone(), listener, shutdown.clone()));
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

    stop.wait().await;
    tracing::info!("shutting down");
    shutdown.cancel();
    // Runs are not left behind: local ones are killed now and requeued by the next start.
    if let Err(e) = ctx.backends.shutdown().await {
        tracing::error!("cannot list the local runs to stop them: {e}");
    }
    let _ = std::fs::remove_file(&socket);
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
