//! Error rates and agreement: CER/WER of a hypothesis against a reference, sums over
//! utterances, inter-annotator CER and Cohen's kappa.
//!
//! Owns what a "score" is. Alignment lives in [`super::align`], token rules in
//! [`super::tokenise`], text rules in [`super::normalise`].
//!
//! - **CER** is computed over *mixed* tokens: each CJK character is a token, each Latin run a
//!   word (WeNet's `compute-cer.py`, SpeechIO; sclite `-c NOASCII`). For pure English text it
//!   therefore equals the WER.
//! - **WER** is over whitespace-separated words of the normalised text. With `join-cjk` on, a
//!   Chinese sentence is one "word", so read WER only for space-delimited languages.
//! - Totals are sums of counts (S + D + I over ΣN), never means of per-utterance rates.
//! - The default cost model is sclite's ([`CostModel::Sclite`]); jiwer's is available and can
//!   give different S/D/I splits and even totals (see [`super::align`]).
//! - jiwer's own `cer()` aligns every character *including spaces*, so on spaced or mixed text
//!   it is not this CER; our fixture compares with `jiwer.process_words` on the same tokens.

use std::collections::HashMap;
use std::hash::Hash;

use serde::Serialize;

use super::align::{CostModel, Counts, Op, align, count};
use super::normalise::Normaliser;
use super::tokenise::{Tokenisation, tokenise};

/// Counts for one pair of texts (or a sum of pairs), at both granularities.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct Score {
    /// Over mixed tokens (CJK characters, Latin words): the CER.
    pub chars: Counts,
    /// Over whitespace-separated words: the WER.
    pub words: Counts,
}

impl Score {
    /// Character (mixed-token) error rate; `None` for an empty reference.
    pub fn cer(&self) -> Option<f64> {
        self.chars.rate()
    }

    /// Word error rate; `None` for an empty reference.
    pub fn wer(&self) -> Option<f64> {
        self.words.rate()
    }

    /// Adds another pair's counts.
    pub fn add(&mut self, o: Score) {
        self.chars.add(o.chars);
        self.words.add(o.words);
    }
}

impl std::iter::Sum for Score {
    fn sum<I: Iterator<Item = Score>>(iter: I) -> Score {
        let mut total = Score::default();
        for s in iter {
            total.add(s);
        }
        total
    }
}

/// Normalises both texts, then counts errors with sclite's alignment.
pub fn score(reference: &str, hypothesis: &str, norm: &Normaliser) -> Score {
    score_with(reference, hypothesis, norm, CostModel::Sclite)
}

/// [`score`] with a chosen cost model.
pub fn score_with(reference: &str, hypothesis: &str, norm: &Normaliser, model: CostModel) -> Score {
    let r = norm.normalise(reference);
    let h = norm.normalise(hypothesis);
    Score {
        chars: counts(&r, &h, Tokenisation::Mixed, model),
        words: counts(&r, &h, Tokenisation::Words, model),
    }
}

/// Counts errors between two already-normalised texts.
pub fn counts(reference: &str, hypothesis: &str, how: Tokenisation, model: CostModel) -> Counts {
    let r = tokenise(reference, how);
    let h = tokenise(hypothesis, how);
    count(&align(&r, &h, model))
}

/// Agreement between two transcribers of the same segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct Agreement {
    /// Edits turning `a`'s text into `b`'s (mixed tokens); D and I swap if the sides swap.
    pub edits: Counts,
    /// Tokens in `b`'s text.
    pub n_b: u64,
}

impl Agreement {
    /// Symmetric inter-annotator CER: edits over the mean length of the two texts, so neither
    /// transcriber is the reference. `None` when both are empty.
    pub fn cer(&self) -> Option<f64> {
        let mean = (self.edits.n + self.n_b) as f64 / 2.0;
        (mean > 0.0).then(|| self.edits.errors() as f64 / mean)
    }

    /// Adds another segment (sum of edits over sum of mean lengths).
    pub fn add(&mut self, o: Agreement) {
        self.edits.add(o.edits);
        self.n_b += o.n_b;
    }
}

/// Inter-annotator agreement on one double-annotated segment, after normalisation. sclite's
/// costs are symmetric (insertion = deletion), so the error count does not depend on the order.
pub fn inter_annotator(a: &str, b: &str, norm: &Normaliser) -> Agreement {
    let (a, b) = (norm.normalise(a), norm.normalise(b));
    let edits = counts(&a, &b, Tokenisation::Mixed, CostModel::Sclite);
    Agreement {
        edits,
        n_b: tokenise(&b, Tokenisation::Mixed).len() as u64,
    }
}

