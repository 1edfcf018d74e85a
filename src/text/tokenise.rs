//! Tokenisation for scoring: which runs of text count as one token.
//!
//! Owns the three token kinds the metrics use and the CJK test behind them. It does not
//! normalise (see [`super::normalise`]); it only splits.
//!
//! - **Words**: whitespace-separated (WER; sclite's default, jiwer's `wer`).
//! - **Mixed**: every CJK character is a token and every other run of non-space characters is a
//!   word, so `我用iPhone打电话` is `我 用 iPhone 打 电 话`. This is the "CER" of Chinese
//!   benchmarks (WeNet's `compute-cer.py`, SpeechIO), also called MER, and equals
//!   `sclite -c NOASCII` whenever the Latin runs are plain ASCII. sclite would split a non-ASCII
//!   Latin word (`café`) into characters; we keep it whole.
//! - **Chars**: every non-space character (sclite `-c` without `NOASCII`).

/// How a text is cut into tokens before alignment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Tokenisation {
    /// Whitespace-separated words.
    Words,
    /// CJK characters one by one, other runs as words.
    Mixed,
    /// Every non-space character.
    Chars,
}

/// True for characters that are written without spaces and scored one by one: Han ideographs
/// (all CJK blocks and extensions, compatibility ideographs), kana, Hangul syllables, bopomofo,
/// CJK symbols and full-width punctuation.
pub fn is_cjk(c: char) -> bool {
    matches!(c as u32,
        0x2E80..=0x2FDF     // radicals supplement, Kangxi radicals
        | 0x3000..=0x303F   // CJK symbols and punctuation
        | 0x3040..=0x30FF   // hiragana, katakana
        | 0x3100..=0x312F   // bopomofo
        | 0x3190..=0x31FF   // kanbun, bopomofo extended, CJK strokes, katakana ext.
        | 0x3400..=0x4DBF   // extension A
        | 0x4E00..=0x9FFF   // unified ideographs
        | 0xAC00..=0xD7AF   // Hangul syllables
        | 0xF900..=0xFAFF   // compatibility ideographs
        | 0xFE30..=0xFE4F   // CJK compatibility forms
        | 0xFF00..=0xFF60   // full-width forms
        | 0x20000..=0x3134F // extensions B to H (U+20B76 and friends)
    )
}

/// Splits `text` into tokens of the given kind. Never returns empty tokens.
pub fn tokenise(text: &str, how: Tokenisation) -> Vec<&str> {
    match how {
        Tokenisation::Words => text.split_whitespace().collect(),
        Tokenisation::Chars => text
            .char_indices()
            .filter(|(_, c)| !c.is_whitespace())
            .map(|(i, c)| &text[i..i + c.len_utf8()])
            .collect(),
        Tokenisation::Mixed => mixed(text),
    }
}

fn mixed(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut run: Option<usize> = None;
    for (i, c) in text.char_indices() {
        if c.is_whitespace() || is_cjk(c) {
            if let Some(s) = run.take() {
                out.push(&text[s..i]);
            }
            if is_cjk(c) {
                out.push(&text[i..i + c.len_utf8()]);
            }
        } else if run.is_none() {
            run = Some(i);
        }
    }
    if let Some(s) = run {
        out.push(&text[s..]);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mixed_splits_cjk_and_keeps_latin_words() {
        assert_eq!(
            tokenise("我用iPhone打 电话 ok", Tokenisation::Mixed),
            ["我", "用", "iPhone", "打", "电", "话", "ok"]
        );
        assert_eq!(tokenise("𠭤 a", Tokenisation::Mixed), ["𠭤", "a"]);
        assert!(tokenise("  ", Tokenisation::Mixed).is_empty());
    }

    #[test]
    fn words_and_chars() {
        assert_eq!(tokenise(" a  bc ", Tokenisation::Words), ["a", "bc"]);
        assert_eq!(tokenise("a b中", Tokenisation::Chars), ["a", "b", "中"]);
    }
}
