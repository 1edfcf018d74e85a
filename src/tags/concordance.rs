//! The concordance: keyword-in-context search over a project's segments and span tags
//! (feature, realised form, substring or size-bounded regex, status, labels, speaker fields),
//! with clip times per hit, paging, and a CSV download. Candidate rows come from
//! [`super::db::concordance`].

use crate::extract::{Json, Path, Query};
use axum::extract::State;
use serde_json::json;

use super::db;
use super::estimate_samples;
use crate::accounts::CurrentUser;
use crate::app::AppState;
use crate::error::{AppError, AppResult};
use crate::projects;

/// Characters of context on each side of a concordance hit.
const CONTEXT: usize = 12;
/// Segments (or spans) a concordance request examines at most: bounds regex scans.
const SCAN_CAP: i64 = 200_000;
/// Seconds of audio played before and after a hit.
const CLIP_PAD_S: f64 = 0.3;

/// One keyword-in-context hit.
#[derive(serde::Serialize, utoipa::ToSchema)]
struct Hit {
    segment_id: i64,
    recording_id: i64,
    span_id: Option<i64>,
    feature: Option<String>,
    expected: Option<String>,
    realised: Option<String>,
    left: String,
    #[serde(rename = "match")]
    matched: String,
    right: String,
    clip_start: f64,
    clip_end: f64,
}

fn hit(c: &db::Candidate, a: usize, b: usize, span: Option<&db::Candidate>) -> Hit {
    let chars: Vec<char> = c.text.chars().collect();
    let (a, b) = (a.min(chars.len()), b.min(chars.len()));
    let n = i64::try_from(chars.len()).unwrap_or(1).max(1);
    let sp = span.and_then(|s| s.span.as_ref());
    let (t0, t1) = match sp.and_then(|s| s.6.zip(s.7)) {
        Some(t) => t,
        None => estimate_samples(
            c.start_sample,
            c.end_sample,
            n,
            i64::try_from(a).unwrap_or(0),
            i64::try_from(b).unwrap_or(0),
        ),
    };
    let rate = c.rate.max(1) as f64;
    let seg0 = c.start_sample as f64 / rate;
    let seg1 = c.end_sample as f64 / rate;
    Hit {
        segment_id: c.segment_id,
        recording_id: c.recording_id,
        span_id: sp.map(|s| s.0),
        feature: sp.map(|s| s.3.clone()),
        expected: sp.map(|s| s.4.clone()),
        realised: sp.map(|s| s.5.clone()),
        left: chars[a.saturating_sub(CONTEXT)..a].iter().collect(),
        matched: chars[a..b].iter().collect(),
        right: chars[b..(b + CONTEXT).min(chars.len())].iter().collect(),
        clip_start: (t0 as f64 / rate - CLIP_PAD_S).max(seg0),
        clip_end: (t1 as f64 / rate + CLIP_PAD_S).min(seg1),
    }
}

/// Character ranges of `needle` (or of the regex) in `text`.
fn matches(text: &str, needle: Option<&str>, re: Option<&regex::Regex>) -> Vec<(usize, usize)> {
    let to_chars = |byte: usize| text[..byte].chars().count();
    if let Some(re) = re {
        return re
            .find_iter(text)
            .filter(|m| !m.as_str().is_empty())
            .map(|m| (to_chars(m.start()), to_chars(m.end())))
            .collect();
    }
    match needle {
        Some(n) if !n.is_empty() => text
            .match_indices(n)
            .map(|(i, m)| (to_chars(i), to_chars(i + m.len())))
            .collect(),
        _ => Vec::new(),
    }
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

#[utoipa::path(get, path = "/api/projects/{project}/concordance", tag = "tags", params(("project" = i64, Path, description = "project id"), db::Filters), responses((status = 200, description = "Keyword-in-context hits (`hits`, `next_offset`), or CSV with format=csv", content((serde_json::Value = "application/json"), (String = "text/csv"))), (status = "4XX", description = "Refused, with the reason", body = crate::error::ErrorBody)))]
pub(super) async fn concordance(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(project): Path<i64>,
    Query(f): Query<db::Filters>,
) -> AppResult<axum::response::Response> {
    use axum::response::IntoResponse;
    projects::role_in(&state, project, user).await?;
    let re = match f.regex.as_deref().filter(|r| !r.is_empty()) {
        None => None,
        Some(r) if r.len() > 500 => {
            return Err(AppError::bad(
                "invalid_regex",
                "regex",
                "at most 500 characters",
            ));
        }
        Some(r) => Some(
            regex::RegexBuilder::new(r)
                .size_limit(1 << 20)
                .dfa_size_limit(1 << 20)
                .build()
                .map_err(|e| AppError::bad("invalid_regex", "regex", e.to_string()))?,
        ),
    };
    let csv = f.format.as_deref() == Some("csv");
    let limit = if csv {
        10_000
    } else {
        f.limit.unwrap_or(100).clamp(1, 500)
    };
    let spans = f.feature.is_some() || f.realised.is_some();
    let text_filter = f.text.clone().filter(|t| !t.is_empty());
    if !spans && text_filter.is_none() && re.is_none() {
        return Err(AppError::bad(
            "no_filter",
            "text",
            "give a text, regex, feature or realised form to search for",
        ));
    }
    let mut pos = f.offset.unwrap_or(0).max(0);
    let mut hits = Vec::new();
    let mut scanned = 0;
    let mut exhausted = false;
    while hits.len() < usize::try_from(limit).unwrap_or(100) && scanned < SCAN_CAP {
        let chunk = db::concordance(&state.db, project, &f, spans, pos, 1000).await?;
        if chunk.is_empty() {
            exhausted = true;
            break;
        }
        for c in &chunk {
            pos += 1;
            scanned += 1;
            if let Some(sp) = &c.span {
                let (a, b) = (
                    usize::try_from(sp.1).unwrap_or(0),
                    usize::try_from(sp.2).unwrap_or(0),
                );
                if re.as_ref().is_none_or(|re| re.is_match(&c.text)) {
                    hits.push(hit(c, a, b, Some(c)));
                }
            } else {
                for (a, b) in matches(&c.text, text_filter.as_deref(), re.as_ref()) {
                    hits.push(hit(c, a, b, None));
                }
            }
            if hits.len() >= usize::try_from(limit).unwrap_or(100) {
                break;
            }
        }
    }
    if csv {
        let mut out = String::from(
            "segment_id,recording_id,span_id,feature,expected,realised,left,match,right,clip_start,clip_end\n",
        );
        for h in &hits {
            let row = [
                h.segment_id.to_string(),
                h.recording_id.to_string(),
                h.span_id.map(|v| v.to_string()).unwrap_or_default(),
                h.feature.clone().unwrap_or_default(),
                h.expected.clone().unwrap_or_default(),
                h.realised.clone().unwrap_or_default(),
                h.left.clone(),
                h.matched.clone(),
                h.right.clone(),
                format!("{:.3}", h.clip_start),
                format!("{:.3}", h.clip_end),
            ];
            let line: Vec<String> = row.iter().map(|v| csv_field(v)).collect();
            out.push_str(&line.join(","));
            out.push('\n');
        }
        return Ok((
            [
                (axum::http::header::CONTENT_TYPE, "text/csv; charset=utf-8"),
                (
                    axum::http::header::CONTENT_DISPOSITION,
                    "attachment; filename=\"concordance.csv\"",
                ),
            ],
            out,
        )
            .into_response());
    }
    let next = if exhausted || scanned == 0 {
        None
    } else {
        Some(pos)
    };
    Ok(Json(json!({ "hits": hits, "next_offset": next })).into_response())
}
