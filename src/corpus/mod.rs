//! Corpus export, pure core: the in-memory corpus (recordings, speakers, utterances), ids that
//! sort the way Kaldi requires, speaker-disjoint splits, marker mapping, and the writers of
//! every layout (Kaldi, Lhotse, NeMo, Hugging Face audiofolder, Common Voice, TextGrid, EAF,
//! WebVTT, SRT, NIST STM/CTM, Audacity, datasheet, SHA256SUMS) plus the clip cutter.
//!
//! No database or web code here: `crate::exports` loads a [`Corpus`] from the database and
//! calls [`write_all`]. Everything written is a function of the corpus and the options, so the
//! same export run twice gives byte-identical manifests (no clocks, no hash-map order).

pub mod clips;
mod datasheet;
pub mod language;
mod layouts;
pub mod nist;
mod options;
mod splits;
#[cfg(test)]
mod tests_issue19;
mod timed;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

pub use clips::{ClipJob, ClipResult, cut_recording, cut_source};
pub use options::{ExportOptions, LAYOUTS, MarkerMap, TextLayer};
pub use splits::assign_splits;

/// One recording of the corpus.
#[derive(Debug, Clone)]
pub struct Recording {
    /// Export id, e.g. `r000012`.
    pub id: String,
    /// Display name.
    pub name: String,
    /// The original audio: a file, or the original's key in the store (`originals/<sha256>`).
    pub original: PathBuf,
    /// Rate of the segment sample positions.
    pub analysis_rate: u32,
    /// Length in analysis samples.
    pub samples: u64,
}

/// One speaker.
#[derive(Debug, Clone, Default)]
pub struct Speaker {
    /// Export id: alphanumeric, a prefix of every utterance id.
    pub id: String,
    /// Project code.
    pub code: String,
    /// As stored (`male`, `female`, ...).
    pub gender: Option<String>,
    /// Age band, e.g. `thirties`.
    pub age_band: Option<String>,
    /// Self-reported accent.
    pub accent: Option<String>,
    /// Native variety.
    pub variety: Option<String>,
}

/// A span feature (accent tag).
#[derive(Debug, Clone, PartialEq)]
pub struct Feature {
    /// Feature code.
    pub code: String,
    /// The characters.
    pub chars: String,
    /// Expected form.
    pub expected: String,
    /// Realised form.
    pub realised: String,
}

impl Feature {
    /// `CODE:chars:expected>realised`.
    pub fn label(&self) -> String {
        format!(
            "{}:{}:{}>{}",
            self.code, self.chars, self.expected, self.realised
        )
    }
}

/// One exported utterance.
#[derive(Debug, Clone)]
pub struct Utterance {
    /// Utterance id (speaker-prefixed).
    pub id: String,
    /// Index into [`Corpus::recordings`].
    pub recording: usize,
    /// Index into [`Corpus::speakers`].
    pub speaker: usize,
    /// Start, analysis samples.
    pub start: u64,
    /// End (exclusive), analysis samples.
    pub end: u64,
    /// Transcript (text layer, markers mapped, whitespace collapsed).
    pub text: String,
    /// The same text with its markers as stored (`[laughter]`), for the layouts that have
    /// their own marker convention (NIST).
    pub marked: String,
    /// The normalised text (`text_norm`).
    pub normalised: String,
    /// Segment tags (field, value), sorted.
    pub labels: Vec<(String, String)>,
    /// Span features.
    pub features: Vec<Feature>,
    /// Dialect label: tag `variety`, else the speaker's native variety, else empty.
    pub variety: String,
    /// ISO 639 code of the language (see [`language::detect`]).
    pub language: String,
    /// 0 train, 1 dev, 2 test.
    pub split: usize,
    /// Clip length in output samples.
    pub clip_samples: u64,
}

/// Split names.
pub const SPLITS: [&str; 3] = ["train", "dev", "test"];

