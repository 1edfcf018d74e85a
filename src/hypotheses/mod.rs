//! ASR hypotheses in: the import of ASR output files (any format `text::asr` reads) through
//! the API and `fangyan import-asr`, matched to recordings by name or an explicit mapping;
//! and live pre-annotation from an OpenAI-compatible transcription server (`live`).
//!
//! Owns the routes `POST /api/recordings/{id}/asr`, `POST /api/projects/{id}/asr` and
//! `POST /api/projects/{id}/pre-annotate`, and the plan that decides where the text goes
//! (`plan`: create segments, or attach to existing ones by time overlap), and the check of
//! where the live client may connect (`outbound`: the operator's allow-list).

pub mod db;
pub mod live;
pub mod outbound;
pub mod plan;

use std::collections::BTreeMap;

use crate::extract::{Json, Path};
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Multipart, State};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::accounts::CurrentUser;
use crate::app::AppState;
use crate::error::{AppError, AppResult};
use crate::projects::{self, Role};
use crate::text::asr::{self, AsrError, Hypothesis};
use db::{Applied, Target};
use plan::Mode;

/// Largest ASR output file accepted (a 10-hour WhisperX file with word times is ~30 MB).
pub const MAX_FILE: usize = 64 << 20;

/// Routes of this stage.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(import_one))
        .routes(routes!(import_project))
        .routes(routes!(live::pre_annotate))
        .layer(DefaultBodyLimit::max(MAX_FILE + (1 << 20)))
}

/// How to read and place one file.
#[derive(Debug, Clone, Default)]
pub struct ImportOptions {
    /// TextGrid / EAF tier (default: the first with text).
    pub tier: Option<String>,
    /// Create, attach or decide.
    pub mode: Mode,
    /// Model name when the file does not say.
    pub model: Option<String>,
    /// File name (or recording named inside a file) → recording name or id.
    pub mapping: BTreeMap<String, String>,
}

/// What one file did to one recording.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Imported {
    /// The file.
    pub file: String,
    /// The recording it went to.
    pub recording: i64,
    /// The recording's name.
    pub recording_name: String,
    /// Detected format.
    pub format: &'static str,
    /// Model, from the file or the request.
    pub model: Option<String>,
    /// Counts.
    #[serde(flatten)]
    pub applied: Applied,
    /// Things that did not stop the import.
    pub warnings: Vec<String>,
}

