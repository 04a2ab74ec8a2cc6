//! `jobo token create|ls|revoke`: the token-management API (`/v1/tokens`).
//!
//! `create` prints the secret alone on stdout (so `jobo token create … > file` keeps just
//! it) and what it made on stderr; the secret is never shown again.

use super::TokenCommand;
use super::output::outln;
use super::output::{print_json, tokens_table};
use crate::api::{CreatedToken, NewToken, Role, Route, Token};
use crate::client::{Client, ClientError, decode, request};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::header;

pub async fn run(client: &Client, cmd: TokenCommand, json: bool) -> anyhow::Result<i32> {
    match cmd {
        TokenCommand::Create {
            user,
            role,
            expires,
        } => {
            let new = NewToken {
                user,
                role: role.parse::<Role>().map_err(anyhow::Error::msg)?,
                expires,
            };
            let created = create(client, &new).await?;
            if json {
                print_json(&created)?;
            } else {
                outln!("{}", created.secret);
                eprintln!(
                    "token {} for {} ({}); keep the secret above, it is not shown again",
                    created.token.id,
                    created.token.user,
                    created.token.role.as_str()
                );
            }
            Ok(0)
        }
        TokenCommand::Ls => {
            let tokens: Vec<Token> = client.route(&Route::Tokens).await?;
            if json {
                print_json(&tokens)?;
            } else {
                outln!("{}", tokens_table(&tokens));
            }
            Ok(0)
        }
        TokenCommand::Revoke { ids } => {
            let mut failed = false;
            let mut revoked = Vec::new();
            for id in ids {
                match client.route::<Token>(&Route::RevokeToken(id)).await {
                    Ok(token) => {
                        if !json {
                            outln!("{} revoked", token.id);
                        }
                        revoked.push(token);
                    }
                    Err(e) => {
                        eprintln!("jobo: error: {e}");
                        failed = true;
                    }
                }
            }
            if json {
                print_json(&revoked)?;
            }
            Ok(if failed { 1 } else { 0 })
        }
    }
}

async fn create(client: &Client, new: &NewToken) -> Result<CreatedToken, ClientError> {
    let body = serde_json::to_vec(new).map_err(|e| ClientError::Encode(e.to_string()))?;
    let body = Full::new(Bytes::from(body))
        .map_err(|never| match never {})
        .boxed_unsync();
    let route = Route::CreateToken;
    let mut req = request(route.method(), &route.path(), body)?;
    req.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("application/json"),
    );
    decode(client.send_ok(req).await?).await
}
