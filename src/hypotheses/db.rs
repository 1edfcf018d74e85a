//! Queries of ASR import: a recording's segments as the planner sees them, and applying a
//! plan in one write transaction (creations and pre-filled transcripts get a revision, like
//! every other change to a segment's text).

use sqlx::Row;

use super::plan::{Existing, Plan};
use crate::db::{Db, DbRow, begin_write};
use crate::projects::db::speaker_for_code;
use crate::segments::write as segwrite;
use crate::tags::db::add_segment_tags;

/// Recording facts the import needs.
pub struct Target {
    /// Recording id.
    pub id: i64,
    /// Its project.
    pub project: i64,
    /// Display name (matched against file names).
    pub name: String,
    /// Analysis rate.
    pub rate: i64,
    /// Length in samples (0 while importing).
    pub samples: i64,
    /// Ingest status.
    pub status: String,
    /// Content hash (the analysis copy's name).
    pub sha256: Option<String>,
}

fn target(r: &DbRow) -> sqlx::Result<Target> {
    Ok(Target {
        id: r.try_get("id")?,
        project: r.try_get("project_id")?,
        name: r.try_get("name")?,
        rate: r.try_get("analysis_rate")?,
        samples: r.try_get::<Option<i64>, _>("samples")?.unwrap_or(0),
        status: r.try_get("status")?,
        sha256: r.try_get("sha256")?,
    })
}

const TARGET: &str =
    "SELECT id, project_id, name, analysis_rate, samples, status, sha256 FROM recording";

/// One recording.
pub async fn recording(db: &Db, id: i64) -> sqlx::Result<Target> {
    target(
        &sqlx::query(&format!("{TARGET} WHERE id = $1"))
            .bind(id)
            .fetch_one(db)
            .await?,
    )
}

/// The project's recordings, for matching file names.
pub async fn recordings(db: &Db, project: i64) -> sqlx::Result<Vec<Target>> {
    sqlx::query(&format!("{TARGET} WHERE project_id = $1 ORDER BY id"))
        .bind(project)
        .fetch_all(db)
        .await?
        .iter()
        .map(target)
        .collect()
}

/// Live segments of a recording; touched = someone typed, saved, claimed or moved it on.
pub async fn existing(db: &Db, recording: i64) -> sqlx::Result<Vec<Existing>> {
    let rows = sqlx::query(
        "SELECT id, start_sample, end_sample, \
         CASE WHEN version > 1 OR text_verbatim <> '' OR assignee_id IS NOT NULL OR status <> 'new' \
              THEN 1 ELSE 0 END AS touched \
         FROM segment WHERE recording_id = $1 AND deleted = 0 ORDER BY start_sample, id",
    )
    .bind(recording)
    .fetch_all(db)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(Existing {
                id: r.try_get("id")?,
                start: r.try_get("start_sample")?,
                end: r.try_get("end_sample")?,
                touched: r.try_get::<i64, _>("touched")? != 0,
            })
        })
        .collect()
}

/// Counts of what an import did.
#[derive(Debug, Default, serde::Serialize, utoipa::ToSchema)]
pub struct Applied {
    /// Segments created.
    pub created: usize,
    /// Existing segments that received ASR text.
    pub attached: usize,
    /// Of those, segments whose empty transcript was pre-filled with it.
    pub prefilled: usize,
    /// Untouched segments replaced.
    pub replaced: usize,
    /// Hypothesis pieces outside every segment or the recording.
    pub unplaced: usize,
}

/// Applies a plan: all of it or nothing. `source` is the format or service, `model` the
/// engine's model name; `author` the importing user (none from the CLI). Segments are written
/// by `crate::segments::write` (each change with its revision), labels by `crate::tags::db`,
/// speakers by `crate::projects::db`, all in this one transaction.
pub async fn apply(
    db: &Db,
    target: &Target,
    plan: &Plan,
    source: &str,
    model: Option<&str>,
    author: Option<i64>,
) -> sqlx::Result<Applied> {
    let mut tx = begin_write(db).await?;
    let mut applied = Applied {
        unplaced: plan.unplaced,
        ..Applied::default()
    };
    for &id in &plan.delete {
        // Re-checked inside the transaction: a claim that arrived meanwhile keeps its segment.
        if segwrite::replace_untouched(&mut tx, id, author).await? {
            applied.replaced += 1;
        }
    }
    for seg in &plan.create {
        let speaker = match &seg.speaker {
            Some(code) => {
                let code: String = code.trim().chars().take(100).collect();
                Some(speaker_for_code(&mut tx, target.project, &code).await?.0)
            }
            None => None,
        };
        let new = segwrite::NewSegment {
            recording: target.id,
            start: seg.start,
            end: seg.end,
            speaker,
            text: &seg.text,
            asr: Some((&seg.text, source, model)),
            assignee: None,
        };
        let created = segwrite::insert(&mut tx, &new, author).await?;
        add_segment_tags(&mut tx, created.id, "label", &seg.labels, author).await?;
        applied.created += 1;
    }
    for (id, text, labels) in &plan.attach {
        if segwrite::attach_asr(&mut tx, *id, text, source, model, author).await? {
            applied.prefilled += 1;
        }
        add_segment_tags(&mut tx, *id, "label", labels, author).await?;
        applied.attached += 1;
    }
    for (id, labels) in &plan.label {
        add_segment_tags(&mut tx, *id, "label", labels, author).await?;
    }
    tx.commit().await?;
    Ok(applied)
}

/// The project's live ASR server settings: (url, model, language, key).
pub async fn live_settings(
    db: &Db,
    project: i64,
) -> sqlx::Result<(
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
)> {
    let r = sqlx::query(
        "SELECT asr_url, asr_model, asr_language, asr_api_key FROM project WHERE id = $1",
    )
    .bind(project)
    .fetch_one(db)
    .await?;
    Ok((
        r.try_get("asr_url")?,
        r.try_get("asr_model")?,
        r.try_get("asr_language")?,
        r.try_get("asr_api_key")?,
    ))
}
