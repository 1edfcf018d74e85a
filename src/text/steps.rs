//! The text-level steps of the normaliser: markers, fillers, erhua, punctuation, spaces.
//!
//! Owns how each step rewrites a string; which steps run, in what order and with which word
//! lists is decided by [`super::normalise`].

use super::tokenise::is_cjk;

/// Removes marker spans. A span never crosses a line and is at most 64 characters, so an
/// unclosed `[` cannot swallow the rest of a text.
pub(crate) fn strip_markers(text: &str, drop_fillers: bool, words: &[String]) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut k = 0;
    while k < chars.len() {
        let close = match (chars[k], chars.get(k + 1)) {
            ('<', Some('|')) => Some("|>"),
            ('[', _) => Some("]"),
            ('<', _) => Some(">"),
            ('{', _) => Some("}"),
            _ => None,
        };
        if let Some(close) = close {
            let end: Vec<char> = close.chars().collect();
            let found = (k + 1..chars.len().min(k + 66))
                .take_while(|&e| chars[e] != '\n')
                .find(|&e| chars[e..].starts_with(&end));
            if let Some(e) = found {
                let inner: String = chars[k + 1..e].iter().collect();
                if let Some(word) = filler_marker(&inner)
                    && !drop_fillers
                {
                    out.push(' ');
                    out.push_str(word);
                }
                out.push(' ');
                k = e + end.len();
                continue;
            }
        }
        out.push(chars[k]);
        k += 1;
    }
    if words.is_empty() {
        return out;
    }
    out.split_whitespace()
        .filter(|w| !words.iter().any(|m| m == w))
        .collect::<Vec<_>>()
        .join(" ")
}

/// `filler:呃` (any case) → `呃`.
fn filler_marker(inner: &str) -> Option<&str> {
    let (name, word) = inner.split_once(':')?;
    name.trim()
        .eq_ignore_ascii_case("filler")
        .then_some(word.trim())
}

pub(crate) fn remove_fillers(text: &str, fillers: &[String]) -> String {
    let (cjk, latin): (Vec<&String>, Vec<&String>) =
        fillers.iter().partition(|f| f.chars().any(is_cjk));
    let mut t = text.to_string();
    for f in cjk {
        t = t.replace(f.as_str(), " ");
    }
    if latin.is_empty() {
        return t;
    }
    t.split_whitespace()
        .filter(|w| {
            let bare = w.trim_matches(|c: char| c.is_ascii_punctuation());
            !latin.iter().any(|f| f.eq_ignore_ascii_case(bare))
        })
        .collect::<Vec<_>>()
        .join(" ")
}

pub(crate) fn remove_erhua(text: &str, keep: &[String]) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut kept = vec![false; chars.len()];
    for word in keep {
        let w: Vec<char> = word.chars().collect();
        if w.is_empty() {
            continue;
        }
        for start in 0..chars.len() {
            if chars[start..].starts_with(&w) {
                kept[start..start + w.len()].fill(true);
            }
        }
    }
    chars
        .iter()
        .enumerate()
        .filter(|&(k, &c)| {
            !(c == '儿' && !kept[k] && k > 0 && is_cjk(chars[k - 1]) && chars[k - 1] != '儿')
        })
        .map(|(_, &c)| c)
        .collect()
}

/// True for punctuation in the ASCII, Latin-1, general punctuation, CJK and full-width blocks.
/// 々, 〆, 〇 and the Hangzhou numerals of the CJK symbols block are letters, not punctuation.
pub fn is_punct(c: char) -> bool {
    c.is_ascii_punctuation()
        || matches!(c as u32,
            0xA1..=0xBF | 0xD7 | 0xF7
            | 0x2010..=0x205E
            | 0x3001..=0x3004 | 0x3008..=0x3020 | 0x3030 | 0x303D
            | 0x30FB
            | 0xFE10..=0xFE19 | 0xFE30..=0xFE6F
            | 0xFF01..=0xFF0F | 0xFF1A..=0xFF20 | 0xFF3B..=0xFF40 | 0xFF5B..=0xFF65)
}

pub(crate) fn strip_punct(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    for (k, &c) in chars.iter().enumerate() {
        if !is_punct(c) {
            out.push(c);
            continue;
        }
        let apostrophe = matches!(c, '\'' | '’')
            && k > 0
            && chars[k - 1].is_alphabetic()
            && chars
                .get(k + 1)
                .is_some_and(|n| n.is_alphabetic() && !is_cjk(*n));
        if !apostrophe {
            out.push(' ');
        }
    }
    out
}

pub(crate) fn tidy_spaces(text: &str, join_cjk: bool) -> String {
    let words: Vec<&str> = text.split_whitespace().collect();
    let mut out = String::with_capacity(text.len());
    for (k, w) in words.iter().enumerate() {
        if k > 0 {
            let prev = words[k - 1].chars().last().is_some_and(is_cjk);
            let next = w.chars().next().is_some_and(is_cjk);
            if !(join_cjk && prev && next) {
                out.push(' ');
            }
        }
        out.push_str(w);
    }
    out
}
