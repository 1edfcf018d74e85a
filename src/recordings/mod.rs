//! Recordings: streamed upload, the ingest-and-analysis job, listing, the analysis copy with
//! HTTP Range, and waveform peaks. New recordings get their first segments from the VAD.

pub mod db;
mod media;
mod takeover;
mod tracks;
pub use takeover::{recover, take_over, take_over_forever};

use sha2::{Digest, Sha256};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::router::UtoipaMethodRouterExt;
use utoipa_axum::routes;

use crate::extract::{Json, Path};
use axum::extract::{DefaultBodyLimit, Multipart, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::accounts::CurrentUser;
use crate::analysis::pitch::{PitchParams, PitchTracker};
use crate::analysis::vad::{self, VadParams};
use crate::app::AppState;
use crate::audio::ingest::read_block;
use crate::audio::ingest::{self, Store as Layout};
use crate::audio::{IngestOptions, Objects};
use crate::error::{AppError, AppResult};
use crate::jobs::JobEvent;
use crate::projects::{self, Role};
use crate::store::Store;
use std::io::Write;

/// Routes of this stage. The upload route alone accepts large bodies.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list))
        .routes(routes!(get_one))
        .routes(routes!(media::audio))
        .routes(routes!(media::peaks))
        .routes(routes!(media::spectrogram))
        .routes(routes!(media::pitch))
        .routes(routes!(tracks::track))
        .routes(routes!(tracks::formants))
        .routes(routes!(media::clip))
}

/// The upload route, apart because it streams for as long as the upload takes: it has its own
/// body limit and no request timeout.
pub fn upload_router(max_upload: usize) -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(upload).layer(DefaultBodyLimit::max(max_upload)))
}

#[utoipa::path(get, path = "/api/projects/{project}/recordings", tag = "recordings", params(("project" = i64, Path, description = "project id")), responses((status = 200, description = "Success", body = serde_json::Value, content_type = "application/json"), (status = "4XX", description = "Refused, with the reason", body = crate::error::ErrorBody)))]
async fn list(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(project): Path<i64>,
) -> AppResult<Json<serde_json::Value>> {
    projects::role_in(&state, project, user).await?;
    Ok(Json(
        json!({ "recordings": db::list(&state.db, project).await? }),
    ))
}

/// Multipart form of an upload (for the OpenAPI document): the one field `file`; any other,
/// before or after it, is 400 `unknown_field`.
#[derive(utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct UploadForm {
    /// The recording: any audio or video container the decoder knows.
    #[schema(format = Binary, value_type = String)]
    file: Vec<u8>,
}

/// Streams the `file` field of a multipart upload to a temporary object in the store while
/// hashing it, then queues ingest.
#[utoipa::path(post, path = "/api/projects/{project}/recordings", tag = "recordings", params(("project" = i64, Path, description = "project id")), request_body(content = UploadForm, content_type = "multipart/form-data"), responses((status = 202, description = "Queued: `{recording, job, name}`", body = serde_json::Value, content_type = "application/json"), (status = "4XX", description = "Refused, with the reason", body = crate::error::ErrorBody)))]
async fn upload(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(project): Path<i64>,
    mut form: Multipart,
) -> AppResult<Response> {
    projects::require(&state, project, user, &[Role::Admin]).await?;
    let bad_form = |e: axum::extract::multipart::MultipartError| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            AppError::TooLarge(format!(
                "uploads are limited to {} bytes",
                state.config.max_upload
            ))
        } else {
            AppError::bad("bad_multipart", "file", e.body_text())
        }
    };
    if let Some(mut field) = form.next_field().await.map_err(bad_form)? {
        if field.name() != Some("file") {
            return Err(AppError::bad(
                "unknown_field",
                "file",
                "an upload has one field, `file`",
            ));
        }
        let name = clean_name(field.file_name().unwrap_or("recording"));
        let tmp = state.store.tmp_key("upload");
        let mut upload = state.store.upload(&tmp).await?;
        let mut hasher = Sha256::new();
        let mut size = 0usize;
        let written: AppResult<()> = async {
            while let Some(chunk) = field.chunk().await.map_err(bad_form)? {
                size += chunk.len();
                if size > state.config.max_upload {
                    return Err(AppError::TooLarge(format!(
                        "uploads are limited to {} bytes",
                        state.config.max_upload
                    )));
                }
                hasher.update(&chunk);
                upload.write(&chunk).await?;
            }
            Ok(())
        }
        .await;
        drop(field);
        // The one field: anything after the file is refused too, as the document says.
        let written = match written {
            Ok(()) => match form.next_field().await.map_err(bad_form) {
                Ok(None) => Ok(()),
                Ok(Some(_)) => Err(AppError::bad(
                    "unknown_field",
                    "file",
                    "an upload has one field, `file`",
                )),
                Err(e) => Err(e),
            },
            Err(e) => Err(e),
        };
        if let Err(e) = written {
            upload.abort().await;
            return Err(e);
        }
        upload.finish().await?;
        let sha = hex::encode(hasher.finalize());
        // Check the header and the first audio now, so a file that is not usable audio is
        // refused with its ingest code (415/422/413) instead of becoming a failed recording.
        // The full decode runs in the job.
        let (store, key) = (state.store.clone(), tmp.clone());
        let checked = tokio::task::spawn_blocking(move || {
            ingest::precheck_object(&store, &key, Default::default()).map(|_| ())
        })
        .await
        .map_err(anyhow::Error::from)?;
        if let Err(e) = checked {
            let _ = state.store.delete(&tmp).await;
            return Err(e.into());
        }
        let (recording, job) = queue_ingest(&state, project, &name, tmp, Some(sha)).await?;
        let body = json!({ "recording": recording, "job": job, "name": name });
        return Ok((StatusCode::ACCEPTED, Json(body)).into_response());
    }
    Err(AppError::bad(
        "missing_file",
        "file",
        "send the recording in a multipart field named `file`",
    ))
}

