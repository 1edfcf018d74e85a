//! Background jobs: the `job` table, live progress for Server-Sent Events and in the job row
//! (so `GET /api/jobs/{id}` shows it without the stream, and a stream on any replica follows
//! it), leases that let another server take over a dead one's jobs ([`lease`]), and a way for
//! tests to wait for all work without sleeping.

pub mod lease;

use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::extract::{Json, Path};
use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::Stream;
use serde::Serialize;
use sqlx::Row;
use tokio::sync::broadcast;
use tokio::task::JoinHandle;

use crate::accounts::CurrentUser;
use crate::app::AppState;
use crate::db::{Db, now_ms};
use crate::error::{AppError, AppResult};

/// A progress or completion event of one job.
#[derive(Debug, Clone, Serialize)]
pub struct JobEvent {
    /// Job id.
    pub job: i64,
    /// `running`, `done` or `failed`.
    pub status: &'static str,
    /// 0 to 1.
    pub progress: f64,
    /// Error code when failed.
    pub error_code: Option<String>,
}

/// Live job state shared by the server.
#[derive(Clone)]
pub struct Jobs {
    events: broadcast::Sender<JobEvent>,
    running: Arc<Mutex<Vec<JoinHandle<()>>>>,
    /// This process's name on the leases it holds: unique per process start.
    owner: Arc<str>,
    /// How long a lease lasts unless renewed.
    lease: Duration,
}

impl Default for Jobs {
    fn default() -> Self {
        let host = std::env::var("HOSTNAME").unwrap_or_default();
        Self {
            events: broadcast::channel(1024).0,
            running: Arc::default(),
            owner: format!(
                "{host}:{}:{}",
                std::process::id(),
                crate::accounts::new_secret().1
            )
            .into(),
            lease: lease::lease_length(),
        }
    }
}

impl Jobs {
    /// This process's name on its leases.
    pub fn owner(&self) -> &str {
        &self.owner
    }

    /// How long a lease lasts unless renewed.
    pub fn lease_length(&self) -> Duration {
        self.lease
    }

    /// Creates a job, queued and leased to this server, which runs it now (holding a
    /// [`lease::Lease`]); `input` is the stored file it works on, relative to the store root,
    /// kept so another server (or this one after a crash) can start it again.
    pub async fn create(
        &self,
        db: &Db,
        kind: &str,
        recording: i64,
        input: Option<&str>,
    ) -> sqlx::Result<i64> {
        self.insert(db, kind, Some(recording), None, input).await
    }

    /// Creates the job that runs `export`, inside the transaction that creates the export, queued
    /// and leased to this server, which runs it now; another server takes it over if this one
    /// dies.
    pub async fn create_export_in(&self, tx: &mut crate::db::Tx, export: i64) -> sqlx::Result<i64> {
        self.insert(&mut **tx, "export", None, Some(export), None)
            .await
    }

