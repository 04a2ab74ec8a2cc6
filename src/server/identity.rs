//! Who the caller is. On the Unix socket the kernel says (SO_PEERCRED): their Unix user, an
//! administrator if root, jobod's own user or a member of `[server] admin_group`. On TCP only
//! an API token says: `Authorization: Bearer <secret>`, looked up by its hash in the store;
//! nothing the client merely declares is believed. On the `seed_listen` listener everyone is
//! an anonymous portal, and only the seed routes are served. Token users cannot be named
//! `portal:…` (a `:` is not allowed in a user name), so no token passes for a portal's user.
//! Every use of a token, and every refused one, goes to the audit log.

use crate::api::{Role, USER_HEADER};
use crate::audit::{Actor, Event};
use crate::http::respond::ApiError;
use crate::paths::{in_group, user_name};
use crate::queue::Caller;
use crate::state::Ctx;
use crate::{secret, store};
use hyper::header::{AUTHORIZATION, HeaderMap};
use hyper::{Method, StatusCode};

use super::Peer;

/// The request a caller is identified for: what the audit log says they asked.
pub struct Asked<'a> {
    pub peer: &'a Peer,
    pub method: &'a Method,
    pub path: &'a str,
    pub headers: &'a HeaderMap,
}

impl<'a> Asked<'a> {
    pub fn of<B>(peer: &'a Peer, req: &'a hyper::Request<B>) -> Asked<'a> {
        Asked {
            peer,
            method: req.method(),
            path: req.uri().path(),
            headers: req.headers(),
        }
    }
}

/// The caller of a native route, or why there is none: `401` (no, a wrong, revoked or
/// expired token), `400` (the old `X-Jobo-User` header), `403` (a portal token).
pub async fn caller(ctx: &Ctx, asked: &Asked<'_>) -> Result<Caller, ApiError> {
    match asked.peer {
        Peer::Unix { uid } => Ok(unix_caller(ctx, *uid)),
        Peer::Tcp(_) => match seed_caller(ctx, asked).await? {
            SeedCaller::User(who) => Ok(who),
            SeedCaller::Portal { .. } => Err(ApiError::new(
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
    let user = user_name(uid);
    Caller {
        actor: Actor::Socket {
            uid,
            user: user.clone(),
        },
        user,
        admin: uid == 0
            || uid == ctx.admin_uid
            || in_group(uid, &ctx.core.config().server.admin_group),
    }
}

/// Who calls a seed route (`/upload`, `/download`, `/download_partial`, `/terminate`).
#[derive(Debug, Clone)]
pub enum SeedCaller {
    /// A portal: anyone on the `seed_listen` listener (no `name`), or a `portal` token made
    /// for user `name`. Each owns the jobs it uploads as `portal:<user_id>` (the listener) or
    /// `portal:<name>:<user_id>` (a token) and sees only those: two portals never see each
    /// other's jobs. Within one portal the seed API has no notion of who asks, so it sees all
    /// of its users' jobs, as the old server did.
    Portal { name: Option<String>, actor: Actor },
    /// A user (or admin) on the socket or with a user or admin token: their own jobs, as on
    /// `/v1`; an upload's `user_id` is checked as the seed does, then ignored.
    User(Caller),
}

impl SeedCaller {
    /// Who owns a job this caller uploads with the seed's `user_id`.
    pub fn owner(&self, user_id: i32) -> String {
        match self {
            SeedCaller::Portal { name: None, .. } => format!("portal:{user_id}"),
            SeedCaller::Portal {
                name: Some(name), ..
            } => format!("portal:{name}:{user_id}"),
            SeedCaller::User(who) => who.user.clone(),
        }
    }

    /// The caller's uid when it came over the socket: whose jobs run as that user.
    pub fn socket_uid(&self) -> Option<u32> {
        match self {
            SeedCaller::Portal { .. } => None,
            SeedCaller::User(who) => who.socket_uid(),
        }
    }

    /// Whether this caller may see and act on a job owned by `owner`.
    pub fn may_see(&self, owner: &str) -> bool {
        let portal_user = owner.strip_prefix("portal:");
        match self {
            SeedCaller::Portal { name: None, .. } => portal_user.is_some_and(|u| !u.contains(':')),
            SeedCaller::Portal {
                name: Some(name), ..
            } => portal_user
                .and_then(|u| u.strip_prefix(name.as_str()))
                .is_some_and(|rest| rest.starts_with(':')),
            SeedCaller::User(who) => who.admin || who.user == owner,
        }
    }

    /// Who this is in the audit log.
    pub fn actor(&self) -> &Actor {
        match self {
            SeedCaller::Portal { actor, .. } => actor,
            SeedCaller::User(who) => &who.actor,
        }
    }
}

/// The caller of a seed route: `401` on TCP without a live token, `400` for `X-Jobo-User`.
pub async fn seed_caller(ctx: &Ctx, asked: &Asked<'_>) -> Result<SeedCaller, ApiError> {
    match asked.peer {
        Peer::Unix { uid } => Ok(SeedCaller::User(unix_caller(ctx, *uid))),
        Peer::SeedTcp(addr) => Ok(SeedCaller::Portal {
            name: None,
            actor: Actor::SeedListen {
                peer: addr.to_string(),
            },
        }),
        Peer::Tcp(addr) => {
            if asked.headers.contains_key(USER_HEADER) {
                return Err(ApiError::bad_request(
                    "X-Jobo-User is no longer trusted: authenticate with an API token \
                     (Authorization: Bearer …; an admin makes one with `jobo token create`)",
                ));
            }
            let audit = |action, actor: &Actor| {
                ctx.audit.record(Event {
                    action,
                    actor,
                    target: Some(format!("{} {}", asked.method, asked.path)),
                    owner: None,
                })
            };
            let token = match authenticate(ctx, asked.headers).await {
                Ok(token) => token,
                Err(e) => {
                    let actor = Actor::Unauthenticated {
                        peer: addr.to_string(),
                    };
                    audit("token_refused", &actor);
                    return Err(e);
                }
            };
            let actor = Actor::Token {
                token: token.id,
                user: token.user.clone(),
                peer: addr.to_string(),
            };
            audit("token_used", &actor);
            let user = |admin| {
                SeedCaller::User(Caller {
                    user: token.user.clone(),
                    admin,
                    actor: actor.clone(),
                })
            };
            Ok(match token.role {
                Role::User => user(false),
                Role::Admin => user(true),
                Role::Portal => SeedCaller::Portal {
                    name: Some(token.user.clone()),
                    actor: actor.clone(),
                },
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
