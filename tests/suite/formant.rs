//! Formant tracks against Praat's `To Formant (burg)` (0, 5, 5500, 0.025, 50) on every real
//! speech fixture. Reference tracks are made by fixtures/reference/make_praat_formant.sh from
//! the original files and committed; ours are computed as the product computes them, on the
//! analysis copy (mono, resampled to 16 kHz, 16-bit). The comparison is on the frames where
//! Praat's `To Pitch (ac)` finds voicing: formants of silence and fricatives are not formants.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use fangyan::analysis::formant::{FormantFrame, FormantParams, FormantTracker};
use fangyan::audio::resample::{DEFAULT_CHUNK, ResampleError, StreamResampler};

const RATE: u32 = 16_000;

const FIXTURES: [&str; 8] = [
    "en-jfk-44k1-stereo-s24.flac",
    "en-librispeech-1995-1837-0001.wav",
    "en-zhL1-speechocean762-000010011.wav",
    "en-zhL1-speechocean762-000030012.wav",
    "zh-aishell1-BAC009S0724W0121.wav",
    "zh-cosyvoice-zero_shot_prompt-24k-f32.wav",
    "zh-funasr-asr_example.wav",
    "zh-funasr-binhai-query.wav",
];

/// The analysis copy of a fixture, as ingest writes it: decoded to mono, resampled to 16 kHz,
/// rounded to 16 bits.
fn analysis_copy(name: &str) -> Vec<f32> {
    let (x, rate) = common::fangyan_decode_mono(&common::fixture(&format!("real/{name}")));
    let mut r = StreamResampler::new(rate, RATE, DEFAULT_CHUNK).unwrap();
    let mut out = Vec::new();
    let mut sink = |s: &[f32]| -> Result<(), ResampleError> {
        out.extend(
            s.iter()
                .map(|&v| f32::from((v.clamp(-1.0, 1.0) * 32767.0).round() as i16) / 32768.0),
        );
        Ok(())
    };
    r.push(&x, &mut sink).unwrap();
    r.finish(&mut sink).unwrap();
    out
}

/// One row of a reference track: time, F1–F4 (`None` where Praat has fewer), voiced.
fn praat(stem: &str) -> Vec<(f64, [Option<f64>; 4], bool)> {
    let tsv = std::fs::read_to_string(common::fixture(&format!(
        "reference/praat-formant-{stem}.tsv"
    )))
    .unwrap();
    tsv.lines()
        .skip(1)
        .map(|line| {
            let cols: Vec<&str> = line.split('\t').collect();
            let f = |k: usize| cols[1 + k].parse::<f64>().ok();
            (
                cols[0].parse().unwrap(),
                [f(0), f(1), f(2), f(3)],
                cols[5] == "1",
            )
        })
        .collect()
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// The frame of `ours` nearest to `t`.
fn nearest(ours: &[FormantFrame], t: f64) -> &FormantFrame {
    let k = ours.partition_point(|f| f.time_secs < t);
    [k.saturating_sub(1), k.min(ours.len() - 1)]
        .into_iter()
        .map(|k| &ours[k])
        .min_by(|a, b| (a.time_secs - t).abs().total_cmp(&(b.time_secs - t).abs()))
        .unwrap()
}

#[test]
fn agrees_with_praat_on_the_voiced_frames_of_every_real_fixture() {
    // Median relative difference allowed for F1, F2, F3.
    const BOUNDS: [f64; 3] = [0.05, 0.05, 0.08];
    let mut failures = Vec::new();
    for name in FIXTURES {
        let stem = name.rsplit_once('.').unwrap().0;
        let x = analysis_copy(name);
        let mut tracker = FormantTracker::new(RATE, FormantParams::default()).unwrap();
        let ours = tracker.track(&x);
        let reference = praat(stem);
        let mut rel: [Vec<f64>; 3] = Default::default();
        let mut values: [(Vec<f64>, Vec<f64>); 3] = Default::default();
        for (t, want, voiced) in &reference {
            if !voiced {
                continue;
            }
            let got = nearest(&ours, *t);
            // Praat's times run half a resampled sample ahead of ours (its first sample sits
            // at half a sample); anything more would be a different frame.
            assert!(
                (got.time_secs - t).abs() < 0.001,
                "{stem}: no frame of ours at {t} s (nearest {} s)",
                got.time_secs
            );
            for k in 0..3 {
                if let (Some(w), Some(g)) = (want[k], got.formants[k]) {
                    let g = f64::from(g);
                    rel[k].push((g - w).abs() / w);
                    values[k].0.push(g);
                    values[k].1.push(w);
                }
            }
        }
        assert!(
            rel[0].len() >= 100,
            "{stem}: only {} voiced frames",
            rel[0].len()
        );
        let medians = rel.clone().map(median);
        eprintln!(
            "{stem}: {} of {} frames voiced; median |ours - Praat| / Praat: F1 {:.2}%, F2 {:.2}%, \
             F3 {:.2}%; median F1/F2/F3 ours {:.0}/{:.0}/{:.0} Hz, Praat {:.0}/{:.0}/{:.0} Hz",
            rel[0].len(),
            reference.len(),
            100.0 * medians[0],
            100.0 * medians[1],
            100.0 * medians[2],
            median(values[0].0.clone()),
            median(values[1].0.clone()),
            median(values[2].0.clone()),
            median(values[0].1.clone()),
            median(values[1].1.clone()),
            median(values[2].1.clone()),
        );
        for k in 0..3 {
            if medians[k] > BOUNDS[k] {
                failures.push(format!(
                    "{stem}: F{} median {:.2}% > {:.0}%",
                    k + 1,
                    100.0 * medians[k],
                    100.0 * BOUNDS[k]
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}
