//! Users managed from the browser (issue 17): the instance admin's API (list and create users,
//! reset a password, disable and enable, every project for the invite form) and everyone's own
//! password change.
//!
//! Decisions worth knowing:
//! - **Instance admins only**, checked here on every call (403 `not_instance_admin`): the
//!   accounts are an untrusted crowd. No route can make an instance admin; the command line
//!   alone grants that role.
//! - **Disabling ends everything at once.** The user's sessions are deleted, and every
//!   session or token lookup joins `app_user.disabled` ([`super::db`]), so a token is refused
//!   while its owner is disabled and works again after an enable.
//! - **A password change ends the other sessions**: a reset by the admin ends all of the
//!   user's sessions; a change of one's own ends all but the caller's.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use serde::{Deserialize, Serialize};

use super::{CurrentUser, Logins, cookie_token, db, secret_hash};
use crate::app::AppState;
use crate::error::{AppError, AppResult};
use crate::extract::{Json, Path};

/// Longest user name, in characters.
const MAX_NAME: usize = 100;
/// Shortest password, in characters (as `fangyan user add`).
pub const MIN_PASSWORD: usize = 8;
/// Longest password, in characters (argon2 hashes anything, but not forever).
const MAX_PASSWORD: usize = 1000;

/// A user name: 1 to 100 characters, no spaces or control characters (it is typed at login
/// and shown everywhere).
pub(super) fn check_name(name: &str) -> AppResult<()> {
    if name.is_empty()
        || name.chars().count() > MAX_NAME
        || name.chars().any(|c| c.is_whitespace() || c.is_control())
    {
        return Err(AppError::bad(
            "invalid_name",
            "name",
            "a user name has 1 to 100 characters and no spaces or control characters",
        ));
    }
    Ok(())
}

/// A new password: 8 to 1000 characters, no control characters.
pub(super) fn check_password(field: &'static str, password: &str) -> AppResult<()> {
    let n = password.chars().count();
    if !(MIN_PASSWORD..=MAX_PASSWORD).contains(&n) || password.chars().any(char::is_control) {
        return Err(AppError::bad(
            "invalid_password",
            field,
            "a password has 8 to 1000 characters and no control characters",
        ));
    }
    Ok(())
}

/// argon2id on the blocking pool (tens of milliseconds of one core).
pub(super) async fn hash(password: String) -> AppResult<String> {
    Ok(
        tokio::task::spawn_blocking(move || super::hash_password(&password))
            .await
            .map_err(anyhow::Error::from)??,
    )
}

/// 403 unless the caller is an instance admin.
pub async fn require_instance_admin(state: &AppState, user: CurrentUser) -> AppResult<()> {
    if db::is_instance_admin(&state.db, user.id).await? {
        Ok(())
    } else {
        Err(AppError::Status(
            StatusCode::FORBIDDEN,
            "not_instance_admin",
            "only instance admins manage users".into(),
        ))
    }
}

/// Every user.
#[derive(Serialize, utoipa::ToSchema)]
pub(super) struct UserList {
    users: Vec<db::UserRow>,
}

#[utoipa::path(get, path = "/api/admin/users", tag = "accounts", responses((status = 200, description = "Every user in name order, with their project roles", body = UserList), (status = "4XX", description = "Refused, with the reason (403 `not_instance_admin`)", body = crate::error::ErrorBody)))]
pub(super) async fn list_users(
    State(state): State<AppState>,
    user: CurrentUser,
) -> AppResult<Json<UserList>> {
    require_instance_admin(&state, user).await?;
    Ok(Json(UserList {
        users: db::list_users(&state.db).await?,
    }))
}

/// A user to create (by an admin, or by the invitee accepting an invite).
#[derive(Deserialize, utoipa::ToSchema)]
pub(super) struct NewUser {
    /// 1 to 100 characters, no spaces or control characters.
    #[schema(
        min_length = 1,
        max_length = 100,
        pattern = "^[^\\s\\x00-\\x1f\\x7f-\\x9f]+$"
    )]
    pub(super) name: String,
    /// 8 to 1000 characters, no control characters.
    #[schema(
        min_length = 8,
        max_length = 1000,
        pattern = "^[^\\x00-\\x1f\\x7f-\\x9f]*$"
    )]
    pub(super) password: String,
}

/// A user made or changed.
#[derive(Serialize, utoipa::ToSchema)]
pub(super) struct UserRef {
    /// User id.
    id: i64,
    /// Login name.
    name: String,
    /// Disabled.
    disabled: bool,
}

