//! The JSON outputs of the Whisper family (openai-whisper, faster-whisper, WhisperX) and of
//! FunASR/Paraformer. Errors name the JSON path (`segments[3].end`) or the line of bad syntax.

use serde_json::{Map, Value};

use super::{AsrError, Format, HypSegment, Hypothesis, Word, check_range, join_text};
use crate::text::normalise::is_punct;
use crate::text::tokenise::{Tokenisation, tokenise};

/// Tells the JSON formats apart by their keys (FORMATS.md §12–15, 17).
pub(super) fn detect_value(v: &Value) -> Option<Format> {
    let first = match v {
        Value::Array(a) => a.first()?,
        v => v,
    };
    let o = first.as_object()?;
    if v.is_array()
        && o.contains_key("data")
        && (o.contains_key("annotations") || o.contains_key("predictions"))
    {
        return Some(Format::LabelStudio);
    }
    if o.contains_key("sentence_info")
        || o.contains_key("timestamp")
        || o.contains_key("key")
        || o.contains_key("sentences")
    {
        return Some(Format::FunAsr);
    }
    let segments = match v {
        Value::Array(a) => a.as_slice(),
        _ => o.get("segments")?.as_array()?.as_slice(),
    };
    Some(whisper_flavour(v, segments))
}

fn whisper_flavour(v: &Value, segments: &[Value]) -> Format {
    let words = || {
        segments
            .iter()
            .filter_map(|s| s.get("words")?.as_array())
            .flatten()
    };
    if v.get("word_segments").is_some() || words().any(|w| w.get("score").is_some()) {
        Format::WhisperX
    } else if v.is_array()
        || v.get("info").is_some()
        || v.get("language_probability").is_some()
        || words().any(Value::is_array)
    {
        Format::FasterWhisper
    } else {
        Format::Whisper
    }
}

/// Parses any of the JSON formats from their (budgeted) tree; `hint` is the detected one.
pub(super) fn parse_value(v: &Value, hint: Option<Format>) -> Result<Hypothesis, AsrError> {
    match hint {
        Some(Format::FunAsr) => funasr(v),
        _ => whisper(v),
    }
}

const WHISPER: &str = "whisper JSON";
const FUNASR: &str = "FunASR JSON";

fn whisper(v: &Value) -> Result<Hypothesis, AsrError> {
    let (segs, prefix) = match v {
        Value::Array(a) => (a, String::new()),
        Value::Object(o) => match o.get("segments") {
            Some(Value::Array(a)) => (a, "segments".to_string()),
            _ => {
                return Err(AsrError::field_at(
                    WHISPER,
                    "segments",
                    "missing or not a list",
                ));
            }
        },
        _ => {
            return Err(AsrError::field_at(
                WHISPER,
                "(top level)",
                "expected an object or a list",
            ));
        }
    };
    let format = whisper_flavour(v, segs);
    let mut warnings = Vec::new();
    let mut untimed_words = 0;
    let mut segments = Vec::with_capacity(segs.len());
    for (k, s) in segs.iter().enumerate() {
        let path = format!("{prefix}[{k}]");
        let o = obj(s, &path, WHISPER)?;
        let start = num(o, "start", &path, WHISPER)?;
        let end = num(o, "end", &path, WHISPER)?;
        check_range(start, end, |m| {
            AsrError::field_at(WHISPER, format!("{path}.end"), m)
        })?;
        let text = opt_str(o, "text", &path, WHISPER)?.unwrap_or_default();
        let mut words = Vec::new();
        if let Some(ws) = o.get("words").filter(|w| !w.is_null()) {
            let ws = ws.as_array().ok_or_else(|| {
                AsrError::field_at(WHISPER, format!("{path}.words"), "expected a list or null")
            })?;
            for (j, w) in ws.iter().enumerate() {
                let word = whisper_word(w, &format!("{path}.words[{j}]"))?;
                if word.start_s.is_none() {
                    untimed_words += 1;
                }
                words.push(word);
            }
        }
        segments.push(HypSegment {
            start_s: start,
            end_s: end,
            text: text.trim().to_string(),
            words,
            speaker: speaker(o.get("speaker")),
            labels: Vec::new(),
            recording: None,
        });
    }
    if untimed_words > 0 {
        warnings.push(format!(
            "{untimed_words} words have no times (WhisperX could not align them)"
        ));
    }
    Ok(Hypothesis {
        format,
        model: v.get("model").and_then(Value::as_str).map(String::from),
        language: v.get("language").and_then(Value::as_str).map(String::from),
        tier: None,
        segments,
        warnings,
    })
}

