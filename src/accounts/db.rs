//! Queries of the accounts stage.

use sqlx::{Any, Executor, Row};

use super::tokens::{TokenInfo, TokenScope};
use crate::db::{Db, now_ms};

/// Creates a user; returns its id. On the pool (`&Db`) or inside a transaction (`&mut **tx`).
pub async fn create_user<'e>(
    db: impl Executor<'e, Database = Any>,
    name: &str,
    password_hash: &str,
) -> sqlx::Result<i64> {
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

/// What a login needs of a user: id, password hash, and whether the account is disabled.
pub struct Credentials {
    /// User id.
    pub id: i64,
    /// argon2id PHC string.
    pub hash: String,
    /// Disabled by an instance admin (no login, no session, no token).
    pub disabled: bool,
}

/// The credentials of a user by name.
pub async fn credentials(db: &Db, name: &str) -> sqlx::Result<Option<Credentials>> {
    let row = sqlx::query("SELECT id, password_hash, disabled FROM app_user WHERE name = $1")
        .bind(name)
        .fetch_optional(db)
        .await?;
    row.as_ref().map(credentials_in).transpose()
}

fn credentials_in(r: &sqlx::any::AnyRow) -> sqlx::Result<Credentials> {
    Ok(Credentials {
        id: r.try_get("id")?,
        hash: r.try_get("password_hash")?,
        disabled: r.try_get::<i64, _>("disabled")? != 0,
    })
}

/// The credentials of a user by id.
pub async fn credentials_of(db: &Db, id: i64) -> sqlx::Result<Option<Credentials>> {
    let row = sqlx::query("SELECT id, password_hash, disabled FROM app_user WHERE id = $1")
        .bind(id)
        .fetch_optional(db)
        .await?;
    row.as_ref().map(credentials_in).transpose()
}

/// Records a successful login now.
pub async fn touch_login<'e>(db: impl Executor<'e, Database = Any>, user: i64) -> sqlx::Result<()> {
    sqlx::query("UPDATE app_user SET last_login_at = $1 WHERE id = $2")
        .bind(now_ms())
        .bind(user)
        .execute(db)
        .await?;
    Ok(())
}

/// Replaces a user's password hash; false when there is no such user.
pub async fn set_password(db: &Db, user: i64, hash: &str) -> sqlx::Result<bool> {
    let done = sqlx::query("UPDATE app_user SET password_hash = $1 WHERE id = $2")
        .bind(hash)
        .bind(user)
        .execute(db)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// Disables or enables a user; false when there is no such user.
pub async fn set_disabled(db: &Db, user: i64, disabled: bool) -> sqlx::Result<bool> {
    let done = sqlx::query("UPDATE app_user SET disabled = $1 WHERE id = $2")
        .bind(i64::from(disabled))
        .bind(user)
        .execute(db)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// Ends every session of `user` except the one whose hash is `keep`.
pub async fn end_sessions(db: &Db, user: i64, keep: Option<&str>) -> sqlx::Result<u64> {
    let done = sqlx::query("DELETE FROM session WHERE user_id = $1 AND token_hash <> $2")
        .bind(user)
        .bind(keep.unwrap_or(""))
        .execute(db)
        .await?;
    Ok(done.rows_affected())
}

/// A user as the instance admin lists them.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct UserRow {
    /// User id.
    pub id: i64,
    /// Login name.
    pub name: String,
    /// Instance admin (granted only by the command line).
    pub is_admin: bool,
    /// Disabled: cannot log in, sessions and tokens refused.
    pub disabled: bool,
    /// Creation time, Unix milliseconds.
    pub created_at: i64,
    /// Last successful login, Unix milliseconds; null if never.
    pub last_login_at: Option<i64>,
    /// The projects the user belongs to, with the role in each.
    pub projects: Vec<UserProject>,
}

/// One membership of a listed user.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct UserProject {
    /// Project id.
    pub id: i64,
    /// Project name.
    pub name: String,
    /// Role there: `admin`, `transcriber` or `reviewer`.
    pub role: String,
}

/// Every user in name order, with their memberships.
pub async fn list_users(db: &Db) -> sqlx::Result<Vec<UserRow>> {
    let rows = sqlx::query(
        "SELECT id, name, is_instance_admin, disabled, created_at, last_login_at FROM app_user ORDER BY name",
    )
    .fetch_all(db)
    .await?;
    let mut users = rows
        .iter()
        .map(|r| {
            Ok(UserRow {
                id: r.try_get("id")?,
                name: r.try_get("name")?,
                is_admin: r.try_get::<i64, _>("is_instance_admin")? != 0,
                disabled: r.try_get::<i64, _>("disabled")? != 0,
                created_at: r.try_get("created_at")?,
                last_login_at: r.try_get("last_login_at")?,
                projects: Vec::new(),
            })
        })
        .collect::<sqlx::Result<Vec<_>>>()?;
    let members = sqlx::query(
        "SELECT m.user_id, p.id, p.name, m.role FROM membership m JOIN project p ON p.id = m.project_id \
         ORDER BY m.user_id, p.name",
    )
    .fetch_all(db)
    .await?;
    let at: std::collections::HashMap<i64, usize> =
        users.iter().enumerate().map(|(i, u)| (u.id, i)).collect();
    for r in &members {
        if let Some(&i) = at.get(&r.try_get::<i64, _>("user_id")?) {
            users[i].projects.push(UserProject {
                id: r.try_get("id")?,
                name: r.try_get("name")?,
                role: r.try_get("role")?,
            });
        }
    }
    Ok(users)
}

/// Stores a session. On the pool or inside a transaction.
pub async fn create_session<'e>(
    db: impl Executor<'e, Database = Any>,
    user: i64,
    hash: &str,
    expires_at: i64,
) -> sqlx::Result<()> {
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

/// The user of a live session of an enabled user. Sessions only: an API token is not a cookie.
pub async fn user_for_session(db: &Db, hash: &str) -> sqlx::Result<Option<i64>> {
    let row = sqlx::query(
        "SELECT s.user_id FROM session s JOIN app_user u ON u.id = s.user_id \
         WHERE s.token_hash = $1 AND s.expires_at > $2 AND u.disabled = 0",
    )
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

/// The live (unexpired) API token of an enabled user with this secret hash. Tokens only: a
/// session secret is not a bearer token.
pub async fn token_for_secret(db: &Db, hash: &str) -> sqlx::Result<Option<TokenAuth>> {
    let row = sqlx::query(
        "SELECT t.id, t.user_id, t.scope, t.last_used_at FROM api_token t JOIN app_user u ON u.id = t.user_id \
         WHERE t.token_hash = $1 AND t.expires_at > $2 AND u.disabled = 0",
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
