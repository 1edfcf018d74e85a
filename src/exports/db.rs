//! Queries of the exports stage: load a project's segments, speakers, tags and features as a
//! [`crate::corpus::Corpus`] input, filtered by the export definition.

use std::collections::{BTreeMap, BTreeSet};

use sqlx::Row;

use super::Filters;
use crate::corpus::{Feature, RawSegment, Recording, Speaker, recording_id, speaker_ids};
use crate::db::Db;
use crate::store::Store;

/// What the loader found.
pub struct Loaded {
    /// Project name.
    pub project: String,
    /// Recordings with at least one segment that passed the filters.
    pub recordings: Vec<Recording>,
    /// All speakers of the project.
    pub speakers: Vec<Speaker>,
    /// The segments.
    pub segments: Vec<RawSegment>,
    /// Tag schema.
    pub tag_schema: serde_json::Value,
    /// Conventions.
    pub conventions: serde_json::Value,
    /// Every segment of the project's ready recordings by status, filtered or not: what an
    /// export that matched nothing says.
    pub by_status: BTreeMap<String, u64>,
    /// How many of those the filters let through.
    pub matched: u64,
}

fn json(s: Option<String>) -> serde_json::Value {
    s.and_then(|s| serde_json::from_str(&s).ok())
        .unwrap_or_else(|| serde_json::json!({}))
}

