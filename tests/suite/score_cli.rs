#![allow(clippy::unwrap_used, clippy::expect_used)]
//! `fangyan score` end to end: Kaldi text files in, one JSON line per utterance and a total out,
//! with the normaliser version; missing hypotheses count as deletions.

use std::process::Command;

use serde_json::Value;

fn score(refs: &str, hyps: &str, extra: &[&str]) -> (bool, Vec<Value>, String) {
    let dir = tempfile::tempdir().unwrap();
    let (r, h) = (dir.path().join("ref.txt"), dir.path().join("hyp.txt"));
    std::fs::write(&r, refs).unwrap();
    std::fs::write(&h, hyps).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_fangyan"))
        .arg("score")
        .arg("--ref")
        .arg(&r)
        .arg("--hyp")
        .arg(&h)
        .args(extra)
        .output()
        .unwrap();
    let lines = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    (
        out.status.success(),
        lines,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn per_utterance_lines_and_a_total() {
    let refs =
        "\u{feff}u1 今天天气很好。\r\nu2 我用iPhone打电话\r\nu3 全都没了\r\n\r\nu4 the cat sat\r\n";
    let hyps = "u2 我用 iphone 打电化\nu1 今天天汽很好\nu4 the cat sat down\nu9 多余\n";
    let (ok, lines, err) = score(refs, hyps, &[]);
    assert!(ok, "{err}");
    assert_eq!(lines.len(), 6, "{lines:?}");
    let by = |utt: &str| lines.iter().find(|l| l["utt"] == utt).unwrap();
    let u1 = by("u1");
    assert_eq!(
        (
            u1["s"].as_u64(),
            u1["d"].as_u64(),
            u1["i"].as_u64(),
            u1["n"].as_u64()
        ),
        (Some(1), Some(0), Some(0), Some(6))
    );
    assert!((u1["cer"].as_f64().unwrap() - 1.0 / 6.0).abs() < 1e-12);
    assert!(
        u1["normaliser"]
            .as_str()
            .unwrap()
            .starts_with("fangyan-norm-1:")
    );
    assert_eq!(by("u2")["s"], 1);
    assert_eq!(by("u2")["n"], 6);
    let u3 = by("u3");
    assert_eq!((u3["d"].as_u64(), u3["n"].as_u64()), (Some(4), Some(4)));
    assert_eq!(u3["missing_hyp"], true);
    let u4 = by("u4");
    assert_eq!(
        (u4["words"]["i"].as_u64(), u4["words"]["n"].as_u64()),
        (Some(1), Some(3))
    );
    assert!((u4["wer"].as_f64().unwrap() - 1.0 / 3.0).abs() < 1e-12);
    assert_eq!(by("u9")["missing_ref"], true);
    let total = lines.last().unwrap();
    assert_eq!(total["total"], true);
    assert_eq!(total["n"], 6 + 6 + 4 + 3);
    assert_eq!(total["s"], 2);
    assert_eq!(total["d"], 4);
    assert_eq!(total["i"], 1);
    assert_eq!(
        (total["missing_hyp"].as_u64(), total["missing_ref"].as_u64()),
        (Some(1), Some(1))
    );
    assert!((total["cer"].as_f64().unwrap() - 7.0 / 19.0).abs() < 1e-12);
}

#[test]
fn normalise_and_align_options() {
    let (ok, lines, _) = score("u1 a b\n", "u1 b c\n", &["--normalise", "none"]);
    assert!(ok);
    assert_eq!(
        (
            lines[0]["s"].as_u64(),
            lines[0]["d"].as_u64(),
            lines[0]["i"].as_u64()
        ),
        (Some(0), Some(1), Some(1))
    );
    assert_eq!(lines[0]["normaliser"], "fangyan-norm-1:none");
    let (_, lines, _) = score(
        "u1 a b\n",
        "u1 b c\n",
        &["--normalise", "none", "--align", "jiwer"],
    );
    assert_eq!(lines[0]["s"], 2);
    let (_, lines, _) = score(
        "u1 這是ＯＫ的\n",
        "u1 这是ok的\n",
        &["--normalise", "fullwidth,t2s,case"],
    );
    assert_eq!(lines[0]["s"], 0);
    assert_eq!(lines[0]["normaliser"], "fangyan-norm-1:fullwidth,t2s,case");
}

#[test]
fn bad_input_is_refused_with_the_place() {
    let (ok, _, err) = score("u1 a\nu1 b\n", "u1 a\n", &[]);
    assert!(!ok);
    assert!(err.contains("line 2"), "{err}");
    let (ok, _, err) = score("u1 a\n", "u1 a\n", &["--normalise", "fullwidth,bogus"]);
    assert!(!ok);
    assert!(err.contains("bogus"), "{err}");
}
