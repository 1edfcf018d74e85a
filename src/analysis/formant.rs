//! Formant tracks (F1–F4 with their bandwidths) by Burg LPC, after Praat's `To Formant (burg)`.
//!
//! The method is Praat's (`Sound_to_Formant.cpp`), step by step, so a track can be compared
//! with Praat's frame by frame:
//!
//! 1. resample to twice the formant ceiling (11 kHz for the default 5500 Hz), so the LPC model
//!    spends its poles below the ceiling only;
//! 2. pre-emphasise, `x[i] -= exp(-2π F Δt) x[i-1]`, from `pre_emphasis_hz` up;
//! 3. per frame, multiply `2 × window_secs` of signal by Praat's Gaussian window
//!    `(exp(-48 (i-imid)²/(n+1)²) - exp(-12)) / (1 - exp(-12))` (Praat's "window length" is the
//!    effective length; the window itself is twice as long);
//! 4. fit `2 × n_formants` LPC coefficients by Burg's method (Praat's `VECburg`);
//! 5. find the roots of the prediction polynomial as the eigenvalues of its companion matrix
//!    (nalgebra's real Schur decomposition), reflect roots outside the unit circle into it
//!    (`Roots_fixIntoUnitCircle`), and keep one root of each conjugate pair: frequency
//!    `|arg z|·fs/2π`, bandwidth `-ln|z|·fs/π`;
//! 6. drop candidates below 50 Hz or above the Nyquist frequency minus 50 Hz, sort by frequency:
//!    F1–F4 are the first four.
//!
//! Decisions worth knowing:
//! - **Blocks, not whole files.** A frame needs only its own 50 ms and the resampler's reach, so
//!   [`FormantTracker::frames_at`] and [`FormantTracker::track`] resample the signal a few
//!   seconds at a time and analyse every frame that falls in that stretch: memory stays at one
//!   block, and each sample is resampled about once whatever the number of frames.
//!   [`FormantTracker::frame_at`] resamples just the stretch around its one frame.
//! - **One resampled grid.** Blocks start on multiples of `rate / gcd(rate, fs)` input samples,
//!   so resampled sample `j` always falls at `j / fs` seconds and a frame reads the same values
//!   whichever block it was computed in.
//! - **Silence outside the signal.** Praat shortens frames that run off the sound (which only
//!   happens by rounding on its own grid); here samples outside the block read as zero, so a
//!   frame can be asked for at any time. A frame that is all zeros has no formants, as in Praat.
//! - **Resampler.** rubato's synchronous FFT resampler, as in `audio::resample`, with a filter
//!   of about 2048 input samples: its pass band reaches 99 % of the new Nyquist frequency, close
//!   to Praat's brick-wall FFT filter, so formants near the ceiling are modelled alike.
//!
//! Not here: Praat's "Track..." (assigning candidates to F1–F3 by continuity); this module gives
//! the raw per-frame candidates, which is what Praat's Formant object holds and draws.

mod burg;
use burg::Burg;

use rubato::audioadapter_buffers::direct::InterleavedSlice;
use rubato::{Fft, FixedSync, Resampler, WindowFunction};
use serde::Serialize;

/// Praat's fixed margin: candidates closer than this to 0 Hz or to the Nyquist frequency are
/// not formants.
const SAFETY_MARGIN_HZ: f64 = 50.0;

/// The resampler's FFT block, in input samples (rounded up to a whole rate ratio).
const RESAMPLER_CHUNK: usize = 2_048;

/// Resampled samples analysed per block by [`FormantTracker::frames_at`] and
/// [`FormantTracker::track`]: about six seconds at 11 kHz.
const BLOCK_SAMPLES: usize = 1 << 16;

