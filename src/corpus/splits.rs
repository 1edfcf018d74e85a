//! Speaker-disjoint train/dev/test splits, seeded and stable: the same speakers, lengths,
//! ratios and seed give the same assignment on every machine and every version.

use std::collections::BTreeMap;

use sha2::{Digest, Sha256};

/// SplitMix64: a tiny, stable PRNG, so splits never change with a dependency update.
fn splitmix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

fn str_hash(seed: u64, s: &str) -> u64 {
    let d = Sha256::digest(s.as_bytes());
    let mut b = [0u8; 8];
    b.copy_from_slice(&d[..8]);
    splitmix(seed ^ u64::from_le_bytes(b))
}

/// Assigns each speaker (by id, with its audio length and stratum) to a split: speakers in a
/// seeded order, each to the split furthest below its target share of the stratum's audio.
pub fn assign_splits(
    speakers: &[(String, u64, String)],
    ratios: [f64; 3],
    seed: u64,
) -> BTreeMap<String, usize> {
    let sum: f64 = ratios.iter().sum();
    let mut strata: BTreeMap<&str, Vec<(u64, &str, u64)>> = BTreeMap::new();
    for (id, len, stratum) in speakers {
        strata
            .entry(stratum.as_str())
            .or_default()
            .push((str_hash(seed, id), id.as_str(), *len));
    }
    let mut out = BTreeMap::new();
    for (_, mut group) in strata {
        group.sort();
        let total: u64 = group.iter().map(|g| g.2).sum();
        let mut given = [0u64; 3];
        for (_, id, len) in group {
            let mut best = 0;
            let mut best_gap = f64::NEG_INFINITY;
            for (i, r) in ratios.iter().enumerate() {
                if *r <= 0.0 {
                    continue;
                }
                let gap = (r / sum) * total as f64 - given[i] as f64;
                let gap = gap / (r / sum);
                if gap > best_gap {
                    best_gap = gap;
                    best = i;
                }
            }
            given[best] += len;
            out.insert(id.to_string(), best);
        }
    }
    out
}
