//! The server: `AppState`, and the router that merges each stage's routes in flow order —
//! reading `router()` top to bottom retells the product.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use axum::routing::get;
use axum::{Json, Router};
use serde_json::json;

use crate::accounts::LoginThrottle;
use crate::audio::Store;
use crate::db::Db;
use crate::jobs::Jobs;

/// Server settings.
#[derive(Debug, Clone)]
pub struct Config {
    /// Data directory: the database file and the audio store.
    pub data_dir: PathBuf,
    /// Largest upload accepted, in bytes.
    pub max_upload: usize,
}

impl Config {
    /// Defaults for a data directory: uploads up to 2 GiB.
    pub fn new(data_dir: impl Into<PathBuf>) -> Self {
        Self {
            data_dir: data_dir.into(),
            max_upload: 2 << 30,
        }
    }
}

/// Shared state of every handler.
#[derive(Clone)]
pub struct AppState {
    /// The database pool.
    pub db: Db,
    /// The audio store.
    pub store: Store,
    /// Background jobs.
    pub jobs: Jobs,
    /// Failed-login memory.
    pub throttle: Arc<LoginThrottle>,
    /// Settings.
    pub config: Arc<Config>,
}

impl AppState {
    /// Opens the data directory: database (migrated), store, and crash recovery of jobs.
    pub async fn open(config: Config) -> anyhow::Result<Self> {
        std::fs::create_dir_all(&config.data_dir)?;
        let db = crate::db::connect(&config.data_dir.join("fangyan.sqlite")).await?;
        let interrupted = crate::jobs::recover(&db).await?;
        if interrupted > 0 {
            tracing::warn!(
                "{interrupted} job(s) were interrupted by the last shutdown and marked failed"
            );
        }
        let store = Store::open(config.data_dir.join("store"))?;
        Ok(Self {
            db,
            store,
            jobs: Jobs::default(),
            throttle: Arc::default(),
            config: Arc::new(config),
        })
    }
}

/// The whole API, stage by stage in the order data flows.
pub fn router(state: AppState) -> Router {
    let max_upload = state.config.max_upload;
    Router::new()
        .route("/api", get(home))
        .merge(crate::web::router())
        .merge(crate::accounts::router())
        .merge(crate::projects::router())
        .merge(crate::recordings::router(max_upload))
        .merge(crate::jobs::router())
        .merge(crate::segments::router())
        .merge(crate::tasks::router())
        .merge(crate::review::router())
        .with_state(state)
}

async fn home() -> Json<serde_json::Value> {
    Json(json!({
        "name": "fangyan",
        "version": env!("CARGO_PKG_VERSION"),
        "api": ["/api/login", "/api/projects", "/api/recordings/{id}", "/api/segments/{id}"],
    }))
}

/// Serves until Ctrl-C.
pub async fn serve(addr: SocketAddr, state: AppState) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    tracing::info!("listening on http://{}", listener.local_addr()?);
    axum::serve(listener, router(state))
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    Ok(())
}
