//! Logs: text or JSON lines on stderr, a request id on every request, one access line per
//! answer.
//!
//! Decisions worth knowing:
//! - **The request id** is the client's `x-request-id` when it is short and plain (1 to 64 of
//!   `A-Z a-z 0-9 - _ . :`, enough for a UUID or a proxy's id), otherwise a fresh UUID; it is
//!   sent back in the response's `x-request-id` and is a field of the request's span, so every
//!   line logged while the request runs carries it.
//! - **The access line names the route template, not the path**, and no headers or query: no
//!   password, cookie, token or search text reaches the log from here. The span holds the
//!   method, route, request id, status and latency.
//! - **The filter** is `RUST_LOG` when set; by default fangyan's own lines from info up (the
//!   access lines are target `fangyan::access`) and other crates' warnings.

use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{MatchedPath, Request};
use axum::http::{HeaderName, Response};
use axum::middleware;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;
use tracing::Span;

/// The request id header, read and answered.
pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The longest client-sent request id kept.
const MAX_REQUEST_ID: usize = 64;

/// The filter when `RUST_LOG` is unset. symphonia warns about recoverable oddities (junk
/// bytes before a header) that fangyan reports itself, as warnings on the recording.
const DEFAULT_FILTER: &str = "warn,fangyan=info,symphonia_core=error,symphonia_format_riff=error";

/// How log lines are written (`--log-format`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Text,
    /// One JSON object per line, with the current span's fields (the request id among them).
    Json,
}

/// Installs the global subscriber: stderr, `RUST_LOG` or the default filter, in `format`.
pub fn init(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| DEFAULT_FILTER.into());
    let fmt = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Text => fmt.init(),
        LogFormat::Json => fmt
            .json()
            .with_current_span(true)
            .with_span_list(false)
            .init(),
    }
}

/// Gives every request an id (kept from the client when well-formed, see the module docs),
/// a span and an access line, and answers the id in the response header.
pub fn wrap(router: Router) -> Router {
    // Layers run outside in, bottom to top: the bad id is dropped, a fresh one set, then the
    // span opens around the rest; the id is copied to the response on the way out.
    router
        .layer(PropagateRequestIdLayer::new(REQUEST_ID))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(span)
                .on_request(())
                .on_response(answered)
                .on_failure(()),
        )
        .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
        .layer(middleware::map_request(drop_malformed_id))
}

/// Whether a client-sent request id is kept.
pub fn well_formed_id(id: &[u8]) -> bool {
    (1..=MAX_REQUEST_ID).contains(&id.len())
        && id
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'))
}

async fn drop_malformed_id(mut request: Request) -> Request {
    let headers = request.headers_mut();
    let ids: Vec<_> = headers.get_all(&REQUEST_ID).iter().collect();
    if ids.len() > 1 || ids.first().is_some_and(|v| !well_formed_id(v.as_bytes())) {
        headers.remove(&REQUEST_ID);
    }
    request
}

fn span(request: &Request<Body>) -> Span {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or(super::metrics::UNMATCHED, MatchedPath::as_str);
    let id = request
        .headers()
        .get(&REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    tracing::info_span!(
        target: "fangyan::access",
        "request",
        method = %request.method(),
        route,
        request_id = id,
        status = tracing::field::Empty,
        latency_ms = tracing::field::Empty,
    )
}

fn answered(response: &Response<Body>, latency: Duration, span: &Span) {
    span.record("status", response.status().as_u16());
    span.record("latency_ms", latency.as_secs_f64() * 1000.0);
    tracing::info!(target: "fangyan::access", "answered");
}

#[cfg(test)]
mod tests {
    use super::well_formed_id;

    #[test]
    fn plain_short_ids_are_kept_and_others_replaced() {
        assert!(well_formed_id(b"0b9e3c1a-5f5e-4c5e-9d7e-1c2f3a4b5c6d"));
        assert!(well_formed_id(b"nginx:abc.123_x"));
        assert!(!well_formed_id(b""));
        assert!(!well_formed_id(&[b'a'; 65]));
        assert!(!well_formed_id(b"a b"));
        assert!(!well_formed_id(b"a\"}{"));
        assert!(!well_formed_id("编号".as_bytes()));
    }
}
