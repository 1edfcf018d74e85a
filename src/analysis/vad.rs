//! Voice-activity segmentation: the first segments of a recording.
//!
//! Per 10 ms frame we measure the energy in the speech band (200–4 000 Hz) and the spectral
//! flatness (noise is flat, voiced speech is peaky). Thresholds adapt to the recording: the
//! noise floor is the 10th percentile of band energy, the speech level the 95th. A frame enters
//! speech above the high threshold, if it is not flat noise, and stays in speech until energy
//! falls under the low threshold (hysteresis). Then runs are cleaned up in this order: gaps
//! shorter than `min_silence` are bridged, runs shorter than `min_speech` dropped, `padding`
//! added, and runs longer than `max_segment` split at their quietest frame.

use serde::Serialize;

use super::stft::{Stft, StftConfig, power_db};

/// Segmentation parameters, in seconds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct VadParams {
    /// Shortest speech run kept.
    pub min_speech: f64,
    /// Shortest pause that separates two segments.
    pub min_silence: f64,
    /// Added before and after each segment.
    pub padding: f64,
    /// Longer segments are split at their lowest-energy point.
    pub max_segment: f64,
}

impl Default for VadParams {
    fn default() -> Self {
        // 200 ms of padding keeps soft onsets (unvoiced initials, breathy starts) inside a segment.
        Self {
            min_speech: 0.25,
            min_silence: 0.4,
            padding: 0.2,
            max_segment: 30.0,
        }
    }
}

/// A time range in seconds.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Span {
    /// Start, seconds.
    pub start: f64,
    /// End, seconds.
    pub end: f64,
}

/// Features of one frame.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Frame {
    /// Speech-band energy, dB (full-scale sine ≈ −6 dB).
    pub band_db: f32,
    /// Spectral flatness in the speech band, 0 (tonal) to 1 (white).
    pub flatness: f32,
}

/// Hop between frames, seconds.
pub const HOP_SECS: f64 = 0.01;
/// Frames quieter than this are silence whatever the statistics say.
const ABSOLUTE_FLOOR_DB: f32 = -60.0;
/// Frames flatter than this do not start speech.
const MAX_FLATNESS: f32 = 0.6;

/// Computes frame features for `signal` at `rate`.
pub fn features(signal: &[f32], rate: u32) -> Vec<Frame> {
    features_blocks(signal.len(), rate, &mut |start, len| {
        signal[start..(start + len).min(signal.len())].to_vec()
    })
}

/// Computes frame features for a signal of `total` samples read in blocks, as
/// [`PitchTracker::track_blocks`](super::pitch::PitchTracker::track_blocks).
pub fn features_blocks(
    total: usize,
    rate: u32,
    read: &mut dyn FnMut(usize, usize) -> Vec<f32>,
) -> Vec<Frame> {
    let hop = (HOP_SECS * f64::from(rate)).round() as usize;
    let window = (0.025 * f64::from(rate)).round() as usize;
    let cfg = StftConfig {
        window_len: window,
        n_fft: window.next_power_of_two(),
        ..StftConfig::hann(window, hop)
    };
    let mut stft = Stft::new(cfg, rate);
    let bin_hz = rate as f32 / stft.config().n_fft as f32;
    let lo = (200.0 / bin_hz).ceil() as usize;
    let hi = ((4_000.0f32.min(rate as f32 / 2.0) / bin_hz).floor() as usize).min(stft.bins() - 1);
    let mut p = vec![0.0; stft.bins()];
    let frames = total / hop + 1;
    let margin = window;
    let mut out = Vec::with_capacity(frames);
    for first in (0..frames).step_by(6_000) {
        let last = (first + 6_000).min(frames);
        let start = (first * hop).saturating_sub(margin);
        let end = ((last - 1) * hop + margin).min(total);
        let block = read(start, end - start);
        out.extend((first..last).map(|k| {
            stft.power_at(&block, start as i64, (k * hop) as i64, &mut p);
            let band = &p[lo..=hi];
            let sum: f32 = band.iter().sum();
            let mean = sum / band.len() as f32;
            let log_mean = band.iter().map(|v| v.max(1e-20).ln()).sum::<f32>() / band.len() as f32;
            Frame {
                band_db: power_db(sum),
                flatness: if mean > 0.0 {
                    log_mean.exp() / mean
                } else {
                    1.0
                },
            }
        }));
    }
    out
}

fn percentile(values: &mut [f32], q: f64) -> f32 {
    values.sort_by(f32::total_cmp);
    values[((values.len() - 1) as f64 * q).round() as usize]
}

