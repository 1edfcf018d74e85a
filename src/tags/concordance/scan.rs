//! The bounded part of a concordance search: matching candidate rows against the substring or
//! regex, on the work pool, within the request's deadline.
//!
//! Decisions worth knowing:
//! - **Regexes run on a lazy DFA that may give up.** The `regex` crate is linear time, but its
//!   fallback engine costs pattern size × text size: `(?:a?){5000}a{5000}` over 60 000
//!   characters takes seconds per segment. We search with regex-automata's lazy DFA, told to
//!   give up when its cache thrashes; a pattern that makes it give up may still use the
//!   PikeVM (through `regex`), but only on a segment where NFA states × bytes stays under
//!   [`SLOW_CAP`]; otherwise the search ends as [`Stop::TooCostly`]. So no single segment can
//!   take long, and the deadline, checked between segments, bounds the whole scan.
//! - **Matches stop at [`PER_TEXT`] a segment and at the page**, and byte offsets become
//!   character offsets in one pass per segment: a one-letter needle over 60 000 equal letters
//!   costs a page of hits, not 60 000 × 60 000 character counts.

use std::time::Duration;

use regex_automata::util::iter::Searcher;
use regex_automata::{Input, hybrid, nfa::thompson, util::syntax};

use crate::error::AppError;
use crate::work::Deadline;

/// Longest regex pattern accepted, in bytes.
pub(super) const MAX_PATTERN: usize = 500;
/// Longest substring accepted, in characters.
pub(super) const MAX_TEXT: usize = 200;
/// Hits one segment's text gives at most (a one-letter needle over 60 000 equal letters).
pub(super) const PER_TEXT: usize = 500;
/// Compiled program limit (the `regex` crate's and the NFA's), bytes.
const SIZE_LIMIT: usize = 1 << 20;
/// Lazy DFA cache per search, bytes.
const DFA_CACHE: usize = 2 << 20;
/// Most NFA states × segment bytes the PikeVM fallback may take on (tens of milliseconds).
const SLOW_CAP: usize = 20_000_000;
/// Bytes scanned between two looks at the clock.
const CHECK_EVERY_BYTES: usize = 256 << 10;
/// Segments scanned between two looks at the clock.
const CHECK_EVERY_SEGMENTS: usize = 64;

/// Why a scan ended before its candidates did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Stop {
    /// The deadline passed (503 `search_timeout`).
    Timeout,
    /// The pattern is too costly for a segment's text (400 `search_too_costly`).
    TooCostly,
}

impl Stop {
    /// The answer to the client.
    pub(super) fn error(self, budget: Duration) -> AppError {
        match self {
            Stop::Timeout => AppError::Unavailable(
                "search_timeout",
                "the search took longer than its time budget; narrow it (more filters, a simpler pattern)",
            ),
            Stop::TooCostly => AppError::bad(
                "search_too_costly",
                "regex",
                format!(
                    "this pattern is too costly to search within {budget:?}; simplify it \
                     (fewer or smaller repetitions, or (?-u:\\b) for word boundaries)"
                ),
            ),
        }
    }
}

/// What a search looks for.
pub(super) enum Matcher {
    /// Every occurrence of a substring.
    Text(String),
    /// Every match of a regex.
    Regex(Box<Pattern>),
    /// Nothing in the text (span filters alone).
    None,
}

/// A regex compiled twice: the lazy DFA that may give up, and the `regex` crate's engines
/// for the segments where the fallback is cheap.
pub(super) struct Pattern {
    fast: hybrid::regex::Regex,
    slow: regex::Regex,
    states: usize,
}

impl Pattern {
    /// Compiles `pattern`, refusing long or oversized ones (400 `invalid_regex`).
    pub(super) fn new(pattern: &str) -> Result<Self, AppError> {
        let invalid = |m: String| AppError::bad("invalid_regex", "regex", m);
        if pattern.len() > MAX_PATTERN {
            return Err(invalid(format!("at most {MAX_PATTERN} characters")));
        }
        let slow = regex::RegexBuilder::new(pattern)
            .size_limit(SIZE_LIMIT)
            .dfa_size_limit(SIZE_LIMIT)
            .build()
            .map_err(|e| invalid(e.to_string()))?;
        let fast = hybrid::regex::Regex::builder()
            .syntax(syntax::Config::new())
            .thompson(thompson::Config::new().nfa_size_limit(Some(SIZE_LIMIT)))
            .dfa(
                hybrid::dfa::Config::new()
                    .cache_capacity(DFA_CACHE)
                    .minimum_cache_clear_count(Some(3))
                    .minimum_bytes_per_state(Some(10))
                    .unicode_word_boundary(true),
            )
            .build(pattern)
            .map_err(|e| invalid(e.to_string()))?;
        let states = fast.forward().get_nfa().states().len();
        Ok(Self { fast, slow, states })
    }
}

