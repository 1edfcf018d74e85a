//! A phonetician's view (issue 18), on the API: spectrogram tiles of one recording share one
//! calibrated reference level, so they join without a seam at every zoom; pitch and intensity
//! are served by time range, frame for frame equal to the whole-file track.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;
use common::app::{Client, TestApp};
use reqwest::StatusCode;

/// Tiles as the browser asks for them (web/timeline.js): 256 columns of 2^level samples each,
/// 128 rows high.
const TILE: i64 = 256;
const HEIGHT: usize = 128;

async fn upload(app: &TestApp, admin: &Client, project: i64, name: &str) -> (i64, i64) {
    let (s, body) = admin.upload(project, &common::fixture(name)).await;
    assert_eq!(s, StatusCode::ACCEPTED, "{body}");
    app.state.jobs.drain().await;
    let id = body["recording"].as_i64().unwrap();
    let (_, r) = admin.get(&format!("/api/recordings/{id}")).await;
    assert_eq!(r["status"], "ready", "{r}");
    (id, r["samples"].as_i64().unwrap())
}

/// Mean absolute difference between column `a` of one tile and column `b` of another.
fn column_diff(x: &[u8], a: usize, y: &[u8], b: usize, width: usize) -> f64 {
    (0..HEIGHT)
        .map(|r| (f64::from(x[r * width + a]) - f64::from(y[r * width + b])).abs())
        .sum::<f64>()
        / HEIGHT as f64
}

#[tokio::test]
async fn adjacent_spectrogram_tiles_join_without_a_seam_at_every_zoom() {
    let app = TestApp::spawn().await;
    let (project, admin, t, _) = app.project("p").await;
    let mut checked = 0;
    let mut worst_own = 0.0f64;
    for file in [
        "real/zh-funasr-asr_example.wav",
        "real/en-librispeech-1995-1837-0001.wav",
    ] {
        let (rec, samples) = upload(&app, &admin, project, file).await;
        let mut references = Vec::new();
        for level in 3..=8u32 {
            let span = TILE << level;
            let tiles = (samples / span).min(12);
            if tiles < 2 {
                continue;
            }
            let mut raw = Vec::new();
            for i in 0..tiles {
                let url = format!(
                    "{}/api/recordings/{rec}/spectrogram?start={}&end={}&width={TILE}&height={HEIGHT}&raw=true",
                    t.base,
                    i * span,
                    (i + 1) * span
                );
                let r = t.http.get(url).send().await.unwrap();
                assert_eq!(r.status(), StatusCode::OK);
                references.push(r.headers()["x-reference-db"].to_str().unwrap().to_string());
                raw.push(r.bytes().await.unwrap().to_vec());
            }
            let w = TILE as usize;
            // Inside tiles: every pair of neighbouring columns.
            let inner: Vec<f64> = raw
                .iter()
                .flat_map(|tile| (0..w - 1).map(move |x| column_diff(tile, x, tile, x + 1, w)))
                .collect();
            let inner_mean = inner.iter().sum::<f64>() / inner.len() as f64;
            let seams: Vec<f64> = raw
                .windows(2)
                .map(|p| column_diff(&p[0], w - 1, &p[1], 0, w))
                .collect();
            let seam_mean = seams.iter().sum::<f64>() / seams.len() as f64;
            let mut sorted = inner.clone();
            sorted.sort_by(f64::total_cmp);
            let p99 = sorted[sorted.len() * 99 / 100];
            let max_inner = sorted[sorted.len() - 1];
            // A mean of a few seams is itself noisy: allow what a mean of as many ordinary
            // neighbouring columns would vary by (two standard errors).
            let sd = (inner.iter().map(|d| (d - inner_mean).powi(2)).sum::<f64>()
                / inner.len() as f64)
                .sqrt();
            let allowed = inner_mean + 2.0 * sd / (seams.len() as f64).sqrt();
            // The same tiles as each would look scaled to its own loudest pixel (what the
            // tiles were before one reference per recording): the check must tell them apart.
            let own: Vec<Vec<u8>> = raw
                .iter()
                .map(|tile| {
                    let lift = 255 - tile.iter().copied().max().unwrap_or(255);
                    tile.iter()
                        .map(|&v| if v == 0 { 0 } else { v.saturating_add(lift) })
                        .collect()
                })
                .collect();
            let own_seams = own
                .windows(2)
                .map(|p| column_diff(&p[0], w - 1, &p[1], 0, w))
                .sum::<f64>()
                / seams.len() as f64;
            println!(
                "{file} level {level}: {} seams, mean {seam_mean:.2} (max {:.2}, allowed {allowed:.2}); inside tiles mean {inner_mean:.2}, p99 {p99:.2}, max {max_inner:.2}; scaled per tile the seams would be {own_seams:.2}",
                seams.len(),
                seams.iter().copied().fold(0.0, f64::max)
            );
            assert!(
                seam_mean <= allowed,
                "{file} level {level}: seams {seam_mean:.2} vs inside {inner_mean:.2}"
            );
            for (i, s) in seams.iter().enumerate() {
                assert!(
                    *s <= max_inner,
                    "{file} level {level} seam {i}: {s:.2} > {max_inner:.2}, the largest step inside a tile"
                );
            }
            worst_own = worst_own.max(own_seams / allowed);
            checked += seams.len();
        }
        // One reference for the whole recording, whatever the tile.
        references.dedup();
        assert_eq!(references.len(), 1, "{file}: {references:?}");
        let reference: f32 = references[0].parse().unwrap();
        assert!((-60.0..0.0).contains(&reference), "{reference}");
    }
    assert!(checked >= 40, "{checked} seams checked");
    assert!(
        worst_own > 1.5,
        "tiles scaled each to its own maximum should fail this check: {worst_own:.2}"
    );
}

