//! The HTTP API against the real app: spawned on 127.0.0.1:0 with a fresh data directory per
//! test, driven through a `TestApp` with typed helpers. Background jobs are drained, never
//! waited for with sleeps.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use std::collections::HashSet;
use std::path::Path;
use std::sync::Arc;

use fangyan::app::{AppState, Config};
use reqwest::StatusCode;
use serde_json::{Value, json};

use common::app::{Client, TestApp, ready_recording};

#[tokio::test]
async fn login_errors_share_one_shape_and_are_throttled() {
    let app = TestApp::spawn().await;
    app.user("ana").await;
    let http = reqwest::Client::new();
    let (_, anon) = Client {
        http: http.clone(),
        base: app.base.clone(),
    }
    .get("/api/projects")
    .await;
    assert_eq!(anon["error"]["code"], "unauthenticated");
    let mut last = StatusCode::OK;
    for _ in 0..6 {
        let r = http
            .post(format!("{}/api/login", app.base))
            .json(&json!({ "name": "ana", "password": "wrong" }))
            .send()
            .await
            .unwrap();
        last = r.status();
        let body: Value = r.json().await.unwrap();
        assert!(body["error"]["code"].is_string() && body["error"]["message"].is_string());
    }
    assert_eq!(last, StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test]
async fn upload_ingests_and_the_vad_makes_the_first_segments() {
    let app = TestApp::spawn().await;
    let (project, admin, transcriber, _) = app.project("p").await;
    let id = ready_recording(&app, &admin, project).await;
    let (_, segs) = transcriber
        .get(&format!("/api/recordings/{id}/segments"))
        .await;
    let segs = segs["segments"].as_array().unwrap();
    assert_eq!(segs.len(), 2, "{segs:?}");
    // 0.855 s at 16 kHz, sample-exact.
    assert_eq!(segs[0]["start_sample"], 13_680);
    let (s, peaks) = transcriber
        .get(&format!(
            "/api/recordings/{id}/peaks?start=0&end=96000&width=100"
        ))
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(peaks["min"].as_array().unwrap().len(), 100);

    // Not audio: refused at once with the ingest code, no recording left behind.
    let (s, body) = admin
        .upload(project, &common::fixture("bad/not-audio/png_named.wav"))
        .await;
    assert_eq!(s, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(body["error"]["code"], "not_audio");
    // A transcriber cannot import.
    let (s, _) = transcriber
        .upload(project, &common::fixture("real/zh-funasr-binhai-query.wav"))
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn members_of_one_project_get_404_for_another() {
    let app = TestApp::spawn().await;
    let (a, admin_a, _, _) = app.project("a").await;
    let (b, admin_b, _, _) = app.project("b").await;
    let rec_b = ready_recording(&app, &admin_b, b).await;
    for path in [
        format!("/api/projects/{b}/recordings"),
        format!("/api/recordings/{rec_b}"),
        format!("/api/recordings/{rec_b}/segments"),
        format!("/api/recordings/{rec_b}/peaks?start=0&end=10&width=1"),
    ] {
        let (s, body) = admin_a.get(&path).await;
        assert_eq!(s, StatusCode::NOT_FOUND, "{path}: {body}");
        assert_eq!(body["error"]["code"], "not_found");
    }
    let (s, _) = admin_a.get(&format!("/api/projects/{a}/recordings")).await;
    assert_eq!(s, StatusCode::OK);
}

#[tokio::test]
async fn saves_are_versioned_idempotent_and_reviewers_cannot_edit() {
    let app = TestApp::spawn().await;
    let (project, admin, t, reviewer) = app.project("p").await;
    let rec = ready_recording(&app, &admin, project).await;
    let (_, segs) = t.get(&format!("/api/recordings/{rec}/segments")).await;
    let seg = segs["segments"][0]["id"].as_i64().unwrap();
    let path = format!("/api/segments/{seg}");
    let save = json!({ "version": 1, "save_id": "s-1", "text_verbatim": "我想问我" });
    let (s, first) = t.put(&path, save.clone()).await;
    assert_eq!((s, first["version"].as_i64()), (StatusCode::OK, Some(2)));
    // The same save again (a retry after a lost response) is applied once.
    let (s, again) = t.put(&path, save).await;
    assert_eq!((s, again["version"].as_i64()), (StatusCode::OK, Some(2)));
    // A stale version gets 409 and the current state.
    let (s, stale) = t
        .put(
            &path,
            json!({ "version": 1, "save_id": "s-2", "text_verbatim": "x" }),
        )
        .await;
    assert_eq!(s, StatusCode::CONFLICT);
    assert_eq!(stale["error"]["current"]["text_verbatim"], "我想问我");
    // Bounds are validated against the recording.
    let (s, body) = t
        .put(
            &path,
            json!({ "version": 2, "save_id": "s-3", "end_sample": 96_001 }),
        )
        .await;
    assert_eq!(
        (s, body["error"]["field"].as_str()),
        (StatusCode::BAD_REQUEST, Some("start_sample"))
    );
    let (s, _) = reviewer
        .put(
            &path,
            json!({ "version": 2, "save_id": "s-4", "text_verbatim": "y" }),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (_, revs) = t.get(&format!("{path}/revisions")).await;
    assert_eq!(
        revs["revisions"].as_array().unwrap().len(),
        2,
        "only the VAD's first revision and the accepted save are history: {revs}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn eight_concurrent_editors_lose_no_acknowledged_save() {
    let app = TestApp::spawn().await;
    let (project, admin, _, _) = app.project("p").await;
    let rec = ready_recording(&app, &admin, project).await;
    let mut editors = Vec::new();
    for i in 0..8 {
        let name = format!("editor{i}");
        app.user(&name).await;
        let uid = fangyan::accounts::db::user_by_name(&app.state.db, &name)
            .await
            .unwrap()
            .unwrap()
            .0;
        fangyan::projects::db::add_member(
            &app.state.db,
            project,
            uid,
            fangyan::projects::Role::Transcriber,
        )
        .await
        .unwrap();
        editors.push(Arc::new(app.login(&name).await));
    }
    let (_, segs) = admin.get(&format!("/api/recordings/{rec}/segments")).await;
    let seg = segs["segments"][0]["id"].as_i64().unwrap();
    let path = format!("/api/segments/{seg}");
    let mut tasks = Vec::new();
    for (i, client) in editors.into_iter().enumerate() {
        let path = path.clone();
        tasks.push(tokio::spawn(async move {
            let mut acknowledged = Vec::new();
            for n in 0..100 {
                let save_id = format!("e{i}-{n}");
                loop {
                    let (_, cur) = client.get(&path).await;
                    let body = json!({ "version": cur["version"], "save_id": save_id, "text_verbatim": save_id });
                    let (s, _) = client.put(&path, body).await;
                    match s {
                        StatusCode::OK => break acknowledged.push(save_id.clone()),
                        StatusCode::CONFLICT => continue,
                        other => panic!("unexpected {other}"),
                    }
                }
            }
            acknowledged
        }));
    }
    let mut acked = HashSet::new();
    for t in tasks {
        acked.extend(t.await.unwrap());
    }
    assert_eq!(acked.len(), 800);
    let (_, revs) = admin.get(&format!("{path}/revisions")).await;
    let stored: HashSet<String> = revs["revisions"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|r| r["save_id"].as_str().map(str::to_string))
        .collect();
    assert!(
        acked.is_subset(&stored),
        "{} acknowledged saves missing",
        acked.difference(&stored).count()
    );
    assert_eq!(stored.len(), 800, "each save applied exactly once");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_transcribers_claiming_at_once_never_share_a_segment() {
    let app = TestApp::spawn().await;
    let (project, admin, _, _) = app.project("p").await;
    let rec = ready_recording(&app, &admin, project).await;
    // 60 segments to claim (58 and the VAD's).
    for k in 0..58 {
        let (s, _) = admin
            .post(
                &format!("/api/recordings/{rec}/segments"),
                json!({ "start_sample": k * 1500, "end_sample": k * 1500 + 1000 }),
            )
            .await;
        assert_eq!(s, StatusCode::OK);
    }
    let mut clients = Vec::new();
    for i in 0..50 {
        let name = format!("t{i}");
        let uid = app.user(&name).await;
        fangyan::projects::db::add_member(
            &app.state.db,
            project,
            uid,
            fangyan::projects::Role::Transcriber,
        )
        .await
        .unwrap();
        clients.push(Arc::new(app.login(&name).await));
    }
    let barrier = Arc::new(tokio::sync::Barrier::new(50));
    let mut tasks = Vec::new();
    for c in &clients {
        let c = Arc::clone(c);
        let barrier = barrier.clone();
        tasks.push(tokio::spawn(async move {
            barrier.wait().await;
            let (s, body) = c
                .post(&format!("/api/projects/{project}/claim"), json!({}))
                .await;
            assert_eq!(s, StatusCode::OK);
            body["segment"]["id"].as_i64().unwrap()
        }));
    }
    let mut got = HashSet::new();
    for t in tasks {
        assert!(
            got.insert(t.await.unwrap()),
            "a segment was handed out twice"
        );
    }
    assert_eq!(got.len(), 50);
    // Claiming again resumes the same segment while the lease holds.
    let (_, first) = clients[0]
        .post(&format!("/api/projects/{project}/claim"), json!({}))
        .await;
    let (_, again) = clients[0]
        .post(&format!("/api/projects/{project}/claim"), json!({}))
        .await;
    assert_eq!(first["segment"]["id"], again["segment"]["id"]);
}

#[tokio::test]
async fn review_rules_transcribers_cannot_approve_and_nobody_approves_their_own_revision() {
    let app = TestApp::spawn().await;
    let (project, admin, t, reviewer) = app.project("p").await;
    let rec = ready_recording(&app, &admin, project).await;
    let (_, claimed) = t
        .post(&format!("/api/projects/{project}/claim"), json!({}))
        .await;
    let seg = claimed["segment"]["id"].as_i64().unwrap();
    let (s, saved) = t
        .put(
            &format!("/api/segments/{seg}"),
            json!({ "version": 1, "save_id": "a", "text_verbatim": "我想问" }),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let (s, submitted) = t
        .post(
            &format!("/api/segments/{seg}/submit"),
            json!({ "version": saved["version"] }),
        )
        .await;
    assert_eq!(
        (s, submitted["status"].as_str()),
        (StatusCode::OK, Some("submitted"))
    );

    let (_, queue) = reviewer
        .get(&format!("/api/projects/{project}/review"))
        .await;
    assert_eq!(queue["segments"][0]["id"], seg);
    // A transcriber cannot approve.
    let (s, _) = t
        .post(
            &format!("/api/segments/{seg}/review"),
            json!({ "verdict": "approved" }),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    // Rejected work goes back to its transcriber's queue.
    let (s, _) = reviewer
        .post(
            &format!("/api/segments/{seg}/review"),
            json!({ "verdict": "rejected", "comment": "是 not 四" }),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let (_, back) = t
        .post(&format!("/api/projects/{project}/claim"), json!({}))
        .await;
    assert_eq!(back["segment"]["id"], seg);
    assert_eq!(back["segment"]["status"], "rejected");

    // The admin fixes it and submits; the admin may then not approve their own revision.
    let v = back["segment"]["version"].clone();
    let (_, fixed) = admin
        .put(
            &format!("/api/segments/{seg}"),
            json!({ "version": v, "save_id": "b", "text_verbatim": "我想问是" }),
        )
        .await;
    let (_, _) = admin
        .post(
            &format!("/api/segments/{seg}/submit"),
            json!({ "version": fixed["version"] }),
        )
        .await;
    let (s, body) = admin
        .post(
            &format!("/api/segments/{seg}/review"),
            json!({ "verdict": "approved" }),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{body}");
    let (s, body) = reviewer
        .post(
            &format!("/api/segments/{seg}/review"),
            json!({ "verdict": "approved" }),
        )
        .await;
    assert_eq!(
        (s, body["segment"]["status"].as_str()),
        (StatusCode::OK, Some("approved"))
    );
    let _ = rec;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_malformed_file_uploaded_over_http_is_ready_or_a_4xx_never_a_5xx() {
    let app = TestApp::spawn().await;
    let (project, admin, _, _) = app.project("p").await;
    let root = common::fixture("bad");
    let expectations: Value =
        serde_json::from_str(&std::fs::read_to_string(root.join("expectations.json")).unwrap())
            .unwrap();
    let mut pending = Vec::new();
    let mut refused = 0;
    for f in expectations["files"].as_array().unwrap() {
        let rel = f["path"].as_str().unwrap();
        if rel == "unusual/silence_10h_8k.flac" {
            // Ten hours of follow-up analysis take minutes in the test profile; ingest of this
            // file is covered by tests/malformed.rs and tests/ingest.rs (bounded memory).
            continue;
        }
        let (s, body) = admin.upload(project, &root.join(rel)).await;
        assert!(!s.is_server_error(), "{rel}: {s} {body}");
        if s == StatusCode::ACCEPTED {
            pending.push((rel.to_string(), body["recording"].as_i64().unwrap()));
        } else {
            assert!(s.is_client_error(), "{rel}: {s}");
            assert!(
                body["error"]["code"]
                    .as_str()
                    .is_some_and(|c| !c.is_empty()),
                "{rel}: {body}"
            );
            refused += 1;
        }
    }
    app.state.jobs.drain().await;
    let mut failed_in_job = Vec::new();
    for (rel, id) in &pending {
        let (_, r) = admin.get(&format!("/api/recordings/{id}")).await;
        match r["status"].as_str() {
            Some("ready") => {}
            Some("failed") => {
                let code = r["error_code"].as_str().unwrap_or_default().to_string();
                assert!(!code.is_empty() && code != "internal", "{rel}: {r}");
                failed_in_job.push(format!("{rel}: {code}"));
            }
            other => panic!("{rel}: status {other:?}"),
        }
    }
    eprintln!(
        "{} accepted, {refused} refused at upload, {} failed while decoding: {failed_in_job:?}",
        pending.len(),
        failed_in_job.len()
    );
    // The upload check decodes up to the first audio, so nothing that is accepted fails later.
    assert!(failed_in_job.is_empty(), "{failed_in_job:?}");
}

#[tokio::test]
async fn job_progress_streams_as_server_sent_events() {
    let app = TestApp::spawn().await;
    let (project, admin, _, _) = app.project("p").await;
    let (s, body) = admin
        .upload(project, &common::fixture("real/zh-funasr-binhai-query.wav"))
        .await;
    assert_eq!(s, StatusCode::ACCEPTED);
    let job = body["job"].as_i64().unwrap();
    app.state.jobs.drain().await;
    // After the job, the stream opens with the final state and ends.
    let r = admin
        .http
        .get(format!("{}/api/jobs/{job}/events", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["content-type"], "text/event-stream");
    let text = r.text().await.unwrap();
    let data: Value = serde_json::from_str(
        text.lines()
            .find_map(|l| l.strip_prefix("data:"))
            .unwrap()
            .trim(),
    )
    .unwrap();
    assert_eq!(
        (data["status"].as_str(), data["progress"].as_f64()),
        (Some("done"), Some(1.0))
    );
    let (_, state) = admin.get(&format!("/api/jobs/{job}")).await;
    assert_eq!(state["status"], "done");
}

#[tokio::test]
async fn spectrogram_tiles_pitch_and_clips_are_served_with_cache_headers() {
    let app = TestApp::spawn().await;
    let (project, admin, t, _) = app.project("p").await;
    let rec = ready_recording(&app, &admin, project).await;
    let get = |path: String| {
        let http = t.http.clone();
        let base = t.base.clone();
        async move { http.get(format!("{base}{path}")).send().await.unwrap() }
    };
    let r = get(format!(
        "/api/recordings/{rec}/spectrogram?start=16000&end=48000&width=320&height=128"
    ))
    .await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["content-type"], "image/png");
    assert!(r.headers().contains_key("etag"));
    let png = r.bytes().await.unwrap();
    let info = png::Decoder::new(std::io::Cursor::new(png))
        .read_info()
        .unwrap();
    assert_eq!((info.info().width, info.info().height), (320, 128));
    let raw = get(format!(
        "/api/recordings/{rec}/spectrogram?start=0&end=96000&width=50&height=20&raw=true&mel=true"
    ))
    .await;
    assert_eq!(raw.bytes().await.unwrap().len(), 1000);
    let bad = get(format!(
        "/api/recordings/{rec}/spectrogram?start=0&end=96001&width=50&height=20"
    ))
    .await;
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);

    let pitch: Value = get(format!("/api/recordings/{rec}/pitch"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(pitch["times"].as_array().unwrap().len(), 601);

    let clip = get(format!("/api/recordings/{rec}/clip?start=16000&end=24000")).await;
    assert_eq!(clip.headers()["content-type"], "audio/wav");
    let wav = hound::WavReader::new(std::io::Cursor::new(clip.bytes().await.unwrap())).unwrap();
    assert_eq!((wav.spec().sample_rate, wav.duration()), (16_000, 8_000));
}

#[tokio::test]
async fn split_and_merge_keep_text_and_history() {
    let app = TestApp::spawn().await;
    let (project, admin, t, _) = app.project("p").await;
    let rec = ready_recording(&app, &admin, project).await;
    let (_, segs) = t.get(&format!("/api/recordings/{rec}/segments")).await;
    let first = &segs["segments"][0];
    let id = first["id"].as_i64().unwrap();
    let (s, saved) = t
        .put(
            &format!("/api/segments/{id}"),
            json!({ "version": 1, "save_id": "w", "text_verbatim": "我想问我在滨海" }),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let at = (first["start_sample"].as_i64().unwrap() + first["end_sample"].as_i64().unwrap()) / 2;
    let split = json!({ "version": saved["version"], "save_id": "split-1", "at_sample": at, "text_offset": 3 });
    let (s, parts) = t
        .post(&format!("/api/segments/{id}/split"), split.clone())
        .await;
    assert_eq!(s, StatusCode::OK, "{parts}");
    let parts = parts["segments"].as_array().unwrap().clone();
    assert_eq!(
        (
            parts[0]["text_verbatim"].as_str(),
            parts[1]["text_verbatim"].as_str()
        ),
        (Some("我想问"), Some("我在滨海"))
    );
    assert_eq!(
        (
            parts[0]["end_sample"].as_i64(),
            parts[1]["start_sample"].as_i64()
        ),
        (Some(at), Some(at))
    );
    // A retried split does not split twice.
    let (_, _) = t.post(&format!("/api/segments/{id}/split"), split).await;
    let (_, segs) = t.get(&format!("/api/recordings/{rec}/segments")).await;
    assert_eq!(segs["segments"].as_array().unwrap().len(), 3);
    // Merging puts them back together, with the second kept in history only.
    let (s, merged) = t
        .post(
            &format!("/api/segments/{id}/merge"),
            json!({ "version": parts[0]["version"], "save_id": "merge-1" }),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{merged}");
    assert_eq!(merged["segments"][0]["text_verbatim"], "我想问我在滨海");
    assert_eq!(merged["segments"][0]["end_sample"], first["end_sample"]);
    let (_, segs) = t.get(&format!("/api/recordings/{rec}/segments")).await;
    assert_eq!(segs["segments"].as_array().unwrap().len(), 2);
    let bad = json!({ "version": merged["segments"][0]["version"], "save_id": "split-2", "at_sample": 1, "text_offset": 0 });
    let (s, _) = t.post(&format!("/api/segments/{id}/split"), bad).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn an_ingest_cut_short_by_a_crash_resumes_at_the_next_start() {
    let dir = common::scratch();
    let (project, resumed, lost) = {
        let state = AppState::open(
            Config::new(dir.path())
                .with_database(common::database_url_for(dir.path()))
                .with_store(common::store_url_for(dir.path())),
        )
        .await
        .unwrap();
        let project = fangyan::projects::db::create(&state.db, "p").await.unwrap();
        // As the upload handler leaves it: the acknowledged upload in tmp/, a running job.
        state
            .store
            .put_file(
                "tmp/upload-crash",
                &common::fixture("real/zh-funasr-binhai-query.wav"),
            )
            .await
            .unwrap();
        let resumed = fangyan::recordings::db::create(&state.db, project, "a.wav", 16_000)
            .await
            .unwrap();
        let job = state
            .jobs
            .create(&state.db, "ingest", resumed, Some("tmp/upload-crash"))
            .await
            .unwrap();
        state
            .jobs
            .set_status(&state.db, job, "running", 0.4, None)
            .await
            .unwrap();
        // A job whose input vanished, and a partial output of the dead process.
        let lost = fangyan::recordings::db::create(&state.db, project, "b.wav", 16_000)
            .await
            .unwrap();
        state
            .jobs
            .create(&state.db, "ingest", lost, Some("tmp/upload-gone"))
            .await
            .unwrap();
        // On Postgres the next server cannot know that this one is gone until its leases run
        // out (SQLite's next server is alone on the file and takes the jobs over at once).
        if common::database_url_for(dir.path()).is_some() {
            sqlx::query("UPDATE job SET lease_until = 0")
                .execute(&state.db)
                .await
                .unwrap();
        }
        let mut partial = state.store.upload("tmp/999-1-analysis.wav").await.unwrap();
        partial.write(b"partial").await.unwrap();
        partial.finish().await.unwrap();
        (project, resumed, lost)
    };
    let state = AppState::open(
        Config::new(dir.path())
            .with_database(common::database_url_for(dir.path()))
            .with_store(common::store_url_for(dir.path())),
    )
    .await
    .unwrap();
    state.jobs.drain().await;
    let r = fangyan::recordings::db::get(&state.db, resumed)
        .await
        .unwrap();
    assert_eq!(r.status, "ready", "{r:?}");
    assert!(
        !fangyan::segments::db::list(&state.db, resumed)
            .await
            .unwrap()
            .is_empty()
    );
    let l = fangyan::recordings::db::get(&state.db, lost).await.unwrap();
    assert_eq!(
        (l.status.as_str(), l.error_code.as_deref()),
        ("failed", Some("interrupted"))
    );
    let left = state.store.list("tmp").await.unwrap();
    if common::database_url_for(dir.path()).is_none() {
        assert!(left.is_empty(), "tmp/ still holds {left:?}");
    } else {
        // Shared with other replicas: only what is an hour old goes, and the upload is gone.
        assert_eq!(left, ["tmp/999-1-analysis.wav"]);
    }
    let _ = project;
}

#[tokio::test]
async fn a_share_of_submitted_segments_goes_blind_to_a_second_transcriber_for_agreement() {
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
    let (s, body) = admin
        .patch(
            &format!("/api/projects/{project}"),
            json!({ "second_pass_share": 1.5 }),
        )
        .await;
    assert_eq!(
        (s, body["error"]["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_share"))
    );
    let (s, body) = admin
        .patch(
            &format!("/api/projects/{project}"),
            json!({ "second_pass_share": 1.0 }),
        )
        .await;
    assert_eq!(
        (s, body["second_pass_share"].as_f64()),
        (StatusCode::OK, Some(1.0)),
        "{body}"
    );

    // The first transcriber corrects and submits segment A.
    let (_, claim) = first
        .post(&format!("/api/projects/{project}/claim"), json!({}))
        .await;
    assert_eq!(claim["pass"], 1);
    let a = claim["segment"]["id"].as_i64().unwrap();
    let (s, saved) = first
        .put(
            &format!("/api/segments/{a}"),
            json!({ "version": claim["segment"]["version"], "save_id": "a1", "text_verbatim": "今天天气很好" }),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{saved}");
    let (s, _) = first
        .post(
            &format!("/api/segments/{a}/submit"),
            json!({ "version": saved["version"] }),
        )
        .await;
    assert_eq!(s, StatusCode::OK);

    // The second transcriber gets A back blind: the first text is not shown.
    let (_, claim2) = second
        .post(&format!("/api/projects/{project}/claim"), json!({}))
        .await;
    assert_eq!(
        (claim2["pass"].as_i64(), claim2["segment"]["id"].as_i64()),
        (Some(2), Some(a)),
        "{claim2}"
    );
    assert_ne!(claim2["segment"]["text_verbatim"], "今天天气很好");
    // Claiming again resumes the same pass; the first transcriber is never offered their own.
    let (_, again) = second
        .post(&format!("/api/projects/{project}/claim"), json!({}))
        .await;
    assert_eq!(
        (again["pass"].as_i64(), again["segment"]["id"].as_i64()),
        (Some(2), Some(a))
    );
    let (_, next) = first
        .post(&format!("/api/projects/{project}/claim"), json!({}))
        .await;
    assert_eq!(next["pass"], 1);
    assert_ne!(next["segment"]["id"].as_i64(), Some(a));

    let (s, _) = first
        .put(
            &format!("/api/segments/{a}/second-pass"),
            json!({ "text": "x", "submit": true }),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, body) = second
        .put(
            &format!("/api/segments/{a}/second-pass"),
            json!({ "text": "今天天汽很好", "submit": true }),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    // The segment itself is untouched by the second pass.
    let (_, seg) = reviewer.get(&format!("/api/segments/{a}")).await;
    assert_eq!(seg["text_verbatim"], "今天天气很好");

    let (s, _) = first
        .get(&format!("/api/projects/{project}/agreement"))
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, agr) = reviewer
        .get(&format!("/api/projects/{project}/agreement"))
        .await;
    assert_eq!(s, StatusCode::OK, "{agr}");
    assert_eq!(agr["segments"], 1);
    assert_eq!(agr["pairs"][0]["errors"], 1);
    assert_eq!(agr["pairs"][0]["second"]["user"], "second");
    let cer = agr["cer"].as_f64().unwrap();
    assert!((cer - 1.0 / 6.0).abs() < 1e-9, "{cer}");
}

#[tokio::test]
async fn the_openapi_document_and_the_routes_are_the_same_list() {
    let app = TestApp::spawn().await;
    let (_, admin, _, _) = app.project("p").await;
    let (s, doc) = admin.get("/api/openapi.json").await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        doc["openapi"].as_str().unwrap().starts_with("3."),
        "{}",
        doc["openapi"]
    );
    let mut operations = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        let concrete = path
            .split('/')
            .map(|p| if p.starts_with('{') { "987654" } else { p })
            .collect::<Vec<_>>()
            .join("/");
        for method in item.as_object().unwrap().keys() {
            let m = reqwest::Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            operations += 1;
            let r = admin
                .http
                .request(m, format!("{}{concrete}", app.base))
                .json(&json!({}))
                .send()
                .await
                .unwrap();
            let status = r.status();
            let body: Value = r.json().await.unwrap_or(Value::Null);
            // Every documented operation reaches its handler: whatever it answers, the router
            // did not refuse it.
            let code = body["error"]["code"].as_str().unwrap_or_default();
            assert!(
                code != "no_route" && code != "method_not_allowed",
                "{method} {path}: {status} {body}"
            );
            assert!(
                !status.is_server_error(),
                "{method} {path}: {status} {body}"
            );
        }
    }
    // The other direction: every annotated handler is in the document, and nothing is routed
    // around the annotated list (`.route(` appears only for `/` and the document itself).
    let mut annotated = 0;
    let mut raw_routes = 0;
    for entry in walk(Path::new(env!("CARGO_MANIFEST_DIR")).join("src")) {
        let text = std::fs::read_to_string(&entry).unwrap();
        annotated += text.matches("#[utoipa::path(").count();
        // The web module's two routes serve the app's files, not the API; the operator's
        // three (`/healthz`, `/readyz`, `/metrics`) are for orchestrators and scrapers, outside
        // the API and its document (README, "Health, metrics and logs").
        if !entry.ends_with("web/mod.rs") && !entry.ends_with("ops/mod.rs") {
            raw_routes += text.matches(".route(").count();
        }
    }
    assert_eq!(operations, annotated);
    assert_eq!(raw_routes, 2, "a route was added outside the OpenAPI list");
    // And a path nobody documented gets the error shape, not an empty 404.
    let (s, body) = admin.get("/api/nothing-here").await;
    assert_eq!(
        (s, body["error"]["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("no_route"))
    );
}

fn walk(dir: std::path::PathBuf) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walk(p));
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_requests_time_out_and_excess_requests_are_shed_in_the_error_shape() {
    // Login hashes with argon2 (tens of milliseconds): longer than a 1 ms budget.
    let app =
        TestApp::spawn_with(|c| c.request_timeout = std::time::Duration::from_millis(1)).await;
    app.user("ana").await;
    let r = reqwest::Client::new()
        .post(format!("{}/api/login", app.base))
        .json(&json!({ "name": "ana", "password": "correct horse" }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"]["code"], "timeout", "{body}");

    let app = TestApp::spawn_with(|c| c.max_in_flight = 1).await;
    app.user("ana").await;
    let http = reqwest::Client::new();
    let logins = (0..8).map(|_| {
        http.post(format!("{}/api/login", app.base))
            .json(&json!({ "name": "ana", "password": "correct horse" }))
            .send()
    });
    let mut codes = Vec::new();
    for r in futures_util::future::join_all(logins).await {
        let r = r.unwrap();
        let status = r.status();
        let body: Value = r.json().await.unwrap();
        codes.push((status, body["error"]["code"].as_str().map(str::to_owned)));
    }
    assert!(codes.iter().any(|(s, _)| *s == StatusCode::OK), "{codes:?}");
    assert!(
        codes
            .iter()
            .any(|(s, c)| *s == StatusCode::SERVICE_UNAVAILABLE
                && c.as_deref() == Some("overloaded")),
        "{codes:?}"
    );
    assert!(
        codes
            .iter()
            .all(|(s, _)| *s == StatusCode::OK || *s == StatusCode::SERVICE_UNAVAILABLE),
        "{codes:?}"
    );
}

/// Issue 16: the workbench's history panel says who changed which text layer: each revision
/// carries its author's name and all three layers (the VAD's first revision has no author).
#[tokio::test]
async fn revisions_name_their_author_and_carry_every_text_layer() {
    let app = TestApp::spawn().await;
    let (project, admin, t, _) = app.project("h").await;
    let rec = ready_recording(&app, &admin, project).await;
    let (_, segs) = t.get(&format!("/api/recordings/{rec}/segments")).await;
    let seg = segs["segments"][0]["id"].as_i64().unwrap();
    let path = format!("/api/segments/{seg}");
    let save = json!({ "version": 1, "save_id": "h-1", "text_verbatim": "我想问", "text_display": "我想问。" });
    let (s, _) = t.put(&path, save).await;
    assert_eq!(s, StatusCode::OK);
    let (_, revs) = t.get(&format!("{path}/revisions")).await;
    let revs = revs["revisions"].as_array().unwrap().clone();
    assert_eq!(revs.len(), 2, "{revs:?}");
    assert_eq!(
        revs[0]["author_name"],
        Value::Null,
        "the VAD wrote the first"
    );
    assert_eq!(revs[1]["author_name"], "h-transcriber");
    assert_eq!(
        (
            &revs[1]["text_verbatim"],
            &revs[1]["text_display"],
            &revs[1]["text_norm"]
        ),
        (&json!("我想问"), &json!("我想问。"), &json!(""))
    );
}
