//! ELAN EAF (FORMATS.md §7): one tier's annotations, timed through `TIME_ORDER` slots in
//! integer milliseconds.
//!
//! Alignable annotations take their times from their two slots; reference annotations (child
//! tiers) from the annotation they point to, followed up to the aligned ancestor. A missing slot,
//! a slot without a value, a dangling reference or an end before the start is an error naming
//! the XML line and the attribute. The tier's `PARTICIPANT` is the segments' speaker (ELAN's
//! per-speaker tiers); in a fangyan export, the `speaker` child tier's value is, and all the
//! transcript layers (`transcript`, `transcript 2`, …) are read by default. Parsed with
//! `roxmltree` (a read-only tree with line:column positions; no DTDs, no external entities),
//! after a pre-scan that refuses a file whose tree would pass the parse budget (`limits`).

use std::collections::HashMap;

use roxmltree::{Document, Node, ParsingOptions};

use super::limits::{self, Limits};
use super::{AsrError, Format, HypSegment, Hypothesis, check_range};

const EAF: &str = "EAF";

struct Annotation<'a> {
    line: usize,
    value: String,
    slots: Option<(&'a str, &'a str)>,
    parent: Option<&'a str>,
}

pub(super) fn parse(
    text: &str,
    tier: Option<&str>,
    limits: &Limits,
) -> Result<Hypothesis, AsrError> {
    let nodes_limit = limits::check_xml(text, limits)?;
    let options = ParsingOptions {
        nodes_limit,
        ..ParsingOptions::default()
    };
    let doc = Document::parse_with_options(text, options).map_err(|e| match e {
        roxmltree::Error::NodesLimitReached => limits::too_complex(limits),
        e => AsrError::Xml {
            line: e.pos().row as usize,
            column: e.pos().col as usize,
            message: e.to_string(),
        },
    })?;
    let root = doc.root_element();
    if root.tag_name().name() != "ANNOTATION_DOCUMENT" {
        return Err(AsrError::Xml {
            line: 1,
            column: 1,
            message: format!(
                "the root element is <{}>, not <ANNOTATION_DOCUMENT>",
                root.tag_name().name()
            ),
        });
    }
    let line_of = |n: Node| line(&doc, n);
    let field = |n: Node, name: &str, msg: String| AsrError::Field {
        format: EAF,
        line: Some(line_of(n)),
        field: name.to_string(),
        message: msg,
    };
    let attr = |n, name| attr(&doc, n, name);

    // Slots: id → milliseconds (None for unaligned slots).
    let mut slots: HashMap<&str, Option<f64>> = HashMap::new();
    for s in root.descendants().filter(|n| n.has_tag_name("TIME_SLOT")) {
        let value =
            match s.attribute("TIME_VALUE") {
                None => None,
                Some(v) => Some(v.trim().parse::<u64>().map_err(|_| {
                    field(s, "TIME_VALUE", format!("`{v}` is not whole milliseconds"))
                })? as f64),
            };
        slots.insert(attr(s, "TIME_SLOT_ID")?, value);
    }

    // Every annotation of every tier, by id (references may point into any tier).
    let mut all: HashMap<&str, Annotation> = HashMap::new();
    // (id, participant, parent tier, annotation ids)
    type TierRow<'a> = (&'a str, Option<&'a str>, Option<&'a str>, Vec<&'a str>);
    let mut tiers: Vec<TierRow> = Vec::new();
    for t in root.children().filter(|n| n.has_tag_name("TIER")) {
        let mut ids = Vec::new();
        for a in t.children().filter(|n| n.has_tag_name("ANNOTATION")) {
            for inner in a.children().filter(Node::is_element) {
                let value = inner
                    .children()
                    .find(|n| n.has_tag_name("ANNOTATION_VALUE"))
                    .and_then(|v| v.text())
                    .unwrap_or("")
                    .trim()
                    .to_string();
                let id = attr(inner, "ANNOTATION_ID")?;
                let ann = match inner.tag_name().name() {
                    "ALIGNABLE_ANNOTATION" => Annotation {
                        line: line_of(inner),
                        value,
                        slots: Some((
                            attr(inner, "TIME_SLOT_REF1")?,
                            attr(inner, "TIME_SLOT_REF2")?,
                        )),
                        parent: None,
                    },
                    "REF_ANNOTATION" => Annotation {
                        line: line_of(inner),
                        value,
                        slots: None,
                        parent: Some(attr(inner, "ANNOTATION_REF")?),
                    },
                    other => return Err(field(inner, other, "unknown annotation element".into())),
                };
                if all.insert(id, ann).is_some() {
                    return Err(field(
                        inner,
                        "ANNOTATION_ID",
                        format!("`{id}` is not unique"),
                    ));
                }
                ids.push(id);
            }
        }
        tiers.push((
            attr(t, "TIER_ID")?,
            t.attribute("PARTICIPANT"),
            t.attribute("PARENT_REF"),
            ids,
        ));
    }

    let chosen: Vec<&TierRow> = match tier {
        Some(name) => tiers.iter().filter(|t| t.0 == name).take(1).collect(),
        // A fangyan export: every layer of the transcript (overlapping speech is in layers).
        None if tiers.iter().any(|t| t.0 == "transcript" && t.2.is_none()) => tiers
            .iter()
            .filter(|t| t.2.is_none() && super::export_layer(t.0).is_some())
            .collect(),
        None => {
            // ELAN's one tier per speaker: top-level tiers with a PARTICIPANT each, read
            // together; else the first tier with aligned annotations.
            let per_speaker: Vec<&TierRow> = tiers
                .iter()
                .filter(|t| t.2.is_none() && t.1.is_some_and(|p| !p.is_empty()))
                .filter(|t| t.3.iter().any(|id| all[id].slots.is_some()))
                .collect();
            let participants: std::collections::HashSet<_> =
                per_speaker.iter().map(|t| t.1).collect();
            if per_speaker.len() > 1 && participants.len() == per_speaker.len() {
                per_speaker
            } else {
                tiers
                    .iter()
                    .find(|t| t.3.iter().any(|id| all[id].slots.is_some()))
                    .or(tiers.first())
                    .into_iter()
                    .collect()
            }
        }
    };
    let Some(&&(tier_id, ..)) = chosen.first() else {
        return Err(AsrError::NoSuchTier {
            requested: tier.map(String::from),
            available: tiers.iter().map(|t| t.0.to_string()).collect(),
        });
    };
    // Speakers from the `speaker` child tier the export writes beside each transcript layer:
    // transcript annotation id → speaker.
    let mut speaker_of: HashMap<&str, &str> = HashMap::new();
    for &&(id, ..) in &chosen {
        let Some(suffix) = super::export_layer(id) else {
            continue;
        };
        let name = format!("speaker{suffix}");
        for child in tiers.iter().filter(|t| t.0 == name && t.2 == Some(id)) {
            for a in &child.3 {
                let ann = &all[a];
                if let Some(parent) = ann.parent
                    && !ann.value.is_empty()
                {
                    speaker_of.insert(parent, ann.value.as_str());
                }
            }
        }
    }

    let slot_time = |id: &str, ann: &Annotation, which: &str| -> Result<f64, AsrError> {
        let err = |msg: String| AsrError::Field {
            format: EAF,
            line: Some(ann.line),
            field: which.into(),
            message: msg,
        };
        match slots.get(id) {
            None => Err(err(format!("time slot `{id}` does not exist"))),
            Some(None) => Err(err(format!(
                "time slot `{id}` has no TIME_VALUE (unaligned)"
            ))),
            Some(Some(ms)) => Ok(ms / 1000.0),
        }
    };
    let mut segments = Vec::new();
    for (id, participant) in chosen
        .iter()
        .flat_map(|t| t.3.iter().map(move |id| (*id, t.1)))
    {
        let ann = &all[id];
        // Follow references up to the aligned ancestor (bounded: a cycle is an error).
        let mut cur = ann;
        let mut hops = 0;
        let (r1, r2) = loop {
            if let Some(s) = cur.slots {
                break s;
            }
            let parent = cur.parent.unwrap_or_default();
            cur = all
                .get(parent)
                .filter(|_| hops < 32)
                .ok_or_else(|| AsrError::Field {
                    format: EAF,
                    line: Some(cur.line),
                    field: "ANNOTATION_REF".into(),
                    message: format!(
                        "`{parent}` is not an annotation of this document (or the references loop)"
                    ),
                })?;
            hops += 1;
        };
        let start = slot_time(r1, cur, "TIME_SLOT_REF1")?;
        let end = slot_time(r2, cur, "TIME_SLOT_REF2")?;
        check_range(start, end, |m| AsrError::Field {
            format: EAF,
            line: Some(cur.line),
            field: "TIME_SLOT_REF2".into(),
            message: m,
        })?;
        if ann.value.is_empty() {
            continue;
        }
        segments.push(HypSegment {
            start_s: start,
            end_s: end,
            text: ann.value.clone(),
            words: Vec::new(),
            speaker: speaker_of
                .get(id)
                .copied()
                .or(participant.filter(|p| !p.is_empty()))
                .map(String::from),
            labels: Vec::new(),
            recording: None,
        });
    }
    segments.sort_by(|a, b| a.start_s.total_cmp(&b.start_s));
    Ok(Hypothesis {
        format: Format::Eaf,
        model: None,
        language: None,
        tier: Some(tier_id.to_string()),
        segments,
        warnings: Vec::new(),
    })
}

fn line(doc: &Document, n: Node) -> usize {
    doc.text_pos_at(n.range().start).row as usize
}

fn attr<'a, 'i>(doc: &Document, n: Node<'a, 'i>, name: &str) -> Result<&'a str, AsrError> {
    n.attribute(name).ok_or_else(|| AsrError::Field {
        format: EAF,
        line: Some(line(doc, n)),
        field: name.to_string(),
        message: format!("<{}> lacks it", n.tag_name().name()),
    })
}
