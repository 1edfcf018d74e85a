//! Queries of the tagging stage: the project's schema, segment tags, span tags, schema
//! migrations (renames rewrite rows in one transaction) and the concordance. The one writer
//! of `segment_tag`, `second_pass_tag` and `span_tag` ([`spans`]): other stages call the
//! functions taking `&mut Tx` inside their own transaction (ASR labels, span re-anchoring
//! after a save, spans following a split or merge).

mod spans;

pub use spans::{Span, delete_span, insert_span, move_spans, reanchor, span, spans, update_span};

use sqlx::Row;

use crate::db::{Db, Tx, begin_write, now_ms};
use crate::segments::SegmentStatus;
use crate::text::features::{self, Migration, TagSchema};

/// The project's schema; the default one while the stored document is `{}`.
pub async fn schema(db: &Db, project: i64) -> sqlx::Result<TagSchema> {
    let raw: String = sqlx::query_scalar("SELECT tag_schema FROM project WHERE id = $1")
        .bind(project)
        .fetch_one(db)
        .await?;
    let value: serde_json::Value = serde_json::from_str(&raw).unwrap_or_default();
    if value.as_object().is_none_or(|o| o.is_empty()) {
        return Ok(features::default_schema());
    }
    Ok(serde_json::from_value(value).unwrap_or_else(|_| features::default_schema()))
}

/// Rows that a removal would orphan: (kind, id, count).
pub async fn in_use(
    db: &Db,
    project: i64,
    m: &Migration,
) -> sqlx::Result<Vec<(String, String, i64)>> {
    let mut out = Vec::new();
    for field in &m.removed_fields {
        let n = count_tags(db, project, field, None).await?;
        if n > 0 {
            out.push(("field".to_string(), field.clone(), n));
        }
    }
    for (field, value) in &m.removed_values {
        // a renamed field still has its old id in the table until the renames apply
        let stored = m
            .field_renames
            .iter()
            .find(|(_, to)| to == field)
            .map_or(field.as_str(), |(from, _)| from.as_str());
        let n = count_tags(db, project, stored, Some(value)).await?;
        if n > 0 {
            out.push(("value".to_string(), format!("{field}={value}"), n));
        }
    }
    for code in &m.removed_features {
        let n: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM span_tag t JOIN segment s ON s.id = t.segment_id \
             JOIN recording r ON r.id = s.recording_id WHERE r.project_id = $1 AND t.feature = $2",
        )
        .bind(project)
        .bind(code)
        .fetch_one(db)
        .await?;
        if n > 0 {
            out.push(("feature".to_string(), code.clone(), n));
        }
    }
    Ok(out)
}

async fn count_tags(db: &Db, project: i64, field: &str, value: Option<&str>) -> sqlx::Result<i64> {
    sqlx::query_scalar(
        "SELECT COUNT(*) FROM segment_tag t JOIN segment s ON s.id = t.segment_id \
         JOIN recording r ON r.id = s.recording_id \
         WHERE r.project_id = $1 AND t.field = $2 AND ($3 IS NULL OR t.value = $4)",
    )
    .bind(project)
    .bind(field)
    .bind(value)
    .bind(value)
    .fetch_one(db)
    .await
}

/// The condition "the row's segment is in project `$p`", `p` being its parameter's number.
fn in_project(p: usize) -> String {
    format!(
        "segment_id IN (SELECT s.id FROM segment s JOIN recording r ON r.id = s.recording_id \
         WHERE r.project_id = ${p})"
    )
}

