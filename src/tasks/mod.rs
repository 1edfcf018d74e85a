//! Tasks: "claim next" hands a transcriber the next open segment of a project, ordered by
//! recording and then time, under a lease (default 15 minutes). Each rank is an indexed lookup
//! followed by a conditional lease ([`claim`]), so two transcribers never receive the same
//! segment, with or without SQLite's single writer. A save
//! renews the lease; a submit releases it; an expired lease frees the segment for others.
//! A rejected segment goes back to the transcriber who submitted it. A project's chosen share
//! of submitted segments comes back once more, blind, to a second transcriber
//! ([`second_pass`]), for agreement; only transcribers get second passes (admins see every
//! first pass, so they could not be blind). Submitting is a workflow step checked by
//! [`crate::segments::state`].

pub mod claim;
pub mod second_pass;

use crate::extract::{Json, Path};
use axum::extract::State;
use serde::Deserialize;
use serde_json::json;
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
    let claimed = claim::next(&mut tx, project, user.id, role == Role::Transcriber, now).await?;
    tx.commit().await?;
    if claimed == claim::Claimed::Contended {
        return Err(AppError::Unavailable(
            "claim_contended",
            "many transcribers claimed at the same moment; claim again",
        ));
    }
    Ok(Json(match claimed {
        claim::Claimed::Second(id) => json!({
            "segment": second_pass::blind_view(&state, id).await?,
            "pass": 2,
            "lease_until": now + LEASE_MS,
        }),
        claim::Claimed::First(id) => json!({
            "segment": with_last_review(&state, segdb::get(&state.db, id).await?).await?,
            "pass": 1,
            "lease_until": now + LEASE_MS,
        }),
        claim::Claimed::Nothing | claim::Claimed::Contended => json!({ "segment": null }),
    }))
}

/// A claimed segment with its latest review decision (why rejected work came back).
async fn with_last_review(state: &AppState, mut s: segdb::Segment) -> AppResult<segdb::Segment> {
    s.last_review = crate::review::db::latest(&state.db, s.id).await?;
    Ok(s)
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
    // The state is checked again here: only an editable segment moves, at the caller's
    // version, with its revision (the dashboard counts submissions from them).
    let mut tx = begin_write(&state.db).await?;
    let submitted = segwrite::submit(&mut tx, segment, user.id, req.version).await?;
    tx.commit().await?;
    match submitted {
        Some(s) => Ok(Json(a.viewer.show(s))),
        None => {
            let current = segdb::get(&state.db, segment).await?;
            state::check(a.role(), current.status, Action::Submit)?;
            Err(AppError::Conflict(
                serde_json::to_value(a.viewer.show(current)).map_err(anyhow::Error::from)?,
            ))
        }
    }
}
