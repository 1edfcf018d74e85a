//! Issue 14, the SQLite side of the write path: one HTTP action is one transaction (a failure
//! injected after the revision commits nothing, and the retry applies whole), submit and
//! review leave revisions, split and merge keep spans on their characters, one agreement CER,
//! unique clashes answer 409, and every rank of claim next is an indexed lookup. Driven through
//! the real app on 127.0.0.1:0; failures are injected with triggers in its database file.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use reqwest::StatusCode;
use serde_json::{Value, json};

use common::app::{Client, TestApp, ready_recording};

/// A project with one ready recording; the first VAD segment transcribed as `text` by the
/// transcriber. (project, segment, admin, transcriber, reviewer)
async fn segment_with(app: &TestApp, text: &str) -> (i64, i64, Client, Client, Client) {
    let (project, admin, t, r) = app.project("p").await;
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
    (project, seg, admin, t, r)
}

async fn seg(c: &Client, id: i64) -> Value {
    let (s, body) = c.get(&format!("/api/segments/{id}")).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    body
}

async fn span_on(c: &Client, seg: i64, start: i64, end: i64) -> i64 {
    let (s, body) = c
        .post(
            &format!("/api/segments/{seg}/spans"),
            json!({ "char_start": start, "char_end": end, "feature": "INIT_RETRO_TO_DENTAL", "realised": "si4" }),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    body["id"].as_i64().unwrap()
}

/// (segment, start, end, chars, needs_review) of a span, read from the database.
async fn span_row(app: &TestApp, id: i64) -> (i64, i64, i64, String, i64) {
    sqlx::query_as(
        "SELECT segment_id, char_start, char_end, chars, needs_review FROM span_tag WHERE id = $1",
    )
    .bind(id)
    .fetch_one(&app.state.db)
    .await
    .unwrap()
}

async fn revisions(app: &TestApp, seg: i64) -> Vec<(i64, Option<i64>, String)> {
    sqlx::query_as(
        "SELECT version, author_id, status FROM segment_revision WHERE segment_id = $1 ORDER BY version",
    )
    .bind(seg)
    .fetch_all(&app.state.db)
    .await
    .unwrap()
}

async fn exec(app: &TestApp, sql: &str) {
    sqlx::query(sql).execute(&app.state.db).await.unwrap();
}

/// Makes every update of `span_tag` fail, in the app's database (SQLite or Postgres).
async fn fail_span_updates(app: &TestApp, name: &str) {
    if fangyan::db::backend(&app.state.db) == fangyan::db::Backend::Postgres {
        exec(
            app,
            "CREATE OR REPLACE FUNCTION injected_failure() RETURNS trigger AS $$ \
             BEGIN RAISE EXCEPTION 'injected failure'; END $$ LANGUAGE plpgsql",
        )
        .await;
        let sql = format!(
            "CREATE TRIGGER {name} BEFORE UPDATE ON span_tag FOR EACH ROW EXECUTE FUNCTION injected_failure()"
        );
        exec(app, &sql).await;
    } else {
        let sql = format!(
            "CREATE TRIGGER {name} BEFORE UPDATE ON span_tag BEGIN SELECT RAISE(ABORT, 'injected failure'); END"
        );
        exec(app, &sql).await;
    }
}

async fn drop_trigger(app: &TestApp, name: &str) {
    let sql = if fangyan::db::backend(&app.state.db) == fangyan::db::Backend::Postgres {
        format!("DROP TRIGGER {name} ON span_tag")
    } else {
        format!("DROP TRIGGER {name}")
    };
    exec(app, &sql).await;
}

#[tokio::test]
async fn a_save_whose_span_reanchoring_fails_commits_nothing_and_its_retry_applies_whole() {
    let app = TestApp::spawn().await;
    let (_, id, _, t, _) = segment_with(&app, "我想问我在滨海").await;
    let span = span_on(&t, id, 3, 5).await; // 我在
    let before = seg(&t, id).await;
    let history = revisions(&app, id).await;
    // The failure comes after the save's revision was written: at the span re-anchoring.
    fail_span_updates(&app, "fail_reanchor").await;
    let save = json!({ "version": before["version"], "save_id": "s-1", "text_verbatim": "你好我想问我在滨海" });
    let (s, _) = t.put(&format!("/api/segments/{id}"), save.clone()).await;
    assert_eq!(s, StatusCode::INTERNAL_SERVER_ERROR);
    let after = seg(&t, id).await;
    assert_eq!(
        (&after["version"], &after["text_verbatim"]),
        (&before["version"], &before["text_verbatim"]),
        "the failed save left the segment as it was"
    );
    assert_eq!(revisions(&app, id).await, history, "no revision of it");
    assert_eq!(span_row(&app, span).await.1, 3);

    drop_trigger(&app, "fail_reanchor").await;
    let (s, body) = t.put(&format!("/api/segments/{id}"), save).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(body["text_verbatim"], "你好我想问我在滨海");
    assert_eq!(
        span_row(&app, span).await,
        (id, 5, 7, "我在".to_string(), 0),
        "the retry re-anchored the span"
    );
    assert_eq!(revisions(&app, id).await.len(), history.len() + 1);
}

#[tokio::test]
async fn a_split_whose_span_move_fails_commits_nothing() {
    let app = TestApp::spawn().await;
    let (_, id, _, t, _) = segment_with(&app, "我想问我在滨海").await;
    span_on(&t, id, 4, 6).await;
    let s0 = seg(&t, id).await;
    fail_span_updates(&app, "fail_move").await;
    let at = (s0["start_sample"].as_i64().unwrap() + s0["end_sample"].as_i64().unwrap()) / 2;
    let body = json!({ "version": s0["version"], "save_id": "split-1", "at_sample": at, "text_offset": 3 });
    let (s, _) = t
        .post(&format!("/api/segments/{id}/split"), body.clone())
        .await;
    assert_eq!(s, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(seg(&t, id).await["version"], s0["version"]);
    drop_trigger(&app, "fail_move").await;
    let (s, out) = t.post(&format!("/api/segments/{id}/split"), body).await;
    assert_eq!(s, StatusCode::OK, "{out}");
    assert_eq!(out["segments"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn submit_and_review_write_revisions_and_throughput_counts_submitted_segments() {
    let app = TestApp::spawn().await;
    let (project, admin, t, reviewer) = app.project("p").await;
    let rec = ready_recording(&app, &admin, project).await;
    let (_, segs) = t.get(&format!("/api/recordings/{rec}/segments")).await;
    let ids: Vec<i64> = segs["segments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids.len(), 2);
    // The VAD's segments start with a revision by nobody.
    for &id in &ids {
        assert_eq!(revisions(&app, id).await, [(1, None, "new".to_string())]);
    }
    let t_id: i64 = sqlx::query_scalar("SELECT id FROM app_user WHERE name = 'p-transcriber'")
        .fetch_one(&app.state.db)
        .await
        .unwrap();
    let r_id: i64 = sqlx::query_scalar("SELECT id FROM app_user WHERE name = 'p-reviewer'")
        .fetch_one(&app.state.db)
        .await
        .unwrap();
    for (n, &id) in ids.iter().enumerate() {
        let (s, saved) = t
            .put(
                &format!("/api/segments/{id}"),
                json!({ "version": 1, "save_id": format!("s{n}"), "text_verbatim": "我想问" }),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{saved}");
        let (s, sub) = t
            .post(
                &format!("/api/segments/{id}/submit"),
                json!({ "version": saved["version"] }),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{sub}");
    }
    let (s, rv) = reviewer
        .post(
            &format!("/api/segments/{}/review", ids[0]),
            json!({ "verdict": "approved" }),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{rv}");
    assert_eq!(
        revisions(&app, ids[0]).await,
        [
            (1, None, "new".to_string()),
            (2, Some(t_id), "in_progress".to_string()),
            (3, Some(t_id), "submitted".to_string()),
            (4, Some(r_id), "approved".to_string()),
        ]
    );
    // The review judged the submitted revision, not its own.
    let judged: i64 = sqlx::query_scalar(
        "SELECT v.version FROM review w JOIN segment_revision v ON v.id = w.revision_id",
    )
    .fetch_one(&app.state.db)
    .await
    .unwrap();
    assert_eq!(judged, 3);
    let (_, tp) = admin
        .get(&format!("/api/projects/{project}/throughput"))
        .await;
    let me = tp["people"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["user"] == "p-transcriber")
        .unwrap()
        .clone();
    assert_eq!(me["segments"], 2, "{tp}");
}

#[tokio::test]
async fn split_moves_spans_to_the_part_holding_their_characters_and_clips_a_crossing_one() {
    let app = TestApp::spawn().await;
    let (_, id, _, t, _) = segment_with(&app, "我想问我在滨海").await;
    let first = span_on(&t, id, 0, 2).await; // 我想
    let second = span_on(&t, id, 5, 7).await; // 滨海
    let crossing = span_on(&t, id, 2, 4).await; // 问我
    let s0 = seg(&t, id).await;
    let at = (s0["start_sample"].as_i64().unwrap() + s0["end_sample"].as_i64().unwrap()) / 2;
    let (s, out) = t
        .post(
            &format!("/api/segments/{id}/split"),
            json!({ "version": s0["version"], "save_id": "split", "at_sample": at, "text_offset": 3 }),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{out}");
    let new = out["segments"][1]["id"].as_i64().unwrap();
    assert_eq!(out["segments"][1]["text_verbatim"], "我在滨海");
    assert_eq!(span_row(&app, first).await, (id, 0, 2, "我想".into(), 0));
    assert_eq!(span_row(&app, second).await, (new, 2, 4, "滨海".into(), 0));
    assert_eq!(
        span_row(&app, crossing).await,
        (id, 2, 3, "问".into(), 1),
        "clipped to the first part and flagged"
    );
}

#[tokio::test]
async fn merge_shifts_the_second_segments_spans_onto_the_merged_text() {
    let app = TestApp::spawn().await;
    let (project, admin, t, _) = app.project("p").await;
    let rec = ready_recording(&app, &admin, project).await;
    let (_, segs) = t.get(&format!("/api/recordings/{rec}/segments")).await;
    let ids: Vec<i64> = segs["segments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_i64().unwrap())
        .collect();
    for (id, text) in [(ids[0], "ask not"), (ids[1], "what you")] {
        let (s, b) = t
            .put(
                &format!("/api/segments/{id}"),
                json!({ "version": 1, "save_id": format!("t{id}"), "text_verbatim": text }),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{b}");
    }
    let kept = span_on(&t, ids[0], 4, 7).await; // not
    let moved = span_on(&t, ids[1], 5, 8).await; // you
    let v = seg(&t, ids[0]).await["version"].clone();
    let (s, out) = t
        .post(
            &format!("/api/segments/{}/merge", ids[0]),
            json!({ "version": v, "save_id": "merge" }),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{out}");
    assert_eq!(out["segments"][0]["text_verbatim"], "ask not what you");
    assert_eq!(span_row(&app, kept).await, (ids[0], 4, 7, "not".into(), 0));
    // "ask not" (7) + the space: "you" starts at 13.
    assert_eq!(
        span_row(&app, moved).await,
        (ids[0], 13, 16, "you".into(), 0)
    );
    let (_, spans) = t.get(&format!("/api/segments/{}/spans", ids[0])).await;
    assert_eq!(spans["spans"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn both_agreement_endpoints_score_with_the_projects_normaliser() {
    let app = TestApp::spawn().await;
    let (project, admin, first, reviewer) = app.project("p").await;
    ready_recording(&app, &admin, project).await;
    app.user("second").await;
    let (s, _) = admin
        .post(
            &format!("/api/projects/{project}/members"),
            json!({ "user": "second", "role": "transcriber" }),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let second = app.login("second").await;
    // Punctuation counts in this project: the default normaliser would strip it.
    let (s, body) = admin
        .patch(
            &format!("/api/projects/{project}"),
            json!({ "second_pass_share": 1.0, "conventions": { "normalise": { "punct": false } } }),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let (_, claim) = first
        .post(&format!("/api/projects/{project}/claim"), json!({}))
        .await;
    let a = claim["segment"]["id"].as_i64().unwrap();
    let (_, saved) = first
        .put(
            &format!("/api/segments/{a}"),
            json!({ "version": claim["segment"]["version"], "save_id": "a1", "text_verbatim": "今天天气很好。" }),
        )
        .await;
    let (s, _) = first
        .post(
            &format!("/api/segments/{a}/submit"),
            json!({ "version": saved["version"] }),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let (_, claim2) = second
        .post(&format!("/api/projects/{project}/claim"), json!({}))
        .await;
    assert_eq!(claim2["pass"], 2, "{claim2}");
    let (s, _) = second
        .put(
            &format!("/api/segments/{a}/second-pass"),
            json!({ "text": "今天天气很好", "submit": true }),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let (_, tasks) = reviewer
        .get(&format!("/api/projects/{project}/agreement"))
        .await;
    let (_, summary) = reviewer
        .get(&format!("/api/projects/{project}/agreement/summary"))
        .await;
    let cer = tasks["cer"].as_f64().unwrap();
    assert!(cer > 0.0, "the kept full stop is an error: {tasks}");
    assert_eq!(tasks["cer"], summary["cer"], "{tasks} {summary}");
}

#[tokio::test]
async fn a_unique_clash_answers_409_with_a_stable_code_not_500() {
    let app = TestApp::spawn().await;
    let (project, admin, t, _) = app.project("p").await;
    let rec = ready_recording(&app, &admin, project).await;
    let (_, segs) = t.get(&format!("/api/recordings/{rec}/segments")).await;
    let ids: Vec<i64> = segs["segments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_i64().unwrap())
        .collect();
    // A constraint the schema does not have, so that the second write clashes in the database.
    exec(
        &app,
        "CREATE UNIQUE INDEX one_variety_per_value ON segment_tag (field, value)",
    )
    .await;
    let tags = json!({ "tags": { "variety": "cmn-std" } });
    let (s, body) = t
        .put(&format!("/api/segments/{}/tags", ids[0]), tags.clone())
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let (s, body) = t.put(&format!("/api/segments/{}/tags", ids[1]), tags).await;
    assert_eq!(
        (s, body["error"]["code"].as_str()),
        (StatusCode::CONFLICT, Some("already_exists")),
        "{body}"
    );
}

#[tokio::test]
async fn speakers_imported_twice_by_code_are_one_speaker() {
    let app = TestApp::spawn().await;
    let (project, admin, _, _) = app.project("p").await;
    let csv = "code,gender\nS01,f\n";
    for expected in [
        json!({ "created": 1, "updated": 0 }),
        json!({ "created": 0, "updated": 1 }),
    ] {
        let r = admin
            .http
            .post(format!(
                "{}/api/projects/{project}/speakers/import",
                admin.base
            ))
            .header("content-type", "text/csv")
            .body(csv)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        assert_eq!(r.json::<Value>().await.unwrap(), expected);
    }
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM speaker")
        .fetch_one(&app.state.db)
        .await
        .unwrap();
    assert_eq!(n, 1);
}

#[tokio::test]
async fn every_rank_of_claim_next_is_an_indexed_lookup_without_a_sort() {
    use fangyan::tasks::{claim, second_pass};
    let app = TestApp::spawn().await;
    if fangyan::db::backend(&app.state.db) == fangyan::db::Backend::Postgres {
        // Postgres plans by table statistics (a small table is scanned whatever the indexes);
        // its claim speed is measured by `cargo bench --bench claim` on a million segments.
        eprintln!("EXPLAIN QUERY PLAN is SQLite's: checked on the SQLite pass");
        return;
    }
    app.project("p").await;
    for (name, sql, binds) in [
        ("rejected to me", claim::REJECTED_TO_ME, 2),
        ("mine open", claim::MINE_OPEN, 3),
        ("abandoned", claim::ABANDONED, 2),
        ("first unassigned", claim::FIRST_UNASSIGNED, 1),
        ("second pass, mine", second_pass::MINE, 3),
        ("second pass, free", second_pass::FREE, 4),
    ] {
        let explain = format!("EXPLAIN QUERY PLAN {sql}");
        let mut q = sqlx::query_as::<_, (i64, i64, i64, String)>(&explain);
        for _ in 0..binds {
            q = q.bind(1_i64);
        }
        let plan: Vec<String> = q
            .fetch_all(&app.state.db)
            .await
            .unwrap()
            .into_iter()
            .map(|r| r.3)
            .collect();
        let text = plan.join("\n");
        for line in &plan {
            assert!(
                !line.starts_with("SCAN"),
                "{name}: a full scan (of a table or an index)\n{text}"
            );
            assert!(!line.contains("TEMP B-TREE"), "{name}: a sort\n{text}");
        }
        // Segments are reached through one of the indexes for claims, never by scanning.
        assert!(
            plan.iter().any(|l| l.contains("segment_by_assignee")
                || l.contains("segment_abandoned")
                || l.contains("segment_unassigned")
                || l.contains("segment_done")
                || l.contains("second_pass_by_assignee")),
            "{name}: no claim index\n{text}"
        );
    }
}

#[tokio::test]
async fn a_lease_is_conditional_so_a_claim_that_lost_the_race_gets_nothing() {
    let app = TestApp::spawn().await;
    let (project, admin, t, _) = app.project("p").await;
    ready_recording(&app, &admin, project).await;
    let (_, claim) = t
        .post(&format!("/api/projects/{project}/claim"), json!({}))
        .await;
    let id = claim["segment"]["id"].as_i64().unwrap();
    let admin_id: i64 = sqlx::query_scalar("SELECT id FROM app_user WHERE name = 'p-admin'")
        .fetch_one(&app.state.db)
        .await
        .unwrap();
    // As a second claim that found the same segment before the first one's lease landed.
    let now = fangyan::db::now_ms();
    let mut tx = fangyan::db::begin_write(&app.state.db).await.unwrap();
    let taken = fangyan::segments::write::lease(&mut tx, id, admin_id, now, now + 1000)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert!(!taken, "a live lease of someone else is not taken over");
    let (_, other) = admin
        .post(&format!("/api/projects/{project}/claim"), json!({}))
        .await;
    assert_ne!(other["segment"]["id"].as_i64(), Some(id), "{other}");
}

#[tokio::test]
async fn a_lapsed_lease_is_claimed_first_and_a_held_segment_without_a_lease_is_not_lost() {
    let app = TestApp::spawn().await;
    let (project, admin, t, _) = app.project("p").await;
    ready_recording(&app, &admin, project).await;
    let claim = format!("/api/projects/{project}/claim");
    let (_, first) = t.post(&claim, json!({})).await;
    let lapsed = first["segment"]["id"].as_i64().unwrap();
    // The transcriber walked away: the lease ran out. The next claim by anyone takes it over
    // before unassigned work.
    sqlx::query("UPDATE segment SET lease_until = 1 WHERE id = $1")
        .bind(lapsed)
        .execute(&app.state.db)
        .await
        .unwrap();
    let (_, next) = admin.post(&claim, json!({})).await;
    assert_eq!(next["segment"]["id"].as_i64(), Some(lapsed), "{next}");
    // A held open segment with no lease at all (a rejected segment edited by an admin keeps
    // its transcriber) is work too, not invisible to every rank.
    sqlx::query("UPDATE segment SET lease_until = NULL WHERE id = $1")
        .bind(lapsed)
        .execute(&app.state.db)
        .await
        .unwrap();
    let (_, again) = t.post(&claim, json!({})).await;
    assert_eq!(again["segment"]["id"].as_i64(), Some(lapsed), "{again}");
}

#[tokio::test]
async fn a_claim_that_finds_every_free_segment_locked_answers_503_claim_contended() {
    let app = TestApp::spawn().await;
    if fangyan::db::backend(&app.state.db) != fangyan::db::Backend::Postgres {
        // SQLite's claims run one at a time under the write lock: none is ever skipped.
        eprintln!("row locks are Postgres's: checked on the Postgres pass");
        return;
    }
    let (project, admin, t, _) = app.project("p").await;
    ready_recording(&app, &admin, project).await;
    // Other claims in flight hold every free segment (their transactions have not ended).
    let mut hold = app.state.db.begin().await.unwrap();
    let held: Vec<i64> = sqlx::query_scalar(
        "SELECT s.id FROM segment s JOIN recording r ON r.id = s.recording_id \
         WHERE r.project_id = $1 AND s.deleted = 0 FOR UPDATE OF s",
    )
    .bind(project)
    .fetch_all(&mut *hold)
    .await
    .unwrap();
    assert!(!held.is_empty());
    let (status, body) = t
        .post(&format!("/api/projects/{project}/claim"), json!({}))
        .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (StatusCode::SERVICE_UNAVAILABLE, Some("claim_contended")),
        "work is there, only busy: not an empty queue\n{body}"
    );
    hold.rollback().await.unwrap();
    let (status, body) = t
        .post(&format!("/api/projects/{project}/claim"), json!({}))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(
        held.contains(&body["segment"]["id"].as_i64().unwrap()),
        "{body}"
    );
}
