//! The operator's basics on the real binary (issue 15): SIGTERM lets an upload in flight finish
//! and its job run before exiting 0; JSON logs carry the request id the client got back and
//! no secret; admin commands and `serve` refuse to create a data directory without `--init`,
//! `demo` creates its own; `--help` never shows a secret's value.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use serde_json::{Value, json};
use sqlx::Row;

fn fangyan(data: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_fangyan"));
    common::on_test_database(&mut cmd, data);
    cmd.env_remove("RUST_LOG");
    cmd
}

/// Runs an admin command on `data`; returns its exit success, stdout and stderr.
fn admin(data: &Path, args: &[&str], stdin: &str) -> (bool, String, String) {
    let out = common::output_with_stdin(fangyan(data).args(args).arg("--data").arg(data), stdin);
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A server process, its address and its stderr file; SIGKILLed on drop if still running.
struct Server {
    child: Child,
    base: String,
    log: PathBuf,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    /// `fangyan <args…> --addr <free port>`, waiting until it answers `/healthz`.
    async fn start(data: &Path, args: &[&str], log: PathBuf) -> Server {
        let port = free_port();
        let child = fangyan(data)
            .args(args)
            .args(["--addr", &format!("127.0.0.1:{port}")])
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap();
        let base = format!("http://127.0.0.1:{port}");
        let server = Server { child, base, log };
        let started = Instant::now();
        while reqwest::get(format!("{}/healthz", server.base))
            .await
            .is_err()
        {
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "the server did not start: {}",
                server.log_text()
            );
            tokio::time::sleep(Duration::from_millis(50)).await; // polling a port, not waiting for work
        }
        server
    }

    fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    fn terminate(&self) {
        kill(Pid::from_raw(self.child.id() as i32), Signal::SIGTERM).unwrap();
    }

    /// Waits for the process to exit (at most `limit`), returning its exit code.
    async fn exit_code(&mut self, limit: Duration) -> Option<i32> {
        let started = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status.code();
            }
            assert!(
                started.elapsed() < limit,
                "the server did not exit: {}",
                self.log_text()
            );
            tokio::time::sleep(Duration::from_millis(20)).await; // polling a process
        }
    }

    async fn login(&self, name: &str, password: &str) -> reqwest::Client {
        let http = common::browser_client(&self.base).build().unwrap();
        let r = http
            .post(format!("{}/api/login", self.base))
            .json(&json!({ "name": name, "password": password }))
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success(), "{}", r.text().await.unwrap());
        http
    }
}

