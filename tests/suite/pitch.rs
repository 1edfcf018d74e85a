//! Pitch tracking: synthetic tones and glides from 100 to 400 Hz, and agreement with Praat's
//! `To Pitch (ac)` on the real Mandarin fixtures (reference tracks made by
//! fixtures/reference/make_praat_pitch.sh and committed).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use fangyan::analysis::pitch::{PitchParams, PitchTracker};

const RATE: u32 = 16_000;

/// A voice-like tone: harmonics with falling amplitude, following `f0(t)`.
fn voiced(secs: f64, f0: impl Fn(f64) -> f64) -> (Vec<f32>, Vec<f64>) {
    let n = (secs * f64::from(RATE)) as usize;
    let mut phase = 0.0f64;
    let mut x = Vec::with_capacity(n);
    let mut truth = Vec::with_capacity(n);
    for i in 0..n {
        let f = f0(i as f64 / f64::from(RATE));
        phase += 2.0 * std::f64::consts::PI * f / f64::from(RATE);
        let s: f64 = (1..=8).map(|h| (h as f64 * phase).sin() / h as f64).sum();
        x.push((0.3 * s) as f32);
        truth.push(f);
    }
    (x, truth)
}

fn errors(x: &[f32], truth: &[f64]) -> (f64, f64, usize) {
    let track = PitchTracker::new(RATE, PitchParams::default()).track(x);
    let mut rel = Vec::new();
    let mut gross = 0;
    let mut unvoiced = 0;
    // Skip the first and last 50 ms, where the window runs off the signal.
    for (t, f) in track.times.iter().zip(&track.f0_hz) {
        if *t < 0.05 || *t > x.len() as f64 / f64::from(RATE) - 0.05 {
            continue;
        }
        let want = truth[(*t * f64::from(RATE)) as usize];
        match f {
            Some(f) => {
                let e = (f64::from(*f) - want).abs() / want;
                if e > 0.2 {
                    gross += 1;
                }
                rel.push(e);
            }
            None => unvoiced += 1,
        }
    }
    let n = rel.len() + unvoiced;
    rel.sort_by(f64::total_cmp);
    ((gross + unvoiced) as f64 / n as f64, rel[rel.len() / 2], n)
}

#[test]
fn steady_tones_from_100_to_400_hz() {
    for f0 in [100.0, 137.0, 200.0, 263.0, 333.0, 400.0] {
        let (x, truth) = voiced(1.0, |_| f0);
        let (gross, median, n) = errors(&x, &truth);
        eprintln!(
            "{f0} Hz: gross {:.2}%, median {:.3}% over {n} frames",
            gross * 100.0,
            median * 100.0
        );
        assert!(
            gross < 0.02 && median < 0.01,
            "{f0} Hz: gross {gross}, median {median}"
        );
    }
}

#[test]
fn glides_up_and_down() {
    let (x, truth) = voiced(3.0, |t| 100.0 + 100.0 * t); // 100 -> 400 Hz
    let (gross, median, _) = errors(&x, &truth);
    eprintln!(
        "rising glide: gross {:.2}%, median {:.3}%",
        gross * 100.0,
        median * 100.0
    );
    assert!(
        gross < 0.02 && median < 0.01,
        "rising: gross {gross}, median {median}"
    );
    let (x, truth) = voiced(3.0, |t| 400.0 * (0.25f64).powf(t / 3.0)); // 400 -> 100 Hz, exponential
    let (gross, median, _) = errors(&x, &truth);
    eprintln!(
        "falling glide: gross {:.2}%, median {:.3}%",
        gross * 100.0,
        median * 100.0
    );
    assert!(
        gross < 0.02 && median < 0.01,
        "falling: gross {gross}, median {median}"
    );
}

fn read_mono(name: &str) -> (Vec<f32>, u32) {
    let mut r = hound::WavReader::open(common::fixture(&format!("real/{name}.wav"))).unwrap();
    let spec = r.spec();
    let x = match spec.sample_format {
        hound::SampleFormat::Float => r.samples::<f32>().map(Result::unwrap).collect(),
        hound::SampleFormat::Int => r
            .samples::<i16>()
            .map(|s| f32::from(s.unwrap()) / 32768.0)
            .collect(),
    };
    (x, spec.sample_rate)
}