#[tokio::test]
async fn silence_stays_dark_and_pre_emphasis_is_a_setting() {
    let app = TestApp::spawn().await;
    let (project, admin, t, _) = app.project("p").await;
    let (rec, _) = upload(&app, &admin, project, "real/zh-funasr-asr_example.wav").await;
    let tile = |query: String| {
        let (http, base) = (t.http.clone(), t.base.clone());
        async move {
            let r = http
                .get(format!("{base}/api/recordings/{rec}/spectrogram?{query}"))
                .send()
                .await
                .unwrap();
            (r.status(), r.bytes().await.unwrap().to_vec())
        }
    };
    // The first 60 ms are near-silence: a tile scaled to its own maximum would paint its
    // loudest noise bin white; against the recording's reference it stays dark.
    let (s, quiet) = tile("start=0&end=960&width=64&height=64&raw=true".into()).await;
    assert_eq!(s, StatusCode::OK);
    let max = quiet.iter().copied().max().unwrap();
    println!("brightest pixel of the opening 60 ms: {max} of 255");
    assert!(max < 200, "silence brightened to {max}");
    let (_, on) = tile("start=16000&end=32000&width=64&height=64&raw=true".into()).await;
    let (_, off) =
        tile("start=16000&end=32000&width=64&height=64&raw=true&pre_emphasis=0".into()).await;
    // Pre-emphasis lifts the top rows (high frequencies) relative to no pre-emphasis.
    let top = |v: &[u8]| v[..16 * 64].iter().map(|&x| u64::from(x)).sum::<u64>();
    assert!(top(&on) > top(&off), "{} vs {}", top(&on), top(&off));
    let (s, _) = tile("start=0&end=960&width=64&height=64&pre_emphasis=-1".into()).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn pitch_by_time_range_equals_the_whole_file_track_at_every_zoom() {
    let app = TestApp::spawn().await;
    let (project, admin, t, _) = app.project("p").await;
    // A fixture no other test asks for by range, so the voicing reference is not yet cached in
    // this process: it is read from beside the track, then recomputed when that is gone.
    let (rec, samples) = upload(
        &app,
        &admin,
        project,
        "real/en-zhL1-speechocean762-000030012.wav",
    )
    .await;
    let (_, whole) = t.get(&format!("/api/recordings/{rec}/pitch")).await;
    let times = whole["times"].as_array().unwrap();
    let frame_of = |time: f64| {
        times
            .iter()
            .position(|t| (t.as_f64().unwrap() - time).abs() < 1e-9)
    };
    let (_, r) = admin.get(&format!("/api/recordings/{rec}")).await;
    let sha = r["sha256"].as_str().unwrap().to_string();
    for (round, (start, end, width)) in [
        (0, samples, 4096),
        (0, samples, 37),
        (samples / 3, samples / 2, 100),
        (8_000, 8_800, 300),
    ]
    .into_iter()
    .enumerate()
    {
        if round == 1 {
            // As for a recording analysed before the reference was kept beside its track.
            app.state
                .store
                .delete(&format!("analysis/{sha}-16000.pitch-level"))
                .await
                .unwrap();
        }
        let (s, got) = t
            .get(&format!(
                "/api/recordings/{rec}/track?start={start}&end={end}&width={width}"
            ))
            .await;
        assert_eq!(s, StatusCode::OK, "{got}");
        let got_times = got["times"].as_array().unwrap();
        let frames = ((end - start) / 160).max(1) as usize;
        assert_eq!(
            got_times.len(),
            frames.min(width),
            "{start}..{end} in {width}"
        );
        let mut voiced = 0;
        for (i, time) in got_times.iter().enumerate() {
            let k = frame_of(time.as_f64().unwrap()).expect("a time on the frame grid");
            assert_eq!(
                got["f0_hz"][i], whole["f0_hz"][k],
                "{start}..{end}: frame {k}"
            );
            assert_eq!(got["intensity_db"][i], whole["intensity_db"][k]);
            voiced += usize::from(got["f0_hz"][i].is_f64());
        }
        println!(
            "{start}..{end} in {width} columns: {} frames, {voiced} voiced",
            got_times.len()
        );
        if width > 30 && end - start > 16_000 {
            assert!(voiced > 5, "{voiced}");
        }
    }
    for bad in ["width=0", "width=5000"] {
        let (s, body) = t
            .get(&format!(
                "/api/recordings/{rec}/track?start=0&end=100&{bad}"
            ))
            .await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(body["error"]["code"], "invalid_width", "{body}");
    }
}

#[tokio::test]
async fn formants_by_time_range_agree_with_praat_at_every_zoom() {
    let app = TestApp::spawn().await;
    let (project, admin, t, _) = app.project("p").await;
    let stem = "zh-funasr-asr_example";
    let (rec, samples) = upload(&app, &admin, project, &format!("real/{stem}.wav")).await;
    let url = |start: i64, end: i64, width: usize| {
        format!("/api/recordings/{rec}/formants?start={start}&end={end}&width={width}")
    };
    let (s, fine) = t.get(&url(0, samples, 4096)).await;
    assert_eq!(s, StatusCode::OK, "{fine}");
    let times: Vec<f64> = fine["times"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    // One frame per 6.25 ms step (100 samples at 16 kHz).
    assert_eq!(times.len(), (samples / 100) as usize);
    // Against Praat on its voiced frames (reference made by make_praat_formant.sh).
    let tsv = std::fs::read_to_string(common::fixture(&format!(
        "reference/praat-formant-{stem}.tsv"
    )))
    .unwrap();
    let mut rel: [Vec<f64>; 3] = Default::default();
    for line in tsv.lines().skip(1) {
        let cols: Vec<&str> = line.split('\t').collect();
        if cols[5] != "1" {
            continue;
        }
        let time: f64 = cols[0].parse().unwrap();
        let k = times.partition_point(|&x| x < time).min(times.len() - 1);
        let k = if k > 0 && (times[k - 1] - time).abs() < (times[k] - time).abs() {
            k - 1
        } else {
            k
        };
        if (times[k] - time).abs() > 0.0032 {
            continue;
        }
        for (i, rel) in rel.iter_mut().enumerate() {
            let (Ok(want), Some(got)) = (
                cols[1 + i].parse::<f64>(),
                fine[format!("f{}", i + 1)][k].as_f64(),
            ) else {
                continue;
            };
            rel.push((got - want).abs() / want);
        }
    }
    let medians: Vec<f64> = rel
        .into_iter()
        .map(|mut v| {
            assert!(v.len() > 100, "{} frames compared", v.len());
            v.sort_by(f64::total_cmp);
            v[v.len() / 2]
        })
        .collect();
    println!(
        "{stem} through the API: median |ours - Praat| / Praat F1 {:.2} %, F2 {:.2} %, F3 {:.2} %",
        100.0 * medians[0],
        100.0 * medians[1],
        100.0 * medians[2]
    );
    assert!(medians[0] <= 0.05 && medians[1] <= 0.05 && medians[2] <= 0.08);

    // Zoomed out: 20 columns, each a frame of the fine grid computed from its own few
    // thousand samples.
    let (_, coarse) = t.get(&url(0, samples, 20)).await;
    let coarse_times = coarse["times"].as_array().unwrap();
    assert_eq!(coarse_times.len(), 20);
    let mut same = 0;
    for (i, time) in coarse_times.iter().enumerate() {
        let k = times
            .iter()
            .position(|&x| (x - time.as_f64().unwrap()).abs() < 1e-9)
            .expect("on the frame grid");
        let (a, b) = (coarse["f1"][i].as_f64(), fine["f1"][k].as_f64());
        if let (Some(a), Some(b)) = (a, b) {
            assert!((a - b).abs() / b < 0.01, "column {i}: {a} vs {b}");
            same += 1;
        }
    }
    assert!(same >= 10, "{same} columns with F1");
    for (query, code) in [
        (
            "start=0&end=1000&width=10&max_formant=100",
            "invalid_max_formant",
        ),
        (
            "start=0&end=1000&width=10&max_formant=9000",
            "invalid_max_formant",
        ),
        ("start=0&end=1000&width=0", "invalid_width"),
    ] {
        let (s, body) = t
            .get(&format!("/api/recordings/{rec}/formants?{query}"))
            .await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(body["error"]["code"], code, "{body}");
    }
}
