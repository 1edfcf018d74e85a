//! Segments: listing, creating, and saving with optimistic concurrency. A save carries the
//! version it was based on; a stale version is answered 409 with the current state. A save also
//! carries a client save id, unique per segment in the revision history, so a retried save is
//! applied once. Every accepted save appends a revision; deleting keeps the segment in history.
//! Who may write what in which state is [`state`]'s; who may see what is [`access`]'s. Every
//! write to `segment` and `segment_revision` is [`write`]'s (split and merge: [`edit`]'s),
//! inside the caller's transaction: a save commits with its spans' re-anchoring, a split or
//! merge with its spans moved, or nothing commits.

pub mod access;
pub mod db;
pub mod edit;
mod preview;
pub mod state;
pub mod text_index;
pub mod write;

pub use access::{SegmentAccess, Viewer, access};
pub use state::{Action, SegmentStatus};

use crate::extract::{Json, Path, Query};
use axum::extract::State;
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::accounts::CurrentUser;
use crate::app::AppState;
use crate::db::begin_write;
use crate::error::{AppError, AppResult};

/// Longest text layer accepted, in bytes (RELIABILITY.md T3).
const MAX_TEXT_BYTES: usize = 64 * 1024;

/// Routes of this stage.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(get_one, save, delete))
        .routes(routes!(revisions))
        .routes(routes!(split))
        .routes(routes!(merge))
        .routes(routes!(preview::preview))
}

async fn recording_access(
    state: &AppState,
    user: CurrentUser,
    recording: i64,
) -> AppResult<(Viewer, i64)> {
    let r = crate::recordings::db::get(&state.db, recording).await?;
    let viewer = Viewer::of(state, user, r.project_id).await?;
    Ok((viewer, r.samples.unwrap_or(0)))
}

/// A stale write's answer: 409 with the current state, as the caller may see it.
fn stale(viewer: &Viewer, current: Vec<db::Segment>, one: bool) -> AppError {
    let mut shown: Vec<db::Segment> = current.into_iter().map(|s| viewer.show(s)).collect();
    let value = if one {
        shown.pop().map(serde_json::to_value)
    } else {
        Some(serde_json::to_value(shown))
    };
    match value.transpose() {
        Ok(v) => AppError::Conflict(v.unwrap_or_default()),
        Err(e) => AppError::Internal(e.into()),
    }
}

#[utoipa::path(get, path = "/api/recordings/{recording}/segments", tag = "segments", params(("recording" = i64, Path, description = "recording id")), responses((status = 200, description = "Success", body = serde_json::Value, content_type = "application/json"), (status = "4XX", description = "Refused, with the reason", body = crate::error::ErrorBody)))]
async fn list(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(recording): Path<i64>,
) -> AppResult<Json<SegmentList>> {
    let (viewer, _) = recording_access(&state, user, recording).await?;
    let mut reviews = crate::review::db::latest_of_recording(&state.db, recording).await?;
    let segments: Vec<db::Segment> = db::list(&state.db, recording)
        .await?
        .into_iter()
        .map(|mut s| {
            s.last_review = reviews.remove(&s.id);
            viewer.show(s)
        })
        .collect();
    Ok(Json(SegmentList { segments }))
}

/// A recording's segments, serialised straight from the rows: a 12-hour recording holds
/// 20 000 of them, and a `serde_json::Value` in between would double the work of every open.
#[derive(Serialize)]
struct SegmentList {
    segments: Vec<db::Segment>,
}

#[derive(Deserialize, utoipa::ToSchema)]
struct NewSegment {
    start_sample: i64,
    end_sample: i64,
    #[serde(default)]
    text_verbatim: String,
}

fn check_bounds(start: i64, end: i64, samples: i64) -> AppResult<()> {
    if start < 0 || end <= start || end > samples {
        return Err(AppError::bad(
            "invalid_bounds",
            "start_sample",
            format!("bounds must satisfy 0 <= start < end <= {samples} samples"),
        ));
    }
    Ok(())
}

/// The C0 control characters a segment text may not hold: all but tab, line feed and carriage
/// return (which a textarea can type and every export collapses to a space). The others are
/// not allowed in XML 1.0, so one of them would make the project's EAF export unreadable.
fn forbidden_control(c: char) -> bool {
    c <= '\u{1F}' && !matches!(c, '\t' | '\n' | '\r')
}

fn check_text(field: &'static str, text: &str) -> AppResult<()> {
    if text.len() > MAX_TEXT_BYTES {
        return Err(AppError::bad(
            "text_too_long",
            field,
            "segment text is limited to 64 KiB",
        ));
    }
    if let Some((at, c)) = text
        .chars()
        .enumerate()
        .find(|(_, c)| forbidden_control(*c))
    {
        return Err(AppError::bad(
            "control_character",
            field,
            format!(
                "the text holds the control character U+{:04X} at character {}; remove it",
                u32::from(c),
                at + 1
            ),
        ));
    }
    Ok(())
}

