//! Issue 7 acceptance: the tag schema (CRUD, renames migrate tags, removals in use are refused
//! or archived), span tags (pre-filled expected pinyin, re-anchoring after text edits) and
//! table-driven suggestions from DIALECT.md, against the real app on 127.0.0.1:0.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use reqwest::StatusCode;
use serde_json::{Value, json};

use common::app::{Client, TestApp, ready_recording};

async fn segment_with(app: &TestApp, text: &str) -> (i64, i64, Client, Client) {
    let (project, admin, t, _) = app.project("p").await;
    let rec = ready_recording(app, &admin, project).await;
    let (_, segs) = t.get(&format!("/api/recordings/{rec}/segments")).await;
    let seg = segs["segments"][0]["id"].as_i64().unwrap();
    let (s, body) = t
        .put(
            &format!("/api/segments/{seg}"),
            json!({ "version": 1, "save_id": "init", "text_verbatim": text }),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    (project, seg, admin, t)
}

async fn save_text(t: &Client, seg: i64, text: &str, id: &str) {
    let (_, cur) = t.get(&format!("/api/segments/{seg}")).await;
    let (s, body) = t
        .put(
            &format!("/api/segments/{seg}"),
            json!({ "version": cur["version"], "save_id": id, "text_verbatim": text }),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
}

#[tokio::test]
async fn schema_defaults_renames_migrate_and_removals_in_use_are_refused_or_archived() {
    let app = TestApp::spawn().await;
    let (project, seg, admin, t) = segment_with(&app, "我是广西人").await;
    let path = format!("/api/projects/{project}/tag-schema");
    // a new project reads the bilingual default
    let (s, schema) = t.get(&path).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(schema["features"].as_array().unwrap().len(), 28);
    let variety = schema["segment_fields"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["id"] == "variety")
        .unwrap();
    assert!(
        variety["values"]
            .as_array()
            .unwrap()
            .iter()
            .any(|v| v["id"] == "cmn-southwestern"
                && v["kespeech"] == "Southwestern"
                && v["label_zh"] == "西南官话")
    );
    // only admins edit
    let (s, _) = t.put(&path, schema.clone()).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    // invalid documents are 400 with a stable code
    let mut dup = schema.clone();
    dup["features"][1]["code"] = dup["features"][0]["code"].clone();
    let (s, body) = admin.put(&path, dup).await;
    assert_eq!(
        (s, body["error"]["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("duplicate_id"))
    );
    let (s, body) = admin
        .put(&path, json!({ "version": 1, "features": "no" }))
        .await;
    assert_eq!(
        (s, body["error"]["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_schema"))
    );

    // tags in use: mode=accented_putonghua on the segment, a span with INIT_RETRO_TO_DENTAL
    let (s, body) = t
        .put(
            &format!("/api/segments/{seg}/tags"),
            json!({ "tags": { "mode": "accented_putonghua", "noise": ["music", "traffic"], "variety": "cmn-southwestern" } }),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let (s, body) = t
        .put(
            &format!("/api/segments/{seg}/tags"),
            json!({ "tags": { "mode": ["dialect", "putonghua"] } }),
        )
        .await;
    assert_eq!(
        (s, body["error"]["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("not_multi"))
    );
    let (s, body) = t
        .put(
            &format!("/api/segments/{seg}/tags"),
            json!({ "tags": { "mode": "klingon" } }),
        )
        .await;
    assert_eq!(
        (s, body["error"]["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("unknown_value"))
    );
    let (s, span) = t
        .post(
            &format!("/api/segments/{seg}/spans"),
            json!({ "char_start": 1, "char_end": 2, "feature": "INIT_RETRO_TO_DENTAL", "realised": "si4" }),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{span}");

    // removing a value in use is refused with 409 tag_in_use, and nothing changes
    let mut removed = schema.clone();
    let modes = removed["segment_fields"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .find(|f| f["id"] == "mode")
        .unwrap();
    modes["values"]
        .as_array_mut()
        .unwrap()
        .retain(|v| v["id"] != "accented_putonghua");
    let (s, body) = admin.put(&path, removed).await;
    assert_eq!(
        (s, body["error"]["code"].as_str()),
        (StatusCode::CONFLICT, Some("tag_in_use")),
        "{body}"
    );
    let mut removed = schema.clone();
    removed["features"].as_array_mut().unwrap().remove(0);
    let (s, body) = admin.put(&path, removed).await;
    assert_eq!(
        (s, body["error"]["code"].as_str()),
        (StatusCode::CONFLICT, Some("tag_in_use"))
    );
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("INIT_RETRO_TO_DENTAL")
    );
    // a value nobody uses goes
    let mut unused = schema.clone();
    unused["features"]
        .as_array_mut()
        .unwrap()
        .retain(|f| f["code"] != "ERHUA_HEAVY");
    let (s, _) = admin.put(&path, unused.clone()).await;
    assert_eq!(s, StatusCode::OK);

    // renames migrate the tags: accented_putonghua → regional_putonghua, the feature code too
    let mut renamed = unused.clone();
    for f in renamed["segment_fields"].as_array_mut().unwrap() {
        for v in f["values"].as_array_mut().unwrap() {
            if v["id"] == "accented_putonghua" {
                v["renamed_from"] = json!("accented_putonghua");
                v["id"] = json!("regional_putonghua");
            }
        }
    }
    for f in renamed["features"].as_array_mut().unwrap() {
        if f["code"] == "INIT_RETRO_TO_DENTAL" {
            f["renamed_from"] = json!("INIT_RETRO_TO_DENTAL");
            f["code"] = json!("INIT_FLAT_TONGUE");
        }
    }
    let (s, saved) = admin.put(&path, renamed).await;
    assert_eq!(s, StatusCode::OK, "{saved}");
    assert!(
        !saved.to_string().contains("renamed_from"),
        "markers are settled"
    );
    let (_, tags) = t.get(&format!("/api/segments/{seg}/tags")).await;
    assert_eq!(tags["tags"]["mode"], json!(["regional_putonghua"]));
    assert_eq!(tags["tags"]["noise"], json!(["music", "traffic"]));
    let (_, spans) = t.get(&format!("/api/segments/{seg}/spans")).await;
    assert_eq!(spans["spans"][0]["feature"], "INIT_FLAT_TONGUE");
    // the export is what was saved
    let (_, exported) = t.get(&path).await;
    assert_eq!(exported, saved);

    // archiving keeps the value for existing tags but does not offer it to new ones
    let mut archived = saved.clone();
    for f in archived["segment_fields"].as_array_mut().unwrap() {
        if f["id"] == "noise" {
            for v in f["values"].as_array_mut().unwrap() {
                if v["id"] == "music" {
                    v["archived"] = json!(true);
                }
            }
        }
    }
    let (s, _) = admin.put(&path, archived).await;
    assert_eq!(s, StatusCode::OK);
    let (s, _) = t
        .put(
            &format!("/api/segments/{seg}/tags"),
            json!({ "tags": { "noise": ["music"], "mode": "dialect" } }),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "a segment that had it may keep it");
    let (s, _) = t
        .put(
            &format!("/api/segments/{seg}/tags"),
            json!({ "tags": { "mode": "dialect" } }),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let (s, body) = t
        .put(
            &format!("/api/segments/{seg}/tags"),
            json!({ "tags": { "noise": ["music"] } }),
        )
        .await;
    assert_eq!(
        (s, body["error"]["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("unknown_value"))
    );

    // required fields are enforced
    let mut required = exported.clone();
    for f in required["segment_fields"].as_array_mut().unwrap() {
        if f["id"] == "variety" {
            f["required"] = json!(true);
        }
    }
    let (s, _) = admin.put(&path, required).await;
    assert_eq!(s, StatusCode::OK);
    let (s, body) = t
        .put(
            &format!("/api/segments/{seg}/tags"),
            json!({ "tags": { "mode": "dialect" } }),
        )
        .await;
    assert_eq!(
        (s, body["error"]["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("missing_required"))
    );
}

#[tokio::test]
async fn spans_prefill_pinyin_estimate_time_and_survive_text_edits() {
    let app = TestApp::spawn().await;
    let (_, seg, _, t) = segment_with(&app, "我是广西人他喜欢牛奶").await;
    let (_, cur) = t.get(&format!("/api/segments/{seg}")).await;
    let (s0, e0) = (
        cur["start_sample"].as_i64().unwrap(),
        cur["end_sample"].as_i64().unwrap(),
    );
    let spans = format!("/api/segments/{seg}/spans");
    let (s, shi) = t
        .post(&spans, json!({ "char_start": 1, "char_end": 2, "feature": "INIT_RETRO_TO_DENTAL", "realised": "si4" }))
        .await;
    assert_eq!(s, StatusCode::OK, "{shi}");
    assert_eq!(
        (shi["chars"].as_str(), shi["expected"].as_str()),
        (Some("是"), Some("shi4"))
    );
    // the time span is the characters' share of the segment
    let len = e0 - s0;
    assert_eq!(shi["start_sample"].as_i64(), Some(s0 + len / 10));
    assert_eq!(shi["end_sample"].as_i64(), Some(s0 + len * 2 / 10));
    let (s, niunai) = t
        .post(&spans, json!({ "char_start": 8, "char_end": 10, "feature": "INIT_N_L_MERGER", "realised": "liu2 lai3", "note": "Guilin" }))
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(niunai["expected"], "niu2 nai3");
    // bad spans are 400s, not 500s
    for (body, code) in [
        (
            json!({ "char_start": 3, "char_end": 3, "feature": "INIT_N_L_MERGER" }),
            "invalid_span",
        ),
        (
            json!({ "char_start": 0, "char_end": 99, "feature": "INIT_N_L_MERGER" }),
            "invalid_span",
        ),
        (
            json!({ "char_start": 0, "char_end": 1, "feature": "NOPE" }),
            "unknown_feature",
        ),
        (
            json!({ "char_start": 0, "char_end": 1, "feature": "INIT_N_L_MERGER", "realised_script": "x" }),
            "invalid_script",
        ),
        (
            json!({ "char_start": 0, "char_end": 1, "feature": "INIT_N_L_MERGER", "start_sample": e0, "end_sample": e0 + 10 }),
            "invalid_time_span",
        ),
    ] {
        let (s, b) = t.post(&spans, body).await;
        assert_eq!(
            (s, b["error"]["code"].as_str()),
            (StatusCode::BAD_REQUEST, Some(code)),
            "{b}"
        );
    }
    // adjust the time span and the realised form
    let sid = shi["id"].as_i64().unwrap();
    let (s, patched) = t
        .patch(&format!("/api/spans/{sid}"), json!({ "start_sample": s0 + 10, "end_sample": s0 + 2000, "realised": "sɿ24", "realised_script": "ipa" }))
        .await;
    assert_eq!(s, StatusCode::OK, "{patched}");
    assert_eq!(
        (
            patched["realised"].as_str(),
            patched["start_sample"].as_i64()
        ),
        (Some("sɿ24"), Some(s0 + 10))
    );

    // insertion before the spans shifts both, silently
    save_text(&t, seg, "嗯，我是广西人他喜欢牛奶", "e1").await;
    let (_, got) = t.get(&spans).await;
    let a = &got["spans"][0];
    let b = &got["spans"][1];
    assert_eq!(
        (
            a["char_start"].as_i64(),
            a["char_end"].as_i64(),
            a["chars"].as_str(),
            a["needs_review"].as_bool()
        ),
        (Some(3), Some(4), Some("是"), Some(false))
    );
    assert_eq!(
        (
            b["char_start"].as_i64(),
            b["char_end"].as_i64(),
            b["chars"].as_str(),
            b["needs_review"].as_bool()
        ),
        (Some(10), Some(12), Some("牛奶"), Some(false))
    );
    // a deletion inside 牛奶 shrinks it and flags it; 是 is untouched
    save_text(&t, seg, "嗯，我是广西人他喜欢奶", "e2").await;
    let (_, got) = t.get(&spans).await;
    let a = &got["spans"][0];
    let b = &got["spans"][1];
    assert_eq!(
        (a["char_start"].as_i64(), a["needs_review"].as_bool()),
        (Some(3), Some(false))
    );
    assert_eq!(
        (
            b["char_start"].as_i64(),
            b["char_end"].as_i64(),
            b["chars"].as_str(),
            b["needs_review"].as_bool()
        ),
        (Some(10), Some(11), Some("奶"), Some(true))
    );
    // deleting 是 entirely flags its span and keeps the tagged characters for the reviewer
    save_text(&t, seg, "嗯，我广西人他喜欢奶", "e3").await;
    let (_, got) = t.get(&spans).await;
    let a = &got["spans"][0];
    assert_eq!(
        (a["chars"].as_str(), a["needs_review"].as_bool()),
        (Some("是"), Some(true))
    );
    // re-placing it by hand clears the flag
    let (s, fixed) = t
        .patch(
            &format!("/api/spans/{sid}"),
            json!({ "char_start": 3, "char_end": 4 }),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(
        (fixed["chars"].as_str(), fixed["needs_review"].as_bool()),
        (Some("广"), Some(false))
    );
    // delete
    let (s, _) = t.delete(&format!("/api/spans/{sid}")).await;
    assert_eq!(s, StatusCode::OK);
    let (_, got) = t.get(&spans).await;
    assert_eq!(got["spans"].as_array().unwrap().len(), 1);
    // a stranger sees nothing
    app.user("stranger").await;
    let stranger = app.login("stranger").await;
    let (s, _) = stranger.get(&spans).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn suggestions_follow_dialect_md_examples() {
    let app = TestApp::spawn().await;
    app.user("ling").await;
    let c = app.login("ling").await;
    // (characters, expected (None = from the characters), realised, the code that must be first or present)
    let table: &[(&str, Option<&str>, &str, &str)] = &[
        ("是", None, "si4", "INIT_RETRO_TO_DENTAL"),
        ("吃", None, "ci1", "INIT_RETRO_TO_DENTAL"),
        ("牛奶", None, "liu2 lai3", "INIT_N_L_MERGER"),
        ("人名", None, "ren2 min2", "FINAL_N_NG_MERGER"),
        ("人民", None, "ren2 ming2", "FINAL_N_NG_MERGER"),
        ("湖南", None, "fu2 nan2", "INIT_F_H_CONFUSION"),
        ("飞机", None, "hui1 ji1", "INIT_F_H_CONFUSION"),
        ("祖国", None, "zhu3 guo2", "INIT_DENTAL_TO_RETRO"),
        ("句子", Some("ju4 zi5"), "zhu4 zi5", "INIT_PALATAL_TO_RETRO"),
        ("西", None, "si1", "INIT_JIANTUAN_SPLIT"),
        ("热", None, "ye4", "INIT_R_VARIANT"),
        ("然", None, "lan2", "INIT_R_VARIANT"),
        ("安", None, "ngan1", "INIT_ZERO_TO_NG"),
        ("万", None, "van4", "INIT_W_TO_V"),
        ("书", None, "fu1", "INIT_RETRO_U_TO_PF"),
        ("步", None, "pu4", "INIT_ASPIRATION"),
        ("去", None, "qi4", "FINAL_UE_TO_I"),
        ("鱼", None, "yi2", "FINAL_UE_TO_I"),
        ("来", None, "le2", "FINAL_MONOPHTHONG"),
        ("对", None, "dei4", "FINAL_MEDIAL_U_LOSS"),
        ("暖", None, "nan3", "FINAL_MEDIAL_U_LOSS"),
        ("哥", None, "go1", "FINAL_E_TO_O"),
        ("二", None, "e4", "FINAL_ER_TO_E"),
        ("玩儿", Some("wanr2"), "wan2", "ERHUA_LOSS"),
        ("一点儿", Some("yi4 dian3 er5"), "yi4 dian3", "ERHUA_LOSS"),
        ("西红柿", None, "xiong2 shi4", "SYLLABLE_REDUCTION"),
        ("六", None, "luk6", "CODA_STOP_PTK"),
        ("一", None, "iʔ", "TONE_RU_CHECKED"),
        (
            "东西",
            Some("dong1 xi5"),
            "dong1 xi1",
            "NEUTRAL_TONE_ABSENT",
        ),
        ("你好", None, "ni3 hao3", "TONE_SANDHI_NONSTD"),
        ("鞋", None, "hai2", "LEX_COLLOQUIAL_READING"),
        ("是", None, "shi2", "TONE_VALUE_SHIFT"),
        ("六", None, "liu2", "TONE_CATEGORY_SHIFT"),
    ];
    for (chars, expected, realised, code) in table {
        let mut url = reqwest::Url::parse(&format!("{}/api/tags/suggest", app.base)).unwrap();
        url.query_pairs_mut()
            .append_pair("chars", chars)
            .append_pair("realised", realised);
        if let Some(e) = expected {
            url.query_pairs_mut().append_pair("expected", e);
        }
        let r = c.http.get(url).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        let body: Value = r.json().await.unwrap();
        let codes: Vec<&str> = body["suggestions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["code"].as_str().unwrap())
            .collect();
        assert_eq!(
            codes.first().copied(),
            Some(*code),
            "{chars} {realised}: {body}"
        );
    }
    // the pre-fill for the founding case, and nothing suggested when the forms agree
    let (_, body) = c
        .get("/api/tags/suggest?chars=%E6%98%AF&realised=shi4")
        .await;
    assert_eq!(body["expected"], "shi4");
    assert_eq!(body["suggestions"], json!([]));
    // the 入声 character 六 ranks the category shift first, 是 the value shift
    let (_, body) = c
        .get("/api/tags/suggest?chars=%E6%98%AF&realised=shi2")
        .await;
    assert_eq!(body["suggestions"][1]["code"], "TONE_CATEGORY_SHIFT");
}

#[tokio::test]
async fn concordance_finds_spans_and_text_in_context_with_clips_and_csv() {
    let app = TestApp::spawn().await;
    let (project, seg, _, t) = segment_with(&app, "我是广西人他说是的").await;
    let (s, _) = t
        .post(
            &format!("/api/segments/{seg}/spans"),
            json!({ "char_start": 1, "char_end": 2, "feature": "INIT_RETRO_TO_DENTAL", "realised": "si4" }),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let base = format!("/api/projects/{project}/concordance");
    let (s, body) = t.get(&format!("{base}?feature=INIT_RETRO_TO_DENTAL")).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let hits = body["hits"].as_array().unwrap();
    assert_eq!(hits.len(), 1);
    let h = &hits[0];
    assert_eq!(
        (h["left"].as_str(), h["match"].as_str(), h["right"].as_str()),
        (Some("我"), Some("是"), Some("广西人他说是的"))
    );
    assert_eq!(h["realised"], "si4");
    let (c0, c1) = (
        h["clip_start"].as_f64().unwrap(),
        h["clip_end"].as_f64().unwrap(),
    );
    assert!(c0 >= 0.0 && c1 > c0, "{h}");
    // by realised form, and nothing for another feature
    let (_, body) = t.get(&format!("{base}?realised=si4")).await;
    assert_eq!(body["hits"].as_array().unwrap().len(), 1);
    let (_, body) = t.get(&format!("{base}?feature=INIT_N_L_MERGER")).await;
    assert_eq!(body["hits"].as_array().unwrap().len(), 0);
    // text: every occurrence is a hit; regex too; paging
    let (_, body) = t.get(&format!("{base}?text=%E6%98%AF")).await;
    assert_eq!(body["hits"].as_array().unwrap().len(), 2, "{body}");
    let (_, body) = t.get(&format!("{base}?regex=%E8%AF%B4.")).await;
    assert_eq!(body["hits"][0]["match"], "说是");
    let (s, body) = t.get(&format!("{base}?regex=(")).await;
    assert_eq!(
        (s, body["error"]["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_regex"))
    );
    let (s, body) = t.get(&base).await;
    assert_eq!(
        (s, body["error"]["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("no_filter"))
    );
    // status and label filters
    let (_, body) = t
        .get(&format!(
            "{base}?feature=INIT_RETRO_TO_DENTAL&status=approved"
        ))
        .await;
    assert_eq!(body["hits"].as_array().unwrap().len(), 0);
    t.put(
        &format!("/api/segments/{seg}/tags"),
        json!({ "tags": { "variety": "cmn-southwestern" } }),
    )
    .await;
    let (_, body) = t
        .get(&format!(
            "{base}?feature=INIT_RETRO_TO_DENTAL&label=variety%3Dcmn-southwestern"
        ))
        .await;
    assert_eq!(body["hits"].as_array().unwrap().len(), 1);
    let (_, body) = t
        .get(&format!(
            "{base}?feature=INIT_RETRO_TO_DENTAL&label=variety%3Dyue"
        ))
        .await;
    assert_eq!(body["hits"].as_array().unwrap().len(), 0);
    // CSV export
    let r = t
        .http
        .get(format!(
            "{}{base}?feature=INIT_RETRO_TO_DENTAL&format=csv",
            t.base
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    let csv = r.text().await.unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 2, "{csv}");
    assert!(
        lines[1].contains(",INIT_RETRO_TO_DENTAL,shi4,si4,我,是,"),
        "{csv}"
    );
}

/// Issue 19, text hygiene: a C0 control character in segment text made the EAF export
/// invalid XML; it is refused at save with a stable code (tab and newline, which a textarea
/// types and every export collapses, are kept).
#[tokio::test]
async fn segment_text_with_a_control_character_is_refused_at_save() {
    let app = TestApp::spawn().await;
    let (_, seg, _, t) = segment_with(&app, "我是\t广西人\n").await;
    for (field, text) in [
        ("text_verbatim", "我是\u{1}广西人"),
        ("text_display", "我是\u{b}"),
        // (NUL has its own code, `nul_character`, from the request edge.)
        ("text_norm", "\u{1b}[31m"),
    ] {
        let (_, cur) = t.get(&format!("/api/segments/{seg}")).await;
        let (s, body) = t
            .put(
                &format!("/api/segments/{seg}"),
                json!({ "version": cur["version"], "save_id": format!("c0-{field}"), field: text }),
            )
            .await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{field}: {body}");
        assert_eq!(body["error"]["code"], "control_character", "{body}");
        assert_eq!(body["error"]["field"], field, "{body}");
    }
    let (_, cur) = t.get(&format!("/api/segments/{seg}")).await;
    assert_eq!(cur["text_verbatim"], "我是\t广西人\n");
}

/// Issue 19, text hygiene: the human-facing CSV downloads start with a UTF-8 BOM (Excel on a
/// Chinese Windows reads GBK without one) and guard cells a spreadsheet would run as a
/// formula; they are written by the `csv` crate, so quotes and commas survive.
#[tokio::test]
async fn csv_downloads_have_a_bom_and_guard_formulas() {
    let app = TestApp::spawn().await;
    let (project, _, admin, t) = segment_with(&app, "=SUM(1,\"a\")是-1+2").await;
    let (s, ctype, csv) = t
        .get_text(&format!(
            "/api/projects/{project}/concordance?text=%E6%98%AF&format=csv"
        ))
        .await;
    assert_eq!(s, StatusCode::OK);
    assert!(ctype.starts_with("text/csv"), "{ctype}");
    let body = csv
        .strip_prefix('\u{FEFF}')
        .unwrap_or_else(|| panic!("no BOM: {csv:?}"));
    let rows: Vec<csv_row::Row> = csv_row::parse(body);
    assert_eq!(rows[0][6..9], ["left", "match", "right"]);
    assert_eq!(rows[1][6], "'=SUM(1,\"a\")");
    assert_eq!(rows[1][7], "是");
    assert_eq!(rows[1][8], "'-1+2");
    let (s, _, csv) = admin
        .get_text(&format!("/api/projects/{project}/progress?format=csv"))
        .await;
    assert_eq!(s, StatusCode::OK);
    assert!(csv.starts_with('\u{FEFF}'), "{csv:?}");
}

/// A tiny CSV reader for the test (RFC 4180 quoting), so the test does not trust the writer.
mod csv_row {
    pub type Row = Vec<String>;

    pub fn parse(text: &str) -> Vec<Row> {
        let mut rows = Vec::new();
        let (mut row, mut cell, mut quoted) = (Vec::new(), String::new(), false);
        let mut chars = text.chars().peekable();
        while let Some(c) = chars.next() {
            match (quoted, c) {
                (true, '"') if chars.peek() == Some(&'"') => {
                    chars.next();
                    cell.push('"');
                }
                (true, '"') => quoted = false,
                (true, c) => cell.push(c),
                (false, '"') => quoted = true,
                (false, ',') => row.push(std::mem::take(&mut cell)),
                (false, '\n') => {
                    row.push(std::mem::take(&mut cell));
                    rows.push(std::mem::take(&mut row));
                }
                (false, c) => cell.push(c),
            }
        }
        if !cell.is_empty() || !row.is_empty() {
            row.push(cell);
            rows.push(row);
        }
        rows
    }
}

/// Issue 15, search at corpus scale: the text search index (`segment_grams`) follows every
/// change of a segment's text in the change's own transaction (creation, save, split, merge,
/// delete, ASR pre-fill), and the concordance answers from it past its first, scanned window,
/// page by page with `after`. Segments older than the index are indexed by the catch-up at
/// start.
#[tokio::test]
async fn the_text_index_follows_every_edit_and_answers_past_the_first_window() {
    use fangyan::segments::{text_index, write};
    let app = TestApp::spawn().await;
    let (project, seg, _, t) = segment_with(&app, "我想问我在滨海星区有房").await;
    let db = &app.state.db;
    let backend = fangyan::db::backend(db);
    // Which segments the index names for a needle (the concordance's clause, whole range).
    let named = |needle: &str| {
        let q = text_index::query(backend, needle).unwrap();
        async move {
            text_index::candidate_ids(db, &q, 0, i64::MAX, 10_000)
                .await
                .unwrap()
        }
    };
    assert_eq!(named("星区").await, vec![seg]);
    // A save: the new text is found, the old is not.
    save_text(&t, seg, "我想问我在滨海新区有房", "fix").await;
    assert_eq!(named("新区").await, vec![seg]);
    assert!(named("星区").await.is_empty());
    // A split: each half by its own text.
    let (_, cur) = t.get(&format!("/api/segments/{seg}")).await;
    let mid = (cur["start_sample"].as_i64().unwrap() + cur["end_sample"].as_i64().unwrap()) / 2;
    let (s, body) = t
        .post(
            &format!("/api/segments/{seg}/split"),
            json!({ "version": cur["version"], "save_id": "cut", "at_sample": mid, "text_offset": 5 }),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let second = body["segments"][1]["id"].as_i64().unwrap();
    assert_eq!(named("滨海").await, vec![second]);
    assert_eq!(named("想问").await, vec![seg]);
    assert!(
        named("我滨").await.is_empty(),
        "the halves are not one text"
    );
    // A merge: the merged text is the first segment's, and the second is gone from the index.
    let (_, cur) = t.get(&format!("/api/segments/{seg}")).await;
    let (s, body) = t
        .post(
            &format!("/api/segments/{seg}/merge"),
            json!({ "version": cur["version"], "save_id": "join" }),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(named("滨海").await, vec![seg]);
    assert_eq!(named("问我在").await, vec![seg]);

    // Past the first window: 4 000 more segments through the writer, a rare word near the end.
    let recording = cur["recording_id"].as_i64().unwrap();
    let mut tx = fangyan::db::begin_write(db).await.unwrap();
    let mut rare = Vec::new();
    for i in 0..4_000_i64 {
        let text = if i % 1_000 == 999 {
            "柳州螺蛳粉"
        } else {
            "今天天气很好"
        };
        let s = write::insert(
            &mut tx,
            &write::NewSegment {
                recording,
                start: 1_000_000 + i * 100,
                end: 1_000_000 + i * 100 + 50,
                speaker: None,
                text,
                asr: None,
                assignee: None,
            },
            None,
        )
        .await
        .unwrap();
        if text.starts_with('柳') {
            rare.push(s.id);
        }
    }
    tx.commit().await.unwrap();
    let base = format!("/api/projects/{project}/concordance");
    let hit_ids = |body: &Value| -> Vec<i64> {
        body["hits"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| h["segment_id"].as_i64().unwrap())
            .collect()
    };
    let (s, body) = t.get(&format!("{base}?text=螺蛳&limit=2")).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(hit_ids(&body), rare[..2]);
    assert_eq!(body["hits"][0]["left"], "柳州");
    let after = body["next_after"].as_i64().unwrap();
    let (_, body) = t
        .get(&format!("{base}?text=螺蛳&limit=2&after={after}"))
        .await;
    assert_eq!(hit_ids(&body), rare[2..], "{body}");
    assert_eq!(body["next_after"], Value::Null, "{body}");
    // A common word fills its page from the first window; a single character is indexed too.
    let (_, body) = t.get(&format!("{base}?text=天气&limit=500")).await;
    assert!(body["hits"].as_array().unwrap().len() >= 500, "{body}");
    let (_, body) = t.get(&format!("{base}?text=粉&limit=10")).await;
    assert_eq!(body["hits"].as_array().unwrap().len(), 4);
    // A deleted segment is dropped from the index.
    let (_, cur) = t.get(&format!("/api/segments/{}", rare[3])).await;
    let (s, body) = t
        .delete(&format!(
            "/api/segments/{}?version={}&save_id=gone",
            rare[3], cur["version"]
        ))
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(named("螺蛳").await, rare[..3]);

    // The catch-up: segments that were there before the index (here: its rows dropped, as
    // after an upgrade or a copy) are indexed again at start, and only once.
    let mut conn = db.acquire().await.unwrap();
    sqlx::query("DELETE FROM segment_grams")
        .execute(&mut *conn)
        .await
        .unwrap();
    text_index::rebuild_later(&mut conn).await.unwrap();
    drop(conn);
    assert!(named("螺蛳").await.is_empty());
    let indexed = text_index::catch_up(db).await.unwrap();
    assert!(indexed >= 4_000, "{indexed}");
    assert_eq!(named("螺蛳").await, rare[..3]);
    assert_eq!(text_index::catch_up(db).await.unwrap(), 0);
}
