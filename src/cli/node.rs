//! `jobo node add|ls|rm|drain|undrain`: the node-management API (`/v1/nodes`).
//!
//! `add` reads the token from a file and sends it in the request body; it is never printed.

use super::NodeCommand;
use super::output::{nodes_table, print_json};
use crate::api::{NewNode, Node, NodeProtocol};
use crate::client::{Client, ClientError, decode, request};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::{Method, header};

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
            let token = token_file
                .as_deref()
                .map(crate::node::read_token)
                .transpose()?;
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
                println!("{} {}", node.id, node.name);
            }
            Ok(0)
        }
        NodeCommand::Ls => {
            let nodes: Vec<Node> = client.get("/v1/nodes").await?;
            if json {
                print_json(&nodes)?;
            } else {
                println!("{}", nodes_table(&nodes));
            }
            Ok(0)
        }
        NodeCommand::Rm { keys, force } => {
            let query = if force { "?force=true" } else { "" };
            each(&keys, json, "removed", async |key| {
                client
                    .call(Method::DELETE, &format!("/v1/nodes/{key}{query}"))
                    .await
            })
            .await
        }
        NodeCommand::Drain { keys } => drain(client, &keys, "drain", json).await,
        NodeCommand::Undrain { keys } => drain(client, &keys, "undrain", json).await,
    }
}

async fn add(client: &Client, new: &NewNode) -> Result<Node, ClientError> {
    let body = serde_json::to_vec(new).map_err(|e| ClientError::Decode(e.to_string()))?;
    let body = Full::new(Bytes::from(body))
        .map_err(|never| match never {})
        .boxed_unsync();
    let mut req = request(Method::POST, "/v1/nodes", body)?;
    req.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("application/json"),
    );
    decode(client.send_ok(req).await?).await
}

async fn drain(client: &Client, keys: &[String], action: &str, json: bool) -> anyhow::Result<i32> {
    each(keys, json, "", async |key| {
        client
            .call(Method::POST, &format!("/v1/nodes/{key}/{action}"))
            .await
    })
    .await
}

/// Acts on each node (its key percent-encoded for the path), reports each, fails if any
/// failed. `done` is what to print after the name; empty: the node's state.
async fn each(
    keys: &[String],
    json: bool,
    done: &str,
    act: impl AsyncFn(String) -> Result<Node, ClientError>,
) -> anyhow::Result<i32> {
    let mut failed = false;
    let mut nodes = Vec::new();
    for key in keys {
        match act(encode_key(key.trim())).await {
            Ok(node) => {
                if !json {
                    let what = if done.is_empty() {
                        node.state.as_str()
                    } else {
                        done
                    };
                    println!("{} {}", node.name, what);
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

/// Percent-encodes every byte of a node id or name that is not plainly safe in a path.
fn encode_key(key: &str) -> String {
    let mut out = String::with_capacity(key.len());
    for b in key.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-' | b'~' | b':') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::encode_key;

    #[test]
    fn encodes_keys() {
        assert_eq!(encode_key("10.0.0.5:9000"), "10.0.0.5:9000");
        assert_eq!(encode_key("a b/c?d"), "a%20b%2Fc%3Fd");
        assert_eq!(encode_key("é"), "%C3%A9");
    }
}
