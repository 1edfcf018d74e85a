//! Queries of the segments stage. Every write is one `BEGIN IMMEDIATE` transaction: the
//! conditional update (`WHERE version = ?`), then the revision insert, then commit; the save
//! is acknowledged only after the commit.

use serde::Serialize;
use sqlx::Row;
use sqlx::sqlite::SqliteRow;

use super::Save;
use crate::db::{Db, begin_write, now_ms};

/// A segment as the API shows it.
#[derive(Debug, Clone, Serialize)]
pub struct Segment {
    /// Id.
    pub id: i64,
    /// Recording.
    pub recording_id: i64,
    /// First sample at the analysis rate.
    pub start_sample: i64,
    /// One past the last sample.
    pub end_sample: i64,
    /// Speaker.
    pub speaker_id: Option<i64>,
    /// ASR hypothesis.
    pub asr_text: Option<String>,
    /// Verbatim transcript.
    pub text_verbatim: String,
    /// Display transcript.
    pub text_display: String,
    /// Normalised transcript.
    pub text_norm: String,
    /// Workflow status.
    pub status: String,
    /// Version for optimistic concurrency.
    pub version: i64,
    /// Deleted (kept in history).
    pub deleted: bool,
}

const COLUMNS: &str = "id, recording_id, start_sample, end_sample, speaker_id, asr_text, text_verbatim, \
                       text_display, text_norm, status, version, deleted";

fn row(r: &SqliteRow) -> sqlx::Result<Segment> {
    Ok(Segment {
        id: r.try_get("id")?,
        recording_id: r.try_get("recording_id")?,
        start_sample: r.try_get("start_sample")?,
        end_sample: r.try_get("end_sample")?,
        speaker_id: r.try_get("speaker_id")?,
        asr_text: r.try_get("asr_text")?,
        text_verbatim: r.try_get("text_verbatim")?,
        text_display: r.try_get("text_display")?,
        text_norm: r.try_get("text_norm")?,
        status: r.try_get("status")?,
        version: r.try_get("version")?,
        deleted: r.try_get::<i64, _>("deleted")? != 0,
    })
}

/// One segment.
pub async fn get(db: &Db, id: i64) -> sqlx::Result<Segment> {
    row(
        &sqlx::query(&format!("SELECT {COLUMNS} FROM segment WHERE id = ?"))
            .bind(id)
            .fetch_one(db)
            .await?,
    )
}

/// Live segments of a recording in time order.
pub async fn list(db: &Db, recording: i64) -> sqlx::Result<Vec<Segment>> {
    sqlx::query(&format!("SELECT {COLUMNS} FROM segment WHERE recording_id = ? AND deleted = 0 ORDER BY start_sample, id"))
        .bind(recording)
        .fetch_all(db)
        .await?
        .iter()
        .map(row)
        .collect()
}

async fn append_revision(
    tx: &mut sqlx::Transaction<'static, sqlx::Sqlite>,
    s: &Segment,
    author: i64,
    save_id: Option<&str>,
) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO segment_revision (segment_id, version, author_id, save_id, created_at, text_verbatim, \
         text_display, text_norm, start_sample, end_sample, speaker_id, status) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(s.id)
    .bind(s.version)
    .bind(author)
    .bind(save_id)
    .bind(now_ms())
    .bind(&s.text_verbatim)
    .bind(&s.text_display)
    .bind(&s.text_norm)
    .bind(s.start_sample)
    .bind(s.end_sample)
    .bind(s.speaker_id)
    .bind(&s.status)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Creates a segment with its first revision.
pub async fn create(
    db: &Db,
    recording: i64,
    start: i64,
    end: i64,
    text: &str,
    author: i64,
) -> sqlx::Result<i64> {
    let mut tx = begin_write(db).await?;
    let id: i64 = sqlx::query(
        "INSERT INTO segment (recording_id, start_sample, end_sample, text_verbatim) VALUES (?, ?, ?, ?) RETURNING id",
    )
    .bind(recording)
    .bind(start)
    .bind(end)
    .bind(text)
    .fetch_one(&mut *tx)
    .await?
    .try_get("id")?;
    let seg = row(
        &sqlx::query(&format!("SELECT {COLUMNS} FROM segment WHERE id = ?"))
            .bind(id)
            .fetch_one(&mut *tx)
            .await?,
    )?;
    append_revision(&mut tx, &seg, author, None).await?;
    tx.commit().await?;
    Ok(id)
}

