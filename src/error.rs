//! `AppError`: the one error type of the HTTP API, with one JSON shape for every error:
//! `{"error":{"code":…,"message":…,"field":…}}`. Client errors carry a stable code and a
//! sentence; server errors are logged in full and answered without details.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::audio::IngestError;

/// An error answered to an API client.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// 400: the request is malformed; `field` names the culprit when there is one.
    #[error("{message}")]
    BadRequest {
        /// Stable code.
        code: &'static str,
        /// Sentence for people.
        message: String,
        /// The offending field.
        field: Option<&'static str>,
    },
    /// 401: not logged in.
    #[error("log in first")]
    Unauthenticated,
    /// 403: logged in, known to the project, but not allowed to do this.
    #[error("{0}")]
    Forbidden(String),
    /// 404: does not exist, or the caller is not a member of its project.
    #[error("not found")]
    NotFound,
    /// 404/405 from the router: no such endpoint, or not with this method. Code `no_route`.
    #[error("{0}")]
    NoRoute(&'static str),
    /// 409: the caller's version is stale; the body carries the current state.
    #[error("the segment was changed by someone else")]
    Conflict(serde_json::Value),
    /// 409 with its own stable code: the request clashes with data in use (e.g. removing a
    /// tag value that segments carry).
    #[error("{1}")]
    InUse(&'static str, String),
    /// 413: too large.
    #[error("{0}")]
    TooLarge(String),
    /// 429: too many attempts.
    #[error("too many attempts; wait a minute and try again")]
    TooManyRequests,
    /// 503: the server is at its limit of work in flight, or the request took too long; the
    /// client may retry. The code is `overloaded` or `timeout`.
    #[error("{1}")]
    Unavailable(&'static str, &'static str),
    /// An ingest refusal: its own status and code.
    #[error(transparent)]
    Ingest(#[from] IngestError),
    /// 500: a bug or a broken machine. Details are logged, not sent.
    #[error("internal error")]
    Internal(#[from] anyhow::Error),
    /// Any other client-error status with its stable code and a sentence, e.g. 415
    /// `unsupported_media_type` or 422. A 5xx here is logged like [`AppError::Internal`].
    #[error("{2}")]
    Status(StatusCode, &'static str, String),
}

impl From<sqlx::Error> for AppError {
    fn from(e: sqlx::Error) -> Self {
        match e {
            sqlx::Error::RowNotFound => AppError::NotFound,
            // A write that clashes with a row written meanwhile (a unique constraint no earlier
            // check could have caught without a lock): the client's to resolve, not a 500.
            // Writers that expect a particular clash map it to their own code first.
            sqlx::Error::Database(d) if d.is_unique_violation() => AppError::InUse(
                "already_exists",
                "this clashes with a change made meanwhile; reload and try again".into(),
            ),
            // Text Postgres cannot store (U+0000 from a query string or a file): the input's
            // fault. JSON bodies are refused before they get here (`extract::Json`).
            sqlx::Error::Database(d) if matches!(d.code().as_deref(), Some("22021" | "22P05")) => {
                AppError::BadRequest {
                    code: "nul_character",
                    message: "text may not contain the NUL character (U+0000)".into(),
                    field: None,
                }
            }
            // The database is saturated (no pooled connection, or the embedded writer's queue
            // did not move for its whole wait): retryable, not a fault.
            sqlx::Error::PoolTimedOut => AppError::Unavailable(
                "database_busy",
                "the database is busy; try again in a moment",
            ),
            other => AppError::Internal(other.into()),
        }
    }
}

impl AppError {
    /// A 400 naming the field at fault.
    pub fn bad(code: &'static str, field: &'static str, message: impl Into<String>) -> Self {
        AppError::BadRequest {
            code,
            message: message.into(),
            field: Some(field),
        }
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let (status, code, field) = match &self {
            AppError::BadRequest { code, field, .. } => (StatusCode::BAD_REQUEST, *code, *field),
            AppError::Unauthenticated => (StatusCode::UNAUTHORIZED, "unauthenticated", None),
            AppError::Forbidden(_) => (StatusCode::FORBIDDEN, "forbidden", None),
            AppError::NotFound => (StatusCode::NOT_FOUND, "not_found", None),
            AppError::NoRoute(m) if m.contains("method") => {
                (StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed", None)
            }
            AppError::NoRoute(_) => (StatusCode::NOT_FOUND, "no_route", None),
            AppError::Conflict(current) => {
                let body = json!({ "error": {
                    "code": "version_conflict", "message": self.to_string(), "field": "version",
                    "current": current,
                }});
                return (StatusCode::CONFLICT, Json(body)).into_response();
            }
            AppError::InUse(code, _) => (StatusCode::CONFLICT, *code, None),
            AppError::TooLarge(_) => (StatusCode::PAYLOAD_TOO_LARGE, "too_large", None),
            AppError::TooManyRequests => (StatusCode::TOO_MANY_REQUESTS, "too_many_requests", None),
            AppError::Ingest(e) => (
                StatusCode::from_u16(e.http_status()).unwrap_or(StatusCode::UNPROCESSABLE_ENTITY),
                e.code(),
                None,
            ),
            AppError::Unavailable(code, _) => (StatusCode::SERVICE_UNAVAILABLE, *code, None),
            AppError::Internal(e) => {
                tracing::error!("internal error: {e:#}");
                (StatusCode::INTERNAL_SERVER_ERROR, "internal", None)
            }
            AppError::Status(status, code, message) => {
                if status.is_server_error() {
                    tracing::error!("{status} {code}: {message}");
                }
                (*status, *code, None)
            }
        };
        let body =
            json!({ "error": { "code": code, "message": self.to_string(), "field": field } });
        (status, Json(body)).into_response()
    }
}

/// The error shape, for the OpenAPI document.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub struct ErrorBody {
    /// The error.
    error: ErrorDetail,
}

/// Inside [`ErrorBody`].
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub struct ErrorDetail {
    /// Stable machine-readable code, such as `not_found` or `unsupported_codec`.
    code: String,
    /// A sentence for people.
    message: String,
    /// The request field at fault, when there is one.
    field: Option<String>,
}

/// Result alias for handlers.
pub type AppResult<T> = Result<T, AppError>;
