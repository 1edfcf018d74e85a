//! The OpenAPI document tells the truth (issue 13, item 9): what it declares valid the server
//! accepts, and what the server refuses the document rules out (enums, patterns, ranges,
//! lengths), so schemathesis' "schema-valid request rejected" has nothing to find. Each refusal
//! is in the JSON error shape with a stable code.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use common::app::{Client, TestApp};
use reqwest::StatusCode;
use serde_json::{Value, json};

/// The document, with `$ref`s left as they are.
async fn document(client: &Client) -> Value {
    let (s, doc) = client.get("/api/openapi.json").await;
    assert_eq!(s, StatusCode::OK);
    doc
}

/// The schema of query parameter `name` of `GET path`.
fn query_param<'a>(doc: &'a Value, path: &str, name: &str) -> &'a Value {
    doc["paths"][path]["get"]["parameters"]
        .as_array()
        .unwrap_or_else(|| panic!("{path} has no parameters"))
        .iter()
        .find(|p| p["name"] == name && p["in"] == "query")
        .map(|p| &p["schema"])
        .unwrap_or_else(|| panic!("{path} has no query parameter {name}"))
}

/// The enum values anywhere in a (possibly `oneOf`-wrapped, nullable) schema.
fn enum_values(schema: &Value) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![schema];
    while let Some(s) = stack.pop() {
        if let Some(values) = s["enum"].as_array() {
            out.extend(values.iter().filter_map(|v| v.as_str().map(str::to_owned)));
        }
        for key in ["oneOf", "anyOf", "allOf"] {
            if let Some(items) = s[key].as_array() {
                stack.extend(items);
            }
        }
    }
    out.sort();
    out
}

/// One second of a 440 Hz sine, 8 kHz mono 16-bit WAV.
fn one_second_wav() -> Vec<u8> {
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: 8000,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut out = std::io::Cursor::new(Vec::new());
    let mut w = hound::WavWriter::new(&mut out, spec).unwrap();
    for i in 0..8000 {
        let t = f64::from(i) / 8000.0;
        w.write_sample((8000.0 * (2.0 * std::f64::consts::PI * 440.0 * t).sin()) as i16)
            .unwrap();
    }
    w.finalize().unwrap();
    out.into_inner()
}

fn component<'a>(doc: &'a Value, name: &str) -> &'a Value {
    let schema = &doc["components"]["schemas"][name];
    assert!(schema.is_object(), "no component {name}");
    schema
}

/// The `(status, code)` of an answer, checking the error shape on the way.
fn refusal(status: StatusCode, body: &Value) -> (StatusCode, &str) {
    let code = body["error"]["code"]
        .as_str()
        .unwrap_or_else(|| panic!("not the error shape: {body}"));
    assert!(body["error"]["message"].is_string(), "{body}");
    (status, code)
}

