//! `jobo submit` and `jobo run`: pack the directory as tar while it uploads (compressed only
//! off this machine: [`crate::archive::Encoding`]), then (with `--wait`, and for `run`) stay
//! attached to the job: state on a spinner, output streamed, Ctrl-C handled as
//! `interrupt.rs` says.

use super::interrupt::{Attached, INTERRUPTED, Interrupts};
use super::output::outln;
use super::output::{OutputClosed, print_json};
use super::progress::{Transfer, spinner};
use super::watch::watch;
use super::{SubmitArgs, fetch, logs};
use crate::api::routes::SubmitQuery;
use crate::api::{IDEMPOTENCY_HEADER, INPUT_DIGEST_HEADER, Job, Route};
use crate::archive::{self, Trust};
use crate::bridge::stream_from_blocking;
use crate::client::{Client, decode, request};
use crate::job::{JobId, JobState};
use anyhow::Context;
use bytes::Bytes;
use futures_util::TryStreamExt;
use http_body_util::{BodyExt, Full, StreamBody};
use hyper::body::Frame;
use indicatif::ProgressBar;
use std::path::{Path, PathBuf};

/// What the CLI learns of a job directory before it sends it.
struct Checked {
    bytes: u64,
    entries: u64,
    /// With an idempotency key: the directory's [`archive::tree_digest`].
    digest: Option<String>,
}

/// The largest tar (content plus a header per entry) packed in place and sent in one piece;
/// a larger one streams from a packing thread. Most job directories are a script and a
/// few small inputs, and a thread costs a small job's submit more than its packing does.
const IN_PLACE_TAR: u64 = 1024 * 1024;

impl Checked {
    fn packs_in_place(&self) -> bool {
        self.bytes.saturating_add(self.entries.saturating_mul(1024)) <= IN_PLACE_TAR
    }
}

/// Refuses a directory that cannot be a job, or that holds links leading out of it (the
/// upload keeps only links that stay inside: the others are named here, not dropped).
fn check_dir(dir: &Path, with_digest: bool) -> anyhow::Result<Checked> {
    if !dir.is_dir() {
        anyhow::bail!("{} is not a directory", dir.display());
    }
    if !dir.join("run.sh").is_file() {
        anyhow::bail!("{} has no run.sh: a job directory needs one", dir.display());
    }
    let survey = archive::survey(dir).with_context(|| format!("cannot read {}", dir.display()))?;
    if !survey.unsafe_links.is_empty() {
        const SHOWN: usize = 5;
        let mut named: Vec<String> = survey
            .unsafe_links
            .iter()
            .take(SHOWN)
            .map(|(rel, target)| format!("{} -> {}", rel.display(), target.display()))
            .collect();
        if survey.unsafe_links.len() > SHOWN {
            named.push(format!("and {} more", survey.unsafe_links.len() - SHOWN));
        }
        anyhow::bail!(
            "{} has links that may lead out of it: {}; only relative links that stay inside \
             the job directory ('..' only at their start) are uploaded: copy the files in, or \
             make the links relative",
            dir.display(),
            named.join(", ")
        );
    }
    let digest = match with_digest {
        true => Some(
            archive::tree_digest(dir).with_context(|| format!("cannot read {}", dir.display()))?,
        ),
        false => None,
    };
    Ok(Checked {
        bytes: survey.bytes,
        entries: survey.entries,
        digest,
    })
}

async fn upload(client: &Client, args: &SubmitArgs, json: bool) -> anyhow::Result<Job> {
    // In place, blocking: the CLI has nothing else to do until the directory is checked.
    let checked = check_dir(&args.dir, args.idempotency_key.is_some())?;
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

    let dir = args.dir.clone();
    let total = checked.bytes;
    let encoding = client.encoding();
    let body = if checked.packs_in_place() {
        let mut tar = Vec::new();
        archive::pack_tar_counting(&dir, Trust::Own, encoding, &mut tar, &mut |_| {})
            .with_context(|| format!("cannot read {}", dir.display()))?;
        Full::new(Bytes::from(tar))
            .map_err(|never| match never {})
            .boxed_unsync()
    } else {
        let chunks = stream_from_blocking(move |w| {
            let mut bar = Transfer::new("uploading", Some(total), json);
            let packed =
                archive::pack_tar_counting(&dir, Trust::Own, encoding, w, &mut |n| bar.add(n));
            bar.finish();
            packed
        })
        .map_ok(Frame::data);
        StreamBody::new(chunks).boxed_unsync()
    };
    let mut req = request(Route::Submit.method(), &path, body)?;
    if let Some(key) = &args.idempotency_key {
        req.headers_mut().insert(
            IDEMPOTENCY_HEADER,
            key.parse().context("invalid idempotency key")?,
        );
    }
    if let Some(digest) = &checked.digest {
        req.headers_mut()
            .insert(INPUT_DIGEST_HEADER, digest.parse()?);
    }
    crate::client::tar_body(&mut req, encoding);
    let resp = client.send_ok(req).await?;
    Ok(decode(resp).await?)
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
    let mut interrupts = Interrupts::new();
    let bar = spinner(format!("job {}: waiting", job.id), json);
    let watched = watch(client, job.id, &bar, None);
    let ended = interrupts.attach(client, job.id, &bar, watched).await;
    bar.finish_and_clear();
    let Attached::Done(job) = ended? else {
        return Ok(INTERRUPTED);
    };
    if json {
        print_json(&job)?;
    } else {
        outln!("{} {}", job.id, job.state);
    }
    Ok(match job.state {
        JobState::Succeeded => 0,
        JobState::Cancelled if interrupts.cancelled() => INTERRUPTED,
        _ => 1,
    })
}

