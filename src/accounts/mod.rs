//! Accounts: users, password login with a session cookie, API tokens for scripts, and the
//! `CurrentUser` extractor every other stage uses. Passwords are argon2id; session and token
//! secrets are random 256-bit values of which only SHA-256 hashes are stored.
//!
//! The login is the one route an anonymous crowd can hammer, so it is bounded twice before any
//! password is checked: the [`throttle`] reserves the attempt per (client, name) and per client
//! (429 with `Retry-After` when spent), then the [`password`] checker runs argon2 within a
//! budget of cores (503 `overloaded` when full). Unknown names are checked against a dummy hash
//! so they answer as slowly as known ones. Who the client is comes from [`client`].
//!
//! Sessions live 7 days and are cookies only; tokens are bearer headers only (see [`tokens`]).
//! A disabled user's sessions and tokens are refused where they are looked up ([`db`]).
//! Instance admins manage users ([`admin`]); project and instance admins invite people into a
//! project with a role ([`invites`]).

pub mod admin;
mod client;
pub mod db;
pub mod invites;
mod password;
pub mod throttle;
mod tokens;

use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::extract::Json;
use axum::extract::{FromRequestParts, State};
use axum::http::header::{AUTHORIZATION, COOKIE, RETRY_AFTER, SET_COOKIE};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::app::AppState;
use crate::error::{AppError, AppResult};

pub use client::{IpNet, client_ip, is_https};
pub use password::{Busy, PasswordChecker, hash_password};
pub use throttle::{Limited, LoginLimits, LoginThrottle};
pub use tokens::{TokenInfo, TokenScope};

/// Name of the session cookie.
pub const COOKIE_NAME: &str = "fangyan_session";
/// Session lifetime.
const SESSION_MS: i64 = 7 * 24 * 3600 * 1000;
/// A token's `last_used_at` is written at most this often.
const TOUCH_MS: i64 = 60_000;

/// The login's guards, shared by every request: the throttle and the argon2 budget.
pub struct Logins {
    /// Attempts per (client, name) and per client.
    pub throttle: LoginThrottle,
    /// argon2 within a budget.
    pub checker: PasswordChecker,
}

impl Logins {
    /// Guards with these limits.
    pub fn new(limits: &LoginLimits) -> Self {
        Self {
            throttle: LoginThrottle::new(limits),
            checker: PasswordChecker::new(limits),
        }
    }
}

/// A new random secret (hex) and the hash stored for it.
pub fn new_secret() -> (String, String) {
    let bytes: [u8; 32] = rand::random();
    let secret = hex::encode(bytes);
    let hash = secret_hash(&secret);
    (secret, hash)
}

fn secret_hash(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// The authenticated caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CurrentUser {
    /// User id.
    pub id: i64,
    /// Authenticated by an API token (bearer), not a browser session.
    pub via_token: bool,
    /// A `read` token: only GET and HEAD get this far.
    pub read_only: bool,
}

fn cookie_token(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|all| {
            all.split(';').find_map(|kv| {
                let (k, v) = kv.trim().split_once('=')?;
                (k == COOKIE_NAME).then(|| v.to_string())
            })
        })
}

/// The secret of an `Authorization: Bearer …` header. Other schemes (a proxy's Basic auth)
/// are not ours and leave the cookie to decide.
fn bearer_token(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(AUTHORIZATION)?.to_str().ok()?;
    let (scheme, secret) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then_some(secret.trim())
}

impl FromRequestParts<AppState> for CurrentUser {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> AppResult<Self> {
        if let Some(secret) = bearer_token(&parts.headers) {
            let token = db::token_for_secret(&state.db, &secret_hash(secret))
                .await?
                .ok_or(AppError::Unauthenticated)?;
            let read_only = token.scope == TokenScope::Read;
            if read_only && !matches!(parts.method, Method::GET | Method::HEAD) {
                return Err(AppError::Status(
                    StatusCode::FORBIDDEN,
                    "read_only_token",
                    "this token may only read (GET and HEAD)".into(),
                ));
            }
            let now = crate::db::now_ms();
            if token.last_used_at.is_none_or(|at| now - at >= TOUCH_MS) {
                // Bookkeeping only: a busy database must not refuse the request.
                if let Err(e) = db::touch_token(&state.db, token.id, now).await {
                    tracing::warn!("recording the use of token {}: {e}", token.id);
                }
            }
            return Ok(CurrentUser {
                id: token.user_id,
                via_token: true,
                read_only,
            });
        }
        let secret = cookie_token(&parts.headers).ok_or(AppError::Unauthenticated)?;
        let id = db::user_for_session(&state.db, &secret_hash(&secret))
            .await?
            .ok_or(AppError::Unauthenticated)?;
        Ok(CurrentUser {
            id,
            via_token: false,
            read_only: false,
        })
    }
}

/// Who sent a request, as the login needs it: the client address and whether the browser
/// sees https.
struct Connection {
    client: std::net::IpAddr,
    https: bool,
}

impl FromRequestParts<AppState> for Connection {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        Ok(Connection {
            client: client_ip(parts, &state.config),
            https: is_https(parts, &state.config),
        })
    }
}

/// Routes: login, logout, tokens, me.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(login))
        .routes(routes!(logout))
        .routes(routes!(tokens::create_token, tokens::list_tokens))
        .routes(routes!(tokens::delete_token))
        .routes(routes!(me))
        .routes(routes!(admin::change_own_password))
        .routes(routes!(admin::list_users, admin::create_user))
        .routes(routes!(admin::reset_password))
        .routes(routes!(admin::disable_user))
        .routes(routes!(admin::enable_user))
        .routes(routes!(admin::all_projects))
        .routes(routes!(invites::create_invite))
        .routes(routes!(invites::show_invite))
        .routes(routes!(invites::accept_invite))
}

