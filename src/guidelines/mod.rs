//! Transcription guidelines (issue 17, point 4): each project's Markdown text, written by its
//! admins, shown beside the editor, with a version that members acknowledge.
//!
//! Decisions worth knowing:
//! - **Versions, never rewrites.** A change publishes version n + 1 and names the version it
//!   was based on; a change based on an older version is refused (409 `guideline_conflict`),
//!   so two admins never overwrite each other.
//! - **Markdown as text.** The body is stored as written and the browser draws only headings,
//!   paragraphs and lists from it, through text nodes: HTML in it shows as typed.
//! - **Acknowledging** names the version read; acknowledging an outdated one is refused
//!   (409 `guideline_outdated`), so "read" always means the text now in force.
//! - Bodies: at most 20 000 characters, no control characters but tab and line breaks.

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
use crate::projects::Role;

/// Longest guidelines, in characters.
pub const MAX_CHARS: usize = 20_000;

/// Routes of this stage.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(show, publish))
        .routes(routes!(acknowledge))
}

/// The guidelines as a member sees them.
#[derive(Serialize, utoipa::ToSchema)]
struct Guidelines {
    /// The version in force.
    #[serde(flatten)]
    current: db::Version,
    /// The version the caller last acknowledged (0: none).
    acknowledged: i64,
    /// Whether the caller should read them (a version exists that they have not acknowledged).
    needs_ack: bool,
    /// Whether the caller may change them (the project's admins).
    can_edit: bool,
}

async fn view(
    state: &AppState,
    project: i64,
    user: CurrentUser,
    role: Role,
) -> AppResult<Guidelines> {
    let current = db::current(&state.db, project).await?;
    let acknowledged = db::acknowledged(&state.db, project, user.id).await?;
    Ok(Guidelines {
        needs_ack: current.version > acknowledged,
        acknowledged,
        can_edit: role == Role::Admin,
        current,
    })
}

#[utoipa::path(get, path = "/api/projects/{project}/guidelines", tag = "projects", params(("project" = i64, Path, description = "project id")), responses((status = 200, description = "The guidelines in force (version 0 and an empty body when there are none) and the caller's acknowledgement", body = Guidelines), (status = "4XX", description = "Refused, with the reason (404 for non-members)", body = crate::error::ErrorBody)))]
async fn show(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(project): Path<i64>,
) -> AppResult<Json<Guidelines>> {
    let role = crate::projects::role_in(&state, project, user).await?;
    Ok(Json(view(&state, project, user, role).await?))
}

/// A new version of the guidelines.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct Publish {
    /// The version this text was edited from (0 for the first).
    #[schema(minimum = 0)]
    base_version: i64,
    /// Markdown source: no control characters but tab and line breaks.
    #[schema(
        max_length = 20000,
        pattern = "^[^\\u0000-\\u0008\\u000B\\u000C\\u000E-\\u001F\\u007F-\\u009F]*$"
    )]
    body: String,
}

/// Checks a body (`field` names it in the refusal).
fn check_body(body: &str) -> AppResult<()> {
    if body.chars().count() > MAX_CHARS {
        return Err(AppError::bad(
            "guideline_too_long",
            "body",
            format!("guidelines have at most {MAX_CHARS} characters"),
        ));
    }
    if let Some(c) = body
        .chars()
        .find(|c| c.is_control() && !matches!(c, '\t' | '\n' | '\r'))
    {
        return Err(AppError::bad(
            "control_character",
            "body",
            format!(
                "the text holds the control character U+{:04X}; remove it",
                u32::from(c)
            ),
        ));
    }
    Ok(())
}

#[utoipa::path(put, path = "/api/projects/{project}/guidelines", tag = "projects", params(("project" = i64, Path, description = "project id")), request_body = Publish, responses((status = 200, description = "The new version, in force", body = Guidelines), (status = 409, description = "`guideline_conflict`: another version was published since `base_version`", body = crate::error::ErrorBody), (status = "4XX", description = "Refused, with the reason (400 `guideline_too_long`, `control_character`; 403 for members who are not the project's admin; 404 for non-members)", body = crate::error::ErrorBody)))]
async fn publish(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(project): Path<i64>,
    Json(req): Json<Publish>,
) -> AppResult<Json<Guidelines>> {
    let role = crate::projects::require(&state, project, user, &[Role::Admin]).await?;
    check_body(&req.body)?;
    let mut tx = begin_write(&state.db).await?;
    if !db::publish(&mut tx, project, req.base_version, &req.body, user.id).await? {
        return Err(AppError::InUse(
            "guideline_conflict",
            "the guidelines were changed since you opened them; reload and edit again".into(),
        ));
    }
    // The author has read what they wrote.
    db::acknowledge(&mut tx, project, user.id, req.base_version + 1).await?;
    tx.commit().await?;
    Ok(Json(view(&state, project, user, role).await?))
}

/// Which version was read.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct Acknowledge {
    /// The version in force, as shown to the caller.
    #[schema(minimum = 1)]
    version: i64,
}

#[utoipa::path(post, path = "/api/projects/{project}/guidelines/ack", tag = "projects", params(("project" = i64, Path, description = "project id")), request_body = Acknowledge, responses((status = 200, description = "Acknowledged", body = Guidelines), (status = 409, description = "`guideline_outdated`: a newer version is in force; read it first", body = crate::error::ErrorBody), (status = "4XX", description = "Refused, with the reason (404 for non-members)", body = crate::error::ErrorBody)))]
async fn acknowledge(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(project): Path<i64>,
    Json(req): Json<Acknowledge>,
) -> AppResult<Json<Guidelines>> {
    let role = crate::projects::role_in(&state, project, user).await?;
    let current = db::current(&state.db, project).await?;
    if req.version != current.version || current.version == 0 {
        return Err(AppError::InUse(
            "guideline_outdated",
            "these are not the guidelines in force; reload and read them".into(),
        ));
    }
    let mut tx = begin_write(&state.db).await?;
    db::acknowledge(&mut tx, project, user.id, req.version).await?;
    tx.commit().await?;
    Ok(Json(view(&state, project, user, role).await?))
}
