//! Issue 17, point 3: users and access from the browser, and the command line to match. An
//! instance admin lists and creates users, resets passwords, disables and enables them and
//! changes roles; invite links (single use, expiring) make a user in a project with a role and
//! log them in; a disabled user cannot log in and their sessions end; everyone changes their
//! own password; a transcriber is refused all of it.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use std::process::Command;

use reqwest::StatusCode;
use serde_json::{Value, json};

use common::app::{Client, TestApp};

/// A fresh browser (cookie jar) that logs in as `name` with `password`: status and body.
async fn login_as(app: &TestApp, name: &str, password: &str) -> (Client, StatusCode, Value) {
    let http = common::browser_client(&app.base).build().unwrap();
    let c = Client {
        http,
        base: app.base.clone(),
    };
    let (s, body) = c
        .post("/api/login", json!({ "name": name, "password": password }))
        .await;
    (c, s, body)
}

fn code(body: &Value) -> Option<&str> {
    body["error"]["code"].as_str()
}

async fn user_id(admin: &Client, name: &str) -> i64 {
    let (s, body) = admin.get("/api/admin/users").await;
    assert_eq!(s, StatusCode::OK, "{body}");
    body["users"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["name"] == name)
        .unwrap_or_else(|| panic!("{name} not in {body}"))["id"]
        .as_i64()
        .unwrap()
}

