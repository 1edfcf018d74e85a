//! Invite links (issue 17): an admin of a project (or an instance admin) invites someone into
//! it with a role; the link carries a random secret, single use and expiring (7 days unless
//! asked otherwise). Anyone holding the link may see the project's name and the role, and
//! accept it with a new user name and password: the user, the membership and a session are
//! made in one transaction, and the answer logs them in as `POST /api/login` does.
//!
//! Decisions worth knowing:
//! - **Only the hash is kept**, as for sessions: a copy of the database does not hold usable
//!   links.
//! - **Single use is the accept's conditional update** (`used_at IS NULL AND expires_at > now`)
//!   inside the transaction that makes the user: two accepts of one link make one user.
//! - **Refusals are stable**: 404 `invite_not_found` for a secret nobody issued, 410
//!   `invite_used` and 410 `invite_expired` for one that was.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use sqlx::Row;

use super::admin::{check_name, check_password, hash, name_taken};
use super::{
    Connection, CurrentUser, db, new_secret, secret_hash, session_expiry, session_headers,
};
use crate::app::AppState;
use crate::db::{begin_write, now_ms};
use crate::error::{AppError, AppResult};
use crate::extract::{Json, Path};
use crate::projects::Role;

/// Days an invite lives when the request does not say.
pub const DEFAULT_DAYS: u32 = 7;
/// Longest lifetime an invite may ask for.
pub const MAX_DAYS: u32 = 30;
const DAY_MS: i64 = 86_400_000;

/// An invite to make.
#[derive(Deserialize, utoipa::ToSchema)]
pub(super) struct InviteRequest {
    /// The role the invitee gets in the project.
    role: Role,
    /// Lifetime in days, 1 to 30; 7 by default.
    #[schema(minimum = 1, maximum = 30)]
    expires_in_days: Option<u32>,
}

/// A new invite: the secret is shown this once.
#[derive(Serialize, utoipa::ToSchema)]
pub(super) struct NewInvite {
    /// Invite id.
    id: i64,
    /// The secret for `GET /api/invites/{token}` and the accept; only its hash is stored.
    token: String,
    /// Project id.
    project_id: i64,
    /// The role it grants.
    role: Role,
    /// Expiry, Unix milliseconds.
    expires_at: i64,
}

#[utoipa::path(post, path = "/api/projects/{project}/invites", tag = "accounts", params(("project" = i64, Path, description = "project id")), request_body = InviteRequest, responses((status = 200, description = "The new invite; its secret is shown only now", body = NewInvite), (status = "4XX", description = "Refused, with the reason (400 `invalid_expiry`; 403 for members who are not the project's admin; 404 for non-members)", body = crate::error::ErrorBody)))]
pub(super) async fn create_invite(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(project): Path<i64>,
    Json(req): Json<InviteRequest>,
) -> AppResult<Json<NewInvite>> {
    crate::projects::require_manager(&state, project, user).await?;
    let days = req.expires_in_days.unwrap_or(DEFAULT_DAYS);
    if !(1..=MAX_DAYS).contains(&days) {
        return Err(AppError::bad(
            "invalid_expiry",
            "expires_in_days",
            format!("an invite lives 1 to {MAX_DAYS} days, not {days}"),
        ));
    }
    let now = now_ms();
    let expires_at = now + i64::from(days) * DAY_MS;
    let (secret, token_hash) = new_secret();
    let id: i64 = sqlx::query(
        "INSERT INTO invite (token_hash, project_id, role, created_by, created_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
    )
    .bind(&token_hash)
    .bind(project)
    .bind(req.role.as_str())
    .bind(user.id)
    .bind(now)
    .bind(expires_at)
    .fetch_one(&state.db)
    .await?
    .try_get("id")?;
    Ok(Json(NewInvite {
        id,
        token: secret,
        project_id: project,
        role: req.role,
        expires_at,
    }))
}

/// What an invite offers, as its holder sees it before accepting.
#[derive(Serialize, utoipa::ToSchema)]
pub(super) struct InviteInfo {
    /// Project id.
    project_id: i64,
    /// Project name.
    project_name: String,
    /// The role it grants.
    role: Role,
    /// Expiry, Unix milliseconds.
    expires_at: i64,
}

/// An invite row as stored.
struct Stored {
    project_id: i64,
    project_name: String,
    role: Role,
    expires_at: i64,
    used: bool,
}

async fn stored(state: &AppState, token: &str) -> AppResult<Stored> {
    let row = sqlx::query(
        "SELECT i.project_id, p.name, i.role, i.expires_at, i.used_at FROM invite i \
         JOIN project p ON p.id = i.project_id WHERE i.token_hash = $1",
    )
    .bind(secret_hash(token))
    .fetch_optional(&state.db)
    .await?
    .ok_or_else(not_found)?;
    Ok(Stored {
        project_id: row.try_get("project_id")?,
        project_name: row.try_get("name")?,
        role: Role::parse(&row.try_get::<String, _>("role")?).ok_or_else(not_found)?,
        expires_at: row.try_get("expires_at")?,
        used: row.try_get::<Option<i64>, _>("used_at")?.is_some(),
    })
}

