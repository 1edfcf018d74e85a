//! Queries of the segments stage. Every write is one `BEGIN IMMEDIATE` transaction: a known
//! save id (per segment) answers the state it left; otherwise the workflow check
//! ([`super::state::check`]) on the state read inside the transaction, the conditional update
//! (`WHERE version = ?`), the revision insert, and commit; the save is acknowledged only after
//! the commit.

use crate::db::DbRow;
use serde::Serialize;
use sqlx::Row;

use super::Save;
use super::access::Viewer;
use super::state::{self, Action, SegmentStatus};
use crate::db::{Db, begin_write, now_ms};
use crate::error::AppError;
use crate::projects::Role;

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
}

const COLUMNS: &str = "id, recording_id, start_sample, end_sample, speaker_id, asr_text, asr_source, asr_model, text_verbatim, \
                       text_display, text_norm, status, version, deleted, assignee_id";

fn row(r: &DbRow) -> sqlx::Result<Segment> {
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

async fn append_revision(
    tx: &mut crate::db::Tx,
    s: &Segment,
    author: i64,
    save_id: Option<&str>,
) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO segment_revision (segment_id, version, author_id, save_id, created_at, text_verbatim, \
         text_display, text_norm, start_sample, end_sample, speaker_id, status) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
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
    .bind(s.status.as_str())
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Creates a segment with its first revision. A segment made with text is its author's first
/// pass (its assignee, without a lease: anyone may still claim it).
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
        "INSERT INTO segment (recording_id, start_sample, end_sample, text_verbatim, assignee_id) \
         VALUES ($1, $2, $3, $4, CASE WHEN $5 <> '' THEN $6 END) RETURNING id",
    )
    .bind(recording)
    .bind(start)
    .bind(end)
    .bind(text)
    .bind(text)
    .bind(author)
    .fetch_one(&mut *tx)
    .await?
    .try_get("id")?;
    let seg = row(
        &sqlx::query(&format!("SELECT {COLUMNS} FROM segment WHERE id = $1"))
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
    /// The workflow does not allow it in the segment's current state.
    Refused(AppError),
}

/// Applies a save if `req.version` is current and the state allows `role` to edit; a save id
/// already applied to this segment returns the current state.
pub async fn save(
    db: &Db,
    id: i64,
    author: i64,
    role: Role,
    req: &Save,
) -> sqlx::Result<SaveOutcome> {
    let mut tx = begin_write(db).await?;
    let cur = current_in(&mut tx, id).await?;
    if seen(&mut tx, id, &req.save_id).await? {
        tx.commit().await?;
        return Ok(SaveOutcome::Saved(cur));
    }
    let next = match state::check(role, cur.status, Action::Edit) {
        Ok(next) => next,
        Err(e) if !cur.deleted => return Ok(SaveOutcome::Refused(e)),
        Err(_) => SegmentStatus::InProgress, // deleted: the version check answers
    };
    // The first saver of an unassigned segment is its first-pass author (see `access`).
    let updated = sqlx::query(
        "UPDATE segment SET text_verbatim = COALESCE($1, text_verbatim), text_display = COALESCE($2, text_display), \
         text_norm = COALESCE($3, text_norm), start_sample = COALESCE($4, start_sample), \
         end_sample = COALESCE($5, end_sample), speaker_id = COALESCE($6, speaker_id), \
         status = $7, version = version + 1, assignee_id = COALESCE(assignee_id, $8), \
         lease_until = CASE WHEN assignee_id = $9 THEN $10 ELSE lease_until END \
         WHERE id = $11 AND version = $12 AND deleted = 0",
    )
    .bind(&req.text_verbatim)
    .bind(&req.text_display)
    .bind(&req.text_norm)
    .bind(req.start_sample)
    .bind(req.end_sample)
    .bind(req.speaker_id)
    .bind(next.as_str())
    .bind(author)
    .bind(author)
    .bind(now_ms() + crate::tasks::LEASE_MS) // a save renews the saver's lease
    .bind(id)
    .bind(req.version)
    .execute(&mut *tx)
    .await?;
    finish_write(tx, id, updated.rows_affected() > 0, author, &req.save_id).await
}

/// Marks a segment deleted (a revision records it), if the state allows `role` to edit.
pub async fn delete(
    db: &Db,
    id: i64,
    author: i64,
    role: Role,
    version: i64,
    save_id: &str,
) -> sqlx::Result<SaveOutcome> {
    let mut tx = begin_write(db).await?;
    let cur = current_in(&mut tx, id).await?;
    if seen(&mut tx, id, save_id).await? {
        tx.commit().await?;
        return Ok(SaveOutcome::Saved(cur));
    }
    if let (Err(e), false) = (state::check(role, cur.status, Action::Edit), cur.deleted) {
        return Ok(SaveOutcome::Refused(e));
    }
    let updated = sqlx::query("UPDATE segment SET deleted = 1, version = version + 1 WHERE id = $1 AND version = $2 AND deleted = 0")
        .bind(id)
        .bind(version)
        .execute(&mut *tx)
        .await?;
    finish_write(tx, id, updated.rows_affected() > 0, author, save_id).await
}

