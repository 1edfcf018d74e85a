//! The browser workbench: serves the plain ES modules of `web/` (embedded in the binary; read
//! from disk in debug builds) with a strict Content-Security-Policy, and stores each user's
//! workbench settings (shortcut remapping, playback speed) at `/api/me/settings`.
//!
//! It owns no data of the other stages: every view talks to their JSON APIs. It does not render
//! any user text on the server; the browser code puts text into the DOM with `textContent`.

mod settings;

use axum::Router;
use axum::extract::Path;
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use crate::app::AppState;

#[derive(rust_embed::RustEmbed)]
#[folder = "web/"]
struct Assets;

/// The policy sent with every page and asset: scripts, styles, media and connections only
/// from this origin; no inline code, no plugins, no framing.
pub const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; \
     img-src 'self' blob: data:; media-src 'self' blob:; connect-src 'self'; font-src 'self'; \
     object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// Routes: the app shell at `/` and its modules under `/web/`. Not API, so not in the OpenAPI
/// document.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(index))
        .route("/web/{*path}", get(asset))
}

/// The settings endpoint, an API route like the others.
pub fn settings_router() -> utoipa_axum::router::OpenApiRouter<AppState> {
    settings::router()
}

async fn index() -> Response {
    serve("index.html")
}

async fn asset(Path(path): Path<String>) -> Response {
    serve(&path)
}

fn content_type(path: &str) -> &'static str {
    match path.rsplit('.').next().unwrap_or("") {
        "html" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "json" => "application/json",
        "ico" => "image/x-icon",
        _ => "application/octet-stream",
    }
}

fn serve(path: &str) -> Response {
    let Some(file) = Assets::get(path) else {
        return crate::error::AppError::NotFound.into_response();
    };
    let headers = [
        (CONTENT_TYPE, HeaderValue::from_static(content_type(path))),
        // Small files and no build step: revalidate every time, so an upgrade is seen at once.
        (CACHE_CONTROL, HeaderValue::from_static("no-cache")),
        (
            HeaderName::from_static("content-security-policy"),
            HeaderValue::from_static(CSP),
        ),
        (
            HeaderName::from_static("x-content-type-options"),
            HeaderValue::from_static("nosniff"),
        ),
        (
            HeaderName::from_static("referrer-policy"),
            HeaderValue::from_static("same-origin"),
        ),
    ];
    (StatusCode::OK, headers, file.data.into_owned()).into_response()
}
