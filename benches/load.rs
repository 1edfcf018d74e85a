//! Load benchmark: many transcribers on loopback against the real server in a second process.
//!
//! `cargo bench --bench load -- [--users 200,1000] [--seconds 30] [--database-url postgres://…]`
//!
//! Each number of transcribers runs on the embedded SQLite file and, with `--database-url`,
//! on that Postgres server too (each run in a schema of its own), so the two backends are
//! measured by the same load in one run and printed side by side with their ratio. With
//! `--cluster 3` the second figure is instead `scripts/cluster`: three replicas behind nginx
//! on Postgres. Each run also prints the load generator's own share of the CPU, since on a
//! small machine it competes with the servers.
//!
//! Setup goes through the library (one project, N transcribers, a real ingested recording, 4N
//! segments), then `fangyan serve` is started as a child process on a free port. Each simulated
//! transcriber logs in, claims a segment, and every 2 s fetches peaks for it and saves a new
//! text with its version and a fresh save id; every fifth save it submits and claims the next.
//! Afterwards every acknowledged save is looked up in the database: a missing revision, or a
//! segment whose text is not the last acknowledged one, is a lost update.
//!
//! Prints p50/p99 latency per request kind and overall, errors and lost updates, and exits 1
//! when the floor (p99 ≤ 50 ms, 0 errors, 0 lost updates) is missed.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../tests/common/cluster.rs"]
mod cluster;
mod common;

use cluster::Cluster;

use common::{arg, arg_str, database_url};

use std::collections::HashMap;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use fangyan::app::{AppState, Config};
use serde_json::{Value, json};
use sqlx::Row;

const PERIOD: Duration = Duration::from_secs(2);
const P99_FLOOR_MS: f64 = 50.0;

#[derive(Default)]
struct Tally {
    latencies: HashMap<&'static str, Vec<f64>>,
    errors: Vec<String>,
    /// Acknowledged saves: (segment, save id, text), in acknowledgement order.
    acked: Vec<(i64, String, String)>,
}

impl Tally {
    fn record(&mut self, kind: &'static str, started: Instant) {
        self.latencies
            .entry(kind)
            .or_default()
            .push(started.elapsed().as_secs_f64() * 1e3);
    }
}

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// One project, `users` transcribers (one password hash shared, to keep setup quick), a real
/// recording and `4 × users` segments over it. Returns the project id.
async fn setup(dir: &std::path::Path, users: u64, url: Option<&str>, store: Option<&str>) -> i64 {
    let state = AppState::open(
        Config::new(dir)
            .with_database(url.map(str::to_owned))
            .with_store(store.map(str::to_owned)),
    )
    .await
    .unwrap();
    let project = fangyan::projects::db::create(&state.db, "load")
        .await
        .unwrap();
    let hash = fangyan::accounts::hash_password("load-password").unwrap();
    for i in 0..users {
        let id = fangyan::accounts::db::create_user(&state.db, &format!("t{i:03}"), &hash)
            .await
            .unwrap();
        fangyan::projects::db::add_member(
            &state.db,
            project,
            id,
            fangyan::projects::Role::Transcriber,
        )
        .await
        .unwrap();
    }
    let fixture = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/real/zh-funasr-binhai-query.wav");
    let (recording, _) = fangyan::recordings::import_file(&state, project, &fixture)
        .await
        .unwrap();
    state.jobs.drain().await;
    let samples: i64 = sqlx::query("SELECT samples FROM recording WHERE id = $1")
        .bind(recording)
        .fetch_one(&state.db)
        .await
        .unwrap()
        .try_get(0)
        .unwrap();
    // The VAD's segments (and their first revisions) make way for the bench's own.
    sqlx::query(
        "DELETE FROM segment_revision WHERE segment_id IN \
         (SELECT id FROM segment WHERE recording_id = $1)",
    )
    .bind(recording)
    .execute(&state.db)
    .await
    .unwrap();
    sqlx::query("DELETE FROM segment WHERE recording_id = $1")
        .bind(recording)
        .execute(&state.db)
        .await
        .unwrap();
    let span = samples / 8;
    for i in 0..users * 4 {
        let start = (i as i64 * 997) % (samples - span);
        sqlx::query(
            "INSERT INTO segment (recording_id, start_sample, end_sample, asr_text) VALUES ($1, $2, $3, $4)",
        )
        .bind(recording)
        .bind(start)
        .bind(start + span)
        .bind("滨海新区怎么走")
        .execute(&state.db)
        .await
        .unwrap();
    }
    project
}

fn start_server(dir: &std::path::Path, url: Option<&str>) -> (Server, String) {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let addr = format!("127.0.0.1:{port}");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_fangyan"));
    cmd.args(["serve", "--addr", &addr, "--data"]).arg(dir);
    if let Some(url) = url {
        cmd.args(["--database-url", url]);
    }
    let child = cmd
        .env("RUST_LOG", "warn,sqlx::pool=error")
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    (Server(child), format!("http://{addr}"))
}

