//! Pinyin for accent tagging: the expected form of characters (tone numbers, e.g. `shi4`, from
//! the `pinyin` crate's dictionary, MIT) and rule-based feature suggestions from an expected
//! and a realised form (DIALECT.md §2). Pure: no database or web code.

use pinyin::{ToPinyin, ToPinyinMulti};
use serde::Serialize;

/// The expected pinyin of `chars`, syllables separated by spaces, tones as trailing digits
/// (`是` → `shi4`; a neutral tone has no digit). Characters without a reading are kept as they
/// are; whitespace is dropped.
pub fn expected(chars: &str) -> String {
    let mut out: Vec<String> = Vec::new();
    for (c, p) in chars.chars().zip(chars.to_pinyin()) {
        match p {
            Some(p) => out.push(p.with_tone_num_end().to_string()),
            None if c.is_whitespace() => {}
            None => out.push(c.to_string()),
        }
    }
    out.join(" ")
}

/// Every reading of each character of `chars` that has one (whitespace dropped), the one
/// [`expected`] uses first: heteronyms (多音字: 行 `xing2 hang2 …`, 长, 了, 还) have several.
pub fn readings(chars: &str) -> Vec<(char, Vec<String>)> {
    chars
        .chars()
        .filter(|c| !c.is_whitespace())
        .map(|c| {
            let mut list: Vec<String> = Vec::new();
            if let Some(multi) = c.to_pinyin_multi() {
                for p in multi {
                    let r = p.with_tone_num_end().to_string();
                    if !list.contains(&r) {
                        list.push(r);
                    }
                }
            }
            (c, list)
        })
        .filter(|(_, list)| !list.is_empty())
        .collect()
}

/// At most this many alternatives are offered.
pub const MAX_ALTERNATIVES: usize = 20;

/// Other expected forms of `chars`: [`expected`] with one heteronym read another way, in
/// character then dictionary order (at most [`MAX_ALTERNATIVES`]).
pub fn alternatives(chars: &str) -> Vec<String> {
    let syllables: Vec<String> = expected(chars).split(' ').map(str::to_string).collect();
    let mut readings = readings(chars).into_iter();
    let mut out = Vec::new();
    // `expected` keeps characters without a reading as they are: walk both together.
    let mut next = readings.next();
    for (i, syllable) in syllables.iter().enumerate() {
        let Some((_, list)) = next.as_ref().filter(|(_, l)| l[0] == *syllable) else {
            continue;
        };
        for other in &list[1..] {
            let mut alt = syllables.clone();
            alt[i] = other.clone();
            out.push(alt.join(" "));
            if out.len() == MAX_ALTERNATIVES {
                return out;
            }
        }
        next = readings.next();
    }
    out
}

/// One pinyin syllable split into initial, final and tone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Syllable {
    /// Initial (`zh`, `n`, … or empty for a zero initial); `y`/`w` are kept as written.
    pub initial: String,
    /// Final, with `ü` written `ü` (a `v` is read as `ü`; `u` after j/q/x/y is `ü`).
    pub final_: String,
    /// 1 to 4, 5 for neutral (higher digits: tones of realised dialect forms); None when the
    /// syllable carries no tone digit.
    pub tone: Option<u8>,
}

const INITIALS: [&str; 26] = [
    "zh", "ch", "sh", "ng", "pf", "b", "p", "m", "f", "d", "t", "n", "l", "g", "k", "h", "j", "q",
    "x", "r", "z", "c", "s", "y", "w", "v",
];

