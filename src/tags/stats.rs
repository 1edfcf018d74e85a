//! Feature statistics of a project: span counts by feature × variety × speaker; the ASR's
//! error rate inside each feature's spans against the rate outside every span (which accent
//! features cost the ASR most); and tag agreement on double-annotated segments, per feature
//! the F1 of span overlap between the two annotators (kappa for segment labels is in the
//! dashboard's agreement table). Errors per character come from `text::metrics::errors_by_char`.

use std::collections::BTreeMap;

use crate::extract::{Path, Query};
use axum::extract::State;
use axum::response::Response;
use serde::Deserialize;
use serde_json::{Value, json};
use sqlx::Row;

use crate::accounts::CurrentUser;
use crate::app::AppState;
use crate::db::Db;
use crate::error::AppResult;
use crate::projects::{self, Role};
use crate::text::metrics::errors_by_char;

/// Characters `[start, end)` of a span.
type Range = (usize, usize);

/// One span with what the statistics need.
struct SpanRow {
    segment: i64,
    feature: String,
    start: usize,
    end: usize,
    pass: i64,
    variety: String,
    speaker: String,
}

async fn spans(db: &Db, project: i64) -> sqlx::Result<Vec<SpanRow>> {
    let rows = sqlx::query(
        "SELECT t.segment_id, t.feature, t.char_start, t.char_end, t.pass, \
                COALESCE((SELECT MIN(v.value) FROM segment_tag v WHERE v.segment_id = s.id AND v.field = 'variety'), \
                         sp.native_variety, '') AS variety, COALESCE(sp.code, '') AS speaker \
         FROM span_tag t JOIN segment s ON s.id = t.segment_id JOIN recording r ON r.id = s.recording_id \
         LEFT JOIN speaker sp ON sp.id = s.speaker_id \
         WHERE r.project_id = $1 AND s.deleted = 0 ORDER BY t.segment_id, t.pass, t.char_start, t.id",
    )
    .bind(project)
    .fetch_all(db)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(SpanRow {
                segment: r.try_get("segment_id")?,
                feature: r.try_get("feature")?,
                start: usize::try_from(r.try_get::<i64, _>("char_start")?).unwrap_or(0),
                end: usize::try_from(r.try_get::<i64, _>("char_end")?).unwrap_or(0),
                pass: r.try_get("pass")?,
                variety: r.try_get("variety")?,
                speaker: r.try_get("speaker")?,
            })
        })
        .collect()
}

/// Segments with ASR text and a final transcript: (id, reference, hypothesis).
async fn scored(db: &Db, project: i64) -> sqlx::Result<Vec<(i64, String, String)>> {
    let rows = sqlx::query(
        "SELECT s.id, s.text_verbatim, s.asr_text FROM segment s JOIN recording r ON r.id = s.recording_id \
         WHERE r.project_id = $1 AND s.deleted = 0 AND s.asr_text IS NOT NULL \
           AND s.status IN ('submitted', 'approved') ORDER BY s.id",
    )
    .bind(project)
    .fetch_all(db)
    .await?;
    rows.iter()
        .map(|r| {
            Ok((
                r.try_get("id")?,
                r.try_get("text_verbatim")?,
                r.try_get("asr_text")?,
            ))
        })
        .collect()
}

/// Segments with a submitted second pass.
async fn double_annotated(db: &Db, project: i64) -> sqlx::Result<Vec<i64>> {
    let rows = sqlx::query(
        "SELECT sp.segment_id FROM second_pass sp JOIN segment s ON s.id = sp.segment_id \
         JOIN recording r ON r.id = s.recording_id \
         WHERE r.project_id = $1 AND sp.status = 'submitted' AND s.deleted = 0 ORDER BY sp.segment_id",
    )
    .bind(project)
    .fetch_all(db)
    .await?;
    rows.iter().map(|r| r.try_get(0)).collect()
}

/// Matches the second annotator's spans to the first's (same feature, overlapping
/// characters), one to one, greedily in order: the number of matches.
pub fn overlap_matches(first: &[(usize, usize)], second: &[(usize, usize)]) -> usize {
    let mut used = vec![false; first.len()];
    let mut matched = 0;
    for &(s0, s1) in second {
        if let Some(i) = (0..first.len()).find(|&i| !used[i] && first[i].0 < s1 && s0 < first[i].1)
        {
            used[i] = true;
            matched += 1;
        }
    }
    matched
}

fn ratio(a: f64, b: f64) -> Value {
    if b == 0.0 { Value::Null } else { json!(a / b) }
}

/// Which table `?format=csv` downloads.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub(super) struct StatsQuery {
    /// `json` (default) or `csv`.
    #[param(inline)]
    format: Option<crate::dashboard::TableFormat>,
    /// For CSV: `counts` (default), `asr` or `agreement`.
    #[param(inline)]
    table: Option<StatsTable>,
}

/// Which table of the statistics a CSV holds.
#[derive(Debug, Clone, Copy, Default, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub(super) enum StatsTable {
    /// Span counts by feature, variety and speaker.
    #[default]
    Counts,
    /// ASR error rates inside each feature's spans.
    Asr,
    /// Span-overlap agreement per feature.
    Agreement,
}

/// `GET /api/projects/{project}/features/stats`.
#[utoipa::path(get, path = "/api/projects/{project}/features/stats", tag = "tags",
    params(("project" = i64, Path, description = "project id"), StatsQuery),
    responses((status = 200, description = "Span counts by feature × variety × speaker; ASR CER inside each feature's spans and outside all spans; span-overlap F1 per feature", content((serde_json::Value = "application/json"), (String = "text/csv"))),
              (status = "4XX", description = "Refused, with the reason", body = crate::error::ErrorBody)))]
