//! The one writer of the `segment` and `segment_revision` tables (and, through
//! [`super::text_index`], of the text search index, in the same transaction). Every function takes the
//! caller's `&mut Tx`, so a stage writes a segment inside its own transaction and one HTTP
//! action commits once: a save with its span re-anchoring (`crate::tags::db`), a submit, a
//! review decision with its `review` row, an ASR import, the VAD's first segments.
//!
//! Decisions worth knowing:
//! - **Every change of a segment leaves a revision** carrying the state after it: saves,
//!   deletes, split and merge, submit, review decisions, reopen, ASR pre-fill, creation (VAD,
//!   import, the editor). A claim is not a change of the segment's content and leaves none.
//! - **Each write starts with the conditional update of the segment row.** The row is the
//!   lock: on a database with many writers (Postgres) a second writer waits on it and then
//!   re-checks the condition (`WHERE version = $n`, `WHERE status = 'submitted'`), so what is
//!   read after the update (the latest revision, for a review) cannot change under the caller.
//! - **A save id is checked by its unique constraint** (`UNIQUE (segment_id, save_id)`): the
//!   revision insert does nothing on a clash and the caller rolls its transaction back and
//!   answers the state the first save left ([`SaveOutcome::Replayed`]).

use sqlx::Row;

use super::Save;
use super::db::{COLUMNS, Segment, row};
use super::state::{self, Action, SegmentStatus};
use crate::db::{Tx, now_ms};
use crate::error::AppError;
use crate::projects::Role;

/// The segment as it is inside the transaction.
pub async fn current(tx: &mut Tx, id: i64) -> sqlx::Result<Segment> {
    row(
        &sqlx::query(&format!("SELECT {COLUMNS} FROM segment WHERE id = $1"))
            .bind(id)
            .fetch_one(&mut **tx)
            .await?,
    )
}

/// The segment as it is inside the transaction, and whether save id `save_id` was already
/// applied to it ([`seen`]): one round trip, not two, while the save holds the writer.
async fn current_and_seen(tx: &mut Tx, id: i64, save_id: &str) -> sqlx::Result<(Segment, bool)> {
    let r = sqlx::query(&format!(
        "SELECT {COLUMNS}, CAST(CASE WHEN EXISTS (SELECT 1 FROM segment_revision \
           WHERE segment_id = $1 AND save_id = $2) THEN 1 ELSE 0 END AS BIGINT) AS seen \
         FROM segment WHERE id = $1"
    ))
    .bind(id)
    .bind(save_id)
    .fetch_one(&mut **tx)
    .await?;
    Ok((row(&r)?, r.try_get::<i64, _>("seen")? != 0))
}

