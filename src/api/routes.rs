//! The native API's routes and their queries, in one place for both ends: the CLI builds its
//! requests with [`Route::path`] and [`Route::uri`], the server matches requests with
//! [`Route::parse`], and both read and write the same query types, so neither side can drift
//! from the other.
//!
//! | route | query |
//! | --- | --- |
//! | `GET /v1/services` | |
//! | `GET /v1/jobs`, `POST /v1/jobs` | [`ListQuery`], [`SubmitQuery`] |
//! | `GET`, `DELETE /v1/jobs/{id}` | |
//! | `GET /v1/jobs/{id}/wait` | [`WaitQuery`] |
//! | `POST /v1/jobs/{id}/cancel` | |
//! | `POST /v1/jobs/{id}/restart` | |
//! | `POST /v1/jobs/prune` | [`PruneQuery`] |
//! | `GET /v1/jobs/{id}/logs/{stdout,stderr}` | [`LogQuery`] |
//! | `GET /v1/jobs/{id}/results` | [`ResultsQuery`] |
//! | `GET`, `POST /v1/nodes` | |
//! | `DELETE /v1/nodes/{id or name}` | [`RemoveNodeQuery`] |
//! | `POST /v1/nodes/{id or name}/drain`, `…/undrain` | |
//! | `GET`, `POST /v1/tokens` | (body: [`crate::api::NewToken`]) |
//! | `DELETE /v1/tokens/{id}` | |
//! | `GET /v1/system`, `POST /v1/system/stop` | |
//!
//! A node key (id or name) is percent-encoded in the path when it holds anything but
//! letters, digits and `.`, `_`, `-`, `~`, `:`.

use super::time::Rfc3339;
use crate::job::{JobId, JobState};
use crate::paths::LogStream;
use hyper::Method;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_decode_str, utf8_percent_encode};
use serde::{Deserialize, Serialize};

/// One request of the native API, by what it does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    Services,
    ListJobs,
    Submit,
    Job(JobId),
    RemoveJob(JobId),
    Wait(JobId),
    Cancel(JobId),
    Restart(JobId),
    Prune,
    Logs(JobId, LogStream),
    Results(JobId),
    Nodes,
    AddNode,
    RemoveNode(String),
    Drain(String),
    Undrain(String),
    Tokens,
    CreateToken,
    RevokeToken(i64),
    System,
    Stop,
}

/// Why a request matches no route.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RouteError {
    /// No such route (`404`).
    #[error("{0}")]
    NotFound(String),
    /// The route exists, but a path segment is not valid (`400`).
    #[error("{0}")]
    BadRequest(String),
    /// A node route whose node key is not valid percent-encoded UTF-8 (`400`, once the caller
    /// may manage nodes at all).
    #[error("invalid node id or name '{0}'")]
    BadNodeKey(String),
}

/// What is percent-encoded in a node key: all but letters, digits and `.`, `_`, `-`, `~`, `:`.
const KEY: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'.')
    .remove(b'_')
    .remove(b'-')
    .remove(b'~')
    .remove(b':');

impl Route {
    pub fn method(&self) -> Method {
        match self {
            Route::Services
            | Route::ListJobs
            | Route::Job(_)
            | Route::Wait(_)
            | Route::Logs(..)
            | Route::Results(_)
            | Route::Nodes
            | Route::Tokens
            | Route::System => Method::GET,
            Route::Submit | Route::Cancel(_) | Route::AddNode | Route::CreateToken => Method::POST,
            Route::Restart(_) | Route::Prune => Method::POST,
            Route::Drain(_) | Route::Undrain(_) | Route::Stop => Method::POST,
            Route::RemoveJob(_) | Route::RemoveNode(_) | Route::RevokeToken(_) => Method::DELETE,
        }
    }

    /// The path, without a query.
    pub fn path(&self) -> String {
        let key = |k: &str| utf8_percent_encode(k, KEY).to_string();
        match self {
            Route::Services => "/v1/services".into(),
            Route::ListJobs | Route::Submit => "/v1/jobs".into(),
            Route::Job(id) | Route::RemoveJob(id) => format!("/v1/jobs/{id}"),
            Route::Wait(id) => format!("/v1/jobs/{id}/wait"),
            Route::Cancel(id) => format!("/v1/jobs/{id}/cancel"),
            Route::Restart(id) => format!("/v1/jobs/{id}/restart"),
            Route::Prune => self.template().into(),
            Route::Logs(id, stream) => format!("/v1/jobs/{id}/logs/{}", stream.name()),
            Route::Results(id) => format!("/v1/jobs/{id}/results"),
            Route::Nodes | Route::AddNode => "/v1/nodes".into(),
            Route::RemoveNode(k) => format!("/v1/nodes/{}", key(k)),
            Route::Drain(k) => format!("/v1/nodes/{}/drain", key(k)),
            Route::Undrain(k) => format!("/v1/nodes/{}/undrain", key(k)),
            Route::Tokens | Route::CreateToken => "/v1/tokens".into(),
            Route::RevokeToken(id) => format!("/v1/tokens/{id}"),
            Route::System | Route::Stop => self.template().into(),
        }
    }

