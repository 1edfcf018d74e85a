//! The tagging stage (issue 7): the project's tag schema (read by members, replaced by admins,
//! with renames migrating existing tags and removals of values in use refused with 409
//! `tag_in_use`), a segment's controlled-vocabulary tags, span tags on characters with
//! expected/realised forms, and pinyin suggestions. The schema logic and suggestions are pure
//! (`crate::text::features`, `crate::text::pinyin`); queries are in [`db`].
//!
//! Who may tag when is the segment workflow's ([`crate::segments::state`], action `Tag`):
//! editors while the segment is theirs to edit, reviewers and admins while it is submitted,
//! nobody once approved; each write re-checks the state in its own statement. Second-pass
//! spans (`pass: 2`) belong to the segment's second transcriber (and project admins), sit on
//! the second transcription's characters, and are all a blind second transcriber sees.

mod concordance;
pub mod db;
mod stats;

use std::collections::BTreeMap;

use crate::extract::{Json, Path, Query};
use axum::extract::State;
use serde::Deserialize;
use serde_json::json;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::accounts::CurrentUser;
use crate::app::AppState;
use crate::error::{AppError, AppResult};
use crate::projects::{self, Role};
use crate::segments::{self, Action, SegmentAccess, SegmentStatus};
use crate::text::features::{self, FieldValues, SchemaError, TagSchema};
use crate::text::pinyin;

/// Routes: schema, segment tags, spans, suggestions.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_schema, put_schema))
        .routes(routes!(get_segment_tags, put_segment_tags))
        .routes(routes!(list_spans, create_span))
        .routes(routes!(patch_span, delete_span))
        .routes(routes!(suggest))
        .routes(routes!(concordance::concordance))
        .routes(routes!(stats::feature_stats))
}

fn schema_error(e: SchemaError) -> AppError {
    AppError::BadRequest {
        code: e.code,
        message: e.message,
        field: None,
    }
}

#[utoipa::path(get, path = "/api/projects/{project}/tag-schema", tag = "tags", params(("project" = i64, Path, description = "project id")), responses((status = 200, description = "The schema (the default one until an admin saves one)", body = TagSchema), (status = "4XX", description = "Refused, with the reason", body = crate::error::ErrorBody)))]
async fn get_schema(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(project): Path<i64>,
) -> AppResult<Json<TagSchema>> {
    projects::role_in(&state, project, user).await?;
    Ok(Json(db::schema(&state.db, project).await?))
}

#[utoipa::path(put, path = "/api/projects/{project}/tag-schema", tag = "tags", params(("project" = i64, Path, description = "project id")), request_body = TagSchema, responses((status = 200, description = "Saved; renames applied to existing tags", body = TagSchema), (status = 409, description = "`tag_in_use`: a removed field, value or feature is still used; archive it instead", body = crate::error::ErrorBody), (status = "4XX", description = "Refused, with the reason", body = crate::error::ErrorBody)))]
async fn put_schema(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(project): Path<i64>,
    body: Result<Json<TagSchema>, AppError>,
) -> AppResult<Json<TagSchema>> {
    projects::require(&state, project, user, &[Role::Admin]).await?;
    let Json(new) = body
        .map_err(|e| AppError::bad("invalid_schema", "schema", format!("not a tag schema: {e}")))?;
    features::validate(&new).map_err(schema_error)?;
    let old = db::schema(&state.db, project).await?;
    let plan = features::plan(&old, &new);
    let used = db::in_use(&state.db, project, &plan).await?;
    if !used.is_empty() {
        let list: Vec<String> = used
            .iter()
            .map(|(kind, id, n)| format!("{kind} {id} ({n} tags)"))
            .collect();
        return Err(AppError::InUse(
            "tag_in_use",
            format!(
                "still in use, so it cannot be removed; archive it instead (\"archived\": true): {}",
                list.join(", ")
            ),
        ));
    }
    let settled = features::settled(new);
    db::save_schema(&state.db, project, &plan, &settled).await?;
    Ok(Json(settled))
}

/// A live segment and the caller's access to it (404 for non-members and deleted segments).
async fn segment_member(
    state: &AppState,
    user: CurrentUser,
    segment: i64,
) -> AppResult<SegmentAccess> {
    segments::access(state, user, segment).await?.live()
}

