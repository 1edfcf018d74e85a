//! What a complete decode reports: the summary ingest records with a recording, and the
//! warnings worth telling the user about.

use serde::Serialize;

use super::decode::SourceInfo;

/// Something worth telling the user about a recording that was nonetheless accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Warning {
    /// The file ends before its header says it should; the real duration is reported.
    Truncated,
    /// The data ends in an incomplete frame, which was dropped.
    PartialFrameDropped,
    /// NaN or infinite samples were replaced by silence.
    NonfiniteSamplesReplaced,
    /// Some packets could not be decoded and were skipped.
    DecodeErrors,
}

/// The outcome of a complete decode.
#[derive(Debug, Clone)]
pub struct DecodeSummary {
    /// Source description, with the channel count filled in from decoding if needed.
    pub info: SourceInfo,
    /// Frames decoded, after encoder delay and padding were trimmed.
    pub frames: u64,
    /// Non-finite samples replaced by zero.
    pub nonfinite: u64,
    /// Packets that failed to decode and were skipped.
    pub bad_packets: u64,
    /// Warnings to record with the recording.
    pub warnings: Vec<Warning>,
}
