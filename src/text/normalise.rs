//! The versioned text normaliser used before scoring (DIALECT.md §3.3).
//!
//! Owns the normalisation steps, their options (stored per project as JSON, hence serde) and the
//! `--normalise` option string of the CLI. It does not tokenise or score.
//!
//! Steps, always in this order, each switchable:
//!
//! 1. `fullwidth`: Unicode NFKC (`unicode-normalization`), which folds full-width letters,
//!    digits and punctuation to half width and U+3000 to a space.
//! 2. `markers`: removes `<|…|>`, `[…]`, `<…>` and `{…}` spans (non-speech markers such as
//!    `[noise]`, `<unk>`, SenseVoice's `<|zh|>`) and any `marker_words`; `[filler:呃]` becomes
//!    `呃`, or nothing when `fillers` is on.
//! 3. `t2s`: Traditional to Simplified with OpenCC's `t2s` dictionaries through
//!    **`ferrous-opencc`** (pure Rust, Apache-2.0, dictionaries compiled in, so no system
//!    libopencc). `zhconv` was the other candidate; it is GPL-2.0, which our MIT/Apache licence
//!    cannot carry.
//! 4. `case`: Latin lower case (so `OK` = `ok`; sclite is case-insensitive by default too).
//! 5. Numerals: `keep`, `digits-to-hanzi` or `hanzi-to-digits` ([`super::numerals`]).
//! 6. `fillers`: removes `filler_words` (CJK entries wherever they occur, Latin entries as
//!    whole words); `erhua`: drops an 儿 that follows a Han character, unless it is part of a
//!    word in `erhua_keep` (儿子, 女儿, 婴儿, …).
//! 7. `punct`: every punctuation character (ASCII, Latin-1, general, CJK and full-width
//!    blocks) becomes a space; an apostrophe between two letters is dropped (`don't` → `dont`).
//! 8. Whitespace is collapsed and trimmed; with `join-cjk`, spaces between two CJK characters
//!    are removed (`今天 天气` → `今天天气`).
//!
//! Any change to what a step does bumps [`NORMALISER_VERSION`], which every score carries.

use std::sync::OnceLock;

use serde::{Deserialize, Serialize};
use unicode_normalization::UnicodeNormalization;

use super::numerals;
pub use super::steps::is_punct;
use super::steps::{remove_erhua, remove_fillers, strip_markers, strip_punct, tidy_spaces};

/// Version of the normalisation rules; stored next to every CER computed with them.
pub const NORMALISER_VERSION: &str = "fangyan-norm-1";

/// What to do with numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NumeralPolicy {
    /// Leave numbers as written.
    Keep,
    /// Arabic digits become Chinese numerals (the recommended form for CER).
    #[default]
    DigitsToHanzi,
    /// Chinese numerals become digits where the reading is unambiguous.
    HanziToDigits,
}

/// Which normalisation steps run. `Default` is the recommended CER pipeline (every step on,
/// digits to hanzi); [`NormaliseOptions::none`] is the raw text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct NormaliseOptions {
    /// NFKC: full-width to half-width.
    pub fullwidth: bool,
    /// Remove bracketed non-speech markers and `marker_words`.
    pub markers: bool,
    /// Extra whole tokens removed as markers (e.g. `xxx`), beyond the bracket syntax.
    pub marker_words: Vec<String>,
    /// Traditional to Simplified.
    pub t2s: bool,
    /// Latin lower case.
    pub case: bool,
    /// Numbers.
    pub numerals: NumeralPolicy,
    /// Remove `filler_words`.
    pub fillers: bool,
    /// The fillers; DIALECT.md §3.2 and SpeechIO's list.
    pub filler_words: Vec<String>,
    /// Remove erhua 儿.
    pub erhua: bool,
    /// Words whose 儿 is not erhua.
    pub erhua_keep: Vec<String>,
    /// Replace punctuation by spaces.
    pub punct: bool,
    /// Remove spaces between CJK characters.
    pub join_cjk: bool,
}

impl Default for NormaliseOptions {
    fn default() -> Self {
        NormaliseOptions {
            fullwidth: true,
            markers: true,
            marker_words: Vec::new(),
            t2s: true,
            case: true,
            numerals: NumeralPolicy::DigitsToHanzi,
            fillers: true,
            filler_words: ["呃", "啊", "嗯"].map(String::from).to_vec(),
            erhua: true,
            erhua_keep: ERHUA_KEEP.map(String::from).to_vec(),
            punct: true,
            join_cjk: true,
        }
    }
}

