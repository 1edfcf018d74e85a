//! Where imported ASR text goes: a pure plan from a [`Hypothesis`] and a recording's current
//! segments, applied by `db::apply` in one transaction.
//!
//! - **attach**: every hypothesis unit (a timed word when the file has word times, else a
//!   segment) goes to the existing segment it overlaps most; a segment's ASR text is its
//!   units joined in time order. Units that overlap no segment are counted, not lost
//!   silently.
//! - **create**: one new segment per hypothesis segment, clamped to the recording.
//! - **label-only regions** (a Label Studio region marked `Noise` with no text) never become
//!   segments of their own, which would be empty ones in the transcription queue: their labels
//!   go to every segment they overlap (the new ones when creating, the existing ones when
//!   attaching), and a region that overlaps none is counted as unplaced.
//! - **auto**: when every existing segment is untouched (VAD output nobody has claimed,
//!   typed in or saved), those are replaced by the ASR's own segmentation; otherwise the text
//!   is attached, so no one's work is ever moved.

use serde::{Deserialize, Serialize};

use crate::text::asr::Hypothesis;

/// How imported text meets the recording's segments.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// Replace untouched segments, else attach.
    #[default]
    Auto,
    /// New segments from the hypothesis (untouched ones are replaced).
    Create,
    /// Attach text to the existing segments by time overlap.
    Attach,
}

impl std::str::FromStr for Mode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "auto" | "" => Ok(Mode::Auto),
            "create" => Ok(Mode::Create),
            "attach" => Ok(Mode::Attach),
            other => Err(format!(
                "unknown mode `{other}` (known: auto, create, attach)"
            )),
        }
    }
}

/// A segment as the planner sees it.
#[derive(Debug, Clone)]
pub struct Existing {
    /// Id.
    pub id: i64,
    /// First sample.
    pub start: i64,
    /// One past the last sample.
    pub end: i64,
    /// Someone has typed, saved or claimed it: never replaced.
    pub touched: bool,
}

/// A segment to create.
#[derive(Debug, Clone, PartialEq)]
pub struct NewSegment {
    /// First sample.
    pub start: i64,
    /// One past the last sample.
    pub end: i64,
    /// ASR text (also the first transcript).
    pub text: String,
    /// Speaker code from the file.
    pub speaker: Option<String>,
    /// Labels from the file.
    pub labels: Vec<String>,
}

/// What an import does to one recording.
#[derive(Debug, Default)]
pub struct Plan {
    /// Untouched segments to delete (replaced by `create`).
    pub delete: Vec<i64>,
    /// New segments.
    pub create: Vec<NewSegment>,
    /// ASR text for existing segments (and labels to add).
    pub attach: Vec<(i64, String, Vec<String>)>,
    /// Labels alone for existing segments (from label-only regions), their text untouched.
    pub label: Vec<(i64, Vec<String>)>,
    /// Hypothesis units that fell outside every segment (attach) or the recording (create).
    pub unplaced: usize,
}

/// Plans an import. `rate` converts seconds to samples; `samples` is the recording's length.
pub fn plan(hyp: &Hypothesis, existing: &[Existing], rate: i64, samples: i64, mode: Mode) -> Plan {
    let untouched = existing.iter().all(|e| !e.touched);
    let create = match mode {
        Mode::Create => true,
        Mode::Attach => false,
        Mode::Auto => untouched,
    };
    if create {
        plan_create(hyp, existing, rate, samples)
    } else {
        plan_attach(hyp, existing, rate)
    }
}

fn to_sample(seconds: f64, rate: i64) -> i64 {
    (seconds * rate as f64).round() as i64
}

fn plan_create(hyp: &Hypothesis, existing: &[Existing], rate: i64, samples: i64) -> Plan {
    let mut plan = Plan {
        delete: existing
            .iter()
            .filter(|e| !e.touched)
            .map(|e| e.id)
            .collect(),
        ..Plan::default()
    };
    for seg in hyp.segments.iter().filter(|s| !label_only(s)) {
        let start = to_sample(seg.start_s, rate).clamp(0, samples);
        let end = to_sample(seg.end_s, rate).clamp(0, samples);
        if end <= start || seg.text.is_empty() {
            plan.unplaced += 1;
            continue;
        }
        plan.create.push(NewSegment {
            start,
            end,
            text: seg.text.clone(),
            speaker: seg.speaker.clone(),
            labels: seg.labels.clone(),
        });
    }
    for seg in hyp.segments.iter().filter(|s| label_only(s)) {
        let (start, end) = (to_sample(seg.start_s, rate), to_sample(seg.end_s, rate));
        let mut placed = false;
        for new in plan
            .create
            .iter_mut()
            .filter(|n| overlaps(start, end, n.start, n.end))
        {
            add_labels(&mut new.labels, &seg.labels);
            placed = true;
        }
        plan.unplaced += usize::from(!placed);
    }
    plan
}

