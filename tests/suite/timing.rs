//! Timing is exact: sample positions agree with ffmpeg's decoding within 1 ms for the lossy
//! codecs whose encoders add delay and padding (MP3/LAME, AAC in MP4, Opus in Ogg and WebM).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use common::*;

/// A test signal whose alignment is unambiguous: a chirp with clicks at irregular times.
fn make_source(dir: &std::path::Path) -> std::path::PathBuf {
    let src = dir.join("source.wav");
    ffmpeg(&[
        "-f", "lavfi", "-i",
        "aevalsrc=0.5*sin(2*PI*(200+400*t)*t)+if(lt(mod(t*7.3\\,1)\\,0.004)\\,0.4\\,0)|0.3*sin(2*PI*330*t):s=44100:d=3.3",
        "-c:a", "pcm_s16le",
    ]
    .map(|s| s)
    .iter()
    .copied()
    .chain([src.to_str().expect("utf-8 path")])
    .collect::<Vec<_>>());
    src
}

fn check(name: &str, encode: &[&str]) {
    let dir = scratch();
    let src = make_source(dir.path());
    let out = dir.path().join(name);
    let mut args = vec!["-i", src.to_str().expect("utf-8")];
    args.extend_from_slice(encode);
    args.push(out.to_str().expect("utf-8"));
    ffmpeg(&args);

    let reference = ffmpeg_decode_mono(&out);
    let (ours, rate) = fangyan_decode_mono(&out);
    let ms = f64::from(rate) / 1000.0;
    let len_diff = (reference.len() as f64 - ours.len() as f64).abs() / ms;
    let lag = best_lag(&reference, &ours, (50.0 * ms) as isize);
    let lag_ms = lag as f64 / ms;
    eprintln!(
        "{name}: ffmpeg {} frames, fangyan {} frames, lag {lag} samples",
        reference.len(),
        ours.len()
    );
    let source_frames = (3.3 * f64::from(rate)).round();
    let vs_source = (source_frames - ours.len() as f64).abs() / ms;
    // ffmpeg 5.1 keeps AAC end padding (it honours only the start of the edit list), so the
    // length is checked against the encoder input, and against ffmpeg where ffmpeg trims.
    assert!(
        vs_source <= 1.0,
        "{name}: length differs from the source by {vs_source:.3} ms"
    );
    if !name.ends_with(".m4a") {
        assert!(
            len_diff <= 1.0,
            "{name}: length differs from ffmpeg by {len_diff:.3} ms"
        );
    }
    assert!(
        lag_ms.abs() <= 1.0,
        "{name}: offset from ffmpeg is {lag_ms:.3} ms"
    );
}

#[test]
fn mp3_lame_gapless_matches_ffmpeg() {
    check("t.mp3", &["-c:a", "libmp3lame", "-b:a", "96k"]);
}

#[test]
fn aac_m4a_priming_matches_ffmpeg() {
    check("t.m4a", &["-c:a", "aac", "-b:a", "96k"]);
}

#[test]
fn opus_ogg_pre_skip_matches_ffmpeg() {
    check("t.opus", &["-c:a", "libopus", "-b:a", "48k"]);
}

#[test]
fn opus_webm_pre_skip_matches_ffmpeg() {
    check("t.webm", &["-c:a", "libopus", "-b:a", "48k"]);
}

#[test]
fn vorbis_ogg_matches_ffmpeg() {
    check("t.ogg", &["-c:a", "libvorbis", "-q:a", "4"]);
}

#[test]
fn flac_matches_ffmpeg() {
    check("t.flac", &["-c:a", "flac"]);
}
