//! The concordance: keyword-in-context search over a project's segments and span tags
//! (feature, realised form, substring or size-bounded regex, status, labels, speaker fields),
//! with clip times per hit, paging, and a CSV download. Candidate rows come from
//! [`super::db::concordance`]; matching them runs on the bounded work pool within the search
//! time budget (`scan`), so a hostile pattern answers 400 `search_too_costly` or 503
//! `search_timeout` instead of holding the async workers.

use crate::extract::{Json, Path, Query};
use axum::extract::State;
use serde_json::json;

mod scan;

use std::sync::Arc;

use super::db;
use super::estimate_samples;
use crate::accounts::CurrentUser;
use crate::app::AppState;
use crate::error::{AppError, AppResult};
use crate::work::{Deadline, WorkError};
use scan::{Matcher, Stop};

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

fn hit(c: &db::Candidate, chars: &[char], a: usize, b: usize) -> Hit {
    let (a, b) = (a.min(chars.len()), b.min(chars.len()));
    let n = i64::try_from(chars.len()).unwrap_or(1).max(1);
    let sp = c.span.as_ref();
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

/// Matches one chunk of candidates on the work pool: the hits, the rows consumed, and why
/// the scan stopped early, if it did.
async fn scan_chunk(
    state: &AppState,
    deadline: &Deadline,
    chunk: Vec<db::Candidate>,
    matcher: Arc<Matcher>,
    want: usize,
) -> Result<(Vec<Hit>, usize, Option<Stop>), WorkError> {
    let job = move |d: &Deadline| {
        let mut hits = Vec::new();
        let texts = chunk.iter().map(|c| (c.text.as_str(), c.span.is_some()));
        let (consumed, stop) = scan::scan(texts, &matcher, want, d, |i, ranges| {
            let c = &chunk[i];
            if c.hidden {
                return;
            }
            let chars: Vec<char> = c.text.chars().collect();
            match &c.span {
                Some(sp) => {
                    let a = usize::try_from(sp.1).unwrap_or(0);
                    let b = usize::try_from(sp.2).unwrap_or(0);
                    hits.push(hit(c, &chars, a, b));
                }
                None => hits.extend(ranges.iter().map(|&(a, b)| hit(c, &chars, a, b))),
            }
        });
        (hits, consumed, stop)
    };
    state.work.run(deadline.clone(), job).await
}

#[utoipa::path(get, path = "/api/projects/{project}/concordance", tag = "tags", params(("project" = i64, Path, description = "project id"), db::Filters), responses((status = 200, description = "Keyword-in-context hits (`hits`, `next_offset`), or CSV with format=csv", content((serde_json::Value = "application/json"), (String = "text/csv"))), (status = "4XX", description = "Refused, with the reason", body = crate::error::ErrorBody)))]
pub(super) async fn concordance(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(project): Path<i64>,
    Query(f): Query<db::Filters>,
) -> AppResult<axum::response::Response> {
    use axum::response::IntoResponse;
    // A second annotator must not find the first pass through a search either.
    let viewer = crate::segments::access::Viewer::of(&state, user, project).await?;
    let budget = state.config.budgets.search_time;
    let deadline = Deadline::after(budget);
    let re = match f.regex.as_deref().filter(|r| !r.is_empty()) {
        None => None,
        Some(r) => Some(Box::new(scan::Pattern::new(r)?)),
    };
    let csv = f.format == Some(crate::dashboard::TableFormat::Csv);
    let limit = if csv {
        10_000
    } else {
        f.limit.unwrap_or(100).clamp(1, 500)
    };
    let limit = usize::try_from(limit).unwrap_or(100);
    let spans = f.feature.is_some() || f.realised.is_some();
    let text_filter = f.text.clone().filter(|t| !t.is_empty());
    if text_filter
        .as_deref()
        .is_some_and(|t| t.chars().count() > scan::MAX_TEXT)
    {
        return Err(AppError::bad(
            "invalid_text",
            "text",
            format!("at most {} characters", scan::MAX_TEXT),
        ));
    }
    if !spans && text_filter.is_none() && re.is_none() {
        return Err(AppError::bad(
            "no_filter",
            "text",
            "give a text, regex, feature or realised form to search for",
        ));
    }
    // Span candidates are filtered by the regex only (the substring is in the SQL).
    let matcher = Arc::new(match (re, text_filter) {
        (Some(p), _) => Matcher::Regex(p),
        (None, Some(t)) if !spans => Matcher::Text(t),
        _ => Matcher::None,
    });
    let mut pos = f.offset.unwrap_or(0).max(0);
    let mut hits = Vec::new();
    let mut scanned = 0;
    let mut exhausted = false;
    while hits.len() < limit && scanned < SCAN_CAP {
        if deadline.expired() {
            return Err(Stop::Timeout.error(budget));
        }
        let query = db::concordance(&state.db, project, &f, spans, pos, 1000);
        let mut chunk = tokio::time::timeout_at(deadline.instant().into(), query)
            .await
            .map_err(|_| Stop::Timeout.error(budget))??;
        // Hidden rows stay in the chunk (the offset counts rows) but hold no text and no span.
        for c in &mut chunk {
            if viewer.hides(c.segment_id, c.assignee_id) {
                c.text.clear();
                c.span = None;
                c.hidden = true;
            }
        }
        if chunk.is_empty() {
            exhausted = true;
            break;
        }
        let rows = chunk.len();
        let want = limit - hits.len();
        let (found, consumed, stop) =
            match scan_chunk(&state, &deadline, chunk, Arc::clone(&matcher), want).await {
                Ok(done) => done,
                Err(WorkError::Timeout) => return Err(Stop::Timeout.error(budget)),
                Err(e) => return Err(e.into()),
            };
        if let Some(stop) = stop {
            return Err(stop.error(budget));
        }
        hits.extend(found);
        let consumed = i64::try_from(consumed).unwrap_or(0);
        pos += consumed;
        scanned += consumed;
        if consumed < i64::try_from(rows).unwrap_or(0) {
            break; // the page is full
        }
    }
    hits.truncate(limit);
    if csv {
        let mut out = crate::dashboard::download::HumanCsv::new(&[
            "segment_id",
            "recording_id",
            "span_id",
            "feature",
            "expected",
            "realised",
            "left",
            "match",
            "right",
            "clip_start",
            "clip_end",
        ])?;
        for h in &hits {
            out.row([
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
            ])?;
        }
        return out.into_response("concordance");
    }
    let next = if exhausted || scanned == 0 {
        None
    } else {
        Some(pos)
    };
    Ok(Json(json!({ "hits": hits, "next_offset": next })).into_response())
}