/// One simulated transcriber until `deadline`.
/// Logs one transcriber in (argon2 on the server: done for everyone before the clock starts).
async fn login(base: String, name: String) -> reqwest::Client {
    let http = reqwest::Client::builder()
        .cookie_store(true)
        // A browser names its page's origin on every state-changing request (src/edge.rs).
        .default_headers(reqwest::header::HeaderMap::from_iter([(
            reqwest::header::ORIGIN,
            reqwest::header::HeaderValue::from_str(&base).unwrap(),
        )]))
        .build()
        .unwrap();
    // Hundreds of logins at once from one address meet the login's limits (issue 13): the
    // argon2 queue answers 503 and the per-client bucket 429 until earlier logins succeed and
    // give their slots back. Retry shortly, staggered, for up to two minutes.
    let started = Instant::now();
    for attempt in 0u64.. {
        let r = http
            .post(format!("{base}/api/login"))
            .json(&json!({ "name": name, "password": "load-password" }))
            .send()
            .await
            .unwrap();
        let s = r.status();
        if s.is_success() {
            break;
        }
        assert!(
            (s == 429 || s == 503) && started.elapsed() < Duration::from_secs(120),
            "login {name}: {s}"
        );
        let stagger = (attempt * 37 + name.bytes().map(u64::from).sum::<u64>() * 13) % 200;
        tokio::time::sleep(Duration::from_millis(100 + stagger)).await;
    }
    http
}

#[allow(clippy::too_many_arguments)]
async fn transcriber(
    http: reqwest::Client,
    base: String,
    name: String,
    project: i64,
    deadline: Instant,
    offset: Duration,
    tally: Arc<Mutex<Tally>>,
) {
    tokio::time::sleep(offset).await;
    let mut current: Option<(i64, i64, i64, i64)> = None; // (segment, version, start, end)
    let mut saves = 0u64;
    let mut tick = tokio::time::interval(PERIOD);
    while Instant::now() < deadline {
        tick.tick().await;
        let (seg, version, start, end) = match current {
            Some(c) => c,
            None => {
                let t = Instant::now();
                let r = http
                    .post(format!("{base}/api/projects/{project}/claim"))
                    .send()
                    .await;
                let body: Value = match r {
                    Ok(r) if r.status().is_success() => r.json().await.unwrap_or(Value::Null),
                    Ok(r) => {
                        let mut t = tally.lock().unwrap();
                        t.errors.push(format!("claim: {}", r.status()));
                        continue;
                    }
                    Err(e) => {
                        tally.lock().unwrap().errors.push(format!("claim: {e}"));
                        continue;
                    }
                };
                tally.lock().unwrap().record("claim", t);
                let s = &body["segment"];
                let Some(id) = s["id"].as_i64() else { break };
                (
                    id,
                    s["version"].as_i64().unwrap(),
                    s["start_sample"].as_i64().unwrap(),
                    s["end_sample"].as_i64().unwrap(),
                )
            }
        };
        let t = Instant::now();
        match http
            .get(format!(
                "{base}/api/recordings/1/peaks?start={start}&end={end}&width=800"
            ))
            .send()
            .await
        {
            Ok(r) if r.status().is_success() => {
                let _ = r.bytes().await;
                tally.lock().unwrap().record("peaks", t);
            }
            Ok(r) => tally
                .lock()
                .unwrap()
                .errors
                .push(format!("peaks: {}", r.status())),
            Err(e) => tally.lock().unwrap().errors.push(format!("peaks: {e}")),
        }
        saves += 1;
        let text = format!("{name} 第{saves}次 滨海新区怎么走");
        let save_id = format!("{name}-{saves}");
        let t = Instant::now();
        let r = http
            .put(format!("{base}/api/segments/{seg}"))
            .json(&json!({ "version": version, "save_id": save_id, "text_verbatim": text }))
            .send()
            .await;
        let version = match r {
            Ok(r) if r.status().is_success() => {
                let body: Value = r.json().await.unwrap_or(Value::Null);
                let mut tl = tally.lock().unwrap();
                tl.record("save", t);
                tl.acked.push((seg, save_id, text));
                body["version"].as_i64().unwrap_or(version)
            }
            Ok(r) => {
                let s = r.status();
                let body = r.text().await.unwrap_or_default();
                tally
                    .lock()
                    .unwrap()
                    .errors
                    .push(format!("save: {s} {body}"));
                version
            }
            Err(e) => {
                tally.lock().unwrap().errors.push(format!("save: {e}"));
                version
            }
        };
        current = Some((seg, version, start, end));
        if saves.is_multiple_of(5) {
            let t = Instant::now();
            match http
                .post(format!("{base}/api/segments/{seg}/submit"))
                .json(&json!({ "version": version }))
                .send()
                .await
            {
                Ok(r) if r.status().is_success() => tally.lock().unwrap().record("submit", t),
                Ok(r) => tally
                    .lock()
                    .unwrap()
                    .errors
                    .push(format!("submit: {}", r.status())),
                Err(e) => tally.lock().unwrap().errors.push(format!("submit: {e}")),
            }
            current = None;
        }
    }
}

