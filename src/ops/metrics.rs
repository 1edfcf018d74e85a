//! `/metrics` in the Prometheus text exposition format: request latency by route, the job
//! queue, ingest durations.
//!
//! Decisions worth knowing:
//! - **Routes by template.** The latency histogram is labelled with the matched route
//!   (`/api/segments/{segment}`), never the raw path, so ids do not multiply the series; what
//!   matched no route is `unmatched`. Methods outside the usual seven are `other`, statuses
//!   are classes (`2xx`), so the label space is bounded whatever clients send.
//! - **The queue is read at scrape time** from the `job` table, the truth on every replica,
//!   rather than counted in this process, which sees only its own jobs.
//! - **Who may read it.** A direct loopback peer, or a bearer of `--metrics-token`. "Direct"
//!   means no `Forwarded`, `X-Forwarded-For` or `X-Real-IP` header: a reverse proxy on the same
//!   host connects from loopback too, and would otherwise hand the numbers to the internet.
//! - **One registry per server value** (not a process-global recorder), so two servers in one
//!   process, as in the tests, do not count each other's requests.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{ConnectInfo, MatchedPath, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use prometheus::{Encoder, Gauge, HistogramOpts, HistogramVec, IntGauge, Opts, Registry};
use sqlx::Row;

use crate::app::AppState;
use crate::db::{Db, now_ms};
use crate::error::{AppError, AppResult};

/// The route label of a request that matched no route.
pub const UNMATCHED: &str = "unmatched";

/// Request latency buckets, in seconds: 1 ms to 30 s (the request timeout).
const REQUEST_BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

/// Ingest buckets, in seconds: a short clip to a long field recording.
const INGEST_BUCKETS: &[f64] = &[
    0.1, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0,
];

/// The server's metrics.
pub struct Metrics {
    registry: Registry,
    requests: HistogramVec,
    ingest: HistogramVec,
    queued: IntGauge,
    oldest_queued: Gauge,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// A fresh registry with every metric at zero.
    pub fn new() -> Self {
        let requests = HistogramVec::new(
            HistogramOpts::new(
                "fangyan_http_request_duration_seconds",
                "Time from request to response head, by method, route template and status class",
            )
            .buckets(REQUEST_BUCKETS.to_vec()),
            &["method", "route", "status"],
        );
        let ingest = HistogramVec::new(
            HistogramOpts::new(
                "fangyan_ingest_seconds",
                "Duration of ingest jobs (decode, store, analysis), by outcome",
            )
            .buckets(INGEST_BUCKETS.to_vec()),
            &["outcome"],
        );
        let queued = IntGauge::with_opts(Opts::new(
            "fangyan_jobs_queued",
            "Jobs waiting to run (job table, read at scrape time)",
        ));
        let oldest_queued = Gauge::with_opts(Opts::new(
            "fangyan_jobs_oldest_queued_age_seconds",
            "Age of the oldest queued job; 0 when none waits",
        ));
        // The names and labels above are constants: registering them cannot fail.
        let (requests, ingest, queued, oldest_queued) = (
            requests.expect("valid histogram"),
            ingest.expect("valid histogram"),
            queued.expect("valid gauge"),
            oldest_queued.expect("valid gauge"),
        );
        let registry = Registry::new();
        for c in [
            Box::new(requests.clone()) as Box<dyn prometheus::core::Collector>,
            Box::new(ingest.clone()),
            Box::new(queued.clone()),
            Box::new(oldest_queued.clone()),
        ] {
            registry.register(c).expect("distinct metric names");
        }
        Self {
            registry,
            requests,
            ingest,
            queued,
            oldest_queued,
        }
    }

    /// Counts one answered request.
    pub fn observe_request(
        &self,
        method: &Method,
        route: &str,
        status: StatusCode,
        took: Duration,
    ) {
        let class = match status.as_u16() / 100 {
            1 => "1xx",
            2 => "2xx",
            3 => "3xx",
            4 => "4xx",
            _ => "5xx",
        };
        self.requests
            .with_label_values(&[method_label(method), route, class])
            .observe(took.as_secs_f64());
    }

    /// Counts one finished ingest; `outcome` is `done` or `failed`.
    pub fn observe_ingest(&self, outcome: &'static str, took: Duration) {
        self.ingest
            .with_label_values(&[outcome])
            .observe(took.as_secs_f64());
    }

