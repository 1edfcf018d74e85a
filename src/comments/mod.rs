//! Comment threads on segments (issue 17): reviewer and transcriber talk about one segment, in
//! any state (approved ones included), with unread counts per user. A review decision that
//! carries a comment writes it into the thread too, in the decision's transaction
//! ([`crate::review`]), so a rejection's reason is the thread's first comment and the
//! transcriber's reply follows it.
//!
//! Decisions worth knowing:
//! - **Members of the segment's project only** (404 for anyone else, through
//!   [`crate::segments::access`]); a transcriber blind to a double-annotated segment's first
//!   pass cannot read or write its thread (403), since comments quote the text.
//! - **Reading the thread marks it read** for the caller, up to its last comment; unread
//!   counts cover the threads one takes part in (segments assigned to them, threads they wrote
//!   in), never one's own comments.
//! - **Bodies are checked once**: 1 to 4000 characters, not all blank, no control characters
//!   but tab and line breaks (400 `invalid_comment`, `comment_too_long`, `control_character`).

pub mod db;

use axum::extract::State;
use serde::{Deserialize, Serialize};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::accounts::CurrentUser;
use crate::app::AppState;
use crate::db::begin_write;
use crate::error::{AppError, AppResult};
use crate::extract::{Json, Path};

/// Longest comment, in characters.
pub const MAX_CHARS: usize = 4000;

/// Routes of this stage.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, post))
        .routes(routes!(unread))
}

/// Checks a comment body (`field` names it in the refusal).
pub fn check_body(field: &'static str, body: &str) -> AppResult<()> {
    if body.trim().is_empty() {
        return Err(AppError::bad(
            "invalid_comment",
            field,
            "a comment needs some text",
        ));
    }
    if body.chars().count() > MAX_CHARS {
        return Err(AppError::bad(
            "comment_too_long",
            field,
            format!("a comment has at most {MAX_CHARS} characters"),
        ));
    }
    if let Some(c) = body
        .chars()
        .find(|c| c.is_control() && !matches!(c, '\t' | '\n' | '\r'))
    {
        return Err(AppError::bad(
            "control_character",
            field,
            format!(
                "the comment holds the control character U+{:04X}; remove it",
                u32::from(c)
            ),
        ));
    }
    Ok(())
}

/// The segment for a thread: 404 for non-members, 403 for a viewer blind to its first pass.
async fn thread_access(
    state: &AppState,
    user: CurrentUser,
    segment: i64,
) -> AppResult<crate::segments::SegmentAccess> {
    let a = crate::segments::access(state, user, segment).await?;
    if a.blind() {
        return Err(AppError::Forbidden(
            "this segment is double-annotated and its first pass is hidden from you".into(),
        ));
    }
    Ok(a)
}

/// A thread.
#[derive(Serialize, utoipa::ToSchema)]
struct Thread {
    /// Oldest first.
    comments: Vec<db::Comment>,
}

#[utoipa::path(get, path = "/api/segments/{segment}/comments", tag = "review", params(("segment" = i64, Path, description = "segment id")), responses((status = 200, description = "The thread, oldest first (review comments included); reading it marks it read for the caller", body = Thread), (status = "4XX", description = "Refused, with the reason (403 for a blind second annotator, 404 for non-members)", body = crate::error::ErrorBody)))]
async fn list(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(segment): Path<i64>,
) -> AppResult<Json<Thread>> {
    thread_access(&state, user, segment).await?;
    let comments = db::thread(&state.db, segment).await?;
    // A read-only token reads without marking: it may not write.
    if let (Some(last), false) = (comments.last(), user.read_only) {
        let mut tx = begin_write(&state.db).await?;
        db::mark_read(&mut tx, user.id, segment, last.id).await?;
        tx.commit().await?;
    }
    Ok(Json(Thread { comments }))
}

/// A comment to add.
#[derive(Deserialize, utoipa::ToSchema)]
struct NewComment {
    /// 1 to 4000 characters, not all blank; no control characters but tab and line breaks.
    #[schema(
        min_length = 1,
        max_length = 4000,
        pattern = "^[^\\x00-\\x08\\x0b\\x0c\\x0e-\\x1f\\x7f-\\x9f]*[^\\s\\x00-\\x1f\\x7f-\\x9f][^\\x00-\\x08\\x0b\\x0c\\x0e-\\x1f\\x7f-\\x9f]*$"
    )]
    body: String,
}

#[utoipa::path(post, path = "/api/segments/{segment}/comments", tag = "review", params(("segment" = i64, Path, description = "segment id")), request_body = NewComment, responses((status = 200, description = "The new comment", body = db::Comment), (status = "4XX", description = "Refused, with the reason (400 `invalid_comment`, `comment_too_long`, `control_character`; 403 for a blind second annotator; 404 for non-members)", body = crate::error::ErrorBody)))]
async fn post(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(segment): Path<i64>,
    Json(req): Json<NewComment>,
) -> AppResult<Json<db::Comment>> {
    thread_access(&state, user, segment).await?;
    check_body("body", &req.body)?;
    let mut tx = begin_write(&state.db).await?;
    let id = db::insert(&mut tx, segment, user.id, &req.body).await?;
    // One's own comment is read.
    db::mark_read(&mut tx, user.id, segment, id).await?;
    tx.commit().await?;
    let comment = db::thread(&state.db, segment)
        .await?
        .into_iter()
        .find(|c| c.id == id)
        .ok_or(AppError::NotFound)?;
    Ok(Json(comment))
}

/// Unread comments in a project.
#[derive(Serialize, utoipa::ToSchema)]
struct UnreadCounts {
    /// Per thread with unread comments, in segment order.
    segments: Vec<db::Unread>,
    /// Their sum.
    total: i64,
}

#[utoipa::path(get, path = "/api/projects/{project}/comments/unread", tag = "review", params(("project" = i64, Path, description = "project id")), responses((status = 200, description = "The caller's unread comments per thread and in total", body = UnreadCounts), (status = "4XX", description = "Refused, with the reason (404 for non-members)", body = crate::error::ErrorBody)))]
async fn unread(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(project): Path<i64>,
) -> AppResult<Json<UnreadCounts>> {
    crate::projects::role_in(&state, project, user).await?;
    let segments = db::unread(&state.db, project, user.id).await?;
    let total = segments.iter().map(|s| s.unread).sum();
    Ok(Json(UnreadCounts { segments, total }))
}
