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

use crate::api::NewNode;
use crate::api::routes::{RemoveNodeQuery, Route};
use crate::audit::Event;
use crate::http::Body;
use crate::http::respond::{ApiError, json, parse_query};
use crate::placement::Placement;
use crate::queue::Caller;
use crate::state::Ctx;
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;
use hyper::{Request, Response, StatusCode, header};

/// The largest `POST /v1/nodes` body accepted.
pub const MAX_BODY: usize = 64 * 1024;

/// Serves a node route ([`Route::for_admins`]), once the caller is known to be an admin.
pub async fn route(
    ctx: &Ctx,
    who: &Caller,
    route: Route,
    query: &str,
    req: Request<Incoming>,
) -> Result<Response<Body>, ApiError> {
    check_admin(who)?;
    let cluster = ctx.backends.cluster();
    let (action, node) = match route {
        Route::Nodes => {
            let local = ctx.backends.local_slots();
            let nodes = cluster.list((local > 0).then_some(local)).await?;
            return Ok(json(StatusCode::OK, &nodes));
        }
        Route::AddNode => {
            let new = read_new_node(req).await?;
            ("node_add", cluster.add(new).await?)
        }
        Route::RemoveNode(key) => {
            let q: RemoveNodeQuery = parse_query(query)?;
            if key == Placement::LOCAL || key == "0" {
                return Err(ApiError::bad_request(
                    "the embedded worker (local) cannot be removed; start jobod with \
                     --no-local-worker to run without it",
                ));
            }
            ("node_remove", cluster.remove(&key, q.force).await?)
        }
        Route::Drain(key) => ("node_drain", cluster.set_draining(&key, true).await?),
        Route::Undrain(key) => ("node_undrain", cluster.set_draining(&key, false).await?),
        other => {
            return Err(ApiError::new(
                StatusCode::NOT_FOUND,
                format!("no route for {} {}", other.method(), other.path()),
            ));
        }
    };
    ctx.audit.record(Event {
        action,
        actor: &who.actor,
        target: Some(format!("node {} ({})", node.name, node.url)),
        owner: None,
    });
    let status = if action == "node_add" {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok(json(status, &node))
}

/// `403` unless the caller is an admin: only they manage nodes and tokens.
pub fn check_admin(who: &Caller) -> Result<(), ApiError> {
    if !who.admin {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            format!(
                "only an administrator (root or the user jobod runs as) can manage nodes \
                 and tokens; {} is not one",
                who.user
            ),
        ));
    }
    Ok(())
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::Actor;

    #[test]
    fn only_admins_manage_nodes() {
        let caller = |user: &str, admin| Caller {
            user: user.into(),
            admin,
            actor: Actor::Socket {
                uid: 0,
                user: user.into(),
            },
        };
        let (user, admin) = (caller("alice", false), caller("root", true));
        let e = check_admin(&user).expect_err("refused");
        assert_eq!(e.status, StatusCode::FORBIDDEN);
        assert!(e.message.contains("alice"), "{}", e.message);
        assert!(check_admin(&admin).is_ok());
    }
}
