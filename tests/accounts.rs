//! Accounts against the real app: the login throttle under storms (issue 13 item 2), API
//! tokens and their scope (item 7), and the session cookie.
//!
//! Different clients are real different peers: Linux routes all of 127.0.0.0/8 to the loopback
//! interface, so a client bound to 127.0.3.7 reaches the server on 127.0.0.1 as 127.0.3.7.
//! Every test takes `HEAVY`, so the ones that measure time or memory never run beside another.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::net::IpAddr;
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{Value, json};

use common::app::{Client, TestApp};

/// Serialises the tests whose figures (time, memory) other tests running at once would spoil.
static HEAVY: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// A client whose connections come from `ip` (any 127.x.y.z).
fn from(ip: &str) -> reqwest::Client {
    reqwest::Client::builder()
        .local_address(ip.parse::<IpAddr>().unwrap())
        .cookie_store(true)
        .build()
        .unwrap()
}

async fn attempt(http: &reqwest::Client, base: &str, name: &str, password: &str) -> StatusCode {
    http.post(format!("{base}/api/login"))
        .header("origin", base)
        .json(&json!({ "name": name, "password": password }))
        .send()
        .await
        .unwrap()
        .status()
}

/// Statuses of `n` concurrent wrong-password attempts on `name` from `http`.
async fn storm(http: &reqwest::Client, base: &str, name: &str, n: usize) -> Vec<StatusCode> {
    let tasks: Vec<_> = (0..n)
        .map(|i| {
            let (http, base, name) = (http.clone(), base.to_string(), name.to_string());
            tokio::spawn(async move { attempt(&http, &base, &name, &format!("guess {i}")).await })
        })
        .collect();
    let mut out = Vec::new();
    for t in tasks {
        out.push(t.await.unwrap());
    }
    out
}

fn count(statuses: &[StatusCode], s: StatusCode) -> usize {
    statuses.iter().filter(|&&x| x == s).count()
}

#[tokio::test]
async fn issue_13_200_concurrent_wrong_passwords_for_one_name_check_at_most_the_burst() {
    let _heavy = HEAVY.lock().await;
    let app = TestApp::spawn().await;
    app.user("ana").await;
    let statuses = storm(&from("127.0.1.1"), &app.base, "ana", 200).await;
    let checked = count(&statuses, StatusCode::UNAUTHORIZED);
    let refused = count(&statuses, StatusCode::TOO_MANY_REQUESTS);
    assert!(checked <= 5, "{checked} checked, {refused} refused");
    assert_eq!(checked + refused, 200, "{statuses:?}");
    // And argon2 ran only for those.
    assert_eq!(app.state.logins.checker.checks(), checked as u64);
}

/// Issue 15: the throttle's buckets are in the database, so two servers on one database (two
/// replicas behind a load balancer) allow one burst between them, not one each.
#[tokio::test]
async fn issue_15_two_servers_on_one_database_share_the_login_throttle() {
    let _heavy = HEAVY.lock().await;
    let dir = common::scratch();
    let url = common::database_url_for(dir.path());
    let a = TestApp::spawn_at(dir.path(), url.clone()).await;
    let b = TestApp::spawn_at(dir.path(), url).await;
    a.user("ana").await;
    let http = from("127.0.1.9");
    let mut checked = 0;
    for (i, base) in [&a.base, &b.base].iter().cycle().take(12).enumerate() {
        match attempt(&http, base, "ana", &format!("guess {i}")).await {
            StatusCode::UNAUTHORIZED => checked += 1,
            StatusCode::TOO_MANY_REQUESTS => {}
            other => panic!("attempt {i}: {other}"),
        }
    }
    // The default burst per (client, name) is 5, whichever server answers.
    assert_eq!(checked, 5);
}