#[utoipa::path(post, path = "/api/recordings/{recording}/segments", tag = "segments", params(("recording" = i64, Path, description = "recording id")), responses((status = 200, description = "Success", body = serde_json::Value, content_type = "application/json"), (status = "4XX", description = "Refused, with the reason", body = crate::error::ErrorBody)))]
async fn create(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(recording): Path<i64>,
    Json(req): Json<NewSegment>,
) -> AppResult<Json<db::Segment>> {
    let (viewer, samples) = recording_access(&state, user, recording).await?;
    state::may_ever(viewer.role, Action::Edit)?;
    check_bounds(req.start_sample, req.end_sample, samples)?;
    check_text("text_verbatim", &req.text_verbatim)?;
    // A segment made with text is its author's first pass (its assignee, without a lease:
    // anyone may still claim it).
    let new = write::NewSegment {
        recording,
        start: req.start_sample,
        end: req.end_sample,
        speaker: None,
        text: &req.text_verbatim,
        asr: None,
        assignee: (!req.text_verbatim.is_empty()).then_some(user.id),
    };
    let mut tx = begin_write(&state.db).await?;
    let segment = write::insert(&mut tx, &new, Some(user.id)).await?;
    tx.commit().await?;
    Ok(Json(viewer.show(segment)))
}

#[utoipa::path(get, path = "/api/segments/{segment}", tag = "segments", params(("segment" = i64, Path, description = "segment id")), responses((status = 200, description = "Success", body = serde_json::Value, content_type = "application/json"), (status = "4XX", description = "Refused, with the reason", body = crate::error::ErrorBody)))]
async fn get_one(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(segment): Path<i64>,
) -> AppResult<Json<db::Segment>> {
    let mut a = access(&state, user, segment).await?;
    a.segment.last_review = crate::review::db::latest(&state.db, segment).await?;
    Ok(Json(a.view()))
}

/// A save: the version it is based on, a client save id, and the fields that change.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct Save {
    /// The version the client edited.
    pub version: i64,
    /// Client-generated id, unique per save attempt; retries reuse it.
    pub save_id: String,
    /// New verbatim text.
    pub text_verbatim: Option<String>,
    /// New display text.
    pub text_display: Option<String>,
    /// New normalised text.
    pub text_norm: Option<String>,
    /// New start, in samples.
    pub start_sample: Option<i64>,
    /// New end, in samples.
    pub end_sample: Option<i64>,
    /// New speaker.
    pub speaker_id: Option<i64>,
}

#[utoipa::path(put, path = "/api/segments/{segment}", tag = "segments", params(("segment" = i64, Path, description = "segment id")), responses((status = 200, description = "Success", body = serde_json::Value, content_type = "application/json"), (status = "4XX", description = "Refused, with the reason", body = crate::error::ErrorBody)))]
async fn save(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(segment): Path<i64>,
    Json(req): Json<Save>,
) -> AppResult<Json<db::Segment>> {
    let a = access(&state, user, segment).await?;
    a.may_ever(Action::Edit)?;
    if req.save_id.is_empty() || req.save_id.len() > 100 {
        return Err(AppError::bad(
            "invalid_save_id",
            "save_id",
            "save_id is 1 to 100 characters",
        ));
    }
    for (field, text) in [
        ("text_verbatim", &req.text_verbatim),
        ("text_display", &req.text_display),
        ("text_norm", &req.text_norm),
    ] {
        if let Some(text) = text {
            check_text(field, text)?;
        }
    }
    let current = &a.segment;
    check_bounds(
        req.start_sample.unwrap_or(current.start_sample),
        req.end_sample.unwrap_or(current.end_sample),
        a.samples,
    )?;
    // A speaker of another project does not exist here.
    if let Some(speaker) = req.speaker_id
        && !db::speaker_in(&state.db, a.project_id(), speaker).await?
    {
        return Err(AppError::NotFound);
    }
    // One transaction: the save, its revision and its spans' re-anchoring commit together.
    let mut tx = begin_write(&state.db).await?;
    match write::save(&mut tx, segment, user.id, a.role(), &req).await? {
        write::SaveOutcome::Saved { before, after } => {
            crate::tags::db::reanchor(
                &mut tx,
                segment,
                &before.text_verbatim,
                &after.text_verbatim,
            )
            .await?;
            tx.commit().await?;
            Ok(Json(a.viewer.show(*after)))
        }
        write::SaveOutcome::Replayed => {
            drop(tx);
            Ok(Json(a.viewer.show(db::get(&state.db, segment).await?)))
        }
        write::SaveOutcome::Stale(s) => Err(stale(&a.viewer, vec![*s], true)),
        write::SaveOutcome::Refused(e) => Err(e),
    }
}

/// The version the client deleted from and its save id (as for a save).
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct DeleteQuery {
    version: i64,
    save_id: String,
}