/// A region with labels and no text.
fn label_only(seg: &crate::text::asr::HypSegment) -> bool {
    seg.text.trim().is_empty() && !seg.labels.is_empty()
}

/// Whether `a..b` and `c..d` share time; a point counts when it lies inside.
fn overlaps(a: i64, b: i64, c: i64, d: i64) -> bool {
    a.max(c) < b.min(d) || (a == b && c <= a && a < d)
}

fn add_labels(into: &mut Vec<String>, labels: &[String]) {
    for l in labels {
        if !into.contains(l) {
            into.push(l.clone());
        }
    }
}

/// One timed piece of hypothesis text.
struct Unit<'a> {
    start: i64,
    end: i64,
    text: &'a str,
    labels: &'a [String],
}

fn units(hyp: &Hypothesis, rate: i64) -> Vec<Unit<'_>> {
    let mut out = Vec::new();
    for seg in hyp.segments.iter().filter(|s| !label_only(s)) {
        let timed = !seg.words.is_empty()
            && seg
                .words
                .iter()
                .all(|w| w.start_s.is_some() && w.end_s.is_some());
        if timed {
            for (i, w) in seg.words.iter().enumerate() {
                out.push(Unit {
                    start: to_sample(w.start_s.unwrap_or(seg.start_s), rate),
                    end: to_sample(w.end_s.unwrap_or(seg.end_s), rate),
                    text: &w.text,
                    // Labels belong to the whole segment: carried by its first word.
                    labels: if i == 0 { &seg.labels } else { &[] },
                });
            }
        } else {
            out.push(Unit {
                start: to_sample(seg.start_s, rate),
                end: to_sample(seg.end_s, rate),
                text: &seg.text,
                labels: &seg.labels,
            });
        }
    }
    out
}

fn plan_attach(hyp: &Hypothesis, existing: &[Existing], rate: i64) -> Plan {
    let mut plan = Plan::default();
    let mut texts: Vec<(String, Vec<String>, bool)> =
        vec![(String::new(), Vec::new(), false); existing.len()];
    for unit in units(hyp, rate) {
        let best = existing
            .iter()
            .enumerate()
            .map(|(i, e)| {
                let overlap = unit.end.min(e.end) - unit.start.max(e.start);
                // A point (zero-length unit) belongs to the segment containing it.
                let inside = unit.start >= e.start && unit.start < e.end;
                (
                    i,
                    if overlap > 0 {
                        overlap
                    } else {
                        i64::from(inside) - 1
                    },
                )
            })
            .filter(|&(_, o)| o >= 0)
            .max_by_key(|&(i, o)| (o, std::cmp::Reverse(i)));
        match best {
            Some((i, _)) => {
                let (text, labels, hit) = &mut texts[i];
                *hit = true;
                join(text, unit.text);
                for l in unit.labels {
                    if !labels.contains(l) {
                        labels.push(l.clone());
                    }
                }
            }
            None => plan.unplaced += 1,
        }
    }
    for (e, (text, labels, hit)) in existing.iter().zip(texts) {
        if hit {
            plan.attach.push((e.id, text, labels));
        }
    }
    for seg in hyp.segments.iter().filter(|s| label_only(s)) {
        let (start, end) = (to_sample(seg.start_s, rate), to_sample(seg.end_s, rate));
        let mut placed = false;
        for e in existing
            .iter()
            .filter(|e| overlaps(start, end, e.start, e.end))
        {
            placed = true;
            match plan.attach.iter_mut().find(|a| a.0 == e.id) {
                Some(a) => add_labels(&mut a.2, &seg.labels),
                None => match plan.label.iter_mut().find(|l| l.0 == e.id) {
                    Some(l) => add_labels(&mut l.1, &seg.labels),
                    None => plan.label.push((e.id, seg.labels.clone())),
                },
            }
        }
        plan.unplaced += usize::from(!placed);
    }
    plan
}

