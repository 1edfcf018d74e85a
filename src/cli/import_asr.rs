//! `fangyan import-asr`: ASR output files into a project's recordings, matched by name (or
//! `--map FILE=RECORDING`), exactly as `POST /api/projects/{id}/asr` does. Prints one JSON
//! line per file and recording; a bad file prints its error (with line or field) and the
//! command exits 1 after trying the rest.

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;

use crate::app::{AppState, Config};
use crate::hypotheses::{self, ImportOptions};

/// Arguments of `fangyan import-asr`.
#[derive(Debug, Args)]
pub struct ImportAsrArgs {
    /// ASR output files (Whisper/faster-whisper/WhisperX/FunASR JSON, CTM, SRT, WebVTT,
    /// TextGrid, EAF, Label Studio JSON, Audacity labels; detected from the content).
    #[arg(required = true)]
    files: Vec<PathBuf>,
    /// Data directory.
    #[arg(long, env = "FANGYAN_DATA", default_value = "fangyan-data")]
    data: PathBuf,
    /// Project name.
    #[arg(long, env = "FANGYAN_PROJECT")]
    project: String,
    /// Put every file into this recording (name or id) instead of matching by name.
    #[arg(long, env = "FANGYAN_RECORDING")]
    recording: Option<String>,
    /// FILE=RECORDING pairs (file name, or a recording named inside a file → recording name or id).
    #[arg(long = "map", env = "FANGYAN_MAP", value_parser = parse_pair)]
    map: Vec<(String, String)>,
    /// TextGrid or EAF tier to read.
    #[arg(long, env = "FANGYAN_TIER")]
    tier: Option<String>,
    /// auto (replace untouched segments, else attach), create, or attach.
    #[arg(long, env = "FANGYAN_MODE", default_value = "auto")]
    mode: String,
    /// Model name, when the files do not say.
    #[arg(long, env = "FANGYAN_MODEL")]
    model: Option<String>,
}

fn parse_pair(s: &str) -> Result<(String, String), String> {
    s.split_once('=')
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .ok_or_else(|| format!("`{s}` is not FILE=RECORDING"))
}

/// Runs the import; `Ok(false)` when a file was refused.
pub fn run(args: ImportAsrArgs, db: Option<String>, store: Option<String>) -> anyhow::Result<bool> {
    let rt = tokio::runtime::Runtime::new()?;
    rt.block_on(async {
        super::admin::existing(&args.data, " (import-asr does not create one)")?;
        let state = AppState::open(Config::new(&args.data).with_database(db).with_store(store)).await?;
        let project = crate::projects::db::id_by_name(&state.db, &args.project)
            .await?
            .with_context(|| format!("no project named {}", args.project))?;
        let mut opts = ImportOptions {
            tier: args.tier.clone(),
            mode: args.mode.parse().map_err(anyhow::Error::msg)?,
            model: args.model.clone(),
            mapping: args.map.iter().cloned().collect(),
        };
        let mut ok = true;
        for path in &args.files {
            let file = path
                .file_name()
                .map_or_else(|| path.display().to_string(), |f| f.to_string_lossy().into_owned());
            if let Some(rec) = &args.recording {
                opts.mapping.insert(file.clone(), rec.clone());
            }
            let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
            match hypotheses::import_bytes(&state, project, &file, bytes.into(), &opts, None, None).await {
                Ok(done) => {
                    for d in done {
                        println!("{}", serde_json::to_string(&d)?);
                    }
                }
                Err(e) => {
                    ok = false;
                    let code = match &e {
                        hypotheses::ImportError::Parse { source, .. } => source.code(),
                        hypotheses::ImportError::NoMatch { .. } => "no_matching_recording",
                        hypotheses::ImportError::NotReady { .. } => "recording_not_ready",
                        hypotheses::ImportError::Work(_) => "overloaded",
                        hypotheses::ImportError::Db(_) => "internal",
                    };
                    println!("{}", serde_json::json!({ "file": file, "error": { "code": code, "message": e.to_string() } }));
                }
            }
        }
        Ok(ok)
    })
}
