//! `fangyan analyze`: ingest one recording and write everything the workbench draws, as files.
//! Per recording, in the store layout: `analysis/<sha>-<rate>.peaks`, `.pitch.json` (times, Hz
//! or null, confidence, intensity dB per 10 ms frame) and `.vad.json` (segments in seconds);
//! plus `spectrogram.png` of the chosen range at the top of DIR.

use std::fs::File;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use clap::Args;
use serde_json::json;

use crate::analysis::pitch::{PitchParams, PitchTracker};
use crate::analysis::render::{Colormap, FreqScale, TileRequest, render};
use crate::analysis::stft::StftConfig;
use crate::analysis::vad::{self, VadParams};
use crate::audio::ingest::read_block;
use crate::audio::{IngestOptions, Store};

/// Options of `fangyan analyze`.
#[derive(Debug, Args)]
pub struct AnalyzeArgs {
    /// The recording.
    file: PathBuf,
    /// Output directory (also a store: originals/, analysis/, meta/).
    #[arg(long, env = "FANGYAN_OUT")]
    out: PathBuf,
    /// Spectrogram range start, seconds.
    #[arg(long, env = "FANGYAN_FROM", default_value_t = 0.0)]
    from: f64,
    /// Spectrogram range end, seconds (default: the end).
    #[arg(long, env = "FANGYAN_TO")]
    to: Option<f64>,
    /// Analysis sample rate, Hz.
    #[arg(long, env = "FANGYAN_RATE", default_value_t = 16_000)]
    rate: u32,
    /// Spectrogram width and height in pixels.
    #[arg(long, env = "FANGYAN_WIDTH", default_value_t = 1200)]
    width: usize,
    /// Spectrogram height in pixels.
    #[arg(long, env = "FANGYAN_HEIGHT", default_value_t = 400)]
    height: usize,
    /// Wideband (5 ms) instead of narrowband (30 ms) analysis.
    #[arg(long, env = "FANGYAN_WIDEBAND")]
    wideband: bool,
    /// Mel frequency axis instead of linear.
    #[arg(long, env = "FANGYAN_MEL")]
    mel: bool,
    /// Greyscale (Praat-style) instead of viridis.
    #[arg(long, env = "FANGYAN_GRAY")]
    gray: bool,
    /// Top of the frequency axis, Hz.
    #[arg(long, env = "FANGYAN_MAX_FREQ", default_value_t = 5_000.0)]
    max_freq: f32,
    /// Dynamic range below the maximum, dB.
    #[arg(long, env = "FANGYAN_DYNAMIC_RANGE", default_value_t = 70.0)]
    dynamic_range: f32,
    /// Pitch floor and ceiling, Hz.
    #[arg(long, env = "FANGYAN_MIN_PITCH", default_value_t = 60.0)]
    min_pitch: f32,
    /// Pitch ceiling, Hz.
    #[arg(long, env = "FANGYAN_MAX_PITCH", default_value_t = 500.0)]
    max_pitch: f32,
}

/// Runs the analysis; prints one JSON line naming the outputs.
pub fn run(a: AnalyzeArgs) -> anyhow::Result<bool> {
    let store = Store::open(&a.out)?;
    let opts = IngestOptions {
        rate: a.rate,
        ..Default::default()
    };
    let meta = match store.ingest(&a.file, opts, &mut |_, _| {}) {
        Ok(m) => m,
        Err(e) => {
            println!("{}", super::error_line(&a.file, &e));
            return Ok(false);
        }
    };
    let analysis = meta
        .analysis
        .as_ref()
        .context("ingest wrote no analysis copy")?;
    let wav_path = a.out.join(&analysis.path);
    let mut wav = hound::WavReader::open(&wav_path)?;
    let total = wav.duration() as usize;
    let rate = a.rate;

    let params = PitchParams {
        min_hz: a.min_pitch,
        max_hz: a.max_pitch,
        ..Default::default()
    };
    if !(params.min_hz > 0.0 && params.max_hz > params.min_hz) {
        bail!(
            "the pitch range {}..{} Hz is empty",
            a.min_pitch,
            a.max_pitch
        );
    }
    let track =
        PitchTracker::new(rate, params).track_blocks(total, &mut |s, n| read_block(&mut wav, s, n));
    // Tracks are stored per recording, next to its analysis copy and peaks.
    let pitch_rel = format!("analysis/{}-{rate}.pitch.json", meta.sha256);
    write_json(&a.out.join(&pitch_rel), &track)?;

    let frames = vad::features_blocks(total, rate, &mut |s, n| read_block(&mut wav, s, n));
    let duration = total as f64 / f64::from(rate);
    let spans = vad::segments(&frames, duration, VadParams::default());
    let vad_rel = format!("analysis/{}-{rate}.vad.json", meta.sha256);
    write_json(&a.out.join(&vad_rel), &json!({ "segments": spans }))?;

    let from = (a.from.max(0.0) * f64::from(rate)) as i64;
    let to = (a.to.unwrap_or(duration).min(duration) * f64::from(rate)) as i64;
    if to <= from {
        bail!("the spectrogram range {}..{:?} s is empty", a.from, a.to);
    }
    let stft = if a.wideband {
        StftConfig::wideband(rate)
    } else {
        StftConfig::narrowband(rate)
    };
    let margin = stft.window_len as i64;
    let first = (from - margin).max(0);
    let block = read_block(&mut wav, first as usize, (to + margin - first) as usize);
    let request = TileRequest {
        start: from,
        end: to,
        width: a.width.clamp(1, 16_384),
        height: a.height.clamp(1, 4_096),
        max_freq: a.max_freq,
        dynamic_range_db: a.dynamic_range,
        reference_db: None,
        scale: if a.mel {
            FreqScale::Mel
        } else {
            FreqScale::Linear
        },
        stft,
    };
    let tile = render(&block, first, rate, &request);
    let png = tile.to_png(if a.gray {
        Colormap::Gray
    } else {
        Colormap::Viridis
    })?;
    std::fs::write(a.out.join("spectrogram.png"), png)?;

    let peaks = Store::peaks_rel(&meta.sha256, rate);
    println!(
        "{}",
        json!({
            "file": a.file.display().to_string(),
            "sha256": meta.sha256,
            "duration_secs": duration,
            "peaks": peaks,
            "pitch": pitch_rel,
            "vad": vad_rel,
            "spectrogram": "spectrogram.png",
            "segments": spans.len(),
            "voiced_frames": track.f0_hz.iter().filter(|f| f.is_some()).count(),
        })
    );
    Ok(true)
}

fn write_json(path: &Path, value: &impl serde::Serialize) -> anyhow::Result<()> {
    let mut f = std::io::BufWriter::new(File::create(path)?);
    serde_json::to_writer(&mut f, value)?;
    Ok(())
}