/// A word as an object `{word, start, end, probability|score, speaker}` or as faster-whisper's
/// NamedTuple array `[start, end, word, probability]`.
fn whisper_word(w: &Value, path: &str) -> Result<Word, AsrError> {
    if let Some(a) = w.as_array() {
        let bad = || AsrError::field_at(WHISPER, path, "expected [start, end, word, probability]");
        if a.len() < 3 {
            return Err(bad());
        }
        let (start, end) = (
            a[0].as_f64().ok_or_else(bad)?,
            a[1].as_f64().ok_or_else(bad)?,
        );
        check_range(start, end, |m| AsrError::field_at(WHISPER, path, m))?;
        return Ok(Word {
            text: a[2].as_str().ok_or_else(bad)?.trim().to_string(),
            start_s: Some(start),
            end_s: Some(end),
            confidence: a.get(3).and_then(Value::as_f64),
            speaker: None,
        });
    }
    let o = obj(w, path, WHISPER)?;
    let text = opt_str(o, "word", path, WHISPER)?
        .ok_or_else(|| AsrError::field_at(WHISPER, format!("{path}.word"), "missing"))?;
    let start = opt_num(o, "start", path, WHISPER)?;
    let end = opt_num(o, "end", path, WHISPER)?;
    if let (Some(s), Some(e)) = (start, end) {
        check_range(s, e, |m| {
            AsrError::field_at(WHISPER, format!("{path}.end"), m)
        })?;
    }
    Ok(Word {
        text: text.trim().to_string(),
        start_s: start,
        end_s: end,
        confidence: opt_num(o, "probability", path, WHISPER)?
            .or(opt_num(o, "score", path, WHISPER)?),
        speaker: speaker(o.get("speaker")),
    })
}

fn funasr(v: &Value) -> Result<Hypothesis, AsrError> {
    let results: Vec<(&Value, String)> = match v {
        Value::Array(a) => a
            .iter()
            .enumerate()
            .map(|(k, r)| (r, format!("[{k}]")))
            .collect(),
        v => vec![(v, String::new())],
    };
    let mut segments = Vec::new();
    let mut warnings = Vec::new();
    for (r, path) in results {
        let o = obj(
            r,
            if path.is_empty() {
                "(top level)"
            } else {
                &path
            },
            FUNASR,
        )?;
        let key = opt_str(o, "key", &path, FUNASR)?.map(String::from);
        let before = segments.len();
        if let Some(info) = o.get("sentence_info").or(o.get("sentences")) {
            let field = if o.contains_key("sentence_info") {
                "sentence_info"
            } else {
                "sentences"
            };
            let list = info.as_array().ok_or_else(|| {
                AsrError::field_at(FUNASR, join_path(&path, field), "expected a list")
            })?;
            for (k, s) in list.iter().enumerate() {
                let p = format!("{}[{k}]", join_path(&path, field));
                let so = obj(s, &p, FUNASR)?;
                let text = opt_str(so, "text", &p, FUNASR)?.unwrap_or_default();
                let start = num(so, "start", &p, FUNASR)? / 1000.0;
                let end = num(so, "end", &p, FUNASR)? / 1000.0;
                check_range(start, end, |m| {
                    AsrError::field_at(FUNASR, format!("{p}.end"), m)
                })?;
                let stamps = so.get("timestamp").or(so.get("ts_list"));
                let words = token_words(text, stamps, &p)?;
                segments.push(HypSegment {
                    start_s: start,
                    end_s: end,
                    text: join_text(text.split_whitespace()),
                    words,
                    speaker: so.get("spk").and_then(|s| match s {
                        Value::Number(n) => Some(n.to_string()),
                        Value::String(s) => Some(s.clone()),
                        _ => None,
                    }),
                    labels: Vec::new(),
                    recording: key.clone(),
                });
            }
        } else {
            let text = opt_str(o, "text", &path, FUNASR)?.unwrap_or_default();
            let words = token_words(text, o.get("timestamp"), &path)?;
            let timed: Vec<&Word> = words.iter().filter(|w| w.start_s.is_some()).collect();
            let (start, end) = match (timed.first(), timed.last()) {
                (Some(a), Some(b)) => (a.start_s.unwrap_or(0.0), b.end_s.unwrap_or(0.0)),
                _ => {
                    warnings.push(format!(
                        "{} has no timestamps: its text is one untimed segment",
                        key.as_deref().unwrap_or("the result")
                    ));
                    (0.0, 0.0)
                }
            };
            segments.push(HypSegment {
                start_s: start,
                end_s: end,
                text: join_text(text.split_whitespace()),
                words,
                speaker: None,
                labels: Vec::new(),
                recording: key.clone(),
            });
        }
        if segments.len() == before {
            warnings.push(format!(
                "{} has no sentences",
                key.as_deref().unwrap_or("a result")
            ));
        }
    }
    Ok(Hypothesis {
        format: Format::FunAsr,
        model: v.get("model").and_then(Value::as_str).map(String::from),
        language: None,
        tier: None,
        segments,
        warnings,
    })
}

