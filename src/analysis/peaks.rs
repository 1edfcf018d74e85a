//! The waveform peak pyramid: min/max pairs at several resolutions, built in one streaming pass
//! and stored in a small versioned file, queried per viewport in a few milliseconds whatever
//! the recording's length.
//!
//! File format (little endian), version 1:
//!
//! ```text
//! magic    8 bytes  "FYPEAKS\0"
//! version  u32      1
//! rate     u32      sample rate of the analysis copy
//! samples  u64      total samples
//! levels   u32      number of levels, finest first
//! per level: samples_per_bucket u32, buckets u64, byte offset u64
//! data     per level, `buckets` pairs of (min i16, max i16)
//! ```
//!
//! Levels are 32, 128, 512, 2048, 8192 and 32768 samples per bucket: each is 4 buckets of the
//! one below, so only the finest level touches samples. Levels are streamed to temporary files
//! while building, so memory stays small for a 10-hour recording (whose finest level is 72 MB).
//! Values are the 16-bit samples of the analysis copy, so peaks are exact, not rescaled.

use std::fs::File;
use std::io::{self, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

/// Samples per bucket of the finest level.
pub const FINEST: u32 = 32;
/// Number of levels; each is 4× coarser than the previous.
pub const LEVELS: usize = 6;
const MAGIC: &[u8; 8] = b"FYPEAKS\0";
const VERSION: u32 = 1;
const HEADER_FIXED: u64 = 8 + 4 + 4 + 8 + 4;
const LEVEL_ENTRY: u64 = 4 + 8 + 8;

/// Samples per bucket at `level` (0 is the finest).
pub fn bucket_size(level: usize) -> u32 {
    FINEST << (2 * level)
}

#[derive(Clone, Copy)]
struct Acc {
    min: i16,
    max: i16,
    n: u32,
}

impl Acc {
    const EMPTY: Acc = Acc {
        min: i16::MAX,
        max: i16::MIN,
        n: 0,
    };
}

/// Builds a pyramid from a stream of 16-bit samples.
///
/// The finest level (three quarters of the file) streams straight into the output after room
/// for the header; the coarser levels are staged in small files (a third of the finest level
/// together: some 7 MB for 3 hours) and appended at the end, then the header is written in the
/// room left for it. So the output only needs to seek back into its first bytes, which the
/// store's writer allows (it holds its first part until the end).
pub struct PeakBuilder<W: Write + Seek = File> {
    rate: u32,
    samples: u64,
    acc: [Acc; LEVELS],
    counts: [u64; LEVELS],
    finest: BufWriter<W>,
    outs: Vec<BufWriter<File>>,
    paths: Vec<PathBuf>,
    dest: Option<(PathBuf, PathBuf)>,
}

impl PeakBuilder<File> {
    /// Starts a pyramid that [`finish`](Self::finish) will write to `dest`; level data is
    /// staged next to it.
    pub fn create(dest: &Path, rate: u32) -> io::Result<Self> {
        let tmp = dest.with_extension("peaks.tmp");
        let dir = dest.parent().unwrap_or(Path::new("."));
        let stem = dest
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let mut me = Self::streaming(File::create(&tmp)?, dir, &stem, rate)?;
        me.dest = Some((tmp, dest.to_path_buf()));
        Ok(me)
    }

    /// Flushes partial buckets, writes the file, and removes the staging files.
    pub fn finish(self) -> io::Result<PathBuf> {
        let Some((tmp, dest)) = self.dest.clone() else {
            return Err(io::Error::other("not a file pyramid"));
        };
        self.finish_into()?.sync_all()?;
        std::fs::rename(&tmp, &dest)?;
        Ok(dest)
    }
}

impl<W: Write + Seek> PeakBuilder<W> {
    /// Starts a pyramid written to `out` (from its start), staging the coarser levels in
    /// `scratch` under names beginning with `stem`.
    pub fn streaming(out: W, scratch: &Path, stem: &str, rate: u32) -> io::Result<Self> {
        let mut finest = BufWriter::with_capacity(1 << 16, out);
        finest.write_all(&[0; (HEADER_FIXED + LEVEL_ENTRY * LEVELS as u64) as usize])?;
        let mut outs = Vec::new();
        let mut paths = Vec::new();
        for level in 1..LEVELS {
            let p = scratch.join(format!("{stem}.level{level}.tmp"));
            outs.push(BufWriter::with_capacity(1 << 16, File::create(&p)?));
            paths.push(p);
        }
        Ok(Self {
            rate,
            samples: 0,
            acc: [Acc::EMPTY; LEVELS],
            counts: [0; LEVELS],
            finest,
            outs,
            paths,
            dest: None,
        })
    }

    /// Adds samples.
    pub fn push(&mut self, mut samples: &[i16]) -> io::Result<()> {
        self.samples += samples.len() as u64;
        while !samples.is_empty() {
            // Fill the current finest bucket a slice at a time (min/max over a slice vectorises).
            let take = ((FINEST - self.acc[0].n) as usize).min(samples.len());
            let (part, rest) = samples.split_at(take);
            let a = &mut self.acc[0];
            a.min = part.iter().copied().fold(a.min, i16::min);
            a.max = part.iter().copied().fold(a.max, i16::max);
            a.n += take as u32;
            if a.n == FINEST {
                self.close(0, true)?;
            }
            samples = rest;
        }
        Ok(())
    }

    /// Emits the bucket being filled at `level` and merges it into the level above, closing
    /// that one too when it is full and `cascade` is set.
    fn close(&mut self, level: usize, cascade: bool) -> io::Result<()> {
        let a = std::mem::replace(&mut self.acc[level], Acc::EMPTY);
        let mut pair = [0u8; 4];
        pair[..2].copy_from_slice(&a.min.to_le_bytes());
        pair[2..].copy_from_slice(&a.max.to_le_bytes());
        if level == 0 {
            self.finest.write_all(&pair)?;
        } else {
            self.outs[level - 1].write_all(&pair)?;
        }
        self.counts[level] += 1;
        if level + 1 < LEVELS {
            let up = &mut self.acc[level + 1];
            up.min = up.min.min(a.min);
            up.max = up.max.max(a.max);
            up.n += 1;
            if cascade && up.n == 4 {
                self.close(level + 1, true)?;
            }
        }
        Ok(())
    }

    /// Flushes partial buckets, appends the coarser levels, writes the header, removes the
    /// staging files and hands back the output.
    pub fn finish_into(mut self) -> io::Result<W> {
        // Close partial buckets from the finest up, so each coarser one includes them.
        for level in 0..LEVELS {
            if self.acc[level].n > 0 {
                self.close(level, false)?;
            }
        }
        for o in &mut self.outs {
            o.flush()?;
        }
        for p in &self.paths {
            io::copy(&mut File::open(p)?, &mut self.finest)?;
        }
        let mut header = Vec::with_capacity((HEADER_FIXED + LEVEL_ENTRY * LEVELS as u64) as usize);
        header.extend_from_slice(MAGIC);
        header.extend_from_slice(&VERSION.to_le_bytes());
        header.extend_from_slice(&self.rate.to_le_bytes());
        header.extend_from_slice(&self.samples.to_le_bytes());
        header.extend_from_slice(&(LEVELS as u32).to_le_bytes());
        let mut offset = HEADER_FIXED + LEVEL_ENTRY * LEVELS as u64;
        for level in 0..LEVELS {
            header.extend_from_slice(&bucket_size(level).to_le_bytes());
            header.extend_from_slice(&self.counts[level].to_le_bytes());
            header.extend_from_slice(&offset.to_le_bytes());
            offset += self.counts[level] * 4;
        }
        let mut out = self.finest.into_inner().map_err(|e| e.into_error())?;
        out.seek(SeekFrom::Start(0))?;
        out.write_all(&header)?;
        out.seek(SeekFrom::End(0))?;
        out.flush()?;
        for p in &self.paths {
            std::fs::remove_file(p)?;
        }
        Ok(out)
    }

    /// Removes staging files after a failed ingest.
    pub fn abandon(self) {
        for p in &self.paths {
            let _ = std::fs::remove_file(p);
        }
        if let Some((tmp, _)) = &self.dest {
            let _ = std::fs::remove_file(tmp);
        }
    }
}

/// One level as described in the header.
#[derive(Debug, Clone, Copy)]
struct Level {
    per_bucket: u32,
    buckets: u64,
    offset: u64,
}

/// The answer to a viewport query.
#[derive(Debug, Clone, PartialEq)]
pub enum Peaks {
    /// One (min, max) pair per pixel, as 16-bit sample values.
    MinMax(Vec<(i16, i16)>),
    /// Zoomed in below the finest level: the samples themselves.
    Samples(Vec<i16>),
}

/// Errors reading a peaks file.
#[derive(Debug, thiserror::Error)]
pub enum PeaksError {
    /// Not a peaks file, or a version this build does not read.
    #[error("not a fangyan peaks file (or an unsupported version)")]
    Format,
    /// The range or width asked for is empty or outside the recording.
    #[error("the range {start}..{end} with width {width} is not inside 0..{samples}")]
    Range {
        /// First sample asked for.
        start: u64,
        /// One past the last sample asked for.
        end: u64,
        /// Width in pixels.
        width: u32,
        /// Samples in the recording.
        samples: u64,
    },
    /// Reading failed.
    #[error(transparent)]
    Io(#[from] io::Error),
}

/// Bytes a peaks file is read from: a local file or a stored object.
pub trait PeakSource: Read + Seek + Send {}

impl<T: Read + Seek + Send> PeakSource for T {}

/// Opens the analysis WAV for the deepest zoom, only when a query needs it.
pub type WavOpener = Box<dyn Fn() -> io::Result<Box<dyn PeakSource>> + Send>;

/// An open peaks file, plus (for the deepest zoom) the analysis WAV it was built from.
pub struct PeakFile {
    file: Box<dyn PeakSource>,
    rate: u32,
    samples: u64,
    levels: Vec<Level>,
    wav: Option<WavOpener>,
}

fn read_u32(r: &mut impl Read) -> io::Result<u32> {
    let mut b = [0; 4];
    r.read_exact(&mut b)?;
    Ok(u32::from_le_bytes(b))
}

fn read_u64(r: &mut impl Read) -> io::Result<u64> {
    let mut b = [0; 8];
    r.read_exact(&mut b)?;
    Ok(u64::from_le_bytes(b))
}

impl PeakFile {
    /// Opens a peaks file; `wav` is the 16-bit mono analysis copy, used for the deepest zoom.
    pub fn open(path: &Path, wav: Option<PathBuf>) -> Result<Self, PeaksError> {
        let file = File::open(path)?;
        let len = file.metadata()?.len();
        let wav = wav.map(|p| -> WavOpener {
            Box::new(move || {
                Ok(Box::new(io::BufReader::new(File::open(&p)?)) as Box<dyn PeakSource>)
            })
        });
        Self::from_source(Box::new(file), len, wav)
    }

    /// Reads the `len` bytes of a peaks file from `file`; `wav` opens the analysis copy.
    pub fn from_source(
        mut file: Box<dyn PeakSource>,
        len: u64,
        wav: Option<WavOpener>,
    ) -> Result<Self, PeaksError> {
        let mut magic = [0; 8];
        file.read_exact(&mut magic)?;
        if &magic != MAGIC || read_u32(&mut file)? != VERSION {
            return Err(PeaksError::Format);
        }
        let rate = read_u32(&mut file)?;
        let samples = read_u64(&mut file)?;
        let n = read_u32(&mut file)? as usize;
        if n == 0 || n > 32 {
            return Err(PeaksError::Format);
        }
        let mut levels = Vec::with_capacity(n);
        for _ in 0..n {
            let level = Level {
                per_bucket: read_u32(&mut file)?,
                buckets: read_u64(&mut file)?,
                offset: read_u64(&mut file)?,
            };
            if level.per_bucket == 0 || level.offset.saturating_add(level.buckets * 4) > len {
                return Err(PeaksError::Format);
            }
            levels.push(level);
        }
        Ok(Self {
            file,
            rate,
            samples,
            levels,
            wav,
        })
    }

    /// Sample rate of the analysis copy.
    pub fn rate(&self) -> u32 {
        self.rate
    }

    /// Total samples.
    pub fn samples(&self) -> u64 {
        self.samples
    }

    /// Min/max per pixel for samples `start..end` drawn `width` pixels wide, from the nearest
    /// level at least as fine as one pixel; exact samples when zoomed in further than the finest.
    pub fn query(&mut self, start: u64, end: u64, width: u32) -> Result<Peaks, PeaksError> {
        if start >= end || end > self.samples || width == 0 {
            return Err(PeaksError::Range {
                start,
                end,
                width,
                samples: self.samples,
            });
        }
        let per_pixel = (end - start) as f64 / f64::from(width);
        let Some(level) = self
            .levels
            .iter()
            .rev()
            .find(|l| f64::from(l.per_bucket) <= per_pixel)
            .copied()
        else {
            return self.samples_in(start, end).map(Peaks::Samples);
        };
        let spb = u64::from(level.per_bucket);
        let first = start / spb;
        let last = (end.div_ceil(spb)).min(level.buckets);
        let mut raw = vec![0u8; ((last - first) * 4) as usize];
        self.file.seek(SeekFrom::Start(level.offset + first * 4))?;
        self.file.read_exact(&mut raw)?;
        let pair = |i: u64| {
            let o = ((i - first) * 4) as usize;
            (
                i16::from_le_bytes([raw[o], raw[o + 1]]),
                i16::from_le_bytes([raw[o + 2], raw[o + 3]]),
            )
        };
        let mut out = Vec::with_capacity(width as usize);
        for px in 0..u64::from(width) {
            let a = start as f64 + px as f64 * per_pixel;
            let b = start as f64 + (px + 1) as f64 * per_pixel;
            let lo = ((a as u64) / spb).max(first);
            let hi = ((b.ceil() as u64).div_ceil(spb)).clamp(lo + 1, last);
            let (mut mn, mut mx) = (i16::MAX, i16::MIN);
            for i in lo..hi {
                let (a, b) = pair(i);
                mn = mn.min(a);
                mx = mx.max(b);
            }
            out.push((mn, mx));
        }
        Ok(Peaks::MinMax(out))
    }

    fn samples_in(&mut self, start: u64, end: u64) -> Result<Vec<i16>, PeaksError> {
        let Some(wav) = &self.wav else {
            return Err(PeaksError::Io(io::Error::other(
                "no analysis copy to read samples from",
            )));
        };
        let mut r = hound::WavReader::new(wav()?).map_err(|e| io::Error::other(e.to_string()))?;
        r.seek(start as u32)
            .map_err(|e| io::Error::other(e.to_string()))?;
        r.samples::<i16>()
            .take((end - start) as usize)
            .map(|s| s.map_err(|e| PeaksError::Io(io::Error::other(e.to_string()))))
            .collect()
    }
}

#[cfg(test)]
mod tests;
