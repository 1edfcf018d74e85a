//! The operator's side of a running server: liveness and readiness probes, Prometheus
//! metrics, request ids and the access log, the graceful stop, and backup and restore.
//!
//! It owns `/healthz`, `/readyz` and `/metrics` (outside the API and its OpenAPI document,
//! and outside the in-flight bound, so a busy server still answers its probes), and the layers
//! that give every request an id, a log line and a latency sample. It does not own the data it
//! reports on: job rows belong to [`crate::jobs`], the store to [`crate::store::Store`].
//!
//! Decisions worth knowing:
//! - **`/healthz` touches nothing.** It answers 200 while the process can run a handler; a
//!   database outage is `/readyz`'s to report, so an orchestrator takes a replica out of the
//!   load balancer rather than restarting it for someone else's failure.
//! - **`/metrics` is not public.** It is served to a direct loopback peer (a scraper on the same
//!   host; a request that came through a proxy carries forwarding headers and is refused), or
//!   to anyone presenting `--metrics-token` as a bearer token. See [`metrics`].

pub mod backup;
pub mod logs;
pub mod metrics;
pub mod shutdown;

use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::routing::get;
use serde::Serialize;

use crate::app::AppState;
use crate::error::{AppError, AppResult};
use crate::extract::Json;
use crate::store::Store;

/// How long `/readyz` waits for the database before calling it down.
const READY_TIMEOUT: Duration = Duration::from_secs(2);

/// The probes and the metrics endpoint.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics::scrape))
}

/// The answer of a probe that passed.
#[derive(Debug, Serialize)]
struct Probe {
    /// `ok` (alive) or `ready`.
    status: &'static str,
}

/// Liveness: the process runs handlers. Never touches the database or the store.
async fn healthz() -> Json<Probe> {
    Json(Probe { status: "ok" })
}

/// Readiness: the database answers a query and the store takes a write, each in bounded time;
/// else 503 `database_unavailable` or `store_unavailable` in the error shape.
async fn readyz(State(state): State<AppState>) -> AppResult<Json<Probe>> {
    match tokio::time::timeout(READY_TIMEOUT, sqlx::query("SELECT 1").execute(&state.db)).await {
        Ok(Ok(_)) => {}
        Ok(Err(e)) => {
            tracing::warn!("readyz: the database does not answer: {e}");
            return Err(database_down());
        }
        Err(_) => {
            tracing::warn!("readyz: the database did not answer within {READY_TIMEOUT:?}");
            return Err(database_down());
        }
    }
    if let Err(e) = store_ready(&state.store).await {
        tracing::warn!("readyz: the store does not answer: {e}");
        return Err(AppError::Unavailable(
            "store_unavailable",
            "the audio store does not answer",
        ));
    }
    Ok(Json(Probe { status: "ready" }))
}

fn database_down() -> AppError {
    AppError::Unavailable("database_unavailable", "the database does not answer")
}

/// Whether the store answers: a probe object written, read back and removed, on the folder
/// or the bucket alike.
pub async fn store_ready(store: &Store) -> std::io::Result<()> {
    store.probe().await.map_err(std::io::Error::other)
}

/// Wraps the finished router in the operator's layers: request ids, the access log and the
/// latency histogram. Outside the edge, so refusals are logged and counted too.
pub fn wrap(router: Router, metrics: std::sync::Arc<metrics::Metrics>) -> Router {
    logs::wrap(metrics::wrap(router, metrics))
}
