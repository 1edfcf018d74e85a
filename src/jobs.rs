//! Background jobs: the `job` table, live progress for Server-Sent Events and in the job row
//! (so `GET /api/jobs/{id}` shows it without the stream), recovery after a crash, and a way
//! for tests to wait for all work without sleeping.

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
}

impl Default for Jobs {
    fn default() -> Self {
        Self {
            events: broadcast::channel(1024).0,
            running: Arc::default(),
        }
    }
}

impl Jobs {
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
            let db = db.clone();
            runtime.spawn(async move {
                if let Err(e) = set_progress(&db, job, progress).await {
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

/// Creates a queued job. `input` is the file it works on, relative to the store root, kept so
/// the job can start again after a crash.
pub async fn create(db: &Db, kind: &str, recording: i64, input: Option<&str>) -> sqlx::Result<i64> {
    let now = now_ms();
    sqlx::query(
        "INSERT INTO job (kind, recording_id, status, input, created_at, updated_at) \
         VALUES ($1, $2, 'queued', $3, $4, $5) RETURNING id",
    )
    .bind(kind)
    .bind(recording)
    .bind(input)
    .bind(now)
    .bind(now)
    .fetch_one(db)
    .await?
    .try_get("id")
}

/// Records a job's status.
pub async fn set_status(
    db: &Db,
    job: i64,
    status: &str,
    progress: f64,
    error: Option<(&str, &str)>,
) -> sqlx::Result<()> {
    sqlx::query("UPDATE job SET status = $1, progress = $2, error_code = $3, error_message = $4, updated_at = $5 WHERE id = $6")
        .bind(status)
        .bind(progress)
        .bind(error.map(|e| e.0))
        .bind(error.map(|e| e.1))
        .bind(now_ms())
        .bind(job)
        .execute(db)
        .await?;
    Ok(())
}

/// Records a running job's progress in its row. Progress only moves forward and only while the
/// job runs, so a late write never undoes a newer one or a finish.
pub async fn set_progress(db: &Db, job: i64, progress: f64) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE job SET progress = $1, updated_at = $2 WHERE id = $3 AND status = 'running' AND progress < $4",
    )
    .bind(progress)
    .bind(now_ms())
    .bind(job)
    .bind(progress)
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

/// An ingest that was cut short by a crash and can start again: its upload is still on disk.
#[derive(Debug, Clone)]
pub struct Resumable {
    /// The job, reset to queued.
    pub job: i64,
    /// Its recording, back to importing.
    pub recording: i64,
    /// The upload, relative to the store root.
    pub input: String,
}

/// At start-up: ingest jobs that were queued or running when the server died start again if
/// their acknowledged upload is still on disk; any other unfinished job is marked failed
/// (`interrupted`), and so is its recording, so nothing stays half-done. Returns the jobs to
/// restart and the number failed.
pub async fn recover(
    db: &Db,
    store: &crate::store::Store,
) -> anyhow::Result<(Vec<Resumable>, u64)> {
    let rows = sqlx::query(
        "SELECT id, kind, recording_id, input FROM job WHERE status IN ('queued', 'running') ORDER BY id",
    )
    .fetch_all(db)
    .await?;
    let message =
        "the server stopped while this job ran and its input is gone; upload the file again";
    let mut resumable = Vec::new();
    let mut failed = 0;
    for row in rows {
        let input: Option<String> = row.try_get("input")?;
        let kept = match &input {
            Some(key) => store.exists(key).await?,
            None => false,
        };
        let job: i64 = row.try_get("id")?;
        let kind: String = row.try_get("kind")?;
        let recording: Option<i64> = row.try_get("recording_id")?;
        let now = now_ms();
        match (kind.as_str(), recording, input) {
            ("ingest", Some(recording), Some(input)) if kept => {
                sqlx::query(
                    "UPDATE job SET status = 'queued', progress = 0, updated_at = $1 WHERE id = $2",
                )
                .bind(now)
                .bind(job)
                .execute(db)
                .await?;
                sqlx::query("UPDATE recording SET status = 'importing' WHERE id = $1")
                    .bind(recording)
                    .execute(db)
                    .await?;
                resumable.push(Resumable {
                    job,
                    recording,
                    input,
                });
            }
            (_, recording, _) => {
                sqlx::query(
                    "UPDATE job SET status = 'failed', error_code = 'interrupted', error_message = $1, updated_at = $2 WHERE id = $3",
                )
                .bind(message)
                .bind(now)
                .bind(job)
                .execute(db)
                .await?;
                if let Some(recording) = recording {
                    sqlx::query(
                        "UPDATE recording SET status = 'failed', error_code = 'interrupted', error_message = $1 \
                         WHERE id = $2 AND status = 'importing'",
                    )
                    .bind(message)
                    .bind(recording)
                    .execute(db)
                    .await?;
                }
                failed += 1;
            }
        }
    }
    Ok((resumable, failed))
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
    let stream = async_stream(move |tx| async move {
        // The current state first, so a late subscriber still learns how the job ended.
        let first = serde_json::json!({ "job": job, "status": status, "progress": progress, "error_code": error_code });
        let finished = status == "done" || status == "failed";
        if tx
            .send(Event::default().json_data(first).unwrap_or_default())
            .await
            .is_err()
            || finished
        {
            return;
        }
        while let Ok(ev) = rx.recv().await {
            if ev.job != job {
                continue;
            }
            let end = ev.status != "running";
            if tx
                .send(Event::default().json_data(&ev).unwrap_or_default())
                .await
                .is_err()
                || end
            {
                return;
            }
        }
    });
    Ok(Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(15))))
}

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
