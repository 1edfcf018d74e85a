//! Tasks: "claim next" hands a transcriber the next open segment of a project, ordered by
//! recording and then time, under a lease (default 15 minutes). Claims run in one
//! `BEGIN IMMEDIATE` transaction, so two transcribers never receive the same segment. A save
//! renews the lease; a submit releases it; an expired lease frees the segment for others.
//! A rejected segment goes back to the transcriber who submitted it. A project's chosen share
//! of submitted segments comes back once more, blind, to a second transcriber
//! ([`second_pass`]), for agreement; only transcribers get second passes (admins see every
//! first pass, so they could not be blind). Submitting is a workflow step checked by
//! [`crate::segments::state`].

pub mod second_pass;

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
use crate::segments::{self, Action, SegmentStatus, state};

/// How long a claim holds a segment.
pub const LEASE_MS: i64 = 15 * 60 * 1000;

/// Routes of this stage.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(claim))
        .routes(routes!(submit))
        .routes(routes!(second_pass::save))
        .routes(routes!(second_pass::agreement))
}

#[utoipa::path(post, path = "/api/projects/{project}/claim", tag = "tasks", params(("project" = i64, Path, description = "project id")), responses((status = 200, description = "Success", body = serde_json::Value, content_type = "application/json"), (status = "4XX", description = "Refused, with the reason", body = crate::error::ErrorBody)))]
async fn claim(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(project): Path<i64>,
) -> AppResult<Json<serde_json::Value>> {
    let role = projects::require(&state, project, user, &[Role::Transcriber, Role::Admin]).await?;
    let now = now_ms();
    let mut tx = begin_write(&state.db).await?;
    // Own open work first (a reload resumes it), then rejected work returned to me, then a
    // second pass for agreement, then the first free segment in recording and time order.
    let next = sqlx::query(
        "SELECT s.id, CASE WHEN s.assignee_id = $1 AND s.lease_until >= $2 THEN 0 \
                           WHEN s.status = 'rejected' THEN 1 ELSE 2 END AS rank \
         FROM segment s JOIN recording r ON r.id = s.recording_id \
         WHERE r.project_id = $3 AND r.status = 'ready' AND s.deleted = 0 AND ( \
           (s.status IN ('new', 'in_progress') AND (s.assignee_id IS NULL OR s.assignee_id = $4 \
              OR s.lease_until IS NULL OR s.lease_until < $5)) \
           OR (s.status = 'rejected' AND s.assignee_id = $6)) \
         ORDER BY rank, r.id, s.start_sample, s.id \
         LIMIT 1",
    )
    .bind(user.id)
    .bind(now)
    .bind(project)
    .bind(user.id)
    .bind(now)
    .bind(user.id)
    .fetch_optional(&mut *tx)
    .await?;
    let first = match next {
        Some(row) => Some((row.try_get::<i64, _>("id")?, row.try_get::<i64, _>("rank")?)),
        None => None,
    };
    let second = if role == Role::Transcriber && first.is_none_or(|(_, rank)| rank >= 2) {
        second_pass::claim(&mut tx, project, user.id, now).await?
    } else {
        None
    };
    if let Some(id) = second {
        tx.commit().await?;
        return Ok(Json(json!({
            "segment": second_pass::blind_view(&state, id).await?,
            "pass": 2,
            "lease_until": now + LEASE_MS,
        })));
    }
    let Some((id, _)) = first else {
        tx.commit().await?;
        return Ok(Json(json!({ "segment": null })));
    };
    sqlx::query("UPDATE segment SET assignee_id = $1, lease_until = $2 WHERE id = $3")
        .bind(user.id)
        .bind(now + LEASE_MS)
        .bind(id)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(Json(json!({
        "segment": segdb::get(&state.db, id).await?,
        "pass": 1,
        "lease_until": now + LEASE_MS,
    })))
}

#[derive(Deserialize, utoipa::ToSchema)]
struct Submit {
    version: i64,
}

#[utoipa::path(post, path = "/api/segments/{segment}/submit", tag = "tasks", params(("segment" = i64, Path, description = "segment id")), responses((status = 200, description = "Success", body = serde_json::Value, content_type = "application/json"), (status = "4XX", description = "Refused, with the reason", body = crate::error::ErrorBody)))]
async fn submit(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(segment): Path<i64>,
    Json(req): Json<Submit>,
) -> AppResult<Json<segdb::Segment>> {
    let a = segments::access(&state, user, segment).await?;
    a.may(Action::Submit)?;
    let mut tx = begin_write(&state.db).await?;
    // The state is checked again here: only an editable segment moves, at the caller's version.
    let updated = sqlx::query(
        "UPDATE segment SET status = $1, lease_until = NULL, assignee_id = $2, version = version + 1 \
         WHERE id = $3 AND version = $4 AND deleted = 0 AND status IN ($5, $6, $7)",
    )
    .bind(SegmentStatus::Submitted.as_str())
    .bind(user.id)
    .bind(segment)
    .bind(req.version)
    .bind(SegmentStatus::New.as_str())
    .bind(SegmentStatus::InProgress.as_str())
    .bind(SegmentStatus::Rejected.as_str())
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    let current = segdb::get(&state.db, segment).await?;
    if updated.rows_affected() == 0 {
        state::check(a.role(), current.status, Action::Submit)?;
        return Err(AppError::Conflict(
            serde_json::to_value(a.viewer.show(current)).map_err(anyhow::Error::from)?,
        ));
    }
    Ok(Json(a.viewer.show(current)))
}
