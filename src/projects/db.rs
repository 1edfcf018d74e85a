//! Queries of the projects stage.

use serde::Serialize;
use sqlx::Row;

use super::Role;
use crate::db::{Db, Tx, now_ms};

/// A project as listed for a member.
#[derive(Debug, Serialize)]
pub struct ProjectRow {
    /// Id.
    pub id: i64,
    /// Name.
    pub name: String,
    /// The caller's role.
    pub role: String,
    /// Analysis sample rate.
    pub analysis_rate: i64,
}

/// Creates a project.
pub async fn create(db: &Db, name: &str) -> sqlx::Result<i64> {
    sqlx::query("INSERT INTO project (name, created_at) VALUES ($1, $2) RETURNING id")
        .bind(name)
        .bind(now_ms())
        .fetch_one(db)
        .await?
        .try_get("id")
}

/// A project's id by name.
pub async fn id_by_name(db: &Db, name: &str) -> sqlx::Result<Option<i64>> {
    let row = sqlx::query("SELECT id FROM project WHERE name = $1")
        .bind(name)
        .fetch_optional(db)
        .await?;
    row.map(|r| r.try_get("id")).transpose()
}

/// A project's analysis rate.
pub async fn analysis_rate(db: &Db, project: i64) -> sqlx::Result<i64> {
    sqlx::query("SELECT analysis_rate FROM project WHERE id = $1")
        .bind(project)
        .fetch_one(db)
        .await?
        .try_get(0)
}

/// A project's id and name.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ProjectName {
    /// Id.
    pub id: i64,
    /// Name.
    pub name: String,
}

/// Every project, in name order (for instance admins).
pub async fn all(db: &Db) -> sqlx::Result<Vec<ProjectName>> {
    sqlx::query("SELECT id, name FROM project ORDER BY name")
        .fetch_all(db)
        .await?
        .iter()
        .map(|r| {
            Ok(ProjectName {
                id: r.try_get("id")?,
                name: r.try_get("name")?,
            })
        })
        .collect()
}

/// A project's name, if it exists.
pub async fn name(db: &Db, project: i64) -> sqlx::Result<Option<String>> {
    sqlx::query_scalar("SELECT name FROM project WHERE id = $1")
        .bind(project)
        .fetch_optional(db)
        .await
}

/// Adds or changes a membership. On the pool or inside a transaction.
pub async fn add_member<'e>(
    db: impl sqlx::Executor<'e, Database = sqlx::Any>,
    project: i64,
    user: i64,
    role: Role,
) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO membership (project_id, user_id, role) VALUES ($1, $2, $3) \
         ON CONFLICT (project_id, user_id) DO UPDATE SET role = excluded.role",
    )
    .bind(project)
    .bind(user)
    .bind(role.as_str())
    .execute(db)
    .await?;
    Ok(())
}

/// The role of `user` in `project`, if a member.
pub async fn role(db: &Db, project: i64, user: i64) -> sqlx::Result<Option<String>> {
    let row = sqlx::query("SELECT role FROM membership WHERE project_id = $1 AND user_id = $2")
        .bind(project)
        .bind(user)
        .fetch_optional(db)
        .await?;
    row.map(|r| r.try_get("role")).transpose()
}

/// Projects `user` belongs to.
pub async fn for_user(db: &Db, user: i64) -> sqlx::Result<Vec<ProjectRow>> {
    let rows = sqlx::query(
        "SELECT p.id, p.name, m.role, p.analysis_rate FROM project p \
         JOIN membership m ON m.project_id = p.id WHERE m.user_id = $1 ORDER BY p.name",
    )
    .bind(user)
    .fetch_all(db)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(ProjectRow {
                id: r.try_get("id")?,
                name: r.try_get("name")?,
                role: r.try_get("role")?,
                analysis_rate: r.try_get("analysis_rate")?,
            })
        })
        .collect()
}

/// Members of a project: (name, role).
pub async fn members(db: &Db, project: i64) -> sqlx::Result<Vec<serde_json::Value>> {
    let rows = sqlx::query(
        "SELECT u.name, m.role FROM membership m JOIN app_user u ON u.id = m.user_id \
         WHERE m.project_id = $1 ORDER BY u.name",
    )
    .bind(project)
    .fetch_all(db)
    .await?;
    rows.iter()
        .map(|r| Ok(serde_json::json!({ "name": r.try_get::<String, _>("name")?, "role": r.try_get::<String, _>("role")? })))
        .collect()
}

/// A project's settings as JSON.
pub async fn settings(db: &Db, project: i64) -> sqlx::Result<serde_json::Value> {
    let r = sqlx::query(
        "SELECT id, name, analysis_rate, conventions, second_pass_share, asr_url, asr_model, asr_language, \
         CASE WHEN asr_api_key IS NULL THEN 0 ELSE 1 END AS asr_key_set FROM project WHERE id = $1",
    )
    .bind(project)
    .fetch_one(db)
    .await?;
    let conventions: String = r.try_get("conventions")?;
    Ok(serde_json::json!({
        "id": r.try_get::<i64, _>("id")?,
        "name": r.try_get::<String, _>("name")?,
        "analysis_rate": r.try_get::<i64, _>("analysis_rate")?,
        "conventions": serde_json::from_str::<serde_json::Value>(&conventions).unwrap_or_default(),
        "second_pass_share": r.try_get::<f64, _>("second_pass_share")?,
        "asr": {
            "url": r.try_get::<Option<String>, _>("asr_url")?,
            "model": r.try_get::<Option<String>, _>("asr_model")?,
            "language": r.try_get::<Option<String>, _>("asr_language")?,
            "key_set": r.try_get::<i64, _>("asr_key_set")? != 0,
        },
    }))
}

