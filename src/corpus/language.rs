//! The language of each utterance, for the manifests that carry one (Lhotse `language`, NeMo
//! `lang`): a segment tag `language` (or `lang`) when there is one; else the script of the
//! text (Han characters: the project's language; Latin letters and no Han: English); else the
//! project default, the language of the Common Voice locale (`zh-CN` → `zh`).
//!
//! A detector on the script only: it cannot tell Cantonese from Mandarin written in Han
//! characters, which is why a tag wins and the default is the project's.

use super::nist::is_cjk;

/// The ISO 639 code of an utterance's language.
pub fn detect(text: &str, labels: &[(String, String)], locale: &str) -> String {
    if let Some((_, v)) = labels
        .iter()
        .find(|(f, v)| (f == "language" || f == "lang") && !v.trim().is_empty())
    {
        return v.trim().to_string();
    }
    let default = default_language(locale);
    let mut letters = false;
    let mut rest = text;
    // Markers (`[laughter]`) are no evidence of a language.
    while let Some(ch) = rest.chars().next() {
        if ch == '['
            && let Some(close) = rest.find(']')
        {
            rest = &rest[close + 1..];
            continue;
        }
        if is_cjk(ch) {
            return if is_han_language(&default) {
                default
            } else {
                "zh".into()
            };
        }
        letters |= ch.is_ascii_alphabetic();
        rest = &rest[ch.len_utf8()..];
    }
    if letters { "en".into() } else { default }
}

/// The language of a locale: `zh-CN` → `zh`, `yue` → `yue`; `zh` when empty.
pub fn default_language(locale: &str) -> String {
    let code = locale.split(['-', '_']).next().unwrap_or("").trim();
    if code.is_empty() {
        "zh".into()
    } else {
        code.to_lowercase()
    }
}

/// Languages written in Han characters.
fn is_han_language(code: &str) -> bool {
    matches!(
        code,
        "zh" | "cmn" | "yue" | "wuu" | "nan" | "hak" | "gan" | "hsn" | "cjy" | "cdo" | "cpx" | "ja"
    )
}

/// Lhotse's spelling (recipes write the English name): `zh` → `Chinese`; unknown codes as given.
pub fn lhotse_name(code: &str) -> String {
    match code {
        "zh" | "cmn" => "Chinese",
        "yue" => "Cantonese",
        "wuu" => "Wu",
        "nan" => "Min Nan",
        "hak" => "Hakka",
        "en" => "English",
        "ja" => "Japanese",
        other => other,
    }
    .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tag_then_script_then_default() {
        let none: &[(String, String)] = &[];
        assert_eq!(detect("And so my fellow Americans", none, "zh-CN"), "en");
        assert_eq!(detect("唔该 ask not", none, "yue"), "yue");
        assert_eq!(detect("唔该 ask not", none, "en-US"), "zh");
        assert_eq!(detect("[laughter] 123", none, "zh-CN"), "zh");
        let tagged = [("language".to_string(), "yue".to_string())];
        assert_eq!(detect("ok", &tagged, "zh-CN"), "yue");
        assert_eq!(lhotse_name("en"), "English");
    }
}
