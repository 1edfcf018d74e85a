//! The operator's basics on the in-process server (issue 15): `/healthz`, `/readyz` when the
//! database or the store is down, `/metrics` in valid exposition format with route templates
//! and its access rule, the request id, and event streams ended by the graceful stop.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use common::app::{TestApp, ready_recording};
use reqwest::StatusCode;
use serde_json::Value;

async fn get(url: String) -> (StatusCode, reqwest::header::HeaderMap, String) {
    let r = reqwest::get(url).await.unwrap();
    (r.status(), r.headers().clone(), r.text().await.unwrap())
}

fn error_code(body: &str) -> String {
    let v: Value = serde_json::from_str(body).unwrap_or_else(|_| panic!("not JSON: {body}"));
    v["error"]["code"]
        .as_str()
        .unwrap_or_else(|| panic!("not the error shape: {body}"))
        .to_string()
}

#[tokio::test]
async fn healthz_and_readyz_answer_while_all_is_well() {
    let app = TestApp::spawn().await;
    let (s, _, body) = get(format!("{}/healthz", app.base)).await;
    assert_eq!((s, body.as_str()), (StatusCode::OK, r#"{"status":"ok"}"#));
    let (s, _, body) = get(format!("{}/readyz", app.base)).await;
    assert_eq!(
        (s, body.as_str()),
        (StatusCode::OK, r#"{"status":"ready"}"#)
    );
}

#[tokio::test]
async fn readyz_is_503_database_unavailable_when_the_database_is_gone_and_healthz_still_200() {
    let app = TestApp::spawn().await;
    app.state.db.close().await;
    let (s, _, body) = get(format!("{}/readyz", app.base)).await;
    assert_eq!(s, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(error_code(&body), "database_unavailable");
    let (s, _, _) = get(format!("{}/healthz", app.base)).await;
    assert_eq!(s, StatusCode::OK);
}

#[tokio::test]
async fn readyz_is_503_store_unavailable_when_the_store_folder_is_gone() {
    let app = TestApp::spawn().await;
    // The folder store (the SQLite pass); the bucket's case is the S3 server being down.
    let Some(root) = app.state.store.folder_root().map(|r| r.to_path_buf()) else {
        return;
    };
    let moved = root.with_file_name("store-moved-away");
    std::fs::rename(&root, &moved).unwrap();
    // A file where the folder was: the store cannot recreate its folders there.
    std::fs::write(&root, b"not a folder").unwrap();
    let (s, _, body) = get(format!("{}/readyz", app.base)).await;
    assert_eq!(s, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(error_code(&body), "store_unavailable");
    std::fs::remove_file(&root).unwrap();
    std::fs::rename(&moved, &root).unwrap();
    let (s, _, _) = get(format!("{}/readyz", app.base)).await;
    assert_eq!(s, StatusCode::OK);
}

/// A sample line of the text exposition format: name, labels, value, optional timestamp.
fn sample_line() -> regex::Regex {
    let name = r"[a-zA-Z_:][a-zA-Z0-9_:]*";
    let label = r#"[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\["\\n])*""#;
    let value = r"(?:[+-]?(?:[0-9]*\.?[0-9]+(?:[eE][+-]?[0-9]+)?|Inf)|NaN)";
    regex::Regex::new(&format!(
        r"^{name}(?:\{{(?:{label}(?:,{label})*,?)?\}})? {value}(?: -?[0-9]+)?$"
    ))
    .unwrap()
}

/// The label sets of the request histogram's `_count` samples.
fn request_counts(text: &str) -> Vec<(String, f64)> {
    text.lines()
        .filter_map(|l| l.strip_prefix("fangyan_http_request_duration_seconds_count{"))
        .map(|l| {
            let (labels, value) = l.rsplit_once("} ").unwrap();
            (labels.to_string(), value.parse().unwrap())
        })
        .collect()
}

#[tokio::test]
async fn metrics_are_valid_exposition_with_route_templates_job_queue_and_ingest() {
    let app = TestApp::spawn().await;
    let (project, admin, _, _) = app.project("metrics").await;
    let recording = ready_recording(&app, &admin, project).await;
    for _ in 0..3 {
        let (s, _) = admin.get(&format!("/api/recordings/{recording}")).await;
        assert_eq!(s, StatusCode::OK);
    }
    let (s, _) = admin.get("/api/recordings/999999").await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _) = admin.get("/no/such/path/42").await;
    assert_eq!(s, StatusCode::NOT_FOUND);

    let (s, headers, text) = get(format!("{}/metrics", app.base)).await;
    assert_eq!(s, StatusCode::OK, "{text}");
    assert!(
        headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain; version=0.0.4"),
        "{headers:?}"
    );
    let sample = sample_line();
    let comment = regex::Regex::new(
        r"^# (?:HELP [a-zA-Z_:][a-zA-Z0-9_:]* .*|TYPE [a-zA-Z_:][a-zA-Z0-9_:]* (?:counter|gauge|histogram|summary|untyped))$",
    )
    .unwrap();
    let bad: Vec<_> = text
        .lines()
        .filter(|l| !(sample.is_match(l) || comment.is_match(l)))
        .collect();
    assert!(bad.is_empty(), "lines not in exposition format: {bad:?}");

    let counts = request_counts(&text);
    let count = |labels: &str| {
        counts
            .iter()
            .find(|(l, _)| l == labels)
            .map(|(_, v)| *v)
            .unwrap_or_else(|| panic!("no series {labels} in {counts:?}"))
    };
    assert_eq!(
        count(r#"method="GET",route="/api/recordings/{recording}",status="2xx""#),
        4.0, // three here, one in ready_recording
    );
    assert_eq!(
        count(r#"method="GET",route="/api/recordings/{recording}",status="4xx""#),
        1.0
    );
    assert_eq!(count(r#"method="GET",route="unmatched",status="4xx""#), 1.0);
    assert!(
        counts
            .iter()
            .all(|(l, _)| !l.contains("999999") && !l.contains(&format!("/{recording}"))),
        "a raw path leaked into a label: {counts:?}"
    );
    assert!(text.contains("\nfangyan_jobs_queued 0\n"), "{text}");
    assert!(
        text.contains("\nfangyan_jobs_oldest_queued_age_seconds 0\n"),
        "{text}"
    );
    assert!(
        text.contains("\nfangyan_ingest_seconds_count{outcome=\"done\"} 1\n"),
        "{text}"
    );
}

#[tokio::test]
async fn the_job_queue_gauges_count_queued_rows_and_their_age() {
    let app = TestApp::spawn().await;
    let (project, admin, _, _) = app.project("queue").await;
    let recording = ready_recording(&app, &admin, project).await;
    let an_hour_ago = fangyan::db::now_ms() - 3_600_000;
    for _ in 0..2 {
        let job = app
            .state
            .jobs
            .create(&app.state.db, "ingest", recording, None)
            .await
            .unwrap();
        sqlx::query("UPDATE job SET created_at = $1 WHERE id = $2")
            .bind(an_hour_ago)
            .bind(job)
            .execute(&app.state.db)
            .await
            .unwrap();
    }
    let (_, _, text) = get(format!("{}/metrics", app.base)).await;
    assert!(text.contains("\nfangyan_jobs_queued 2\n"), "{text}");
    let age: f64 = text
        .lines()
        .find_map(|l| l.strip_prefix("fangyan_jobs_oldest_queued_age_seconds "))
        .unwrap()
        .parse()
        .unwrap();
    assert!((3600.0..3700.0).contains(&age), "{age}");
}

#[tokio::test]
async fn metrics_are_refused_through_a_proxy_unless_the_token_is_presented() {
    let app = TestApp::spawn_with(|c| c.metrics_token = Some("scrape-secret".into())).await;
    let http = reqwest::Client::new();
    let url = format!("{}/metrics", app.base);
    // Loopback, as a proxy on this host would connect, but forwarded: refused.
    let r = http
        .get(&url)
        .header("x-forwarded-for", "203.0.113.9")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert_eq!(error_code(&r.text().await.unwrap()), "metrics_forbidden");
    let r = http
        .get(&url)
        .header("x-forwarded-for", "203.0.113.9")
        .bearer_auth("wrong-secret!")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let r = http
        .get(&url)
        .header("x-forwarded-for", "203.0.113.9")
        .bearer_auth("scrape-secret")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.text().await.unwrap().contains("fangyan_jobs_queued"));
}

#[tokio::test]
async fn every_answer_carries_a_request_id_and_a_well_formed_client_id_is_kept() {
    let app = TestApp::spawn().await;
    let http = reqwest::Client::new();
    let id_of = |r: &reqwest::Response| {
        r.headers()
            .get("x-request-id")
            .map(|v| v.to_str().unwrap().to_string())
    };
    let r = http.get(format!("{}/api", app.base)).send().await.unwrap();
    let fresh = id_of(&r).expect("an id");
    assert_eq!(fresh.len(), 36, "a UUID: {fresh}");
    let r = http
        .get(format!("{}/api/me", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert!(id_of(&r).is_some(), "refusals carry one too");
    let r = http
        .get(format!("{}/api", app.base))
        .header("x-request-id", "lb-7f3a.42")
        .send()
        .await
        .unwrap();
    assert_eq!(id_of(&r).as_deref(), Some("lb-7f3a.42"));
    for bad in ["a b", "x".repeat(65).as_str(), "<script>"] {
        let r = http
            .get(format!("{}/api", app.base))
            .header("x-request-id", bad)
            .send()
            .await
            .unwrap();
        let got = id_of(&r).unwrap();
        assert_ne!(got, bad);
        assert_eq!(got.len(), 36, "replaced by a UUID: {got}");
    }
}

#[tokio::test]
async fn the_graceful_stop_ends_event_streams() {
    use axum::response::sse::{Event, Sse};
    use futures_util::StreamExt;
    let endless = axum::routing::get(|| async {
        let ticks = futures_util::stream::repeat_with(|| {
            Ok::<_, std::convert::Infallible>(Event::default().data("tick"))
        })
        .then(|e| async {
            tokio::time::sleep(std::time::Duration::from_millis(20)).await; // the stream's pace
            e
        });
        Sse::new(ticks)
    });
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let router =
        fangyan::ops::shutdown::end_streams(axum::Router::new().route("/events", endless), stopped);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    let r = reqwest::get(format!("{base}/events")).await.unwrap();
    let mut body = r.bytes_stream();
    let first = body.next().await.unwrap().unwrap();
    assert!(String::from_utf8_lossy(&first).contains("tick"));
    stop.send(true).unwrap();
    let rest = tokio::time::timeout(std::time::Duration::from_secs(5), async {
        while let Some(chunk) = body.next().await {
            chunk.unwrap();
        }
    })
    .await;
    assert!(rest.is_ok(), "the stream did not end after the stop");
}
