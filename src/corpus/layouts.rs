//! Clip-based layouts: Kaldi data directories, Lhotse, NeMo, Hugging Face audiofolder and
//! Common Voice. Each utterance is one clip (`clips/<utt-id>.wav`); Kaldi's `wav.scp` is keyed
//! by utterance (no `segments` file is needed when every recording is a clip).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io;
use std::path::Path;

use serde_json::json;
use sha2::{Digest, Sha256};

use super::{Corpus, ExportOptions, SPLITS, Utterance, Written, clip_rel, secs};

pub(super) fn write(
    root: &Path,
    c: &Corpus,
    o: &ExportOptions,
    hashes: &BTreeMap<String, String>,
    w: &mut Written,
) -> io::Result<()> {
    for (si, split) in SPLITS.iter().enumerate() {
        let utts: Vec<&Utterance> = c.utterances.iter().filter(|u| u.split == si).collect();
        if utts.is_empty() {
            continue;
        }
        if o.wants("kaldi") {
            kaldi(root, c, o, split, &utts, w)?;
        }
        if o.wants("lhotse") {
            lhotse(root, c, o, split, &utts, w)?;
        }
        if o.wants("nemo") {
            nemo(root, c, o, split, &utts, w)?;
        }
        if o.wants("hf") {
            hf(root, c, o, split, &utts, hashes, w)?;
        }
        if o.wants("cv") {
            cv(root, c, o, split, &utts, hashes, w)?;
        }
    }
    Ok(())
}

/// Kaldi gender: only `m` or `f`.
pub(super) fn kaldi_gender(g: Option<&str>) -> Option<&'static str> {
    match g?.to_lowercase().as_str() {
        "m" | "male" | "male_masculine" | "man" => Some("m"),
        "f" | "female" | "female_feminine" | "woman" => Some("f"),
        _ => None,
    }
}

/// Whether every one of `speakers` has a Kaldi gender (`m` or `f`). Kaldi's `spk2gender` must
/// list every speaker of the split or none: `validate_data_dir.sh` fails on a partial one,
/// `fix_data_dir.sh` drops the missing speakers' utterances and lhotse raises `KeyError`. So a
/// split with a speaker of unknown (or other) gender gets no `spk2gender` (the datasheet says so).
pub(super) fn genders_complete<'a>(mut speakers: impl Iterator<Item = &'a super::Speaker>) -> bool {
    speakers.all(|s| kaldi_gender(s.gender.as_deref()).is_some())
}

fn kaldi(
    root: &Path,
    c: &Corpus,
    o: &ExportOptions,
    split: &str,
    utts: &[&Utterance],
    w: &mut Written,
) -> io::Result<()> {
    let (mut wav, mut text, mut u2s, mut u2d) =
        (String::new(), String::new(), String::new(), String::new());
    let mut s2u: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for u in utts {
        let spk = &c.speakers[u.speaker];
        let _ = writeln!(wav, "{} {}", u.id, clip_rel(&u.id));
        let _ = writeln!(text, "{} {}", u.id, u.text);
        let _ = writeln!(u2s, "{} {}", u.id, spk.id);
        let _ = writeln!(u2d, "{} {}", u.id, secs(u.clip_samples, o.rate));
        s2u.entry(spk.id.as_str()).or_default().push(&u.id);
    }
    let mut spk2utt = String::new();
    let mut s2g = String::new();
    let complete = genders_complete(utts.iter().map(|u| &c.speakers[u.speaker]));
    for (s, list) in &s2u {
        let _ = writeln!(spk2utt, "{s} {}", list.join(" "));
        if let Some(sp) = c.speakers.iter().find(|x| x.id == *s)
            && let Some(g) = kaldi_gender(sp.gender.as_deref())
        {
            let _ = writeln!(s2g, "{s} {g}");
        }
    }
    let d = format!("kaldi/{split}");
    w.put(root, &format!("{d}/wav.scp"), wav.as_bytes())?;
    w.put(root, &format!("{d}/text"), text.as_bytes())?;
    w.put(root, &format!("{d}/utt2spk"), u2s.as_bytes())?;
    w.put(root, &format!("{d}/spk2utt"), spk2utt.as_bytes())?;
    w.put(root, &format!("{d}/utt2dur"), u2d.as_bytes())?;
    if complete {
        w.put(root, &format!("{d}/spk2gender"), s2g.as_bytes())?;
    }
    Ok(())
}

fn dur(u: &Utterance, rate: u32) -> f64 {
    u.clip_samples as f64 / f64::from(rate)
}

fn custom(c: &Corpus, u: &Utterance) -> serde_json::Value {
    let rec = &c.recordings[u.recording];
    let labels: Vec<String> = u.labels.iter().map(|(f, v)| format!("{f}={v}")).collect();
    let features: Vec<String> = u.features.iter().map(|f| f.label()).collect();
    json!({
        "variety": u.variety,
        "recording": rec.id,
        "offset": u.start as f64 / f64::from(rec.analysis_rate),
        "labels": labels,
        "features": features,
    })
}