/// Byte ranges of up to `want` non-empty matches of `p` in `text`.
fn regex_matches(
    p: &Pattern,
    cache: &mut hybrid::regex::Cache,
    text: &str,
    want: usize,
) -> Result<Vec<(usize, usize)>, Stop> {
    let mut out = Vec::new();
    let mut it = Searcher::new(Input::new(text));
    loop {
        match it.try_advance(|input| p.fast.try_search(cache, input)) {
            Ok(Some(m)) if m.is_empty() => {}
            Ok(Some(m)) => {
                out.push((m.start(), m.end()));
                if out.len() >= want {
                    return Ok(out);
                }
            }
            Ok(None) => return Ok(out),
            Err(_) => break, // the lazy DFA gave up (or met non-ASCII at a Unicode \b)
        }
    }
    if p.states.saturating_mul(text.len()) > SLOW_CAP {
        return Err(Stop::TooCostly);
    }
    Ok(p.slow
        .find_iter(text)
        .filter(|m| !m.is_empty())
        .take(want)
        .map(|m| (m.start(), m.end()))
        .collect())
}

/// Byte ranges of up to `want` occurrences of `needle`.
fn text_matches(text: &str, needle: &str, want: usize) -> Vec<(usize, usize)> {
    if needle.is_empty() {
        return Vec::new();
    }
    text.match_indices(needle)
        .take(want)
        .map(|(i, m)| (i, i + m.len()))
        .collect()
}

/// Byte ranges (ascending, disjoint) to character ranges, in one pass over `text`.
pub(super) fn char_ranges(text: &str, bytes: &[(usize, usize)]) -> Vec<(usize, usize)> {
    let mut out = Vec::with_capacity(bytes.len());
    let (mut at, mut chars) = (0, 0);
    for &(a, b) in bytes {
        chars += text[at..a].chars().count();
        let start = chars;
        chars += text[a..b].chars().count();
        at = b;
        out.push((start, chars));
    }
    out
}

