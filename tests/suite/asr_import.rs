#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Every ASR import format, from samples written after FORMATS.md (`fixtures/asr/`): Chinese
//! text, millisecond timestamps, BOMs, CRLF, UTF-16. Malformed samples (`fixtures/asr/bad/`)
//! get an error with a stable code that names the line or field; no input panics.

use std::path::{Path, PathBuf};

use fangyan::text::asr::{self, AsrError, Format, Hypothesis};

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/asr")
}

fn load(name: &str, tier: Option<&str>) -> Result<Hypothesis, AsrError> {
    let bytes = std::fs::read(dir().join(name)).unwrap();
    asr::parse(&bytes, Some(name), tier)
}

fn ok(name: &str) -> Hypothesis {
    load(name, None).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-9
}

fn times(h: &Hypothesis) -> Vec<(f64, f64)> {
    h.segments.iter().map(|s| (s.start_s, s.end_s)).collect()
}

fn texts(h: &Hypothesis) -> Vec<&str> {
    h.segments.iter().map(|s| s.text.as_str()).collect()
}

#[test]
fn whisper_json_with_ascii_escapes_and_float_noise() {
    let h = ok("whisper-zh-words-ascii-escaped.json");
    assert_eq!(h.format, Format::Whisper);
    assert_eq!(h.language.as_deref(), Some("zh"));
    assert_eq!(texts(&h), ["今天天气很好。", "我们去𠭶公园吧。"]);
    assert!(close(h.segments[0].end_s, 1.58));
    let w = &h.segments[1].words[1];
    assert_eq!(w.text, "去𠭶");
    assert_eq!(
        (w.start_s, w.end_s, w.confidence),
        (Some(2.0), Some(2.4), Some(0.6))
    );
}

#[test]
fn faster_whisper_word_arrays_and_null_words() {
    let h = ok("faster-whisper-zh-word-arrays.json");
    assert_eq!(h.format, Format::FasterWhisper);
    assert_eq!(h.segments[0].words.len(), 3);
    assert_eq!(h.segments[0].words[2].text, "很好");
    assert_eq!(h.segments[0].words[2].end_s, Some(1.58));
    assert!(h.segments[1].words.is_empty());

    let h = ok("faster-whisper-en-asdict-list.json");
    assert_eq!(h.format, Format::FasterWhisper);
    assert_eq!(texts(&h), ["Hello there.", "我用iPhone打电话"]);
    assert_eq!(h.segments[0].words[1].text, "there.");
}

#[test]
fn whisperx_characters_without_times_and_speakers() {
    let h = ok("whisperx-zh-chars-diarized.json");
    assert_eq!(h.format, Format::WhisperX);
    let s = &h.segments[0];
    assert_eq!(s.speaker.as_deref(), Some("SPEAKER_00"));
    assert_eq!(s.words.len(), 6);
    assert_eq!(s.words[0].start_s, Some(0.031));
    assert_eq!(s.words[2].start_s, None);
    assert_eq!(h.segments[1].speaker.as_deref(), Some("SPEAKER_01"));
    assert_eq!(h.warnings.len(), 1, "{:?}", h.warnings);
}

#[test]
fn funasr_sentence_info_in_milliseconds() {
    let h = ok("funasr-zh-sentence-info.json");
    assert_eq!(h.format, Format::FunAsr);
    assert_eq!(times(&h), [(0.43, 3.79), (4.0, 4.9)]);
    assert_eq!(h.segments[0].recording.as_deref(), Some("binhai_query"));
    assert_eq!(h.segments[1].speaker.as_deref(), Some("1"));
    assert_eq!(h.segments[1].text, "你好，world！");
    // Sentence 1: 19 characters but 18 timestamps, so its words stay untimed, not guessed.
    assert_eq!(h.segments[0].words.len(), 19);
    assert!(h.segments[0].words.iter().all(|w| w.start_s.is_none()));
    // Sentence 2: punctuation has no timestamp; 你 好 world get theirs.
    let w: Vec<_> = h.segments[1]
        .words
        .iter()
        .map(|w| (w.text.as_str(), w.start_s, w.end_s))
        .collect();
    assert_eq!(
        w,
        [
            ("你", Some(4.0), Some(4.2)),
            ("好", Some(4.2), Some(4.4)),
            ("world", Some(4.4), Some(4.9))
        ]
    );
}