pub(super) async fn feature_stats(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(project): Path<i64>,
    Query(q): Query<StatsQuery>,
) -> AppResult<Response> {
    projects::require(&state, project, user, &[Role::Admin, Role::Reviewer]).await?;
    let all = spans(&state.db, project).await?;

    // Counts of first-pass spans.
    let mut counts: BTreeMap<(String, String, String), i64> = BTreeMap::new();
    for s in all.iter().filter(|s| s.pass == 1) {
        *counts
            .entry((s.feature.clone(), s.variety.clone(), s.speaker.clone()))
            .or_default() += 1;
    }
    let counts: Vec<Value> = counts
        .into_iter()
        .map(|((feature, variety, speaker), n)| json!({ "feature": feature, "variety": variety, "speaker": speaker, "spans": n }))
        .collect();

    // ASR errors inside each feature's spans, and outside every span.
    let mut by_segment: BTreeMap<i64, Vec<&SpanRow>> = BTreeMap::new();
    for s in all.iter().filter(|s| s.pass == 1) {
        by_segment.entry(s.segment).or_default().push(s);
    }
    let mut inside: BTreeMap<String, (u64, u64, u64)> = BTreeMap::new(); // spans, chars, errors
    let (mut out_chars, mut out_errors) = (0u64, 0u64);
    for (id, reference, hypothesis) in scored(&state.db, project).await? {
        let (errors, counted) = errors_by_char(&reference, &hypothesis);
        let spans = by_segment.get(&id).map(Vec::as_slice).unwrap_or(&[]);
        let mut covered = vec![false; errors.len()];
        for s in spans {
            let e = inside.entry(s.feature.clone()).or_default();
            e.0 += 1;
            for i in s.start..s.end.min(errors.len()) {
                covered[i] = true;
                if counted[i] {
                    e.1 += 1;
                    e.2 += u64::from(errors[i]);
                }
            }
        }
        for i in 0..errors.len() {
            if counted[i] && !covered[i] {
                out_chars += 1;
                out_errors += u64::from(errors[i]);
            }
        }
    }
    let outside_cer = ratio(out_errors as f64, out_chars as f64);
    let mut asr: Vec<Value> = inside
        .into_iter()
        .map(|(feature, (n, chars, errors))| {
            let cer = ratio(errors as f64, chars as f64);
            let lift = match (cer.as_f64(), outside_cer.as_f64()) {
                (Some(a), Some(b)) if b > 0.0 => json!(a / b),
                _ => Value::Null,
            };
            json!({ "feature": feature, "spans": n, "chars": chars, "errors": errors, "cer": cer, "outside_cer": outside_cer, "ratio": lift })
        })
        .collect();
    // Costliest first.
    asr.sort_by(|a, b| {
        let f = |v: &Value| v["cer"].as_f64().unwrap_or(-1.0);
        f(b).total_cmp(&f(a))
    });

    // Span agreement per feature on double-annotated segments.
    let mut agree: BTreeMap<String, (usize, usize, usize)> = BTreeMap::new(); // first, second, matched
    for segment in double_annotated(&state.db, project).await? {
        let mut per: BTreeMap<&str, (Vec<Range>, Vec<Range>)> = BTreeMap::new();
        for s in all.iter().filter(|s| s.segment == segment) {
            let e = per.entry(&s.feature).or_default();
            if s.pass == 1 {
                e.0.push((s.start, s.end))
            } else {
                e.1.push((s.start, s.end))
            }
        }
        for (feature, (a, b)) in per {
            let e = agree.entry(feature.to_string()).or_default();
            e.0 += a.len();
            e.1 += b.len();
            e.2 += overlap_matches(&a, &b);
        }
    }
    let agreement: Vec<Value> = agree
        .into_iter()
        .map(|(feature, (first, second, matched))| {
            let p = ratio(matched as f64, second as f64);
            let r = ratio(matched as f64, first as f64);
            let f1 = if first + second == 0 { Value::Null } else { json!(2.0 * matched as f64 / (first + second) as f64) };
            json!({ "feature": feature, "first": first, "second": second, "matched": matched, "precision": p, "recall": r, "f1": f1 })
        })
        .collect();

    let body = json!({
        "counts": counts,
        "asr": asr,
        "outside": { "chars": out_chars, "errors": out_errors, "cer": outside_cer },
        "agreement": agreement,
    });
    let (name, rows, columns): (&str, &[Value], &[&str]) = match q.table.unwrap_or_default() {
        StatsTable::Counts => (
            "feature-counts",
            &counts,
            &["feature", "variety", "speaker", "spans"],
        ),
        StatsTable::Asr => (
            "feature-asr",
            &asr,
            &[
                "feature",
                "spans",
                "chars",
                "errors",
                "cer",
                "outside_cer",
                "ratio",
            ],
        ),
        StatsTable::Agreement => (
            "feature-agreement",
            &agreement,
            &[
                "feature",
                "first",
                "second",
                "matched",
                "precision",
                "recall",
                "f1",
            ],
        ),
    };
    crate::dashboard::table(q.format, name, columns, rows, body)
}

#[cfg(test)]
mod tests {
    use super::overlap_matches;

    #[test]
    fn spans_match_one_to_one_when_they_overlap() {
        assert_eq!(
            overlap_matches(&[(0, 2), (5, 6)], &[(1, 3), (6, 7), (5, 6)]),
            2
        );
        assert_eq!(
            overlap_matches(&[(0, 2)], &[(0, 1), (1, 2)]),
            1,
            "one first span matches once"
        );
        assert_eq!(overlap_matches(&[], &[(0, 1)]), 0);
    }
}
