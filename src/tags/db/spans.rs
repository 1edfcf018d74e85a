//! Span tags: an accent feature on the characters that carry it. Inserts, edits and deletes
//! are guarded by the segment's workflow state and text ([`hold`], which locks the segment row); the spans follow their
//! characters when the text changes ([`reanchor`]) and when the segment is split or merged
//! ([`move_spans`]).
//!
//! Decision worth knowing: **a span crossing a split is clipped** to the part holding its
//! first character and flagged `needs_review`, so nobody loses a tag and nobody trusts a
//! clipped one unseen. A span lying wholly in the whitespace trimmed at the cut stays where it
//! was on the first part, flagged. Second-pass spans (`pass = 2`) sit on the second
//! transcription, which a split or merge of the first does not touch: they stay put.

use serde::Serialize;
use sqlx::Row;

use crate::db::begin_write;
use crate::db::{Db, DbRow, Tx, now_ms};
use crate::segments::SegmentStatus;
use crate::segments::edit::SpanMove;
use crate::segments::write::hold;
use crate::text::features;

/// A span tag.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Span {
    /// Id.
    pub id: i64,
    /// Segment.
    pub segment_id: i64,
    /// First character (Unicode scalar offset into text_verbatim).
    pub char_start: i64,
    /// End, exclusive.
    pub char_end: i64,
    /// The tagged characters.
    pub chars: String,
    /// Feature code.
    pub feature: String,
    /// Expected pinyin, tone numbers.
    pub expected: String,
    /// Realised form as heard.
    pub realised: String,
    /// `pinyin` or `ipa`.
    pub realised_script: String,
    /// Time span start (absolute samples at the analysis rate).
    pub start_sample: Option<i64>,
    /// Time span end.
    pub end_sample: Option<i64>,
    /// Note.
    pub note: String,
    /// The characters changed under the span.
    pub needs_review: bool,
    /// 1, or 2 for the second annotator.
    pub pass: i64,
    /// Author.
    pub author_id: Option<i64>,
    /// Last change, unix ms.
    pub updated_at: i64,
}

const SPAN_COLUMNS: &str = "id, segment_id, char_start, char_end, chars, feature, expected, realised, \
    realised_script, start_sample, end_sample, note, needs_review, pass, author_id, updated_at";

fn span_row(r: &DbRow) -> sqlx::Result<Span> {
    Ok(Span {
        id: r.try_get("id")?,
        segment_id: r.try_get("segment_id")?,
        char_start: r.try_get("char_start")?,
        char_end: r.try_get("char_end")?,
        chars: r.try_get("chars")?,
        feature: r.try_get("feature")?,
        expected: r.try_get("expected")?,
        realised: r.try_get("realised")?,
        realised_script: r.try_get("realised_script")?,
        start_sample: r.try_get("start_sample")?,
        end_sample: r.try_get("end_sample")?,
        note: r.try_get("note")?,
        needs_review: r.try_get::<i64, _>("needs_review")? != 0,
        pass: r.try_get("pass")?,
        author_id: r.try_get("author_id")?,
        updated_at: r.try_get("updated_at")?,
    })
}

/// A segment's spans in text order.
pub async fn spans(db: &Db, segment: i64) -> sqlx::Result<Vec<Span>> {
    let rows = sqlx::query(&format!(
        "SELECT {SPAN_COLUMNS} FROM span_tag WHERE segment_id = $1 ORDER BY pass, char_start, id"
    ))
    .bind(segment)
    .fetch_all(db)
    .await?;
    rows.iter().map(span_row).collect()
}

/// One span.
pub async fn span(db: &Db, id: i64) -> sqlx::Result<Span> {
    span_row(
        &sqlx::query(&format!(
            "SELECT {SPAN_COLUMNS} FROM span_tag WHERE id = $1"
        ))
        .bind(id)
        .fetch_one(db)
        .await?,
    )
}

