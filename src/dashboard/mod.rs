//! Measurements of a project for the dashboard and for scripts: progress, ASR error rates
//! grouped by any of segment, recording, speaker, dialect label, ASR model and project;
//! throughput per person; inter-annotator agreement (CER per annotator pair, Cohen's kappa
//! per segment-label field). Every table is JSON, or CSV with `?format=csv`.
//!
//! The scores come from the pure core (`text::metrics`, `text::normalise`) with the project's
//! normalisation options (`conventions.normalise`); this module owns only the queries and the
//! grouping. A segment is scored when it has ASR text and a final transcript (submitted or
//! approved): the ASR against what the people wrote.

mod db;
pub(crate) mod download;
pub mod quality;

use std::collections::BTreeMap;

use crate::extract::{Json, Path, Query};
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::accounts::CurrentUser;
use crate::app::AppState;
use crate::error::{AppError, AppResult};
use crate::projects::{self, Role};
use crate::text::metrics::{Score, cohen_kappa, inter_annotator, score};
use crate::text::normalise::NORMALISER_VERSION;

/// Routes of this stage.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(progress))
        .routes(routes!(metrics))
        .routes(routes!(throughput))
        .routes(routes!(agreement))
        .routes(routes!(quality_table))
}

/// The dimensions a metrics table can be grouped by.
pub const DIMENSIONS: [&str; 6] = [
    "segment",
    "recording",
    "speaker",
    "dialect",
    "model",
    "project",
];

/// `?format=csv` turns a table into CSV.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
struct Format {
    /// `json` (default) or `csv`.
    #[param(inline)]
    format: Option<TableFormat>,
}

/// How a table is answered; any other `format` is 400 `invalid_query`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum TableFormat {
    /// `application/json`.
    #[default]
    Json,
    /// `text/csv`, the rows only.
    Csv,
}

/// How a metrics table is ordered.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
enum MetricsSort {
    /// Worst CER first.
    #[default]
    Cer,
    /// By the grouping key.
    Key,
}

/// Rows a metrics table returns at most.
const MAX_LIMIT: usize = 100_000;

/// Answers `rows` (objects with `columns` as keys) as JSON `body`, or as CSV.
pub(crate) fn table(
    format: Option<TableFormat>,
    name: &str,
    columns: &[&str],
    rows: &[Value],
    body: Value,
) -> AppResult<Response> {
    match format.unwrap_or_default() {
        TableFormat::Json => Ok(Json(body).into_response()),
        TableFormat::Csv => {
            let mut w = download::HumanCsv::new(columns)?;
            for row in rows {
                w.row(columns.iter().map(|c| match &row[*c] {
                    Value::Null => String::new(),
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                }))?;
            }
            w.into_response(name)
        }
    }
}

fn rate(errors: u64, n: u64) -> Value {
    if n == 0 {
        Value::Null
    } else {
        json!(errors as f64 / n as f64)
    }
}

fn score_json(s: &Score) -> Value {
    json!({
        "n": s.chars.n, "s": s.chars.s, "d": s.chars.d, "i": s.chars.i,
        "errors": s.chars.errors(), "cer": rate(s.chars.errors(), s.chars.n),
        "words": s.words.n, "word_errors": s.words.errors(), "wer": rate(s.words.errors(), s.words.n),
    })
}

const SCORE_COLUMNS: [&str; 10] = [
    "segments",
    "n",
    "s",
    "d",
    "i",
    "errors",
    "cer",
    "words",
    "word_errors",
    "wer",
];

#[utoipa::path(get, path = "/api/projects/{project}/progress", tag = "dashboard",
    params(("project" = i64, Path, description = "project id"), Format),
    responses((status = 200, description = "Segments and audio hours by status; recordings by status", content((serde_json::Value = "application/json"), (String = "text/csv"))),
              (status = "4XX", description = "Refused, with the reason", body = crate::error::ErrorBody)))]
