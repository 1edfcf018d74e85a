//! SubRip (SRT) and WebVTT cues (FORMATS.md §8, 9, 16).
//!
//! SRT is read leniently where real files differ (`.` or `,` before the milliseconds, a missing
//! index line, no final blank line); a timing line that cannot be read, or a cue that ends before
//! it starts, is an error naming its line. Tags (`<i>`, `<font …>`, `{\an8}`, VTT `<c.x>`, ruby,
//! inline timestamps) are stripped, VTT entities unescaped, and `<v Speaker>` becomes the
//! segment's speaker. Multi-line cues are joined with a space (none between CJK characters).

use super::{AsrError, Format, HypSegment, Hypothesis, check_range, join_text};

const SRT: &str = "SRT";
const VTT: &str = "WebVTT";

/// Text split into blocks separated by blank lines, each with its first line's number.
fn blocks(text: &str) -> Vec<(usize, Vec<&str>)> {
    let mut out = Vec::new();
    let mut cur: Vec<&str> = Vec::new();
    let mut first = 0;
    for (k, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            if !cur.is_empty() {
                out.push((first, std::mem::take(&mut cur)));
            }
        } else {
            if cur.is_empty() {
                first = k + 1;
            }
            cur.push(line);
        }
    }
    if !cur.is_empty() {
        out.push((first, cur));
    }
    out
}

pub(super) fn parse_srt(text: &str) -> Result<Hypothesis, AsrError> {
    let mut segments = Vec::new();
    for (first, lines) in blocks(text) {
        let Some(t) = lines.iter().position(|l| l.contains("-->")) else {
            return Err(AsrError::syntax(
                SRT,
                first,
                "expected a timing line `00:00:01,000 --> 00:00:02,500`",
            ));
        };
        if t > 1 || (t == 1 && lines[0].trim().parse::<u64>().is_err()) {
            return Err(AsrError::syntax(
                SRT,
                first,
                "expected a cue number before the timing line",
            ));
        }
        let line = first + t;
        let (start, end, _) = timing(lines[t], SRT, line)?;
        let payload: Vec<String> = lines[t + 1..].iter().map(|l| strip_tags(l).0).collect();
        segments.push(HypSegment {
            start_s: start,
            end_s: end,
            text: join_text(payload.iter().map(String::as_str)),
            words: Vec::new(),
            speaker: None,
            labels: Vec::new(),
            recording: None,
        });
    }
    Ok(done(Format::Srt, segments))
}

pub(super) fn parse_vtt(text: &str) -> Result<Hypothesis, AsrError> {
    let mut all = blocks(text).into_iter();
    match all.next() {
        Some((1, header)) if is_vtt_header(header[0]) => {
            if header.iter().skip(1).any(|l| l.contains("-->")) {
                return Err(AsrError::syntax(
                    VTT,
                    2,
                    "a blank line must follow the WEBVTT header",
                ));
            }
        }
        _ => {
            return Err(AsrError::syntax(
                VTT,
                1,
                "the file must start with `WEBVTT`",
            ));
        }
    }
    let mut segments: Vec<HypSegment> = Vec::new();
    for (first, lines) in all {
        let kw = lines[0].split_whitespace().next().unwrap_or("");
        if matches!(kw, "NOTE" | "STYLE" | "REGION") && !lines[0].contains("-->") {
            continue;
        }
        let t = usize::from(!lines[0].contains("-->"));
        if t >= lines.len() || !lines[t].contains("-->") {
            return Err(AsrError::syntax(
                VTT,
                first + t,
                "expected a timing line `00:01.000 --> 00:02.500`",
            ));
        }
        let line = first + t;
        let (start, end, _settings) = timing(lines[t], VTT, line)?;
        if let Some(prev) = segments.last()
            && start < prev.start_s
        {
            return Err(AsrError::syntax(
                VTT,
                line,
                "cue starts before the previous cue",
            ));
        }
        let mut speaker = None;
        let mut payload = Vec::new();
        for (k, l) in lines[t + 1..].iter().enumerate() {
            if l.contains("-->") {
                return Err(AsrError::syntax(
                    VTT,
                    line + 1 + k,
                    "cue text may not contain `-->`",
                ));
            }
            let (text, voice) = strip_tags(l);
            speaker = speaker.or(voice);
            payload.push(unescape(&text));
        }
        segments.push(HypSegment {
            start_s: start,
            end_s: end,
            text: join_text(payload.iter().map(String::as_str)),
            words: Vec::new(),
            speaker,
            labels: Vec::new(),
            recording: None,
        });
    }
    Ok(done(Format::WebVtt, segments))
}

