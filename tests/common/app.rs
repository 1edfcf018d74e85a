//! A test server: the real app on 127.0.0.1:0 with a fresh data directory, users and projects
//! made through the API, and a logged-in client with typed helpers.
#![allow(clippy::unwrap_used, clippy::expect_used, dead_code)]

use std::path::Path;

use fangyan::app::{AppState, Config};
use reqwest::StatusCode;
use serde_json::{Value, json};

pub struct TestApp {
    pub base: String,
    pub state: AppState,
    _dir: Option<tempfile::TempDir>,
}

/// A logged-in client.
pub struct Client {
    pub http: reqwest::Client,
    pub base: String,
}

impl TestApp {
    pub async fn spawn() -> Self {
        Self::spawn_with(|_| {}).await
    }

    pub async fn spawn_with(configure: impl FnOnce(&mut Config)) -> Self {
        let dir = super::scratch();
        let mut config = Config::new(dir.path())
            .with_database(super::database_url_for(dir.path()))
            .with_store(super::store_url_for(dir.path()));
        configure(&mut config);
        Self::start(config, Some(dir)).await
    }

    /// A second app on an existing data directory (the test keeps the directory), on the
    /// given database: e.g. the Postgres copy of another app's SQLite file.
    pub async fn spawn_at(data: &Path, database_url: Option<String>) -> Self {
        let config = Config::new(data)
            .with_database(database_url)
            .with_store(super::store_url_for(data));
        Self::start(config, None).await
    }

    async fn start(config: Config, dir: Option<tempfile::TempDir>) -> Self {
        let state = AppState::open(config).await.unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let router = fangyan::app::router(state.clone());
        // With the peer address, as `app::serve` does: the login throttle keys on it.
        let router = router.into_make_service_with_connect_info::<std::net::SocketAddr>();
        tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
        Self {
            base,
            state,
            _dir: dir,
        }
    }

    pub async fn user(&self, name: &str) -> i64 {
        let hash = fangyan::accounts::hash_password("correct horse").unwrap();
        fangyan::accounts::db::create_user(&self.state.db, name, &hash)
            .await
            .unwrap()
    }

    pub async fn login(&self, name: &str) -> Client {
        let http = super::browser_client(&self.base).build().unwrap();
        let r = http
            .post(format!("{}/api/login", self.base))
            .json(&json!({ "name": name, "password": "correct horse" }))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        Client {
            http,
            base: self.base.clone(),
        }
    }

    /// Makes an existing user an instance admin (as `fangyan user grant-admin` does).
    pub async fn grant_admin(&self, name: &str) {
        assert!(
            fangyan::accounts::db::set_instance_admin(&self.state.db, name, true)
                .await
                .unwrap()
        );
    }

    /// A project with an admin, a transcriber and a reviewer, logged in. The admin is an
    /// instance admin, who alone may create projects by default.
    pub async fn project(&self, name: &str) -> (i64, Client, Client, Client) {
        for role in ["admin", "transcriber", "reviewer"] {
            self.user(&format!("{name}-{role}")).await;
        }
        self.grant_admin(&format!("{name}-admin")).await;
        let admin = self.login(&format!("{name}-admin")).await;
        let (s, p) = admin.post("/api/projects", json!({ "name": name })).await;
        assert_eq!(s, StatusCode::OK, "{p}");
        let id = p["id"].as_i64().unwrap();
        for role in ["transcriber", "reviewer"] {
            let (s, _) = admin
                .post(
                    &format!("/api/projects/{id}/members"),
                    json!({ "user": format!("{name}-{role}"), "role": role }),
                )
                .await;
            assert_eq!(s, StatusCode::OK);
        }
        let t = self.login(&format!("{name}-transcriber")).await;
        let r = self.login(&format!("{name}-reviewer")).await;
        (id, admin, t, r)
    }
}

impl Client {
    pub async fn get(&self, path: &str) -> (StatusCode, Value) {
        let r = self
            .http
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .unwrap();
        let status = r.status();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    pub async fn post(&self, path: &str, body: Value) -> (StatusCode, Value) {
        let r = self
            .http
            .post(format!("{}{path}", self.base))
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = r.status();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    pub async fn put(&self, path: &str, body: Value) -> (StatusCode, Value) {
        let r = self
            .http
            .put(format!("{}{path}", self.base))
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = r.status();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    pub async fn patch(&self, path: &str, body: Value) -> (StatusCode, Value) {
        let r = self
            .http
            .patch(format!("{}{path}", self.base))
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = r.status();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    pub async fn upload(&self, project: i64, file: &Path) -> (StatusCode, Value) {
        let bytes = std::fs::read(file).unwrap();
        let name = file.file_name().unwrap().to_string_lossy().into_owned();
        let form = reqwest::multipart::Form::new().part(
            "file",
            reqwest::multipart::Part::bytes(bytes).file_name(name),
        );
        let r = self
            .http
            .post(format!("{}/api/projects/{project}/recordings", self.base))
            .multipart(form)
            .send()
            .await
            .unwrap();
        let status = r.status();
        (status, r.json().await.unwrap_or(Value::Null))
    }
}

/// Uploads a real recording and waits for its job; returns the recording id.
pub async fn ready_recording(app: &TestApp, admin: &Client, project: i64) -> i64 {
    let (s, body) = admin
        .upload(project, &super::fixture("real/zh-funasr-binhai-query.wav"))
        .await;
    assert_eq!(s, StatusCode::ACCEPTED, "{body}");
    app.state.jobs.drain().await;
    let id = body["recording"].as_i64().unwrap();
    let (_, r) = admin.get(&format!("/api/recordings/{id}")).await;
    assert_eq!(r["status"], "ready", "{r}");
    id
}

impl Client {
    /// A GET whose body is text (CSV downloads): status, content type and body.
    pub async fn get_text(&self, path: &str) -> (StatusCode, String, String) {
        let r = self
            .http
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .unwrap();
        let status = r.status();
        let ctype = r
            .headers()
            .get("content-type")
            .map(|v| v.to_str().unwrap().to_string())
            .unwrap_or_default();
        (status, ctype, r.text().await.unwrap())
    }

    /// A DELETE.
    pub async fn delete(&self, path: &str) -> (StatusCode, Value) {
        let r = self
            .http
            .delete(format!("{}{path}", self.base))
            .send()
            .await
            .unwrap();
        let status = r.status();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    /// A multipart POST.
    pub async fn post_form(
        &self,
        path: &str,
        form: reqwest::multipart::Form,
    ) -> (StatusCode, Value) {
        let r = self
            .http
            .post(format!("{}{path}", self.base))
            .multipart(form)
            .send()
            .await
            .unwrap();
        let status = r.status();
        (status, r.json().await.unwrap_or(Value::Null))
    }
}