#[test]
fn funasr_space_separated_tokens() {
    let h = ok("funasr-zh-spaced-tokens-no-punc.json");
    assert_eq!(h.format, Format::FunAsr);
    assert_eq!(texts(&h), ["欢迎大家"]);
    assert_eq!(times(&h), [(0.38, 1.365)]);
    assert_eq!(h.segments[0].words[3].start_s, Some(1.04));
}

/// Issue 19: whisper's `.tsv` (header `start end text`, integer milliseconds) was refused as
/// `unknown_format`; without its header it would read as Audacity seconds.
#[test]
fn whisper_tsv_in_milliseconds_by_content_or_name() {
    let h = ok("whisper-zh-ms.tsv");
    assert_eq!(h.format, Format::WhisperTsv);
    assert_eq!(times(&h), [(0.0, 1.58), (1.58, 3.2), (3.2, 5.01)]);
    assert_eq!(
        texts(&h),
        [
            "今天天气很好。",
            "我们去𠭶公园吧。",
            "And so, my fellow Americans"
        ]
    );
    let bytes = std::fs::read(dir().join("whisper-zh-ms.tsv")).unwrap();
    assert_eq!(
        asr::parse(&bytes, None, None).unwrap().format,
        Format::WhisperTsv
    );
    let bad = asr::parse(b"start\tend\ttext\n0.5\t1\tx\n", Some("a.tsv"), None).unwrap_err();
    assert!(bad.to_string().contains("line 2"), "{bad}");
}

#[test]
fn label_studio_regions_joined_by_id() {
    let h = ok("labelstudio-zh-regions.json");
    assert_eq!(h.format, Format::LabelStudio);
    assert_eq!(times(&h), [(0.512, 3.75), (4.25, 6.0), (7.0, 8.5)]);
    assert_eq!(h.segments[0].text, "是四十四不是十四");
    assert_eq!(h.segments[0].labels, ["Speech", "Accented"]);
    assert_eq!(h.segments[1].text, "");
    assert_eq!(h.segments[2].labels, ["Laughter"]);
    assert_eq!(h.segments[0].recording.as_deref(), Some("录音01.wav"));
    assert_eq!(
        h.model, None,
        "the annotation, not the prediction, was read"
    );
}

#[test]
fn srt_with_bom_crlf_tags_and_a_dot_before_milliseconds() {
    let h = ok("srt-zh-bom-crlf-tags.srt");
    assert_eq!(h.format, Format::Srt);
    assert_eq!(texts(&h), ["今天天气很好", "我们去公园吧", "OK, let's go"]);
    assert_eq!(times(&h), [(0.5, 2.25), (2.25, 4.001), (4.1, 5.0)]);
}

#[test]
fn webvtt_notes_settings_voices_entities_and_hours() {
    let h = ok("vtt-zh-note-voice.vtt");
    assert_eq!(h.format, Format::WebVtt);
    assert_eq!(texts(&h), ["今天天气很好", "我们\u{a0}去 & 玩 <3", "OK"]);
    assert_eq!(times(&h), [(0.5, 2.25), (2.25, 4.001), (3600.0, 3601.5)]);
    assert_eq!(h.segments[0].speaker.as_deref(), Some("张三"));
    assert_eq!(h.segments[1].speaker.as_deref(), Some("李四"));
}

