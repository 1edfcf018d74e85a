//! Live pre-annotation against a small local server that implements
//! `POST /v1/audio/transcriptions` and answers from a script: recorded verbose JSON, a stall
//! past the client's timeout, a 500, or malformed JSON. The client's timeout and backoff are
//! shortened through `Config::asr`; everything else is the real job. The fake server is on
//! loopback, so each test allow-lists its `127.0.0.1:port` (`Config::asr.allow`) as an operator
//! would; the last tests show what happens to a server that is not listed.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{Multipart, State};
use axum::http::StatusCode as AxumStatus;
use axum::response::{IntoResponse, Response};
use common::app::{Client, TestApp};
use reqwest::StatusCode;
use serde_json::{Value, json};

/// One scripted answer.
#[derive(Clone, Copy, Debug)]
enum Answer {
    Recorded,
    Stall,
    Error500,
    Malformed,
    /// 307 to `Script::redirect_to` (a POST that a following client would repeat there).
    Redirect,
}

/// What the server saw of one request.
#[derive(Debug, Clone)]
struct Seen {
    model: String,
    response_format: String,
    wav_bytes: usize,
    riff: bool,
}

#[derive(Clone, Default)]
struct Script {
    answers: Arc<Mutex<VecDeque<Answer>>>,
    seen: Arc<Mutex<Vec<Seen>>>,
    redirect_to: Arc<Mutex<String>>,
}

const RECORDED: &str = include_str!("../../fixtures/asr/live/whisper-server-verbose.json");

async fn transcriptions(State(script): State<Script>, mut form: Multipart) -> Response {
    let mut seen = Seen {
        model: String::new(),
        response_format: String::new(),
        wav_bytes: 0,
        riff: false,
    };
    while let Some(field) = form.next_field().await.unwrap() {
        match field.name().unwrap_or_default() {
            "file" => {
                let bytes = field.bytes().await.unwrap();
                seen.riff = bytes.starts_with(b"RIFF") && &bytes[8..12] == b"WAVE";
                seen.wav_bytes = bytes.len();
            }
            "model" => seen.model = field.text().await.unwrap(),
            "response_format" => seen.response_format = field.text().await.unwrap(),
            _ => {}
        }
    }
    script.seen.lock().unwrap().push(seen);
    let answer = script
        .answers
        .lock()
        .unwrap()
        .pop_front()
        .unwrap_or(Answer::Recorded);
    match answer {
        Answer::Recorded => ([("content-type", "application/json")], RECORDED).into_response(),
        Answer::Stall => {
            tokio::time::sleep(Duration::from_secs(3)).await;
            ([("content-type", "application/json")], RECORDED).into_response()
        }
        Answer::Error500 => (AxumStatus::INTERNAL_SERVER_ERROR, "model crashed").into_response(),
        Answer::Redirect => {
            let to = script.redirect_to.lock().unwrap().clone();
            (AxumStatus::TEMPORARY_REDIRECT, [("location", to)]).into_response()
        }
        Answer::Malformed => (
            [("content-type", "application/json")],
            "{\"text\": \"你好\", \"segments\": [{\"start\": 0.5,",
        )
            .into_response(),
    }
}

async fn asr_server(script: Script) -> String {
    let app = axum::Router::new()
        .route(
            "/v1/audio/transcriptions",
            axum::routing::post(transcriptions),
        )
        .with_state(script);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    base
}

struct Fixture {
    app: TestApp,
    admin: Client,
    transcriber: Client,
    project: i64,
    recording: i64,
    script: Script,
    /// The fake server's base URL (allow-listed).
    url: String,
}

