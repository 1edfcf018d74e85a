//! Review: reviewers list submitted segments and approve or reject the latest revision with a
//! comment. Nobody can approve a revision they wrote; the server checks it. A rejected segment
//! returns to its transcriber's queue, first in their next claim. A decision's comment is also
//! written into the segment's comment thread ([`crate::comments`]), and the latest decision is
//! shown with the segment ([`db::latest`]). A reviewer or admin reopens an approved segment:
//! it goes back to its transcriber as `rejected` (first in their claim, nobody else's), with a
//! revision. The workflow rules are [`crate::segments::state`]'s.

pub mod db;

use crate::extract::{Json, Path};
use axum::extract::State;
use serde::Deserialize;
use serde_json::json;
use sqlx::Row;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::accounts::CurrentUser;
use crate::app::AppState;
use crate::db::{begin_write, now_ms};
use crate::error::{AppError, AppResult};
use crate::projects::{self, Role};
use crate::segments::db as segdb;
use crate::segments::write as segwrite;
use crate::segments::{self, Action, state};

/// Routes of this stage.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(queue))
        .routes(routes!(review))
        .routes(routes!(reopen))
}

#[utoipa::path(get, path = "/api/projects/{project}/review", tag = "review", params(("project" = i64, Path, description = "project id")), responses((status = 200, description = "Success", body = serde_json::Value, content_type = "application/json"), (status = "4XX", description = "Refused, with the reason", body = crate::error::ErrorBody)))]
async fn queue(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(project): Path<i64>,
) -> AppResult<Json<serde_json::Value>> {
    projects::require(&state, project, user, &[Role::Reviewer, Role::Admin]).await?;
    let ids: Vec<i64> = sqlx::query(
        "SELECT s.id FROM segment s JOIN recording r ON r.id = s.recording_id \
         WHERE r.project_id = $1 AND s.status = 'submitted' AND s.deleted = 0 ORDER BY r.id, s.start_sample",
    )
    .bind(project)
    .fetch_all(&state.db)
    .await?
    .iter()
    .map(|r| r.try_get("id"))
    .collect::<Result<_, _>>()?;
    let mut segments = Vec::with_capacity(ids.len());
    for id in ids {
        segments.push(segdb::get(&state.db, id).await?);
    }
    Ok(Json(json!({ "segments": segments })))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
enum Verdict {
    Approved,
    Rejected,
}

#[derive(Deserialize, utoipa::ToSchema)]
struct ReviewRequest {
    verdict: Verdict,
    /// Empty, or a comment as in the segment's thread (1 to 4000 characters, not all blank,
    /// no control characters but tab and line breaks), which it is also written into.
    #[serde(default)]
    #[schema(
        max_length = 4000,
        pattern = "^$|^[^\\x00-\\x08\\x0b\\x0c\\x0e-\\x1f\\x7f-\\x9f]*[^\\s\\x00-\\x1f\\x7f-\\x9f][^\\x00-\\x08\\x0b\\x0c\\x0e-\\x1f\\x7f-\\x9f]*$"
    )]
    comment: String,
}

#[utoipa::path(post, path = "/api/segments/{segment}/review", tag = "review", params(("segment" = i64, Path, description = "segment id")), responses((status = 200, description = "Success", body = serde_json::Value, content_type = "application/json"), (status = "4XX", description = "Refused, with the reason", body = crate::error::ErrorBody)))]
async fn review(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(segment): Path<i64>,
    Json(req): Json<ReviewRequest>,
) -> AppResult<Json<serde_json::Value>> {
    let a = segments::access(&state, user, segment).await?;
    let action = match req.verdict {
        Verdict::Approved => Action::Approve,
        Verdict::Rejected => Action::Reject,
    };
    if !req.comment.is_empty() {
        crate::comments::check_body("comment", &req.comment)?;
    }
    let verdict = a.may(action)?;
    // One transaction: the decision (checked again: the segment is still submitted), its
    // revision, and the review of the revision judged, read after the segment row was moved.
    let mut tx = begin_write(&state.db).await?;
    let Some(decided) = segwrite::decide(&mut tx, segment, verdict, user.id).await? else {
        drop(tx);
        let now = segdb::get(&state.db, segment).await?;
        state::check(a.role(), now.status, action)?;
        return Err(AppError::InUse(
            "not_submitted",
            "the segment changed meanwhile; reload it".into(),
        ));
    };
    let (revision, author) = decided.judged;
    if matches!(req.verdict, Verdict::Approved) && author == Some(user.id) {
        return Err(AppError::Forbidden(
            "nobody can approve a revision they wrote".into(),
        ));
    }
    sqlx::query(
        "INSERT INTO review (revision_id, reviewer_id, verdict, comment, created_at) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(revision)
    .bind(user.id)
    .bind(verdict.as_str())
    .bind(&req.comment)
    .bind(now_ms())
    .execute(&mut *tx)
    .await?;
    // The decision's comment opens (or continues) the segment's thread, so the transcriber's
    // reply follows it there.
    if !req.comment.is_empty() {
        crate::comments::db::insert(&mut tx, segment, user.id, &req.comment).await?;
    }
    tx.commit().await?;
    Ok(Json(
        json!({ "segment": decided.segment, "verdict": verdict, "revision": revision }),
    ))
}

/// `POST /api/segments/{id}/reopen`: an approved segment goes back to its transcriber
/// (`rejected`, assignee kept: their next claim returns it first), for reviewers and project
/// admins. The reopen is a revision, in the same transaction.
#[utoipa::path(post, path = "/api/segments/{segment}/reopen", tag = "review", params(("segment" = i64, Path, description = "segment id")), responses((status = 200, description = "The reopened segment", body = serde_json::Value, content_type = "application/json"), (status = 409, description = "`not_approved`: only approved segments are reopened", body = crate::error::ErrorBody), (status = "4XX", description = "Refused, with the reason", body = crate::error::ErrorBody)))]
async fn reopen(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(segment): Path<i64>,
) -> AppResult<Json<segdb::Segment>> {
    let a = segments::access(&state, user, segment).await?;
    a.may(Action::Reopen)?;
    let mut tx = begin_write(&state.db).await?;
    let reopened = segwrite::reopen(&mut tx, segment, user.id).await?;
    tx.commit().await?;
    match reopened {
        Some(s) => Ok(Json(a.viewer.show(s))),
        None => {
            let now = segdb::get(&state.db, segment).await?;
            state::check(a.role(), now.status, Action::Reopen)?;
            Err(AppError::InUse(
                "not_approved",
                "the segment changed meanwhile; reload it".into(),
            ))
        }
    }
}
