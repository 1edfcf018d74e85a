//! Short-time Fourier transform with realfft: planned once, no allocation per frame.
//!
//! Frames are *centred*: frame `k` of a full-file transform covers the samples around
//! `k * hop`, with zeros outside the signal (as `scipy.signal.stft` with `boundary='zeros'` and
//! `librosa.stft(center=True, pad_mode='constant')`). Power is `|X|² / (Σw)²`, so a full-scale
//! sine inside one bin reads about −6 dB whatever the window, and values compare directly with
//! scipy's `scaling='spectrum'`.

use std::sync::Arc;

use realfft::num_complex::Complex;
use realfft::{RealFftPlanner, RealToComplex};

/// Analysis window shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum WindowKind {
    /// Periodic Hann (scipy's `get_window('hann', n)`).
    Hann,
    /// Gaussian, as Praat's spectrogram: σ = length / 6, so the window reaches −e^{-4.5} at its edges.
    Gaussian,
}

/// STFT settings, in samples.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StftConfig {
    /// Window length in samples.
    pub window_len: usize,
    /// FFT size (≥ window length; the window is zero-padded).
    pub n_fft: usize,
    /// Hop between frames, in samples.
    pub hop: usize,
    /// Window shape.
    pub window: WindowKind,
    /// Pre-emphasis from this frequency upward (Praat's default for spectrograms is 50 Hz).
    pub pre_emphasis_hz: Option<f32>,
}

impl StftConfig {
    /// Praat's wideband preset: a 5 ms Gaussian window, resolving formants.
    pub fn wideband(rate: u32) -> Self {
        Self::preset(rate, 0.005)
    }

    /// Praat's narrowband preset: a 30 ms Gaussian window, resolving harmonics.
    pub fn narrowband(rate: u32) -> Self {
        Self::preset(rate, 0.030)
    }

    fn preset(rate: u32, secs: f64) -> Self {
        let window_len = ((secs * f64::from(rate)).round() as usize).max(8);
        Self {
            window_len,
            n_fft: (window_len * 2).next_power_of_two(),
            hop: (rate as usize / 500).max(1),
            window: WindowKind::Gaussian,
            pre_emphasis_hz: Some(50.0),
        }
    }

    /// A plain configuration: Hann window of `n_fft` samples, no pre-emphasis.
    pub fn hann(n_fft: usize, hop: usize) -> Self {
        Self {
            window_len: n_fft,
            n_fft,
            hop,
            window: WindowKind::Hann,
            pre_emphasis_hz: None,
        }
    }
}

/// A planned transform with its buffers.
pub struct Stft {
    cfg: StftConfig,
    fft: Arc<dyn RealToComplex<f32>>,
    window: Vec<f32>,
    norm: f32,
    pre: f32,
    input: Vec<f32>,
    spectrum: Vec<Complex<f32>>,
    scratch: Vec<Complex<f32>>,
}

fn make_window(kind: WindowKind, n: usize) -> Vec<f32> {
    let nf = n as f64;
    (0..n)
        .map(|i| {
            let i = i as f64;
            match kind {
                WindowKind::Hann => 0.5 - 0.5 * (2.0 * std::f64::consts::PI * i / nf).cos(),
                WindowKind::Gaussian => {
                    let mid = (nf - 1.0) / 2.0;
                    let sigma = nf / 6.0;
                    (-0.5 * ((i - mid) / sigma).powi(2)).exp()
                }
            }
        })
        .map(|w| w as f32)
        .collect()
}

impl Stft {
    /// Plans a transform for `cfg` at `rate` Hz.
    pub fn new(cfg: StftConfig, rate: u32) -> Self {
        let cfg = StftConfig {
            n_fft: cfg.n_fft.max(cfg.window_len).max(2),
            ..cfg
        };
        let fft = RealFftPlanner::<f32>::new().plan_fft_forward(cfg.n_fft);
        let window = make_window(cfg.window, cfg.window_len);
        let sum: f32 = window.iter().sum();
        let pre = cfg.pre_emphasis_hz.map_or(0.0, |f| {
            (-2.0 * std::f32::consts::PI * f / rate as f32).exp()
        });
        Self {
            input: fft.make_input_vec(),
            spectrum: fft.make_output_vec(),
            scratch: fft.make_scratch_vec(),
            fft,
            window,
            norm: 1.0 / (sum * sum),
            pre,
            cfg,
        }
    }

    /// The configuration in use (with `n_fft` raised to the window length if needed).
    pub fn config(&self) -> &StftConfig {
        &self.cfg
    }

    /// Frequency bins per frame: `n_fft / 2 + 1`.
    pub fn bins(&self) -> usize {
        self.cfg.n_fft / 2 + 1
    }

    /// Sum of the window, for callers that need the raw transform's scale.
    pub fn window_sum(&self) -> f32 {
        self.window.iter().sum()
    }

    /// Power spectrum of the frame centred on `centre`, where `signal[0]` is sample `offset`
    /// and everything outside `signal` is silence. Writes `bins()` values to `out`.
    pub fn power_at(&mut self, signal: &[f32], offset: i64, centre: i64, out: &mut [f32]) {
        let n = self.cfg.window_len as i64;
        let first = centre - n / 2;
        let at = |i: i64| -> f32 {
            let j = i - offset;
            if j >= 0 && (j as usize) < signal.len() {
                signal[j as usize]
            } else {
                0.0
            }
        };
        for (k, slot) in self.input.iter_mut().enumerate() {
            *slot = if (k as i64) < n {
                let i = first + k as i64;
                let x = if self.pre != 0.0 {
                    at(i) - self.pre * at(i - 1)
                } else {
                    at(i)
                };
                x * self.window[k]
            } else {
                0.0
            };
        }
        self.transform(out);
    }

