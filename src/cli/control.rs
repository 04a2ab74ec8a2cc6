//! `jobo wait` (ids or `--all`, with `--timeout`), `jobo restart` and `jobo prune`.

use super::output::{outln, print_json, timestamp};
use super::parse_id;
use super::show::{fetch_list, wait_for};
use crate::api::routes::PruneQuery;
use crate::api::{Job, ListQuery, Pruned, Route};
use crate::client::Client;
use crate::job::{JobId, JobState};

/// The exit code of a wait that ran out of time, as timeout(1) has it.
const TIMED_OUT: i32 = 124;

pub async fn wait(
    client: &Client,
    ids: &[String],
    all: bool,
    service: Option<String>,
    timeout: Option<&str>,
    json: bool,
) -> anyhow::Result<i32> {
    let limit = timeout
        .map(|t| {
            humantime::parse_duration(t)
                .map_err(|e| anyhow::anyhow!("invalid --timeout '{t}': {e} (e.g. 90s, 2h)"))
        })
        .transpose()?;
    let ids: Vec<JobId> = if all {
        let live = ListQuery {
            state: Some("queued,dispatched,running".into()),
            service: service.clone(),
            limit: Some(u32::MAX),
            ..ListQuery::default()
        };
        let (jobs, _) = fetch_list(client, &live).await?;
        // Oldest first: the order they are likely to end in.
        jobs.iter().rev().map(|j| j.id).collect()
    } else {
        ids.iter()
            .map(|s| parse_id(s))
            .collect::<anyhow::Result<_>>()?
    };
    if ids.is_empty() {
        let of = service
            .map(|s| format!(" in service {s}"))
            .unwrap_or_default();
        eprintln!("jobo: no queued or running jobs{of} to wait for");
        return Ok(0);
    }
    let mut done: Vec<Job> = Vec::with_capacity(ids.len());
    let waiting = async {
        for id in &ids {
            done.push(wait_for(client, *id, json).await?);
        }
        anyhow::Ok(())
    };
    let finished = match limit {
        Some(limit) => tokio::time::timeout(limit, waiting).await.ok(),
        None => Some(waiting.await),
    };
    if let Some(result) = finished {
        result?;
    }
    if json {
        print_json(&done)?;
    } else {
        for j in &done {
            outln!("{} {}", j.id, j.state);
        }
    }
    if done.len() < ids.len() {
        let left: Vec<String> = ids[done.len()..].iter().map(ToString::to_string).collect();
        eprintln!(
            "jobo: timed out after {}; still waiting for job{} {}",
            timeout.unwrap_or("?"),
            if left.len() == 1 { "" } else { "s" },
            left.join(", ")
        );
        return Ok(TIMED_OUT);
    }
    Ok(if done.iter().all(|j| j.state == JobState::Succeeded) {
        0
    } else {
        1
    })
}

/// Prints each new job's id (stdout) and what it restarted (stderr).
pub async fn restart(client: &Client, ids: &[String], json: bool) -> anyhow::Result<i32> {
    let line = |job: &Job| {
        let old = job.meta.restarted_from.unwrap_or(0);
        eprintln!("jobo: job {old} restarted as job {}", job.id);
        job.id.to_string()
    };
    super::manage::each(ids, json, line, async |id| {
        client.route(&Route::Restart(id)).await
    })
    .await
}

pub async fn prune(
    client: &Client,
    older_than: String,
    state: Vec<String>,
    user: Option<String>,
    yes: bool,
    json: bool,
) -> anyhow::Result<i32> {
    let query = PruneQuery {
        older_than: Some(older_than.clone()),
        state: (!state.is_empty()).then(|| state.join(",")),
        user,
        dry_run: !yes,
    };
    let pruned: Pruned = client.route_with(&Route::Prune, &query).await?;
    if json {
        print_json(&pruned)?;
        return Ok(0);
    }
    let n = pruned.jobs.len();
    if n == 0 {
        eprintln!("jobo: no finished jobs older than {older_than} to prune");
        return Ok(0);
    }
    let mut t = super::output::table();
    t.set_header(["ID", "STATE", "USER", "SERVICE", "FINISHED"]);
    for j in &pruned.jobs {
        t.add_row([
            j.id.to_string(),
            j.state.to_string(),
            j.user.clone(),
            j.service.clone(),
            j.finished_at.map_or("-".into(), timestamp),
        ]);
    }
    outln!("{}", t.trim_fmt());
    let jobs = if n == 1 { "job" } else { "jobs" };
    if pruned.dry_run {
        eprintln!(
            "jobo: would delete these {n} {jobs} and their files; run again with --yes to delete them"
        );
    } else {
        eprintln!("jobo: deleted {n} {jobs} and their files");
    }
    Ok(0)
}