async fn fixture() -> Fixture {
    let script = Script::default();
    let url = asr_server(script.clone()).await;
    let listed = url.trim_start_matches("http://").to_string();
    let app = TestApp::spawn_with(|c| {
        c.asr.timeout = Duration::from_millis(700);
        c.asr.attempts = 3;
        c.asr.backoff = Duration::from_millis(20);
        c.asr.chunk_seconds = 600;
        c.asr.allow = listed.parse().unwrap();
    })
    .await;
    let (project, admin, transcriber, _) = app.project("live").await;
    // A real recording: the VAD makes two untouched segments, replaced by the ASR's own.
    let (s, body) = admin
        .upload(project, &common::fixture("real/zh-funasr-binhai-query.wav"))
        .await;
    assert_eq!(s, StatusCode::ACCEPTED, "{body}");
    app.state.jobs.drain().await;
    let recording = body["recording"].as_i64().unwrap();
    let (s, body) = admin
        .patch(
            &format!("/api/projects/{project}"),
            json!({ "asr": { "url": url, "model": "whisper-large-v3-turbo", "language": "zh", "key": "sk-test" } }),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(body["asr"]["key_set"], true);
    assert!(
        !body.to_string().contains("sk-test"),
        "the key is never sent back"
    );
    Fixture {
        app,
        admin,
        transcriber,
        project,
        recording,
        script,
        url,
    }
}

impl Fixture {
    /// Starts pre-annotation with a script; returns the finished job.
    async fn run(&self, answers: &[Answer]) -> Value {
        *self.script.answers.lock().unwrap() = answers.iter().copied().collect();
        self.script.seen.lock().unwrap().clear();
        let (s, body) = self
            .admin
            .post(
                &format!("/api/projects/{}/pre-annotate", self.project),
                json!({ "recordings": [self.recording] }),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{body}");
        let job = body["jobs"][0]["job"].as_i64().unwrap();
        self.app.state.jobs.drain().await;
        let (_, job) = self.admin.get(&format!("/api/jobs/{job}")).await;
        job
    }

    async fn segments(&self) -> Vec<Value> {
        let (s, body) = self
            .transcriber
            .get(&format!("/api/recordings/{}/segments", self.recording))
            .await;
        assert_eq!(s, StatusCode::OK, "the recording stays usable");
        body["segments"].as_array().unwrap().clone()
    }

    fn requests(&self) -> Vec<Seen> {
        self.script.seen.lock().unwrap().clone()
    }
}

#[tokio::test]
async fn a_recorded_answer_becomes_segments_with_the_model_name() {
    let f = fixture().await;
    let before = f.segments().await;
    assert_eq!(before.len(), 2, "the VAD's segments");
    let job = f.run(&[Answer::Recorded]).await;
    assert_eq!(job["status"], "done", "{job}");
    let seen = f.requests();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].model, "whisper-large-v3-turbo");
    assert_eq!(seen[0].response_format, "verbose_json");
    assert!(seen[0].riff, "the audio goes as a WAV file");
    let (_, rec) = f
        .admin
        .get(&format!("/api/recordings/{}", f.recording))
        .await;
    let samples = rec["samples"].as_u64().unwrap() as usize;
    assert_eq!(
        seen[0].wav_bytes,
        44 + 2 * samples,
        "the whole analysis copy, 16-bit mono"
    );
    let segs = f.segments().await;
    let texts: Vec<&str> = segs
        .iter()
        .map(|s| s["asr_text"].as_str().unwrap())
        .collect();
    assert_eq!(
        texts,
        ["欢迎大家来体验达摩院推出的语音识别模型。", "你好，world！"]
    );
    assert_eq!(segs[0]["start_sample"], 6_880);
    assert_eq!(segs[0]["asr_source"], "openai-api");
    assert_eq!(segs[0]["asr_model"], "whisper-large-v3-turbo");
    assert_eq!(
        segs[0]["text_verbatim"], segs[0]["asr_text"],
        "pre-filled for correction"
    );
}

#[tokio::test]
async fn timeouts_are_retried_and_a_server_that_never_answers_fails_the_job_cleanly() {
    let f = fixture().await;
    let job = f.run(&[Answer::Stall, Answer::Recorded]).await;
    assert_eq!(job["status"], "done", "{job}");
    assert_eq!(f.requests().len(), 2, "one timeout, one retry");

    let f = fixture().await;
    let before = f.segments().await;
    let job = f.run(&[Answer::Stall, Answer::Stall, Answer::Stall]).await;
    assert_eq!(job["status"], "failed", "{job}");
    assert_eq!(job["error_code"], "asr_timeout");
    assert_eq!(f.requests().len(), 3, "every attempt was made");
    assert_eq!(f.segments().await, before, "a failed job changes nothing");
    // Still usable: a second run after the server recovers succeeds.
    let job = f.run(&[Answer::Recorded]).await;
    assert_eq!(job["status"], "done", "{job}");
}

#[tokio::test]
async fn server_errors_are_retried_with_backoff_and_reported_when_they_persist() {
    let f = fixture().await;
    let job = f
        .run(&[Answer::Error500, Answer::Error500, Answer::Recorded])
        .await;
    assert_eq!(job["status"], "done", "{job}");
    assert_eq!(f.requests().len(), 3);

    let f = fixture().await;
    let before = f.segments().await;
    let job = f
        .run(&[Answer::Error500, Answer::Error500, Answer::Error500])
        .await;
    assert_eq!(job["status"], "failed");
    assert_eq!(job["error_code"], "asr_server_error");
    assert_eq!(f.segments().await, before);
}