/// The live ASR server of a project; `None` leaves a field, `Some("")` clears it.
#[derive(Debug, Default, Clone, serde::Deserialize, utoipa::ToSchema)]
pub struct AsrServer {
    /// Base URL of an OpenAI-compatible server, e.g. `http://localhost:8080` (`""` clears it).
    /// Whether the host may be called depends on DNS and the operator's allow-list, which no
    /// schema can say: see README, "API errors and the OpenAPI document".
    #[schema(max_length = 2000, pattern = "^(https?://[^\\s/?#]+[^\\s]*)?$")]
    pub url: Option<String>,
    /// Model name sent with each request, at most 200 characters.
    #[schema(max_length = 200)]
    pub model: Option<String>,
    /// Language hint (ISO 639-1), e.g. `zh`.
    pub language: Option<String>,
    /// Bearer key; never shown again.
    pub key: Option<String>,
}

/// Changes the live ASR server settings.
pub async fn update_asr(db: &Db, project: i64, asr: &AsrServer) -> sqlx::Result<()> {
    // COALESCE keeps a field that is not given; NULLIF turns "" into "cleared".
    sqlx::query(
        "UPDATE project SET asr_url = CASE WHEN $1 IS NULL THEN asr_url ELSE NULLIF($2, '') END, \
         asr_model = CASE WHEN $3 IS NULL THEN asr_model ELSE NULLIF($4, '') END, \
         asr_language = CASE WHEN $5 IS NULL THEN asr_language ELSE NULLIF($6, '') END, \
         asr_api_key = CASE WHEN $7 IS NULL THEN asr_api_key ELSE NULLIF($8, '') END WHERE id = $9",
    )
    .bind(&asr.url)
    .bind(&asr.url)
    .bind(&asr.model)
    .bind(&asr.model)
    .bind(&asr.language)
    .bind(&asr.language)
    .bind(&asr.key)
    .bind(&asr.key)
    .bind(project)
    .execute(db)
    .await?;
    Ok(())
}

/// Changes the given settings.
pub async fn update_settings(
    db: &Db,
    project: i64,
    second_pass_share: Option<f64>,
    conventions: Option<&serde_json::Value>,
) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE project SET second_pass_share = COALESCE($1, second_pass_share), \
         conventions = COALESCE($2, conventions) WHERE id = $3",
    )
    .bind(second_pass_share)
    .bind(conventions.map(|c| c.to_string()))
    .bind(project)
    .execute(db)
    .await?;
    Ok(())
}

/// Speakers of a project: (id, code), in code order.
pub async fn speakers(db: &Db, project: i64) -> sqlx::Result<Vec<serde_json::Value>> {
    let rows = sqlx::query("SELECT id, code FROM speaker WHERE project_id = $1 ORDER BY code")
        .bind(project)
        .fetch_all(db)
        .await?;
    rows.iter()
        .map(|r| Ok(serde_json::json!({ "id": r.try_get::<i64, _>("id")?, "code": r.try_get::<String, _>("code")? })))
        .collect()
}

/// Adds a speaker to a project.
pub async fn add_speaker(db: &Db, project: i64, code: &str) -> sqlx::Result<i64> {
    sqlx::query("INSERT INTO speaker (project_id, code) VALUES ($1, $2) RETURNING id")
        .bind(project)
        .bind(code)
        .fetch_one(db)
        .await?
        .try_get("id")
}

/// The speaker with `code` in `project`, created if the project has none (true when it was):
/// the one get-or-create of a speaker, race-free through `UNIQUE (project_id, code)`. A
/// concurrent creator of the same code waits on the insert, then finds the row.
pub async fn speaker_for_code(tx: &mut Tx, project: i64, code: &str) -> sqlx::Result<(i64, bool)> {
    let created: Option<i64> = sqlx::query_scalar(
        "INSERT INTO speaker (project_id, code) VALUES ($1, $2) ON CONFLICT (project_id, code) DO NOTHING RETURNING id",
    )
    .bind(project)
    .bind(code)
    .fetch_optional(&mut **tx)
    .await?;
    if let Some(id) = created {
        return Ok((id, true));
    }
    let id = sqlx::query_scalar("SELECT id FROM speaker WHERE project_id = $1 AND code = $2")
        .bind(project)
        .bind(code)
        .fetch_one(&mut **tx)
        .await?;
    Ok((id, false))
}

/// The project's conventions document (JSON; `{}` when unreadable).
pub async fn conventions(db: &Db, project: i64) -> sqlx::Result<serde_json::Value> {
    let text: String = sqlx::query_scalar("SELECT conventions FROM project WHERE id = $1")
        .bind(project)
        .fetch_one(db)
        .await?;
    Ok(serde_json::from_str(&text).unwrap_or_default())
}
