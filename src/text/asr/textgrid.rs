//! Praat TextGrid, long ("text") and short formats alike (FORMATS.md §6).
//!
//! Praat reads both the same way: it skips labels (`xmin =`, `item [1]:`) and takes only
//! free-standing numbers, quoted strings (`""` is an escaped quote) and `<flags>`, in a fixed
//! order. We do the same, so one reader covers both formats, and an error names the line of
//! the token that was not what the order requires. `!` starts a comment outside strings.
//! An interval tier gives one segment per non-empty interval; a point tier one per point
//! (start = end). A fangyan export (tiers `transcript`, `transcript 2`, …, each with its
//! `speaker` layer) is read whole by default, with each segment's speaker.

use super::{AsrError, Format, HypSegment, Hypothesis, check_range};

const TG: &str = "TextGrid";

#[derive(Debug, PartialEq)]
enum Tok {
    Num(f64),
    Str(String),
    Flag(String),
}

fn tokens(text: &str) -> Result<Vec<(usize, Tok)>, AsrError> {
    let mut out = Vec::new();
    let chars: Vec<char> = text.chars().collect();
    let mut line = 1;
    let mut k = 0;
    while k < chars.len() {
        let c = chars[k];
        if c == '\n' {
            line += 1;
            k += 1;
        } else if c == '!' {
            while k < chars.len() && chars[k] != '\n' {
                k += 1;
            }
        } else if c == '"' {
            let start_line = line;
            let mut s = String::new();
            k += 1;
            loop {
                match chars.get(k) {
                    None => return Err(AsrError::syntax(TG, start_line, "a string is not closed")),
                    Some('"') if chars.get(k + 1) == Some(&'"') => {
                        s.push('"');
                        k += 2;
                    }
                    Some('"') => {
                        k += 1;
                        break;
                    }
                    Some(&ch) => {
                        if ch == '\n' {
                            line += 1;
                        }
                        s.push(ch);
                        k += 1;
                    }
                }
            }
            out.push((start_line, Tok::Str(s)));
        } else if c == '<' {
            let end = (k..chars.len()).find(|&e| chars[e] == '>' || chars[e] == '\n');
            match end {
                Some(e) if chars[e] == '>' => {
                    out.push((line, Tok::Flag(chars[k + 1..e].iter().collect())));
                    k = e + 1;
                }
                _ => return Err(AsrError::syntax(TG, line, "a `<flag>` is not closed")),
            }
        } else if c.is_whitespace() {
            k += 1;
        } else {
            // A word: a number only when free-standing (after start, space or `=`).
            let free = k == 0 || chars[k - 1].is_whitespace() || chars[k - 1] == '=';
            let start = k;
            while k < chars.len() && !chars[k].is_whitespace() && chars[k] != '"' {
                k += 1;
            }
            let word: String = chars[start..k].iter().collect();
            if free && let Ok(v) = word.parse::<f64>() {
                out.push((line, Tok::Num(v)));
            }
        }
    }
    Ok(out)
}

struct Reader {
    toks: std::vec::IntoIter<(usize, Tok)>,
    line: usize,
}

impl Reader {
    fn next(&mut self, what: &str) -> Result<Tok, AsrError> {
        match self.toks.next() {
            Some((line, t)) => {
                self.line = line;
                Ok(t)
            }
            None => Err(AsrError::syntax(
                TG,
                self.line,
                format!("the file ends where {what} was expected"),
            )),
        }
    }

    fn num(&mut self, what: &str) -> Result<f64, AsrError> {
        match self.next(what)? {
            Tok::Num(v) => Ok(v),
            t => Err(AsrError::syntax(
                TG,
                self.line,
                format!("expected {what} (a number), found {t:?}"),
            )),
        }
    }

    fn string(&mut self, what: &str) -> Result<String, AsrError> {
        match self.next(what)? {
            Tok::Str(s) => Ok(s),
            t => Err(AsrError::syntax(
                TG,
                self.line,
                format!("expected {what} (a quoted string), found {t:?}"),
            )),
        }
    }

    fn count(&mut self, what: &str) -> Result<usize, AsrError> {
        let v = self.num(what)?;
        if v < 0.0 || v.fract() != 0.0 || v > 10_000_000.0 {
            return Err(AsrError::syntax(
                TG,
                self.line,
                format!("{what} {v} is not a count"),
            ));
        }
        Ok(v as usize)
    }
}

struct Tier {
    name: String,
    intervals: bool,
    items: Vec<(usize, f64, f64, String)>,
}