/// FunASR gives one `[start_ms, end_ms]` pair per token (CJK character or Latin word) and none
/// for punctuation. When the counts agree, tokens get their times; otherwise the words are
/// listed untimed rather than guessed.
fn token_words(text: &str, stamps: Option<&Value>, path: &str) -> Result<Vec<Word>, AsrError> {
    let tokens: Vec<&str> = tokenise(text, Tokenisation::Mixed)
        .into_iter()
        .filter(|t| !t.chars().all(is_punct))
        .collect();
    let Some(stamps) = stamps.filter(|s| !s.is_null()) else {
        return Ok(Vec::new());
    };
    let field = join_path(path, "timestamp");
    let list = stamps.as_array().ok_or_else(|| {
        AsrError::field_at(FUNASR, &field, "expected a list of [start_ms, end_ms]")
    })?;
    let mut times = Vec::with_capacity(list.len());
    for (k, pair) in list.iter().enumerate() {
        let bad = || {
            AsrError::field_at(
                FUNASR,
                format!("{field}[{k}]"),
                "expected [start_ms, end_ms]",
            )
        };
        let a = pair.as_array().filter(|a| a.len() == 2).ok_or_else(bad)?;
        let (s, e) = (
            a[0].as_f64().ok_or_else(bad)? / 1000.0,
            a[1].as_f64().ok_or_else(bad)? / 1000.0,
        );
        check_range(s, e, |m| {
            AsrError::field_at(FUNASR, format!("{field}[{k}]"), m)
        })?;
        times.push((s, e));
    }
    let timed = times.len() == tokens.len();
    Ok(tokens
        .iter()
        .enumerate()
        .map(|(k, t)| Word {
            text: (*t).to_string(),
            start_s: timed.then(|| times[k].0),
            end_s: timed.then(|| times[k].1),
            confidence: None,
            speaker: None,
        })
        .collect())
}

fn join_path(path: &str, field: &str) -> String {
    if path.is_empty() {
        field.to_string()
    } else {
        format!("{path}.{field}")
    }
}

pub(super) fn obj<'a>(
    v: &'a Value,
    path: &str,
    format: &'static str,
) -> Result<&'a Map<String, Value>, AsrError> {
    v.as_object()
        .ok_or_else(|| AsrError::field_at(format, path, "expected an object"))
}

pub(super) fn num(
    o: &Map<String, Value>,
    key: &str,
    path: &str,
    format: &'static str,
) -> Result<f64, AsrError> {
    opt_num(o, key, path, format)?
        .ok_or_else(|| AsrError::field_at(format, join_path(path, key), "missing"))
}

pub(super) fn opt_num(
    o: &Map<String, Value>,
    key: &str,
    path: &str,
    format: &'static str,
) -> Result<Option<f64>, AsrError> {
    match o.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => v.as_f64().map(Some).ok_or_else(|| {
            AsrError::field_at(
                format,
                join_path(path, key),
                format!("expected a number, found {v}"),
            )
        }),
    }
}

pub(super) fn opt_str<'a>(
    o: &'a Map<String, Value>,
    key: &str,
    path: &str,
    format: &'static str,
) -> Result<Option<&'a str>, AsrError> {
    match o.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(v) => Err(AsrError::field_at(
            format,
            join_path(path, key),
            format!("expected a string, found {v}"),
        )),
    }
}

fn speaker(v: Option<&Value>) -> Option<String> {
    v.and_then(Value::as_str).map(String::from)
}