/// Appends `piece` to `text`: with a space between two Latin-script words, directly otherwise
/// (Chinese has no spaces between words).
pub fn join(text: &mut String, piece: &str) {
    let piece = piece.trim();
    if piece.is_empty() {
        return;
    }
    let latin_end = text
        .chars()
        .last()
        .is_some_and(|c| c.is_ascii_alphanumeric() || c == '\'' || c.is_ascii_punctuation());
    let latin_start = piece
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphanumeric());
    if latin_end && latin_start {
        text.push(' ');
    }
    text.push_str(piece);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::text::asr::parse;

    fn seg(id: i64, start: i64, end: i64, touched: bool) -> Existing {
        Existing {
            id,
            start,
            end,
            touched,
        }
    }

    const SRT: &str = "1\n00:00:00,500 --> 00:00:01,500\n今天天气\n\n2\n00:00:01,600 --> 00:00:02,400\n很好\n\n3\n00:00:09,000 --> 00:00:09,500\n外面\n";

    #[test]
    fn untouched_vad_segments_are_replaced_by_the_asr_segmentation() {
        let hyp = parse(SRT.as_bytes(), Some("a.srt"), None).unwrap();
        let p = plan(
            &hyp,
            &[seg(7, 0, 16000, false)],
            16000,
            5 * 16000,
            Mode::Auto,
        );
        assert_eq!(p.delete, vec![7]);
        assert_eq!(
            p.create.len(),
            2,
            "the third cue lies past the recording's end"
        );
        assert_eq!(p.unplaced, 1);
        assert_eq!((p.create[0].start, p.create[0].end), (8000, 24000));
        assert_eq!(p.create[1].text, "很好");
    }

    #[test]
    fn touched_segments_get_the_text_that_overlaps_them_most() {
        let hyp = parse(SRT.as_bytes(), Some("a.srt"), None).unwrap();
        let existing = [seg(1, 0, 25_000, true), seg(2, 25_000, 40_000, false)];
        let p = plan(&hyp, &existing, 16000, 200_000, Mode::Auto);
        assert!(p.delete.is_empty() && p.create.is_empty());
        // cue 2 is 25 600..38 400: all inside segment 2.
        assert_eq!(
            p.attach,
            vec![
                (1, "今天天气".to_string(), vec![]),
                (2, "很好".to_string(), vec![])
            ]
        );
        assert_eq!(p.unplaced, 1, "the cue at 9 s overlaps no segment");
    }

    /// Issue 19: a Label Studio region with a label and no text (Noise) labels the segments it
    /// overlaps; it is not a segment of its own.
    #[test]
    fn label_only_regions_label_the_segments_they_overlap() {
        let bytes = std::fs::read(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("fixtures/asr/labelstudio-zh-noise-over-speech.json"),
        )
        .unwrap();
        let hyp = parse(&bytes, None, None).unwrap();
        let p = plan(&hyp, &[], 16000, 12 * 16000, Mode::Create);
        let made: Vec<(&str, Vec<&str>)> = p
            .create
            .iter()
            .map(|n| {
                (
                    n.text.as_str(),
                    n.labels.iter().map(String::as_str).collect(),
                )
            })
            .collect();
        assert_eq!(
            made,
            [
                ("今天天气很好", vec!["Speech", "Noise"]),
                ("我们去公园吧", vec!["Noise"])
            ]
        );
        assert_eq!(p.unplaced, 1, "the noise at 10 s overlaps no segment");

        // Attaching: the labels go to the existing segments, the text where it overlaps most.
        let existing = [seg(1, 0, 52_000, true), seg(2, 60_000, 100_000, true)];
        let p = plan(&hyp, &existing, 16000, 12 * 16000, Mode::Attach);
        assert_eq!(
            p.attach,
            vec![
                (
                    1,
                    "今天天气很好".to_string(),
                    vec!["Speech".to_string(), "Noise".to_string()]
                ),
                (2, "我们去公园吧".to_string(), vec!["Noise".to_string()])
            ]
        );
        assert!(p.label.is_empty(), "{:?}", p.label);
        // A segment the noise overlaps but no text reaches gets the label alone.
        let existing = [seg(1, 0, 8_000, true), seg(2, 50_000, 56_000, true)];
        let p = plan(&hyp, &existing, 16000, 12 * 16000, Mode::Attach);
        assert_eq!(p.label, vec![(2, vec!["Noise".to_string()])]);
    }

    #[test]
    fn latin_words_are_joined_with_spaces_and_chinese_without() {
        let mut t = String::new();
        for w in ["hello", "world", "你", "好", "OK"] {
            join(&mut t, w);
        }
        assert_eq!(t, "hello world你好OK");
    }
}