    /// Power spectrum of exactly `frame` (window length samples, windowed here).
    pub fn power_frame(&mut self, frame: &[f32], out: &mut [f32]) {
        for (k, slot) in self.input.iter_mut().enumerate() {
            *slot = frame
                .get(k)
                .zip(self.window.get(k))
                .map_or(0.0, |(x, w)| x * w);
        }
        self.transform(out);
    }

    fn transform(&mut self, out: &mut [f32]) {
        // Sizes come from the plan itself, so this cannot fail.
        let _ =
            self.fft
                .process_with_scratch(&mut self.input, &mut self.spectrum, &mut self.scratch);
        for (o, c) in out.iter_mut().zip(&self.spectrum) {
            *o = c.norm_sqr() * self.norm;
        }
    }
}

/// Power to decibels, with a floor at −200 dB for silence.
pub fn power_db(p: f32) -> f32 {
    10.0 * p.max(1e-20).log10()
}

/// Full-file spectrogram in dB, frame-major (`frames × bins`), using `threads` threads.
pub fn spectrogram_db(
    signal: &[f32],
    rate: u32,
    cfg: StftConfig,
    threads: usize,
) -> (Vec<f32>, usize) {
    let bins = cfg.n_fft.max(cfg.window_len) / 2 + 1;
    let frames = signal.len() / cfg.hop + 1;
    let mut out = vec![0.0f32; frames * bins];
    let per_thread = frames.div_ceil(threads.max(1));
    std::thread::scope(|s| {
        for (t, block) in out.chunks_mut(per_thread * bins).enumerate() {
            s.spawn(move || {
                let mut stft = Stft::new(cfg, rate);
                for (i, row) in block.chunks_mut(bins).enumerate() {
                    let frame = t * per_thread + i;
                    stft.power_at(signal, 0, (frame * cfg.hop) as i64, row);
                    for v in row.iter_mut() {
                        *v = power_db(*v);
                    }
                }
            });
        }
    });
    (out, bins)
}

/// Hz to mel (O'Shaughnessy / HTK).
pub fn hz_to_mel(hz: f32) -> f32 {
    2595.0 * (1.0 + hz / 700.0).log10()
}

/// Mel to Hz.
pub fn mel_to_hz(mel: f32) -> f32 {
    700.0 * (10f32.powf(mel / 2595.0) - 1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sine(rate: u32, f: f32, n: usize) -> Vec<f32> {
        (0..n)
            .map(|i| (2.0 * std::f32::consts::PI * f * i as f32 / rate as f32).sin() * 0.8)
            .collect()
    }

    #[test]
    fn a_sine_peaks_in_its_bin() {
        for (rate, n_fft) in [(16_000u32, 512usize), (16_000, 1024), (44_100, 2048)] {
            for f in [100.0f32, 440.0, 1_000.0, 3_333.0, 7_000.0] {
                let x = sine(rate, f, n_fft * 4);
                let mut stft = Stft::new(StftConfig::hann(n_fft, n_fft / 4), rate);
                let mut p = vec![0.0; stft.bins()];
                stft.power_at(&x, 0, (n_fft * 2) as i64, &mut p);
                let peak = p
                    .iter()
                    .enumerate()
                    .max_by(|a, b| a.1.total_cmp(b.1))
                    .unwrap()
                    .0;
                let want = f * n_fft as f32 / rate as f32;
                assert!(
                    (peak as f32 - want).abs() <= 1.0,
                    "{f} Hz: bin {peak}, want {want}"
                );
            }
        }
    }

    #[test]
    fn parseval_holds() {
        for kind in [WindowKind::Hann, WindowKind::Gaussian] {
            let cfg = StftConfig {
                window_len: 400,
                n_fft: 512,
                hop: 160,
                window: kind,
                pre_emphasis_hz: None,
            };
            let mut stft = Stft::new(cfg, 16_000);
            let x: Vec<f32> = (0..400)
                .map(|i| ((i * 7919 % 1000) as f32 / 500.0 - 1.0) * 0.5)
                .collect();
            let mut p = vec![0.0; stft.bins()];
            stft.power_frame(&x, &mut p);
            let w = make_window(kind, 400);
            let time: f64 = x
                .iter()
                .zip(&w)
                .map(|(a, b)| f64::from(a * b).powi(2))
                .sum();
            let scale = f64::from(stft.window_sum()).powi(2);
            let last = p.len() - 1;
            let freq: f64 = p
                .iter()
                .enumerate()
                .map(|(k, &v)| f64::from(v) * scale * if k == 0 || k == last { 1.0 } else { 2.0 })
                .sum::<f64>()
                / 512.0;
            assert!(
                (freq / time - 1.0).abs() < 0.01,
                "{kind:?}: {freq} vs {time}"
            );
        }
    }

    #[test]
    fn silence_is_at_the_floor() {
        let (db, bins) = spectrogram_db(&[0.0; 4000], 16_000, StftConfig::hann(512, 160), 2);
        assert_eq!(bins, 257);
        assert!(db.iter().all(|&v| v == -200.0));
    }

    #[test]
    fn mel_round_trips() {
        for hz in [0.0f32, 100.0, 1000.0, 8000.0] {
            assert!((mel_to_hz(hz_to_mel(hz)) - hz).abs() < 0.01 * hz.max(1.0));
        }
    }
}
