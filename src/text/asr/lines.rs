//! Line formats: NIST CTM words, Audacity label tracks and openai-whisper's `.tsv` (FORMATS.md
//! §10, 11, 12, 16).
//!
//! CTM lines are `<file> <channel> <begin> <duration> <word> [<confidence>]` (a **duration**,
//! not an end). Consecutive words of one file and channel become one segment until a pause of
//! more than [`CTM_GAP_S`]; each word keeps its time and confidence. `;;` comments are skipped.
//! Audacity lines are `start<TAB>end<TAB>label` in seconds; the `\<TAB>low<TAB>high` spectral
//! lines are skipped, and a decimal comma (`1,5`) is refused rather than misread. Whisper's
//! `.tsv` has the header `start<TAB>end<TAB>text` and **integer milliseconds**; the header is
//! what tells it from an Audacity track, whose seconds it would otherwise be read as.

use super::{AsrError, Format, HypSegment, Hypothesis, Word, check_range, join_text};

const CTM: &str = "CTM";
const AUDACITY: &str = "Audacity labels";
const WHISPER_TSV: &str = "Whisper TSV";

/// The header line openai-whisper's `WriteTSV` prints.
const WHISPER_TSV_HEADER: &str = "start\tend\ttext";

/// Pause that starts a new CTM segment, seconds.
pub const CTM_GAP_S: f64 = 1.0;

fn content_lines(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.lines()
        .enumerate()
        .map(|(k, l)| (k + 1, l))
        .filter(|(_, l)| !l.trim().is_empty() && !l.starts_with(";;"))
}

/// CTM or Audacity, by the shape of the first content line.
pub(super) fn detect(text: &str) -> Option<Format> {
    let (_, first) = content_lines(text).next()?;
    if first.trim_end() == WHISPER_TSV_HEADER {
        return Some(Format::WhisperTsv);
    }
    let fields: Vec<&str> = first.split('\t').collect();
    if fields.len() >= 2
        && fields[0].trim().parse::<f64>().is_ok()
        && fields[1].trim().parse::<f64>().is_ok()
    {
        return Some(Format::Audacity);
    }
    let ws: Vec<&str> = first.split_whitespace().collect();
    if (5..=6).contains(&ws.len()) && ws[2].parse::<f64>().is_ok() && ws[3].parse::<f64>().is_ok() {
        return Some(Format::Ctm);
    }
    if first.trim().parse::<u64>().is_ok() && text.lines().nth(1).is_some_and(|l| l.contains("-->"))
    {
        return Some(Format::Srt);
    }
    None
}

pub(super) fn parse_ctm(text: &str) -> Result<Hypothesis, AsrError> {
    let mut segments: Vec<HypSegment> = Vec::new();
    let mut last: Option<(String, String, f64)> = None;
    for (line, l) in content_lines(text) {
        let f: Vec<&str> = l.split_whitespace().collect();
        if f.len() < 5 {
            return Err(AsrError::syntax(
                CTM,
                line,
                format!(
                    "expected `<file> <channel> <begin> <duration> <word> [<confidence>]`, found {} fields",
                    f.len()
                ),
            ));
        }
        let number = |k: usize, name: &str| {
            f[k].parse::<f64>()
                .ok()
                .filter(|v| v.is_finite())
                .ok_or_else(|| {
                    AsrError::syntax(CTM, line, format!("{name} `{}` is not a number", f[k]))
                })
        };
        let begin = number(2, "begin time")?;
        let duration = number(3, "duration")?;
        if duration < 0.0 {
            return Err(AsrError::syntax(
                CTM,
                line,
                format!("duration {duration} is negative"),
            ));
        }
        let end = begin + duration;
        check_range(begin, end, |m| AsrError::syntax(CTM, line, m))?;
        let confidence = match f.get(5) {
            Some(_) => Some(number(5, "confidence")?),
            None => None,
        };
        let (file, chan) = (f[0].to_string(), f[1].to_string());
        let word = Word {
            text: f[4].to_string(),
            start_s: Some(begin),
            end_s: Some(end),
            confidence,
            speaker: None,
        };
        let same = last
            .as_ref()
            .is_some_and(|(lf, lc, le)| *lf == file && *lc == chan && begin - le <= CTM_GAP_S);
        match segments.last_mut() {
            Some(seg) if same => {
                seg.end_s = seg.end_s.max(end);
                seg.words.push(word);
            }
            _ => segments.push(HypSegment {
                start_s: begin,
                end_s: end,
                text: String::new(),
                words: vec![word],
                speaker: None,
                labels: Vec::new(),
                recording: Some(file.clone()),
            }),
        }
        last = Some((file, chan, end));
    }
    for s in &mut segments {
        s.text = join_text(s.words.iter().map(|w| w.text.as_str()));
    }
    Ok(Hypothesis {
        format: Format::Ctm,
        model: None,
        language: None,
        tier: None,
        segments,
        warnings: Vec::new(),
    })
}

