//! Shell completion of live values: job ids, service names and node names come from the
//! running server, through clap_complete's dynamic completion. The installed scripts
//! (`jobo completions SHELL`, `completions/`) only register `jobo` itself as the completer:
//! the shell runs `COMPLETE=bash jobo -- WORDS…` on TAB, which completes subcommands and
//! flags from the clap definition and asks the server for the values below. Completion never
//! starts a jobod and gives up after a short time: a TAB must not hang.

use crate::api::{Job, ListQuery, Node, Route, Service};
use crate::client::{Client, Endpoint};
use crate::paths;
use clap_complete::engine::{ArgValueCandidates, CompletionCandidate};
use std::time::Duration;

/// The environment variable that makes `jobo` complete instead of run.
pub const VAR: &str = "COMPLETE";
/// How long a TAB may wait for the server.
const PATIENCE: Duration = Duration::from_secs(2);

#[derive(Clone, Copy)]
enum Kind {
    Jobs,
    Services,
    Nodes,
}

pub fn jobs() -> ArgValueCandidates {
    ArgValueCandidates::new(|| live(Kind::Jobs))
}

pub fn services() -> ArgValueCandidates {
    ArgValueCandidates::new(|| live(Kind::Services))
}

pub fn nodes() -> ArgValueCandidates {
    ArgValueCandidates::new(|| live(Kind::Nodes))
}

/// Answers a completion request (`COMPLETE=SHELL jobo -- …`) and exits, if this is one.
pub fn run_if_asked() {
    clap_complete::CompleteEnv::with_factory(<super::Cli as clap::CommandFactory>::command)
        .var(VAR)
        .bin("jobo")
        .completer("jobo")
        .complete();
}

/// The script that registers `jobo` as its own completer in `shell` (what `jobo completions
/// SHELL` prints and `completions/` holds).
pub fn registration(shell: &str) -> anyhow::Result<Vec<u8>> {
    let shells = clap_complete::env::Shells::builtins();
    let completer = shells
        .completer(shell)
        .ok_or_else(|| anyhow::anyhow!("no dynamic completion for {shell}"))?;
    let mut script = Vec::new();
    completer.write_registration(VAR, "jobo", "jobo", "jobo", &mut script)?;
    Ok(script)
}

fn live(kind: Kind) -> Vec<CompletionCandidate> {
    let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    else {
        return Vec::new();
    };
    runtime.block_on(async {
        match tokio::time::timeout(PATIENCE, fetch(kind)).await {
            Ok(Ok(found)) => found,
            _ => Vec::new(),
        }
    })
}

async fn fetch(kind: Kind) -> anyhow::Result<Vec<CompletionCandidate>> {
    let client = client().await?;
    let candidates = match kind {
        Kind::Jobs => {
            let recent = ListQuery {
                limit: Some(200),
                ..ListQuery::default()
            };
            let jobs: Vec<Job> = client.route_with(&Route::ListJobs, &recent).await?;
            jobs.into_iter()
                .map(|j| {
                    let mut help = format!("{} {}", j.state, j.service);
                    if let Some(name) = &j.meta.name {
                        help = format!("{name}: {help}");
                    }
                    CompletionCandidate::new(j.id.to_string()).help(Some(help.into()))
                })
                .collect()
        }
        Kind::Services => {
            let services: Vec<Service> = client.route(&Route::Services).await?;
            services
                .into_iter()
                .map(|s| CompletionCandidate::new(s.name))
                .collect()
        }
        Kind::Nodes => {
            let nodes: Vec<Node> = client.route(&Route::Nodes).await?;
            nodes
                .into_iter()
                .filter(|n| n.id != 0)
                .map(|n| CompletionCandidate::new(n.name).help(Some(n.url.into())))
                .collect()
        }
    };
    Ok(candidates)
}

/// The server `jobo` would talk to (`JOBO_HOST`, then the system socket, then the per-user
/// one), without starting one.
async fn client() -> anyhow::Result<Client> {
    if let Some(host) = std::env::var("JOBO_HOST").ok().filter(|h| !h.is_empty()) {
        let token = std::env::var("JOBO_TOKEN").ok();
        let ca = std::env::var_os("JOBO_CA_CERT").map(std::path::PathBuf::from);
        return super::connect::client(Some(&host), token, ca.as_deref()).await;
    }
    let system = paths::default_socket(true);
    let socket = if system.exists() {
        system
    } else {
        paths::default_socket(false)
    };
    Ok(Client::new(Endpoint::Unix(socket)))
}
