//! The STFT agrees with scipy.signal.stft on a real recording within 0.1 dB wherever the value
//! is above the floor. The reference was computed once with scipy and committed with its
//! script (fixtures/reference/make_stft_reference.py).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use fangyan::analysis::stft::{Stft, StftConfig, power_db};
use serde_json::Value;

#[test]
fn agrees_with_scipy_stft_on_real_speech() {
    let reference: Value = serde_json::from_str(
        &std::fs::read_to_string(common::fixture("reference/stft-aishell-512-160.json")).unwrap(),
    )
    .unwrap();
    let mut wav =
        hound::WavReader::open(common::fixture("real/zh-aishell1-BAC009S0724W0121.wav")).unwrap();
    let x: Vec<f32> = wav
        .samples::<i16>()
        .map(|s| f32::from(s.unwrap()) / 32768.0)
        .collect();
    let mut stft = Stft::new(StftConfig::hann(512, 160), 16_000);
    let mut power = vec![0.0; stft.bins()];
    let frames = reference["frames"].as_array().unwrap();
    let rows = reference["db"].as_array().unwrap();
    let global_max = rows
        .iter()
        .flat_map(|r| r.as_array().unwrap().iter().map(|v| v.as_f64().unwrap()))
        .fold(f64::MIN, f64::max);
    let floor = global_max - 80.0;
    let (mut compared, mut worst) = (0, 0.0f64);
    for (frame, row) in frames.iter().zip(rows) {
        let centre = frame.as_i64().unwrap() * 160;
        stft.power_at(&x, 0, centre, &mut power);
        for (k, want) in row.as_array().unwrap().iter().enumerate() {
            let want = want.as_f64().unwrap();
            if want <= floor {
                continue;
            }
            let got = f64::from(power_db(power[k]));
            worst = worst.max((got - want).abs());
            compared += 1;
        }
    }
    eprintln!("{compared} values above the floor, worst difference {worst:.4} dB");
    assert!(compared > 5_000);
    assert!(worst <= 0.1, "worst difference {worst} dB");
}
