//! Tracks by time range: pitch and intensity (`/track`) and formants (`/formants`), one frame
//! per pixel column, each computed from a few thousand samples around its time, so a
//! recording of any length shows them at every zoom. Immutable per URL, like the other media.

use crate::extract::{Path, Query};
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::media::{immutable, level, ready, sample_range, wav_reader};
use crate::accounts::CurrentUser;
use crate::app::AppState;
use crate::audio::Store;
use crate::audio::ingest::read_block;
use crate::error::{AppError, AppResult};
use crate::store::PICK_BLOCK;

/// Records a recording's pitch voicing reference beside its track (ingest calls this).
pub(super) fn write_pitch_level(
    store: &crate::store::Store,
    sha: &str,
    rate: u32,
    loudest: f32,
) -> std::io::Result<()> {
    use crate::audio::Objects;
    use std::io::Write;
    let mut object = store.create(&Store::pitch_level_rel(sha, rate))?;
    object.write_all(loudest.to_string().as_bytes())?;
    object.commit()
}

/// The pitch voicing reference of a recording: read from beside its track, or, for a
/// recording analysed before it was kept, computed once (energies only) and kept.
fn pitch_level(store: &crate::store::Store, sha: &str, rate: u32) -> anyhow::Result<f32> {
    use crate::analysis::pitch::{PitchParams, PitchTracker};
    use std::io::Read;
    level(format!("{sha}-{rate}-loudest"), || {
        let key = Store::pitch_level_rel(sha, rate);
        match store.reader(&key, PICK_BLOCK) {
            Ok((mut source, _)) => {
                let mut text = String::new();
                source.read_to_string(&mut text)?;
                Ok(text.trim().parse()?)
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let mut wav = wav_reader(store, &Store::analysis_rel(sha, rate))?;
                let total = wav.duration() as usize;
                let loudest = PitchTracker::new(rate, PitchParams::default())
                    .loudest_blocks(total, &mut |s, n| read_block(&mut wav, s, n));
                write_pitch_level(store, sha, rate, loudest)?;
                Ok(loudest)
            }
            Err(e) => Err(e.into()),
        }
    })
}

