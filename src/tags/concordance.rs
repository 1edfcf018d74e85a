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
use crate::segments::text_index;
use crate::work::{Deadline, WorkError};
use scan::{Matcher, Stop};

/// Characters of context on each side of a concordance hit.
const CONTEXT: usize = 12;
/// Segments (or spans) a concordance request examines at most: bounds regex scans.
const SCAN_CAP: i64 = 200_000;
/// Pairs of a long needle the index is asked for (the rarest in the first window).
const PICK: usize = 3;
/// Segment ids in the first window, which is scanned whole.
const FIRST_WINDOW: i64 = 2_000;
/// Segment ids in a scanned window at most (a regex, which no index answers).
const SCAN_WINDOW: i64 = 20_000;
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
        let texts = chunk
            .iter()
            .map(|c| (c.text.as_str(), c.span.is_some(), c.segment_id));
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

#[utoipa::path(get, path = "/api/projects/{project}/concordance", tag = "tags", params(("project" = i64, Path, description = "project id"), db::Filters), responses((status = 200, description = "Keyword-in-context hits (`hits`, and `next_after` for the next page), or CSV with format=csv", content((serde_json::Value = "application/json"), (String = "text/csv"))), (status = "4XX", description = "Refused, with the reason", body = crate::error::ErrorBody)))]
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
    // A text query (not a regex) over segments is answered from the text search index once
    // the first window shows its hits to be sparse; span queries have their own indexes.
    let backend = crate::db::backend(&state.db);
    let mut index = match (&*matcher, spans) {
        (Matcher::Text(t), false) => text_index::query(backend, t),
        _ => None,
    };
    // A needle of more than PICK pairs asks the index for its rarest PICK only, counted in
    // the first window, which is then read whole: an AND costs the length of every list in
    // it, and the pairs of common words ("湖南", "老师") have long ones.
    let parts = match (&*matcher, spans) {
        (Matcher::Text(t), false) => crate::text::grams::query_parts(t),
        _ => Vec::new(),
    };
    let pick = parts.len() > PICK;
    let indexed = spans || index.is_some();
    if deadline.expired() {
        return Err(Stop::Timeout.error(budget));
    }
    let last = db::last_segment(&state.db).await?;
    let mut after = f.after.unwrap_or(0).max(0);
    let mut width = FIRST_WINDOW;
    let mut hits = Vec::new();
    let mut examined = 0;
    let mut first = true;
    while hits.len() < limit && after < last && examined < SCAN_CAP {
        if deadline.expired() {
            return Err(Stop::Timeout.error(budget));
        }
        let want = limit - hits.len();
        let page = i64::try_from(2 * want + 50).unwrap_or(i64::MAX);
        let mut upto = after.saturating_add(width).min(last);
        // The first window is read whole (a common word fills the page there, and the index's
        // lists of it would be long); after it the index names the candidates in the window,
        // a page of them at most.
        let ids = match index.as_deref().filter(|_| !first) {
            None => None,
            Some(q) => {
                let found = tokio::time::timeout_at(
                    deadline.instant().into(),
                    text_index::candidate_ids(&state.db, q, after, upto, page),
                )
                .await
                .map_err(|_| Stop::Timeout.error(budget))??;
                if let Some(&id) = found.last()
                    && i64::try_from(found.len()).unwrap_or(0) == page
                {
                    upto = id;
                }
                Some(found)
            }
        };
        let window = db::Window {
            after,
            upto,
            ids,
            cap: if indexed && !(first && pick) {
                page
            } else {
                width
            },
            unfiltered: first && pick,
        };
        let query = db::concordance(&state.db, project, &f, spans, &window);
        let mut chunk = tokio::time::timeout_at(deadline.instant().into(), query)
            .await
            .map_err(|_| Stop::Timeout.error(budget))??;
        // A window cut short by its cap ends at its last whole segment (a segment's spans
        // are never split between pages), unless that segment is all there is.
        let mut end = upto;
        if i64::try_from(chunk.len()).unwrap_or(0) == window.cap
            && let Some(tail) = chunk.last().map(|c| c.segment_id)
        {
            end = tail;
            if chunk.first().is_some_and(|c| c.segment_id != tail) {
                chunk.retain(|c| c.segment_id != tail);
                end = chunk.last().map_or(tail, |c| c.segment_id);
            }
        }
        if window.unfiltered {
            let mut counted: Vec<(usize, &String)> = parts
                .iter()
                .map(|(text, term)| {
                    let n = chunk
                        .iter()
                        .filter(|c| c.text.contains(text.as_str()))
                        .count();
                    (n, term)
                })
                .collect();
            counted.sort();
            let rare: Vec<String> = counted
                .iter()
                .take(PICK)
                .map(|(_, t)| (*t).clone())
                .collect();
            index = text_index::query_of(backend, &rare);
        }
        // Hidden rows stay in the chunk (the cursor passes them) but hold no text and no span.
        for c in &mut chunk {
            if viewer.hides(c.segment_id, c.assignee_id) {
                c.text.clear();
                c.span = None;
                c.hidden = true;
            }
        }
        let rows = chunk.len();
        examined += i64::try_from(rows).unwrap_or(0);
        let ids: Vec<i64> = chunk.iter().map(|c| c.segment_id).collect();
        let (found, consumed, stop) =
            match scan_chunk(&state, &deadline, chunk, Arc::clone(&matcher), want).await {
                Ok(done) => done,
                Err(WorkError::Timeout) => return Err(Stop::Timeout.error(budget)),
                Err(e) => return Err(e.into()),
            };
        if let Some(stop) = stop {
            return Err(stop.error(budget));
        }
        let found_here = found.len();
        hits.extend(found);
        if consumed < rows {
            // The page is full: the next one starts after the last whole segment on it.
            after = consumed.checked_sub(1).map_or(after, |i| ids[i]);
            break;
        }
        after = end;
        first = false;
        // The next window: as wide as the hits seen so far suggest a page needs, when an
        // index answers it (at most 16 times wider for spans, whose filters cost a join per
        // span; 64 for the text index, which reads only its matches); scans stay a chunk wide.
        width = if indexed {
            let most = if spans { 16 } else { 64 };
            let left = limit.saturating_sub(hits.len()).max(1);
            let grow = match found_here {
                0 => most,
                h => (2 * left).div_ceil(h).clamp(1, most),
            };
            width.saturating_mul(i64::try_from(grow).unwrap_or(16))
        } else {
            (width * 2).min(SCAN_WINDOW)
        };
    }
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
    let next = (after < last).then_some(after);
    Ok(Json(json!({ "hits": hits, "next_after": next })).into_response())
}
