//! Live pre-annotation: each recording's analysis copy goes, in chunks of at most ten minutes,
//! to the project's OpenAI-compatible server (`POST {url}/v1/audio/transcriptions`, as
//! whisper.cpp's server, faster-whisper servers and OpenAI speak it), as a background job
//! with progress. The verbose JSON answer is read by the Whisper parser of `text::asr` and
//! placed like any imported file (source `openai-api`).
//!
//! Timeouts, refused connections, 429 and 5xx answers are retried with exponential backoff;
//! a 4xx or an answer that is not the expected JSON fails the job at once with its own code.
//! A failed job changes nothing: the recording stays ready and its segments as they were.
//!
//! The server is called only where `outbound` allows: its address is checked again when the
//! job starts and the client connects to the checked addresses only; a redirect answer fails
//! the job (`asr_url_not_allowed`) and is never followed.

use std::io::Cursor;
use std::time::Duration;

use crate::extract::{Json, Path};
use axum::extract::State;
use serde::Deserialize;
use serde_json::json;

use super::db::{self, Target};
use super::outbound::{self, AllowList};
use super::plan::{self, Mode};
use crate::accounts::CurrentUser;
use crate::app::AppState;
use crate::error::{AppError, AppResult};
use crate::jobs::JobEvent;
use crate::projects::{self, Role};
use crate::store::Store;
use crate::text::asr::{Format, Hypothesis};

mod answer;

pub use answer::{LiveError, read_answer};

/// How the client treats the server.
#[derive(Debug, Clone)]
pub struct LiveConfig {
    /// One request's limit (a ten-minute chunk on a CPU-only whisper.cpp takes minutes).
    pub timeout: Duration,
    /// Tries per chunk, the first included.
    pub attempts: u32,
    /// Wait before the first retry; doubled for each further one.
    pub backoff: Duration,
    /// Longest piece of audio sent in one request, seconds (OpenAI caps uploads at 25 MB:
    /// ten minutes of 16 kHz 16-bit mono is 19 MB).
    pub chunk_seconds: u32,
    /// Hosts the operator allows although they are internal (`--asr-allow`); see `outbound`.
    pub allow: AllowList,
}

impl Default for LiveConfig {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(600),
            attempts: 4,
            backoff: Duration::from_secs(2),
            chunk_seconds: 600,
            allow: AllowList::default(),
        }
    }
}

/// The server settings of a project.
#[derive(Debug, Clone)]
pub struct Server {
    /// Base URL, or the full transcription endpoint.
    pub url: String,
    /// Model to ask for.
    pub model: String,
    /// Language hint (ISO 639-1), when set.
    pub language: Option<String>,
    /// Bearer key, when the server wants one.
    pub key: Option<String>,
}

impl Server {
    /// The transcription endpoint.
    pub fn endpoint(&self) -> String {
        let base = self.url.trim_end_matches('/');
        if base.ends_with("/audio/transcriptions") {
            base.to_string()
        } else if base.ends_with("/v1") {
            format!("{base}/audio/transcriptions")
        } else {
            format!("{base}/v1/audio/transcriptions")
        }
    }
}

/// One request.
async fn request(
    client: &reqwest::Client,
    server: &Server,
    wav: Vec<u8>,
    timeout: Duration,
) -> Result<String, LiveError> {
    let part = reqwest::multipart::Part::bytes(wav)
        .file_name("chunk.wav")
        .mime_str("audio/wav")
        .map_err(|e| LiveError::Unreachable(e.to_string()))?;
    let mut form = reqwest::multipart::Form::new()
        .part("file", part)
        .text("model", server.model.clone())
        .text("response_format", "verbose_json")
        .text("timestamp_granularities[]", "segment");
    if let Some(lang) = &server.language {
        form = form.text("language", lang.clone());
    }
    let mut req = client.post(server.endpoint()).multipart(form);
    if let Some(key) = &server.key {
        req = req.bearer_auth(key);
    }
    let map = |e: reqwest::Error| {
        if e.is_timeout() {
            LiveError::Timeout(timeout.as_secs())
        } else {
            LiveError::Unreachable(e.to_string())
        }
    };
    let res = req.send().await.map_err(map)?;
    let status = res.status();
    if status.is_redirection() {
        let location = res
            .headers()
            .get(reqwest::header::LOCATION)
            .and_then(|l| l.to_str().ok())
            .unwrap_or("nowhere")
            .chars()
            .take(300)
            .collect();
        return Err(LiveError::Redirect {
            status: status.as_u16(),
            location,
        });
    }
    let body = res.text().await.map_err(map)?;
    if !status.is_success() {
        return Err(LiveError::Status {
            status: status.as_u16(),
            body: body.chars().take(300).collect(),
        });
    }
    Ok(body)
}

