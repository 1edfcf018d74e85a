//! Pitch (F0) with a voicing decision and a confidence, and intensity, at a 10 ms hop.
//!
//! F0 is estimated with YIN (de Cheveigné & Kawahara 2002): the cumulative-mean-normalised
//! difference function, its first dip under a threshold, parabolic refinement. The difference
//! function is computed through one FFT correlation per frame, so a frame costs O(n log n).
//! Voicing needs both a clear dip and enough energy: frames quieter than 3% of the loudest
//! frame's RMS are unvoiced, like Praat's silence threshold.
//!
//! Intensity follows Praat's `To Intensity`: mean-subtracted, window 3.2 / pitch floor seconds,
//! in dB re 2·10⁻⁵ with samples read as pascals, so values look like Praat's (60–80 dB speech).
//!
//! Long recordings: the voicing decision needs the loudest frame of the whole recording, so a
//! track is made in two passes. [`PitchTracker::track_blocks`] keeps the per-frame values in
//! memory (fine for minutes); [`PitchTracker::write_json_blocks`] spills them to a scratch file
//! (16 bytes a frame) and writes the JSON track column by column, so memory stays at one block
//! of audio whatever the length: a 10-hour recording is 3.6 M frames, which as a
//! [`PitchTrack`] plus its JSON text would take some 200 MB.

use std::convert::Infallible;
use std::sync::Arc;

use super::SilenceScan;
use realfft::num_complex::Complex;
use realfft::{ComplexToReal, RealFftPlanner, RealToComplex};
use serde::Serialize;

/// Pitch tracking settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PitchParams {
    /// Lowest F0 searched, Hz.
    pub min_hz: f32,
    /// Highest F0 searched, Hz.
    pub max_hz: f32,
    /// Hop between frames, seconds.
    pub hop_secs: f64,
    /// YIN threshold on the normalised difference (lower is stricter).
    pub threshold: f32,
    /// Frames below this fraction of the loudest frame's RMS are unvoiced.
    pub silence: f32,
}

impl Default for PitchParams {
    fn default() -> Self {
        Self {
            min_hz: 60.0,
            max_hz: 500.0,
            hop_secs: 0.01,
            threshold: 0.3,
            silence: 0.03,
        }
    }
}

/// Per-frame pitch and intensity.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct PitchTrack {
    /// Hop in seconds.
    pub hop_secs: f64,
    /// Centre time of each frame, seconds.
    pub times: Vec<f64>,
    /// F0 in Hz, `None` when unvoiced.
    pub f0_hz: Vec<Option<f32>>,
    /// Confidence in [0, 1]: 1 − the normalised difference at the chosen period.
    pub confidence: Vec<f32>,
    /// Intensity in dB.
    pub intensity_db: Vec<f32>,
}

/// One frame of a track, as [`PitchTracker::point`] computes it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct PitchPoint {
    /// F0 in Hz, `None` when unvoiced.
    pub f0_hz: Option<f32>,
    /// Confidence in [0, 1].
    pub confidence: f32,
    /// Intensity in dB.
    pub intensity_db: f32,
}

/// Frame-level raw values, before the global voicing decision.
#[derive(Debug, Clone, Copy)]
struct Raw {
    f0: f32,
    dip: f32,
    rms: f32,
    intensity: f32,
}

impl Raw {
    fn confidence(&self) -> f32 {
        (1.0 - self.dip).clamp(0.0, 1.0)
    }
}

/// A planned pitch tracker for one rate and parameter set.
pub struct PitchTracker {
    params: PitchParams,
    rate: u32,
    hop: usize,
    tau_min: usize,
    tau_max: usize,
    win: usize,
    fwd: Arc<dyn RealToComplex<f32>>,
    inv: Arc<dyn ComplexToReal<f32>>,
    a: Vec<f32>,
    b: Vec<f32>,
    fa: Vec<Complex<f32>>,
    fb: Vec<Complex<f32>>,
    scratch: Vec<Complex<f32>>,
    corr: Vec<f32>,
    cmnd: Vec<f32>,
    int_window: Vec<f32>,
}

