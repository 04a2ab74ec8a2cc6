//! A client, as `jobo` is one (one request per connection over the socket), and the two
//! measurements every setup shares: sequential latency and concurrent throughput.

use crate::Res;
use crate::procs::Daemon;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::{Method, StatusCode, header};
use jobo::api::Job;
use jobo::client::{self, Client};
use jobo::job::JobState;
use std::time::{Duration, Instant};

/// Longest a benchmark job may take to end before the run counts as failed (a job that never
/// runs, e.g. on a node that never became usable, must not hang the benchmark).
const JOB_DEADLINE: Duration = Duration::from_secs(120);

/// The upload of a job whose `run.sh` is `script`.
pub fn script_tgz(script: &str) -> Res<Bytes> {
    let gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    let mut tar = tar::Builder::new(gz);
    let content = script.as_bytes();
    let mut h = tar::Header::new_gnu();
    h.set_size(content.len() as u64);
    h.set_mode(0o755);
    h.set_entry_type(tar::EntryType::Regular);
    h.set_path("run.sh")?;
    h.set_cksum();
    tar.append(&h, content)?;
    Ok(Bytes::from(tar.into_inner()?.finish()?))
}

/// The upload of a trivial job: `run.sh` = `true`.
pub fn trivial_tgz() -> Res<Bytes> {
    script_tgz("true\n")
}

pub async fn submit(c: &Client, tgz: &Bytes) -> Res<Job> {
    let body = Full::new(tgz.clone())
        .map_err(|never| match never {})
        .boxed_unsync();
    let mut req = client::request(Method::POST, "/v1/jobs?service=example", body)?;
    req.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("application/gzip"),
    );
    let resp = c.send_ok(req).await?;
    if resp.status() != StatusCode::CREATED {
        return Err(format!("submit answered {}", resp.status()).into());
    }
    Ok(client::decode(resp).await?)
}

/// Long-polls until the job is terminal (an error after [`JOB_DEADLINE`]).
pub async fn wait(c: &Client, id: i64) -> Res<Job> {
    let deadline = Instant::now() + JOB_DEADLINE;
    loop {
        let job: Job = c.get(&format!("/v1/jobs/{id}/wait?timeout=30")).await?;
        if job.state.is_terminal() {
            return Ok(job);
        }
        if Instant::now() >= deadline {
            return Err(format!(
                "job {id} still {} after {} s",
                job.state,
                JOB_DEADLINE.as_secs()
            )
            .into());
        }
    }
}

/// One long poll `GET /v1/jobs/{id}/wait?until=STATE&timeout=SECS`: the job once it is in
/// `until` (or can no longer get there), or as it is after `timeout_secs`.
pub async fn wait_until(c: &Client, id: i64, until: JobState, timeout_secs: u64) -> Res<Job> {
    Ok(c.get(&format!(
        "/v1/jobs/{id}/wait?until={until}&timeout={timeout_secs}"
    ))
    .await?)
}

impl Latency {
    /// The details line: the spread, the submit alone, and the server-side medians.
    pub fn detail(&self, what: &str) -> String {
        let server_ms = |v: Option<i64>| v.map_or_else(|| "?".into(), |v| format!("{v} ms"));
        format!(
            "{what}: p90 {:.2} ms, max {:.2} ms; submit answered (201) p50 {:.2} ms; \
             server-side p50: submitted → running {}, running → finished {}",
            ms(self.p90),
            ms(self.max),
            ms(self.submit_p50),
            server_ms(self.to_running_p50),
            server_ms(self.run_p50),
        )
    }
}

