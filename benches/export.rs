//! Export benchmark: 10 hours of approved segments → 16 kHz 16-bit WAV clips and every
//! manifest layout, through the same code as `fangyan export` (`exports::write_dir`).
//!
//! `cargo bench --bench export -- [--hours 10]`
//!
//! Setup writes one hour of 16 kHz speech-like audio (streamed, so it does not raise the
//! peak RSS) that ten recordings share as their original, and ~5 s segments for 40 speakers.
//! Prints ×realtime and the process's peak RSS (VmHWM), and the ratio against ffmpeg cutting
//! the same clips of one recording with its segment muxer (the peer tool), scaled to the
//! whole. Exits 1 when a floor is missed: ≥ 300× realtime, RSS ≤ 128 MB.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;
use std::process::Command;
use std::time::Instant;

use fangyan::corpus::{self, ExportOptions, RawSegment, Recording, Speaker};

const RATE: u32 = 16_000;
const FLOOR_RT: f64 = 300.0;
const FLOOR_RSS_MB: f64 = 128.0;

fn vm_hwm_kb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let hours: f64 = args
        .iter()
        .position(|a| a == "--hours")
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(10.0);
    let work = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("bench-work/export");
    let _ = std::fs::remove_dir_all(&work);
    std::fs::create_dir_all(&work).unwrap();
    let recs = (hours.ceil() as usize).max(1);
    let per_rec_secs = (hours * 3600.0 / recs as f64).round() as u64;
    let samples = per_rec_secs * u64::from(RATE);

    // One hour-long original, written as a stream.
    let original = work.join("original.wav");
    {
        let spec = hound::WavSpec {
            channels: 1,
            sample_rate: RATE,
            bits_per_sample: 16,
            sample_format: hound::SampleFormat::Int,
        };
        let mut w = hound::WavWriter::create(&original, spec).unwrap();
        let mut x: u32 = 1;
        for i in 0..samples {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            let t = i as f32 / RATE as f32;
            let v = 0.3 * (2.0 * std::f32::consts::PI * 180.0 * t).sin()
                + 0.05 * ((x >> 8) as f32 / (1u32 << 24) as f32 - 0.5);
            w.write_sample((v * 32767.0) as i16).unwrap();
        }
        w.finalize().unwrap();
    }
    let recordings: Vec<Recording> = (0..recs)
        .map(|i| Recording {
            id: corpus::recording_id(i as i64 + 1),
            name: format!("rec{i}"),
            original: original.clone(),
            analysis_rate: RATE,
            samples,
        })
        .collect();
    let codes: Vec<String> = (0..40).map(|i| i.to_string()).collect();
    let ids = corpus::speaker_ids(&codes);
    let speakers: Vec<Speaker> = ids
        .iter()
        .zip(&codes)
        .enumerate()
        .map(|(i, (id, code))| Speaker {
            id: id.clone(),
            code: code.clone(),
            gender: Some(if i % 2 == 0 { "female" } else { "male" }.into()),
            age_band: Some("thirties".into()),
            accent: Some("桂柳话".into()),
            variety: Some(
                if i % 3 == 0 {
                    "cmn-beijing"
                } else {
                    "cmn-southwestern/guiliu"
                }
                .into(),
            ),
        })
        .collect();
    let mut segments = Vec::new();
    let seg_len = 5 * u64::from(RATE);
    let mut n = 0i64;
    for r in 0..recs {
        let mut start = 0;
        while start + seg_len <= samples {
            n += 1;
            segments.push(RawSegment {
                db_id: n,
                recording: r,
                speaker: Some((n as usize / 7) % speakers.len()),
                start,
                end: start + seg_len,
                verbatim: format!("而对楼市成交抑制作用最大的限购{n}[laughter]"),
                display: String::new(),
                norm: "而对楼市成交抑制作用最大的限购".into(),
                labels: vec![("variety".into(), "cmn-southwestern/guiliu@柳州".into())],
                features: Vec::new(),
            });
            start += seg_len;
        }
    }
    let opts = ExportOptions {
        rate: RATE,
        ..Default::default()
    };
    let c = corpus::build(
        "bench",
        recordings,
        speakers,
        segments,
        serde_json::json!({}),
        serde_json::json!({}),
        &opts,
    );
    let out = work.join("out");
    let t = Instant::now();
    let summary = fangyan::exports::write_dir(&c, &opts, &out, &|_| {}).unwrap();
    let elapsed = t.elapsed().as_secs_f64();
    let rt = summary.seconds / elapsed;
    let rss_mb = vm_hwm_kb() as f64 / 1024.0;

    // Peer: ffmpeg's segment muxer cutting one recording's clips, scaled to all of them.
    let times: Vec<String> = (1..per_rec_secs / 5).map(|k| (k * 5).to_string()).collect();
    let peer_dir = work.join("ffmpeg");
    std::fs::create_dir_all(&peer_dir).unwrap();
    let t = Instant::now();
    let peer = Command::new("ffmpeg")
        .args(["-hide_banner", "-loglevel", "error", "-nostdin", "-y", "-i"])
        .arg(&original)
        .args(["-f", "segment", "-segment_times", &times.join(",")])
        .args(["-ar", "16000", "-ac", "1", "-c:a", "pcm_s16le"])
        .arg(peer_dir.join("%05d.wav"))
        .status();
    let peer_secs = t.elapsed().as_secs_f64() * recs as f64;
    let ratio = match peer {
        Ok(s) if s.success() => format!("{:.2}× ffmpeg's speed", peer_secs / elapsed),
        _ => "ffmpeg unavailable".into(),
    };
    println!(
        "export: {} utterances, {:.2} h of clips + every manifest in {elapsed:.2} s = {rt:.0}× realtime (floor {FLOOR_RT}×); peak RSS {rss_mb:.1} MB (floor {FLOOR_RSS_MB} MB); {ratio}",
        summary.utterances,
        summary.seconds / 3600.0
    );
    let _ = std::fs::remove_dir_all(&work);
    if rt < FLOOR_RT || rss_mb > FLOOR_RSS_MB {
        eprintln!("export bench: floor missed");
        std::process::exit(1);
    }
}
