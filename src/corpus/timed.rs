//! Per-recording timed layouts: Praat TextGrid, ELAN EAF, WebVTT, SRT and Audacity labels
//! (`<recording-id>.<ext>`), and NIST STM/CTM through [`super::nist`].
//! Times are positions in the original recording. Overlapping segments go to extra tier
//! layers (`transcript 2`, ...) because a Praat interval tier and an ELAN tier cannot overlap.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::io;
use std::path::Path;

use super::{Corpus, ExportOptions, Utterance, Written};

/// Tier names, in order.
pub const TIERS: [&str; 5] = ["transcript", "normalised", "speaker", "labels", "features"];

pub(super) fn write(root: &Path, c: &Corpus, o: &ExportOptions, w: &mut Written) -> io::Result<()> {
    let mut by_rec: BTreeMap<usize, Vec<&Utterance>> = BTreeMap::new();
    for u in &c.utterances {
        by_rec.entry(u.recording).or_default().push(u);
    }
    for (&ri, utts) in &mut by_rec {
        utts.sort_by(|a, b| (a.start, &a.id).cmp(&(b.start, &b.id)));
        let rec = &c.recordings[ri];
        let t = |s: u64| s as f64 / f64::from(rec.analysis_rate);
        let rows: Vec<Row> = utts
            .iter()
            .map(|u| Row {
                id: &u.id,
                start: t(u.start),
                end: t(u.end),
                start_ms: ms(u.start, rec.analysis_rate),
                end_ms: ms(u.end, rec.analysis_rate).max(ms(u.start, rec.analysis_rate) + 1),
                values: tier_values(c, u),
                labels: &u.labels,
            })
            .collect();
        let dur = t(rec.samples);
        if o.wants("textgrid") {
            let tg = textgrid(&rows, dur);
            w.put(
                root,
                &format!("textgrid/{}.TextGrid", rec.id),
                tg.as_bytes(),
            )?;
        }
        if o.wants("eaf") {
            let e = eaf(c, &rec.id, &rows);
            w.put(root, &format!("eaf/{}.eaf", rec.id), e.as_bytes())?;
        }
        if o.wants("vtt") {
            let mut v = String::from("WEBVTT\n");
            for r in &rows {
                let _ = write!(
                    v,
                    "\n{}\n{} --> {}\n<v {}>{}\n",
                    r.id,
                    clock(r.start_ms, '.'),
                    clock(r.end_ms, '.'),
                    vtt_escape(&r.values[2]),
                    vtt_escape(&r.values[0])
                );
            }
            w.put(root, &format!("vtt/{}.vtt", rec.id), v.as_bytes())?;
        }
        if o.wants("srt") {
            let mut v = String::new();
            for (i, r) in rows.iter().enumerate() {
                let _ = write!(
                    v,
                    "{}\n{} --> {}\n{}\n\n",
                    i + 1,
                    clock(r.start_ms, ','),
                    clock(r.end_ms, ','),
                    r.values[0]
                );
            }
            w.put(root, &format!("srt/{}.srt", rec.id), v.as_bytes())?;
        }
        if o.wants("audacity") {
            let mut v = String::new();
            for r in &rows {
                let _ = writeln!(v, "{:.6}\t{:.6}\t{}", r.start, r.end, r.values[0]);
            }
            w.put(root, &format!("audacity/{}.txt", rec.id), v.as_bytes())?;
        }
    }
    if o.wants("nist") && !by_rec.is_empty() {
        let (stm, ctm) = super::nist::render(c, o.markers);
        w.put(root, &format!("nist/{}.stm", o.corpus), stm.as_bytes())?;
        w.put(root, &format!("nist/{}.ctm", o.corpus), ctm.as_bytes())?;
    }
    Ok(())
}

struct Row<'a> {
    id: &'a str,
    start: f64,
    end: f64,
    start_ms: u64,
    end_ms: u64,
    /// Values of [`TIERS`].
    values: [String; 5],
    labels: &'a [(String, String)],
}

fn ms(samples: u64, rate: u32) -> u64 {
    (samples * 1000 + u64::from(rate) / 2) / u64::from(rate)
}

