//! Queries of the dashboard: read-only, one pass each, grouped in Rust.

use std::collections::BTreeMap;

use sqlx::Row;

use crate::db::Db;

/// Progress counts.
pub struct Progress {
    /// Status → (segments, hours of audio in them).
    pub statuses: BTreeMap<String, (i64, f64)>,
    /// Hours of ready recordings.
    pub recording_hours: f64,
    /// Recording status → count.
    pub recordings: BTreeMap<String, i64>,
}

/// Segments and hours by status; recordings by status.
pub async fn progress(db: &Db, project: i64) -> sqlx::Result<Progress> {
    let mut statuses: BTreeMap<String, (i64, f64)> =
        ["new", "in_progress", "submitted", "approved", "rejected"]
            .into_iter()
            .map(|s| (s.to_string(), (0, 0.0)))
            .collect();
    let rows = sqlx::query(
        "SELECT s.status, COUNT(*) AS n, SUM(CAST(s.end_sample - s.start_sample AS DOUBLE PRECISION) / r.analysis_rate) AS secs \
         FROM segment s JOIN recording r ON r.id = s.recording_id \
         WHERE r.project_id = $1 AND s.deleted = 0 GROUP BY s.status",
    )
    .bind(project)
    .fetch_all(db)
    .await?;
    for r in rows {
        let secs: Option<f64> = r.try_get("secs")?;
        statuses.insert(
            r.try_get("status")?,
            (r.try_get("n")?, secs.unwrap_or(0.0) / 3600.0),
        );
    }
    let rows = sqlx::query(
        "SELECT status, COUNT(*) AS n, SUM(CAST(COALESCE(samples, 0) AS DOUBLE PRECISION) / analysis_rate) AS secs \
         FROM recording WHERE project_id = $1 GROUP BY status",
    )
    .bind(project)
    .fetch_all(db)
    .await?;
    let mut recordings = BTreeMap::new();
    let mut recording_hours = 0.0;
    for r in rows {
        let status: String = r.try_get("status")?;
        if status == "ready" {
            recording_hours = r.try_get::<Option<f64>, _>("secs")?.unwrap_or(0.0) / 3600.0;
        }
        recordings.insert(status, r.try_get("n")?);
    }
    Ok(Progress {
        statuses,
        recording_hours,
        recordings,
    })
}

/// A segment with ASR text and a final transcript.
pub struct Scored {
    /// Segment id.
    pub id: i64,
    /// Recording id.
    pub recording_id: i64,
    /// Recording name.
    pub recording_name: String,
    /// Project name.
    pub project_name: String,
    /// Start, seconds.
    pub start_s: f64,
    /// End, seconds.
    pub end_s: f64,
    /// Final transcript.
    pub reference: String,
    /// ASR text.
    pub hypothesis: String,
    /// ASR model (or source when the model is unknown).
    pub model: Option<String>,
    /// Speaker code.
    pub speaker: Option<String>,
    /// Dialect label: the segment's `variety` tag, else the speaker's native variety.
    pub dialect: Option<String>,
}

/// Every scorable segment of a project, in recording and time order.
pub async fn scored(db: &Db, project: i64) -> sqlx::Result<Vec<Scored>> {
    let rows = sqlx::query(
        "SELECT s.id, s.recording_id, r.name AS recording_name, p.name AS project_name, r.analysis_rate, \
                s.start_sample, s.end_sample, s.text_verbatim, s.asr_text, \
                COALESCE(s.asr_model, s.asr_source) AS model, sp.code AS speaker, \
                COALESCE((SELECT MIN(t.value) FROM segment_tag t WHERE t.segment_id = s.id AND t.field = 'variety'), \
                         sp.native_variety) AS dialect \
         FROM segment s JOIN recording r ON r.id = s.recording_id JOIN project p ON p.id = r.project_id \
         LEFT JOIN speaker sp ON sp.id = s.speaker_id \
         WHERE r.project_id = $1 AND s.deleted = 0 AND s.asr_text IS NOT NULL \
           AND s.status IN ('submitted', 'approved') \
         ORDER BY r.id, s.start_sample, s.id",
    )
    .bind(project)
    .fetch_all(db)
    .await?;
    rows.iter()
        .map(|r| {
            let rate = r.try_get::<i64, _>("analysis_rate")?.max(1) as f64;
            Ok(Scored {
                id: r.try_get("id")?,
                recording_id: r.try_get("recording_id")?,
                recording_name: r.try_get("recording_name")?,
                project_name: r.try_get("project_name")?,
                start_s: r.try_get::<i64, _>("start_sample")? as f64 / rate,
                end_s: r.try_get::<i64, _>("end_sample")? as f64 / rate,
                reference: r.try_get("text_verbatim")?,
                hypothesis: r.try_get("asr_text")?,
                model: r.try_get("model")?,
                speaker: r.try_get("speaker")?,
                dialect: r.try_get("dialect")?,
            })
        })
        .collect()
}