#[utoipa::path(post, path = "/api/admin/users", tag = "accounts", request_body = NewUser, responses((status = 200, description = "The new user", body = UserRef), (status = 409, description = "`name_taken`", body = crate::error::ErrorBody), (status = "4XX", description = "Refused, with the reason (400 `invalid_name`, `invalid_password`; 403 `not_instance_admin`)", body = crate::error::ErrorBody)))]
pub(super) async fn create_user(
    State(state): State<AppState>,
    user: CurrentUser,
    Json(req): Json<NewUser>,
) -> AppResult<Json<UserRef>> {
    require_instance_admin(&state, user).await?;
    check_name(&req.name)?;
    check_password("password", &req.password)?;
    let hash = hash(req.password).await?;
    let id = db::create_user(&state.db, &req.name, &hash)
        .await
        .map_err(name_taken)?;
    Ok(Json(UserRef {
        id,
        name: req.name,
        disabled: false,
    }))
}

/// A clash on `app_user.name` is 409 `name_taken`.
pub(super) fn name_taken(e: sqlx::Error) -> AppError {
    match e {
        sqlx::Error::Database(d) if d.is_unique_violation() => {
            AppError::InUse("name_taken", "a user with this name exists".into())
        }
        other => other.into(),
    }
}

/// A new password set by the admin.
#[derive(Deserialize, utoipa::ToSchema)]
pub(super) struct ResetPassword {
    /// 8 to 1000 characters, no control characters.
    #[schema(
        min_length = 8,
        max_length = 1000,
        pattern = "^[^\\x00-\\x1f\\x7f-\\x9f]*$"
    )]
    password: String,
}

impl UserRef {
    /// A user just made (enabled).
    pub(super) fn new(id: i64, name: String) -> Self {
        Self {
            id,
            name,
            disabled: false,
        }
    }
}

async fn user_ref(state: &AppState, id: i64) -> AppResult<UserRef> {
    let c = db::credentials_of(&state.db, id)
        .await?
        .ok_or(AppError::NotFound)?;
    Ok(UserRef {
        id,
        name: db::user_name(&state.db, id).await?,
        disabled: c.disabled,
    })
}

#[utoipa::path(put, path = "/api/admin/users/{id}/password", tag = "accounts", params(("id" = i64, Path, description = "user id")), request_body = ResetPassword, responses((status = 200, description = "Changed; every session of the user has ended", body = UserRef), (status = "4XX", description = "Refused, with the reason (400 `invalid_password`, 403 `not_instance_admin`, 404)", body = crate::error::ErrorBody)))]
pub(super) async fn reset_password(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    Json(req): Json<ResetPassword>,
) -> AppResult<Json<UserRef>> {
    require_instance_admin(&state, user).await?;
    check_password("password", &req.password)?;
    let hash = hash(req.password).await?;
    if !db::set_password(&state.db, id, &hash).await? {
        return Err(AppError::NotFound);
    }
    db::end_sessions(&state.db, id, None).await?;
    Ok(Json(user_ref(&state, id).await?))
}

#[utoipa::path(post, path = "/api/admin/users/{id}/disable", tag = "accounts", params(("id" = i64, Path, description = "user id")), responses((status = 200, description = "Disabled; the user's sessions have ended and their tokens are refused", body = UserRef), (status = 409, description = "`cannot_disable_self`", body = crate::error::ErrorBody), (status = "4XX", description = "Refused, with the reason (403 `not_instance_admin`, 404)", body = crate::error::ErrorBody)))]
pub(super) async fn disable_user(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> AppResult<Json<UserRef>> {
    require_instance_admin(&state, user).await?;
    if id == user.id {
        return Err(AppError::InUse(
            "cannot_disable_self",
            "you cannot disable your own account".into(),
        ));
    }
    if !db::set_disabled(&state.db, id, true).await? {
        return Err(AppError::NotFound);
    }
    db::end_sessions(&state.db, id, None).await?;
    Ok(Json(user_ref(&state, id).await?))
}

#[utoipa::path(post, path = "/api/admin/users/{id}/enable", tag = "accounts", params(("id" = i64, Path, description = "user id")), responses((status = 200, description = "Enabled: the user may log in again", body = UserRef), (status = "4XX", description = "Refused, with the reason (403 `not_instance_admin`, 404)", body = crate::error::ErrorBody)))]
pub(super) async fn enable_user(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> AppResult<Json<UserRef>> {
    require_instance_admin(&state, user).await?;
    if !db::set_disabled(&state.db, id, false).await? {
        return Err(AppError::NotFound);
    }
    Ok(Json(user_ref(&state, id).await?))
}

/// Every project of the instance, for the admin's invite and role forms.
#[derive(Serialize, utoipa::ToSchema)]
pub(super) struct ProjectList {
    projects: Vec<crate::projects::db::ProjectName>,
}

#[utoipa::path(get, path = "/api/admin/projects", tag = "accounts", responses((status = 200, description = "Every project in name order", body = ProjectList), (status = "4XX", description = "Refused, with the reason (403 `not_instance_admin`)", body = crate::error::ErrorBody)))]
pub(super) async fn all_projects(
    State(state): State<AppState>,
    user: CurrentUser,
) -> AppResult<Json<ProjectList>> {
    require_instance_admin(&state, user).await?;
    Ok(Json(ProjectList {
        projects: crate::projects::db::all(&state.db).await?,
    }))
}

/// One's own password change.
#[derive(Deserialize, utoipa::ToSchema)]
pub(super) struct ChangePassword {
    /// The current password.
    #[schema(max_length = 1000)]
    old_password: String,
    /// 8 to 1000 characters, no control characters.
    #[schema(
        min_length = 8,
        max_length = 1000,
        pattern = "^[^\\x00-\\x1f\\x7f-\\x9f]*$"
    )]
    new_password: String,
}

