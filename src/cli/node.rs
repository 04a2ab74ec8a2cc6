//! `jobo node add|ls|rm|drain|undrain`: the node-management API (`/v1/nodes`).
//!
//! `add` reads the token from a file and sends it in the request body; it is never printed.

use super::NodeCommand;
use super::output::outln;
use super::output::{nodes_table, print_json};
use crate::api::routes::RemoveNodeQuery;
use crate::api::{NewNode, Node, NodeProtocol, Route};
use crate::client::{Client, ClientError, decode, request};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::header;

pub async fn run(client: &Client, cmd: NodeCommand, json: bool) -> anyhow::Result<i32> {
    match cmd {
        NodeCommand::Add {
            url,
            service,
            slots,
            token_file,
            name,
            protocol,
        } => {
            let token = token_file.as_deref().map(crate::token::read).transpose()?;
            let new = NewNode {
                url,
                name,
                services: service,
                slots,
                token,
                protocol: protocol
                    .parse::<NodeProtocol>()
                    .map_err(anyhow::Error::msg)?,
            };
            let node = add(client, &new).await?;
            if json {
                print_json(&node)?;
            } else {
                outln!("{} {}", node.id, node.name);
            }
            Ok(0)
        }
        NodeCommand::Ls => {
            let nodes: Vec<Node> = client.route(&Route::Nodes).await?;
            if json {
                print_json(&nodes)?;
            } else {
                outln!("{}", nodes_table(&nodes));
            }
            Ok(0)
        }
        NodeCommand::Rm { keys, force } => {
            let query = RemoveNodeQuery { force };
            each(&keys, json, "removed", async |key| {
                client.route_with(&Route::RemoveNode(key), &query).await
            })
            .await
        }
        NodeCommand::Drain { keys } => {
            each(&keys, json, "", async |key| {
                client.route(&Route::Drain(key)).await
            })
            .await
        }
        NodeCommand::Undrain { keys } => {
            each(&keys, json, "", async |key| {
                client.route(&Route::Undrain(key)).await
            })
            .await
        }
    }
}

async fn add(client: &Client, new: &NewNode) -> Result<Node, ClientError> {
    let body = serde_json::to_vec(new).map_err(|e| ClientError::Decode(e.to_string()))?;
    let body = Full::new(Bytes::from(body))
        .map_err(|never| match never {})
        .boxed_unsync();
    let route = Route::AddNode;
    let mut req = request(route.method(), &route.path(), body)?;
    req.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("application/json"),
    );
    decode(client.send_ok(req).await?).await
}

/// Acts on each node (by id or name; [`Route`] percent-encodes it), reports each, fails if
/// any failed. `done` is what to print after the name; empty: the node's state.
async fn each(
    keys: &[String],
    json: bool,
    done: &str,
    act: impl AsyncFn(String) -> Result<Node, ClientError>,
) -> anyhow::Result<i32> {
    let mut failed = false;
    let mut nodes = Vec::new();
    for key in keys {
        match act(key.trim().to_string()).await {
            Ok(node) => {
                if !json {
                    let what = if done.is_empty() {
                        node.state.as_str()
                    } else {
                        done
                    };
                    outln!("{} {}", node.name, what);
                }
                nodes.push(node);
            }
            Err(e) => {
                eprintln!("jobo: error: {e}");
                failed = true;
            }
        }
    }
    if json {
        print_json(&nodes)?;
    }
    Ok(if failed { 1 } else { 0 })
}
