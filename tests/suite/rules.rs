//! Issue 13, items 4 and 5: the segment rules live on the server. Save ids are idempotent per
//! segment; one state machine (new → in_progress → submitted → approved | rejected, reopen by a
//! reviewer or admin) guards every write path; the second pass is blind through every route;
//! foreign ids in a body are not found; reviewers tag submitted segments but never edit text.
//! Every rule is driven through the HTTP API of the real app.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use std::borrow::Cow;

use fangyan::app::{AppState, Config};
use reqwest::StatusCode;
use serde_json::{Value, json};

use common::app::{Client, TestApp, ready_recording};

/// A project with one ready recording (two VAD segments), a speaker, and its three members.
struct World {
    app: TestApp,
    project: i64,
    rec: i64,
    admin: Client,
    t: Client,
    reviewer: Client,
    segs: Vec<i64>,
    speaker: i64,
}

async fn world() -> World {
    let app = TestApp::spawn().await;
    let (project, admin, t, reviewer) = app.project("p").await;
    let rec = ready_recording(&app, &admin, project).await;
    let (_, body) = admin.get(&format!("/api/recordings/{rec}/segments")).await;
    let segs: Vec<i64> = body["segments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_i64().unwrap())
        .collect();
    assert_eq!(segs.len(), 2, "{body}");
    let (s, sp) = admin
        .post(
            &format!("/api/projects/{project}/speakers"),
            json!({ "code": "S01" }),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{sp}");
    World {
        app,
        project,
        rec,
        admin,
        t,
        reviewer,
        segs,
        speaker: sp["id"].as_i64().unwrap(),
    }
}

impl World {
    /// The segment as the project admin sees it (never blinded).
    async fn seg(&self, id: i64) -> Value {
        let (s, body) = self.admin.get(&format!("/api/segments/{id}")).await;
        assert_eq!(s, StatusCode::OK, "{body}");
        body
    }

    async fn version(&self, id: i64) -> i64 {
        self.seg(id).await["version"].as_i64().unwrap()
    }

    /// A save by `c` on the current version.
    async fn save(&self, c: &Client, id: i64, save_id: &str, fields: Value) -> (StatusCode, Value) {
        let mut body = json!({ "version": self.version(id).await, "save_id": save_id });
        for (k, v) in fields.as_object().unwrap() {
            body[k] = v.clone();
        }
        c.put(&format!("/api/segments/{id}"), body).await
    }

    async fn submit(&self, c: &Client, id: i64) -> (StatusCode, Value) {
        let v = self.version(id).await;
        c.post(
            &format!("/api/segments/{id}/submit"),
            json!({ "version": v }),
        )
        .await
    }

    /// Transcribes and submits segment `id` as the transcriber.
    async fn submitted(&self, id: i64, text: &str) {
        let (s, body) = self
            .save(
                &self.t,
                id,
                &format!("text-{id}-{text}"),
                json!({ "text_verbatim": text }),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{body}");
        let (s, body) = self.submit(&self.t, id).await;
        assert_eq!(s, StatusCode::OK, "{body}");
        assert_eq!(body["status"], "submitted");
    }

    /// Transcribed, submitted and approved.
    async fn approved(&self, id: i64, text: &str) {
        self.submitted(id, text).await;
        let (s, body) = self
            .reviewer
            .post(
                &format!("/api/segments/{id}/review"),
                json!({ "verdict": "approved" }),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{body}");
        assert_eq!(body["segment"]["status"], "approved");
    }

    async fn span(&self, c: &Client, id: i64) -> (StatusCode, Value) {
        c.post(
            &format!("/api/segments/{id}/spans"),
            json!({ "char_start": 0, "char_end": 1, "feature": "INIT_RETRO_TO_DENTAL", "realised": "si4" }),
        )
        .await
    }

    async fn spans(&self, id: i64) -> Vec<Value> {
        let (_, body) = self.admin.get(&format!("/api/segments/{id}/spans")).await;
        body["spans"].as_array().unwrap().clone()
    }
}

#[tokio::test]
async fn a_save_id_reused_on_another_segment_is_applied_and_a_retry_is_applied_once() {
    let w = world().await;
    let (a, b) = (w.segs[0], w.segs[1]);
    let (s, first) = w
        .save(&w.t, a, "same-id", json!({ "text_verbatim": "第一" }))
        .await;
    assert_eq!(
        (s, first["text_verbatim"].as_str()),
        (StatusCode::OK, Some("第一"))
    );
    // Another segment, the same client save id: a different save, so it is applied.
    let save_b =
        json!({ "version": w.version(b).await, "save_id": "same-id", "text_verbatim": "第二" });
    let (s, second) = w.t.put(&format!("/api/segments/{b}"), save_b.clone()).await;
    assert_eq!(s, StatusCode::OK, "{second}");
    assert_eq!(
        w.seg(b).await["text_verbatim"],
        "第二",
        "the acknowledged save was dropped"
    );
    // The retry of that save on the same segment is applied once, with the same answer.
    let (s, retry) = w.t.put(&format!("/api/segments/{b}"), save_b).await;
    assert_eq!(s, StatusCode::OK, "{retry}");
    assert_eq!(retry["version"], second["version"]);
    let (_, revs) = w.admin.get(&format!("/api/segments/{b}/revisions")).await;
    let with_id = revs["revisions"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["save_id"] == "same-id")
        .count();
    assert_eq!(with_id, 1, "{revs}");
    // Segment A kept its own text.
    assert_eq!(w.seg(a).await["text_verbatim"], "第一");
}

#[tokio::test]
async fn the_save_id_migration_keeps_every_revision_and_review() {
    let dir = common::scratch();
    let file = dir.path().join("fangyan.sqlite");
    {
        // A database as release 0007 left it, with a revision that a review points at.
        let options = sqlx::sqlite::SqliteConnectOptions::new()
            .filename(&file)
            .create_if_missing(true)
            .foreign_keys(true);
        let pool = sqlx::SqlitePool::connect_with(options).await.unwrap();
        let mut old = sqlx::migrate::Migrator::new(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations/sqlite"),
        )
        .await
        .unwrap();
        old.migrations = Cow::Owned(
            old.migrations
                .iter()
                .filter(|m| m.version <= 7)
                .cloned()
                .collect(),
        );
        old.run(&pool).await.unwrap();
        for sql in [
            "INSERT INTO project (id, name, created_at) VALUES (1, 'p', 0)",
            "INSERT INTO app_user (id, name, password_hash, created_at) VALUES (1, 'u', 'x', 0)",
            "INSERT INTO recording (id, project_id, name, status, analysis_rate, created_at) VALUES (1, 1, 'r', 'ready', 16000, 0)",
            "INSERT INTO segment (id, recording_id, start_sample, end_sample, text_verbatim, version) VALUES (1, 1, 0, 10, 'a', 2), (2, 1, 10, 20, 'b', 1)",
            "INSERT INTO segment_revision (id, segment_id, version, author_id, save_id, created_at, text_verbatim, text_display, text_norm, start_sample, end_sample, status) \
             VALUES (7, 1, 1, 1, NULL, 0, '', '', '', 0, 10, 'new'), (8, 1, 2, 1, 'dup', 1, 'a', '', '', 0, 10, 'in_progress'), (9, 2, 1, 1, NULL, 0, 'b', '', '', 10, 20, 'new')",
            "INSERT INTO review (revision_id, reviewer_id, verdict, created_at) VALUES (8, 1, 'approved', 2)",
        ] {
            sqlx::query(sql).execute(&pool).await.unwrap();
        }
        pool.close().await;
    }
    let state = AppState::open(Config::new(dir.path())).await.unwrap();
    let db = &state.db;
    let revisions: Vec<(i64, i64, Option<String>, String)> = sqlx::query_as(
        "SELECT id, segment_id, save_id, text_verbatim FROM segment_revision ORDER BY id",
    )
    .fetch_all(db)
    .await
    .unwrap();
    assert_eq!(
        revisions,
        vec![
            (7, 1, None, String::new()),
            (8, 1, Some("dup".into()), "a".into()),
            (9, 2, None, "b".into()),
        ]
    );
    let (reviewed,): (i64,) = sqlx::query_as("SELECT revision_id FROM review")
        .fetch_one(db)
        .await
        .unwrap();
    assert_eq!(reviewed, 8);
    let broken = sqlx::query("PRAGMA foreign_key_check")
        .fetch_all(db)
        .await
        .unwrap();
    assert_eq!(broken.len(), 0, "every foreign key still resolves");
    let (fk_target,): (String,) = sqlx::query_as(
        "SELECT \"table\" FROM pragma_foreign_key_list('review') WHERE \"from\" = 'revision_id'",
    )
    .fetch_one(db)
    .await
    .unwrap();
    assert_eq!(fk_target, "segment_revision");
    let insert = |id: i64, segment: i64, version: i64| {
        sqlx::query(
            "INSERT INTO segment_revision (id, segment_id, version, author_id, save_id, created_at, text_verbatim, \
             text_display, text_norm, start_sample, end_sample, status) VALUES ($1, $2, $3, 1, 'dup', 3, 'x', '', '', 0, 10, 'in_progress')",
        )
        .bind(id)
        .bind(segment)
        .bind(version)
        .execute(db)
    };
    // The save id is unique per segment now, not across the database.
    insert(10, 2, 2).await.unwrap();
    assert!(
        insert(11, 1, 3).await.is_err(),
        "a save id twice on one segment"
    );
}

/// Every write path on segment `id` by `c`: (what, status, body). `span` is an existing span of
/// the segment.
async fn every_write(
    w: &World,
    c: &Client,
    id: i64,
    span: i64,
) -> Vec<(&'static str, StatusCode, Value)> {
    let seg = w.seg(id).await;
    let v = seg["version"].as_i64().unwrap();
    let (start, end) = (
        seg["start_sample"].as_i64().unwrap(),
        seg["end_sample"].as_i64().unwrap(),
    );
    let path = format!("/api/segments/{id}");
    let mut out = Vec::new();
    let text = json!({ "version": v, "save_id": "w-text", "text_verbatim": "改了" });
    let r = c.put(&path, text).await;
    out.push(("text save", r.0, r.1));
    let speaker = json!({ "version": v, "save_id": "w-speaker", "speaker_id": w.speaker });
    let r = c.put(&path, speaker).await;
    out.push(("speaker change", r.0, r.1));
    let bounds = json!({ "version": v, "save_id": "w-bounds", "start_sample": start + 1 });
    let r = c.put(&path, bounds).await;
    out.push(("boundary move", r.0, r.1));
    let split = json!({ "version": v, "save_id": "w-split", "at_sample": (start + end) / 2, "text_offset": 1 });
    let r = c.post(&format!("{path}/split"), split).await;
    out.push(("split", r.0, r.1));
    let merge = json!({ "version": v, "save_id": "w-merge" });
    let r = c.post(&format!("{path}/merge"), merge).await;
    out.push(("merge", r.0, r.1));
    let r = c
        .delete(&format!("{path}?version={v}&save_id=w-delete"))
        .await;
    out.push(("delete", r.0, r.1));
    let r = w.span(c, id).await;
    out.push(("span create", r.0, r.1));
    let r = c
        .patch(&format!("/api/spans/{span}"), json!({ "note": "changed" }))
        .await;
    out.push(("span change", r.0, r.1));
    let r = c.delete(&format!("/api/spans/{span}")).await;
    out.push(("span delete", r.0, r.1));
    let r = c
        .put(
            &format!("{path}/tags"),
            json!({ "tags": { "variety": "cmn-southwestern" } }),
        )
        .await;
    out.push(("segment tags", r.0, r.1));
    out
}

#[tokio::test]
async fn writes_on_a_submitted_or_approved_segment_are_segment_locked_on_every_path() {
    let w = world().await;
    let (sub, appr) = (w.segs[0], w.segs[1]);
    let mut spans = Vec::new();
    for (id, text) in [(sub, "我想问"), (appr, "是的是的")] {
        let (s, _) = w
            .save(&w.t, id, "before", json!({ "text_verbatim": text }))
            .await;
        assert_eq!(s, StatusCode::OK);
        let (s, span) = w.span(&w.t, id).await;
        assert_eq!(s, StatusCode::OK, "{span}");
        spans.push(span["id"].as_i64().unwrap());
    }
    w.approved(appr, "是的是的").await;
    w.submitted(sub, "我想问").await;
    for (id, span, who) in [
        (sub, spans[0], &w.t),
        (appr, spans[1], &w.t),
        (appr, spans[1], &w.admin),
        (appr, spans[1], &w.reviewer),
    ] {
        let before = w.seg(id).await;
        for (what, s, body) in every_write(&w, who, id, span).await {
            // A reviewer never edits text (403); for the rest the state says no (409).
            let reviewer_text = std::ptr::eq(who, &w.reviewer)
                && !what.starts_with("span")
                && what != "segment tags";
            let expected = if reviewer_text {
                (StatusCode::FORBIDDEN, "forbidden")
            } else {
                (StatusCode::CONFLICT, "segment_locked")
            };
            assert_eq!(
                (s, body["error"]["code"].as_str().unwrap_or_default()),
                expected,
                "{what} on a {} segment: {body}",
                before["status"]
            );
            assert!(body["error"].get("current").is_none(), "{what}: {body}");
        }
        assert_eq!(w.seg(id).await, before, "nothing changed");
        assert_eq!(w.spans(id).await.len(), 1);
    }
    // A submitted segment is not submitted twice, an approved one not at all.
    for id in [sub, appr] {
        let (s, body) = w.submit(&w.t, id).await;
        assert_eq!(
            (s, body["error"]["code"].as_str()),
            (StatusCode::CONFLICT, Some("segment_locked")),
            "{body}"
        );
    }
    // Inserting a segment is for editors only, and it starts new.
    let (s, _) = w
        .reviewer
        .post(
            &format!("/api/recordings/{}/segments", w.rec),
            json!({ "start_sample": 0, "end_sample": 100 }),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, made) =
        w.t.post(
            &format!("/api/recordings/{}/segments", w.rec),
            json!({ "start_sample": 0, "end_sample": 100 }),
        )
        .await;
    assert_eq!((s, made["status"].as_str()), (StatusCode::OK, Some("new")));
}

#[tokio::test]
async fn approved_segments_are_reopened_by_reviewers_and_admins_and_rejected_ones_reworked() {
    let w = world().await;
    let (a, b) = (w.segs[0], w.segs[1]);
    w.approved(a, "我想问").await;
    let reopen = format!("/api/segments/{a}/reopen");
    let (s, _) = w.t.post(&reopen, json!({})).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "a transcriber cannot reopen");
    let revisions = |id: i64| {
        let admin = &w.admin;
        async move {
            let (_, r) = admin.get(&format!("/api/segments/{id}/revisions")).await;
            r["revisions"].as_array().unwrap().clone()
        }
    };
    let before = revisions(a).await.len();
    let (s, body) = w.reviewer.post(&reopen, json!({})).await;
    assert_eq!(
        (s, body["status"].as_str()),
        (StatusCode::OK, Some("rejected")),
        "{body}"
    );
    let after = revisions(a).await;
    assert_eq!(after.len(), before + 1, "a reopen leaves a revision");
    assert_eq!(after.last().unwrap()["status"], "rejected");
    // Only an approved segment can be reopened.
    let (s, body) = w.admin.post(&reopen, json!({})).await;
    assert_eq!(
        (s, body["error"]["code"].as_str()),
        (StatusCode::CONFLICT, Some("not_approved")),
        "{body}"
    );
    // Reopened, it is the transcriber's again.
    let (s, body) = w
        .save(
            &w.t,
            a,
            "after-reopen",
            json!({ "text_verbatim": "我想问是" }),
        )
        .await;
    assert_eq!(
        (s, body["status"].as_str()),
        (StatusCode::OK, Some("in_progress"))
    );
    // The admin may reopen too.
    w.approved(b, "好的").await;
    let (s, body) = w
        .admin
        .post(&format!("/api/segments/{b}/reopen"), json!({}))
        .await;
    assert_eq!(
        (s, body["status"].as_str()),
        (StatusCode::OK, Some("rejected")),
        "{body}"
    );

    // A rejected segment goes back to in_progress with the first edit.
    w.submitted(a, "我想问是的").await;
    let (s, _) = w
        .reviewer
        .post(
            &format!("/api/segments/{a}/review"),
            json!({ "verdict": "rejected", "comment": "不对" }),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let (s, body) = w
        .save(&w.t, a, "rework", json!({ "text_verbatim": "我想问是吧" }))
        .await;
    assert_eq!(
        (s, body["status"].as_str()),
        (StatusCode::OK, Some("in_progress"))
    );
    // Review decisions are for submitted segments only.
    let (s, body) = w
        .reviewer
        .post(
            &format!("/api/segments/{a}/review"),
            json!({ "verdict": "approved" }),
        )
        .await;
    assert_eq!(
        (s, body["error"]["code"].as_str()),
        (StatusCode::CONFLICT, Some("not_submitted")),
        "{body}"
    );
}

#[tokio::test]
async fn reviewers_tag_submitted_segments_and_never_edit_text() {
    let w = world().await;
    let (a, b) = (w.segs[0], w.segs[1]);
    let (s, _) = w
        .save(&w.t, a, "t1", json!({ "text_verbatim": "是的" }))
        .await;
    assert_eq!(s, StatusCode::OK);
    // In progress: the transcriber's turn, not the reviewer's.
    let (s, body) = w.span(&w.reviewer, a).await;
    assert_eq!(
        (s, body["error"]["code"].as_str()),
        (StatusCode::CONFLICT, Some("segment_locked")),
        "{body}"
    );
    let (s, _) = w
        .reviewer
        .put(
            &format!("/api/segments/{a}/tags"),
            json!({ "tags": { "variety": "cmn-southwestern" } }),
        )
        .await;
    assert_eq!(s, StatusCode::CONFLICT);
    // Submitted: the reviewer marks features and labels while reviewing.
    let (s, body) = w.submit(&w.t, a).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let (s, span) = w.span(&w.reviewer, a).await;
    assert_eq!(s, StatusCode::OK, "{span}");
    let sid = span["id"].as_i64().unwrap();
    let (s, body) = w
        .reviewer
        .patch(
            &format!("/api/spans/{sid}"),
            json!({ "realised": "sɿ", "realised_script": "ipa" }),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let (s, body) = w
        .reviewer
        .put(
            &format!("/api/segments/{a}/tags"),
            json!({ "tags": { "variety": "cmn-southwestern" } }),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let (s, _) = w.reviewer.delete(&format!("/api/spans/{sid}")).await;
    assert_eq!(s, StatusCode::OK);
    // But the text is the transcriber's, in every state.
    let (s, _) = w
        .save(&w.reviewer, a, "r1", json!({ "text_verbatim": "四的" }))
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _) = w
        .save(&w.reviewer, b, "r2", json!({ "text_verbatim": "四的" }))
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    assert_eq!(w.seg(a).await["text_verbatim"], "是的");
}

#[tokio::test]
async fn foreign_ids_in_a_body_are_not_found() {
    let w = world().await;
    let (other, other_admin, _, _) = w.app.project("q").await;
    let (s, foreign) = other_admin
        .post(
            &format!("/api/projects/{other}/speakers"),
            json!({ "code": "Q01" }),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let a = w.segs[0];
    for speaker in [foreign["id"].as_i64().unwrap(), 987_654] {
        let (s, body) = w
            .save(
                &w.t,
                a,
                &format!("spk-{speaker}"),
                json!({ "speaker_id": speaker, "text_verbatim": "x" }),
            )
            .await;
        assert_eq!(
            (s, body["error"]["code"].as_str()),
            (StatusCode::NOT_FOUND, Some("not_found")),
            "speaker {speaker}: {body}"
        );
    }
    let seg = w.seg(a).await;
    assert_eq!(
        (seg["speaker_id"].clone(), seg["text_verbatim"].as_str()),
        (Value::Null, Some(""))
    );
    // The project's own speaker is fine.
    let (s, body) = w
        .save(
            &w.t,
            a,
            "spk-own",
            json!({ "speaker_id": w.speaker, "text_verbatim": "是的" }),
        )
        .await;
    assert_eq!(
        (s, body["speaker_id"].as_i64()),
        (StatusCode::OK, Some(w.speaker))
    );
    // A feature only another project's schema offers is not this project's.
    let (_, mut schema) = other_admin
        .get(&format!("/api/projects/{other}/tag-schema"))
        .await;
    let mut feature = schema["features"][0].clone();
    feature["code"] = json!("Q_ONLY_FEATURE");
    schema["features"].as_array_mut().unwrap().push(feature);
    let (s, body) = other_admin
        .put(&format!("/api/projects/{other}/tag-schema"), schema)
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let (s, body) =
        w.t.post(
            &format!("/api/segments/{a}/spans"),
            json!({ "char_start": 0, "char_end": 1, "feature": "Q_ONLY_FEATURE" }),
        )
        .await;
    assert_eq!(
        (s, body["error"]["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("unknown_feature")),
        "{body}"
    );
}

/// The bodies a user gets back from every route that carries segment text.
async fn everything_seen_by(w: &World, c: &Client, id: i64) -> Vec<(String, StatusCode, String)> {
    let p = w.project;
    let v = w.version(id).await;
    let mut out = Vec::new();
    for path in [
        format!("/api/segments/{id}"),
        format!("/api/segments/{id}/revisions"),
        format!("/api/segments/{id}/spans"),
        format!("/api/segments/{id}/tags"),
        format!("/api/recordings/{}/segments", w.rec),
        format!("/api/projects/{p}/review"),
        format!("/api/projects/{p}/agreement"),
        format!("/api/projects/{p}/agreement/summary"),
        format!("/api/projects/{p}/metrics"),
        format!("/api/projects/{p}/throughput"),
        format!("/api/projects/{p}/features/stats"),
        format!("/api/projects/{p}/exports"),
        // Searches too: the concordance finds nothing of a segment the caller is blind to.
        format!("/api/projects/{p}/concordance?text=%E5%A4%A9%E6%B0%94"),
        format!("/api/projects/{p}/concordance?regex=."),
        format!("/api/projects/{p}/concordance?feature=INIT_RETRO_TO_DENTAL"),
    ] {
        let (s, body) = c.get(&path).await;
        out.push((format!("GET {path}"), s, body.to_string()));
    }
    let path = format!("/api/segments/{id}");
    for (what, r) in [
        (
            "stale save",
            c.put(
                &path,
                json!({ "version": 0, "save_id": "peek-1", "speaker_id": w.speaker }),
            )
            .await,
        ),
        (
            "save",
            c.put(
                &path,
                json!({ "version": v, "save_id": "peek-2", "speaker_id": w.speaker }),
            )
            .await,
        ),
        (
            "split",
            c.post(
                &format!("{path}/split"),
                json!({ "version": 0, "save_id": "peek-3", "at_sample": 1, "text_offset": 1 }),
            )
            .await,
        ),
        (
            "merge",
            c.post(
                &format!("{path}/merge"),
                json!({ "version": 0, "save_id": "peek-4" }),
            )
            .await,
        ),
        (
            "submit",
            c.post(&format!("{path}/submit"), json!({ "version": 0 }))
                .await,
        ),
        (
            "delete",
            c.delete(&format!("{path}?version=0&save_id=peek-5")).await,
        ),
        (
            "first-pass span",
            c.post(
                &format!("{path}/spans"),
                json!({ "char_start": 0, "char_end": 2, "feature": "INIT_RETRO_TO_DENTAL" }),
            )
            .await,
        ),
    ] {
        out.push((what.to_string(), r.0, r.1.to_string()));
    }
    out
}

#[tokio::test]
async fn the_second_annotator_cannot_read_the_first_pass_through_any_route() {
    let w = world().await;
    w.app.user("second").await;
    let (s, _) = w
        .admin
        .post(
            &format!("/api/projects/{}/members", w.project),
            json!({ "user": "second", "role": "transcriber" }),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let second = w.app.login("second").await;
    let (s, _) = w
        .admin
        .patch(
            &format!("/api/projects/{}", w.project),
            json!({ "second_pass_share": 1.0 }),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    // The first transcriber claims, transcribes, tags and submits segment A.
    let (_, claim) =
        w.t.post(&format!("/api/projects/{}/claim", w.project), json!({}))
            .await;
    let a = claim["segment"]["id"].as_i64().unwrap();
    let secret = "今天天气很好";
    let (s, _) = w
        .save(
            &w.t,
            a,
            "first",
            json!({ "text_verbatim": secret, "text_display": secret, "text_norm": secret }),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let (s, body) = w
        .t
        .post(
            &format!("/api/segments/{a}/spans"),
            json!({ "char_start": 2, "char_end": 4, "feature": "INIT_RETRO_TO_DENTAL", "realised": "si4" }),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let (s, _) =
        w.t.put(
            &format!("/api/segments/{a}/tags"),
            json!({ "tags": { "variety": "cmn-southwestern" } }),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let leaks = |seen: &[(String, StatusCode, String)]| -> Vec<String> {
        seen.iter()
            .filter(|(_, _, body)| {
                ["天气", "今天", "很好", "cmn-southwestern", "INIT_RETRO"]
                    .iter()
                    .any(|x| body.contains(x))
            })
            .map(|(what, s, body)| format!("{what}: {s} {body}"))
            .collect()
    };
    // While the first pass is in progress, the text is hidden from other transcribers already:
    // whoever reads it now could be handed the second pass later.
    let early = everything_seen_by(&w, &second, a).await;
    assert_eq!(leaks(&early), Vec::<String>::new());
    let (s, _) = w.submit(&w.t, a).await;
    assert_eq!(s, StatusCode::OK);
    // The first transcriber still sees their own work.
    let (_, own) = w.t.get(&format!("/api/segments/{a}")).await;
    assert_eq!(own["text_verbatim"], secret);

    // The second transcriber is handed A blind, and nothing shows the first pass.
    let (_, claim2) = second
        .post(&format!("/api/projects/{}/claim", w.project), json!({}))
        .await;
    assert_eq!(
        (claim2["pass"].as_i64(), claim2["segment"]["id"].as_i64()),
        (Some(2), Some(a)),
        "{claim2}"
    );
    let mut seen = everything_seen_by(&w, &second, a).await;
    let again = second
        .post(&format!("/api/projects/{}/claim", w.project), json!({}))
        .await;
    assert_eq!(again.1["segment"]["id"].as_i64(), Some(a));
    seen.push(("claim again".into(), again.0, again.1.to_string()));
    assert_eq!(leaks(&seen), Vec::<String>::new());
    let (_, mine) = second.get(&format!("/api/segments/{a}")).await;
    assert_eq!(mine["blind"], true, "{mine}");
    // The second annotator's own spans sit on their own text.
    let (s, body) = second
        .put(
            &format!("/api/segments/{a}/second-pass"),
            json!({ "text": "今天天汽很好" }),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let (s, span) = second
        .post(
            &format!("/api/segments/{a}/spans"),
            json!({ "char_start": 3, "char_end": 4, "feature": "INIT_RETRO_TO_DENTAL", "pass": 2 }),
        )
        .await;
    assert_eq!(
        (s, span["chars"].as_str()),
        (StatusCode::OK, Some("汽")),
        "{span}"
    );
    let (_, spans) = second.get(&format!("/api/segments/{a}/spans")).await;
    assert_eq!(spans["spans"].as_array().unwrap().len(), 1, "{spans}");
    // Nobody else writes the second annotator's spans; the first pass keeps its own.
    let (s, _) =
        w.t.post(
            &format!("/api/segments/{a}/spans"),
            json!({ "char_start": 0, "char_end": 1, "feature": "INIT_RETRO_TO_DENTAL", "pass": 2 }),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    assert_eq!(w.spans(a).await.len(), 2);
    assert_eq!(w.seg(a).await["text_verbatim"], secret);
}

/// SQLite's LIKE folds ASCII case and Postgres's folds none: the concordance answers alike on
/// both: text is matched exactly (the scan decides, whatever the SQL prefilter let through).
#[tokio::test]
async fn the_concordance_text_is_matched_exactly_on_both_backends() {
    let w = world().await;
    let (s, body) = w
        .save(
            &w.admin,
            w.segs[0],
            "case-1",
            json!({ "text_verbatim": "Hello 滨海 OK" }),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    for (q, n) in [
        ("text=Hello", 1),
        ("text=hello", 0),
        ("text=%E6%BB%A8%E6%B5%B7", 1),
    ] {
        let (s, body) = w
            .admin
            .get(&format!("/api/projects/{}/concordance?{q}", w.project))
            .await;
        assert_eq!(s, StatusCode::OK, "{q}: {body}");
        let hits = body["hits"].as_array().unwrap();
        let segments: std::collections::BTreeSet<_> =
            hits.iter().map(|h| h["segment_id"].as_i64()).collect();
        assert_eq!(segments.len(), n, "{q}: {body}");
    }
}
