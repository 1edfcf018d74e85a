//! The body of every fuzz target, one function each, shared by the cargo-fuzz binaries in this
//! folder and by `tests/suite/fuzz_regressions.rs`, which replays the seed corpus and every saved
//! crasher through the same functions in an ordinary `cargo test`.
//!
//! Each function takes any bytes and panics only when fangyan breaks a promise: beyond "no
//! panic", a parsed hypothesis has finite, non-negative times with end ≥ start (the
//! `HypSegment` docs), a decoded sample lies in [-1, 1], and normalised text has its
//! whitespace collapsed.

use std::path::PathBuf;
use std::sync::OnceLock;

use fangyan::audio::{ChannelMode, DecodeOptions, Decoder};
use fangyan::text::asr::{self, AsrError, Format, Hypothesis};
use fangyan::text::normalise::{NormaliseOptions, Normaliser, NumeralPolicy};

/// One fuzz target's body.
pub type Target = fn(&[u8]);

/// Every target by name, as `scripts/fuzz.sh` and the corpus folders call them.
pub const TARGETS: [(&str, Target); 9] = [
    ("decode", decode),
    ("asr_detect", asr_detect),
    ("asr_json", asr_json),
    ("asr_labelstudio", asr_labelstudio),
    ("asr_subtitles", asr_subtitles),
    ("asr_lines", asr_lines),
    ("asr_textgrid", asr_textgrid),
    ("asr_eaf", asr_eaf),
    ("normalise", normalise),
];

fn scratch() -> &'static PathBuf {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    PATH.get_or_init(|| {
        let shm = std::path::Path::new("/dev/shm");
        let dir = if shm.is_dir() {
            shm.to_path_buf()
        } else {
            std::env::temp_dir()
        };
        dir.join(format!("fangyan-fuzz-decode-{}", std::process::id()))
    })
}

/// The decoder entry point of an upload: `Decoder::open` on the uploaded file (sniffing WAV,
/// MP4 and Matroska headers, then symphonia's probe), every chunk to the end, then `finish`,
/// as `audio::precheck`, `audio::probe` and the ingest job do. The bytes go to one scratch
/// file per process (in /dev/shm where there is one): the decoder reads files, not slices.
///
/// The duration limit is 10 minutes rather than the upload default of 12 hours: a few bytes
/// of FLAC can hold hours of silence, and decoding that is slow, not a bug. The limit path
/// itself (`too_long`) is still reached.
pub fn decode(data: &[u8]) {
    let path = scratch();
    if let Err(e) = std::fs::write(path, data) {
        panic!("cannot write the scratch file {}: {e}", path.display());
    }
    let opts = DecodeOptions {
        channel: ChannelMode::Mix,
        max_secs: 600.0,
    };
    let Ok(mut decoder) = Decoder::open(path, opts) else {
        return;
    };
    let mut chunk = Vec::new();
    while let Ok(true) = decoder.next_chunk(&mut chunk) {
        assert!(
            chunk.iter().all(|s| s.is_finite() && s.abs() <= 1.0),
            "a sample outside [-1, 1]"
        );
        chunk.clear();
    }
    if let Ok(summary) = decoder.finish() {
        assert!(summary.frames > 0, "a decode without audio was accepted");
        assert!(
            summary.info.sample_rate > 0,
            "a zero sample rate was accepted"
        );
    }
}

/// The import entry point: raw bytes through decoding (BOMs, UTF-16, CRLF), format detection
/// and whichever parser detection picks, as an uploaded hypothesis file goes.
pub fn asr_detect(data: &[u8]) {
    check(&asr::parse(data, None, None));
}

/// Decodes like the import does, then parses as each of `formats` with each of `tiers`.
fn parse_as(data: &[u8], formats: &[Format], tiers: &[Option<&str>]) {
    let Ok(text) = asr::decode(data) else { return };
    for &f in formats {
        for &tier in tiers {
            check(&asr::parse_as(f, &text, tier));
        }
    }
}