/// Imports a file from disk through the same job as an upload (the file is copied into the
/// store first, so the caller's file is never moved). Returns (recording, job).
pub async fn import_file(
    state: &AppState,
    project: i64,
    file: &std::path::Path,
) -> anyhow::Result<(i64, i64)> {
    let name = clean_name(
        &file
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
    );
    let tmp = state.store.tmp_key("upload");
    state.store.put_file(&tmp, file).await?;
    Ok(queue_ingest(state, project, &name, tmp, None).await?)
}

/// Creates the recording (importing) and its job, and starts the job on the stored upload
/// `key` (its SHA-256 when known), which the job moves or removes when done. Returns
/// (recording, job).
async fn queue_ingest(
    state: &AppState,
    project: i64,
    name: &str,
    key: String,
    sha: Option<String>,
) -> sqlx::Result<(i64, i64)> {
    let rate = crate::projects::db::analysis_rate(&state.db, project).await?;
    let recording = db::create(&state.db, project, name, rate).await?;
    let job = state
        .jobs
        .create(&state.db, "ingest", recording, Some(&key))
        .await?;
    let st = state.clone();
    state
        .jobs
        .spawn(async move { run_ingest(st, job, recording, rate as u32, key, sha).await });
    Ok((recording, job))
}

/// Upload names are display text only: NFC is left alone, control characters are dropped,
/// and the length is capped.
fn clean_name(raw: &str) -> String {
    let name: String = raw
        .chars()
        .filter(|c| {
            !c.is_control() && !matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
        })
        .take(200)
        .collect();
    if name.trim().is_empty() {
        "recording".into()
    } else {
        name
    }
}

/// Shares of the job's progress: decoding and storing first, then pitch, then the VAD; the
/// rest is saving the segments.
const INGEST_SHARE: f64 = 0.5;
const PITCH_SHARE: f64 = 0.3;
const VAD_SHARE: f64 = 0.15;

/// The ingest-and-analysis job: decode, store, peaks; then pitch and the VAD's first segments.
/// All of it runs on the blocking pool, reading and writing in bounded blocks, so neither the
/// async workers nor memory depend on the recording's length.
async fn run_ingest(
    state: AppState,
    job: i64,
    recording: i64,
    rate: u32,
    upload: String,
    sha: Option<String>,
) {
    let _lease = state.jobs.hold(&state.db, job);
    let _ = state
        .jobs
        .set_status(&state.db, job, "running", 0.0, None)
        .await;
    state.jobs.publish(JobEvent {
        job,
        status: "running",
        progress: 0.0,
        error_code: None,
    });
    let started = std::time::Instant::now();
    let store = state.store.clone();
    let mut report = state.jobs.reporter(state.db.clone(), job);
    let key = upload.clone();
    let name = db::get(&state.db, recording)
        .await
        .map(|r| r.name)
        .unwrap_or_default();
    let result = tokio::task::spawn_blocking(move || {
        // A resumed upload was hashed before the crash, but the hash was not kept: hash again.
        let sha = match sha {
            Some(s) => s,
            None => ingest::hash_object(&store, &key)?.0,
        };
        let meta = ingest::ingest_object(
            &store,
            &key,
            &sha,
            &name,
            IngestOptions {
                rate,
                ..Default::default()
            },
            &mut |done, total| report(INGEST_SHARE * done as f64 / total.max(1) as f64),
        )?;
        let spans = follow_up(&store, &meta.sha256, rate, &mut report)
            .map_err(crate::audio::IngestError::Io)?;
        Ok::<_, crate::audio::IngestError>((meta, spans))
    })
    .await;
    let outcome = match result {
        Ok(Ok((meta, spans))) => finish(&state, job, recording, &meta, rate, &spans)
            .await
            .map_err(|e| {
                tracing::error!("recording {recording}: {e}");
                (
                    "internal".to_string(),
                    "saving the recording failed".to_string(),
                )
            }),
        Ok(Err(e)) => Err((e.code().to_string(), e.to_string())),
        Err(e) => Err((
            "internal".to_string(),
            format!("the ingest worker stopped: {e}"),
        )),
    };
    let owned = match &outcome {
        Ok(owned) => *owned,
        Err((code, message)) => state
            .jobs
            .set_status(&state.db, job, "failed", 1.0, Some((code, message)))
            .await
            .unwrap_or(false),
    };
    if !owned {
        // Another server took the job over (this one was presumed dead): its run counts, and
        // it still needs the upload.
        tracing::warn!("ingest job {job} was taken over by another server; this run is discarded");
        return;
    }
    // Copied to originals/ when the ingest succeeded; no longer needed either way.
    if let Err(e) = state.store.delete(&upload).await {
        tracing::warn!("removing the upload {upload}: {e}");
    }
    let label = if outcome.is_ok() { "done" } else { "failed" };
    state.metrics.observe_ingest(label, started.elapsed());
    match outcome {
        Ok(_) => state.jobs.publish(JobEvent {
            job,
            status: "done",
            progress: 1.0,
            error_code: None,
        }),
        Err((code, message)) => {
            let _ = db::mark_failed(&state.db, recording, &code, &message).await;
            state.jobs.publish(JobEvent {
                job,
                status: "failed",
                progress: 1.0,
                error_code: Some(code),
            });
        }
    }
}