fn lhotse(
    root: &Path,
    c: &Corpus,
    o: &ExportOptions,
    split: &str,
    utts: &[&Utterance],
    w: &mut Written,
) -> io::Result<()> {
    let (mut recs, mut sups) = (String::new(), String::new());
    for u in utts {
        let d = dur(u, o.rate);
        let r = json!({
            "id": u.id,
            "sources": [{"type": "file", "channels": [0], "source": clip_rel(&u.id)}],
            "sampling_rate": o.rate,
            "num_samples": u.clip_samples,
            "duration": d,
            "channel_ids": [0],
        });
        let spk = &c.speakers[u.speaker];
        let mut s = json!({
            "id": u.id,
            "recording_id": u.id,
            "start": 0.0,
            "duration": d,
            "channel": 0,
            "text": u.text,
            "language": super::language::lhotse_name(&u.language),
            "speaker": spk.id,
            "custom": custom(c, u),
        });
        if let Some(g) = kaldi_gender(spk.gender.as_deref())
            && let Some(obj) = s.as_object_mut()
        {
            obj.insert("gender".into(), json!(g));
        }
        let _ = writeln!(recs, "{r}");
        let _ = writeln!(sups, "{s}");
    }
    let n = &o.corpus;
    w.put(
        root,
        &format!("lhotse/{n}_recordings_{split}.jsonl"),
        recs.as_bytes(),
    )?;
    w.put(
        root,
        &format!("lhotse/{n}_supervisions_{split}.jsonl"),
        sups.as_bytes(),
    )
}

fn nemo(
    root: &Path,
    c: &Corpus,
    o: &ExportOptions,
    split: &str,
    utts: &[&Utterance],
    w: &mut Written,
) -> io::Result<()> {
    let mut out = String::new();
    for u in utts {
        let line = json!({
            "audio_filepath": format!("../{}", clip_rel(&u.id)),
            "duration": dur(u, o.rate),
            "text": u.text,
            "speaker": c.speakers[u.speaker].id,
            "lang": u.language,
            "variety": u.variety,
            "utt_id": u.id,
        });
        let _ = writeln!(out, "{line}");
    }
    w.put(root, &format!("nemo/{split}_manifest.json"), out.as_bytes())
}

fn hf(
    root: &Path,
    c: &Corpus,
    o: &ExportOptions,
    split: &str,
    utts: &[&Utterance],
    hashes: &BTreeMap<String, String>,
    w: &mut Written,
) -> io::Result<()> {
    // The `csv` crate quotes what needs it (commas, quotes, newlines in transcripts). No BOM
    // and no formula guard: `datasets` reads this file, not a spreadsheet.
    let mut csv = csv::Writer::from_writer(Vec::new());
    csv.write_record([
        "file_name",
        "id",
        "transcription",
        "speaker_id",
        "gender",
        "variety",
        "duration",
    ])?;
    let mut jsonl = String::new();
    for u in utts {
        let spk = &c.speakers[u.speaker];
        let file = format!("{}.wav", u.id);
        let g = spk.gender.clone().unwrap_or_default();
        let d = secs(u.clip_samples, o.rate);
        csv.write_record([&file, &u.id, &u.text, &spk.id, &g, &u.variety, &d])?;
        let _ = writeln!(
            jsonl,
            "{}",
            json!({"file_name": format!("{split}/{file}"), "id": u.id, "transcription": u.text, "speaker_id": spk.id,
                   "gender": g, "variety": u.variety, "duration": dur(u, o.rate)})
        );
        if let Some(h) = hashes.get(&u.id) {
            w.link(root, &clip_rel(&u.id), &format!("hf/{split}/{file}"), h)?;
        }
    }
    let csv = csv
        .into_inner()
        .map_err(|e| io::Error::other(e.to_string()))?;
    w.put(root, &format!("hf/{split}/metadata.csv"), &csv)?;
    // The JSON-lines copy sits beside the split folders (`file_name` relative to `hf/`):
    // `datasets` refuses a folder holding metadata files of two extensions.
    w.put(
        root,
        &format!("hf/metadata_{split}.jsonl"),
        jsonl.as_bytes(),
    )
}

fn tsv_field(s: &str) -> String {
    s.replace(['\t', '\n', '\r'], " ")
}

fn cv_gender(g: Option<&str>) -> String {
    match super::layouts::kaldi_gender(g) {
        Some("m") => "male_masculine".into(),
        Some("f") => "female_feminine".into(),
        _ => g.map(tsv_field).unwrap_or_default(),
    }
}

fn cv(
    root: &Path,
    c: &Corpus,
    o: &ExportOptions,
    split: &str,
    utts: &[&Utterance],
    hashes: &BTreeMap<String, String>,
    w: &mut Written,
) -> io::Result<()> {
    let mut tsv = String::from(
        "client_id\tpath\tsentence_id\tsentence\tsentence_domain\tup_votes\tdown_votes\tage\tgender\taccents\tvariant\tlocale\tsegment\n",
    );
    let mut durs = String::from("clip\tduration[ms]\n");
    for u in utts {
        let spk = &c.speakers[u.speaker];
        let client = hex::encode(Sha256::digest(
            format!("{}/{}", c.project, spk.id).as_bytes(),
        ));
        let sentence_id = hex::encode(Sha256::digest(u.text.as_bytes()));
        let file = format!("{}.wav", u.id);
        let _ = writeln!(
            tsv,
            "{client}\t{file}\t{sentence_id}\t{}\t\t1\t0\t{}\t{}\t{}\t{}\t{}\t",
            tsv_field(&u.text),
            tsv_field(spk.age_band.as_deref().unwrap_or("")),
            cv_gender(spk.gender.as_deref()),
            tsv_field(spk.accent.as_deref().unwrap_or("")),
            tsv_field(&u.variety),
            tsv_field(&o.locale),
        );
        let _ = writeln!(
            durs,
            "{file}\t{}",
            (u.clip_samples * 1000 + u64::from(o.rate) / 2) / u64::from(o.rate)
        );
        if let Some(h) = hashes.get(&u.id) {
            w.link(root, &clip_rel(&u.id), &format!("cv/clips/{file}"), h)?;
        }
    }
    w.put(root, &format!("cv/{split}.tsv"), tsv.as_bytes())?;
    w.put(
        root,
        &format!("cv/clip_durations_{split}.tsv"),
        durs.as_bytes(),
    )
}
