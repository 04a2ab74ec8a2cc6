//! The routes a worker node serves, for both ends: the server's node clients build requests
//! with [`NodeRoute::path`] and [`NodeRoute::uri`], the node matches them with
//! [`NodeRoute::parse`]. The native protocol's (`/v1/…`, see the module above) and the seed's
//! client routes (`/submit`, `/retrieve/{n}`, …), which the seed's server and jobo's
//! `--protocol seed` nodes call.
//!
//! Payload ids stay strings here: each handler says itself what it answers to one that is
//! not a uuid (native) or not a number (seed), as the seed does.

use crate::paths::LogStream;
use hyper::Method;
use serde::{Deserialize, Serialize};

/// One request to a worker node, by what it does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NodeRoute {
    /// `GET /v1/payloads`
    Payloads,
    /// `GET /v1/feed` ([`FeedQuery`])
    Feed,
    /// `POST /v1/lease` ([`super::LeaseRenewal`])
    Lease,
    /// `PUT /v1/payloads/{uuid}` ([`PushQuery`])
    Push(String),
    /// `DELETE /v1/payloads/{uuid}`
    Delete(String),
    /// `POST /v1/payloads/{uuid}/cancel`
    Cancel(String),
    /// `GET /v1/payloads/{uuid}/results`
    Results(String),
    /// `GET /v1/payloads/{uuid}/logs/{stdout|stderr}` ([`crate::api::LogQuery`])
    Logs(String, LogStream),
    /// The seed's `POST /submit`
    SeedSubmit,
    /// The seed's `GET /retrieve/{n}`
    SeedRetrieve(String),
    /// The seed's `GET /retrieve_partial/{n}`
    SeedRetrievePartial(String),
    /// The seed's `POST /kill/{n}`
    SeedKill(String),
    /// The seed's `GET /load`
    SeedLoad,
    /// The seed's `GET /health`
    SeedHealth,
    /// The seed's `GET /`
    SeedPing,
}

/// Why a request matches no route.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NodeRouteError {
    #[error("no route {method} {path} on a worker node")]
    NotFound { method: Method, path: String },
    /// A seed path with the wrong method (the seed's router answers `405`).
    #[error("method not allowed")]
    MethodNotAllowed,
    #[error("{0}")]
    BadRequest(String),
}

impl NodeRoute {
    pub fn method(&self) -> Method {
        match self {
            NodeRoute::Payloads
            | NodeRoute::Feed
            | NodeRoute::Results(_)
            | NodeRoute::Logs(..)
            | NodeRoute::SeedRetrieve(_)
            | NodeRoute::SeedRetrievePartial(_)
            | NodeRoute::SeedLoad
            | NodeRoute::SeedHealth
            | NodeRoute::SeedPing => Method::GET,
            NodeRoute::Lease
            | NodeRoute::Cancel(_)
            | NodeRoute::SeedSubmit
            | NodeRoute::SeedKill(_) => Method::POST,
            NodeRoute::Push(_) => Method::PUT,
            NodeRoute::Delete(_) => Method::DELETE,
        }
    }

    /// The path, without a query.
    pub fn path(&self) -> String {
        match self {
            NodeRoute::Payloads => "/v1/payloads".into(),
            NodeRoute::Feed => "/v1/feed".into(),
            NodeRoute::Lease => "/v1/lease".into(),
            NodeRoute::Push(id) | NodeRoute::Delete(id) => format!("/v1/payloads/{id}"),
            NodeRoute::Cancel(id) => format!("/v1/payloads/{id}/cancel"),
            NodeRoute::Results(id) => format!("/v1/payloads/{id}/results"),
            NodeRoute::Logs(id, stream) => format!("/v1/payloads/{id}/logs/{}", stream.name()),
            NodeRoute::SeedSubmit => "/submit".into(),
            NodeRoute::SeedRetrieve(n) => format!("/retrieve/{n}"),
            NodeRoute::SeedRetrievePartial(n) => format!("/retrieve_partial/{n}"),
            NodeRoute::SeedKill(n) => format!("/kill/{n}"),
            NodeRoute::SeedLoad => "/load".into(),
            NodeRoute::SeedHealth => "/health".into(),
            NodeRoute::SeedPing => "/".into(),
        }
    }

    /// The path with `query` (this module's query types, or [`super::LeaseRenewal`]).
    pub fn uri<Q: Serialize>(&self, query: &Q) -> Result<String, serde_urlencoded::ser::Error> {
        crate::api::routes::with_query(self.path(), query)
    }

