//! Voice-activity segmentation: the first segments of a recording.
//!
//! Per 10 ms frame we measure the energy in the speech band (200–4 000 Hz) and the spectral
//! flatness (noise is flat, voiced speech is peaky). Thresholds adapt to the recording: the
//! noise floor is the 10th percentile of band energy, the speech level the 95th. A frame enters
//! speech above the high threshold, if it is not flat noise, and stays in speech until energy
//! falls under the low threshold (hysteresis). Then runs are cleaned up in this order: gaps
//! shorter than `min_silence` are bridged, runs shorter than `min_speech` dropped, `padding`
//! added, and runs longer than `max_segment` split at their quietest frame.
//!
//! Memory: the thresholds come from the whole recording, so every frame's features are kept,
//! in compact columns ([`Features`]: 5 bytes a frame, 18 MB for 10 hours), and the percentiles
//! are selected by counting rather than by sorting a copy.

use serde::Serialize;

use super::SilenceScan;
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
    let mut out = Vec::with_capacity(total / hop(rate) + 1);
    each_frame(total, rate, read, &mut |f| out.push(f));
    out
}

/// Frame features of a whole recording, in compact columns: what [`segments`] needs of each
/// frame, 5 bytes instead of a [`Frame`]'s 8.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Features {
    /// Speech-band energy per frame, dB.
    band_db: Vec<f32>,
    /// Whether each frame is tonal enough to start speech.
    tonal: Vec<bool>,
}

impl Features {
    /// Computes the features of a signal of `total` samples read in blocks, as
    /// [`features_blocks`], keeping only the compact columns.
    pub fn from_blocks(
        total: usize,
        rate: u32,
        read: &mut dyn FnMut(usize, usize) -> Vec<f32>,
    ) -> Self {
        let mut out = Self::with_capacity(total / hop(rate) + 1);
        each_frame(total, rate, read, &mut |f| out.push(f));
        out
    }

    fn with_capacity(n: usize) -> Self {
        Self {
            band_db: Vec::with_capacity(n),
            tonal: Vec::with_capacity(n),
        }
    }

    fn push(&mut self, f: Frame) {
        self.band_db.push(f.band_db);
        self.tonal.push(f.flatness < MAX_FLATNESS);
    }

    /// Number of frames.
    pub fn len(&self) -> usize {
        self.band_db.len()
    }

    /// Whether there are no frames.
    pub fn is_empty(&self) -> bool {
        self.band_db.is_empty()
    }

    /// Segments a recording of `duration` seconds, as [`segments`].
    pub fn segments(&self, duration: f64, params: VadParams) -> Vec<Span> {
        segment(&self.band_db, &self.tonal, duration, params)
    }
}

impl From<&[Frame]> for Features {
    fn from(frames: &[Frame]) -> Self {
        let mut out = Self::with_capacity(frames.len());
        for &f in frames {
            out.push(f);
        }
        out
    }
}

fn hop(rate: u32) -> usize {
    (HOP_SECS * f64::from(rate)).round() as usize
}

/// The STFT and speech band of the VAD's frames at one rate.
struct Analyser {
    stft: Stft,
    window: usize,
    lo: usize,
    hi: usize,
    power: Vec<f32>,
}

impl Analyser {
    fn new(rate: u32) -> Self {
        let window = (0.025 * f64::from(rate)).round() as usize;
        let cfg = StftConfig {
            window_len: window,
            n_fft: window.next_power_of_two(),
            ..StftConfig::hann(window, hop(rate))
        };
        let stft = Stft::new(cfg, rate);
        let bin_hz = rate as f32 / stft.config().n_fft as f32;
        let lo = (200.0 / bin_hz).ceil() as usize;
        let hi =
            ((4_000.0f32.min(rate as f32 / 2.0) / bin_hz).floor() as usize).min(stft.bins() - 1);
        let power = vec![0.0; stft.bins()];
        Self {
            stft,
            window,
            lo,
            hi,
            power,
        }
    }

    /// The frame centred on sample `centre`, where `block[0]` is sample `offset`.
    fn frame(&mut self, block: &[f32], offset: i64, centre: i64) -> Frame {
        self.stft.power_at(block, offset, centre, &mut self.power);
        let band = &self.power[self.lo..=self.hi];
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
    }

    /// Samples the frame centred on `centre` reads (one more before it, in case of
    /// pre-emphasis).
    fn reach(&self, centre: i64) -> (i64, i64) {
        let first = centre - (self.window / 2) as i64;
        (first - 1, first + self.window as i64)
    }

    /// What [`frame`](Self::frame) returns when every sample it reads is zero: a zero spectrum.
    fn silent() -> Frame {
        Frame {
            band_db: power_db(0.0),
            flatness: 1.0,
        }
    }
}

/// Computes each frame's features in order, reading the signal a block at a time; frames of
/// digital silence skip the transform.
fn each_frame(
    total: usize,
    rate: u32,
    read: &mut dyn FnMut(usize, usize) -> Vec<f32>,
    sink: &mut dyn FnMut(Frame),
) {
    let hop = hop(rate);
    let mut analyser = Analyser::new(rate);
    let frames = total / hop + 1;
    let margin = analyser.window + 1;
    for first in (0..frames).step_by(6_000) {
        let last = (first + 6_000).min(frames);
        let start = (first * hop).saturating_sub(margin);
        let end = ((last - 1) * hop + margin).min(total);
        let block = read(start, end - start);
        let mut scan = SilenceScan::default();
        for k in first..last {
            let centre = (k * hop) as i64;
            let (from, to) = analyser.reach(centre - start as i64);
            sink(if scan.silent(&block, from, to) {
                Analyser::silent()
            } else {
                analyser.frame(&block, start as i64, centre)
            });
        }
    }
}

