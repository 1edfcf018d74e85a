//! Edit-distance alignment of two token sequences, with the tie-breaking of the two reference
//! tools, so our S/D/I counts equal theirs pair for pair.
//!
//! Owns the dynamic programme and the walk back through it. It does not tokenise or normalise.
//!
//! The two tools do not only break ties differently, they minimise different things:
//!
//! - **sclite** (NIST SCTK, `net_dp.c` and `wwd_WORD` in `word.c`) weighs a substitution 4 and an
//!   insertion or deletion 3, so it prefers one deletion plus one insertion (6) to two
//!   substitutions (8). `a b` → `b c` is `D C I` for sclite and `S S` for jiwer; `a b c d e` →
//!   `x y z a b` is 3 I + 3 D (6 errors) for sclite and 5 S for jiwer. Ties in the forward pass
//!   go to the diagonal, then to the insertion (a deletion must be strictly cheaper), and the
//!   path is read back from the end.
//! - **jiwer** (rapidfuzz `Levenshtein.opcodes`) minimises the plain error count with unit
//!   costs. rapidfuzz first sets aside the common prefix and suffix as matches, then walks back
//!   from the end preferring a deletion, then an insertion, then the diagonal, using the
//!   vertical differences of the distance matrix (`recover_alignment`). rapidfuzz switches to
//!   Hirschberg's algorithm above about 4 million cells (both sides over ~2000 tokens); we
//!   do not, so an S/D/I split there could differ (the total cannot).
//!
//! sclite's `@` null token, `(optionally deletable)` words and `-` fragments have no special
//! meaning here: after normalisation the brackets and hyphens are gone.
//!
//! Memory is one byte per cell (`ref.len() × hyp.len()`), time is the same in steps.

use serde::Serialize;

/// Which tool's alignment to reproduce.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CostModel {
    /// sclite: substitution 4, insertion/deletion 3, its tie-breaking. The default: it is what
    /// published Chinese CERs are computed with.
    #[default]
    Sclite,
    /// Unit-cost Levenshtein with rapidfuzz's tie-breaking, as jiwer reports it.
    Levenshtein,
}

/// One step of an alignment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Op {
    /// Reference and hypothesis tokens are equal.
    Correct,
    /// A reference token was replaced.
    Substitution,
    /// A reference token is missing from the hypothesis.
    Deletion,
    /// A hypothesis token has no reference counterpart.
    Insertion,
}

/// One aligned pair: indices into the reference and hypothesis token lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Step {
    /// What happened.
    pub op: Op,
    /// Reference token index (none for an insertion).
    pub r: Option<usize>,
    /// Hypothesis token index (none for a deletion).
    pub h: Option<usize>,
}

/// Substitution, deletion and insertion counts over `n` reference tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, serde::Deserialize)]
pub struct Counts {
    /// Substitutions.
    pub s: u64,
    /// Deletions.
    pub d: u64,
    /// Insertions.
    pub i: u64,
    /// Reference tokens (correct + substitutions + deletions).
    pub n: u64,
}

impl Counts {
    /// Errors: S + D + I.
    pub fn errors(&self) -> u64 {
        self.s + self.d + self.i
    }

    /// Correct tokens: N − S − D.
    pub fn correct(&self) -> u64 {
        self.n - self.s - self.d
    }

    /// Error rate (S + D + I) / N; `None` when the reference is empty, where no rate exists
    /// (jiwer returns the insertion count there, sclite prints a rate over zero).
    pub fn rate(&self) -> Option<f64> {
        (self.n > 0).then(|| self.errors() as f64 / self.n as f64)
    }

    /// Adds another utterance's counts (corpus-level rates are sums, not means of rates).
    pub fn add(&mut self, o: Counts) {
        self.s += o.s;
        self.d += o.d;
        self.i += o.i;
        self.n += o.n;
    }
}

