//! ASR import through the API and `fangyan import-asr`: every format into a recording,
//! matching files to recordings by name and by mapping, attaching by overlap, and errors that
//! name the line or field.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use std::path::{Path, PathBuf};

use common::app::{Client, TestApp};
use reqwest::StatusCode;
use reqwest::multipart::{Form, Part};
use serde_json::{Value, json};

/// A silent 16 kHz WAV of `seconds`, named `name` (silence: the VAD makes no segments).
fn silence(dir: &Path, name: &str, seconds: u32) -> PathBuf {
    let path = dir.join(name);
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: 16_000,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut w = hound::WavWriter::create(&path, spec).unwrap();
    for _ in 0..seconds * 16_000 {
        w.write_sample(0i16).unwrap();
    }
    w.finalize().unwrap();
    path
}

async fn recording(app: &TestApp, admin: &Client, project: i64, name: &str, seconds: u32) -> i64 {
    let dir = tempfile::tempdir().unwrap();
    let (s, body) = admin
        .upload(project, &silence(dir.path(), name, seconds))
        .await;
    assert_eq!(s, StatusCode::ACCEPTED, "{body}");
    app.state.jobs.drain().await;
    body["recording"].as_i64().unwrap()
}

fn file_form(name: &str, bytes: Vec<u8>, fields: &[(&str, &str)]) -> Form {
    let mut form = Form::new().part("file", Part::bytes(bytes).file_name(name.to_string()));
    for (k, v) in fields {
        form = form.text(k.to_string(), v.to_string());
    }
    form
}

async fn segments(client: &Client, recording: i64) -> Vec<Value> {
    let (_, body) = client
        .get(&format!("/api/recordings/{recording}/segments"))
        .await;
    body["segments"].as_array().unwrap().clone()
}

#[tokio::test]
async fn every_format_imports_into_a_recording_with_its_source_and_model() {
    let app = TestApp::spawn().await;
    let (project, admin, transcriber, _) = app.project("asr").await;
    let cases = [
        ("whisper-zh-words-ascii-escaped.json", "whisper"),
        ("faster-whisper-zh-word-arrays.json", "faster_whisper"),
        ("whisperx-zh-chars-diarized.json", "whisperx"),
        ("funasr-zh-sentence-info.json", "funasr"),
        ("ctm-zh-chars.ctm", "ctm"),
        ("srt-zh-bom-crlf-tags.srt", "srt"),
        ("vtt-zh-note-voice.vtt", "webvtt"),
        ("textgrid-long-zh.TextGrid", "textgrid"),
        ("eaf-zh-two-tiers.eaf", "eaf"),
        ("labelstudio-zh-regions.json", "label_studio"),
        ("audacity-zh-labels.txt", "audacity"),
        // Issue 19: whisper's `.tsv` was refused as `unknown_format`.
        ("whisper-zh-ms.tsv", "whisper_tsv"),
    ];
    for (file, format) in cases {
        // A fresh recording each: the import creates segments (no VAD segments in silence).
        let rec = recording(&app, &admin, project, &format!("{format}.wav"), 120).await;
        let bytes = std::fs::read(common::fixture(&format!("asr/{file}"))).unwrap();
        let (s, body) = admin
            .post_form(
                &format!("/api/recordings/{rec}/asr"),
                file_form(file, bytes, &[("model", "test-model")]),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{file}: {body}");
        let imp = &body["imports"][0];
        assert_eq!(imp["format"], format, "{file}");
        assert!(imp["created"].as_u64().unwrap() >= 1, "{file}: {body}");
        let segs = segments(&transcriber, rec).await;
        assert_eq!(
            segs.len() as u64,
            imp["created"].as_u64().unwrap(),
            "{file}"
        );
        for seg in &segs {
            assert_eq!(seg["asr_source"], format, "{file}");
            assert!(
                seg["asr_model"].is_string(),
                "{file}: the model is recorded"
            );
            // The transcript starts as the ASR text, for people to correct.
            assert_eq!(seg["text_verbatim"], seg["asr_text"], "{file}");
        }
        assert!(
            segs.iter().any(|s| s["asr_text"]
                .as_str()
                .unwrap()
                .chars()
                .any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c))),
            "{file}: Chinese text arrives intact"
        );
        // Issue 19: Label Studio regions with a label and no text are no empty segments.
        assert!(
            segs.iter()
                .all(|s| !s["text_verbatim"].as_str().unwrap().is_empty()),
            "{file}: {segs:?}"
        );
        if format == "whisper_tsv" {
            // Milliseconds: the second line starts at 1580 ms = sample 25 280 at 16 kHz.
            assert_eq!(segs[1]["start_sample"], 25_280, "{segs:?}");
        }
        if format == "funasr" {
            // Milliseconds: the first sentence starts at 430 ms = sample 6880 at 16 kHz.
            assert_eq!(segs[0]["start_sample"], 6880, "{segs:?}");
        }
    }
}

