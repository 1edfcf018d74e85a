//! The role matrix (issue 13): every route of the OpenAPI document, called by each of six
//! callers, answers as the trust model says. One table, one row per route; the test fails when
//! the document has a route the table lacks, or the table one the document lacks.
//!
//! "Allowed" is any answer that is not a refusal (401, 403, 404): a 409 on a stale version or
//! a 400 on a value the handler checks after access is still a caller who got in. A refusal
//! is exact: 401 for anonymous, 404 for whoever is not a member of the project (so ids do not
//! leak), 403 for a member without the role.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use std::collections::{BTreeSet, HashMap};

use common::app::{Client, TestApp};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

/// What one caller should get.
#[derive(Clone, Copy, Debug, PartialEq)]
enum E {
    /// Anything but 401, 403 or 404.
    Y,
    /// Exactly this refusal.
    No(u16),
}
use E::{No, Y};

/// The callers, in the order of every row's expectations.
const ROLES: [&str; 6] = [
    "anonymous",
    "non-member",
    "transcriber",
    "reviewer",
    "project admin",
    "instance admin",
];

// The usual rows. The instance admin is not a member of the fixture project: instance roles
// give no access to other people's projects.
const ANYONE: [E; 6] = [Y, Y, Y, Y, Y, Y];
const USER: [E; 6] = [No(401), Y, Y, Y, Y, Y];
const MEMBER: [E; 6] = [No(401), No(404), Y, Y, Y, No(404)];
const ADMIN: [E; 6] = [No(401), No(404), No(403), No(403), Y, No(404)];
const EDITOR: [E; 6] = [No(401), No(404), Y, No(403), Y, No(404)];
const REVIEWER: [E; 6] = [No(401), No(404), No(403), Y, Y, No(404)];
/// Project admins, and instance admins on any project (members and invites, issue 17).
const MANAGER: [E; 6] = [No(401), No(404), No(403), No(403), Y, Y];
/// Instance admins only (the user management API, issue 17).
const INSTANCE: [E; 6] = [No(401), No(403), No(403), No(403), No(403), Y];
/// Spans and segment labels: transcribers and admins on editable segments, reviewers on
/// submitted ones (409 in any other state, since the role may).
const TAGGER: [E; 6] = [No(401), No(404), Y, Y, Y, No(404)];

