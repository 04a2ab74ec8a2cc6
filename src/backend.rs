//! What every kind of place that runs jobs does: the [`Backend`] trait, and the [`Place`] a
//! backend offers the scheduler. The embedded worker (`local/`) and each remote node
//! (`cluster/`: native `jobod worker` nodes and seed nodes) implement it; the scheduler, the
//! queue and the API reach them only through the facade in `backends.rs`, which picks the
//! backend a job's [`Placement`] names.
//!
//! A new kind of place (a batch system, a container cluster, a run-as-user mode) is one more
//! implementation, handed the same narrow [`crate::core::Core`], and one more arm in the
//! facade's lookup; nothing that schedules, queues or serves changes.

use crate::api::LogQuery;
use crate::paths::LogStream;
use crate::placement::Placement;
use crate::store::Record;
use futures_util::future::BoxFuture;
use hyper::body::Incoming;

/// A place the scheduler can put jobs right now, and how much it can take.
#[derive(Debug, Clone)]
pub struct Place {
    pub node: Placement,
    /// `None`: every service.
    pub services: Option<Vec<String>>,
    pub slots: usize,
    /// CPU use in percent as last reported (0 when unknown): breaks ties between places.
    pub load: f32,
}

impl Place {
    pub fn serves(&self, service: &str) -> bool {
        self.services
            .as_ref()
            .is_none_or(|s| s.iter().any(|x| x == service))
    }
}

/// One kind of place that runs jobs. Each method returns at once or with a future that owns
/// what it needs, so the facade never holds a lock or a borrow across a backend's await.
pub trait Backend: Send + Sync {
    /// What it offers the scheduler now; `None` while it takes no jobs (unreachable,
    /// draining, stopping).
    fn offer(&self) -> Option<Place>;

    /// Starts a job the scheduler placed here (its row says `dispatched`, its attempt counted).
    /// Every outcome, including "could not start", is recorded in the store by the backend.
    fn start(&self, rec: Record);

    /// Asks the run of a started job to stop. `Ok` once the request is taken; the outcome is
    /// recorded like any other. `Err` says why it could not be asked now.
    fn cancel(&self, rec: &Record) -> BoxFuture<'static, Result<(), String>>;

    /// The job a [`Backend::cancel`] was for is final: drop what was kept for the request.
    fn settle(&self, _rec: &Record) {}

    /// The store gave up the job's attempt here before it ended (cancelled before its run
    /// started, or its node was removed): drop what is left of it.
    fn discard(&self, _rec: &Record) {}

    /// The job's live log as `query` asks (from its offset; following; each line after its
    /// time with `timestamps`, src/logtime.rs), when the run's log is elsewhere than the job's
    /// own log file (a remote node's): a future of the stream, which is `None` when it cannot be
    /// had. `None` when the file is the log (the default).
    fn follow_log(
        &self,
        _rec: &Record,
        _stream: LogStream,
        _query: LogQuery,
    ) -> Option<BoxFuture<'static, Option<Incoming>>> {
        None
    }

    /// jobod is stopping: start nothing more, and leave what runs to the next start's
    /// recovery or reconciliation.
    fn shutdown(&self);
}
