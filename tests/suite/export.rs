//! Corpus export end to end: a project with real recordings (16 kHz, 24 kHz float, 44.1 kHz
//! stereo FLAC), Chinese segments, speakers with gender and variety, tags and features;
//! exported through the API (background job, streamed .tar.gz) and through `fangyan export`
//! twice; then read with the real tools: Praat (headless, opens every TextGrid), and praatio,
//! pympi-ling, webvtt-py and srt from the repository's `.venv` (tests/export_check.py).
//! Also: clip lengths against every manifest (hound), Kaldi sort order (`LC_ALL=C sort`),
//! speaker-disjoint splits, SHA256SUMS (`sha256sum -c`), determinism, and the TextGrid/EAF
//! round trip through fangyan's own importer.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use fangyan::app::{AppState, Config};
use serde_json::{Value, json};
use sqlx::Row;

struct Segment {
    rec: i64,
    start: i64,
    end: i64,
    speaker: i64,
    text: &'static str,
    status: &'static str,
    variety: Option<&'static str>,
    feature: Option<&'static str>,
}

fn run(cmd: &mut Command) -> String {
    let out = cmd.output().expect("runs");
    assert!(
        out.status.success(),
        "{cmd:?}: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn read(dir: &Path, rel: &str) -> String {
    std::fs::read_to_string(dir.join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

/// The first field of every line of a Kaldi file.
fn keys(dir: &Path, rel: &str) -> Vec<String> {
    read(dir, rel)
        .lines()
        .map(|l| l.split(' ').next().unwrap().to_string())
        .collect()
}

/// The checks of Kaldi's `utils/validate_data_dir.sh --no-feats` (and what `fix_data_dir.sh`
/// would filter), written out: the Kaldi scripts cannot be fetched here (the network reaches
/// package registries only). Every file sorted in byte order without duplicates (checked by
/// the caller with `sort -c`, and here for `spk2gender`); `text`, `wav.scp`, `utt2spk` and
/// `utt2dur` list the same utterances (so `fix_data_dir.sh` has nothing to drop); `spk2utt`
/// is keyed by the speakers of `utt2spk`; `spk2gender`, when present, lists exactly those
/// speakers, each `m` or `f` (issue 19: a partial one fails validation, makes
/// `fix_data_dir.sh` drop utterances and lhotse raise `KeyError`); `utt2dur` positive; every
/// `wav.scp` path exists relative to the export root.
fn validate_data_dir(root: &Path, d: &str) {
    let utts = keys(root, &format!("{d}/text"));
    let mut sorted = utts.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(utts, sorted, "{d}/text sorted, no duplicates");
    for f in ["wav.scp", "utt2spk", "utt2dur"] {
        assert_eq!(keys(root, &format!("{d}/{f}")), utts, "{d}/{f} vs text");
    }
    let mut speakers: Vec<String> = read(root, &format!("{d}/utt2spk"))
        .lines()
        .map(|l| l.split(' ').nth(1).unwrap().to_string())
        .collect();
    speakers.sort();
    speakers.dedup();
    assert_eq!(keys(root, &format!("{d}/spk2utt")), speakers, "{d}/spk2utt");
    let gender = root.join(d).join("spk2gender");
    if gender.exists() {
        assert_eq!(
            keys(root, &format!("{d}/spk2gender")),
            speakers,
            "{d}/spk2gender"
        );
        let g = read(root, &format!("{d}/spk2gender"));
        assert!(
            g.lines().all(|l| l.ends_with(" m") || l.ends_with(" f")),
            "{g}"
        );
    } else {
        let split = d.rsplit('/').next().unwrap();
        let sheet = read(root, "README.md");
        let line = sheet
            .lines()
            .find(|l| l.contains("`spk2gender` is omitted for"))
            .unwrap_or_else(|| panic!("{d}: no spk2gender and the datasheet says nothing"));
        assert!(line.contains(split), "{line}");
    }
    for l in read(root, &format!("{d}/utt2dur")).lines() {
        let secs: f64 = l.split(' ').nth(1).unwrap().parse().unwrap();
        assert!(secs > 0.0, "{l}");
    }
    for l in read(root, &format!("{d}/wav.scp")).lines() {
        let path = l.split_once(' ').unwrap().1;
        assert!(root.join(path).is_file(), "{d}/wav.scp: {path}");
    }
}

/// A tool of Debian's `sctk` (scripts/test installs it): on the PATH, or where Debian puts it.
fn sctk(tool: &str) -> PathBuf {
    let debian = Path::new("/usr/lib/sctk/bin").join(tool);
    if debian.exists() {
        debian
    } else {
        PathBuf::from(tool)
    }
}

/// Issue 19: the NIST pair that sclite reads. The CTM sorted by file, channel and begin
/// (`LC_ALL=C sort -c -k1,1 -k2,2 -k3,3n`); `stmValidator.pl -l mandarin` and
/// `ctmValidator.pl -l mandarin` accept them; and `sclite -e utf-8 -D` scores the CTM against
/// the STM at 0 % (the pair tokenises Chinese alike, one character a word; `-D` counts the
/// optionally deletable markers, `(laughter)`, as correct when the CTM leaves them out).
fn check_nist(root: &Path) -> String {
    let stm = root.join("nist/fangyan.stm");
    let ctm = root.join("nist/fangyan.ctm");
    run(Command::new("sort")
        .env("LC_ALL", "C")
        .args(["-c", "-k1,1", "-k2,2", "-k3,3n"])
        .arg(&ctm));
    let v = run(Command::new(sctk("stmValidator.pl"))
        .args(["-l", "mandarin", "-i"])
        .arg(&stm));
    assert!(v.contains("Validated"), "{v}");
    let v = run(Command::new(sctk("ctmValidator.pl"))
        .args(["-l", "mandarin", "-i"])
        .arg(&ctm));
    assert!(v.contains("Validated"), "{v}");
    let out = run(Command::new(sctk("sclite"))
        .arg("-r")
        .arg(&stm)
        .arg("stm")
        .arg("-h")
        .arg(&ctm)
        .arg("ctm")
        .args(["-e", "utf-8", "-D", "-o", "sum", "stdout"]));
    let sum = out
        .lines()
        .find(|l| l.contains("Sum/Avg"))
        .unwrap_or_else(|| panic!("{out}"));
    let cells: Vec<&str> = sum.split('|').map(str::trim).collect();
    // | Sum/Avg | #Snt #Wrd | Corr Sub Del Ins Err S.Err |
    let scores: Vec<f64> = cells[3]
        .split_whitespace()
        .map(|x| x.parse().unwrap())
        .collect();
    assert_eq!(scores[4], 0.0, "sclite error rate: {sum}\n{out}");
    assert_eq!(scores[0], 100.0, "sclite correct: {sum}");
    sum.to_string()
}

/// Every file under `dir` except clips (relative path → bytes).
fn manifests(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_none_or(|x| x != "wav") {
                let rel = p.strip_prefix(dir).unwrap().to_string_lossy().into_owned();
                out.insert(rel, std::fs::read(&p).unwrap());
            }
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn export_is_read_by_the_real_tools_and_round_trips() {
    let dir = common::scratch();
    let state = AppState::open(
        Config::new(dir.path())
            .with_database(common::database_url_for(dir.path()))
            .with_store(common::store_url_for(dir.path())),
    )
    .await
    .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let router = fangyan::app::router(state.clone());
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });

    let hash = fangyan::accounts::hash_password("correct horse").unwrap();
    fangyan::accounts::db::create_user(&state.db, "boss", &hash)
        .await
        .unwrap();
    // Projects are created by instance admins (README, Trust model).
    fangyan::accounts::db::set_instance_admin(&state.db, "boss", true)
        .await
        .unwrap();
    let http = common::browser_client(&base).build().unwrap();
    let r = http
        .post(format!("{base}/api/login"))
        .json(&json!({"name": "boss", "password": "correct horse"}))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success());
    let p: Value = http
        .post(format!("{base}/api/projects"))
        .json(&json!({"name": "柳州"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let project = p["id"].as_i64().unwrap();

    // Real recordings through the upload API.
    let recs = upload_fixtures(&http, &base, project).await;
    state.jobs.drain().await;
    let db = &state.db;
    // Our own segments replace the VAD's.
    sqlx::query("UPDATE segment SET deleted = 1")
        .execute(db)
        .await
        .unwrap();
    let mut spk = Vec::new();
    for (code, gender, variety, accent) in [
        ("1", "female", "cmn-southwestern/guiliu", "桂柳话"),
        ("10", "male", "cmn-southwestern/guiliu", "桂柳话"),
        ("2", "male", "cmn-beijing", "北京话"),
        ("A 7", "female", "cmn-beijing", ""),
        ("B", "other", "yue", "粤语"),
    ] {
        let id: i64 = sqlx::query(
            "INSERT INTO speaker (project_id, code, gender, age_band, self_reported_accent, native_variety) \
             VALUES ($1, $2, $3, 'thirties', $4, $5) RETURNING id",
        )
        .bind(project)
        .bind(code)
        .bind(gender)
        .bind(accent)
        .bind(variety)
        .fetch_one(db)
        .await
        .unwrap()
        .get(0);
        spk.push(id);
    }
    let (r0, r1, r2) = (recs[0], recs[1], recs[2]);
    let segs = [
        Segment {
            rec: r0,
            start: 1000,
            end: 25_000,
            speaker: spk[0],
            text: "而对楼市成交抑制作用最大的限购",
            status: "approved",
            variety: Some("cmn-southwestern/guiliu@柳州"),
            feature: Some("INIT_RETRO_TO_DENTAL"),
        },
        Segment {
            rec: r0,
            start: 25_000,
            end: 50_001,
            speaker: spk[1],
            text: "是\"双引号\"、逗号,与 <尖括号> & 和号[laughter]",
            status: "approved",
            variety: None,
            feature: None,
        },
        Segment {
            rec: r0,
            start: 50_001,
            end: 60_000,
            speaker: spk[2],
            text: "含[unk]的不导出",
            status: "approved",
            variety: None,
            feature: None,
        },
        Segment {
            rec: r0,
            start: 60_000,
            end: 70_000,
            speaker: spk[2],
            text: "未审核的不导出",
            status: "submitted",
            variety: None,
            feature: None,
        },
        Segment {
            rec: r1,
            start: 3_333,
            end: 40_000,
            speaker: spk[2],
            text: "希望你以后能够做的比我还好呦",
            status: "approved",
            variety: Some("cmn-beijing"),
            feature: None,
        },
        // Overlaps the one before (two speakers at once): an extra tier layer.
        Segment {
            rec: r1,
            start: 30_000,
            end: 55_000,
            speaker: spk[3],
            text: "𠝹开　两半",
            status: "approved",
            variety: None,
            feature: Some("TONE_VALUE_SHIFT"),
        },
        Segment {
            rec: r2,
            start: 0,
            end: 16_000,
            speaker: spk[4],
            text: "And so my fellow Americans",
            status: "approved",
            variety: Some("yue"),
            feature: None,
        },
        Segment {
            rec: r2,
            start: 40_000,
            end: 80_000,
            speaker: spk[4],
            text: "唔该 ask not",
            status: "approved",
            variety: None,
            feature: None,
        },
        Segment {
            rec: r2,
            start: 100_000,
            end: 150_000,
            speaker: spk[0],
            text: "咁样",
            status: "approved",
            variety: None,
            feature: None,
        },
    ];
    for s in &segs {
        let id: i64 = sqlx::query(
            "INSERT INTO segment (recording_id, start_sample, end_sample, speaker_id, text_verbatim, text_display, text_norm, status) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
        )
        .bind(s.rec)
        .bind(s.start)
        .bind(s.end)
        .bind(s.speaker)
        .bind(s.text)
        .bind(s.text)
        .bind(s.text.replace(['"', '、', ',', '<', '>', '&'], ""))
        .bind(s.status)
        .fetch_one(db)
        .await
        .unwrap()
        .get(0);
        sqlx::query("INSERT INTO segment_revision (segment_id, version, created_at, text_verbatim, text_display, text_norm, start_sample, end_sample, speaker_id, status) VALUES ($1, 1, 1000, $2, $3, $4, $5, $6, $7, $8)")
            .bind(id).bind(s.text).bind(s.text).bind(s.text).bind(s.start).bind(s.end).bind(s.speaker).bind(s.status)
            .execute(db).await.unwrap();
        if let Some(v) = s.variety {
            sqlx::query("INSERT INTO segment_tag (segment_id, field, value, created_at) VALUES ($1, 'variety', $2, 1)")
                .bind(id).bind(v).execute(db).await.unwrap();
            sqlx::query("INSERT INTO segment_tag (segment_id, field, value, created_at) VALUES ($1, 'mode', 'accented_putonghua', 1)")
                .bind(id).execute(db).await.unwrap();
        }
        if let Some(f) = s.feature {
            sqlx::query("INSERT INTO span_tag (segment_id, char_start, char_end, chars, feature, expected, realised, created_at, updated_at) VALUES ($1, 0, 1, $2, $3, 'shi4', 'si4', 1, 1)")
                .bind(id).bind(s.text.chars().next().unwrap().to_string()).bind(f)
                .execute(db).await.unwrap();
        }
    }
    // The controlled vocabulary of `variety` comes from the schema when it lists one.
    sqlx::query("UPDATE project SET tag_schema = $1 WHERE id = $2")
        .bind(r#"{"fields": {"variety": {"values": [{"id": "cmn-southwestern/guiliu@柳州"}, {"id": "cmn-beijing"}, {"id": "yue"}, {"id": "wuu"}]}}}"#)
        .bind(project)
        .execute(db)
        .await
        .unwrap();

    // Through the API: a background job, then a streamed .tar.gz.
    let options = json!({"splits": [0.6, 0.2, 0.2], "seed": 3, "rate": 16000});
    let bad: Value = http
        .post(format!("{base}/api/projects/{project}/exports"))
        .json(&json!({"options": {"rate": 3}}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(bad["error"]["code"], "bad_export_options", "{bad}");
    let (_unpacked, api_out) =
        export_through_api(&http, &base, &state, project, &json!({"options": options})).await;

    // An export cut short by a crash is failed at the next start, never left running.
    sqlx::query("INSERT INTO export (project_id, definition, status, created_at, updated_at) VALUES ($1, '{}', 'running', 1, 1)")
        .bind(project)
        .execute(db)
        .await
        .unwrap();
    assert_eq!(fangyan::exports::recover(&state).await.unwrap(), 1);
    let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM export WHERE status = 'failed'")
        .fetch_one(db)
        .await
        .unwrap();
    assert_eq!(n, 1);

    // Through the CLI, twice, beside the running server.
    let out_dirs: Vec<PathBuf> = (0..2)
        .map(|i| dir.path().join(format!("cli-{i}")))
        .collect();
    for out in &out_dirs {
        let line = run(common::on_test_database(
            &mut Command::new(env!("CARGO_BIN_EXE_fangyan")),
            dir.path(),
        )
        .args([
            "export",
            "--data",
            dir.path().to_str().unwrap(),
            "--project",
            "柳州",
            "--out",
            out.to_str().unwrap(),
            "--splits",
            "0.6,0.2,0.2",
            "--seed",
            "3",
        ]));
        let summary: Value = serde_json::from_str(line.trim()).unwrap();
        assert_eq!(summary["utterances"], 7, "{summary}");
    }
    let root = &out_dirs[0];
    // Determinism: byte-identical manifests (and API = CLI), and identical clips (SHA256SUMS).
    let m0 = manifests(root);
    assert!(m0.len() > 30, "{:?}", m0.keys());
    assert_eq!(m0, manifests(&out_dirs[1]));
    assert_eq!(m0, manifests(&api_out));
    for l in fangyan::corpus::LAYOUTS {
        assert!(root.join(l).is_dir(), "no {l}/");
    }
    for d in [root.as_path(), api_out.as_path()] {
        run(Command::new("sha256sum")
            .args(["-c", "--quiet", "SHA256SUMS"])
            .current_dir(d));
    }

    // Kaldi: sorted with LC_ALL=C, utt2spk sorted by speaker too, spk2utt its inverse.
    let mut split_of_speaker: BTreeMap<String, String> = BTreeMap::new();
    let mut texts: BTreeMap<String, String> = BTreeMap::new();
    let mut durs: BTreeMap<String, f64> = BTreeMap::new();
    for split in ["train", "dev", "test"] {
        let d = format!("kaldi/{split}");
        if !root.join(&d).exists() {
            continue;
        }
        for f in ["wav.scp", "text", "utt2spk", "spk2utt", "utt2dur"] {
            run(Command::new("sort")
                .env("LC_ALL", "C")
                .args(["-c", "-k1,1"])
                .arg(root.join(&d).join(f)));
        }
        run(Command::new("sort")
            .env("LC_ALL", "C")
            .args(["-k2", "-C"])
            .arg(root.join(&d).join("utt2spk")));
        let u2s = read(root, &format!("{d}/utt2spk"));
        let mut inv: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        for l in u2s.lines() {
            let (u, s) = l.split_once(' ').unwrap();
            assert!(u.starts_with(&format!("{s}-")), "{u} not prefixed by {s}");
            inv.entry(s).or_default().push(u);
            if let Some(prev) = split_of_speaker.insert(s.to_string(), split.to_string()) {
                assert_eq!(prev, split, "speaker {s} in two splits");
            }
        }
        let s2u: Vec<String> = inv
            .iter()
            .map(|(s, us)| format!("{s} {}", us.join(" ")))
            .collect();
        assert_eq!(
            read(root, &format!("{d}/spk2utt"))
                .lines()
                .collect::<Vec<_>>(),
            s2u
        );
        for l in read(root, &format!("{d}/text")).lines() {
            let (u, t) = l.split_once(' ').unwrap();
            assert!(!t.contains(['\u{3000}', '\t', '\r']));
            texts.insert(u.to_string(), t.to_string());
        }
        for l in read(root, &format!("{d}/utt2dur")).lines() {
            let (u, t) = l.split_once(' ').unwrap();
            durs.insert(u.to_string(), t.parse().unwrap());
        }
        validate_data_dir(root, &d);
    }
    assert_eq!(texts.len(), 7);
    assert!(split_of_speaker.values().collect::<BTreeSet<_>>().len() >= 2);
    // The ideographic space became an ASCII one; the Extension-B character is intact.
    assert!(texts.values().any(|t| t == "𠝹开 两半"), "{texts:?}");
    assert!(
        texts
            .values()
            .all(|t| !t.contains("[unk]") && !t.contains("未审核"))
    );

    // Every clip: 16-bit mono at 16 kHz, its length equal to every manifest's within 1 ms,
    // and to its segment's within one sample.
    let mut nemo = BTreeMap::new();
    for f in std::fs::read_dir(root.join("nemo")).unwrap() {
        for l in std::fs::read_to_string(f.unwrap().path()).unwrap().lines() {
            let v: Value = serde_json::from_str(l).unwrap();
            nemo.insert(
                v["utt_id"].as_str().unwrap().to_string(),
                v["duration"].as_f64().unwrap(),
            );
        }
    }
    let mut lhotse = BTreeMap::new();
    for f in std::fs::read_dir(root.join("lhotse")).unwrap() {
        let p = f.unwrap().path();
        if p.to_string_lossy().contains("_recordings_") {
            for l in std::fs::read_to_string(p).unwrap().lines() {
                let v: Value = serde_json::from_str(l).unwrap();
                lhotse.insert(
                    v["id"].as_str().unwrap().to_string(),
                    v["num_samples"].as_u64().unwrap(),
                );
            }
        }
    }
    for (utt, d) in &durs {
        let reader = hound::WavReader::open(root.join(format!("clips/{utt}.wav"))).unwrap();
        let spec = reader.spec();
        assert_eq!(
            (spec.channels, spec.sample_rate, spec.bits_per_sample),
            (1, 16_000, 16)
        );
        let n = reader.duration();
        let secs = f64::from(n) / 16_000.0;
        assert!(
            (secs - d).abs() <= 0.001,
            "{utt}: clip {secs} vs utt2dur {d}"
        );
        assert!((secs - nemo[utt]).abs() <= 0.001, "{utt}: nemo");
        assert_eq!(u64::from(n), lhotse[utt], "{utt}: lhotse num_samples");
        // Segment length from the id: <spk>-<rec>-<start>-<segment>.
        let parts: Vec<&str> = utt.rsplitn(3, '-').collect();
        let start: i64 = parts[1].parse().unwrap();
        let seg = segs
            .iter()
            .find(|s| {
                s.start == start
                    && texts[utt].chars().next()
                        == fangyan::corpus::clean_text(s.text).chars().next()
            })
            .unwrap();
        let want = (seg.end - seg.start) as f64;
        assert!(
            (f64::from(n) - want).abs() <= 1.0,
            "{utt}: {n} samples vs segment {want}"
        );
        // Not silence: the clip holds the recording's audio.
        let peak = hound::WavReader::open(root.join(format!("clips/{utt}.wav")))
            .unwrap()
            .into_samples::<i16>()
            .map(|s| s.unwrap().unsigned_abs())
            .max()
            .unwrap();
        assert!(peak > 100, "{utt}: silent clip");
    }

    // Round trip through fangyan's importer: TextGrid and EAF give back the same segments,
    // speakers and labels.
    for (ext, tier) in [("TextGrid", "transcript"), ("eaf", "transcript")] {
        let folder = if ext == "eaf" { "eaf" } else { "textgrid" };
        let mut found = 0;
        for s in segs
            .iter()
            .filter(|s| s.status == "approved" && !s.text.contains("[unk]"))
        {
            let rec = format!("r{:06}", s.rec);
            let bytes = std::fs::read(root.join(format!("{folder}/{rec}.{ext}"))).unwrap();
            let text = fangyan::corpus::clean_text(s.text);
            let mut hit = None;
            for t in [tier.to_string(), format!("{tier} 2")] {
                let Ok(h) = fangyan::text::asr::parse(&bytes, None, Some(&t)) else {
                    continue;
                };
                if let Some(x) = h.segments.iter().find(|x| x.text == text) {
                    hit = Some((t, x.clone()));
                }
            }
            let (t, x) = hit.unwrap_or_else(|| panic!("{ext}: {text} not found"));
            assert!(
                (x.start_s - s.start as f64 / 16_000.0).abs() <= 0.001 + 1.0 / 16_000.0,
                "{ext} {text} start {}",
                x.start_s
            );
            assert!(
                (x.end_s - s.end as f64 / 16_000.0).abs() <= 0.001 + 1.0 / 16_000.0,
                "{ext} {text} end {}",
                x.end_s
            );
            // The labels tier of the same layer has the labels at the same time.
            let labels_tier = t.replace(tier, "labels");
            let want = s
                .variety
                .map(|v| format!("mode=accented_putonghua; variety={v}"))
                .unwrap_or_default();
            if !want.is_empty() {
                let h = fangyan::text::asr::parse(&bytes, None, Some(&labels_tier)).unwrap();
                assert!(
                    h.segments
                        .iter()
                        .any(|y| y.text == want && (y.start_s - x.start_s).abs() < 1e-6),
                    "{ext}: labels {want} not on {labels_tier}: {:?}",
                    h.segments
                );
            }
            found += 1;
        }
        assert_eq!(found, 7);
    }

    // The datasheet has the table and the normaliser version.
    let sheet = read(root, "README.md");
    assert!(sheet.contains(fangyan::text::normalise::NORMALISER_VERSION));
    assert!(sheet.contains("| split | variety | gender | hours | utterances | speakers |"));
    assert!(sheet.contains("unintelligible"), "{sheet}");

    // Praat itself opens every TextGrid and counts the tiers.
    let script = dir.path().join("open.praat");
    std::fs::write(
        &script,
        "form Open\n  sentence Folder x\nendform\n\
         list = Create Strings as file list: \"l\", folder$ + \"/*.TextGrid\"\n\
         n = Get number of strings\n\
         for i to n\n  selectObject: list\n  f$ = Get string: i\n\
           tg = Read from file: folder$ + \"/\" + f$\n  k = Get number of tiers\n\
           if k < 5\n    exitScript: \"too few tiers in \" + f$\n  endif\n\
           t = Get number of intervals: 1\n  writeInfoLine: f$, \" \", k, \" \", t\n  removeObject: tg\nendfor\n\
         appendInfoLine: \"opened \", n\n",
    )
    .unwrap();
    let praat = run(Command::new("praat")
        .args(["--run", "--no-pref-files"])
        .arg(&script)
        .arg(root.join("textgrid")));
    assert!(praat.contains("opened 3"), "{praat}");

    // The Python tools (praatio, pympi-ling, webvtt-py, srt) from the repo's .venv.
    let python = Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv/bin/python");
    assert!(
        python.exists(),
        "no .venv: scripts/test creates it (python3 -m venv .venv; pip install praatio pympi-ling webvtt-py srt)"
    );
    let check = run(Command::new(&python)
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/export_check.py"))
        .arg(root));
    assert!(check.starts_with("ok "), "{check}");
    let counts: Value = serde_json::from_str(check.trim_start_matches("ok ").trim()).unwrap();
    for (k, n) in [
        ("textgrid", 3),
        ("eaf", 3),
        ("vtt", 3),
        ("srt", 3),
        ("audacity", 3),
        ("lhotse", 7),
        ("nemo", 7),
        ("hf", 7),
        ("cv", 7),
    ] {
        assert_eq!(counts[k], n, "{check}");
    }
    // Issue 19: the toolkits that train on it: lhotse validates its manifests and the Kaldi
    // directories against the audio, `datasets` loads hf/ as an audiofolder.
    let readers = |dir: &Path| {
        let out = run(Command::new(&python)
            .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/export_readers.py"))
            .arg(dir));
        assert!(
            out.trim_end()
                .lines()
                .last()
                .unwrap_or("")
                .starts_with("ok "),
            "{out}"
        );
        let last = out
            .trim_end()
            .lines()
            .last()
            .unwrap()
            .trim_start_matches("ok ")
            .to_string();
        serde_json::from_str::<Value>(&last).unwrap()
    };
    let read_by = readers(root);
    for k in ["lhotse", "kaldi", "hf"] {
        assert_eq!(read_by[k], 7, "{read_by}");
    }

    // Issue 19: each recording's audio beside the EAF (its MEDIA_DESCRIPTOR, checked with
    // pympi above), as long as the recording.
    for &rec in &recs {
        let wav = root.join(format!("audio/r{rec:06}.wav"));
        let reader = hound::WavReader::open(&wav).unwrap();
        let (samples,): (i64,) = sqlx::query_as("SELECT samples FROM recording WHERE id = $1")
            .bind(rec)
            .fetch_one(db)
            .await
            .unwrap();
        assert_eq!(i64::from(reader.duration()), samples, "{}", wav.display());
    }

    // Issue 19: the NIST pair under every marker option, the `[unk]` segment kept too, and
    // the Kaldi directories of each.
    let mut sums = vec![check_nist(root)];
    for markers in ["keep", "angle", "upper", "drop"] {
        let out = dir.path().join(format!("markers-{markers}"));
        run(
            common::on_test_database(&mut Command::new(env!("CARGO_BIN_EXE_fangyan")), dir.path())
                .args([
                    "export",
                    "--data",
                    dir.path().to_str().unwrap(),
                    "--project",
                    "柳州",
                    "--out",
                    out.to_str().unwrap(),
                    "--layouts",
                    "nist,kaldi",
                    "--keep-unintelligible",
                    "--markers",
                    markers,
                ]),
        );
        sums.push(check_nist(&out));
        let stm = read(&out, "nist/fangyan.stm");
        let want = if markers == "drop" { 0 } else { 1 };
        assert_eq!(stm.matches("(unk)").count(), want, "{markers}: {stm}");
        assert_eq!(stm.matches("(laughter)").count(), want, "{markers}: {stm}");
        for split in ["train", "dev", "test"] {
            if out.join(format!("kaldi/{split}")).exists() {
                validate_data_dir(&out, &format!("kaldi/{split}"));
            }
        }
        assert!(readers(&out)["kaldi"].as_u64() > Some(0), "{markers}");
    }
    eprintln!("sclite: {sums:?}");

    // Issue 19: speakers survive the TextGrid and EAF round trip. Read by default (every
    // transcript layer), each file gives back its recording's segments with their times,
    // texts and speaker codes.
    let code_of: BTreeMap<i64, &str> = spk
        .iter()
        .zip(["1", "10", "2", "A 7", "B"])
        .map(|(&id, code)| (id, code))
        .collect();
    for &rec in &recs {
        let mut want: Vec<(i64, i64, String, String)> = segs
            .iter()
            .filter(|s| s.rec == rec && s.status == "approved" && !s.text.contains("[unk]"))
            .map(|s| {
                let ms = |x: i64| (x * 1000 + 8000) / 16_000;
                (
                    ms(s.start),
                    ms(s.end),
                    fangyan::corpus::clean_text(s.text),
                    code_of[&s.speaker].to_string(),
                )
            })
            .collect();
        want.sort();
        for path in [
            format!("textgrid/r{rec:06}.TextGrid"),
            format!("eaf/r{rec:06}.eaf"),
        ] {
            let h =
                fangyan::text::asr::parse(&std::fs::read(root.join(&path)).unwrap(), None, None)
                    .unwrap();
            let mut got: Vec<(i64, i64, String, String)> = h
                .segments
                .iter()
                .map(|x| {
                    (
                        (x.start_s * 1000.0).round() as i64,
                        (x.end_s * 1000.0).round() as i64,
                        x.text.clone(),
                        x.speaker.clone().unwrap_or_default(),
                    )
                })
                .collect();
            got.sort();
            assert_eq!(got, want, "{path}");
        }
    }

    // Issue 19: the whole round trip through the API. Each layout imported into a new
    // project with the same recordings, then exported again, gives back the same segments:
    // times within 1 ms, texts and speaker codes.
    for (folder, ext) in [("textgrid", "TextGrid"), ("eaf", "eaf")] {
        import_and_export_again(&http, &base, &state, root, &recs, folder, ext).await;
    }
}

/// The real recordings of the export test, one per kind (16 kHz, 24 kHz float, 44.1 kHz
/// stereo FLAC).
const FIXTURES: [&str; 3] = [
    "real/zh-aishell1-BAC009S0724W0121.wav",
    "real/zh-cosyvoice-zero_shot_prompt-24k-f32.wav",
    "real/en-jfk-44k1-stereo-s24.flac",
];

/// Uploads [`FIXTURES`] into `project` through the API; returns the recording ids, in that
/// order (their ingest jobs still run: drain them).
async fn upload_fixtures(http: &reqwest::Client, base: &str, project: i64) -> Vec<i64> {
    let mut recs = Vec::new();
    for f in FIXTURES {
        let bytes = std::fs::read(common::fixture(f)).unwrap();
        let form = reqwest::multipart::Form::new().part(
            "file",
            reqwest::multipart::Part::bytes(bytes).file_name(f.rsplit('/').next().unwrap()),
        );
        let body: Value = http
            .post(format!("{base}/api/projects/{project}/recordings"))
            .multipart(form)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        recs.push(body["recording"].as_i64().unwrap());
    }
    recs
}

/// Runs an export of `project` (`definition`: filters and options) as the background job,
/// checks it ends done with the 7 utterances of the test project, downloads the `.tar.gz` and
/// unpacks it; returns the scratch folder and the export's folder in it.
async fn export_through_api(
    http: &reqwest::Client,
    base: &str,
    state: &AppState,
    project: i64,
    definition: &Value,
) -> (tempfile::TempDir, PathBuf) {
    let started: Value = http
        .post(format!("{base}/api/projects/{project}/exports"))
        .json(definition)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let export = started["export"].as_i64().unwrap();
    state.jobs.drain().await;
    let e: Value = http
        .get(format!("{base}/api/exports/{export}"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(e["status"], "done", "{e}");
    assert_eq!(e["utterances"], 7, "{e}");
    let tgz = http
        .get(format!("{base}/api/exports/{export}/download"))
        .send()
        .await
        .unwrap();
    assert_eq!(tgz.headers()["content-type"], "application/gzip");
    let bytes = tgz.bytes().await.unwrap();
    let unpacked = common::scratch();
    std::fs::write(unpacked.path().join("e.tar.gz"), &bytes).unwrap();
    run(Command::new("tar")
        .arg("xzf")
        .arg("e.tar.gz")
        .current_dir(unpacked.path()));
    let out = unpacked.path().join(format!("export-{export}"));
    (unpacked, out)
}

/// One timed segment as a TextGrid or EAF file gives it back: (start s, end s, text, speaker).
type Timed = (f64, f64, String, String);

fn timed(bytes: &[u8]) -> Vec<Timed> {
    let h = fangyan::text::asr::parse(bytes, None, None).unwrap();
    let mut out: Vec<Timed> = h
        .segments
        .into_iter()
        .map(|x| (x.start_s, x.end_s, x.text, x.speaker.unwrap_or_default()))
        .collect();
    out.sort_by(|a, b| a.partial_cmp(b).unwrap());
    out
}

/// Uploads the fixtures again into a new project (paired with `recs`, their first ids), imports `root`'s `folder/*.ext` for each
/// through `POST /api/recordings/{id}/asr` (mode `create`), exports that layout again and
/// compares it with `root`'s.
async fn import_and_export_again(
    http: &reqwest::Client,
    base: &str,
    state: &AppState,
    root: &Path,
    recs: &[i64],
    folder: &str,
    ext: &str,
) {
    let p: Value = http
        .post(format!("{base}/api/projects"))
        .json(&json!({"name": format!("往返 {ext}")}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let project = p["id"].as_i64().unwrap();
    let pairs: Vec<(i64, i64)> = recs
        .iter()
        .copied()
        .zip(upload_fixtures(http, base, project).await)
        .collect();
    state.jobs.drain().await;
    for &(old, new) in &pairs {
        let file = format!("r{old:06}.{ext}");
        let form = reqwest::multipart::Form::new()
            .part(
                "file",
                reqwest::multipart::Part::bytes(
                    std::fs::read(root.join(folder).join(&file)).unwrap(),
                )
                .file_name(file.clone()),
            )
            .text("mode", "create");
        let r = http
            .post(format!("{base}/api/recordings/{new}/asr"))
            .multipart(form)
            .send()
            .await
            .unwrap();
        assert!(
            r.status().is_success(),
            "{file}: {}",
            r.text().await.unwrap()
        );
    }
    state.jobs.drain().await;
    // Imported segments wait in the queue as `new`: export those.
    let definition = json!({"filters": {"status": ["new"]}, "options": {"layouts": [folder]}});
    let (_unpacked, again) = export_through_api(http, base, state, project, &definition).await;
    let mut compared = 0;
    for &(old, new) in &pairs {
        let first =
            timed(&std::fs::read(root.join(folder).join(format!("r{old:06}.{ext}"))).unwrap());
        let second =
            timed(&std::fs::read(again.join(folder).join(format!("r{new:06}.{ext}"))).unwrap());
        assert_eq!(
            first.len(),
            second.len(),
            "{ext} r{old}: {first:?} vs {second:?}"
        );
        for (a, b) in first.iter().zip(&second) {
            assert!(
                (a.0 - b.0).abs() <= 0.001 && (a.1 - b.1).abs() <= 0.001,
                "{ext} r{old}: times {a:?} vs {b:?}"
            );
            assert_eq!((&a.2, &a.3), (&b.2, &b.3), "{ext} r{old}: text and speaker");
            assert!(!b.3.is_empty(), "{ext} r{old}: no speaker in {b:?}");
        }
        compared += first.len();
    }
    assert_eq!(compared, 7, "{ext}");
}

/// Issue 13, item 10: an export killed mid-run left its files (71 MB seen) behind for good.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_export_killed_mid_run_leaves_no_files_after_the_next_start() {
    let dir = common::scratch();
    let exports = dir.path().join("exports");
    let state = AppState::open(
        Config::new(dir.path())
            .with_database(common::database_url_for(dir.path()))
            .with_store(common::store_url_for(dir.path())),
    )
    .await
    .unwrap();
    let project = fangyan::projects::db::create(&state.db, "p").await.unwrap();
    let mut ids = Vec::new();
    for status in ["running", "queued", "done"] {
        let (id,): (i64,) = sqlx::query_as(
            "INSERT INTO export (project_id, definition, status, progress, created_at, updated_at) \
             VALUES ($1, '{}', $2, 0.4, 1, 1) RETURNING id",
        )
        .bind(project)
        .bind(status)
        .fetch_one(&state.db)
        .await
        .unwrap();
        ids.push(id);
    }
    // What a run leaves when it is killed: clips and half the manifests; a stray folder too.
    for id in ids.iter().map(i64::to_string).chain(["999".into()]) {
        let d = exports.join(&id);
        std::fs::create_dir_all(d.join("clips")).unwrap();
        std::fs::create_dir_all(d.join("kaldi")).unwrap();
        std::fs::write(d.join("clips/utt-1.wav"), vec![0u8; 1 << 20]).unwrap();
        std::fs::write(d.join("kaldi/text"), "utt-1 半\n").unwrap();
    }
    drop(state); // the killed process: nothing ran its clean-up

    let state = AppState::open(
        Config::new(dir.path())
            .with_database(common::database_url_for(dir.path()))
            .with_store(common::store_url_for(dir.path())),
    )
    .await
    .unwrap();
    let left: BTreeSet<String> = std::fs::read_dir(&exports)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        left,
        BTreeSet::from([ids[2].to_string()]),
        "only the finished export keeps its files"
    );
    assert!(
        exports
            .join(ids[2].to_string())
            .join("clips/utt-1.wav")
            .is_file()
    );
    for &id in &ids[..2] {
        let row = sqlx::query("SELECT status, error_message FROM export WHERE id = $1")
            .bind(id)
            .fetch_one(&state.db)
            .await
            .unwrap();
        assert_eq!(row.get::<String, _>("status"), "failed");
        assert!(
            row.get::<String, _>("error_message")
                .contains("start it again"),
            "the export says it can be restarted"
        );
    }
}

/// Issue 19, item 8: an export that matched no segment wrote only `clips/` and a README and
/// printed `"seconds": -0.0`. It now says why (the segments by status) and fails: the CLI
/// exits non-zero, the API job is `failed` with the reason, and nothing is written.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_export_that_matches_nothing_says_why_and_fails() {
    let dir = common::scratch();
    let app =
        common::app::TestApp::spawn_at(dir.path(), common::database_url_for(dir.path())).await;
    let (project, admin, _, _) = app.project("nothing").await;
    // The VAD's segments of a real recording: all `new`, none approved.
    common::app::ready_recording(&app, &admin, project).await;
    let (n,): (i64,) = sqlx::query_as(
        "SELECT COUNT(*) FROM segment s JOIN recording r ON r.id = s.recording_id \
         WHERE r.project_id = $1 AND s.status = 'new' AND s.deleted = 0",
    )
    .bind(project)
    .fetch_one(&app.state.db)
    .await
    .unwrap();
    assert!(n > 0, "the VAD made segments");

    let out = dir.path().join("cli-out");
    let run =
        common::on_test_database(&mut Command::new(env!("CARGO_BIN_EXE_fangyan")), dir.path())
            .args([
                "export",
                "--data",
                dir.path().to_str().unwrap(),
                "--project",
                "nothing",
                "--out",
                out.to_str().unwrap(),
            ])
            .output()
            .unwrap();
    let stdout = String::from_utf8_lossy(&run.stdout);
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(!run.status.success(), "{stdout}\n{stderr}");
    assert!(!stdout.contains("-0.0"), "{stdout}");
    let why = format!("status approved; segments by status: new {n}; 0 passed the filters");
    assert!(stderr.contains(&why), "{stderr}");
    assert!(!out.join("README.md").exists() && !out.join("clips").exists());

    let (s, started) = admin
        .post(
            &format!("/api/projects/{project}/exports"),
            json!({"options": {}}),
        )
        .await;
    assert!(s.is_success(), "{started}");
    app.state.jobs.drain().await;
    let (_, e) = admin
        .get(&format!("/api/exports/{}", started["export"]))
        .await;
    assert_eq!(e["status"], "failed", "{e}");
    assert!(e["error"].as_str().unwrap().contains(&why), "{e}");
}

/// An export job as a dead (or another) server leaves it: the export running, its job leased
/// to `owner` until `until`, started `attempts` times.
async fn orphan_export(
    app: &common::app::TestApp,
    project: i64,
    definition: &Value,
    owner: &str,
    until: i64,
    attempts: i64,
) -> (i64, i64) {
    let (id,): (i64,) = sqlx::query_as(
        "INSERT INTO export (project_id, definition, status, progress, created_at, updated_at) \
         VALUES ($1, $2, 'running', 0.4, 1, 1) RETURNING id",
    )
    .bind(project)
    .bind(definition.to_string())
    .fetch_one(&app.state.db)
    .await
    .unwrap();
    let (job,): (i64,) = sqlx::query_as(
        "INSERT INTO job (kind, export_id, status, created_at, updated_at, lease_owner, lease_until, attempts) \
         VALUES ('export', $1, 'running', 1, 1, $2, $3, $4) RETURNING id",
    )
    .bind(id)
    .bind(owner)
    .bind(until)
    .bind(attempts)
    .fetch_one(&app.state.db)
    .await
    .unwrap();
    (id, job)
}

/// Issue 15: an export was a task in the memory of the server that received it, its files on
/// that server's disk: another replica could neither serve its download nor finish it when
/// that server died. Now it is a leased job, and the archive lives in the store.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_export_is_a_leased_job_whose_archive_is_in_the_store() {
    let app = common::app::TestApp::spawn().await;
    let (project, admin, _, _) = app.project("leased").await;
    common::app::ready_recording(&app, &admin, project).await;
    // The VAD's segments, with a text each (an empty one is not exported).
    sqlx::query("UPDATE segment SET text_verbatim = '今天天气很好' || id")
        .execute(&app.state.db)
        .await
        .unwrap();
    let definition =
        json!({"filters": {"status": ["new"]}, "options": {"layouts": ["kaldi", "textgrid"]}});
    let download = |id: i64, range: Option<&'static str>| {
        let (http, base) = (admin.http.clone(), admin.base.clone());
        async move {
            let mut r = http.get(format!("{base}/api/exports/{id}/download"));
            if let Some(range) = range {
                r = r.header("range", range);
            }
            let r = r.send().await.unwrap();
            (r.status(), r.bytes().await.unwrap())
        }
    };

    // Undisturbed: the job runs on this server, the archive goes to the store, and the scratch
    // folder is gone.
    let (s, started) = admin
        .post(
            &format!("/api/projects/{project}/exports"),
            definition.clone(),
        )
        .await;
    assert!(s.is_success(), "{started}");
    let first = started["export"].as_i64().unwrap();
    let (kind, attempts): (String, i64) =
        sqlx::query_as("SELECT kind, attempts FROM job WHERE export_id = $1")
            .bind(first)
            .fetch_one(&app.state.db)
            .await
            .unwrap();
    assert_eq!((kind.as_str(), attempts), ("export", 1));
    app.state.jobs.drain().await;
    let (_, e) = admin.get(&format!("/api/exports/{first}")).await;
    assert_eq!(e["status"], "done", "{e}");
    let (status,): (String,) = sqlx::query_as("SELECT status FROM job WHERE export_id = $1")
        .bind(first)
        .fetch_one(&app.state.db)
        .await
        .unwrap();
    assert_eq!(status, "done");
    let key = fangyan::exports::archive_key(first);
    assert!(app.state.store.exists(&key).await.unwrap(), "{key}");
    let scratch = app.state.config.data_dir.join("exports");
    assert!(!scratch.join(first.to_string()).exists());
    let (s, whole) = download(first, None).await;
    assert_eq!(s, reqwest::StatusCode::OK);
    let reference = common::archive_files(&whole);
    assert!(
        reference.contains_key("SHA256SUMS"),
        "{:?}",
        reference.keys()
    );
    // A long download resumes: ranges of the stored archive.
    let (s, part) = download(first, Some("bytes=100-199")).await;
    assert_eq!(s, reqwest::StatusCode::PARTIAL_CONTENT);
    assert_eq!(&part[..], &whole[100..200]);

    // Its server died mid-run (the lease ran out): the takeover loop runs it again here, from
    // the start, to the same files.
    let (second, job) = orphan_export(&app, project, &definition, "dead:1:x", 1, 1).await;
    assert_eq!(fangyan::recordings::take_over(&app.state).await.unwrap(), 1);
    app.state.jobs.drain().await;
    let (_, e) = admin.get(&format!("/api/exports/{second}")).await;
    assert_eq!(e["status"], "done", "{e}");
    let (owner, attempts): (String, i64) =
        sqlx::query_as("SELECT lease_owner, attempts FROM job WHERE id = $1")
            .bind(job)
            .fetch_one(&app.state.db)
            .await
            .unwrap();
    assert_eq!((owner.as_str(), attempts), (app.state.jobs.owner(), 2));
    let (_, again) = download(second, None).await;
    assert_eq!(common::archive_files(&again), reference);

    // A server that lost its lease (another holds it now) writes nothing that counts: the
    // export stays with the holder.
    let far = fangyan::db::now_ms() + 3_600_000;
    let (third, job) = orphan_export(&app, project, &definition, "alive:2:y", far, 1).await;
    fangyan::exports::run_job(app.state.clone(), job, third).await;
    let (status,): (String,) = sqlx::query_as("SELECT status FROM export WHERE id = $1")
        .bind(third)
        .fetch_one(&app.state.db)
        .await
        .unwrap();
    assert_eq!(
        status, "running",
        "a run without the lease finished the export"
    );
    let (status, owner): (String, String) =
        sqlx::query_as("SELECT status, lease_owner FROM job WHERE id = $1")
            .bind(job)
            .fetch_one(&app.state.db)
            .await
            .unwrap();
    assert_eq!((status.as_str(), owner.as_str()), ("running", "alive:2:y"));
    assert!(!scratch.join(third.to_string()).exists());
    // Progress is fenced the same way: only the holder moves its job's progress.
    let progress = |job: i64| {
        let db = app.state.db.clone();
        async move {
            sqlx::query_as::<_, (f64,)>("SELECT progress FROM job WHERE id = $1")
                .bind(job)
                .fetch_one(&db)
                .await
                .unwrap()
                .0
        }
    };
    let before = progress(job).await;
    fangyan::jobs::set_progress(&app.state.db, job, app.state.jobs.owner(), 0.9)
        .await
        .unwrap();
    assert_eq!(
        progress(job).await,
        before,
        "a runner without the lease moved the progress"
    );
    fangyan::jobs::set_progress(&app.state.db, job, "alive:2:y", 0.9)
        .await
        .unwrap();
    assert_eq!(progress(job).await, 0.9);

    // One that keeps losing its runner ends failed, with a reason.
    let (fourth, _) = orphan_export(
        &app,
        project,
        &definition,
        "dead:3:z",
        1,
        fangyan::jobs::lease::MAX_ATTEMPTS,
    )
    .await;
    assert_eq!(fangyan::recordings::take_over(&app.state).await.unwrap(), 1);
    app.state.jobs.drain().await;
    let (_, e) = admin.get(&format!("/api/exports/{fourth}")).await;
    assert_eq!(e["status"], "failed", "{e}");
    assert!(
        e["error"].as_str().unwrap().contains("start it again"),
        "{e}"
    );
    let (s, body) = admin.get(&format!("/api/exports/{fourth}/download")).await;
    assert_eq!(s, reqwest::StatusCode::CONFLICT, "{body}");
    assert_eq!(body["error"]["code"], "export_not_done");
}