    /// The job row of [`create`](Self::create) and [`create_export_in`](Self::create_export_in).
    async fn insert<'e>(
        &self,
        db: impl sqlx::Executor<'e, Database = sqlx::Any>,
        kind: &str,
        recording: Option<i64>,
        export: Option<i64>,
        input: Option<&str>,
    ) -> sqlx::Result<i64> {
        let now = now_ms();
        sqlx::query(
            "INSERT INTO job (kind, recording_id, export_id, status, input, created_at, updated_at, lease_owner, lease_until, attempts) \
             VALUES ($1, $2, $3, 'queued', $4, $5, $6, $7, $8, 1) RETURNING id",
        )
        .bind(kind)
        .bind(recording)
        .bind(export)
        .bind(input)
        .bind(now)
        .bind(now)
        .bind(&*self.owner)
        .bind(now + self.lease.as_millis() as i64)
        .fetch_one(db)
        .await?
        .try_get("id")
    }

    /// Marks `job` failed inside `tx`, if this server still holds its lease; false means
    /// another server took it over, and `tx` should be rolled back.
    pub async fn fail_in(
        &self,
        tx: &mut crate::db::Tx,
        job: i64,
        code: &str,
        message: &str,
    ) -> sqlx::Result<bool> {
        let done = sqlx::query(
            "UPDATE job SET status = 'failed', progress = 1, error_code = $1, error_message = $2, updated_at = $3 \
             WHERE id = $4 AND lease_owner = $5 AND status IN ('queued', 'running')",
        )
        .bind(code)
        .bind(message)
        .bind(now_ms())
        .bind(job)
        .bind(&*self.owner)
        .execute(&mut **tx)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Keeps this server's lease on `job` renewed until the returned guard is dropped.
    pub fn hold(&self, db: &Db, job: i64) -> lease::Lease {
        lease::Lease::hold(db.clone(), job, self.owner.clone(), self.lease)
    }

    /// Records a job's status, if this server still holds its lease; false when another server
    /// has taken the job over (this one's result then does not count).
    pub async fn set_status(
        &self,
        db: &Db,
        job: i64,
        status: &str,
        progress: f64,
        error: Option<(&str, &str)>,
    ) -> sqlx::Result<bool> {
        let done = sqlx::query(
            "UPDATE job SET status = $1, progress = $2, error_code = $3, error_message = $4, updated_at = $5 \
             WHERE id = $6 AND lease_owner = $7",
        )
        .bind(status)
        .bind(progress)
        .bind(error.map(|e| e.0))
        .bind(error.map(|e| e.1))
        .bind(now_ms())
        .bind(job)
        .bind(&*self.owner)
        .execute(db)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Marks `job` done inside `tx` (with the job's other results), if this server still holds
    /// its lease; false means another server took it over, and `tx` should be rolled back.
    pub async fn finish_in(&self, tx: &mut crate::db::Tx, job: i64) -> sqlx::Result<bool> {
        let done = sqlx::query(
            "UPDATE job SET status = 'done', progress = 1, updated_at = $1 \
             WHERE id = $2 AND lease_owner = $3 AND status IN ('queued', 'running')",
        )
        .bind(now_ms())
        .bind(job)
        .bind(&*self.owner)
        .execute(&mut **tx)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Publishes an event (nobody listening is fine).
    pub fn publish(&self, event: JobEvent) {
        let _ = self.events.send(event);
    }

    /// Runs `work` in the background, tracked for [`drain`](Self::drain).
    pub fn spawn(&self, work: impl std::future::Future<Output = ()> + Send + 'static) {
        let handle = tokio::spawn(work);
        self.running
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(handle);
    }

    /// A progress reporter for the running `job`, to call from its worker thread with 0..1 as
    /// often as convenient: reports that pass the [`Throttle`] are published as events and
    /// written to the job row. Call it from within the runtime (it keeps a handle to it).
    pub fn reporter(&self, db: Db, job: i64) -> impl FnMut(f64) + Send + 'static {
        let jobs = self.clone();
        let runtime = tokio::runtime::Handle::current();
        let mut throttle = Throttle::default();
        move |progress| {
            if !throttle.pass(progress) {
                return;
            }
            jobs.publish(JobEvent {
                job,
                status: "running",
                progress,
                error_code: None,
            });
            let (db, owner) = (db.clone(), jobs.owner.clone());
            runtime.spawn(async move {
                if let Err(e) = set_progress(&db, job, &owner, progress).await {
                    tracing::warn!("job {job}: recording progress failed: {e}");
                }
            });
        }
    }

    /// Waits until every spawned job has finished (tests use this instead of sleeping).
    pub async fn drain(&self) {
        loop {
            let handles: Vec<_> =
                std::mem::take(&mut *self.running.lock().unwrap_or_else(|p| p.into_inner()));
            if handles.is_empty() {
                return;
            }
            for h in handles {
                let _ = h.await;
            }
        }
    }
}

/// Records a running job's progress in its row, as `owner`. Progress only moves forward, only
/// while the job runs and only from the server holding its lease, so a late write never undoes
/// a newer one or a finish, and a runner that lost the job cannot move the progress of the
/// server that took it over.
pub async fn set_progress(db: &Db, job: i64, owner: &str, progress: f64) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE job SET progress = $1, updated_at = $2 \
         WHERE id = $3 AND status = 'running' AND progress < $4 AND lease_owner = $5",
    )
    .bind(progress)
    .bind(now_ms())
    .bind(job)
    .bind(progress)
    .bind(owner)
    .execute(db)
    .await?;
    Ok(())
}

/// Thins out progress reports: one passes when it moved at least [`Throttle::STEP`] since the
/// last that passed and [`Throttle::INTERVAL`] has gone by, so a job writes its row a few
/// times a second at most however often its worker reports.
#[derive(Debug, Default)]
pub struct Throttle {
    last: Option<(f64, Instant)>,
}

impl Throttle {
    /// Smallest change worth reporting.
    pub const STEP: f64 = 0.01;
    /// Shortest time between two reports.
    pub const INTERVAL: Duration = Duration::from_millis(250);

    /// Whether `progress` should be reported now.
    pub fn pass(&mut self, progress: f64) -> bool {
        let now = Instant::now();
        let due = match self.last {
            None => progress > 0.0,
            Some((p, at)) => progress - p >= Self::STEP && now - at >= Self::INTERVAL,
        };
        if due {
            self.last = Some((progress, now));
        }
        due
    }
}