/// Segments a recording of `duration` seconds from its frame features.
pub fn segments(frames: &[Frame], duration: f64, params: VadParams) -> Vec<Span> {
    if frames.is_empty() {
        return Vec::new();
    }
    let mut levels: Vec<f32> = frames.iter().map(|f| f.band_db).collect();
    let floor = percentile(&mut levels, 0.10).max(ABSOLUTE_FLOOR_DB - 20.0);
    let peak = percentile(&mut levels, 0.95);
    let spread = peak - floor;
    if peak < ABSOLUTE_FLOOR_DB || spread < 6.0 {
        return Vec::new(); // silence, or steady noise: nothing stands out
    }
    let high = (floor + (0.35 * spread).max(9.0)).max(ABSOLUTE_FLOOR_DB);
    let low = (floor + (0.2 * spread).max(5.0)).max(ABSOLUTE_FLOOR_DB);

    // Hysteresis.
    let mut runs: Vec<(usize, usize)> = Vec::new();
    let mut start = None;
    for (k, f) in frames.iter().enumerate() {
        match start {
            None if f.band_db > high && f.flatness < MAX_FLATNESS => start = Some(k),
            Some(s) if f.band_db < low => {
                runs.push((s, k));
                start = None;
            }
            _ => {}
        }
    }
    if let Some(s) = start {
        runs.push((s, frames.len()));
    }
    let to_frames = |secs: f64| (secs / HOP_SECS).round() as usize;

    // Bridge short pauses, then drop short runs.
    let mut merged: Vec<(usize, usize)> = Vec::new();
    for r in runs {
        match merged.last_mut() {
            Some(last) if r.0 - last.1 < to_frames(params.min_silence) => last.1 = r.1,
            _ => merged.push(r),
        }
    }
    merged.retain(|r| r.1 - r.0 >= to_frames(params.min_speech).max(1));

    // Split long runs at their quietest frame, away from the edges.
    let max_len = to_frames(params.max_segment).max(2);
    let edge = to_frames(params.min_speech).max(1);
    let mut pieces = Vec::new();
    let mut stack: Vec<(usize, usize)> = merged.into_iter().rev().collect();
    while let Some((a, b)) = stack.pop() {
        if b - a <= max_len || b - a <= 2 * edge {
            pieces.push((a, b));
            continue;
        }
        let cut = (a + edge..b - edge)
            .min_by(|&i, &j| frames[i].band_db.total_cmp(&frames[j].band_db))
            .unwrap_or((a + b) / 2);
        stack.push((cut, b));
        stack.push((a, cut));
    }

    // Frame k is centred on k * hop; a run covers half a hop either side. Then pad.
    let mut spans: Vec<Span> = pieces
        .into_iter()
        .map(|(a, b)| Span {
            start: ((a as f64 - 0.5) * HOP_SECS - params.padding).max(0.0),
            end: ((b as f64 - 0.5) * HOP_SECS + params.padding).min(duration),
        })
        .collect();
    // Padding may make neighbours overlap: meet in the middle (split pieces stay split).
    for i in 1..spans.len() {
        if spans[i].start < spans[i - 1].end {
            let mid = (spans[i].start + spans[i - 1].end) / 2.0;
            spans[i - 1].end = mid;
            spans[i].start = mid;
        }
    }
    spans
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn silence_and_steady_noise_yield_nothing() {
        assert!(segments(&features(&[0.0; 32_000], 16_000), 2.0, VadParams::default()).is_empty());
        let noise: Vec<f32> = (0..32_000u32)
            .map(|i| ((i.wrapping_mul(2_654_435_761) >> 8) as f32 / 16_777_216.0 - 0.5) * 0.1)
            .collect();
        assert!(segments(&features(&noise, 16_000), 2.0, VadParams::default()).is_empty());
    }

    #[test]
    fn long_speech_is_split_at_its_quietest_point() {
        let mut frames = vec![
            Frame {
                band_db: -20.0,
                flatness: 0.1
            };
            1_000
        ];
        frames[600].band_db = -35.0;
        frames.extend(vec![
            Frame {
                band_db: -90.0,
                flatness: 1.0
            };
            200
        ]);
        let spans = segments(
            &frames,
            12.0,
            VadParams {
                max_segment: 8.0,
                padding: 0.0,
                ..Default::default()
            },
        );
        assert_eq!(spans.len(), 2, "{spans:?}");
        assert!((spans[0].end - 5.995).abs() < 0.011, "{spans:?}");
    }
}
