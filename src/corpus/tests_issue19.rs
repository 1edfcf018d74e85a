//! Issue 19: what the third-party readers refused, checked on a small realistic corpus (a
//! speaker of unknown gender, overlapping speech, markers, an English utterance, an
//! Extension-B character, punctuation). The readers themselves run in `tests/suite/export.rs`.

use std::collections::BTreeMap;
use std::path::Path;

use super::*;

const RATE: u32 = 16_000;

fn sec(s: f64) -> u64 {
    (s * f64::from(RATE)) as u64
}

/// (recording, speaker, start s, end s, text); speakers: 0 female, 1 male, 2 unknown gender.
const SEGMENTS: [(usize, usize, f64, f64, &str); 6] = [
    (0, 0, 1.0, 3.0, "而对楼市[laughter]成交"),
    (
        0,
        1,
        2.5,
        5.0,
        "是\"双引号\"、逗号,与 <尖括号> & 和号[noise]",
    ),
    (0, 2, 6.0, 8.0, "And so my fellow-Americans"),
    (1, 0, 0.0, 2.0, "𠝹开\u{3000}两半"),
    (1, 1, 3.0, 4.0, "含[unk]的"),
    (1, 2, 4.0, 6.0, "唔该 ask not"),
];

pub(super) fn sample(opts: &ExportOptions, with_unknown_gender: bool) -> Corpus {
    let recordings = (1..=2)
        .map(|i| Recording {
            id: recording_id(i),
            name: format!("rec{i}.wav"),
            original: PathBuf::from(format!("rec{i}.wav")),
            analysis_rate: RATE,
            samples: sec(60.0),
        })
        .collect();
    let codes: Vec<String> = ["1", "2", "3"].map(String::from).to_vec();
    let ids = speaker_ids(&codes);
    let speakers = ids
        .into_iter()
        .zip(codes)
        .zip([Some("female"), Some("male"), None])
        .map(|((id, code), gender)| Speaker {
            id,
            code,
            gender: gender.map(String::from),
            ..Default::default()
        })
        .collect();
    let segments = SEGMENTS
        .iter()
        .enumerate()
        .filter(|(_, s)| with_unknown_gender || s.1 != 2)
        .map(|(i, &(rec, spk, a, b, text))| RawSegment {
            db_id: i as i64 + 1,
            recording: rec,
            speaker: Some(spk),
            start: sec(a),
            end: sec(b),
            verbatim: text.into(),
            display: text.into(),
            norm: text.into(),
            labels: Vec::new(),
            features: Vec::new(),
        })
        .collect();
    build(
        "测试",
        recordings,
        speakers,
        segments,
        serde_json::json!({}),
        serde_json::json!({}),
        opts,
    )
}

fn export(opts: &ExportOptions, with_unknown_gender: bool) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let c = sample(opts, with_unknown_gender);
    write_all(
        dir.path(),
        &c,
        opts,
        &BTreeMap::new(),
        &mut Written::default(),
    )
    .unwrap();
    dir
}