/// Parses `shi4`, `lv3`, `nü3`, `ngan1`; None for what is not a pinyin-like syllable.
pub fn parse(s: &str) -> Option<Syllable> {
    let s = s.trim().to_lowercase().replace('v', "ü");
    let s = s.replace("u:", "ü");
    let (body, tone) = match s.chars().last() {
        // 1-5 for Mandarin (0 = neutral); realised forms may carry Cantonese tones up to 9
        Some(d @ '0'..='9') => {
            let t = d.to_digit(10).and_then(|t| u8::try_from(t).ok())?;
            (&s[..s.len() - 1], Some(if t == 0 { 5 } else { t }))
        }
        _ => (s.as_str(), None),
    };
    if body.is_empty() || !body.chars().all(|c| c.is_ascii_lowercase() || c == 'ü') {
        return None;
    }
    let mut initial = "";
    for i in INITIALS {
        // `v` as an initial only before a vowel other than ü (vei, van)
        if body.starts_with(i) && body.len() > i.len() {
            initial = i;
            break;
        }
    }
    // "ng" alone or "er" etc. have no initial; "v" was rewritten to ü above, so `vei` is `üei`
    let mut final_ = body[initial.len()..].to_string();
    let mut initial = initial.to_string();
    if initial.is_empty() && body.starts_with('ü') && body.len() > 'ü'.len_utf8() {
        let rest = &body['ü'.len_utf8()..];
        if rest.starts_with(['a', 'e', 'i', 'o']) {
            initial = "v".into();
            final_ = rest.to_string();
        }
    }
    if matches!(initial.as_str(), "j" | "q" | "x" | "y") && final_.starts_with('u') {
        final_ = format!("ü{}", &final_[1..]);
    }
    if initial == "y" && final_.starts_with('i') {
        // yi, yin, ying: y is only the spelling of the i onset
    }
    Some(Syllable {
        initial,
        final_,
        tone,
    })
}

/// A suggested feature code and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Suggestion {
    /// Feature code from the catalogue.
    pub code: &'static str,
    /// What the rule saw, e.g. `shi4 → si4: zh/ch/sh → z/c/s`.
    pub reason: String,
}

/// Characters whose syllable comes from the Middle Chinese entering tone (入声), where a tone
/// mismatch is more likely a category shift than a contour difference.
const RU_CHARS: &str = "一七八十六百国黑学白北出吃得福拍竹节石食日月木目读独毒族足哭屋药脚角鞋血雪铁骨发绿白麦客肉德色国";

fn retro_to_dental(i: &str) -> Option<&'static str> {
    match i {
        "zh" => Some("z"),
        "ch" => Some("c"),
        "sh" => Some("s"),
        _ => None,
    }
}

fn strip_medial_u(f: &str) -> Option<&'static str> {
    match f {
        "ui" | "uei" => Some("ei"),
        "uan" => Some("an"),
        "un" | "uen" => Some("en"),
        "uo" => Some("o"),
        _ => None,
    }
}

