//! The OpenAPI 3.1 document served at `/v1/openapi.json` (and rendered by the Swagger UI page
//! at `/swagger`): every route, native and seed-compatible, from the table [`OPERATIONS`].
//! Its native paths are [`Route::template`]s, and a test checks that every [`Route`] is in
//! the table; `tests/openapi.rs` checks that every operation in it is served.
//!
//! [`Route`]: super::routes::Route
//! [`Route::template`]: super::routes::Route::template

use serde_json::{Map, Value, json};

/// Where a parameter goes.
#[derive(Clone, Copy)]
pub enum In {
    Path,
    Query,
    Header,
}

/// One parameter: name, where, type (`integer`, `string`, `boolean`), description.
pub type Param = (&'static str, In, &'static str, &'static str);

/// One operation of the API.
pub struct Operation {
    pub method: &'static str,
    pub path: &'static str,
    pub tag: &'static str,
    pub summary: &'static str,
    pub params: &'static [Param],
    /// The request body's media type and what it holds.
    pub body: Option<(&'static str, &'static str)>,
    /// The success status, its media type and what it holds.
    pub ok: (u16, &'static str, &'static str),
}

const ID: Param = ("id", In::Path, "integer", "The job id.");
const NODE: Param = (
    "node",
    In::Path,
    "string",
    "The node's id or name (percent-encoded).",
);
const JSON: &str = "application/json";

/// Every operation jobod serves on the socket and the main TCP listener.
pub const OPERATIONS: &[Operation] = &[
    Operation {
        method: "get",
        path: "/v1/services",
        tag: "jobs",
        summary: "Services with their quotas and queued/running counts",
        params: &[],
        body: None,
        ok: (200, JSON, "[Service]"),
    },
    Operation {
        method: "get",
        path: "/v1/jobs",
        tag: "jobs",
        summary: "Jobs, newest first: the caller's own unless an administrator",
        params: &[
            (
                "state",
                In::Query,
                "string",
                "Only jobs in these states, comma-separated.",
            ),
            ("service", In::Query, "string", "Only this service's jobs."),
            (
                "user",
                In::Query,
                "string",
                "Only this user's jobs (administrators).",
            ),
            (
                "limit",
                In::Query,
                "integer",
                "At most this many; the X-Total-Count header counts them all.",
            ),
            ("name", In::Query, "string", "Only jobs of this name."),
            (
                "labels",
                In::Query,
                "string",
                "Only jobs with these labels, a JSON object.",
            ),
            (
                "array",
                In::Query,
                "integer",
                "Only the jobs of this array (its first job's id).",
            ),
        ],
        body: None,
        ok: (200, JSON, "[Job]"),
    },
    Operation {
        method: "post",
        path: "/v1/jobs",
        tag: "jobs",
        summary: "Submit a job: its directory as a tar.gz with a run.sh at the top",
        params: &[
            ("service", In::Query, "string", "The service to run it in."),
            (
                "priority",
                In::Query,
                "integer",
                "Higher runs first among one user's jobs.",
            ),
            (
                "timeout",
                In::Query,
                "string",
                "Wall-clock limit, e.g. 10m; at most the service's maximum (400 over it).",
            ),
            (
                "memory",
                In::Query,
                "string",
                "Memory to request, e.g. 2G; held by the job's cgroup, else by RLIMIT_AS (the job's `enforced` says which).",
            ),
            (
                "cpus",
                In::Query,
                "string",
                "CPUs to request, e.g. 1.5; held by the job's cgroup where it has one (the job's `enforced` says).",
            ),
            (
                "pids",
                In::Query,
                "string",
                "Processes to request; held by the job's cgroup where it has one (the job's `enforced` says).",
            ),
            (
                "env",
                In::Query,
                "string",
                "The job's variables as a JSON object; names the service's env allows.",
            ),
            ("name", In::Query, "string", "A name to find the job by."),
            (
                "labels",
                In::Query,
                "string",
                "Labels as a JSON object of strings.",
            ),
            (
                "after",
                In::Query,
                "string",
                "Job ids, comma-separated, that must succeed first; else it fails.",
            ),
            (
                "array",
                In::Query,
                "string",
                "FIRST-LAST: one job per index (JOBO_ARRAY_INDEX); answers the first.",
            ),
            (
                "Idempotency-Key",
                In::Header,
                "string",
                "Retries with the same key answer the same job (200); the key reused for \
                 other content is 409.",
            ),
            (
                "X-Jobo-Input-Digest",
                In::Header,
                "string",
                "With Idempotency-Key: the directory's digest (jobo sends it), so a retry of \
                 the same content is answered before its upload is read.",
            ),
        ],
        body: Some((
            "application/gzip",
            "The job directory as tar.gz; or as application/x-tar with Content-Encoding \
             identity (none), gzip or zstd.",
        )),
        ok: (201, JSON, "The new Job."),
    },
    Operation {
        method: "get",
        path: "/v1/jobs/{id}",
        tag: "jobs",
        summary: "One job",
        params: &[ID],
        body: None,
        ok: (200, JSON, "Job"),
    },
    Operation {
        method: "delete",
        path: "/v1/jobs/{id}",
        tag: "jobs",
        summary: "Remove a finished job's files; its history stays (expired)",
        params: &[ID],
        body: None,
        ok: (200, JSON, "Job"),
    },
    Operation {
        method: "get",
        path: "/v1/jobs/{id}/wait",
        tag: "jobs",
        summary: "Long poll until the job is final (or in state `until`)",
        params: &[
            ID,
            ("timeout", In::Query, "integer", "Seconds to wait at most."),
            (
                "until",
                In::Query,
                "string",
                "Return once the job is in this state.",
            ),
        ],
        body: None,
        ok: (200, JSON, "Job"),
    },
    Operation {
        method: "post",
        path: "/v1/jobs/{id}/cancel",
        tag: "jobs",
        summary: "Cancel a queued or running job; 409 if it is already final",
        params: &[ID],
        body: None,
        ok: (200, JSON, "Job, once final"),
    },
    Operation {
        method: "post",
        path: "/v1/jobs/{id}/restart",
        tag: "jobs",
        summary: "Run a finished job again: a new job from its directory, restarted_from it",
        params: &[ID],
        body: None,
        ok: (201, JSON, "The new Job."),
    },
    Operation {
        method: "post",
        path: "/v1/jobs/prune",
        tag: "jobs",
        summary: "Delete finished jobs (rows and files): the caller's own unless an administrator",
        params: &[
            (
                "older_than",
                In::Query,
                "string",
                "Finished longer ago than this, e.g. 7d (required).",
            ),
            (
                "state",
                In::Query,
                "string",
                "Only these final states, comma-separated.",
            ),
            (
                "user",
                In::Query,
                "string",
                "Only this user's jobs (administrators).",
            ),
            (
                "dry_run",
                In::Query,
                "boolean",
                "Only list what would be deleted.",
            ),
        ],
        body: None,
        ok: (200, JSON, "Pruned: dry_run and the jobs"),
    },
    Operation {
        method: "get",
        path: "/v1/jobs/{id}/logs/{stream}",
        tag: "jobs",
        summary: "The job's stdout or stderr, streamed",
        params: &[
            ID,
            ("stream", In::Path, "string", "stdout or stderr."),
            ("offset", In::Query, "integer", "Start at this byte."),
            (
                "follow",
                In::Query,
                "boolean",
                "Keep streaming until the job ends.",
            ),
            (
                "since",
                In::Query,
                "string",
                "Only the lines written at or after this RFC 3339 time.",
            ),
            (
                "timestamps",
                In::Query,
                "boolean",
                "Each line after its RFC 3339 time and a space.",
            ),
        ],
        body: None,
        ok: (200, "text/plain", "The log bytes."),
    },
    Operation {
        method: "get",
        path: "/v1/jobs/{id}/results",
        tag: "jobs",
        summary: "The job's files as an archive, streamed",
        params: &[
            ID,
            (
                "format",
                In::Query,
                "string",
                "tar.gz (default), zip, or tar (Content-Encoding as Accept-Encoding allows: \
                 zstd, gzip, or none).",
            ),
        ],
        body: None,
        ok: (
            200,
            "application/gzip",
            "tar.gz (or zip) of the job's files.",
        ),
    },
    Operation {
        method: "get",
        path: "/v1/nodes",
        tag: "nodes",
        summary: "Worker nodes (administrators)",
        params: &[],
        body: None,
        ok: (200, JSON, "[Node]"),
    },
    Operation {
        method: "post",
        path: "/v1/nodes",
        tag: "nodes",
        summary: "Add a worker node (administrators)",
        params: &[],
        body: Some((
            JSON,
            "{\"url\", \"name\"?, \"services\", \"slots\"?, \"token\", \"protocol\"?}",
        )),
        ok: (201, JSON, "Node"),
    },
    Operation {
        method: "delete",
        path: "/v1/nodes/{node}",
        tag: "nodes",
        summary: "Remove a node (administrators)",
        params: &[
            NODE,
            ("force", In::Query, "boolean", "Even while jobs run there."),
        ],
        body: None,
        ok: (200, JSON, "Node"),
    },
    Operation {
        method: "post",
        path: "/v1/nodes/{node}/drain",
        tag: "nodes",
        summary: "Stop placing jobs on a node (administrators)",
        params: &[NODE],
        body: None,
        ok: (200, JSON, "Node"),
    },
    Operation {
        method: "post",
        path: "/v1/nodes/{node}/undrain",
        tag: "nodes",
        summary: "Resume placing jobs on a node (administrators)",
        params: &[NODE],
        body: None,
        ok: (200, JSON, "Node"),
    },
    Operation {
        method: "get",
        path: "/v1/tokens",
        tag: "tokens",
        summary: "API tokens, never a secret or hash (administrators)",
        params: &[],
        body: None,
        ok: (200, JSON, "[Token]"),
    },
    Operation {
        method: "post",
        path: "/v1/tokens",
        tag: "tokens",
        summary: "Make an API token (administrators); its secret is in this answer only",
        params: &[],
        body: Some((
            JSON,
            "{\"user\", \"role\": \"user|admin|portal\", \"expires\"?: \"30d\"}",
        )),
        ok: (201, JSON, "Token with its secret"),
    },
    Operation {
        method: "delete",
        path: "/v1/tokens/{id}",
        tag: "tokens",
        summary: "Revoke an API token (administrators)",
        params: &[("id", In::Path, "integer", "The token id.")],
        body: None,
        ok: (200, JSON, "Token"),
    },
    Operation {
        method: "get",
        path: "/v1/system",
        tag: "server",
        summary: "The server: version, mode, data dir, config file, what it enforces, nodes",
        params: &[],
        body: None,
        ok: (200, JSON, "SystemInfo"),
    },
    Operation {
        method: "post",
        path: "/v1/system/stop",
        tag: "server",
        summary: "Stop jobod as SIGTERM does (administrators)",
        params: &[],
        body: None,
        ok: (202, JSON, "SystemInfo, as the server stops"),
    },
    Operation {
        method: "get",
        path: "/v1/openapi.json",
        tag: "server",
        summary: "This document",
        params: &[],
        body: None,
        ok: (200, JSON, "OpenAPI 3.1"),
    },
    Operation {
        method: "get",
        path: "/swagger",
        tag: "server",
        summary: "An interactive page over this document (Swagger UI)",
        params: &[],
        body: None,
        ok: (200, "text/html", "The page"),
    },
    Operation {
        method: "get",
        path: "/swagger/{file}",
        tag: "server",
        summary: "The page's script and style sheet",
        params: &[(
            "file",
            In::Path,
            "string",
            "swagger-ui-bundle.js or swagger-ui.css",
        )],
        body: None,
        ok: (200, "text/javascript", "The file"),
    },
    Operation {
        method: "get",
        path: "/health",
        tag: "server",
        summary: "Whether the store answers; 503 naming what is wrong",
        params: &[],
        body: None,
        ok: (200, JSON, "{\"status\": \"ok\", \"database\": \"ok\"}"),
    },
    Operation {
        method: "get",
        path: "/metrics",
        tag: "server",
        summary: "Prometheus text: jobs, queue, nodes, latencies, bytes",
        params: &[],
        body: None,
        ok: (200, "text/plain", "Prometheus text format 0.0.4"),
    },
    Operation {
        method: "get",
        path: "/",
        tag: "seed",
        summary: "Ping, as job-orchestrator answers it",
        params: &[],
        body: None,
        ok: (200, JSON, "{\"message\": \"pong\"}"),
    },
    Operation {
        method: "post",
        path: "/upload",
        tag: "seed",
        summary: "Submit a job as job-orchestrator's portals do (multipart)",
        params: &[],
        body: Some((
            "multipart/form-data",
            "Text fields user_id and service; every part with a filename is an input file.",
        )),
        ok: (201, JSON, "{\"id\", \"status\": \"Queued\", \"message\"}"),
    },
    Operation {
        method: "get",
        path: "/download/{id}",
        tag: "seed",
        summary: "The results as zip once the job completed, else its status",
        params: &[ID],
        body: None,
        ok: (
            200,
            "application/zip",
            "zip, or JSON {\"id\", \"status\", \"message\"}",
        ),
    },
    Operation {
        method: "get",
        path: "/download_partial/{id}",
        tag: "seed",
        summary: "The job's current files as zip, whatever its state",
        params: &[ID],
        body: None,
        ok: (200, "application/zip", "zip"),
    },
    Operation {
        method: "post",
        path: "/terminate/{id}",
        tag: "seed",
        summary: "Cancel a queued or running job",
        params: &[ID],
        body: None,
        ok: (200, JSON, "{\"id\", \"status\", \"message\"}"),
    },
];

/// The document, built from [`OPERATIONS`].
pub fn document() -> Value {
    let mut paths = Map::new();
    for op in OPERATIONS {
        let params: Vec<Value> = op
            .params
            .iter()
            .map(|(name, at, kind, description)| {
                json!({
                    "name": name,
                    "in": match at { In::Path => "path", In::Query => "query", In::Header => "header" },
                    "required": matches!(at, In::Path),
                    "description": description,
                    "schema": {"type": kind},
                })
            })
            .collect();
        let (status, media, what) = op.ok;
        let mut operation = json!({
            "tags": [op.tag],
            "summary": op.summary,
            "parameters": params,
            "responses": {
                status.to_string(): {"description": what, "content": {media: {}}},
                "4XX": {
                    "description": "Refused: the error says why.",
                    "content": {JSON: {"schema": {"$ref": "#/components/schemas/Error"}}},
                },
            },
        });
        if let Some((media, what)) = op.body {
            operation["requestBody"] = json!({"description": what, "content": {media: {}}});
        }
        let Value::Object(path) = paths.entry(op.path).or_insert_with(|| json!({})) else {
            continue;
        };
        path.insert(op.method.to_string(), operation);
    }
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "jobo",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "jobod's HTTP API. On the Unix socket the caller is their Unix user; \
                on TCP an API token (Authorization: Bearer). Native routes are under /v1; the \
                seed routes are those of job-orchestrator 2.3.1, for its portals.",
        },
        "components": {
            "securitySchemes": {"token": {"type": "http", "scheme": "bearer"}},
            "schemas": {"Error": {
                "type": "object",
                "properties": {"error": {"type": "string"}},
                "required": ["error"],
            }},
        },
        "security": [{"token": []}],
        "paths": paths,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::routes::Route;

    #[test]
    fn every_native_route_is_documented() {
        let doc = document();
        for route in Route::examples() {
            let method = route.method().as_str().to_ascii_lowercase();
            assert!(
                doc["paths"][route.template()][&method].is_object(),
                "{method} {} is not in the document",
                route.template()
            );
        }
        let native = OPERATIONS
            .iter()
            .filter(|op| op.path.starts_with("/v1/") && op.path != "/v1/openapi.json")
            .count();
        assert_eq!(
            native,
            Route::examples().len(),
            "a documented /v1 route is no Route"
        );
    }
}
