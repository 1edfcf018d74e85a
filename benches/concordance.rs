//! Concordance benchmark: 100 000 generated segments (Chinese text, a `variety` label each,
//! one span tag in five) in a real SQLite file, the real router on loopback, and a mix of
//! concordance queries (feature, realised form, substring, regex, and each with label, status,
//! speaker or variety filters; deep pages). Prints p50/p99 per query kind and overall; exits 1 when the overall
//! p99 exceeds 100 ms.
//!
//! `cargo bench --bench concordance -- [--segments 100000] [--rounds 20]`

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Instant;

use fangyan::app::{AppState, Config};
use serde_json::{Value, json};
use sqlx::Row;

const P99_FLOOR_MS: f64 = 100.0;
const FEATURES: [&str; 6] = [
    "INIT_RETRO_TO_DENTAL",
    "INIT_N_L_MERGER",
    "FINAL_N_NG_MERGER",
    "INIT_F_H_CONFUSION",
    "TONE_VALUE_SHIFT",
    "TONE_CATEGORY_SHIFT",
];
const WORDS: [&str; 16] = [
    "今天", "天气", "很好", "我们", "是", "四川", "牛奶", "人名", "湖南", "福建", "老师", "学生",
    "吃饭", "没有", "这个", "那里",
];
const VARIETIES: [&str; 4] = ["cmn-southwestern", "cmn-jianghuai", "cmn-jilu", "yue"];