#[test]
fn ctm_words_grouped_by_file_channel_and_pause() {
    let h = ok("ctm-zh-chars.ctm");
    assert_eq!(h.format, Format::Ctm);
    assert_eq!(texts(&h), ["今天好", "再见", "hello world"]);
    let recs: Vec<_> = h
        .segments
        .iter()
        .map(|s| s.recording.as_deref().unwrap())
        .collect();
    assert_eq!(recs, ["rec1", "rec1", "rec2"]);
    assert!(close(h.segments[0].end_s, 1.24));
    let w = &h.segments[0].words;
    assert_eq!((w[0].confidence, w[1].confidence), (Some(0.91), None));
    assert!(close(w[1].end_s.unwrap(), 0.94));
}

#[test]
fn audacity_labels_with_a_spectral_line_and_a_point() {
    let h = ok("audacity-zh-labels.txt");
    assert_eq!(h.format, Format::Audacity);
    assert_eq!(texts(&h), ["今天天气很好", "我们去公园吧", "[laughter]"]);
    assert_eq!(times(&h), [(0.5, 2.25), (2.25, 4.001), (5.0, 5.0)]);
}

#[test]
fn textgrid_long_short_and_utf16_read_the_same() {
    for name in [
        "textgrid-long-zh.TextGrid",
        "textgrid-short-zh.TextGrid",
        "textgrid-short-zh-utf16le-crlf.TextGrid",
    ] {
        let h = ok(name);
        assert_eq!(h.format, Format::TextGrid, "{name}");
        assert_eq!(h.tier.as_deref(), Some("words"));
        assert_eq!(texts(&h), ["他说\"是四\"", "不是 1 个"], "{name}");
        assert_eq!(times(&h), [(0.512, 2.25), (2.25, 4.5)], "{name}");
        let points = load(name, Some("tones")).unwrap();
        assert_eq!(times(&points), [(1.001, 1.001)]);
        assert_eq!(texts(&points), ["T4"]);
    }
    match load("textgrid-long-zh.TextGrid", Some("nope")) {
        Err(AsrError::NoSuchTier { available, .. }) => assert_eq!(available, ["words", "tones"]),
        other => panic!("{other:?}"),
    }
}

#[test]
fn eaf_alignable_and_reference_tiers() {
    let h = ok("eaf-zh-two-tiers.eaf");
    assert_eq!(h.format, Format::Eaf);
    assert_eq!(h.tier.as_deref(), Some("transcription"));
    assert_eq!(texts(&h), ["今天天气很好", "我们去公园吧 & 玩"]);
    assert_eq!(times(&h), [(0.512, 2.25), (2.25, 4.001)]);
    assert_eq!(h.segments[0].speaker.as_deref(), Some("张三"));
    let gloss = load("eaf-zh-two-tiers.eaf", Some("mandarin")).unwrap();
    assert_eq!(texts(&gloss), ["我们去公园吧"]);
    assert_eq!(times(&gloss), [(2.25, 4.001)]);
    assert_eq!(
        load("eaf-zh-two-tiers.eaf", Some("x")).unwrap_err().code(),
        "no_such_tier"
    );
}

/// Issue 19: speakers survive an EAF as ELAN writes it, one tier per speaker.
#[test]
fn eaf_tiers_per_speaker_are_read_together_with_their_participants() {
    let h = ok("eaf-zh-speaker-tiers.eaf");
    let got: Vec<(f64, &str, Option<&str>)> = h
        .segments
        .iter()
        .map(|s| (s.start_s, s.text.as_str(), s.speaker.as_deref()))
        .collect();
    assert_eq!(
        got,
        [
            (0.5, "今天天气很好", Some("张三")),
            (1.5, "我们去公园吧", Some("李四")),
            (3.2, "好啊", Some("张三"))
        ]
    );
    // A tier asked for by name is read alone.
    let one = load("eaf-zh-speaker-tiers.eaf", Some("李四")).unwrap();
    assert_eq!(texts(&one), ["我们去公园吧"]);
}

