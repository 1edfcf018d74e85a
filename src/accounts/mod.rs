//! Accounts: users, password login with a session cookie, API tokens for scripts, and the
//! `CurrentUser` extractor every other stage uses. Passwords are argon2id; session and token
//! secrets are random 256-bit values of which only SHA-256 hashes are stored.

pub mod db;

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::extract::Json;
use argon2::Argon2;
use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use axum::extract::{FromRequestParts, State};
use axum::http::header::{AUTHORIZATION, COOKIE, SET_COOKIE};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue};
use axum::response::IntoResponse;
use serde::Deserialize;
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::app::AppState;
use crate::error::{AppError, AppResult};

/// Name of the session cookie.
pub const COOKIE_NAME: &str = "fangyan_session";
/// Session lifetime.
const SESSION_MS: i64 = 7 * 24 * 3600 * 1000;
/// Failed logins per name allowed within the window before answering 429.
const MAX_FAILURES: u32 = 5;
const FAILURE_WINDOW: Duration = Duration::from_secs(60);

/// Hashes a password with argon2id and a random salt.
pub fn hash_password(password: &str) -> anyhow::Result<String> {
    let salt = SaltString::generate(&mut OsRng);
    Ok(Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map_err(|e| anyhow::anyhow!("hashing failed: {e}"))?
        .to_string())
}

fn verify_password(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|h| {
        Argon2::default()
            .verify_password(password.as_bytes(), &h)
            .is_ok()
    })
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

/// Remembers recent failed logins per name, to slow down guessing.
#[derive(Default)]
pub struct LoginThrottle(Mutex<HashMap<String, (u32, Instant)>>);

impl LoginThrottle {
    fn blocked(&self, name: &str) -> bool {
        let map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        map.get(name)
            .is_some_and(|(n, since)| *n >= MAX_FAILURES && since.elapsed() < FAILURE_WINDOW)
    }

    fn record(&self, name: &str, ok: bool) {
        let mut map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if ok {
            map.remove(name);
            return;
        }
        let entry = map.entry(name.to_string()).or_insert((0, Instant::now()));
        if entry.1.elapsed() >= FAILURE_WINDOW {
            *entry = (0, Instant::now());
        }
        entry.0 += 1;
    }
}

/// The authenticated caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CurrentUser {
    /// User id.
    pub id: i64,
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

impl FromRequestParts<AppState> for CurrentUser {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> AppResult<Self> {
        let bearer = parts
            .headers
            .get(AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::to_string);
        let secret = bearer
            .or_else(|| cookie_token(&parts.headers))
            .ok_or(AppError::Unauthenticated)?;
        let id = db::user_for_secret(&state.db, &secret_hash(&secret))
            .await?
            .ok_or(AppError::Unauthenticated)?;
        Ok(CurrentUser { id })
    }
}

/// Routes: login, logout, tokens.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(login))
        .routes(routes!(logout))
        .routes(routes!(create_token))
        .routes(routes!(me))
}

#[derive(Deserialize, utoipa::ToSchema)]
struct LoginRequest {
    name: String,
    password: String,
}

#[utoipa::path(post, path = "/api/login", tag = "accounts", responses((status = 200, description = "Success", body = serde_json::Value, content_type = "application/json"), (status = "4XX", description = "Refused, with the reason", body = crate::error::ErrorBody)))]
async fn login(
    State(state): State<AppState>,
    Json(req): Json<LoginRequest>,
) -> AppResult<impl IntoResponse> {
    if state.throttle.blocked(&req.name) {
        return Err(AppError::TooManyRequests);
    }
    let user = db::user_by_name(&state.db, &req.name).await?;
    let password = req.password.clone();
    let ok = match &user {
        Some((_, hash)) => {
            let hash = hash.clone();
            tokio::task::spawn_blocking(move || verify_password(&password, &hash))
                .await
                .map_err(anyhow::Error::from)?
        }
        None => false,
    };
    state.throttle.record(&req.name, ok);
    let Some((id, _)) = user.filter(|_| ok) else {
        return Err(AppError::BadRequest {
            code: "bad_credentials",
            message: "wrong name or password".into(),
            field: Some("password"),
        });
    };
    let (secret, hash) = new_secret();
    db::create_session(&state.db, id, &hash, crate::db::now_ms() + SESSION_MS).await?;
    let cookie = format!(
        "{COOKIE_NAME}={secret}; HttpOnly; SameSite=Strict; Path=/; Max-Age={}",
        SESSION_MS / 1000
    );
    let mut headers = HeaderMap::new();
    headers.insert(
        SET_COOKIE,
        HeaderValue::from_str(&cookie).map_err(anyhow::Error::from)?,
    );
    Ok((
        headers,
        Json(json!({ "user": { "id": id, "name": req.name } })),
    ))
}

#[utoipa::path(post, path = "/api/logout", tag = "accounts", responses((status = 200, description = "Success", body = serde_json::Value, content_type = "application/json"), (status = "4XX", description = "Refused, with the reason", body = crate::error::ErrorBody)))]
async fn logout(State(state): State<AppState>, headers: HeaderMap) -> AppResult<impl IntoResponse> {
    if let Some(secret) = cookie_token(&headers) {
        db::delete_session(&state.db, &secret_hash(&secret)).await?;
    }
    let mut out = HeaderMap::new();
    out.insert(
        SET_COOKIE,
        HeaderValue::from_static("fangyan_session=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0"),
    );
    Ok((out, Json(json!({ "ok": true }))))
}

#[derive(Deserialize, utoipa::ToSchema)]
struct TokenRequest {
    name: String,
}

#[utoipa::path(post, path = "/api/tokens", tag = "accounts", responses((status = 200, description = "Success", body = serde_json::Value, content_type = "application/json"), (status = "4XX", description = "Refused, with the reason", body = crate::error::ErrorBody)))]
async fn create_token(
    State(state): State<AppState>,
    user: CurrentUser,
    Json(req): Json<TokenRequest>,
) -> AppResult<impl IntoResponse> {
    let (secret, hash) = new_secret();
    db::create_token(&state.db, user.id, &req.name, &hash).await?;
    Ok(Json(json!({ "token": secret, "name": req.name })))
}

#[utoipa::path(get, path = "/api/me", tag = "accounts", responses((status = 200, description = "Success", body = serde_json::Value, content_type = "application/json"), (status = "4XX", description = "Refused, with the reason", body = crate::error::ErrorBody)))]
async fn me(State(state): State<AppState>, user: CurrentUser) -> AppResult<impl IntoResponse> {
    let name = db::user_name(&state.db, user.id).await?;
    let is_admin = db::is_instance_admin(&state.db, user.id).await?;
    let can_create_projects = crate::projects::may_create(&state, user).await?;
    Ok(Json(
        json!({ "id": user.id, "name": name, "is_admin": is_admin, "can_create_projects": can_create_projects }),
    ))
}