async fn progress(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(project): Path<i64>,
    Query(q): Query<Format>,
) -> AppResult<Response> {
    projects::role_in(&state, project, user).await?;
    let p = db::progress(&state.db, project).await?;
    let rows: Vec<Value> = p
        .statuses
        .iter()
        .map(|(status, (segments, hours))| json!({ "status": status, "segments": segments, "hours": hours }))
        .collect();
    let total_hours: f64 = p.statuses.values().map(|v| v.1).sum();
    let body = json!({
        "statuses": rows,
        "segments": p.statuses.values().map(|v| v.0).sum::<i64>(),
        "segment_hours": total_hours,
        "recording_hours": p.recording_hours,
        "recordings": p.recordings,
    });
    table(
        q.format,
        "progress",
        &["status", "segments", "hours"],
        &rows,
        body,
    )
}

/// Grouping and paging of a metrics table.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
struct MetricsQuery {
    /// Comma-separated dimensions: segment, recording, speaker, dialect, model, project
    /// (default `project`).
    #[param(
        pattern = "^(segment|recording|speaker|dialect|model|project)(,(segment|recording|speaker|dialect|model|project))*$"
    )]
    by: Option<String>,
    /// `cer` (default: worst first) or `key`.
    #[param(inline)]
    sort: Option<MetricsSort>,
    /// Rows returned (default 1000, at most 100000; the totals cover all).
    #[param(minimum = 0, maximum = 100_000)]
    limit: Option<usize>,
    /// `json` or `csv`.
    #[param(inline)]
    format: Option<TableFormat>,
}

#[utoipa::path(get, path = "/api/projects/{project}/metrics", tag = "dashboard",
    params(("project" = i64, Path, description = "project id"), MetricsQuery),
    responses((status = 200, description = "ASR CER/WER against the final transcripts, grouped", content((serde_json::Value = "application/json"), (String = "text/csv"))),
              (status = "4XX", description = "Refused, with the reason", body = crate::error::ErrorBody)))]
async fn metrics(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(project): Path<i64>,
    Query(q): Query<MetricsQuery>,
) -> AppResult<Response> {
    projects::require(&state, project, user, &[Role::Admin, Role::Reviewer]).await?;
    let by: Vec<&str> = q.by.as_deref().unwrap_or("project").split(',').collect();
    if by.iter().any(|d| !DIMENSIONS.contains(d)) {
        return Err(AppError::bad(
            "invalid_dimension",
            "by",
            format!(
                "group by one or more of {}, comma-separated",
                DIMENSIONS.join(", ")
            ),
        ));
    }
    if q.limit.is_some_and(|n| n > MAX_LIMIT) {
        return Err(AppError::bad(
            "invalid_limit",
            "limit",
            format!("limit is 0 to {MAX_LIMIT} rows"),
        ));
    }
    let norm = crate::projects::normaliser(&state.db, project).await?;
    let scored = db::scored(&state.db, project).await?;
    let mut groups: BTreeMap<Vec<String>, (i64, Score, Option<&db::Scored>)> = BTreeMap::new();
    let mut total = Score::default();
    for seg in &scored {
        let sc = score(&seg.reference, &seg.hypothesis, &norm);
        total.add(sc);
        let key: Vec<String> = by
            .iter()
            .map(|d| match *d {
                "segment" => seg.id.to_string(),
                "recording" => seg.recording_name.clone(),
                "speaker" => seg.speaker.clone().unwrap_or_default(),
                "dialect" => seg.dialect.clone().unwrap_or_default(),
                "model" => seg.model.clone().unwrap_or_default(),
                _ => seg.project_name.clone(),
            })
            .collect();
        let g = groups
            .entry(key)
            .or_insert((0, Score::default(), Some(seg)));
        g.0 += 1;
        g.1.add(sc);
    }
    let mut rows: Vec<Value> = groups
        .into_iter()
        .map(|(key, (n, sc, first))| {
            let mut row = score_json(&sc);
            row["segments"] = json!(n);
            for (d, k) in by.iter().zip(&key) {
                row[*d] = json!(k);
            }
            if let Some(s) = first.filter(|_| by.contains(&"segment")) {
                row["recording_id"] = json!(s.recording_id);
                row["recording"] = json!(s.recording_name);
                row["start_s"] = json!(s.start_s);
                row["end_s"] = json!(s.end_s);
                row["reference"] = json!(s.reference);
                row["hypothesis"] = json!(s.hypothesis);
                row["model"] = json!(s.model);
                row["dialect"] = json!(s.dialect);
            }
            row
        })
        .collect();
    if q.sort.unwrap_or_default() == MetricsSort::Cer {
        // Worst first; ties by more errors, then key order (stable sort).
        rows.sort_by(|a, b| {
            let f = |v: &Value| v["cer"].as_f64().unwrap_or(f64::INFINITY);
            f(b).total_cmp(&f(a))
                .then(b["errors"].as_u64().cmp(&a["errors"].as_u64()))
        });
    }
    rows.truncate(q.limit.unwrap_or(1000));
    let mut columns: Vec<&str> = by.clone();
    if by.contains(&"segment") {
        for c in [
            "recording_id",
            "start_s",
            "end_s",
            "reference",
            "hypothesis",
        ] {
            if !columns.contains(&c) {
                columns.push(c);
            }
        }
    }
    columns.extend(SCORE_COLUMNS);
    let mut total_json = score_json(&total);
    total_json["segments"] = json!(scored.len());
    let body = json!({
        "by": by,
        "normaliser": NORMALISER_VERSION,
        "normalisation": norm.describe(),
        "total": total_json,
        "rows": rows,
    });
    table(q.format, "metrics", &columns, &rows, body)
}

