//! Label Studio's JSON export (FORMATS.md §17): tasks with annotations whose results share a
//! region `id` — a `labels` result carries the labels, a per-region `textarea` the text.
//!
//! Per task we read the first annotation that was not cancelled (a `ground_truth` one wins),
//! else the first prediction, whose `model_version` becomes the model name. Regions with labels
//! but no text are kept (empty text). The recording is the task's audio file name without
//! Label Studio's `<8 hex>-` upload prefix.

use std::collections::BTreeMap;

use serde_json::Value;

use super::json::{num, obj, opt_str};
use super::{AsrError, Format, HypSegment, Hypothesis, check_range, join_text};

const LS: &str = "Label Studio JSON";

/// One audio region, gathered from the results that share its id.
struct Region {
    /// First-seen position, to keep the export's order within a task.
    order: usize,
    start: f64,
    end: f64,
    labels: Vec<String>,
    text: Vec<String>,
}

pub(super) fn parse_value(v: &Value) -> Result<Hypothesis, AsrError> {
    let tasks = v
        .as_array()
        .ok_or_else(|| AsrError::field_at(LS, "(top level)", "expected a list of tasks"))?;
    let mut segments = Vec::new();
    let mut model = None;
    let mut warnings = Vec::new();
    for (t, task) in tasks.iter().enumerate() {
        let tp = format!("[{t}]");
        let to = obj(task, &tp, LS)?;
        let recording = to
            .get("data")
            .and_then(|d| d.get("audio"))
            .and_then(Value::as_str)
            .map(upload_name);
        let pick = |key: &str| -> Option<(usize, &Value)> {
            let list = to.get(key)?.as_array()?;
            let live = |a: &&Value| a.get("was_cancelled").and_then(Value::as_bool) != Some(true);
            list.iter()
                .enumerate()
                .filter(|(_, a)| live(a))
                .find(|(_, a)| a.get("ground_truth").and_then(Value::as_bool) == Some(true))
                .or_else(|| list.iter().enumerate().find(|(_, a)| live(a)))
        };
        let (field, (a, ann)) = match pick("annotations") {
            Some(x) => ("annotations", x),
            None => match pick("predictions") {
                Some(x) => ("predictions", x),
                None => {
                    warnings.push(format!("task {tp} has no annotation or prediction"));
                    continue;
                }
            },
        };
        if field == "predictions" {
            model = model.or(ann
                .get("model_version")
                .and_then(Value::as_str)
                .map(String::from));
        }
        let ap = format!("{tp}.{field}[{a}]");
        let results = ann.get("result").and_then(Value::as_array).ok_or_else(|| {
            AsrError::field_at(LS, format!("{ap}.result"), "missing or not a list")
        })?;
        let mut regions: BTreeMap<String, Region> = BTreeMap::new();
        for (k, r) in results.iter().enumerate() {
            let rp = format!("{ap}.result[{k}]");
            let ro = obj(r, &rp, LS)?;
            let Some(val) = ro.get("value").and_then(Value::as_object) else {
                continue;
            };
            if !val.contains_key("start") {
                continue; // not an audio region (e.g. a per-task choice)
            }
            let vp = format!("{rp}.value");
            let start = num(val, "start", &vp, LS)?;
            let end = num(val, "end", &vp, LS)?;
            check_range(start, end, |m| {
                AsrError::field_at(LS, format!("{vp}.end"), m)
            })?;
            let id = opt_str(ro, "id", &rp, LS)?.map_or_else(|| format!("#{k}"), String::from);
            let next = regions.len();
            let entry = regions.entry(id).or_insert(Region {
                order: next,
                start,
                end,
                labels: Vec::new(),
                text: Vec::new(),
            });
            for (key, into) in [("labels", &mut entry.labels), ("text", &mut entry.text)] {
                match val.get(key) {
                    None | Some(Value::Null) => {}
                    Some(Value::Array(items)) => {
                        for (j, item) in items.iter().enumerate() {
                            let s = item.as_str().ok_or_else(|| {
                                AsrError::field_at(
                                    LS,
                                    format!("{vp}.{key}[{j}]"),
                                    "expected a string",
                                )
                            })?;
                            into.push(s.to_string());
                        }
                    }
                    Some(Value::String(s)) => into.push(s.clone()),
                    Some(_) => {
                        return Err(AsrError::field_at(
                            LS,
                            format!("{vp}.{key}"),
                            "expected a list of strings",
                        ));
                    }
                }
            }
        }
        let mut task_segments: Vec<_> = regions.into_values().collect();
        task_segments.sort_by_key(|r| r.order);
        segments.extend(task_segments.into_iter().map(|r| HypSegment {
            start_s: r.start,
            end_s: r.end,
            text: join_text(r.text.iter().map(String::as_str)),
            words: Vec::new(),
            speaker: None,
            labels: r.labels,
            recording: recording.clone(),
        }));
    }
    segments.sort_by(|a, b| {
        a.recording
            .cmp(&b.recording)
            .then(a.start_s.total_cmp(&b.start_s))
    });
    Ok(Hypothesis {
        format: Format::LabelStudio,
        model,
        language: None,
        tier: None,
        segments,
        warnings,
    })
}

/// `/data/upload/3/1a2b3c4d-录音01.wav` → `录音01.wav`.
fn upload_name(path: &str) -> String {
    let name = path.rsplit('/').next().unwrap_or(path);
    match name.split_once('-') {
        Some((hash, rest)) if hash.len() == 8 && hash.bytes().all(|b| b.is_ascii_hexdigit()) => {
            rest.to_string()
        }
        _ => name.to_string(),
    }
}
