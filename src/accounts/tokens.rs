//! API tokens for scripts: made from a browser session, listed, revoked; each with an expiry
//! and a scope.
//!
//! A token is sent as `Authorization: Bearer <secret>` and is looked up only among tokens,
//! never among sessions (and a session secret only among sessions). A `read` token may only
//! GET and HEAD, checked in [`super::CurrentUser`] so that no route can forget it. A request
//! authenticated by a token cannot make tokens: a leaked token must not mint longer-lived or
//! broader ones.

use crate::extract::Json;
use crate::extract::Path;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};

use super::{CurrentUser, db, new_secret};
use crate::app::AppState;
use crate::error::{AppError, AppResult};

/// Days a token lives when the request does not say.
pub const DEFAULT_DAYS: u32 = 90;
/// Longest lifetime a token may ask for.
pub const MAX_DAYS: u32 = 366;
/// Unexpired tokens one user may hold.
const MAX_LIVE: i64 = 100;
const DAY_MS: i64 = 86_400_000;

/// What a token may do.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum TokenScope {
    /// GET and HEAD only.
    Read,
    /// Whatever its user may do (except making tokens).
    #[default]
    Write,
}

impl TokenScope {
    /// The stored spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            TokenScope::Read => "read",
            TokenScope::Write => "write",
        }
    }

    /// From the stored spelling; anything unknown is the narrower scope.
    pub fn parse(s: &str) -> Self {
        if s == "write" {
            TokenScope::Write
        } else {
            TokenScope::Read
        }
    }
}

/// A token as listed: never its secret.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct TokenInfo {
    /// Token id (for `DELETE /api/tokens/{id}`).
    pub id: i64,
    /// The name given at creation.
    pub name: String,
    /// What it may do.
    pub scope: TokenScope,
    /// Creation time, Unix milliseconds.
    pub created_at: i64,
    /// Expiry time, Unix milliseconds; refused from then on.
    pub expires_at: i64,
    /// Last use (to the minute), Unix milliseconds; null if never used.
    pub last_used_at: Option<i64>,
}

#[derive(Deserialize, utoipa::ToSchema)]
pub(super) struct TokenRequest {
    /// A name to recognise it by, 1 to 100 characters.
    name: String,
    /// `write` (default) or `read`.
    #[serde(default)]
    scope: TokenScope,
    /// Lifetime in days, 1 to 366; 90 by default.
    expires_in_days: Option<u32>,
}

/// A new token: the secret is shown this once.
#[derive(Serialize, utoipa::ToSchema)]
pub(super) struct NewToken {
    /// Token id.
    id: i64,
    /// The secret, for `Authorization: Bearer …`; only its hash is stored.
    token: String,
    name: String,
    scope: TokenScope,
    /// Expiry, Unix milliseconds.
    expires_at: i64,
}

/// The caller's tokens.
#[derive(Serialize, utoipa::ToSchema)]
pub(super) struct TokenList {
    tokens: Vec<TokenInfo>,
}

#[utoipa::path(post, path = "/api/tokens", tag = "accounts", request_body = TokenRequest, responses((status = 200, description = "The new token; its secret is shown only now", body = NewToken), (status = "4XX", description = "Refused, with the reason (403 `session_required` when called with a token)", body = crate::error::ErrorBody)))]
pub(super) async fn create_token(
    State(state): State<AppState>,
    user: CurrentUser,
    Json(req): Json<TokenRequest>,
) -> AppResult<Json<NewToken>> {
    if user.via_token {
        return Err(AppError::Status(
            StatusCode::FORBIDDEN,
            "session_required",
            "tokens are made from a logged-in session, not with another token".into(),
        ));
    }
    let name = req.name.trim().to_string();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(AppError::bad(
            "invalid_name",
            "name",
            "a token needs a name of 1 to 100 characters",
        ));
    }
    let days = req.expires_in_days.unwrap_or(DEFAULT_DAYS);
    if !(1..=MAX_DAYS).contains(&days) {
        return Err(AppError::bad(
            "invalid_expiry",
            "expires_in_days",
            format!("a token lives 1 to {MAX_DAYS} days, not {days}"),
        ));
    }
    if db::live_token_count(&state.db, user.id).await? >= MAX_LIVE {
        return Err(AppError::InUse(
            "too_many_tokens",
            format!("you already hold {MAX_LIVE} live tokens; revoke some first"),
        ));
    }
    let expires_at = crate::db::now_ms() + i64::from(days) * DAY_MS;
    let (secret, hash) = new_secret();
    let id = db::create_token(&state.db, user.id, &name, &hash, req.scope, expires_at).await?;
    Ok(Json(NewToken {
        id,
        token: secret,
        name,
        scope: req.scope,
        expires_at,
    }))
}

#[utoipa::path(get, path = "/api/tokens", tag = "accounts", responses((status = 200, description = "The caller's tokens, newest first, without secrets", body = TokenList), (status = "4XX", description = "Refused, with the reason", body = crate::error::ErrorBody)))]
pub(super) async fn list_tokens(
    State(state): State<AppState>,
    user: CurrentUser,
) -> AppResult<Json<TokenList>> {
    Ok(Json(TokenList {
        tokens: db::tokens_of(&state.db, user.id).await?,
    }))
}

#[utoipa::path(delete, path = "/api/tokens/{id}", tag = "accounts", params(("id" = i64, Path, description = "token id")), responses((status = 200, description = "Revoked", body = serde_json::Value, content_type = "application/json"), (status = "4XX", description = "Refused, with the reason (404 for someone else's token)", body = crate::error::ErrorBody)))]
pub(super) async fn delete_token(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> AppResult<Json<serde_json::Value>> {
    if !db::delete_token(&state.db, user.id, id).await? {
        return Err(AppError::NotFound);
    }
    Ok(Json(serde_json::json!({ "deleted": id })))
}