/// Every acknowledged save must have its revision, and each segment must hold the text of its
/// last acknowledged save.
async fn lost_updates(
    dir: &std::path::Path,
    url: Option<&str>,
    acked: &[(i64, String, String)],
) -> usize {
    let db = fangyan::db::connect(url, &dir.join("fangyan.sqlite"))
        .await
        .unwrap();
    let mut lost = 0;
    let mut last: HashMap<i64, &str> = HashMap::new();
    for (seg, save_id, text) in acked {
        let found = sqlx::query("SELECT text_verbatim FROM segment_revision WHERE save_id = $1")
            .bind(save_id)
            .fetch_optional(&db)
            .await
            .unwrap();
        match found {
            Some(r) if r.try_get::<String, _>(0).unwrap() == *text => {}
            _ => lost += 1,
        }
        last.insert(*seg, text);
    }
    for (seg, text) in last {
        let now: String = sqlx::query("SELECT text_verbatim FROM segment WHERE id = $1")
            .bind(seg)
            .fetch_one(&db)
            .await
            .unwrap()
            .try_get(0)
            .unwrap();
        if now != text {
            lost += 1;
        }
    }
    lost
}

/// One run's figures.
struct Outcome {
    p99: f64,
    errors: usize,
    lost: usize,
}

/// A fresh schema on the Postgres server at `base`, as a URL whose connections use it.
async fn fresh_schema(base: &str, name: &str) -> String {
    sqlx::any::install_default_drivers();
    let admin = sqlx::AnyPool::connect(base).await.unwrap();
    sqlx::query(&format!("DROP SCHEMA IF EXISTS {name} CASCADE"))
        .execute(&admin)
        .await
        .unwrap();
    sqlx::query(&format!("CREATE SCHEMA {name}"))
        .execute(&admin)
        .await
        .unwrap();
    admin.close().await;
    let sep = if base.contains('?') { '&' } else { '?' };
    format!("{base}{sep}options=-c%20search_path%3D{name}")
}

/// Where the load goes.
enum Target {
    /// One `fangyan serve` started here, on SQLite (`None`) or on this Postgres database.
    Single(Option<String>),
    /// `scripts/cluster`: this many replicas behind nginx, on Postgres and a shared store.
    Cluster(u64),
}

/// CPU seconds this process has used (user + system), from /proc.
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    // Fields 14 and 15 of stat (utime, stime), counted after the command name; 100 Hz.
    (ticks(11) + ticks(12)) / 100.0
}