fn arg(name: &str, default: u64) -> u64 {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn pct(v: &mut [f64], p: f64) -> f64 {
    v.sort_by(f64::total_cmp);
    v[((v.len() as f64 - 1.0) * p).round() as usize]
}

#[tokio::main]
async fn main() {
    let n = arg("--segments", 100_000) as i64;
    let rounds = arg("--rounds", 20);
    let dir = tempfile::tempdir().unwrap();
    let state = AppState::open(Config::new(dir.path())).await.unwrap();
    let db = &state.db;
    let hash = fangyan::accounts::hash_password("bench-pw").unwrap();
    let user = fangyan::accounts::db::create_user(db, "linguist", &hash)
        .await
        .unwrap();
    let project = fangyan::projects::db::create(db, "corpus").await.unwrap();
    fangyan::projects::db::add_member(db, project, user, fangyan::projects::Role::Admin)
        .await
        .unwrap();

    let t0 = Instant::now();
    let mut tx = db.begin().await.unwrap();
    let mut speakers = Vec::new();
    for i in 0..50 {
        let id: i64 = sqlx::query("INSERT INTO speaker (project_id, code, native_variety, birthplace) VALUES ($1, $2, $3, $4) RETURNING id")
            .bind(project)
            .bind(format!("S{i:03}"))
            .bind(VARIETIES[i % VARIETIES.len()])
            .bind(if i % 2 == 0 { "广西 南宁" } else { "四川 成都" })
            .fetch_one(&mut *tx)
            .await
            .unwrap()
            .get(0);
        speakers.push(id);
    }
    let per_recording = 1_000;
    let mut recording = 0;
    let mut spans = 0;
    for i in 0..n {
        if i % per_recording == 0 {
            recording = sqlx::query(
                "INSERT INTO recording (project_id, name, status, sha256, analysis_rate, samples, created_at) \
                 VALUES ($1, $2, 'ready', 'none', 16000, $3, 0) RETURNING id",
            )
            .bind(project)
            .bind(format!("rec{:04}.wav", i / per_recording))
            .bind(per_recording * 5 * 16_000)
            .fetch_one(&mut *tx)
            .await
            .unwrap()
            .get(0);
        }
        // Deterministic pseudo-random text of 4 to 9 words.
        let mut x = (i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
        let mut text = String::new();
        for _ in 0..(4 + x % 6) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            text.push_str(WORDS[(x % WORDS.len() as u64) as usize]);
        }
        let start = (i % per_recording) * 5 * 16_000;
        let status = ["new", "submitted", "approved"][(i % 3) as usize];
        let seg: i64 = sqlx::query(
            "INSERT INTO segment (recording_id, start_sample, end_sample, speaker_id, text_verbatim, status) \
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
        )
        .bind(recording)
        .bind(start)
        .bind(start + 4 * 16_000)
        .bind(speakers[(i % 50) as usize])
        .bind(&text)
        .bind(status)
        .fetch_one(&mut *tx)
        .await
        .unwrap()
        .get(0);
        sqlx::query("INSERT INTO segment_tag (segment_id, field, value, created_at) VALUES ($1, 'variety', $2, 0)")
            .bind(seg)
            .bind(VARIETIES[(i % 4) as usize])
            .execute(&mut *tx)
            .await
            .unwrap();
        if i % 5 == 0 {
            let feature = FEATURES[((i / 5) % FEATURES.len() as i64) as usize];
            let first: String = text.chars().take(1).collect();
            sqlx::query(
                "INSERT INTO span_tag (segment_id, char_start, char_end, chars, feature, expected, realised, \
                 start_sample, end_sample, created_at, updated_at) VALUES ($1, 0, 1, $2, $3, 'shi4', $4, $5, $6, 0, 0)",
            )
            .bind(seg)
            .bind(&first)
            .bind(feature)
            .bind(if i % 10 == 0 { "si4" } else { "sɿ4" })
            .bind(start)
            .bind(start + 8_000)
            .execute(&mut *tx)
            .await
            .unwrap();
            spans += 1;
        }
    }
    tx.commit().await.unwrap();
    sqlx::query("ANALYZE").execute(db).await.unwrap();
    println!(
        "setup: {n} segments, {spans} spans in {} recordings, {:.1} s",
        n / per_recording,
        t0.elapsed().as_secs_f64()
    );

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let router = fangyan::app::router(state.clone());
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    let http = reqwest::Client::builder()
        .cookie_store(true)
        // A browser names its page's origin on every state-changing request (src/edge.rs).
        .default_headers(reqwest::header::HeaderMap::from_iter([(
            reqwest::header::ORIGIN,
            reqwest::header::HeaderValue::from_str(&base).unwrap(),
        )]))
        .build()
        .unwrap();
    let r = http
        .post(format!("{base}/api/login"))
        .json(&json!({ "name": "linguist", "password": "bench-pw" }))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success());

    let queries: Vec<(&str, String)> = vec![
        ("feature", "feature=INIT_N_L_MERGER".into()),
        ("realised", "realised=si4".into()),
        ("text", format!("text={}", "牛奶")),
        ("regex", format!("regex={}", "四川.{0,4}老师")),
        ("text+label", format!("text={}&label=variety%3Dyue", "老师")),
        (
            "status+feature",
            "status=approved&feature=TONE_VALUE_SHIFT".into(),
        ),
        (
            "feature+speaker",
            "feature=INIT_N_L_MERGER&speaker=S010".into(),
        ),
        (
            "combined",
            format!(
                "feature=INIT_RETRO_TO_DENTAL&text={}&native_variety=cmn-southwestern",
                "是"
            ),
        ),
        (
            "deep page",
            "feature=FINAL_N_NG_MERGER&offset=3000&limit=100".into(),
        ),
        ("rare text", format!("text={}", "湖南福建老师学生")),
    ];
    let mut all = Vec::new();
    let mut per: Vec<(&str, Vec<f64>, usize)> = Vec::new();
    for (kind, q) in &queries {
        let mut times = Vec::new();
        let mut hits = 0;
        for _ in 0..rounds {
            let t = Instant::now();
            let r = http
                .get(format!("{base}/api/projects/{project}/concordance?{q}"))
                .send()
                .await
                .unwrap();
            let status = r.status();
            let body: Value = r.json().await.unwrap();
            times.push(t.elapsed().as_secs_f64() * 1e3);
            assert!(status.is_success(), "{kind}: {body}");
            hits = body["hits"].as_array().map_or(0, Vec::len);
        }
        all.extend(times.iter().copied());
        per.push((kind, times, hits));
    }
    println!(
        "{:<16} {:>8} {:>8} {:>6}",
        "query", "p50 ms", "p99 ms", "hits"
    );
    for (kind, mut times, hits) in per {
        let p50 = pct(&mut times, 0.5);
        let p99 = pct(&mut times, 0.99);
        println!("{kind:<16} {p50:>8.1} {p99:>8.1} {hits:>6}");
    }
    let p50 = pct(&mut all, 0.5);
    let p99 = pct(&mut all, 0.99);
    println!("{:<16} {p50:>8.1} {p99:>8.1}", "overall");
    let ok = p99 <= P99_FLOOR_MS;
    println!(
        "floor p99 <= {P99_FLOOR_MS} ms on {n} segments: {}",
        if ok { "met" } else { "MISSED" }
    );
    if !ok {
        std::process::exit(1);
    }
}
