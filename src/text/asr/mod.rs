//! ASR output in: parsers for the formats engines and annotation tools write, into one
//! [`Hypothesis`] model with times in seconds.
//!
//! Owns format detection, decoding (BOMs, UTF-16, CRLF) and the parsers; it does not match
//! files to recordings or create segments (the server does, from `recording` and times).
//! Rules and pitfalls per format are in `shared/docs/FORMATS.md` §6–17.
//!
//! | format | module | times | notes |
//! |---|---|---|---|
//! | openai-whisper, faster-whisper, WhisperX JSON | `json` | s | words as objects or `[start, end, word, p]` arrays; WhisperX words may lack times |
//! | FunASR / Paraformer JSON | `json` | **ms** | `sentence_info`, `timestamp` per token, legacy `sentences` |
//! | Label Studio JSON export | `labelstudio` | s | regions joined by id: `labels` + per-region `textarea` |
//! | SRT, WebVTT | `subtitles` | `hh:mm:ss,mmm` | tags stripped, `<v>` speakers, entities, NOTE/STYLE blocks |
//! | NIST CTM, Audacity labels | `lines` | s | CTM words grouped into segments at gaps over 1 s |
//! | openai-whisper `.tsv` | `lines` | **ms** | header `start end text` (tab-separated) |
//! | Praat TextGrid | `textgrid` | s | long and short text formats, UTF-8 or UTF-16 |
//! | ELAN EAF | `eaf` | ms slots | alignable and reference tiers |
//!
//! Detection looks at the content first and the file name only when the content is not
//! conclusive, so a mislabelled file still imports and a broken one gets its own format's error.

mod eaf;
mod error;
mod json;
mod labelstudio;
mod limits;
mod lines;
mod subtitles;
mod textgrid;

use std::borrow::Cow;

use serde::Serialize;

pub use error::AsrError;
pub use limits::Limits;

/// The formats we read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Format {
    /// openai-whisper `.json`.
    Whisper,
    /// faster-whisper segments serialised by the user.
    FasterWhisper,
    /// WhisperX `.json`.
    WhisperX,
    /// FunASR / Paraformer `generate()` output.
    FunAsr,
    /// Label Studio JSON export.
    LabelStudio,
    /// SubRip.
    Srt,
    /// WebVTT.
    WebVtt,
    /// NIST CTM.
    Ctm,
    /// Audacity label track.
    Audacity,
    /// openai-whisper `.tsv` (`start end text`, milliseconds).
    WhisperTsv,
    /// Praat TextGrid.
    TextGrid,
    /// ELAN EAF.
    Eaf,
}

impl Format {
    /// Short name, as in API responses.
    pub fn name(self) -> &'static str {
        match self {
            Format::Whisper => "whisper",
            Format::FasterWhisper => "faster_whisper",
            Format::WhisperX => "whisperx",
            Format::FunAsr => "funasr",
            Format::LabelStudio => "label_studio",
            Format::Srt => "srt",
            Format::WebVtt => "webvtt",
            Format::Ctm => "ctm",
            Format::Audacity => "audacity",
            Format::WhisperTsv => "whisper_tsv",
            Format::TextGrid => "textgrid",
            Format::Eaf => "eaf",
        }
    }
}

/// One ASR output file.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Hypothesis {
    /// The detected format.
    pub format: Format,
    /// Model name, when the file says (`model`, Label Studio `model_version`).
    pub model: Option<String>,
    /// Language code, when the file says.
    pub language: Option<String>,
    /// The tier read (TextGrid, EAF).
    pub tier: Option<String>,
    /// Segments in file order (time order for Label Studio).
    pub segments: Vec<HypSegment>,
    /// Things worth telling the user that did not stop the import.
    pub warnings: Vec<String>,
}

/// One timed stretch of hypothesis text.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HypSegment {
    /// Start, seconds.
    pub start_s: f64,
    /// End, seconds (≥ start; equal for Praat points and untimed FunASR text).
    pub end_s: f64,
    /// The text, tags and markup removed, whitespace trimmed.
    pub text: String,
    /// Word (or character) timings, when the format has them.
    pub words: Vec<Word>,
    /// Speaker or participant, when known.
    pub speaker: Option<String>,
    /// Labels (Label Studio region labels).
    pub labels: Vec<String>,
    /// The recording this segment belongs to, for files that cover several (CTM file column,
    /// FunASR `key`, Label Studio task audio name without the upload prefix).
    pub recording: Option<String>,
}