/// Idle time beyond which a person's work counts as a new session.
const IDLE_MS: i64 = 5 * 60 * 1000;
/// Time credited for the first save of a session (the work before it).
const FIRST_SAVE_MS: i64 = 60 * 1000;

/// Active milliseconds from one person's save times (sorted): each session runs from its
/// first save to its last, plus a minute of credit; a gap over five minutes starts a new one.
pub fn active_ms(times: &[i64]) -> i64 {
    let mut total = 0;
    let mut start = None::<i64>;
    let mut last = 0;
    for &t in times {
        match start {
            Some(_) if t - last <= IDLE_MS => last = t,
            Some(s) => {
                total += last - s + FIRST_SAVE_MS;
                start = Some(t);
                last = t;
            }
            None => {
                start = Some(t);
                last = t;
            }
        }
    }
    if let Some(s) = start {
        total += last - s + FIRST_SAVE_MS;
    }
    total
}

#[utoipa::path(get, path = "/api/projects/{project}/throughput", tag = "dashboard",
    params(("project" = i64, Path, description = "project id"), Format),
    responses((status = 200, description = "Audio minutes completed per active hour, per person", content((serde_json::Value = "application/json"), (String = "text/csv"))),
              (status = "4XX", description = "Refused, with the reason", body = crate::error::ErrorBody)))]
async fn throughput(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(project): Path<i64>,
    Query(q): Query<Format>,
) -> AppResult<Response> {
    projects::require(&state, project, user, &[Role::Admin, Role::Reviewer]).await?;
    let people = db::work(&state.db, project).await?;
    let rows: Vec<Value> = people
        .into_iter()
        .map(|p| {
            let active_hours = active_ms(&p.save_times) as f64 / 3_600_000.0;
            let minutes = p.completed_seconds / 60.0;
            json!({
                "user": p.name,
                "segments": p.completed,
                "audio_minutes": minutes,
                "saves": p.save_times.len(),
                "active_hours": active_hours,
                "minutes_per_hour": if active_hours > 0.0 { json!(minutes / active_hours) } else { Value::Null },
            })
        })
        .collect();
    let columns = [
        "user",
        "segments",
        "audio_minutes",
        "saves",
        "active_hours",
        "minutes_per_hour",
    ];
    table(
        q.format,
        "throughput",
        &columns,
        &rows,
        json!({ "people": rows }),
    )
}

