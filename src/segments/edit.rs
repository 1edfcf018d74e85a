//! Split and merge: structural edits of `segment` (part of the one writer, with
//! [`super::write`]). Each says how the segment's spans must follow their characters
//! ([`SpanMove`]); the caller applies that in the same transaction (`crate::tags::db`).

use sqlx::Row;

use super::access::Viewer;
use super::db::{COLUMNS, Segment, row};
use super::state::{self, Action};
use super::write::{append_revision, current, seen};
use crate::db::Tx;
use crate::error::AppError;
use crate::projects::Role;

/// How the spans of an edited segment follow their characters (offsets count characters of
/// `text_verbatim`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpanMove {
    /// Nothing to move (a replayed edit).
    None,
    /// Segment `from` was cut: its characters `[0, first_len)` stay, `[second_start, ..)`
    /// are now `to`'s from 0 (the whitespace between them was trimmed).
    Split {
        /// The first part (the original segment).
        from: i64,
        /// The new second part.
        to: i64,
        /// Characters kept by the first part.
        first_len: usize,
        /// Where the second part's characters began in the old text.
        second_start: usize,
    },
    /// Segment `from` was appended to `into`: its characters now start at `shift`.
    Merge {
        /// The merged-away (now deleted) segment.
        from: i64,
        /// The merged segment.
        into: i64,
        /// The first text's length plus the separator, in characters.
        shift: usize,
    },
}

/// The outcome of a split or merge.
pub enum EditOutcome {
    /// Applied (or applied before, for a retried save id): the resulting segments, and how
    /// their spans move.
    Done(Vec<Segment>, SpanMove),
    /// A version was stale: the current state of the segment(s).
    Stale(Vec<Segment>),
    /// The request does not fit the segment (split point outside it, nothing to merge with).
    Invalid(&'static str),
    /// The workflow does not allow it (a segment is submitted or approved, or hidden).
    Refused(AppError),
}

/// Where a text divides at a character offset (clamped to the text): the first part's length
/// after trimming its end, and where the second part starts after trimming its start.
fn cut(text: &str, chars: usize) -> (usize, usize) {
    let all: Vec<char> = text.chars().collect();
    let at = chars.min(all.len());
    let first_len = at
        - all[..at]
            .iter()
            .rev()
            .take_while(|c| c.is_whitespace())
            .count();
    let second_start = at + all[at..].iter().take_while(|c| c.is_whitespace()).count();
    (first_len, second_start)
}

/// Splits text at a character offset (clamped to the text), trimming at the cut.
fn split_text(text: &str, chars: usize) -> (String, String) {
    let (first_len, second_start) = cut(text, chars);
    (
        text.chars().take(first_len).collect(),
        text.chars().skip(second_start).collect(),
    )
}

/// The separator between two joined texts: a space between Latin words, nothing between
/// CJK characters.
fn separator(a: &str, b: &str) -> &'static str {
    let latin = |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphanumeric());
    if latin(a.chars().last()) && latin(b.chars().next()) {
        " "
    } else {
        ""
    }
}

fn join_text(a: &str, b: &str) -> String {
    format!("{a}{}{b}", separator(a, b))
}

/// The start of an edit: a replayed save id, a refusal, or the state it continues with.
async fn begin(
    tx: &mut Tx,
    id: i64,
    role: Role,
    version: i64,
    save_id: &str,
) -> sqlx::Result<Result<(Segment, state::SegmentStatus), EditOutcome>> {
    let cur = current(tx, id).await?;
    if seen(tx, id, save_id).await? {
        return Ok(Err(EditOutcome::Done(vec![cur], SpanMove::None)));
    }
    let next_status = match (state::check(role, cur.status, Action::Edit), cur.deleted) {
        (Ok(next), _) => next,
        (Err(e), false) => return Ok(Err(EditOutcome::Refused(e))),
        (Err(_), true) => cur.status,
    };
    if cur.version != version || cur.deleted {
        return Ok(Err(EditOutcome::Stale(vec![cur])));
    }
    Ok(Ok((cur, next_status)))
}

