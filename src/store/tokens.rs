//! The `tokens` table: API tokens by id, each with its user, role and the SHA-256 of its
//! secret (`secret.rs`); the secret itself is never stored.

use super::{StoreError, now_ms};
use crate::api::{Role, Token};
use rusqlite::{Connection, OptionalExtension, Row, params};

const COLUMNS: &str = "id, user, role, created, expires, revoked";

fn from_row(r: &Row<'_>) -> rusqlite::Result<Token> {
    let role: String = r.get(2)?;
    Ok(Token {
        id: r.get(0)?,
        user: r.get(1)?,
        role: role.parse().map_err(|e: String| {
            rusqlite::Error::FromSqlConversionFailure(2, rusqlite::types::Type::Text, e.into())
        })?,
        created: r.get(3)?,
        expires: r.get(4)?,
        revoked: r.get(5)?,
    })
}

/// Stores a token by the hash of its secret; `expires` is Unix ms.
pub fn insert_token(
    conn: &Connection,
    user: &str,
    role: Role,
    hash: &str,
    expires: Option<i64>,
) -> Result<Token, StoreError> {
    let created = now_ms();
    conn.prepare_cached(
        "INSERT INTO tokens (user, role, hash, created, expires) VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![user, role.as_str(), hash, created, expires])?;
    Ok(Token {
        id: conn.last_insert_rowid(),
        user: user.to_string(),
        role,
        created,
        expires,
        revoked: None,
    })
}

pub fn list_tokens(conn: &Connection) -> Result<Vec<Token>, StoreError> {
    let mut stmt = conn.prepare_cached(&format!("SELECT {COLUMNS} FROM tokens ORDER BY id"))?;
    let rows = stmt.query_map([], from_row)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// The token whose secret hashes to `hash`, if it exists and is neither revoked nor expired
/// at `now` (Unix ms). The index lookup compares hashes, not secrets, so its timing tells
/// nothing an attacker can steer toward a secret; the stored hash is compared once more in
/// constant time all the same, so that no shortcut in the lookup ever decides alone.
pub fn find_live_token(
    conn: &Connection,
    hash: &str,
    now: i64,
) -> Result<Option<Token>, StoreError> {
    let found = conn
        .prepare_cached(&format!(
            "SELECT {COLUMNS}, hash FROM tokens WHERE hash = ?1 AND revoked IS NULL \
             AND (expires IS NULL OR expires > ?2)"
        ))?
        .query_row(params![hash, now], |r| {
            Ok((from_row(r)?, r.get::<_, String>(6)?))
        })
        .optional()?;
    Ok(found.and_then(|(token, stored)| {
        crate::token::matches(stored.as_bytes(), hash.as_bytes()).then_some(token)
    }))
}

/// Revokes a token (once: a second revocation keeps the first time); `None` if no such id.
pub fn revoke_token(conn: &Connection, id: i64) -> Result<Option<Token>, StoreError> {
    conn.prepare_cached("UPDATE tokens SET revoked = ?2 WHERE id = ?1 AND revoked IS NULL")?
        .execute(params![id, now_ms()])?;
    Ok(conn
        .prepare_cached(&format!("SELECT {COLUMNS} FROM tokens WHERE id = ?1"))?
        .query_row([id], from_row)
        .optional()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conn() -> Result<Connection, StoreError> {
        let mut conn = Connection::open_in_memory()?;
        super::super::schema::migrate(&mut conn)?;
        Ok(conn)
    }

    #[test]
    fn live_tokens_are_found_by_hash_until_revoked_or_expired() -> Result<(), StoreError> {
        let c = conn()?;
        let t = insert_token(&c, "alice", Role::User, "h1", None)?;
        let soon = insert_token(&c, "bob", Role::Portal, "h2", Some(1_000))?;
        assert_eq!(find_live_token(&c, "h1", 0)?, Some(t.clone()));
        assert_eq!(find_live_token(&c, "nope", 0)?, None);
        assert_eq!(find_live_token(&c, "h2", 999)?.map(|t| t.id), Some(soon.id));
        assert_eq!(find_live_token(&c, "h2", 1_000)?, None);
        let revoked = revoke_token(&c, t.id)?.expect("exists");
        assert!(revoked.revoked.is_some());
        assert_eq!(find_live_token(&c, "h1", 0)?, None);
        // Revoking again keeps the first time.
        assert_eq!(revoke_token(&c, t.id)?, Some(revoked));
        assert_eq!(revoke_token(&c, 99)?, None);
        assert_eq!(list_tokens(&c)?.len(), 2);
        Ok(())
    }
}
