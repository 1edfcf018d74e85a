//! `fangyan ingest` end to end: the store layout, byte-exact originals, the analysis copy,
//! duplicates, options, per-file failures, and bounded memory on a 10-hour recording.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;
use sha2::{Digest, Sha256};

fn write_wav(
    path: &Path,
    rate: u32,
    channels: u16,
    frames: usize,
    sample: impl Fn(usize, u16) -> f32,
) {
    let spec = hound::WavSpec {
        channels,
        sample_rate: rate,
        bits_per_sample: 32,
        sample_format: hound::SampleFormat::Float,
    };
    let mut w = hound::WavWriter::create(path, spec).unwrap();
    for i in 0..frames {
        for c in 0..channels {
            w.write_sample(sample(i, c)).unwrap();
        }
    }
    w.finalize().unwrap();
}

fn sine(i: usize, rate: u32) -> f32 {
    (0.5 * (2.0 * std::f64::consts::PI * 440.0 * i as f64 / f64::from(rate)).sin()) as f32
}

/// Runs the CLI; returns (exit code, one JSON value per stdout line).
fn fangyan(args: &[&str], files: &[&Path]) -> (i32, Vec<Value>) {
    let out = Command::new(env!("CARGO_BIN_EXE_fangyan"))
        .args(args)
        .args(files)
        .output()
        .unwrap();
    let lines = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    (out.status.code().unwrap(), lines)
}

fn read_analysis(store: &Path, meta: &Value) -> (hound::WavSpec, Vec<i16>) {
    let rel = meta["analysis"]["path"].as_str().unwrap();
    let mut r = hound::WavReader::open(store.join(rel)).unwrap();
    let spec = r.spec();
    (spec, r.samples::<i16>().map(Result::unwrap).collect())
}

#[test]
fn ingest_writes_original_analysis_copy_and_metadata_and_reports_bad_files() {
    let dir = common::scratch();
    let good = dir.path().join("tone 44k1 stereo.wav");
    write_wav(&good, 44_100, 2, 44_100 * 2, |i, _| sine(i, 44_100));
    let bad = dir.path().join("notes.wav");
    std::fs::write(&bad, "<html><script>alert(1)</script></html>").unwrap();
    let store = dir.path().join("store");
    let store_s = store.to_str().unwrap();

    let (code, lines) = fangyan(&["ingest", "--out", store_s], &[&good, &bad]);
    assert_eq!(code, 1, "a failed file makes the exit code non-zero");
    assert_eq!(
        lines.len(),
        2,
        "one result line per file, the bad one did not stop the run"
    );
    let meta = &lines[0]["meta"];
    assert_eq!(lines[1]["error"]["code"], "not_audio");
    assert_eq!(lines[1]["error"]["status"], 415);

    // The original is kept byte for byte under its SHA-256.
    let bytes = std::fs::read(&good).unwrap();
    let sha = hex::encode(Sha256::digest(&bytes));
    assert_eq!(meta["sha256"], sha.as_str());
    assert_eq!(
        std::fs::read(store.join("originals").join(&sha)).unwrap(),
        bytes
    );
    assert_eq!(meta["sample_rate"], 44_100);
    assert_eq!(meta["channels"], 2);
    assert_eq!(meta["bits_per_sample"], 32);
    assert_eq!(meta["frames"], 88_200);
    assert_eq!(meta["duration_secs"], 2.0);
    assert_eq!(meta["container"], "wave");

    // The analysis copy: mono, 16-bit, 16 kHz, exact length, the same tone.
    let (spec, samples) = read_analysis(&store, meta);
    assert_eq!(
        (spec.channels, spec.bits_per_sample, spec.sample_rate),
        (1, 16, 16_000)
    );
    assert_eq!(samples.len(), 32_000);
    assert_eq!(meta["analysis"]["frames"], 32_000);
    let peak = samples[1000..31_000]
        .iter()
        .map(|s| s.unsigned_abs())
        .max()
        .unwrap();
    assert!(
        (f64::from(peak) / 32767.0 - 0.5).abs() < 0.01,
        "peak {peak}"
    );

    // The peak pyramid was built in the same pass, from the same samples.
    let peaks_path = store.join(format!("analysis/{sha}-16000.peaks"));
    let mut peaks = fangyan::analysis::peaks::PeakFile::open(&peaks_path, None).unwrap();
    assert_eq!(peaks.samples(), 32_000);
    let fangyan::analysis::peaks::Peaks::MinMax(px) = peaks.query(0, 32_000, 10).unwrap() else {
        panic!("min/max expected")
    };
    let true_max = *samples.iter().max().unwrap();
    assert_eq!(px.iter().map(|p| p.1).max(), Some(true_max));
    // Zoomed in past the finest level (32 samples per bucket), the samples themselves come back.
    let wav = store.join(meta["analysis"]["path"].as_str().unwrap());
    let mut peaks = fangyan::analysis::peaks::PeakFile::open(&peaks_path, Some(wav)).unwrap();
    assert_eq!(
        peaks.query(1_000, 1_400, 800).unwrap(),
        fangyan::analysis::peaks::Peaks::Samples(samples[1_000..1_400].to_vec())
    );

    // Metadata is on disk too, and nothing temporary is left behind.
    let on_disk: Value = serde_json::from_str(
        &std::fs::read_to_string(store.join("meta").join(format!("{sha}.json"))).unwrap(),
    )
    .unwrap();
    assert_eq!(on_disk["sha256"], meta["sha256"]);
    assert_eq!(std::fs::read_dir(store.join("tmp")).unwrap().count(), 0);

    // The same bytes under another name are recognised.
    let again = dir.path().join("copy.wav");
    std::fs::copy(&good, &again).unwrap();
    let (code, lines) = fangyan(&["ingest", "--out", store_s], &[&again]);
    assert_eq!(code, 0);
    assert_eq!(lines[0]["meta"]["duplicate"], true);
    assert_eq!(lines[0]["meta"]["sha256"], sha.as_str());
}

