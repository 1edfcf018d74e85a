#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Our S/D/I/N equal sclite's and jiwer's, pair for pair, on the table in
//! `fixtures/metrics/expected.json` (Chinese, English, mixed, empty sides, markers, ties and
//! 315 seeded random pairs), computed once by `fixtures/metrics/make_metrics_reference.py`.

use fangyan::text::align::{CostModel, Counts};
use fangyan::text::metrics::counts;
use fangyan::text::tokenise::Tokenisation;
use fangyan::text::{NormaliseOptions, Normaliser};
use serde_json::Value;

fn expected(v: &Value) -> Counts {
    let a: Vec<u64> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_u64().unwrap())
        .collect();
    Counts {
        s: a[0],
        d: a[1],
        i: a[2],
        n: a[3],
    }
}

#[test]
fn counts_equal_sclite_and_jiwer_on_every_pair() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/fixtures/metrics/expected.json"
    );
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let pairs = doc["pairs"].as_array().unwrap();
    assert!(pairs.len() > 300);
    let mut failures = Vec::new();
    let mut differ = 0;
    for p in pairs {
        let norm = match p["normalise"].as_str().unwrap() {
            "raw" => Normaliser::raw(),
            spec => Normaliser::new(NormaliseOptions::parse(spec).unwrap()),
        };
        let r = norm.normalise(p["ref"].as_str().unwrap());
        let h = norm.normalise(p["hyp"].as_str().unwrap());
        for (field, how) in [
            ("mixed", Tokenisation::Mixed),
            ("words", Tokenisation::Words),
        ] {
            for (tool, model) in [
                ("sclite", CostModel::Sclite),
                ("jiwer", CostModel::Levenshtein),
            ] {
                let want = expected(&p[field][tool]);
                let got = counts(&r, &h, how, model);
                if got != want {
                    failures.push(format!(
                        "{} {field} {tool}: want {want:?}, got {got:?}",
                        p["id"]
                    ));
                }
            }
            if p[field]["sclite"] != p[field]["jiwer"] {
                differ += 1;
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} mismatches:\n{}",
        failures.len(),
        failures.join("\n")
    );
    // The table must keep exercising the cases where the two tools disagree.
    assert!(
        differ >= 10,
        "only {differ} pairs where sclite and jiwer differ"
    );
}