/// Why a file could not be imported.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// The file itself (names the line or field).
    #[error("{file}: {source}")]
    Parse {
        /// File name.
        file: String,
        /// The parser's error.
        source: AsrError,
    },
    /// No recording matches the file (or a recording named inside it).
    #[error(
        "{file}: no recording matches `{key}`; name the file after the recording or give a mapping"
    )]
    NoMatch {
        /// File name.
        file: String,
        /// What was looked for.
        key: String,
    },
    /// The recording is still importing or failed.
    #[error("{file}: recording `{name}` is not ready ({status})")]
    NotReady {
        /// File name.
        file: String,
        /// Recording name.
        name: String,
        /// Its status.
        status: String,
    },
    /// The bounded pool refused or lost the parse (busy, or a bug).
    #[error(transparent)]
    Work(#[from] crate::work::WorkError),
    /// The database.
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

impl From<ImportError> for AppError {
    fn from(e: ImportError) -> Self {
        match &e {
            ImportError::Parse {
                source: AsrError::TooComplex { .. },
                ..
            } => AppError::TooLarge(e.to_string()),
            ImportError::Parse { source, .. } => AppError::BadRequest {
                code: source.code(),
                message: e.to_string(),
                field: Some("file"),
            },
            ImportError::NoMatch { .. } => {
                AppError::bad("no_matching_recording", "file", e.to_string())
            }
            ImportError::NotReady { .. } => {
                AppError::bad("recording_not_ready", "file", e.to_string())
            }
            ImportError::Work(w) => (*w).into(),
            ImportError::Db(_) => match e {
                ImportError::Db(d) => d.into(),
                _ => AppError::NotFound,
            },
        }
    }
}

/// The matching key of a name: lower case, without directories and extensions
/// (`Spk01_A.wav.json` → `spk01_a`).
pub fn name_key(name: &str) -> String {
    let base = name.rsplit(['/', '\\']).next().unwrap_or(name);
    let stem = base.split('.').next().unwrap_or(base);
    stem.trim().to_lowercase()
}

/// Parses one ASR file on the bounded pool, within the configured parse budget and time.
async fn parse_bounded(
    state: &AppState,
    file: &str,
    bytes: Bytes,
    tier: Option<String>,
) -> Result<Hypothesis, ImportError> {
    let budgets = &state.config.budgets;
    let limits = budgets.asr;
    let name = file.to_string();
    let parsed = crate::work::run_bounded(&state.work, budgets.parse_time, move |_| {
        asr::parse_with(&bytes, Some(&name), tier.as_deref(), &limits)
    })
    .await?;
    parsed.map_err(|source| ImportError::Parse {
        file: file.to_string(),
        source,
    })
}

/// Imports one ASR file into the recordings it covers. `fixed` forces the recording (the
/// per-recording route); otherwise `mapping` (file or in-file recording name → recording
/// name or id) and then the names decide. The parse runs on the bounded pool.
pub async fn import_bytes(
    state: &AppState,
    project: i64,
    file: &str,
    bytes: Bytes,
    opts: &ImportOptions,
    fixed: Option<&Target>,
    author: Option<i64>,
) -> Result<Vec<Imported>, ImportError> {
    let db_pool = &state.db;
    let hyp = parse_bounded(state, file, bytes, opts.tier.clone()).await?;
    // Group by the recording named inside the file (CTM, FunASR keys, Label Studio tasks).
    let mut groups: BTreeMap<Option<String>, Hypothesis> = BTreeMap::new();
    for seg in &hyp.segments {
        let key = if fixed.is_some() {
            None
        } else {
            seg.recording.clone()
        };
        groups
            .entry(key)
            .or_insert_with(|| Hypothesis {
                segments: Vec::new(),
                warnings: Vec::new(),
                ..hyp.clone()
            })
            .segments
            .push(seg.clone());
    }
    if groups.is_empty() {
        groups.insert(
            None,
            Hypothesis {
                segments: Vec::new(),
                ..hyp.clone()
            },
        );
    }
    let all = match fixed {
        Some(_) => Vec::new(),
        None => db::recordings(db_pool, project).await?,
    };
    let model = hyp.model.clone().or_else(|| opts.model.clone());
    let source = hyp.format.name();
    // Resolve every group before writing anything: a file imports whole or not at all.
    let mut resolved = Vec::new();
    for (key, group) in groups {
        let target = match fixed {
            Some(t) => recording_copy(t),
            None => {
                let wanted = key.clone().unwrap_or_else(|| file.to_string());
                let wanted = opts
                    .mapping
                    .get(&wanted)
                    .or_else(|| opts.mapping.get(&name_key(&wanted)))
                    .cloned()
                    .unwrap_or(wanted);
                let found = all
                    .iter()
                    .find(|r| wanted.parse::<i64>().is_ok_and(|id| id == r.id))
                    .or_else(|| all.iter().find(|r| r.name == wanted))
                    .or_else(|| all.iter().find(|r| name_key(&r.name) == name_key(&wanted)));
                match found {
                    Some(t) => recording_copy(t),
                    None => {
                        return Err(ImportError::NoMatch {
                            file: file.to_string(),
                            key: wanted,
                        });
                    }
                }
            }
        };
        if target.status != "ready" {
            return Err(ImportError::NotReady {
                file: file.to_string(),
                name: target.name,
                status: target.status,
            });
        }
        resolved.push((target, group));
    }
    let mut out = Vec::new();
    for (target, group) in resolved {
        let existing = db::existing(db_pool, target.id).await?;
        let plan = plan::plan(&group, &existing, target.rate, target.samples, opts.mode);
        let applied = db::apply(db_pool, &target, &plan, source, model.as_deref(), author).await?;
        out.push(Imported {
            file: file.to_string(),
            recording: target.id,
            recording_name: target.name.clone(),
            format: source,
            model: model.clone(),
            applied,
            warnings: hyp.warnings.clone(),
        });
    }
    Ok(out)
}

fn recording_copy(t: &Target) -> Target {
    Target {
        id: t.id,
        project: t.project,
        name: t.name.clone(),
        rate: t.rate,
        samples: t.samples,
        status: t.status.clone(),
        sha256: t.sha256.clone(),
    }
}

/// The parts of an import form: files, and the text fields `tier`, `mode`, `model`, `mapping`.
struct Form {
    files: Vec<(String, Bytes)>,
    opts: ImportOptions,
}

async fn read_form(mut form: Multipart) -> AppResult<Form> {
    let bad = |e: axum::extract::multipart::MultipartError| {
        if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
            AppError::TooLarge(format!("ASR files are limited to {MAX_FILE} bytes"))
        } else {
            AppError::bad("bad_multipart", "file", e.body_text())
        }
    };
    let mut out = Form {
        files: Vec::new(),
        opts: ImportOptions::default(),
    };
    while let Some(field) = form.next_field().await.map_err(bad)? {
        let name = field.name().unwrap_or_default().to_string();
        match name.as_str() {
            "file" => {
                let file = field.file_name().unwrap_or("asr.json").to_string();
                let bytes = field.bytes().await.map_err(bad)?;
                if bytes.len() > MAX_FILE {
                    return Err(AppError::TooLarge(format!(
                        "ASR files are limited to {MAX_FILE} bytes"
                    )));
                }
                out.files.push((file, bytes));
            }
            "tier" | "mode" | "model" | "mapping" => {
                let value = field.text().await.map_err(bad)?;
                let value = value.trim().to_string();
                match name.as_str() {
                    "tier" if !value.is_empty() => out.opts.tier = Some(value),
                    "model" if !value.is_empty() => out.opts.model = Some(value),
                    "mode" => {
                        out.opts.mode = value
                            .parse()
                            .map_err(|m: String| AppError::bad("invalid_mode", "mode", m))?;
                    }
                    "mapping" if !value.is_empty() => {
                        out.opts.mapping = serde_json::from_str(&value).map_err(|e| {
                            AppError::bad(
                                "invalid_mapping",
                                "mapping",
                                format!(
                                    "mapping is a JSON object of file name to recording name: {e}"
                                ),
                            )
                        })?;
                    }
                    _ => {}
                }
            }
            _ => {}
        }
    }
    if out.files.is_empty() {
        return Err(AppError::bad(
            "missing_file",
            "file",
            "attach at least one ASR output file as `file`",
        ));
    }
    Ok(out)
}