#[tokio::test]
async fn issue_13_500_attempts_over_100_names_from_one_client_meet_the_per_client_limit() {
    let _heavy = HEAVY.lock().await;
    let app = TestApp::spawn().await;
    let http = from("127.0.1.2");
    let mut first_refusal = None;
    let mut checked = 0;
    for i in 0..500 {
        let s = attempt(&http, &app.base, &format!("name{}", i % 100), "wrong").await;
        match s {
            StatusCode::UNAUTHORIZED => checked += 1,
            StatusCode::TOO_MANY_REQUESTS => {
                first_refusal.get_or_insert(i);
            }
            other => panic!("attempt {i}: {other}"),
        }
    }
    // The default per-client burst is 20 failed attempts.
    assert_eq!(first_refusal, Some(20), "{checked} checked");
    assert!(checked <= 21, "{checked} checked");
}

#[tokio::test]
async fn issue_13_the_real_user_logs_in_from_another_client_while_a_storm_targets_the_name() {
    let _heavy = HEAVY.lock().await;
    let app = TestApp::spawn().await;
    app.user("ana").await;
    let attacker = from("127.0.1.3");
    let base = app.base.clone();
    let storm = tokio::spawn(async move { storm(&attacker, &base, "ana", 100).await });
    // Give the storm a head start, so the name is already throttled for the attacker.
    tokio::time::sleep(Duration::from_millis(50)).await;
    let ana = from("127.0.1.4");
    assert_eq!(
        attempt(&ana, &app.base, "ana", "correct horse").await,
        StatusCode::OK
    );
    let statuses = storm.await.unwrap();
    assert!(count(&statuses, StatusCode::TOO_MANY_REQUESTS) >= 95);
    // And after the storm, still from the same other client.
    assert_eq!(
        attempt(&ana, &app.base, "ana", "correct horse").await,
        StatusCode::OK
    );
}

#[tokio::test]
async fn issue_13_an_unknown_name_answers_as_slowly_as_a_wrong_password() {
    let _heavy = HEAVY.lock().await;
    let app = TestApp::spawn().await;
    app.user("ana").await;
    let time = |ip: String, name: &'static str| {
        let base = app.base.clone();
        async move {
            let http = from(&ip);
            let t = Instant::now();
            let s = attempt(&http, &base, name, "wrong").await;
            assert_eq!(s, StatusCode::UNAUTHORIZED);
            t.elapsed().as_secs_f64()
        }
    };
    // Warm up both paths (connection set-up, the first hash of anything).
    time("127.0.2.250".into(), "ana").await;
    time("127.0.2.251".into(), "nobody").await;
    // The work itself: an unknown name runs one password hash, as a known one does.
    let before = app.state.logins.checker.checks();
    time("127.0.2.252".into(), "nobody").await;
    assert_eq!(app.state.logins.checker.checks(), before + 1);
    let (mut known, mut unknown) = (Vec::new(), Vec::new());
    for i in 0..25 {
        known.push(time(format!("127.0.2.{}", 2 * i), "ana").await);
        unknown.push(time(format!("127.0.2.{}", 2 * i + 1), "nobody").await);
    }
    // The fastest of each: other tests of this binary share the cores, and their noise only
    // ever adds time, so the minimum is the answer time itself.
    let fastest = |v: &[f64]| v.iter().copied().fold(f64::MAX, f64::min);
    let (k, u) = (fastest(&known), fastest(&unknown));
    eprintln!(
        "fastest login: existing name {:.2} ms, unknown name {:.2} ms ({:+.1} %)",
        k * 1e3,
        u * 1e3,
        (u - k) / k * 100.0
    );
    assert!(
        (u - k).abs() <= 0.2 * k,
        "existing name {:.2} ms, unknown {:.2} ms",
        k * 1e3,
        u * 1e3
    );
}

// ---- tokens ----

async fn make_token(client: &Client, body: Value) -> (StatusCode, Value) {
    client.post("/api/tokens", body).await
}