/// The values of the five tiers for one utterance.
pub fn tier_values(c: &Corpus, u: &Utterance) -> [String; 5] {
    let spk = &c.speakers[u.speaker];
    let speaker = if spk.code.is_empty() {
        spk.id.clone()
    } else {
        spk.code.clone()
    };
    [
        u.text.clone(),
        u.normalised.clone(),
        speaker,
        u.labels
            .iter()
            .map(|(f, v)| format!("{f}={v}"))
            .collect::<Vec<_>>()
            .join("; "),
        u.features
            .iter()
            .map(|f| f.label())
            .collect::<Vec<_>>()
            .join("; "),
    ]
}

fn clock(ms: u64, sep: char) -> String {
    format!(
        "{:02}:{:02}:{:02}{sep}{:03}",
        ms / 3_600_000,
        ms / 60_000 % 60,
        ms / 1000 % 60,
        ms % 1000
    )
}

fn vtt_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// Layer of each row: the first layer whose last row ended at or before its start.
fn layers(rows: &[Row]) -> (Vec<usize>, usize) {
    let mut ends: Vec<f64> = Vec::new();
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        match ends.iter().position(|&e| e <= r.start) {
            Some(k) => {
                ends[k] = r.end;
                out.push(k);
            }
            None => {
                ends.push(r.end);
                out.push(ends.len() - 1);
            }
        }
    }
    let n = ends.len().max(1);
    (out, n)
}

fn tier_name(base: &str, layer: usize) -> String {
    if layer == 0 {
        base.to_string()
    } else {
        format!("{base} {}", layer + 1)
    }
}

fn tg_str(s: &str) -> String {
    format!("\"{}\"", s.replace('"', "\"\""))
}

fn textgrid(rows: &[Row], dur: f64) -> String {
    let (layer, n) = layers(rows);
    let xmax = rows.iter().map(|r| r.end).fold(dur, f64::max);
    let mut out = String::new();
    let _ = write!(
        out,
        "File type = \"ooTextFile\"\nObject class = \"TextGrid\"\n\nxmin = 0\nxmax = {xmax}\ntiers? <exists>\nsize = {}\nitem []:\n",
        n * TIERS.len()
    );
    let mut item = 0;
    for l in 0..n {
        for (ti, base) in TIERS.iter().enumerate() {
            item += 1;
            // Intervals tiling 0..xmax: empty ones fill the gaps.
            let mut iv: Vec<(f64, f64, &str)> = Vec::new();
            let mut t = 0.0;
            for (r, _) in rows.iter().zip(&layer).filter(|(_, k)| **k == l) {
                if r.start > t {
                    iv.push((t, r.start, ""));
                }
                iv.push((r.start, r.end, &r.values[ti]));
                t = r.end;
            }
            if xmax > t || iv.is_empty() {
                iv.push((t, xmax, ""));
            }
            let _ = write!(
                out,
                "    item [{item}]:\n        class = \"IntervalTier\"\n        name = {}\n        xmin = 0\n        xmax = {xmax}\n        intervals: size = {}\n",
                tg_str(&tier_name(base, l)),
                iv.len()
            );
            for (i, (a, b, text)) in iv.iter().enumerate() {
                let _ = write!(
                    out,
                    "        intervals [{}]:\n            xmin = {a}\n            xmax = {b}\n            text = {}\n",
                    i + 1,
                    tg_str(text)
                );
            }
        }
    }
    out
}