/// The whole corpus.
#[derive(Debug, Clone)]
pub struct Corpus {
    /// Project name.
    pub project: String,
    /// Recordings (sorted by id).
    pub recordings: Vec<Recording>,
    /// Speakers (sorted by id).
    pub speakers: Vec<Speaker>,
    /// Utterances (sorted by id).
    pub utterances: Vec<Utterance>,
    /// Project tag schema (JSON).
    pub tag_schema: serde_json::Value,
    /// Project conventions (JSON).
    pub conventions: serde_json::Value,
    /// Segments dropped and why (reason → count).
    pub dropped: BTreeMap<String, u64>,
}

/// A segment as loaded from the project, before ids, text mapping and splits.
#[derive(Debug, Clone)]
pub struct RawSegment {
    /// Database id (tie-breaker of ids).
    pub db_id: i64,
    /// Index into the recordings.
    pub recording: usize,
    /// Index into the speakers, `None` when unassigned.
    pub speaker: Option<usize>,
    /// Start, analysis samples.
    pub start: u64,
    /// End, analysis samples.
    pub end: u64,
    /// `text_verbatim`.
    pub verbatim: String,
    /// `text_display`.
    pub display: String,
    /// `text_norm`.
    pub norm: String,
    /// Segment tags.
    pub labels: Vec<(String, String)>,
    /// Span features.
    pub features: Vec<Feature>,
}

/// Kaldi-safe id part: ASCII alphanumerics and `_` (all sort after `-`, the separator).
pub fn id_part(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect()
}

/// Recording export id from its database id.
pub fn recording_id(db_id: i64) -> String {
    format!("r{db_id:06}")
}

/// Assigns unique speaker ids from codes (`spk_` + sanitised code; `unk` for no speaker).
pub fn speaker_ids(codes: &[String]) -> Vec<String> {
    let mut seen = std::collections::BTreeSet::new();
    codes
        .iter()
        .map(|c| {
            let base = format!("spk_{}", id_part(c));
            let mut id = base.clone();
            let mut n = 2;
            while !seen.insert(id.clone()) {
                id = format!("{base}_{n}");
                n += 1;
            }
            id
        })
        .collect()
}

