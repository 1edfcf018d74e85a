//! NIST STM (reference) and CTM (time-marked words) for sclite, one file each, both sorted by
//! file, channel and begin time, and tokenised the same way, so that
//! `sclite -r fangyan.stm stm -h fangyan.ctm ctm -e utf-8 -D` scores the pair at 0 %.
//!
//! Decisions worth knowing (issue 19):
//! - **One token per CJK character, English (and other alphabetic) runs by words**, in both
//!   files. The other layouts keep the text as stored; sclite needs the tokens spelled out.
//! - **Punctuation and symbols separate tokens and are not written**: `stmValidator.pl -l
//!   mandarin` rejects a token holding any of `!@#$^&*()`~_+={[}]|\<,>.?/-`, and sclite scores
//!   words, not punctuation.
//! - **Markers follow the NIST convention whatever `--markers` says**: `[laughter]` (or
//!   `<LAUGHTER>`, `[LAUGHTER]`) becomes the optionally deletable `(laughter)` in the STM and
//!   no word in the CTM; sclite's `-D` scores the missing word as correct. `--markers drop`
//!   leaves them out of both.
//! - **CTM word times** are spread evenly over the longest part of the segment that no other
//!   segment of the recording overlaps, so sclite, which hands each word to a reference
//!   segment by time, gives each word to its own segment. A segment lying wholly inside
//!   another has no such part; its words spread over the whole segment (score overlapped
//!   speech with asclite then).

use std::collections::BTreeMap;
use std::fmt::Write as _;

use super::{Corpus, MarkerMap, Utterance};

/// One STM/CTM token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Token {
    /// A word (a CJK character, or a run of letters, digits and apostrophes).
    Word(String),
    /// A marker, written `(name)` in the STM and not at all in the CTM.
    Marker(String),
}

/// Whether `ch` is a CJK ideograph (the unified blocks, extensions A to H, compatibility).
pub fn is_cjk(ch: char) -> bool {
    ('\u{3400}'..='\u{9FFF}').contains(&ch)
        || ('\u{F900}'..='\u{FAFF}').contains(&ch)
        || ('\u{20000}'..='\u{3FFFF}').contains(&ch)
}

/// The tokens of `text`, whose markers are in brackets as stored (`[laughter]`).
pub fn tokens(text: &str, markers: MarkerMap) -> Vec<Token> {
    let mut out = Vec::new();
    let mut word = String::new();
    let flush = |word: &mut String, out: &mut Vec<Token>| {
        if !word.is_empty() {
            out.push(Token::Word(std::mem::take(word)));
        }
    };
    let mut rest = text;
    while let Some(ch) = rest.chars().next() {
        if ch == '['
            && let Some(close) = rest.find(']')
        {
            flush(&mut word, &mut out);
            let name: String = rest[1..close]
                .chars()
                .filter(|c| c.is_alphanumeric())
                .flat_map(char::to_lowercase)
                .collect();
            if markers != MarkerMap::Drop && !name.is_empty() {
                out.push(Token::Marker(name));
            }
            rest = &rest[close + 1..];
            continue;
        }
        if is_cjk(ch) {
            flush(&mut word, &mut out);
            out.push(Token::Word(ch.to_string()));
        } else if ch.is_alphanumeric() || ch == '\'' {
            word.push(ch);
        } else {
            flush(&mut word, &mut out);
        }
        rest = &rest[ch.len_utf8()..];
    }
    flush(&mut word, &mut out);
    out
}

/// Milliseconds of an analysis-sample position, rounded.
fn ms(samples: u64, rate: u32) -> u64 {
    (samples * 1000 + u64::from(rate) / 2) / u64::from(rate)
}

/// `s.mmm` of a millisecond count.
fn secs(ms: u64) -> String {
    format!("{}.{:03}", ms / 1000, ms % 1000)
}

/// The longest part of `own` that none of `others` covers; `own` itself when there is none.
fn exclusive(own: (u64, u64), others: &[(u64, u64)]) -> (u64, u64) {
    let mut cuts: Vec<(u64, u64)> = others
        .iter()
        .filter(|o| o.0 < own.1 && o.1 > own.0)
        .copied()
        .collect();
    cuts.sort_unstable();
    let mut best = None::<(u64, u64)>;
    let mut t = own.0;
    for (a, b) in cuts.into_iter().chain([(own.1, own.1)]) {
        if a > t && best.is_none_or(|x| a - t > x.1 - x.0) {
            best = Some((t, a.min(own.1)));
        }
        t = t.max(b);
    }
    best.unwrap_or(own)
}

