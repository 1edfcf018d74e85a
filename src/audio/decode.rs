//! Streaming decode of any supported recording to mono `f32` at its original rate.
//!
//! This module owns format detection (from the bytes, never the name), validation of what the
//! decoder claims, encoder-delay trimming, channel mixing and sample sanitising. It does not
//! resample or write anything: [`crate::audio::ingest`] drives it chunk by chunk. Opening (probe,
//! validation, trimming plan) is here; the packet loop and the summary are in `decode/stream.rs`.
//!
//! Decisions worth knowing:
//! - Symphonia 0.6 does the demuxing and most decoding, with gapless trimming on (LAME/Xing
//!   delay for MP3, granule positions for Ogg). AAC-in-MP4 priming is trimmed from the `elst`
//!   edit list, read by [`sniff`](super::sniff); Opus goes through our own adapter.
//! - A header's duration is only a hint. It rejects a file early (`too_long`) only when the file
//!   is big enough to plausibly hold that much audio (8 bytes per claimed second, below any real
//!   codec); otherwise the header is treated as lying and the real length comes from decoding,
//!   which re-checks the limit as it goes.
//! - Non-finite samples become 0 and everything is clamped to [-1, 1] *before* mixing, because
//!   rubato panics on NaN and JSON cannot carry it.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::panic::{self, AssertUnwindSafe};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use serde::Serialize;
use symphonia::core::codecs::CodecParameters;
use symphonia::core::codecs::audio::well_known::CODEC_ID_OPUS;
use symphonia::core::codecs::audio::{AudioDecoder, AudioDecoderOptions};
use symphonia::core::common::Limit;
use symphonia::core::errors::Error as SymError;
use symphonia::core::formats::probe::Hint;
use symphonia::core::formats::{FormatOptions, FormatReader, TrackType};
use symphonia::core::io::{MediaSourceStream, MediaSourceStreamOptions};
use symphonia::core::meta::MetadataOptions;

use super::error::IngestError;
use super::sniff::{self, EditList};
use super::source::{CountingFile, Source, codecs};
pub use super::summary::{DecodeSummary, Warning};
use super::validate::{check_channels, check_rate, check_wav, corrupt, format_bits, open_error};

/// Lowest and highest source sample rates accepted (RELIABILITY.md A12).
pub const RATE_RANGE: std::ops::RangeInclusive<u32> = 4_000..=384_000;
/// Channel counts accepted (RELIABILITY.md A8).
pub const CHANNEL_RANGE: std::ops::RangeInclusive<usize> = 1..=32;
/// Default maximum duration: 12 hours.
pub const DEFAULT_MAX_SECS: f64 = 12.0 * 3600.0;
/// Header durations are trusted for early rejection only at this many file bytes per second.
const PLAUSIBLE_BYTES_PER_SEC: f64 = 8.0;
/// Consecutive undecodable packets after which a stream counts as corrupt.
const MAX_BAD_PACKETS_IN_A_ROW: u32 = 500;

/// Runs one call into symphonia (probe, demuxer, decoder set-up), turning a panic inside it into
/// an error, as `next_chunk` does for packet decoding: a bug there must not take the process
/// down. Fuzzing found header fields whose products overflow in symphonia's WAV and CAF
/// readers (a panic in debug builds, a wrapped value in release).
fn guarded<T>(call: impl FnOnce() -> Result<T, SymError>) -> Result<T, SymError> {
    panic::catch_unwind(AssertUnwindSafe(call)).unwrap_or(Err(SymError::DecodeError(
        "the demuxer crashed on this input",
    )))
}

/// How several channels become the one analysis channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ChannelMode {
    /// The mean of all channels.
    #[default]
    Mix,
    /// Only this zero-based channel.
    Select(usize),
}

/// Options for [`Decoder::open`].
#[derive(Debug, Clone, Copy)]
pub struct DecodeOptions {
    /// Mixing or selecting channels.
    pub channel: ChannelMode,
    /// Maximum duration in seconds.
    pub max_secs: f64,
}

impl Default for DecodeOptions {
    fn default() -> Self {
        Self {
            channel: ChannelMode::Mix,
            max_secs: DEFAULT_MAX_SECS,
        }
    }
}