impl PitchTracker {
    /// Plans a tracker.
    pub fn new(rate: u32, params: PitchParams) -> Self {
        let tau_min = ((rate as f32 / params.max_hz).floor() as usize).max(2);
        let tau_max = (rate as f32 / params.min_hz).ceil() as usize;
        // Integrate over two longest periods: steadier than one on real voices.
        let win = 2 * tau_max;
        let n = (2 * win + tau_max).next_power_of_two();
        let mut planner = RealFftPlanner::<f32>::new();
        let fwd = planner.plan_fft_forward(n);
        let inv = planner.plan_fft_inverse(n);
        let int_len = ((3.2 / params.min_hz) * rate as f32).round() as usize | 1;
        let int_window = (0..int_len)
            .map(|i| {
                0.5 - 0.5 * (2.0 * std::f32::consts::PI * i as f32 / (int_len - 1) as f32).cos()
            })
            .collect();
        Self {
            hop: ((params.hop_secs * f64::from(rate)).round() as usize).max(1),
            a: fwd.make_input_vec(),
            b: fwd.make_input_vec(),
            fa: fwd.make_output_vec(),
            fb: fwd.make_output_vec(),
            scratch: fwd.make_scratch_vec(),
            corr: inv.make_output_vec(),
            cmnd: vec![0.0; tau_max + 2],
            fwd,
            inv,
            params,
            rate,
            tau_min,
            tau_max,
            win,
            int_window,
        }
    }

    /// Tracks a whole signal.
    pub fn track(&mut self, signal: &[f32]) -> PitchTrack {
        self.track_blocks(signal.len(), &mut |start, len| {
            signal[start..(start + len).min(signal.len())].to_vec()
        })
    }

    /// Tracks a signal of `total` samples read in blocks: `read(start, len)` returns up to
    /// `len` samples from `start`. Memory is one block plus the per-frame results.
    pub fn track_blocks(
        &mut self,
        total: usize,
        read: &mut dyn FnMut(usize, usize) -> Vec<f32>,
    ) -> PitchTrack {
        let mut raw = Vec::with_capacity(self.frames(total));
        let Ok(()) = self.raw_blocks::<Infallible>(total, read, &mut |r| {
            raw.push(r);
            Ok(())
        });
        self.decide(&raw)
    }

    /// The voicing reference of a signal of `total` samples read in blocks: the RMS of its
    /// loudest frame, the value [`write_json_blocks`](Self::write_json_blocks) returns. It
    /// computes only the energies (no period search), the same sums in the same order, so
    /// [`point`](Self::point) with it decides exactly as the whole-file track does.
    pub fn loudest_blocks(
        &mut self,
        total: usize,
        read: &mut dyn FnMut(usize, usize) -> Vec<f32>,
    ) -> f32 {
        let span = self.win + self.tau_max;
        let mut loudest = 0.0f32;
        for (first, last, start, end) in self.blocks(total) {
            let x = read(start, end - start);
            let at = |i: i64| {
                if i >= 0 && (i as usize) < x.len() {
                    x[i as usize]
                } else {
                    0.0
                }
            };
            for k in first..last {
                let centre = (k * self.hop) as i64 - start as i64;
                let from = centre - (span / 2) as i64;
                let mean = (0..span as i64).map(|j| at(from + j)).sum::<f32>() / span as f32;
                let e_a: f32 = (0..self.win as i64)
                    .map(|j| {
                        let v = at(from + j) - mean;
                        v * v
                    })
                    .sum();
                if e_a > f32::EPSILON {
                    loudest = loudest.max((e_a / self.win as f32).sqrt());
                }
            }
        }
        loudest
    }

    /// Pitch and intensity of the one frame centred on sample `centre`, where `x[0]` is sample
    /// `offset` and `x` holds at least [`context`](Self::context) samples either side of the
    /// centre. `loudest` is the recording's voicing reference
    /// ([`loudest_blocks`](Self::loudest_blocks)). This serves a track by time range: a view of
    /// any length asks for one frame per pixel column, never for the whole file.
    pub fn point(&mut self, x: &[f32], offset: i64, centre: i64, loudest: f32) -> PitchPoint {
        let r = self.frame(x, offset, centre);
        PitchPoint {
            f0_hz: self.voiced(&r, loudest).then_some(r.f0),
            confidence: r.confidence(),
            intensity_db: r.intensity,
        }
    }