/// Appends the revision recording `s` as it is now. False if `save_id` was already used on
/// this segment (nothing written): the caller rolls back.
pub(super) async fn append_revision(
    tx: &mut Tx,
    s: &Segment,
    author: Option<i64>,
    save_id: Option<&str>,
) -> sqlx::Result<bool> {
    let written = sqlx::query(
        "INSERT INTO segment_revision (segment_id, version, author_id, save_id, created_at, text_verbatim, \
         text_display, text_norm, start_sample, end_sample, speaker_id, status) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) \
         ON CONFLICT (segment_id, save_id) DO NOTHING",
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
    Ok(written.rows_affected() == 1)
}

/// Whether save id `save_id` was already applied to segment `id`. Save ids are unique per
/// segment (migration 0010): the same id on another segment is another save.
pub(super) async fn seen(tx: &mut Tx, id: i64, save_id: &str) -> sqlx::Result<bool> {
    Ok(
        sqlx::query("SELECT 1 FROM segment_revision WHERE segment_id = $1 AND save_id = $2")
            .bind(id)
            .bind(save_id)
            .fetch_optional(&mut **tx)
            .await?
            .is_some(),
    )
}

/// A segment to create.
pub struct NewSegment<'a> {
    /// Recording.
    pub recording: i64,
    /// First sample.
    pub start: i64,
    /// One past the last sample.
    pub end: i64,
    /// Speaker.
    pub speaker: Option<i64>,
    /// Verbatim text (empty for the VAD's segments).
    pub text: &'a str,
    /// ASR hypothesis with its source and model, for imported segments.
    pub asr: Option<(&'a str, &'a str, Option<&'a str>)>,
    /// First-pass author (an editor who created it with text).
    pub assignee: Option<i64>,
}

/// Creates a segment with its first revision by `author` (none: the VAD or the CLI).
pub async fn insert(
    tx: &mut Tx,
    new: &NewSegment<'_>,
    author: Option<i64>,
) -> sqlx::Result<Segment> {
    let (asr_text, asr_source, asr_model) = match new.asr {
        Some((text, source, model)) => (Some(text), Some(source), model),
        None => (None, None, None),
    };
    let id: i64 = sqlx::query(
        "INSERT INTO segment (recording_id, start_sample, end_sample, speaker_id, text_verbatim, asr_text, \
         asr_source, asr_model, assignee_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
    )
    .bind(new.recording)
    .bind(new.start)
    .bind(new.end)
    .bind(new.speaker)
    .bind(new.text)
    .bind(asr_text)
    .bind(asr_source)
    .bind(asr_model)
    .bind(new.assignee)
    .fetch_one(&mut **tx)
    .await?
    .try_get("id")?;
    let seg = current(tx, id).await?;
    append_revision(tx, &seg, author, None).await?;
    super::text_index::put(tx, id, &seg.text_verbatim).await?;
    Ok(seg)
}

/// The result of a conditional write.
pub enum SaveOutcome {
    /// Applied: the state before and after it (spans re-anchor from one text to the other).
    Saved {
        /// Before the save.
        before: Box<Segment>,
        /// After it.
        after: Box<Segment>,
    },
    /// The save id was applied before: roll back and answer the current state.
    Replayed,
    /// The version was stale: the current state.
    Stale(Box<Segment>),
    /// The workflow does not allow it in the segment's current state.
    Refused(AppError),
}

/// Applies a save if `req.version` is current and the state allows `role` to edit.
pub async fn save(
    tx: &mut Tx,
    id: i64,
    author: i64,
    role: Role,
    req: &Save,
) -> sqlx::Result<SaveOutcome> {
    let (cur, seen_before) = current_and_seen(tx, id, &req.save_id).await?;
    if seen_before {
        return Ok(SaveOutcome::Replayed);
    }
    let next = match state::check(role, cur.status, Action::Edit) {
        Ok(next) => next,
        Err(e) if !cur.deleted => return Ok(SaveOutcome::Refused(e)),
        Err(_) => SegmentStatus::InProgress, // deleted: the version check answers
    };
    // The first saver of an unassigned segment is its first-pass author (see `access`).
    // RETURNING: the segment after the save, without another round trip.
    let updated = sqlx::query(&format!(
        "UPDATE segment SET text_verbatim = COALESCE($1, text_verbatim), text_display = COALESCE($2, text_display), \
         text_norm = COALESCE($3, text_norm), start_sample = COALESCE($4, start_sample), \
         end_sample = COALESCE($5, end_sample), speaker_id = COALESCE($6, speaker_id), \
         status = $7, version = version + 1, assignee_id = COALESCE(assignee_id, $8), \
         lease_until = CASE WHEN assignee_id = $8 THEN $9 ELSE lease_until END \
         WHERE id = $10 AND version = $11 AND deleted = 0 RETURNING {COLUMNS}"
    ))
    .bind(&req.text_verbatim)
    .bind(&req.text_display)
    .bind(&req.text_norm)
    .bind(req.start_sample)
    .bind(req.end_sample)
    .bind(req.speaker_id)
    .bind(next.as_str())
    .bind(author)
    .bind(now_ms() + crate::tasks::LEASE_MS) // a save renews the saver's lease
    .bind(id)
    .bind(req.version)
    .fetch_optional(&mut **tx)
    .await?;
    let after = updated.as_ref().map(row).transpose()?;
    finish_write(tx, cur, after, author, &req.save_id).await
}

/// Marks a segment deleted (a revision records it), if the state allows `role` to edit.
pub async fn delete(
    tx: &mut Tx,
    id: i64,
    author: i64,
    role: Role,
    version: i64,
    save_id: &str,
) -> sqlx::Result<SaveOutcome> {
    let (cur, seen_before) = current_and_seen(tx, id, save_id).await?;
    if seen_before {
        return Ok(SaveOutcome::Replayed);
    }
    if let (Err(e), false) = (state::check(role, cur.status, Action::Edit), cur.deleted) {
        return Ok(SaveOutcome::Refused(e));
    }
    let updated = sqlx::query(&format!(
        "UPDATE segment SET deleted = 1, version = version + 1 \
         WHERE id = $1 AND version = $2 AND deleted = 0 RETURNING {COLUMNS}"
    ))
    .bind(id)
    .bind(version)
    .fetch_optional(&mut **tx)
    .await?;
    let after = updated.as_ref().map(row).transpose()?;
    finish_write(tx, cur, after, author, save_id).await
}

/// After a conditional update: records the revision if it applied (`after`, the row its
/// `RETURNING` gave), or reports the current state as stale. A stale update whose save id is
/// now known was a concurrent retry of the same save (it waited on the row, then found the
/// version moved on): replayed.
async fn finish_write(
    tx: &mut Tx,
    before: Segment,
    after: Option<Segment>,
    author: i64,
    save_id: &str,
) -> sqlx::Result<SaveOutcome> {
    let Some(after) = after else {
        let (now, seen_now) = current_and_seen(tx, before.id, save_id).await?;
        if seen_now {
            return Ok(SaveOutcome::Replayed);
        }
        return Ok(SaveOutcome::Stale(Box::new(now)));
    };
    if !append_revision(tx, &after, Some(author), Some(save_id)).await? {
        return Ok(SaveOutcome::Replayed);
    }
    if after.deleted {
        super::text_index::remove(tx, after.id).await?;
    } else if after.text_verbatim != before.text_verbatim {
        super::text_index::put(tx, after.id, &after.text_verbatim).await?;
    }
    Ok(SaveOutcome::Saved {
        before: Box::new(before),
        after: Box::new(after),
    })
}

/// Hands an editable segment at `version` to review (with a revision by `author`, who becomes
/// its first-pass author); `None` if it is not editable or the version moved on.
pub async fn submit(
    tx: &mut Tx,
    id: i64,
    author: i64,
    version: i64,
) -> sqlx::Result<Option<Segment>> {
    let updated = sqlx::query(
        "UPDATE segment SET status = $1, lease_until = NULL, assignee_id = $2, version = version + 1 \
         WHERE id = $3 AND version = $4 AND deleted = 0 AND status IN ($5, $6, $7)",
    )
    .bind(SegmentStatus::Submitted.as_str())
    .bind(author)
    .bind(id)
    .bind(version)
    .bind(SegmentStatus::New.as_str())
    .bind(SegmentStatus::InProgress.as_str())
    .bind(SegmentStatus::Rejected.as_str())
    .execute(&mut **tx)
    .await?;
    moved(tx, id, updated.rows_affected(), author).await
}

/// After a workflow move: its revision and the segment, or `None` if nothing moved.
async fn moved(tx: &mut Tx, id: i64, rows: u64, author: i64) -> sqlx::Result<Option<Segment>> {
    if rows == 0 {
        return Ok(None);
    }
    let after = current(tx, id).await?;
    append_revision(tx, &after, Some(author), None).await?;
    Ok(Some(after))
}

/// A review decision applied to a segment.
pub struct Decided {
    /// The segment after it.
    pub segment: Segment,
    /// The revision that was judged (the latest before the decision) and its author.
    pub judged: (i64, Option<i64>),
}

/// Moves a submitted segment to `verdict` (approved or rejected) with a revision by
/// `reviewer`; `None` if it is no longer submitted. The judged revision is read after the
/// segment row was updated, so no save can slip in between.
pub async fn decide(
    tx: &mut Tx,
    id: i64,
    verdict: SegmentStatus,
    reviewer: i64,
) -> sqlx::Result<Option<Decided>> {
    let updated = sqlx::query(
        "UPDATE segment SET status = $1, version = version + 1, lease_until = NULL \
         WHERE id = $2 AND status = $3 AND deleted = 0",
    )
    .bind(verdict.as_str())
    .bind(id)
    .bind(SegmentStatus::Submitted.as_str())
    .execute(&mut **tx)
    .await?;
    if updated.rows_affected() == 0 {
        return Ok(None);
    }
    let latest = sqlx::query(
        "SELECT id, author_id FROM segment_revision WHERE segment_id = $1 ORDER BY version DESC LIMIT 1",
    )
    .bind(id)
    .fetch_one(&mut **tx)
    .await?;
    let judged = (latest.try_get("id")?, latest.try_get("author_id")?);
    let after = current(tx, id).await?;
    append_revision(tx, &after, Some(reviewer), None).await?;
    Ok(Some(Decided {
        segment: after,
        judged,
    }))
}

/// Takes an approved segment back into work (reviewers and admins; the caller checked the
/// role): `rejected`, so it returns to its transcriber (the assignee stays) first in their
/// next claim, with a revision by `author`. `None` if it was not approved.
pub async fn reopen(tx: &mut Tx, id: i64, author: i64) -> sqlx::Result<Option<Segment>> {
    let updated = sqlx::query(
        "UPDATE segment SET status = $1, version = version + 1, lease_until = NULL \
         WHERE id = $2 AND status = $3 AND deleted = 0",
    )
    .bind(SegmentStatus::Rejected.as_str())
    .bind(id)
    .bind(SegmentStatus::Approved.as_str())
    .execute(&mut **tx)
    .await?;
    moved(tx, id, updated.rows_affected(), author).await
}

/// Holds segment `id` for the rest of the transaction if it is live, in state `expect` (none:
/// any) and, when `text` is given, still has that verbatim text: the guard of a write to
/// another table that depends on the segment (its tags, its spans). False if it moved on.
/// The guard is an update that changes nothing, so on Postgres the row stays locked until
/// commit: a concurrent submit or save waits instead of slipping in between the check and
/// the write.
pub async fn hold(
    tx: &mut Tx,
    id: i64,
    expect: Option<SegmentStatus>,
    text: Option<&str>,
) -> sqlx::Result<bool> {
    let expect = expect.map(SegmentStatus::as_str);
    let held = sqlx::query(
        "UPDATE segment SET version = version WHERE id = $1 AND deleted = 0 \
         AND ($2 IS NULL OR status = $3) AND ($4 IS NULL OR text_verbatim = $5)",
    )
    .bind(id)
    .bind(expect)
    .bind(expect)
    .bind(text)
    .bind(text)
    .execute(&mut **tx)
    .await?;
    Ok(held.rows_affected() == 1)
}

/// Leases segment `id` to `user` until `until` if it is still claimable by them at `now`
/// (open and free, theirs, or rejected back to them): the conditional half of claim next.
/// False if another claim took it first.
pub async fn lease(tx: &mut Tx, id: i64, user: i64, now: i64, until: i64) -> sqlx::Result<bool> {
    let taken = sqlx::query(
        "UPDATE segment SET assignee_id = $1, lease_until = $2 WHERE id = $3 AND deleted = 0 AND ( \
           (status IN ('new', 'in_progress') AND (assignee_id IS NULL OR assignee_id = $1 \
              OR lease_until IS NULL OR lease_until < $4)) \
           OR (status = 'rejected' AND assignee_id = $1)) RETURNING id",
    )
    .bind(user)
    .bind(until)
    .bind(id)
    .bind(now)
    .fetch_optional(&mut **tx)
    .await?;
    Ok(taken.is_some())
}

/// ASR import: deletes an untouched segment (version 1, empty, unclaimed, new) that the
/// import replaces, with a revision. False if someone touched it meanwhile.
pub async fn replace_untouched(tx: &mut Tx, id: i64, author: Option<i64>) -> sqlx::Result<bool> {
    let done = sqlx::query(
        "UPDATE segment SET deleted = 1, version = version + 1 WHERE id = $1 AND version = 1 \
         AND text_verbatim = '' AND assignee_id IS NULL AND status = 'new' AND deleted = 0",
    )
    .bind(id)
    .execute(&mut **tx)
    .await?;
    revise_if(tx, id, done.rows_affected(), author).await
}

/// ASR import: attaches a hypothesis to a segment and pre-fills its transcript when that is
/// still empty and open (a revision records the pre-fill). True if it pre-filled.
pub async fn attach_asr(
    tx: &mut Tx,
    id: i64,
    text: &str,
    source: &str,
    model: Option<&str>,
    author: Option<i64>,
) -> sqlx::Result<bool> {
    let prefill = sqlx::query(
        "UPDATE segment SET text_verbatim = $1, version = version + 1 WHERE id = $2 AND text_verbatim = '' \
         AND status IN ('new', 'in_progress') AND deleted = 0",
    )
    .bind(text)
    .bind(id)
    .execute(&mut **tx)
    .await?;
    sqlx::query("UPDATE segment SET asr_text = $1, asr_source = $2, asr_model = $3 WHERE id = $4")
        .bind(text)
        .bind(source)
        .bind(model)
        .bind(id)
        .execute(&mut **tx)
        .await?;
    revise_if(tx, id, prefill.rows_affected(), author).await
}

async fn revise_if(tx: &mut Tx, id: i64, rows: u64, author: Option<i64>) -> sqlx::Result<bool> {
    if rows == 0 {
        return Ok(false);
    }
    let after = current(tx, id).await?;
    append_revision(tx, &after, author, None).await?;
    if after.deleted {
        super::text_index::remove(tx, id).await?;
    } else {
        super::text_index::put(tx, id, &after.text_verbatim).await?;
    }
    Ok(true)
}