    /// The path as the API document names it, with `{id}`, `{stream}` and `{node}`.
    pub fn template(&self) -> &'static str {
        match self {
            Route::Services => "/v1/services",
            Route::ListJobs | Route::Submit => "/v1/jobs",
            Route::Job(_) | Route::RemoveJob(_) => "/v1/jobs/{id}",
            Route::Wait(_) => "/v1/jobs/{id}/wait",
            Route::Cancel(_) => "/v1/jobs/{id}/cancel",
            Route::Restart(_) => "/v1/jobs/{id}/restart",
            Route::Prune => "/v1/jobs/prune",
            Route::Logs(..) => "/v1/jobs/{id}/logs/{stream}",
            Route::Results(_) => "/v1/jobs/{id}/results",
            Route::Nodes | Route::AddNode => "/v1/nodes",
            Route::RemoveNode(_) => "/v1/nodes/{node}",
            Route::Drain(_) => "/v1/nodes/{node}/drain",
            Route::Undrain(_) => "/v1/nodes/{node}/undrain",
            Route::Tokens | Route::CreateToken => "/v1/tokens",
            Route::RevokeToken(_) => "/v1/tokens/{id}",
            Route::System => "/v1/system",
            Route::Stop => "/v1/system/stop",
        }
    }

    /// One route of every kind: what the tests and the API document's check walk through.
    pub fn examples() -> Vec<Route> {
        vec![
            Route::Services,
            Route::ListJobs,
            Route::Submit,
            Route::Job(7),
            Route::RemoveJob(7),
            Route::Wait(7),
            Route::Cancel(7),
            Route::Restart(7),
            Route::Prune,
            Route::Logs(7, LogStream::Stderr),
            Route::Results(7),
            Route::Nodes,
            Route::AddNode,
            Route::RemoveNode("10.0.0.5:9000".into()),
            Route::Drain("a b/c?d".into()),
            Route::Undrain("é".into()),
            Route::Tokens,
            Route::CreateToken,
            Route::RevokeToken(3),
            Route::System,
            Route::Stop,
        ]
    }

    /// The path with `query` (one of this module's query types).
    pub fn uri<Q: Serialize>(&self, query: &Q) -> Result<String, serde_urlencoded::ser::Error> {
        with_query(self.path(), query)
    }

    /// The route of a request, from its method and its path (without the query).
    pub fn parse(method: &Method, path: &str) -> Result<Route, RouteError> {
        let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
        let ["v1", rest @ ..] = segments.as_slice() else {
            return Err(RouteError::NotFound(format!(
                "no route for {method} {path}"
            )));
        };
        let route = match (method, rest) {
            (&Method::GET, ["services"]) => Route::Services,
            (&Method::GET, ["jobs"]) => Route::ListJobs,
            (&Method::POST, ["jobs"]) => Route::Submit,
            (&Method::GET, ["jobs", id]) => Route::Job(job_id(id)?),
            (&Method::DELETE, ["jobs", id]) => Route::RemoveJob(job_id(id)?),
            (&Method::GET, ["jobs", id, "wait"]) => Route::Wait(job_id(id)?),
            (&Method::POST, ["jobs", id, "cancel"]) => Route::Cancel(job_id(id)?),
            (&Method::POST, ["jobs", id, "restart"]) => Route::Restart(job_id(id)?),
            (&Method::POST, ["jobs", "prune"]) => Route::Prune,
            (&Method::GET, ["jobs", id, "logs", stream]) => {
                let id = job_id(id)?;
                let stream = LogStream::parse(stream).ok_or_else(|| {
                    RouteError::BadRequest(format!(
                        "unknown log stream '{stream}' (stdout or stderr)"
                    ))
                })?;
                Route::Logs(id, stream)
            }
            (&Method::GET, ["jobs", id, "results"]) => Route::Results(job_id(id)?),
            (&Method::GET, ["nodes"]) => Route::Nodes,
            (&Method::POST, ["nodes"]) => Route::AddNode,
            (&Method::DELETE, ["nodes", key]) => Route::RemoveNode(node_key(key)?),
            (&Method::POST, ["nodes", key, "drain"]) => Route::Drain(node_key(key)?),
            (&Method::POST, ["nodes", key, "undrain"]) => Route::Undrain(node_key(key)?),
            (&Method::GET, ["tokens"]) => Route::Tokens,
            (&Method::POST, ["tokens"]) => Route::CreateToken,
            (&Method::DELETE, ["tokens", id]) => Route::RevokeToken(token_id(id)?),
            (&Method::GET, ["system"]) => Route::System,
            (&Method::POST, ["system", "stop"]) => Route::Stop,
            _ => {
                return Err(RouteError::NotFound(format!(
                    "no route for {method} /v1/{}",
                    rest.join("/")
                )));
            }
        };
        Ok(route)
    }

    /// Whether only an administrator may call it (node and token management).
    pub fn for_admins(&self) -> bool {
        matches!(
            self,
            Route::Nodes
                | Route::AddNode
                | Route::RemoveNode(_)
                | Route::Drain(_)
                | Route::Undrain(_)
                | Route::Tokens
                | Route::CreateToken
                | Route::RevokeToken(_)
                | Route::Stop
        )
    }
}

