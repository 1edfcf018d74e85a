//! The server: `AppState`, and the router that merges each stage's routes in flow order —
//! reading `router()` top to bottom retells the product.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use std::time::Duration;

use axum::error_handling::HandleErrorLayer;
use axum::routing::get;
use axum::{BoxError, Json, Router};
use serde_json::json;
use tower::ServiceBuilder;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;

use crate::db::Db;
use crate::error::AppError;
use crate::jobs::Jobs;

/// Server settings.
#[derive(Debug, Clone)]
pub struct Config {
    /// Data directory: the database file and the audio store.
    pub data_dir: PathBuf,
    /// Largest upload accepted, in bytes.
    pub max_upload: usize,
    /// Requests in flight beyond which new ones are refused at once (503 `overloaded`) rather
    /// than queued without bound. Uploads and event streams are not counted.
    pub max_in_flight: usize,
    /// How long an ordinary request may take before it is answered 503 `timeout`.
    pub request_timeout: Duration,
    /// How live pre-annotation treats the ASR server (timeout, retries, backoff).
    pub asr: crate::hypotheses::live::LiveConfig,
    /// Who may create projects: instance admins only (default) or everyone.
    pub project_creators: crate::projects::Creators,
    /// Heavy-work bounds: the blocking pool, the search deadline, the parse budgets.
    pub budgets: crate::work::Budgets,
    /// The address browsers use (`--public-url`); when it is https the session cookie is
    /// `Secure`.
    pub public_url: Option<String>,
    /// Reverse proxies whose `X-Forwarded-For` and `X-Forwarded-Proto` are believed
    /// (`--trusted-proxy`); nobody's by default.
    pub trusted_proxies: Vec<crate::accounts::IpNet>,
    /// Login throttle and argon2 budget.
    pub login: crate::accounts::LoginLimits,
    /// A Postgres database (`--database-url`) instead of the SQLite file in the data directory.
    pub database_url: Option<String>,
    /// A bearer token that opens `/metrics` from anywhere (`--metrics-token`); without one,
    /// only direct loopback peers may read it (see [`crate::ops::metrics`]).
    pub metrics_token: Option<String>,
    /// Where recordings are stored (`--store`): `file:///path` or `s3://bucket/prefix`; `None`
    /// is the data directory's `store/` folder.
    pub store: Option<String>,
}

impl Config {
    /// The same settings on a Postgres database (`--database-url`), or on the SQLite file of
    /// the data directory when `url` is `None`.
    pub fn with_database(mut self, url: Option<String>) -> Self {
        self.database_url = url;
        self
    }

    /// The same settings on the store at `url` (`--store`), or on the data directory's folder
    /// when `url` is `None`.
    pub fn with_store(mut self, url: Option<String>) -> Self {
        self.store = url;
        self
    }

    /// Defaults for a data directory: uploads up to 2 GiB.
    pub fn new(data_dir: impl Into<PathBuf>) -> Self {
        Self {
            data_dir: data_dir.into(),
            max_upload: 2 << 30,
            max_in_flight: 1024,
            request_timeout: Duration::from_secs(30),
            asr: Default::default(),
            project_creators: Default::default(),
            budgets: Default::default(),
            public_url: None,
            trusted_proxies: Vec::new(),
            login: Default::default(),
            database_url: None,
            metrics_token: None,
            store: None,
        }
    }
}

/// Shared state of every handler.
#[derive(Clone)]
pub struct AppState {
    /// The database pool.
    pub db: Db,
    /// The object store of recordings (a folder or a bucket).
    pub store: crate::store::Store,
    /// Background jobs.
    pub jobs: Jobs,
    /// The login's throttle and argon2 budget.
    pub logins: Arc<crate::accounts::Logins>,
    /// Settings.
    pub config: Arc<Config>,
    /// The bounded pool for CPU- and memory-heavy work (searches, ASR parsing).
    pub work: crate::work::Pool,
    /// Request latency, the job queue and ingest durations, for `/metrics`.
    pub metrics: Arc<crate::ops::metrics::Metrics>,
    /// The data directory's lock file, held while this state lives.
    _lock: Arc<std::fs::File>,
}

impl AppState {
    /// Opens the data directory: database (migrated), store, and crash recovery of jobs.
    ///
    /// The first process to open a data directory holds `fangyan.lock` for its lifetime and
    /// owns recovery: it restarts interrupted ingests whose uploads survived and fails the
    /// rest. A second process (the admin CLI beside a running server) leaves jobs alone.
    pub async fn open(config: Config) -> anyhow::Result<Self> {
        std::fs::create_dir_all(&config.data_dir)?;
        let lock = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(config.data_dir.join("fangyan.lock"))?;
        let owner = match lock.try_lock() {
            Ok(()) => true,
            Err(std::fs::TryLockError::WouldBlock) => false,
            Err(std::fs::TryLockError::Error(e)) => return Err(e.into()),
        };
        let db = crate::db::connect(
            config.database_url.as_deref(),
            &config.data_dir.join("fangyan.sqlite"),
        )
        .await?;
        let store = crate::store::Store::open(config.store.as_deref(), &config.data_dir)?;
        let state = Self {
            db,
            store,
            jobs: Jobs::default(),
            logins: Arc::new(crate::accounts::Logins::new(&config.login)),
            work: crate::work::Pool::new(config.budgets.workers, config.budgets.queue),
            metrics: Arc::default(),
            config: Arc::new(config),
            _lock: Arc::new(lock),
        };
        // Jobs: the server alone on its database (SQLite, data directory locked) takes every
        // unfinished one over now; on Postgres other replicas may be running them, so only
        // those whose lease ran out are taken (here, and by `serve`'s takeover loop).
        if owner {
            // Segments older than the text search index (an upgrade, a `db copy`) are
            // indexed before the first search.
            let indexed = crate::segments::text_index::catch_up(&state.db).await?;
            if indexed > 0 {
                tracing::info!(segments = indexed, "text search index built");
            }
            let alone = crate::db::backend(&state.db) == crate::db::Backend::Sqlite;
            // Exports first: their clean-up of this server's scratch folders must not remove
            // what a job taken over below has started writing.
            crate::exports::recover(&state).await?;
            crate::recordings::recover(&state, alone).await?;
        }
        Ok(state)
    }
}

