//! Issue 13, items 1 and 8: heavy work is bounded. Hostile concordance searches end quickly
//! while `/api/me` stays fast, and hostile ASR files are parsed or refused within a memory
//! budget. The server is the real binary (`fangyan serve`) in its own process, so its
//! latency and its peak memory (`VmHWM` in /proc) are measured apart from the test's runtime.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::app::TestApp;
use fangyan::app::{AppState, Config};
use reqwest::StatusCode;
use serde_json::{Value, json};
use sqlx::Row;

const PASSWORD: &str = "correct horse";

/// `fangyan serve` on a seeded data directory; killed on drop.
struct Server {
    child: Child,
    base: String,
    _dir: tempfile::TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    /// Seeds a project (`corpus`, admin `linguist`) with a ready recording `rec.wav` and the
    /// given segment texts, then starts the binary on it.
    async fn start(texts: &[String]) -> (Self, i64) {
        let dir = tempfile::tempdir().unwrap();
        let project = {
            let state = AppState::open(
                Config::new(dir.path())
                    .with_database(common::database_url_for(dir.path()))
                    .with_store(common::store_url_for(dir.path())),
            )
            .await
            .unwrap();
            seed(&state, texts).await
        };
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let child =
            common::on_test_database(&mut Command::new(env!("CARGO_BIN_EXE_fangyan")), dir.path())
                .args(["serve", "--addr", &format!("127.0.0.1:{port}"), "--data"])
                .arg(dir.path())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap();
        let server = Self {
            child,
            base: format!("http://127.0.0.1:{port}"),
            _dir: dir,
        };
        let http = reqwest::Client::new();
        let start = Instant::now();
        while http
            .get(format!("{}/api", server.base))
            .send()
            .await
            .is_err()
        {
            assert!(
                start.elapsed() < Duration::from_secs(20),
                "server did not start"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        (server, project)
    }

    async fn login(&self) -> reqwest::Client {
        let http = common::browser_client(&self.base)
            .timeout(Duration::from_secs(10))
            .build()
            .unwrap();
        let r = http
            .post(format!("{}/api/login", self.base))
            .json(&json!({ "name": "linguist", "password": PASSWORD }))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        http
    }

    /// Peak resident memory of the server so far, bytes.
    fn peak_rss(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap();
        let line = status.lines().find(|l| l.starts_with("VmHWM:")).unwrap();
        let kb: u64 = line.split_whitespace().nth(1).unwrap().parse().unwrap();
        kb * 1024
    }
}

async fn seed(state: &AppState, texts: &[String]) -> i64 {
    let db = &state.db;
    let hash = fangyan::accounts::hash_password(PASSWORD).unwrap();
    let user = fangyan::accounts::db::create_user(db, "linguist", &hash)
        .await
        .unwrap();
    let project = fangyan::projects::db::create(db, "corpus").await.unwrap();
    fangyan::projects::db::add_member(db, project, user, fangyan::projects::Role::Admin)
        .await
        .unwrap();
    let recording: i64 = sqlx::query(
        "INSERT INTO recording (project_id, name, status, sha256, analysis_rate, samples, created_at) \
         VALUES ($1, 'rec.wav', 'ready', 'none', 16000, $2, 0) RETURNING id",
    )
    .bind(project)
    .bind(16_000 * 3600)
    .fetch_one(db)
    .await
    .unwrap()
    .get(0);
    for (i, text) in texts.iter().enumerate() {
        let start = i as i64 * 16_000 * 10;
        sqlx::query(
            "INSERT INTO segment (recording_id, start_sample, end_sample, text_verbatim, status) \
             VALUES ($1, $2, $3, $4, 'new')",
        )
        .bind(recording)
        .bind(start)
        .bind(start + 16_000 * 9)
        .bind(text)
        .execute(db)
        .await
        .unwrap();
    }
    project
}

fn percentile(v: &mut [Duration], p: f64) -> Duration {
    v.sort_unstable();
    v[((v.len() as f64 - 1.0) * p).round() as usize]
}

/// The error shape: `{"error":{"code":…,"message":…}}`.
fn error_code(body: &Value) -> Option<&str> {
    body["error"]["code"].as_str()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_searches_end_within_5_s_while_api_me_stays_fast() {
    let texts: Vec<String> = (0..20).map(|_| "a".repeat(60_000)).collect();
    let (server, project) = Server::start(&texts).await;
    let base = format!("{}/api/projects/{project}/concordance", server.base);
    let hostile = [
        "regex=(%3F:a%3F)%7B5000%7Da%7B5000%7D", // (?:a?){5000}a{5000}
        "regex=(%3F:a%3F)%7B500%7Da%7B500%7D",   // (?:a?){500}a{500}
        "regex=(a%7Caa)*b",                      // (a|aa)*b
        "regex=%5Cba%2B%5Cb",                    // \ba+\b (Unicode word boundaries)
        "text=a",                                // 60 000 occurrences per segment
        &format!("text={}b", "a".repeat(199)),   // a near miss at every position
    ];
    let searcher = |offset: usize| {
        let http_fut = server.login();
        let base = base.clone();
        let hostile = hostile.map(String::from);
        async move {
            let http = http_fut.await;
            let mut worst = Duration::ZERO;
            let mut answers = Vec::new();
            let until = Instant::now() + Duration::from_secs(3);
            let mut k = offset;
            while Instant::now() < until || k < offset + hostile.len() {
                let q = &hostile[k % hostile.len()];
                let t = Instant::now();
                let r = http.get(format!("{base}?{q}")).send().await;
                let took = t.elapsed();
                let r = r.unwrap_or_else(|e| panic!("{q}: no answer within 10 s: {e}"));
                let status = r.status();
                let body: Value = r.json().await.unwrap();
                assert!(
                    took < Duration::from_secs(5),
                    "{q}: took {took:?} ({status})"
                );
                assert!(
                    status == StatusCode::OK
                        || (status.is_client_error() || status == StatusCode::SERVICE_UNAVAILABLE)
                            && error_code(&body).is_some(),
                    "{q}: {status} {body}"
                );
                worst = worst.max(took);
                answers.push(format!("{q} → {status} {:?}", error_code(&body)));
                k += 1;
            }
            (worst, answers)
        }
    };
    let me = {
        let http = server.login().await;
        let url = format!("{}/api/me", server.base);
        async move {
            tokio::time::sleep(Duration::from_millis(100)).await;
            let mut times = Vec::new();
            for _ in 0..150 {
                let t = Instant::now();
                let r = http.get(&url).send().await.unwrap();
                assert_eq!(r.status(), StatusCode::OK);
                r.bytes().await.unwrap();
                times.push(t.elapsed());
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            times
        }
    };
    let (a, b, mut me) = tokio::join!(searcher(0), searcher(3), me);
    let p99 = percentile(&mut me, 0.99);
    eprintln!(
        "slowest searches {:?} / {:?}; /api/me p50 {:?} p99 {p99:?} over {} requests",
        a.0,
        b.0,
        percentile(&mut me, 0.5),
        me.len()
    );
    eprintln!(
        "{}",
        a.1.iter()
            .chain(&b.1)
            .take(12)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
    assert!(p99 <= Duration::from_millis(50), "/api/me p99 {p99:?}");
    // the costliest pattern is refused as such, not merely slow
    assert!(
        a.1.iter().any(|s| s.contains("search_too_costly")),
        "{:?}",
        a.1
    );
}

#[tokio::test]
async fn a_search_past_its_time_budget_answers_503_search_timeout() {
    let app = TestApp::spawn_with(|c| c.budgets.search_time = Duration::ZERO).await;
    let (project, admin, _, _) = app.project("budget").await;
    let (s, body) = admin
        .get(&format!("/api/projects/{project}/concordance?text=x"))
        .await;
    assert_eq!(
        (s, error_code(&body)),
        (StatusCode::SERVICE_UNAVAILABLE, Some("search_timeout")),
        "{body}"
    );
}

#[tokio::test]
async fn an_over_long_substring_or_pattern_is_refused() {
    let app = TestApp::spawn().await;
    let (project, admin, _, _) = app.project("long").await;
    let base = format!("/api/projects/{project}/concordance");
    let (s, body) = admin.get(&format!("{base}?text={}", "a".repeat(201))).await;
    assert_eq!(
        (s, error_code(&body)),
        (StatusCode::BAD_REQUEST, Some("invalid_text"))
    );
    let (s, body) = admin
        .get(&format!("{base}?regex={}", "a".repeat(501)))
        .await;
    assert_eq!(
        (s, error_code(&body)),
        (StatusCode::BAD_REQUEST, Some("invalid_regex"))
    );
}

/// Uploads `bytes` as an ASR file; returns the status, the body and the server's peak memory
/// growth over its peak before the upload.
async fn upload_asr(
    server: &Server,
    project: i64,
    name: &str,
    bytes: Vec<u8>,
) -> (StatusCode, Value, u64) {
    let http = server.login().await;
    let before = server.peak_rss();
    let form = reqwest::multipart::Form::new()
        .text("mapping", json!({ name: "rec.wav" }).to_string())
        .part(
            "file",
            reqwest::multipart::Part::bytes(bytes).file_name(name.to_string()),
        );
    let r = http
        .post(format!("{}/api/projects/{project}/asr", server.base))
        .timeout(Duration::from_secs(60))
        .multipart(form)
        .send()
        .await
        .unwrap();
    let status = r.status();
    let body: Value = r.json().await.unwrap_or(Value::Null);
    (status, body, server.peak_rss().saturating_sub(before))
}

const MB: u64 = 1_000_000;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_24_mib_eaf_of_empty_elements_and_a_64_mib_json_stay_within_100_mb() {
    let (server, project) = Server::start(&[]).await;
    let mut eaf = b"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ANNOTATION_DOCUMENT>".to_vec();
    while eaf.len() < (24 << 20) - 32 {
        eaf.extend_from_slice(b"<a/>");
    }
    eaf.extend_from_slice(b"</ANNOTATION_DOCUMENT>\n");
    let (s, body, grew) = upload_asr(&server, project, "empty.eaf", eaf).await;
    eprintln!(
        "24 MiB EAF: {s} {}, peak +{} MB",
        body["error"]["code"],
        grew / MB
    );
    assert!(
        s.is_client_error() && error_code(&body).is_some(),
        "{s} {body}"
    );
    assert!(grew <= 100 * MB, "peak RSS grew {} MB", grew / MB);

    let mut json = br#"{"segments":["#.to_vec();
    while json.len() < (64 << 20) - 8 {
        json.extend_from_slice(b"{},");
    }
    json.extend_from_slice(b"{}]}");
    let (s, body, grew) = upload_asr(&server, project, "many.json", json).await;
    eprintln!(
        "64 MiB JSON of empty objects: {s} {}, peak +{} MB",
        body["error"]["code"],
        grew / MB
    );
    assert!(
        s.is_client_error() && error_code(&body).is_some(),
        "{s} {body}"
    );
    assert!(grew <= 100 * MB, "peak RSS grew {} MB", grew / MB);

    // A real-shaped Whisper file (segments with text, the keys Whisper writes) of 64 MiB.
    let seg = |i: usize| {
        json!({ "id": i, "seek": 0, "start": i as f64, "end": i as f64 + 0.9,
                "text": "今天天气很好我们去公园吧", "tokens": [50364, 10, 11, 12, 13, 14, 15],
                "temperature": 0.0, "avg_logprob": -0.2, "compression_ratio": 1.1,
                "no_speech_prob": 0.01 })
        .to_string()
    };
    let mut json = br#"{"language":"zh","segments":["#.to_vec();
    let mut i = 0;
    while json.len() < (64 << 20) - 512 {
        json.extend_from_slice(seg(i).as_bytes());
        json.push(b',');
        i += 1;
    }
    json.extend_from_slice(seg(i).as_bytes());
    json.extend_from_slice(b"]}");
    let (s, body, grew) = upload_asr(&server, project, "whisper.json", json).await;
    eprintln!(
        "64 MiB Whisper JSON ({} segments): {s} {}, peak +{} MB",
        i + 1,
        body["error"]["code"],
        grew / MB
    );
    assert!(
        s == StatusCode::OK || (s.is_client_error() && error_code(&body).is_some()),
        "{s} {body}"
    );
    assert!(grew <= 100 * MB, "peak RSS grew {} MB", grew / MB);
}

#[test]
fn the_budgets_are_documented_in_the_readme() {
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    for setting in [
        "search_time",
        "parse_time",
        "max_tree_bytes",
        "workers",
        "queue",
    ] {
        assert!(readme.contains(setting), "README does not name `{setting}`");
    }
}