pub(super) fn parse_whisper_tsv(text: &str) -> Result<Hypothesis, AsrError> {
    let mut lines = content_lines(text);
    match lines.next() {
        Some((_, h)) if h.trim_end() == WHISPER_TSV_HEADER => {}
        Some((line, _)) => {
            return Err(AsrError::syntax(
                WHISPER_TSV,
                line,
                "expected the header `start<TAB>end<TAB>text`",
            ));
        }
        None => return Err(AsrError::Empty),
    }
    let mut segments = Vec::new();
    for (line, l) in lines {
        let f: Vec<&str> = l.splitn(3, '\t').collect();
        if f.len() < 3 {
            return Err(AsrError::syntax(
                WHISPER_TSV,
                line,
                "expected `start<TAB>end<TAB>text` (milliseconds)",
            ));
        }
        let ms = |k: usize, name: &str| {
            let s = f[k].trim();
            s.parse::<u64>().map(|v| v as f64 / 1000.0).map_err(|_| {
                AsrError::syntax(
                    WHISPER_TSV,
                    line,
                    format!("{name} `{s}` is not a whole number of milliseconds"),
                )
            })
        };
        let (start, end) = (ms(0, "start")?, ms(1, "end")?);
        check_range(start, end, |m| AsrError::syntax(WHISPER_TSV, line, m))?;
        segments.push(HypSegment {
            start_s: start,
            end_s: end,
            text: f[2].trim().to_string(),
            words: Vec::new(),
            speaker: None,
            labels: Vec::new(),
            recording: None,
        });
    }
    Ok(Hypothesis {
        format: Format::WhisperTsv,
        model: None,
        language: None,
        tier: None,
        segments,
        warnings: Vec::new(),
    })
}

pub(super) fn parse_audacity(text: &str) -> Result<Hypothesis, AsrError> {
    let mut segments = Vec::new();
    for (line, l) in content_lines(text) {
        if l.starts_with('\\') {
            continue; // spectral selection of the label above
        }
        let f: Vec<&str> = l.splitn(3, '\t').collect();
        if f.len() < 2 {
            return Err(AsrError::syntax(
                AUDACITY,
                line,
                "expected `start<TAB>end<TAB>label`",
            ));
        }
        let number = |k: usize, name: &str| {
            let s = f[k].trim();
            if s.contains(',') {
                return Err(AsrError::syntax(
                    AUDACITY,
                    line,
                    format!(
                        "{name} `{s}` uses a decimal comma; Audacity writes seconds with a point"
                    ),
                ));
            }
            s.parse::<f64>()
                .ok()
                .filter(|v| v.is_finite())
                .ok_or_else(|| {
                    AsrError::syntax(
                        AUDACITY,
                        line,
                        format!("{name} `{s}` is not a number of seconds"),
                    )
                })
        };
        let (start, end) = (number(0, "start")?, number(1, "end")?);
        check_range(start, end, |m| AsrError::syntax(AUDACITY, line, m))?;
        segments.push(HypSegment {
            start_s: start,
            end_s: end,
            text: f.get(2).map_or("", |t| t.trim()).to_string(),
            words: Vec::new(),
            speaker: None,
            labels: Vec::new(),
            recording: None,
        });
    }
    Ok(Hypothesis {
        format: Format::Audacity,
        model: None,
        language: None,
        tier: None,
        segments,
        warnings: Vec::new(),
    })
}