/// `[from, to)` samples of the analysis copy as a WAV file in memory.
fn chunk_wav(
    store: &crate::store::Store,
    key: &str,
    from: u32,
    to: u32,
) -> Result<Vec<u8>, LiveError> {
    let audio = |e: hound::Error| LiveError::Audio(e.to_string());
    let (source, _) = store
        .reader(key, crate::store::PICK_BLOCK)
        .map_err(|e| LiveError::Audio(e.to_string()))?;
    let mut reader =
        hound::WavReader::new(std::io::BufReader::with_capacity(1 << 16, source)).map_err(audio)?;
    let spec = reader.spec();
    reader
        .seek(from)
        .map_err(|e| LiveError::Audio(e.to_string()))?;
    let mut out = Cursor::new(Vec::with_capacity(44 + 2 * (to - from) as usize));
    {
        let mut writer = hound::WavWriter::new(&mut out, spec).map_err(audio)?;
        for s in reader.samples::<i16>().take((to - from) as usize) {
            writer.write_sample(s.map_err(audio)?).map_err(audio)?;
        }
        writer.finalize().map_err(audio)?;
    }
    Ok(out.into_inner())
}

/// Checks the server's address again (DNS may have changed since the URL was set) and builds
/// a client that connects only to the addresses checked.
async fn connect(server: &Server, config: &LiveConfig) -> Result<reqwest::Client, LiveError> {
    let dest = outbound::check(&server.endpoint(), &config.allow)
        .await
        .map_err(|refusal| match refusal {
            outbound::Refusal::Unresolved { .. } => LiveError::Unreachable(refusal.to_string()),
            other => LiveError::NotAllowed(other.to_string()),
        })?;
    outbound::client(&dest, config.timeout).map_err(|e| LiveError::Unreachable(e.to_string()))
}

/// Transcribes a whole recording, chunk by chunk, with retries; `progress` gets 0..1.
pub async fn transcribe(
    store: &Store,
    target: &Target,
    server: &Server,
    config: &LiveConfig,
    mut progress: impl FnMut(f64, Option<&LiveError>),
) -> Result<Hypothesis, LiveError> {
    let sha = target
        .sha256
        .clone()
        .ok_or_else(|| LiveError::Audio("the recording has no analysis copy".into()))?;
    let rate = u32::try_from(target.rate).unwrap_or(16_000);
    let key = crate::audio::Store::analysis_rel(&sha, rate);
    let total = u32::try_from(target.samples).unwrap_or(0);
    let chunk = config.chunk_seconds.max(1) * rate;
    let client = connect(server, config).await?;
    let chunks = total.div_ceil(chunk).max(1);
    let mut segments = Vec::new();
    for i in 0..chunks {
        let from = i * chunk;
        let to = (from + chunk).min(total);
        let (st, k) = (store.clone(), key.clone());
        let wav = tokio::task::spawn_blocking(move || chunk_wav(&st, &k, from, to))
            .await
            .map_err(|e| LiveError::Audio(e.to_string()))??;
        let mut attempt = 1;
        let body = loop {
            match request(&client, server, wav.clone(), config.timeout).await {
                Ok(body) => break body,
                Err(e) if e.retryable() && attempt < config.attempts => {
                    tracing::warn!("ASR chunk {i} of recording {}: {e}; retrying", target.id);
                    progress(f64::from(i) / f64::from(chunks), Some(&e));
                    tokio::time::sleep(config.backoff * 2u32.pow(attempt - 1)).await;
                    attempt += 1;
                }
                Err(e) => return Err(e),
            }
        };
        let offset = f64::from(from) / f64::from(rate);
        segments.extend(read_answer(
            &body,
            offset,
            f64::from(to - from) / f64::from(rate),
        )?);
        progress(f64::from(i + 1) / f64::from(chunks), None);
    }
    Ok(Hypothesis {
        format: Format::Whisper,
        model: Some(server.model.clone()),
        language: server.language.clone(),
        tier: None,
        segments,
        warnings: Vec::new(),
    })
}

/// Request body of `pre-annotate`.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
pub struct PreAnnotate {
    /// Recordings to transcribe (default: every ready recording of the project).
    #[serde(default)]
    recordings: Option<Vec<i64>>,
    /// Where the text goes (default `auto`).
    #[serde(default)]
    mode: Mode,
}

