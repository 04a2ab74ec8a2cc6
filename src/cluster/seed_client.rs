//! The seed's client routes, as the server calls them on a `--protocol seed` node: submit,
//! retrieve (a status, or a zip once completed), retrieve partial, health, kill.

use super::node_client::NodeClient;
use super::remote::RemoteError;
use crate::archive;
use crate::bridge::stream_from_blocking;
use crate::client;
use crate::protocol::NodeRoute;
use bytes::Bytes;
use http_body_util::{BodyExt, StreamBody};
use hyper::body::{Frame, Incoming};
use hyper::header::{self, HeaderValue};
use std::path::PathBuf;
use std::sync::Arc;

/// What the seed's `GET /retrieve/{id}` answered.
pub enum Retrieved {
    /// Not completed: the status word (`Prepared`, `Running`, `Failed`, `Killed` …) and the
    /// pid the node recorded for the run (0: it never started, or not yet).
    Status { word: String, pid: u32 },
    /// Completed: the zip of its files.
    Zip(SeedZip),
}

/// A zip of a seed payload's files, and how the run ended when the node says so (a `jobod
/// worker` does, in `x-jobo-status` and `x-jobo-exit-code`; the seed's client does not, but its
/// `run.sh` writes its exit code to [`SEED_EXIT_FILE`]).
pub struct SeedZip {
    pub body: Incoming,
    pub status: Option<String>,
    pub exit_code: Option<i32>,
}

/// Where a seed `run.sh`'s trap (`trap 'echo $? > .orchestrator.exit' EXIT`) leaves its exit
/// code, among the results.
pub const SEED_EXIT_FILE: &str = ".orchestrator.exit";

fn seed_zip(resp: hyper::Response<Incoming>) -> SeedZip {
    let header = |name: &str| {
        resp.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    let status = header("x-jobo-status");
    let exit_code = header("x-jobo-exit-code").and_then(|c| c.parse().ok());
    SeedZip {
        body: resp.into_body(),
        status,
        exit_code,
    }
}

impl NodeClient {
    /// The seed's `POST /submit`: the files `names` of `input` as multipart/form-data,
    /// streamed from disk. Returns the id the node gave the payload.
    pub async fn seed_submit(
        &self,
        input: PathBuf,
        names: Arc<Vec<String>>,
        bytes: u64,
    ) -> Result<String, RemoteError> {
        let boundary = format!("jobo-{}", uuid::Uuid::new_v4().simple());
        let content_type = format!("multipart/form-data; boundary={boundary}");
        let chunks =
            stream_from_blocking(move |w| archive::write_multipart(&input, &names, &boundary, w));
        let body = BodyExt::boxed_unsync(StreamBody::new(futures_util::StreamExt::map(
            chunks,
            |c: std::io::Result<Bytes>| c.map(Frame::data),
        )));
        let route = NodeRoute::SeedSubmit;
        let mut req = client::request(route.method(), &route.path(), body)?;
        if let Ok(v) = HeaderValue::from_str(&content_type) {
            req.headers_mut().insert(header::CONTENT_TYPE, v);
        }
        let answer: serde_json::Value = self
            .json(self.send_request(req, self.upload_timeout(bytes)).await?)
            .await?;
        match &answer["id"] {
            serde_json::Value::String(id) if !id.is_empty() => Ok(id.clone()),
            serde_json::Value::Number(id) => Ok(id.to_string()),
            _ => Err(RemoteError::Transient(format!(
                "unexpected answer to /submit: {answer}"
            ))),
        }
    }

    /// The seed's `GET /retrieve/{id}`: the status while not completed, the zip once it is.
    pub async fn seed_retrieve(&self, payload: &str) -> Result<Retrieved, RemoteError> {
        let route = NodeRoute::SeedRetrieve(payload.to_string());
        let resp = self.send(&route, &route.path()).await?;
        let is_json = resp
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|t| t.contains("json"));
        if is_json {
            #[derive(serde::Deserialize)]
            struct Status {
                status: String,
                #[serde(default)]
                pid: u32,
            }
            let answer: Status = self.json(resp).await?;
            return Ok(Retrieved::Status {
                word: answer.status,
                pid: answer.pid,
            });
        }
        Ok(Retrieved::Zip(seed_zip(resp)))
    }

    /// The seed's `GET /retrieve_partial/{id}`: the zip of the payload's files as they are.
    pub async fn seed_retrieve_partial(&self, payload: &str) -> Result<SeedZip, RemoteError> {
        let route = NodeRoute::SeedRetrievePartial(payload.to_string());
        Ok(seed_zip(self.send(&route, &route.path()).await?))
    }

    /// The seed's `GET /health`: any 2xx answer is a sign of life.
    pub async fn seed_health(&self) -> Result<(), RemoteError> {
        let route = NodeRoute::SeedHealth;
        self.send(&route, &route.path()).await.map(drop)
    }

    /// The seed's `POST /kill/{id}`.
    pub async fn seed_kill(&self, payload: &str) -> Result<(), RemoteError> {
        let route = NodeRoute::SeedKill(payload.to_string());
        self.send(&route, &route.path()).await.map(drop)
    }
}