/// The outcome of a password change.
#[derive(Serialize, utoipa::ToSchema)]
pub(super) struct PasswordChanged {
    /// Always true.
    changed: bool,
    /// How many other sessions of the caller were ended.
    sessions_ended: u64,
}

#[utoipa::path(put, path = "/api/me/password", tag = "accounts", request_body = ChangePassword, responses((status = 200, description = "Changed; the caller's other sessions have ended", body = PasswordChanged), (status = 403, description = "`wrong_password`, or `session_required` when called with a token", body = crate::error::ErrorBody), (status = "4XX", description = "Refused, with the reason (400 `invalid_password`, 429 when throttled)", body = crate::error::ErrorBody), (status = 503, description = "Too many password checks at once; retry", body = crate::error::ErrorBody)))]
pub(super) async fn change_own_password(
    State(state): State<AppState>,
    user: CurrentUser,
    conn: super::Connection,
    headers: HeaderMap,
    Json(req): Json<ChangePassword>,
) -> AppResult<Json<PasswordChanged>> {
    if user.via_token {
        return Err(AppError::Status(
            StatusCode::FORBIDDEN,
            "session_required",
            "a password is changed from a logged-in session, not with a token".into(),
        ));
    }
    check_password("new_password", &req.new_password)?;
    let name = db::user_name(&state.db, user.id).await?;
    let current = db::credentials_of(&state.db, user.id)
        .await?
        .ok_or(AppError::Unauthenticated)?;
    if !old_password_ok(
        &state.logins,
        &state,
        conn.client,
        &name,
        req.old_password,
        current.hash,
    )
    .await?
    {
        return Err(AppError::Status(
            StatusCode::FORBIDDEN,
            "wrong_password",
            "the current password is not right".into(),
        ));
    }
    let hash = hash(req.new_password).await?;
    db::set_password(&state.db, user.id, &hash).await?;
    let keep = cookie_token(&headers).map(|s| secret_hash(&s));
    let ended = db::end_sessions(&state.db, user.id, keep.as_deref()).await?;
    Ok(Json(PasswordChanged {
        changed: true,
        sessions_ended: ended,
    }))
}

/// Checks the old password under the login's throttle and argon2 budget: someone holding a
/// stolen session must not get unlimited guesses at the password through this route.
async fn old_password_ok(
    logins: &Logins,
    state: &AppState,
    client: std::net::IpAddr,
    name: &str,
    password: String,
    hash: String,
) -> AppResult<bool> {
    let slot = match logins.throttle.reserve(&state.db, client, name).await? {
        Ok(slot) => slot,
        Err(super::Limited(_)) => return Err(AppError::TooManyRequests),
    };
    match logins.checker.verify(password, Some(hash)).await {
        Ok(true) => {
            logins.throttle.succeeded(&state.db, slot).await?;
            Ok(true)
        }
        Ok(false) => Ok(false),
        Err(super::Busy) => {
            logins.throttle.unchecked(&state.db, slot).await?;
            Err(AppError::Unavailable(
                "overloaded",
                "the server is checking too many passwords; try again in a moment",
            ))
        }
    }
}
