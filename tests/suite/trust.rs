//! The trust model (issue 13): instance admins beside ordinary users, who may create projects,
//! and the outbound allow-list that keeps a project admin from pointing live ASR at the
//! server's own network. The redirect and use-time (DNS rebinding) cases, which need a fake
//! ASR server, are in `asr_live.rs`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use std::process::{Command, Stdio};
use std::time::Duration;

use common::app::TestApp;
use fangyan::projects::Creators;
use reqwest::StatusCode;
use serde_json::json;

#[tokio::test]
async fn an_ordinary_user_cannot_create_a_project_and_an_instance_admin_can() {
    let app = TestApp::spawn().await;
    app.user("crowd").await;
    let crowd = app.login("crowd").await;
    let (s, me) = crowd.get("/api/me").await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(
        (me["is_admin"].clone(), me["can_create_projects"].clone()),
        (json!(false), json!(false))
    );
    let (s, body) = crowd.post("/api/projects", json!({ "name": "mine" })).await;
    assert_eq!(
        (s, body["error"]["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("forbidden")),
        "{body}"
    );
    let (_, list) = crowd.get("/api/projects").await;
    assert_eq!(list["projects"], json!([]), "nothing was created");

    // The same user, made an instance admin by the operator, may; and becomes its admin.
    app.grant_admin("crowd").await;
    let (_, me) = crowd.get("/api/me").await;
    assert_eq!(
        (me["is_admin"].clone(), me["can_create_projects"].clone()),
        (json!(true), json!(true))
    );
    let (s, body) = crowd.post("/api/projects", json!({ "name": "mine" })).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let (_, list) = crowd.get("/api/projects").await;
    assert_eq!(list["projects"][0]["role"], "admin");
}

#[tokio::test]
async fn a_project_admin_is_not_an_instance_admin() {
    let app = TestApp::spawn().await;
    let (project, _, transcriber, _) = app.project("p").await;
    let (s, body) = transcriber
        .post("/api/projects", json!({ "name": "q" }))
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{body}");
    // A project admin made by another project admin gains no instance role either.
    app.user("lead").await;
    let admin = app.login("p-admin").await;
    let (s, _) = admin
        .post(
            &format!("/api/projects/{project}/members"),
            json!({ "user": "lead", "role": "admin" }),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let lead = app.login("lead").await;
    let (s, body) = lead.post("/api/projects", json!({ "name": "q" })).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{body}");
    let (_, me) = lead.get("/api/me").await;
    assert_eq!(me["is_admin"], false);
}

#[tokio::test]
async fn the_everyone_setting_lets_any_user_create_projects() {
    let app = TestApp::spawn_with(|c| c.project_creators = Creators::Everyone).await;
    app.user("crowd").await;
    let crowd = app.login("crowd").await;
    let (_, me) = crowd.get("/api/me").await;
    assert_eq!(
        (me["is_admin"].clone(), me["can_create_projects"].clone()),
        (json!(false), json!(true))
    );
    let (s, body) = crowd.post("/api/projects", json!({ "name": "mine" })).await;
    assert_eq!(s, StatusCode::OK, "{body}");
}

/// ASR URLs that reach the server's own machine or network, each in another disguise.
const INTERNAL: [&str; 10] = [
    "http://127.0.0.1:8080",
    "http://127.1:8080/v1",
    "http://2130706433/",
    "http://10.0.0.1:9000",
    "http://169.254.169.254/latest/meta-data/",
    "http://[::1]:8080",
    "http://[::ffff:127.0.0.1]:8080",
    "http://100.64.0.1/",
    "http://0.0.0.0:8080",
    // A DNS name that resolves to loopback.
    "http://localhost:8080",
];

#[tokio::test]
async fn internal_asr_urls_are_refused_when_set_and_leave_the_settings_alone() {
    let app = TestApp::spawn().await;
    let (project, admin, _, _) = app.project("p").await;
    let path = format!("/api/projects/{project}");
    for url in INTERNAL {
        let (s, body) = admin
            .patch(&path, json!({ "asr": { "url": url, "model": "m" } }))
            .await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{url}: {body}");
        assert_eq!(
            body["error"]["code"], "asr_url_not_allowed",
            "{url}: {body}"
        );
        assert_eq!(body["error"]["field"], "asr.url");
    }
    let (_, settings) = admin.get(&path).await;
    assert_eq!(settings["asr"]["url"], json!(null), "{settings}");
    assert_eq!(
        settings["asr"]["model"],
        json!(null),
        "a refused PATCH changes nothing"
    );
    // A public address is accepted (nothing is contacted when it is set).
    let (s, body) = admin
        .patch(
            &path,
            json!({ "asr": { "url": "https://93.184.215.14/v1", "model": "m" } }),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(body["asr"]["url"], "https://93.184.215.14/v1");
    // Only http and https.
    for url in [
        "ftp://93.184.215.14/",
        "file:///etc/passwd",
        "gopher://93.184.215.14/",
    ] {
        let (s, body) = admin.patch(&path, json!({ "asr": { "url": url } })).await;
        assert_eq!(
            (s, body["error"]["code"].as_str()),
            (StatusCode::BAD_REQUEST, Some("invalid_asr_url")),
            "{url}"
        );
    }
}

#[tokio::test]
async fn the_operator_allow_list_admits_internal_hosts_by_name_and_port() {
    let app = TestApp::spawn_with(|c| {
        c.asr.allow = "localhost:8080,10.0.0.1,*.lan".parse().unwrap();
    })
    .await;
    let (project, admin, _, _) = app.project("p").await;
    let path = format!("/api/projects/{project}");
    let set = |url: &'static str| {
        let admin = &admin;
        let path = &path;
        async move {
            let (s, body) = admin.patch(path, json!({ "asr": { "url": url } })).await;
            (s, body["error"]["code"].as_str().map(str::to_string))
        }
    };
    assert_eq!(set("http://localhost:8080").await, (StatusCode::OK, None));
    assert_eq!(set("http://10.0.0.1:9000/v1").await, (StatusCode::OK, None));
    let refused = (
        StatusCode::BAD_REQUEST,
        Some("asr_url_not_allowed".to_string()),
    );
    assert_eq!(set("http://localhost:8081").await, refused, "another port");
    assert_eq!(
        set("http://127.0.0.1:8080").await,
        refused,
        "the address is not the name"
    );
    assert_eq!(set("http://10.0.0.2").await, refused);
}

fn fangyan(data: &std::path::Path, args: &[&str], stdin: &str) -> std::process::Output {
    common::output_with_stdin(
        common::on_test_database(&mut Command::new(env!("CARGO_BIN_EXE_fangyan")), data)
            .args(args)
            .arg("--data")
            .arg(data),
        stdin,
    )
}

#[tokio::test]
async fn the_command_line_makes_and_unmakes_instance_admins() {
    let dir = common::scratch();
    let ok = |out: std::process::Output| {
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap()
    };
    let line = ok(fangyan(
        dir.path(),
        &["user", "add", "ana", "--admin", "--password-stdin"],
        "ana-password\n",
    ));
    assert_eq!(line["is_admin"], true);
    let line = ok(fangyan(
        dir.path(),
        &["user", "add", "bo", "--password-stdin"],
        "bo-password\n",
    ));
    assert_eq!(line["is_admin"], false);
    ok(fangyan(dir.path(), &["user", "grant-admin", "bo"], ""));
    ok(fangyan(dir.path(), &["user", "revoke-admin", "ana"], ""));
    let out = fangyan(dir.path(), &["user", "grant-admin", "nobody"], "");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no user named nobody"));

    let state = fangyan::app::AppState::open(
        fangyan::app::Config::new(dir.path())
            .with_database(common::database_url_for(dir.path()))
            .with_store(common::store_url_for(dir.path())),
    )
    .await
    .unwrap();
    let admin = |name: &'static str| {
        let db = state.db.clone();
        async move {
            let (id, _) = fangyan::accounts::db::user_by_name(&db, name)
                .await
                .unwrap()
                .unwrap();
            fangyan::accounts::db::is_instance_admin(&db, id)
                .await
                .unwrap()
        }
    };
    assert!(!admin("ana").await);
    assert!(admin("bo").await);
}

#[tokio::test]
async fn serve_reads_the_trust_settings_from_flags_and_environment() {
    // Bad values stop the server before it starts.
    let dir = common::scratch();
    let out = fangyan(dir.path(), &["serve", "--asr-allow", "a b"], "");
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("a b"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out =
        common::on_test_database(&mut Command::new(env!("CARGO_BIN_EXE_fangyan")), dir.path())
            .args(["serve", "--data"])
            .arg(dir.path())
            .env("FANGYAN_PROJECT_CREATORS", "nobody")
            .output()
            .unwrap();
    assert!(!out.status.success());

    // FANGYAN_PROJECT_CREATORS=everyone and FANGYAN_ASR_ALLOW reach the running server.
    fangyan(
        dir.path(),
        &["user", "add", "crowd", "--password-stdin"],
        "crowd-password\n",
    );
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let _server = KillOnDrop(
        common::on_test_database(&mut Command::new(env!("CARGO_BIN_EXE_fangyan")), dir.path())
            .args(["serve", "--addr", &format!("127.0.0.1:{port}"), "--data"])
            .arg(dir.path())
            .env("FANGYAN_PROJECT_CREATORS", "everyone")
            .env("FANGYAN_ASR_ALLOW", "localhost:9")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let base = format!("http://127.0.0.1:{port}");
    let http = common::browser_client(&base).build().unwrap();
    let mut up = false;
    for _ in 0..200 {
        if http.get(format!("{base}/api")).send().await.is_ok() {
            up = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(up, "the server started");
    let r = http
        .post(format!("{base}/api/login"))
        .json(&json!({ "name": "crowd", "password": "crowd-password" }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let r = http
        .post(format!("{base}/api/projects"))
        .json(&json!({ "name": "mine" }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK, "everyone may create projects");
    let project = r.json::<serde_json::Value>().await.unwrap()["id"]
        .as_i64()
        .unwrap();
    let patch = |url: &'static str| {
        http.patch(format!("{base}/api/projects/{project}"))
            .json(&json!({ "asr": { "url": url } }))
            .send()
    };
    assert_eq!(
        patch("http://localhost:9").await.unwrap().status(),
        StatusCode::OK
    );
    assert_eq!(
        patch("http://localhost:10").await.unwrap().status(),
        StatusCode::BAD_REQUEST
    );
}

/// Stops the server this test started, also when an assertion fails.
struct KillOnDrop(std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