/// `path?query`, or `path` alone when the query has no field set.
pub fn with_query<Q: Serialize>(
    path: String,
    query: &Q,
) -> Result<String, serde_urlencoded::ser::Error> {
    let query = serde_urlencoded::to_string(query)?;
    Ok(if query.is_empty() {
        path
    } else {
        format!("{path}?{query}")
    })
}

/// A job id path segment: a positive integer.
pub fn job_id(s: &str) -> Result<JobId, RouteError> {
    match s.parse::<JobId>() {
        Ok(id) if id > 0 => Ok(id),
        _ => Err(RouteError::BadRequest(format!(
            "invalid job id '{s}': job ids are positive integers"
        ))),
    }
}

/// A token id path segment: a positive integer.
fn token_id(s: &str) -> Result<i64, RouteError> {
    match s.parse::<i64>() {
        Ok(id) if id > 0 => Ok(id),
        _ => Err(RouteError::BadRequest(format!(
            "invalid token id '{s}': token ids are positive integers (see `jobo token ls`)"
        ))),
    }
}

/// A node id or name from the path, percent-decoded. A `%` not followed by two hex digits is
/// refused, not taken literally: the CLI never sends one.
fn node_key(segment: &str) -> Result<String, RouteError> {
    let bad = || RouteError::BadNodeKey(segment.to_string());
    let bytes = segment.as_bytes();
    let escapes_whole = bytes.iter().enumerate().all(|(i, &b)| {
        b != b'%'
            || bytes
                .get(i + 1..i + 3)
                .is_some_and(|h| h.iter().all(u8::is_ascii_hexdigit))
    });
    if !escapes_whole {
        return Err(bad());
    }
    let key = percent_decode_str(segment)
        .decode_utf8()
        .map_err(|_| bad())?;
    if key.is_empty() {
        return Err(bad());
    }
    Ok(key.into_owned())
}

/// Query of `POST /v1/jobs`: the body is the job directory as tar.gz.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct SubmitQuery {
    /// Required; an `Option` so that its absence is answered in words.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
    #[serde(default)]
    pub priority: i64,
    /// A duration as `humantime` reads it ("90s", "2h").
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timeout: Option<String>,
    /// A size ("512M", "2G").
    #[serde(skip_serializing_if = "Option::is_none")]
    pub memory: Option<String>,
    /// A number of CPUs ("1.5").
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cpus: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pids: Option<String>,
    /// The job's own variables as a JSON object (`{"OMP_NUM_THREADS": "4"}`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub env: Option<String>,
    /// A name to find it by.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Labels as a JSON object (`{"team": "ml"}`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub labels: Option<String>,
    /// Job ids, comma-separated, that must succeed before it runs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub after: Option<String>,
    /// `FIRST-LAST`: one job per index, each with `JOBO_ARRAY_INDEX` set.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub array: Option<String>,
}

/// Query of `GET /v1/jobs`. The answer's `X-Total-Count` header says how many jobs match
/// without the limit.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ListQuery {
    /// One state or several, comma-separated (`queued,running`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Labels every job listed has, as a JSON object (`{"team": "ml"}`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub labels: Option<String>,
    /// Only the jobs of this array (the id of its first job).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub array: Option<JobId>,
}

/// The header of `GET /v1/jobs` that counts the matching jobs when `limit` cut the list: at
/// most 10,001 (more than 10,000).
pub const TOTAL_COUNT_HEADER: &str = "x-total-count";

/// States as `?state=` lists them: comma-separated names.
pub fn parse_states(s: &str) -> Result<Vec<JobState>, String> {
    s.split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(str::parse::<JobState>)
        .collect()
}