/// Column centres for a view of `start..end` drawn `width` columns wide, on the frame grid of
/// `step` samples and at most one per frame: what a track by time range computes.
fn column_centres(start: i64, end: i64, width: usize, step: i64) -> Vec<i64> {
    let step = step.max(1);
    let n = (((end - start) / step).max(1) as usize).min(width.max(1));
    let mut centres: Vec<i64> = (0..n)
        .map(|i| {
            let c = start + ((i as f64 + 0.5) * (end - start) as f64 / n as f64) as i64;
            ((c + step / 2) / step * step).clamp(0, end)
        })
        .collect();
    centres.dedup();
    centres
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(super) struct RangeQuery {
    start: i64,
    end: i64,
    /// Columns (1 to 4096): one frame per column, at most one per frame of the track.
    #[param(minimum = 1, maximum = 4096)]
    width: usize,
}

fn range_width(width: usize) -> AppResult<()> {
    if !(1..=4096).contains(&width) {
        return Err(AppError::bad(
            "invalid_width",
            "width",
            "width is 1 to 4096 columns",
        ));
    }
    Ok(())
}

/// Pitch and intensity for samples `start..end`, one frame per column (at most one per 10 ms
/// frame), so a recording of any length shows its contour at every zoom. The frames are those
/// of the whole-file track (`/pitch`) at the same times.
#[utoipa::path(get, path = "/api/recordings/{recording}/track", tag = "recordings", params(("recording" = i64, Path, description = "recording id"), RangeQuery), responses((status = 200, description = "`times` (s), `f0_hz` (Hz or null when unvoiced) and `intensity_db`, one per column", body = serde_json::Value, content_type = "application/json"), (status = "4XX", description = "Refused, with the reason", body = crate::error::ErrorBody)))]
pub(super) async fn track(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(recording): Path<i64>,
    Query(q): Query<RangeQuery>,
) -> AppResult<Response> {
    use crate::analysis::pitch::{PitchParams, PitchTracker};
    let r = ready(&state, user, recording).await?;
    sample_range(&r, q.start, q.end)?;
    range_width(q.width)?;
    let rate = r.analysis_rate as u32;
    let sha = r.sha256.clone().unwrap_or_default();
    let etag = format!("{sha}-{rate}-track-{}-{}-{}", q.start, q.end, q.width);
    let store = state.store.clone();
    let budget = std::time::Duration::from_secs(30);
    let body = crate::work::run_bounded(&state.work, budget, move |_| -> anyhow::Result<Vec<u8>> {
        let loudest = pitch_level(&store, &sha, rate)?;
        let mut tracker = PitchTracker::new(rate, PitchParams::default());
        let ctx = tracker.context() as i64;
        let mut wav = wav_reader(&store, &Store::analysis_rel(&sha, rate))?;
        let (mut times, mut f0, mut intensity) = (Vec::new(), Vec::new(), Vec::new());
        for c in column_centres(q.start, q.end, q.width, tracker.hop() as i64) {
            let from = (c - ctx).max(0);
            let block = read_block(&mut wav, from as usize, (c + ctx - from) as usize);
            let p = tracker.point(&block, from, c, loudest);
            times.push(c as f64 / f64::from(rate));
            f0.push(p.f0_hz);
            intensity.push(p.intensity_db);
        }
        // A struct, not `json!`: f32 values print as the whole-file track prints them.
        #[derive(serde::Serialize)]
        struct Body {
            times: Vec<f64>,
            f0_hz: Vec<Option<f32>>,
            intensity_db: Vec<f32>,
        }
        Ok(serde_json::to_vec(&Body {
            times,
            f0_hz: f0,
            intensity_db: intensity,
        })?)
    })
    .await??;
    Ok((immutable(etag, "application/json"), body).into_response())
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(super) struct FormantQuery {
    start: i64,
    end: i64,
    /// Columns (1 to 4096): one frame per column, at most one per 6.25 ms frame.
    #[param(minimum = 1, maximum = 4096)]
    width: usize,
    /// Formant ceiling in Hz (Praat's "maximum formant"): 5500 for female speakers (the
    /// default), 5000 for male; 1000 to half the analysis rate.
    max_formant: Option<f32>,
}

/// F1–F4 for samples `start..end`, one frame per column, by Burg LPC as Praat's
/// `To Formant (burg)` with its defaults (5 formants, 25 ms window, pre-emphasis from 50 Hz).
/// Computed from a few thousand samples around each column, so any length at any zoom.
#[utoipa::path(get, path = "/api/recordings/{recording}/formants", tag = "recordings", params(("recording" = i64, Path, description = "recording id"), FormantQuery), responses((status = 200, description = "`times` (s), `f1`..`f4` and `b1`..`b4` (bandwidths), Hz or null, one per column", body = serde_json::Value, content_type = "application/json"), (status = "4XX", description = "Refused, with the reason", body = crate::error::ErrorBody)))]
pub(super) async fn formants(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(recording): Path<i64>,
    Query(q): Query<FormantQuery>,
) -> AppResult<Response> {
    use crate::analysis::formant::{FormantParams, FormantTracker};
    let r = ready(&state, user, recording).await?;
    sample_range(&r, q.start, q.end)?;
    range_width(q.width)?;
    let rate = r.analysis_rate as u32;
    let ceiling = q.max_formant.unwrap_or(5_500.0);
    if !(1_000.0..=rate as f32 / 2.0).contains(&ceiling) {
        return Err(AppError::bad(
            "invalid_max_formant",
            "max_formant",
            format!("the maximum formant is 1000 to {} Hz", rate / 2),
        ));
    }
    let params = FormantParams {
        max_formant_hz: ceiling,
        ..FormantParams::default()
    };
    let mut tracker = FormantTracker::new(rate, params)
        .map_err(|e| AppError::bad("invalid_max_formant", "max_formant", e.to_string()))?;
    let sha = r.sha256.clone().unwrap_or_default();
    let etag = format!(
        "{sha}-{rate}-formants-{}-{}-{}-{ceiling}",
        q.start, q.end, q.width
    );
    let store = state.store.clone();
    let budget = std::time::Duration::from_secs(30);
    let body = crate::work::run_bounded(&state.work, budget, move |_| -> anyhow::Result<Vec<u8>> {
        let step = (tracker.time_step_secs() * f64::from(rate)).round() as i64;
        let ctx = tracker.context() as i64;
        let centres = column_centres(q.start, q.end, q.width, step);
        let mut wav = wav_reader(&store, &Store::analysis_rel(&sha, rate))?;
        let mut frames = Vec::with_capacity(centres.len());
        // Centres close enough to share their samples are read and resampled as one block.
        let mut run = 0;
        while run < centres.len() {
            let mut last = run;
            while last + 1 < centres.len() && centres[last + 1] - centres[last] < 2 * ctx {
                last += 1;
            }
            let from = (centres[run] - ctx).max(0);
            let block = read_block(
                &mut wav,
                from as usize,
                (centres[last] + ctx - from) as usize,
            );
            frames.extend(tracker.frames_at(&block, from, &centres[run..=last]));
            run = last + 1;
        }
        #[derive(serde::Serialize)]
        struct Body {
            times: Vec<f64>,
            f1: Vec<Option<f32>>,
            f2: Vec<Option<f32>>,
            f3: Vec<Option<f32>>,
            f4: Vec<Option<f32>>,
            b1: Vec<Option<f32>>,
            b2: Vec<Option<f32>>,
            b3: Vec<Option<f32>>,
            b4: Vec<Option<f32>>,
        }
        let column = |i: usize, bw: bool| -> Vec<Option<f32>> {
            frames
                .iter()
                .map(|f| if bw { f.bandwidths[i] } else { f.formants[i] })
                .collect()
        };
        Ok(serde_json::to_vec(&Body {
            times: centres
                .iter()
                .map(|&c| c as f64 / f64::from(rate))
                .collect(),
            f1: column(0, false),
            f2: column(1, false),
            f3: column(2, false),
            f4: column(3, false),
            b1: column(0, true),
            b2: column(1, true),
            b3: column(2, true),
            b4: column(3, true),
        })?)
    })
    .await??;
    Ok((immutable(etag, "application/json"), body).into_response())
}
