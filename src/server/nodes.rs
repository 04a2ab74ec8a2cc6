//! `/v1/nodes`: the node-management API behind `jobo node …` (admins only).
//!
//! | route | answer |
//! | --- | --- |
//! | `GET /v1/nodes` | every node, the embedded worker first |
//! | `POST /v1/nodes` (JSON [`NewNode`]) | `201` and the added node |
//! | `DELETE /v1/nodes/{id-or-name}[?force=true]` | the removed node |
//! | `POST /v1/nodes/{id-or-name}/drain`, `/undrain` | the node as it is now |
//!
//! A node's token goes in with `POST` and never comes out: [`crate::api::Node`] has no field
//! for it, and nothing here logs a request body.

use super::respond::{ApiError, Body, json};
use crate::api::NewNode;
use crate::cluster;
use crate::local_worker::LocalWorker;
use crate::queue::Caller;
use crate::state::Ctx;
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;
use hyper::{Method, Request, Response, StatusCode, header};
use serde::Deserialize;

/// The largest `POST /v1/nodes` body accepted.
pub const MAX_BODY: usize = 64 * 1024;

/// Serves `/v1/nodes/…`; `rest` is what follows `nodes`.
pub async fn route(
    ctx: &Ctx,
    who: &Caller,
    method: &Method,
    rest: &[&str],
    query: &str,
    req: Request<Incoming>,
) -> Result<Response<Body>, ApiError> {
    check(who, method, rest)?;
    match (method, rest) {
        (&Method::GET, []) => Ok(json(StatusCode::OK, &cluster::list(ctx).await?)),
        (&Method::POST, []) => {
            let new = read_new_node(req).await?;
            Ok(json(StatusCode::CREATED, &cluster::add(ctx, new).await?))
        }
        (&Method::DELETE, [key]) => {
            let key = node_key(key)?;
            let q: RemoveQuery = serde_urlencoded::from_str(query)
                .map_err(|e| ApiError::bad_request(format!("invalid query string: {e}")))?;
            if key == LocalWorker::NODE || key == "0" {
                return Err(ApiError::bad_request(
                    "the embedded worker (local) cannot be removed; start jobod with \
                     --no-local-worker to run without it",
                ));
            }
            Ok(json(
                StatusCode::OK,
                &cluster::remove(ctx, &key, q.force).await?,
            ))
        }
        (&Method::POST, [key, action]) => {
            let key = node_key(key)?;
            let draining = *action == "drain";
            Ok(json(
                StatusCode::OK,
                &cluster::set_draining(ctx, &key, draining).await?,
            ))
        }
        _ => Err(no_route(method, rest)),
    }
}

/// 404 for what is not a node route, then 403 unless the caller is an admin.
fn check(who: &Caller, method: &Method, rest: &[&str]) -> Result<(), ApiError> {
    let known = matches!(
        (method, rest),
        (&Method::GET | &Method::POST, [])
            | (&Method::DELETE, [_])
            | (&Method::POST, [_, "drain" | "undrain"])
    );
    if !known {
        return Err(no_route(method, rest));
    }
    if !who.admin {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            format!(
                "only an administrator (root or the user jobod runs as) can manage nodes; \
                 {} is not one",
                who.user
            ),
        ));
    }
    Ok(())
}

fn no_route(method: &Method, rest: &[&str]) -> ApiError {
    let tail: String = rest.iter().map(|s| format!("/{s}")).collect();
    ApiError::new(
        StatusCode::NOT_FOUND,
        format!("no route for {method} /v1/nodes{tail}"),
    )
}

#[derive(Deserialize)]
struct RemoveQuery {
    #[serde(default)]
    force: bool,
}

/// Reads and parses the JSON body of `POST /v1/nodes`, at most [`MAX_BODY`] bytes.
async fn read_new_node(req: Request<Incoming>) -> Result<NewNode, ApiError> {
    let too_large = || {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("the node description is larger than {MAX_BODY} bytes"),
        )
    };
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > MAX_BODY as u64) {
        return Err(too_large());
    }
    let body = Limited::new(req.into_body(), MAX_BODY)
        .collect()
        .await
        .map_err(|e| {
            if e.is::<http_body_util::LengthLimitError>() {
                too_large()
            } else {
                ApiError::bad_request(format!("cannot read the request body: {e}"))
            }
        })?
        .to_bytes();
    serde_json::from_slice(&body).map_err(|e| {
        // serde's messages may quote a value ("invalid type: string …"): never the token.
        let mut message = e.to_string();
        if let Ok(serde_json::Value::Object(o)) = serde_json::from_slice(&body)
            && let Some(serde_json::Value::String(t)) = o.get("token")
            && !t.is_empty()
        {
            message = message.replace(t.as_str(), "<token>");
        }
        ApiError::bad_request(format!(
            "invalid node description: {message} (expected JSON like \
             {{\"url\": \"http://host:port\", \"services\": [\"S\"], \"slots\": 4, \"token\": \"…\"}})"
        ))
    })
}

/// A node id or name from the path, percent-decoded (the CLI encodes what is not plain).
fn node_key(segment: &str) -> Result<String, ApiError> {
    percent_decode(segment)
        .filter(|k| !k.is_empty())
        .ok_or_else(|| ApiError::bad_request(format!("invalid node id or name '{segment}'")))
}

fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_admins_manage_nodes() {
        let user = Caller {
            user: "alice".into(),
            admin: false,
        };
        let admin = Caller {
            user: "root".into(),
            admin: true,
        };
        for (method, rest) in [
            (Method::GET, vec![]),
            (Method::POST, vec![]),
            (Method::DELETE, vec!["n1"]),
            (Method::POST, vec!["n1", "drain"]),
            (Method::POST, vec!["n1", "undrain"]),
        ] {
            let e = check(&user, &method, &rest).expect_err("refused");
            assert_eq!(e.status, StatusCode::FORBIDDEN);
            assert!(e.message.contains("alice"), "{}", e.message);
            assert!(check(&admin, &method, &rest).is_ok());
        }
        for (method, rest) in [
            (Method::PUT, vec![]),
            (Method::GET, vec!["n1"]),
            (Method::POST, vec!["n1", "reboot"]),
        ] {
            let e = check(&user, &method, &rest).expect_err("no route");
            assert_eq!(e.status, StatusCode::NOT_FOUND);
        }
    }

    #[test]
    fn decodes_keys() {
        assert_eq!(node_key("n1").ok().as_deref(), Some("n1"));
        assert_eq!(
            node_key("10.0.0.5%3A9000").ok().as_deref(),
            Some("10.0.0.5:9000")
        );
        assert_eq!(node_key("a%20b").ok().as_deref(), Some("a b"));
        assert!(node_key("%zz").is_err());
        assert!(node_key("%4").is_err());
        assert!(node_key("").is_err());
    }
}