pub fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// The `q` quantile (nearest rank) of sorted values.
pub fn quantile<T: Copy>(sorted: &[T], q: f64) -> T {
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

// ---------------------------------------------------------------------------------------------
// Sequential latency

pub struct Latency {
    pub n: usize,
    pub p50: Duration,
    pub p90: Duration,
    pub p99: Duration,
    pub max: Duration,
    pub submit_p50: Duration,
    pub submit_p99: Duration,
    /// Server-side medians from the job's own timestamps (ms): submitted → running recorded,
    /// running → finished.
    pub to_running_p50: Option<i64>,
    pub run_p50: Option<i64>,
}

/// `n` trivial jobs, one at a time, untimed: the first connections, the page cache, a node's
/// first payload are not what we measure.
pub async fn warm_up(c: &Client, n: usize) -> Res<()> {
    let tgz = trivial_tgz()?;
    for _ in 0..n {
        let job = submit(c, &tgz).await?;
        let done = wait(c, job.id).await?;
        if done.state != JobState::Succeeded {
            return Err(format!("job {} ended {}: {:?}", done.id, done.state, done.reason).into());
        }
    }
    Ok(())
}

/// One job of `tgz`: submit → wait until succeeded. Returns the time to succeeded, the time
/// the submit took, and the job as it ended.
pub async fn timed(c: &Client, tgz: &Bytes) -> Res<(Duration, Duration, Job)> {
    let t0 = Instant::now();
    let job = submit(c, tgz).await?;
    let t1 = Instant::now();
    let done = wait(c, job.id).await?;
    let t2 = Instant::now();
    if done.state != JobState::Succeeded {
        return Err(format!("job {} ended {}: {:?}", done.id, done.state, done.reason).into());
    }
    Ok((t2 - t0, t1 - t0, done))
}

/// `warmup` untimed jobs, then `n` (at least one) timed ones: submit → wait until succeeded,
/// one at a time.
pub async fn latency(c: &Client, warmup: usize, n: usize) -> Res<Latency> {
    let tgz = trivial_tgz()?;
    warm_up(c, warmup).await?;
    let n = n.max(1);
    let mut total = Vec::with_capacity(n);
    let mut submits = Vec::with_capacity(n);
    let mut to_running = Vec::new();
    let mut runs = Vec::new();
    for _ in 0..n {
        let (took, submitted, done) = timed(c, &tgz).await?;
        total.push(took);
        submits.push(submitted);
        if let (Some(s), Some(f)) = (done.started_at, done.finished_at) {
            to_running.push(s - done.submitted_at);
            runs.push(f - s);
        }
    }
    total.sort();
    submits.sort();
    to_running.sort();
    runs.sort();
    Ok(Latency {
        n: total.len(),
        p50: quantile(&total, 0.5),
        p90: quantile(&total, 0.9),
        p99: quantile(&total, 0.99),
        max: *total.last().ok_or("no jobs")?,
        submit_p50: quantile(&submits, 0.5),
        submit_p99: quantile(&submits, 0.99),
        to_running_p50: (!to_running.is_empty()).then(|| quantile(&to_running, 0.5)),
        run_p50: (!runs.is_empty()).then(|| quantile(&runs, 0.5)),
    })
}

// ---------------------------------------------------------------------------------------------
// Concurrent throughput

pub struct Batch {
    /// Every job as it ended (all succeeded).
    pub jobs: Vec<Job>,
    pub submitted_in: Duration,
    pub total: Duration,
}

impl Batch {
    pub fn rate(&self) -> f64 {
        self.jobs.len() as f64 / self.total.as_secs_f64()
    }
}

/// `n` trivial jobs from `submitters` concurrent clients, each submitting its share and then
/// waiting for its jobs, until all succeeded.
pub async fn batch(d: &Daemon, n: usize, submitters: usize) -> Res<Batch> {
    let tgz = trivial_tgz()?;
    let per = n / submitters;
    let start = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..submitters {
        let c = d.client();
        let tgz = tgz.clone();
        let n = per + usize::from(i < n % submitters);
        tasks.spawn(async move {
            let mut ids = Vec::with_capacity(n);
            for _ in 0..n {
                ids.push(submit(&c, &tgz).await?.id);
            }
            let submitted = Instant::now();
            let mut jobs = Vec::with_capacity(n);
            for id in ids {
                let job = wait(&c, id).await?;
                if job.state != JobState::Succeeded {
                    return Err::<_, Box<dyn std::error::Error + Send + Sync>>(
                        format!("job {id} ended {}: {:?}", job.state, job.reason).into(),
                    );
                }
                jobs.push(job);
            }
            Ok((jobs, submitted))
        });
    }
    let mut jobs = Vec::with_capacity(n);
    let mut last_submit = start;
    while let Some(r) = tasks.join_next().await {
        let (done, submitted) = r??;
        jobs.extend(done);
        last_submit = last_submit.max(submitted);
    }
    Ok(Batch {
        jobs,
        submitted_in: last_submit - start,
        total: start.elapsed(),
    })
}