/// Applies the renames of `m` to the project's tags and stores `schema`, in one transaction.
pub async fn save_schema(
    db: &Db,
    project: i64,
    m: &Migration,
    schema: &TagSchema,
) -> sqlx::Result<()> {
    let mut tx = begin_write(db).await?;
    for (from, to) in &m.field_renames {
        for table in ["segment_tag", "second_pass_tag"] {
            sqlx::query(&format!(
                "UPDATE {table} SET field = $1 WHERE field = $2 AND {}",
                in_project(3)
            ))
            .bind(to)
            .bind(from)
            .bind(project)
            .execute(&mut *tx)
            .await?;
        }
    }
    for (field, from, to) in &m.value_renames {
        for table in ["segment_tag", "second_pass_tag"] {
            // a segment that already has the new value keeps one row
            sqlx::query(&format!(
                "DELETE FROM {table} WHERE field = $1 AND value = $2 AND {} AND segment_id IN \
                 (SELECT segment_id FROM {table} WHERE field = $4 AND value = $5)",
                in_project(3)
            ))
            .bind(field)
            .bind(from)
            .bind(project)
            .bind(field)
            .bind(to)
            .execute(&mut *tx)
            .await?;
            sqlx::query(&format!(
                "UPDATE {table} SET value = $1 WHERE field = $2 AND value = $3 AND {}",
                in_project(4)
            ))
            .bind(to)
            .bind(field)
            .bind(from)
            .bind(project)
            .execute(&mut *tx)
            .await?;
        }
    }
    for (from, to) in &m.feature_renames {
        sqlx::query(&format!(
            "UPDATE span_tag SET feature = $1 WHERE feature = $2 AND {}",
            in_project(3)
        ))
        .bind(to)
        .bind(from)
        .bind(project)
        .execute(&mut *tx)
        .await?;
    }
    let json = serde_json::to_string(schema).map_err(|e| sqlx::Error::Protocol(e.to_string()))?;
    sqlx::query("UPDATE project SET tag_schema = $1 WHERE id = $2")
        .bind(json)
        .bind(project)
        .execute(&mut *tx)
        .await?;
    tx.commit().await
}

/// What the tagging stage needs to know about a segment.
pub struct SegmentInfo {
    /// Owning project.
    pub project_id: i64,
    /// Verbatim text (span offsets count its characters).
    pub text: String,
    /// Bounds in samples at `rate`.
    pub start_sample: i64,
    /// End, exclusive.
    pub end_sample: i64,
}

/// A segment's tag rows (field, value).
pub async fn segment_tags(db: &Db, segment: i64) -> sqlx::Result<Vec<(String, String)>> {
    let rows = sqlx::query(
        "SELECT field, value FROM segment_tag WHERE segment_id = $1 ORDER BY field, value",
    )
    .bind(segment)
    .fetch_all(db)
    .await?;
    rows.iter()
        .map(|r| Ok((r.try_get("field")?, r.try_get("value")?)))
        .collect()
}