/// Formant analysis settings; the defaults are Praat's `To Formant (burg)`: 0, 5, 5500, 0.025, 50.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FormantParams {
    /// Formant ceiling in Hz: the signal is resampled to twice this. 5500 suits female and
    /// child voices (the default), 5000 male voices.
    pub max_formant_hz: f32,
    /// Number of formants the LPC model looks for below the ceiling; the model order is twice
    /// this, rounded. Half-integers are allowed, as in Praat (5.5 → 11 poles).
    pub n_formants: f32,
    /// Praat's "window length", seconds: the effective length of the Gaussian window, whose
    /// physical length is twice this.
    pub window_secs: f64,
    /// Pre-emphasis from this frequency up, Hz (a +6 dB/octave slope above it).
    pub pre_emphasis_hz: f32,
    /// Time between frames of [`FormantTracker::track`], seconds; 0 means a quarter of
    /// `window_secs`, Praat's default.
    pub time_step_secs: f64,
}

impl Default for FormantParams {
    fn default() -> Self {
        Self {
            max_formant_hz: 5500.0,
            n_formants: 5.0,
            window_secs: 0.025,
            pre_emphasis_hz: 50.0,
            time_step_secs: 0.0,
        }
    }
}

/// The formants of one frame.
#[derive(Debug, Clone, Copy, Default, Serialize, PartialEq)]
pub struct FormantFrame {
    /// Centre of the frame, seconds from the first sample of the recording.
    pub time_secs: f64,
    /// F1–F4 in Hz, lowest first; `None` where the frame has fewer candidates.
    pub formants: [Option<f32>; 4],
    /// The bandwidths of `formants`, Hz.
    pub bandwidths: [Option<f32>; 4],
}

/// Settings a tracker cannot be planned with.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum FormantError {
    /// The input rate is zero, or the ceiling is not a positive number of Hz.
    #[error(
        "formant analysis needs a positive rate and ceiling (rate {rate} Hz, ceiling {max_formant_hz} Hz)"
    )]
    Rate {
        /// The input rate, Hz.
        rate: u32,
        /// The requested ceiling, Hz.
        max_formant_hz: f32,
    },
    /// The window holds too few samples for the model order (or the order is zero).
    #[error("a {window_samples}-sample window cannot fit {order} LPC coefficients")]
    Window {
        /// Samples in the window at the analysis rate.
        window_samples: usize,
        /// LPC order, twice the number of formants.
        order: usize,
    },
    /// rubato refused the rate pair.
    #[error("resampler: {0}")]
    Resampler(String),
}

/// A formant tracker planned for one input rate and parameter set. It keeps its buffers
/// between calls, so reuse one tracker for many frames.
pub struct FormantTracker {
    rate: u32,
    /// Analysis rate, twice the ceiling.
    fs: u32,
    /// Input samples per `step_out` resampled samples: blocks start on multiples of this.
    step_in: i64,
    step_out: i64,
    resampler: Option<Fft<f32>>,
    /// Input samples the resampler reads on each side of an output sample.
    reach_in: i64,
    /// Half the frame, resampled samples: a frame is `2 * half` samples.
    half: i64,
    window: Vec<f64>,
    pre_emphasis: f32,
    window_secs: f64,
    dt: f64,
    /// The loaded block: resampled, pre-emphasised samples from global index `first`.
    block: Vec<f32>,
    first: i64,
    /// Resampled samples `[valid.0, valid.1)` of the block are clear of its edges' effects.
    valid: (i64, i64),
    input: Vec<f32>,
    output: Vec<f32>,
    lpc: Burg,
}