/// The JSON parser (Whisper, faster-whisper, WhisperX, FunASR) under each format hint.
pub fn asr_json(data: &[u8]) {
    let formats = [
        Format::Whisper,
        Format::FasterWhisper,
        Format::WhisperX,
        Format::FunAsr,
    ];
    parse_as(data, &formats, &[None]);
}

/// The Label Studio JSON export parser.
pub fn asr_labelstudio(data: &[u8]) {
    parse_as(data, &[Format::LabelStudio], &[None]);
}

/// The subtitle parsers: each input as SubRip and as WebVTT.
pub fn asr_subtitles(data: &[u8]) {
    parse_as(data, &[Format::Srt, Format::WebVtt], &[None]);
}

/// The line formats: each input as NIST CTM and as an Audacity label track.
pub fn asr_lines(data: &[u8]) {
    parse_as(data, &[Format::Ctm, Format::Audacity], &[None]);
}

/// The Praat TextGrid parser (long and short text formats), default and named tier.
pub fn asr_textgrid(data: &[u8]) {
    parse_as(data, &[Format::TextGrid], &[None, Some("words")]);
}

/// The ELAN EAF parser, default and named tier.
pub fn asr_eaf(data: &[u8]) {
    parse_as(data, &[Format::Eaf], &[None, Some("transcription")]);
}

/// Asserts the documented invariants of a parse result.
fn check(result: &Result<Hypothesis, AsrError>) {
    match result {
        Ok(h) => {
            for s in &h.segments {
                assert!(
                    s.start_s.is_finite() && s.end_s.is_finite(),
                    "non-finite segment time {s:?}"
                );
                assert!(s.start_s >= 0.0, "negative segment start {s:?}");
                assert!(s.end_s >= s.start_s, "segment ends before it starts {s:?}");
                for w in &s.words {
                    for t in [w.start_s, w.end_s].into_iter().flatten() {
                        assert!(t.is_finite(), "non-finite word time {w:?}");
                    }
                }
            }
        }
        Err(e) => {
            let _ = (e.code(), e.line(), e.field(), e.to_string());
        }
    }
}

/// The scoring normaliser under every combination of steps. The first two bytes choose the
/// steps and the numeral policy; the rest is the text (lossy UTF-8). With bit 2 of the second
/// byte set, NUL-separated parts after the text become custom marker, filler and erhua-keep
/// words in turn, as a project's stored options may hold any strings.
pub fn normalise(data: &[u8]) {
    let [steps, extra, rest @ ..] = data else {
        return;
    };
    let bit = |b: u8| steps & (1 << b) != 0;
    let mut opts = NormaliseOptions {
        fullwidth: bit(0),
        markers: bit(1),
        t2s: bit(2),
        case: bit(3),
        fillers: bit(4),
        erhua: bit(5),
        punct: bit(6),
        join_cjk: bit(7),
        numerals: match extra % 3 {
            0 => NumeralPolicy::Keep,
            1 => NumeralPolicy::DigitsToHanzi,
            _ => NumeralPolicy::HanziToDigits,
        },
        ..NormaliseOptions::default()
    };
    let input = String::from_utf8_lossy(rest);
    let mut parts = input.split('\0');
    let text = parts.next().unwrap_or_default();
    if extra & 4 != 0 {
        opts.marker_words.clear();
        opts.filler_words.clear();
        opts.erhua_keep.clear();
        for (k, word) in parts.enumerate() {
            let list = match k % 3 {
                0 => &mut opts.marker_words,
                1 => &mut opts.filler_words,
                _ => &mut opts.erhua_keep,
            };
            list.push(word.to_string());
        }
    }
    let n = Normaliser::new(opts);
    let once = n.normalise(text);
    assert!(
        once.is_empty()
            || once
                .split(' ')
                .all(|w| !w.is_empty() && !w.contains(char::is_whitespace)),
        "whitespace left uncollapsed: {once:?}"
    );
    // Each step is one pass, so a second run may still change the text (a marker revealed by
    // removing a filler); it must not panic either.
    let _ = n.normalise(&once);
}