fn bearer(app: &TestApp, token: &str) -> Client {
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert("authorization", format!("Bearer {token}").parse().unwrap());
    Client {
        http: reqwest::Client::builder()
            .default_headers(headers)
            .build()
            .unwrap(),
        base: app.base.clone(),
    }
}

fn with_cookie(app: &TestApp, secret: &str) -> Client {
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(
        "cookie",
        format!("fangyan_session={secret}").parse().unwrap(),
    );
    Client {
        http: reqwest::Client::builder()
            .default_headers(headers)
            .build()
            .unwrap(),
        base: app.base.clone(),
    }
}

#[tokio::test]
async fn issue_13_tokens_are_listed_without_their_secret_and_expire_in_90_days_by_default() {
    let _heavy = HEAVY.lock().await;
    let app = TestApp::spawn().await;
    app.user("ana").await;
    let ana = app.login("ana").await;
    let before = now_ms();
    let (s, made) = make_token(&ana, json!({ "name": "script" })).await;
    assert_eq!(s, StatusCode::OK, "{made}");
    let secret = made["token"].as_str().unwrap().to_string();
    let day = 86_400_000;
    let expires = made["expires_at"].as_i64().unwrap();
    assert!((expires - before - 90 * day).abs() < 60_000, "{made}");
    assert_eq!(made["scope"], "write");

    let (s, short) = make_token(
        &ana,
        json!({ "name": "ci", "scope": "read", "expires_in_days": 7 }),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{short}");
    assert!((short["expires_at"].as_i64().unwrap() - before - 7 * day).abs() < 60_000);

    let (s, me) = bearer(&app, &secret).get("/api/me").await;
    assert_eq!((s, me["name"].as_str()), (StatusCode::OK, Some("ana")));

    let (s, list) = ana.get("/api/tokens").await;
    assert_eq!(s, StatusCode::OK, "{list}");
    let tokens = list["tokens"].as_array().unwrap();
    assert_eq!(tokens.len(), 2, "{list}");
    assert!(!list.to_string().contains(&secret), "{list}");
    let script = tokens.iter().find(|t| t["name"] == "script").unwrap();
    assert_eq!(script["id"], made["id"]);
    assert_eq!(script["scope"], "write");
    assert_eq!(script["expires_at"], made["expires_at"]);
    assert!(script["created_at"].as_i64().unwrap() >= before);
    assert!(
        script["last_used_at"].as_i64().unwrap() >= before,
        "{script}"
    );
    let ci = tokens.iter().find(|t| t["name"] == "ci").unwrap();
    assert_eq!(
        (ci["scope"].as_str(), &ci["last_used_at"]),
        (Some("read"), &Value::Null)
    );

    // Someone else's list is their own.
    app.user("bo").await;
    let (_, theirs) = app.login("bo").await.get("/api/tokens").await;
    assert_eq!(theirs["tokens"].as_array().unwrap().len(), 0, "{theirs}");
}

#[tokio::test]
async fn issue_13_token_expiry_is_checked_and_its_range_enforced() {
    let _heavy = HEAVY.lock().await;
    let app = TestApp::spawn().await;
    app.user("ana").await;
    let ana = app.login("ana").await;
    for bad in [json!(0), json!(367)] {
        let (s, body) = make_token(&ana, json!({ "name": "x", "expires_in_days": bad })).await;
        assert_eq!(
            (s, body["error"]["field"].as_str()),
            (StatusCode::BAD_REQUEST, Some("expires_in_days")),
            "{bad}: {body}"
        );
    }
    // Wrong types are refused by the JSON extractor (its status is the edge's business).
    for bad in [
        json!({ "name": "x", "expires_in_days": "soon" }),
        json!({ "name": "x", "scope": "admin" }),
        json!({ "name": "" }),
    ] {
        let (s, _) = make_token(&ana, bad.clone()).await;
        assert!(s.is_client_error(), "{bad}: {s}");
    }
    let (_, list) = ana.get("/api/tokens").await;
    assert_eq!(list["tokens"].as_array().unwrap().len(), 0, "{list}");
    let (_, made) = make_token(&ana, json!({ "name": "old" })).await;
    let token = bearer(&app, made["token"].as_str().unwrap());
    assert_eq!(token.get("/api/me").await.0, StatusCode::OK);
    sqlx::query("UPDATE api_token SET expires_at = $1 WHERE id = $2")
        .bind(now_ms() - 1)
        .bind(made["id"].as_i64().unwrap())
        .execute(&app.state.db)
        .await
        .unwrap();
    assert_eq!(token.get("/api/me").await.0, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn issue_13_a_token_is_revoked_by_its_owner_only() {
    let _heavy = HEAVY.lock().await;
    let app = TestApp::spawn().await;
    app.user("ana").await;
    app.user("bo").await;
    let ana = app.login("ana").await;
    let bo = app.login("bo").await;
    let (_, made) = make_token(&ana, json!({ "name": "script" })).await;
    let id = made["id"].as_i64().unwrap();
    let token = bearer(&app, made["token"].as_str().unwrap());
    let (s, body) = bo.delete(&format!("/api/tokens/{id}")).await;
    assert_eq!(
        (s, body["error"]["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("not_found"))
    );
    assert_eq!(token.get("/api/me").await.0, StatusCode::OK);
    let (s, body) = ana.delete(&format!("/api/tokens/{id}")).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(token.get("/api/me").await.0, StatusCode::UNAUTHORIZED);
    let (s, _) = ana.delete(&format!("/api/tokens/{id}")).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (_, list) = ana.get("/api/tokens").await;
    assert_eq!(list["tokens"].as_array().unwrap().len(), 0, "{list}");
}

#[tokio::test]
async fn issue_13_a_read_token_reads_but_does_not_write() {
    let _heavy = HEAVY.lock().await;
    let app = TestApp::spawn().await;
    app.user("ana").await;
    let ana = app.login("ana").await;
    let (_, made) = make_token(&ana, json!({ "name": "ro", "scope": "read" })).await;
    let ro = bearer(&app, made["token"].as_str().unwrap());
    assert_eq!(ro.get("/api/me").await.0, StatusCode::OK);
    assert_eq!(ro.get("/api/projects").await.0, StatusCode::OK);
    let (s, body) = ro.post("/api/projects", json!({ "name": "p" })).await;
    assert_eq!(
        (s, body["error"]["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("read_only_token")),
        "{body}"
    );
    let (s, body) = ro.delete(&format!("/api/tokens/{}", made["id"])).await;
    assert_eq!(body["error"]["code"], "read_only_token", "{s} {body}");
}

#[tokio::test]
async fn issue_13_a_token_cannot_mint_tokens() {
    let _heavy = HEAVY.lock().await;
    let app = TestApp::spawn().await;
    app.user("ana").await;
    let ana = app.login("ana").await;
    let (_, made) = make_token(&ana, json!({ "name": "script" })).await;
    let token = bearer(&app, made["token"].as_str().unwrap());
    let (s, body) = make_token(&token, json!({ "name": "child" })).await;
    assert_eq!(
        (s, body["error"]["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("session_required")),
        "{body}"
    );
    let (_, list) = ana.get("/api/tokens").await;
    assert_eq!(list["tokens"].as_array().unwrap().len(), 1, "{list}");
}

#[tokio::test]
async fn issue_13_a_token_is_no_cookie_and_a_session_is_no_token() {
    let _heavy = HEAVY.lock().await;
    let app = TestApp::spawn().await;
    app.user("ana").await;
    let ana = app.login("ana").await;
    let (_, made) = make_token(&ana, json!({ "name": "script" })).await;
    let secret = made["token"].as_str().unwrap();
    assert_eq!(bearer(&app, secret).get("/api/me").await.0, StatusCode::OK);
    assert_eq!(
        with_cookie(&app, secret).get("/api/me").await.0,
        StatusCode::UNAUTHORIZED
    );
    // A session secret (made here as the login makes it) works as the cookie only.
    let (session, hash) = fangyan::accounts::new_secret();
    fangyan::accounts::db::create_session(&app.state.db, 1, &hash, now_ms() + 60_000)
        .await
        .unwrap();
    assert_eq!(
        with_cookie(&app, &session).get("/api/me").await.0,
        StatusCode::OK
    );
    assert_eq!(
        bearer(&app, &session).get("/api/me").await.0,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn issue_13_an_expired_session_is_refused() {
    let _heavy = HEAVY.lock().await;
    let app = TestApp::spawn().await;
    let id = app.user("ana").await;
    let (secret, hash) = fangyan::accounts::new_secret();
    fangyan::accounts::db::create_session(&app.state.db, id, &hash, now_ms() - 1)
        .await
        .unwrap();
    let (s, body) = with_cookie(&app, &secret).get("/api/me").await;
    assert_eq!(
        (s, body["error"]["code"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("unauthenticated"))
    );
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

// ---- the storm against the real binary ----

/// `fangyan serve` in its own process; killed when dropped.
struct Server {
    child: std::process::Child,
    base: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn fangyan(args: &[&str], dir: &std::path::Path) -> std::process::Command {
    let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_fangyan"));
    c.args(args).arg("--data").arg(dir).env("RUST_LOG", "error");
    common::on_test_database(&mut c, dir);
    c
}

fn add_user(dir: &std::path::Path, name: &str) {
    use std::io::Write;
    let mut add = fangyan(&["user", "add", name, "--password-stdin"], dir)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    add.stdin
        .take()
        .unwrap()
        .write_all(b"correct horse\n")
        .unwrap();
    assert!(add.wait().unwrap().success());
}

async fn serve(dir: &std::path::Path) -> Server {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let addr = format!("127.0.0.1:{port}");
    let child = fangyan(&["serve", "--addr", &addr], dir)
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let server = Server {
        child,
        base: format!("http://{addr}"),
    };
    let up = Instant::now();
    while reqwest::get(format!("{}/api", server.base)).await.is_err() {
        assert!(
            up.elapsed() < Duration::from_secs(30),
            "the server did not start"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    server
}

/// A `Vm…:` line of /proc/PID/status, in bytes.
fn vm_bytes(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| {
            l.strip_prefix(field)?
                .trim()
                .strip_suffix("kB")?
                .trim()
                .parse::<u64>()
                .ok()
        })
        .unwrap()
        * 1024
}

/// Logs bo in, then GETs /api/me every 5 ms until `stop`, on its own thread, runtime and
/// connection (so the storm's client work does not delay the probe's clock); returns the
/// latencies. `ready` is sent once logged in.
fn probe(
    base: String,
    ready: std::sync::mpsc::Sender<()>,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
) -> std::thread::JoinHandle<Vec<Duration>> {
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let bo = from("127.0.0.1");
            assert_eq!(
                attempt(&bo, &base, "bo", "correct horse").await,
                StatusCode::OK
            );
            ready.send(()).unwrap();
            let mut out = Vec::new();
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let t = Instant::now();
                let r = bo.get(format!("{base}/api/me")).send().await.unwrap();
                assert_eq!(r.status(), StatusCode::OK);
                r.bytes().await.unwrap();
                out.push(t.elapsed());
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            out
        })
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue_13_a_login_storm_on_the_real_binary_stays_within_memory_and_latency() {
    let _heavy = HEAVY.lock().await;
    let dir = common::scratch();
    add_user(dir.path(), "ana");
    add_user(dir.path(), "bo");
    let server = serve(dir.path()).await;
    let pid = server.child.id();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let (ready, logged_in) = std::sync::mpsc::channel();
    let prober = probe(server.base.clone(), ready, stop.clone());
    logged_in.recv().unwrap();
    // Idle: started, one login done, the probe running.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let idle = vm_bytes(pid, "VmRSS:");

    // Waves of 200 concurrent wrong passwords on one name for 3 s: 100 from one client (the
    // throttle's case) and 100 from 100 clients never seen before (each passes the throttle:
    // the argon2 budget's case).
    let one = from("127.0.4.1");
    let mut statuses = Vec::new();
    let end = Instant::now() + Duration::from_secs(3);
    let mut wave = 0u32;
    while Instant::now() < end {
        let mut tasks = Vec::new();
        for i in 0..200u32 {
            let http = if i < 100 {
                one.clone()
            } else {
                from(&format!("127.5.{}.{}", wave % 250, i - 99))
            };
            let base = server.base.clone();
            tasks.push(tokio::spawn(async move {
                attempt(&http, &base, "ana", "wrong").await
            }));
        }
        for t in tasks {
            statuses.push(t.await.unwrap());
        }
        wave += 1;
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let mut latencies = prober.join().unwrap();
    let peak = vm_bytes(pid, "VmHWM:");

    latencies.sort();
    let p99 = latencies[latencies.len() * 99 / 100];
    let mb = |b: u64| b as f64 / (1 << 20) as f64;
    let report = format!(
        "{wave} waves, {} attempts: {} checked, {} throttled (429), {} busy (503); \
         idle RSS {:.1} MB, peak {:.1} MB (+{:.1} MB); /api/me p99 {:.1} ms over {} requests",
        statuses.len(),
        count(&statuses, StatusCode::UNAUTHORIZED),
        count(&statuses, StatusCode::TOO_MANY_REQUESTS),
        count(&statuses, StatusCode::SERVICE_UNAVAILABLE),
        mb(idle),
        mb(peak),
        mb(peak.saturating_sub(idle)),
        p99.as_secs_f64() * 1e3,
        latencies.len()
    );
    eprintln!("{report}");
    assert!(peak.saturating_sub(idle) <= 100 << 20, "{report}");
    assert!(p99 <= Duration::from_millis(50), "{report}");
    assert!(
        count(&statuses, StatusCode::SERVICE_UNAVAILABLE) > 0,
        "{report}"
    );
    // The real user still gets in, from yet another client.
    let ana = from("127.0.4.2");
    assert_eq!(
        attempt(&ana, &server.base, "ana", "correct horse").await,
        StatusCode::OK
    );
}

// ---- trusted proxies and the Secure cookie ----

async fn set_cookie(http: &reqwest::Client, base: &str, headers: &[(&str, &str)]) -> String {
    let mut req = http
        .post(format!("{base}/api/login"))
        .header("origin", base)
        .json(&json!({ "name": "ana", "password": "correct horse" }));
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let r = req.send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    r.headers()["set-cookie"].to_str().unwrap().to_string()
}

#[tokio::test]
async fn issue_13_the_cookie_is_secure_when_the_public_url_is_https() {
    let _heavy = HEAVY.lock().await;
    let plain = TestApp::spawn().await;
    plain.user("ana").await;
    let http = reqwest::Client::new();
    let cookie = set_cookie(&http, &plain.base, &[("x-forwarded-proto", "https")]).await;
    assert!(!cookie.contains("Secure"), "{cookie}");
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );

    let tls =
        TestApp::spawn_with(|c| c.public_url = Some("https://fangyan.example.org".into())).await;
    tls.user("ana").await;
    let cookie = set_cookie(&http, &tls.base, &[]).await;
    assert!(cookie.ends_with("; Secure"), "{cookie}");
    // Logging out clears it with the same attributes.
    let r = http
        .post(format!("{}/api/logout", tls.base))
        .send()
        .await
        .unwrap();
    let cleared = r.headers()["set-cookie"].to_str().unwrap();
    assert!(
        cleared.contains("Max-Age=0") && cleared.ends_with("; Secure"),
        "{cleared}"
    );
}

#[tokio::test]
async fn issue_13_a_trusted_proxy_says_https_and_who_the_client_is() {
    let _heavy = HEAVY.lock().await;
    let app = TestApp::spawn_with(|c| c.trusted_proxies = vec!["127.0.0.1".parse().unwrap()]).await;
    app.user("ana").await;
    let proxy = from("127.0.0.1");
    let cookie = set_cookie(&proxy, &app.base, &[("x-forwarded-proto", "https")]).await;
    assert!(cookie.ends_with("; Secure"), "{cookie}");
    let cookie = set_cookie(&proxy, &app.base, &[("x-forwarded-proto", "http")]).await;
    assert!(!cookie.contains("Secure"), "{cookie}");
    // Not from the proxy: the header is not believed.
    let cookie = set_cookie(
        &from("127.0.6.1"),
        &app.base,
        &[("x-forwarded-proto", "https")],
    )
    .await;
    assert!(!cookie.contains("Secure"), "{cookie}");

    // Behind the proxy, clients are told apart by X-Forwarded-For: a storm from one does not
    // throttle another, and a client cannot pick its address by writing the header's left part.
    let login = |xff: String, password: &'static str| {
        let (http, base) = (proxy.clone(), app.base.clone());
        async move {
            http.post(format!("{base}/api/login"))
                .header("origin", &base)
                .header("x-forwarded-for", xff)
                .json(&json!({ "name": "ana", "password": password }))
                .send()
                .await
                .unwrap()
                .status()
        }
    };
    let mut statuses = Vec::new();
    for i in 0..20 {
        statuses.push(login(format!("10.9.9.{i}, 198.51.100.1"), "wrong").await);
    }
    assert_eq!(
        count(&statuses, StatusCode::UNAUTHORIZED),
        5,
        "{statuses:?}"
    );
    assert_eq!(
        login("203.0.113.9".into(), "correct horse").await,
        StatusCode::OK
    );
    assert_eq!(
        login("198.51.100.1".into(), "correct horse").await,
        StatusCode::TOO_MANY_REQUESTS
    );
}

#[tokio::test]
async fn issue_13_forwarded_for_from_an_untrusted_peer_does_not_dodge_the_throttle() {
    let _heavy = HEAVY.lock().await;
    let app = TestApp::spawn().await;
    app.user("ana").await;
    let http = from("127.0.6.2");
    let mut statuses = Vec::new();
    for i in 0..20 {
        let r = http
            .post(format!("{}/api/login", app.base))
            .header("x-forwarded-for", format!("203.0.113.{i}"))
            .json(&json!({ "name": "ana", "password": "wrong" }))
            .send()
            .await
            .unwrap();
        if r.status() == StatusCode::TOO_MANY_REQUESTS {
            assert!(r.headers().contains_key("retry-after"));
        }
        statuses.push(r.status());
    }
    assert_eq!(
        count(&statuses, StatusCode::UNAUTHORIZED),
        5,
        "{statuses:?}"
    );
    assert_eq!(app.state.logins.checker.checks(), 5);
}

#[tokio::test]
async fn the_optional_probe_of_me_answers_null_when_nobody_is_logged_in() {
    let _heavy = HEAVY.lock().await;
    let app = TestApp::spawn().await;
    let http = reqwest::Client::new();
    let get = |q: &'static str| {
        let http = http.clone();
        let url = format!("{}/api/me{q}", app.base);
        async move { http.get(url).send().await.unwrap() }
    };
    // Without the flag the old answer stays: 401.
    assert_eq!(get("").await.status(), StatusCode::UNAUTHORIZED);
    let r = get("?optional=true").await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.json::<Value>().await.unwrap(), Value::Null);
    // Logged in, the flag changes nothing.
    app.user("probe").await;
    let me = app.login("probe").await;
    let (s, body) = me.get("/api/me?optional=true").await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(body["name"], "probe", "{body}");
}
