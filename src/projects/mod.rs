//! Projects and memberships: who belongs to which corpus in which role. Every other stage asks
//! [`role_in`] before touching project data; a non-member is told the data does not exist (404),
//! so project names and ids do not leak.
//!
//! Beside the project roles there is one instance role, the instance admin, made only by the
//! command line (`fangyan user add --admin`, `fangyan user grant-admin`). Who may create a
//! project is the instance setting [`Creators`] (instance admins only by default); whoever
//! creates a project becomes its admin. The README's "Trust model" section is the whole table.

pub mod db;
pub mod speakers;

use crate::extract::{Json, Path};
use axum::extract::State;
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::accounts::CurrentUser;
use crate::app::AppState;
use crate::error::{AppError, AppResult};

/// A member's role in a project.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
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

    /// Parses a stored value.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "admin" => Some(Role::Admin),
            "transcriber" => Some(Role::Transcriber),
            "reviewer" => Some(Role::Reviewer),
            _ => None,
        }
    }
}

/// Who may create projects on this instance (`--project-creators`, `FANGYAN_PROJECT_CREATORS`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum Creators {
    /// Instance admins only (the default): a crowd account cannot make itself a project admin.
    #[default]
    Admins,
    /// Every logged-in user.
    Everyone,
}

/// Whether `user` may create a project under the instance's [`Creators`] setting.
pub async fn may_create(state: &AppState, user: CurrentUser) -> AppResult<bool> {
    Ok(match state.config.project_creators {
        Creators::Everyone => true,
        Creators::Admins => crate::accounts::db::is_instance_admin(&state.db, user.id).await?,
    })
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

/// Requires that `user` may manage `project`'s members and invites: its admin, or an instance
/// admin (who need not be a member). Others get 404 (non-members) or 403 (members).
pub async fn require_manager(state: &AppState, project: i64, user: CurrentUser) -> AppResult<()> {
    if crate::accounts::db::is_instance_admin(&state.db, user.id).await? {
        return match db::name(&state.db, project).await? {
            Some(_) => Ok(()),
            None => Err(AppError::NotFound),
        };
    }
    require(state, project, user, &[Role::Admin])
        .await
        .map(|_| ())
}

/// Routes: list and create projects, read and change settings, list and add members and
/// speakers.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(get_one, update_settings))
        .routes(routes!(members, add_member))
        .routes(routes!(speakers, add_speaker))
        .routes(routes!(speakers::patch))
        .routes(routes!(speakers::import_csv))
}

#[utoipa::path(get, path = "/api/projects", tag = "projects", responses((status = 200, description = "Success", body = serde_json::Value, content_type = "application/json"), (status = "4XX", description = "Refused, with the reason", body = crate::error::ErrorBody)))]
async fn list(
    State(state): State<AppState>,
    user: CurrentUser,
) -> AppResult<Json<serde_json::Value>> {
    let projects = db::for_user(&state.db, user.id).await?;
    Ok(Json(json!({ "projects": projects })))
}

#[derive(Deserialize, utoipa::ToSchema)]
struct CreateProject {
    name: String,
}

