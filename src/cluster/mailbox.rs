//! How a node's task hears from the rest of the server and from its own sub-tasks.
//!
//! Each remote node is one task that owns everything in flight on it (payloads being pushed,
//! collected, followed). Others never touch that state: the facade sends a [`Command`], and
//! the task's sub-tasks (one push, one collection, one follower …) send a report back when
//! they are done. Both arrive here, in one [`Inbox`], and the task handles them one at a
//! time, so no set is shared between tasks and none needs a lock.
//!
//! The task ends when every node handle (`handle.rs`, the sending side of its commands)
//! is gone: the node was removed, replaced, or jobod is stopping.

use crate::api::LogQuery;
use crate::paths::LogStream;
use crate::store::Record;
use hyper::body::Incoming;
use std::pin::Pin;
use tokio::sync::{mpsc, oneshot};

/// What the rest of the server asks of a node's task.
pub enum Command {
    /// Run this job, which the scheduler just placed on the node.
    Start(Record),
    /// Stop the run of this job; answer once the node took the request.
    Cancel {
        rec: Record,
        reply: oneshot::Sender<Result<(), String>>,
    },
    /// The store gave up this job's attempt: drop the node's copy.
    Discard(Record),
    /// A stream of this job's log as `query` asks, if the node keeps one.
    FollowLog {
        rec: Record,
        stream: LogStream,
        query: LogQuery,
        reply: oneshot::Sender<Option<Incoming>>,
    },
}

/// What came first: the awaited future, a piece of mail, or the end of the commands.
#[expect(
    clippy::large_enum_variant,
    reason = "one message per job or report; boxing the record would cost an allocation each"
)]
pub enum Next<T, R> {
    Done(T),
    Command(Command),
    Report(R),
    /// No one can send commands any more: the task should wind down.
    Closed,
}

/// A node task's mail: commands from outside and reports of type `R` from its sub-tasks.
pub struct Inbox<R> {
    commands: mpsc::UnboundedReceiver<Command>,
    reports: mpsc::UnboundedReceiver<R>,
    /// Handed to each sub-task; the task keeps one, so `reports` never closes.
    report_to: mpsc::UnboundedSender<R>,
    closed: bool,
}

impl<R> Inbox<R> {
    pub fn new(commands: mpsc::UnboundedReceiver<Command>) -> Inbox<R> {
        let (report_to, reports) = mpsc::unbounded_channel();
        Inbox {
            commands,
            reports,
            report_to,
            closed: false,
        }
    }

    /// Where a sub-task sends its report.
    pub fn reporter(&self) -> mpsc::UnboundedSender<R> {
        self.report_to.clone()
    }

    /// Waits until `fut` is done or mail comes, whichever is first; `fut` is left as it is
    /// to be polled again. Reports come first: they free what is in flight.
    pub async fn next<F: Future>(&mut self, fut: Pin<&mut F>) -> Next<F::Output, R> {
        if self.closed {
            return Next::Closed;
        }
        tokio::select! {
            biased;
            Some(report) = self.reports.recv() => Next::Report(report),
            command = self.commands.recv() => match command {
                Some(command) => Next::Command(command),
                None => {
                    self.closed = true;
                    Next::Closed
                }
            },
            out = fut => Next::Done(out),
        }
    }

    /// The next report, once the commands are closed and the task waits for its sub-tasks.
    pub async fn report(&mut self) -> Option<R> {
        self.reports.recv().await
    }
}

/// A node's task: it handles commands and its sub-tasks' reports one at a time.
pub(crate) trait Task {
    type Report;

    fn inbox(&mut self) -> &mut Inbox<Self::Report>;

    async fn command(&mut self, command: Command);

    async fn report(&mut self, report: Self::Report);

    /// Awaits `fut` while handling commands and reports; `None` once the commands are closed.
    async fn alongside<F: Future>(&mut self, fut: F) -> Option<F::Output> {
        let mut fut = std::pin::pin!(fut);
        loop {
            match self.inbox().next(fut.as_mut()).await {
                Next::Done(out) => return Some(out),
                Next::Command(command) => self.command(command).await,
                Next::Report(report) => self.report(report).await,
                Next::Closed => return None,
            }
        }
    }
}