/// A request body.
enum Body {
    None,
    Json(Value),
    /// A multipart form with one `file` part.
    File(&'static str, Vec<u8>),
    Text(&'static str, &'static str),
}

struct Row {
    method: &'static str,
    /// The path as the document names it.
    path: &'static str,
    /// Query string appended to the filled path.
    query: &'static str,
    /// Placeholders filled from another fixture id than the one of the same name.
    ids: &'static [(&'static str, &'static str)],
    body: Body,
    who: [E; 6],
}

fn row(method: &'static str, path: &'static str, body: Body, who: [E; 6]) -> Row {
    Row {
        method,
        path,
        query: "",
        ids: &[],
        body,
        who,
    }
}

impl Row {
    fn query(mut self, q: &'static str) -> Self {
        self.query = q;
        self
    }
    fn ids(mut self, ids: &'static [(&'static str, &'static str)]) -> Self {
        self.ids = ids;
        self
    }
}

fn j(v: Value) -> Body {
    Body::Json(v)
}

const SRT: &str = "1\n00:00:00,000 --> 00:00:00,500\n你好\n";

/// One row per route, in the order they run. Rows that change what later rows see come last
/// (login and logout, which change the caller's session).
fn table(wav: Vec<u8>, schema: Value) -> Vec<Row> {
    // Stale versions: writes reach the version check (409) only after access is settled.
    let stale = json!({ "version": 999, "save_id": "matrix" });
    vec![
        // Who one is: anonymous callers are told they are nobody (401), which the web app
        // reads as "show the login form".
        row("GET", "/api/me", Body::None, USER),
        row("GET", "/api/me/settings", Body::None, USER),
        row("PUT", "/api/me/settings", j(json!({ "speed": 1.0 })), USER),
        row("GET", "/api/tokens", Body::None, USER),
        // Tokens are their owner's (the transcriber's): anyone else's revoke is 404.
        row(
            "POST",
            "/api/tokens",
            j(json!({ "name": "m", "scope": "read" })),
            USER,
        ),
        row(
            "DELETE",
            "/api/tokens/{id}",
            Body::None,
            [No(401), No(404), Y, No(404), No(404), No(404)],
        )
        .ids(&[("id", "token")]),
        row("GET", "/api/projects", Body::None, USER),
        row(
            "POST",
            "/api/projects",
            j(json!({ "name": "made-in-matrix" })),
            [No(401), No(403), No(403), No(403), No(403), Y],
        ),
        row("GET", "/api/projects/{project}", Body::None, MEMBER),
        row(
            "PATCH",
            "/api/projects/{project}",
            j(json!({ "second_pass_share": 0.0 })),
            ADMIN,
        ),
        row("GET", "/api/projects/{project}/members", Body::None, MEMBER),
        row(
            "POST",
            "/api/projects/{project}/members",
            j(json!({ "user": "spare", "role": "transcriber" })),
            MANAGER,
        ),
        row(
            "POST",
            "/api/projects/{project}/invites",
            j(json!({ "role": "transcriber" })),
            MANAGER,
        ),
        // The matrix fills ids, not secrets: an unknown invite is 404 to everyone (the invite
        // tests in tests/suite/users_admin.rs cover real ones).
        row("GET", "/api/invites/{token}", Body::None, [No(404); 6]).ids(&[("token", "invite")]),
        row(
            "POST",
            "/api/invites/{token}/accept",
            j(json!({ "name": "m", "password": "eight chars" })),
            [No(404); 6],
        )
        .ids(&[("token", "invite")]),
        row("GET", "/api/admin/users", Body::None, INSTANCE),
        row(
            "POST",
            "/api/admin/users",
            j(json!({ "name": "made-by-matrix", "password": "eight chars" })),
            INSTANCE,
        ),
        row(
            "PUT",
            "/api/admin/users/{id}/password",
            j(json!({ "password": "correct horse" })),
            INSTANCE,
        )
        .ids(&[("id", "user")]),
        row(
            "POST",
            "/api/admin/users/{id}/disable",
            j(json!({})),
            INSTANCE,
        )
        .ids(&[("id", "user")]),
        row(
            "POST",
            "/api/admin/users/{id}/enable",
            j(json!({})),
            INSTANCE,
        )
        .ids(&[("id", "user")]),
        row("GET", "/api/admin/projects", Body::None, INSTANCE),
        // Each caller changes its password to the same one: the session stays.
        row(
            "PUT",
            "/api/me/password",
            j(json!({ "old_password": "correct horse", "new_password": "correct horse" })),
            USER,
        ),
        row(
            "GET",
            "/api/projects/{project}/speakers",
            Body::None,
            MEMBER,
        ),
        row(
            "POST",
            "/api/projects/{project}/speakers",
            j(json!({ "code": "S-matrix" })),
            EDITOR,
        ),
        row(
            "POST",
            "/api/projects/{project}/speakers/import",
            Body::Text("text/csv", "code\nS-import\n"),
            ADMIN,
        ),
        row(
            "PATCH",
            "/api/speakers/{speaker}",
            j(json!({ "gender": "f" })),
            EDITOR,
        ),
        row(
            "GET",
            "/api/projects/{project}/recordings",
            Body::None,
            MEMBER,
        ),
        row(
            "POST",
            "/api/projects/{project}/recordings",
            Body::File("matrix.wav", wav),
            ADMIN,
        ),
        row("GET", "/api/recordings/{recording}", Body::None, MEMBER),
        row(
            "GET",
            "/api/recordings/{recording}/audio",
            Body::None,
            MEMBER,
        ),
        row(
            "GET",
            "/api/recordings/{recording}/peaks",
            Body::None,
            MEMBER,
        )
        .query("?start=0&end=1000&width=10"),
        row(
            "GET",
            "/api/recordings/{recording}/spectrogram",
            Body::None,
            MEMBER,
        )
        .query("?start=0&end=8000&width=16&height=16"),
        row(
            "GET",
            "/api/recordings/{recording}/pitch",
            Body::None,
            MEMBER,
        ),
        row(
            "GET",
            "/api/recordings/{recording}/track",
            Body::None,
            MEMBER,
        )
        .query("?start=0&end=8000&width=16"),
        row(
            "GET",
            "/api/recordings/{recording}/formants",
            Body::None,
            MEMBER,
        )
        .query("?start=0&end=8000&width=16"),
        row(
            "GET",
            "/api/recordings/{recording}/clip",
            Body::None,
            MEMBER,
        )
        .query("?start=0&end=1000"),
        row("GET", "/api/jobs/{job}", Body::None, MEMBER),
        row("GET", "/api/jobs/{job}/events", Body::None, MEMBER),
        row(
            "POST",
            "/api/recordings/{recording}/asr",
            Body::File("matrix.srt", SRT.as_bytes().to_vec()),
            ADMIN,
        ),
        row(
            "POST",
            "/api/projects/{project}/asr",
            Body::File("matrix.srt", SRT.as_bytes().to_vec()),
            ADMIN,
        ),
        // No ASR server is set: the admin gets in and is told so.
        row(
            "POST",
            "/api/projects/{project}/pre-annotate",
            j(json!({})),
            ADMIN,
        ),
        row(
            "GET",
            "/api/recordings/{recording}/segments",
            Body::None,
            MEMBER,
        ),
        row(
            "POST",
            "/api/recordings/{recording}/segments",
            j(json!({ "start_sample": 100, "end_sample": 200 })),
            EDITOR,
        ),
        row("GET", "/api/segments/{segment}", Body::None, MEMBER),
        row("PUT", "/api/segments/{segment}", j(stale.clone()), EDITOR),
        row(
            "GET",
            "/api/segments/{segment}/revisions",
            Body::None,
            MEMBER,
        ),
        row(
            "POST",
            "/api/segments/{segment}/split",
            j(json!({ "version": 999, "save_id": "matrix", "at_sample": 1500, "text_offset": 1 })),
            EDITOR,
        ),
        row(
            "POST",
            "/api/segments/{segment}/merge",
            j(stale.clone()),
            EDITOR,
        ),
        row(
            "POST",
            "/api/segments/{segment}/preview",
            j(json!({ "text_verbatim": "今天" })),
            MEMBER,
        ),
        row("DELETE", "/api/segments/{segment}", Body::None, EDITOR)
            .query("?version=999&save_id=matrix"),
        row(
            "POST",
            "/api/projects/{project}/claim",
            j(json!({})),
            EDITOR,
        ),
        row(
            "POST",
            "/api/segments/{segment}/submit",
            j(json!({ "version": 999 })),
            EDITOR,
        ),
        // KNOWN: the fixture holds no second pass, so the transcriber, whose role may, is
        // refused by the holder check (403 "not your second pass"), not by the role check; the
        // holder's own save is covered by tests/suite/api.rs. Reviewers and admins never may.
        row(
            "PUT",
            "/api/segments/{segment}/second-pass",
            j(json!({ "text": "x" })),
            [No(401), No(404), No(403), No(403), No(403), No(404)],
        ),
        row(
            "GET",
            "/api/projects/{project}/agreement",
            Body::None,
            REVIEWER,
        ),
        row(
            "GET",
            "/api/projects/{project}/review",
            Body::None,
            REVIEWER,
        ),
        // The main segment is new: reviewers get in and are told it is not submitted (409).
        row(
            "POST",
            "/api/segments/{segment}/review",
            j(json!({ "verdict": "approved" })),
            REVIEWER,
        ),
        row(
            "POST",
            "/api/segments/{segment}/reopen",
            j(json!({})),
            REVIEWER,
        ),
        row(
            "GET",
            "/api/projects/{project}/progress",
            Body::None,
            MEMBER,
        ),
        row(
            "GET",
            "/api/projects/{project}/metrics",
            Body::None,
            REVIEWER,
        ),
        row(
            "GET",
            "/api/projects/{project}/throughput",
            Body::None,
            REVIEWER,
        ),
        row(
            "GET",
            "/api/projects/{project}/agreement/summary",
            Body::None,
            REVIEWER,
        ),
        row("GET", "/api/projects/{project}/exports", Body::None, ADMIN),
        row(
            "POST",
            "/api/projects/{project}/exports",
            j(json!({ "options": {} })),
            ADMIN,
        ),
        row("GET", "/api/exports/{export}", Body::None, ADMIN),
        row("GET", "/api/exports/{export}/download", Body::None, ADMIN),
        row(
            "GET",
            "/api/projects/{project}/tag-schema",
            Body::None,
            MEMBER,
        ),
        row(
            "PUT",
            "/api/projects/{project}/tag-schema",
            j(schema),
            ADMIN,
        ),
        row("GET", "/api/segments/{segment}/tags", Body::None, MEMBER),
        row(
            "GET",
            "/api/segments/{segment}/comments",
            Body::None,
            MEMBER,
        ),
        row(
            "POST",
            "/api/segments/{segment}/comments",
            j(json!({ "body": "m" })),
            MEMBER,
        ),
        row(
            "GET",
            "/api/projects/{project}/comments/unread",
            Body::None,
            MEMBER,
        ),
        row(
            "GET",
            "/api/projects/{project}/guidelines",
            Body::None,
            MEMBER,
        ),
        row(
            "PUT",
            "/api/projects/{project}/guidelines",
            j(json!({ "base_version": 0, "body": "# matrix" })),
            ADMIN,
        ),
        row(
            "POST",
            "/api/projects/{project}/guidelines/ack",
            j(json!({ "version": 1 })),
            MEMBER,
        ),
        row(
            "GET",
            "/api/projects/{project}/quality",
            Body::None,
            REVIEWER,
        ),
        // Reviewers tag, but only submitted segments: on this new one the state refuses
        // them (409), not their role.
        row(
            "PUT",
            "/api/segments/{segment}/tags",
            j(json!({ "tags": {} })),
            TAGGER,
        ),
        row("GET", "/api/segments/{segment}/spans", Body::None, MEMBER),
        row(
            "POST",
            "/api/segments/{segment}/spans",
            j(json!({ "char_start": 0, "char_end": 1, "feature": "INIT_RETRO_TO_DENTAL" })),
            TAGGER,
        ),
        row(
            "PATCH",
            "/api/spans/{span}",
            j(json!({ "note": "m" })),
            TAGGER,
        ),
        // Each caller deletes a span of its own (`spare_span#i`), so the first delete does not
        // turn the others' answers into 404.
        row("DELETE", "/api/spans/{span}", Body::None, TAGGER).ids(&[("span", "spare_span")]),
        row(
            "GET",
            "/api/projects/{project}/features/stats",
            Body::None,
            REVIEWER,
        ),
        row(
            "GET",
            "/api/projects/{project}/concordance",
            Body::None,
            MEMBER,
        )
        .query("?q=天"),
        row("GET", "/api/tags/suggest", Body::None, USER).query("?chars=天"),
        // Last: these change the caller's session.
        row(
            "POST",
            "/api/login",
            j(json!({ "name": "visitor", "password": "correct horse" })),
            ANYONE,
        ),
        row("POST", "/api/logout", j(json!({})), ANYONE),
    ]
}

/// The fixture project: ids by name, and the six callers.
struct Fixture {
    ids: HashMap<String, i64>,
    callers: Vec<Client>,
}

fn id(v: &Value) -> i64 {
    v["id"].as_i64().unwrap_or_else(|| panic!("no id in {v}"))
}

async fn ok(c: &Client, path: &str, body: Value) -> Value {
    let (s, v) = c.post(path, body).await;
    assert!(s.is_success(), "POST {path}: {s} {v}");
    v
}

async fn fixture(app: &TestApp) -> Fixture {
    let mut users = HashMap::new();
    for name in [
        "owner", "padmin", "tr", "rev", "outsider", "iadmin", "spare", "visitor",
    ] {
        users.insert(name, app.user(name).await);
    }
    app.grant_admin("owner").await;
    app.grant_admin("iadmin").await;
    let owner = app.login("owner").await;
    let project = id(&ok(&owner, "/api/projects", json!({ "name": "matrix" })).await);
    for (user, role) in [
        ("padmin", "admin"),
        ("tr", "transcriber"),
        ("rev", "reviewer"),
    ] {
        ok(
            &owner,
            &format!("/api/projects/{project}/members"),
            json!({ "user": user, "role": role }),
        )
        .await;
    }
    let (s, up) = owner
        .upload(project, &common::fixture("real/zh-funasr-binhai-query.wav"))
        .await;
    assert_eq!(s, StatusCode::ACCEPTED, "{up}");
    let job = up["job"].as_i64().unwrap();
    app.state.jobs.drain().await;
    let recording = up["recording"].as_i64().unwrap();
    let (_, r) = owner.get(&format!("/api/recordings/{recording}")).await;
    assert_eq!(r["status"], "ready", "{r}");
    let segments = format!("/api/recordings/{recording}/segments");
    let seg = |start: i64| {
        let owner = &owner;
        let segments = segments.clone();
        async move {
            id(&ok(
                owner,
                &segments,
                json!({ "start_sample": start, "end_sample": start + 1000, "text_verbatim": "今天天气" }),
            )
            .await)
        }
    };
    let segment = seg(1000).await;
    let spans = format!("/api/segments/{segment}/spans");
    let span_body = json!({ "char_start": 1, "char_end": 2, "feature": "INIT_RETRO_TO_DENTAL" });
    let span = id(&ok(&owner, &spans, span_body.clone()).await);
    let mut ids = HashMap::new();
    for i in 0..ROLES.len() {
        let spare = id(&ok(&owner, &spans, span_body.clone()).await);
        ids.insert(format!("spare_span#{i}"), spare);
    }
    let speaker = id(&ok(
        &owner,
        &format!("/api/projects/{project}/speakers"),
        json!({ "code": "S1" }),
    )
    .await);
    let export = ok(
        &owner,
        &format!("/api/projects/{project}/exports"),
        // Every status, so the export has files (one that matches nothing fails, issue 19).
        json!({ "filters": { "status": ["new", "in_progress", "submitted", "approved", "rejected"] }, "options": {} }),
    )
    .await["export"]
        .as_i64()
        .unwrap();
    app.state.jobs.drain().await;

    let anonymous = Client {
        http: reqwest::Client::builder()
            .default_headers(reqwest::header::HeaderMap::from_iter([(
                reqwest::header::ORIGIN,
                reqwest::header::HeaderValue::from_str(&app.base).unwrap(),
            )]))
            .build()
            .unwrap(),
        base: app.base.clone(),
    };
    let tr = app.login("tr").await;
    let token = id(&ok(&tr, "/api/tokens", json!({ "name": "t", "scope": "read" })).await);
    let callers = vec![
        anonymous,
        app.login("outsider").await,
        tr,
        app.login("rev").await,
        app.login("padmin").await,
        app.login("iadmin").await,
    ];
    for (name, value) in [
        ("project", project),
        ("recording", recording),
        ("segment", segment),
        ("span", span),
        ("speaker", speaker),
        ("export", export),
        ("job", job),
        ("token", token),
        ("user", users["spare"]),
        ("invite", 987_654),
    ] {
        ids.insert(name.to_string(), value);
    }
    Fixture { ids, callers }
}

/// The row's path with ids filled in for caller `i`: a fixture id named `key#i` (one per
/// caller) wins over `key`.
fn fill(row: &Row, ids: &HashMap<String, i64>, i: usize) -> String {
    let mut out = Vec::new();
    for part in row.path.split('/') {
        match part.strip_prefix('{').and_then(|p| p.strip_suffix('}')) {
            Some(name) => {
                let key = row
                    .ids
                    .iter()
                    .find(|(p, _)| *p == name)
                    .map_or(name, |(_, k)| *k);
                let id = ids
                    .get(&format!("{key}#{i}"))
                    .or_else(|| ids.get(key))
                    .unwrap_or_else(|| panic!("no fixture id {key}"));
                out.push(id.to_string());
            }
            None => out.push(part.to_string()),
        }
    }
    format!("{}{}", out.join("/"), row.query)
}

async fn call(c: &Client, row: &Row, url: &str) -> StatusCode {
    let method = Method::from_bytes(row.method.as_bytes()).unwrap();
    let req = c.http.request(method, format!("{}{url}", c.base));
    let req = match &row.body {
        Body::None => req,
        Body::Json(v) => req.json(v),
        Body::File(name, bytes) => req.multipart(reqwest::multipart::Form::new().part(
            "file",
            reqwest::multipart::Part::bytes(bytes.clone()).file_name(*name),
        )),
        Body::Text(ctype, text) => req.header("content-type", *ctype).body(*text),
    };
    // Only the status: the event stream's body never ends.
    req.send().await.unwrap().status()
}

fn meets(expected: E, got: StatusCode) -> bool {
    match expected {
        Y => !matches!(got.as_u16(), 401 | 403 | 404),
        No(code) => got.as_u16() == code,
    }
}

#[tokio::test]
async fn every_route_answers_each_role_as_the_trust_model_says() {
    let app = TestApp::spawn().await;
    let fx = fixture(&app).await;
    let wav = std::fs::read(common::fixture("real/zh-funasr-binhai-query.wav")).unwrap();
    let (_, schema) = fx.callers[4]
        .get(&format!("/api/projects/{}/tag-schema", fx.ids["project"]))
        .await;
    let table = table(wav, schema);

    // The table and the document name the same routes.
    let (_, doc) = fx.callers[0].get("/api/openapi.json").await;
    let mut documented = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            documented.insert(format!("{} {path}", method.to_uppercase()));
        }
    }
    let listed: BTreeSet<String> = table
        .iter()
        .map(|r| format!("{} {}", r.method, r.path))
        .collect();
    assert_eq!(listed.len(), table.len(), "a route is listed twice");
    let missing: Vec<_> = documented.difference(&listed).collect();
    let extra: Vec<_> = listed.difference(&documented).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "documented but not in the table: {missing:?}; in the table but not documented: {extra:?}"
    );

    let mut wrong = Vec::new();
    for row in &table {
        for (i, caller) in fx.callers.iter().enumerate() {
            let url = fill(row, &fx.ids, i);
            let got = call(caller, row, &url).await;
            if !meets(row.who[i], got) {
                wrong.push(format!(
                    "{} {} as {}: expected {:?}, got {got}",
                    row.method, row.path, ROLES[i], row.who[i]
                ));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "{} of {} answers break the matrix:\n{}",
        wrong.len(),
        table.len() * ROLES.len(),
        wrong.join("\n")
    );
}

/// `fangyan db copy` (issue 14): the fixture project on SQLite, copied into Postgres, answers
/// every GET route of the table alike on a server running on the copy: same status, same
/// bytes, for a project admin and a transcriber. Runs where the tests have a Postgres server
/// (`FANGYAN_TEST_DATABASE_URL`, set by scripts/test).
#[tokio::test]
async fn a_database_copied_into_postgres_answers_every_route_alike() {
    if std::env::var("FANGYAN_TEST_DATABASE_URL").map_or(true, |u| u.is_empty()) {
        eprintln!("no FANGYAN_TEST_DATABASE_URL: the copy has no Postgres to go to");
        return;
    }
    let sqlite = TestApp::spawn_with(|c| c.database_url = None).await;
    let fx = fixture(&sqlite).await;
    let wav = std::fs::read(common::fixture("real/zh-funasr-binhai-query.wav")).unwrap();
    let (_, schema) = fx.callers[4]
        .get(&format!("/api/projects/{}/tag-schema", fx.ids["project"]))
        .await;
    let data = sqlite.state.config.data_dir.clone();
    let url = common::database_url_for(&data).unwrap();

    let out = std::process::Command::new(env!("CARGO_BIN_EXE_fangyan"))
        .args(["db", "copy", "--data"])
        .arg(&data)
        .args(["--to", &url])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        report["copied"]["span_tag"].as_i64().unwrap() >= 7,
        "{report}"
    );
    assert!(
        report["copied"]["export"].as_i64().unwrap() >= 1,
        "{report}"
    );
    // A second copy into the same, now full, database is refused.
    let again = std::process::Command::new(env!("CARGO_BIN_EXE_fangyan"))
        .args(["db", "copy", "--data"])
        .arg(&data)
        .args(["--to", &url])
        .output()
        .unwrap();
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("not empty"));

    let pg = TestApp::spawn_at(&data, Some(url)).await;
    let (compared, differ) = compare_gets(&fx, table(wav, schema), &sqlite.base, &pg.base).await;
    assert!(compared > 40, "only {compared} answers compared");
    assert!(
        differ.is_empty(),
        "{} of {compared} answers differ:\n{}",
        differ.len(),
        differ.join("\n")
    );
}