#[utoipa::path(post, path = "/api/projects", tag = "projects", responses((status = 200, description = "Success", body = serde_json::Value, content_type = "application/json"), (status = "4XX", description = "Refused, with the reason", body = crate::error::ErrorBody)))]
async fn create(
    State(state): State<AppState>,
    user: CurrentUser,
    Json(req): Json<CreateProject>,
) -> AppResult<Json<serde_json::Value>> {
    if !may_create(&state, user).await? {
        return Err(AppError::Forbidden(
            "only instance admins may create projects on this server".into(),
        ));
    }
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

#[utoipa::path(get, path = "/api/projects/{project}/members", tag = "projects", params(("project" = i64, Path, description = "project id")), responses((status = 200, description = "Success", body = serde_json::Value, content_type = "application/json"), (status = "4XX", description = "Refused, with the reason", body = crate::error::ErrorBody)))]
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

#[derive(Deserialize, utoipa::ToSchema)]
struct AddMember {
    user: String,
    role: Role,
}

#[utoipa::path(post, path = "/api/projects/{project}/members", tag = "projects", params(("project" = i64, Path, description = "project id")), responses((status = 200, description = "Success", body = serde_json::Value, content_type = "application/json"), (status = "4XX", description = "Refused, with the reason", body = crate::error::ErrorBody)))]
async fn add_member(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(project): Path<i64>,
    Json(req): Json<AddMember>,
) -> AppResult<Json<serde_json::Value>> {
    require_manager(&state, project, user).await?;
    let (member, _) = crate::accounts::db::user_by_name(&state.db, &req.user)
        .await?
        .ok_or_else(|| {
            // A name that refers to nothing, like a foreign id in a body: 404, with its field.
            AppError::Status(
                axum::http::StatusCode::NOT_FOUND,
                "no_such_user",
                "no user has this name".into(),
            )
        })?;
    db::add_member(&state.db, project, member, req.role).await?;
    Ok(Json(json!({ "user": req.user, "role": req.role })))
}

#[utoipa::path(get, path = "/api/projects/{project}", tag = "projects", params(("project" = i64, Path, description = "project id")), responses((status = 200, description = "Success", body = serde_json::Value, content_type = "application/json"), (status = "4XX", description = "Refused, with the reason", body = crate::error::ErrorBody)))]
async fn get_one(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(project): Path<i64>,
) -> AppResult<Json<serde_json::Value>> {
    let role = role_in(&state, project, user).await?;
    let mut settings = db::settings(&state.db, project).await?;
    settings["role"] = json!(role.as_str());
    Ok(Json(settings))
}

/// Project settings an admin may change; absent fields stay as they are.
#[derive(Deserialize, utoipa::ToSchema)]
struct Settings {
    /// Share of segments (0 to 1) transcribed a second time, blind, for agreement.
    #[schema(minimum = 0.0, maximum = 1.0)]
    second_pass_share: Option<f64>,
    /// Transcription conventions (markers, fillers, normalisation options) as JSON.
    #[schema(value_type = Option<Object>)]
    conventions: Option<serde_json::Value>,
    /// The OpenAI-compatible ASR server for live pre-annotation.
    asr: Option<db::AsrServer>,
}

#[utoipa::path(patch, path = "/api/projects/{project}", tag = "projects", params(("project" = i64, Path, description = "project id")), responses((status = 200, description = "Success", body = serde_json::Value, content_type = "application/json"), (status = "4XX", description = "Refused, with the reason", body = crate::error::ErrorBody)))]
async fn update_settings(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(project): Path<i64>,
    Json(req): Json<Settings>,
) -> AppResult<Json<serde_json::Value>> {
    require(&state, project, user, &[Role::Admin]).await?;
    if req
        .second_pass_share
        .is_some_and(|share| !(0.0..=1.0).contains(&share))
    {
        return Err(AppError::bad(
            "invalid_share",
            "second_pass_share",
            "the second-pass share is a number from 0 to 1",
        ));
    }
    if req.conventions.as_ref().is_some_and(|c| !c.is_object()) {
        return Err(AppError::bad(
            "invalid_conventions",
            "conventions",
            "conventions are a JSON object",
        ));
    }
    if let Some(asr) = &req.asr {
        if let Some(url) = asr.url.as_deref().filter(|u| !u.is_empty()) {
            if url.len() > 2000 || url.chars().any(char::is_whitespace) {
                return Err(AppError::bad(
                    "invalid_asr_url",
                    "asr.url",
                    "the ASR server URL has at most 2000 characters and no spaces",
                ));
            }
            // Refused now, when the admin sets it, rather than when a job runs.
            crate::hypotheses::outbound::check(url, &state.config.asr.allow)
                .await
                .map_err(|refusal| AppError::bad(refusal.code(), "asr.url", refusal.to_string()))?;
        }
        if asr
            .model
            .as_deref()
            .is_some_and(|m| m.chars().count() > 200)
        {
            return Err(AppError::bad(
                "invalid_asr_model",
                "asr.model",
                "a model name has at most 200 characters",
            ));
        }
        db::update_asr(&state.db, project, asr).await?;
    }
    db::update_settings(
        &state.db,
        project,
        req.second_pass_share,
        req.conventions.as_ref(),
    )
    .await?;
    Ok(Json(db::settings(&state.db, project).await?))
}

#[utoipa::path(get, path = "/api/projects/{project}/speakers", tag = "projects", params(("project" = i64, Path, description = "project id")), responses((status = 200, description = "Success", body = serde_json::Value, content_type = "application/json"), (status = "4XX", description = "Refused, with the reason", body = crate::error::ErrorBody)))]
async fn speakers(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(project): Path<i64>,
) -> AppResult<Json<serde_json::Value>> {
    role_in(&state, project, user).await?;
    Ok(Json(
        json!({ "speakers": speakers::list(&state.db, project).await? }),
    ))
}

#[derive(Deserialize, utoipa::ToSchema)]
struct AddSpeaker {
    /// 1 to 100 characters, not all blank (surrounding blanks are trimmed). The pattern is
    /// "a character outside Unicode `White_Space`", the set `str::trim` removes.
    #[schema(
        min_length = 1,
        max_length = 100,
        pattern = "[^\\t-\\r \\u0085\\u00A0\\u1680\\u2000-\\u200A\\u2028\\u2029\\u202F\\u205F\\u3000]"
    )]
    code: String,
}

