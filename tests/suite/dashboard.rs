//! The dashboard's tables against numbers worked out by hand: CER by model × dialect, worst
//! segments, progress, throughput, agreement (CER and Cohen's kappa), and CSV that says the
//! same as JSON. Segments arrive through the ASR import API; the people's side (final text,
//! status, tags, second passes, save times) is written to the real database directly.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use common::app::{Client, TestApp};
use reqwest::StatusCode;
use reqwest::multipart::{Form, Part};

async fn silent_recording(app: &TestApp, admin: &Client, project: i64, name: &str) -> i64 {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(name);
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: 16_000,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut w = hound::WavWriter::create(&path, spec).unwrap();
    for _ in 0..20 * 16_000 {
        w.write_sample(0i16).unwrap();
    }
    w.finalize().unwrap();
    let (s, body) = admin.upload(project, &path).await;
    assert_eq!(s, StatusCode::ACCEPTED);
    app.state.jobs.drain().await;
    body["recording"].as_i64().unwrap()
}

async fn import(admin: &Client, recording: i64, model: &str, cues: &[&str]) -> Vec<i64> {
    let srt: String = cues
        .iter()
        .enumerate()
        .map(|(i, text)| {
            format!(
                "{}\n00:00:{:02},000 --> 00:00:{:02},500\n{text}\n\n",
                i + 1,
                2 * i,
                2 * i + 1
            )
        })
        .collect();
    let form = Form::new()
        .part("file", Part::bytes(srt.into_bytes()).file_name("asr.srt"))
        .text("model", model.to_string());
    let (s, body) = admin
        .post_form(&format!("/api/recordings/{recording}/asr"), form)
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let (_, segs) = admin
        .get(&format!("/api/recordings/{recording}/segments"))
        .await;
    segs["segments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_i64().unwrap())
        .collect()
}

async fn sql(app: &TestApp, query: &str, binds: &[&str]) {
    let mut q = sqlx::query(query);
    // Ids are written as text here; the column types decide how they are bound (Postgres does
    // not compare a BIGINT with TEXT).
    for b in binds {
        q = match b.parse::<i64>() {
            Ok(n) => q.bind(n),
            Err(_) => q.bind(*b),
        };
    }
    q.execute(&app.state.db).await.unwrap();
}

fn parse_csv(text: &str) -> Vec<Vec<String>> {
    // The tables hold no quotes or commas except in text columns, which these checks skip.
    // A download starts with a UTF-8 BOM, for Excel (issue 19).
    let text = text
        .strip_prefix('\u{FEFF}')
        .unwrap_or_else(|| panic!("no BOM: {text:?}"));
    text.lines()
        .map(|l| l.split(',').map(String::from).collect())
        .collect()
}

#[tokio::test]
async fn the_dashboard_tables_match_hand_counts() {
    let app = TestApp::spawn().await;
    let (project, admin, transcriber, reviewer) = app.project("dash").await;
    let rec_a = silent_recording(&app, &admin, project, "a.wav").await;
    let rec_b = silent_recording(&app, &admin, project, "b.wav").await;
    let a = import(&admin, rec_a, "m-a", &["今天天汽很好", "四个人", "你好"]).await;
    let b = import(&admin, rec_b, "m-b", &["我们去公园", "没有说完"]).await;
    // Final texts, statuses and dialect labels, as transcribers and reviewers left them.
    let finals = [
        (a[0], "今天天气很好", "submitted", "mandarin.southwestern"),
        (a[1], "是个人", "submitted", "mandarin.southwestern"),
        (a[2], "你好", "submitted", "yue"),
        (b[0], "我们去公园吧", "approved", "yue"),
    ];
    for (id, text, status, variety) in finals {
        let id = id.to_string();
        sql(
            &app,
            "UPDATE segment SET text_verbatim = $1, status = $2 WHERE id = $3",
            &[text, status, &id],
        )
        .await;
        sql(
            &app,
            "INSERT INTO segment_tag (segment_id, field, value, created_at) VALUES ($1, 'variety', $2, 0)",
            &[&id, variety],
        )
        .await;
    }
    // b[1] stays `new`: not scored.

    // CER by model × dialect: (m-a, southwestern) 2 errors / 9; (m-a, yue) 0 / 2; (m-b, yue) 1 / 6.
    let (s, m) = reviewer
        .get(&format!(
            "/api/projects/{project}/metrics?by=model,dialect&sort=key"
        ))
        .await;
    assert_eq!(s, StatusCode::OK, "{m}");
    let rows: Vec<(String, String, u64, u64, u64)> = m["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["model"].as_str().unwrap().to_string(),
                r["dialect"].as_str().unwrap().to_string(),
                r["segments"].as_u64().unwrap(),
                r["errors"].as_u64().unwrap(),
                r["n"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        rows,
        [
            ("m-a".into(), "mandarin.southwestern".into(), 2, 2, 9),
            ("m-a".into(), "yue".into(), 1, 0, 2),
            ("m-b".into(), "yue".into(), 1, 1, 6),
        ]
    );
    assert_eq!(
        (m["total"]["errors"].as_u64(), m["total"]["n"].as_u64()),
        (Some(3), Some(17))
    );
    assert_eq!(m["total"]["s"], 2);
    assert_eq!(m["total"]["d"], 1);
    assert!((m["rows"][0]["cer"].as_f64().unwrap() - 2.0 / 9.0).abs() < 1e-12);

    // The CSV says the same.
    let (s, ctype, csv) = reviewer
        .get_text(&format!(
            "/api/projects/{project}/metrics?by=model,dialect&sort=key&format=csv"
        ))
        .await;
    assert_eq!(s, StatusCode::OK);
    assert!(ctype.starts_with("text/csv"), "{ctype}");
    let table = parse_csv(&csv);
    assert_eq!(&table[0][..3], ["model", "dialect", "segments"]);
    let cer_col = table[0].iter().position(|c| c == "cer").unwrap();
    for (row, json) in table[1..].iter().zip(m["rows"].as_array().unwrap()) {
        assert_eq!(
            row[cer_col].parse::<f64>().unwrap(),
            json["cer"].as_f64().unwrap()
        );
    }

    // Worst segments first, with what is needed to open them.
    let (_, worst) = reviewer
        .get(&format!(
            "/api/projects/{project}/metrics?by=segment&limit=2"
        ))
        .await;
    let worst = worst["rows"].as_array().unwrap();
    assert_eq!(worst.len(), 2);
    assert_eq!(worst[0]["segment"], a[1].to_string());
    assert_eq!(worst[0]["recording_id"], rec_a);
    assert_eq!(worst[0]["hypothesis"], "四个人");
    assert!((worst[0]["cer"].as_f64().unwrap() - 1.0 / 3.0).abs() < 1e-12);

    // Progress: segments by status and hours.
    let (_, p) = transcriber
        .get(&format!("/api/projects/{project}/progress"))
        .await;
    let count = |status: &str| {
        p["statuses"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["status"] == status)
            .unwrap()["segments"]
            .as_i64()
            .unwrap()
    };
    assert_eq!(
        (count("new"), count("submitted"), count("approved")),
        (1, 3, 1)
    );
    assert!((p["recording_hours"].as_f64().unwrap() - 40.0 / 3600.0).abs() < 1e-9);
    assert!((p["segment_hours"].as_f64().unwrap() - 5.0 * 1.5 / 3600.0).abs() < 1e-9);

    // Throughput: two submissions of 1.5 s each, saved 2 minutes apart: 3 minutes active.
    let tx = sqlx::query("SELECT id FROM app_user WHERE name = 'dash-transcriber'")
        .fetch_one(&app.state.db)
        .await
        .unwrap();
    let tx_id: i64 = sqlx::Row::get(&tx, 0);
    for (seg, at) in [(a[0], 1_000_000_i64), (a[1], 1_120_000)] {
        sqlx::query(
            "INSERT INTO segment_revision (segment_id, version, author_id, created_at, text_verbatim, text_display, \
             text_norm, start_sample, end_sample, status) VALUES ($1, 50, $2, $3, '', '', '', 0, 1, 'submitted')",
        )
        .bind(seg)
        .bind(tx_id)
        .bind(at)
        .execute(&app.state.db)
        .await
        .unwrap();
    }
    let (_, t) = admin
        .get(&format!("/api/projects/{project}/throughput"))
        .await;
    let me = t["people"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["user"] == "dash-transcriber")
        .unwrap()
        .clone();
    assert_eq!(me["segments"], 2);
    assert!(
        (me["audio_minutes"].as_f64().unwrap() - 3.0 / 60.0).abs() < 1e-9,
        "{me}"
    );
    assert!(
        (me["active_hours"].as_f64().unwrap() - 3.0 / 60.0).abs() < 1e-9,
        "{me}"
    );
    assert!(
        (me["minutes_per_hour"].as_f64().unwrap() - 1.0).abs() < 1e-9,
        "{me}"
    );

    // Agreement: two double-annotated segments; kappa of speech mode = (0.5 - 0.25) / 0.75.
    for (seg, first_mode, second_text, second_mode) in [
        (a[0], "dialect", "今天天气很好", "dialect"),
        (a[2], "putonghua", "你", "accented_putonghua"),
    ] {
        let seg = seg.to_string();
        let txs = tx_id.to_string();
        sql(
            &app,
            "UPDATE segment SET assignee_id = $1 WHERE id = $2",
            &[&txs, &seg],
        )
        .await;
        sql(
            &app,
            "INSERT INTO second_pass (segment_id, assignee_id, text, status, updated_at) \
             SELECT $1, id, $2, 'submitted', 0 FROM app_user WHERE name = 'dash-reviewer'",
            &[&seg, second_text],
        )
        .await;
        sql(
            &app,
            "INSERT INTO segment_tag (segment_id, field, value, created_at) VALUES ($1, 'speech_mode', $2, 0)",
            &[&seg, first_mode],
        )
        .await;
        sql(
            &app,
            "INSERT INTO second_pass_tag (segment_id, field, value) VALUES ($1, 'speech_mode', $2)",
            &[&seg, second_mode],
        )
        .await;
    }
    let (s, ag) = admin
        .get(&format!("/api/projects/{project}/agreement/summary"))
        .await;
    assert_eq!(s, StatusCode::OK, "{ag}");
    assert_eq!(ag["segments"], 2);
    let kappa = ag["kappa"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["field"] == "speech_mode")
        .unwrap()
        .clone();
    assert_eq!(kappa["segments"], 2);
    assert!(
        (kappa["kappa"].as_f64().unwrap() - 1.0 / 3.0).abs() < 1e-12,
        "{kappa}"
    );
    let people: Vec<&str> = ag["annotators"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["user"].as_str().unwrap())
        .collect();
    assert_eq!(people, ["dash-reviewer", "dash-transcriber"]);
    // One character differs out of 8 + 7 characters compared (edits over the mean length).
    assert_eq!(ag["annotators"][0]["errors"], 1);

    // Bad groupings are refused; transcribers do not see the scores.
    let (s, body) = admin
        .get(&format!("/api/projects/{project}/metrics?by=colour"))
        .await;
    assert_eq!(
        (s, body["error"]["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_dimension"))
    );
    let (s, _) = transcriber
        .get(&format!("/api/projects/{project}/metrics"))
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
}

/// The editor's live CER (issue 17, point 5) comes from the server's preview, which scores the
/// typed text with the project's normaliser: it equals the dashboard's CER for the same text,
/// under the default normaliser and under a project's own.
#[tokio::test]
async fn the_editor_preview_cer_equals_the_dashboard_cer_under_the_project_normaliser() {
    let app = TestApp::spawn().await;
    let (project, admin, transcriber, reviewer) = app.project("preview").await;
    let rec = silent_recording(&app, &admin, project, "p.wav").await;
    let seg = import(&admin, rec, "m", &["今天天汽很好"]).await[0];
    let typed = "今天天气很好，";
    let preview = |body: serde_json::Value| {
        let t = &transcriber;
        async move { t.post(&format!("/api/segments/{seg}/preview"), body).await }
    };
    let (s, p) = preview(serde_json::json!({ "text_verbatim": typed })).await;
    assert_eq!(s, StatusCode::OK, "{p}");
    // The default normaliser drops the comma: 1 error in 6 characters.
    assert_eq!(p["normalised"], "今天天气很好");
    assert_eq!(p["hypothesis_normalised"], "今天天汽很好");
    assert_eq!(
        (p["errors"].as_u64(), p["reference_chars"].as_u64()),
        (Some(1), Some(6))
    );
    sql(
        &app,
        "UPDATE segment SET text_verbatim = $1, status = 'submitted' WHERE id = $2",
        &[typed, &seg.to_string()],
    )
    .await;
    let dashboard = || async {
        let (s, m) = reviewer
            .get(&format!("/api/projects/{project}/metrics?by=segment"))
            .await;
        assert_eq!(s, StatusCode::OK, "{m}");
        m["rows"][0]["cer"].as_f64().unwrap()
    };
    assert_eq!(p["cer"].as_f64().unwrap(), dashboard().await);
    assert!((p["cer"].as_f64().unwrap() - 1.0 / 6.0).abs() < 1e-12);

    // A project where punctuation counts: the comma is a deletion now, on both.
    let (s, body) = admin
        .patch(
            &format!("/api/projects/{project}"),
            serde_json::json!({ "conventions": { "normalise": { "punct": false } } }),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let (s, p) = preview(serde_json::json!({ "text_verbatim": typed })).await;
    assert_eq!(s, StatusCode::OK, "{p}");
    // NFKC still turns the full-width comma into ASCII.
    assert_eq!(p["normalised"], "今天天气很好,");
    assert_eq!(
        (p["errors"].as_u64(), p["reference_chars"].as_u64()),
        (Some(2), Some(7))
    );
    assert_eq!(p["cer"].as_f64().unwrap(), dashboard().await);

    // Hostile input: a control character, a text too long to align, an unknown field, a
    // segment of a project the caller is not in.
    let (s, e) = preview(serde_json::json!({ "text_verbatim": "a\u{7}b" })).await;
    assert_eq!(
        (s, e["error"]["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("control_character"))
    );
    let long = "好".repeat(5_000);
    let (s, e) = preview(serde_json::json!({ "text_verbatim": long })).await;
    assert_eq!(
        (s, e["error"]["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("text_too_long_to_score"))
    );
    let (s, _) = preview(serde_json::json!({ "text_verbatim": "x", "text_norm": "y" })).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    app.user("stranger").await;
    let stranger = app.login("stranger").await;
    let (s, _) = stranger
        .post(
            &format!("/api/segments/{seg}/preview"),
            serde_json::json!({ "text_verbatim": "x" }),
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}