/// Every GET route of the table (but the endless event stream), fetched from two servers by
/// the transcriber and the project admin with the same cookie jar: how many answers were
/// compared, and those that differ in status or bytes.
async fn compare_gets(fx: &Fixture, table: Vec<Row>, a: &str, b: &str) -> (usize, Vec<String>) {
    let mut differ = Vec::new();
    let mut compared = 0;
    for row in table.iter().filter(|r| r.method == "GET") {
        if row.path.ends_with("/events") {
            continue; // an event stream never ends
        }
        for i in [2, 4] {
            let url = fill(row, &fx.ids, i);
            let fetch = |base: &str| {
                let req = fx.callers[i].http.get(format!("{base}{url}"));
                async move {
                    let r = req.send().await.unwrap();
                    (r.status(), r.bytes().await.unwrap())
                }
            };
            let (x, y) = (fetch(a).await, fetch(b).await);
            compared += 1;
            if x != y {
                differ.push(format!(
                    "GET {url} as {}: {a} {} {}, {b} {} {}",
                    ROLES[i],
                    x.0,
                    String::from_utf8_lossy(&x.1[..x.1.len().min(300)]),
                    y.0,
                    String::from_utf8_lossy(&y.1[..y.1.len().min(300)])
                ));
            }
        }
    }
    (compared, differ)
}

