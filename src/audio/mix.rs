//! Turning decoded frames into the one analysis channel: non-finite samples become silence,
//! everything is clamped to [-1, 1] before anything else sees it (rubato panics on NaN, JSON
//! cannot carry it), then channels are averaged or one is selected.

use super::decode::ChannelMode;

/// Sanitises interleaved samples and mixes or selects them into `out`.
/// Returns how many non-finite samples were replaced.
pub(super) fn mix(
    interleaved: &[f32],
    channels: usize,
    mode: ChannelMode,
    out: &mut Vec<f32>,
) -> u64 {
    let mut nonfinite = 0u64;
    let mut clean = |s: f32| {
        if s.is_finite() {
            s.clamp(-1.0, 1.0)
        } else {
            nonfinite += 1;
            0.0
        }
    };
    match (mode, channels) {
        (ChannelMode::Mix, 1) => out.extend(interleaved.iter().map(|&s| clean(s))),
        (ChannelMode::Mix, 2) => out.extend(
            interleaved
                .chunks_exact(2)
                .map(|f| (clean(f[0]) + clean(f[1])) * 0.5),
        ),
        (ChannelMode::Mix, n) => {
            let scale = 1.0 / n as f32;
            out.extend(
                interleaved
                    .chunks_exact(n)
                    .map(|f| f.iter().map(|&s| clean(s)).sum::<f32>() * scale),
            );
        }
        (ChannelMode::Select(ch), n) => {
            // Non-finite samples in channels we drop do not matter, so only count the chosen one.
            out.extend(interleaved.chunks_exact(n).map(|f| clean(f[ch])));
        }
    }
    nonfinite
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mix_is_the_mean_and_sanitises_first() {
        let mut out = Vec::new();
        let n = mix(
            &[1.0, 0.0, f32::NAN, 0.5, 2.0, -4.0],
            2,
            ChannelMode::Mix,
            &mut out,
        );
        assert_eq!(out, vec![0.5, 0.25, 0.0]);
        assert_eq!(n, 1);
        out.clear();
        mix(
            &[0.1, 0.2, 0.3, 0.4, 0.5, 0.6],
            3,
            ChannelMode::Select(2),
            &mut out,
        );
        assert_eq!(out, vec![0.3, 0.6]);
        out.clear();
        mix(
            &[0.3, 0.3, 0.3, 0.6, 0.6, 0.6],
            3,
            ChannelMode::Mix,
            &mut out,
        );
        assert!((out[0] - 0.3).abs() < 1e-6 && (out[1] - 0.6).abs() < 1e-6);
    }
}
