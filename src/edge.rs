//! The HTTP edge, wrapped around the whole router (API, upload, event stream, static files):
//! the cross-origin check on every state-changing request, the security headers on every
//! response, and the catch-all that puts any non-JSON error into the API's error shape.
//!
//! Decisions worth knowing:
//! - **CSRF by origin, not by token.** A POST/PUT/PATCH/DELETE that carries the session cookie
//!   must come from this server's own origin: its `Origin` (or, when that is absent or `null`,
//!   `Sec-Fetch-Site: same-origin`/`none`, or a `Referer`) must name the host and port the request
//!   was sent to (`Host`). Anything else is 403 `cross_origin`, whatever the content type:
//!   `SameSite=Strict` alone does not stop another port of the same host, which is same-site.
//!   A request with no cookie (a script with `Authorization: Bearer`) cannot be forged by a
//!   browser and passes.
//! - **`Referrer-Policy: same-origin`**, not `no-referrer`: under `no-referrer` a browser sends
//!   `Origin: null` on a same-origin POST (Fetch, "append a request Origin header"), which the
//!   check above could not tell from a sandboxed foreign page on plain http.
//! - **Extractors first, catch-all last.** Handlers' own input errors come from
//!   [`crate::extract`] with precise codes; this layer only rewrites the few error answers that
//!   never passed through one (a multipart rejection, a body-limit layer), keyed by status.

use axum::Router;
use axum::extract::Request;
use axum::http::header::{
    CONTENT_LENGTH, CONTENT_SECURITY_POLICY, CONTENT_TYPE, COOKIE, HOST, ORIGIN, REFERER,
    REFERRER_POLICY, X_CONTENT_TYPE_OPTIONS, X_FRAME_OPTIONS,
};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use tower_http::set_header::SetResponseHeaderLayer;

use crate::error::AppError;

/// Wraps a finished router in the edge layers: headers outermost, so that refusals carry them.
pub fn wrap(router: Router) -> Router {
    router
        .layer(middleware::map_response(json_errors))
        .layer(middleware::from_fn(same_origin))
        .layer(SetResponseHeaderLayer::overriding(
            X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            X_FRAME_OPTIONS,
            HeaderValue::from_static("DENY"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            REFERRER_POLICY,
            HeaderValue::from_static("same-origin"),
        ))
        // The UI sets its full policy (which also says `frame-ancestors 'none'`); API answers,
        // media and errors get this one.
        .layer(SetResponseHeaderLayer::if_not_present(
            CONTENT_SECURITY_POLICY,
            HeaderValue::from_static("frame-ancestors 'none'"),
        ))
}

/// Refuses a state-changing request with the session cookie from another origin.
async fn same_origin(request: Request, next: Next) -> Response {
    let state_changing = matches!(
        *request.method(),
        Method::POST | Method::PUT | Method::PATCH | Method::DELETE
    );
    if state_changing && has_session_cookie(request.headers()) && !from_own_origin(&request) {
        return AppError::Status(
            StatusCode::FORBIDDEN,
            "cross_origin",
            "this request came from another site; send it from the fangyan page itself".into(),
        )
        .into_response();
    }
    next.run(request).await
}

fn has_session_cookie(headers: &HeaderMap) -> bool {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|all| all.split(';'))
        .any(|kv| kv.trim().split_once('=').map(|(k, _)| k) == Some(crate::accounts::COOKIE_NAME))
}

/// Whether the browser says the request comes from the origin it is sent to.
fn from_own_origin(request: &Request) -> bool {
    let headers = request.headers();
    let Some(own) = headers
        .get(HOST)
        .and_then(|h| h.to_str().ok())
        .or_else(|| request.uri().authority().map(|a| a.as_str()))
    else {
        return false;
    };
    let origin = headers.get(ORIGIN).and_then(|v| v.to_str().ok());
    if let Some(origin) = origin.filter(|o| *o != "null") {
        return same_authority(origin, own);
    }
    if let Some(site) = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()) {
        return matches!(site, "same-origin" | "none");
    }
    headers
        .get(REFERER)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|referer| same_authority(referer, own))
}

/// Whether a URL (`Origin` or `Referer`) names the host and port of `own` (a `Host` value).
fn same_authority(url: &str, own: &str) -> bool {
    let Ok(url) = url.parse::<Uri>() else {
        return false;
    };
    let (Some(scheme), Some(authority)) = (url.scheme_str(), url.authority()) else {
        return false;
    };
    let default_port = match scheme {
        "http" => 80,
        "https" => 443,
        _ => return false,
    };
    let Ok(own) = format!("{scheme}://{own}").parse::<Uri>() else {
        return false;
    };
    let Some(own) = own.authority() else {
        return false;
    };
    authority.host().eq_ignore_ascii_case(own.host())
        && authority.port_u16().unwrap_or(default_port) == own.port_u16().unwrap_or(default_port)
}

/// Puts an error answer that is not JSON (from axum or tower-http, never from a handler) into
/// the error shape, keeping its status and headers.
async fn json_errors(response: Response) -> Response {
    let status = response.status();
    let is_json = response
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.starts_with("application/json"));
    if !(status.is_client_error() || status.is_server_error()) || is_json {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let text = axum::body::to_bytes(body, 1024)
        .await
        .map(|b| String::from_utf8_lossy(&b).trim().to_string())
        .unwrap_or_default();
    let (code, sentence) = code_for(status);
    // A 5xx's own text may hold details meant for the log, not the client.
    let message = if text.is_empty() || status.is_server_error() {
        sentence.to_string()
    } else {
        format!("{sentence}: {}", crate::extract::plain(&text))
    };
    let json = AppError::Status(status, code, message).into_response();
    parts.headers.remove(CONTENT_LENGTH);
    parts
        .headers
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    Response::from_parts(parts, json.into_body())
}

/// The stable code and a sentence for an error status that reached the catch-all.
fn code_for(status: StatusCode) -> (&'static str, &'static str) {
    match status.as_u16() {
        400 => ("bad_request", "the request is malformed"),
        401 => ("unauthenticated", "log in first"),
        403 => ("forbidden", "not allowed"),
        404 => ("not_found", "not found"),
        405 => (
            "method_not_allowed",
            "this endpoint does not take this method",
        ),
        408 => ("timeout", "the request took too long"),
        411 => ("length_required", "send a Content-Length"),
        413 => ("too_large", "the body is larger than this endpoint accepts"),
        414 => ("uri_too_long", "the address is too long"),
        415 => (
            "unsupported_media_type",
            "this content type is not accepted here",
        ),
        416 => ("range_not_satisfiable", "the range is outside the file"),
        422 => ("unprocessable", "the request cannot be processed"),
        429 => ("too_many_requests", "too many requests; wait and try again"),
        431 => ("headers_too_large", "the request headers are too large"),
        503 => ("unavailable", "the server is busy; try again in a moment"),
        s if s >= 500 => ("internal", "internal error"),
        _ => ("bad_request", "the request was refused"),
    }
}
