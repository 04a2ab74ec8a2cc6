//! `/v1/system`: what this server is (`jobo system info`), and stopping it over the API
//! (`jobo system stop`, administrators only; the same graceful stop as SIGTERM).

use super::nodes::check_admin;
use crate::api::{NodeState, SystemInfo};
use crate::audit::Event;
use crate::http::Body;
use crate::http::respond::{ApiError, json};
use crate::queue::Caller;
use crate::state::Ctx;
use hyper::{Response, StatusCode};

pub async fn info(ctx: &Ctx, who: &Caller) -> Result<Response<Body>, ApiError> {
    Ok(json(StatusCode::OK, &describe(ctx, who).await?))
}

pub async fn stop(ctx: &Ctx, who: &Caller) -> Result<Response<Body>, ApiError> {
    check_admin(who)?;
    let info = describe(ctx, who).await?;
    ctx.audit.record(Event {
        action: "stop",
        actor: &who.actor,
        target: Some("jobod".into()),
        owner: None,
    });
    // The answer goes out before the listeners close: the stop starts once it is written.
    ctx.stop.cancel();
    Ok(json(StatusCode::ACCEPTED, &info))
}

async fn describe(ctx: &Ctx, who: &Caller) -> Result<SystemInfo, ApiError> {
    let facts = &ctx.facts;
    let data = &ctx.core.data;
    let local = ctx.backends.local_slots();
    let nodes = ctx.backends.cluster().list(None).await?;
    let config = ctx.core.config();
    Ok(SystemInfo {
        version: env!("CARGO_PKG_VERSION").into(),
        mode: if facts.system { "system" } else { "user" }.into(),
        pid: std::process::id(),
        started_at: facts.started_at,
        data_dir: data.root().display().to_string(),
        config_file: facts.config_file.as_ref().map(|p| p.display().to_string()),
        socket: facts.socket.display().to_string(),
        listen: facts.listen.get().cloned(),
        seed_listen: facts.seed_listen.get().cloned(),
        jobs_run_as: format!(
            "{} (jobod's own user)",
            crate::paths::user_name(ctx.admin_uid)
        ),
        enforces: crate::cgroup::describe(crate::cgroup::support())
            .into_iter()
            .chain(crate::netns::describe())
            .collect(),
        local_slots: local,
        nodes: nodes.len(),
        healthy_nodes: nodes
            .iter()
            .filter(|n| n.state == NodeState::Healthy)
            .count(),
        services: config.services.keys().cloned().collect(),
        caller: who.user.clone(),
        admin: who.admin,
    })
}
