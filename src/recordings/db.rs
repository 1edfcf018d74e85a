//! Queries of the recordings stage.

use crate::db::DbRow;
use serde::Serialize;
use sqlx::Row;

use crate::audio::RecordingMeta;
use crate::db::{Db, Tx, now_ms};

/// A recording as the API shows it.
#[derive(Debug, Serialize)]
pub struct RecordingRow {
    /// Id.
    pub id: i64,
    /// Project.
    pub project_id: i64,
    /// Display name.
    pub name: String,
    /// importing, ready or failed.
    pub status: String,
    /// Content hash of the original.
    pub sha256: Option<String>,
    /// Analysis sample rate.
    pub analysis_rate: i64,
    /// Samples in the analysis copy.
    pub samples: Option<i64>,
    /// Ingest error code, when failed.
    pub error_code: Option<String>,
    /// Ingest error sentence, when failed.
    pub error_message: Option<String>,
    /// Ingest metadata.
    pub meta: Option<serde_json::Value>,
}

const COLUMNS: &str =
    "id, project_id, name, status, sha256, analysis_rate, samples, error_code, error_message, meta";

fn row(r: &DbRow) -> sqlx::Result<RecordingRow> {
    let meta: Option<String> = r.try_get("meta")?;
    Ok(RecordingRow {
        id: r.try_get("id")?,
        project_id: r.try_get("project_id")?,
        name: r.try_get("name")?,
        status: r.try_get("status")?,
        sha256: r.try_get("sha256")?,
        analysis_rate: r.try_get("analysis_rate")?,
        samples: r.try_get("samples")?,
        error_code: r.try_get("error_code")?,
        error_message: r.try_get("error_message")?,
        meta: meta.and_then(|m| serde_json::from_str(&m).ok()),
    })
}

/// A new recording in `importing`.
pub async fn create(db: &Db, project: i64, name: &str, rate: i64) -> sqlx::Result<i64> {
    sqlx::query(
        "INSERT INTO recording (project_id, name, status, analysis_rate, created_at) VALUES ($1, $2, 'importing', $3, $4) RETURNING id",
    )
    .bind(project)
    .bind(name)
    .bind(rate)
    .bind(now_ms())
    .fetch_one(db)
    .await?
    .try_get("id")
}

/// One recording.
pub async fn get(db: &Db, id: i64) -> sqlx::Result<RecordingRow> {
    row(
        &sqlx::query(&format!("SELECT {COLUMNS} FROM recording WHERE id = $1"))
            .bind(id)
            .fetch_one(db)
            .await?,
    )
}

/// A project's recordings, oldest first.
pub async fn list(db: &Db, project: i64) -> sqlx::Result<Vec<RecordingRow>> {
    sqlx::query(&format!(
        "SELECT {COLUMNS} FROM recording WHERE project_id = $1 ORDER BY id"
    ))
    .bind(project)
    .fetch_all(db)
    .await?
    .iter()
    .map(row)
    .collect()
}

/// Marks a recording ready and inserts its first segments (through `crate::segments::write`),
/// in one transaction.
pub async fn mark_ready(
    tx: &mut Tx,
    id: i64,
    meta: &RecordingMeta,
    rate: u32,
    spans: &[(i64, i64)],
) -> anyhow::Result<()> {
    let samples = meta.analysis.as_ref().map(|a| a.frames as i64);
    sqlx::query("UPDATE recording SET status = 'ready', sha256 = $1, samples = $2, meta = $3, analysis_rate = $4 WHERE id = $5")
        .bind(&meta.sha256)
        .bind(samples)
        .bind(serde_json::to_string(meta)?)
        .bind(i64::from(rate))
        .bind(id)
        .execute(&mut **tx)
        .await?;
    // The VAD's segments, each with its first revision (by nobody: the server made it).
    for &(start, end) in spans {
        let new = crate::segments::write::NewSegment {
            recording: id,
            start,
            end,
            speaker: None,
            text: "",
            asr: None,
            assignee: None,
        };
        crate::segments::write::insert(tx, &new, None).await?;
    }
    Ok(())
}

/// Fails a recording that is still importing (its ingest job could not go on).
pub async fn fail_importing(db: &Db, id: i64, code: &str, message: &str) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE recording SET status = 'failed', error_code = $1, error_message = $2 \
         WHERE id = $3 AND status = 'importing'",
    )
    .bind(code)
    .bind(message)
    .bind(id)
    .execute(db)
    .await?;
    Ok(())
}

/// Marks a recording failed with the ingest error.
pub async fn mark_failed(db: &Db, id: i64, code: &str, message: &str) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE recording SET status = 'failed', error_code = $1, error_message = $2 WHERE id = $3",
    )
    .bind(code)
    .bind(message)
    .bind(id)
    .execute(db)
    .await?;
    Ok(())
}