#[test]
fn agrees_with_praat_on_real_mandarin() {
    for name in [
        "zh-aishell1-BAC009S0724W0121",
        "zh-cosyvoice-zero_shot_prompt-24k-f32",
        "zh-funasr-asr_example",
        "zh-funasr-binhai-query",
    ] {
        let (x, rate) = read_mono(name);
        let params = PitchParams {
            min_hz: 75.0,
            max_hz: 600.0,
            ..Default::default()
        };
        let ours = PitchTracker::new(rate, params).track(&x);
        let praat = std::fs::read_to_string(common::fixture(&format!(
            "reference/praat-pitch-{name}.tsv"
        )))
        .unwrap();
        let (mut both, mut close) = (0, 0);
        for line in praat.lines().skip(1) {
            let mut cols = line.split('\t');
            let t: f64 = cols.next().unwrap().parse().unwrap();
            let Ok(want) = cols.next().unwrap().parse::<f64>() else {
                continue;
            };
            let k = (t / ours.hop_secs).round() as usize;
            let Some(Some(got)) = ours.f0_hz.get(k) else {
                continue;
            };
            both += 1;
            if (f64::from(*got) - want).abs() / want <= 0.05 {
                close += 1;
            } else if std::env::var_os("PITCH_DEBUG").is_some() {
                eprintln!(
                    "  {t:.3}: fangyan {got:.1} Hz, Praat {want:.1} Hz, conf {:.2}",
                    ours.confidence[k]
                );
            }
        }
        let share = f64::from(close) / f64::from(both);
        eprintln!(
            "{name}: {close}/{both} frames voiced in both agree within 5% ({:.1}%)",
            share * 100.0
        );
        assert!(both >= 50, "{name}: only {both} frames voiced in both");
        assert!(share >= 0.90, "{name}: {:.1}% within 5%", share * 100.0);
    }
}

/// Reads `x` in blocks, as the ingest job reads the analysis copy.
fn blocks(x: &[f32]) -> impl FnMut(usize, usize) -> Vec<f32> + '_ {
    move |start, len| x[start.min(x.len())..(start + len).min(x.len())].to_vec()
}

#[test]
fn the_streamed_json_track_is_the_serialised_track_byte_for_byte() {
    for rate in [8_000, 16_000, 44_100] {
        // Silence, a voiced glide, a quieter steady tone, silence: voicing depends on the loudest
        // frame of the whole signal, which the streamed writer learns only at the end.
        let (glide, _) = voiced(1.5, |t| 120.0 + 100.0 * t);
        let (tone, _) = voiced(1.0, |_| 210.0);
        let mut x = vec![0.0f32; rate as usize / 2];
        x.extend(&glide);
        x.extend(tone.iter().map(|s| s * 0.02));
        x.extend(vec![0.0f32; rate as usize / 3]);
        let params = PitchParams::default();
        let want = serde_json::to_vec(&PitchTracker::new(rate, params).track(&x)).unwrap();
        // The spill starts longer than needed and dirty: only what this run wrote is read.
        let mut spill = std::io::Cursor::new(vec![0xA5u8; 3 * want.len()]);
        let mut got = Vec::new();
        PitchTracker::new(rate, params)
            .write_json_blocks(x.len(), &mut blocks(&x), &mut spill, &mut got)
            .unwrap();
        assert!(
            got == want,
            "{rate} Hz: streamed JSON differs from serde_json's"
        );
        let track: serde_json::Value = serde_json::from_slice(&got).unwrap();
        assert!(
            track["f0_hz"]
                .as_array()
                .unwrap()
                .iter()
                .any(|f| f.is_f64())
        );
        assert!(
            track["f0_hz"]
                .as_array()
                .unwrap()
                .iter()
                .any(|f| f.is_null())
        );
    }
}
