//! `jobo logs`: a job's stdout to our stdout, its stderr to our stderr, optionally followed.
//! Several jobs print at once, each line prefixed with `[ID]`; `--json` prints one object per
//! line (`{"id", "stream", "line"}`, and `"time"` with `--timestamps`); `--tail N` starts at
//! the last N lines. A job whose files are gone (removed, expired, pruned) is an error; a queued
//! job has nothing to print yet.
//!
//! `--since` and `--timestamps` are the server's work (the log's time index, src/logtime.rs):
//! `--since` is made an absolute time here, so a follow that reconnects keeps its meaning. With
//! `--tail` the last N lines are taken first, then `--since` drops the older of them, as
//! `docker logs` does. A log without an index is printed whole and without times, with a note.

use super::LogsArgs;
use super::output::OutputClosed;
use super::parse_id;
use crate::api::routes::LOG_TIMES_HEADER;
use crate::api::time::Rfc3339;
use crate::api::{Job, LogQuery, Route};
use crate::client::{Client, ClientError, empty, request};
use crate::job::{JobId, JobState};
use crate::paths::LogStream;
use http_body_util::BodyExt;
use hyper::StatusCode;
use std::collections::BTreeSet;
use std::sync::Mutex;

/// How lines are printed.
#[derive(Debug, Clone, Copy, Default)]
struct Opts {
    follow: bool,
    tail: Option<usize>,
    /// `[ID] ` before each line (several jobs).
    prefix: bool,
    json: bool,
    /// Both streams to our stderr (`jobo run --json`: stdout carries the JSON alone).
    to_stderr: bool,
    since: Option<Rfc3339>,
    /// Lines come after their time and a space.
    timestamps: bool,
}

impl Opts {
    /// Whether bytes pass through as they come, or line by line.
    fn raw(&self) -> bool {
        !self.prefix && !self.json
    }

    /// Whether the server sends lines with times.
    fn timed(&self) -> bool {
        self.since.is_some() || self.timestamps
    }
}

/// `--since`: a time ago (`10m`, `1h30m`: from now) or an RFC 3339 time.
fn since(s: &str) -> anyhow::Result<Rfc3339> {
    if let Ok(ago) = humantime::parse_duration(s) {
        return std::time::SystemTime::now()
            .checked_sub(ago)
            .map(Rfc3339)
            .ok_or_else(|| anyhow::anyhow!("--since {s}: before any time this machine can count"));
    }
    Rfc3339::parse(s).map_err(|_| {
        anyhow::anyhow!(
            "--since '{s}' is neither a duration (10m, 1h30m) nor an RFC 3339 time with a zone \
             (2026-12-01T15:04:05Z)"
        )
    })
}

/// Jobs whose missing time index was noted already (one note per job, not per stream).
static NOTED: Mutex<BTreeSet<JobId>> = Mutex::new(BTreeSet::new());

/// Says once per job that its log has no times, so what `--since`/`--timestamps` do.
fn note_untimed(id: JobId, opts: Opts) {
    let mut noted = NOTED.lock().unwrap_or_else(|p| p.into_inner());
    if noted.insert(id) {
        let since = if opts.since.is_some() {
            " and --since shows every line"
        } else {
            ""
        };
        eprintln!(
            "jobo: job {id}'s log has no time index (it ran before jobo kept one, or on a Slurm \
             node): lines are printed without times{since}"
        );
    }
}

pub async fn logs(client: &Client, args: &LogsArgs, json: bool) -> anyhow::Result<i32> {
    let ids = args
        .ids
        .iter()
        .map(|s| parse_id(s))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let since = args.since.as_deref().map(since).transpose()?;
    let streams: &[LogStream] = match (args.stdout, args.stderr) {
        (true, _) => &[LogStream::Stdout],
        (_, true) => &[LogStream::Stderr],
        _ => &[LogStream::Stdout, LogStream::Stderr],
    };
    let mut code = 0;
    let mut readable = Vec::new();
    for id in ids.iter().copied() {
        match readable_job(client, id, args.follow).await? {
            Ok(true) => readable.push(id),
            Ok(false) => {}
            Err(why) => {
                eprintln!("jobo: error: {why}");
                code = 1;
            }
        }
    }
    let opts = Opts {
        follow: args.follow,
        tail: args.tail,
        prefix: ids.len() > 1,
        json,
        to_stderr: false,
        since,
        timestamps: args.timestamps,
    };
    let copies = readable
        .iter()
        .flat_map(|id| streams.iter().map(move |s| copy(client, *id, *s, opts)));
    for result in futures_util::future::join_all(copies).await {
        result?;
    }
    Ok(code)
}

/// Whether job `id` has logs to print (`Ok(false)`: not yet, and not following, said on
/// stderr), or why it never will (`Err`). A queued job followed says nothing: stderr is the
/// job's own then, and its output comes once it runs.
async fn readable_job(
    client: &Client,
    id: JobId,
    follow: bool,
) -> anyhow::Result<Result<bool, String>> {
    let job: Job = match client.route(&Route::Job(id)).await {
        Ok(job) => job,
        Err(ClientError::Api { status, .. }) if status == StatusCode::NOT_FOUND => {
            return Ok(Err(format!(
                "job {id} not found: it never existed, was pruned, or is not yours"
            )));
        }
        Err(e) => return Err(e.into()),
    };
    Ok(match job.state {
        JobState::Expired => Err(format!(
            "job {id}'s files were removed ({}), its logs with them",
            job.reason.as_deref().unwrap_or("expired")
        )),
        JobState::Queued if !follow => {
            eprintln!("jobo: job {id} is queued: no output yet (`jobo logs -f {id}` waits for it)");
            Ok(false)
        }
        _ => Ok(true),
    })
}

