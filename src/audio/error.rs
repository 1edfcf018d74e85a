//! The one error type of ingest: every way a recording can be refused, with a stable machine
//! code for APIs and scripts and a sentence for people.
//!
//! Codes are part of the public contract (the HTTP API and `fangyan probe` print them), so they
//! never change once released. HTTP statuses live here too, as a hint, because the mapping is a
//! property of the error (a corrupt file is the client's 422 wherever it is reported).

use thiserror::Error;

/// Why a recording could not be ingested.
#[derive(Debug, Error)]
pub enum IngestError {
    /// The file has no bytes at all.
    #[error("the file is empty (0 bytes)")]
    EmptyFile,
    /// Probing the bytes found no audio container we know.
    #[error("this is not a supported audio file{}", detected.map(|d| format!(" (the bytes look like {d})")).unwrap_or_default())]
    NotAudio {
        /// What the leading bytes look like, when we can tell.
        detected: Option<&'static str>,
    },
    /// The container is known but its codec is not.
    #[error("the {container} file uses a codec fangyan cannot decode: {codec}")]
    UnsupportedCodec {
        /// Container short name, such as `wav`.
        container: String,
        /// Codec name or feature symphonia reported as unsupported.
        codec: String,
    },
    /// The container decoded to zero frames of audio.
    #[error("the file holds no audio samples")]
    EmptyAudio,
    /// The sample rate is outside 4 000..=384 000 Hz.
    #[error("sample rate {rate} Hz is outside the supported range 4000 to 384000 Hz")]
    InvalidSampleRate {
        /// The rate the stream declared.
        rate: u64,
    },
    /// The channel count is outside 1..=32, or the chosen channel does not exist.
    #[error("{channels} channels is outside the supported range 1 to 32")]
    InvalidChannels {
        /// The channel count the stream declared.
        channels: u64,
    },
    /// The requested channel does not exist in this recording.
    #[error("channel {requested} was selected but the recording has {channels} channels")]
    NoSuchChannel {
        /// Zero-based channel the caller asked for.
        requested: usize,
        /// Channels in the recording.
        channels: usize,
    },
    /// Longer than the configured limit.
    #[error("the recording is longer than the limit of {limit_secs:.0} s ({found})")]
    TooLong {
        /// The configured maximum duration in seconds.
        limit_secs: f64,
        /// Where the overrun was found, for the message.
        found: String,
    },
    /// The container or codec data is damaged beyond use.
    #[error("the audio data is corrupt: {detail}")]
    Corrupt {
        /// What the demuxer or decoder reported.
        detail: String,
    },
    /// The analysis rate requested is outside 8 000..=48 000 Hz.
    #[error("analysis rate {rate} Hz is outside 8000 to 48000 Hz")]
    InvalidAnalysisRate {
        /// The requested rate.
        rate: u32,
    },
    /// Reading the input or writing the outputs failed (disk full, permissions, ...).
    #[error("i/o error: {0}")]
    Io(#[from] std::io::Error),
}

impl IngestError {
    /// The stable machine code of this error.
    pub fn code(&self) -> &'static str {
        match self {
            Self::EmptyFile => "empty_file",
            Self::NotAudio { .. } => "not_audio",
            Self::UnsupportedCodec { .. } => "unsupported_codec",
            Self::EmptyAudio => "empty_audio",
            Self::InvalidSampleRate { .. } => "invalid_sample_rate",
            Self::InvalidChannels { .. } => "invalid_channels",
            Self::NoSuchChannel { .. } => "no_such_channel",
            Self::TooLong { .. } => "too_long",
            Self::Corrupt { .. } => "corrupt",
            Self::InvalidAnalysisRate { .. } => "invalid_analysis_rate",
            Self::Io(_) => "io_error",
        }
    }

    /// The HTTP status an upload endpoint answers with for this error.
    pub fn http_status(&self) -> u16 {
        match self {
            Self::NotAudio { .. } | Self::UnsupportedCodec { .. } => 415,
            Self::TooLong { .. } => 413,
            Self::Io(_) => 500,
            _ => 422,
        }
    }

    /// Whether the fault is in the input (as opposed to this machine).
    pub fn is_client_error(&self) -> bool {
        self.http_status() < 500
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_distinct_and_snake_case() {
        let all = [
            IngestError::EmptyFile,
            IngestError::NotAudio { detected: None },
            IngestError::UnsupportedCodec {
                container: "wav".into(),
                codec: "x".into(),
            },
            IngestError::EmptyAudio,
            IngestError::InvalidSampleRate { rate: 0 },
            IngestError::InvalidChannels { channels: 0 },
            IngestError::NoSuchChannel {
                requested: 3,
                channels: 2,
            },
            IngestError::TooLong {
                limit_secs: 1.0,
                found: "x".into(),
            },
            IngestError::Corrupt { detail: "x".into() },
            IngestError::InvalidAnalysisRate { rate: 1 },
            IngestError::Io(std::io::Error::other("x")),
        ];
        let mut codes: Vec<_> = all.iter().map(IngestError::code).collect();
        assert!(
            codes
                .iter()
                .all(|c| c.chars().all(|ch| ch.is_ascii_lowercase() || ch == '_'))
        );
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes.len(), all.len());
        assert!(all.iter().all(|e| !e.to_string().is_empty()));
    }
}