fn read(root: &Path, rel: &str) -> String {
    std::fs::read_to_string(root.join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

fn one_split() -> ExportOptions {
    ExportOptions {
        splits: [1.0, 0.0, 0.0],
        keep_unintelligible: true,
        ..Default::default()
    }
}

#[test]
fn spk2gender_is_left_out_of_a_split_with_a_speaker_of_unknown_gender() {
    let out = export(&one_split(), true);
    assert!(read(out.path(), "kaldi/train/spk2utt").lines().count() == 3);
    assert!(!out.path().join("kaldi/train/spk2gender").exists());
    let sheet = read(out.path(), "README.md");
    assert!(
        sheet.contains("`spk2gender` is omitted for train"),
        "{sheet}"
    );

    let out = export(&one_split(), false);
    let speakers: Vec<String> = read(out.path(), "kaldi/train/spk2utt")
        .lines()
        .map(|l| l.split(' ').next().unwrap().to_string())
        .collect();
    let genders = read(out.path(), "kaldi/train/spk2gender");
    let listed: Vec<&str> = genders
        .lines()
        .map(|l| &l[..l.find(' ').unwrap()])
        .collect();
    assert_eq!(listed, speakers);
    assert_eq!(genders, "spk_1 f\nspk_2 m\n");
    assert!(read(out.path(), "README.md").contains("lists every speaker"));
}

/// (file, channel, begin, duration, word) of each CTM line.
fn ctm(text: &str) -> Vec<(String, String, f64, f64, String)> {
    text.lines()
        .map(|l| {
            let f: Vec<&str> = l.split(' ').collect();
            assert_eq!(f.len(), 5, "{l}");
            (
                f[0].into(),
                f[1].into(),
                f[2].parse().unwrap(),
                f[3].parse().unwrap(),
                f[4].into(),
            )
        })
        .collect()
}

#[test]
fn ctm_is_sorted_by_file_channel_and_begin_where_segments_overlap() {
    let out = export(&one_split(), true);
    let words = ctm(&read(out.path(), "nist/fangyan.ctm"));
    assert!(words.len() > 20);
    for pair in words.windows(2) {
        let (a, b) = (&pair[0], &pair[1]);
        assert!(
            (&a.0, &a.1) < (&b.0, &b.1) || ((&a.0, &a.1) == (&b.0, &b.1) && a.2 <= b.2),
            "{a:?} before {b:?}"
        );
    }
}

/// What `stmValidator.pl -l mandarin` accepts: no token holds one of its punctuation
/// characters, except a whole `(word)` (optionally deletable).
fn mandarin_valid(token: &str) -> bool {
    let punct = "!@#$^&*()`~_+={[}]|\\<,>.?/-";
    let plain = |t: &str| !t.is_empty() && !t.contains(|c| punct.contains(c));
    plain(token)
        || token
            .strip_prefix('(')
            .and_then(|t| t.strip_suffix(')'))
            .is_some_and(plain)
}

#[test]
fn stm_and_ctm_tokenise_alike_and_the_stm_validates_under_every_marker_option() {
    for markers in [
        MarkerMap::Keep,
        MarkerMap::Angle,
        MarkerMap::Upper,
        MarkerMap::Drop,
    ] {
        let opts = ExportOptions {
            markers,
            ..one_split()
        };
        let out = export(&opts, true);
        let stm = read(out.path(), "nist/fangyan.stm");
        let words = ctm(&read(out.path(), "nist/fangyan.ctm"));
        let lines: Vec<Vec<&str>> = stm
            .lines()
            .filter(|l| !l.starts_with(";;"))
            .map(|l| l.split(' ').collect())
            .collect();
        assert_eq!(lines.len(), SEGMENTS.len());
        // Each CTM word goes to the STM segment its middle falls in (sclite assigns words by
        // time): exactly one, and the words of each segment are its STM tokens in order.
        let mut got: Vec<Vec<&str>> = vec![Vec::new(); lines.len()];
        for (file, _, begin, dur, word) in &words {
            let mid = begin + dur / 2.0;
            let hits: Vec<usize> = (0..lines.len())
                .filter(|&i| {
                    lines[i][0] == file
                        && lines[i][3].parse::<f64>().unwrap() <= mid
                        && mid <= lines[i][4].parse::<f64>().unwrap()
                })
                .collect();
            assert_eq!(hits.len(), 1, "{markers:?}: {word} at {mid} in {hits:?}");
            got[hits[0]].push(word);
        }
        for (line, got) in lines.iter().zip(&got) {
            let tokens = &line[5..];
            let tokens: Vec<&str> = tokens.iter().copied().filter(|t| !t.is_empty()).collect();
            for t in &tokens {
                assert!(mandarin_valid(t), "{markers:?}: {t:?} in {line:?}");
            }
            let scored: Vec<&str> = tokens
                .iter()
                .copied()
                .filter(|t| !t.starts_with('('))
                .collect();
            assert_eq!(&scored, got, "{markers:?}: {line:?}");
        }
        let markers_in_stm = stm.matches("(laughter)").count() + stm.matches("(unk)").count();
        assert_eq!(
            markers_in_stm,
            if markers == MarkerMap::Drop { 0 } else { 2 },
            "{markers:?}: {stm}"
        );
        assert!(stm.contains(" 𠝹 开 两 半\n"), "{stm}");
        assert!(stm.contains(" And so my fellow Americans\n"), "{stm}");
    }
}

#[test]
fn eaf_names_the_recording_audio_relative_to_itself() {
    let out = export(&one_split(), true);
    let eaf = read(out.path(), "eaf/r000001.eaf");
    assert!(
        eaf.contains(
            "<MEDIA_DESCRIPTOR MEDIA_URL=\"../audio/r000001.wav\" MIME_TYPE=\"audio/x-wav\" \
             RELATIVE_MEDIA_URL=\"../audio/r000001.wav\"/>"
        ),
        "{eaf}"
    );
    // Inside HEADER, before its PROPERTY (the schema's order).
    let header = &eaf[eaf.find("<HEADER").unwrap()..eaf.find("</HEADER>").unwrap()];
    assert!(header.find("MEDIA_DESCRIPTOR").unwrap() < header.find("PROPERTY").unwrap());
    assert!(read(out.path(), "README.md").contains("`audio/`"));
}

#[test]
fn lhotse_and_nemo_give_each_utterance_its_own_language() {
    let out = export(&one_split(), true);
    let lang = |rel: &str, key: &str| -> BTreeMap<String, String> {
        read(out.path(), rel)
            .lines()
            .map(|l| {
                let v: serde_json::Value = serde_json::from_str(l).unwrap();
                let text = v["text"].as_str().unwrap().to_string();
                (text, v[key].as_str().unwrap().to_string())
            })
            .collect()
    };
    let lhotse = lang("lhotse/fangyan_supervisions_train.jsonl", "language");
    let nemo = lang("nemo/train_manifest.json", "lang");
    assert_eq!(lhotse["And so my fellow-Americans"], "English");
    assert_eq!(nemo["And so my fellow-Americans"], "en");
    assert_eq!(lhotse["唔该 ask not"], "Chinese");
    assert_eq!(nemo["𠝹开 两半"], "zh");
    // The project default comes from the locale.
    let yue = ExportOptions {
        locale: "yue".into(),
        ..one_split()
    };
    let out = export(&yue, true);
    let nemo = read(out.path(), "nemo/train_manifest.json");
    assert!(nemo.contains(r#""lang":"yue","#) && nemo.contains(r#""lang":"en","#));
}

#[test]
fn the_datasheet_prints_the_default_schema_rather_than_an_empty_one() {
    let out = export(&one_split(), true);
    let sheet = read(out.path(), "README.md");
    let schema =
        &sheet[sheet.find("## Tag schema").unwrap()..sheet.find("## Conventions").unwrap()];
    assert!(!schema.contains("```json\n{}\n```"), "{schema}");
    assert!(schema.contains("default schema"), "{schema}");
    assert!(schema.contains("\"segment_fields\""), "{schema}");
}
