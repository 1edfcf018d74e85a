//! The clip cutter: decodes one original once, streams it through the resampler to the export
//! rate and writes every clip of that recording as the stream passes, so memory stays bounded
//! by the decoder chunk and the open clip writers, whatever the recording's length.
//!
//! Clips are 16-bit mono PCM WAV written directly (the header is known up front, as a clip's
//! length is fixed by its segment), hashed while they are written so SHA256SUMS never reads
//! them again.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::audio::resample::{ResampleError, StreamResampler};
use crate::audio::{ChannelMode, DecodeOptions, Decoder, IngestError};

/// One clip to cut, in output samples.
#[derive(Debug, Clone)]
pub struct ClipJob {
    /// Where to write the WAV.
    pub path: PathBuf,
    /// First output sample.
    pub start: u64,
    /// End (exclusive) output sample.
    pub end: u64,
}

/// What was written.
#[derive(Debug, Clone)]
pub struct ClipResult {
    /// SHA-256 of the file, hex.
    pub sha256: String,
    /// Samples written.
    pub samples: u64,
}

/// Errors of the cutter.
#[derive(Debug, thiserror::Error)]
pub enum ClipError {
    /// Decoding the original failed.
    #[error("decode: {0}")]
    Decode(#[from] IngestError),
    /// Resampling failed.
    #[error(transparent)]
    Resample(#[from] ResampleError),
    /// Writing failed.
    #[error("write: {0}")]
    Io(#[from] std::io::Error),
}

struct Open {
    idx: usize,
    out: BufWriter<File>,
    hash: Sha256,
    written: u64,
    buf: Vec<u8>,
}

impl Open {
    fn create(idx: usize, job: &ClipJob, rate: u32) -> Result<Self, ClipError> {
        let n = job.end - job.start;
        let data = (n * 2).min(u64::from(u32::MAX) - 36) as u32;
        let mut h = Vec::with_capacity(44);
        h.extend_from_slice(b"RIFF");
        h.extend_from_slice(&(36 + data).to_le_bytes());
        h.extend_from_slice(b"WAVEfmt ");
        h.extend_from_slice(&16u32.to_le_bytes());
        h.extend_from_slice(&1u16.to_le_bytes()); // PCM
        h.extend_from_slice(&1u16.to_le_bytes()); // mono
        h.extend_from_slice(&rate.to_le_bytes());
        h.extend_from_slice(&(rate * 2).to_le_bytes());
        h.extend_from_slice(&2u16.to_le_bytes());
        h.extend_from_slice(&16u16.to_le_bytes());
        h.extend_from_slice(b"data");
        h.extend_from_slice(&data.to_le_bytes());
        if let Some(dir) = job.path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let mut out = BufWriter::with_capacity(1 << 16, File::create(&job.path)?);
        out.write_all(&h)?;
        let mut hash = Sha256::new();
        hash.update(&h);
        Ok(Self {
            idx,
            out,
            hash,
            written: 0,
            buf: Vec::new(),
        })
    }

    fn write(&mut self, samples: &[f32]) -> Result<(), ClipError> {
        self.buf.clear();
        self.buf.reserve(samples.len() * 2);
        for &x in samples {
            let v = (x * 32767.0).round().clamp(-32768.0, 32767.0) as i16;
            self.buf.extend_from_slice(&v.to_le_bytes());
        }
        self.out.write_all(&self.buf)?;
        self.hash.update(&self.buf);
        self.written += samples.len() as u64;
        Ok(())
    }

    fn finish(mut self, want: u64) -> Result<(usize, ClipResult), ClipError> {
        // A stream that ends early (truncated original) is padded with silence, so the header
        // stays true.
        let missing = want.saturating_sub(self.written) as usize;
        if missing > 0 {
            self.write(&vec![0.0; missing])?;
        }
        self.out.flush()?;
        Ok((
            self.idx,
            ClipResult {
                sha256: hex::encode(self.hash.finalize()),
                samples: self.written,
            },
        ))
    }
}

/// Cuts `jobs` (any order, overlaps allowed) out of `original` at `rate`, decoding it once.
/// `progress` is called with the output position reached. Results are in `jobs` order.
pub fn cut_recording(
    original: &Path,
    rate: u32,
    jobs: &[ClipJob],
    progress: &mut dyn FnMut(u64),
) -> Result<Vec<ClipResult>, ClipError> {
    let file = File::open(original).map_err(crate::audio::IngestError::from)?;
    let len = file
        .metadata()
        .map_err(crate::audio::IngestError::from)?
        .len();
    cut_source(Box::new(file), len, rate, jobs, progress)
}

/// [`cut_recording`] of an original read from `source` (`len` bytes): a file or a stored object.
pub fn cut_source(
    source: Box<dyn crate::audio::Source>,
    len: u64,
    rate: u32,
    jobs: &[ClipJob],
    progress: &mut dyn FnMut(u64),
) -> Result<Vec<ClipResult>, ClipError> {
    let mut order: Vec<usize> = (0..jobs.len()).collect();
    order.sort_by_key(|&i| (jobs[i].start, i));
    let mut results: Vec<Option<ClipResult>> = vec![None; jobs.len()];
    if jobs.is_empty() {
        return Ok(Vec::new());
    }
    let last_end = jobs.iter().map(|j| j.end).max().unwrap_or(0);
    let mut decoder = Decoder::open_source(
        source,
        len,
        DecodeOptions {
            channel: ChannelMode::Mix,
            max_secs: f64::MAX,
        },
    )?;
    let src_rate = decoder.info().sample_rate;
    let mut resampler = StreamResampler::new(src_rate, rate, 4096)?;
    let mut state = Cutter {
        jobs,
        order,
        next: 0,
        active: Vec::new(),
        pos: 0,
        rate,
        results: &mut results,
    };
    let mut chunk = Vec::new();
    loop {
        chunk.clear();
        let more = decoder.next_chunk(&mut chunk)?;
        if !chunk.is_empty() {
            resampler.push(&chunk, &mut |out: &[f32]| state.feed(out))?;
            progress(state.pos);
        }
        if !more || state.pos >= last_end {
            break;
        }
    }
    if state.pos < last_end {
        resampler.finish(&mut |out: &[f32]| state.feed(out))?;
    }
    state.close_all()?;
    Ok(results.into_iter().flatten().collect())
}

struct Cutter<'a> {
    jobs: &'a [ClipJob],
    order: Vec<usize>,
    next: usize,
    active: Vec<Open>,
    pos: u64,
    rate: u32,
    results: &'a mut [Option<ClipResult>],
}

impl Cutter<'_> {
    fn feed(&mut self, out: &[f32]) -> Result<(), ClipError> {
        let end = self.pos + out.len() as u64;
        while self.next < self.order.len() && self.jobs[self.order[self.next]].start < end {
            let i = self.order[self.next];
            self.active.push(Open::create(i, &self.jobs[i], self.rate)?);
            self.next += 1;
        }
        let mut k = 0;
        while k < self.active.len() {
            let job = &self.jobs[self.active[k].idx];
            let a = job.start.max(self.pos);
            let b = job.end.min(end);
            if b > a {
                let s = (a - self.pos) as usize;
                let e = (b - self.pos) as usize;
                self.active[k].write(&out[s..e])?;
            }
            if job.end <= end {
                let open = self.active.swap_remove(k);
                let want = job.end - job.start;
                let (i, r) = open.finish(want)?;
                self.results[i] = Some(r);
            } else {
                k += 1;
            }
        }
        self.pos = end;
        Ok(())
    }

    fn close_all(&mut self) -> Result<(), ClipError> {
        // Clips starting at or after the end of the stream are silence.
        while self.next < self.order.len() {
            let i = self.order[self.next];
            self.active.push(Open::create(i, &self.jobs[i], self.rate)?);
            self.next += 1;
        }
        for open in std::mem::take(&mut self.active) {
            let job = &self.jobs[open.idx];
            let want = job.end - job.start;
            let (i, r) = open.finish(want)?;
            self.results[i] = Some(r);
        }
        Ok(())
    }
}