impl FormantTracker {
    /// Plans a tracker for signals at `rate` Hz.
    pub fn new(rate: u32, params: FormantParams) -> Result<Self, FormantError> {
        let fs = (2.0 * f64::from(params.max_formant_hz)).round();
        if rate == 0 || !(fs >= 1.0 && fs < f64::from(u32::MAX)) {
            return Err(FormantError::Rate {
                rate,
                max_formant_hz: params.max_formant_hz,
            });
        }
        let fs = fs as u32;
        let order = (2.0 * f64::from(params.n_formants)).round().max(0.0) as usize;
        // Praat: nsamp_window = floor(dt_window / dx), half = nsamp_window / 2.
        let n_window = (2.0 * params.window_secs / (1.0 / f64::from(fs))).floor();
        let n_window = if n_window.is_finite() && n_window > 0.0 {
            n_window as usize
        } else {
            0
        };
        if order == 0 || n_window < order + 1 {
            return Err(FormantError::Window {
                window_samples: n_window,
                order,
            });
        }
        let g = gcd(rate, fs);
        let resampler = if rate == fs {
            None
        } else {
            let fft = Fft::<f32>::new_custom(
                rate as usize,
                fs as usize,
                RESAMPLER_CHUNK,
                1,
                1,
                WindowFunction::BlackmanHarris2,
                FixedSync::Both,
            )
            .map_err(|e| FormantError::Resampler(e.to_string()))?;
            Some(fft)
        };
        let reach_in = resampler
            .as_ref()
            .map_or(0, |f| f.input_frames_max() as i64 / 2 + 2);
        let edge = (-12.0f64).exp();
        let mid = 0.5 * (n_window as f64 + 1.0);
        let denom = (n_window as f64 + 1.0).powi(2);
        let window = (1..=n_window)
            .map(|i| ((-48.0 * (i as f64 - mid).powi(2) / denom).exp() - edge) / (1.0 - edge))
            .collect();
        let dt = if params.time_step_secs > 0.0 {
            params.time_step_secs
        } else {
            params.window_secs / 4.0
        };
        Ok(Self {
            rate,
            fs,
            step_in: i64::from(rate / g),
            step_out: i64::from(fs / g),
            resampler,
            reach_in,
            half: (n_window / 2) as i64,
            window,
            pre_emphasis: (-2.0 * std::f64::consts::PI * f64::from(params.pre_emphasis_hz)
                / f64::from(fs))
            .exp() as f32,
            window_secs: params.window_secs,
            dt,
            block: Vec::new(),
            first: 0,
            valid: (i64::MAX, i64::MIN),
            input: Vec::new(),
            output: Vec::new(),
            lpc: Burg::new(order),
        })
    }

    /// The rate frames are analysed at, Hz: twice the ceiling.
    pub fn analysis_rate(&self) -> u32 {
        self.fs
    }

    /// Time between frames of [`track`](Self::track), seconds.
    pub fn time_step_secs(&self) -> f64 {
        self.dt
    }

    /// Input samples a frame reads on either side of its centre: a block holding
    /// `centre ± context()` gives [`frame_at`](Self::frame_at) everything it uses.
    pub fn context(&self) -> usize {
        let span = (self.half + 1) * self.step_in / self.step_out + 1;
        (span + self.reach_in + self.step_in) as usize
    }

    /// The frame centred on input sample `centre`, where `signal[0]` is sample `offset` of the
    /// recording and samples outside `signal` are silence. This serves a track by time range:
    /// a view of any length asks for one frame per pixel column, never for the whole file.
    /// For many frames of one block, [`frames_at`](Self::frames_at) resamples the block once.
    pub fn frame_at(&mut self, signal: &[f32], offset: i64, centre: i64) -> FormantFrame {
        let left = self.left_of(centre);
        let time_secs = centre as f64 / f64::from(self.rate);
        if self.outside(signal, offset, left) {
            return FormantFrame {
                time_secs,
                ..Default::default()
            };
        }
        self.load(signal, offset, left, left);
        self.analyse(left, time_secs)
    }

    /// [`frame_at`](Self::frame_at) for each of `centres` (best in increasing order), resampling
    /// the block a few seconds at a time instead of once per frame.
    pub fn frames_at(&mut self, signal: &[f32], offset: i64, centres: &[i64]) -> Vec<FormantFrame> {
        self.valid = (i64::MAX, i64::MIN);
        let lefts: Vec<(i64, f64)> = centres
            .iter()
            .map(|&c| (self.left_of(c), c as f64 / f64::from(self.rate)))
            .collect();
        self.frames_for(signal, offset, &lefts)
    }