/// Maps `[marker]`s in `text`.
pub fn map_markers(text: &str, map: MarkerMap) -> String {
    if map == MarkerMap::Keep {
        return text.to_string();
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(open) = rest.find('[') {
        let Some(close) = rest[open..].find(']') else {
            break;
        };
        out.push_str(&rest[..open]);
        let inner = &rest[open + 1..open + close];
        match map {
            MarkerMap::Angle => {
                let _ = write!(out, "<{}>", inner.to_uppercase());
            }
            MarkerMap::Upper => {
                let _ = write!(out, "[{}]", inner.to_uppercase());
            }
            MarkerMap::Drop => out.push(' '),
            MarkerMap::Keep => out.push_str(&rest[open..=open + close]),
        }
        rest = &rest[open + close + 1..];
    }
    out.push_str(rest);
    out
}

/// Collapses all whitespace (ideographic space, tabs, newlines included) to single ASCII
/// spaces and trims: Kaldi's `validate_text.pl` rejects anything else. Other control
/// characters (older rows, imports; a save refuses them) become spaces too: XML (EAF) cannot
/// hold them at all.
pub fn clean_text(text: &str) -> String {
    text.split(|c: char| c.is_whitespace() || c.is_control())
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Whether the text holds the unintelligible marker `[unk]`.
pub fn has_unintelligible(text: &str) -> bool {
    text.to_lowercase().contains("[unk]")
}

/// Output samples of an analysis-sample position.
pub fn to_rate(pos: u64, from: u32, to: u32) -> u64 {
    crate::audio::resample::output_len(pos, from, to)
}

/// Builds the corpus: drops unusable segments, maps text, assigns ids and splits.
pub fn build(
    project: &str,
    recordings: Vec<Recording>,
    speakers: Vec<Speaker>,
    segments: Vec<RawSegment>,
    tag_schema: serde_json::Value,
    conventions: serde_json::Value,
    opts: &ExportOptions,
) -> Corpus {
    let mut speakers = speakers;
    let unk = speakers.len();
    speakers.push(Speaker {
        id: "unk".into(),
        code: String::new(),
        ..Default::default()
    });
    let mut dropped: BTreeMap<String, u64> = BTreeMap::new();
    let mut utts = Vec::new();
    for s in segments {
        let source = match opts.text_layer {
            TextLayer::Verbatim => &s.verbatim,
            TextLayer::Display => &s.display,
            TextLayer::Normalised => &s.norm,
        };
        if !opts.keep_unintelligible && has_unintelligible(source) {
            *dropped.entry("unintelligible".into()).or_default() += 1;
            continue;
        }
        let text = clean_text(&map_markers(source, opts.markers));
        if text.is_empty() {
            *dropped.entry("empty_text".into()).or_default() += 1;
            continue;
        }
        let Some(rec) = recordings.get(s.recording) else {
            continue;
        };
        let ar = rec.analysis_rate;
        let clip_samples =
            to_rate(s.end, ar, opts.rate).saturating_sub(to_rate(s.start, ar, opts.rate));
        if clip_samples == 0 || s.end > rec.samples {
            *dropped.entry("outside_recording".into()).or_default() += 1;
            continue;
        }
        let speaker = s.speaker.filter(|&i| i < unk).unwrap_or(unk);
        let spk = &speakers[speaker];
        let variety = s
            .labels
            .iter()
            .find(|(f, _)| f == "variety")
            .map(|(_, v)| v.clone())
            .or_else(|| spk.variety.clone())
            .unwrap_or_default();
        let language = language::detect(source, &s.labels, &opts.locale);
        let mut labels = s.labels;
        labels.sort();
        utts.push(Utterance {
            id: format!("{}-{}-{:010}-{:08}", spk.id, rec.id, s.start, s.db_id),
            recording: s.recording,
            speaker,
            start: s.start,
            end: s.end,
            text,
            marked: clean_text(source),
            normalised: clean_text(&s.norm),
            labels,
            features: s.features,
            variety,
            language,
            split: 0,
            clip_samples,
        });
    }
    // Splits: per speaker, stratum = the variety most of its audio has.
    let mut per_spk: BTreeMap<usize, (u64, BTreeMap<&str, u64>)> = BTreeMap::new();
    for u in &utts {
        let e = per_spk.entry(u.speaker).or_default();
        e.0 += u.clip_samples;
        *e.1.entry(u.variety.as_str()).or_default() += u.clip_samples;
    }
    let list: Vec<(String, u64, String)> = per_spk
        .iter()
        .map(|(&i, (len, v))| {
            let stratum = if opts.stratify_by_variety {
                v.iter()
                    .max_by(|a, b| a.1.cmp(b.1).then(b.0.cmp(a.0)))
                    .map(|(k, _)| (*k).to_string())
                    .unwrap_or_default()
            } else {
                String::new()
            };
            (speakers[i].id.clone(), *len, stratum)
        })
        .collect();
    let splits = assign_splits(&list, opts.splits, opts.seed);
    for u in &mut utts {
        u.split = splits.get(&speakers[u.speaker].id).copied().unwrap_or(0);
    }
    utts.sort_by(|a, b| a.id.cmp(&b.id));
    Corpus {
        project: project.to_string(),
        recordings,
        speakers,
        utterances: utts,
        tag_schema,
        conventions,
        dropped,
    }
}

/// A file written into the export, with its hash (for SHA256SUMS).
#[derive(Debug, Default)]
pub struct Written {
    /// (relative path, sha256 hex), in any order.
    pub files: Vec<(String, String)>,
}

impl Written {
    /// Writes `bytes` to `root/rel` and records its hash.
    pub fn put(&mut self, root: &Path, rel: &str, bytes: &[u8]) -> io::Result<()> {
        let path = root.join(rel);
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        std::fs::write(&path, bytes)?;
        self.files
            .push((rel.to_string(), hex::encode(Sha256::digest(bytes))));
        Ok(())
    }

    /// Links (or copies) an existing file `from_rel` to `rel`, reusing the known hash.
    pub fn link(&mut self, root: &Path, from_rel: &str, rel: &str, sha: &str) -> io::Result<()> {
        let path = root.join(rel);
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let _ = std::fs::remove_file(&path);
        if std::fs::hard_link(root.join(from_rel), &path).is_err() {
            std::fs::copy(root.join(from_rel), &path)?;
        }
        self.files.push((rel.to_string(), sha.to_string()));
        Ok(())
    }

    /// The SHA256SUMS text (`sha256sum -c` format), sorted by path.
    pub fn sums(&self) -> String {
        let mut f: Vec<_> = self.files.iter().collect();
        f.sort_by(|a, b| a.0.cmp(&b.0));
        let mut out = String::new();
        for (p, h) in f {
            let _ = writeln!(out, "{h}  {p}");
        }
        out
    }
}

/// Relative path of a recording's whole audio (written with the timed layouts, whose times
/// are positions in the recording: ELAN and Praat open it beside the EAF or TextGrid).
pub fn audio_rel(recording_id: &str) -> String {
    format!("audio/{recording_id}.wav")
}

/// Whether the export writes the recordings' whole audio (`audio/`): with a timed layout that
/// points at it or is read beside it.
pub fn wants_audio(opts: &ExportOptions) -> bool {
    opts.wants("eaf") || opts.wants("textgrid")
}

/// Relative path of an utterance's clip.
pub fn clip_rel(id: &str) -> String {
    format!("clips/{id}.wav")
}

/// Writes every manifest layout, the datasheet and SHA256SUMS into `root`. `clip_hashes` gives
/// the hash of every clip already written under `clips/` (by utterance id) and of every
/// recording's audio under `audio/` (by its [`audio_rel`] path).
pub fn write_all(
    root: &Path,
    corpus: &Corpus,
    opts: &ExportOptions,
    clip_hashes: &BTreeMap<String, String>,
    written: &mut Written,
) -> io::Result<()> {
    for u in &corpus.utterances {
        if let Some(h) = clip_hashes.get(&u.id) {
            written.files.push((clip_rel(&u.id), h.clone()));
        }
    }
    for r in &corpus.recordings {
        let rel = audio_rel(&r.id);
        if let Some(h) = clip_hashes.get(&rel) {
            written.files.push((rel, h.clone()));
        }
    }
    layouts::write(root, corpus, opts, clip_hashes, written)?;
    timed::write(root, corpus, opts, written)?;
    let sheet = datasheet::render(corpus, opts);
    written.put(root, "README.md", sheet.as_bytes())?;
    std::fs::write(root.join("SHA256SUMS"), written.sums())?;
    Ok(())
}

/// Seconds, fixed 6 decimals.
pub fn secs(samples: u64, rate: u32) -> String {
    format!("{:.6}", samples as f64 / f64::from(rate))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markers_map() {
        assert_eq!(
            map_markers("你好[laughter]呃", MarkerMap::Angle),
            "你好<LAUGHTER>呃"
        );
        assert_eq!(map_markers("a [noise] b", MarkerMap::Drop), "a   b");
        assert_eq!(clean_text("a\u{3000}b\t c"), "a b c");
        assert_eq!(clean_text("a\u{1}b\u{7F}"), "a b");
    }

    #[test]
    fn ids_sort_like_kaldi() {
        let ids = speaker_ids(&["1".into(), "10".into(), "1".into()]);
        assert_eq!(ids, ["spk_1", "spk_10", "spk_1_2"]);
        let mut utts = ["spk_10-r000001-0000000001", "spk_1-r000001-0000000002"];
        utts.sort();
        assert_eq!(utts[0], "spk_1-r000001-0000000002");
    }

    #[test]
    fn splits_are_disjoint_and_seeded() {
        let spk: Vec<_> = (0..20)
            .map(|i| (format!("s{i}"), 100, String::new()))
            .collect();
        let a = assign_splits(&spk, [0.8, 0.1, 0.1], 7);
        let b = assign_splits(&spk, [0.8, 0.1, 0.1], 7);
        assert_eq!(a, b);
        let counts = a.values().fold([0; 3], |mut c, &s| {
            c[s] += 1;
            c
        });
        assert_eq!(counts, [16, 2, 2]);
        let c = assign_splits(&spk, [0.8, 0.1, 0.1], 8);
        assert_ne!(a, c);
    }
}