/// May the caller write a span of `pass` on the segment? The segment as the span sees it (the
/// second transcription for pass 2) and the state the write must still find (`None`: the
/// second pass is outside the workflow).
async fn span_writer(
    state: &AppState,
    a: &SegmentAccess,
    pass: i64,
) -> AppResult<(db::SegmentInfo, Option<SegmentStatus>)> {
    let seg = &a.segment;
    let info = |text: String| db::SegmentInfo {
        project_id: a.project_id(),
        text,
        start_sample: seg.start_sample,
        end_sample: seg.end_sample,
    };
    if pass != 2 {
        let status = a.may(Action::Tag)?;
        return Ok((info(seg.text_verbatim.clone()), Some(status)));
    }
    let second = crate::tasks::second_pass::of(&state.db, seg.id).await?;
    match second {
        Some(sp)
            if a.role() == Role::Admin || (sp.assignee_id == a.viewer.user && sp.in_progress) =>
        {
            Ok((info(sp.text), None))
        }
        _ => Err(AppError::Forbidden(
            "second-pass spans are written by the segment's second transcriber".into(),
        )),
    }
}

/// The text a first-pass span write must still find (its characters were checked against
/// it); second-pass spans sit on the second transcription, which the guard does not see.
fn pass_one_text(seg: &db::SegmentInfo, expect: Option<SegmentStatus>) -> Option<&str> {
    expect.map(|_| seg.text.as_str())
}

fn changed_meanwhile() -> AppError {
    AppError::InUse(
        "segment_locked",
        "the segment changed state meanwhile; reload it".into(),
    )
}

fn grouped(rows: Vec<(String, String)>) -> BTreeMap<String, Vec<String>> {
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (f, v) in rows {
        out.entry(f).or_default().push(v);
    }
    out
}

#[utoipa::path(get, path = "/api/segments/{segment}/tags", tag = "tags", params(("segment" = i64, Path, description = "segment id")), responses((status = 200, description = "Field → values", body = serde_json::Value, content_type = "application/json"), (status = "4XX", description = "Refused, with the reason", body = crate::error::ErrorBody)))]
async fn get_segment_tags(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(segment): Path<i64>,
) -> AppResult<Json<serde_json::Value>> {
    let a = segment_member(&state, user, segment).await?;
    // A blind second transcriber labels without seeing the first pass's labels.
    let rows = if a.blind() {
        Vec::new()
    } else {
        db::segment_tags(&state.db, segment).await?
    };
    Ok(Json(
        json!({ "segment_id": segment, "tags": grouped(rows), "blind": a.blind() }),
    ))
}

/// A segment's complete tag set.
#[derive(Deserialize, utoipa::ToSchema)]
struct SegmentTags {
    /// Field id → a value, or a list of values for multi-select fields.
    tags: BTreeMap<String, FieldValues>,
}

#[utoipa::path(put, path = "/api/segments/{segment}/tags", tag = "tags", params(("segment" = i64, Path, description = "segment id")), request_body = SegmentTags, responses((status = 200, description = "Saved", body = serde_json::Value, content_type = "application/json"), (status = "4XX", description = "Refused, with the reason", body = crate::error::ErrorBody)))]
async fn put_segment_tags(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(segment): Path<i64>,
    Json(req): Json<SegmentTags>,
) -> AppResult<Json<serde_json::Value>> {
    let a = segment_member(&state, user, segment).await?;
    let status = a.may(Action::Tag)?;
    let schema = db::schema(&state.db, a.project_id()).await?;
    let existing = db::segment_tags(&state.db, segment).await?;
    let rows = features::check_segment_tags(&schema, &req.tags, &existing).map_err(schema_error)?;
    if !db::set_segment_tags(&state.db, segment, user.id, &rows, status).await? {
        return Err(changed_meanwhile());
    }
    Ok(Json(
        json!({ "segment_id": segment, "tags": grouped(rows) }),
    ))
}

#[utoipa::path(get, path = "/api/segments/{segment}/spans", tag = "tags", params(("segment" = i64, Path, description = "segment id")), responses((status = 200, description = "The segment's spans", body = serde_json::Value, content_type = "application/json"), (status = "4XX", description = "Refused, with the reason", body = crate::error::ErrorBody)))]
async fn list_spans(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(segment): Path<i64>,
) -> AppResult<Json<serde_json::Value>> {
    let a = segment_member(&state, user, segment).await?;
    let mut spans = db::spans(&state.db, segment).await?;
    if a.blind() {
        spans.retain(|s| s.pass == 2);
    }
    Ok(Json(json!({ "spans": spans, "blind": a.blind() })))
}

/// A new span, or a change to one (absent fields keep their value; on creation `expected`
/// defaults to the characters' pinyin and the time span to an estimate from the characters'
/// position in the segment).
#[derive(Deserialize, utoipa::ToSchema, Default)]
struct SpanInput {
    char_start: Option<i64>,
    char_end: Option<i64>,
    feature: Option<String>,
    expected: Option<String>,
    realised: Option<String>,
    realised_script: Option<String>,
    start_sample: Option<i64>,
    end_sample: Option<i64>,
    note: Option<String>,
    needs_review: Option<bool>,
    pass: Option<i64>,
}

