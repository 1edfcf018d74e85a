//! `fangyan export`: writes a project's corpus into a directory (one folder per layout, clips
//! shared in `clips/`, datasheet and SHA256SUMS at the top) and prints one JSON summary line.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use clap::Args;

use crate::app::{AppState, Config};
use crate::corpus::{ExportOptions, MarkerMap, TextLayer};
use crate::exports::{Definition, Filters};

/// Arguments of `fangyan export`.
#[derive(Debug, Args)]
pub struct ExportArgs {
    /// Data directory.
    #[arg(long, env = "FANGYAN_DATA", default_value = "fangyan-data")]
    data: PathBuf,
    /// Project name.
    #[arg(long, env = "FANGYAN_PROJECT")]
    project: String,
    /// Output directory (created; layout folders in it are replaced).
    #[arg(long, env = "FANGYAN_OUT")]
    out: PathBuf,
    /// Layouts, comma-separated (default: all): kaldi,lhotse,nemo,hf,cv,textgrid,eaf,vtt,srt,nist,audacity.
    #[arg(long, env = "FANGYAN_LAYOUTS", value_delimiter = ',')]
    layouts: Vec<String>,
    /// Segment statuses to export, comma-separated.
    #[arg(
        long,
        env = "FANGYAN_STATUS",
        value_delimiter = ',',
        default_value = "approved"
    )]
    status: Vec<String>,
    /// Only these recording ids.
    #[arg(long, env = "FANGYAN_RECORDINGS", value_delimiter = ',')]
    recordings: Vec<i64>,
    /// Only these speaker ids.
    #[arg(long, env = "FANGYAN_SPEAKERS", value_delimiter = ',')]
    speakers: Vec<i64>,
    /// Only segments with one of these tags, `field=value`.
    #[arg(long, env = "FANGYAN_LABELS", value_delimiter = ',')]
    labels: Vec<String>,
    /// Only segments with one of these feature codes.
    #[arg(long, env = "FANGYAN_FEATURES", value_delimiter = ',')]
    features: Vec<String>,
    /// Last change at or after (unix ms).
    #[arg(long, env = "FANGYAN_FROM_MS")]
    from_ms: Option<i64>,
    /// Last change before (unix ms).
    #[arg(long, env = "FANGYAN_TO_MS")]
    to_ms: Option<i64>,
    /// Text layer: verbatim, display or normalised.
    #[arg(long, env = "FANGYAN_TEXT", default_value = "verbatim")]
    text: String,
    /// Marker mapping: keep, angle (`<LAUGHTER>`), upper (`[LAUGHTER]`) or drop.
    #[arg(long, env = "FANGYAN_MARKERS", default_value = "keep")]
    markers: String,
    /// Keep segments with `[unk]`.
    #[arg(long, env = "FANGYAN_KEEP_UNINTELLIGIBLE")]
    keep_unintelligible: bool,
    /// Clip sample rate, Hz.
    #[arg(long, env = "FANGYAN_RATE", default_value_t = 16_000)]
    rate: u32,
    /// Split ratios train,dev,test.
    #[arg(
        long,
        env = "FANGYAN_SPLITS",
        value_delimiter = ',',
        default_value = "0.8,0.1,0.1"
    )]
    splits: Vec<f64>,
    /// Split seed.
    #[arg(long, env = "FANGYAN_SEED", default_value_t = 0)]
    seed: u64,
    /// Balance splits within each variety.
    #[arg(long, env = "FANGYAN_STRATIFY")]
    stratify: bool,
    /// Common Voice locale.
    #[arg(long, env = "FANGYAN_LOCALE", default_value = "zh-CN")]
    locale: String,
}

fn definition(a: &ExportArgs) -> anyhow::Result<Definition> {
    let text_layer = match a.text.as_str() {
        "verbatim" => TextLayer::Verbatim,
        "display" => TextLayer::Display,
        "normalised" | "normalized" | "norm" => TextLayer::Normalised,
        o => anyhow::bail!("unknown text layer {o}"),
    };
    let markers = match a.markers.as_str() {
        "keep" => MarkerMap::Keep,
        "angle" => MarkerMap::Angle,
        "upper" => MarkerMap::Upper,
        "drop" => MarkerMap::Drop,
        o => anyhow::bail!("unknown marker mapping {o}"),
    };
    let [train, dev, test] = a.splits[..] else {
        anyhow::bail!("--splits needs three ratios, e.g. 0.8,0.1,0.1");
    };
    let options = ExportOptions {
        layouts: a.layouts.clone(),
        text_layer,
        markers,
        keep_unintelligible: a.keep_unintelligible,
        rate: a.rate,
        splits: [train, dev, test],
        seed: a.seed,
        stratify_by_variety: a.stratify,
        locale: a.locale.clone(),
        corpus: "fangyan".into(),
    };
    options.validate().map_err(anyhow::Error::msg)?;
    Ok(Definition {
        filters: Filters {
            status: Some(a.status.clone()),
            recordings: a.recordings.clone(),
            speakers: a.speakers.clone(),
            labels: a.labels.clone(),
            features: a.features.clone(),
            from_ms: a.from_ms,
            to_ms: a.to_ms,
        },
        options,
    })
}

/// Runs `fangyan export`.
pub fn run(a: ExportArgs, db: Option<String>, store: Option<String>) -> anyhow::Result<bool> {
    let def = definition(&a)?;
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?
        .block_on(async {
            super::admin::existing(&a.data, " (export does not create one)")?;
            let state =
                AppState::open(Config::new(&a.data).with_database(db).with_store(store)).await?;
            let project = crate::projects::db::id_by_name(&state.db, &a.project)
                .await?
                .with_context(|| format!("no project named {}", a.project))?;
            let summary = crate::exports::run(
                &state.db,
                &state.store,
                project,
                &def,
                &a.out,
                Arc::new(|_| {}),
            )
            .await?;
            super::print_line(&summary);
            Ok(true)
        })
}
