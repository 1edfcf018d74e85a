//! Ingest: one recording in; the untouched original, a 16-bit mono analysis copy and a metadata
//! record out.
//!
//! Owns the pipeline and the on-disk layout of a store directory:
//!
//! ```text
//! DIR/originals/<sha256>            the uploaded bytes, byte for byte
//! DIR/analysis/<sha256>-<rate>.wav  mono, 16-bit PCM at the analysis rate
//! DIR/analysis/<sha256>-<rate>.peaks the waveform peak pyramid (see analysis::peaks)
//! DIR/analysis/<sha256>-<rate>.pitch.json the pitch track (written by the server's job)
//! DIR/meta/<sha256>.json            the RecordingMeta below
//! ```
//!
//! The same keys name the objects of any store: [`Store`] is this layout as a local folder
//! (the `fangyan ingest` command and the default server store); a bucket behind the
//! [`Objects`] trait is the other (`crate::store`, outside the core, bridges it to `std::io`).
//! [`ingest_object`] ingests an upload already in a store; [`Store::ingest`] a local file.
//!
//! Three threads overlap the work, so decoding runs while the previous chunk is resampled and
//! written: (1) hashing and copying the original, (2) decoding on the caller's thread, (3)
//! resampling and writing the analysis copy. Chunks travel through bounded channels, so memory
//! stays at a few chunks however long the recording is. Outputs are written to temporary names
//! and renamed only when everything succeeded; a failure leaves nothing behind.

use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread;

use serde::Serialize;
use sha2::{Digest, Sha256};

use super::decode::{DecodeOptions, DecodeSummary, Decoder, SourceInfo, Warning};
use super::error::IngestError;
pub use super::objects::{NewObject, Objects};
use super::resample::ResampleError;

mod pipeline;

use pipeline::decode_and_write;
pub use pipeline::read_block;

/// Default analysis sample rate.
pub const DEFAULT_RATE: u32 = 16_000;
/// Analysis rates a project may choose.
pub const ANALYSIS_RATES: std::ops::RangeInclusive<u32> = 8_000..=48_000;
/// Samples per chunk handed from the decoder to the resampler thread.
const CHUNK_SAMPLES: usize = 32_768;
/// Chunks in flight between threads; bounds memory.
const IN_FLIGHT: usize = 4;

impl From<ResampleError> for IngestError {
    fn from(e: ResampleError) -> Self {
        IngestError::Io(io::Error::other(e))
    }
}

/// Options for one ingest.
#[derive(Debug, Clone, Copy)]
pub struct IngestOptions {
    /// Analysis sample rate in Hz (8 000 to 48 000).
    pub rate: u32,
    /// Channel handling and duration limit.
    pub decode: DecodeOptions,
}

impl Default for IngestOptions {
    fn default() -> Self {
        Self {
            rate: DEFAULT_RATE,
            decode: DecodeOptions::default(),
        }
    }
}

/// Everything fangyan records about an ingested recording.
#[derive(Debug, Clone, Serialize)]
pub struct RecordingMeta {
    /// The input's file name, as display text only.
    pub name: String,
    /// SHA-256 of the original bytes, lowercase hex; also its storage name.
    pub sha256: String,
    /// Size of the original in bytes.
    pub bytes: u64,
    /// What the container and codec declare.
    #[serde(flatten)]
    pub source: SourceInfo,
    /// Frames decoded at the original rate (encoder delay and padding removed).
    pub frames: u64,
    /// Duration in seconds, from decoding.
    pub duration_secs: f64,
    /// Analysis copy: rate and length.
    pub analysis: Option<AnalysisCopy>,
    /// Warnings, such as `truncated`.
    pub warnings: Vec<Warning>,
    /// Whether these exact bytes had been ingested before.
    pub duplicate: bool,
}

/// The normalised copy written for analysis.
#[derive(Debug, Clone, Serialize)]
pub struct AnalysisCopy {
    /// Sample rate in Hz.
    pub rate: u32,
    /// Frames in the copy.
    pub frames: u64,
    /// Path relative to the store directory.
    pub path: String,
}

