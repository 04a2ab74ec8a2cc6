//! `jobo status`, `list`, `wait` and `service ls`.

use super::output::outln;
use super::output::{job_detail, print_json};
use super::progress::spinner;
use super::table::{self, jobs_table};
use super::template::Template;
use super::{ListArgs, parse_id};
use crate::api::routes::TOTAL_COUNT_HEADER;
use crate::api::{Job, ListQuery, Route, Service};
use crate::client::{Client, decode, empty, request};
use crate::job::JobId;
use comfy_table::{Table, presets};
use std::collections::BTreeMap;

pub async fn status(
    client: &Client,
    ids: &[String],
    list_args: &ListArgs,
    json: bool,
) -> anyhow::Result<i32> {
    if ids.is_empty() {
        return list(client, list_args, 20, json).await;
    }
    let mut jobs = Vec::with_capacity(ids.len());
    for id in ids {
        let id = parse_id(id)?;
        jobs.push(client.route::<Job>(&Route::Job(id)).await?);
    }
    if json {
        print_json(&jobs)?;
    } else if list_args.quiet || list_args.format.is_some() {
        print_lines(&jobs, list_args)?;
    } else {
        let details: Vec<String> = jobs.iter().map(job_detail).collect();
        outln!("{}", details.join("\n\n"));
    }
    Ok(0)
}

/// The list query of `args`, with `limit` unless `--limit` says otherwise.
pub fn query(args: &ListArgs, limit: u32) -> anyhow::Result<ListQuery> {
    let labels = crate::api::meta::parse_labels(&args.labels).map_err(anyhow::Error::msg)?;
    Ok(ListQuery {
        state: (!args.state.is_empty()).then(|| args.state.join(",")),
        service: args.service.clone(),
        user: args.user.clone(),
        limit: Some(args.limit.unwrap_or(limit)),
        name: args.name.clone(),
        labels: (!labels.is_empty())
            .then(|| serde_json::to_string(&labels))
            .transpose()?,
        array: None,
    })
}

/// Jobs as `query` selects them, and how many match in all (beyond its limit).
pub async fn fetch_list(client: &Client, query: &ListQuery) -> anyhow::Result<(Vec<Job>, u64)> {
    let uri = Route::ListJobs.uri(query)?;
    let resp = client
        .send_ok(request(Route::ListJobs.method(), &uri, empty())?)
        .await?;
    let total = resp
        .headers()
        .get(TOTAL_COUNT_HEADER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let jobs: Vec<Job> = decode(resp).await?;
    let total = total.unwrap_or(jobs.len() as u64);
    Ok((jobs, total))
}

/// `jobo list`, and `jobo status` without ids (`default_limit` rows unless `--limit`).
pub async fn list(
    client: &Client,
    args: &ListArgs,
    default_limit: u32,
    json: bool,
) -> anyhow::Result<i32> {
    let query = query(args, default_limit)?;
    let (jobs, total) = fetch_list(client, &query).await?;
    if json {
        print_json(&jobs)?;
    } else if args.quiet || args.format.is_some() {
        print_lines(&jobs, args)?;
    } else {
        // Every job of each array listed, for its row's counts.
        let mut arrays = BTreeMap::new();
        for a in jobs.iter().filter_map(|j| j.meta.array_id) {
            if arrays.contains_key(&a) {
                continue;
            }
            let members = ListQuery {
                array: Some(a),
                limit: Some(crate::api::meta::MAX_ARRAY),
                ..ListQuery::default()
            };
            arrays.insert(a, fetch_list(client, &members).await?.0);
        }
        if jobs.is_empty() {
            eprintln!(
                "jobo: no jobs{}",
                if total > 0 { " on this page" } else { "" }
            );
        } else {
            outln!("{}", jobs_table(&jobs, &arrays, table::width()));
        }
    }
    let more = total.saturating_sub(jobs.len() as u64);
    if more > 0 && !json && !args.quiet {
        // The server counts up to 10,000 matches.
        if total > crate::store::COUNT_CAP {
            eprintln!(
                "… more than {more} more jobs (use --limit, or narrow with --state, --name, --label)"
            );
        } else {
            eprintln!(
                "… {more} more job{} (use --limit {total} to see all)",
                if more == 1 { "" } else { "s" }
            );
        }
    }
    Ok(0)
}

/// `-q` (ids) or `--format` lines, one per job.
fn print_lines(jobs: &[Job], args: &ListArgs) -> anyhow::Result<()> {
    if args.quiet {
        for j in jobs {
            outln!("{}", j.id);
        }
        return Ok(());
    }
    let Some(format) = &args.format else {
        return Ok(());
    };
    let template = Template::parse(format).map_err(anyhow::Error::msg)?;
    for j in jobs {
        outln!("{}", template.render(&serde_json::to_value(j)?));
    }
    Ok(())
}

/// Long-polls until job `id` is final, with a spinner on a terminal.
pub async fn wait_for(client: &Client, id: JobId, quiet: bool) -> anyhow::Result<Job> {
    let bar = spinner(format!("job {id}: waiting"), quiet);
    let job = super::watch::watch(client, id, &bar, None).await;
    bar.finish_and_clear();
    job
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
    outln!("{}", t.trim_fmt());
    Ok(0)
}