const ERHUA_KEEP: [&str; 26] = [
    "儿子",
    "儿女",
    "儿孙",
    "儿媳",
    "儿童",
    "儿科",
    "儿歌",
    "儿戏",
    "儿化",
    "女儿",
    "妻儿",
    "婴儿",
    "幼儿",
    "孤儿",
    "胎儿",
    "少儿",
    "小儿",
    "男儿",
    "健儿",
    "宠儿",
    "患儿",
    "孙儿",
    "新生儿",
    "托儿所",
    "正儿八经",
    "吊儿郎当",
];

/// The step names of the option string, in pipeline order.
const STEPS: [&str; 10] = [
    "fullwidth",
    "markers",
    "t2s",
    "case",
    "digits-to-hanzi",
    "hanzi-to-digits",
    "fillers",
    "erhua",
    "punct",
    "join-cjk",
];

/// A bad `--normalise` option string.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("unknown normalisation step `{0}` (known: default, none, {steps})", steps = STEPS.join(", "))]
pub struct UnknownStep(pub String);

impl NormaliseOptions {
    /// No step at all: the raw text (whitespace is still collapsed).
    pub fn none() -> Self {
        NormaliseOptions {
            fullwidth: false,
            markers: false,
            t2s: false,
            case: false,
            numerals: NumeralPolicy::Keep,
            fillers: false,
            erhua: false,
            punct: false,
            join_cjk: false,
            ..Self::default()
        }
    }

    /// Parses a comma-separated list of steps, e.g. `fullwidth,punct,case,t2s,markers`.
    /// `default` turns on the recommended set and `none` turns everything off; a step prefixed
    /// with `-` is turned off (`default,-erhua`). Without `default`, unlisted steps are off.
    pub fn parse(spec: &str) -> Result<Self, UnknownStep> {
        let mut o = Self::none();
        for raw in spec.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            let (on, name) = match raw.strip_prefix('-') {
                Some(n) => (false, n),
                None => (true, raw),
            };
            match name {
                "default" | "all" if on => o = Self::default(),
                "none" | "raw" if on => o = Self::none(),
                "fullwidth" => o.fullwidth = on,
                "markers" => o.markers = on,
                "t2s" => o.t2s = on,
                "case" => o.case = on,
                "digits-to-hanzi" | "hanzi" => {
                    o.numerals = policy(on, NumeralPolicy::DigitsToHanzi)
                }
                "hanzi-to-digits" | "digits" => {
                    o.numerals = policy(on, NumeralPolicy::HanziToDigits)
                }
                "keep-numerals" => o.numerals = NumeralPolicy::Keep,
                "fillers" => o.fillers = on,
                "erhua" => o.erhua = on,
                "punct" => o.punct = on,
                "join-cjk" => o.join_cjk = on,
                _ => return Err(UnknownStep(raw.to_string())),
            }
        }
        Ok(o)
    }

    /// The steps that are on, as an option string that [`parse`](Self::parse) reads back.
    pub fn steps(&self) -> String {
        let on = [
            self.fullwidth,
            self.markers,
            self.t2s,
            self.case,
            self.numerals == NumeralPolicy::DigitsToHanzi,
            self.numerals == NumeralPolicy::HanziToDigits,
            self.fillers,
            self.erhua,
            self.punct,
            self.join_cjk,
        ];
        let steps: Vec<&str> = STEPS
            .iter()
            .zip(on)
            .filter(|(_, on)| *on)
            .map(|(s, _)| *s)
            .collect();
        if steps.is_empty() {
            "none".into()
        } else {
            steps.join(",")
        }
    }
}

fn policy(on: bool, p: NumeralPolicy) -> NumeralPolicy {
    if on { p } else { NumeralPolicy::Keep }
}

/// A configured normaliser. Cheap to build; the OpenCC tables load once per process.
#[derive(Debug, Clone, Default)]
pub struct Normaliser {
    opts: NormaliseOptions,
}

impl Normaliser {
    /// A normaliser with these options.
    pub fn new(opts: NormaliseOptions) -> Self {
        Normaliser { opts }
    }

    /// The identity normaliser (whitespace collapsed only).
    pub fn raw() -> Self {
        Normaliser::new(NormaliseOptions::none())
    }

    /// The options.
    pub fn options(&self) -> &NormaliseOptions {
        &self.opts
    }

    /// Version and steps, e.g. `fangyan-norm-1:fullwidth,markers,case,punct`: enough to redo a
    /// score (custom word lists aside, which live in the stored options).
    pub fn describe(&self) -> String {
        format!("{NORMALISER_VERSION}:{}", self.opts.steps())
    }