/// The STM and CTM texts of the corpus.
pub(super) fn render(c: &Corpus, markers: MarkerMap) -> (String, String) {
    let mut by_rec: BTreeMap<&str, Vec<&Utterance>> = BTreeMap::new();
    for u in &c.utterances {
        by_rec
            .entry(c.recordings[u.recording].id.as_str())
            .or_default()
            .push(u);
    }
    let mut stm = String::new();
    let _ = writeln!(stm, ";; fangyan export of {}", c.project.replace('\n', " "));
    let mut ctm = String::new();
    for (rec_id, utts) in &mut by_rec {
        let rate = c.recordings[utts[0].recording].analysis_rate;
        let span = |u: &Utterance| {
            let a = ms(u.start, rate);
            (a, ms(u.end, rate).max(a + 1))
        };
        utts.sort_by(|a, b| (span(a), &a.id).cmp(&(span(b), &b.id)));
        let spans: Vec<(u64, u64)> = utts.iter().map(|u| span(u)).collect();
        let mut words: Vec<(u64, u64, String)> = Vec::new();
        for (i, u) in utts.iter().enumerate() {
            let toks = tokens(&u.marked, markers);
            let text: Vec<String> = toks
                .iter()
                .map(|t| match t {
                    Token::Word(w) => w.clone(),
                    Token::Marker(m) => format!("({m})"),
                })
                .collect();
            let (a, b) = spans[i];
            let _ = writeln!(
                stm,
                "{rec_id} A {} {} {} {}",
                c.speakers[u.speaker].id,
                secs(a),
                secs(b),
                text.join(" ")
            );
            let others: Vec<(u64, u64)> = spans
                .iter()
                .enumerate()
                .filter(|(j, _)| *j != i)
                .map(|(_, s)| *s)
                .collect();
            let (a, b) = exclusive((a, b), &others);
            let list: Vec<&String> = toks
                .iter()
                .filter_map(|t| match t {
                    Token::Word(w) => Some(w),
                    Token::Marker(_) => None,
                })
                .collect();
            let n = list.len() as u64;
            for (k, w) in list.into_iter().enumerate() {
                let k = k as u64;
                let begin = a + (b - a) * k / n;
                let end = a + (b - a) * (k + 1) / n;
                words.push((begin, end - begin, w.clone()));
            }
        }
        // Sorted by begin even where segments overlap (stable: a segment's words keep order).
        words.sort_by_key(|w| w.0);
        for (begin, dur, w) in words {
            let _ = writeln!(ctm, "{rec_id} A {} {} {w}", secs(begin), secs(dur));
        }
    }
    (stm, ctm)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(text: &str, m: MarkerMap) -> Vec<String> {
        tokens(text, m)
            .into_iter()
            .map(|t| match t {
                Token::Word(w) => w,
                Token::Marker(m) => format!("({m})"),
            })
            .collect()
    }

    #[test]
    fn chinese_by_character_english_by_word_punctuation_dropped() {
        assert_eq!(
            words("今天 ok, 天𠝹[laughter]“好”-well-known", MarkerMap::Keep),
            [
                "今",
                "天",
                "ok",
                "天",
                "𠝹",
                "(laughter)",
                "好",
                "well",
                "known"
            ]
        );
        assert_eq!(words("a [NOISE] b", MarkerMap::Drop), ["a", "b"]);
        assert_eq!(words("don't [UNK]", MarkerMap::Upper), ["don't", "(unk)"]);
    }

    #[test]
    fn exclusive_part_is_the_longest_uncovered_piece() {
        assert_eq!(exclusive((0, 100), &[(60, 200)]), (0, 60));
        assert_eq!(exclusive((60, 200), &[(0, 100)]), (100, 200));
        assert_eq!(exclusive((0, 100), &[(5, 20), (30, 90)]), (20, 30));
        assert_eq!(exclusive((10, 20), &[(0, 100)]), (10, 20));
    }
}
