//! The terms of the text search index: every character of a transcript and every pair of
//! adjacent characters, each spelled as a word of lowercase ASCII letters. A substring query
//! of one character asks for its character; a longer one asks for all of its pairs. Every
//! transcript that contains the query holds all of those terms, so the index gives a superset
//! of the hits and the exact match decides.
//!
//! Decisions worth knowing:
//! - **Pairs, not trigrams.** Most Chinese words are two characters long, and a trigram index
//!   (SQLite's FTS5 `trigram`, Postgres's `pg_trgm`) cannot answer a query shorter than three
//!   characters from the index. `pg_trgm` also decides what a character is by the database's
//!   ctype, so under the `C` locale it finds no trigrams in Chinese at all.
//! - **Terms are spelled in letters** (five base-26 digits a code point, `a` to `z`), so both
//!   full-text engines read them as the same plain words whatever their locale: SQLite FTS5's
//!   `ascii` tokenizer and Postgres's `simple` configuration split them at the spaces and
//!   change nothing else. A code point needs at most 21 bits and 26⁵ > 2²³, so no spelling is
//!   ambiguous, and a character's term (5 letters) never equals a pair's (10).
//! - **A text with more than [`MAX_TERMS`] distinct terms is indexed as [`EVERYWHERE`]**, a
//!   term every query also accepts: the index stays small (Postgres caps a `tsvector` at
//!   1 MB) and such a segment is still a candidate for every search, which its exact match
//!   then decides.

use std::collections::BTreeSet;

/// Distinct terms indexed for one text at most.
pub const MAX_TERMS: usize = 4_000;

/// The term of a text that has too many to list: a candidate for every query. Its letters
/// spell 11 864 097, above every code point (at most 1 114 111), so no character or pair is spelled the same.
pub const EVERYWHERE: &str = "zzall";

fn spell(c: char, out: &mut String) {
    let mut v = u32::from(c);
    let mut digits = [b'a'; 5];
    for d in digits.iter_mut().rev() {
        *d = b'a' + (v % 26) as u8;
        v /= 26;
    }
    out.extend(digits.iter().map(|&d| char::from(d)));
}

fn unigram(c: char) -> String {
    let mut s = String::with_capacity(5);
    spell(c, &mut s);
    s
}

fn bigram(a: char, b: char) -> String {
    let mut s = String::with_capacity(10);
    spell(a, &mut s);
    spell(b, &mut s);
    s
}

/// The index document of a text: its distinct terms, space-separated, in a stable order
/// (or [`EVERYWHERE`] alone when there are more than [`MAX_TERMS`]).
pub fn document(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut terms = BTreeSet::new();
    for (i, &c) in chars.iter().enumerate() {
        terms.insert(unigram(c));
        if let Some(&next) = chars.get(i + 1) {
            terms.insert(bigram(c, next));
        }
        if terms.len() > MAX_TERMS {
            return EVERYWHERE.to_string();
        }
    }
    terms.into_iter().collect::<Vec<_>>().join(" ")
}

/// The terms a text containing `needle` must hold: its character when it is one, else its
/// distinct pairs. Empty for an empty needle.
pub fn query_terms(needle: &str) -> Vec<String> {
    let chars: Vec<char> = needle.chars().collect();
    match chars.as_slice() {
        [] => Vec::new(),
        [c] => vec![unigram(*c)],
        _ => {
            let pairs: BTreeSet<String> = chars.windows(2).map(|w| bigram(w[0], w[1])).collect();
            pairs.into_iter().collect()
        }
    }
}

/// The needle's distinct character pairs (or its one character), each with its term: what
/// [`query_terms`] asks for, with the text each term stands for, so a caller can count
/// which of them are rare in texts it has at hand and ask for those alone.
pub fn query_parts(needle: &str) -> Vec<(String, String)> {
    let chars: Vec<char> = needle.chars().collect();
    let parts: BTreeSet<(String, String)> = match chars.as_slice() {
        [] => BTreeSet::new(),
        [c] => BTreeSet::from([(unigram(*c), c.to_string())]),
        _ => chars
            .windows(2)
            .map(|w| (bigram(w[0], w[1]), w.iter().collect()))
            .collect(),
    };
    parts.into_iter().map(|(term, text)| (text, term)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_text_holds_every_term_of_each_of_its_substrings() {
        let text = "我在滨海新区有房, ok";
        let doc: BTreeSet<String> = document(text).split(' ').map(str::to_string).collect();
        let chars: Vec<char> = text.chars().collect();
        for a in 0..chars.len() {
            for b in a + 1..=chars.len() {
                let needle: String = chars[a..b].iter().collect();
                for t in query_terms(&needle) {
                    assert!(doc.contains(&t), "{needle:?}: {t} missing");
                }
            }
        }
        assert!(!doc.contains(&query_terms("星区")[0]));
    }

    #[test]
    fn terms_are_letters_and_unambiguous() {
        assert_eq!(unigram('a'), "aaadt"); // 97 = 3·26 + 19
        assert_eq!(unigram(char::MAX).len(), 5);
        assert!(unigram(char::MAX).as_str() < EVERYWHERE);
        assert_eq!(bigram('新', '区').len(), 10);
        assert_eq!(query_terms("新"), vec![unigram('新')]);
        assert_eq!(query_terms("新区新区").len(), 2); // 新区, 区新
        assert!(query_terms("").is_empty());
        let parts = query_parts("新区新区");
        assert_eq!(parts.len(), 2);
        assert!(
            parts
                .iter()
                .all(|(text, term)| query_terms(text) == [term.clone()])
        );
        let doc = document("新区");
        assert!(doc.bytes().all(|b| b == b' ' || b.is_ascii_lowercase()));
    }

    #[test]
    fn a_text_with_too_many_terms_is_a_candidate_everywhere() {
        let long: String = (0..3_000u32)
            .filter_map(|i| char::from_u32(0x4E00 + i))
            .collect();
        assert_eq!(document(&long), EVERYWHERE);
        assert_ne!(document("新区"), EVERYWHERE);
    }
}