/// `users` transcribers for `seconds` against `target`.
async fn run(users: u64, seconds: u64, target: &Target) -> Outcome {
    let dir = tempfile::tempdir().unwrap();
    let (cluster, url, data) = match target {
        Target::Single(url) => (None, url.clone(), dir.path().to_path_buf()),
        Target::Cluster(replicas) => {
            let c = Cluster::start(*replicas as u32, env!("CARGO_BIN_EXE_fangyan"), 15_000);
            let url = Some(c.get("CLUSTER_DATABASE_URL").to_string());
            let data = std::path::PathBuf::from(c.get("CLUSTER_DATA"));
            (Some(c), url, data)
        }
    };
    let url = url.as_deref();
    let store = cluster
        .as_ref()
        .map(|c| c.get("CLUSTER_STORE"))
        .filter(|s| !s.is_empty());
    let project = setup(&data, users, url, store).await;
    let (server, base) = match &cluster {
        None => {
            let (server, base) = start_server(&data, url);
            (Some(server), base)
        }
        Some(c) => (None, c.get("CLUSTER_URL").to_string()),
    };
    let http = reqwest::Client::new();
    let up = Instant::now();
    while http.get(&base).send().await.is_err() {
        assert!(
            up.elapsed() < Duration::from_secs(30),
            "server did not start"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let tally = Arc::new(Mutex::new(Tally::default()));
    // Everyone logs in (argon2) before the clock starts; each transcriber then starts at its
    // own offset within the first period, as people do.
    let logins: Vec<_> = (0..users)
        .map(|i| tokio::spawn(login(base.clone(), format!("t{i:03}"))))
        .collect();
    let mut clients = Vec::new();
    for l in logins {
        clients.push(l.await.unwrap());
    }
    let (cpu0, wall0) = (cpu_seconds(), Instant::now());
    let deadline = Instant::now() + Duration::from_secs(seconds) + PERIOD;
    let tasks: Vec<_> = clients
        .into_iter()
        .enumerate()
        .map(|(i, http)| {
            let offset = PERIOD.mul_f64(i as f64 / users as f64);
            tokio::spawn(transcriber(
                http,
                base.clone(),
                format!("t{i:03}"),
                project,
                deadline,
                offset,
                tally.clone(),
            ))
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get()) as f64;
    let share = (cpu_seconds() - cpu0) / (wall0.elapsed().as_secs_f64() * cores);
    drop(server);
    let tally = Arc::try_unwrap(tally).ok().unwrap().into_inner().unwrap();
    let lost = lost_updates(&data, url, &tally.acked).await;
    drop(cluster);

    let backend = match target {
        Target::Single(None) => "SQLite".to_string(),
        Target::Single(Some(_)) => "Postgres".to_string(),
        Target::Cluster(n) => format!("{n} replicas behind nginx on Postgres"),
    };
    println!(
        "load on {backend}: {users} transcribers on loopback, a save every {PERIOD:?} each, {seconds} s"
    );
    println!(
        "the load generator used {:.0} % of the machine's {cores} cores meanwhile",
        share * 100.0
    );
    println!(
        "{:<8} {:>8} {:>9} {:>9} {:>9}",
        "request", "count", "p50 ms", "p99 ms", "max ms"
    );
    let mut all = Vec::new();
    let mut kinds: Vec<_> = tally.latencies.into_iter().collect();
    kinds.sort_by_key(|(k, _)| *k);
    for (kind, mut v) in kinds {
        v.sort_by(f64::total_cmp);
        println!(
            "{kind:<8} {:>8} {:>9.1} {:>9.1} {:>9.1}",
            v.len(),
            percentile(&v, 50.0),
            percentile(&v, 99.0),
            v.last().copied().unwrap_or(0.0)
        );
        all.extend(v);
    }
    all.sort_by(f64::total_cmp);
    let p99 = percentile(&all, 99.0);
    println!(
        "{:<8} {:>8} {:>9.1} {:>9.1} {:>9.1}",
        "all",
        all.len(),
        percentile(&all, 50.0),
        p99,
        all.last().copied().unwrap_or(0.0)
    );
    println!(
        "errors: {}  acknowledged saves: {}  lost updates: {lost}\n",
        tally.errors.len(),
        tally.acked.len()
    );
    for e in tally.errors.iter().take(5) {
        println!("  error: {e}");
    }
    Outcome {
        p99,
        errors: tally.errors.len(),
        lost,
    }
}

#[tokio::main]
async fn main() {
    let users: Vec<u64> = arg_str("--users")
        .unwrap_or_else(|| "200".into())
        .split(',')
        .map(|n| {
            n.trim()
                .parse()
                .expect("--users takes numbers, e.g. 200,1000")
        })
        .collect();
    let seconds = arg("--seconds", 30);
    let postgres = database_url();
    let replicas = arg("--cluster", 0);
    let mut rows = Vec::new();
    for &n in &users {
        let lite = run(n, seconds, &Target::Single(None)).await;
        let other = if replicas > 0 {
            Some(run(n, seconds, &Target::Cluster(replicas)).await)
        } else if let Some(base) = &postgres {
            let url = fresh_schema(base, &format!("load_{n}")).await;
            Some(run(n, seconds, &Target::Single(Some(url))).await)
        } else {
            None
        };
        rows.push((n, lite, other));
    }
    let other = if replicas > 0 {
        format!("{replicas} replicas")
    } else {
        "Postgres".into()
    };
    println!("side by side (p99 ms; floor {P99_FLOOR_MS} ms, 0 errors, 0 lost):");
    println!(
        "{:>12} {:>10} {:>12} {:>16}",
        "transcribers",
        "SQLite",
        other,
        format!("{other}/SQLite")
    );
    let mut ok = true;
    for (n, lite, pg) in &rows {
        let met = |o: &Outcome| o.p99 <= P99_FLOOR_MS && o.errors == 0 && o.lost == 0;
        ok &= met(lite);
        let (pg_p99, ratio) = match pg {
            Some(pg) => {
                ok &= met(pg);
                (
                    format!("{:.1}", pg.p99),
                    format!("{:.2}", pg.p99 / lite.p99),
                )
            }
            None => ("-".into(), "-".into()),
        };
        println!("{n:>12} {:>10.1} {pg_p99:>12} {ratio:>16}", lite.p99);
    }
    println!(
        "floor (p99 <= {P99_FLOOR_MS} ms, 0 errors, 0 lost, every run): {}",
        if ok { "met" } else { "MISSED" }
    );
    if !ok {
        std::process::exit(1);
    }
}