fn is_vtt_header(l: &str) -> bool {
    l == "WEBVTT"
        || l.strip_prefix("WEBVTT")
            .is_some_and(|r| r.starts_with([' ', '\t']))
}

fn done(format: Format, segments: Vec<HypSegment>) -> Hypothesis {
    Hypothesis {
        format,
        model: None,
        language: None,
        tier: None,
        segments,
        warnings: Vec::new(),
    }
}

/// `start --> end [settings]`.
fn timing<'a>(
    l: &'a str,
    format: &'static str,
    line: usize,
) -> Result<(f64, f64, &'a str), AsrError> {
    let (a, rest) = l.split_once("-->").unwrap_or((l, ""));
    let rest = rest.trim_start();
    let (b, settings) = rest.split_once([' ', '\t']).unwrap_or((rest, ""));
    let t = |s: &str| {
        timestamp(s.trim()).ok_or_else(|| {
            AsrError::syntax(format, line, format!("cannot read the time `{}`", s.trim()))
        })
    };
    let (start, end) = (t(a)?, t(b)?);
    check_range(start, end, |m| AsrError::syntax(format, line, m))?;
    Ok((start, end, settings))
}

/// `[hh:]mm:ss[.,]ttt` → seconds.
pub(super) fn timestamp(s: &str) -> Option<f64> {
    let (hms, ms) = s.rsplit_once(['.', ','])?;
    if ms.len() != 3 || !ms.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let parts: Vec<&str> = hms.split(':').collect();
    if !(2..=3).contains(&parts.len())
        || parts
            .iter()
            .any(|p| p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()))
    {
        return None;
    }
    let n: Vec<u64> = parts
        .iter()
        .map(|p| p.parse().ok())
        .collect::<Option<_>>()?;
    let (h, m, sec) = if n.len() == 3 {
        (n[0], n[1], n[2])
    } else {
        (0, n[0], n[1])
    };
    if m > 59 || sec > 59 {
        return None;
    }
    // Hours are unbounded in the syntax; an absurd count is a bad timestamp, not an overflow.
    let total_s = h.checked_mul(3600)?.checked_add(m * 60 + sec)?;
    let total_ms = total_s
        .checked_mul(1000)?
        .checked_add(ms.parse::<u64>().ok()?)?;
    Some(total_ms as f64 / 1000.0)
}

/// Removes `<…>` tags and `{\…}` overrides; returns the text and the first `<v Speaker>`.
fn strip_tags(l: &str) -> (String, Option<String>) {
    let mut out = String::with_capacity(l.len());
    let mut voice = None;
    let mut rest = l;
    while let Some(k) = rest.find(['<', '{']) {
        out.push_str(&rest[..k]);
        let close = if rest[k..].starts_with('<') { '>' } else { '}' };
        let is_override = close == '}' && rest[k + 1..].starts_with('\\');
        match rest[k..].find(close) {
            Some(e) if close == '>' || is_override => {
                let tag = &rest[k + 1..k + e];
                if let Some(v) = tag
                    .strip_prefix('v')
                    .filter(|v| v.starts_with([' ', '.', '\t']))
                {
                    let name = v.split_once(' ').map_or("", |(_, n)| n).trim();
                    if voice.is_none() && !name.is_empty() {
                        voice = Some(name.to_string());
                    }
                }
                rest = &rest[k + e + 1..];
            }
            _ => {
                out.push_str(&rest[k..=k]);
                rest = &rest[k + 1..];
            }
        }
    }
    out.push_str(rest);
    (out.trim().to_string(), voice)
}

fn unescape(s: &str) -> String {
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&nbsp;", "\u{a0}")
        .replace("&lrm;", "")
        .replace("&rlm;", "")
        .replace("&amp;", "&")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps() {
        assert_eq!(timestamp("00:01:02,345"), Some(62.345));
        assert_eq!(timestamp("01:02.003"), Some(62.003));
        assert_eq!(timestamp("10:00:00.000"), Some(36_000.0));
        for bad in [
            "1:02",
            "00:61.000",
            "00:01:02,34",
            "aa:01.000",
            "00:01:02:03.000",
            // Found by fuzzing: hours that overflow u64 milliseconds.
            "11111111111111:00:00,500",
            "18446744073709551615:00:00,000",
        ] {
            assert_eq!(timestamp(bad), None, "{bad}");
        }
    }

    #[test]
    fn tags_and_voices() {
        assert_eq!(
            strip_tags("<v 张三>你好<i>吗</i>"),
            ("你好吗".into(), Some("张三".into()))
        );
        assert_eq!(
            strip_tags("{\\an8}<font color=\"red\">hi</font> {x}"),
            ("hi {x}".into(), None)
        );
    }
}
