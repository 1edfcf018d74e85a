//! The API's input extractors: drop-in `Json`, `Query` and `Path` with axum's tuple API whose
//! rejections answer in the error shape (`{"error":{"code","message","field"}}`) with a stable
//! code, instead of axum's text/plain sentences that name Rust types.
//!
//! Stage modules import these instead of axum's (`use crate::extract::Json`); a `Json` answer
//! serialises exactly as axum's does. The codes:
//!
//! | code | status | when |
//! |---|---|---|
//! | `invalid_json` | 400 | the body is not JSON |
//! | `invalid_body` | 400 | JSON of the wrong shape: a wrong type, a missing or unknown field |
//! | `unsupported_media_type` | 415 | no `Content-Type: application/json` |
//! | `too_large` | 413 | the body is over the route's limit |
//! | `invalid_query` | 400 | the query string does not parse |
//! | `invalid_path` | 400 | a path segment does not parse (a non-numeric id) |
//!
//! It owns only the translation of rejections; what a handler does with valid input is the
//! stage's business. The catch-all for responses that never pass through an extractor (a
//! multipart boundary, tower-http's body limit) is in [`crate::edge`].

use std::sync::LazyLock;

use axum::body::Bytes;
use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, OptionalFromRequest, Request};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::AppError;

/// A JSON body in, or a JSON answer out; a refused body answers in the error shape.
///
/// An integral float (`3.0`) is an integer in JSON Schema, so an `integer` field takes it: a
/// body that fails only for that is read again with such numbers as integers.
#[derive(Debug, Clone, Copy, Default)]
pub struct Json<T>(pub T);

impl<T, S> FromRequest<S> for Json<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = AppError;

    async fn from_request(request: Request, state: &S) -> Result<Self, AppError> {
        let headers = request.headers().clone();
        let bytes = Bytes::from_request(request, state)
            .await
            .map_err(JsonRejection::from)?;
        if has_nul(&bytes) {
            return Err(AppError::BadRequest {
                code: "nul_character",
                message: "text may not contain the NUL character (U+0000)".into(),
                field: None,
            });
        }
        let mut again = Request::new(axum::body::Body::from(bytes.clone()));
        *again.headers_mut() = headers;
        match <axum::Json<T> as FromRequest<S>>::from_request(again, state).await {
            Ok(axum::Json(value)) => Ok(Json(value)),
            Err(JsonRejection::JsonDataError(e)) => integral(&bytes)
                .map(Json)
                .ok_or(JsonRejection::JsonDataError(e).into()),
            Err(other) => Err(other.into()),
        }
    }
}

/// Whether a JSON text holds a string with U+0000 (the escape `\u0000`, not preceded by
/// another backslash that would make it literal text). No database stores it alike: Postgres
/// refuses it in TEXT and SQLite keeps it, so every body with one is refused, on both.
fn has_nul(bytes: &[u8]) -> bool {
    bytes.windows(6).enumerate().any(|(i, w)| {
        w[0] == b'\\'
            && w[1] == b'u'
            && w[2..].iter().all(|&b| b == b'0')
            && bytes[..i].iter().rev().take_while(|&&b| b == b'\\').count() % 2 == 0
    })
}

/// `bytes` as `T` after turning every integral float that fits an `i64` into an integer, or
/// `None` when that does not help (the first error stands).
fn integral<T: DeserializeOwned>(bytes: &[u8]) -> Option<T> {
    fn walk(v: &mut serde_json::Value) -> bool {
        match v {
            serde_json::Value::Number(n) if n.is_f64() => {
                let f = n.as_f64().unwrap_or(f64::NAN);
                // 2^63 itself does not fit; below it every integral f64 does.
                if f.fract() == 0.0 && f.abs() < 9.223_372_036_854_776e18 {
                    *v = serde_json::Value::from(f as i64);
                    return true;
                }
                false
            }
            serde_json::Value::Array(items) => items.iter_mut().fold(false, |c, i| walk(i) | c),
            serde_json::Value::Object(map) => map.values_mut().fold(false, |c, i| walk(i) | c),
            _ => false,
        }
    }
    let mut value: serde_json::Value = serde_json::from_slice(bytes).ok()?;
    if !walk(&mut value) {
        return None;
    }
    T::deserialize(value).ok()
}

impl<T: Serialize> IntoResponse for Json<T> {
    fn into_response(self) -> Response {
        axum::Json(self.0).into_response()
    }
}

/// `Option<Json<T>>`: no `Content-Type` is `None` (an optional body); a body that is there must be
/// JSON and must parse.
impl<T, S> OptionalFromRequest<S> for Json<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = AppError;

    async fn from_request(request: Request, state: &S) -> Result<Option<Self>, AppError> {
        if !request
            .headers()
            .contains_key(axum::http::header::CONTENT_TYPE)
        {
            return Ok(None);
        }
        <Self as FromRequest<S>>::from_request(request, state)
            .await
            .map(Some)
    }
}