/// Splits segment `id` at `at` samples and `offset` characters of each text layer.
#[allow(clippy::too_many_arguments)]
pub async fn split(
    tx: &mut Tx,
    id: i64,
    author: i64,
    role: Role,
    version: i64,
    save_id: &str,
    at: i64,
    offset: usize,
) -> sqlx::Result<EditOutcome> {
    let (cur, next_status) = match begin(tx, id, role, version, save_id).await? {
        Ok(go) => go,
        Err(outcome) => return Ok(outcome),
    };
    if at <= cur.start_sample || at >= cur.end_sample {
        return Ok(EditOutcome::Invalid(
            "the split point must lie strictly inside the segment",
        ));
    }
    let (v1, v2) = split_text(&cur.text_verbatim, offset);
    let (d1, d2) = split_text(&cur.text_display, offset);
    let (n1, n2) = split_text(&cur.text_norm, offset);
    // Conditional on the version read above: the row is the lock (see `write`).
    let updated = sqlx::query(
        "UPDATE segment SET end_sample = $1, text_verbatim = $2, text_display = $3, text_norm = $4, status = $5, \
         assignee_id = COALESCE(assignee_id, $6), version = version + 1 WHERE id = $7 AND version = $8 AND deleted = 0",
    )
    .bind(at)
    .bind(&v1)
    .bind(&d1)
    .bind(&n1)
    .bind(next_status.as_str())
    .bind(author)
    .bind(id)
    .bind(version)
    .execute(&mut **tx)
    .await?;
    if updated.rows_affected() == 0 {
        return Ok(EditOutcome::Stale(vec![current(tx, id).await?]));
    }
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
    .fetch_one(&mut **tx)
    .await?
    .try_get("id")?;
    let first = current(tx, id).await?;
    let second = current(tx, new_id).await?;
    if !append_revision(tx, &first, Some(author), Some(save_id)).await? {
        return Ok(EditOutcome::Stale(vec![cur]));
    }
    append_revision(tx, &second, Some(author), None).await?;
    super::text_index::put(tx, id, &first.text_verbatim).await?;
    super::text_index::put(tx, new_id, &second.text_verbatim).await?;
    let (first_len, second_start) = cut(&cur.text_verbatim, offset);
    let spans = SpanMove::Split {
        from: id,
        to: new_id,
        first_len,
        second_start,
    };
    Ok(EditOutcome::Done(vec![first, second], spans))
}

/// Merges segment `id` with the next live segment of its recording. Both must be editable
/// by `viewer` in their current state, and both visible to them.
pub async fn merge_next(
    tx: &mut Tx,
    id: i64,
    viewer: &Viewer,
    version: i64,
    save_id: &str,
) -> sqlx::Result<EditOutcome> {
    let author = viewer.user;
    let (cur, next_status) = match begin(tx, id, viewer.role, version, save_id).await? {
        Ok(go) => go,
        Err(outcome) => return Ok(outcome),
    };
    let next = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM segment WHERE recording_id = $1 AND deleted = 0 AND id <> $2 \
         AND (start_sample > $3 OR (start_sample = $3 AND id > $2)) ORDER BY start_sample, id LIMIT 1"
    ))
    .bind(cur.recording_id)
    .bind(id)
    .bind(cur.start_sample)
    .fetch_optional(&mut **tx)
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
    let updated = sqlx::query(
        "UPDATE segment SET end_sample = $1, text_verbatim = $2, text_display = $3, text_norm = $4, status = $5, \
         assignee_id = COALESCE(assignee_id, $6), version = version + 1 WHERE id = $7 AND version = $8 AND deleted = 0",
    )
    .bind(next.end_sample.max(cur.end_sample))
    .bind(join_text(&cur.text_verbatim, &next.text_verbatim))
    .bind(join_text(&cur.text_display, &next.text_display))
    .bind(join_text(&cur.text_norm, &next.text_norm))
    .bind(next_status.as_str())
    .bind(author)
    .bind(id)
    .bind(version)
    .execute(&mut **tx)
    .await?;
    // The next segment too is deleted only as it was read (still live, same version).
    let gone = sqlx::query(
        "UPDATE segment SET deleted = 1, version = version + 1 WHERE id = $1 AND version = $2 AND deleted = 0",
    )
    .bind(next.id)
    .bind(next.version)
    .execute(&mut **tx)
    .await?;
    if updated.rows_affected() == 0 || gone.rows_affected() == 0 {
        // Nothing of this is committed: the caller rolls back on Stale.
        return Ok(EditOutcome::Stale(vec![current(tx, id).await?]));
    }
    let merged = current(tx, id).await?;
    let gone = current(tx, next.id).await?;
    if !append_revision(tx, &merged, Some(author), Some(save_id)).await? {
        return Ok(EditOutcome::Stale(vec![cur]));
    }
    append_revision(tx, &gone, Some(author), None).await?;
    super::text_index::put(tx, id, &merged.text_verbatim).await?;
    super::text_index::remove(tx, next.id).await?;
    let shift = cur.text_verbatim.chars().count()
        + separator(&cur.text_verbatim, &next.text_verbatim).len();
    let spans = SpanMove::Merge {
        from: next.id,
        into: id,
        shift,
    };
    Ok(EditOutcome::Done(vec![merged], spans))
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
        assert_eq!(cut("ask not what", 4), (3, 4));
        assert_eq!(cut("ask  not", 3), (3, 5));
        assert_eq!(split_text("短", 9), ("短".into(), String::new()));
        assert_eq!(join_text("我想问", "我在"), "我想问我在");
        assert_eq!(join_text("ask", "not"), "ask not");
        assert_eq!(join_text("", "x"), "x");
    }
}