    /// The exposition text, with the queue gauges read from the database now.
    pub async fn render(&self, db: &Db) -> anyhow::Result<String> {
        let row = sqlx::query(
            "SELECT COUNT(*) AS queued, MIN(created_at) AS oldest FROM job WHERE status = 'queued'",
        )
        .fetch_one(db)
        .await?;
        let queued: i64 = row.try_get("queued")?;
        let oldest: Option<i64> = row.try_get("oldest")?;
        self.queued.set(queued);
        self.oldest_queued
            .set(oldest.map_or(0.0, |t| (now_ms() - t).max(0) as f64 / 1000.0));
        let mut out = Vec::new();
        prometheus::TextEncoder::new().encode(&self.registry.gather(), &mut out)?;
        Ok(String::from_utf8(out)?)
    }
}

fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

/// Adds the latency histogram to every route (and the fallback, as `unmatched`).
pub fn wrap(router: Router, metrics: Arc<Metrics>) -> Router {
    router.layer(middleware::from_fn_with_state(metrics, track))
}

async fn track(State(metrics): State<Arc<Metrics>>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().clone();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or(UNMATCHED, MatchedPath::as_str)
        .to_owned();
    let response = next.run(request).await;
    metrics.observe_request(&method, &route, response.status(), started.elapsed());
    response
}

/// `GET /metrics`, for a direct loopback peer or a bearer of the metrics token.
pub async fn scrape(State(state): State<AppState>, request: Request) -> AppResult<Response> {
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0);
    if !may_read(
        request.headers(),
        peer,
        state.config.metrics_token.as_deref(),
    ) {
        return Err(AppError::Status(
            StatusCode::FORBIDDEN,
            "metrics_forbidden",
            "metrics are served to loopback scrapers and to bearers of the metrics token".into(),
        ));
    }
    let text = state.metrics.render(&state.db).await?;
    Ok((
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
        )],
        text,
    )
        .into_response())
}

/// The access rule of `/metrics` (see the module docs).
fn may_read(headers: &HeaderMap, peer: Option<SocketAddr>, token: Option<&str>) -> bool {
    if let Some(token) = token.filter(|t| !t.is_empty()) {
        let presented = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "));
        if presented.is_some_and(|p| same_secret(p.as_bytes(), token.as_bytes())) {
            return true;
        }
    }
    let forwarded = ["forwarded", "x-forwarded-for", "x-real-ip"]
        .iter()
        .any(|h| headers.contains_key(*h));
    !forwarded && peer.is_some_and(|p| p.ip().to_canonical().is_loopback())
}

/// Compares two secrets in time that depends on their lengths only.
fn same_secret(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        pairs
            .iter()
            .map(|(k, v)| {
                (
                    header::HeaderName::from_static(k),
                    HeaderValue::from_static(v),
                )
            })
            .collect()
    }

    #[test]
    fn loopback_reads_without_a_token_but_not_through_a_proxy() {
        let local = Some(SocketAddr::from(([127, 0, 0, 1], 5000)));
        let remote = Some(SocketAddr::from(([192, 0, 2, 7], 5000)));
        assert!(may_read(&headers(&[]), local, None));
        assert!(!may_read(&headers(&[]), remote, None));
        assert!(!may_read(
            &headers(&[("x-forwarded-for", "192.0.2.7")]),
            local,
            None
        ));
        assert!(!may_read(
            &headers(&[("forwarded", "for=192.0.2.7")]),
            local,
            None
        ));
        assert!(!may_read(&headers(&[]), None, None));
    }

    #[test]
    fn the_token_opens_it_from_anywhere_and_only_the_exact_token() {
        let remote = Some(SocketAddr::from(([192, 0, 2, 7], 5000)));
        let ok = headers(&[("authorization", "Bearer s3cret-token")]);
        let wrong = headers(&[("authorization", "Bearer s3cret-tokeN")]);
        let short = headers(&[("authorization", "Bearer s3cret")]);
        assert!(may_read(&ok, remote, Some("s3cret-token")));
        assert!(!may_read(&wrong, remote, Some("s3cret-token")));
        assert!(!may_read(&short, remote, Some("s3cret-token")));
        // An empty token configured opens nothing.
        assert!(!may_read(
            &headers(&[("authorization", "Bearer ")]),
            remote,
            Some("")
        ));
    }
}
