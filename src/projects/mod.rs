//! Projects and memberships: who belongs to which corpus in which role. Every other stage asks
//! [`role_in`] before touching project data; a non-member is told the data does not exist (404),
//! so project names and ids do not leak.

pub mod db;

use axum::extract::{Path, State};
use axum::routing::get;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::accounts::CurrentUser;
use crate::app::AppState;
use crate::error::{AppError, AppResult};

/// A member's role in a project.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Manages the project: members, imports, settings.
    Admin,
    /// Transcribes segments.
    Transcriber,
    /// Reviews submitted segments.
    Reviewer,
}

impl Role {
    /// The value stored in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Transcriber => "transcriber",
            Role::Reviewer => "reviewer",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        match s {
            "admin" => Some(Role::Admin),
            "transcriber" => Some(Role::Transcriber),
            "reviewer" => Some(Role::Reviewer),
            _ => None,
        }
    }
}

/// The caller's role in `project`, or 404 for non-members.
pub async fn role_in(state: &AppState, project: i64, user: CurrentUser) -> AppResult<Role> {
    let role = db::role(&state.db, project, user.id)
        .await?
        .ok_or(AppError::NotFound)?;
    Role::parse(&role).ok_or(AppError::NotFound)
}

/// Requires one of `allowed`; members without it get 403.
pub async fn require(
    state: &AppState,
    project: i64,
    user: CurrentUser,
    allowed: &[Role],
) -> AppResult<Role> {
    let role = role_in(state, project, user).await?;
    if allowed.contains(&role) {
        Ok(role)
    } else {
        Err(AppError::Forbidden(format!(
            "a {} cannot do this",
            role.as_str()
        )))
    }
}

/// Routes: list and create projects, list and add members.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/projects", get(list).post(create))
        .route(
            "/api/projects/{project}/members",
            get(members).post(add_member),
        )
        .route(
            "/api/projects/{project}/speakers",
            get(speakers).post(add_speaker),
        )
}

async fn list(
    State(state): State<AppState>,
    user: CurrentUser,
) -> AppResult<Json<serde_json::Value>> {
    let projects = db::for_user(&state.db, user.id).await?;
    Ok(Json(json!({ "projects": projects })))
}

#[derive(Deserialize)]
struct CreateProject {
    name: String,
}

async fn create(
    State(state): State<AppState>,
    user: CurrentUser,
    Json(req): Json<CreateProject>,
) -> AppResult<Json<serde_json::Value>> {
    let name = req.name.trim();
    if name.is_empty() || name.chars().count() > 200 {
        return Err(AppError::bad(
            "invalid_name",
            "name",
            "a project name has 1 to 200 characters",
        ));
    }
    let id = db::create(&state.db, name).await.map_err(|e| match e {
        sqlx::Error::Database(d) if d.is_unique_violation() => {
            AppError::bad("name_taken", "name", "a project with this name exists")
        }
        other => other.into(),
    })?;
    db::add_member(&state.db, id, user.id, Role::Admin).await?;
    Ok(Json(json!({ "id": id, "name": name })))
}

async fn members(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(project): Path<i64>,
) -> AppResult<Json<serde_json::Value>> {
    role_in(&state, project, user).await?;
    Ok(Json(
        json!({ "members": db::members(&state.db, project).await? }),
    ))
}

#[derive(Deserialize)]
struct AddMember {
    user: String,
    role: Role,
}

async fn add_member(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(project): Path<i64>,
    Json(req): Json<AddMember>,
) -> AppResult<Json<serde_json::Value>> {
    require(&state, project, user, &[Role::Admin]).await?;
    let (member, _) = crate::accounts::db::user_by_name(&state.db, &req.user)
        .await?
        .ok_or_else(|| AppError::bad("no_such_user", "user", "no user has this name"))?;
    db::add_member(&state.db, project, member, req.role).await?;
    Ok(Json(json!({ "user": req.user, "role": req.role })))
}

async fn speakers(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(project): Path<i64>,
) -> AppResult<Json<serde_json::Value>> {
    role_in(&state, project, user).await?;
    Ok(Json(
        json!({ "speakers": db::speakers(&state.db, project).await? }),
    ))
}

#[derive(Deserialize)]
struct AddSpeaker {
    code: String,
}

/// Adds a speaker by code (editors may: a transcriber meets new voices while listening).
async fn add_speaker(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(project): Path<i64>,
    Json(req): Json<AddSpeaker>,
) -> AppResult<Json<serde_json::Value>> {
    require(&state, project, user, &[Role::Admin, Role::Transcriber]).await?;
    let code = req.code.trim();
    if code.is_empty() || code.chars().count() > 100 {
        return Err(AppError::bad(
            "invalid_code",
            "code",
            "a speaker code has 1 to 100 characters",
        ));
    }
    let id = db::add_speaker(&state.db, project, code)
        .await
        .map_err(|e| match e {
            sqlx::Error::Database(d) if d.is_unique_violation() => AppError::bad(
                "code_taken",
                "code",
                "this project has a speaker with this code",
            ),
            other => other.into(),
        })?;
    Ok(Json(json!({ "id": id, "code": code })))
}
