//! Issue 17, point 2: the review loop closed. A rejection with a comment comes back to its
//! transcriber first, with the comment on the segment and as the first comment of its thread;
//! threads have replies and unread counts per user; a reopened approved segment returns to its
//! transcriber with a revision; the dashboard shows each transcriber's rejection rate and
//! reviewer-corrected CER over time. Driven through the HTTP API of the real app.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use reqwest::StatusCode;
use serde_json::{Value, json};

use common::app::{Client, TestApp, ready_recording};

/// A project with one ready recording (two VAD segments) and its three members.
async fn world() -> (TestApp, i64, Client, Client, Client) {
    let app = TestApp::spawn().await;
    let (project, admin, t, reviewer) = app.project("p").await;
    ready_recording(&app, &admin, project).await;
    (app, project, admin, t, reviewer)
}

async fn claim(c: &Client, project: i64) -> Value {
    let (s, body) = c
        .post(&format!("/api/projects/{project}/claim"), json!({}))
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    body["segment"].clone()
}

/// Saves `text` on a claimed segment and submits it.
async fn submit(c: &Client, seg: &Value, text: &str) {
    let id = seg["id"].as_i64().unwrap();
    let (s, saved) = c
        .put(
            &format!("/api/segments/{id}"),
            json!({ "version": seg["version"], "save_id": format!("s-{id}-{text}"), "text_verbatim": text }),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{saved}");
    let (s, body) = c
        .post(
            &format!("/api/segments/{id}/submit"),
            json!({ "version": saved["version"] }),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
}

async fn decide(reviewer: &Client, id: i64, verdict: &str, comment: &str) {
    let (s, body) = reviewer
        .post(
            &format!("/api/segments/{id}/review"),
            json!({ "verdict": verdict, "comment": comment }),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
}

async fn unread_total(c: &Client, project: i64) -> i64 {
    let (s, body) = c
        .get(&format!("/api/projects/{project}/comments/unread"))
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    body["total"].as_i64().unwrap()
}

#[tokio::test]
async fn a_rejection_with_a_comment_is_the_transcribers_next_claim_and_shows_its_comment() {
    let (_app, project, _admin, t, reviewer) = world().await;
    let first = claim(&t, project).await;
    let a = first["id"].as_i64().unwrap();
    submit(&t, &first, "我想问四").await;
    // The transcriber moves on: the second segment is their own open work now.
    let second = claim(&t, project).await;
    assert_ne!(second["id"], a);
    decide(&reviewer, a, "rejected", "是, not 四").await;

    let back = claim(&t, project).await;
    assert_eq!(
        back["id"], a,
        "rejected work comes back before one's own open work"
    );
    assert_eq!(back["status"], "rejected");
    assert_eq!(back["last_review"]["verdict"], "rejected", "{back}");
    assert_eq!(back["last_review"]["comment"], "是, not 四");
    assert_eq!(back["last_review"]["reviewer_name"], "p-reviewer");
    // The editor's load of the segment and the recording's list carry it too.
    let (_, one) = t.get(&format!("/api/segments/{a}")).await;
    assert_eq!(one["last_review"]["comment"], "是, not 四", "{one}");
    let (_, list) = t
        .get(&format!("/api/recordings/{}/segments", one["recording_id"]))
        .await;
    let listed = list["segments"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == a)
        .unwrap();
    assert_eq!(listed["last_review"]["verdict"], "rejected");
    // And the comment is the first of the segment's thread.
    let (s, thread) = t.get(&format!("/api/segments/{a}/comments")).await;
    assert_eq!(s, StatusCode::OK, "{thread}");
    assert_eq!(thread["comments"][0]["body"], "是, not 四");
    assert_eq!(thread["comments"][0]["author_name"], "p-reviewer");
}

#[tokio::test]
async fn a_thread_takes_replies_and_counts_unread_comments_per_user() {
    let (app, project, admin, t, reviewer) = world().await;
    let seg = claim(&t, project).await;
    let a = seg["id"].as_i64().unwrap();
    submit(&t, &seg, "我想问").await;
    decide(&reviewer, a, "rejected", "听一下第二个字").await;
    let thread = format!("/api/segments/{a}/comments");

    // The transcriber has one unread comment, read by reading the thread.
    assert_eq!(unread_total(&t, project).await, 1);
    let (_, body) = t
        .get(&format!("/api/projects/{project}/comments/unread"))
        .await;
    assert_eq!(body["segments"][0]["segment_id"], a, "{body}");
    assert_eq!(body["segments"][0]["unread"], 1);
    t.get(&thread).await;
    assert_eq!(unread_total(&t, project).await, 0);
    assert_eq!(
        unread_total(&reviewer, project).await,
        0,
        "one's own comment is read"
    );

    // The reply reaches the reviewer.
    let (s, reply) = t.post(&thread, json!({ "body": "听了，是「想」" })).await;
    assert_eq!(s, StatusCode::OK, "{reply}");
    assert_eq!(reply["author_name"], "p-transcriber");
    assert_eq!(unread_total(&reviewer, project).await, 1);
    assert_eq!(unread_total(&t, project).await, 0);
    let (_, body) = reviewer.get(&thread).await;
    let bodies: Vec<&str> = body["comments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["body"].as_str().unwrap())
        .collect();
    assert_eq!(bodies, ["听一下第二个字", "听了，是「想」"]);
    assert_eq!(unread_total(&reviewer, project).await, 0);

    // Hostile bodies are 400s with stable codes.
    for (body, code) in [
        (json!({ "body": "" }), "invalid_comment"),
        (json!({ "body": "  \n " }), "invalid_comment"),
        (json!({ "body": "a".repeat(4001) }), "comment_too_long"),
        (json!({ "body": "bell\u{7}" }), "control_character"),
        (json!({ "text": "x" }), "invalid_body"),
    ] {
        let (s, e) = t.post(&thread, body).await;
        assert_eq!(
            (s, e["error"]["code"].as_str()),
            (StatusCode::BAD_REQUEST, Some(code)),
            "{e}"
        );
    }
    let (s, _) = t.post(&thread, json!({ "body": "好".repeat(4000) })).await;
    assert_eq!(s, StatusCode::OK, "4000 characters are allowed");
    // A review comment is checked the same way.
    let (s, e) = reviewer
        .post(
            &format!("/api/segments/{a}/review"),
            json!({ "verdict": "rejected", "comment": "x".repeat(4001) }),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{e}");

    // Approved segments keep their thread open.
    let back = claim(&t, project).await;
    submit(&t, &back, "我想问是").await;
    decide(&reviewer, a, "approved", "").await;
    let (s, _) = reviewer.post(&thread, json!({ "body": "好的" })).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(unread_total(&t, project).await, 1);

    // Someone outside the project sees no thread.
    app.user("stranger").await;
    let stranger = app.login("stranger").await;
    let (s, _) = stranger.get(&thread).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _) = stranger.post(&thread, json!({ "body": "hi" })).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _) = stranger
        .get(&format!("/api/projects/{project}/comments/unread"))
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let _ = admin;
}

#[tokio::test]
async fn a_reopened_segment_goes_back_to_its_transcriber_first_with_a_revision() {
    let (app, project, admin, t, reviewer) = world().await;
    app.user("p-t2").await;
    let (s, _) = admin
        .post(
            &format!("/api/projects/{project}/members"),
            json!({ "user": "p-t2", "role": "transcriber" }),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let t2 = app.login("p-t2").await;

    let seg = claim(&t, project).await;
    let a = seg["id"].as_i64().unwrap();
    submit(&t, &seg, "我想问").await;
    decide(&reviewer, a, "approved", "").await;
    let other = claim(&t, project).await;
    assert_ne!(other["id"], a, "the transcriber has other open work");

    let revisions = |c: &Client| {
        let c = c.http.clone();
        let url = format!("{}/api/segments/{a}/revisions", app.base);
        async move {
            let r: Value = c.get(url).send().await.unwrap().json().await.unwrap();
            r["revisions"].as_array().unwrap().clone()
        }
    };
    let before = revisions(&admin).await.len();
    let (s, body) = reviewer
        .post(&format!("/api/segments/{a}/reopen"), json!({}))
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(body["status"], "rejected", "back to its transcriber");
    let after = revisions(&admin).await;
    assert_eq!(after.len(), before + 1, "a reopen leaves a revision");
    assert_eq!(after.last().unwrap()["status"], "rejected");
    assert_eq!(after.last().unwrap()["author_name"], "p-reviewer");

    // Another transcriber is not handed it; its transcriber is, before their open work.
    let theirs = claim(&t2, project).await;
    assert_ne!(theirs["id"], a);
    let back = claim(&t, project).await;
    assert_eq!(back["id"], a);
    // Reopening twice is a 409 with its code.
    let (s, e) = reviewer
        .post(&format!("/api/segments/{a}/reopen"), json!({}))
        .await;
    assert_eq!(
        (s, e["error"]["code"].as_str()),
        (StatusCode::CONFLICT, Some("not_approved")),
        "{e}"
    );
}

#[tokio::test]
async fn the_dashboard_shows_rejection_rate_and_reviewer_corrected_cer_per_transcriber() {
    let (_app, project, admin, t, reviewer) = world().await;
    let seg = claim(&t, project).await;
    let a = seg["id"].as_i64().unwrap();
    submit(&t, &seg, "我想问四").await;
    decide(&reviewer, a, "rejected", "是").await;
    let back = claim(&t, project).await;
    submit(&t, &back, "我想问是").await;
    decide(&reviewer, a, "approved", "").await;
    let seg = claim(&t, project).await;
    let b = seg["id"].as_i64().unwrap();
    submit(&t, &seg, "好的").await;
    decide(&reviewer, b, "approved", "").await;

    let (s, body) = admin
        .get(&format!("/api/projects/{project}/quality?bucket=day"))
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(body["bucket"], "day");
    let rows = body["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 1, "{body}");
    let row = &rows[0];
    assert_eq!(row["user"], "p-transcriber");
    assert_eq!(row["reviews"], 3);
    assert_eq!(row["rejections"], 1);
    assert!((row["rejection_rate"].as_f64().unwrap() - 1.0 / 3.0).abs() < 1e-9);
    assert_eq!(row["approved_segments"], 2);
    // 我想问四 against the approved 我想问是, and 好的 approved as handed in: 1 error in 6.
    assert_eq!(
        (row["n"].as_i64(), row["errors"].as_i64()),
        (Some(6), Some(1)),
        "{row}"
    );
    assert!(row["bucket"].as_str().unwrap().len() == 10);

    let (s, weekly) = reviewer
        .get(&format!("/api/projects/{project}/quality"))
        .await;
    assert_eq!(
        (s, weekly["bucket"].as_str()),
        (StatusCode::OK, Some("week"))
    );
    let (s, ctype, csv) = admin
        .get_text(&format!("/api/projects/{project}/quality?format=csv"))
        .await;
    assert_eq!(s, StatusCode::OK);
    assert!(ctype.starts_with("text/csv"), "{ctype}");
    assert!(
        csv.trim_start_matches('\u{feff}')
            .starts_with("user_id,user,bucket"),
        "{csv}"
    );
    // Transcribers do not see the others' quality; bad buckets are 400s.
    let (s, _) = t.get(&format!("/api/projects/{project}/quality")).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, e) = admin
        .get(&format!("/api/projects/{project}/quality?bucket=year"))
        .await;
    assert_eq!(
        (s, e["error"]["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_query"))
    );
}

/// Issue 17, point 4: guidelines in versions; only the project's admins write them; members
/// acknowledge the version in force, and a new version asks them again.
#[tokio::test]
async fn guidelines_are_versioned_admin_written_and_acknowledged_per_version() {
    let app = TestApp::spawn().await;
    let (project, admin, t, _) = app.project("p").await;
    let path = format!("/api/projects/{project}/guidelines");
    let (s, none) = t.get(&path).await;
    assert_eq!(s, StatusCode::OK, "{none}");
    assert_eq!(
        (none["version"].as_i64(), none["needs_ack"].as_bool()),
        (Some(0), Some(false))
    );
    assert_eq!(none["can_edit"], false);

    let body = "# 转写规范\n\n- 方言字照实写\n- <b>HTML</b> 原样保存";
    let (s, refused) = t
        .put(&path, json!({ "base_version": 0, "body": body }))
        .await;
    assert_eq!(
        s,
        StatusCode::FORBIDDEN,
        "a transcriber cannot write them: {refused}"
    );
    let (s, v1) = admin
        .put(&path, json!({ "base_version": 0, "body": body }))
        .await;
    assert_eq!(s, StatusCode::OK, "{v1}");
    assert_eq!(
        (v1["version"].as_i64(), v1["body"].as_str()),
        (Some(1), Some(body))
    );
    assert_eq!(
        v1["needs_ack"], false,
        "the author has read what they wrote"
    );

    // A second admin edit from the same base is refused, not an overwrite.
    let (s, stale) = admin
        .put(&path, json!({ "base_version": 0, "body": "other" }))
        .await;
    assert_eq!(
        (s, stale["error"]["code"].as_str()),
        (StatusCode::CONFLICT, Some("guideline_conflict"))
    );
    let (s, bad) = admin
        .put(&path, json!({ "base_version": 1, "body": "a\u{7}b" }))
        .await;
    assert_eq!(
        (s, bad["error"]["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("control_character"))
    );

    let (_, seen) = t.get(&path).await;
    assert_eq!(
        (seen["version"].as_i64(), seen["needs_ack"].as_bool()),
        (Some(1), Some(true))
    );
    let ack = format!("{path}/ack");
    let (s, acked) = t.post(&ack, json!({ "version": 1 })).await;
    assert_eq!(s, StatusCode::OK, "{acked}");
    assert_eq!(
        (acked["acknowledged"].as_i64(), acked["needs_ack"].as_bool()),
        (Some(1), Some(false))
    );

    let (s, v2) = admin
        .put(&path, json!({ "base_version": 1, "body": "# v2" }))
        .await;
    assert_eq!((s, v2["version"].as_i64()), (StatusCode::OK, Some(2)));
    let (_, again) = t.get(&path).await;
    assert_eq!(
        again["needs_ack"], true,
        "a new version asks again: {again}"
    );
    let (s, old) = t.post(&ack, json!({ "version": 1 })).await;
    assert_eq!(
        (s, old["error"]["code"].as_str()),
        (StatusCode::CONFLICT, Some("guideline_outdated"))
    );
    let rows: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM guideline WHERE project_id = $1")
        .bind(project)
        .fetch_one(&app.state.db)
        .await
        .unwrap();
    assert_eq!(rows, 2, "versions are kept, never rewritten");
    // Non-members see nothing.
    app.user("stranger").await;
    let stranger = app.login("stranger").await;
    assert_eq!(stranger.get(&path).await.0, StatusCode::NOT_FOUND);
}