    /// Samples a frame reads on either side of its centre.
    pub fn context(&self) -> usize {
        self.int_window.len().max(self.win + self.tau_max) / 2 + 2
    }

    /// Hop between frames, in samples.
    pub fn hop(&self) -> usize {
        self.hop
    }

    fn frames(&self, total: usize) -> usize {
        total / self.hop + 1
    }

    fn time(&self, k: usize) -> f64 {
        (k * self.hop) as f64 / f64::from(self.rate)
    }

    /// The blocks a signal of `total` samples is read in: frames `first..last` and the samples
    /// `start..end` they reach.
    fn blocks(&self, total: usize) -> impl Iterator<Item = (usize, usize, usize, usize)> + use<> {
        const BLOCK_FRAMES: usize = 6_000; // one minute at a 10 ms hop
        let frames = self.frames(total);
        let margin = self.int_window.len().max(self.win + self.tau_max) + 2;
        let hop = self.hop;
        (0..frames).step_by(BLOCK_FRAMES).map(move |first| {
            let last = (first + BLOCK_FRAMES).min(frames);
            let start = (first * hop).saturating_sub(margin);
            let end = ((last - 1) * hop + margin).min(total);
            (first, last, start, end)
        })
    }

    /// Hands every frame's raw values to `sink` in order, reading the signal a block at a time.
    fn raw_blocks<E>(
        &mut self,
        total: usize,
        read: &mut dyn FnMut(usize, usize) -> Vec<f32>,
        sink: &mut dyn FnMut(Raw) -> Result<(), E>,
    ) -> Result<(), E> {
        for (first, last, start, end) in self.blocks(total) {
            let block = read(start, end - start);
            let mut scan = SilenceScan::default();
            for k in first..last {
                let centre = (k * self.hop) as i64;
                let (from, to) = self.reach(centre - start as i64);
                sink(if scan.silent(&block, from, to) {
                    Self::silent()
                } else {
                    self.frame(&block, start as i64, centre)
                })?;
            }
        }
        Ok(())
    }

    fn voiced(&self, r: &Raw, loudest: f32) -> bool {
        r.dip < self.params.threshold && r.rms > self.params.silence * loudest && loudest > 0.0
    }

    fn decide(&self, raw: &[Raw]) -> PitchTrack {
        let loudest = raw.iter().map(|r| r.rms).fold(0.0, f32::max);
        let mut t = PitchTrack {
            hop_secs: self.hop as f64 / f64::from(self.rate),
            ..Default::default()
        };
        for (k, r) in raw.iter().enumerate() {
            t.times.push(self.time(k));
            t.f0_hz.push(self.voiced(r, loudest).then_some(r.f0));
            t.confidence.push(r.confidence());
            t.intensity_db.push(r.intensity);
        }
        t
    }