impl std::iter::Sum for Counts {
    fn sum<I: Iterator<Item = Counts>>(iter: I) -> Counts {
        let mut total = Counts::default();
        for c in iter {
            total.add(c);
        }
        total
    }
}

/// Aligns `r` (reference) with `h` (hypothesis) and returns the steps in order.
pub fn align<T: PartialEq>(r: &[T], h: &[T], model: CostModel) -> Vec<Step> {
    match model {
        CostModel::Sclite => sclite(r, h),
        CostModel::Levenshtein => rapidfuzz(r, h),
    }
}

/// Counts the steps of an alignment.
pub fn count(steps: &[Step]) -> Counts {
    let mut c = Counts::default();
    for s in steps {
        match s.op {
            Op::Correct => c.n += 1,
            Op::Substitution => {
                c.s += 1;
                c.n += 1;
            }
            Op::Deletion => {
                c.d += 1;
                c.n += 1;
            }
            Op::Insertion => c.i += 1,
        }
    }
    c
}

const DIAG: u8 = 0;
const DEL: u8 = 1;
const INS: u8 = 2;

fn sclite<T: PartialEq>(r: &[T], h: &[T]) -> Vec<Step> {
    const SUB_COST: u32 = 4;
    const INDEL_COST: u32 = 3;
    let (n, m) = (r.len(), h.len());
    let w = m + 1;
    // Back pointers for every cell; costs in two rolling rows.
    let mut back = vec![DIAG; (n + 1) * w];
    let mut prev: Vec<u32> = (0..=m as u32).map(|j| j * INDEL_COST).collect();
    let mut cur = vec![0u32; w];
    back[1..w].fill(INS);
    for i in 1..=n {
        cur[0] = i as u32 * INDEL_COST;
        back[i * w] = DEL;
        for j in 1..=m {
            let sub = prev[j - 1] + if r[i - 1] == h[j - 1] { 0 } else { SUB_COST };
            let del = prev[j] + INDEL_COST;
            let ins = cur[j - 1] + INDEL_COST;
            let (cost, dir) = if sub <= del && sub <= ins {
                (sub, DIAG)
            } else if del < ins {
                (del, DEL)
            } else {
                (ins, INS)
            };
            cur[j] = cost;
            back[i * w + j] = dir;
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    let (mut i, mut j) = (n, m);
    let mut steps = Vec::with_capacity(n.max(m));
    while i > 0 || j > 0 {
        match back[i * w + j] {
            DIAG => {
                i -= 1;
                j -= 1;
                steps.push(diag(r, h, i, j));
            }
            DEL => {
                i -= 1;
                steps.push(del(i));
            }
            _ => {
                j -= 1;
                steps.push(ins(j));
            }
        }
    }
    steps.reverse();
    steps
}

fn rapidfuzz<T: PartialEq>(r: &[T], h: &[T]) -> Vec<Step> {
    let prefix = r.iter().zip(h).take_while(|(a, b)| a == b).count();
    let suffix = r[prefix..]
        .iter()
        .rev()
        .zip(h[prefix..].iter().rev())
        .take_while(|(a, b)| a == b)
        .count();
    let (rm, hm) = (&r[prefix..r.len() - suffix], &h[prefix..h.len() - suffix]);
    let (n, m) = (rm.len(), hm.len());
    // dv[j * (n + 1) + i] = D[i][j] - D[i-1][j] for i >= 1, as rapidfuzz's VP/VN bits hold it.
    let stride = n + 1;
    let mut dv = vec![0i8; stride * (m + 1)];
    let mut col: Vec<u32> = (0..=n as u32).collect();
    dv[1..=n].fill(1);
    for j in 1..=m {
        let mut next = vec![0u32; n + 1];
        next[0] = j as u32;
        for i in 1..=n {
            let sub = col[i - 1] + u32::from(rm[i - 1] != hm[j - 1]);
            next[i] = sub.min(col[i] + 1).min(next[i - 1] + 1);
            dv[j * stride + i] = (i64::from(next[i]) - i64::from(next[i - 1])) as i8;
        }
        col = next;
    }
    let mut steps: Vec<Step> = Vec::with_capacity(r.len().max(h.len()));
    for k in (0..suffix).rev() {
        steps.push(Step {
            op: Op::Correct,
            r: Some(r.len() - suffix + k),
            h: Some(h.len() - suffix + k),
        });
    }
    let (mut i, mut j) = (n, m);
    while i > 0 && j > 0 {
        if dv[j * stride + i] == 1 {
            i -= 1;
            steps.push(del(prefix + i));
        } else {
            j -= 1;
            if j > 0 && dv[j * stride + i] == -1 {
                steps.push(ins(prefix + j));
            } else {
                i -= 1;
                steps.push(diag(r, h, prefix + i, prefix + j));
            }
        }
    }
    while j > 0 {
        j -= 1;
        steps.push(ins(prefix + j));
    }
    while i > 0 {
        i -= 1;
        steps.push(del(prefix + i));
    }
    for k in (0..prefix).rev() {
        steps.push(Step {
            op: Op::Correct,
            r: Some(k),
            h: Some(k),
        });
    }
    steps.reverse();
    steps
}

fn diag<T: PartialEq>(r: &[T], h: &[T], i: usize, j: usize) -> Step {
    Step {
        op: if r[i] == h[j] {
            Op::Correct
        } else {
            Op::Substitution
        },
        r: Some(i),
        h: Some(j),
    }
}

fn del(i: usize) -> Step {
    Step {
        op: Op::Deletion,
        r: Some(i),
        h: None,
    }
}

fn ins(j: usize) -> Step {
    Step {
        op: Op::Insertion,
        r: None,
        h: Some(j),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counts(r: &str, h: &str, m: CostModel) -> (u64, u64, u64, u64) {
        let r: Vec<&str> = r.split_whitespace().collect();
        let h: Vec<&str> = h.split_whitespace().collect();
        let c = count(&align(&r, &h, m));
        (c.s, c.d, c.i, c.n)
    }

    #[test]
    fn the_tools_differ_where_the_module_doc_says() {
        assert_eq!(counts("a b", "b c", CostModel::Sclite), (0, 1, 1, 2));
        assert_eq!(counts("a b", "b c", CostModel::Levenshtein), (2, 0, 0, 2));
        assert_eq!(
            counts("a b c d e", "x y z a b", CostModel::Sclite),
            (0, 3, 3, 5)
        );
        assert_eq!(
            counts("a b c d e", "x y z a b", CostModel::Levenshtein),
            (5, 0, 0, 5)
        );
        assert_eq!(
            counts("a b c", "c a b", CostModel::Levenshtein),
            (0, 1, 1, 3)
        );
    }

    #[test]
    fn empty_sides() {
        for m in [CostModel::Sclite, CostModel::Levenshtein] {
            assert_eq!(counts("", "", m), (0, 0, 0, 0));
            assert_eq!(counts("", "a b", m), (0, 0, 2, 0));
            assert_eq!(counts("a b", "", m), (0, 2, 0, 2));
        }
    }

    #[test]
    fn steps_cover_both_sequences_in_order() {
        let r: Vec<char> = "abcdefgh".chars().collect();
        let h: Vec<char> = "xbcdyfgzh".chars().collect();
        for m in [CostModel::Sclite, CostModel::Levenshtein] {
            let steps = align(&r, &h, m);
            let rs: Vec<usize> = steps.iter().filter_map(|s| s.r).collect();
            let hs: Vec<usize> = steps.iter().filter_map(|s| s.h).collect();
            assert_eq!(rs, (0..r.len()).collect::<Vec<_>>());
            assert_eq!(hs, (0..h.len()).collect::<Vec<_>>());
        }
    }
}