/// The whole API, stage by stage in the order data flows, and its OpenAPI document.
///
/// Every answer passes the edge ([`crate::edge`]): the cross-origin check, security headers and
/// the error shape. Ordinary routes are bounded: at most `max_in_flight` at once (the rest are shed) and
/// `request_timeout` each (see [`Config`]). The upload and the event stream stay open as long as they need.
pub fn router(state: AppState) -> Router {
    let Config {
        max_upload,
        max_in_flight,
        request_timeout,
        ..
    } = *state.config;
    let bounded = OpenApiRouter::with_openapi(crate::openapi::ApiDoc::openapi())
        .merge(crate::accounts::router())
        .merge(crate::projects::router())
        .merge(crate::recordings::router())
        .merge(crate::hypotheses::router())
        .merge(crate::jobs::router())
        .merge(crate::segments::router())
        .merge(crate::tasks::router())
        .merge(crate::review::router())
        .merge(crate::comments::router())
        .merge(crate::guidelines::router())
        .merge(crate::dashboard::router())
        .merge(crate::exports::router())
        .merge(crate::tags::router())
        .merge(crate::web::settings_router())
        .layer(
            ServiceBuilder::new()
                .layer(HandleErrorLayer::new(refused))
                .load_shed()
                .concurrency_limit(max_in_flight)
                .timeout(request_timeout),
        );
    let (api, doc) = bounded
        .merge(crate::recordings::upload_router(max_upload))
        .merge(crate::jobs::stream_router())
        .split_for_parts();
    let doc = Arc::new(doc);
    let metrics = state.metrics.clone();
    let app = api
        .merge(crate::web::router())
        .merge(crate::ops::router())
        .route("/api", get(home))
        .route(
            "/api/openapi.json",
            get(move || {
                let doc = doc.clone();
                async move { Json(doc) }
            }),
        )
        .fallback(no_route)
        .method_not_allowed_fallback(no_method)
        .with_state(state);
    crate::ops::wrap(crate::edge::wrap(app), metrics)
}

/// Unknown paths get the API's error shape too.
async fn no_route() -> AppError {
    AppError::NoRoute("no such endpoint; the API is described at /api/openapi.json")
}

async fn no_method() -> AppError {
    AppError::NoRoute("this endpoint does not take this method; see /api/openapi.json")
}

/// Answers a request the bounds refused, in the API's error shape.
async fn refused(err: BoxError) -> AppError {
    if err.is::<tower::timeout::error::Elapsed>() {
        AppError::Unavailable("timeout", "the request took too long; try again")
    } else if err.is::<tower::load_shed::error::Overloaded>() {
        AppError::Unavailable("overloaded", "the server is busy; try again in a moment")
    } else {
        AppError::Internal(anyhow::anyhow!(err))
    }
}

async fn home() -> Json<serde_json::Value> {
    Json(json!({
        "name": "fangyan",
        "version": env!("CARGO_PKG_VERSION"),
        "api": ["/api/login", "/api/projects", "/api/recordings/{id}", "/api/segments/{id}"],
    }))
}

/// Serves until SIGTERM or Ctrl-C, then stops gracefully: requests in flight finish, event
/// streams end, running jobs finish, the database is closed (see [`crate::ops::shutdown`]).
pub async fn serve(addr: SocketAddr, state: AppState) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    tracing::info!("listening on http://{}", listener.local_addr()?);
    let (stop, stopped) = tokio::sync::watch::channel(false);
    // The peer address is the login throttle's client (see `accounts::client`).
    let app = crate::ops::shutdown::end_streams(router(state.clone()), stopped)
        .into_make_service_with_connect_info::<SocketAddr>();
    let takeover = tokio::spawn(crate::recordings::take_over_forever(state.clone()));
    axum::serve(listener, app)
        .with_graceful_shutdown(async move {
            crate::ops::shutdown::signal().await;
            let _ = stop.send(true);
        })
        .await?;
    takeover.abort();
    // On a shared database another replica takes this one's jobs over now (those the requests
    // just drained created included), not after a lease; alone on SQLite there is nobody to
    // hand them to, so they run to their end.
    if crate::db::backend(&state.db) == crate::db::Backend::Postgres {
        match crate::jobs::lease::release_all(&state.db, state.jobs.owner()).await {
            Ok(n) => tracing::info!("requests finished; {n} job(s) handed to the other replicas"),
            Err(e) => tracing::warn!("releasing job leases: {e}"),
        }
    } else {
        tracing::info!("requests finished; waiting for running jobs");
        state.jobs.drain().await;
    }
    state.db.close().await;
    tracing::info!("stopped");
    Ok(())
}