/// The result of a conditional write.
pub enum SaveOutcome {
    /// Applied (or applied before, for a retried save id): the state after it.
    Saved(Segment),
    /// The version was stale: the current state.
    Stale(Segment),
}

/// Applies a save if `req.version` is current; a known save id returns the current state.
pub async fn save(db: &Db, id: i64, author: i64, req: &Save) -> sqlx::Result<SaveOutcome> {
    let mut tx = begin_write(db).await?;
    let seen = sqlx::query("SELECT segment_id FROM segment_revision WHERE save_id = ?")
        .bind(&req.save_id)
        .fetch_optional(&mut *tx)
        .await?;
    if seen.is_some() {
        let current = row(
            &sqlx::query(&format!("SELECT {COLUMNS} FROM segment WHERE id = ?"))
                .bind(id)
                .fetch_one(&mut *tx)
                .await?,
        )?;
        tx.commit().await?;
        return Ok(SaveOutcome::Saved(current));
    }
    let updated = sqlx::query(
        "UPDATE segment SET text_verbatim = COALESCE(?, text_verbatim), text_display = COALESCE(?, text_display), \
         text_norm = COALESCE(?, text_norm), start_sample = COALESCE(?, start_sample), \
         end_sample = COALESCE(?, end_sample), speaker_id = COALESCE(?, speaker_id), \
         status = CASE WHEN status = 'new' THEN 'in_progress' ELSE status END, version = version + 1, \
         lease_until = CASE WHEN assignee_id = ? THEN ? ELSE lease_until END \
         WHERE id = ? AND version = ? AND deleted = 0",
    )
    .bind(&req.text_verbatim)
    .bind(&req.text_display)
    .bind(&req.text_norm)
    .bind(req.start_sample)
    .bind(req.end_sample)
    .bind(req.speaker_id)
    .bind(author)
    .bind(now_ms() + crate::tasks::LEASE_MS) // a save renews the saver's lease
    .bind(id)
    .bind(req.version)
    .execute(&mut *tx)
    .await?;
    finish_write(tx, id, updated.rows_affected() > 0, author, &req.save_id).await
}

/// Marks a segment deleted (a revision records it).
pub async fn delete(
    db: &Db,
    id: i64,
    author: i64,
    version: i64,
    save_id: &str,
) -> sqlx::Result<SaveOutcome> {
    let mut tx = begin_write(db).await?;
    let updated = sqlx::query("UPDATE segment SET deleted = 1, version = version + 1 WHERE id = ? AND version = ? AND deleted = 0")
        .bind(id)
        .bind(version)
        .execute(&mut *tx)
        .await?;
    finish_write(tx, id, updated.rows_affected() > 0, author, save_id).await
}

/// After a conditional update: records the revision and commits if it applied, or commits
/// nothing new and reports the current state as stale.
async fn finish_write(
    mut tx: sqlx::Transaction<'static, sqlx::Sqlite>,
    id: i64,
    applied: bool,
    author: i64,
    save_id: &str,
) -> sqlx::Result<SaveOutcome> {
    let current = row(
        &sqlx::query(&format!("SELECT {COLUMNS} FROM segment WHERE id = ?"))
            .bind(id)
            .fetch_one(&mut *tx)
            .await?,
    )?;
    if !applied {
        tx.commit().await?;
        return Ok(SaveOutcome::Stale(current));
    }
    append_revision(&mut tx, &current, author, Some(save_id)).await?;
    tx.commit().await?;
    Ok(SaveOutcome::Saved(current))
}

/// A segment's revisions, oldest first.
pub async fn revisions(db: &Db, id: i64) -> sqlx::Result<Vec<serde_json::Value>> {
    let rows = sqlx::query(
        "SELECT version, author_id, save_id, created_at, text_verbatim, start_sample, end_sample, status \
         FROM segment_revision WHERE segment_id = ? ORDER BY version",
    )
    .bind(id)
    .fetch_all(db)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(serde_json::json!({
                "version": r.try_get::<i64, _>("version")?,
                "author_id": r.try_get::<Option<i64>, _>("author_id")?,
                "save_id": r.try_get::<Option<String>, _>("save_id")?,
                "created_at": r.try_get::<i64, _>("created_at")?,
                "text_verbatim": r.try_get::<String, _>("text_verbatim")?,
                "start_sample": r.try_get::<i64, _>("start_sample")?,
                "end_sample": r.try_get::<i64, _>("end_sample")?,
                "status": r.try_get::<String, _>("status")?,
            }))
        })
        .collect()
}