/// The stored inputs of unfinished jobs (kept by the start-up sweep of `tmp/`).
pub async fn unfinished_inputs(db: &Db) -> sqlx::Result<std::collections::HashSet<String>> {
    let rows = sqlx::query(
        "SELECT input FROM job WHERE status IN ('queued', 'running') AND input IS NOT NULL",
    )
    .fetch_all(db)
    .await?;
    rows.iter().map(|r| r.try_get("input")).collect()
}

/// Routes: job state and its event stream.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(get_job))
}

/// The event stream, apart because it stays open: no request timeout applies to it.
pub fn stream_router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(events))
}

async fn job_project(db: &Db, job: i64) -> AppResult<(i64, String, f64, Option<String>)> {
    let row = sqlx::query(
        "SELECT r.project_id, j.status, j.progress, j.error_code FROM job j JOIN recording r ON r.id = j.recording_id WHERE j.id = $1",
    )
    .bind(job)
    .fetch_optional(db)
    .await?
    .ok_or(AppError::NotFound)?;
    Ok((
        row.try_get(0)?,
        row.try_get(1)?,
        row.try_get(2)?,
        row.try_get(3)?,
    ))
}

#[utoipa::path(get, path = "/api/jobs/{job}", tag = "jobs", params(("job" = i64, Path, description = "job id")), responses((status = 200, description = "Success", body = serde_json::Value, content_type = "application/json"), (status = "4XX", description = "Refused, with the reason", body = crate::error::ErrorBody)))]
async fn get_job(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(job): Path<i64>,
) -> AppResult<Json<serde_json::Value>> {
    let (project, status, progress, error_code) = job_project(&state.db, job).await?;
    crate::projects::role_in(&state, project, user).await?;
    Ok(Json(
        serde_json::json!({ "id": job, "status": status, "progress": progress, "error_code": error_code }),
    ))
}

#[utoipa::path(get, path = "/api/jobs/{job}/events", tag = "jobs", params(("job" = i64, Path, description = "job id")), responses((status = 200, description = "Success", body = String, content_type = "text/event-stream"), (status = "4XX", description = "Refused, with the reason", body = crate::error::ErrorBody)))]
async fn events(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(job): Path<i64>,
) -> AppResult<Sse<impl Stream<Item = Result<Event, Infallible>>>> {
    let (project, status, progress, error_code) = job_project(&state.db, job).await?;
    crate::projects::role_in(&state, project, user).await?;
    let mut rx = state.jobs.events.subscribe();
    let db = state.db.clone();
    let stream = async_stream(move |tx| async move {
        // The current state first, so a late subscriber still learns how the job ended. Then
        // this server's own events as they happen, and the job row every poll: the job may be
        // running on another replica, whose events never reach this one.
        let mut last = (status, progress, error_code);
        let event = |(status, progress, error_code): &(String, f64, Option<String>)| {
            let body = serde_json::json!({ "job": job, "status": status, "progress": progress, "error_code": error_code });
            Event::default().json_data(body).unwrap_or_default()
        };
        if tx.send(event(&last)).await.is_err() {
            return;
        }
        let mut poll = tokio::time::interval(POLL);
        loop {
            if last.0 == "done" || last.0 == "failed" {
                return;
            }
            let next = tokio::select! {
                ev = rx.recv() => match ev {
                    Ok(ev) if ev.job == job => (ev.status.to_string(), ev.progress, ev.error_code),
                    Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => continue,
                    Err(broadcast::error::RecvError::Closed) => return,
                },
                _ = poll.tick() => match job_project(&db, job).await {
                    Ok((_, status, progress, code)) => (status, progress, code),
                    Err(_) => continue,
                },
            };
            if next != last {
                last = next;
                if tx.send(event(&last)).await.is_err() {
                    return;
                }
            }
        }
    });
    Ok(Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(15))))
}

/// How often an event stream reads its job's row (the job may run on another replica).
const POLL: Duration = Duration::from_millis(500);

/// A stream fed by an async producer through a small channel.
fn async_stream<F, Fut>(producer: F) -> impl Stream<Item = Result<Event, Infallible>>
where
    F: FnOnce(tokio::sync::mpsc::Sender<Event>) -> Fut,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let (tx, rx) = tokio::sync::mpsc::channel(16);
    tokio::spawn(producer(tx));
    futures_util::StreamExt::map(tokio_stream::wrappers::ReceiverStream::new(rx), Ok)
}
