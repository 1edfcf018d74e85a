//! `fangyan score`: offline CER/WER of an ASR system against references, without a project.
//!
//! Both files hold Kaldi-style `utt-id text` lines (the text may be empty; blank lines are
//! skipped; a repeated id is an error naming its line). One JSON line per reference utterance,
//! in reference order, then a total line. Each carries the CER counts `s d i n` (mixed tokens:
//! CJK characters and Latin words), `cer`, `wer` with its own counts under `words`, and the
//! normaliser (version and steps). Rates are `null` when `n` is 0.
//!
//! An utterance missing from the hypothesis file is scored against an empty hypothesis (all
//! deletions) and marked `"missing_hyp": true`. Hypothesis utterances with no reference are
//! printed with `"missing_ref": true` (all insertions) but left out of the total, as there is
//! nothing to measure them against; the total says how many there were.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use clap::{Args, ValueEnum};
use serde_json::{Value, json};

use super::print_line;
use crate::text::align::CostModel;
use crate::text::metrics::{Score, score_with};
use crate::text::{NormaliseOptions, Normaliser};

/// Options of `fangyan score`.
#[derive(Debug, Args)]
pub struct ScoreArgs {
    /// Reference transcripts: `utt-id text` per line.
    #[arg(long = "ref", env = "FANGYAN_REF")]
    reference: PathBuf,
    /// Hypotheses: `utt-id text` per line.
    #[arg(long = "hyp", env = "FANGYAN_HYP")]
    hypothesis: PathBuf,
    /// Normalisation steps, comma-separated: default, none, fullwidth, markers, t2s, case,
    /// digits-to-hanzi, hanzi-to-digits, fillers, erhua, punct, join-cjk; `-step` turns one off.
    #[arg(long, env = "FANGYAN_NORMALISE", default_value = "default")]
    normalise: String,
    /// Whose alignment (and so S/D/I split) to reproduce.
    #[arg(long, env = "FANGYAN_ALIGN", value_enum, default_value_t = Aligner::Sclite)]
    align: Aligner,
}

/// The reference tool whose alignment is reproduced.
#[derive(Debug, Clone, Copy, ValueEnum)]
enum Aligner {
    /// sclite (substitution 4, insertion/deletion 3).
    Sclite,
    /// jiwer (unit-cost Levenshtein, rapidfuzz tie-breaking).
    Jiwer,
}

/// Runs `fangyan score`.
pub fn run(args: ScoreArgs) -> anyhow::Result<bool> {
    let opts = NormaliseOptions::parse(&args.normalise)?;
    let norm = Normaliser::new(opts);
    let model = match args.align {
        Aligner::Sclite => CostModel::Sclite,
        Aligner::Jiwer => CostModel::Levenshtein,
    };
    let refs = read_kaldi_text(&args.reference)?;
    let hyps = read_kaldi_text(&args.hypothesis)?;
    let hyp_by_id: HashMap<&str, &str> =
        hyps.iter().map(|(u, t)| (u.as_str(), t.as_str())).collect();
    let ref_ids: HashMap<&str, ()> = refs.iter().map(|(u, _)| (u.as_str(), ())).collect();
    let describe = norm.describe();
    let mut total = Score::default();
    let mut missing_hyp = 0;
    for (utt, r) in &refs {
        let h = hyp_by_id.get(utt.as_str());
        let s = score_with(r, h.copied().unwrap_or(""), &norm, model);
        total.add(s);
        let mut line = score_json(&s, &describe);
        line["utt"] = json!(utt);
        if h.is_none() {
            missing_hyp += 1;
            line["missing_hyp"] = json!(true);
        }
        print_line(&line);
    }
    let mut missing_ref = 0;
    for (utt, h) in &hyps {
        if !ref_ids.contains_key(utt.as_str()) {
            missing_ref += 1;
            let mut line = score_json(&score_with("", h, &norm, model), &describe);
            line["utt"] = json!(utt);
            line["missing_ref"] = json!(true);
            print_line(&line);
        }
    }
    let mut line = score_json(&total, &describe);
    line["total"] = json!(true);
    line["utterances"] = json!(refs.len());
    line["missing_hyp"] = json!(missing_hyp);
    line["missing_ref"] = json!(missing_ref);
    print_line(&line);
    Ok(true)
}

fn score_json(s: &Score, normaliser: &str) -> Value {
    json!({
        "s": s.chars.s, "d": s.chars.d, "i": s.chars.i, "n": s.chars.n,
        "cer": s.cer(),
        "wer": s.wer(),
        "words": { "s": s.words.s, "d": s.words.d, "i": s.words.i, "n": s.words.n },
        "normaliser": normaliser,
    })
}

/// Reads `utt-id text` lines (UTF-8, BOM and CRLF tolerated).
fn read_kaldi_text(path: &Path) -> anyhow::Result<Vec<(String, String)>> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    let text =
        crate::text::asr::decode(&bytes).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    let mut seen: HashMap<String, usize> = HashMap::new();
    let mut out = Vec::new();
    for (k, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let (utt, rest) = line.split_once(char::is_whitespace).unwrap_or((line, ""));
        if let Some(first) = seen.insert(utt.to_string(), k + 1) {
            bail!(
                "{} line {}: utterance {utt} already appeared on line {first}",
                path.display(),
                k + 1
            );
        }
        out.push((utt.to_string(), rest.trim().to_string()));
    }
    Ok(out)
}