/// The guard of a tag write: the segment is live and still in the workflow state the access
/// check saw, inside the write's transaction (`None`: no state condition, for second-pass
/// spans). See `crate::segments::state`. Its parameters are the segment and the expected state
/// twice, numbered from `p` on.
/// Replaces a segment's tag rows if it is still in state `expect`; false if it is not.
pub async fn set_segment_tags(
    db: &Db,
    segment: i64,
    author: i64,
    rows: &[(String, String)],
    expect: SegmentStatus,
) -> sqlx::Result<bool> {
    let mut tx = begin_write(db).await?;
    if !crate::segments::write::hold(&mut tx, segment, Some(expect), None).await? {
        return Ok(false);
    }
    sqlx::query("DELETE FROM segment_tag WHERE segment_id = $1")
        .bind(segment)
        .execute(&mut *tx)
        .await?;
    let now = now_ms();
    for (field, value) in rows {
        sqlx::query("INSERT INTO segment_tag (segment_id, field, value, author_id, created_at) VALUES ($1, $2, $3, $4, $5)")
            .bind(segment)
            .bind(field)
            .bind(value)
            .bind(author)
            .bind(now)
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    Ok(true)
}

/// Adds segment-tag values under `field` (those already there stay), inside the caller's
/// transaction: the labels an ASR import brings.
pub async fn add_segment_tags(
    tx: &mut Tx,
    segment: i64,
    field: &str,
    values: &[String],
    author: Option<i64>,
) -> sqlx::Result<()> {
    let now = now_ms();
    for value in values {
        sqlx::query(
            "INSERT INTO segment_tag (segment_id, field, value, author_id, created_at) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (segment_id, field, value) DO NOTHING",
        )
        .bind(segment)
        .bind(field)
        .bind(value)
        .bind(author)
        .bind(now)
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

/// Concordance filters; all optional, combined with AND.
#[derive(Debug, Default, Clone, serde::Deserialize, utoipa::IntoParams)]
pub struct Filters {
    /// Feature code: hits are the spans carrying it.
    pub feature: Option<String>,
    /// Realised form (exact): hits are the spans with it.
    pub realised: Option<String>,
    /// Substring of the verbatim text.
    pub text: Option<String>,
    /// Regular expression over the verbatim text (size-bounded).
    pub regex: Option<String>,
    /// Segment status.
    pub status: Option<String>,
    /// Segment label as `field=value`, e.g. `variety=cmn-southwestern`.
    pub label: Option<String>,
    /// Speaker's native variety.
    pub native_variety: Option<String>,
    /// Speaker's birthplace (substring).
    pub birthplace: Option<String>,
    /// Speaker code.
    pub speaker: Option<String>,
    /// Page size (1 to 500, default 100; a page ends with a whole segment, so it may hold a
    /// few more).
    pub limit: Option<i64>,
    /// The page after segment id `after` (the previous page's `next_after`).
    pub after: Option<i64>,
    /// `csv` for a CSV download.
    #[param(inline)]
    pub format: Option<crate::dashboard::TableFormat>,
}

/// A candidate row of the concordance: a span (when span filters are used) or a segment.
pub struct Candidate {
    /// Segment.
    pub segment_id: i64,
    /// Recording.
    pub recording_id: i64,
    /// Verbatim text.
    pub text: String,
    /// Segment bounds (samples).
    pub start_sample: i64,
    /// End.
    pub end_sample: i64,
    /// Analysis rate of the recording.
    pub rate: i64,
    /// Who holds (or first wrote) the segment: decides whether a second annotator is blind to it.
    pub assignee_id: Option<i64>,
    /// Hidden from the caller (a blind second pass): never a hit.
    pub hidden: bool,
    /// The span, when the hit is a span.
    #[allow(clippy::type_complexity)]
    pub span: Option<(
        i64,
        i64,
        i64,
        String,
        String,
        String,
        Option<i64>,
        Option<i64>,
    )>,
}

fn like_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('%');
    for c in s.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('%');
    out
}

/// Which segments a concordance query looks at: ids in `(after, upto]`, at most `cap` rows,
/// and, when `ids` is given, only those (the text search index's candidates,
/// [`crate::segments::text_index::candidate_ids`]).
pub struct Window {
    /// Exclusive lower bound on the segment id.
    pub after: i64,
    /// Inclusive upper bound.
    pub upto: i64,
    /// The only segments to look at.
    pub ids: Option<Vec<i64>>,
    /// Rows at most.
    pub cap: i64,
    /// Every segment of the window, its text unfiltered (the caller matches it, and counts
    /// which parts of the needle are rare).
    pub unfiltered: bool,
}

/// The largest segment id (0 for none): where windows end.
pub async fn last_segment(db: &Db) -> sqlx::Result<i64> {
    sqlx::query("SELECT COALESCE(MAX(id), 0) FROM segment")
        .fetch_one(db)
        .await?
        .try_get(0)
}

/// Candidate rows for the filters in window `w`, in segment order (spans in id order within
/// their segment); `spans` selects span hits. Regex filtering happens on them in the caller.
pub async fn concordance(
    db: &Db,
    project: i64,
    f: &Filters,
    spans: bool,
    w: &Window,
) -> sqlx::Result<Vec<Candidate>> {
    if w.ids.as_ref().is_some_and(Vec::is_empty) {
        return Ok(Vec::new()); // the index named none
    }
    let mut sql = String::from(
        "SELECT s.id AS segment_id, s.recording_id, s.text_verbatim, s.start_sample AS seg_start, \
         s.end_sample AS seg_end, r.analysis_rate, s.assignee_id",
    );
    if spans {
        sql.push_str(
            ", t.id AS span_id, t.char_start, t.char_end, t.feature, t.expected, t.realised, \
             t.start_sample AS span_start, t.end_sample AS span_end FROM span_tag t \
             JOIN segment s ON s.id = t.segment_id",
        );
    } else {
        sql.push_str(" FROM segment s");
    }
    sql.push_str(
        " JOIN recording r ON r.id = s.recording_id LEFT JOIN speaker sp ON sp.id = s.speaker_id \
         WHERE r.project_id = ? AND s.deleted = 0",
    );
    let mut binds: Vec<String> = Vec::new();
    // The window on the indexed column: the span's segment (span_tag_by_feature and
    // span_tag_by_realised end with it), or the segment's primary key.
    sql.push_str(if spans {
        " AND t.segment_id > ? AND t.segment_id <= ?"
    } else {
        " AND s.id > ? AND s.id <= ?"
    });
    if spans {
        if let Some(v) = &f.feature {
            sql.push_str(" AND t.feature = ?");
            binds.push(v.clone());
        }
        if let Some(v) = &f.realised {
            sql.push_str(" AND t.realised = ?");
            binds.push(v.clone());
        }
    }
    // The index's candidates are matched exactly by the caller; a LIKE beside them would
    // only tempt Postgres into a scan of the window.
    if let Some(v) = f.text.as_ref().filter(|_| !w.unfiltered && w.ids.is_none()) {
        // A prefilter only: the scan's exact match decides (SQLite's LIKE folds ASCII case,
        // Postgres's does not, so SQLite only lets more candidates through).
        sql.push_str(" AND s.text_verbatim LIKE ? ESCAPE '\\'");
        binds.push(like_escape(v));
    }
    if let Some(v) = &f.status {
        sql.push_str(" AND s.status = ?");
        binds.push(v.clone());
    }
    if let Some((field, value)) = f.label.as_deref().and_then(|l| l.split_once('=')) {
        sql.push_str(
            " AND (EXISTS (SELECT 1 FROM segment_tag g WHERE g.segment_id = s.id AND g.field = ? AND g.value = ?)",
        );
        binds.push(field.to_string());
        binds.push(value.to_string());
        if field == "variety" {
            // fallback: the speaker's native variety when the segment has no variety tag
            sql.push_str(
                " OR (sp.native_variety = ? AND NOT EXISTS (SELECT 1 FROM segment_tag g2 \
                 WHERE g2.segment_id = s.id AND g2.field = 'variety'))",
            );
            binds.push(value.to_string());
        }
        sql.push(')');
    }
    if let Some(v) = &f.native_variety {
        sql.push_str(" AND sp.native_variety = ?");
        binds.push(v.clone());
    }
    if let Some(v) = &f.birthplace {
        sql.push_str(" AND sp.birthplace LIKE ? ESCAPE '\\'");
        binds.push(like_escape(v));
    }
    if let Some(v) = &f.speaker {
        sql.push_str(" AND sp.code = ?");
        binds.push(v.clone());
    }
    if let Some(ids) = &w.ids {
        sql.push_str(" AND s.id IN (");
        sql.push_str(&vec!["?"; ids.len()].join(", "));
        sql.push(')');
    }
    sql.push_str(if spans {
        " ORDER BY t.segment_id, t.id LIMIT ?"
    } else {
        " ORDER BY s.id LIMIT ?"
    });
    let sql = crate::db::numbered(&sql);
    // Not prepared on Postgres: an unnamed statement is planned for its window's bounds on
    // every run, where a cached generic plan would walk the project (`db::CUSTOM_PLANS`).
    let prepared = crate::db::backend(db) == crate::db::Backend::Sqlite;
    let mut q = sqlx::query(&sql)
        .persistent(prepared)
        .bind(project)
        .bind(w.after)
        .bind(w.upto);
    for b in &binds {
        q = q.bind(b);
    }
    for id in w.ids.iter().flatten() {
        q = q.bind(*id);
    }
    let rows = q.bind(w.cap).fetch_all(db).await?;
    rows.iter()
        .map(|r| {
            Ok(Candidate {
                segment_id: r.try_get("segment_id")?,
                recording_id: r.try_get("recording_id")?,
                text: r.try_get("text_verbatim")?,
                start_sample: r.try_get("seg_start")?,
                end_sample: r.try_get("seg_end")?,
                rate: r.try_get("analysis_rate")?,
                assignee_id: r.try_get("assignee_id")?,
                hidden: false,
                span: if spans {
                    Some((
                        r.try_get("span_id")?,
                        r.try_get("char_start")?,
                        r.try_get("char_end")?,
                        r.try_get("feature")?,
                        r.try_get("expected")?,
                        r.try_get("realised")?,
                        r.try_get("span_start")?,
                        r.try_get("span_end")?,
                    ))
                } else {
                    None
                },
            })
        })
        .collect()
}