/// What the container and codec say about the source.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct SourceInfo {
    /// Container short name, such as `wave`, `isomp4`, `ogg`.
    pub container: String,
    /// Codec short name, such as `pcm_s16le`, `aac`, `opus`.
    pub codec: String,
    /// Original sample rate in Hz.
    pub sample_rate: u32,
    /// Original channel count.
    pub channels: u32,
    /// Bits per sample where the codec has such a thing.
    pub bits_per_sample: Option<u32>,
    /// Frames the header claims (a hint only).
    pub header_frames: Option<u64>,
}

/// A streaming decoder: open once, then pull mono chunks until it returns `false`.
pub struct Decoder {
    reader: Box<dyn FormatReader>,
    decoder: Box<dyn AudioDecoder>,
    track_id: u32,
    info: SourceInfo,
    opts: DecodeOptions,
    interleaved: Vec<f32>,
    /// Frames handed out so far (after trimming).
    frames: u64,
    /// Leading frames still to drop (MP4 edit list).
    skip: u64,
    /// Frames to hand out at most (MP4 edit list).
    keep: Option<u64>,
    max_frames: u64,
    nonfinite: u64,
    bad_packets: u64,
    bad_in_a_row: u32,
    truncated: bool,
    wav_overclaimed: bool,
    partial_frame: bool,
    /// Frames of end padding to drop (WebM DiscardPadding); held back until the stream ends.
    end_trim: usize,
    held: Vec<f32>,
    pos: Arc<AtomicU64>,
    len: u64,
}

impl Decoder {
    /// Opens `path`, detects its format from the bytes, and validates the stream parameters.
    pub fn open(path: &Path, opts: DecodeOptions) -> Result<Self, IngestError> {
        let file = File::open(path)?;
        let len = file.metadata()?.len();
        Self::open_source(Box::new(file), len, opts)
    }

    /// Opens `len` bytes read from `file` (a local file or a stored object), as [`open`](Self::open).
    pub fn open_source(
        mut file: Box<dyn Source>,
        len: u64,
        opts: DecodeOptions,
    ) -> Result<Self, IngestError> {
        if len == 0 {
            return Err(IngestError::EmptyFile);
        }
        let mut head = Vec::with_capacity(512);
        (&mut file).take(512).read_to_end(&mut head)?;
        if let Some(kind) = sniff::archive_magic(&head) {
            return Err(IngestError::NotAudio {
                detected: Some(kind),
            });
        }

        let wav = sniff::wav_layout(&mut file, len)?;
        let mut partial_frame = false;
        if let Some(w) = wav {
            partial_frame = check_wav(&w)?;
        }
        let edit = sniff::mp4_edit_list(&mut file, len).unwrap_or(None);
        let is_matroska = sniff::audio_magic(&head) == Some("Matroska/WebM");
        let end_padding_ns = if is_matroska {
            sniff::matroska_end_padding(&mut file, len).unwrap_or(None)
        } else {
            None
        };
        file.seek(SeekFrom::Start(0))?;

        let pos = Arc::new(AtomicU64::new(0));
        let source = CountingFile {
            file,
            len,
            pos: Arc::clone(&pos),
        };
        let mss = MediaSourceStream::new(Box::new(source), MediaSourceStreamOptions::default());
        // Cap metadata so hostile tags (ID3 APIC, FLAC PICTURE) cannot ask for gigabytes.
        let meta = MetadataOptions::default()
            .limit_tag_bytes(Limit::Maximum(1 << 20))
            .limit_visual_bytes(Limit::Maximum(1 << 20));
        let reader = guarded(|| {
            symphonia::default::get_probe().probe(&Hint::new(), mss, FormatOptions::default(), meta)
        })
        .map_err(|e| open_error(e, &head))?;
        let mut me = Self::from_reader(
            reader,
            opts,
            edit,
            wav.is_some_and(|w| w.data_overclaimed),
            pos,
            len,
        )?;
        me.partial_frame = partial_frame;
        if me.info.bits_per_sample.is_none() {
            me.info.bits_per_sample = wav
                .and_then(|w| w.fmt)
                .map(|f| u32::from(f.bits_per_sample));
        }
        if let Some(ns) = end_padding_ns {
            let frames = u128::from(ns) * u128::from(me.info.sample_rate) / 1_000_000_000;
            me.end_trim = usize::try_from(frames)
                .unwrap_or(0)
                .min(me.info.sample_rate as usize);
        }
        Ok(me)
    }

