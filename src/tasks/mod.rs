//! Tasks: "claim next" hands a transcriber the next open segment of a project, ordered by
//! recording and then time, under a lease (default 15 minutes). Claims run in one
//! `BEGIN IMMEDIATE` transaction, so two transcribers never receive the same segment. A save
//! renews the lease; a submit releases it; an expired lease frees the segment for others.
//! A rejected segment goes back to the transcriber who submitted it. A project's chosen share
//! of submitted segments comes back once more, blind, to a second transcriber
//! ([`second_pass`]), for agreement.

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
    projects::require(&state, project, user, &[Role::Transcriber, Role::Admin]).await?;
    let now = now_ms();
    let mut tx = begin_write(&state.db).await?;
    // Own open work first (a reload resumes it), then rejected work returned to me, then a
    // second pass for agreement, then the first free segment in recording and time order.
    let next = sqlx::query(
        "SELECT s.id, CASE WHEN s.assignee_id = ? AND s.lease_until >= ? THEN 0 \
                           WHEN s.status = 'rejected' THEN 1 ELSE 2 END AS rank \
         FROM segment s JOIN recording r ON r.id = s.recording_id \
         WHERE r.project_id = ? AND r.status = 'ready' AND s.deleted = 0 AND ( \
           (s.status IN ('new', 'in_progress') AND (s.assignee_id IS NULL OR s.assignee_id = ? \
              OR s.lease_until IS NULL OR s.lease_until < ?)) \
           OR (s.status = 'rejected' AND s.assignee_id = ?)) \
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
    let second = if first.is_none_or(|(_, rank)| rank >= 2) {
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
    sqlx::query("UPDATE segment SET assignee_id = ?, lease_until = ? WHERE id = ?")
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

/// A segment, if the caller transcribes (or administers) its project.
async fn transcriber_of(
    state: &AppState,
    user: CurrentUser,
    segment: i64,
) -> AppResult<segdb::Segment> {
    let seg = segdb::get(&state.db, segment).await?;
    let rec = crate::recordings::db::get(&state.db, seg.recording_id).await?;
    projects::require(
        state,
        rec.project_id,
        user,
        &[Role::Transcriber, Role::Admin],
    )
    .await?;
    Ok(seg)
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
    transcriber_of(&state, user, segment).await?;
    let mut tx = begin_write(&state.db).await?;
    let updated = sqlx::query(
        "UPDATE segment SET status = 'submitted', lease_until = NULL, assignee_id = ?, version = version + 1 \
         WHERE id = ? AND version = ? AND deleted = 0 AND status IN ('new', 'in_progress', 'rejected')",
    )
    .bind(user.id)
    .bind(segment)
    .bind(req.version)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    let current = segdb::get(&state.db, segment).await?;
    if updated.rows_affected() == 0 {
        return Err(AppError::Conflict(
            serde_json::to_value(&current).map_err(anyhow::Error::from)?,
        ));
    }
    Ok(Json(current))
}