#[tokio::test]
async fn files_match_recordings_by_name_or_mapping_and_attach_by_overlap() {
    let app = TestApp::spawn().await;
    let (project, admin, transcriber, _) = app.project("match").await;
    let rec1 = recording(&app, &admin, project, "rec1.wav", 10).await;
    let rec2 = recording(&app, &admin, project, "rec2.wav", 10).await;
    // rec1 already has segments someone typed in: the ASR text is attached, not re-cut.
    for (start, end, text) in [(6_400, 24_000, "今天很好"), (46_400, 57_600, "")] {
        let (s, _) = admin
            .post(
                &format!("/api/recordings/{rec1}/segments"),
                json!({ "start_sample": start, "end_sample": end, "text_verbatim": text }),
            )
            .await;
        assert_eq!(s, StatusCode::OK);
    }
    // The CTM names rec1 and rec2 inside: each part goes to its recording.
    let bytes = std::fs::read(common::fixture("asr/ctm-zh-chars.ctm")).unwrap();
    let (s, body) = admin
        .post_form(
            &format!("/api/projects/{project}/asr"),
            file_form("hyp.ctm", bytes, &[("model", "kaldi-chain")]),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let imports = body["imports"].as_array().unwrap();
    assert_eq!(imports.len(), 2, "{body}");
    let segs1 = segments(&transcriber, rec1).await;
    assert_eq!(segs1.len(), 2, "attached, not created: {segs1:?}");
    assert_eq!(segs1[0]["asr_text"], "今天好");
    assert_eq!(
        segs1[0]["text_verbatim"], "今天很好",
        "typed text is never overwritten"
    );
    assert_eq!(segs1[1]["asr_text"], "再见");
    assert_eq!(
        segs1[1]["text_verbatim"], "再见",
        "an empty transcript is pre-filled"
    );
    assert_eq!(segs1[0]["asr_model"], "kaldi-chain");
    let segs2 = segments(&transcriber, rec2).await;
    assert_eq!(segs2.len(), 1);
    assert_eq!(segs2[0]["asr_text"], "hello world");

    // A file named after nothing needs a mapping.
    let srt = "1\n00:00:01,000 --> 00:00:02,500\n是四\n"
        .as_bytes()
        .to_vec();
    let (s, body) = admin
        .post_form(
            &format!("/api/projects/{project}/asr"),
            file_form("other.srt", srt.clone(), &[]),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"]["code"], "no_matching_recording");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("other.srt")
    );
    let (s, body) = admin
        .post_form(
            &format!("/api/projects/{project}/asr"),
            file_form(
                "other.srt",
                srt,
                &[
                    ("mapping", r#"{"other.srt": "rec2.wav"}"#),
                    ("mode", "attach"),
                ],
            ),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(body["imports"][0]["recording"], rec2);
    assert_eq!(
        body["imports"][0]["unplaced"], 1,
        "1-2.5 s overlaps no segment of rec2"
    );

    // Bad files name the place; nothing is written.
    for (file, code, place) in [
        ("ctm-too-few-fields-line-2.ctm", "bad_syntax", "line 2"),
        ("srt-bad-time-line-6.srt", "bad_syntax", "line 6"),
        ("whisper-segment-missing-end.json", "bad_field", "end"),
        ("eaf-bad-xml-line-16.eaf", "bad_xml", "line 16"),
    ] {
        let bytes = std::fs::read(common::fixture(&format!("asr/bad/{file}"))).unwrap();
        let (s, body) = admin
            .post_form(
                &format!("/api/recordings/{rec2}/asr"),
                file_form(file, bytes, &[]),
            )
            .await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{file}: {body}");
        assert_eq!(body["error"]["code"], code, "{file}: {body}");
        let message = body["error"]["message"].as_str().unwrap();
        assert!(
            message.contains(place) && message.contains(file),
            "{file}: {message}"
        );
    }
    assert_eq!(segments(&transcriber, rec2).await.len(), 1);
    // Only admins import; the mode is checked.
    let (s, _) = transcriber
        .post_form(
            &format!("/api/recordings/{rec2}/asr"),
            file_form("a.srt", b"1\n".to_vec(), &[]),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, body) = admin
        .post_form(
            &format!("/api/recordings/{rec2}/asr"),
            file_form("a.srt", b"x".to_vec(), &[("mode", "merge")]),
        )
        .await;
    assert_eq!(
        (s, body["error"]["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_mode"))
    );
}

#[tokio::test]
async fn the_cli_imports_with_a_mapping_and_reports_bad_files() {
    let app = TestApp::spawn().await;
    let (project, admin, transcriber, _) = app.project("cli").await;
    let rec = recording(&app, &admin, project, "interview.flac.wav", 30).await;
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("asr-output.vtt");
    std::fs::write(&good, "WEBVTT\n\n00:01.000 --> 00:02.500\n<v 张三>你们好\n").unwrap();
    let bad = common::fixture("asr/bad/vtt-end-before-start-line-6.vtt");
    let data = app.state.config.data_dir.clone();
    let out = common::on_test_database(
        &mut std::process::Command::new(env!("CARGO_BIN_EXE_fangyan")),
        &data,
    )
    .args([
        "import-asr",
        "--project",
        "cli",
        "--model",
        "whisper-large-v3",
        "--map",
    ])
    .arg("asr-output.vtt=interview.flac.wav")
    .arg("--data")
    .arg(&data)
    .arg(&good)
    .arg(&bad)
    .output()
    .unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "a bad file makes the exit status 1"
    );
    let lines: Vec<Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert_eq!(lines[0]["recording"], rec);
    assert_eq!(lines[0]["created"], 1);
    assert_eq!(lines[1]["error"]["code"], "bad_syntax");
    assert!(
        lines[1]["error"]["message"]
            .as_str()
            .unwrap()
            .contains("line 6")
    );
    let segs = segments(&transcriber, rec).await;
    assert_eq!(segs[0]["asr_text"], "你们好");
    assert_eq!(segs[0]["asr_model"], "whisper-large-v3");
    assert_eq!(segs[0]["start_sample"], 16_000);
    // The speaker named in the file exists now.
    let (_, speakers) = transcriber
        .get(&format!("/api/projects/{project}/speakers"))
        .await;
    assert_eq!(speakers["speakers"][0]["code"], "张三");
}
