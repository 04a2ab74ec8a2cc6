//! `jobo logs`: a job's stdout to our stdout, its stderr to our stderr, optionally followed.

use super::parse_id;
use crate::api::{LogQuery, Route};
use crate::client::{Client, empty, request};
use crate::job::JobId;
use crate::paths::LogStream;
use http_body_util::BodyExt;
use tokio::io::{AsyncWrite, AsyncWriteExt};

pub async fn logs(client: &Client, id: &str, follow: bool) -> anyhow::Result<i32> {
    stream_both(client, parse_id(id)?, follow).await?;
    Ok(0)
}

/// Copies both of a job's streams to ours at once; with `follow`, until the job ends.
pub async fn stream_both(client: &Client, id: JobId, follow: bool) -> anyhow::Result<()> {
    let (out, err) = tokio::join!(
        copy(client, id, LogStream::Stdout, follow, tokio::io::stdout()),
        copy(client, id, LogStream::Stderr, follow, tokio::io::stderr()),
    );
    out.and(err)
}

pub(super) async fn copy(
    client: &Client,
    id: JobId,
    stream: LogStream,
    follow: bool,
    mut to: impl AsyncWrite + Unpin,
) -> anyhow::Result<()> {
    let route = Route::Logs(id, stream);
    let query = LogQuery { follow, offset: 0 };
    let resp = client
        .send_ok(request(route.method(), &route.uri(&query)?, empty())?)
        .await?;
    let mut body = resp.into_body();
    while let Some(frame) = body.frame().await {
        if let Ok(data) = frame?.into_data() {
            let written = match to.write_all(&data).await {
                Ok(()) => to.flush().await,
                Err(e) => Err(e),
            };
            match written {
                Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {
                    return Err(super::output::OutputClosed.into());
                }
                other => other?,
            }
        }
    }
    Ok(())
}