/// Inserts a span if its segment is still in state `expect`; its id, or `None`.
pub async fn insert_span(
    db: &Db,
    s: &Span,
    author: i64,
    expect: Option<SegmentStatus>,
    text: Option<&str>,
) -> sqlx::Result<Option<i64>> {
    let now = now_ms();
    let mut tx = begin_write(db).await?;
    if !hold(&mut tx, s.segment_id, expect, text).await? {
        return Ok(None);
    }
    let id = sqlx::query_scalar(
        "INSERT INTO span_tag (segment_id, char_start, char_end, chars, feature, expected, realised, \
         realised_script, start_sample, end_sample, note, needs_review, pass, author_id, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 0, $12, $13, $14, $15) RETURNING id",
    )
    .bind(s.segment_id)
    .bind(s.char_start)
    .bind(s.char_end)
    .bind(&s.chars)
    .bind(&s.feature)
    .bind(&s.expected)
    .bind(&s.realised)
    .bind(&s.realised_script)
    .bind(s.start_sample)
    .bind(s.end_sample)
    .bind(&s.note)
    .bind(s.pass)
    .bind(author)
    .bind(now)
    .bind(now)
    .fetch_one(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(Some(id))
}

/// Writes every editable column of a span if its segment is still in state `expect`; false
/// if it is not.
pub async fn update_span(
    db: &Db,
    s: &Span,
    expect: Option<SegmentStatus>,
    text: Option<&str>,
) -> sqlx::Result<bool> {
    let mut tx = begin_write(db).await?;
    if !hold(&mut tx, s.segment_id, expect, text).await? {
        return Ok(false);
    }
    let done = sqlx::query(
        "UPDATE span_tag SET char_start = $1, char_end = $2, chars = $3, feature = $4, expected = $5, realised = $6, \
         realised_script = $7, start_sample = $8, end_sample = $9, note = $10, needs_review = $11, updated_at = $12 \
         WHERE id = $13 AND segment_id = $14",
    )
    .bind(s.char_start)
    .bind(s.char_end)
    .bind(&s.chars)
    .bind(&s.feature)
    .bind(&s.expected)
    .bind(&s.realised)
    .bind(&s.realised_script)
    .bind(s.start_sample)
    .bind(s.end_sample)
    .bind(&s.note)
    .bind(i64::from(s.needs_review))
    .bind(now_ms())
    .bind(s.id)
    .bind(s.segment_id)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(done.rows_affected() > 0)
}

/// Deletes a span of `segment` if the segment is still in state `expect`; false if not.
pub async fn delete_span(
    db: &Db,
    id: i64,
    segment: i64,
    expect: Option<SegmentStatus>,
) -> sqlx::Result<bool> {
    let mut tx = begin_write(db).await?;
    if !hold(&mut tx, segment, expect, None).await? {
        return Ok(false);
    }
    let done = sqlx::query("DELETE FROM span_tag WHERE id = $1 AND segment_id = $2")
        .bind(id)
        .bind(segment)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(done.rows_affected() > 0)
}

/// Re-anchors a segment's spans after its verbatim text changed from `old` to `new`, inside
/// the save's transaction.
pub async fn reanchor(tx: &mut Tx, segment: i64, old: &str, new: &str) -> sqlx::Result<()> {
    if old == new {
        return Ok(());
    }
    // Second-pass spans sit on the second transcription, which this edit did not touch.
    for (id, start, end, flagged) in first_pass(tx, segment).await? {
        let a = features::reanchor(old, new, start, end);
        set_place(
            tx,
            id,
            segment,
            a.start,
            a.end,
            &a.chars,
            a.needs_review || flagged,
        )
        .await?;
    }
    Ok(())
}

/// A segment's first-pass spans: (id, start, end, needs_review).
async fn first_pass(tx: &mut Tx, segment: i64) -> sqlx::Result<Vec<(i64, usize, usize, bool)>> {
    let rows = sqlx::query(
        "SELECT id, char_start, char_end, needs_review FROM span_tag WHERE segment_id = $1 AND pass = 1",
    )
    .bind(segment)
    .fetch_all(&mut **tx)
    .await?;
    let offset = |v: i64| usize::try_from(v).unwrap_or(0);
    rows.iter()
        .map(|r| {
            Ok((
                r.try_get("id")?,
                offset(r.try_get("char_start")?),
                offset(r.try_get("char_end")?),
                r.try_get::<i64, _>("needs_review")? != 0,
            ))
        })
        .collect()
}

async fn set_place(
    tx: &mut Tx,
    id: i64,
    segment: i64,
    start: usize,
    end: usize,
    chars: &str,
    needs_review: bool,
) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE span_tag SET segment_id = $1, char_start = $2, char_end = $3, chars = $4, needs_review = $5, \
         updated_at = $6 WHERE id = $7",
    )
    .bind(segment)
    .bind(i64::try_from(start).unwrap_or(i64::MAX))
    .bind(i64::try_from(end).unwrap_or(i64::MAX))
    .bind(chars)
    .bind(i64::from(needs_review))
    .bind(now_ms())
    .bind(id)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Where a first-pass span `[start, end)` goes when its segment is cut, keeping