#[tokio::test]
async fn the_document_declares_the_values_the_server_accepts() {
    let app = TestApp::spawn().await;
    let (_, admin, _, _) = app.project("doc").await;
    let doc = document(&admin).await;

    for path in [
        "/api/projects/{project}/progress",
        "/api/projects/{project}/throughput",
        "/api/projects/{project}/agreement/summary",
        "/api/projects/{project}/metrics",
        "/api/projects/{project}/features/stats",
        "/api/projects/{project}/concordance",
    ] {
        assert_eq!(
            enum_values(query_param(&doc, path, "format")),
            ["csv", "json"],
            "{path}"
        );
    }
    let stats = "/api/projects/{project}/features/stats";
    assert_eq!(
        enum_values(query_param(&doc, stats, "table")),
        ["agreement", "asr", "counts"]
    );
    let metrics = "/api/projects/{project}/metrics";
    assert_eq!(
        enum_values(query_param(&doc, metrics, "sort")),
        ["cer", "key"]
    );
    let by = query_param(&doc, metrics, "by")["pattern"]
        .as_str()
        .unwrap();
    for dimension in fangyan::dashboard::DIMENSIONS {
        assert!(by.contains(dimension), "{by} lacks {dimension}");
    }
    assert_eq!(query_param(&doc, metrics, "limit")["maximum"], 100_000);

    let spectrogram = "/api/recordings/{recording}/spectrogram";
    for (name, max) in [("width", 4096), ("height", 2048)] {
        let s = query_param(&doc, spectrogram, name);
        assert_eq!(
            (s["minimum"].as_i64(), s["maximum"].as_i64()),
            (Some(1), Some(max))
        );
    }
    let width = query_param(&doc, "/api/recordings/{recording}/peaks", "width");
    assert_eq!(width["maximum"], 10_000);

    let share = &component(&doc, "Settings")["properties"]["second_pass_share"];
    assert_eq!(
        (share["minimum"].as_f64(), share["maximum"].as_f64()),
        (Some(0.0), Some(1.0))
    );
    let gender = &component(&doc, "SpeakerPatch")["properties"]["gender"];
    assert_eq!(gender["maxLength"], 200);
    assert!(gender["pattern"].is_string(), "{gender}");
    let code = &component(&doc, "AddSpeaker")["properties"]["code"];
    assert_eq!(
        (code["minLength"].as_i64(), code["maxLength"].as_i64()),
        (Some(1), Some(100))
    );
    // A field's values are objects with an id, not "any JSON".
    let values = &component(&doc, "Field")["properties"]["values"]["items"];
    assert_eq!(values["$ref"], "#/components/schemas/Choice", "{values}");
    assert_eq!(
        component(&doc, "TagSchema")["properties"]["version"]["maximum"],
        1
    );
    let exports = &doc["paths"]["/api/projects/{project}/exports"]["post"]["requestBody"];
    assert_eq!(
        exports["content"]["application/json"]["schema"]["$ref"],
        "#/components/schemas/Definition"
    );
    let rate = &component(&doc, "ExportOptions")["properties"]["rate"];
    assert_eq!(
        (rate["minimum"].as_i64(), rate["maximum"].as_i64()),
        (Some(8000), Some(48000))
    );
    let settings = &doc["paths"]["/api/me/settings"]["put"]["requestBody"];
    assert_eq!(
        settings["content"]["application/json"]["schema"]["type"],
        "object"
    );
    assert_eq!(component(&doc, "UploadForm")["additionalProperties"], false);
    assert_eq!(
        component(&doc, "ImportForm")["properties"]["file"]["minItems"],
        1
    );
}

