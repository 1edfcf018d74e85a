//! The one writer of `guideline` and `guideline_ack`, and their reads. A change of the
//! guidelines is a new version (a new row); the old ones stay.

use sqlx::Row;

use crate::db::{Db, Tx, now_ms};

/// One version of a project's guidelines.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct Version {
    /// 1, 2, …; 0 when the project has none yet.
    pub version: i64,
    /// Markdown source (shown as text, headings and lists; never as HTML).
    pub body: String,
    /// Who wrote this version.
    pub author_name: Option<String>,
    /// When, Unix milliseconds (0 when there is none).
    pub created_at: i64,
}

/// The project's current guidelines, or version 0 with an empty text.
pub async fn current(db: &Db, project: i64) -> sqlx::Result<Version> {
    let row = sqlx::query(
        "SELECT g.version, g.body, u.name, g.created_at FROM guideline g \
         LEFT JOIN app_user u ON u.id = g.author_id \
         WHERE g.project_id = $1 ORDER BY g.version DESC LIMIT 1",
    )
    .bind(project)
    .fetch_optional(db)
    .await?;
    Ok(match row {
        Some(r) => Version {
            version: r.try_get("version")?,
            body: r.try_get("body")?,
            author_name: r.try_get("name")?,
            created_at: r.try_get("created_at")?,
        },
        None => Version {
            version: 0,
            body: String::new(),
            author_name: None,
            created_at: 0,
        },
    })
}

/// Writes version `base + 1` of the guidelines if `base` is still the current one (the
/// unique `(project, version)` refuses a concurrent writer with the same base); false if not.
pub async fn publish(
    tx: &mut Tx,
    project: i64,
    base: i64,
    body: &str,
    author: i64,
) -> sqlx::Result<bool> {
    let current: Option<i64> =
        sqlx::query_scalar("SELECT MAX(version) FROM guideline WHERE project_id = $1")
            .bind(project)
            .fetch_one(&mut **tx)
            .await?;
    if current.unwrap_or(0) != base {
        return Ok(false);
    }
    let done = sqlx::query(
        "INSERT INTO guideline (project_id, version, body, author_id, created_at) \
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT (project_id, version) DO NOTHING",
    )
    .bind(project)
    .bind(base + 1)
    .bind(body)
    .bind(author)
    .bind(now_ms())
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// The version `user` last acknowledged in `project` (0 if none).
pub async fn acknowledged(db: &Db, project: i64, user: i64) -> sqlx::Result<i64> {
    Ok(sqlx::query_scalar(
        "SELECT version FROM guideline_ack WHERE project_id = $1 AND user_id = $2",
    )
    .bind(project)
    .bind(user)
    .fetch_optional(db)
    .await?
    .unwrap_or(0))
}

/// Records that `user` has read `version` (a later acknowledgement replaces an earlier one).
pub async fn acknowledge(tx: &mut Tx, project: i64, user: i64, version: i64) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO guideline_ack (project_id, user_id, version, acked_at) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (project_id, user_id) DO UPDATE SET version = excluded.version, \
         acked_at = excluded.acked_at",
    )
    .bind(project)
    .bind(user)
    .bind(version)
    .bind(now_ms())
    .execute(&mut **tx)
    .await?;
    Ok(())
}