/// Loads everything the export needs.
pub async fn load(db: &Db, _store: &Store, project: i64, f: &Filters) -> sqlx::Result<Loaded> {
    let p = sqlx::query("SELECT name, tag_schema, conventions FROM project WHERE id = $1")
        .bind(project)
        .fetch_one(db)
        .await?;
    let name: String = p.try_get("name")?;
    let tag_schema = json(p.try_get("tag_schema")?);
    let conventions = json(p.try_get("conventions")?);

    let spk_rows = sqlx::query(
        "SELECT id, code, gender, age_band, self_reported_accent, native_variety \
         FROM speaker WHERE project_id = $1 ORDER BY code, id",
    )
    .bind(project)
    .fetch_all(db)
    .await?;
    let codes: Vec<String> = spk_rows
        .iter()
        .map(|r| r.try_get("code"))
        .collect::<Result<_, _>>()?;
    let ids = speaker_ids(&codes);
    let mut speakers = Vec::new();
    let mut spk_index = BTreeMap::new();
    for (i, r) in spk_rows.iter().enumerate() {
        spk_index.insert(r.try_get::<i64, _>("id")?, i);
        speakers.push(Speaker {
            id: ids[i].clone(),
            code: codes[i].clone(),
            gender: r.try_get("gender")?,
            age_band: r.try_get("age_band")?,
            accent: r.try_get("self_reported_accent")?,
            variety: r.try_get("native_variety")?,
        });
    }

    let status = f.status.clone().unwrap_or_else(|| vec!["approved".into()]);
    let rows = sqlx::query(
        "SELECT s.id, s.recording_id, s.start_sample, s.end_sample, s.speaker_id, s.status, \
                s.text_verbatim, s.text_display, s.text_norm, \
                r.name AS rec_name, r.sha256, r.analysis_rate, r.samples, \
                (SELECT MAX(v.created_at) FROM segment_revision v WHERE v.segment_id = s.id) AS changed \
         FROM segment s JOIN recording r ON r.id = s.recording_id \
         WHERE r.project_id = $1 AND s.deleted = 0 AND r.status = 'ready' \
         ORDER BY s.recording_id, s.start_sample, s.id",
    )
    .bind(project)
    .fetch_all(db)
    .await?;

    let mut tags: BTreeMap<i64, Vec<(String, String)>> = BTreeMap::new();
    for r in sqlx::query(
        "SELECT t.segment_id, t.field, t.value FROM segment_tag t \
         JOIN segment s ON s.id = t.segment_id JOIN recording r ON r.id = s.recording_id \
         WHERE r.project_id = $1 ORDER BY t.segment_id, t.field, t.value",
    )
    .bind(project)
    .fetch_all(db)
    .await?
    {
        tags.entry(r.try_get("segment_id")?)
            .or_default()
            .push((r.try_get("field")?, r.try_get("value")?));
    }
    let mut feats: BTreeMap<i64, Vec<Feature>> = BTreeMap::new();
    for r in sqlx::query(
        "SELECT t.segment_id, t.feature, t.chars, t.expected, t.realised FROM span_tag t \
         JOIN segment s ON s.id = t.segment_id JOIN recording r ON r.id = s.recording_id \
         WHERE r.project_id = $1 AND t.pass = 1 ORDER BY t.segment_id, t.char_start, t.id",
    )
    .bind(project)
    .fetch_all(db)
    .await?
    {
        feats
            .entry(r.try_get("segment_id")?)
            .or_default()
            .push(Feature {
                code: r.try_get("feature")?,
                chars: r.try_get("chars")?,
                expected: r.try_get("expected")?,
                realised: r.try_get("realised")?,
            });
    }

    let mut recordings: Vec<Recording> = Vec::new();
    let mut rec_index: BTreeMap<i64, usize> = BTreeMap::new();
    let mut segments = Vec::new();
    let mut by_status: BTreeMap<String, u64> = BTreeMap::new();
    let want_labels: BTreeSet<(String, String)> = f
        .labels
        .iter()
        .filter_map(|l| l.split_once('='))
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect();
    for r in rows {
        let id: i64 = r.try_get("id")?;
        let rec_db: i64 = r.try_get("recording_id")?;
        let spk_db: Option<i64> = r.try_get("speaker_id")?;
        let st: String = r.try_get("status")?;
        let changed: Option<i64> = r.try_get("changed")?;
        let labels = tags.remove(&id).unwrap_or_default();
        let features = feats.remove(&id).unwrap_or_default();
        *by_status.entry(st.clone()).or_default() += 1;
        if !status.contains(&st)
            || (!f.recordings.is_empty() && !f.recordings.contains(&rec_db))
            || (!f.speakers.is_empty() && !spk_db.is_some_and(|s| f.speakers.contains(&s)))
            || (!want_labels.is_empty()
                && !labels.iter().any(|(a, b)| {
                    want_labels.contains(&(a.clone(), b.clone()))
                        || want_labels.contains(&("*".into(), b.clone()))
                }))
            || (!f.features.is_empty() && !features.iter().any(|x| f.features.contains(&x.code)))
            || f.from_ms.is_some_and(|t| changed.unwrap_or(0) < t)
            || f.to_ms.is_some_and(|t| changed.unwrap_or(0) >= t)
        {
            continue;
        }
        let ri = match rec_index.get(&rec_db) {
            Some(&i) => i,
            None => {
                let sha: Option<String> = r.try_get("sha256")?;
                let rate: i64 = r.try_get("analysis_rate")?;
                let samples: Option<i64> = r.try_get("samples")?;
                recordings.push(Recording {
                    id: recording_id(rec_db),
                    name: r.try_get("rec_name")?,
                    original: format!("originals/{}", sha.unwrap_or_default()).into(),
                    analysis_rate: rate.max(1) as u32,
                    samples: samples.unwrap_or(0).max(0) as u64,
                });
                rec_index.insert(rec_db, recordings.len() - 1);
                recordings.len() - 1
            }
        };
        let start: i64 = r.try_get("start_sample")?;
        let end: i64 = r.try_get("end_sample")?;
        segments.push(RawSegment {
            db_id: id,
            recording: ri,
            speaker: spk_db.and_then(|s| spk_index.get(&s).copied()),
            start: start.max(0) as u64,
            end: end.max(0) as u64,
            verbatim: r.try_get("text_verbatim")?,
            display: r.try_get("text_display")?,
            norm: r.try_get("text_norm")?,
            labels,
            features,
        });
    }
    let matched = segments.len() as u64;
    Ok(Loaded {
        project: name,
        recordings,
        speakers,
        segments,
        tag_schema,
        conventions,
        by_status,
        matched,
    })
}
