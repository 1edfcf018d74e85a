//! Media endpoints of a recording: the analysis copy with HTTP Range, waveform peaks,
//! spectrogram tiles, the whole-file pitch track and WAV clips (tracks by time range are in
//! `tracks.rs`). All of it is immutable once ingested, so
//! responses carry ETags and long cache lifetimes.

use crate::extract::{Json, Path, Query};
use axum::extract::{Request, State};
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE, ETAG};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;

use super::db;
use crate::accounts::CurrentUser;
use crate::analysis::peaks::{PeakFile, PeakSource, Peaks};
use crate::app::AppState;
use crate::audio::Store;
use crate::audio::ingest::read_block;
use crate::error::{AppError, AppResult};
use crate::projects;
use crate::store::PICK_BLOCK;

/// A WAV reader of a stored analysis copy, in small ranged blocks (call from a blocking thread).
pub(super) fn wav_reader(
    store: &crate::store::Store,
    key: &str,
) -> anyhow::Result<hound::WavReader<std::io::BufReader<Box<dyn crate::audio::Source>>>> {
    let (source, _) = store.reader(key, PICK_BLOCK)?;
    Ok(hound::WavReader::new(std::io::BufReader::with_capacity(
        16 << 10,
        source,
    ))?)
}

pub(super) async fn ready(
    state: &AppState,
    user: CurrentUser,
    recording: i64,
) -> AppResult<db::RecordingRow> {
    let r = db::get(&state.db, recording).await?;
    projects::role_in(state, r.project_id, user).await?;
    if r.status != "ready" {
        return Err(AppError::bad(
            "not_ready",
            "recording",
            format!("the recording is {}", r.status),
        ));
    }
    Ok(r)
}