/// Cohen's kappa for two annotators' categorical labels on the same items:
/// (p_o − p_e) / (1 − p_e). `None` for no items, or when chance agreement is certain
/// (both always used one and the same label), where kappa is undefined.
pub fn cohen_kappa<L: Eq + Hash>(pairs: &[(L, L)]) -> Option<f64> {
    if pairs.is_empty() {
        return None;
    }
    let n = pairs.len() as f64;
    let mut a: HashMap<&L, f64> = HashMap::new();
    let mut b: HashMap<&L, f64> = HashMap::new();
    let mut agree = 0.0;
    for (x, y) in pairs {
        *a.entry(x).or_default() += 1.0;
        *b.entry(y).or_default() += 1.0;
        if x == y {
            agree += 1.0;
        }
    }
    let po = agree / n;
    let pe: f64 = a
        .iter()
        .map(|(l, ca)| ca / n * b.get(l).copied().unwrap_or(0.0) / n)
        .sum();
    (pe < 1.0).then(|| (po - pe) / (1.0 - pe))
}

/// ASR errors charged to each character of the reference, for measuring error rates inside and
/// outside tagged spans. Only letters and digits take part (CJK characters are letters):
/// punctuation and spaces are skipped on both sides, so offsets stay those of `reference`'s
/// Unicode scalar values. A substitution or deletion is charged to its reference character; an
/// insertion to the reference character before it (the first one when it comes first).
/// Characters not taking part are charged nothing and report `false` in the second vector.
pub fn errors_by_char(reference: &str, hypothesis: &str) -> (Vec<u32>, Vec<bool>) {
    let rchars: Vec<char> = reference.chars().collect();
    let counted: Vec<bool> = rchars.iter().map(|c| c.is_alphanumeric()).collect();
    let r_idx: Vec<usize> = (0..rchars.len()).filter(|&i| counted[i]).collect();
    let r: Vec<char> = r_idx.iter().map(|&i| rchars[i]).collect();
    let h: Vec<char> = hypothesis.chars().filter(|c| c.is_alphanumeric()).collect();
    let mut errors = vec![0u32; rchars.len()];
    let mut last: Option<usize> = None;
    for step in align(&r, &h, CostModel::Levenshtein) {
        match (step.op, step.r) {
            (Op::Correct, Some(i)) => last = Some(r_idx[i]),
            (Op::Substitution | Op::Deletion, Some(i)) => {
                errors[r_idx[i]] += 1;
                last = Some(r_idx[i]);
            }
            (Op::Insertion, _) => {
                if let Some(at) = last.or_else(|| r_idx.first().copied()) {
                    errors[at] += 1;
                }
            }
            _ => {}
        }
    }
    (errors, counted)
}

#[cfg(test)]
mod tests {

    #[test]
    fn errors_are_charged_to_the_reference_characters_that_carry_them() {
        // 是 → 四 (substitution at 1), 的 deleted (at 3), 啊 inserted after 好 (at 5); ，skipped.
        let (e, counted) = super::errors_by_char("这是我的，好", "这四我，好啊");
        assert_eq!(e, vec![0, 1, 0, 1, 0, 1]);
        assert_eq!(counted, vec![true, true, true, true, false, true]);
        let (e, _) = super::errors_by_char("你好", "呃你好");
        assert_eq!(
            e,
            vec![1, 0],
            "a leading insertion goes to the first character"
        );
    }
    use super::*;

    #[test]
    fn cer_counts_characters_and_latin_words() {
        let s = score(
            "我用iPhone打电话",
            "我用 iphone 打电化",
            &Normaliser::default(),
        );
        assert_eq!(
            s.chars,
            Counts {
                s: 1,
                d: 0,
                i: 0,
                n: 6
            }
        );
        assert_eq!(s.cer(), Some(1.0 / 6.0));
    }

    #[test]
    fn empty_reference_has_no_rate() {
        let s = score("", "多了", &Normaliser::raw());
        assert_eq!(
            s.chars,
            Counts {
                s: 0,
                d: 0,
                i: 2,
                n: 0
            }
        );
        assert_eq!(s.cer(), None);
    }

    #[test]
    fn totals_are_sums_of_counts() {
        let n = Normaliser::raw();
        let total: Score = [score("a b c d", "a b c d", &n), score("x", "y", &n)]
            .into_iter()
            .sum();
        assert_eq!(total.wer(), Some(1.0 / 5.0));
    }

    #[test]
    fn agreement_is_symmetric() {
        let n = Normaliser::default();
        let ab = inter_annotator("今天天气很好", "今天天气好", &n);
        let ba = inter_annotator("今天天气好", "今天天气很好", &n);
        assert_eq!(ab.cer(), ba.cer());
        assert_eq!(ab.cer(), Some(1.0 / 5.5));
    }

    #[test]
    fn kappa_matches_the_textbook_example() {
        // 50 items: both yes 20, both no 15, a-yes/b-no 5, a-no/b-yes 10 → κ = 0.4
        let mut pairs = Vec::new();
        pairs.extend(std::iter::repeat_n(("y", "y"), 20));
        pairs.extend(std::iter::repeat_n(("n", "n"), 15));
        pairs.extend(std::iter::repeat_n(("y", "n"), 5));
        pairs.extend(std::iter::repeat_n(("n", "y"), 10));
        let k = cohen_kappa(&pairs).unwrap();
        assert!((k - 0.4).abs() < 1e-12, "{k}");
        assert_eq!(cohen_kappa(&[("a", "a"), ("a", "a")]), None);
        assert_eq!(cohen_kappa::<&str>(&[]), None);
    }
}
