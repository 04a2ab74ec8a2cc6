//! Ctrl-C while `jobo run` or `jobo submit --wait` is attached to a job, as `docker run`
//! without `-d` does: the first Ctrl-C asks the server to cancel the job and goes on waiting
//! for it to end (its output and final state still arrive); a second one detaches, leaving
//! the job (and the cancel, if it is under way) to the server, and says how to reattach and
//! cancel.
//!
//! Other commands keep SIGINT's default action: `jobo logs -f` and `jobo wait` simply end,
//! killed by the signal (the shell sees status 130), as `docker logs -f` does.

use super::progress::say;
use crate::api::Route;
use crate::client::Client;
use crate::job::JobId;
use indicatif::ProgressBar;
use std::future::Future;
use tokio::signal::unix::{Signal, SignalKind, signal};

/// The exit status of a `jobo` that detached, or whose job it cancelled on Ctrl-C: 128 +
/// SIGINT, what a shell reports for a command a Ctrl-C ended.
pub const INTERRUPTED: i32 = 130;

/// How attached work ended.
pub enum Attached<T> {
    Done(T),
    /// A second Ctrl-C: the job goes on without us.
    Detached,
}

/// Watches for Ctrl-C while a command is attached to one job. Made once the job exists: a
/// Ctrl-C during the upload ends jobo at once, as there is no job to cancel yet.
pub struct Interrupts {
    sigint: Option<Signal>,
    /// Ctrl-Cs seen so far (one: the job is being cancelled).
    seen: u32,
}

impl Interrupts {
    /// Takes over SIGINT (on failure, Ctrl-C keeps its default action and just ends jobo).
    pub fn new() -> Interrupts {
        Interrupts {
            sigint: signal(SignalKind::interrupt()).ok(),
            seen: 0,
        }
    }

    /// Whether the first Ctrl-C cancelled the job.
    pub fn cancelled(&self) -> bool {
        self.seen > 0
    }

    /// Runs `work` (which waits on job `id`) until it ends, handling Ctrl-C as the module
    /// says; messages go above `bar`.
    pub async fn attach<T>(
        &mut self,
        client: &Client,
        id: JobId,
        bar: &ProgressBar,
        work: impl Future<Output = anyhow::Result<T>>,
    ) -> anyhow::Result<Attached<T>> {
        tokio::pin!(work);
        loop {
            let interrupted = async {
                match self.sigint.as_mut() {
                    Some(s) => s.recv().await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                done = &mut work => return done.map(Attached::Done),
                _ = interrupted => {}
            }
            self.seen += 1;
            if self.seen >= 2 {
                bar.finish_and_clear();
                eprintln!("{}", detached(id));
                return Ok(Attached::Detached);
            }
            say_above(
                bar,
                format!("jobo: cancelling job {id} (Ctrl-C again to stop waiting for it)"),
            );
            // The answer comes later, while `work` goes on waiting for the job to end.
            let client = client.clone();
            let bar = bar.clone();
            tokio::spawn(async move {
                let route = Route::Cancel(id);
                if let Err(e) = client
                    .call::<serde_json::Value>(route.method(), &route.path())
                    .await
                {
                    say_above(&bar, format!("jobo: cannot cancel job {id}: {e}"));
                }
            });
        }
    }
}

/// What a detached `jobo` tells its user.
pub fn detached(id: JobId) -> String {
    format!(
        "jobo: detached from job {id}; `jobo wait {id}` or `jobo logs -f {id}` to reattach, \
         `jobo fetch {id}` for its results, `jobo cancel {id}` to cancel it"
    )
}

/// A line on stderr, above the bar when it is drawn.
fn say_above(bar: &ProgressBar, line: String) {
    if bar.is_hidden() {
        eprintln!("{line}");
    } else {
        say(bar, line);
    }
}