/// `[0, first_len)` and moving `[second_start, ..)` to the second part: (to the second part,
/// start, end, clipped). See the module doc for the rule.
fn place_after_split(
    start: usize,
    end: usize,
    first_len: usize,
    second_start: usize,
) -> (bool, usize, usize, bool) {
    if start < first_len {
        (false, start, end.min(first_len), end > first_len)
    } else if end > second_start {
        let from = start.max(second_start);
        (
            true,
            from - second_start,
            end - second_start,
            start < second_start,
        )
    } else {
        (false, start, end, true)
    }
}

/// Moves a split or merged segment's first-pass spans onto the characters that carry them,
/// inside the edit's transaction.
pub async fn move_spans(tx: &mut Tx, spans: SpanMove) -> sqlx::Result<()> {
    match spans {
        SpanMove::None => Ok(()),
        SpanMove::Merge { from, into, shift } => {
            let shift = i64::try_from(shift).unwrap_or(i64::MAX);
            sqlx::query(
                "UPDATE span_tag SET segment_id = $1, char_start = char_start + $2, char_end = char_end + $2, \
                 updated_at = $3 WHERE segment_id = $4 AND pass = 1",
            )
            .bind(into)
            .bind(shift)
            .bind(now_ms())
            .bind(from)
            .execute(&mut **tx)
            .await?;
            Ok(())
        }
        SpanMove::Split {
            from,
            to,
            first_len,
            second_start,
        } => {
            let texts: Vec<String> = sqlx::query_scalar(
                "SELECT text_verbatim FROM segment WHERE id = $1 OR id = $2 ORDER BY id",
            )
            .bind(from)
            .bind(to)
            .fetch_all(&mut **tx)
            .await?;
            let [first, second] = texts.as_slice() else {
                return Err(sqlx::Error::RowNotFound);
            };
            for (id, start, end, flagged) in first_pass(tx, from).await? {
                let (moved, a, b, clipped) = place_after_split(start, end, first_len, second_start);
                if !moved && !clipped {
                    continue;
                }
                let (segment, text) = if moved { (to, second) } else { (from, first) };
                let chars: String = text.chars().skip(a).take(b.saturating_sub(a)).collect();
                set_place(tx, id, segment, a, b, &chars, flagged || clipped).await?;
            }
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::place_after_split;

    #[test]
    fn spans_follow_a_cut_and_a_crossing_span_is_clipped_to_its_first_character_part() {
        // "ask not what": cut at 4 keeps "ask" (0..3), the second part starts at 4.
        assert_eq!(place_after_split(0, 3, 3, 4), (false, 0, 3, false));
        assert_eq!(place_after_split(4, 7, 3, 4), (true, 0, 3, false));
        assert_eq!(place_after_split(1, 6, 3, 4), (false, 1, 3, true));
        assert_eq!(place_after_split(3, 6, 3, 4), (true, 0, 2, true));
        assert_eq!(place_after_split(3, 4, 3, 4), (false, 3, 4, true));
    }
}