/// The bucket and format of the quality table.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
struct QualityQuery {
    /// `week` (default, Monday to Sunday UTC) or `day` (UTC).
    #[param(inline)]
    bucket: Option<quality::Bucket>,
    /// `json` or `csv`.
    #[param(inline)]
    format: Option<TableFormat>,
}

#[utoipa::path(get, path = "/api/projects/{project}/quality", tag = "dashboard",
    params(("project" = i64, Path, description = "project id"), QualityQuery),
    responses((status = 200, description = "Per transcriber and day or week: review decisions, rejection rate, reviewer-corrected CER", content((serde_json::Value = "application/json"), (String = "text/csv"))),
              (status = "4XX", description = "Refused, with the reason", body = crate::error::ErrorBody)))]
async fn quality_table(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(project): Path<i64>,
    Query(q): Query<QualityQuery>,
) -> AppResult<Response> {
    projects::require(&state, project, user, &[Role::Admin, Role::Reviewer]).await?;
    let norm = projects::normaliser(&state.db, project).await?;
    let bucket = q.bucket.unwrap_or_default();
    let rows = quality::table(&state.db, project, bucket, &norm).await?;
    let body = json!({ "bucket": bucket, "rows": rows, "normaliser_version": NORMALISER_VERSION });
    table(q.format, "quality", &quality::COLUMNS, &rows, body)
}

#[utoipa::path(get, path = "/api/projects/{project}/agreement/summary", tag = "dashboard",
    params(("project" = i64, Path, description = "project id"), Format),
    responses((status = 200, description = "Inter-annotator CER per annotator and Cohen's kappa per label field", content((serde_json::Value = "application/json"), (String = "text/csv"))),
              (status = "4XX", description = "Refused, with the reason", body = crate::error::ErrorBody)))]
async fn agreement(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(project): Path<i64>,
    Query(q): Query<Format>,
) -> AppResult<Response> {
    projects::require(&state, project, user, &[Role::Admin, Role::Reviewer]).await?;
    let norm = crate::projects::normaliser(&state.db, project).await?;
    let pairs = db::double_annotated(&state.db, project).await?;
    // Per annotator: every pair they took part in, first or second.
    let mut per: BTreeMap<String, crate::text::metrics::Agreement> = BTreeMap::new();
    let mut counts: BTreeMap<String, i64> = BTreeMap::new();
    let mut total = crate::text::metrics::Agreement::default();
    for p in &pairs {
        let a = inter_annotator(&p.first_text, &p.second_text, &norm);
        total.add(a);
        for name in [&p.first_user, &p.second_user] {
            per.entry(name.clone()).or_default().add(a);
            *counts.entry(name.clone()).or_default() += 1;
        }
    }
    let rows: Vec<Value> = per
        .iter()
        .map(|(name, a)| {
            json!({ "user": name, "segments": counts[name], "errors": a.edits.errors(), "cer": a.cer() })
        })
        .collect();
    // Kappa per label field over the double-annotated segments; "none" when one annotator
    // left a field empty (multi-select values are compared as a sorted set).
    let labels = db::label_pairs(&state.db, project).await?;
    let kappa: Vec<Value> = labels
        .iter()
        .map(|(field, items)| json!({ "field": field, "segments": items.len(), "kappa": cohen_kappa(items) }))
        .collect();
    let body = json!({
        "segments": pairs.len(),
        "cer": total.cer(),
        "normaliser": NORMALISER_VERSION,
        "annotators": rows,
        "kappa": kappa,
    });
    table(
        q.format,
        "agreement",
        &["user", "segments", "errors", "cer"],
        &rows,
        body,
    )
}

#[cfg(test)]
mod tests {
    use super::active_ms;

    #[test]
    fn sessions_split_at_five_idle_minutes_and_credit_a_minute_each() {
        let m = 60_000;
        assert_eq!(active_ms(&[]), 0);
        assert_eq!(active_ms(&[0]), m);
        // 0..4 min in one session (4 min + 1), then 20..21 min in another (1 + 1).
        assert_eq!(active_ms(&[0, 2 * m, 4 * m, 20 * m, 21 * m]), 5 * m + 2 * m);
    }
}
