//! `jobo status`, `list`, `wait` and `service ls`.

use super::output::outln;
use super::output::{job_detail, jobs_table, print_json};
use super::parse_id;
use super::progress::spinner;
use crate::api::{Job, ListQuery, Route, Service};
use crate::client::Client;
use crate::job::{JobId, JobState};
use comfy_table::{Table, presets};

pub async fn status(client: &Client, ids: &[String], json: bool) -> anyhow::Result<i32> {
    if ids.is_empty() {
        let recent = ListQuery {
            limit: Some(20),
            ..ListQuery::default()
        };
        let jobs: Vec<Job> = client.route_with(&Route::ListJobs, &recent).await?;
        return show_list(&jobs, json);
    }
    let mut jobs = Vec::with_capacity(ids.len());
    for id in ids {
        let id = parse_id(id)?;
        jobs.push(client.route::<Job>(&Route::Job(id)).await?);
    }
    if json {
        print_json(&jobs)?;
    } else {
        let details: Vec<String> = jobs.iter().map(job_detail).collect();
        outln!("{}", details.join("\n\n"));
    }
    Ok(0)
}

fn show_list(jobs: &[Job], json: bool) -> anyhow::Result<i32> {
    if json {
        print_json(&jobs)?;
    } else {
        outln!("{}", jobs_table(jobs));
    }
    Ok(0)
}

pub async fn list(
    client: &Client,
    state: Option<String>,
    service: Option<String>,
    user: Option<String>,
    limit: u32,
    json: bool,
) -> anyhow::Result<i32> {
    let state = state
        .map(|s| s.parse::<JobState>().map_err(anyhow::Error::msg))
        .transpose()?;
    let query = ListQuery {
        state,
        service,
        user,
        limit: Some(limit),
    };
    let jobs: Vec<Job> = client.route_with(&Route::ListJobs, &query).await?;
    show_list(&jobs, json)
}

/// Long-polls until job `id` is final, with a spinner on a terminal.
pub async fn wait_for(client: &Client, id: JobId, quiet: bool) -> anyhow::Result<Job> {
    let bar = spinner(format!("job {id}: waiting"), quiet);
    let job = super::watch::watch(client, id, &bar, None).await;
    bar.finish_and_clear();
    job
}

pub async fn wait(client: &Client, ids: &[String], json: bool) -> anyhow::Result<i32> {
    let ids = ids
        .iter()
        .map(|s| parse_id(s))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let mut jobs = Vec::with_capacity(ids.len());
    for id in ids {
        jobs.push(wait_for(client, id, json).await?);
    }
    if json {
        print_json(&jobs)?;
    } else {
        for j in &jobs {
            outln!("{} {}", j.id, j.state);
        }
    }
    Ok(if jobs.iter().all(|j| j.state == JobState::Succeeded) {
        0
    } else {
        1
    })
}

pub async fn services(client: &Client, json: bool) -> anyhow::Result<i32> {
    let services: Vec<Service> = client.route(&Route::Services).await?;
    if json {
        print_json(&services)?;
        return Ok(0);
    }
    let mut t = Table::new();
    t.load_style(presets::NOTHING);
    t.set_header([
        "SERVICE",
        "QUEUED",
        "RUNNING",
        "MAX RUNNING",
        "PER USER",
        "TIMEOUT",
        "RETENTION",
    ]);
    let opt = |v: Option<u32>| v.map_or("-".to_string(), |n| n.to_string());
    let dur = |s: u64| humantime::format_duration(std::time::Duration::from_secs(s)).to_string();
    for s in &services {
        t.add_row([
            s.name.clone(),
            s.queued.to_string(),
            s.running.to_string(),
            opt(s.max_running),
            opt(s.max_running_per_user),
            s.timeout_secs.map_or("-".into(), dur),
            dur(s.retention_secs),
        ]);
    }
    outln!("{t}");
    Ok(0)
}
