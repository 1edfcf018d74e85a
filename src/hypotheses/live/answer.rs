//! What the ASR server answered: the failures a request can end in, each with its stable code
//! and whether another try may help ([`LiveError`]), and the reading of a transcription answer
//! ([`read_answer`]).

use crate::text::asr::{self, Format, HypSegment};

/// Why a transcription request failed.
#[derive(Debug, thiserror::Error)]
pub enum LiveError {
    /// No answer within the timeout.
    #[error("the ASR server did not answer within {0} s")]
    Timeout(u64),
    /// Could not connect or the connection broke.
    #[error("could not reach the ASR server: {0}")]
    Unreachable(String),
    /// An HTTP error status.
    #[error("the ASR server answered {status}: {body}")]
    Status {
        /// HTTP status.
        status: u16,
        /// The start of its body.
        body: String,
    },
    /// The answer is not the transcription JSON.
    #[error("the ASR server's answer is not transcription JSON: {0}")]
    BadResponse(String),
    /// Reading our own audio.
    #[error("could not read the recording's audio: {0}")]
    Audio(String),
    /// The URL may not be called (see `outbound`), checked when the job starts.
    #[error("{0}")]
    NotAllowed(String),
    /// The server answered with a redirect, which is never followed.
    #[error(
        "the ASR server answered {status} redirecting to {location}; redirects are not \
         followed: set the project's ASR URL to the final address"
    )]
    Redirect {
        /// HTTP status.
        status: u16,
        /// Where it pointed.
        location: String,
    },
}

impl LiveError {
    /// Stable code, stored with the failed job.
    pub fn code(&self) -> &'static str {
        match self {
            LiveError::Timeout(_) => "asr_timeout",
            LiveError::Unreachable(_) => "asr_unreachable",
            LiveError::Status { status, .. } if *status >= 500 => "asr_server_error",
            LiveError::Status { .. } => "asr_refused",
            LiveError::BadResponse(_) => "asr_bad_response",
            LiveError::Audio(_) => "audio_unreadable",
            LiveError::NotAllowed(_) | LiveError::Redirect { .. } => "asr_url_not_allowed",
        }
    }

    /// Worth another try: the server may recover.
    pub fn retryable(&self) -> bool {
        match self {
            LiveError::Timeout(_) | LiveError::Unreachable(_) => true,
            LiveError::Status { status, .. } => *status >= 500 || *status == 429,
            LiveError::BadResponse(_)
            | LiveError::Audio(_)
            | LiveError::NotAllowed(_)
            | LiveError::Redirect { .. } => false,
        }
    }
}

/// Reads the transcription answer: verbose JSON with segments, or plain `{"text": …}`
/// (one segment over the whole chunk). Times are shifted by `offset_s`.
pub fn read_answer(body: &str, offset_s: f64, chunk_s: f64) -> Result<Vec<HypSegment>, LiveError> {
    let value: serde_json::Value =
        serde_json::from_str(body).map_err(|e| LiveError::BadResponse(e.to_string()))?;
    let segments = if value.get("segments").is_some_and(|s| s.is_array()) {
        asr::parse_as(Format::Whisper, body, None)
            .map_err(|e| LiveError::BadResponse(e.to_string()))?
            .segments
    } else if let Some(text) = value.get("text").and_then(|t| t.as_str()) {
        vec![HypSegment {
            start_s: 0.0,
            end_s: chunk_s,
            text: text.trim().to_string(),
            words: Vec::new(),
            speaker: None,
            labels: Vec::new(),
            recording: None,
        }]
    } else {
        return Err(LiveError::BadResponse(
            "neither `segments` nor `text` is present".into(),
        ));
    };
    Ok(segments
        .into_iter()
        .filter(|s| !s.text.is_empty())
        .map(|mut s| {
            s.start_s += offset_s;
            s.end_s += offset_s;
            for w in &mut s.words {
                w.start_s = w.start_s.map(|t| t + offset_s);
                w.end_s = w.end_s.map(|t| t + offset_s);
            }
            s
        })
        .collect())
}