/// Query of `POST /v1/jobs/prune`: finished jobs to delete, rows and files.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct PruneQuery {
    /// Finished longer ago than this duration ("7d", "12h").
    #[serde(skip_serializing_if = "Option::is_none")]
    pub older_than: Option<String>,
    /// Only in these final states, comma-separated [default: every final state].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    /// Only this user's jobs (administrators; others prune only their own).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// Only say what would go.
    #[serde(default)]
    pub dry_run: bool,
}

/// Query of `GET /v1/jobs/{id}/wait`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct WaitQuery {
    /// Seconds; the answer comes at the latest then, final or not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timeout: Option<u64>,
    /// Answer once the job is, or has been since the call, in this state.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub until: Option<JobState>,
}

/// Query of a log route (`GET /v1/jobs/{id}/logs/…`, and a node's `/v1/payloads/{id}/logs/…`).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct LogQuery {
    /// Keep streaming appends until the run ends.
    #[serde(default)]
    pub follow: bool,
    /// Start at this byte.
    #[serde(default)]
    pub offset: u64,
    /// Only the lines written at or after this time (by the time index beside the log:
    /// src/logtime.rs). A log without an index (written before jobo had one, or by Slurm) is
    /// sent whole, and its response says so in [`LOG_TIMES_HEADER`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub since: Option<Rfc3339>,
    /// Each line after its time (RFC 3339 with nanoseconds) and a space, as `docker logs -t`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub timestamps: bool,
}

impl LogQuery {
    /// Whether the log goes by lines with times (else as the bytes are).
    pub fn timed(&self) -> bool {
        self.since.is_some() || self.timestamps
    }
}

/// Response header of a log asked for with `since` or `timestamps` whose lines have no times:
/// `none` (the log is sent as it is).
pub const LOG_TIMES_HEADER: &str = "x-jobo-log-times";

/// Query of `GET /v1/jobs/{id}/results`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ResultsQuery {
    /// `tar.gz` (the default), `zip`, or `tar` (encoded as `Accept-Encoding` allows).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub format: Option<String>,
}

/// Query of `DELETE /v1/nodes/{key}`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct RemoveNodeQuery {
    /// Remove it even while jobs run there (they go back to the queue).
    #[serde(default)]
    pub force: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_route_parses_back_from_its_path() {
        for route in Route::examples() {
            assert_eq!(
                Route::parse(&route.method(), &route.path()),
                Ok(route.clone())
            );
        }
    }

    #[test]
    fn node_keys_are_encoded_and_decoded() {
        assert_eq!(
            Route::RemoveNode("10.0.0.5:9000".into()).path(),
            "/v1/nodes/10.0.0.5:9000"
        );
        assert_eq!(
            Route::Drain("a b/c?d".into()).path(),
            "/v1/nodes/a%20b%2Fc%3Fd/drain"
        );
        assert_eq!(Route::RemoveNode("é".into()).path(), "/v1/nodes/%C3%A9");
        assert_eq!(node_key("a%20b"), Ok("a b".into()));
        for bad in ["%zz", "%4", "", "%ff"] {
            assert!(node_key(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn bad_segments_and_unknown_routes_are_told_apart() {
        let parse = |m: Method, p: &str| Route::parse(&m, p);
        assert!(matches!(
            parse(Method::GET, "/v1/jobs/abc"),
            Err(RouteError::BadRequest(m)) if m.contains("invalid job id 'abc'")
        ));
        assert!(matches!(
            parse(Method::GET, "/v1/jobs/1/logs/both"),
            Err(RouteError::BadRequest(m)) if m.contains("unknown log stream")
        ));
        assert_eq!(
            parse(Method::PUT, "/v1/nodes"),
            Err(RouteError::NotFound("no route for PUT /v1/nodes".into()))
        );
        assert_eq!(
            parse(Method::GET, "/v1/nodes/n1"),
            Err(RouteError::NotFound("no route for GET /v1/nodes/n1".into()))
        );
    }

    #[test]
    fn queries_leave_out_what_is_not_set() -> Result<(), serde_urlencoded::ser::Error> {
        let wait = WaitQuery {
            timeout: Some(30),
            until: Some(JobState::Running),
        };
        assert_eq!(
            Route::Wait(3).uri(&wait)?,
            "/v1/jobs/3/wait?timeout=30&until=running"
        );
        assert_eq!(
            Route::Results(3).uri(&ResultsQuery::default())?,
            "/v1/jobs/3/results"
        );
        let submit = SubmitQuery {
            service: Some("s".into()),
            ..SubmitQuery::default()
        };
        assert_eq!(Route::Submit.uri(&submit)?, "/v1/jobs?service=s&priority=0");
        Ok(())
    }
}