/// Adds a speaker by code (editors may: a transcriber meets new voices while listening).
#[utoipa::path(post, path = "/api/projects/{project}/speakers", tag = "projects", params(("project" = i64, Path, description = "project id")), responses((status = 200, description = "Success", body = serde_json::Value, content_type = "application/json"), (status = "4XX", description = "Refused, with the reason", body = crate::error::ErrorBody)))]
async fn add_speaker(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(project): Path<i64>,
    Json(req): Json<AddSpeaker>,
) -> AppResult<Json<serde_json::Value>> {
    require(&state, project, user, &[Role::Admin, Role::Transcriber]).await?;
    let code = req.code.trim();
    if code.is_empty() || req.code.chars().count() > 100 {
        return Err(AppError::bad(
            "invalid_code",
            "code",
            "a speaker code has 1 to 100 characters",
        ));
    }
    let id = db::add_speaker(&state.db, project, code)
        .await
        .map_err(|e| match e {
            // 409: a well-formed request that clashes with a speaker that exists.
            sqlx::Error::Database(d) if d.is_unique_violation() => AppError::InUse(
                "code_taken",
                "this project has a speaker with this code".into(),
            ),
            other => other.into(),
        })?;
    Ok(Json(json!({ "id": id, "code": code })))
}

/// The project's scoring normaliser: `conventions.normalise` options, or the default pipeline.
/// Every score of the project (error rates, both agreement endpoints) uses this one.
pub async fn normaliser(
    db: &crate::db::Db,
    project: i64,
) -> AppResult<crate::text::normalise::Normaliser> {
    let conventions = db::conventions(db, project).await?;
    let opts = match conventions.get("normalise") {
        Some(v) if !v.is_null() => {
            serde_json::from_value::<crate::text::normalise::NormaliseOptions>(v.clone()).map_err(
                |e| {
                    AppError::bad(
                        "invalid_conventions",
                        "conventions.normalise",
                        format!("the project's normalisation options are invalid: {e}"),
                    )
                },
            )?
        }
        _ => crate::text::normalise::NormaliseOptions::default(),
    };
    Ok(crate::text::normalise::Normaliser::new(opts))
}