/// The analysis copy, with Range support so `<audio>` can seek; immutable, so cacheable.
#[utoipa::path(get, path = "/api/recordings/{recording}/audio", tag = "recordings", params(("recording" = i64, Path, description = "recording id")), responses((status = 200, description = "The analysis copy as WAV", body = [u8], content_type = "audio/wav"), (status = 206, description = "The byte range asked for with `Range`", body = [u8], content_type = "audio/wav"), (status = "4XX", description = "Refused, with the reason", body = crate::error::ErrorBody)))]
pub(super) async fn audio(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(recording): Path<i64>,
    request: Request,
) -> AppResult<Response> {
    let r = ready(&state, user, recording).await?;
    let sha = r.sha256.clone().unwrap_or_default();
    let key = Store::analysis_rel(&sha, r.analysis_rate as u32);
    let mut response = state.store.serve(&key, request).await?;
    let headers = response.headers_mut();
    headers.insert(
        CONTENT_TYPE,
        "audio/wav".parse().map_err(anyhow::Error::from)?,
    );
    headers.insert(
        CACHE_CONTROL,
        "private, max-age=31536000, immutable"
            .parse()
            .map_err(anyhow::Error::from)?,
    );
    headers.insert(
        ETAG,
        format!("\"{sha}-{}\"", r.analysis_rate)
            .parse()
            .map_err(anyhow::Error::from)?,
    );
    Ok(response)
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(super) struct PeaksQuery {
    /// First sample.
    start: u64,
    /// End sample, exclusive.
    end: u64,
    /// Pixels (1 to 10000).
    #[param(minimum = 1, maximum = 10_000)]
    width: u32,
}

/// Min/max per pixel (or exact samples when zoomed in) for a viewport.
#[utoipa::path(get, path = "/api/recordings/{recording}/peaks", tag = "recordings", params(("recording" = i64, Path, description = "recording id"), PeaksQuery), responses((status = 200, description = "Success", body = serde_json::Value, content_type = "application/json"), (status = "4XX", description = "Refused, with the reason", body = crate::error::ErrorBody)))]
pub(super) async fn peaks(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(recording): Path<i64>,
    Query(q): Query<PeaksQuery>,
) -> AppResult<Json<serde_json::Value>> {
    let r = ready(&state, user, recording).await?;
    if q.width == 0 || q.width > 10_000 {
        return Err(AppError::bad(
            "invalid_width",
            "width",
            "width is 1 to 10000 pixels",
        ));
    }
    let sha = r.sha256.clone().unwrap_or_default();
    let rate = r.analysis_rate as u32;
    let store = state.store.clone();
    let result = tokio::task::spawn_blocking(move || {
        open_peaks(&store, &sha, rate)?.query(q.start, q.end, q.width)
    })
    .await
    .map_err(anyhow::Error::from)?;
    match result {
        Ok(Peaks::MinMax(px)) => {
            let (min, max): (Vec<i16>, Vec<i16>) = px.into_iter().unzip();
            Ok(Json(json!({ "min": min, "max": max })))
        }
        Ok(Peaks::Samples(s)) => Ok(Json(json!({ "samples": s }))),
        Err(crate::analysis::peaks::PeaksError::Range { .. }) => Err(AppError::bad(
            "invalid_range",
            "start",
            "start..end must lie inside the recording",
        )),
        Err(e) => Err(AppError::Internal(e.into())),
    }
}

/// The peak pyramid of a stored recording, reading exact samples from its analysis copy at
/// the deepest zoom.
fn open_peaks(
    store: &crate::store::Store,
    sha: &str,
    rate: u32,
) -> Result<PeakFile, crate::analysis::peaks::PeaksError> {
    let (source, len) = store.reader(&Store::peaks_rel(sha, rate), PICK_BLOCK)?;
    let wav_key = Store::analysis_rel(sha, rate);
    let store = store.clone();
    PeakFile::from_source(
        Box::new(source),
        len,
        Some(Box::new(move || {
            let (wav, _) = store.reader(&wav_key, PICK_BLOCK)?;
            Ok(Box::new(std::io::BufReader::new(wav)) as Box<dyn PeakSource>)
        })),
    )
}

/// Cache headers for data that never changes once computed.
pub(super) fn immutable(
    etag: String,
    content_type: &'static str,
) -> [(axum::http::HeaderName, String); 3] {
    [
        (CONTENT_TYPE, content_type.to_string()),
        (
            CACHE_CONTROL,
            "private, max-age=31536000, immutable".to_string(),
        ),
        (ETAG, format!("\"{etag}\"")),
    ]
}

/// Checks a sample range against a ready recording.
pub(super) fn sample_range(r: &db::RecordingRow, start: i64, end: i64) -> AppResult<()> {
    let samples = r.samples.unwrap_or(0);
    if start < 0 || end <= start || end > samples {
        return Err(AppError::bad(
            "invalid_range",
            "start",
            format!("0 <= start < end <= {samples} samples"),
        ));
    }
    Ok(())
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(super) struct TileQuery {
    start: i64,
    end: i64,
    /// Pixels (1 to 4096).
    #[param(minimum = 1, maximum = 4096)]
    width: usize,
    /// Pixels (1 to 2048).
    #[param(minimum = 1, maximum = 2048)]
    height: usize,
    #[serde(default)]
    wideband: bool,
    #[serde(default)]
    mel: bool,
    #[serde(default)]
    gray: bool,
    max_freq: Option<f32>,
    range_db: Option<f32>,
    /// Pre-emphasis from this frequency upward, Hz (Praat's default 50; 0 turns it off).
    #[param(minimum = 0, maximum = 2000)]
    pre_emphasis: Option<f32>,
    #[serde(default)]
    raw: bool,
}

/// A spectrogram tile of samples `start..end`, as PNG or raw u8 rows (`raw=true`).
#[utoipa::path(get, path = "/api/recordings/{recording}/spectrogram", tag = "recordings", params(("recording" = i64, Path, description = "recording id"), TileQuery), responses((status = 200, description = "Success", content(([u8] = "image/png"), ([u8] = "application/octet-stream"))), (status = "4XX", description = "Refused, with the reason", body = crate::error::ErrorBody)))]
pub(super) async fn spectrogram(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(recording): Path<i64>,
    Query(q): Query<TileQuery>,
) -> AppResult<Response> {
    use crate::analysis::render::{Colormap, FreqScale, TileRequest, render};
    use crate::analysis::stft::StftConfig;
    let r = ready(&state, user, recording).await?;
    sample_range(&r, q.start, q.end)?;
    if !(1..=4096).contains(&q.width) || !(1..=2048).contains(&q.height) {
        return Err(AppError::bad(
            "invalid_size",
            "width",
            "tiles are 1-4096 by 1-2048 pixels",
        ));
    }
    let rate = r.analysis_rate as u32;
    let sha = r.sha256.clone().unwrap_or_default();
    let (store, wav_key) = (state.store.clone(), Store::analysis_rel(&sha, rate));
    let pre_emphasis = q.pre_emphasis.unwrap_or(50.0);
    if !(0.0..=2_000.0).contains(&pre_emphasis) {
        return Err(AppError::bad(
            "invalid_pre_emphasis",
            "pre_emphasis",
            "pre-emphasis is 0 (off) to 2000 Hz",
        ));
    }
    let mut stft = if q.wideband {
        StftConfig::wideband(rate)
    } else {
        StftConfig::narrowband(rate)
    };
    stft.pre_emphasis_hz = (pre_emphasis > 0.0).then_some(pre_emphasis);
    let request = TileRequest {
        start: q.start,
        end: q.end,
        width: q.width,
        height: q.height,
        max_freq: q.max_freq.unwrap_or(5_000.0),
        dynamic_range_db: q.range_db.unwrap_or(70.0),
        reference_db: None,
        scale: if q.mel {
            FreqScale::Mel
        } else {
            FreqScale::Linear
        },
        stft,
    };
    let etag = format!(
        "{sha}-{rate}-{}-{}-{}x{}-{}{}{}-{:?}-{:?}-{pre_emphasis}-cal",
        q.start, q.end, q.width, q.height, q.wideband, q.mel, q.gray, q.max_freq, q.range_db
    );
    let (raw, gray) = (q.raw, q.gray);
    let (bytes, reference) = tokio::task::spawn_blocking(move || -> anyhow::Result<_> {
        let mut request = request;
        let reference = reference_db(&store, &sha, rate)?;
        request.reference_db = Some(reference);
        let mut wav = wav_reader(&store, &wav_key)?;
        let margin = stft.window_len as i64;
        let first = (request.start - margin).max(0);
        let block = read_block(
            &mut wav,
            first as usize,
            (request.end + margin - first) as usize,
        );
        let tile = render(&block, first, rate, &request);
        let bytes = if raw {
            tile.values
        } else {
            tile.to_png(if gray {
                Colormap::Gray
            } else {
                Colormap::Viridis
            })?
        };
        Ok((bytes, reference))
    })
    .await
    .map_err(anyhow::Error::from)??;
    let kind = if q.raw {
        "application/octet-stream"
    } else {
        "image/png"
    };
    Ok((
        immutable(etag, kind),
        [(REFERENCE_DB, format!("{reference:.2}"))],
        bytes,
    )
        .into_response())
}

/// The header that tells a tile's reference level in dB (255 in raw tiles, the brightest
/// colour in PNGs): the same for every tile of a recording, so a colour scale can be drawn.
const REFERENCE_DB: &str = "x-reference-db";

/// Per-recording levels, content-addressed by hash and rate, so one map serves every app in
/// the process; bounded (cleared when full), each entry a few bytes.
static LEVELS: std::sync::LazyLock<std::sync::Mutex<std::collections::HashMap<String, f32>>> =
    std::sync::LazyLock::new(Default::default);

pub(super) fn level(
    key: String,
    compute: impl FnOnce() -> anyhow::Result<f32>,
) -> anyhow::Result<f32> {
    if let Some(v) = LEVELS.lock().ok().and_then(|m| m.get(&key).copied()) {
        return Ok(v);
    }
    let v = compute()?;
    if let Ok(mut m) = LEVELS.lock() {
        if m.len() >= 10_000 {
            m.clear();
        }
        m.insert(key, v);
    }
    Ok(v)
}

/// The spectrogram's reference level for a whole recording, in the tiles' dB: the level of a
/// sine at the recording's peak amplitude (from the top of its peak pyramid, so a few reads
/// whatever the length). Every tile of a recording shares it, so tiles join without a seam
/// and silence stays dark at any zoom; a full-scale sine is −6.02 dB.
fn reference_db(store: &crate::store::Store, sha: &str, rate: u32) -> anyhow::Result<f32> {
    level(format!("{sha}-{rate}-peak"), || {
        let mut file = open_peaks(store, sha, rate)?;
        let samples = file.samples().max(1);
        let peak = match file.query(0, samples, 1)? {
            Peaks::MinMax(px) => px
                .iter()
                .map(|&(lo, hi)| i32::from(lo).abs().max(i32::from(hi).abs()))
                .max(),
            Peaks::Samples(s) => s.iter().map(|&v| i32::from(v).abs()).max(),
        }
        .unwrap_or(0);
        let amplitude = peak as f32 / 32_768.0;
        Ok(if amplitude > 0.0 {
            20.0 * (amplitude / 2.0).log10()
        } else {
            -100.0
        })
    })
}

/// The pitch and intensity track computed after ingest, streamed from its file (10 hours of
/// track are some 100 MB of JSON, never read into memory here).
#[utoipa::path(get, path = "/api/recordings/{recording}/pitch", tag = "recordings", params(("recording" = i64, Path, description = "recording id")), responses((status = 200, description = "Success", body = serde_json::Value, content_type = "application/json"), (status = "4XX", description = "Refused, with the reason", body = crate::error::ErrorBody)))]
pub(super) async fn pitch(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(recording): Path<i64>,
    request: Request,
) -> AppResult<Response> {
    let r = ready(&state, user, recording).await?;
    let sha = r.sha256.clone().unwrap_or_default();
    let key = Store::pitch_rel(&sha, r.analysis_rate as u32);
    // A missing track is 404 in the error shape, not an empty body.
    let mut response = state.store.serve(&key, request).await?;
    if response.status().is_success() {
        let headers = response.headers_mut();
        for (name, value) in immutable(
            format!("{sha}-{}-pitch", r.analysis_rate),
            "application/json",
        ) {
            headers.insert(name, value.parse().map_err(anyhow::Error::from)?);
        }
    }
    Ok(response)
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(super) struct ClipQuery {
    start: i64,
    end: i64,
}

/// A 16-bit WAV clip of samples `start..end` of the analysis copy (at most 10 minutes).
#[utoipa::path(get, path = "/api/recordings/{recording}/clip", tag = "recordings", params(("recording" = i64, Path, description = "recording id"), ClipQuery), responses((status = 200, description = "Success", body = [u8], content_type = "audio/wav"), (status = "4XX", description = "Refused, with the reason", body = crate::error::ErrorBody)))]
pub(super) async fn clip(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(recording): Path<i64>,
    Query(q): Query<ClipQuery>,
) -> AppResult<Response> {
    let r = ready(&state, user, recording).await?;
    sample_range(&r, q.start, q.end)?;
    let rate = r.analysis_rate as u32;
    if q.end - q.start > i64::from(rate) * 600 {
        return Err(AppError::bad(
            "clip_too_long",
            "end",
            "clips are at most 10 minutes",
        ));
    }
    let sha = r.sha256.clone().unwrap_or_default();
    let (store, wav_key) = (state.store.clone(), Store::analysis_rel(&sha, rate));
    let bytes = tokio::task::spawn_blocking(move || -> anyhow::Result<Vec<u8>> {
        let mut wav = wav_reader(&store, &wav_key)?;
        wav.seek(q.start as u32)?;
        let spec = hound::WavSpec {
            channels: 1,
            sample_rate: rate,
            bits_per_sample: 16,
            sample_format: hound::SampleFormat::Int,
        };
        let mut out = std::io::Cursor::new(Vec::new());
        let mut w = hound::WavWriter::new(&mut out, spec)?;
        for s in wav.samples::<i16>().take((q.end - q.start) as usize) {
            w.write_sample(s?)?;
        }
        w.finalize()?;
        Ok(out.into_inner())
    })
    .await
    .map_err(anyhow::Error::from)??;
    Ok((
        immutable(format!("{sha}-{rate}-{}-{}", q.start, q.end), "audio/wav"),
        bytes,
    )
        .into_response())
}
