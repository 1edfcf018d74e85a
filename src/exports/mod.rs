//! Corpus exports, the stage: the export definition (filters and options) over the API, the
//! background run as a leased job (clips cut recording by recording, then every manifest, see
//! [`crate::corpus`]) with progress, the finished `.tar.gz` in the store, and its download
//! with `Range`. The CLI (`fangyan export`) calls [`run`] on a directory of its choice.
//!
//! An export is written into a scratch folder of the server running it (`exports/{id}` in its
//! data directory), archived into the store as it is compressed (`exports/{id}.tar.gz`, a
//! multipart upload: never held in memory whole), and the folder removed. Any replica serves
//! the download; a replica that dies mid-run leaves a job whose lease runs out, and another
//! replica runs the export again from the start (the archive is the same bytes: deterministic
//! tar headers, file order and gzip header).
//!
//! Dependencies: `tar` and `flate2` (the rust-lang crates) write the archive.

pub mod db;
mod job;

pub use job::{archive_key, corpus, recover, run, run_job, take_over, write_dir, write_dir_from};

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use crate::extract::{Json, Path as UrlPath};
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::header::{CONTENT_DISPOSITION, CONTENT_TYPE};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::json;
use sqlx::Row;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::accounts::CurrentUser;
use crate::app::AppState;
use crate::audio::Objects;
use crate::corpus::{self, ClipJob, Corpus, ExportOptions, Written, clip_rel, to_rate};
use crate::db::{Db, now_ms};
use crate::error::{AppError, AppResult};
use crate::projects::{self, Role};
use crate::store::Store;

/// Which segments go into the export.
#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(default)]
pub struct Filters {
    /// Segment statuses; `["approved"]` when absent.
    pub status: Option<Vec<String>>,
    /// Recording ids (empty: all).
    pub recordings: Vec<i64>,
    /// Speaker ids (empty: all).
    pub speakers: Vec<i64>,
    /// Segment tags `field=value` (`*=value` for any field); a segment needs one of them.
    pub labels: Vec<String>,
    /// Feature codes; a segment needs a span with one of them.
    pub features: Vec<String>,
    /// Last change at or after this time (unix ms).
    pub from_ms: Option<i64>,
    /// Last change before this time (unix ms).
    pub to_ms: Option<i64>,
}

/// An export definition.
#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(default)]
pub struct Definition {
    /// Which segments.
    pub filters: Filters,
    /// How to write them.
    pub options: ExportOptions,
}

/// What a run produced.
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    /// Utterances exported.
    pub utterances: usize,
    /// Seconds of clips.
    pub seconds: f64,
    /// Wall-clock seconds of the run.
    pub elapsed: f64,
}

/// Routes: define and start an export, list them, read one, download it.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(get_export))
        .routes(routes!(download))
}

fn export_dir(state: &AppState, id: i64) -> PathBuf {
    state.config.data_dir.join("exports").join(id.to_string())
}

/// Starts an export of the project's (approved, by default) segments as a background job.
#[utoipa::path(post, path = "/api/projects/{project}/exports", tag = "exports", params(("project" = i64, Path, description = "project id")), request_body = Definition, responses((status = 200, description = "Success", body = serde_json::Value, content_type = "application/json"), (status = "4XX", description = "Refused, with the reason", body = crate::error::ErrorBody)))]
async fn create(
    State(state): State<AppState>,
    user: CurrentUser,
    UrlPath(project): UrlPath<i64>,
    Json(def): Json<Definition>,
) -> AppResult<Json<serde_json::Value>> {
    projects::require(&state, project, user, &[Role::Admin]).await?;
    def.options
        .validate()
        .map_err(|m| AppError::bad("bad_export_options", "options", m))?;
    let now = now_ms();
    let definition = serde_json::to_string(&def).map_err(anyhow::Error::from)?;
    // The export and the job that runs it, together: a server that dies after the commit
    // leaves a job another server takes over (`job::take_over`).
    let mut tx = crate::db::begin_write(&state.db).await?;
    let id: i64 = sqlx::query(
        "INSERT INTO export (project_id, created_by, definition, status, created_at, updated_at) \
         VALUES ($1, $2, $3, 'queued', $4, $5) RETURNING id",
    )
    .bind(project)
    .bind(user.id)
    .bind(&definition)
    .bind(now)
    .bind(now)
    .fetch_one(&mut *tx)
    .await?
    .try_get("id")?;
    let job = state.jobs.create_export_in(&mut tx, id).await?;
    tx.commit().await?;
    state.jobs.spawn(job::run_job(state.clone(), job, id));
    Ok(Json(json!({ "export": id, "status": "queued" })))
}