/// Hashes a stored object, reading it in 1 MiB blocks.
pub fn hash_object(objects: &dyn Objects, key: &str) -> io::Result<(String, u64)> {
    let (input, _) = objects.open(key)?;
    hash_reader(input)
}

fn hash_reader(mut input: impl Read) -> io::Result<(String, u64)> {
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut total = 0u64;
    loop {
        let n = input.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        total += n as u64;
    }
    Ok((hex::encode(hasher.finalize()), total))
}

/// Ingests the stored upload `input`, whose SHA-256 the caller computed while storing it:
/// decodes it from the store, writes the analysis copy, the peaks and the metadata under their
/// keys, and copies the upload to `originals/<sha256>` meanwhile. `name` is the display name.
/// On failure nothing new is left in the store; the upload itself is the caller's to remove.
pub fn ingest_object(
    objects: &dyn Objects,
    input: &str,
    sha256: &str,
    name: &str,
    opts: IngestOptions,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<RecordingMeta, IngestError> {
    if !ANALYSIS_RATES.contains(&opts.rate) {
        return Err(IngestError::InvalidAnalysisRate { rate: opts.rate });
    }
    let original = format!("originals/{sha256}");
    let duplicate = objects.exists(&original)?;
    let rel = Store::analysis_rel(sha256, opts.rate);
    let (decoded, copied) = thread::scope(|s| {
        // The original is copied (server-side on a bucket) while the upload is decoded.
        let copier = (!duplicate).then(|| s.spawn(|| objects.copy(input, &original)));
        let decoded = (|| {
            let (source, bytes) = objects.open(input)?;
            let decoder = Decoder::open_source(source, bytes, opts.decode)?;
            let wav = objects.create(&rel)?;
            let peaks = objects.create(&Store::peaks_rel(sha256, opts.rate))?;
            let stem = scratch_name("peaks");
            let written = decode_and_write(
                decoder,
                opts,
                wav,
                peaks,
                objects.scratch(),
                &stem,
                progress,
            )?;
            Ok::<_, IngestError>((written, bytes))
        })();
        let copied = copier.map_or(Ok(()), |h| {
            h.join()
                .unwrap_or_else(|_| Err(io::Error::other("copier panicked")))
        });
        (decoded, copied)
    });
    let committed = (|| {
        let ((summary, frames, wav, peaks), bytes) = decoded?;
        copied?;
        wav.commit()?;
        peaks.commit()?;
        let analysis = AnalysisCopy {
            rate: opts.rate,
            frames,
            path: rel.clone(),
        };
        let mut record = meta(
            Path::new(name),
            sha256.to_string(),
            bytes,
            summary,
            Some(analysis),
            duplicate,
        );
        record.name = name.to_string();
        let mut out = objects.create(&format!("meta/{sha256}.json"))?;
        serde_json::to_writer_pretty(&mut out, &record).map_err(io::Error::other)?;
        out.write_all(b"\n")?;
        out.commit()?;
        Ok::<_, IngestError>(record)
    })();
    if committed.is_err() && !duplicate {
        // Content-addressed: only this ingest made these keys, so none of them stays.
        for key in [
            original.clone(),
            rel.clone(),
            Store::peaks_rel(sha256, opts.rate),
        ] {
            let _ = objects.remove(&key);
        }
    }
    committed
}

/// A unique name for a scratch or temporary file of this process.
pub(super) fn scratch_name(what: &str) -> String {
    let n = TMP_COUNTER.fetch_add(1, Ordering::Relaxed);
    format!("{}-{n}-{what}", std::process::id())
}

/// Hashes a file in its own thread, reading it in 1 MiB blocks.
fn spawn_hasher(path: PathBuf) -> thread::JoinHandle<io::Result<(String, u64)>> {
    thread::spawn(move || hash_reader(File::open(&path)?))
}

/// Copies the original in its own thread. `fs::copy` lets the kernel move the bytes
/// (`copy_file_range`, a reflink where the filesystem can), so no core spends time on it in
/// user space; decoding and hashing run meanwhile.
fn spawn_copier(from: PathBuf, to: PathBuf) -> thread::JoinHandle<io::Result<()>> {
    thread::spawn(move || {
        fs::copy(&from, &to)?;
        File::open(&to)?.sync_all()
    })
}

fn join<T>(h: thread::JoinHandle<Result<T, IngestError>>) -> Result<T, IngestError> {
    h.join()
        .unwrap_or_else(|_| Err(IngestError::Io(io::Error::other("worker thread panicked"))))
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// Decodes `path` completely without writing anything: metadata and warnings as ingest would
/// record them. This is `fangyan probe`.
pub fn probe(path: &Path, opts: DecodeOptions) -> Result<RecordingMeta, IngestError> {
    let hasher = spawn_hasher(path.to_path_buf());
    let decoded = (|| {
        let mut decoder = Decoder::open(path, opts)?;
        let mut scratch = Vec::with_capacity(CHUNK_SAMPLES);
        while decoder.next_chunk(&mut scratch)? {
            scratch.clear();
        }
        decoder.finish()
    })();
    let (sha256, bytes) = hasher
        .join()
        .unwrap_or_else(|_| Err(io::Error::other("hasher panicked")))?;
    let summary = decoded?;
    Ok(meta(path, sha256, bytes, summary, None, false))
}

/// Opens `path` and decodes until the first audio arrives: the quick check an upload gets
/// before it is accepted, so that a file with a valid header but no decodable audio (an empty
/// data chunk, every frame corrupt) is refused with its code rather than failing later.
/// Returns the source description.
pub fn precheck(path: &Path, opts: DecodeOptions) -> Result<SourceInfo, IngestError> {
    first_audio(Decoder::open(path, opts)?)
}

/// [`precheck`] of a stored object.
pub fn precheck_object(
    objects: &dyn Objects,
    key: &str,
    opts: DecodeOptions,
) -> Result<SourceInfo, IngestError> {
    let (source, len) = objects.open(key)?;
    first_audio(Decoder::open_source(source, len, opts)?)
}

fn first_audio(mut decoder: Decoder) -> Result<SourceInfo, IngestError> {
    let mut scratch = Vec::with_capacity(CHUNK_SAMPLES);
    while decoder.next_chunk(&mut scratch)? {
        if !scratch.is_empty() {
            return Ok(decoder.info().clone());
        }
    }
    Ok(decoder.finish()?.info)
}

fn meta(
    path: &Path,
    sha256: String,
    bytes: u64,
    s: DecodeSummary,
    analysis: Option<AnalysisCopy>,
    duplicate: bool,
) -> RecordingMeta {
    RecordingMeta {
        name: file_name(path),
        sha256,
        bytes,
        duration_secs: s.frames as f64 / f64::from(s.info.sample_rate),
        frames: s.frames,
        source: s.info,
        analysis,
        warnings: s.warnings,
        duplicate,
    }
}

/// A store directory laid out as described in the module docs.
#[derive(Debug, Clone)]
pub struct Store {
    root: PathBuf,
    scratch: PathBuf,
}

static TMP_COUNTER: AtomicU64 = AtomicU64::new(0);

impl Store {
    /// Opens (creating if needed) a store rooted at `root`.
    pub fn open(root: impl Into<PathBuf>) -> io::Result<Self> {
        let root = root.into();
        for sub in ["originals", "analysis", "meta", "tmp"] {
            fs::create_dir_all(root.join(sub))?;
        }
        let scratch = root.join("tmp");
        Ok(Self { root, scratch })
    }

    /// The folder's `tmp/`, where temporary and scratch files live.
    pub fn scratch_dir(&self) -> &Path {
        &self.scratch
    }

    /// The store's root directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Path of the original with this hash.
    pub fn original(&self, sha256: &str) -> PathBuf {
        self.root.join("originals").join(sha256)
    }

    /// Relative path of the analysis copy for this hash and rate.
    pub fn analysis_rel(sha256: &str, rate: u32) -> String {
        format!("analysis/{sha256}-{rate}.wav")
    }

    /// Relative path of the peak pyramid for this hash and rate.
    pub fn peaks_rel(sha256: &str, rate: u32) -> String {
        format!("analysis/{sha256}-{rate}.peaks")
    }

    /// Relative path of the pitch and intensity track for this hash and rate.
    pub fn pitch_rel(sha256: &str, rate: u32) -> String {
        format!("analysis/{sha256}-{rate}.pitch.json")
    }

    /// Relative path of the pitch track's voicing reference (the loudest frame's RMS, as text)
    /// for this hash and rate: what a track served by time range decides voicing against.
    pub fn pitch_level_rel(sha256: &str, rate: u32) -> String {
        format!("analysis/{sha256}-{rate}.pitch-level")
    }

    /// A fresh path in the store's `tmp/` for a file that becomes something else or nothing:
    /// whatever is left there when the server starts is swept away.
    pub fn tmp_path(&self, what: &str) -> PathBuf {
        self.tmp(what)
    }

    fn tmp(&self, what: &str) -> PathBuf {
        self.root.join("tmp").join(scratch_name(what))
    }

    /// Ingests one file. `progress` is called with (bytes read, total bytes).
    pub fn ingest(
        &self,
        path: &Path,
        opts: IngestOptions,
        progress: &mut dyn FnMut(u64, u64),
    ) -> Result<RecordingMeta, IngestError> {
        if !ANALYSIS_RATES.contains(&opts.rate) {
            return Err(IngestError::InvalidAnalysisRate { rate: opts.rate });
        }
        let tmp_original = self.tmp("original");
        let tmp_wav = self.tmp("analysis.wav");
        let tmp_peaks = self.tmp("analysis.peaks");
        let result = self.ingest_into(path, opts, &tmp_original, &tmp_wav, &tmp_peaks, progress);
        // Whatever happened, no temporary file outlives the call.
        for tmp in [&tmp_original, &tmp_wav, &tmp_peaks] {
            let _ = fs::remove_file(tmp);
        }
        result
    }

    fn ingest_into(
        &self,
        path: &Path,
        opts: IngestOptions,
        tmp_original: &Path,
        tmp_wav: &Path,
        tmp_peaks: &Path,
        progress: &mut dyn FnMut(u64, u64),
    ) -> Result<RecordingMeta, IngestError> {
        let hasher = spawn_hasher(path.to_path_buf());
        let copier = spawn_copier(path.to_path_buf(), tmp_original.to_path_buf());
        let decoded = (|| {
            let decoder = Decoder::open(path, opts.decode)?;
            let stem = file_name(tmp_peaks);
            let (summary, frames, wav, peaks) = decode_and_write(
                decoder,
                opts,
                File::create(tmp_wav)?,
                File::create(tmp_peaks)?,
                &self.root.join("tmp"),
                &stem,
                progress,
            )?;
            wav.sync_all()?;
            peaks.sync_all()?;
            Ok::<_, IngestError>((summary, frames))
        })();
        let (sha256, bytes) = hasher
            .join()
            .unwrap_or_else(|_| Err(io::Error::other("hasher panicked")))?;
        copier
            .join()
            .unwrap_or_else(|_| Err(io::Error::other("copier panicked")))?;
        let (summary, analysis_frames) = decoded?;

        let original = self.original(&sha256);
        let duplicate = original.exists();
        if !duplicate {
            fs::rename(tmp_original, &original)?;
        }
        let rel = Self::analysis_rel(&sha256, opts.rate);
        fs::rename(tmp_wav, self.root.join(&rel))?;
        fs::rename(
            tmp_peaks,
            self.root.join(Self::peaks_rel(&sha256, opts.rate)),
        )?;
        let analysis = AnalysisCopy {
            rate: opts.rate,
            frames: analysis_frames,
            path: rel,
        };
        let record = meta(path, sha256, bytes, summary, Some(analysis), duplicate);
        self.write_meta(&record)?;
        Ok(record)
    }

    fn write_meta(&self, record: &RecordingMeta) -> io::Result<()> {
        let tmp = self.tmp("meta.json");
        let mut f = File::create(&tmp)?;
        serde_json::to_writer_pretty(&mut f, record)?;
        f.write_all(b"\n")?;
        f.sync_all()?;
        fs::rename(
            &tmp,
            self.root
                .join("meta")
                .join(format!("{}.json", record.sha256)),
        )
    }
}
