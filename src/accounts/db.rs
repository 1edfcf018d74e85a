//! Queries of the accounts stage.

use sqlx::Row;

use super::tokens::{TokenInfo, TokenScope};
use crate::db::{Db, now_ms};

/// Creates a user; returns its id.
pub async fn create_user(db: &Db, name: &str, password_hash: &str) -> sqlx::Result<i64> {
    let row = sqlx::query(
        "INSERT INTO app_user (name, password_hash, created_at) VALUES ($1, $2, $3) RETURNING id",
    )
    .bind(name)
    .bind(password_hash)
    .bind(now_ms())
    .fetch_one(db)
    .await?;
    row.try_get("id")
}

/// (id, password hash) of a user by name.
pub async fn user_by_name(db: &Db, name: &str) -> sqlx::Result<Option<(i64, String)>> {
    let row = sqlx::query("SELECT id, password_hash FROM app_user WHERE name = $1")
        .bind(name)
        .fetch_optional(db)
        .await?;
    row.map(|r| Ok((r.try_get("id")?, r.try_get("password_hash")?)))
        .transpose()
}

/// A user's name.
pub async fn user_name(db: &Db, id: i64) -> sqlx::Result<String> {
    sqlx::query("SELECT name FROM app_user WHERE id = $1")
        .bind(id)
        .fetch_one(db)
        .await?
        .try_get("name")
}

/// Stores a session.
pub async fn create_session(db: &Db, user: i64, hash: &str, expires_at: i64) -> sqlx::Result<()> {
    sqlx::query("INSERT INTO session (token_hash, user_id, expires_at) VALUES ($1, $2, $3)")
        .bind(hash)
        .bind(user)
        .bind(expires_at)
        .execute(db)
        .await?;
    Ok(())
}

/// Ends a session.
pub async fn delete_session(db: &Db, hash: &str) -> sqlx::Result<()> {
    sqlx::query("DELETE FROM session WHERE token_hash = $1")
        .bind(hash)
        .execute(db)
        .await?;
    Ok(())
}

/// Forgets sessions that have expired (they are refused anyway; this keeps the table small).
pub async fn delete_expired_sessions(db: &Db) -> sqlx::Result<()> {
    sqlx::query("DELETE FROM session WHERE expires_at <= $1")
        .bind(now_ms())
        .execute(db)
        .await?;
    Ok(())
}

/// The user of a live session. Sessions only: an API token is not a cookie.
pub async fn user_for_session(db: &Db, hash: &str) -> sqlx::Result<Option<i64>> {
    let row = sqlx::query("SELECT user_id FROM session WHERE token_hash = $1 AND expires_at > $2")
        .bind(hash)
        .bind(now_ms())
        .fetch_optional(db)
        .await?;
    row.map(|r| r.try_get("user_id")).transpose()
}

/// Stores an API token; returns its id.
pub async fn create_token(
    db: &Db,
    user: i64,
    name: &str,
    hash: &str,
    scope: TokenScope,
    expires_at: i64,
) -> sqlx::Result<i64> {
    sqlx::query(
        "INSERT INTO api_token (user_id, name, token_hash, created_at, scope, expires_at) \
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
    )
    .bind(user)
    .bind(name)
    .bind(hash)
    .bind(now_ms())
    .bind(scope.as_str())
    .bind(expires_at)
    .fetch_one(db)
    .await?
    .try_get("id")
}

/// A live API token, as the request extractor needs it.
#[derive(Debug, Clone, Copy)]
pub struct TokenAuth {
    /// Token id.
    pub id: i64,
    /// Its owner.
    pub user_id: i64,
    /// Its scope.
    pub scope: TokenScope,
    /// When it was last used, if ever.
    pub last_used_at: Option<i64>,
}

/// The live (unexpired) API token with this secret hash. Tokens only: a session secret is not
/// a bearer token.
pub async fn token_for_secret(db: &Db, hash: &str) -> sqlx::Result<Option<TokenAuth>> {
    let row = sqlx::query(
        "SELECT id, user_id, scope, last_used_at FROM api_token \
         WHERE token_hash = $1 AND expires_at > $2",
    )
    .bind(hash)
    .bind(now_ms())
    .fetch_optional(db)
    .await?;
    row.map(|r| {
        Ok(TokenAuth {
            id: r.try_get("id")?,
            user_id: r.try_get("user_id")?,
            scope: TokenScope::parse(&r.try_get::<String, _>("scope")?),
            last_used_at: r.try_get("last_used_at")?,
        })
    })
    .transpose()
}

/// Records that a token was used now.
pub async fn touch_token(db: &Db, id: i64, at: i64) -> sqlx::Result<()> {
    sqlx::query("UPDATE api_token SET last_used_at = $1 WHERE id = $2")
        .bind(at)
        .bind(id)
        .execute(db)
        .await?;
    Ok(())
}

/// A user's tokens, newest first, expired ones included (never the secret).
pub async fn tokens_of(db: &Db, user: i64) -> sqlx::Result<Vec<TokenInfo>> {
    let rows = sqlx::query(
        "SELECT id, name, scope, created_at, expires_at, last_used_at FROM api_token \
         WHERE user_id = $1 ORDER BY id DESC",
    )
    .bind(user)
    .fetch_all(db)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(TokenInfo {
                id: r.try_get("id")?,
                name: r.try_get("name")?,
                scope: TokenScope::parse(&r.try_get::<String, _>("scope")?),
                created_at: r.try_get("created_at")?,
                expires_at: r.try_get("expires_at")?,
                last_used_at: r.try_get("last_used_at")?,
            })
        })
        .collect()
}

/// How many unexpired tokens a user has.
pub async fn live_token_count(db: &Db, user: i64) -> sqlx::Result<i64> {
    sqlx::query("SELECT COUNT(*) AS n FROM api_token WHERE user_id = $1 AND expires_at > $2")
        .bind(user)
        .bind(now_ms())
        .fetch_one(db)
        .await?
        .try_get("n")
}

/// Deletes one of `user`'s tokens; false when they have none with this id.
pub async fn delete_token(db: &Db, user: i64, id: i64) -> sqlx::Result<bool> {
    let done = sqlx::query("DELETE FROM api_token WHERE id = $1 AND user_id = $2")
        .bind(id)
        .bind(user)
        .execute(db)
        .await?;
    Ok(done.rows_affected() > 0)
}

/// Whether a user is an instance admin (issue 13's instance role; granted only by the CLI).
pub async fn is_instance_admin(db: &Db, user: i64) -> sqlx::Result<bool> {
    let row = sqlx::query("SELECT is_instance_admin FROM app_user WHERE id = $1")
        .bind(user)
        .fetch_optional(db)
        .await?;
    Ok(row
        .map(|r| r.try_get::<i64, _>("is_instance_admin").map(|v| v != 0))
        .transpose()?
        .unwrap_or(false))
}

/// Grants or revokes the instance admin role by user name; false when no user has the name.
pub async fn set_instance_admin(db: &Db, name: &str, admin: bool) -> sqlx::Result<bool> {
    let done = sqlx::query("UPDATE app_user SET is_instance_admin = $1 WHERE name = $2")
        .bind(i64::from(admin))
        .bind(name)
        .execute(db)
        .await?;
    Ok(done.rows_affected() == 1)
}