/// After a conditional update: records the revision and commits if it applied, or commits
/// nothing new and reports the current state as stale.
async fn finish_write(
    mut tx: crate::db::Tx,
    id: i64,
    applied: bool,
    author: i64,
    save_id: &str,
) -> sqlx::Result<SaveOutcome> {
    let current = row(
        &sqlx::query(&format!("SELECT {COLUMNS} FROM segment WHERE id = $1"))
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
         FROM segment_revision WHERE segment_id = $1 ORDER BY version",
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

async fn current_in(tx: &mut crate::db::Tx, id: i64) -> sqlx::Result<Segment> {
    row(
        &sqlx::query(&format!("SELECT {COLUMNS} FROM segment WHERE id = $1"))
            .bind(id)
            .fetch_one(&mut **tx)
            .await?,
    )
}

/// Whether save id `save_id` was already applied to segment `id`. Save ids are unique per
/// segment (migration 0010): the same id on another segment is another save.
async fn seen(tx: &mut crate::db::Tx, id: i64, save_id: &str) -> sqlx::Result<bool> {
    Ok(
        sqlx::query("SELECT 1 FROM segment_revision WHERE segment_id = $1 AND save_id = $2")
            .bind(id)
            .bind(save_id)
            .fetch_optional(&mut **tx)
            .await?
            .is_some(),
    )
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

/// Takes an approved segment back into work (reviewers and admins; the caller checked the
/// role): `in_progress`, with a revision by `author` recording the reopen. `None` if it was
/// not approved inside the transaction.
pub async fn reopen(db: &Db, id: i64, author: i64) -> sqlx::Result<Option<Segment>> {
    let mut tx = begin_write(db).await?;
    let updated = sqlx::query(
        "UPDATE segment SET status = $1, version = version + 1 WHERE id = $2 AND status = $3 AND deleted = 0",
    )
    .bind(SegmentStatus::InProgress.as_str())
    .bind(id)
    .bind(SegmentStatus::Approved.as_str())
    .execute(&mut *tx)
    .await?;
    if updated.rows_affected() == 0 {
        return Ok(None);
    }
    let current = current_in(&mut tx, id).await?;
    append_revision(&mut tx, &current, author, None).await?;
    tx.commit().await?;
    Ok(Some(current))
}

/// Splits text at a character offset (clamped to the text).
fn split_text(text: &str, chars: usize) -> (String, String) {
    let at = text
        .char_indices()
        .nth(chars)
        .map_or(text.len(), |(i, _)| i);
    (
        text[..at].trim_end().to_string(),
        text[at..].trim_start().to_string(),
    )
}

/// Joins two texts: a space between Latin words, nothing between CJK characters.
fn join_text(a: &str, b: &str) -> String {
    let latin = |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphanumeric());
    if a.is_empty() || b.is_empty() {
        format!("{a}{b}")
    } else if latin(a.chars().last()) && latin(b.chars().next()) {
        format!("{a} {b}")
    } else {
        format!("{a}{b}")
    }
}

/// The outcome of a split or merge.
pub enum EditOutcome {
    /// Applied (or applied before, for a retried save id): the resulting segments.
    Done(Vec<Segment>),
    /// A version was stale: the current state of the segment(s).
    Stale(Vec<Segment>),
    /// The request does not fit the segment (split point outside it, nothing to merge with).
    Invalid(&'static str),
    /// The workflow does not allow it (a segment is submitted or approved, or hidden).
    Refused(AppError),
}

/// Splits segment `id` at `at` samples and `offset` characters of each text layer.
#[allow(clippy::too_many_arguments)]
pub async fn split(
    db: &Db,
    id: i64,
    author: i64,
    role: Role,
    version: i64,
    save_id: &str,
    at: i64,
    offset: usize,
) -> sqlx::Result<EditOutcome> {
    let mut tx = begin_write(db).await?;
    let cur = current_in(&mut tx, id).await?;
    if seen(&mut tx, id, save_id).await? {
        tx.commit().await?;
        return Ok(EditOutcome::Done(vec![cur]));
    }
    let next_status = match (state::check(role, cur.status, Action::Edit), cur.deleted) {
        (Ok(next), _) => next,
        (Err(e), false) => return Ok(EditOutcome::Refused(e)),
        (Err(_), true) => cur.status,
    };
    if cur.version != version || cur.deleted {
        tx.commit().await?;
        return Ok(EditOutcome::Stale(vec![cur]));
    }
    if at <= cur.start_sample || at >= cur.end_sample {
        return Ok(EditOutcome::Invalid(
            "the split point must lie strictly inside the segment",
        ));
    }
    let (v1, v2) = split_text(&cur.text_verbatim, offset);
    let (d1, d2) = split_text(&cur.text_display, offset);
    let (n1, n2) = split_text(&cur.text_norm, offset);
    sqlx::query("UPDATE segment SET end_sample = $1, text_verbatim = $2, text_display = $3, text_norm = $4, status = $5, \
                 assignee_id = COALESCE(assignee_id, $6), version = version + 1 WHERE id = $7")
        .bind(at)
        .bind(&v1)
        .bind(&d1)
        .bind(&n1)
        .bind(next_status.as_str())
        .bind(author)
        .bind(id)
        .execute(&mut *tx)
        .await?;
    let new_id: i64 = sqlx::query(
        "INSERT INTO segment (recording_id, start_sample, end_sample, speaker_id, channel, text_verbatim, text_display, \
         text_norm, status, assignee_id, lease_until) SELECT recording_id, $1, $2, speaker_id, channel, $3, $4, $5, status, \
         assignee_id, lease_until FROM segment WHERE id = $6 RETURNING id",
    )
    .bind(at)
    .bind(cur.end_sample)
    .bind(&v2)
    .bind(&d2)
    .bind(&n2)
    .bind(id)
    .fetch_one(&mut *tx)
    .await?
    .try_get("id")?;
    let first = current_in(&mut tx, id).await?;
    let second = current_in(&mut tx, new_id).await?;
    append_revision(&mut tx, &first, author, Some(save_id)).await?;
    append_revision(&mut tx, &second, author, None).await?;
    tx.commit().await?;
    Ok(EditOutcome::Done(vec![first, second]))
}

/// Merges segment `id` with the next live segment of its recording. Both must be editable
/// by `viewer` in their current state, and both visible to them.
pub async fn merge_next(
    db: &Db,
    id: i64,
    viewer: &Viewer,
    version: i64,
    save_id: &str,
) -> sqlx::Result<EditOutcome> {
    let author = viewer.user;
    let mut tx = begin_write(db).await?;
    let cur = current_in(&mut tx, id).await?;
    if seen(&mut tx, id, save_id).await? {
        tx.commit().await?;
        return Ok(EditOutcome::Done(vec![cur]));
    }
    let next_status = match (
        state::check(viewer.role, cur.status, Action::Edit),
        cur.deleted,
    ) {
        (Ok(next), _) => next,
        (Err(e), false) => return Ok(EditOutcome::Refused(e)),
        (Err(_), true) => cur.status,
    };
    if cur.version != version || cur.deleted {
        tx.commit().await?;
        return Ok(EditOutcome::Stale(vec![cur]));
    }
    let next = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM segment WHERE recording_id = $1 AND deleted = 0 AND id <> $2 \
         AND (start_sample > $3 OR (start_sample = $4 AND id > $5)) ORDER BY start_sample, id LIMIT 1"
    ))
    .bind(cur.recording_id)
    .bind(id)
    .bind(cur.start_sample)
    .bind(cur.start_sample)
    .bind(id)
    .fetch_optional(&mut *tx)
    .await?;
    let Some(next) = next.as_ref().map(row).transpose()? else {
        return Ok(EditOutcome::Invalid(
            "there is no next segment to merge with",
        ));
    };
    // The next segment's text joins this one: it must be as writable and as visible.
    if let Err(e) = viewer
        .may_write(&next)
        .and_then(|()| state::check(viewer.role, next.status, Action::Edit))
    {
        return Ok(EditOutcome::Refused(e));
    }
    sqlx::query(
        "UPDATE segment SET end_sample = $1, text_verbatim = $2, text_display = $3, text_norm = $4, status = $5, \
         assignee_id = COALESCE(assignee_id, $6), version = version + 1 WHERE id = $7",
    )
    .bind(next.end_sample.max(cur.end_sample))
    .bind(join_text(&cur.text_verbatim, &next.text_verbatim))
    .bind(join_text(&cur.text_display, &next.text_display))
    .bind(join_text(&cur.text_norm, &next.text_norm))
    .bind(next_status.as_str())
    .bind(author)
    .bind(id)
    .execute(&mut *tx)
    .await?;
    sqlx::query("UPDATE segment SET deleted = 1, version = version + 1 WHERE id = $1")
        .bind(next.id)
        .execute(&mut *tx)
        .await?;
    let merged = current_in(&mut tx, id).await?;
    let gone = current_in(&mut tx, next.id).await?;
    append_revision(&mut tx, &merged, author, Some(save_id)).await?;
    append_revision(&mut tx, &gone, author, None).await?;
    tx.commit().await?;
    Ok(EditOutcome::Done(vec![merged]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn texts_split_by_characters_and_join_by_script() {
        assert_eq!(
            split_text("我想问我在滨海", 3),
            ("我想问".into(), "我在滨海".into())
        );
        assert_eq!(
            split_text("ask not what", 4),
            ("ask".into(), "not what".into())
        );
        assert_eq!(split_text("短", 9), ("短".into(), String::new()));
        assert_eq!(join_text("我想问", "我在"), "我想问我在");
        assert_eq!(join_text("ask", "not"), "ask not");
        assert_eq!(join_text("", "x"), "x");
    }
}