/// One timed word (a character for Chinese in WhisperX and FunASR).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Word {
    /// The word, trimmed.
    pub text: String,
    /// Start, seconds; WhisperX leaves unalignable characters without times.
    pub start_s: Option<f64>,
    /// End, seconds.
    pub end_s: Option<f64>,
    /// Probability or confidence, 0..1, when given.
    pub confidence: Option<f64>,
    /// Speaker (WhisperX after diarisation).
    pub speaker: Option<String>,
}

/// Parses ASR output within the default [`Limits`]. `filename` (optional) breaks ties when the
/// content is not conclusive; `tier` picks the TextGrid/EAF tier (default: the first interval
/// tier with text).
pub fn parse(
    bytes: &[u8],
    filename: Option<&str>,
    tier: Option<&str>,
) -> Result<Hypothesis, AsrError> {
    parse_with(bytes, filename, tier, &Limits::default())
}

/// Parses ASR output within `limits` (see [`parse`]). JSON is read once, into a tree that
/// serves both detection and the parser.
pub fn parse_with(
    bytes: &[u8],
    filename: Option<&str>,
    tier: Option<&str>,
    limits: &Limits,
) -> Result<Hypothesis, AsrError> {
    let text = decode_cow(bytes)?;
    if text.trim().is_empty() {
        return Err(AsrError::Empty);
    }
    let t = text.trim_start();
    let tree =
        (t.starts_with('{') || t.starts_with('[')).then(|| limits::json_value(&text, limits));
    let format = match &tree {
        Some(Err(AsrError::TooComplex { limit_mib })) => {
            return Err(AsrError::TooComplex {
                limit_mib: *limit_mib,
            });
        }
        Some(Ok(v)) => json::detect_value(v).or_else(|| by_name(filename)),
        Some(Err(_)) => by_name(filename),
        None => detect(&text, filename),
    }
    .ok_or_else(|| AsrError::UnknownFormat {
        hint: filename.map(|f| format!("file name {f}")),
    })?;
    match (format, tree) {
        (Format::Whisper | Format::FasterWhisper | Format::WhisperX | Format::FunAsr, Some(v)) => {
            json::parse_value(&v?, Some(format))
        }
        (Format::LabelStudio, Some(v)) => labelstudio::parse_value(&v?),
        _ => parse_as_with(format, &text, tier, limits),
    }
}

/// Parses already-decoded text as the given format, within the default [`Limits`].
pub fn parse_as(format: Format, text: &str, tier: Option<&str>) -> Result<Hypothesis, AsrError> {
    parse_as_with(format, text, tier, &Limits::default())
}

fn parse_as_with(
    format: Format,
    text: &str,
    tier: Option<&str>,
    limits: &Limits,
) -> Result<Hypothesis, AsrError> {
    match format {
        Format::Whisper | Format::FasterWhisper | Format::WhisperX | Format::FunAsr => {
            json::parse_value(&limits::json_value(text, limits)?, Some(format))
        }
        Format::LabelStudio => labelstudio::parse_value(&limits::json_value(text, limits)?),
        Format::Srt => subtitles::parse_srt(text),
        Format::WebVtt => subtitles::parse_vtt(text),
        Format::Ctm => lines::parse_ctm(text),
        Format::Audacity => lines::parse_audacity(text),
        Format::WhisperTsv => lines::parse_whisper_tsv(text),
        Format::TextGrid => textgrid::parse(text, tier),
        Format::Eaf => eaf::parse(text, tier, limits),
    }
}

/// Guesses the format from the content, then the file name's extension.
pub fn detect(text: &str, filename: Option<&str>) -> Option<Format> {
    let t = text.trim_start();
    if t.starts_with('{') || t.starts_with('[') {
        if let Some(f) = limits::json_value(t, &Limits::default())
            .ok()
            .as_ref()
            .and_then(json::detect_value)
        {
            return Some(f);
        }
    } else if t.starts_with("WEBVTT") {
        return Some(Format::WebVtt);
    } else if t.contains("ooTextFile") && t.contains("TextGrid") {
        return Some(Format::TextGrid);
    } else if t.starts_with("<?xml") || t.starts_with("<ANNOTATION_DOCUMENT") {
        return Some(Format::Eaf);
    } else if let Some(f) = lines::detect(t) {
        return Some(f);
    }
    by_name(filename)
}

