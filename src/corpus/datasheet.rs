//! The datasheet (`README.md` at the top of an export): hours, utterances and speakers per
//! split × variety × gender, the options, the layouts, the tag schema, the conventions and the
//! normaliser version. No dates: the same export renders the same bytes.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use super::{Corpus, ExportOptions, LAYOUTS, SPLITS};

pub(super) fn render(c: &Corpus, o: &ExportOptions) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "# {} — speech corpus exported by fangyan\n", c.project);
    let total: u64 = c.utterances.iter().map(|u| u.clip_samples).sum();
    let speakers: BTreeSet<usize> = c.utterances.iter().map(|u| u.speaker).collect();
    let _ = writeln!(
        s,
        "{} utterances, {} speakers, {:.3} hours of 16-bit mono WAV at {} Hz (`clips/`).\n",
        c.utterances.len(),
        speakers.len(),
        total as f64 / f64::from(o.rate) / 3600.0,
        o.rate
    );
    let _ = writeln!(s, "## Splits\n");
    let _ = writeln!(
        s,
        "Speaker-disjoint, seed {}, ratios {:?}{}.\n",
        o.seed,
        o.splits,
        if o.stratify_by_variety {
            ", stratified by variety"
        } else {
            ""
        }
    );
    let _ = writeln!(
        s,
        "| split | variety | gender | hours | utterances | speakers |"
    );
    let _ = writeln!(s, "|---|---|---|---:|---:|---:|");
    type Cell = (u64, u64, BTreeSet<usize>);
    let mut cells: BTreeMap<(usize, &str, &str), Cell> = BTreeMap::new();
    for u in &c.utterances {
        let g = c.speakers[u.speaker].gender.as_deref().unwrap_or("");
        let e = cells.entry((u.split, u.variety.as_str(), g)).or_default();
        e.0 += u.clip_samples;
        e.1 += 1;
        e.2.insert(u.speaker);
    }
    for ((split, variety, gender), (samples, n, spk)) in &cells {
        let _ = writeln!(
            s,
            "| {} | {} | {} | {:.4} | {} | {} |",
            SPLITS[*split],
            cell(variety),
            cell(gender),
            *samples as f64 / f64::from(o.rate) / 3600.0,
            n,
            spk.len()
        );
    }
    let partial: Vec<&str> = SPLITS
        .iter()
        .enumerate()
        .filter(|(si, _)| {
            let mut in_split = c.utterances.iter().filter(|u| u.split == *si).peekable();
            in_split.peek().is_some()
                && !super::layouts::genders_complete(in_split.map(|u| &c.speakers[u.speaker]))
        })
        .map(|(_, name)| *name)
        .collect();
    if o.wants("kaldi") {
        if partial.is_empty() {
            let _ = writeln!(
                s,
                "\nKaldi `spk2gender` lists every speaker of every split."
            );
        } else {
            let _ = writeln!(
                s,
                "\nKaldi `spk2gender` is omitted for {}: a speaker there has no known gender \
                 (`m` or `f`), and Kaldi accepts only a complete file.",
                partial.join(", ")
            );
        }
    }
    let _ = writeln!(s, "\n## Text\n");
    let _ = writeln!(
        s,
        "- Text layer: `{:?}`; markers: `{:?}`; segments with `[unk]` {}.",
        o.text_layer,
        o.markers,
        if o.keep_unintelligible {
            "kept"
        } else {
            "dropped"
        }
    );
    let _ = writeln!(
        s,
        "- Normaliser version of `text_norm` scoring: `{}`.",
        crate::text::normalise::NORMALISER_VERSION
    );
    for (why, n) in &c.dropped {
        let _ = writeln!(s, "- Dropped: {n} segment(s), {why}.");
    }
    let _ = writeln!(s, "\n## Layouts\n");
    for l in LAYOUTS.iter().filter(|l| o.wants(l)) {
        let _ = writeln!(s, "- `{l}/`");
    }
    if super::wants_audio(o) {
        let _ = writeln!(
            s,
            "- `audio/`: each recording whole, the media of the EAF (`RELATIVE_MEDIA_URL`) and TextGrid times"
        );
    }
    let _ = writeln!(
        s,
        "\nUtterance ids are `<speaker>-<recording>-<start sample>-<segment>`, sorted in byte order (`LC_ALL=C`). \
         Kaldi `wav.scp` and Lhotse sources are relative to this folder; NeMo's to `nemo/`. \
         CTM word times are spread evenly over each segment (no forced alignment). \
         `SHA256SUMS` checks every file (`sha256sum -c SHA256SUMS`)."
    );
    // A project that never changed its schema stores `{}` and tags with the default one.
    let default = c.tag_schema.as_object().is_none_or(|o| o.is_empty());
    let schema = if default {
        serde_json::from_str(crate::text::features::DEFAULT_SCHEMA_JSON).unwrap_or_default()
    } else {
        c.tag_schema.clone()
    };
    let _ = writeln!(
        s,
        "\n## Tag schema\n\n{}```json\n{}\n```",
        if default {
            "The project uses fangyan's default schema:\n\n"
        } else {
            ""
        },
        pretty(&schema)
    );
    let _ = writeln!(
        s,
        "\n## Conventions\n\n```json\n{}\n```",
        pretty(&c.conventions)
    );
    s
}

fn cell(s: &str) -> String {
    if s.is_empty() {
        "—".into()
    } else {
        s.replace('|', "\\|")
    }
}

fn pretty(v: &serde_json::Value) -> String {
    serde_json::to_string_pretty(v).unwrap_or_default()
}