#[utoipa::path(delete, path = "/api/segments/{segment}", tag = "segments", params(("segment" = i64, Path, description = "segment id"), DeleteQuery), responses((status = 200, description = "`{deleted: id}`", body = serde_json::Value, content_type = "application/json"), (status = 409, description = "`version_conflict`: the body carries the current segment", body = crate::error::ErrorBody), (status = "4XX", description = "Refused, with the reason", body = crate::error::ErrorBody)))]
async fn delete(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(segment): Path<i64>,
    Query(q): Query<DeleteQuery>,
) -> AppResult<Json<serde_json::Value>> {
    let a = access(&state, user, segment).await?;
    a.may_ever(Action::Edit)?;
    let mut tx = begin_write(&state.db).await?;
    match write::delete(&mut tx, segment, user.id, a.role(), q.version, &q.save_id).await? {
        write::SaveOutcome::Saved { .. } => {
            tx.commit().await?;
            Ok(Json(json!({ "deleted": segment })))
        }
        write::SaveOutcome::Replayed => Ok(Json(json!({ "deleted": segment }))),
        write::SaveOutcome::Stale(s) => Err(stale(&a.viewer, vec![*s], true)),
        write::SaveOutcome::Refused(e) => Err(e),
    }
}

#[utoipa::path(get, path = "/api/segments/{segment}/revisions", tag = "segments", params(("segment" = i64, Path, description = "segment id")), responses((status = 200, description = "Success", body = serde_json::Value, content_type = "application/json"), (status = "4XX", description = "Refused, with the reason", body = crate::error::ErrorBody)))]
async fn revisions(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(segment): Path<i64>,
) -> AppResult<Json<serde_json::Value>> {
    let a = access(&state, user, segment).await?;
    let mut revisions = db::revisions(&state.db, segment).await?;
    if a.blind() {
        for r in &mut revisions {
            for layer in ["text_verbatim", "text_display", "text_norm"] {
                r[layer] = json!("");
            }
        }
    }
    Ok(Json(json!({ "revisions": revisions, "blind": a.blind() })))
}

#[derive(Deserialize, utoipa::ToSchema)]
struct SplitRequest {
    version: i64,
    save_id: String,
    /// Split point in samples, strictly inside the segment.
    at_sample: i64,
    /// Where the text divides, in characters (a text has at most 64 KiB).
    #[schema(maximum = 65536)]
    text_offset: usize,
}

/// Answers a split or merge; an applied one commits with its spans moved onto their
/// characters (`crate::tags::db::move_spans`), anything else rolls back.
async fn finish_edit(
    mut tx: crate::db::Tx,
    viewer: &Viewer,
    outcome: edit::EditOutcome,
) -> AppResult<Json<serde_json::Value>> {
    match outcome {
        edit::EditOutcome::Done(segments, spans) => {
            crate::tags::db::move_spans(&mut tx, spans).await?;
            tx.commit().await?;
            let shown: Vec<db::Segment> = segments.into_iter().map(|s| viewer.show(s)).collect();
            Ok(Json(json!({ "segments": shown })))
        }
        edit::EditOutcome::Stale(current) => Err(stale(viewer, current, false)),
        edit::EditOutcome::Invalid(why) => Err(AppError::bad("invalid_edit", "segment", why)),
        edit::EditOutcome::Refused(e) => Err(e),
    }
}

#[utoipa::path(post, path = "/api/segments/{segment}/split", tag = "segments", params(("segment" = i64, Path, description = "segment id")), responses((status = 200, description = "Success", body = serde_json::Value, content_type = "application/json"), (status = "4XX", description = "Refused, with the reason", body = crate::error::ErrorBody)))]
async fn split(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(segment): Path<i64>,
    Json(req): Json<SplitRequest>,
) -> AppResult<Json<serde_json::Value>> {
    let a = access(&state, user, segment).await?;
    a.may_ever(Action::Edit)?;
    let mut tx = begin_write(&state.db).await?;
    let outcome = edit::split(
        &mut tx,
        segment,
        user.id,
        a.role(),
        req.version,
        &req.save_id,
        req.at_sample,
        req.text_offset,
    )
    .await?;
    finish_edit(tx, &a.viewer, outcome).await
}

#[derive(Deserialize, utoipa::ToSchema)]
struct MergeRequest {
    version: i64,
    save_id: String,
}

#[utoipa::path(post, path = "/api/segments/{segment}/merge", tag = "segments", params(("segment" = i64, Path, description = "segment id")), responses((status = 200, description = "Success", body = serde_json::Value, content_type = "application/json"), (status = "4XX", description = "Refused, with the reason", body = crate::error::ErrorBody)))]
async fn merge(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(segment): Path<i64>,
    Json(req): Json<MergeRequest>,
) -> AppResult<Json<serde_json::Value>> {
    let a = access(&state, user, segment).await?;
    a.may_ever(Action::Edit)?;
    let mut tx = begin_write(&state.db).await?;
    let outcome = edit::merge_next(&mut tx, segment, &a.viewer, req.version, &req.save_id).await?;
    finish_edit(tx, &a.viewer, outcome).await
}