/// Estimates the time span of characters `[a, b)` of a text of `n` characters spoken over
/// `[start, end)` samples, assuming an even speaking rate.
pub(super) fn estimate_samples(start: i64, end: i64, n: i64, a: i64, b: i64) -> (i64, i64) {
    if n <= 0 {
        return (start, end);
    }
    let len = end - start;
    (start + len * a / n, start + len * b / n)
}

/// Validates `s` against its segment's text and the schema; fills `chars`.
fn check_span(
    s: &mut db::Span,
    seg: &db::SegmentInfo,
    schema: &TagSchema,
    feature_changed: bool,
) -> AppResult<()> {
    let chars: Vec<char> = seg.text.chars().collect();
    let n = i64::try_from(chars.len()).unwrap_or(i64::MAX);
    if s.char_start < 0 || s.char_start >= s.char_end || s.char_end > n {
        return Err(AppError::bad(
            "invalid_span",
            "char_start",
            format!("a span covers characters 0 ≤ start < end ≤ {n} of the segment's text"),
        ));
    }
    s.chars = chars
        [usize::try_from(s.char_start).unwrap_or(0)..usize::try_from(s.char_end).unwrap_or(0)]
        .iter()
        .collect();
    if feature_changed && !features::offers_feature(schema, &s.feature) {
        return Err(AppError::bad(
            "unknown_feature",
            "feature",
            format!("the schema offers no feature {:?}", s.feature),
        ));
    }
    if !matches!(s.realised_script.as_str(), "pinyin" | "ipa") {
        return Err(AppError::bad(
            "invalid_script",
            "realised_script",
            "realised_script is pinyin or ipa",
        ));
    }
    if !matches!(s.pass, 1 | 2) {
        return Err(AppError::bad("invalid_pass", "pass", "pass is 1 or 2"));
    }
    for (text, field) in [
        (&s.expected, "expected"),
        (&s.realised, "realised"),
        (&s.note, "note"),
    ] {
        if text.chars().count() > 2000 {
            return Err(AppError::bad("too_long", field, "at most 2000 characters"));
        }
    }
    match (s.start_sample, s.end_sample) {
        (Some(a), Some(b)) if a < seg.start_sample || b > seg.end_sample || a >= b => {
            Err(AppError::bad(
                "invalid_time_span",
                "start_sample",
                "the time span lies inside the segment and is not empty",
            ))
        }
        (Some(_), None) | (None, Some(_)) => Err(AppError::bad(
            "invalid_time_span",
            "end_sample",
            "give both start_sample and end_sample",
        )),
        _ => Ok(()),
    }
}

#[utoipa::path(post, path = "/api/segments/{segment}/spans", tag = "tags", params(("segment" = i64, Path, description = "segment id")), request_body = SpanInput, responses((status = 200, description = "The new span", body = db::Span), (status = "4XX", description = "Refused, with the reason", body = crate::error::ErrorBody)))]
async fn create_span(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(segment): Path<i64>,
    Json(req): Json<SpanInput>,
) -> AppResult<Json<db::Span>> {
    let a = segment_member(&state, user, segment).await?;
    let (seg, expect) = span_writer(&state, &a, req.pass.unwrap_or(1)).await?;
    let schema = db::schema(&state.db, seg.project_id).await?;
    let (Some(char_start), Some(char_end), Some(feature)) =
        (req.char_start, req.char_end, req.feature)
    else {
        return Err(AppError::bad(
            "missing_field",
            "feature",
            "a span needs char_start, char_end and feature",
        ));
    };
    let mut s = db::Span {
        id: 0,
        segment_id: segment,
        char_start,
        char_end,
        chars: String::new(),
        feature,
        expected: String::new(),
        realised: req.realised.unwrap_or_default(),
        realised_script: req.realised_script.unwrap_or_else(|| "pinyin".into()),
        start_sample: req.start_sample,
        end_sample: req.end_sample,
        note: req.note.unwrap_or_default(),
        needs_review: false,
        pass: req.pass.unwrap_or(1),
        author_id: Some(user.id),
        updated_at: 0,
    };
    check_span(&mut s, &seg, &schema, true)?;
    s.expected = req.expected.unwrap_or_else(|| pinyin::expected(&s.chars));
    if s.start_sample.is_none() {
        let n = i64::try_from(seg.text.chars().count()).unwrap_or(0);
        let (a, b) = estimate_samples(seg.start_sample, seg.end_sample, n, char_start, char_end);
        if a < b {
            (s.start_sample, s.end_sample) = (Some(a), Some(b));
        }
    }
    let id = db::insert_span(&state.db, &s, user.id, expect, pass_one_text(&seg, expect))
        .await?
        .ok_or_else(changed_meanwhile)?;
    Ok(Json(db::span(&state.db, id).await?))
}