fn not_found() -> AppError {
    AppError::Status(
        StatusCode::NOT_FOUND,
        "invite_not_found",
        "no such invite; ask for a new link".into(),
    )
}

/// 410 for a used or expired invite.
fn spent(s: &Stored) -> Option<AppError> {
    if s.used {
        Some(AppError::Status(
            StatusCode::GONE,
            "invite_used",
            "this invite was used already; ask for a new link".into(),
        ))
    } else if s.expires_at <= now_ms() {
        Some(AppError::Status(
            StatusCode::GONE,
            "invite_expired",
            "this invite has expired; ask for a new link".into(),
        ))
    } else {
        None
    }
}

#[utoipa::path(get, path = "/api/invites/{token}", tag = "accounts", params(("token" = String, Path, description = "the invite's secret")), responses((status = 200, description = "The project and role offered", body = InviteInfo), (status = 404, description = "`invite_not_found`", body = crate::error::ErrorBody), (status = 410, description = "`invite_used` or `invite_expired`", body = crate::error::ErrorBody), (status = "4XX", description = "Refused, with the reason", body = crate::error::ErrorBody)))]
pub(super) async fn show_invite(
    State(state): State<AppState>,
    Path(token): Path<String>,
) -> AppResult<Json<InviteInfo>> {
    let s = stored(&state, &token).await?;
    if let Some(e) = spent(&s) {
        return Err(e);
    }
    Ok(Json(InviteInfo {
        project_id: s.project_id,
        project_name: s.project_name,
        role: s.role,
        expires_at: s.expires_at,
    }))
}

/// The accepted invite: who is now logged in, where, in which role.
#[derive(Serialize, utoipa::ToSchema)]
pub(super) struct Accepted {
    /// The new user.
    user: super::admin::UserRef,
    /// The project joined.
    project_id: i64,
    /// The role there.
    role: Role,
}

#[utoipa::path(post, path = "/api/invites/{token}/accept", tag = "accounts", params(("token" = String, Path, description = "the invite's secret")), request_body = super::admin::NewUser, responses((status = 200, description = "The user was made and joined the project; the session cookie is set", body = Accepted), (status = 404, description = "`invite_not_found`", body = crate::error::ErrorBody), (status = 409, description = "`name_taken`", body = crate::error::ErrorBody), (status = 410, description = "`invite_used` or `invite_expired`", body = crate::error::ErrorBody), (status = "4XX", description = "Refused, with the reason (400 `invalid_name`, `invalid_password`)", body = crate::error::ErrorBody)))]
pub(super) async fn accept_invite(
    State(state): State<AppState>,
    conn: Connection,
    Path(token): Path<String>,
    Json(req): Json<super::admin::NewUser>,
) -> AppResult<Response> {
    let s = stored(&state, &token).await?;
    if let Some(e) = spent(&s) {
        return Err(e);
    }
    check_name(&req.name)?;
    check_password("password", &req.password)?;
    let password_hash = hash(req.password).await?;
    let (secret, session_hash) = new_secret();
    let mut tx = begin_write(&state.db).await?;
    let now = now_ms();
    // The conditional update is the single use: a second accept finds nothing to take.
    let taken = sqlx::query(
        "UPDATE invite SET used_at = $1 WHERE token_hash = $2 AND used_at IS NULL AND expires_at > $3",
    )
    .bind(now)
    .bind(secret_hash(&token))
    .bind(now)
    .execute(&mut *tx)
    .await?;
    if taken.rows_affected() != 1 {
        drop(tx);
        let s = stored(&state, &token).await?;
        return Err(spent(&s).unwrap_or_else(not_found));
    }
    let id = db::create_user(&mut *tx, &req.name, &password_hash)
        .await
        .map_err(name_taken)?;
    sqlx::query("UPDATE invite SET used_by = $1 WHERE token_hash = $2")
        .bind(id)
        .bind(secret_hash(&token))
        .execute(&mut *tx)
        .await?;
    crate::projects::db::add_member(&mut *tx, s.project_id, id, s.role).await?;
    db::create_session(&mut *tx, id, &session_hash, session_expiry()).await?;
    db::touch_login(&mut *tx, id).await?;
    tx.commit().await?;
    let headers = session_headers(&secret, conn.https)?;
    let body = Json(Accepted {
        user: super::admin::UserRef::new(id, req.name),
        project_id: s.project_id,
        role: s.role,
    });
    Ok((headers, body).into_response())
}
