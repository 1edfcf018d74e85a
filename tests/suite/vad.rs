//! Voice-activity segmentation on real speech, on silence, and on a generated 10-minute file
//! of speech-like bursts whose boundaries are known.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use fangyan::analysis::vad::{Span, VadParams, features, segments};

const RATE: u32 = 16_000;

#[test]
fn finds_the_speech_region_of_the_binhai_query() {
    let mut r = hound::WavReader::open(common::fixture("real/zh-funasr-binhai-query.wav")).unwrap();
    let x: Vec<f32> = r
        .samples::<i16>()
        .map(|s| f32::from(s.unwrap()) / 32768.0)
        .collect();
    let spans = segments(
        &features(&x, RATE),
        x.len() as f64 / f64::from(RATE),
        VadParams::default(),
    );
    eprintln!("{spans:?}");
    let (first, last) = (spans.first().unwrap(), spans.last().unwrap());
    // Upstream's VAD golden file: speech from 0.770 to 5.980 s.
    assert!(
        (first.start - 0.77).abs() <= 0.1,
        "starts at {}",
        first.start
    );
    assert!((last.end - 5.98).abs() <= 0.1, "ends at {}", last.end);
}

#[test]
fn silence_alone_yields_no_segments() {
    let quiet: Vec<f32> = (0..RATE * 5)
        .map(|i| if i % 2 == 0 { 1e-5 } else { -1e-5 })
        .collect();
    assert!(segments(&features(&quiet, RATE), 5.0, VadParams::default()).is_empty());
    assert!(
        segments(
            &features(&vec![0.0; 80_000], RATE),
            5.0,
            VadParams::default()
        )
        .is_empty()
    );
}

/// Deterministic pseudo-random numbers in [0, 1).
struct Lcg(u64);
impl Lcg {
    fn next(&mut self) -> f64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
}

#[test]
fn boundaries_of_generated_bursts_are_found_within_50_ms() {
    let mut rng = Lcg(7);
    let total = 600.0;
    let mut x = Vec::with_capacity((total * f64::from(RATE)) as usize);
    let mut truth = Vec::new();
    let mut t = 0.0;
    let mut phase = 0.0f64;
    while t < total - 8.0 {
        let silence = 0.6 + 2.0 * rng.next();
        let speech = 0.5 + 4.5 * rng.next();
        let (a, b) = (t + silence, t + silence + speech);
        let f0 = 100.0 + 150.0 * rng.next();
        let level = 0.1 + 0.3 * rng.next();
        while (x.len() as f64) < b * f64::from(RATE) {
            let time = x.len() as f64 / f64::from(RATE);
            let noise = (rng.next() - 0.5) * 2e-3; // about −60 dBFS room noise
            let s = if time >= a {
                // A voice-like burst: harmonics over a drifting f0, with a syllable rhythm.
                phase += 2.0 * std::f64::consts::PI * f0 * (1.0 + 0.1 * (time * 3.0).sin())
                    / f64::from(RATE);
                let env = 0.6 + 0.4 * (2.0 * std::f64::consts::PI * 4.0 * (time - a)).cos().abs();
                level
                    * env
                    * (1..=10)
                        .map(|h| (h as f64 * phase).sin() / h as f64)
                        .sum::<f64>()
            } else {
                0.0
            };
            x.push((s + noise) as f32);
        }
        truth.push(Span { start: a, end: b });
        t = b;
    }
    let params = VadParams {
        padding: 0.0,
        min_silence: 0.3,
        ..Default::default()
    };
    let found = segments(
        &features(&x, RATE),
        x.len() as f64 / f64::from(RATE),
        params,
    );
    assert_eq!(found.len(), truth.len(), "segment count");
    let mut worst = 0.0f64;
    for (f, want) in found.iter().zip(&truth) {
        worst = worst
            .max((f.start - want.start).abs())
            .max((f.end - want.end).abs());
    }
    eprintln!(
        "{} bursts over {total} s, worst boundary error {:.1} ms",
        truth.len(),
        worst * 1e3
    );
    assert!(worst <= 0.05, "worst boundary error {worst} s");
}

#[test]
fn compact_features_segment_exactly_like_frames() {
    // Bursts over room noise, read in blocks as the ingest job reads the analysis copy.
    let mut rng = Lcg(11);
    let mut x = Vec::new();
    for burst in 0..40 {
        let silence = (0.5 + rng.next()) * f64::from(RATE);
        let speech = (0.3 + 2.0 * rng.next()) * f64::from(RATE);
        for i in 0..(silence + speech) as usize {
            let noise = (rng.next() - 0.5) * 2e-3;
            let t = i as f64 / f64::from(RATE);
            let voiced = if i as f64 >= silence {
                0.3 * (2.0 * std::f64::consts::PI * (110.0 + 5.0 * f64::from(burst)) * t).sin()
            } else {
                0.0
            };
            x.push((voiced + noise) as f32);
        }
    }
    let duration = x.len() as f64 / f64::from(RATE);
    let compact = fangyan::analysis::vad::Features::from_blocks(x.len(), RATE, &mut |s, n| {
        x[s.min(x.len())..(s + n).min(x.len())].to_vec()
    });
    assert_eq!(compact.len(), features(&x, RATE).len());
    for params in [
        VadParams::default(),
        VadParams {
            padding: 0.0,
            max_segment: 1.0,
            ..Default::default()
        },
    ] {
        let want = segments(&features(&x, RATE), duration, params);
        assert!(want.len() >= 30, "{} segments", want.len());
        assert_eq!(compact.segments(duration, params), want);
    }
}