fn xml(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Controlled-vocabulary values of a field: from the tag schema when it lists them, else the
/// values in use.
pub fn vocabulary(
    schema: &serde_json::Value,
    field: &str,
    in_use: &BTreeSet<String>,
) -> Vec<String> {
    fn strings(v: &serde_json::Value) -> Option<Vec<String>> {
        let arr = v.as_array()?;
        let out: Vec<String> = arr
            .iter()
            .filter_map(|x| {
                x.as_str().map(str::to_string).or_else(|| {
                    ["id", "code", "value", "name"]
                        .iter()
                        .find_map(|k| x.get(*k).and_then(|s| s.as_str()).map(str::to_string))
                })
            })
            .collect();
        (!out.is_empty()).then_some(out)
    }
    let candidates = [
        schema.get("fields").and_then(|f| f.get(field)),
        schema.get("segment").and_then(|f| f.get(field)),
        schema.get(field),
    ];
    for c in candidates.into_iter().flatten() {
        if let Some(v) = strings(c).or_else(|| c.get("values").and_then(strings)) {
            let mut all: BTreeSet<String> = v.into_iter().collect();
            all.extend(in_use.iter().cloned());
            return all.into_iter().collect();
        }
    }
    if let Some(arr) = schema.get("fields").and_then(|f| f.as_array()) {
        for f in arr {
            let name = ["id", "name", "field"]
                .iter()
                .find_map(|k| f.get(*k).and_then(|s| s.as_str()));
            if name == Some(field)
                && let Some(v) = f.get("values").and_then(strings)
            {
                let mut all: BTreeSet<String> = v.into_iter().collect();
                all.extend(in_use.iter().cloned());
                return all.into_iter().collect();
            }
        }
    }
    in_use.iter().cloned().collect()
}

fn eaf(c: &Corpus, rec_id: &str, rows: &[Row]) -> String {
    let (layer, n) = layers(rows);
    // Label fields in use on this recording, and their vocabularies.
    let mut fields: BTreeMap<&str, BTreeSet<String>> = BTreeMap::new();
    for u in &c.utterances {
        for (f, v) in &u.labels {
            fields.entry(f.as_str()).or_default().insert(v.clone());
        }
    }
    // The recording's audio, written beside the layouts (`audio/<recording-id>.wav`), relative
    // to the `.eaf` so the export opens in ELAN wherever it is unpacked.
    let media = xml(&format!("../{}", super::audio_rel(rec_id)));
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        out,
        "<ANNOTATION_DOCUMENT AUTHOR=\"fangyan\" DATE=\"1970-01-01T00:00:00+00:00\" FORMAT=\"3.0\" VERSION=\"3.0\" xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" xsi:noNamespaceSchemaLocation=\"http://www.mpi.nl/tools/elan/EAFv3.0.xsd\">"
    );
    let _ = writeln!(
        out,
        "    <HEADER MEDIA_FILE=\"\" TIME_UNITS=\"milliseconds\">\n        <MEDIA_DESCRIPTOR MEDIA_URL=\"{media}\" MIME_TYPE=\"audio/x-wav\" RELATIVE_MEDIA_URL=\"{media}\"/>\n        <PROPERTY NAME=\"lastUsedAnnotationId\">{}</PROPERTY>\n    </HEADER>",
        rows.len() * (TIERS.len() + fields.len())
    );
    let _ = writeln!(out, "    <TIME_ORDER>");
    for (i, r) in rows.iter().enumerate() {
        let _ = writeln!(
            out,
            "        <TIME_SLOT TIME_SLOT_ID=\"ts{}\" TIME_VALUE=\"{}\"/>\n        <TIME_SLOT TIME_SLOT_ID=\"ts{}\" TIME_VALUE=\"{}\"/>",
            2 * i + 1,
            r.start_ms,
            2 * i + 2,
            r.end_ms
        );
    }
    let _ = writeln!(out, "    </TIME_ORDER>");
    let ann = |i: usize, t: usize| format!("a{}", i * (TIERS.len() + fields.len()) + t + 1);
    for l in 0..n {
        let parent = tier_name("transcript", l);
        let idx: Vec<usize> = (0..rows.len()).filter(|&i| layer[i] == l).collect();
        let _ = writeln!(
            out,
            "    <TIER LINGUISTIC_TYPE_REF=\"transcript\" TIER_ID=\"{}\">",
            xml(&parent)
        );
        for &i in &idx {
            let _ = writeln!(
                out,
                "        <ANNOTATION>\n            <ALIGNABLE_ANNOTATION ANNOTATION_ID=\"{}\" TIME_SLOT_REF1=\"ts{}\" TIME_SLOT_REF2=\"ts{}\">\n                <ANNOTATION_VALUE>{}</ANNOTATION_VALUE>\n            </ALIGNABLE_ANNOTATION>\n        </ANNOTATION>",
                ann(i, 0),
                2 * i + 1,
                2 * i + 2,
                xml(&rows[i].values[0])
            );
        }
        let _ = writeln!(out, "    </TIER>");
        let mut child = |name: String,
                         lt: String,
                         t: usize,
                         value: &dyn Fn(&Row) -> (String, Option<String>)| {
            let _ = writeln!(
                out,
                "    <TIER LINGUISTIC_TYPE_REF=\"{}\" PARENT_REF=\"{}\" TIER_ID=\"{}\">",
                xml(&lt),
                xml(&parent),
                xml(&name)
            );
            for &i in &idx {
                let (v, cve) = value(&rows[i]);
                let cve = cve
                    .map(|c| format!(" CVE_REF=\"{}\"", xml(&c)))
                    .unwrap_or_default();
                let _ = writeln!(
                    out,
                    "        <ANNOTATION>\n            <REF_ANNOTATION ANNOTATION_ID=\"{}\" ANNOTATION_REF=\"{}\"{cve}>\n                <ANNOTATION_VALUE>{}</ANNOTATION_VALUE>\n            </REF_ANNOTATION>\n        </ANNOTATION>",
                    ann(i, t),
                    ann(i, 0),
                    xml(&v)
                );
            }
            let _ = writeln!(out, "    </TIER>");
        };
        for (t, base) in TIERS.iter().enumerate().skip(1) {
            child(tier_name(base, l), "association".into(), t, &|r: &Row| {
                (r.values[t].clone(), None)
            });
        }
        for (k, (field, vocab)) in fields.iter().enumerate() {
            let vocab: Vec<String> = vocabulary(&c.tag_schema, field, vocab);
            child(
                tier_name(&format!("label:{field}"), l),
                format!("cv-{}", super::id_part(field)),
                TIERS.len() + k,
                &|r: &Row| {
                    let vals: Vec<&str> = r
                        .labels
                        .iter()
                        .filter(|(f, _)| f == field)
                        .map(|(_, v)| v.as_str())
                        .collect();
                    let joined = vals.join("|");
                    let cve = (vals.len() == 1)
                        .then(|| vocab.iter().position(|v| v == vals[0]))
                        .flatten()
                        .map(|p| format!("cve-{}-{p}", super::id_part(field)));
                    (joined, cve)
                },
            );
        }
    }
    let _ = writeln!(
        out,
        "    <LINGUISTIC_TYPE GRAPHIC_REFERENCES=\"false\" LINGUISTIC_TYPE_ID=\"transcript\" TIME_ALIGNABLE=\"true\"/>\n    <LINGUISTIC_TYPE CONSTRAINTS=\"Symbolic_Association\" GRAPHIC_REFERENCES=\"false\" LINGUISTIC_TYPE_ID=\"association\" TIME_ALIGNABLE=\"false\"/>"
    );
    for field in fields.keys() {
        let id = super::id_part(field);
        let _ = writeln!(
            out,
            "    <LINGUISTIC_TYPE CONSTRAINTS=\"Symbolic_Association\" CONTROLLED_VOCABULARY_REF=\"{id}\" GRAPHIC_REFERENCES=\"false\" LINGUISTIC_TYPE_ID=\"cv-{id}\" TIME_ALIGNABLE=\"false\"/>"
        );
    }
    let _ = writeln!(
        out,
        "    <LANGUAGE LANG_DEF=\"http://cdb.iso.org/lg/CDB-00130975-001\" LANG_ID=\"und\" LANG_LABEL=\"undetermined (und)\"/>\n    <CONSTRAINT DESCRIPTION=\"1-1 association with a parent annotation\" STEREOTYPE=\"Symbolic_Association\"/>"
    );
    for (field, vocab) in &fields {
        let id = super::id_part(field);
        let _ = writeln!(
            out,
            "    <CONTROLLED_VOCABULARY CV_ID=\"{id}\">\n        <DESCRIPTION LANG_REF=\"und\">{}</DESCRIPTION>",
            xml(field)
        );
        for (p, v) in vocabulary(&c.tag_schema, field, vocab).iter().enumerate() {
            let _ = writeln!(
                out,
                "        <CV_ENTRY_ML CVE_ID=\"cve-{id}-{p}\">\n            <CVE_VALUE LANG_REF=\"und\">{}</CVE_VALUE>\n        </CV_ENTRY_ML>",
                xml(v)
            );
        }
        let _ = writeln!(out, "    </CONTROLLED_VOCABULARY>");
    }
    let _ = writeln!(out, "</ANNOTATION_DOCUMENT>");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clock_pads_every_field() {
        assert_eq!(clock(3_723_004, ','), "01:02:03,004");
    }

    #[test]
    fn vocabulary_from_schema_or_use() {
        let used: BTreeSet<String> = ["b".to_string()].into();
        let schema = serde_json::json!({"fields": {"variety": {"values": [{"id": "a"}]}}});
        assert_eq!(vocabulary(&schema, "variety", &used), ["a", "b"]);
        assert_eq!(vocabulary(&serde_json::json!({}), "variety", &used), ["b"]);
    }
}
