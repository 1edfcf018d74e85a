//! Queries of ASR import: a recording's segments as the planner sees them, and applying a
//! plan in one write transaction (creations and pre-filled transcripts get a revision, like
//! every other change to a segment's text).

use sqlx::Row;

use super::plan::{Existing, Plan};
use crate::db::{Db, begin_write, now_ms};

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

fn target(r: &crate::db::DbRow) -> sqlx::Result<Target> {
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

const REVISION_OF: &str = "INSERT INTO segment_revision (segment_id, version, author_id, created_at, \
     text_verbatim, text_display, text_norm, start_sample, end_sample, speaker_id, status) \
     SELECT id, version, $1, $2, text_verbatim, text_display, text_norm, start_sample, end_sample, \
     speaker_id, status FROM segment WHERE id = $3";

/// Applies a plan: all of it or nothing. `source` is the format or service, `model` the
/// engine's model name; `author` the importing user (none from the CLI).
pub async fn apply(
    db: &Db,
    target: &Target,
    plan: &Plan,
    source: &str,
    model: Option<&str>,
    author: Option<i64>,
) -> sqlx::Result<Applied> {
    let now = now_ms();
    let mut tx = begin_write(db).await?;
    let mut applied = Applied {
        unplaced: plan.unplaced,
        ..Applied::default()
    };
    for id in &plan.delete {
        // Re-checked inside the transaction: a claim that arrived meanwhile keeps its segment.
        let done = sqlx::query(
            "UPDATE segment SET deleted = 1, version = version + 1 WHERE id = $1 AND version = 1 \
             AND text_verbatim = '' AND assignee_id IS NULL AND status = 'new' AND deleted = 0",
        )
        .bind(id)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() == 1 {
            sqlx::query(REVISION_OF)
                .bind(author)
                .bind(now)
                .bind(id)
                .execute(&mut *tx)
                .await?;
            applied.replaced += 1;
        }
    }
    for seg in &plan.create {
        let speaker = match &seg.speaker {
            Some(code) => Some(speaker_id(&mut tx, target.project, code).await?),
            None => None,
        };
        let id: i64 = sqlx::query(
            "INSERT INTO segment (recording_id, start_sample, end_sample, speaker_id, asr_text, asr_source, \
             asr_model, text_verbatim) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
        )
        .bind(target.id)
        .bind(seg.start)
        .bind(seg.end)
        .bind(speaker)
        .bind(&seg.text)
        .bind(source)
        .bind(model)
        .bind(&seg.text)
        .fetch_one(&mut *tx)
        .await?
        .try_get("id")?;
        sqlx::query(REVISION_OF)
            .bind(author)
            .bind(now)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        add_labels(&mut tx, id, &seg.labels, author, now).await?;
        applied.created += 1;
    }
    for (id, text, labels) in &plan.attach {
        let prefill = sqlx::query(
            "UPDATE segment SET text_verbatim = $1, version = version + 1 WHERE id = $2 AND text_verbatim = '' \
             AND status IN ('new', 'in_progress') AND deleted = 0",
        )
        .bind(text)
        .bind(id)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "UPDATE segment SET asr_text = $1, asr_source = $2, asr_model = $3 WHERE id = $4",
        )
        .bind(text)
        .bind(source)
        .bind(model)
        .bind(id)
        .execute(&mut *tx)
        .await?;
        if prefill.rows_affected() == 1 {
            sqlx::query(REVISION_OF)
                .bind(author)
                .bind(now)
                .bind(id)
                .execute(&mut *tx)
                .await?;
            applied.prefilled += 1;
        }
        add_labels(&mut tx, *id, labels, author, now).await?;
        applied.attached += 1;
    }
    tx.commit().await?;
    Ok(applied)
}

async fn speaker_id(tx: &mut crate::db::Tx, project: i64, code: &str) -> sqlx::Result<i64> {
    let code: String = code.trim().chars().take(100).collect();
    if let Some(r) = sqlx::query("SELECT id FROM speaker WHERE project_id = $1 AND code = $2")
        .bind(project)
        .bind(&code)
        .fetch_optional(&mut **tx)
        .await?
    {
        return r.try_get("id");
    }
    sqlx::query("INSERT INTO speaker (project_id, code) VALUES ($1, $2) RETURNING id")
        .bind(project)
        .bind(&code)
        .fetch_one(&mut **tx)
        .await?
        .try_get("id")
}

async fn add_labels(
    tx: &mut crate::db::Tx,
    segment: i64,
    labels: &[String],
    author: Option<i64>,
    now: i64,
) -> sqlx::Result<()> {
    for label in labels {
        sqlx::query(
            "INSERT INTO segment_tag (segment_id, field, value, author_id, created_at) VALUES ($1, 'label', $2, $3, $4) \
             ON CONFLICT (segment_id, field, value) DO NOTHING",
        )
        .bind(segment)
        .bind(label)
        .bind(author)
        .bind(now)
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
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