/// Multipart form of an import (for the OpenAPI document).
#[derive(Deserialize, utoipa::ToSchema)]
#[allow(dead_code)]
struct ImportForm {
    /// ASR output files (repeat the field for several).
    #[schema(format = Binary, value_type = Vec<String>, min_items = 1)]
    file: Vec<String>,
    /// TextGrid or EAF tier.
    tier: Option<String>,
    /// `auto` (default), `create` or `attach`.
    #[schema(value_type = Option<Mode>)]
    mode: Option<String>,
    /// Model name when the file does not say.
    model: Option<String>,
    /// JSON object: file name (or recording named inside a file) → recording name or id.
    mapping: Option<String>,
}

/// `POST /api/recordings/{recording}/asr`: ASR output for this recording.
#[utoipa::path(post, path = "/api/recordings/{recording}/asr", tag = "asr",
    params(("recording" = i64, Path, description = "recording id")),
    request_body(content = ImportForm, content_type = "multipart/form-data"),
    responses((status = 200, description = "What the import did", body = Vec<Imported>),
              (status = "4XX", description = "Refused, with the reason (line or field of a bad file)", body = crate::error::ErrorBody)))]
async fn import_one(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(recording): Path<i64>,
    form: Multipart,
) -> AppResult<Json<serde_json::Value>> {
    let target = db::recording(&state.db, recording).await?;
    projects::require(&state, target.project, user, &[Role::Admin]).await?;
    let form = read_form(form).await?;
    let mut results = Vec::new();
    for (file, bytes) in &form.files {
        results.extend(
            import_bytes(
                &state,
                target.project,
                file,
                bytes.clone(),
                &form.opts,
                Some(&target),
                Some(user.id),
            )
            .await?,
        );
    }
    Ok(Json(json!({ "imports": results })))
}

/// `POST /api/projects/{project}/asr`: ASR output files matched to the project's recordings
/// by name, or by `mapping`.
#[utoipa::path(post, path = "/api/projects/{project}/asr", tag = "asr",
    params(("project" = i64, Path, description = "project id")),
    request_body(content = ImportForm, content_type = "multipart/form-data"),
    responses((status = 200, description = "What the import did, per file and recording", body = Vec<Imported>),
              (status = "4XX", description = "Refused, with the reason (line or field of a bad file)", body = crate::error::ErrorBody)))]
async fn import_project(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(project): Path<i64>,
    form: Multipart,
) -> AppResult<Json<serde_json::Value>> {
    projects::require(&state, project, user, &[Role::Admin]).await?;
    let form = read_form(form).await?;
    let mut results = Vec::new();
    for (file, bytes) in &form.files {
        results.extend(
            import_bytes(
                &state,
                project,
                file,
                bytes.clone(),
                &form.opts,
                None,
                Some(user.id),
            )
            .await?,
        );
    }
    Ok(Json(json!({ "imports": results })))
}