/// A data directory with user `ana`, admin of project `p` (id 1).
fn seeded(data: &Path) {
    let ok = |args: &[&str], stdin: &str| {
        let (ok, out, err) = admin(data, args, stdin);
        assert!(ok, "{args:?}: {out} {err}");
    };
    ok(
        &["user", "add", "ana", "--password-stdin"],
        "correct horse\n",
    );
    ok(&["project", "create", "p"], "");
    ok(
        &["project", "add-member", "p", "ana", "--role", "admin"],
        "",
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_lets_an_upload_in_flight_finish_runs_its_job_and_exits_0() {
    let dir = common::scratch();
    let data = dir.path().join("data");
    std::fs::create_dir(&data).unwrap();
    seeded(&data);
    // The folder store whatever the test run's store: the test watches its `tmp/`.
    let folder = format!("file://{}", data.join("store").display());
    let mut server = Server::start(
        &data,
        &[
            "serve",
            "--data",
            data.to_str().unwrap(),
            "--store",
            &folder,
        ],
        dir.path().join("server.log"),
    )
    .await;
    let http = server.login("ana", "correct horse").await;

    // The upload's body comes through a channel: half now, the rest after the SIGTERM.
    let wav = std::fs::read(common::fixture("real/zh-funasr-binhai-query.wav")).unwrap();
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Vec<u8>, std::io::Error>>(4);
    let body = reqwest::Body::wrap_stream(tokio_stream::wrappers::ReceiverStream::new(rx));
    let part =
        reqwest::multipart::Part::stream_with_length(body, wav.len() as u64).file_name("slow.wav");
    let upload = tokio::spawn(
        http.post(format!("{}/api/projects/1/recordings", server.base))
            .multipart(reqwest::multipart::Form::new().part("file", part))
            .send(),
    );
    let half = wav.len() / 2;
    tx.send(Ok(wav[..half].to_vec())).await.unwrap();
    // In flight: the handler has begun its upload into the store (a staging file in `tmp/`;
    // the bytes arrive in 5 MiB parts, so it may still be empty).
    let tmp = data.join("store/tmp");
    let started = Instant::now();
    while !std::fs::read_dir(&tmp)
        .map(|mut d| {
            d.any(|e| {
                e.unwrap()
                    .file_name()
                    .to_string_lossy()
                    .starts_with("upload-")
            })
        })
        .unwrap_or(false)
    {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "the upload never arrived"
        );
        tokio::time::sleep(Duration::from_millis(10)).await; // polling the file system
    }

    server.terminate();
    // The listener closes: a new connection is refused while the upload goes on.
    let started = Instant::now();
    while reqwest::get(format!("{}/healthz", server.base))
        .await
        .is_ok()
    {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "still accepting after SIGTERM"
        );
        tokio::time::sleep(Duration::from_millis(20)).await; // polling a port
    }
    assert!(
        server.child.try_wait().unwrap().is_none(),
        "exited mid-upload"
    );

    tx.send(Ok(wav[half..].to_vec())).await.unwrap();
    drop(tx);
    let answer = upload.await.unwrap().unwrap();
    assert_eq!(answer.status(), reqwest::StatusCode::ACCEPTED);
    let answer: Value = answer.json().await.unwrap();
    let job = answer["job"].as_i64().unwrap();

    assert_eq!(
        server.exit_code(Duration::from_secs(60)).await,
        Some(0),
        "{}",
        server.log_text()
    );
    assert!(
        server.log_text().contains("SIGTERM"),
        "{}",
        server.log_text()
    );
    let db = fangyan::db::connect(
        common::database_url_for(&data).as_deref(),
        &data.join("fangyan.sqlite"),
    )
    .await
    .unwrap();
    let row = sqlx::query("SELECT status, lease_until FROM job WHERE id = $1")
        .bind(job)
        .fetch_one(&db)
        .await
        .unwrap();
    let (status, lease): (String, Option<i64>) = (row.get(0), row.get(1));
    if common::database_url_for(&data).is_none() {
        // Alone on SQLite: the job ran to its end before the process left.
        assert_eq!(status, "done");
        return;
    }
    // On Postgres the lease was handed back at once, and the next server to come up (another
    // replica) finishes the job without waiting for a lease to run out.
    assert_ne!(
        status, "done",
        "the job should have been handed over, not run"
    );
    assert_eq!(lease, Some(0), "the lease was not released");
    let next = Server::start(
        &data,
        &[
            "serve",
            "--data",
            data.to_str().unwrap(),
            "--store",
            &folder,
        ],
        dir.path().join("server2.log"),
    )
    .await;
    let started = Instant::now();
    loop {
        let status: String = sqlx::query_scalar("SELECT status FROM job WHERE id = $1")
            .bind(job)
            .fetch_one(&db)
            .await
            .unwrap();
        if status == "done" {
            break;
        }
        assert!(
            started.elapsed() < fangyan::jobs::lease::lease_length(),
            "not taken over within one lease: {status}\n{}",
            next.log_text()
        );
        tokio::time::sleep(Duration::from_millis(50)).await; // polling the job row
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_logs_carry_the_request_id_the_client_got_and_no_secret() {
    let dir = common::scratch();
    let data = dir.path().join("data");
    std::fs::create_dir(&data).unwrap();
    seeded(&data);
    let mut server = Server::start(
        &data,
        &[
            "--log-format",
            "json",
            "serve",
            "--data",
            data.to_str().unwrap(),
        ],
        dir.path().join("server.log"),
    )
    .await;
    let http = common::browser_client(&server.base).build().unwrap();
    let login = http
        .post(format!("{}/api/login", server.base))
        .json(&json!({ "name": "ana", "password": "correct horse" }))
        .send()
        .await
        .unwrap();
    assert!(login.status().is_success());
    let login_id = login.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_string();
    let cookie = login.headers()["set-cookie"].to_str().unwrap().to_string();
    let session = cookie
        .split(';')
        .next()
        .unwrap()
        .split_once('=')
        .unwrap()
        .1
        .to_string();
    let mine = http
        .get(format!("{}/api/projects/1", server.base))
        .header("x-request-id", "client-chosen-7")
        .send()
        .await
        .unwrap();
    assert_eq!(mine.headers()["x-request-id"], "client-chosen-7");
    server.terminate();
    assert_eq!(server.exit_code(Duration::from_secs(30)).await, Some(0));

    let log = server.log_text();
    let lines: Vec<Value> = log
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    let access = |id: &str| {
        lines
            .iter()
            .find(|l| l["span"]["request_id"] == id)
            .unwrap_or_else(|| panic!("no line with request id {id}:\n{log}"))
    };
    let line = access(&login_id);
    assert_eq!(line["span"]["method"], "POST");
    assert_eq!(line["span"]["route"], "/api/login");
    assert_eq!(line["span"]["status"], 200);
    assert!(line["span"]["latency_ms"].as_f64().is_some(), "{line}");
    let line = access("client-chosen-7");
    assert_eq!(line["span"]["route"], "/api/projects/{project}");
    for secret in ["correct horse", session.as_str()] {
        assert!(!log.contains(secret), "the log holds a secret: {secret}");
    }
}

#[test]
fn admin_commands_and_serve_refuse_to_create_a_data_directory_without_init() {
    let dir = common::scratch();
    let missing = dir.path().join("typo-data");
    for args in [
        &["user", "add", "ana", "--password-stdin"][..],
        &["project", "create", "p"],
        &["serve", "--addr", "127.0.0.1:0"],
    ] {
        let (ok, _, err) = admin(&missing, args, "correct horse\n");
        assert!(!ok, "{args:?} succeeded on a missing directory");
        assert!(
            err.contains("no data directory at") && err.contains("--init"),
            "{args:?}: {err}"
        );
        assert!(!missing.exists(), "{args:?} created the directory");
    }
    let (ok, out, err) = admin(
        &missing,
        &["user", "add", "ana", "--password-stdin", "--init"],
        "correct horse\n",
    );
    assert!(ok, "{out} {err}");
    assert!(missing.is_dir());
    // Once it exists, no --init is needed.
    let (ok, out, err) = admin(&missing, &["project", "create", "p"], "");
    assert!(ok, "{out} {err}");
    // FANGYAN_INIT does what --init does.
    let other = dir.path().join("by-env");
    let out = fangyan(&other)
        .args(["project", "create", "q", "--data"])
        .arg(&other)
        .env("FANGYAN_INIT", "true")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(other.is_dir());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_creates_its_directory_and_stops_on_sigterm() {
    let dir = common::scratch();
    let data = dir.path().join("new-demo");
    let mut server = Server::start(
        &data,
        &["demo", "--data", data.to_str().unwrap()],
        dir.path().join("demo.log"),
    )
    .await;
    let http = server.login("admin", "admin-demo").await;
    let r = http
        .get(format!("{}/api/projects", server.base))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success());
    server.terminate();
    let code = server.exit_code(Duration::from_secs(30)).await;
    assert_eq!(code, Some(0), "{}", server.log_text());
    assert!(data.is_dir());
}

#[test]
fn help_never_shows_a_secrets_value() {
    let out = Command::new(env!("CARGO_BIN_EXE_fangyan"))
        .args(["serve", "--help"])
        .env("FANGYAN_DATABASE_URL", "postgres://u:hunter2-db@h/x")
        .env("FANGYAN_METRICS_TOKEN", "hunter2-metrics")
        .env("FANGYAN_PUBLIC_URL", "https://shown.example")
        .output()
        .unwrap();
    let help = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success());
    assert!(help.contains("FANGYAN_METRICS_TOKEN"), "{help}");
    assert!(!help.contains("hunter2"), "{help}");
    // Values that are not secret are shown, so the check above can fail.
    assert!(help.contains("shown.example"), "{help}");
}