#[tokio::test]
async fn values_outside_the_document_are_refused_in_the_error_shape() {
    let app = TestApp::spawn().await;
    let (project, admin, _, _) = app.project("edge").await;
    let p = format!("/api/projects/{project}");

    // Enums: a format the document does not list.
    let (s, body) = admin.get(&format!("{p}/progress?format=xml")).await;
    assert_eq!(
        refusal(s, &body),
        (StatusCode::BAD_REQUEST, "invalid_query")
    );
    let (s, body) = admin.get(&format!("{p}/features/stats?table=x")).await;
    assert_eq!(
        refusal(s, &body),
        (StatusCode::BAD_REQUEST, "invalid_query")
    );
    let (s, body) = admin.get(&format!("{p}/metrics?sort=size")).await;
    assert_eq!(
        refusal(s, &body),
        (StatusCode::BAD_REQUEST, "invalid_query")
    );
    let (s, _) = admin.get(&format!("{p}/metrics?format=csv&sort=key")).await;
    assert_eq!(s, StatusCode::OK);
    // The `by` pattern: empty items and spaces are outside it, so the server refuses them too.
    for by in ["segment,,recording", "segment,%20recording", ""] {
        let (s, body) = admin.get(&format!("{p}/metrics?by={by}")).await;
        assert_eq!(
            refusal(s, &body),
            (StatusCode::BAD_REQUEST, "invalid_dimension"),
            "by={by}"
        );
    }
    let (s, body) = admin
        .get(&format!("{p}/metrics?by=segment,recording"))
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let (s, body) = admin.get(&format!("{p}/metrics?limit=100001")).await;
    assert_eq!(
        refusal(s, &body),
        (StatusCode::BAD_REQUEST, "invalid_limit")
    );

    // Ranges: a share outside 0..1; a width too large for any integer is still the error shape.
    let (s, body) = admin.patch(&p, json!({ "second_pass_share": 1.5 })).await;
    assert_eq!(
        refusal(s, &body),
        (StatusCode::BAD_REQUEST, "invalid_share")
    );
    let (s, body) = admin
        .get("/api/recordings/1/spectrogram?start=0&end=1&width=99999999999999999999999&height=1")
        .await;
    assert_eq!(
        refusal(s, &body),
        (StatusCode::BAD_REQUEST, "invalid_query")
    );

    // An upload has one field; a name that is no user is a 404 like a foreign id.
    let form = reqwest::multipart::Form::new().text("colour", "red");
    let (s, body) = admin.post_form(&format!("{p}/recordings"), form).await;
    assert_eq!(
        refusal(s, &body),
        (StatusCode::BAD_REQUEST, "unknown_field")
    );
    // A field after the file as well: the audio is fine, the form is not.
    let form = reqwest::multipart::Form::new()
        .part(
            "file",
            reqwest::multipart::Part::bytes(one_second_wav()).file_name("a.wav"),
        )
        .text("colour", "red");
    let (s, body) = admin.post_form(&format!("{p}/recordings"), form).await;
    assert_eq!(
        refusal(s, &body),
        (StatusCode::BAD_REQUEST, "unknown_field")
    );
    let form = reqwest::multipart::Form::new().part(
        "file",
        reqwest::multipart::Part::bytes(one_second_wav()).file_name("a.wav"),
    );
    let (s, body) = admin.post_form(&format!("{p}/recordings"), form).await;
    assert_eq!(s, StatusCode::ACCEPTED, "{body}");
    let (s, body) = admin
        .post(
            &format!("{p}/members"),
            json!({ "user": "nobody", "role": "reviewer" }),
        )
        .await;
    assert_eq!(refusal(s, &body), (StatusCode::NOT_FOUND, "no_such_user"));
    // A speaker code of blanks only is outside the pattern and refused.
    let (s, body) = admin
        .post(&format!("{p}/speakers"), json!({ "code": "   " }))
        .await;
    assert_eq!(refusal(s, &body), (StatusCode::BAD_REQUEST, "invalid_code"));
    // A project that is not set up for live ASR is a conflict of state, not a bad request.
    let (s, body) = admin.post(&format!("{p}/pre-annotate"), json!({})).await;
    assert_eq!(
        refusal(s, &body),
        (StatusCode::CONFLICT, "asr_not_configured")
    );
}

#[tokio::test]
async fn an_integral_float_is_an_integer_as_json_schema_says() {
    let app = TestApp::spawn().await;
    let (project, admin, _, _) = app.project("ints").await;
    // `expires_in_days` is an integer; 30.0 is one in JSON Schema.
    let (s, body) = admin
        .post(
            "/api/tokens",
            json!({ "name": "float", "expires_in_days": 30.0 }),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    // A fraction is still refused, in the error shape.
    let (s, body) = admin
        .post(
            "/api/tokens",
            json!({ "name": "half", "expires_in_days": 30.5 }),
        )
        .await;
    assert_eq!(refusal(s, &body), (StatusCode::BAD_REQUEST, "invalid_body"));
    // Nested too: a tag schema whose version is 1.0.
    let (s, body) = admin
        .put(
            &format!("/api/projects/{project}/tag-schema"),
            json!({ "version": 1.0, "segment_fields": [], "speaker_fields": [], "features": [] }),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
}

#[tokio::test]
async fn a_wrong_password_is_401_not_a_malformed_request() {
    let app = TestApp::spawn().await;
    app.user("ana").await;
    let r = reqwest::Client::new()
        .post(format!("{}/api/login", app.base))
        .json(&json!({ "name": "ana", "password": "wrong" }))
        .send()
        .await
        .unwrap();
    let status = r.status();
    let body: Value = r.json().await.unwrap();
    assert_eq!(
        refusal(status, &body),
        (StatusCode::UNAUTHORIZED, "bad_credentials")
    );
}