fn syllable_rules(
    e: &Syllable,
    r: &Syllable,
    ch: Option<char>,
    label: &str,
    out: &mut Vec<Suggestion>,
) {
    let mut push = |code: &'static str, why: &str| {
        out.push(Suggestion {
            code,
            reason: format!("{label}: {why}"),
        })
    };
    let (ei, ri) = (e.initial.as_str(), r.initial.as_str());
    let (ef, rf) = (e.final_.as_str(), r.final_.as_str());
    // initials
    if matches!(ei, "zh" | "ch" | "sh") && ef.starts_with('u') && matches!(ri, "pf" | "f") {
        push("INIT_RETRO_U_TO_PF", "zh/ch/sh + u → pf/f");
    } else if retro_to_dental(ei) == Some(ri) {
        push("INIT_RETRO_TO_DENTAL", "zh/ch/sh → z/c/s");
    } else if retro_to_dental(ri) == Some(ei) {
        push("INIT_DENTAL_TO_RETRO", "z/c/s → zh/ch/sh");
    }
    let palatal = |i: &str| matches!(i, "j" | "q" | "x");
    let retro = |i: &str| matches!(i, "zh" | "ch" | "sh");
    if (palatal(ei) && retro(ri)) || (retro(ei) && palatal(ri)) {
        push("INIT_PALATAL_TO_RETRO", "j/q/x ↔ zh/ch/sh");
    }
    if palatal(ei) && matches!(ri, "z" | "c" | "s") {
        push("INIT_JIANTUAN_SPLIT", "j/q/x → z/c/s before i/ü (尖音)");
    }
    if palatal(ei) && matches!(ri, "g" | "k" | "h") {
        push("LEX_COLLOQUIAL_READING", "j/q/x → g/k/h (白读, old velar)");
    }
    if (ei == "n" && ri == "l") || (ei == "l" && ri == "n") {
        push("INIT_N_L_MERGER", "n ↔ l");
    }
    if (ei == "f" && ri == "h") || (ei == "h" && ri == "f") {
        push("INIT_F_H_CONFUSION", "f ↔ h");
    }
    if ei == "r" && matches!(ri, "" | "y" | "l" | "z" | "n") {
        push("INIT_R_VARIANT", "r → y/zero, l, z or n");
    }
    if ei.is_empty() && matches!(ri, "ng" | "n") && !ef.starts_with(['i', 'u', 'ü']) {
        push("INIT_ZERO_TO_NG", "zero initial → ng/n");
    }
    if ei == "w" && ri == "v" {
        push("INIT_W_TO_V", "w → v");
    }
    let aspiration = [
        ("b", "p"),
        ("d", "t"),
        ("g", "k"),
        ("z", "c"),
        ("zh", "ch"),
        ("j", "q"),
    ];
    if aspiration
        .iter()
        .any(|&(a, b)| (ei == a && ri == b) || (ei == b && ri == a))
    {
        push("INIT_ASPIRATION", "aspiration mismatch");
    }
    // finals
    let nasal_pair = |a: &str, b: &str| a.strip_suffix('g') == Some(b) && a.ends_with("ng");
    if nasal_pair(ef, rf) || nasal_pair(rf, ef) {
        push("FINAL_N_NG_MERGER", "-n ↔ -ng");
    }
    if ef.starts_with('ü') && (rf.starts_with('i') || rf.starts_with('u')) && rf != ef {
        push("FINAL_UE_TO_I", "ü → i/u");
    }
    if matches!(ef, "ai" | "ao" | "ei") && matches!(rf, "a" | "e" | "o" | "ê") {
        push("FINAL_MONOPHTHONG", "diphthong → monophthong");
    }
    if matches!(ei, "d" | "t" | "n" | "l" | "z" | "c" | "s") && strip_medial_u(ef) == Some(rf) {
        push("FINAL_MEDIAL_U_LOSS", "medial u dropped");
    }
    if ef == "e" && matches!(ei, "g" | "k" | "h") && matches!(rf, "o" | "uo") {
        push("FINAL_E_TO_O", "e → o after g/k/h");
    }
    if ei.is_empty() && ef == "er" && ri.is_empty() && rf == "e" {
        push("FINAL_ER_TO_E", "er → e");
    }
    if ef.ends_with('r') && ef != "er" && format!("{rf}r") == ef {
        push("ERHUA_LOSS", "erhua dropped");
    }
    if rf.ends_with('r') && rf != "er" && format!("{ef}r") == rf {
        push("ERHUA_HEAVY", "erhua added");
    }
    if rf.ends_with(['p', 't', 'k']) {
        push("CODA_STOP_PTK", "stop coda -p/-t/-k");
    }
    // tones
    if let (Some(et), Some(rt)) = (e.tone, r.tone)
        && et != rt
    {
        if et == 5 {
            push(
                "NEUTRAL_TONE_ABSENT",
                "neutral tone spoken with a full tone",
            );
        } else if rt != 5 {
            let why = format!("tone {et} → {rt}");
            if ch.is_some_and(|c| RU_CHARS.contains(c)) {
                push("TONE_CATEGORY_SHIFT", &format!("{why} (入声 character)"));
                push("TONE_VALUE_SHIFT", &why);
            } else {
                push("TONE_VALUE_SHIFT", &why);
                push("TONE_CATEGORY_SHIFT", &why);
            }
        }
    }
}