/// The query string, deserialised; a bad one is 400 `invalid_query`.
#[derive(Debug, Clone, Copy, Default, FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(AppError))]
pub struct Query<T>(pub T);

/// Path parameters, deserialised; a bad one (`/api/segments/abc`) is 400 `invalid_path`.
#[derive(Debug, Clone, Copy, Default, FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(AppError))]
pub struct Path<T>(pub T);

impl From<JsonRejection> for AppError {
    fn from(rejection: JsonRejection) -> Self {
        match rejection {
            JsonRejection::JsonSyntaxError(e) => AppError::BadRequest {
                code: "invalid_json",
                message: format!("the body is not valid JSON: {}", detail(&e)),
                field: None,
            },
            JsonRejection::JsonDataError(e) => AppError::BadRequest {
                code: "invalid_body",
                message: format!("the body does not match the schema: {}", detail(&e)),
                field: None,
            },
            JsonRejection::MissingJsonContentType(_) => AppError::Status(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "send the body as JSON with `Content-Type: application/json`".into(),
            ),
            JsonRejection::BytesRejection(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                AppError::TooLarge("the body is larger than this endpoint accepts".into())
            }
            other => AppError::BadRequest {
                code: "invalid_body",
                message: format!("the body could not be read: {}", plain(&other.body_text())),
                field: None,
            },
        }
    }
}

impl From<QueryRejection> for AppError {
    fn from(rejection: QueryRejection) -> Self {
        let message = match &rejection {
            QueryRejection::FailedToDeserializeQueryString(e) => detail(e),
            other => plain(&other.body_text()),
        };
        AppError::BadRequest {
            code: "invalid_query",
            message: format!("the query string is not valid: {message}"),
            field: None,
        }
    }
}

impl From<PathRejection> for AppError {
    fn from(rejection: PathRejection) -> Self {
        match rejection {
            PathRejection::FailedToDeserializePathParams(e) => AppError::BadRequest {
                code: "invalid_path",
                message: format!("the path is not valid: {}", plain(&e.body_text())),
                field: None,
            },
            other => AppError::Internal(anyhow::anyhow!("path extraction: {}", other.body_text())),
        }
    }
}

/// The innermost cause of a rejection (serde's sentence), without Rust type names.
fn detail(e: &dyn std::error::Error) -> String {
    let mut inner = e;
    while let Some(next) = inner.source() {
        inner = next;
    }
    plain(&inner.to_string())
}

/// Rewrites serde's and axum's Rust vocabulary (`expected i64`, `struct Save`, `` a `u32` ``)
/// into the JSON words a client knows.
pub(crate) fn plain(message: &str) -> String {
    static INTEGER: LazyLock<regex::Regex> = LazyLock::new(|| {
        regex::Regex::new(r"`?\b(?:[iu](?:8|16|32|64|128|size))\b`?").expect("valid regex")
    });
    static NUMBER: LazyLock<regex::Regex> =
        LazyLock::new(|| regex::Regex::new(r"`?\bf(?:32|64)\b`?").expect("valid regex"));
    static NAMED: LazyLock<regex::Regex> = LazyLock::new(|| {
        regex::Regex::new(r"\b(struct|enum|tuple struct) [A-Za-z_][A-Za-z0-9_:<>]*")
            .expect("valid regex")
    });
    let message = NAMED.replace_all(message, |c: &regex::Captures| match &c[1] {
        "enum" => "one of the allowed values",
        _ => "an object",
    });
    let message = INTEGER.replace_all(&message, "integer");
    let message = NUMBER.replace_all(&message, "number");
    message.replace("a integer", "an integer")
}

#[cfg(test)]
mod tests {
    use super::plain;

    #[test]
    fn serde_sentences_lose_their_rust_type_names() {
        assert_eq!(
            plain("invalid type: string \"x\", expected i64"),
            "invalid type: string \"x\", expected integer"
        );
        assert_eq!(
            plain("invalid type: integer `3`, expected struct Save"),
            "invalid type: integer `3`, expected an object"
        );
        assert_eq!(
            plain("Cannot parse `abc` to a `u32`"),
            "Cannot parse `abc` to an integer"
        );
        assert_eq!(plain("expected f64"), "expected number");
        assert_eq!(plain("missing field `version`"), "missing field `version`");
    }
}

#[cfg(test)]
mod nul_tests {
    use super::has_nul;

    #[test]
    fn a_nul_escape_is_found_and_a_literal_backslash_u_is_not() {
        assert!(has_nul(br#"{"t":"a\u0000b"}"#));
        assert!(has_nul(br#"{"t":"\\\u0000"}"#));
        assert!(!has_nul(br#"{"t":"\\u0000"}"#));
        assert!(!has_nul(br#"{"t":"\u0001 and u0000"}"#));
    }
}