    /// One frame centred on sample `centre`, where `x[0]` is sample `offset`.
    fn frame(&mut self, x: &[f32], offset: i64, centre: i64) -> Raw {
        let centre = centre - offset;
        let at = |i: i64| {
            if i >= 0 && (i as usize) < x.len() {
                x[i as usize]
            } else {
                0.0
            }
        };
        let span = self.win + self.tau_max;
        let first = centre - (span / 2) as i64;
        // Mean-subtract so DC does not read as a period.
        let mean = (0..span as i64).map(|j| at(first + j)).sum::<f32>() / span as f32;
        self.a.fill(0.0);
        self.b.fill(0.0);
        for j in 0..span {
            let v = at(first + j as i64) - mean;
            self.b[j] = v;
            if j < self.win {
                self.a[j] = v;
            }
        }
        let intensity = self.intensity(x, centre);
        // Energies: e_a = Σ a², e_b(τ) = Σ_{j<win} b[j+τ]².
        let e_a: f32 = self.a[..self.win].iter().map(|v| v * v).sum();
        let rms = (e_a / self.win as f32).sqrt();
        if e_a <= f32::EPSILON {
            return Raw {
                f0: 0.0,
                dip: 1.0,
                rms: 0.0,
                intensity,
            };
        }
        // Cross-correlation r(τ) = Σ a[j] b[j+τ] via FFT: conj(A)·B.
        let _ = self
            .fwd
            .process_with_scratch(&mut self.a, &mut self.fa, &mut self.scratch);
        let _ = self
            .fwd
            .process_with_scratch(&mut self.b, &mut self.fb, &mut self.scratch);
        for (p, q) in self.fb.iter_mut().zip(&self.fa) {
            *p *= q.conj();
        }
        let _ = self
            .inv
            .process_with_scratch(&mut self.fb, &mut self.corr, &mut self.scratch);
        let n = self.corr.len() as f32;
        // The FFTs consumed a and b; recompute the sliding energy from the signal.
        let sq = |j: usize| {
            let v = at(first + j as i64) - mean;
            v * v
        };
        let mut e_b: f32 = (0..self.win).map(sq).sum();
        let mut running = 0.0f32;
        self.cmnd[0] = 1.0;
        for tau in 1..=self.tau_max {
            e_b += sq(tau + self.win - 1) - sq(tau - 1);
            let d = (e_a + e_b - 2.0 * self.corr[tau] / n).max(0.0);
            running += d;
            self.cmnd[tau] = if running > 0.0 {
                d * tau as f32 / running
            } else {
                1.0
            };
        }
        // First dip below the threshold, followed to its local minimum; else the global minimum.
        let range = self.tau_min..=self.tau_max;
        let mut best = None;
        let mut tau = self.tau_min;
        while tau <= self.tau_max {
            if self.cmnd[tau] < self.params.threshold {
                while tau < self.tau_max && self.cmnd[tau + 1] < self.cmnd[tau] {
                    tau += 1;
                }
                best = Some(tau);
                break;
            }
            tau += 1;
        }
        let tau = best.unwrap_or_else(|| {
            range
                .clone()
                .min_by(|&i, &j| self.cmnd[i].total_cmp(&self.cmnd[j]))
                .unwrap_or(self.tau_min)
        });
        let refined = if tau > 1 && tau < self.tau_max {
            let (y0, y1, y2) = (self.cmnd[tau - 1], self.cmnd[tau], self.cmnd[tau + 1]);
            let den = y0 - 2.0 * y1 + y2;
            if den.abs() > f32::EPSILON {
                tau as f32 + 0.5 * (y0 - y2) / den
            } else {
                tau as f32
            }
        } else {
            tau as f32
        };
        Raw {
            f0: self.rate as f32 / refined,
            dip: self.cmnd[tau],
            rms,
            intensity,
        }
    }

    fn intensity(&self, x: &[f32], centre: i64) -> f32 {
        let n = self.int_window.len() as i64;
        let first = centre - n / 2;
        let at = |i: i64| {
            if i >= 0 && (i as usize) < x.len() {
                x[i as usize]
            } else {
                0.0
            }
        };
        let wsum: f32 = self.int_window.iter().sum();
        let mean = (0..n)
            .map(|j| at(first + j) * self.int_window[j as usize])
            .sum::<f32>()
            / wsum;
        let ms = (0..n)
            .map(|j| (at(first + j) - mean).powi(2) * self.int_window[j as usize])
            .sum::<f32>()
            / wsum;
        intensity_db(ms)
    }

    /// Samples frame `centre` reads, relative to its block: the YIN span and the intensity
    /// window.
    fn reach(&self, centre: i64) -> (i64, i64) {
        let span = (self.win + self.tau_max) as i64;
        let n = self.int_window.len() as i64;
        let (yin, int) = (centre - span / 2, centre - n / 2);
        (yin.min(int), (yin + span).max(int + n))
    }

    /// What [`frame`](Self::frame) returns when every sample it reads is zero.
    fn silent() -> Raw {
        Raw {
            f0: 0.0,
            dip: 1.0,
            rms: 0.0,
            intensity: intensity_db(0.0),
        }
    }
}

/// Intensity in dB re 2·10⁻⁵ Pa of a mean square, floored at 10⁻²⁰.
fn intensity_db(ms: f32) -> f32 {
    10.0 * (ms.max(1e-20) / 4e-10).log10()
}

mod spill;
#[cfg(test)]
mod tests;