    /// Every frame of `signal` (the whole recording, from sample 0) on Praat's grid: frames
    /// `time_step_secs` apart, centred in the signal, as many as fit a whole window after
    /// resampling (one frame at the middle when even one does not).
    pub fn track(&mut self, signal: &[f32]) -> Vec<FormantFrame> {
        let dx = 1.0 / f64::from(self.fs);
        let n_out = (signal.len() as u128 * u128::from(self.fs) + u128::from(self.rate) / 2)
            / u128::from(self.rate);
        let duration = n_out as f64 * dx;
        let window = 2.0 * self.window_secs;
        let frames = ((duration - window) / self.dt).floor();
        // Praat's first centre, in its convention where sample 0 sits at 0.5 dx; here sample 0
        // sits at 0, which moves every time by half a resampled sample and no sample index.
        let (frames, t1) = if frames >= 0.0 {
            let n = frames as usize + 1;
            (n, 0.5 * (duration - dx - (n - 1) as f64 * self.dt))
        } else {
            (1, 0.5 * (duration - dx))
        };
        let lefts: Vec<(i64, f64)> = (0..frames)
            .map(|i| {
                let t = t1 + i as f64 * self.dt;
                ((t / dx).floor() as i64, t)
            })
            .collect();
        self.valid = (i64::MAX, i64::MIN);
        self.frames_for(signal, 0, &lefts)
    }

    /// Frames at resampled left-centre indices, loading blocks as they are needed.
    fn frames_for(
        &mut self,
        signal: &[f32],
        offset: i64,
        lefts: &[(i64, f64)],
    ) -> Vec<FormantFrame> {
        let mut out = Vec::with_capacity(lefts.len());
        for &(left, time_secs) in lefts {
            if self.outside(signal, offset, left) {
                out.push(FormantFrame {
                    time_secs,
                    ..Default::default()
                });
                continue;
            }
            if !self.loaded(left) {
                // Up to a block's worth of frames ahead, but no further than the signal reaches.
                let signal_end = (offset + signal.len() as i64) * self.step_out / self.step_in;
                let last = (left + BLOCK_SAMPLES as i64).min(signal_end.max(left));
                self.load(signal, offset, left, last);
            }
            out.push(self.analyse(left, time_secs));
        }
        out
    }

    /// The resampled index whose sample is the left of the two around input sample `centre`
    /// (Praat's `Sampled_xToLowIndex`).
    fn left_of(&self, centre: i64) -> i64 {
        let left = (i128::from(centre) * i128::from(self.fs)).div_euclid(i128::from(self.rate));
        // Far enough outside any signal to be silence, near enough that spans cannot overflow.
        left.clamp(i128::from(i64::MIN / 4), i128::from(i64::MAX / 4)) as i64
    }

    /// Whether the frame at `left` reads only silence: none of `signal` is within its reach.
    /// Such frames are known without resampling (and the arithmetic of `load` stays far from
    /// overflowing, whatever time is asked for).
    fn outside(&self, signal: &[f32], offset: i64, left: i64) -> bool {
        let (from, to) = self.span(left);
        let reach = i128::from(self.reach_in + 2 * self.step_in);
        let (step_in, step_out) = (i128::from(self.step_in), i128::from(self.step_out));
        let first = i128::from(from - 1) * step_in / step_out - reach;
        let last = i128::from(to) * step_in / step_out + reach;
        let (start, end) = (
            i128::from(offset),
            i128::from(offset) + signal.len() as i128,
        );
        last < start || first >= end
    }

    /// Whether the loaded block holds every sample of the frame at `left`.
    fn loaded(&self, left: i64) -> bool {
        let (from, to) = self.span(left);
        from >= self.valid.0 && to <= self.valid.1
    }

    /// Resampled samples `[from, to)` of the frame at `left`.
    fn span(&self, left: i64) -> (i64, i64) {
        (left + 1 - self.half, left + 1 + self.half)
    }

