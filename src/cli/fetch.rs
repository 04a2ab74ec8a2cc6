//! `jobo fetch`: stream a job's results and unpack them as they arrive.

use super::output::outln;
use super::parse_id;
use super::progress::Transfer;
use crate::api::{CONTENT_BYTES_HEADER, Route};
use crate::archive;
use crate::client::{Client, empty, request};
use crate::job::JobId;
use anyhow::Context;
use futures_util::TryStreamExt;
use http_body_util::BodyExt;
use std::path::{Path, PathBuf};

pub async fn fetch(
    client: &Client,
    id: &str,
    output: Option<PathBuf>,
    force: bool,
    json: bool,
) -> anyhow::Result<i32> {
    let id = parse_id(id)?;
    let dest = output.unwrap_or_else(|| PathBuf::from(format!("jobo-{id}")));
    download(client, id, &dest, force, json).await?;
    if json {
        super::output::print_json(&serde_json::json!({"id": id, "path": dest}))?;
    } else {
        outln!("{}", dest.display());
    }
    Ok(0)
}

/// Unpacks job `id`'s results into `dest`. Without `force`, `dest` must not exist; the files
/// go to a sibling temp dir first, so a failed download leaves nothing behind.
pub async fn download(
    client: &Client,
    id: JobId,
    dest: &Path,
    force: bool,
    json: bool,
) -> anyhow::Result<()> {
    if dest.exists() && !force {
        anyhow::bail!(
            "{} already exists; pass --force to unpack into it, or -o to choose another directory",
            dest.display()
        );
    }
    let route = Route::Results(id);
    let resp = client
        .send_ok(request(route.method(), &route.path(), empty())?)
        .await?;
    let parent = match dest.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let staging = tempfile::Builder::new()
        .prefix(".jobo-fetch-")
        .tempdir_in(&parent)
        .with_context(|| format!("cannot write in {}", parent.display()))?;

    let total = resp
        .headers()
        .get(CONTENT_BYTES_HEADER)
        .and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    let reader = tokio_util::io::SyncIoBridge::new(tokio_util::io::StreamReader::new(
        resp.into_body()
            .into_data_stream()
            .map_err(std::io::Error::other),
    ));
    let into = staging.path().to_path_buf();
    let unpacked = tokio::task::spawn_blocking(move || {
        let mut bar = Transfer::new("downloading", total, json);
        let done =
            archive::unpack_tgz_counting(reader, &into, archive::Limits::NONE, &mut |n| bar.add(n));
        bar.finish();
        done
    })
    .await;
    unpacked?.context("cannot unpack the results")?;

    if force && dest.exists() {
        let staged = staging.path().to_path_buf();
        let target = dest.to_path_buf();
        tokio::task::spawn_blocking(move || archive::copy_dir(&staged, &target)).await??;
    } else {
        std::fs::rename(staging.keep(), dest)
            .with_context(|| format!("cannot create {}", dest.display()))?;
    }
    Ok(())
}