#[tokio::test]
async fn an_instance_admin_creates_lists_and_resets_users_and_a_transcriber_is_refused() {
    let app = TestApp::spawn().await;
    let (project, admin, t, _) = app.project("p").await;
    let (s, made) = admin
        .post(
            "/api/admin/users",
            json!({ "name": "新人", "password": "eight chars" }),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{made}");
    let id = made["id"].as_i64().unwrap();
    let (fresh, s, _) = login_as(&app, "新人", "eight chars").await;
    assert_eq!(s, StatusCode::OK);

    let (_, list) = admin.get("/api/admin/users").await;
    let row = list["users"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["id"] == id)
        .unwrap()
        .clone();
    assert_eq!(row["is_admin"], false);
    assert_eq!(row["disabled"], false);
    assert!(row["created_at"].as_i64().unwrap() > 0);
    assert!(row["last_login_at"].as_i64().is_some(), "{row}");
    let admin_row = &list["users"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["name"] == "p-admin")
        .unwrap()
        .clone();
    assert_eq!(admin_row["is_admin"], true);
    assert_eq!(admin_row["projects"][0]["role"], "admin");

    // Roles: the instance admin uses the members endpoint.
    let (s, body) = admin
        .post(
            &format!("/api/projects/{project}/members"),
            json!({ "user": "新人", "role": "reviewer" }),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let (_, p) = fresh.get(&format!("/api/projects/{project}")).await;
    assert_eq!(p["role"], "reviewer");

    // Bad input is a 400 with its code; a taken name is 409.
    for (body, want) in [
        (
            json!({ "name": "", "password": "eight chars" }),
            "invalid_name",
        ),
        (
            json!({ "name": "a b", "password": "eight chars" }),
            "invalid_name",
        ),
        (
            json!({ "name": "x\u{1}", "password": "eight chars" }),
            "invalid_name",
        ),
        (
            json!({ "name": "ok", "password": "short" }),
            "invalid_password",
        ),
        (json!({ "name": "ok" }), "invalid_body"),
    ] {
        let (s, e) = admin.post("/api/admin/users", body).await;
        assert_eq!((s, code(&e)), (StatusCode::BAD_REQUEST, Some(want)), "{e}");
    }
    let (s, e) = admin
        .post(
            "/api/admin/users",
            json!({ "name": "新人", "password": "eight chars" }),
        )
        .await;
    assert_eq!((s, code(&e)), (StatusCode::CONFLICT, Some("name_taken")));

    // A reset ends the user's sessions; the new password works.
    let (s, body) = admin
        .put(
            &format!("/api/admin/users/{id}/password"),
            json!({ "password": "another one" }),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let (s, _) = fresh.get("/api/me").await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    assert_eq!(
        login_as(&app, "新人", "another one").await.1,
        StatusCode::OK
    );
    let (s, _) = admin
        .put(
            "/api/admin/users/987654/password",
            json!({ "password": "another one" }),
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);

    // A transcriber (a project admin too, for that matter) gets 403 with the stable code.
    for (method, path, body) in [
        ("GET", "/api/admin/users".to_string(), Value::Null),
        ("GET", "/api/admin/projects".to_string(), Value::Null),
        (
            "POST",
            "/api/admin/users".to_string(),
            json!({ "name": "evil", "password": "eight chars" }),
        ),
        (
            "PUT",
            format!("/api/admin/users/{id}/password"),
            json!({ "password": "hijacked!" }),
        ),
        ("POST", format!("/api/admin/users/{id}/disable"), json!({})),
        ("POST", format!("/api/admin/users/{id}/enable"), json!({})),
    ] {
        let (s, e) = match method {
            "GET" => t.get(&path).await,
            "PUT" => t.put(&path, body).await,
            _ => t.post(&path, body).await,
        };
        assert_eq!(
            (s, code(&e)),
            (StatusCode::FORBIDDEN, Some("not_instance_admin")),
            "{method} {path}: {e}"
        );
    }
    // Nor may a transcriber change roles or invite.
    let (s, _) = t
        .post(
            &format!("/api/projects/{project}/members"),
            json!({ "user": "p-transcriber", "role": "admin" }),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _) = t
        .post(
            &format!("/api/projects/{project}/invites"),
            json!({ "role": "admin" }),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, all) = admin.get("/api/admin/projects").await;
    assert_eq!(
        (s, all["projects"][0]["name"].as_str()),
        (StatusCode::OK, Some("p"))
    );
}

#[tokio::test]
async fn an_invite_makes_a_user_with_the_role_logs_them_in_and_is_used_once() {
    let app = TestApp::spawn().await;
    let (project, admin, _, _) = app.project("p").await;
    let (s, invite) = admin
        .post(
            &format!("/api/projects/{project}/invites"),
            json!({ "role": "reviewer" }),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{invite}");
    let token = invite["token"].as_str().unwrap().to_string();
    let week = 7 * 86_400_000;
    let left = invite["expires_at"].as_i64().unwrap() - fangyan::db::now_ms();
    assert!(
        (week - 60_000..=week).contains(&left),
        "7 days by default: {left}"
    );

    // Anyone holding the link sees what it offers.
    let anon = Client {
        http: common::browser_client(&app.base).build().unwrap(),
        base: app.base.clone(),
    };
    let (s, shown) = anon.get(&format!("/api/invites/{token}")).await;
    assert_eq!(s, StatusCode::OK, "{shown}");
    assert_eq!(
        (shown["project_name"].as_str(), shown["role"].as_str()),
        (Some("p"), Some("reviewer"))
    );

    // Accepting checks the new account's name and password, then logs in.
    let accept = format!("/api/invites/{token}/accept");
    let (s, e) = anon
        .post(
            &accept,
            json!({ "name": "bad name", "password": "eight chars" }),
        )
        .await;
    assert_eq!(
        (s, code(&e)),
        (StatusCode::BAD_REQUEST, Some("invalid_name"))
    );
    let (s, e) = anon
        .post(
            &accept,
            json!({ "name": "p-admin", "password": "eight chars" }),
        )
        .await;
    assert_eq!(
        (s, code(&e)),
        (StatusCode::CONFLICT, Some("name_taken")),
        "{e}"
    );
    let (s, done) = anon
        .post(
            &accept,
            json!({ "name": "阿明", "password": "eight chars" }),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{done}");
    assert_eq!(
        (done["project_id"].as_i64(), done["role"].as_str()),
        (Some(project), Some("reviewer"))
    );
    let (s, me) = anon.get("/api/me").await;
    assert_eq!(
        (s, me["name"].as_str()),
        (StatusCode::OK, Some("阿明")),
        "logged in"
    );
    let (_, p) = anon.get(&format!("/api/projects/{project}")).await;
    assert_eq!(p["role"], "reviewer", "{p}");
    assert_eq!(
        login_as(&app, "阿明", "eight chars").await.1,
        StatusCode::OK
    );

    // Used: gone, both to look at and to accept.
    let (s, e) = anon.get(&format!("/api/invites/{token}")).await;
    assert_eq!((s, code(&e)), (StatusCode::GONE, Some("invite_used")));
    let (s, e) = anon
        .post(
            &accept,
            json!({ "name": "again", "password": "eight chars" }),
        )
        .await;
    assert_eq!((s, code(&e)), (StatusCode::GONE, Some("invite_used")));

    // Expired: gone too. Unknown: not found.
    let (_, old) = admin
        .post(
            &format!("/api/projects/{project}/invites"),
            json!({ "role": "transcriber", "expires_in_days": 1 }),
        )
        .await;
    sqlx::query("UPDATE invite SET expires_at = $1 WHERE id = $2")
        .bind(fangyan::db::now_ms() - 1)
        .bind(old["id"].as_i64().unwrap())
        .execute(&app.state.db)
        .await
        .unwrap();
    let old = old["token"].as_str().unwrap();
    let (s, e) = anon.get(&format!("/api/invites/{old}")).await;
    assert_eq!((s, code(&e)), (StatusCode::GONE, Some("invite_expired")));
    let (s, e) = anon
        .post(
            &format!("/api/invites/{old}/accept"),
            json!({ "name": "late", "password": "eight chars" }),
        )
        .await;
    assert_eq!((s, code(&e)), (StatusCode::GONE, Some("invite_expired")));
    let (s, e) = anon.get("/api/invites/not-a-token").await;
    assert_eq!(
        (s, code(&e)),
        (StatusCode::NOT_FOUND, Some("invite_not_found"))
    );
    let (s, e) = admin
        .post(
            &format!("/api/projects/{project}/invites"),
            json!({ "role": "reviewer", "expires_in_days": 31 }),
        )
        .await;
    assert_eq!(
        (s, code(&e)),
        (StatusCode::BAD_REQUEST, Some("invalid_expiry"))
    );
    // A stranger cannot invite into a project they cannot see.
    app.user("stranger").await;
    let stranger = app.login("stranger").await;
    let (s, _) = stranger
        .post(
            &format!("/api/projects/{project}/invites"),
            json!({ "role": "admin" }),
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_disabled_user_cannot_log_in_and_their_sessions_and_tokens_end_at_once() {
    let app = TestApp::spawn().await;
    let (project, admin, t, _) = app.project("p").await;
    let (s, token) = t.post("/api/tokens", json!({ "name": "script" })).await;
    assert_eq!(s, StatusCode::OK, "{token}");
    let bearer = token["token"].as_str().unwrap().to_string();
    let with_token = || {
        reqwest::Client::new()
            .get(format!("{}/api/projects/{project}", app.base))
            .bearer_auth(&bearer)
            .send()
    };
    assert_eq!(with_token().await.unwrap().status(), StatusCode::OK);

    let id = user_id(&admin, "p-transcriber").await;
    let (s, body) = admin
        .post(&format!("/api/admin/users/{id}/disable"), json!({}))
        .await;
    assert_eq!(
        (s, body["disabled"].as_bool()),
        (StatusCode::OK, Some(true)),
        "{body}"
    );
    let (s, e) = t.get("/api/me").await;
    assert_eq!(
        (s, code(&e)),
        (StatusCode::UNAUTHORIZED, Some("unauthenticated")),
        "the session ended"
    );
    assert_eq!(
        with_token().await.unwrap().status(),
        StatusCode::UNAUTHORIZED
    );
    let (_, s, e) = login_as(&app, "p-transcriber", "correct horse").await;
    assert_eq!(
        (s, code(&e)),
        (StatusCode::UNAUTHORIZED, Some("account_disabled"))
    );
    let (_, s, e) = login_as(&app, "p-transcriber", "wrong horse").await;
    assert_eq!(
        (s, code(&e)),
        (StatusCode::UNAUTHORIZED, Some("bad_credentials")),
        "a guesser learns nothing"
    );
    // Nobody disables themselves.
    let me = user_id(&admin, "p-admin").await;
    let (s, e) = admin
        .post(&format!("/api/admin/users/{me}/disable"), json!({}))
        .await;
    assert_eq!(
        (s, code(&e)),
        (StatusCode::CONFLICT, Some("cannot_disable_self"))
    );

    let (s, _) = admin
        .post(&format!("/api/admin/users/{id}/enable"), json!({}))
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(
        login_as(&app, "p-transcriber", "correct horse").await.1,
        StatusCode::OK
    );
    assert_eq!(with_token().await.unwrap().status(), StatusCode::OK);
}

#[tokio::test]
async fn everyone_changes_their_own_password_and_their_other_sessions_end() {
    let app = TestApp::spawn().await;
    let (_, _, t, _) = app.project("p").await;
    let other = app.login("p-transcriber").await;
    let change = |old: &str, new: &str| json!({ "old_password": old, "new_password": new });
    let (s, e) = t
        .put("/api/me/password", change("wrong horse", "battery staple"))
        .await;
    assert_eq!(
        (s, code(&e)),
        (StatusCode::FORBIDDEN, Some("wrong_password"))
    );
    let (s, e) = t
        .put("/api/me/password", change("correct horse", "short"))
        .await;
    assert_eq!(
        (s, code(&e)),
        (StatusCode::BAD_REQUEST, Some("invalid_password"))
    );
    let (s, body) = t
        .put(
            "/api/me/password",
            change("correct horse", "battery staple"),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(body["sessions_ended"], 1);
    assert_eq!(
        t.get("/api/me").await.0,
        StatusCode::OK,
        "the caller stays logged in"
    );
    assert_eq!(
        other.get("/api/me").await.0,
        StatusCode::UNAUTHORIZED,
        "the other session ended"
    );
    assert_eq!(
        login_as(&app, "p-transcriber", "correct horse").await.1,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        login_as(&app, "p-transcriber", "battery staple").await.1,
        StatusCode::OK
    );
    // Not with a token.
    let (_, token) = t.post("/api/tokens", json!({ "name": "script" })).await;
    let r = reqwest::Client::new()
        .put(format!("{}/api/me/password", app.base))
        .bearer_auth(token["token"].as_str().unwrap())
        .json(&change("battery staple", "another one"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
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

fn ok(out: std::process::Output) -> String {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[tokio::test]
async fn the_command_line_lists_users_sets_passwords_and_disables_and_enables() {
    let dir = common::scratch();
    ok(fangyan(
        dir.path(),
        &["user", "add", "ana", "--admin", "--password-stdin"],
        "ana-password\n",
    ));
    ok(fangyan(
        dir.path(),
        &["user", "add", "bo", "--password-stdin"],
        "bo-password\n",
    ));
    let listed = ok(fangyan(dir.path(), &["user", "list"], ""));
    let users: Vec<Value> = listed
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(users.len(), 2, "{listed}");
    assert_eq!(
        (users[0]["name"].as_str(), users[0]["is_admin"].as_bool()),
        (Some("ana"), Some(true))
    );
    assert_eq!(
        (users[1]["name"].as_str(), users[1]["disabled"].as_bool()),
        (Some("bo"), Some(false))
    );

    let out = fangyan(
        dir.path(),
        &["user", "passwd", "bo", "--password-stdin"],
        "short\n",
    );
    assert!(!out.status.success(), "a short password is refused");
    let out = fangyan(
        dir.path(),
        &["user", "passwd", "nobody", "--password-stdin"],
        "long enough\n",
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("no user named nobody"));
    let out = fangyan(dir.path(), &["user", "passwd", "bo"], "long enough\n");
    assert!(!out.status.success(), "--password-stdin is required");
    ok(fangyan(
        dir.path(),
        &["user", "passwd", "bo", "--password-stdin"],
        "bo-new-password\n",
    ));
    ok(fangyan(dir.path(), &["user", "disable", "ana"], ""));
    let listed = ok(fangyan(dir.path(), &["user", "list"], ""));
    assert!(
        listed.lines().next().unwrap().contains("\"disabled\":true"),
        "{listed}"
    );

    let app = TestApp::spawn_at(dir.path(), common::database_url_for(dir.path())).await;
    let (_, s, e) = login_as(&app, "ana", "ana-password").await;
    assert_eq!(
        (s, code(&e)),
        (StatusCode::UNAUTHORIZED, Some("account_disabled"))
    );
    assert_eq!(
        login_as(&app, "bo", "bo-password").await.1,
        StatusCode::UNAUTHORIZED
    );
    let (bo, s, _) = login_as(&app, "bo", "bo-new-password").await;
    assert_eq!(s, StatusCode::OK);
    // Changing bo's password from the command line ends bo's session.
    ok(fangyan(
        dir.path(),
        &["user", "passwd", "bo", "--password-stdin"],
        "bo-third-password\n",
    ));
    assert_eq!(bo.get("/api/me").await.0, StatusCode::UNAUTHORIZED);
    ok(fangyan(dir.path(), &["user", "enable", "ana"], ""));
    assert_eq!(
        login_as(&app, "ana", "ana-password").await.1,
        StatusCode::OK
    );
}
