//! `fangyan analyze` end to end on real speech: every output exists and is well-formed.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use std::process::Command;

use serde_json::Value;

#[test]
fn analyze_writes_peaks_pitch_vad_and_a_spectrogram() {
    let dir = common::scratch();
    let out = Command::new(env!("CARGO_BIN_EXE_fangyan"))
        .args([
            "analyze", "--from", "0.5", "--to", "3.5", "--width", "600", "--height", "200", "--out",
        ])
        .arg(dir.path())
        .arg(common::fixture("real/zh-funasr-binhai-query.wav"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let summary: Value = serde_json::from_slice(&out.stdout).unwrap();

    let peaks = dir.path().join(summary["peaks"].as_str().unwrap());
    let file = fangyan::analysis::peaks::PeakFile::open(&peaks, None).unwrap();
    assert_eq!(file.samples(), 96_000);

    let pitch: Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join(summary["pitch"].as_str().unwrap())).unwrap(),
    )
    .unwrap();
    let times = pitch["times"].as_array().unwrap();
    assert_eq!(times.len(), 601);
    assert_eq!(pitch["f0_hz"].as_array().unwrap().len(), 601);
    assert_eq!(pitch["intensity_db"].as_array().unwrap().len(), 601);
    let voiced: Vec<f64> = pitch["f0_hz"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_f64)
        .collect();
    assert!(voiced.len() > 100 && voiced.iter().all(|f| (60.0..=500.0).contains(f)));

    let vad: Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join(summary["vad"].as_str().unwrap())).unwrap(),
    )
    .unwrap();
    assert!(!vad["segments"].as_array().unwrap().is_empty());

    let png = std::fs::File::open(dir.path().join("spectrogram.png")).unwrap();
    let reader = png::Decoder::new(std::io::BufReader::new(png))
        .read_info()
        .unwrap();
    assert_eq!((reader.info().width, reader.info().height), (600, 200));
}

#[test]
fn analyze_reports_bad_input_and_empty_ranges() {
    let dir = common::scratch();
    let out = Command::new(env!("CARGO_BIN_EXE_fangyan"))
        .args(["analyze", "--out"])
        .arg(dir.path())
        .arg(common::fixture("bad/not-audio/png_named.wav"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let line: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(line["error"]["code"], "not_audio");

    let out = Command::new(env!("CARGO_BIN_EXE_fangyan"))
        .args(["analyze", "--from", "9", "--to", "10", "--out"])
        .arg(dir.path())
        .arg(common::fixture("real/zh-funasr-binhai-query.wav"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("range"));
}