/// Scans texts in order under `deadline`, calling `found` with each text's index and its
/// character ranges (a span candidate asks only whether there is a match: `whole`). Texts
/// come in groups (a segment's spans, or the segment itself), and a page holds whole groups:
/// the scan stops at the first group boundary after `want` hits were reported (so a page may
/// hold a few more), or early with the reason. A text reports at most [`PER_TEXT`] hits.
///
/// Returns how many texts were consumed.
pub(super) fn scan<'a>(
    texts: impl IntoIterator<Item = (&'a str, bool, i64)>,
    matcher: &Matcher,
    mut want: usize,
    deadline: &Deadline,
    mut found: impl FnMut(usize, Vec<(usize, usize)>),
) -> (usize, Option<Stop>) {
    let mut cache = match matcher {
        Matcher::Regex(p) => Some(p.fast.create_cache()),
        _ => None,
    };
    // Look at the clock before the first text too: a job that waited out its budget in the
    // queue does no work.
    let (mut bytes, mut segments, mut consumed) = (0, CHECK_EVERY_SEGMENTS, 0);
    let mut group = None;
    for (i, (text, whole, g)) in texts.into_iter().enumerate() {
        if want == 0 && group != Some(g) {
            break;
        }
        group = Some(g);
        if bytes >= CHECK_EVERY_BYTES || segments >= CHECK_EVERY_SEGMENTS {
            (bytes, segments) = (0, 0);
            if deadline.expired() {
                return (consumed, Some(Stop::Timeout));
            }
        }
        bytes += text.len();
        segments += 1;
        let limit = if whole { 1 } else { PER_TEXT };
        let ranges = match (matcher, cache.as_mut()) {
            (Matcher::Regex(p), Some(cache)) => match regex_matches(p, cache, text, limit) {
                Ok(r) => r,
                Err(stop) => return (consumed, Some(stop)),
            },
            (Matcher::Text(needle), _) => text_matches(text, needle, limit),
            _ => Vec::new(),
        };
        consumed = i + 1;
        let n = if whole {
            usize::from(!ranges.is_empty() || matches!(matcher, Matcher::None))
        } else {
            ranges.len()
        };
        if n > 0 {
            found(i, char_ranges(text, &ranges));
        }
        want = want.saturating_sub(n);
    }
    (consumed, None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[allow(clippy::type_complexity)]
    fn run(
        texts: &[&str],
        m: &Matcher,
        want: usize,
    ) -> (Vec<(usize, Vec<(usize, usize)>)>, usize, Option<Stop>) {
        let mut hits = Vec::new();
        let d = Deadline::after(Duration::from_secs(5));
        let groups = texts.iter().zip(0..);
        let (n, stop) = scan(groups.map(|(t, g)| (*t, false, g)), m, want, &d, |i, r| {
            hits.push((i, r))
        });
        (hits, n, stop)
    }

    #[test]
    fn character_offsets_and_the_hit_limit() {
        let m = Matcher::Text("是".into());
        let (hits, n, stop) = run(&["我是广西人他说是的", "是"], &m, 3);
        assert_eq!(hits, [(0, vec![(1, 2), (7, 8)]), (1, vec![(0, 1)])]);
        assert_eq!((n, stop), (2, None));
        // A page ends with a whole segment: all four hits of the first, none of the second.
        let (hits, n, _) = run(&["aaaa", "aa"], &Matcher::Text("a".into()), 3);
        assert_eq!(
            (hits, n),
            (vec![(0, vec![(0, 1), (1, 2), (2, 3), (3, 4)])], 1)
        );
        let long = "a".repeat(60_000);
        let (hits, _, _) = run(&[&long], &Matcher::Text("a".into()), 3);
        assert_eq!(hits[0].1.len(), PER_TEXT);
    }

    #[test]
    fn regexes_match_as_the_regex_crate_does_even_after_the_dfa_gives_up() {
        let m = Matcher::Regex(Box::new(Pattern::new("说.").unwrap()));
        assert_eq!(run(&["他说是的"], &m, 10).0, [(0, vec![(1, 3)])]);
        // a Unicode word boundary makes the lazy DFA quit on non-ASCII; the small pattern
        // falls back to the PikeVM
        let m = Matcher::Regex(Box::new(Pattern::new(r"\bni\b").unwrap()));
        assert_eq!(run(&["我 ni 好"], &m, 10).0, [(0, vec![(2, 4)])]);
    }

    #[test]
    fn a_hostile_pattern_is_too_costly_not_slow() {
        let text = "a".repeat(60_000);
        let m = Matcher::Regex(Box::new(Pattern::new("(?:a?){5000}a{5000}").unwrap()));
        let t = std::time::Instant::now();
        let (_, _, stop) = run(&[&text], &m, 10);
        assert_eq!(stop, Some(Stop::TooCostly));
        assert!(t.elapsed() < Duration::from_secs(1), "{:?}", t.elapsed());
    }

    #[test]
    fn an_expired_deadline_stops_between_segments() {
        let texts = vec!["x"; 1000];
        let d = Deadline::after(Duration::ZERO);
        let (n, stop) = scan(
            texts.iter().map(|t| (*t, false, 0)),
            &Matcher::Text("y".into()),
            10,
            &d,
            |_, _| {},
        );
        assert_eq!((n, stop), (0, Some(Stop::Timeout)));
        let texts = vec!["x"; 1_000_000];
        let d = Deadline::after(Duration::from_millis(30));
        let (n, stop) = scan(
            texts.iter().map(|t| {
                std::thread::sleep(Duration::from_nanos(10));
                (*t, false, 0)
            }),
            &Matcher::Text("y".into()),
            10,
            &d,
            |_, _| {},
        );
        assert_eq!(stop, Some(Stop::Timeout));
        assert!(n > 0 && n % CHECK_EVERY_SEGMENTS == 0, "{n}");
    }
}
