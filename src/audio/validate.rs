//! What fangyan checks itself before trusting a decoder: sample rate and channel ranges, WAV
//! header sanity, and the mapping of symphonia's errors to ingest codes. Symphonia accepts
//! impossible values (rate 0, block_align 0) and panics on some (65 535 channels in debug
//! builds), so these checks run first.

use std::io;

use symphonia::core::audio::sample::SampleFormat;
use symphonia::core::errors::Error as SymError;

use super::decode::{CHANNEL_RANGE, RATE_RANGE};
use super::error::IngestError;
use super::sniff;

/// Validates a WAV header ourselves: symphonia accepts impossible values (rate 0, block_align
/// 0) and panics on some (65 535 channels in debug builds). Returns whether the data chunk ends
/// in a partial frame.
pub(super) fn check_wav(w: &sniff::WavLayout) -> Result<bool, IngestError> {
    if w.fmt_chunks > 1 {
        return Err(corrupt(
            "the WAV file has more than one, conflicting, format (fmt) chunk",
        ));
    }
    if w.fmt_damaged {
        return Err(corrupt(
            "the WAV format (fmt) chunk is too short or runs past the end of the file",
        ));
    }
    let Some(fmt) = w.fmt else {
        return Err(corrupt("the WAV file has no format (fmt) chunk"));
    };
    check_channels(usize::from(fmt.channels))?;
    check_rate(u64::from(fmt.sample_rate))?;
    if fmt.block_align == 0 || fmt.bits_per_sample == 0 {
        return Err(corrupt(
            "the WAV format chunk declares 0 bytes per frame or 0 bits per sample",
        ));
    }
    let partial = fmt.is_uncompressed()
        && !w.data_overclaimed
        && w.data_len
            .is_some_and(|d| d % u64::from(fmt.block_align) != 0);
    Ok(partial)
}

pub(super) fn corrupt(e: impl std::fmt::Display) -> IngestError {
    IngestError::Corrupt {
        detail: e.to_string(),
    }
}

/// Maps symphonia's errors while opening a stream.
pub(super) fn open_error(e: SymError, head: &[u8]) -> IngestError {
    match e {
        SymError::Unsupported(what) if what.contains("probe") || what.contains("no suitable") => {
            match sniff::audio_magic(head) {
                Some(kind) => corrupt(format!(
                    "the file starts like {kind} but holds no readable audio stream"
                )),
                None => IngestError::NotAudio {
                    detected: sniff::describe_non_audio(head),
                },
            }
        }
        SymError::Unsupported(what) if what.contains("missing") || what.contains("malformed") => {
            corrupt(what)
        }
        SymError::Unsupported(what) => IngestError::UnsupportedCodec {
            container: "audio".into(),
            codec: what.into(),
        },
        SymError::IoError(io) if io.kind() == io::ErrorKind::UnexpectedEof => {
            IngestError::Corrupt {
                detail: "the file ends inside its header".into(),
            }
        }
        SymError::IoError(io) if io.kind() == io::ErrorKind::Other => corrupt(io),
        SymError::IoError(io) => IngestError::Io(io),
        other => corrupt(other),
    }
}

/// Bits per sample of a PCM sample format (float formats report none of their own).
pub(super) fn format_bits(f: SampleFormat) -> u32 {
    match f {
        SampleFormat::U8 | SampleFormat::S8 => 8,
        SampleFormat::U16 | SampleFormat::S16 => 16,
        SampleFormat::U24 | SampleFormat::S24 => 24,
        SampleFormat::U32 | SampleFormat::S32 | SampleFormat::F32 => 32,
        SampleFormat::F64 => 64,
    }
}

pub(super) fn check_rate(rate: u64) -> Result<u32, IngestError> {
    match u32::try_from(rate) {
        Ok(r) if RATE_RANGE.contains(&r) => Ok(r),
        _ => Err(IngestError::InvalidSampleRate { rate }),
    }
}

pub(super) fn check_channels(channels: usize) -> Result<(), IngestError> {
    if CHANNEL_RANGE.contains(&channels) {
        Ok(())
    } else {
        Err(IngestError::InvalidChannels {
            channels: channels as u64,
        })
    }
}
