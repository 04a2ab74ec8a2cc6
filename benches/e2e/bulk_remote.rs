//! Bulk data between the server and a node on loopback: a job with a large input runs
//! through one `jobod worker` node, so the server pushes the input to the node
//! (`PUT /v1/payloads/…`) and fetches the results back (its `work/`, which holds the input
//! again); each direction against `tar cf - | tar xf -` of the same data, measured in the
//! same run, rounds interleaved.
//!
//! The times are the server's own timestamps of the job: submitted → running (the push,
//! the node's unpacking and the start of `run.sh` = `true`) and running → succeeded (the
//! fetch of the results, their unpacking into a staging dir, and the move into the job's
//! dir). Two data sets of `JOBO_BENCH_BULK_MB` (the sizes of `bulk.rs`, at most 1000 MB: a node
//! takes no upload over 1 GiB): incompressible, one
//! big file and 10,000 small ones (on loopback nothing is compressed: the kind of data does
//! not matter, the file count does).

use crate::bulk::{DataSet, bulk_bytes, tar_pipe, timed};
use crate::cluster::{LEASE, Setup};
use crate::jobs::{self, ms, quantile};
use crate::procs::{self, Daemon, JOBO, Node};
use crate::{Report, Res, Sizes, verdict};
use std::process::Command;
use std::time::Duration;

/// Target: each direction within this factor of the tar pipe.
const TARGET: f64 = 2.0;
/// The largest data set moved (see [`bulk_remote`]).
const NODE_MAX: u64 = 1000 << 20;

/// The size of each data set.
pub fn bytes(sizes: &Sizes) -> u64 {
    // A node takes uploads up to the default `max_upload_bytes` (1 GiB, content counted),
    // whatever the server's is: 1 GiB and a run.sh are over it.
    bulk_bytes(sizes).min(NODE_MAX)
}

pub async fn bulk_remote(sizes: &Sizes, r: &mut Report) -> Res<()> {
    let bytes = bytes(sizes);
    let rounds = if sizes.quick { 1 } else { 3 };
    let node = Node::start("n1", 2)?;
    let limit = bytes * 2 + (64 << 20);
    let s = Setup::with_nodes(vec![node], LEASE, |config| {
        let config = format!(
            "[server]\nmax_upload_bytes = {limit}\n\n{}",
            config.unwrap_or_default()
        );
        Daemon::new(Some(&config))
    })
    .await?;
    let host = s.daemon.host();
    let client = s.daemon.client();
    let work = s.daemon.root().join("bulk");
    for set in &DataSet::ALL[..2] {
        let src = work.join("src");
        set.make(&src, bytes)?;
        let (mut tar, mut push, mut collect) = (Vec::new(), Vec::new(), Vec::new());
        for round in 0..rounds {
            let dst = work.join(format!("tar-{round}"));
            tar.push(tar_pipe(&src, &dst)?);
            std::fs::remove_dir_all(&dst)?;
            let (_, out) = timed(
                Command::new(JOBO)
                    .arg("--host")
                    .arg(&host)
                    .args(["submit", "--service", "example"])
                    .arg(&src),
            )?;
            let id: i64 = out.trim().parse()?;
            let job = s.explain(jobs::wait(&client, id).await)?;
            let (jobo::job::JobState::Succeeded, Some(started), Some(finished)) =
                (job.state, job.started_at, job.finished_at)
            else {
                return Err(format!("job {id} ended {}: {:?}", job.state, job.reason).into());
            };
            let millis = |v: i64| Duration::from_millis(u64::try_from(v).unwrap_or(0));
            push.push(millis(started - job.submitted_at));
            collect.push(millis(finished - started));
            let _: serde_json::Value = client
                .call(hyper::Method::DELETE, &format!("/v1/jobs/{id}"))
                .await?;
        }
        std::fs::remove_dir_all(&src)?;
        for v in [&mut tar, &mut push, &mut collect] {
            v.sort();
        }
        let tar = quantile(&tar, 0.5);
        let mut line = format!(
            "server ↔ node {} ({} MB, {rounds} rounds, loopback, identity): tar pipe {:.0} ms",
            set.name(),
            bytes >> 20,
            ms(tar)
        );
        for (what, times) in [
            ("server → node (submitted → running)", &push),
            ("node → server (running → succeeded)", &collect),
        ] {
            let t = quantile(times, 0.5);
            let ratio = t.as_secs_f64() / tar.as_secs_f64();
            r.row(
                format!("bulk {what} / tar pipe ({})", set.name()),
                format!("{ratio:.2}×"),
                format!("≤ {TARGET}×"),
                verdict(ratio <= TARGET),
            );
            line += &format!("; {what} {:.0} ms ({ratio:.2}×)", ms(t));
        }
        r.detail(line);
    }
    let pids = s
        .nodes
        .iter()
        .filter_map(Node::pid)
        .chain(s.daemon.pid())
        .map(|p| format!("{:.1} MB", procs::hwm_kib(p) as f64 / 1024.0));
    r.detail(format!(
        "server ↔ node bulk memory (VmHWM): node, jobod: {}",
        pids.collect::<Vec<_>>().join(", ")
    ));
    Ok(())
}