/// A span the caller may write: the span, its segment as the span sees it, and the state the
/// write must still find.
async fn span_member(
    state: &AppState,
    user: CurrentUser,
    span: i64,
) -> AppResult<(db::Span, db::SegmentInfo, Option<SegmentStatus>)> {
    let s = db::span(&state.db, span).await?;
    let a = segment_member(state, user, s.segment_id).await?;
    let (seg, expect) = span_writer(state, &a, s.pass).await?;
    Ok((s, seg, expect))
}

#[utoipa::path(patch, path = "/api/spans/{span}", tag = "tags", params(("span" = i64, Path, description = "span id")), request_body = SpanInput, responses((status = 200, description = "The changed span", body = db::Span), (status = "4XX", description = "Refused, with the reason", body = crate::error::ErrorBody)))]
async fn patch_span(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(span): Path<i64>,
    Json(req): Json<SpanInput>,
) -> AppResult<Json<db::Span>> {
    let (mut s, seg, expect) = span_member(&state, user, span).await?;
    let schema = db::schema(&state.db, seg.project_id).await?;
    let feature_changed = req.feature.as_ref().is_some_and(|f| f != &s.feature);
    let moved = req.char_start.is_some() || req.char_end.is_some();
    s.char_start = req.char_start.unwrap_or(s.char_start);
    s.char_end = req.char_end.unwrap_or(s.char_end);
    s.feature = req.feature.unwrap_or(s.feature);
    s.expected = req.expected.unwrap_or(s.expected);
    s.realised = req.realised.unwrap_or(s.realised);
    s.realised_script = req.realised_script.unwrap_or(s.realised_script);
    s.start_sample = req.start_sample.or(s.start_sample);
    s.end_sample = req.end_sample.or(s.end_sample);
    s.note = req.note.unwrap_or(s.note);
    // moving a span onto characters is a review; so is clearing the flag explicitly
    s.needs_review = req.needs_review.unwrap_or(s.needs_review && !moved);
    if req.pass.is_some() {
        return Err(AppError::bad(
            "invalid_pass",
            "pass",
            "a span's pass does not change",
        ));
    }
    check_span(&mut s, &seg, &schema, feature_changed)?;
    if !db::update_span(&state.db, &s, expect, pass_one_text(&seg, expect)).await? {
        return Err(changed_meanwhile());
    }
    Ok(Json(db::span(&state.db, span).await?))
}

#[utoipa::path(delete, path = "/api/spans/{span}", tag = "tags", params(("span" = i64, Path, description = "span id")), responses((status = 200, description = "Deleted", body = serde_json::Value, content_type = "application/json"), (status = "4XX", description = "Refused, with the reason", body = crate::error::ErrorBody)))]
async fn delete_span(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(span): Path<i64>,
) -> AppResult<Json<serde_json::Value>> {
    let (s, _, expect) = span_member(&state, user, span).await?;
    if !db::delete_span(&state.db, span, s.segment_id, expect).await? {
        return Err(changed_meanwhile());
    }
    Ok(Json(json!({ "deleted": span })))
}

#[derive(Deserialize, utoipa::IntoParams)]
struct SuggestQuery {
    /// The tagged characters; `expected` defaults to their pinyin.
    #[serde(default)]
    chars: String,
    /// Expected pinyin (tone numbers).
    expected: Option<String>,
    /// Realised pinyin or IPA.
    #[serde(default)]
    realised: String,
}

#[utoipa::path(get, path = "/api/tags/suggest", tag = "tags", params(SuggestQuery), responses((status = 200, description = "Expected form and suggested feature codes, best first", body = serde_json::Value, content_type = "application/json"), (status = "4XX", description = "Refused, with the reason", body = crate::error::ErrorBody)))]
async fn suggest(
    _user: CurrentUser,
    Query(q): Query<SuggestQuery>,
) -> AppResult<Json<serde_json::Value>> {
    if q.chars.chars().count() > 200 || q.realised.len() > 2000 {
        return Err(AppError::bad("too_long", "chars", "at most 200 characters"));
    }
    let expected = q.expected.unwrap_or_else(|| pinyin::expected(&q.chars));
    let suggestions = pinyin::suggest(&q.chars, &expected, &q.realised);
    // Heteronyms: the other readings, so a wrong first guess is one click away.
    let alternatives = pinyin::alternatives(&q.chars);
    let readings: Vec<_> = pinyin::readings(&q.chars)
        .into_iter()
        .map(|(c, list)| json!({ "char": c.to_string(), "pinyin": list }))
        .collect();
    Ok(Json(json!({
        "expected": expected,
        "alternatives": alternatives,
        "readings": readings,
        "suggestions": suggestions,
    })))
}