    /// Resamples and pre-emphasises what the frames at `first_left..=last_left` read.
    fn load(&mut self, signal: &[f32], offset: i64, first_left: i64, last_left: i64) {
        let (from, _) = self.span(first_left);
        let (_, to) = self.span(last_left);
        self.valid = (from, to);
        // One sample more on the left: pre-emphasis needs each sample's predecessor.
        let (from, to) = (from - 1, to);
        // Input samples, on a whole number of rate ratios, plus the resampler's reach.
        let q_from = (from * self.step_in - self.reach_in * self.step_out)
            .div_euclid(self.step_out * self.step_in)
            - 1;
        let q_to = (to * self.step_in + self.reach_in * self.step_out)
            .div_euclid(self.step_out * self.step_in)
            + 2;
        let (in_from, in_to) = (q_from * self.step_in, q_to * self.step_in);
        self.input.clear();
        self.input.extend((in_from..in_to).map(|i| {
            let k = i - offset;
            match signal.get(k as usize) {
                // NaN or infinities would poison the resampler's FFT: read them as silence.
                Some(v) if k >= 0 && v.is_finite() => *v,
                _ => 0.0,
            }
        }));
        self.first = q_from * self.step_out;
        let n_out = ((q_to - q_from) * self.step_out) as usize;
        match self.resampler.as_mut() {
            None => {
                self.block.clear();
                self.block.extend_from_slice(&self.input);
            }
            Some(fft) => {
                if resample(fft, &self.input, &mut self.output, n_out).is_none() {
                    // Cannot happen with buffers sized as above; read the block as silence
                    // rather than panic.
                    self.output.clear();
                    self.output.resize(n_out, 0.0);
                }
                self.block.clear();
                self.block.extend_from_slice(&self.output[..n_out]);
            }
        }
        // x[i] -= a x[i-1], from the end so each step reads the original predecessor. The
        // block's first sample keeps its value; no frame reads it (see `loaded`).
        for i in (1..self.block.len()).rev() {
            self.block[i] -= self.pre_emphasis * self.block[i - 1];
        }
    }

    /// The frame at resampled index `left`, from the loaded block.
    fn analyse(&mut self, left: i64, time_secs: f64) -> FormantFrame {
        let mut frame = FormantFrame {
            time_secs,
            ..Default::default()
        };
        let (from, to) = self.span(left);
        let at = |j: i64| {
            let k = j - self.first;
            if k > 0 && (k as usize) < self.block.len() {
                f64::from(self.block[k as usize])
            } else {
                0.0
            }
        };
        let samples = &mut self.lpc.x;
        samples.clear();
        let mut loudest = 0.0f64;
        for (j, w) in (from..to).zip(&self.window) {
            let v = at(j);
            loudest = loudest.max(v * v);
            samples.push(v * w);
        }
        // Burg cannot stand all zeroes (Praat skips such frames), nor infinities.
        if loudest == 0.0 || !loudest.is_finite() {
            return frame;
        }
        let Some(roots) = self.lpc.roots() else {
            return frame;
        };
        let nyquist = 0.5 * f64::from(self.fs);
        let mut found: Vec<(f64, f64)> = roots
            .into_iter()
            .filter(|z| z.im >= 0.0)
            .map(|z| {
                // Roots_fixIntoUnitCircle: z -> 1 / conj(z) keeps the frequency and makes the
                // bandwidth positive.
                let r = z.norm();
                let r = if r > 1.0 { 1.0 / r } else { r };
                let f = z.im.atan2(z.re).abs() * nyquist / std::f64::consts::PI;
                (f, -r.ln() * 2.0 * nyquist / std::f64::consts::PI)
            })
            .filter(|&(f, _)| f >= SAFETY_MARGIN_HZ && f <= nyquist - SAFETY_MARGIN_HZ)
            .collect();
        found.sort_by(|a, b| a.0.total_cmp(&b.0));
        for (k, (f, b)) in found.into_iter().take(4).enumerate() {
            frame.formants[k] = Some(f as f32);
            frame.bandwidths[k] = Some(b as f32);
        }
        frame
    }
}

/// Resamples `input` (a whole number of rate ratios) into `output[..n_out]` from a clean state.
/// `None` only if rubato rejects buffers sized by its own figures.
fn resample(fft: &mut Fft<f32>, input: &[f32], output: &mut Vec<f32>, n_out: usize) -> Option<()> {
    fft.reset();
    let needed = fft.process_all_needed_output_len(input.len()).max(n_out);
    output.clear();
    output.resize(needed, 0.0);
    let inp = InterleavedSlice::new(input, 1, input.len()).ok()?;
    let mut outp = InterleavedSlice::new_mut(output.as_mut_slice(), 1, needed).ok()?;
    fft.process_all_into_buffer(&inp, &mut outp, input.len(), None)
        .ok()?;
    Some(())
}

fn gcd(mut a: u32, mut b: u32) -> u32 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

#[cfg(test)]
mod tests;