    /// Normalises one text.
    pub fn normalise(&self, text: &str) -> String {
        let o = &self.opts;
        let mut t: String = if o.fullwidth {
            text.nfkc().collect()
        } else {
            text.to_string()
        };
        if o.markers {
            t = strip_markers(&t, o.fillers, &o.marker_words);
        }
        if o.t2s {
            t = t2s(&t);
        }
        if o.case {
            t = t.to_lowercase();
        }
        t = match o.numerals {
            NumeralPolicy::Keep => t,
            NumeralPolicy::DigitsToHanzi => numerals::digits_to_hanzi(&t),
            NumeralPolicy::HanziToDigits => numerals::hanzi_to_digits(&t),
        };
        if o.fillers {
            t = remove_fillers(&t, &o.filler_words);
        }
        if o.erhua {
            t = remove_erhua(&t, &o.erhua_keep);
        }
        if o.punct {
            t = strip_punct(&t);
        }
        tidy_spaces(&t, o.join_cjk)
    }
}

fn t2s(text: &str) -> String {
    static T2S: OnceLock<Option<ferrous_opencc::OpenCC>> = OnceLock::new();
    let cc = T2S.get_or_init(|| {
        ferrous_opencc::OpenCC::from_config(ferrous_opencc::config::BuiltinConfig::T2s)
            .map_err(|e| tracing::error!("OpenCC t2s tables failed to load: {e}"))
            .ok()
    });
    cc.as_ref()
        .map_or_else(|| text.to_string(), |cc| cc.convert(text))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn norm(spec: &str, text: &str) -> String {
        Normaliser::new(NormaliseOptions::parse(spec).unwrap()).normalise(text)
    }

    #[test]
    fn each_step_alone() {
        assert_eq!(norm("fullwidth", "ＡＢＣ１２３，　好"), "ABC123, 好");
        assert_eq!(
            norm("markers", "[noise]你好<unk>吗<|zh|>{breath}"),
            "你好 吗"
        );
        assert_eq!(norm("markers", "[filler:呃]我"), "呃 我");
        assert_eq!(norm("markers,fillers", "[filler:呃]我"), "我");
        assert_eq!(norm("t2s", "這個東西很貴"), "这个东西很贵");
        assert_eq!(norm("case", "Hello WORLD"), "hello world");
        assert_eq!(norm("digits-to-hanzi", "有3个"), "有三个");
        assert_eq!(norm("hanzi-to-digits", "一百零五"), "105");
        assert_eq!(norm("fillers", "呃我啊去 um okay"), "我 去 um okay");
        assert_eq!(norm("erhua", "一点儿 哪儿 儿子 女儿"), "一点 哪 儿子 女儿");
        assert_eq!(
            norm("punct", "你好，世界！don't stop."),
            "你好 世界 dont stop"
        );
        assert_eq!(norm("join-cjk", "今天 天气 ok 好"), "今天天气 ok 好");
    }

    #[test]
    fn unclosed_bracket_keeps_the_text() {
        assert_eq!(norm("markers", "[未闭合 的括号"), "[未闭合 的括号");
    }

    #[test]
    fn latin_fillers_are_whole_words() {
        let mut o = NormaliseOptions::parse("fillers").unwrap();
        o.filler_words = vec!["um".into(), "呃".into()];
        assert_eq!(Normaliser::new(o).normalise("um, umbrella 呃"), "umbrella");
    }

    #[test]
    fn default_pipeline() {
        let n = Normaliser::default();
        assert_eq!(
            n.normalise("［笑］這個iPhone１２塊錢，呃，挺好的兒！"),
            "这个iphone十二块钱挺好的"
        );
        assert!(n.describe().starts_with(NORMALISER_VERSION));
    }

    #[test]
    fn option_strings_round_trip() {
        for spec in [
            "none",
            "fullwidth,punct,case,t2s,markers",
            "default",
            "default,-erhua",
        ] {
            let o = NormaliseOptions::parse(spec).unwrap();
            assert_eq!(NormaliseOptions::parse(&o.steps()).unwrap(), o, "{spec}");
        }
        assert_eq!(
            NormaliseOptions::parse("").unwrap(),
            NormaliseOptions::none()
        );
        assert_eq!(
            NormaliseOptions::parse("fullwidth,bogus"),
            Err(UnknownStep("bogus".into()))
        );
    }

    #[test]
    fn options_deserialise_from_partial_json() {
        let o: NormaliseOptions = serde_json::from_str(r#"{"erhua": false}"#).unwrap();
        assert!(!o.erhua && o.t2s);
        assert!(serde_json::from_str::<NormaliseOptions>(r#"{"erhau": false}"#).is_err());
    }
}