/// Runs the binary; panics unless it succeeds; returns its last stdout line as JSON.
fn fangyan_ok(args: &[&std::ffi::OsStr]) -> Value {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_fangyan"))
        .args(args)
        .env_remove("FANGYAN_DATABASE_URL")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_str(String::from_utf8_lossy(&out.stdout).lines().last().unwrap()).unwrap()
}

/// `fangyan backup` (issue 15), taken while the server runs, restored into a fresh data
/// directory: a server there answers every GET route of the table as the original does. The
/// database is SQLite on both backends of the suite (the `VACUUM INTO` path; Postgres is
/// `pg_dump`'s, see tests/suite/backup.rs).
#[tokio::test]
async fn a_backup_taken_while_serving_restores_into_a_directory_that_answers_every_route_alike() {
    // `backup` copies the data directory's own store folder; a bucket is backed up by its own
    // means (README "Backup and restore"), so the S3 pass has nothing here to test.
    if std::env::var_os("FANGYAN_TEST_STORE_URL").is_some() {
        eprintln!("the store is a bucket: backup covers the folder store only");
        return;
    }
    // SQLite and the folder store: `backup` copies that folder (a bucket has its own means).
    let live = TestApp::spawn_with(|c| {
        c.database_url = None;
        c.store = None;
    })
    .await;
    let fx = fixture(&live).await;
    let wav = std::fs::read(common::fixture("real/zh-funasr-binhai-query.wav")).unwrap();
    let (_, schema) = fx.callers[4]
        .get(&format!("/api/projects/{}/tag-schema", fx.ids["project"]))
        .await;
    let data = live.state.config.data_dir.clone();
    let scratch = common::scratch();
    let backup = scratch.path().join("backup");
    let restored = scratch.path().join("restored");

    // Writes keep landing while the backup runs, in a project of the instance admin's that the
    // compared callers cannot see.
    let iadmin = &fx.callers[5];
    let (s, busy) = iadmin
        .post("/api/projects", json!({ "name": "busy" }))
        .await;
    assert!(s.is_success(), "{busy}");
    let busy_speakers = format!("/api/projects/{}/speakers", id(&busy));
    let saver = {
        let client = iadmin.http.clone();
        let url = format!("{}{busy_speakers}", live.base);
        tokio::spawn(async move {
            for n in 0..20 {
                let r = client
                    .post(&url)
                    .json(&json!({ "code": format!("during-{n}") }))
                    .send()
                    .await
                    .unwrap();
                assert!(r.status().is_success());
            }
        })
    };
    let report = tokio::task::spawn_blocking({
        let (data, backup) = (data.clone(), backup.clone());
        move || {
            fangyan_ok(&[
                "backup".as_ref(),
                "--data".as_ref(),
                data.as_os_str(),
                "--to".as_ref(),
                backup.as_os_str(),
            ])
        }
    })
    .await
    .unwrap();
    saver.await.unwrap();
    assert_eq!(report["database"]["backend"], "sqlite", "{report}");
    // An original, its analysis copy, peaks and metadata, and the export's files.
    assert!(report["objects"].as_u64().unwrap() >= 5, "{report}");
    let manifest: Value =
        serde_json::from_slice(&std::fs::read(backup.join("manifest.json")).unwrap()).unwrap();
    let keys: Vec<&str> = manifest["objects"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["key"].as_str().unwrap())
        .collect();
    assert!(
        keys.iter().any(|k| k.starts_with("store/originals/")),
        "{keys:?}"
    );
    // A finished export's archive is a store object (issue 15: exports are leased jobs).
    assert!(
        keys.iter().any(|k| k.starts_with("store/exports/")),
        "{keys:?}"
    );
    assert!(
        !keys.iter().any(|k| k.starts_with("store/tmp/")),
        "{keys:?}"
    );

    let restore = |to: &std::path::Path| {
        std::process::Command::new(env!("CARGO_BIN_EXE_fangyan"))
            .args(["restore", "--from"])
            .arg(&backup)
            .arg("--data")
            .arg(to)
            .output()
            .unwrap()
    };
    let out = restore(&restored);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // A second restore into the now full directory is refused.
    let again = restore(&restored);
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("not empty"));

    let copy = TestApp::spawn_at(&restored, None).await;
    // The copy is one moment of the busy project: some prefix of its twenty speakers.
    let r = iadmin
        .http
        .get(format!("{}{busy_speakers}", copy.base))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success());
    let (compared, differ) = compare_gets(&fx, table(wav, schema), &live.base, &copy.base).await;
    assert!(compared > 40, "only {compared} answers compared");
    assert!(
        differ.is_empty(),
        "{} of {compared} answers differ:\n{}",
        differ.len(),
        differ.join("\n")
    );

    // A backup whose object no longer matches its manifest is not restored. (The file is
    // replaced, not edited: it may be a hard link to the live store's.)
    let victim = backup.join("objects").join(keys[0]);
    std::fs::remove_file(&victim).unwrap();
    std::fs::write(&victim, b"not the original").unwrap();
    let elsewhere = scratch.path().join("elsewhere");
    let out = restore(&elsewhere);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("does not match its manifest") && err.contains(keys[0]),
        "{err}"
    );
    assert!(!elsewhere.exists(), "a refused restore wrote something");
}