const COLUMNS: &str = "id, project_id, definition, status, progress, utterances, seconds, error_message, created_at, updated_at";

fn row_json(r: &crate::db::DbRow) -> sqlx::Result<serde_json::Value> {
    let def: String = r.try_get("definition")?;
    Ok(json!({
        "id": r.try_get::<i64, _>("id")?,
        "project_id": r.try_get::<i64, _>("project_id")?,
        "definition": serde_json::from_str::<serde_json::Value>(&def).unwrap_or_default(),
        "status": r.try_get::<String, _>("status")?,
        "progress": r.try_get::<f64, _>("progress")?,
        "utterances": r.try_get::<Option<i64>, _>("utterances")?,
        "seconds": r.try_get::<Option<f64>, _>("seconds")?,
        "error": r.try_get::<Option<String>, _>("error_message")?,
        "created_at": r.try_get::<i64, _>("created_at")?,
        "updated_at": r.try_get::<i64, _>("updated_at")?,
    }))
}

/// The project's exports, newest first.
#[utoipa::path(get, path = "/api/projects/{project}/exports", tag = "exports", params(("project" = i64, Path, description = "project id")), responses((status = 200, description = "Success", body = serde_json::Value, content_type = "application/json"), (status = "4XX", description = "Refused, with the reason", body = crate::error::ErrorBody)))]
async fn list(
    State(state): State<AppState>,
    user: CurrentUser,
    UrlPath(project): UrlPath<i64>,
) -> AppResult<Json<serde_json::Value>> {
    projects::require(&state, project, user, &[Role::Admin]).await?;
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM export WHERE project_id = $1 ORDER BY id DESC LIMIT 100"
    ))
    .bind(project)
    .fetch_all(&state.db)
    .await?;
    let list = rows
        .iter()
        .map(row_json)
        .collect::<sqlx::Result<Vec<_>>>()?;
    Ok(Json(json!({ "exports": list })))
}

async fn fetch(state: &AppState, user: CurrentUser, id: i64) -> AppResult<serde_json::Value> {
    let r = sqlx::query(&format!("SELECT {COLUMNS} FROM export WHERE id = $1"))
        .bind(id)
        .fetch_optional(&state.db)
        .await?
        .ok_or(AppError::NotFound)?;
    let project: i64 = r.try_get("project_id")?;
    projects::require(state, project, user, &[Role::Admin]).await?;
    Ok(row_json(&r)?)
}

/// One export: status, progress, counts.
#[utoipa::path(get, path = "/api/exports/{export}", tag = "exports", params(("export" = i64, Path, description = "export id")), responses((status = 200, description = "Success", body = serde_json::Value, content_type = "application/json"), (status = "4XX", description = "Refused, with the reason", body = crate::error::ErrorBody)))]
async fn get_export(
    State(state): State<AppState>,
    user: CurrentUser,
    UrlPath(id): UrlPath<i64>,
) -> AppResult<Json<serde_json::Value>> {
    Ok(Json(fetch(&state, user, id).await?))
}

/// A writer that hands its bytes to an async body through a bounded channel.
pub(super) struct ChannelWriter {
    pub(super) tx: tokio::sync::mpsc::Sender<Result<Bytes, std::io::Error>>,
    pub(super) buf: Vec<u8>,
}

impl Write for ChannelWriter {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.buf.extend_from_slice(data);
        if self.buf.len() >= 1 << 16 {
            self.flush()?;
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let chunk = Bytes::from(std::mem::take(&mut self.buf));
        self.tx
            .blocking_send(Ok(chunk))
            .map_err(|_| std::io::Error::new(std::io::ErrorKind::BrokenPipe, "client went away"))
    }
}

