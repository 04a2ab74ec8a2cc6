//! `jobo submit` and `jobo run`: pack the directory as tar.gz while it uploads.

use super::output::outln;
use super::output::{print_json, transfer_bar};
use super::{SubmitArgs, fetch, logs, show};
use crate::api::routes::SubmitQuery;
use crate::api::{IDEMPOTENCY_HEADER, Job, Route};
use crate::archive;
use crate::bridge::stream_from_blocking;
use crate::client::{Client, decode, request};
use crate::job::JobState;
use anyhow::Context;
use futures_util::TryStreamExt;
use http_body_util::{BodyExt, StreamBody};
use hyper::body::Frame;
use std::path::PathBuf;

async fn upload(client: &Client, args: &SubmitArgs, json: bool) -> anyhow::Result<Job> {
    let dir = args.dir.clone();
    if !dir.is_dir() {
        anyhow::bail!("{} is not a directory", dir.display());
    }
    if !dir.join("run.sh").is_file() {
        anyhow::bail!("{} has no run.sh: a job directory needs one", dir.display());
    }
    let query = SubmitQuery {
        service: Some(args.service.clone()),
        priority: args.priority,
        timeout: args.timeout.clone(),
        memory: args.memory.clone(),
        cpus: args.cpus.clone(),
        pids: args.pids.clone(),
        env: env_json(&args.env)?,
        name: args.name.clone(),
        labels: labels_json(&args.labels)?,
        after: (!args.after.is_empty()).then(|| args.after.join(",")),
        array: args.array.clone(),
    };
    let path = Route::Submit.uri(&query)?;

    let bar = transfer_bar("uploading", json);
    let counter = bar.clone();
    let chunks = stream_from_blocking(move |w| archive::pack_tgz(&dir, archive::Trust::Own, w))
        .inspect_ok(move |chunk| counter.inc(chunk.len() as u64))
        .map_ok(Frame::data);
    let body = StreamBody::new(chunks).boxed_unsync();
    let mut req = request(Route::Submit.method(), &path, body)?;
    if let Some(key) = &args.idempotency_key {
        req.headers_mut().insert(
            IDEMPOTENCY_HEADER,
            key.parse().context("invalid idempotency key")?,
        );
    }
    req.headers_mut()
        .insert(hyper::header::CONTENT_TYPE, "application/gzip".parse()?);
    let resp = client.send_ok(req).await;
    bar.finish_and_clear();
    Ok(decode(resp?).await?)
}

/// `-e KEY=VALUE` arguments as the API's JSON object (none without any).
fn env_json(pairs: &[String]) -> anyhow::Result<Option<String>> {
    if pairs.is_empty() {
        return Ok(None);
    }
    let mut vars = crate::jobenv::Vars::new();
    for pair in pairs {
        let Some((key, value)) = pair.split_once('=') else {
            anyhow::bail!("-e {pair}: expected KEY=VALUE");
        };
        if vars.insert(key.to_string(), value.to_string()).is_some() {
            anyhow::bail!("-e {key}: given twice");
        }
    }
    Ok(Some(serde_json::to_string(&vars)?))
}

/// `--label KEY=VALUE` arguments as the API's JSON object (none without any).
fn labels_json(pairs: &[String]) -> anyhow::Result<Option<String>> {
    if pairs.is_empty() {
        return Ok(None);
    }
    let labels = crate::api::meta::parse_labels(pairs).map_err(anyhow::Error::msg)?;
    Ok(Some(serde_json::to_string(&labels)?))
}

pub async fn submit(
    client: &Client,
    args: &SubmitArgs,
    wait: bool,
    json: bool,
) -> anyhow::Result<i32> {
    let job = upload(client, args, json).await?;
    if !wait {
        if json {
            print_json(&job)?;
        } else {
            outln!("{}", job.id);
            if let Some((first, last)) = args
                .array
                .as_deref()
                .and_then(|a| crate::api::meta::parse_array(a).ok())
            {
                let n = i64::from(last - first);
                eprintln!(
                    "jobo: array of {} jobs: {}-{} (indices {first}-{last}; `jobo status` shows it as one row)",
                    n + 1,
                    job.id,
                    job.id + n
                );
            }
        }
        return Ok(0);
    }
    let job = show::wait_for(client, job.id, json).await?;
    if json {
        print_json(&job)?;
    } else {
        outln!("{} {}", job.id, job.state);
    }
    Ok(if job.state == JobState::Succeeded {
        0
    } else {
        1
    })
}

/// Like `docker run`: the job's output streams to this terminal, its results land in
/// `./jobo-ID`, and jobo exits with the job's exit code.
pub async fn run(
    client: &Client,
    args: &SubmitArgs,
    output: Option<PathBuf>,
    json: bool,
) -> anyhow::Result<i32> {
    if args.array.is_some() {
        anyhow::bail!(
            "jobo run runs one job: use `jobo submit --array` and `jobo wait --all` for an array"
        );
    }
    let job = upload(client, args, json).await?;
    eprintln!("jobo: job {} submitted", job.id);
    let streams = logs::stream_both(client, job.id, true);
    let (job, streamed) = tokio::join!(show::wait_for(client, job.id, true), streams);
    let job = job?;
    streamed?;
    let dest = output.unwrap_or_else(|| PathBuf::from(format!("jobo-{}", job.id)));
    let fetched = fetch::download(client, job.id, &dest, false, json).await;
    if json {
        print_json(&job)?;
    }
    match fetched {
        Ok(()) => eprintln!(
            "jobo: job {} {}; results in {}",
            job.id,
            job.state,
            dest.display()
        ),
        Err(e) => eprintln!("jobo: job {} {}; no results: {e:#}", job.id, job.state),
    }
    Ok(match (job.state, job.exit_code) {
        (JobState::Succeeded, _) => 0,
        (_, Some(code)) if code != 0 => code.clamp(1, 255),
        _ => 1,
    })
}
