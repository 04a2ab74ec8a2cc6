//! Who the caller is. On the Unix socket the kernel says (SO_PEERCRED): their Unix user, an
//! administrator if root, jobod's own user or a member of `[server] admin_group`. On TCP only
//! an API token says: `Authorization: Bearer <secret>`, looked up by its hash in the store;
//! nothing the client merely declares is believed. On the `seed_listen` listener everyone is
//! an anonymous portal, and only the seed routes are served. Token users cannot be named
//! `portal:…` (a `:` is not allowed in a user name), so no token passes for a portal's user.

use crate::api::{Role, USER_HEADER};
use crate::http::respond::ApiError;
use crate::paths::{in_group, user_name};
use crate::queue::Caller;
use crate::state::Ctx;
use crate::{secret, store};
use hyper::StatusCode;
use hyper::header::{AUTHORIZATION, HeaderMap};

use super::Peer;

/// The caller of a native route, or why there is none: `401` (no, a wrong, revoked or
/// expired token), `400` (the old `X-Jobo-User` header), `403` (a portal token).
pub async fn caller(ctx: &Ctx, peer: &Peer, headers: &HeaderMap) -> Result<Caller, ApiError> {
    match peer {
        Peer::Unix { uid } => Ok(unix_caller(ctx, *uid)),
        Peer::Tcp(_) => match seed_caller(ctx, peer, headers).await? {
            SeedCaller::User(who) => Ok(who),
            SeedCaller::Portal => Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "a portal token may call only the seed routes (/upload, /download, \
                 /download_partial, /terminate), not /v1",
            )),
        },
        Peer::SeedTcp(_) => Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "the seed_listen listener serves only the seed routes",
        )),
    }
}

/// A socket caller: their Unix user; an admin if root, jobod's own user or in the admin group.
fn unix_caller(ctx: &Ctx, uid: u32) -> Caller {
    Caller {
        user: user_name(uid),
        admin: uid == 0
            || uid == ctx.admin_uid
            || in_group(uid, &ctx.core.config.server.admin_group),
        uid: Some(uid),
    }
}

/// Who calls a seed route (`/upload`, `/download`, `/download_partial`, `/terminate`).
#[derive(Debug, Clone)]
pub enum SeedCaller {
    /// A portal: a `portal` token, or anyone on the `seed_listen` listener. It owns the jobs
    /// it uploads as `portal:<user_id>` and sees every `portal:*` job: one portal token sees
    /// all of the portals' jobs, since the seed API has no notion of which portal asks.
    Portal,
    /// A user (or admin) on the socket or with a user or admin token: their own jobs, as on
    /// `/v1`; an upload's `user_id` is checked as the seed does, then ignored.
    User(Caller),
}

impl SeedCaller {
    /// Who owns a job this caller uploads with the seed's `user_id`.
    pub fn owner(&self, user_id: i32) -> String {
        match self {
            SeedCaller::Portal => format!("portal:{user_id}"),
            SeedCaller::User(who) => who.user.clone(),
        }
    }

    /// The caller's uid when it came over the socket: whose jobs run as that user.
    pub fn socket_uid(&self) -> Option<u32> {
        match self {
            SeedCaller::Portal => None,
            SeedCaller::User(who) => who.uid,
        }
    }

    /// Whether this caller may see and act on a job owned by `owner`.
    pub fn may_see(&self, owner: &str) -> bool {
        match self {
            SeedCaller::Portal => owner.starts_with("portal:"),
            SeedCaller::User(who) => who.admin || who.user == owner,
        }
    }
}

/// The caller of a seed route: `401` on TCP without a live token, `400` for `X-Jobo-User`.
pub async fn seed_caller(
    ctx: &Ctx,
    peer: &Peer,
    headers: &HeaderMap,
) -> Result<SeedCaller, ApiError> {
    match peer {
        Peer::Unix { uid } => Ok(SeedCaller::User(unix_caller(ctx, *uid))),
        Peer::SeedTcp(_) => Ok(SeedCaller::Portal),
        Peer::Tcp(_) => {
            if headers.contains_key(USER_HEADER) {
                return Err(ApiError::bad_request(
                    "X-Jobo-User is no longer trusted: authenticate with an API token \
                     (Authorization: Bearer …; an admin makes one with `jobo token create`)",
                ));
            }
            let token = authenticate(ctx, headers).await?;
            Ok(match token.role {
                Role::User => SeedCaller::User(Caller {
                    user: token.user,
                    admin: false,
                    uid: None,
                }),
                Role::Admin => SeedCaller::User(Caller {
                    user: token.user,
                    admin: true,
                    uid: None,
                }),
                Role::Portal => SeedCaller::Portal,
            })
        }
    }
}

/// The live token the request's bearer secret belongs to; `401` otherwise. Which of "no such
/// token", "revoked" and "expired" it was is not told: a stolen secret learns nothing.
pub async fn authenticate(ctx: &Ctx, headers: &HeaderMap) -> Result<crate::api::Token, ApiError> {
    let given = headers
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .filter(|t| !t.is_empty());
    let Some(given) = given else {
        return Err(unauthorized(
            "authentication required: send an API token as Authorization: Bearer … \
             (jobo: --token, JOBO_TOKEN or ~/.config/jobo/token)",
        ));
    };
    let hash = secret::hash(given);
    let now = store::now_ms();
    let found = ctx
        .core
        .store
        .call(move |c| store::find_live_token(c, &hash, now))
        .await?;
    found.ok_or_else(|| unauthorized("invalid, revoked or expired token"))
}

fn unauthorized(message: &str) -> ApiError {
    ApiError::new(StatusCode::UNAUTHORIZED, message)
}
