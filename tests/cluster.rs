//! Three replicas behind nginx on Postgres and the shared store (`scripts/cluster`), as a team
//! that outgrew one machine runs them (issue 15): an ingest survives the death of the replica
//! running it, its event stream works from any replica, a stream of saves through nginx
//! loses nothing while a replica is killed and restarted, and an export outlives the replica
//! running it too.
//!
//! Runs in the Postgres pass of the suite (`FANGYAN_TEST_DATABASE_URL`; with
//! `FANGYAN_TEST_STORE_URL` the store is the S3 bucket, else a shared folder); without
//! Postgres it returns at once.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::cluster::Cluster;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use fangyan::app::{AppState, Config};
use reqwest::StatusCode;
use serde_json::{Value, json};
use sqlx::Row;

/// The real speech fixture repeated to `minutes` (ffmpeg), long enough to kill mid-ingest.
fn long_recording(dir: &Path, minutes: u32) -> PathBuf {
    let out = dir.join(format!("long-{minutes}min.wav"));
    let ok = Command::new("ffmpeg")
        .args(["-v", "error", "-y", "-stream_loop", "-1", "-i"])
        .arg(common::fixture("real/zh-funasr-binhai-query.wav"))
        .args([
            "-t",
            &(minutes * 60).to_string(),
            "-ac",
            "1",
            "-ar",
            "16000",
        ])
        .arg(&out)
        .status()
        .unwrap()
        .success();
    assert!(ok, "ffmpeg failed");
    out
}

