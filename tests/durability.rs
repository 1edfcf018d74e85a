//! Killing the server with SIGKILL during a stream of saves loses no acknowledged save.
//! The test spawns the real binary, sets it up with the admin CLI, saves until it kills the
//! process, restarts it on the same data directory and checks the revision history.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::Write;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

fn cli(data: &Path, args: &[&str], stdin: Option<&str>) -> Value {
    let mut child =
        common::on_test_database(&mut Command::new(env!("CARGO_BIN_EXE_fangyan")), data)
            .args(args)
            .arg("--data")
            .arg(data)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
    if let Some(input) = stdin {
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
    }
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{args:?}");
    let text = String::from_utf8_lossy(&out.stdout);
    serde_json::from_str(text.lines().last().unwrap()).unwrap()
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Starts the server and waits until it answers.
async fn start(data: &Path, port: u16) -> Child {
    let child = common::on_test_database(&mut Command::new(env!("CARGO_BIN_EXE_fangyan")), data)
        .args(["serve", "--addr", &format!("127.0.0.1:{port}"), "--data"])
        .arg(data)
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while reqwest::get(format!("http://127.0.0.1:{port}/"))
        .await
        .is_err()
    {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "the server did not start"
        );
        tokio::time::sleep(Duration::from_millis(50)).await; // polling a port, not waiting for work
    }
    child
}

async fn login(port: u16) -> reqwest::Client {
    let http = common::browser_client(&format!("http://127.0.0.1:{port}"))
        .build()
        .unwrap();
    let r = http
        .post(format!("http://127.0.0.1:{port}/api/login"))
        .json(&json!({ "name": "ana", "password": "correct horse" }))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success());
    http
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_during_saves_loses_no_acknowledged_save() {
    let dir = common::scratch();
    let data = dir.path();
    cli(
        data,
        &["user", "add", "ana", "--password-stdin"],
        Some("correct horse\n"),
    );
    cli(data, &["project", "create", "p"], None);
    cli(
        data,
        &["project", "add-member", "p", "ana", "--role", "transcriber"],
        None,
    );
    let audio = common::fixture("real/zh-funasr-binhai-query.wav");
    let imported = cli(
        data,
        &["project", "import", "p", audio.to_str().unwrap()],
        None,
    );
    assert_eq!(imported["status"], "ready");

    let port = free_port();
    let mut server = start(data, port).await;
    let http = login(port).await;
    let base = format!("http://127.0.0.1:{port}");
    let seg: Value = http
        .get(format!("{base}/api/recordings/1/segments"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let seg = seg["segments"][0]["id"].as_i64().unwrap();
    let path = format!("{base}/api/segments/{seg}");

    let mut acknowledged = Vec::new();
    let mut version = 1;
    let kill_after = 60;
    for n in 0.. {
        if n == kill_after {
            // Kill mid-stream: a save may be in flight right now.
            let save = http
                .put(&path)
                .json(&json!({ "version": version, "save_id": format!("s{n}"), "text_verbatim": format!("t{n}") }))
                .send();
            let killer = async {
                tokio::time::sleep(Duration::from_millis(2)).await;
                server.kill().unwrap();
            };
            let (result, ()) = tokio::join!(save, killer);
            if let Ok(r) = result
                && r.status().is_success()
            {
                acknowledged.push(format!("s{n}"));
            }
            break;
        }
        let r = http
            .put(&path)
            .json(&json!({ "version": version, "save_id": format!("s{n}"), "text_verbatim": format!("t{n}") }))
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success());
        let body: Value = r.json().await.unwrap();
        version = body["version"].as_i64().unwrap();
        acknowledged.push(format!("s{n}"));
    }
    let _ = server.wait();

    let mut server = start(data, port).await;
    let http = login(port).await;
    let revs: Value = http
        .get(format!("{path}/revisions"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let stored: Vec<String> = revs["revisions"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|r| r["save_id"].as_str().map(str::to_string))
        .collect();
    for id in &acknowledged {
        assert!(stored.contains(id), "acknowledged save {id} was lost");
    }
    assert!(acknowledged.len() >= kill_after);
    server.kill().unwrap();
    let _ = server.wait();
}
