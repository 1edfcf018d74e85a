//! Reads of the segments stage: a segment as the API shows it, a recording's segments, a
//! segment's revision history. Every write to `segment` and `segment_revision` is
//! [`super::write`]'s.

use serde::Serialize;
use sqlx::Row;

use super::state::SegmentStatus;
use crate::db::{Db, DbRow};

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
    /// Where the ASR text came from (file format, or `openai-api`).
    pub asr_source: Option<String>,
    /// The ASR model, when known.
    pub asr_model: Option<String>,
    /// Verbatim transcript.
    pub text_verbatim: String,
    /// Display transcript.
    pub text_display: String,
    /// Normalised transcript.
    pub text_norm: String,
    /// Workflow status.
    pub status: SegmentStatus,
    /// Version for optimistic concurrency.
    pub version: i64,
    /// Deleted (kept in history).
    pub deleted: bool,
    /// The first pass is hidden from the caller (double annotation): the text layers are
    /// empty in this answer, not in the segment.
    pub blind: bool,
    /// Whose first pass it is (the blindness rule needs it; not sent).
    #[serde(skip)]
    pub assignee_id: Option<i64>,
    /// The latest review decision and its comment, in the answers that load it (one segment,
    /// a recording's list, a claim); absent when never reviewed or hidden from the caller.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_review: Option<crate::review::db::LastReview>,
}

/// The columns [`row`] reads.
pub(super) const COLUMNS: &str = "id, recording_id, start_sample, end_sample, speaker_id, asr_text, asr_source, asr_model, text_verbatim, \
                       text_display, text_norm, status, version, deleted, assignee_id";

/// A [`Segment`] from a row of [`COLUMNS`].
pub(super) fn row(r: &DbRow) -> sqlx::Result<Segment> {
    Ok(Segment {
        id: r.try_get("id")?,
        recording_id: r.try_get("recording_id")?,
        start_sample: r.try_get("start_sample")?,
        end_sample: r.try_get("end_sample")?,
        speaker_id: r.try_get("speaker_id")?,
        asr_text: r.try_get("asr_text")?,
        asr_source: r.try_get("asr_source")?,
        asr_model: r.try_get("asr_model")?,
        text_verbatim: r.try_get("text_verbatim")?,
        text_display: r.try_get("text_display")?,
        text_norm: r.try_get("text_norm")?,
        status: {
            let s: String = r.try_get("status")?;
            SegmentStatus::parse(&s).ok_or_else(|| sqlx::Error::ColumnDecode {
                index: "status".into(),
                source: format!("unknown segment status {s:?}").into(),
            })?
        },
        version: r.try_get("version")?,
        deleted: r.try_get::<i64, _>("deleted")? != 0,
        blind: false,
        assignee_id: r.try_get("assignee_id")?,
        last_review: None,
    })
}

/// One segment.
pub async fn get(db: &Db, id: i64) -> sqlx::Result<Segment> {
    row(
        &sqlx::query(&format!("SELECT {COLUMNS} FROM segment WHERE id = $1"))
            .bind(id)
            .fetch_one(db)
            .await?,
    )
}

/// Live segments of a recording in time order.
pub async fn list(db: &Db, recording: i64) -> sqlx::Result<Vec<Segment>> {
    sqlx::query(&format!("SELECT {COLUMNS} FROM segment WHERE recording_id = $1 AND deleted = 0 ORDER BY start_sample, id"))
        .bind(recording)
        .fetch_all(db)
        .await?
        .iter()
        .map(row)
        .collect()
}

/// A segment's revisions, oldest first, each with its author's name and every text layer
/// (the workbench's history panel shows who changed which layer when).
pub async fn revisions(db: &Db, id: i64) -> sqlx::Result<Vec<serde_json::Value>> {
    let rows = sqlx::query(
        "SELECT r.version, r.author_id, u.name AS author_name, r.save_id, r.created_at, r.text_verbatim, \
         r.text_display, r.text_norm, r.start_sample, r.end_sample, r.status \
         FROM segment_revision r LEFT JOIN app_user u ON u.id = r.author_id \
         WHERE r.segment_id = $1 ORDER BY r.version",
    )
    .bind(id)
    .fetch_all(db)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(serde_json::json!({
                "version": r.try_get::<i64, _>("version")?,
                "author_id": r.try_get::<Option<i64>, _>("author_id")?,
                "author_name": r.try_get::<Option<String>, _>("author_name")?,
                "save_id": r.try_get::<Option<String>, _>("save_id")?,
                "created_at": r.try_get::<i64, _>("created_at")?,
                "text_verbatim": r.try_get::<String, _>("text_verbatim")?,
                "text_display": r.try_get::<String, _>("text_display")?,
                "text_norm": r.try_get::<String, _>("text_norm")?,
                "start_sample": r.try_get::<i64, _>("start_sample")?,
                "end_sample": r.try_get::<i64, _>("end_sample")?,
                "status": r.try_get::<String, _>("status")?,
            }))
        })
        .collect()
}

/// Whether `speaker` is one of `project`'s speakers.
pub async fn speaker_in(db: &Db, project: i64, speaker: i64) -> sqlx::Result<bool> {
    Ok(
        sqlx::query("SELECT 1 FROM speaker WHERE id = $1 AND project_id = $2")
            .bind(speaker)
            .bind(project)
            .fetch_optional(db)
            .await?
            .is_some(),
    )
}