    /// The route of a request, from its method and its path (without the query).
    pub fn parse(method: &Method, path: &str) -> Result<NodeRoute, NodeRouteError> {
        let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
        let id = |s: &&str| s.to_string();
        let route = match (method, segments.as_slice()) {
            (&Method::GET, ["v1", "payloads"]) => NodeRoute::Payloads,
            (&Method::GET, ["v1", "feed"]) => NodeRoute::Feed,
            (&Method::POST, ["v1", "lease"]) => NodeRoute::Lease,
            (&Method::PUT, ["v1", "payloads", p]) => NodeRoute::Push(id(p)),
            (&Method::DELETE, ["v1", "payloads", p]) => NodeRoute::Delete(id(p)),
            (&Method::POST, ["v1", "payloads", p, "cancel"]) => NodeRoute::Cancel(id(p)),
            (&Method::GET, ["v1", "payloads", p, "results"]) => NodeRoute::Results(id(p)),
            (&Method::GET, ["v1", "payloads", p, "logs", which]) => {
                let stream = LogStream::parse(which).ok_or_else(|| {
                    NodeRouteError::BadRequest(format!(
                        "unknown log stream '{which}' (stdout or stderr)"
                    ))
                })?;
                NodeRoute::Logs(id(p), stream)
            }
            (&Method::POST, ["submit"]) => NodeRoute::SeedSubmit,
            (&Method::GET, ["retrieve", n]) => NodeRoute::SeedRetrieve(id(n)),
            (&Method::GET, ["retrieve_partial", n]) => NodeRoute::SeedRetrievePartial(id(n)),
            (&Method::POST, ["kill", n]) => NodeRoute::SeedKill(id(n)),
            (&Method::GET, ["load"]) => NodeRoute::SeedLoad,
            (&Method::GET, ["health"]) => NodeRoute::SeedHealth,
            (&Method::GET, [""]) => NodeRoute::SeedPing,
            (_, ["submit" | "retrieve" | "retrieve_partial" | "kill" | "load" | "health" | ""])
            | (_, ["retrieve" | "retrieve_partial" | "kill", _]) => {
                return Err(NodeRouteError::MethodNotAllowed);
            }
            _ => {
                return Err(NodeRouteError::NotFound {
                    method: method.clone(),
                    path: path.to_string(),
                });
            }
        };
        Ok(route)
    }

    /// One of the seed's client routes: a node may let these through without a token when
    /// its operator opted in (for the seed's server, which sends none).
    pub fn is_seed(&self) -> bool {
        matches!(
            self,
            NodeRoute::SeedSubmit
                | NodeRoute::SeedRetrieve(_)
                | NodeRoute::SeedRetrievePartial(_)
                | NodeRoute::SeedKill(_)
                | NodeRoute::SeedLoad
                | NodeRoute::SeedHealth
                | NodeRoute::SeedPing
        )
    }
}

/// Query of `GET /v1/feed`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct FeedQuery {
    /// Milliseconds between beats (the node keeps it within 20 ms and a minute).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub beat_ms: Option<u64>,
}

/// Query of `PUT /v1/payloads/{uuid}`: whose attempt the payload is, and how to run it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PushQuery {
    pub job: i64,
    pub attempt: u32,
    /// Seconds; at least 1.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timeout: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kill_grace_ms: Option<u64>,
    /// The job's service and user, for `JOBO_SERVICE` and `JOBO_USER` (a node's defaults for
    /// payloads from older servers: `node` and its own user).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// The run's `PATH` (src/jobenv.rs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// `LANG`, `TZ` and the job's own variables, as a JSON object.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub env: Option<String>,
    /// Bytes; the service's `max_output`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_output: Option<u64>,
    /// The job's memory limit, bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory: Option<u64>,
    /// The job's CPU limit, in CPUs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpus: Option<f64>,
    /// The job's limit on processes and threads.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pids: Option<u64>,
    /// The service's `network`; none: the host's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network: Option<crate::api::Network>,
    /// The service's script validator settings ([`crate::validator::Settings`]) as JSON;
    /// none: the built-in rules.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub validator: Option<String>,
    /// The Unix user to run it as; a root node refuses one outside its allow-list (`403`).
    /// None: the node's default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_as: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_route_parses_back_from_its_path() {
        let p = "4c0a7d0e-3f58-4a5e-9a3e-2f3a3c1f9b11".to_string();
        let routes = [
            NodeRoute::Payloads,
            NodeRoute::Feed,
            NodeRoute::Lease,
            NodeRoute::Push(p.clone()),
            NodeRoute::Delete(p.clone()),
            NodeRoute::Cancel(p.clone()),
            NodeRoute::Results(p.clone()),
            NodeRoute::Logs(p, LogStream::Stdout),
            NodeRoute::SeedSubmit,
            NodeRoute::SeedRetrieve("3".into()),
            NodeRoute::SeedRetrievePartial("3".into()),
            NodeRoute::SeedKill("3".into()),
            NodeRoute::SeedLoad,
            NodeRoute::SeedHealth,
            NodeRoute::SeedPing,
        ];
        for route in routes {
            assert_eq!(
                NodeRoute::parse(&route.method(), &route.path()),
                Ok(route.clone())
            );
        }
    }

    #[test]
    fn only_client_routes_are_seed_routes() {
        let seed = |m: Method, p: &str| NodeRoute::parse(&m, p).is_ok_and(|r| r.is_seed());
        assert!(seed(Method::POST, "/submit"));
        assert!(seed(Method::GET, "/retrieve/x"));
        assert!(seed(Method::POST, "/kill/x"));
        assert!(!seed(Method::GET, "/submit"));
        assert!(!seed(Method::GET, "/v1/nodes"));
        assert!(!seed(Method::GET, "/v1/payloads"));
        assert!(!seed(Method::PUT, "/v1/payloads/x"));
        assert_eq!(
            NodeRoute::parse(&Method::GET, "/kill/3"),
            Err(NodeRouteError::MethodNotAllowed)
        );
    }

    #[test]
    fn a_push_names_its_attempt() -> Result<(), serde_urlencoded::ser::Error> {
        let q = PushQuery {
            job: 4,
            attempt: 2,
            timeout: None,
            kill_grace_ms: Some(5000),
            service: None,
            user: None,
            path: None,
            env: None,
            max_output: None,
            memory: None,
            cpus: None,
            pids: None,
            network: None,
            validator: None,
            run_as: Some("jobo-run".into()),
        };
        assert_eq!(
            NodeRoute::Push("u".into()).uri(&q)?,
            "/v1/payloads/u?job=4&attempt=2&kill_grace_ms=5000&run_as=jobo-run"
        );
        Ok(())
    }
}