/// The format a file name's extension suggests.
fn by_name(filename: Option<&str>) -> Option<Format> {
    let ext = filename?.rsplit_once('.')?.1.to_ascii_lowercase();
    match ext.as_str() {
        "srt" => Some(Format::Srt),
        "vtt" => Some(Format::WebVtt),
        "ctm" => Some(Format::Ctm),
        "textgrid" => Some(Format::TextGrid),
        "eaf" => Some(Format::Eaf),
        "txt" => Some(Format::Audacity),
        "tsv" => Some(Format::WhisperTsv),
        "json" => Some(Format::Whisper),
        _ => None,
    }
}

/// Bytes to text: UTF-8 with or without BOM, or UTF-16 with BOM (Praat's older files); line
/// endings become `\n`.
pub fn decode(bytes: &[u8]) -> Result<String, AsrError> {
    decode_cow(bytes).map(Cow::into_owned)
}

/// [`decode`] without a copy when the bytes already are UTF-8 with `\n` line ends: a 64 MiB
/// file is not held twice.
fn decode_cow(bytes: &[u8]) -> Result<Cow<'_, str>, AsrError> {
    let text = if let Some(b) = bytes.strip_prefix(&[0xFF, 0xFE]) {
        Cow::Owned(utf16(b, u16::from_le_bytes)?)
    } else if let Some(b) = bytes.strip_prefix(&[0xFE, 0xFF]) {
        Cow::Owned(utf16(b, u16::from_be_bytes)?)
    } else {
        let b = bytes.strip_prefix(&[0xEF, 0xBB, 0xBF]).unwrap_or(bytes);
        match std::str::from_utf8(b) {
            Ok(s) => Cow::Borrowed(s),
            Err(e) => {
                let line = 1 + b[..e.valid_up_to()].iter().filter(|&&c| c == b'\n').count();
                return Err(AsrError::Encoding { line });
            }
        }
    };
    Ok(if text.contains('\r') {
        Cow::Owned(text.replace("\r\n", "\n").replace('\r', "\n"))
    } else {
        text
    })
}

fn utf16(b: &[u8], f: fn([u8; 2]) -> u16) -> Result<String, AsrError> {
    let units: Vec<u16> = b.chunks_exact(2).map(|c| f([c[0], c[1]])).collect();
    let mut out = String::with_capacity(units.len());
    for (k, r) in char::decode_utf16(units.iter().copied()).enumerate() {
        match r {
            Ok(c) => out.push(c),
            Err(_) => {
                let line = 1 + units[..k]
                    .iter()
                    .filter(|&&u| u == u16::from(b'\n'))
                    .count();
                return Err(AsrError::Encoding { line });
            }
        }
    }
    Ok(out)
}

/// The layer suffix of a transcript tier of a fangyan export: `transcript` → `""`,
/// `transcript 2` → `" 2"`; None for any other name. Its speaker tier is `speaker<suffix>`.
pub(crate) fn export_layer(tier: &str) -> Option<&str> {
    let rest = tier.strip_prefix("transcript")?;
    (rest.is_empty()
        || rest
            .strip_prefix(' ')
            .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit())))
    .then_some(rest)
}

/// Joins text pieces with a space, except between two CJK characters (`今天` + `天气`).
pub(crate) fn join_text<'a>(parts: impl IntoIterator<Item = &'a str>) -> String {
    let mut out = String::new();
    for p in parts.into_iter().map(str::trim).filter(|p| !p.is_empty()) {
        let cjk_seam = out
            .chars()
            .last()
            .is_some_and(crate::text::tokenise::is_cjk)
            && p.chars().next().is_some_and(crate::text::tokenise::is_cjk);
        if !out.is_empty() && !cjk_seam {
            out.push(' ');
        }
        out.push_str(p);
    }
    out
}

/// Checks a time range; `what` names the place for the error.
pub(crate) fn check_range(
    start: f64,
    end: f64,
    what: impl Fn(String) -> AsrError,
) -> Result<(), AsrError> {
    if !start.is_finite() || !end.is_finite() {
        return Err(what("times must be finite numbers".into()));
    }
    if start < 0.0 {
        return Err(what(format!("start {start} is negative")));
    }
    if end < start {
        return Err(what(format!("end {end} is before start {start}")));
    }
    Ok(())
}
