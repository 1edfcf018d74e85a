//! Spans that follow their text: where a span of a segment's characters lands after the text
//! was edited, by a character diff, and whether a person should look at it again.

/// Where a span lands after its segment's text changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Anchor {
    /// First character (Unicode scalar offset), inclusive.
    pub start: usize,
    /// Last character, exclusive.
    pub end: usize,
    /// The characters now under the span (the old ones when all are gone).
    pub chars: String,
    /// The span's characters changed or are gone: a person should look.
    pub needs_review: bool,
}

/// Re-anchors the span `[start, end)` of `old` in `new` by a character diff (Myers, `similar`).
/// Characters inserted before the span shift it; a span whose characters all survive
/// contiguously moves silently; one that lost or gained characters shrinks or grows to what
/// survives and is flagged; one whose characters are all gone stays near where it was, flagged.
pub fn reanchor(old: &str, new: &str, start: usize, end: usize) -> Anchor {
    let o: Vec<char> = old.chars().collect();
    let n: Vec<char> = new.chars().collect();
    let mut map: Vec<Option<usize>> = vec![None; o.len()];
    for op in similar::capture_diff_slices(similar::Algorithm::Myers, &o, &n) {
        if let similar::DiffOp::Equal {
            old_index,
            new_index,
            len,
        } = op
        {
            for k in 0..len {
                if let Some(slot) = map.get_mut(old_index + k) {
                    *slot = Some(new_index + k);
                }
            }
        }
    }
    let end = end.min(o.len());
    let old_chars: String = o
        .get(start..end)
        .map(|c| c.iter().collect())
        .unwrap_or_default();
    let kept: Vec<usize> = (start..end)
        .filter_map(|i| map.get(i).copied().flatten())
        .collect();
    if let (Some(&first), Some(&last)) = (kept.first(), kept.last()) {
        let chars: String = n[first..=last].iter().collect();
        let exact = kept.len() == end - start && last - first + 1 == kept.len();
        return Anchor {
            start: first,
            end: last + 1,
            chars,
            needs_review: !exact,
        };
    }
    // all gone: just after the nearest surviving character before the span
    let before = (0..start.min(o.len()))
        .rev()
        .find_map(|i| map.get(i).copied().flatten())
        .map_or(0, |p| p + 1);
    let s = before.min(n.len().saturating_sub(1));
    let (s, e) = if n.is_empty() {
        (start, end.max(start + 1))
    } else {
        (s, s + 1)
    };
    Anchor {
        start: s,
        end: e,
        chars: old_chars,
        needs_review: true,
    }
}
