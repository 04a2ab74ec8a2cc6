//! `/v1/tokens`: the API tokens behind `jobo token …` (admins only).
//!
//! | route | answer |
//! | --- | --- |
//! | `GET /v1/tokens` | every token, revoked and expired ones too, never a secret or hash |
//! | `POST /v1/tokens` (JSON [`NewToken`]) | `201` and the token with its secret, shown once |
//! | `DELETE /v1/tokens/{id}` | the token, revoked |
//!
//! A secret is made here and leaves only in the answer to `POST`; the store keeps its hash.

use super::nodes::check_admin;
use super::routes::valid_user;
use crate::api::routes::Route;
use crate::api::{CreatedToken, NewToken};
use crate::audit::Event;
use crate::http::Body;
use crate::http::respond::{ApiError, json};
use crate::queue::Caller;
use crate::secret;
use crate::state::Ctx;
use crate::store;
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;
use hyper::{Request, Response, StatusCode};

/// The largest `POST /v1/tokens` body accepted: a user name, a role and a duration.
const MAX_BODY: usize = 4 * 1024;

/// Serves a token route, once the caller is known to be an admin.
pub async fn route(
    ctx: &Ctx,
    who: &Caller,
    route: Route,
    req: Request<Incoming>,
) -> Result<Response<Body>, ApiError> {
    check_admin(who)?;
    match route {
        Route::Tokens => {
            let tokens = ctx.core.store.call(|c| store::list_tokens(c)).await?;
            Ok(json(StatusCode::OK, &tokens))
        }
        Route::CreateToken => {
            let new = read_new_token(req).await?;
            let created = create(ctx, new).await?;
            audit_token(ctx, who, "token_create", &created.token);
            Ok(json(StatusCode::CREATED, &created))
        }
        Route::RevokeToken(id) => {
            let revoked = ctx
                .core
                .store
                .call(move |c| store::revoke_token(c, id))
                .await?;
            let token = revoked.ok_or_else(|| {
                ApiError::new(StatusCode::NOT_FOUND, format!("token {id} not found"))
            })?;
            audit_token(ctx, who, "token_revoke", &token);
            Ok(json(StatusCode::OK, &token))
        }
        other => Err(ApiError::new(
            StatusCode::NOT_FOUND,
            format!("no route for {} {}", other.method(), other.path()),
        )),
    }
}

/// Makes a secret, stores its hash, and answers the secret with the token.
async fn create(ctx: &Ctx, new: NewToken) -> Result<CreatedToken, ApiError> {
    if !valid_user(&new.user) {
        return Err(ApiError::bad_request(format!(
            "invalid user name '{}': use letters, digits, '.', '_' or '-'",
            new.user
        )));
    }
    let expires = new
        .expires
        .as_deref()
        .map(|e| {
            humantime::parse_duration(e)
                .map_err(|err| ApiError::bad_request(format!("invalid expiry '{e}': {err}")))
                .map(|d| store::now_ms().saturating_add(d.as_millis().min(i64::MAX as u128) as i64))
        })
        .transpose()?;
    let secret = secret::generate().map_err(|e| {
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("cannot read random bytes for a token: {e}"),
        )
    })?;
    let hash = secret::hash(&secret);
    let (user, role) = (new.user.clone(), new.role);
    let token = ctx
        .core
        .store
        .call(move |c| store::insert_token(c, &user, role, &hash, expires))
        .await?;
    Ok(CreatedToken { token, secret })
}

/// A token made or revoked, in the audit log (never its secret).
fn audit_token(ctx: &Ctx, who: &Caller, action: &str, token: &crate::api::Token) {
    ctx.audit.record(Event {
        action,
        actor: &who.actor,
        target: Some(format!(
            "token {} ({}, {})",
            token.id,
            token.user,
            token.role.as_str()
        )),
        owner: None,
    });
}

/// Reads and parses the JSON body of `POST /v1/tokens`, at most [`MAX_BODY`] bytes.
async fn read_new_token(req: Request<Incoming>) -> Result<NewToken, ApiError> {
    let body = Limited::new(req.into_body(), MAX_BODY)
        .collect()
        .await
        .map_err(|e| {
            if e.is::<http_body_util::LengthLimitError>() {
                ApiError::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    format!("the token description is larger than {MAX_BODY} bytes"),
                )
            } else {
                ApiError::bad_request(format!("cannot read the request body: {e}"))
            }
        })?
        .to_bytes();
    serde_json::from_slice(&body).map_err(|e| {
        ApiError::bad_request(format!(
            "invalid token description: {e} (expected JSON like \
             {{\"user\": \"alice\", \"role\": \"user\", \"expires\": \"30d\"}})"
        ))
    })
}
