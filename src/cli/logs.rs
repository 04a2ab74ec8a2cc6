//! `jobo logs`: a job's stdout to our stdout, its stderr to our stderr, optionally followed.
//! Several jobs print at once, each line prefixed with `[ID]`; `--json` prints one object per
//! line (`{"id", "stream", "line"}`); `--tail N` starts at the last N lines. A job whose files
//! are gone (removed, expired, pruned) is an error; a queued job has nothing to print yet.

use super::LogsArgs;
use super::output::OutputClosed;
use super::parse_id;
use crate::api::{Job, LogQuery, Route};
use crate::client::{Client, ClientError, empty, request};
use crate::job::{JobId, JobState};
use crate::paths::LogStream;
use http_body_util::BodyExt;
use hyper::StatusCode;

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
}

impl Opts {
    /// Whether bytes pass through as they come, or line by line.
    fn raw(&self) -> bool {
        !self.prefix && !self.json
    }
}

pub async fn logs(client: &Client, args: &LogsArgs, json: bool) -> anyhow::Result<i32> {
    let ids = args
        .ids
        .iter()
        .map(|s| parse_id(s))
        .collect::<anyhow::Result<Vec<_>>>()?;
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
    follow: bool,
    offset: u64,
) -> anyhow::Result<hyper::body::Incoming> {
    let route = Route::Logs(id, stream);
    let query = LogQuery { follow, offset };
    let resp = client
        .send_ok(request(route.method(), &route.uri(&query)?, empty())?)
        .await?;
    Ok(resp.into_body())
}

async fn copy(client: &Client, id: JobId, stream: LogStream, opts: Opts) -> anyhow::Result<()> {
    let mut sink = Sink {
        id,
        stream,
        opts,
        pending: Vec::new(),
    };
    let mut offset = 0;
    if let Some(n) = opts.tail {
        let all = body(client, id, stream, false, 0)
            .await?
            .collect()
            .await?
            .to_bytes();
        offset = all.len() as u64;
        sink.feed(last_lines(&all, n))?;
        if !opts.follow {
            return sink.finish();
        }
    }
    let mut body = body(client, id, stream, opts.follow, offset).await?;
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
            serde_json::to_vec(&serde_json::json!({
                "id": self.id,
                "stream": self.stream.name(),
                "line": String::from_utf8_lossy(line),
            }))?
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