#[test]
fn channel_selection_rate_and_limits_are_options() {
    let dir = common::scratch();
    let input = dir.path().join("left-tone-right-silence.wav");
    write_wav(&input, 48_000, 2, 48_000, |i, c| {
        if c == 0 { sine(i, 48_000) } else { 0.0 }
    });
    let store = dir.path().join("s");
    let s = store.to_str().unwrap();

    let (_, lines) = fangyan(
        &["ingest", "--out", s, "--channel", "1", "--rate", "8000"],
        &[&input],
    );
    let (spec, samples) = read_analysis(&store, &lines[0]["meta"]);
    assert_eq!((spec.sample_rate, samples.len()), (8_000, 8_000));
    assert!(samples.iter().all(|&v| v == 0), "channel 1 is silent");

    let (_, lines) = fangyan(&["ingest", "--out", s], &[&input]);
    let (_, mixed) = read_analysis(&store, &lines[0]["meta"]);
    let peak = mixed[500..15_500]
        .iter()
        .map(|v| v.unsigned_abs())
        .max()
        .unwrap();
    assert!(
        (f64::from(peak) / 32767.0 - 0.25).abs() < 0.01,
        "mean of tone and silence: {peak}"
    );

    let (code, lines) = fangyan(&["ingest", "--out", s, "--channel", "2"], &[&input]);
    assert_eq!(
        (code, lines[0]["error"]["code"].as_str()),
        (1, Some("no_such_channel"))
    );
    let (_, lines) = fangyan(&["ingest", "--out", s, "--rate", "4000"], &[&input]);
    assert_eq!(lines[0]["error"]["code"], "invalid_analysis_rate");
    let (_, lines) = fangyan(&["probe", "--max-duration", "0.5"], &[&input]);
    assert_eq!(lines[0]["error"]["code"], "too_long");
    assert_eq!(lines[0]["error"]["status"], 413);
    assert_eq!(
        std::fs::read_dir(store.join("tmp")).unwrap().count(),
        0,
        "failures clean up"
    );
}

#[test]
fn non_finite_samples_become_silence_with_a_warning() {
    let dir = common::scratch();
    let input = dir.path().join("nan.wav");
    write_wav(&input, 22_050, 1, 22_050, |i, _| match i % 1000 {
        0 => f32::NAN,
        1 => f32::INFINITY,
        2 => 1e30,
        _ => sine(i, 22_050),
    });
    let store = dir.path().join("s");
    let (code, lines) = fangyan(&["ingest", "--out", store.to_str().unwrap()], &[&input]);
    assert_eq!(code, 0);
    assert_eq!(
        lines[0]["meta"]["warnings"][0],
        "nonfinite_samples_replaced"
    );
    let (_, samples) = read_analysis(&store, &lines[0]["meta"]);
    assert_eq!(samples.len(), 16_000);
}

#[test]
fn a_ten_hour_recording_ingests_in_bounded_memory() {
    let dir = common::scratch();
    let ten_hours: PathBuf = common::fixture("bad/unusual/silence_10h_8k.flac");
    let out = Command::new(env!("CARGO_BIN_EXE_fangyan"))
        .args(["bench", "ingest-one"])
        .arg(&ten_hours)
        .arg("--out")
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let rss_mb = report["peak_rss_kb"].as_f64().unwrap() / 1024.0;
    eprintln!("10 h ingest: {report}");
    assert_eq!(report["duration_secs"], 36_000.0);
    assert_eq!(report["analysis_frames"], 576_000_000u64);
    assert!(rss_mb < 64.0, "peak RSS {rss_mb:.1} MB");
}