pub(super) fn parse(text: &str, tier: Option<&str>) -> Result<Hypothesis, AsrError> {
    let mut r = Reader {
        toks: tokens(text)?.into_iter(),
        line: 1,
    };
    if r.string("`File type = \"ooTextFile\"`")? != "ooTextFile" {
        return Err(AsrError::syntax(TG, r.line, "not an ooTextFile"));
    }
    let class = r.string("`Object class = \"TextGrid\"`")?;
    if class != "TextGrid" {
        return Err(AsrError::syntax(
            TG,
            r.line,
            format!("object class is {class:?}, not \"TextGrid\""),
        ));
    }
    r.num("xmin")?;
    r.num("xmax")?;
    match r.next("`tiers? <exists>`")? {
        Tok::Flag(f) if f == "exists" => {}
        Tok::Flag(_) => {
            return Err(AsrError::NoSuchTier {
                requested: tier.map(String::from),
                available: Vec::new(),
            });
        }
        t => {
            return Err(AsrError::syntax(
                TG,
                r.line,
                format!("expected `<exists>`, found {t:?}"),
            ));
        }
    }
    let n = r.count("the number of tiers")?;
    let mut tiers = Vec::with_capacity(n.min(1000));
    for _ in 0..n {
        let class = r.string("a tier class")?;
        let intervals = match class.as_str() {
            "IntervalTier" => true,
            "TextTier" => false,
            c => {
                return Err(AsrError::syntax(
                    TG,
                    r.line,
                    format!("unknown tier class {c:?}"),
                ));
            }
        };
        let name = r.string("the tier name")?;
        r.num("the tier xmin")?;
        r.num("the tier xmax")?;
        let m = r.count("the number of intervals or points")?;
        let mut items = Vec::with_capacity(m.min(100_000));
        for _ in 0..m {
            let start = r.num(if intervals {
                "an interval xmin"
            } else {
                "a point time"
            })?;
            let line = r.line;
            let end = if intervals {
                r.num("an interval xmax")?
            } else {
                start
            };
            check_range(start, end, |msg| AsrError::syntax(TG, line, msg))?;
            let label = r.string(if intervals {
                "an interval text"
            } else {
                "a point mark"
            })?;
            items.push((line, start, end, label));
        }
        tiers.push(Tier {
            name,
            intervals,
            items,
        });
    }
    let chosen: Vec<&Tier> = match tier {
        Some(name) => tiers.iter().filter(|t| t.name == name).take(1).collect(),
        // A fangyan export: every layer of the transcript (overlapping speech is in layers).
        None if tiers.iter().any(|t| t.name == "transcript") => tiers
            .iter()
            .filter(|t| t.intervals && super::export_layer(&t.name).is_some())
            .collect(),
        None => tiers
            .iter()
            .find(|t| t.intervals && t.items.iter().any(|i| !i.3.trim().is_empty()))
            .or(tiers.first())
            .into_iter()
            .collect(),
    };
    let Some(first) = chosen.first() else {
        return Err(AsrError::NoSuchTier {
            requested: tier.map(String::from),
            available: tiers.iter().map(|t| t.name.clone()).collect(),
        });
    };
    let tier_name = first.name.clone();
    let mut segments: Vec<HypSegment> = Vec::new();
    for t in chosen {
        // The speaker tier the export writes beside each transcript layer: its interval at
        // the same times names the speaker.
        let speakers = super::export_layer(&t.name)
            .map(|suffix| format!("speaker{suffix}"))
            .and_then(|name| tiers.iter().find(|s| s.name == name));
        segments.extend(t.items.iter().filter(|i| !i.3.trim().is_empty()).map(
            |(_, start, end, label)| HypSegment {
                start_s: *start,
                end_s: *end,
                text: label.trim().to_string(),
                words: Vec::new(),
                speaker: speakers.and_then(|s| {
                    s.items
                        .iter()
                        .find(|i| (i.1 - start).abs() < 1e-6 && (i.2 - end).abs() < 1e-6)
                        .map(|i| i.3.trim().to_string())
                        .filter(|v| !v.is_empty())
                }),
                labels: Vec::new(),
                recording: None,
            },
        ));
    }
    segments.sort_by(|a, b| a.start_s.total_cmp(&b.start_s));
    Ok(Hypothesis {
        format: Format::TextGrid,
        model: None,
        language: None,
        tier: Some(tier_name),
        segments,
        warnings: Vec::new(),
    })
}