#[test]
fn detection_uses_content_before_the_name() {
    let bytes = std::fs::read(dir().join("srt-zh-bom-crlf-tags.srt")).unwrap();
    assert_eq!(
        asr::parse(&bytes, Some("misnamed.vtt"), None)
            .unwrap()
            .format,
        Format::Srt
    );
    assert_eq!(asr::parse(&bytes, None, None).unwrap().format, Format::Srt);
    assert_eq!(
        asr::parse(b"  \n", None, None).unwrap_err().code(),
        "empty_file"
    );
    assert_eq!(
        asr::parse(b"just some words", None, None)
            .unwrap_err()
            .code(),
        "unknown_format"
    );
}

/// (file, code, line, field)
const BAD: &[(&str, &str, Option<usize>, Option<&str>)] = &[
    (
        "whisper-segment-missing-end.json",
        "bad_field",
        None,
        Some("segments[1].end"),
    ),
    ("whisper-truncated-json.json", "bad_json", Some(4), None),
    (
        "whisper-word-end-before-start.json",
        "bad_field",
        None,
        Some("segments[0].words[1].end"),
    ),
    (
        "funasr-timestamp-not-pairs.json",
        "bad_field",
        None,
        Some("[0].timestamp[1]"),
    ),
    (
        "labelstudio-start-not-number.json",
        "bad_field",
        None,
        Some("[0].annotations[0].result[0].value.start"),
    ),
    ("srt-bad-time-line-6.srt", "bad_syntax", Some(6), None),
    (
        "srt-end-before-start-line-2.srt",
        "bad_syntax",
        Some(2),
        None,
    ),
    ("srt-not-utf8-line-7.srt", "bad_encoding", Some(7), None),
    ("vtt-no-header.vtt", "bad_syntax", Some(1), None),
    (
        "vtt-end-before-start-line-6.vtt",
        "bad_syntax",
        Some(6),
        None,
    ),
    (
        "ctm-duration-not-number-line-3.ctm",
        "bad_syntax",
        Some(3),
        None,
    ),
    ("ctm-too-few-fields-line-2.ctm", "bad_syntax", Some(2), None),
    (
        "audacity-decimal-comma-line-2.txt",
        "bad_syntax",
        Some(2),
        None,
    ),
    (
        "textgrid-truncated-line-20.TextGrid",
        "bad_syntax",
        Some(20),
        None,
    ),
    (
        "textgrid-unknown-class-line-8.TextGrid",
        "bad_syntax",
        Some(8),
        None,
    ),
    (
        "eaf-missing-slot-line-20.eaf",
        "bad_field",
        Some(20),
        Some("TIME_SLOT_REF2"),
    ),
    ("eaf-bad-xml-line-16.eaf", "bad_xml", Some(16), None),
];

#[test]
fn malformed_files_name_the_place() {
    let mut listed: Vec<&str> = BAD.iter().map(|b| b.0).collect();
    listed.sort_unstable();
    let mut on_disk: Vec<String> = std::fs::read_dir(dir().join("bad"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    on_disk.sort_unstable();
    assert_eq!(listed, on_disk, "every malformed sample has an expectation");
    for &(name, code, line, field) in BAD {
        let err = load(&format!("bad/{name}"), None).expect_err(name);
        assert_eq!(
            (err.code(), err.line(), err.field()),
            (code, line, field),
            "{name}: {err}"
        );
        if let Some(line) = line {
            assert!(
                err.to_string().contains(&format!("line {line}")),
                "{name}: {err}"
            );
        }
    }
}

#[test]
fn no_prefix_of_any_sample_panics() {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.extend(
        std::fs::read_dir(dir().join("bad"))
            .unwrap()
            .map(|e| e.unwrap().path()),
    );
    for f in files.iter().filter(|f| f.is_file()) {
        let bytes = std::fs::read(f).unwrap();
        let name = f.file_name().unwrap().to_str().unwrap();
        for cut in 0..=bytes.len() {
            let _ = asr::parse(&bytes[..cut], Some(name), None);
            let _ = asr::parse(&bytes[..cut], None, Some("tones"));
        }
    }
}
