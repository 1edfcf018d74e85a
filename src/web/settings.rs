//! Per-user workbench settings: one JSON object per user (shortcut remapping, playback speed,
//! view toggles). The browser owns the shape; the server checks it is an object of at most
//! 16 KiB and stores it whole (last write wins: settings are not collaborative data).

use crate::extract::Json;
use axum::extract::State;
use sqlx::Row;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::accounts::CurrentUser;
use crate::app::AppState;
use crate::db::now_ms;
use crate::error::{AppError, AppResult};

const MAX_SETTINGS_BYTES: usize = 16 * 1024;

/// Routes: read and replace the caller's settings.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(read, write))
}

#[utoipa::path(get, path = "/api/me/settings", tag = "accounts", responses((status = 200, description = "Success", body = serde_json::Value, content_type = "application/json"), (status = "4XX", description = "Refused, with the reason", body = crate::error::ErrorBody)))]
async fn read(
    State(state): State<AppState>,
    user: CurrentUser,
) -> AppResult<Json<serde_json::Value>> {
    let row = sqlx::query("SELECT settings FROM user_settings WHERE user_id = $1")
        .bind(user.id)
        .fetch_optional(&state.db)
        .await?;
    let text: String = match row {
        Some(r) => r.try_get("settings")?,
        None => "{}".into(),
    };
    let value = serde_json::from_str(&text).unwrap_or_else(|_| serde_json::json!({}));
    Ok(Json(value))
}

#[utoipa::path(put, path = "/api/me/settings", tag = "accounts", request_body(content = std::collections::HashMap<String, serde_json::Value>, content_type = "application/json", description = "A JSON object, at most 16 KiB"), responses((status = 200, description = "Success", body = serde_json::Value, content_type = "application/json"), (status = "4XX", description = "Refused, with the reason", body = crate::error::ErrorBody)))]
async fn write(
    State(state): State<AppState>,
    user: CurrentUser,
    Json(value): Json<serde_json::Value>,
) -> AppResult<Json<serde_json::Value>> {
    if !value.is_object() {
        return Err(AppError::bad(
            "invalid_settings",
            "settings",
            "settings are a JSON object",
        ));
    }
    let text = value.to_string();
    if text.len() > MAX_SETTINGS_BYTES {
        return Err(AppError::bad(
            "settings_too_large",
            "settings",
            "settings are limited to 16 KiB",
        ));
    }
    sqlx::query(
        "INSERT INTO user_settings (user_id, settings, updated_at) VALUES ($1, $2, $3) \
         ON CONFLICT (user_id) DO UPDATE SET settings = excluded.settings, updated_at = excluded.updated_at",
    )
    .bind(user.id)
    .bind(&text)
    .bind(now_ms())
    .execute(&state.db)
    .await?;
    Ok(Json(value))
}