/// Suggests feature codes from the expected and the realised pinyin (syllables separated by
/// spaces, tone digits). `chars` (the tagged characters, optional) refine the tone rule.
/// Realised IPA is matched only for checked syllables (`ʔ`) and stop codas. Best first,
/// without duplicates.
pub fn suggest(chars: &str, expected: &str, realised: &str) -> Vec<Suggestion> {
    let mut out = Vec::new();
    let es: Vec<&str> = expected.split_whitespace().collect();
    let rs: Vec<&str> = realised.split_whitespace().collect();
    if realised.contains('ʔ') {
        out.push(Suggestion {
            code: "TONE_RU_CHECKED",
            reason: "glottal stop ʔ: a checked syllable".into(),
        });
    }
    let cs: Vec<char> = chars.chars().filter(|c| !c.is_whitespace()).collect();
    if rs.len() < es.len() && !rs.is_empty() {
        let er_lost = es.iter().any(|s| s.starts_with("er")) && rs.len() + 1 == es.len();
        out.push(if er_lost {
            Suggestion {
                code: "ERHUA_LOSS",
                reason: format!("{} → {}: the 儿 syllable is gone", expected, realised),
            }
        } else {
            Suggestion {
                code: "SYLLABLE_REDUCTION",
                reason: format!("{} syllables → {}", es.len(), rs.len()),
            }
        });
    }
    if es.len() == rs.len() {
        let parsed: Vec<(Option<Syllable>, Option<Syllable>)> = es
            .iter()
            .zip(&rs)
            .map(|(e, r)| (parse(e), parse(r)))
            .collect();
        for (i, ((e, r), (es_i, rs_i))) in parsed.iter().zip(es.iter().zip(&rs)).enumerate() {
            if let (Some(e), Some(r)) = (e, r) {
                syllable_rules(
                    e,
                    r,
                    cs.get(i).copied(),
                    &format!("{es_i} → {rs_i}"),
                    &mut out,
                );
            }
        }
        // 3-3 sandhi kept: both syllables still tone 3 where the first should rise
        for w in parsed.windows(2) {
            if let [(Some(e1), Some(r1)), (Some(e2), Some(r2))] = w
                && e1.tone == Some(3)
                && e2.tone == Some(3)
                && r1.tone == Some(3)
                && r2.tone == Some(3)
            {
                out.push(Suggestion {
                    code: "TONE_SANDHI_NONSTD",
                    reason: "3-3 sandhi not applied".into(),
                });
            }
        }
    }
    let mut seen = std::collections::HashSet::new();
    out.retain(|s| seen.insert(s.code));
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn heteronyms_offer_their_other_readings_issue19() {
        let r = readings("行长");
        assert_eq!(r[0].0, '行');
        assert!(
            r[0].1.len() > 1 && r[0].1.contains(&"hang2".to_string()),
            "{r:?}"
        );
        assert!(r[1].1.contains(&"zhang3".to_string()), "{r:?}");
        assert!(r[1].1.contains(&"chang2".to_string()), "{r:?}");
        let alts = alternatives("行长");
        let first = expected("行长");
        assert!(!alts.contains(&first), "{alts:?}");
        assert!(alts.iter().all(|a| a.split(' ').count() == 2), "{alts:?}");
        for want in ["hang2", "chang2", "zhang3"] {
            assert!(
                alts.iter().any(|a| a.contains(want)) || first.contains(want),
                "{want} in {alts:?} / {first}"
            );
        }
        assert!(alternatives("了").iter().any(|a| a == "liao3" || a == "le"));
        assert!(
            alternatives("还")
                .iter()
                .any(|a| a == "huan2" || a == "hai2")
        );
        // A character without a reading keeps its place.
        assert!(alternatives("A行").iter().all(|a| a.starts_with("A ")));
        assert!(alternatives("是").is_empty() || readings("是")[0].1.len() > 1);
    }

    #[test]
    fn expected_forms() {
        assert_eq!(expected("是"), "shi4");
        assert_eq!(expected("牛奶"), "niu2 nai3");
        assert_eq!(expected("人名"), "ren2 ming2");
    }

    #[test]
    fn parses_syllables() {
        let s = parse("lv3").unwrap();
        assert_eq!(
            (s.initial.as_str(), s.final_.as_str(), s.tone),
            ("l", "ü", Some(3))
        );
        let s = parse("qu4").unwrap();
        assert_eq!(s.final_, "ü");
        let s = parse("ngan1").unwrap();
        assert_eq!(s.initial, "ng");
        let s = parse("an1").unwrap();
        assert_eq!(s.initial, "");
        assert!(parse("sɿ24").is_none());
    }
}