/// Both of job `id`'s streams as it writes them: to our stdout and stderr, or both to
/// stderr in JSON mode, where stdout carries the JSON alone.
async fn stream_output(client: &Client, id: JobId, json: bool) -> anyhow::Result<()> {
    logs::stream_both(client, id, true, json).await
}

/// Where `jobo run` puts job `id`'s results without `-o`: `./jobo-ID`, unless the current
/// directory is the job directory or inside it; then beside the job directory, so that the
/// next `jobo run .` does not upload the old results with the job.
fn default_results_dir(job_dir: &Path, id: JobId) -> anyhow::Result<PathBuf> {
    let name = format!("jobo-{id}");
    let cwd = std::env::current_dir().context("cannot read the current directory")?;
    let job_dir = job_dir
        .canonicalize()
        .with_context(|| format!("cannot resolve {}", job_dir.display()))?;
    if !cwd.starts_with(&job_dir) {
        return Ok(PathBuf::from(name));
    }
    match job_dir.parent() {
        Some(parent) => Ok(parent.join(name)),
        None => anyhow::bail!("the job directory is /: choose where the results go with -o"),
    }
}

/// Like `docker run`: the job's output streams to this terminal, its results land in
/// `./jobo-ID` (beside the job directory when run inside it), and jobo exits with the job's
/// exit code. While the job is queued, a spinner says so (and where it stands in the queue).
/// With `--json`, the job's output goes to stderr, and stdout has the JSON alone.
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
    let id = job.id;
    let mut interrupts = Interrupts::new();
    eprintln!("jobo: job {id} submitted");
    let bar = spinner(format!("job {id}: waiting"), json);
    let started = watch(client, id, &bar, Some(JobState::Running));
    let started = interrupts.attach(client, id, &bar, started).await;
    bar.finish_and_clear();
    if let Attached::Detached = started? {
        return Ok(INTERRUPTED);
    }
    let quiet = ProgressBar::hidden();
    let ended = async {
        let (job, streamed) = tokio::join!(
            watch(client, id, &quiet, None),
            stream_output(client, id, json)
        );
        match streamed {
            // `jobo run … | head`: the output's reader went away, the job and its results
            // still matter.
            Err(e) if e.is::<OutputClosed>() => {}
            other => other?,
        }
        job
    };
    let Attached::Done(job) = interrupts.attach(client, id, &quiet, ended).await? else {
        return Ok(INTERRUPTED);
    };
    let dest = match output {
        Some(dir) => dir,
        None => default_results_dir(&args.dir, id)?,
    };
    let fetched = fetch::download(client, id, &dest, false, json).await;
    if json {
        print_json(&job)?;
    }
    match fetched {
        Ok(()) => eprintln!(
            "jobo: job {id} {}; results in {}",
            job.state,
            dest.display()
        ),
        Err(e) => eprintln!("jobo: job {id} {}; no results: {e:#}", job.state),
    }
    // Why it did not succeed, where jobod says (a job that never started has no logs to tell).
    if job.state != JobState::Succeeded
        && let Some(reason) = &job.reason
    {
        eprintln!("jobo: job {id}: {reason}");
    }
    Ok(match (job.state, job.exit_code) {
        (JobState::Succeeded, _) => 0,
        (JobState::Cancelled, _) if interrupts.cancelled() => INTERRUPTED,
        (_, Some(code)) if code != 0 => code.clamp(1, 255),
        _ => 1,
    })
}