/// The recording ready with its first segments, and its job done, in one transaction, if
/// this server still holds the job's lease; false (nothing written) when another server has
/// taken it over.
async fn finish(
    state: &AppState,
    job: i64,
    recording: i64,
    meta: &crate::audio::RecordingMeta,
    rate: u32,
    spans: &[(i64, i64)],
) -> anyhow::Result<bool> {
    let mut tx = crate::db::begin_write(&state.db).await?;
    if !state.jobs.finish_in(&mut tx, job).await? {
        tx.rollback().await?;
        return Ok(false);
    }
    db::mark_ready(&mut tx, recording, meta, rate, spans).await?;
    tx.commit().await?;
    Ok(true)
}

/// After ingest: the pitch track stored per recording, and VAD segments (in samples) returned.
/// `report` gets the job's progress (see the shares above).
fn follow_up(
    store: &Store,
    sha: &str,
    rate: u32,
    report: &mut dyn FnMut(f64),
) -> std::io::Result<Vec<(i64, i64)>> {
    let (source, _) = store.open(&Layout::analysis_rel(sha, rate))?;
    let mut wav = hound::WavReader::new(std::io::BufReader::with_capacity(1 << 16, source))
        .map_err(std::io::Error::other)?;
    let total = wav.duration() as usize;
    let share =
        |from: f64, width: f64, start: usize| from + width * start as f64 / total.max(1) as f64;

    // The track is written as a new object, visible only when complete, so a crash never
    // leaves half a track; the spill file (16 bytes a frame) lives in the scratch folder,
    // swept at start-up.
    let tmp_spill = store
        .scratch()
        .join(format!("pitch-{}.spill", crate::accounts::new_secret().1));
    let written = (|| {
        let mut spill = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .open(&tmp_spill)?;
        let mut track = store.create(&Layout::pitch_rel(sha, rate))?;
        let mut out = std::io::BufWriter::new(&mut track);
        let loudest = PitchTracker::new(rate, PitchParams::default()).write_json_blocks(
            total,
            &mut |s, n| {
                report(share(INGEST_SHARE, PITCH_SHARE, s));
                read_block(&mut wav, s, n)
            },
            &mut spill,
            &mut out,
        )?;
        out.flush()?;
        drop(out);
        track.commit()?;
        tracks::write_pitch_level(store, sha, rate, loudest)
    })();
    let _ = std::fs::remove_file(&tmp_spill);
    written?;

    let features = vad::Features::from_blocks(total, rate, &mut |s, n| {
        report(share(INGEST_SHARE + PITCH_SHARE, VAD_SHARE, s));
        read_block(&mut wav, s, n)
    });
    let spans = features.segments(total as f64 / f64::from(rate), VadParams::default());
    Ok(spans
        .iter()
        .map(|s| {
            (
                (s.start * f64::from(rate)).round() as i64,
                ((s.end * f64::from(rate)).round() as i64).min(total as i64),
            )
        })
        .filter(|(a, b)| a < b)
        .collect())
}

#[utoipa::path(get, path = "/api/recordings/{recording}", tag = "recordings", params(("recording" = i64, Path, description = "recording id")), responses((status = 200, description = "Success", body = serde_json::Value, content_type = "application/json"), (status = "4XX", description = "Refused, with the reason", body = crate::error::ErrorBody)))]
async fn get_one(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(recording): Path<i64>,
) -> AppResult<Json<serde_json::Value>> {
    let r = db::get(&state.db, recording).await?;
    projects::role_in(&state, r.project_id, user).await?;
    Ok(Json(serde_json::to_value(&r).map_err(anyhow::Error::from)?))
}
