//! Speaker metadata (PATCH, CSV import) and feature statistics (counts, ASR error rate inside
//! tagged spans against outside, span-overlap agreement) against hand-worked numbers.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use common::app::{Client, TestApp};
use reqwest::StatusCode;
use reqwest::multipart::{Form, Part};
use serde_json::{Value, json};

async fn silent_recording(app: &TestApp, admin: &Client, project: i64) -> i64 {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.wav");
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: 16_000,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut w = hound::WavWriter::create(&path, spec).unwrap();
    for _ in 0..10 * 16_000 {
        w.write_sample(0i16).unwrap();
    }
    w.finalize().unwrap();
    let (s, body) = admin.upload(project, &path).await;
    assert_eq!(s, StatusCode::ACCEPTED);
    app.state.jobs.drain().await;
    body["recording"].as_i64().unwrap()
}

async fn csv_post(client: &Client, path: &str, body: &str) -> (StatusCode, Value) {
    let r = client
        .http
        .post(format!("{}{path}", client.base))
        .header("content-type", "text/csv")
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    let s = r.status();
    (s, r.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn speaker_metadata_is_edited_and_bulk_imported_from_csv() {
    let app = TestApp::spawn().await;
    let (project, admin, transcriber, _) = app.project("spk").await;
    let csv = "code,gender,age_band,birthplace_province,birthplace_city,self_reported_accent,native_variety\n\
               S01,female,30-39,广西,南宁,\"桂柳话, 有点\",cmn-southwestern\n\
               S02,male,20-29,四川,成都,川普,cmn-southwestern\n";
    let (s, body) = csv_post(
        &admin,
        &format!("/api/projects/{project}/speakers/import"),
        csv,
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(
        (body["created"].as_i64(), body["updated"].as_i64()),
        (Some(2), Some(0))
    );
    // Again with a change: rows upsert by code.
    let (_, body) = csv_post(
        &admin,
        &format!("/api/projects/{project}/speakers/import"),
        "code,age_band\nS02,40-49\n",
    )
    .await;
    assert_eq!(
        (body["created"].as_i64(), body["updated"].as_i64()),
        (Some(0), Some(1))
    );
    let (_, list) = transcriber
        .get(&format!("/api/projects/{project}/speakers"))
        .await;
    let s1 = &list["speakers"][0];
    assert_eq!(s1["code"], "S01");
    assert_eq!(s1["self_reported_accent"], "桂柳话, 有点");
    assert_eq!(s1["birthplace"], "广西 南宁");
    assert_eq!(list["speakers"][1]["age_band"], "40-49");
    assert_eq!(
        list["speakers"][1]["gender"], "male",
        "columns not in the file stay"
    );

    // A transcriber edits one speaker; "" clears.
    let id = s1["id"].as_i64().unwrap();
    let (s, one) = transcriber
        .patch(
            &format!("/api/speakers/{id}"),
            json!({ "birthplace_city": "柳州", "age_band": "" }),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{one}");
    assert_eq!(one["birthplace"], "广西 柳州");
    assert_eq!(one["age_band"], Value::Null);
    let (s, body) = transcriber
        .patch(&format!("/api/speakers/{id}"), json!({ "colour": "red" }))
        .await;
    assert!(s.is_client_error(), "{body}");

    // Bad CSV names its line and writes nothing; only admins import.
    let (s, body) = csv_post(
        &admin,
        &format!("/api/projects/{project}/speakers/import"),
        "code,gender\nS03,f\nS04\n",
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"]["code"], "invalid_csv");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("line 3"),
        "{body}"
    );
    let (_, list) = admin
        .get(&format!("/api/projects/{project}/speakers"))
        .await;
    assert_eq!(list["speakers"].as_array().unwrap().len(), 2);
    let (s, _) = csv_post(
        &transcriber,
        &format!("/api/projects/{project}/speakers/import"),
        "code\nS9\n",
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn feature_statistics_match_hand_counts() {
    let app = TestApp::spawn().await;
    let (project, admin, _, reviewer) = app.project("stats").await;
    let rec = silent_recording(&app, &admin, project).await;
    let srt = "1\n00:00:01,000 --> 00:00:03,000\n这四我，好啊\n\n2\n00:00:04,000 --> 00:00:05,000\n你好\n";
    let form = Form::new()
        .part(
            "file",
            Part::bytes(srt.as_bytes().to_vec()).file_name("s.srt"),
        )
        .text("model", "m");
    let (s, body) = admin
        .post_form(&format!("/api/recordings/{rec}/asr"), form)
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let (_, segs) = admin.get(&format!("/api/recordings/{rec}/segments")).await;
    let ids: Vec<i64> = segs["segments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_i64().unwrap())
        .collect();
    let (s1, s2) = (ids[0], ids[1]);
    let (_, body) = csv_post(
        &admin,
        &format!("/api/projects/{project}/speakers/import"),
        "code,native_variety\nS01,cmn-southwestern\n",
    )
    .await;
    assert_eq!(body["created"], 1);
    for (id, text) in [(s1, "这是我的，好"), (s2, "你好")] {
        sqlx::query("UPDATE segment SET text_verbatim = $1, status = 'submitted', speaker_id = (SELECT id FROM speaker WHERE code = 'S01') WHERE id = $2")
            .bind(text)
            .bind(id)
            .execute(&app.state.db)
            .await
            .unwrap();
    }
    // 是 (character 1) carries the retroflex feature; the ASR heard 四.
    let span = |start: i64, feature: &str, pass: i64| json!({ "char_start": start, "char_end": start + 1, "feature": feature, "realised": "si4", "pass": pass });
    let (s, body) = admin
        .post(
            &format!("/api/segments/{s1}/spans"),
            span(1, "INIT_RETRO_TO_DENTAL", 1),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");

    let (s, st) = reviewer
        .get(&format!("/api/projects/{project}/features/stats"))
        .await;
    assert_eq!(s, StatusCode::OK, "{st}");
    assert_eq!(
        st["counts"],
        json!([{ "feature": "INIT_RETRO_TO_DENTAL", "variety": "cmn-southwestern", "speaker": "S01", "spans": 1 }])
    );
    // Inside: 是 → 四, 1 error in 1 character. Outside: 这 我 的 好 你 好 = 6 characters with
    // 的 deleted and 啊 inserted after 好: 2 errors (the comma takes no part).
    let asr = &st["asr"][0];
    assert_eq!(
        (asr["chars"].as_u64(), asr["errors"].as_u64()),
        (Some(1), Some(1))
    );
    assert_eq!(asr["cer"], 1.0);
    assert_eq!(
        (
            st["outside"]["chars"].as_u64(),
            st["outside"]["errors"].as_u64()
        ),
        (Some(6), Some(2))
    );
    assert!((asr["ratio"].as_f64().unwrap() - 3.0).abs() < 1e-12);

    // Agreement: a second annotator tags 是 the same and 的 with another feature.
    sqlx::query(
        "INSERT INTO second_pass (segment_id, assignee_id, text, status, updated_at) \
         SELECT $1, id, '这是我的，好', 'submitted', 0 FROM app_user WHERE name = 'stats-reviewer'",
    )
    .bind(s1)
    .execute(&app.state.db)
    .await
    .unwrap();
    for (start, feature) in [(1, "INIT_RETRO_TO_DENTAL"), (3, "INIT_N_L_MERGER")] {
        let (s, body) = admin
            .post(
                &format!("/api/segments/{s1}/spans"),
                span(start, feature, 2),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{body}");
    }
    let (_, st) = reviewer
        .get(&format!("/api/projects/{project}/features/stats"))
        .await;
    let by: std::collections::BTreeMap<&str, &Value> = st["agreement"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| (a["feature"].as_str().unwrap(), a))
        .collect();
    assert_eq!(by["INIT_RETRO_TO_DENTAL"]["f1"], 1.0);
    assert_eq!(by["INIT_N_L_MERGER"]["f1"], 0.0);
    assert_eq!(by["INIT_N_L_MERGER"]["second"], 1);
    assert_eq!(
        st["counts"].as_array().unwrap().len(),
        1,
        "second-pass spans are not counted as tags"
    );

    let (s, ctype, csv) = reviewer
        .get_text(&format!(
            "/api/projects/{project}/features/stats?format=csv&table=asr"
        ))
        .await;
    assert_eq!(s, StatusCode::OK);
    assert!(ctype.starts_with("text/csv"));
    assert!(
        csv.starts_with(
            "\u{FEFF}feature,spans,chars,errors,cer,outside_cer,ratio\nINIT_RETRO_TO_DENTAL,1,1,1,1.0,"
        ),
        "{csv}"
    );
}
