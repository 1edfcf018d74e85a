//! Queries of the accounts stage.

use sqlx::Row;

use crate::db::{Db, now_ms};

/// Creates a user; returns its id.
pub async fn create_user(db: &Db, name: &str, password_hash: &str) -> sqlx::Result<i64> {
    let row = sqlx::query(
        "INSERT INTO app_user (name, password_hash, created_at) VALUES (?, ?, ?) RETURNING id",
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
    let row = sqlx::query("SELECT id, password_hash FROM app_user WHERE name = ?")
        .bind(name)
        .fetch_optional(db)
        .await?;
    row.map(|r| Ok((r.try_get("id")?, r.try_get("password_hash")?)))
        .transpose()
}

/// A user's name.
pub async fn user_name(db: &Db, id: i64) -> sqlx::Result<String> {
    sqlx::query("SELECT name FROM app_user WHERE id = ?")
        .bind(id)
        .fetch_one(db)
        .await?
        .try_get("name")
}

/// Stores a session.
pub async fn create_session(db: &Db, user: i64, hash: &str, expires_at: i64) -> sqlx::Result<()> {
    sqlx::query("INSERT INTO session (token_hash, user_id, expires_at) VALUES (?, ?, ?)")
        .bind(hash)
        .bind(user)
        .bind(expires_at)
        .execute(db)
        .await?;
    Ok(())
}

/// Ends a session.
pub async fn delete_session(db: &Db, hash: &str) -> sqlx::Result<()> {
    sqlx::query("DELETE FROM session WHERE token_hash = ?")
        .bind(hash)
        .execute(db)
        .await?;
    Ok(())
}

/// Stores an API token.
pub async fn create_token(db: &Db, user: i64, name: &str, hash: &str) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO api_token (user_id, name, token_hash, created_at) VALUES (?, ?, ?, ?)",
    )
    .bind(user)
    .bind(name)
    .bind(hash)
    .bind(now_ms())
    .execute(db)
    .await?;
    Ok(())
}

/// The user a live session or API token belongs to.
pub async fn user_for_secret(db: &Db, hash: &str) -> sqlx::Result<Option<i64>> {
    let row = sqlx::query(
        "SELECT user_id FROM session WHERE token_hash = ? AND expires_at > ? \
         UNION ALL SELECT user_id FROM api_token WHERE token_hash = ?",
    )
    .bind(hash)
    .bind(now_ms())
    .bind(hash)
    .fetch_optional(db)
    .await?;
    row.map(|r| r.try_get("user_id")).transpose()
}

/// Whether a user is an instance admin (issue 13's instance role; granted only by the CLI).
pub async fn is_instance_admin(db: &Db, user: i64) -> sqlx::Result<bool> {
    let row = sqlx::query("SELECT is_instance_admin FROM app_user WHERE id = ?")
        .bind(user)
        .fetch_optional(db)
        .await?;
    Ok(row
        .map(|r| r.try_get::<bool, _>("is_instance_admin"))
        .transpose()?
        .unwrap_or(false))
}

/// Grants or revokes the instance admin role by user name; false when no user has the name.
pub async fn set_instance_admin(db: &Db, name: &str, admin: bool) -> sqlx::Result<bool> {
    let done = sqlx::query("UPDATE app_user SET is_instance_admin = ? WHERE name = ?")
        .bind(admin)
        .bind(name)
        .execute(db)
        .await?;
    Ok(done.rows_affected() == 1)
}
