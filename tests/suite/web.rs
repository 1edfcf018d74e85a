//! The web module against the real app: the app shell and its modules are served with a strict
//! Content-Security-Policy, and per-user settings round-trip and are checked.
//! (The browser behaviour itself is tested by `tests/browser/run.mjs`.)

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use fangyan::app::{AppState, Config};
use reqwest::StatusCode;
use serde_json::{Value, json};

async fn spawn() -> (String, AppState, tempfile::TempDir) {
    let dir = common::scratch();
    let state = AppState::open(
        Config::new(dir.path())
            .with_database(common::database_url_for(dir.path()))
            .with_store(common::store_url_for(dir.path())),
    )
    .await
    .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let router = fangyan::app::router(state.clone());
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    (base, state, dir)
}

async fn login(base: &str, state: &AppState, name: &str) -> reqwest::Client {
    let hash = fangyan::accounts::hash_password("pw").unwrap();
    fangyan::accounts::db::create_user(&state.db, name, &hash)
        .await
        .unwrap();
    let http = common::browser_client(base).build().unwrap();
    let r = http
        .post(format!("{base}/api/login"))
        .json(&json!({ "name": name, "password": "pw" }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    http
}

#[tokio::test]
async fn the_app_shell_and_modules_carry_a_strict_csp() {
    let (base, _state, _dir) = spawn().await;
    let http = reqwest::Client::new();
    for (path, kind) in [
        ("/", "text/html"),
        ("/web/app.js", "text/javascript"),
        ("/web/style.css", "text/css"),
    ] {
        let r = http.get(format!("{base}{path}")).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::OK, "{path}");
        let h = r.headers();
        assert!(
            h["content-type"].to_str().unwrap().starts_with(kind),
            "{path}"
        );
        let csp = h["content-security-policy"].to_str().unwrap();
        assert!(csp.contains("default-src 'self'"), "{csp}");
        assert!(csp.contains("script-src 'self'"), "{csp}");
        assert!(!csp.contains("unsafe-inline") && !csp.contains("unsafe-eval"));
        assert_eq!(h["x-content-type-options"], "nosniff");
    }
    let html = http
        .get(format!("{base}/"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("/web/app.js") && !html.contains("<script>"));
    let missing = http
        .get(format!("{base}/web/nope.js"))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    let dotdot = http
        .get(format!("{base}/web/..%2fCargo.toml"))
        .send()
        .await
        .unwrap();
    assert_eq!(dotdot.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn settings_round_trip_per_user_and_are_checked() {
    let (base, state, _dir) = spawn().await;
    let a = login(&base, &state, "a").await;
    let b = login(&base, &state, "b").await;
    let url = format!("{base}/api/me/settings");
    let empty: Value = a.get(&url).send().await.unwrap().json().await.unwrap();
    assert_eq!(empty, json!({}));
    let mine = json!({ "shortcuts": { "playPause": "Alt+Space" }, "speed": 1.5 });
    let r = a.put(&url).json(&mine).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let back: Value = a.get(&url).send().await.unwrap().json().await.unwrap();
    assert_eq!(back, mine);
    let theirs: Value = b.get(&url).send().await.unwrap().json().await.unwrap();
    assert_eq!(theirs, json!({}), "settings are per user");
    let r = a.put(&url).json(&json!([1, 2])).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let big = json!({ "x": "a".repeat(20_000) });
    let r = a.put(&url).json(&big).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let anon = reqwest::Client::new().get(&url).send().await.unwrap();
    assert_eq!(anon.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn speakers_are_listed_and_added_by_editors() {
    let (base, state, _dir) = spawn().await;
    let admin = login(&base, &state, "boss").await;
    // Projects are created by instance admins (README, Trust model).
    fangyan::accounts::db::set_instance_admin(&state.db, "boss", true)
        .await
        .unwrap();
    let p: Value = admin
        .post(format!("{base}/api/projects"))
        .json(&json!({ "name": "p" }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let url = format!("{base}/api/projects/{}/speakers", p["id"]);
    let r = admin
        .post(&url)
        .json(&json!({ "code": "SPK01" }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let again = admin
        .post(&url)
        .json(&json!({ "code": "SPK01" }))
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), StatusCode::CONFLICT);
    let list: Value = admin.get(&url).send().await.unwrap().json().await.unwrap();
    assert_eq!(list["speakers"][0]["code"], "SPK01");
    let stranger = login(&base, &state, "stranger").await;
    let r = stranger.get(&url).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
}
