//! The analysis engine: everything the workbench draws is computed here, on the server, from
//! the analysis copy. Pure and synchronous, like `audio/`: no web, database or async code.
//!
//! - [`peaks`]: the waveform min/max pyramid, built during ingest, queried per viewport;
//! - [`stft`] and [`render`]: spectrogram frames and image tiles (PNG or raw rows);
//! - [`pitch`]: F0 with voicing and confidence, and intensity, at a 10 ms hop;
//! - [`formant`]: F1–F4 and their bandwidths by Burg LPC, after Praat's `To Formant (burg)`;
//! - [`vad`]: voice-activity segmentation, the first segments of a recording.

pub mod formant;
pub mod peaks;
pub mod pitch;
pub mod render;
pub mod stft;
pub mod vad;

/// Finds out whether windows of a block are digital silence (every sample exactly 0.0), for
/// windows whose start never moves backwards, in time linear in the block however much the
/// windows overlap. Pitch and VAD skip their transforms on such frames: the result of a frame
/// of zeros is known exactly, and long recordings are often mostly silence.
#[derive(Debug, Default)]
pub(crate) struct SilenceScan {
    /// The first nonzero sample at or after the last window's start (or the block's length),
    /// once a window was looked at.
    next: Option<usize>,
}

impl SilenceScan {
    /// Whether `x[from..to]` holds only zeros; indices outside `x` read as zero, as the
    /// analyses read them. `from` must not be less than the previous call's.
    pub(crate) fn silent(&mut self, x: &[f32], from: i64, to: i64) -> bool {
        let from = from.clamp(0, x.len() as i64) as usize;
        let to = to.clamp(0, x.len() as i64) as usize;
        let next = match self.next {
            Some(n) if n >= from => n,
            _ => {
                from + x[from..]
                    .iter()
                    .position(|&v| v != 0.0)
                    .unwrap_or(x.len() - from)
            }
        };
        self.next = Some(next);
        next >= to
    }
}

#[cfg(test)]
mod tests {
    use super::SilenceScan;

    #[test]
    fn silence_scan_agrees_with_looking_at_every_sample() {
        let mut x = vec![0.0f32; 500];
        for i in [3, 4, 90, 250, 251, 499] {
            x[i] = 1e-4;
        }
        for width in [1, 5, 40, 200] {
            let mut scan = SilenceScan::default();
            for from in -10..520i64 {
                let to = from + width;
                let want = (from.max(0)..to.min(500)).all(|i| x[i as usize] == 0.0);
                assert_eq!(scan.silent(&x, from, to), want, "{from}..{to}");
            }
        }
    }
}