async fn login(base: &str, name: &str) -> reqwest::Client {
    let http = common::browser_client(base).build().unwrap();
    let r = http
        .post(format!("{base}/api/login"))
        .json(&json!({ "name": name, "password": "cluster password" }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    http
}

async fn upload(http: &reqwest::Client, base: &str, project: i64, file: &Path) -> (i64, i64) {
    let form = reqwest::multipart::Form::new().part(
        "file",
        reqwest::multipart::Part::bytes(std::fs::read(file).unwrap()).file_name("long.wav"),
    );
    let r = http
        .post(format!("{base}/api/projects/{project}/recordings"))
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    let body: Value = r.json().await.unwrap();
    (
        body["recording"].as_i64().unwrap(),
        body["job"].as_i64().unwrap(),
    )
}

/// Follows a job's event stream on `base` until it ends; returns the last status.
async fn follow(http: &reqwest::Client, base: &str, job: i64) -> String {
    use futures_util::StreamExt;
    let r = http
        .get(format!("{base}/api/jobs/{job}/events"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let mut body = r.bytes_stream();
    let mut text = String::new();
    let mut last = String::new();
    while let Some(chunk) = body.next().await {
        text.push_str(&String::from_utf8_lossy(&chunk.unwrap()));
        while let Some(end) = text.find("\n\n") {
            let event: String = text.drain(..end + 2).collect();
            if let Some(data) = event.lines().find_map(|l| l.strip_prefix("data:")) {
                let v: Value = serde_json::from_str(data.trim()).unwrap();
                last = v["status"].as_str().unwrap().to_string();
                if last == "done" || last == "failed" {
                    return last;
                }
            }
        }
    }
    last
}

/// What an ingest produced: hash, length, and the VAD's segment boundaries.
async fn outcome(
    state: &AppState,
    recording: i64,
) -> (String, Option<String>, i64, Vec<(i64, i64)>) {
    let r = fangyan::recordings::db::get(&state.db, recording)
        .await
        .unwrap();
    let segments = sqlx::query(
        "SELECT start_sample, end_sample FROM segment WHERE recording_id = $1 ORDER BY start_sample",
    )
    .bind(recording)
    .fetch_all(&state.db)
    .await
    .unwrap()
    .iter()
    .map(|s| (s.get::<i64, _>(0), s.get::<i64, _>(1)))
    .collect();
    (r.status, r.sha256, r.samples.unwrap_or_default(), segments)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_ingest_and_an_export_outlive_the_replica_running_them_and_saves_survive_a_restart() {
    if std::env::var("FANGYAN_TEST_DATABASE_URL").is_err() {
        eprintln!("skipped: the cluster runs on Postgres (FANGYAN_TEST_DATABASE_URL)");
        return;
    }
    let scratch = common::scratch();
    let audio = long_recording(scratch.path(), 40);
    // Short leases, so a dead replica's job is taken over within seconds.
    let cluster = Cluster::start(3, env!("CARGO_BIN_EXE_fangyan"), 2000);
    let store = Some(cluster.get("CLUSTER_STORE").to_string()).filter(|s| !s.is_empty());
    let state = AppState::open(
        Config::new(cluster.get("CLUSTER_DATA"))
            .with_database(Some(cluster.get("CLUSTER_DATABASE_URL").to_string()))
            .with_store(store),
    )
    .await
    .unwrap();
    let hash = fangyan::accounts::hash_password("cluster password").unwrap();
    let admin = fangyan::accounts::db::create_user(&state.db, "admin", &hash)
        .await
        .unwrap();
    let (calm, killed) = (
        fangyan::projects::db::create(&state.db, "undisturbed")
            .await
            .unwrap(),
        fangyan::projects::db::create(&state.db, "disturbed")
            .await
            .unwrap(),
    );
    for p in [calm, killed] {
        fangyan::projects::db::add_member(&state.db, p, admin, fangyan::projects::Role::Admin)
            .await
            .unwrap();
    }
    let lb = cluster.get("CLUSTER_URL").to_string();
    let http = login(&lb, "admin").await;

    // Undisturbed, through nginx: the reference result.
    let (reference, job) = upload(&http, &lb, calm, &audio).await;
    assert_eq!(follow(&http, &lb, job).await, "done");
    let expected = outcome(&state, reference).await;
    assert_eq!(expected.0, "ready");
    assert!(!expected.3.is_empty(), "the VAD found no speech");

    // Again, into the other project; the replica holding the lease dies mid-job.
    let (recording, job) = upload(&http, &lb, killed, &audio).await;
    let started = Instant::now();
    let holder = holder_at_5_percent(&cluster, &state, Held::Job(job)).await;
    let watcher = (1..=3).find(|&n| n != holder).unwrap();
    cluster.script(&["kill", &holder.to_string()]);
    // Watched through another replica, not the one whose events it published.
    let watch = cluster.replica(watcher);
    let http_watch = login(&watch, "admin").await;
    let last = tokio::time::timeout(Duration::from_secs(180), follow(&http_watch, &watch, job))
        .await
        .expect("the job never ended after its replica died");
    assert_eq!(last, "done");
    let row = sqlx::query("SELECT lease_owner, attempts FROM job WHERE id = $1")
        .bind(job)
        .fetch_one(&state.db)
        .await
        .unwrap();
    let (owner, attempts): (String, i64) = (row.get(0), row.get(1));
    eprintln!(
        "ingest job {job}: replica {holder} killed at progress ≥ 5 %, done after {:.1} s, attempts {attempts}",
        started.elapsed().as_secs_f64()
    );
    assert!(attempts >= 2, "attempts {attempts}");
    assert!(
        !owner.contains(&format!(":{}:", cluster.pid(holder))),
        "finished by the dead replica"
    );
    // The same result as the undisturbed run, and nothing left behind in the store.
    assert_eq!(outcome(&state, recording).await, expected);
    let left = state.store.list("tmp").await.unwrap();
    assert!(left.is_empty(), "orphans in tmp/: {left:?}");

    // Saves through nginx from 8 editors while a replica is killed and restarted: every
    // acknowledged save is there, and retries (same save id) never apply twice.
    cluster.script(&["restart", &holder.to_string()]);
    let segments: Vec<i64> =
        sqlx::query("SELECT id FROM segment WHERE recording_id = $1 ORDER BY id LIMIT 8")
            .bind(recording)
            .fetch_all(&state.db)
            .await
            .unwrap()
            .iter()
            .map(|r| r.get(0))
            .collect();
    assert_eq!(segments.len(), 8);
    let deadline = Instant::now() + Duration::from_secs(8);
    let editors: Vec<_> = segments
        .iter()
        .map(|&seg| {
            let (http, lb) = (http.clone(), lb.clone());
            tokio::spawn(async move { edit_until(&http, &lb, seg, deadline).await })
        })
        .collect();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let victim = (holder % 3) + 1;
    cluster.script(&["kill", &victim.to_string()]);
    tokio::time::sleep(Duration::from_secs(2)).await;
    cluster.script(&["restart", &victim.to_string()]);
    let mut acked = 0;
    for (editor, &seg) in editors.into_iter().zip(&segments) {
        let (texts, last) = editor.await.unwrap();
        acked += texts.len();
        for (save_id, text) in &texts {
            let n: i64 = sqlx::query(
                "SELECT COUNT(*) FROM segment_revision WHERE save_id = $1 AND text_verbatim = $2",
            )
            .bind(save_id)
            .bind(text)
            .fetch_one(&state.db)
            .await
            .unwrap()
            .get(0);
            assert_eq!(n, 1, "acknowledged save {save_id} stored {n} times");
        }
        let now: String = sqlx::query("SELECT text_verbatim FROM segment WHERE id = $1")
            .bind(seg)
            .fetch_one(&state.db)
            .await
            .unwrap()
            .get(0);
        assert_eq!(
            Some(&now),
            last.as_ref(),
            "segment {seg} lost its last save"
        );
    }
    eprintln!(
        "{acked} acknowledged saves through nginx across a replica's kill and restart, 0 lost"
    );
    assert!(acked >= 40, "only {acked} saves acknowledged");

    // The same for an export: undisturbed through nginx, then again with the replica holding
    // its lease killed mid-run. Another replica runs it again to the same files, the archive
    // is in the store, and nothing is left in tmp/.
    sqlx::query("UPDATE segment SET text_verbatim = '今天天气很好' || id WHERE recording_id = $1")
        .bind(reference)
        .execute(&state.db)
        .await
        .unwrap();
    let definition = json!({"filters": {"status": ["new"]}, "options": {"rate": 8000, "layouts": ["kaldi", "lhotse"]}});
    let reference = export_files(&http, &lb, export(&http, &lb, calm, &definition).await).await;
    assert!(reference.len() > 20, "{:?}", reference.keys());
    let id = export(&http, &lb, calm, &definition).await;
    let started = Instant::now();
    let holder = holder_at_5_percent(&cluster, &state, Held::Export(id)).await;
    cluster.script(&["kill", &holder.to_string()]);
    let watch = cluster.replica((1..=3).find(|&n| n != holder).unwrap());
    let http_watch = login(&watch, "admin").await;
    let files = tokio::time::timeout(
        Duration::from_secs(180),
        export_files(&http_watch, &watch, id),
    )
    .await
    .expect("the export never ended after its replica died");
    let (owner, attempts): (String, i64) =
        sqlx::query_as("SELECT lease_owner, attempts FROM job WHERE export_id = $1")
            .bind(id)
            .fetch_one(&state.db)
            .await
            .unwrap();
    eprintln!(
        "export {id}: replica {holder} killed at progress ≥ 5 %, done after {:.1} s, attempts {attempts}, {} files",
        started.elapsed().as_secs_f64(),
        files.len()
    );
    assert!(attempts >= 2, "attempts {attempts}");
    assert!(
        !owner.contains(&format!(":{}:", cluster.pid(holder))),
        "finished by the dead replica"
    );
    assert!(
        files == reference,
        "the taken-over export differs from the undisturbed one"
    );
    let archives = state.store.list("exports").await.unwrap();
    assert_eq!(archives.len(), 2, "{archives:?}");
    let left = state.store.list("tmp").await.unwrap();
    assert!(left.is_empty(), "orphans in tmp/: {left:?}");
    cluster.script(&["restart", &holder.to_string()]);
}

/// What a replica holds the lease of: a job, or the export its job runs.
#[derive(Clone, Copy, Debug)]
enum Held {
    Job(i64),
    Export(i64),
}

/// Waits until the work `held` has passed 5 % (the job's progress, or the export's), then
/// returns the replica (1..=3) holding its lease. Fails if it ends first or never runs.
async fn holder_at_5_percent(cluster: &Cluster, state: &AppState, held: Held) -> u32 {
    let (sql, id) = match held {
        Held::Job(id) => (
            "SELECT lease_owner, progress, status FROM job WHERE id = $1",
            id,
        ),
        Held::Export(id) => (
            "SELECT j.lease_owner, e.progress, e.status FROM job j JOIN export e ON e.id = j.export_id WHERE e.id = $1",
            id,
        ),
    };
    let started = Instant::now();
    loop {
        let row = sqlx::query(sql)
            .bind(id)
            .fetch_one(&state.db)
            .await
            .unwrap();
        let (owner, progress, status): (Option<String>, f64, String) =
            (row.get(0), row.get(1), row.get(2));
        assert_ne!(
            status, "done",
            "{held:?} ended before it could be interrupted"
        );
        if progress >= 0.05 {
            let pid: u32 = owner.unwrap().split(':').nth(1).unwrap().parse().unwrap();
            return (1..=3).find(|&n| cluster.pid(n) == pid).unwrap();
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "{held:?} never ran"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Starts an export of `project` through `base`; returns its id.
async fn export(http: &reqwest::Client, base: &str, project: i64, definition: &Value) -> i64 {
    let r = http
        .post(format!("{base}/api/projects/{project}/exports"))
        .json(definition)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    r.json::<Value>().await.unwrap()["export"].as_i64().unwrap()
}

/// Waits for export `id` through `base` to end, then downloads its files.
async fn export_files(
    http: &reqwest::Client,
    base: &str,
    id: i64,
) -> std::collections::BTreeMap<String, Vec<u8>> {
    loop {
        let e: Value = http
            .get(format!("{base}/api/exports/{id}"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        match e["status"].as_str() {
            Some("done") => break,
            Some("failed") => panic!("export {id} failed: {e}"),
            _ => tokio::time::sleep(Duration::from_millis(200)).await,
        }
    }
    let r = http
        .get(format!("{base}/api/exports/{id}/download"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    common::archive_files(&r.bytes().await.unwrap())
}

/// Saves new texts to `seg` until `deadline`, retrying each with its save id until it is
/// acknowledged (as the browser's outbox does); returns the acknowledged (save id, text)
/// pairs and the last text.
async fn edit_until(
    http: &reqwest::Client,
    base: &str,
    seg: i64,
    deadline: Instant,
) -> (Vec<(String, String)>, Option<String>) {
    let mut acked = Vec::new();
    let mut n = 0;
    while Instant::now() < deadline {
        n += 1;
        let (save_id, text) = (format!("c{seg}-{n}"), format!("第{n}次 {seg}"));
        loop {
            let current: Value = match http.get(format!("{base}/api/segments/{seg}")).send().await {
                Ok(r) if r.status() == StatusCode::OK => r.json().await.unwrap(),
                _ => {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            };
            let version = current["version"].clone();
            let r = http
                .put(format!("{base}/api/segments/{seg}"))
                .json(&json!({ "version": version, "save_id": save_id, "text_verbatim": text }))
                .send()
                .await;
            match r {
                Ok(r) if r.status() == StatusCode::OK => break,
                // A retry whose first try was applied but not answered: the version moved on.
                Ok(r) if r.status() == StatusCode::CONFLICT => {
                    let now: Value = http
                        .get(format!("{base}/api/segments/{seg}"))
                        .send()
                        .await
                        .unwrap()
                        .json()
                        .await
                        .unwrap();
                    if now["text_verbatim"] == json!(text) {
                        break;
                    }
                }
                _ => {}
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        acked.push((save_id, text.clone()));
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let last = acked.last().map(|(_, t)| t.clone());
    (acked, last)
}