/// Writes `dir` as a gzip'd tar (deterministic headers) into `w`, files under `prefix/`.
/// Entries go in name order, not the file system's, and folders only when they hold a file:
/// the same export gives the same bytes wherever its files were written (a restored backup,
/// an object store, which has no empty folders).
pub fn write_tar_gz(dir: &Path, prefix: &str, w: impl Write) -> std::io::Result<()> {
    let gz = flate2::write::GzEncoder::new(w, flate2::Compression::fast());
    let mut tar = tar::Builder::new(gz);
    tar.mode(tar::HeaderMode::Deterministic);
    tar.follow_symlinks(false);
    tar.append_dir(prefix, dir)?;
    let mut entries = Vec::new();
    list_sorted(dir, Path::new(prefix), &mut entries)?;
    for (path, name, is_dir) in entries {
        if is_dir {
            tar.append_dir(&name, &path)?;
        } else {
            tar.append_path_with_name(&path, &name)?;
        }
    }
    let mut gz = tar.into_inner()?;
    gz.flush()?;
    gz.finish()?.flush()
}

/// The files and folders under `dir` as (path, name in the archive, is a folder), in name
/// order, leaving out folders that hold no file.
fn list_sorted(
    dir: &Path,
    name: &Path,
    out: &mut Vec<(PathBuf, PathBuf, bool)>,
) -> std::io::Result<()> {
    let mut entries = std::fs::read_dir(dir)?.collect::<std::io::Result<Vec<_>>>()?;
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let (path, inner) = (entry.path(), name.join(entry.file_name()));
        let kind = entry.file_type()?;
        if kind.is_dir() {
            let at = out.len();
            out.push((path.clone(), inner.clone(), true));
            list_sorted(&path, &inner, out)?;
            if out.len() == at + 1 {
                out.pop();
            }
        } else if kind.is_file() {
            out.push((path, inner, false));
        }
    }
    Ok(())
}

/// Downloads a finished export as a `.tar.gz` from the store, with `Range` (a long download
/// resumes). An export finished before archives were stored is archived from its folder as it
/// streams.
#[utoipa::path(get, path = "/api/exports/{export}/download", tag = "exports", params(("export" = i64, Path, description = "export id")), responses((status = 200, description = "Success", body = [u8], content_type = "application/gzip"), (status = 206, description = "The requested range", body = [u8], content_type = "application/gzip"), (status = "4XX", description = "Refused, with the reason", body = crate::error::ErrorBody)))]
async fn download(
    State(state): State<AppState>,
    user: CurrentUser,
    UrlPath(id): UrlPath<i64>,
    request: axum::extract::Request,
) -> AppResult<Response> {
    let e = fetch(&state, user, id).await?;
    if e["status"] != "done" {
        // 409: the request is fine, the export is not in a state to give its archive yet.
        return Err(AppError::InUse(
            "export_not_done",
            format!(
                "the export is {}",
                e["status"].as_str().unwrap_or("unknown")
            ),
        ));
    }
    let headers = [
        (CONTENT_TYPE, "application/gzip".to_string()),
        (
            CONTENT_DISPOSITION,
            format!("attachment; filename=\"export-{id}.tar.gz\""),
        ),
    ];
    let key = archive_key(id);
    let dir = export_dir(&state, id);
    if state.store.exists(&key).await? || !dir.is_dir() {
        let mut response = state.store.serve(&key, request).await?;
        for (name, value) in headers {
            let value = value.parse().map_err(anyhow::Error::from)?;
            response.headers_mut().insert(name, value);
        }
        return Ok(response);
    }
    let (tx, rx) = tokio::sync::mpsc::channel(8);
    let prefix = format!("export-{id}");
    tokio::task::spawn_blocking(move || {
        let w = ChannelWriter {
            tx: tx.clone(),
            buf: Vec::new(),
        };
        if let Err(err) = write_tar_gz(&dir, &prefix, w) {
            let _ = tx.blocking_send(Err(err));
        }
    });
    let body = Body::from_stream(tokio_stream::wrappers::ReceiverStream::new(rx));
    Ok((headers, body).into_response())
}