/// `POST /api/projects/{project}/pre-annotate`: one background job per recording against the
/// project's ASR server. Follow each with `GET /api/jobs/{id}` or its event stream.
#[utoipa::path(post, path = "/api/projects/{project}/pre-annotate", tag = "asr",
    params(("project" = i64, Path, description = "project id")),
    request_body = PreAnnotate,
    responses((status = 200, description = "The jobs started: `{jobs: [{job, recording}]}`", body = serde_json::Value, content_type = "application/json"),
              (status = "4XX", description = "Refused, with the reason", body = crate::error::ErrorBody)))]
pub(super) async fn pre_annotate(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(project): Path<i64>,
    body: Option<Json<PreAnnotate>>,
) -> AppResult<Json<serde_json::Value>> {
    projects::require(&state, project, user, &[Role::Admin]).await?;
    let req = body.map(|Json(b)| b).unwrap_or_default();
    let (url, model, language, key) = db::live_settings(&state.db, project).await?;
    let (Some(url), Some(model)) = (url, model) else {
        // 409: the request is fine, the project's state is not ready for it.
        return Err(AppError::InUse(
            "asr_not_configured",
            "set the project's ASR server URL and model first (PATCH /api/projects/{id})".into(),
        ));
    };
    let server = Server {
        url,
        model,
        language,
        key,
    };
    let all = db::recordings(&state.db, project).await?;
    let mut chosen = Vec::new();
    match &req.recordings {
        Some(ids) => {
            for id in ids {
                let r = all.iter().find(|r| r.id == *id).ok_or_else(|| {
                    AppError::bad(
                        "no_such_recording",
                        "recordings",
                        format!("recording {id} is not in this project"),
                    )
                })?;
                if r.status != "ready" {
                    return Err(AppError::bad(
                        "recording_not_ready",
                        "recordings",
                        format!("recording {id} is {}", r.status),
                    ));
                }
                chosen.push(r);
            }
        }
        None => chosen.extend(all.iter().filter(|r| r.status == "ready")),
    }
    let mut started = Vec::new();
    for r in chosen {
        let job = state.jobs.create(&state.db, "asr", r.id, None).await?;
        started.push(json!({ "job": job, "recording": r.id }));
        let target = db::recording(&state.db, r.id).await?;
        state.jobs.spawn(run(
            state.clone(),
            job,
            target,
            server.clone(),
            req.mode,
            user.id,
        ));
    }
    Ok(Json(json!({ "jobs": started })))
}

async fn run(state: AppState, job: i64, target: Target, server: Server, mode: Mode, author: i64) {
    let publish = |status: &'static str, progress: f64, code: Option<String>| {
        state.jobs.publish(JobEvent {
            job,
            status,
            progress,
            error_code: code,
        });
    };
    let _lease = state.jobs.hold(&state.db, job);
    let _ = state
        .jobs
        .set_status(&state.db, job, "running", 0.0, None)
        .await;
    publish("running", 0.0, None);
    let config = state.config.asr.clone();
    let db_pool = state.db.clone();
    let mut last_retry: Option<(String, String)> = None;
    let outcome = transcribe(&state.store, &target, &server, &config, |p, retry| {
        publish("running", p * 0.95, retry.map(|e| e.code().to_string()));
        if let Some(e) = retry {
            last_retry = Some((e.code().to_string(), e.to_string()));
        }
    })
    .await;
    // Retries are visible on the job while it runs and afterwards.
    if let Some((code, message)) = &last_retry {
        let _ = state
            .jobs
            .set_status(
                &db_pool,
                job,
                "running",
                0.95,
                Some((code, &format!("retried after: {message}"))),
            )
            .await;
    }
    let result = match outcome {
        Ok(hyp) => {
            let placed = async {
                let existing = db::existing(&state.db, target.id).await?;
                let plan = plan::plan(&hyp, &existing, target.rate, target.samples, mode);
                db::apply(
                    &state.db,
                    &target,
                    &plan,
                    "openai-api",
                    Some(&server.model),
                    Some(author),
                )
                .await
            }
            .await;
            placed.map_err(|e| ("internal".to_string(), e.to_string()))
        }
        Err(e) => Err((e.code().to_string(), e.to_string())),
    };
    match result {
        Ok(applied) => {
            tracing::info!("ASR job {job}: {applied:?}");
            let _ = state
                .jobs
                .set_status(&state.db, job, "done", 1.0, None)
                .await;
            publish("done", 1.0, None);
        }
        Err((code, message)) => {
            tracing::warn!("ASR job {job} failed: {message}");
            let _ = state
                .jobs
                .set_status(&state.db, job, "failed", 1.0, Some((&code, &message)))
                .await;
            publish("failed", 1.0, Some(code));
        }
    }
}

#[cfg(test)]
mod tests;