/// One person's work in a project.
pub struct Work {
    /// User name.
    pub name: String,
    /// Segments they submitted.
    pub completed: i64,
    /// Audio in those segments, seconds.
    pub completed_seconds: f64,
    /// Times of every save they made, sorted.
    pub save_times: Vec<i64>,
}

/// Saves and submissions per person, from the revision history.
pub async fn work(db: &Db, project: i64) -> sqlx::Result<Vec<Work>> {
    let mut people: BTreeMap<i64, Work> = BTreeMap::new();
    let rows = sqlx::query(
        "SELECT rv.author_id, u.name, rv.created_at FROM segment_revision rv \
         JOIN segment s ON s.id = rv.segment_id JOIN recording r ON r.id = s.recording_id \
         JOIN app_user u ON u.id = rv.author_id \
         WHERE r.project_id = $1 ORDER BY rv.author_id, rv.created_at",
    )
    .bind(project)
    .fetch_all(db)
    .await?;
    for r in rows {
        let id: i64 = r.try_get("author_id")?;
        let name: String = r.try_get("name")?;
        people
            .entry(id)
            .or_insert_with(|| Work {
                name,
                completed: 0,
                completed_seconds: 0.0,
                save_times: Vec::new(),
            })
            .save_times
            .push(r.try_get("created_at")?);
    }
    let rows = sqlx::query(
        "SELECT DISTINCT rv.author_id, s.id, s.start_sample, s.end_sample, r.analysis_rate \
         FROM segment_revision rv JOIN segment s ON s.id = rv.segment_id JOIN recording r ON r.id = s.recording_id \
         WHERE r.project_id = $1 AND rv.status = 'submitted' AND rv.author_id IS NOT NULL AND s.deleted = 0",
    )
    .bind(project)
    .fetch_all(db)
    .await?;
    for r in rows {
        if let Some(w) = people.get_mut(&r.try_get::<i64, _>("author_id")?) {
            let len = r.try_get::<i64, _>("end_sample")? - r.try_get::<i64, _>("start_sample")?;
            w.completed += 1;
            w.completed_seconds += len as f64 / r.try_get::<i64, _>("analysis_rate")?.max(1) as f64;
        }
    }
    Ok(people.into_values().collect())
}

/// A double-annotated segment.
pub struct Pair {
    /// First annotator.
    pub first_user: String,
    /// First transcript.
    pub first_text: String,
    /// Second annotator.
    pub second_user: String,
    /// Second transcript.
    pub second_text: String,
}

/// Submitted second passes with both texts.
pub async fn double_annotated(db: &Db, project: i64) -> sqlx::Result<Vec<Pair>> {
    let rows = sqlx::query(
        "SELECT COALESCE(a.name, '') AS first_name, s.text_verbatim, b.name AS second_name, sp.text \
         FROM second_pass sp JOIN segment s ON s.id = sp.segment_id JOIN recording r ON r.id = s.recording_id \
         LEFT JOIN app_user a ON a.id = s.assignee_id JOIN app_user b ON b.id = sp.assignee_id \
         WHERE r.project_id = $1 AND sp.status = 'submitted' AND s.deleted = 0 ORDER BY s.id",
    )
    .bind(project)
    .fetch_all(db)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(Pair {
                first_user: r.try_get("first_name")?,
                first_text: r.try_get("text_verbatim")?,
                second_user: r.try_get("second_name")?,
                second_text: r.try_get("text")?,
            })
        })
        .collect()
}

/// Per segment-label field, the (first, second) label of each double-annotated segment where
/// either annotator set the field; several values of a multi-select field are one sorted set.
pub async fn label_pairs(
    db: &Db,
    project: i64,
) -> sqlx::Result<BTreeMap<String, Vec<(String, String)>>> {
    let mut sets: BTreeMap<(String, i64), (Vec<String>, Vec<String>)> = BTreeMap::new();
    for (table, second) in [("segment_tag", false), ("second_pass_tag", true)] {
        let rows = sqlx::query(&format!(
            "SELECT t.segment_id, t.field, t.value FROM {table} t \
             JOIN second_pass sp ON sp.segment_id = t.segment_id AND sp.status = 'submitted' \
             JOIN segment s ON s.id = t.segment_id JOIN recording r ON r.id = s.recording_id \
             WHERE r.project_id = $1 AND s.deleted = 0 ORDER BY t.segment_id, t.field, t.value"
        ))
        .bind(project)
        .fetch_all(db)
        .await?;
        for r in rows {
            let entry = sets
                .entry((r.try_get("field")?, r.try_get("segment_id")?))
                .or_default();
            let side = if second { &mut entry.1 } else { &mut entry.0 };
            side.push(r.try_get("value")?);
        }
    }
    let mut out: BTreeMap<String, Vec<(String, String)>> = BTreeMap::new();
    for ((field, _), (a, b)) in sets {
        out.entry(field)
            .or_default()
            .push((a.join("|"), b.join("|")));
    }
    Ok(out)
}