#[tokio::test]
async fn malformed_json_fails_at_once_and_changes_nothing() {
    let f = fixture().await;
    let before = f.segments().await;
    let job = f.run(&[Answer::Malformed]).await;
    assert_eq!(job["status"], "failed");
    assert_eq!(job["error_code"], "asr_bad_response");
    assert_eq!(f.requests().len(), 1, "a malformed answer is not retried");
    assert_eq!(f.segments().await, before);
    // Unconfigured projects are refused with a reason.
    let (s, body) = f
        .admin
        .patch(
            &format!("/api/projects/{}", f.project),
            json!({ "asr": { "url": "" } }),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let (s, body) = f
        .admin
        .post(
            &format!("/api/projects/{}/pre-annotate", f.project),
            json!({}),
        )
        .await;
    assert_eq!(s, StatusCode::CONFLICT);
    assert_eq!(body["error"]["code"], "asr_not_configured");
    let (s, body) = f
        .admin
        .patch(
            &format!("/api/projects/{}", f.project),
            json!({ "asr": { "url": "ftp://x" } }),
        )
        .await;
    assert_eq!(
        (s, body["error"]["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_asr_url"))
    );
}

#[tokio::test]
async fn a_redirect_is_never_followed_even_from_an_allow_listed_server() {
    let f = fixture().await;
    // A second, working server that is not allow-listed: a following client would POST there.
    let elsewhere = Script::default();
    let target = asr_server(elsewhere.clone()).await;
    *f.script.redirect_to.lock().unwrap() = format!("{target}/v1/audio/transcriptions");
    let before = f.segments().await;
    let job = f.run(&[Answer::Redirect]).await;
    assert_eq!(job["status"], "failed", "{job}");
    assert_eq!(job["error_code"], "asr_url_not_allowed", "{job}");
    let message: String = sqlx::query_scalar("SELECT error_message FROM job WHERE id = $1")
        .bind(job["id"].as_i64().unwrap())
        .fetch_one(&f.app.state.db)
        .await
        .unwrap();
    assert!(message.contains("redirect"), "{message}");
    assert_eq!(f.requests().len(), 1, "asked once, not retried");
    assert!(
        elsewhere.seen.lock().unwrap().is_empty(),
        "the redirect target got no request"
    );
    assert_eq!(f.segments().await, before);
}

#[tokio::test]
async fn an_address_is_checked_again_when_the_job_runs() {
    // A URL stored before the check existed, or a name whose DNS answer changed since it was
    // set: `localhost` is not listed (only the fake server's 127.0.0.1:port is), and it
    // resolves to loopback now, so the job refuses it before sending anything.
    let f = fixture().await;
    let port = f.url.rsplit(':').next().unwrap();
    sqlx::query("UPDATE project SET asr_url = $1 WHERE id = $2")
        .bind(format!("http://localhost:{port}"))
        .bind(f.project)
        .execute(&f.app.state.db)
        .await
        .unwrap();
    let before = f.segments().await;
    let job = f.run(&[Answer::Recorded]).await;
    assert_eq!(job["status"], "failed", "{job}");
    assert_eq!(job["error_code"], "asr_url_not_allowed", "{job}");
    assert!(
        f.requests().is_empty(),
        "nothing was sent: {:?}",
        f.requests()
    );
    assert_eq!(f.segments().await, before);
    // Pointed back at the listed address, it works again.
    let (s, body) = f
        .admin
        .patch(
            &format!("/api/projects/{}", f.project),
            json!({ "asr": { "url": f.url } }),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(f.run(&[Answer::Recorded]).await["status"], "done");
}

#[tokio::test]
async fn an_unlisted_local_server_is_refused_when_set() {
    let f = fixture().await;
    let port = f.url.rsplit(':').next().unwrap();
    for url in [
        format!("http://localhost:{port}"),
        format!("http://[::1]:{port}"),
    ] {
        let (s, body) = f
            .admin
            .patch(
                &format!("/api/projects/{}", f.project),
                json!({ "asr": { "url": url } }),
            )
            .await;
        assert_eq!(
            (s, body["error"]["code"].as_str()),
            (StatusCode::BAD_REQUEST, Some("asr_url_not_allowed")),
            "{url}: {body}"
        );
    }
}