/// The value at rank `round((n − 1)·q)` in [`f32::total_cmp`] order, exactly what indexing a
/// sorted copy gives, found without the copy: two counting passes over the 16-bit halves of
/// an order-preserving key.
fn percentile(values: &[f32], q: f64) -> f32 {
    // Negative floats reverse their order when read as integers, positive ones keep it.
    let key = |v: f32| {
        let b = v.to_bits();
        if b >> 31 == 1 { !b } else { b | 1 << 31 }
    };
    let unkey = |k: u32| f32::from_bits(if k >> 31 == 1 { k & !(1 << 31) } else { !k });
    // The bucket holding `rank`, and the rank within it.
    let pick = |counts: &[u32], mut rank: usize| {
        for (i, &c) in counts.iter().enumerate() {
            if rank < c as usize {
                return (i as u32, rank);
            }
            rank -= c as usize;
        }
        (counts.len() as u32 - 1, 0)
    };
    let rank = ((values.len() - 1) as f64 * q).round() as usize;
    let mut counts = vec![0u32; 1 << 16];
    for &v in values {
        counts[(key(v) >> 16) as usize] += 1;
    }
    let (high, rank) = pick(&counts, rank);
    counts.fill(0);
    for &v in values {
        let k = key(v);
        if k >> 16 == high {
            counts[(k & 0xFFFF) as usize] += 1;
        }
    }
    let (low, _) = pick(&counts, rank);
    unkey(high << 16 | low)
}

/// Segments a recording of `duration` seconds from its frame features.
pub fn segments(frames: &[Frame], duration: f64, params: VadParams) -> Vec<Span> {
    Features::from(frames).segments(duration, params)
}

/// [`segments`] over the compact columns of [`Features`].
fn segment(band_db: &[f32], tonal: &[bool], duration: f64, params: VadParams) -> Vec<Span> {
    if band_db.is_empty() {
        return Vec::new();
    }
    let floor = percentile(band_db, 0.10).max(ABSOLUTE_FLOOR_DB - 20.0);
    let peak = percentile(band_db, 0.95);
    let spread = peak - floor;
    if peak < ABSOLUTE_FLOOR_DB || spread < 6.0 {
        return Vec::new(); // silence, or steady noise: nothing stands out
    }
    let high = (floor + (0.35 * spread).max(9.0)).max(ABSOLUTE_FLOOR_DB);
    let low = (floor + (0.2 * spread).max(5.0)).max(ABSOLUTE_FLOOR_DB);

    // Hysteresis.
    let mut runs: Vec<(usize, usize)> = Vec::new();
    let mut start = None;
    for (k, (&db, &tonal)) in band_db.iter().zip(tonal).enumerate() {
        match start {
            None if db > high && tonal => start = Some(k),
            Some(s) if db < low => {
                runs.push((s, k));
                start = None;
            }
            _ => {}
        }
    }
    if let Some(s) = start {
        runs.push((s, band_db.len()));
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
            .min_by(|&i, &j| band_db[i].total_cmp(&band_db[j]))
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
    fn frames_of_digital_silence_are_skipped_with_the_same_result() {
        let rate = 16_000;
        let mut x = vec![0.0f32; 2 * rate as usize];
        x[3_000] = 1e-3;
        x[9_999] = -0.25;
        for (i, v) in x[20_000..21_000].iter_mut().enumerate() {
            *v = 0.3 * (i as f32 * 0.3).sin();
        }
        let got = features(&x, rate);
        let mut full = Analyser::new(rate);
        for (k, f) in got.iter().enumerate() {
            let want = full.frame(&x, 0, (k * hop(rate)) as i64);
            assert_eq!(
                (f.band_db.to_bits(), f.flatness.to_bits()),
                (want.band_db.to_bits(), want.flatness.to_bits()),
                "frame {k}"
            );
        }
        let silent = got.iter().filter(|f| **f == Analyser::silent()).count();
        assert!(
            silent > got.len() / 2,
            "{silent} of {} frames silent",
            got.len()
        );
    }

    #[test]
    fn percentiles_by_counting_equal_indexing_a_sorted_copy() {
        let mut seed = 1u32;
        let mut next = || {
            seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            seed
        };
        let specials = [
            0.0,
            -0.0,
            f32::NEG_INFINITY,
            f32::INFINITY,
            f32::NAN,
            -f32::NAN,
        ];
        for n in [1, 2, 3, 10, 999, 20_000] {
            let values: Vec<f32> = (0..n)
                .map(|i| match next() % 7 {
                    0 => specials[i % specials.len()],
                    1 => -120.0, // many equal values, as silence gives
                    _ => (next() >> 8) as f32 / 65_536.0 * 200.0 - 150.0,
                })
                .collect();
            let mut sorted = values.clone();
            sorted.sort_by(f32::total_cmp);
            for q in [0.0, 0.1, 0.5, 0.95, 1.0] {
                let want = sorted[((n - 1) as f64 * q).round() as usize];
                let got = percentile(&values, q);
                assert_eq!(got.to_bits(), want.to_bits(), "n {n}, q {q}");
            }
        }
    }

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
