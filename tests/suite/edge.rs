//! The HTTP edge (issue 13, items 6, 9 and 10): every malformed request answers the JSON error
//! shape with a stable code; every state-changing request with the session cookie from another
//! origin is 403 `cross_origin` whatever its content type; every response carries the security
//! headers; the OpenAPI document names the required parameters and what each operation answers.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use common::app::TestApp;
use reqwest::StatusCode;
use reqwest::header::{CONTENT_TYPE, ORIGIN, REFERER};
use serde_json::{Value, json};

const FOREIGN: &str = "http://127.0.0.1:1";

/// A logged-in cookie client that adds no header of its own (no default `Origin`).
async fn bare_client(app: &TestApp, name: &str) -> reqwest::Client {
    let http = reqwest::Client::builder()
        .cookie_store(true)
        .build()
        .unwrap();
    let r = http
        .post(format!("{}/api/login", app.base))
        .json(&json!({ "name": name, "password": "correct horse" }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    http
}

/// Status, content type and JSON body of a response.
async fn answer(r: reqwest::Response) -> (StatusCode, String, Value) {
    let status = r.status();
    let ctype = r
        .headers()
        .get(CONTENT_TYPE)
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    let text = r.text().await.unwrap();
    let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
    (status, ctype, body)
}

/// Asserts the error shape with `code` and no Rust type name in the sentence.
fn assert_shape(what: &str, got: &(StatusCode, String, Value), status: u16, code: &str) {
    let (s, ctype, body) = got;
    assert_eq!(s.as_u16(), status, "{what}: {body}");
    assert!(
        ctype.starts_with("application/json"),
        "{what}: {ctype} {body}"
    );
    assert_eq!(body["error"]["code"], code, "{what}: {body}");
    let message = body["error"]["message"].as_str().unwrap_or_default();
    assert!(!message.is_empty(), "{what}: {body}");
    for rust in ["i64", "u32", "usize", "struct ", "fangyan::", "alloc::"] {
        assert!(!message.contains(rust), "{what}: `{rust}` in {message}");
    }
}

#[tokio::test]
async fn malformed_json_bodies_answer_the_error_shape_with_stable_codes() {
    let app = TestApp::spawn().await;
    let (project, admin, _, _) = app.project("p").await;
    let url = format!("{}/api/projects", app.base);
    let post = |body: &'static str, ctype: Option<&'static str>| {
        let mut r = admin.http.post(&url).body(body);
        if let Some(ctype) = ctype {
            r = r.header(CONTENT_TYPE, ctype);
        }
        r.send()
    };
    let json = Some("application/json");
    let got = answer(post("{\"name\":", json).await.unwrap()).await;
    assert_shape("truncated JSON", &got, 400, "invalid_json");
    let got = answer(post("{\"name\": 5}", json).await.unwrap()).await;
    assert_shape("a number for a string", &got, 400, "invalid_body");
    let got = answer(post("[1, 2]", json).await.unwrap()).await;
    assert_shape("an array for an object", &got, 400, "invalid_body");
    let got = answer(post("{}", json).await.unwrap()).await;
    assert_shape("a missing field", &got, 400, "invalid_body");
    let got = answer(post("{\"name\": \"x\"}", None).await.unwrap()).await;
    assert_shape("no content type", &got, 415, "unsupported_media_type");
    let got = answer(post("name=x", Some("text/plain")).await.unwrap()).await;
    assert_shape("a text body", &got, 415, "unsupported_media_type");

    // Wrong types inside a nested field, and an unknown field where the schema forbids them.
    let (s, sp) = admin
        .post(
            &format!("/api/projects/{project}/speakers"),
            json!({ "code": "S1" }),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{sp}");
    let speaker = sp["id"].as_i64().unwrap();
    let r = admin
        .http
        .patch(format!("{}/api/speakers/{speaker}", app.base))
        .json(&json!({ "gender": "f", "shoe_size": 42 }))
        .send()
        .await
        .unwrap();
    assert_shape("an unknown field", &answer(r).await, 400, "invalid_body");
    let r = admin
        .http
        .put(format!("{}/api/segments/1", app.base))
        .json(&json!({ "version": "one", "save_id": "a" }))
        .send()
        .await
        .unwrap();
    assert_shape(
        "a string for an integer",
        &answer(r).await,
        400,
        "invalid_body",
    );
}

#[tokio::test]
async fn bad_paths_and_queries_answer_the_error_shape() {
    let app = TestApp::spawn().await;
    let (project, admin, _, _) = app.project("p").await;
    let get = |path: String| admin.http.get(format!("{}{path}", app.base)).send();
    let got = answer(get("/api/segments/abc".into()).await.unwrap()).await;
    assert_shape("a word for an id", &got, 400, "invalid_path");
    let got = answer(
        get("/api/projects/99999999999999999999999".into())
            .await
            .unwrap(),
    )
    .await;
    assert_shape("an id beyond i64", &got, 400, "invalid_path");
    let got = answer(
        get(format!("/api/projects/{project}/metrics?limit=many"))
            .await
            .unwrap(),
    )
    .await;
    assert_shape("a word for a number", &got, 400, "invalid_query");
    let r = admin
        .http
        .delete(format!("{}/api/segments/1?version=x&save_id=a", app.base))
        .send()
        .await
        .unwrap();
    assert_shape(
        "a word for a version",
        &answer(r).await,
        400,
        "invalid_query",
    );
    let r = admin
        .http
        .delete(format!("{}/api/segments/1", app.base))
        .send()
        .await
        .unwrap();
    assert_shape("no version at all", &answer(r).await, 400, "invalid_query");
}

#[tokio::test]
async fn over_limit_and_broken_multipart_bodies_answer_the_error_shape() {
    let app = TestApp::spawn_with(|c| c.max_upload = 4096).await;
    let (project, admin, _, _) = app.project("p").await;
    let form = reqwest::multipart::Form::new().part(
        "file",
        reqwest::multipart::Part::bytes(vec![0u8; 64 * 1024]).file_name("big.wav"),
    );
    let r = admin
        .http
        .post(format!("{}/api/projects/{project}/recordings", app.base))
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_shape(
        "an upload over the limit",
        &answer(r).await,
        413,
        "too_large",
    );

    // A JSON body over axum's default 2 MiB limit.
    let big = format!("{{\"name\": \"{}\"}}", "x".repeat(3 << 20));
    let r = admin
        .http
        .post(format!("{}/api/projects", app.base))
        .header(CONTENT_TYPE, "application/json")
        .body(big)
        .send()
        .await
        .unwrap();
    assert_shape("a JSON body over 2 MiB", &answer(r).await, 413, "too_large");

    // A multipart body without a boundary never reaches the handler.
    for path in [
        format!("/api/projects/{project}/recordings"),
        format!("/api/projects/{project}/asr"),
    ] {
        let r = admin
            .http
            .post(format!("{}{path}", app.base))
            .header(CONTENT_TYPE, "multipart/form-data")
            .body("--x\r\n")
            .send()
            .await
            .unwrap();
        let got = answer(r).await;
        assert!(got.0.is_client_error(), "{path}: {got:?}");
        assert!(got.1.starts_with("application/json"), "{path}: {got:?}");
        assert!(got.2["error"]["code"].is_string(), "{path}: {got:?}");
    }
}

#[tokio::test]
async fn a_foreign_origin_with_the_session_cookie_is_refused_whatever_the_content_type() {
    let app = TestApp::spawn().await;
    let (project, admin, _, _) = app.project("p").await;
    let base = &app.base;
    let http = &admin.http;
    let csv = || {
        http.post(format!("{base}/api/projects/{project}/speakers/import"))
            .header(CONTENT_TYPE, "text/plain")
            .body("code\nS9\n")
    };
    let wav = || {
        reqwest::multipart::Form::new().part(
            "file",
            reqwest::multipart::Part::bytes(b"RIFF....WAVE".to_vec()).file_name("a.wav"),
        )
    };
    let cases: Vec<(&str, reqwest::RequestBuilder)> = vec![
        (
            "JSON project",
            http.post(format!("{base}/api/projects"))
                .json(&json!({ "name": "evil" })),
        ),
        ("text/plain speaker import", csv()),
        (
            "multipart upload",
            http.post(format!("{base}/api/projects/{project}/recordings"))
                .multipart(wav()),
        ),
        (
            "multipart ASR import",
            http.post(format!("{base}/api/projects/{project}/asr"))
                .multipart(wav()),
        ),
        (
            "PATCH settings",
            http.patch(format!("{base}/api/projects/{project}"))
                .json(&json!({})),
        ),
        (
            "PUT user settings",
            http.put(format!("{base}/api/me/settings"))
                .json(&json!({ "speed": 2 })),
        ),
        (
            "DELETE segment",
            http.delete(format!("{base}/api/segments/1?version=1&save_id=x")),
        ),
        ("empty logout", http.post(format!("{base}/api/logout"))),
    ];
    for (what, request) in cases {
        let got = answer(request.header(ORIGIN, FOREIGN).send().await.unwrap()).await;
        assert_shape(what, &got, 403, "cross_origin");
    }
    // Nothing happened: still logged in, no project "evil", no speaker S9.
    let (s, _) = admin.get("/api/me").await;
    assert_eq!(s, StatusCode::OK);
    let (_, projects) = admin.get("/api/projects").await;
    assert!(!projects.to_string().contains("evil"), "{projects}");
    let (_, speakers) = admin
        .get(&format!("/api/projects/{project}/speakers"))
        .await;
    assert!(!speakers.to_string().contains("S9"), "{speakers}");

    // Another port of the same host is same-site, not same-origin.
    let r = csv()
        .header(ORIGIN, "http://127.0.0.1:9")
        .send()
        .await
        .unwrap();
    assert_shape("another port", &answer(r).await, 403, "cross_origin");
    // The same request from the page itself goes through.
    let r = csv().header(ORIGIN, base.as_str()).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK, "{:?}", r.text().await);
}

#[tokio::test]
async fn without_an_origin_the_fetch_metadata_or_the_referer_decides() {
    let app = TestApp::spawn().await;
    app.user("u").await;
    let http = bare_client(&app, "u").await;
    let url = format!("{}/api/me/settings", app.base);
    let put = || http.put(&url).json(&json!({ "speed": 1.5 }));

    let got = answer(put().send().await.unwrap()).await;
    assert_shape("no provenance at all", &got, 403, "cross_origin");
    let got = answer(
        put()
            .header("sec-fetch-site", "same-site")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_shape("same-site", &got, 403, "cross_origin");
    let got = answer(
        put()
            .header("sec-fetch-site", "cross-site")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_shape("cross-site", &got, 403, "cross_origin");
    let r = put()
        .header(REFERER, format!("{FOREIGN}/page"))
        .send()
        .await
        .unwrap();
    assert_shape("a foreign referer", &answer(r).await, 403, "cross_origin");
    let r = put()
        .header(ORIGIN, "null")
        .header("sec-fetch-site", "cross-site")
        .send()
        .await
        .unwrap();
    assert_shape("a sandboxed page", &answer(r).await, 403, "cross_origin");

    for (name, value) in [
        ("sec-fetch-site", "same-origin".to_string()),
        ("referer", format!("{}/", app.base)),
        ("origin", app.base.clone()),
    ] {
        let r = put().header(name, value).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::OK, "{name}: {:?}", r.text().await);
    }
    // Reading is not state-changing: no provenance needed.
    let r = http.get(&url).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_bearer_token_without_a_cookie_is_not_checked_for_origin() {
    let app = TestApp::spawn().await;
    let (_, admin, _, _) = app.project("p").await;
    let (s, t) = admin.post("/api/tokens", json!({ "name": "script" })).await;
    assert_eq!(s, StatusCode::OK, "{t}");
    let token = t["token"].as_str().unwrap();
    let r = reqwest::Client::new()
        .post(format!("{}/api/projects", app.base))
        .bearer_auth(token)
        .header(ORIGIN, FOREIGN)
        .json(&json!({ "name": "scripted" }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK, "{:?}", r.text().await);
}

fn assert_security_headers(what: &str, r: &reqwest::Response) {
    let h = r.headers();
    let get = |name: &str| {
        h.get(name)
            .map(|v| v.to_str().unwrap().to_string())
            .unwrap_or_default()
    };
    assert_eq!(get("x-content-type-options"), "nosniff", "{what}");
    assert_eq!(get("x-frame-options"), "DENY", "{what}");
    assert_eq!(get("referrer-policy"), "same-origin", "{what}");
    assert!(
        get("content-security-policy").contains("frame-ancestors 'none'"),
        "{what}: {}",
        get("content-security-policy")
    );
}

#[tokio::test]
async fn every_kind_of_response_carries_the_security_headers() {
    let app = TestApp::spawn().await;
    let (project, admin, _, _) = app.project("p").await;
    let anonymous = reqwest::Client::new();
    let base = &app.base;
    for (what, r) in [
        (
            "JSON",
            admin.http.get(format!("{base}/api/me")).send().await,
        ),
        ("401", anonymous.get(format!("{base}/api/me")).send().await),
        (
            "no route",
            anonymous.get(format!("{base}/api/nothing")).send().await,
        ),
        (
            "405",
            anonymous.patch(format!("{base}/api/login")).send().await,
        ),
        (
            "invalid path",
            admin
                .http
                .get(format!("{base}/api/segments/x"))
                .send()
                .await,
        ),
        (
            "cross origin",
            admin
                .http
                .post(format!("{base}/api/logout"))
                .header(ORIGIN, FOREIGN)
                .send()
                .await,
        ),
        (
            "CSV",
            admin
                .http
                .get(format!("{base}/api/projects/{project}/progress?format=csv"))
                .send()
                .await,
        ),
        (
            "document",
            anonymous
                .get(format!("{base}/api/openapi.json"))
                .send()
                .await,
        ),
        ("app shell", anonymous.get(format!("{base}/")).send().await),
        (
            "module",
            anonymous.get(format!("{base}/web/api.js")).send().await,
        ),
        (
            "missing asset",
            anonymous.get(format!("{base}/web/none.js")).send().await,
        ),
    ] {
        assert_security_headers(what, &r.unwrap());
    }
    // The UI keeps its own full policy.
    let r = anonymous.get(format!("{base}/")).send().await.unwrap();
    let csp = r.headers()["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("script-src 'self'"), "{csp}");
}

#[tokio::test]
async fn the_document_names_required_parameters_and_what_each_operation_answers() {
    let app = TestApp::spawn().await;
    let (_, admin, _, _) = app.project("p").await;
    let (_, doc) = admin.get("/api/openapi.json").await;
    let required_query = |path: &str, method: &str| -> Vec<String> {
        doc["paths"][path][method]["parameters"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|p| p["in"] == "query" && p["required"] == true)
            .map(|p| p["name"].as_str().unwrap().to_string())
            .collect()
    };
    for (path, method, names) in [
        (
            "/api/segments/{segment}",
            "delete",
            &["version", "save_id"][..],
        ),
        (
            "/api/recordings/{recording}/clip",
            "get",
            &["start", "end"][..],
        ),
        (
            "/api/recordings/{recording}/peaks",
            "get",
            &["start", "end", "width"][..],
        ),
        (
            "/api/recordings/{recording}/spectrogram",
            "get",
            &["start", "end", "width", "height"][..],
        ),
    ] {
        let got = required_query(path, method);
        for name in names {
            assert!(
                got.iter().any(|g| g == name),
                "{method} {path}: required query {got:?} lacks {name}"
            );
        }
    }
    let mut missing = Vec::new();
    let mut operations = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            operations += 1;
            let responses = op["responses"].as_object().unwrap();
            let success = responses
                .iter()
                .filter(|(status, _)| status.starts_with('2'))
                .collect::<Vec<_>>();
            if success.is_empty()
                || success
                    .iter()
                    .any(|(_, r)| r["content"].as_object().is_none_or(|c| c.is_empty()))
            {
                missing.push(format!("{method} {path}: a success without a content type"));
            }
            let refused = &responses
                .get("4XX")
                .map(|r| &r["content"]["application/json"]);
            if refused.is_none_or(|r| r["schema"]["$ref"] != "#/components/schemas/ErrorBody") {
                missing.push(format!("{method} {path}: 4XX without the ErrorBody"));
            }
        }
    }
    assert!(operations >= 60, "{operations}");
    assert!(missing.is_empty(), "{}", missing.join("\n"));
}