#[derive(Deserialize, utoipa::ToSchema)]
struct LoginRequest {
    name: String,
    password: String,
}

fn session_cookie(value: &str, max_age: i64, secure: bool) -> AppResult<HeaderValue> {
    let secure = if secure { "; Secure" } else { "" };
    let cookie = format!(
        "{COOKIE_NAME}={value}; HttpOnly; SameSite=Strict; Path=/; Max-Age={max_age}{secure}"
    );
    Ok(HeaderValue::from_str(&cookie).map_err(anyhow::Error::from)?)
}

fn retry_after(secs: u64, error: AppError) -> Response {
    ([(RETRY_AFTER, secs.to_string())], error).into_response()
}

#[utoipa::path(post, path = "/api/login", tag = "accounts", responses((status = 200, description = "Success", body = serde_json::Value, content_type = "application/json"), (status = "4XX", description = "Refused, with the reason (429 with Retry-After when throttled)", body = crate::error::ErrorBody), (status = 503, description = "Too many password checks at once; retry", body = crate::error::ErrorBody)))]
async fn login(
    State(state): State<AppState>,
    conn: Connection,
    Json(req): Json<LoginRequest>,
) -> AppResult<Response> {
    let logins = &state.logins;
    let slot = match logins
        .throttle
        .reserve(&state.db, conn.client, &req.name)
        .await?
    {
        Ok(slot) => slot,
        Err(Limited(wait)) => {
            return Ok(retry_after(
                wait.as_secs().max(1),
                AppError::TooManyRequests,
            ));
        }
    };
    let user = db::credentials(&state.db, &req.name).await?;
    let hash = user.as_ref().map(|u| u.hash.clone());
    let ok = match logins.checker.verify(req.password, hash).await {
        Ok(ok) => ok,
        Err(Busy) => {
            logins.throttle.unchecked(&state.db, slot).await?;
            let busy = AppError::Unavailable(
                "overloaded",
                "the server is checking too many passwords; try again in a moment",
            );
            return Ok(retry_after(1, busy));
        }
    };
    let Some(user) = user.filter(|_| ok) else {
        // The slot stays spent: this was a failed attempt. 401, not 400: the request was well
        // formed, its credentials are what is wrong.
        return Err(bad_credentials());
    };
    logins.throttle.succeeded(&state.db, slot).await?;
    if user.disabled {
        // Told only to whoever knows the password: a guesser learns nothing new.
        return Err(AppError::Status(
            StatusCode::UNAUTHORIZED,
            "account_disabled",
            "this account is disabled; ask an administrator".into(),
        ));
    }
    db::delete_expired_sessions(&state.db).await?;
    let (secret, hash) = new_secret();
    db::create_session(&state.db, user.id, &hash, session_expiry()).await?;
    db::touch_login(&state.db, user.id).await?;
    let headers = session_headers(&secret, conn.https)?;
    let body = Json(json!({ "user": { "id": user.id, "name": req.name } }));
    Ok((headers, body).into_response())
}

/// The answer to a wrong name or password.
fn bad_credentials() -> AppError {
    AppError::Status(
        StatusCode::UNAUTHORIZED,
        "bad_credentials",
        "wrong name or password".into(),
    )
}

/// When a session made now expires.
fn session_expiry() -> i64 {
    crate::db::now_ms() + SESSION_MS
}

/// The `Set-Cookie` header of a new session.
fn session_headers(secret: &str, https: bool) -> AppResult<HeaderMap> {
    let mut headers = HeaderMap::new();
    headers.insert(
        SET_COOKIE,
        session_cookie(secret, SESSION_MS / 1000, https)?,
    );
    Ok(headers)
}

#[utoipa::path(post, path = "/api/logout", tag = "accounts", responses((status = 200, description = "Success", body = serde_json::Value, content_type = "application/json"), (status = "4XX", description = "Refused, with the reason", body = crate::error::ErrorBody)))]
async fn logout(
    State(state): State<AppState>,
    conn: Connection,
    headers: HeaderMap,
) -> AppResult<impl IntoResponse> {
    if let Some(secret) = cookie_token(&headers) {
        db::delete_session(&state.db, &secret_hash(&secret)).await?;
    }
    let mut out = HeaderMap::new();
    out.insert(SET_COOKIE, session_cookie("", 0, conn.https)?);
    Ok((out, Json(json!({ "ok": true }))))
}

/// The query of `GET /api/me`.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct MeQuery {
    /// With `optional=true`, nobody logged in is answered 200 with `null` instead of 401, so
    /// that the browser's probe on the login page is not a failed request.
    #[serde(default)]
    optional: bool,
}

#[utoipa::path(get, path = "/api/me", tag = "accounts", params(MeQuery), responses((status = 200, description = "Success", body = serde_json::Value, content_type = "application/json"), (status = "4XX", description = "Refused, with the reason", body = crate::error::ErrorBody)))]
async fn me(
    State(state): State<AppState>,
    crate::extract::Query(query): crate::extract::Query<MeQuery>,
    user: Result<CurrentUser, AppError>,
) -> AppResult<Response> {
    let user = match user {
        Ok(user) => user,
        Err(AppError::Unauthenticated) if query.optional => {
            return Ok(Json(serde_json::Value::Null).into_response());
        }
        Err(e) => return Err(e),
    };
    let name = db::user_name(&state.db, user.id).await?;
    let is_admin = db::is_instance_admin(&state.db, user.id).await?;
    let can_create_projects = crate::projects::may_create(&state, user).await?;
    Ok(Json(
        json!({ "id": user.id, "name": name, "is_admin": is_admin, "can_create_projects": can_create_projects }),
    )
    .into_response())
}
