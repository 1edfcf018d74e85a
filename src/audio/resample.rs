//! Streaming sample-rate conversion of mono `f32` with rubato's synchronous FFT resampler.
//!
//! Owns: chunking a stream of arbitrary-sized pieces into the resampler's fixed chunks,
//! trimming the resampler's start-up delay, flushing the tail, and making the output length
//! exact (`round(n * to / from)`), so sample positions at the analysis rate map to the same
//! instants as in the source. Memory is a few chunks, whatever the duration.
//!
//! Why `Fft`: the rate pair is fixed per file, and rubato documents `Fft` as both its fastest
//! and its highest-quality option for that case (sinc-equivalent, Blackman-Harris anti-aliasing).

use rubato::audioadapter_buffers::direct::InterleavedSlice;
use rubato::{Fft, FixedSync, Indexing, Resampler};

/// Target chunk of input frames per FFT pass; rubato rounds it to the exact rate ratio.
pub const DEFAULT_CHUNK: usize = 4_096;

/// Errors from constructing or running the resampler. Rates are validated before we get here,
/// so these indicate a bug, but they are reported, never panicked on.
#[derive(Debug, thiserror::Error)]
#[error("resampler: {0}")]
pub struct ResampleError(String);

/// A mono stream resampler. Feed it with [`push`](Self::push), end with [`finish`](Self::finish).
pub struct StreamResampler {
    fft: Option<Fft<f32>>,
    from: u32,
    to: u32,
    pending: Vec<f32>,
    out: Vec<f32>,
    to_trim: usize,
    in_total: u64,
    out_total: u64,
}

/// Output length for `frames` input frames: the exact ratio, rounded.
pub fn output_len(frames: u64, from: u32, to: u32) -> u64 {
    ((u128::from(frames) * u128::from(to) + u128::from(from) / 2) / u128::from(from)) as u64
}

impl StreamResampler {
    /// A resampler from `from` Hz to `to` Hz, processing about `chunk` input frames at a time.
    pub fn new(from: u32, to: u32, chunk: usize) -> Result<Self, ResampleError> {
        let fft = if from == to {
            None
        } else {
            let fft = Fft::<f32>::new(from as usize, to as usize, chunk.max(1), 1, FixedSync::Both)
                .map_err(|e| ResampleError(e.to_string()))?;
            Some(fft)
        };
        let (out, to_trim) = match &fft {
            Some(f) => (vec![0.0; f.output_frames_max()], f.output_delay()),
            None => (Vec::new(), 0),
        };
        Ok(Self {
            fft,
            from,
            to,
            pending: Vec::new(),
            out,
            to_trim,
            in_total: 0,
            out_total: 0,
        })
    }

    /// Resamples `input`, handing finished output to `sink` as it becomes available.
    pub fn push<E>(
        &mut self,
        input: &[f32],
        sink: &mut impl FnMut(&[f32]) -> Result<(), E>,
    ) -> Result<(), E>
    where
        E: From<ResampleError>,
    {
        self.in_total += input.len() as u64;
        let Some(fft) = self.fft.as_mut() else {
            self.out_total += input.len() as u64;
            return sink(input);
        };
        self.pending.extend_from_slice(input);
        let need = fft.input_frames_next();
        let mut used = 0;
        while self.pending.len() - used >= need {
            let chunk = &self.pending[used..used + need];
            let n = run(fft, chunk, None, &mut self.out)?;
            used += need;
            emit(
                &self.out[..n],
                &mut self.to_trim,
                &mut self.out_total,
                u64::MAX,
                sink,
            )?;
        }
        self.pending.drain(..used);
        Ok(())
    }

    /// Flushes the tail and returns the number of output frames produced in total.
    pub fn finish<E>(mut self, sink: &mut impl FnMut(&[f32]) -> Result<(), E>) -> Result<u64, E>
    where
        E: From<ResampleError>,
    {
        let expected = output_len(self.in_total, self.from, self.to);
        let Some(fft) = self.fft.as_mut() else {
            return Ok(self.out_total);
        };
        let need = fft.input_frames_next();
        let valid = self.pending.len();
        self.pending.resize(need, 0.0);
        let n = run(fft, &self.pending, Some(valid), &mut self.out)?;
        emit(
            &self.out[..n],
            &mut self.to_trim,
            &mut self.out_total,
            expected,
            sink,
        )?;
        self.pending.fill(0.0);
        // Pump silence until the delayed tail has come out.
        let mut guard = 0;
        while self.out_total < expected && guard < 1_000 {
            let n = run(fft, &self.pending, Some(0), &mut self.out)?;
            emit(
                &self.out[..n],
                &mut self.to_trim,
                &mut self.out_total,
                expected,
                sink,
            )?;
            guard += 1;
        }
        Ok(self.out_total)
    }
}

fn run(
    fft: &mut Fft<f32>,
    input: &[f32],
    partial: Option<usize>,
    out: &mut [f32],
) -> Result<usize, ResampleError> {
    let err = |e: &dyn std::fmt::Display| ResampleError(e.to_string());
    let inp = InterleavedSlice::new(input, 1, input.len()).map_err(|e| err(&e))?;
    let len = out.len();
    let mut outp = InterleavedSlice::new_mut(out, 1, len).map_err(|e| err(&e))?;
    let indexing = partial.map(|p| Indexing::new().partial_len(p));
    let (_, written) = fft
        .process_into_buffer(&inp, &mut outp, indexing.as_ref())
        .map_err(|e| err(&e))?;
    Ok(written)
}

/// Drops the start-up delay, caps the total at `limit`, and passes the rest on.
fn emit<E>(
    mut out: &[f32],
    to_trim: &mut usize,
    total: &mut u64,
    limit: u64,
    sink: &mut impl FnMut(&[f32]) -> Result<(), E>,
) -> Result<(), E> {
    let t = (*to_trim).min(out.len());
    *to_trim -= t;
    out = &out[t..];
    let room = limit.saturating_sub(*total).min(out.len() as u64) as usize;
    out = &out[..room];
    *total += out.len() as u64;
    if out.is_empty() { Ok(()) } else { sink(out) }
}