/// Copies both of a job's streams to ours at once (both to stderr with `to_stderr`); with
/// `follow`, until the job ends.
pub async fn stream_both(
    client: &Client,
    id: JobId,
    follow: bool,
    to_stderr: bool,
) -> anyhow::Result<()> {
    let opts = Opts {
        follow,
        to_stderr,
        ..Opts::default()
    };
    let (out, err) = tokio::join!(
        copy(client, id, LogStream::Stdout, opts),
        copy(client, id, LogStream::Stderr, opts),
    );
    out.and(err)
}

async fn body(
    client: &Client,
    id: JobId,
    stream: LogStream,
    query: &LogQuery,
) -> anyhow::Result<hyper::Response<hyper::body::Incoming>> {
    let route = Route::Logs(id, stream);
    Ok(client
        .send_ok(request(route.method(), &route.uri(query)?, empty())?)
        .await?)
}

async fn copy(client: &Client, id: JobId, stream: LogStream, opts: Opts) -> anyhow::Result<()> {
    let mut sink = Sink {
        id,
        stream,
        opts,
        pending: Vec::new(),
    };
    let mut query = LogQuery {
        follow: opts.follow,
        since: opts.since,
        timestamps: opts.timestamps,
        ..LogQuery::default()
    };
    if let Some(n) = opts.tail {
        let all = body(client, id, stream, &LogQuery::default())
            .await?
            .into_body()
            .collect()
            .await?
            .to_bytes();
        let last = last_lines(&all, n);
        // Untimed, the bytes at hand are what to print; timed, the server dates them from there.
        query.offset = (all.len() - last.len()) as u64;
        if !opts.timed() {
            sink.feed(last)?;
            query.offset = all.len() as u64;
            if !opts.follow {
                return sink.finish();
            }
        }
    }
    let resp = body(client, id, stream, &query).await?;
    let untimed = resp
        .headers()
        .get(LOG_TIMES_HEADER)
        .is_some_and(|v| v == "none");
    if opts.timed() && untimed {
        note_untimed(id, opts);
        sink.opts.timestamps = false;
    }
    let mut body = resp.into_body();
    while let Some(frame) = body.frame().await {
        if let Ok(data) = frame?.into_data() {
            sink.feed(&data)?;
        }
    }
    sink.finish()
}

/// The last `n` lines of `text` (a last line without its newline counts).
fn last_lines(text: &[u8], n: usize) -> &[u8] {
    let body = text.strip_suffix(b"\n").unwrap_or(text);
    let start = body
        .iter()
        .enumerate()
        .rev()
        .filter(|(_, b)| **b == b'\n')
        .nth(n.saturating_sub(1))
        .map_or(0, |(i, _)| i + 1);
    if n == 0 {
        &text[text.len()..]
    } else {
        &text[start..]
    }
}

/// Where one stream of one job goes.
struct Sink {
    id: JobId,
    stream: LogStream,
    opts: Opts,
    /// A line not yet ended (line-by-line modes).
    pending: Vec<u8>,
}

impl Sink {
    fn feed(&mut self, data: &[u8]) -> anyhow::Result<()> {
        if self.opts.raw() {
            return self.write(data);
        }
        self.pending.extend_from_slice(data);
        let Some(end) = self.pending.iter().rposition(|b| *b == b'\n') else {
            return Ok(());
        };
        let done: Vec<u8> = self.pending.drain(..=end).collect();
        let mut out = Vec::new();
        for line in done[..end].split(|b| *b == b'\n') {
            out.extend(self.line(line)?);
        }
        self.write(&out)
    }

    fn finish(&mut self) -> anyhow::Result<()> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let rest = std::mem::take(&mut self.pending);
        if self.opts.raw() {
            return self.write(&rest);
        }
        let line = self.line(&rest)?;
        self.write(&line)
    }

    fn line(&self, line: &[u8]) -> anyhow::Result<Vec<u8>> {
        let mut out = if self.opts.json {
            let mut record = serde_json::json!({
                "id": self.id,
                "stream": self.stream.name(),
            });
            let line = match (self.opts.timestamps, line.iter().position(|b| *b == b' ')) {
                (true, Some(space)) => {
                    // `-`: a line whose time is not known.
                    let time = String::from_utf8_lossy(&line[..space]);
                    record["time"] = match time.as_ref() {
                        "-" => serde_json::Value::Null,
                        t => t.into(),
                    };
                    &line[space + 1..]
                }
                _ => line,
            };
            record["line"] = String::from_utf8_lossy(line).into();
            serde_json::to_vec(&record)?
        } else {
            let mut v = format!("[{}] ", self.id).into_bytes();
            v.extend_from_slice(line);
            v
        };
        out.push(b'\n');
        Ok(out)
    }

    fn write(&self, bytes: &[u8]) -> anyhow::Result<()> {
        use std::io::Write;
        let to_stdout =
            !self.opts.to_stderr && (self.opts.json || self.stream == LogStream::Stdout);
        let written = if to_stdout {
            let mut out = std::io::stdout().lock();
            out.write_all(bytes).and_then(|()| out.flush())
        } else {
            let mut err = std::io::stderr().lock();
            err.write_all(bytes).and_then(|()| err.flush())
        };
        match written {
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Err(OutputClosed.into()),
            other => Ok(other?),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tails_count_lines_from_the_end() {
        assert_eq!(last_lines(b"a\nb\nc\n", 2), b"b\nc\n");
        assert_eq!(last_lines(b"a\nb\nc", 2), b"b\nc");
        assert_eq!(last_lines(b"a\nb\n", 5), b"a\nb\n");
        assert_eq!(last_lines(b"a\nb\n", 0), b"");
    }
}