    fn from_reader(
        reader: Box<dyn FormatReader>,
        opts: DecodeOptions,
        edit: Option<EditList>,
        wav_overclaimed: bool,
        pos: Arc<AtomicU64>,
        len: u64,
    ) -> Result<Self, IngestError> {
        let container = reader.format_info().short_name.to_string();
        let track = reader
            .default_track(TrackType::Audio)
            .ok_or(IngestError::NotAudio {
                detected: Some("a container with no audio track"),
            })?;
        let Some(CodecParameters::Audio(params)) = &track.codec_params else {
            return Err(IngestError::NotAudio {
                detected: Some("a container with no audio track"),
            });
        };
        let track_id = track.id;
        let rate = check_rate(params.sample_rate.map_or(0, u64::from))?;
        let channels = params.channels.as_ref().map_or(0, |c| c.count());
        // Some demuxers only learn the layout from the first packet; 0 is checked again there.
        if channels != 0 {
            check_channels(channels)?;
        }
        if let ChannelMode::Select(ch) = opts.channel
            && channels != 0
            && ch >= channels
        {
            return Err(IngestError::NoSuchChannel {
                requested: ch,
                channels,
            });
        }
        let header_frames = track.num_frames;
        if let Some(frames) = header_frames {
            let secs = frames as f64 / f64::from(rate);
            if secs > opts.max_secs && len as f64 >= secs * PLAUSIBLE_BYTES_PER_SEC {
                return Err(IngestError::TooLong {
                    limit_secs: opts.max_secs,
                    found: format!("the header says {secs:.0} s"),
                });
            }
        }
        let registered = codecs().get_audio_decoder(params.codec);
        let codec = registered.map_or_else(
            || format!("{:?}", params.codec),
            |c| c.codec.info.short_name.to_string(),
        );
        // Opus can decode a stereo stream straight to its mid (mono) signal, which costs about
        // half as much as decoding both channels and then taking their mean.
        let mono_opus;
        let decode_params =
            if params.codec == CODEC_ID_OPUS && opts.channel == ChannelMode::Mix && channels == 2 {
                let mut p = params.clone();
                p.channels = Some(symphonia::core::audio::layouts::CHANNEL_LAYOUT_MONO);
                mono_opus = p;
                &mono_opus
            } else {
                params
            };
        let decoder = guarded(|| {
            codecs()
                .make_audio_decoder(decode_params, &AudioDecoderOptions::default().gapless(true))
        })
        .map_err(|e| match e {
            SymError::Unsupported(what) => IngestError::UnsupportedCodec {
                container: container.clone(),
                codec: if registered.is_some() {
                    what.to_string()
                } else {
                    codec.clone()
                },
            },
            other => corrupt(other),
        })?;
        let (skip, keep) = match edit {
            Some(e) => {
                let scale =
                    |v: u64| (u128::from(v) * u128::from(rate) / u128::from(e.timescale)) as u64;
                (scale(e.media_start), e.media_len.map(scale))
            }
            None => (0, None),
        };
        let info = SourceInfo {
            container,
            codec,
            sample_rate: rate,
            channels: channels as u32,
            bits_per_sample: params
                .bits_per_sample
                .or_else(|| params.sample_format.map(format_bits)),
            header_frames,
        };
        let max_frames = (opts.max_secs * f64::from(rate)).ceil() as u64;
        Ok(Self {
            reader,
            decoder,
            track_id,
            info,
            opts,
            interleaved: Vec::new(),
            frames: 0,
            skip,
            keep,
            max_frames,
            nonfinite: 0,
            bad_packets: 0,
            bad_in_a_row: 0,
            truncated: false,
            wav_overclaimed,
            partial_frame: false,
            end_trim: 0,
            held: Vec::new(),
            pos,
            len,
        })
    }

    /// What the container and codec say about the source.
    pub fn info(&self) -> &SourceInfo {
        &self.info
    }

    /// Bytes of the input consumed so far and the input's size, for progress reporting.
    pub fn progress(&self) -> (u64, u64) {
        (self.pos.load(Ordering::Relaxed).min(self.len), self.len)
    }

    /// Frames decoded so far, after trimming.
    pub fn frames(&self) -> u64 {
        self.frames
    }
}

mod stream;
