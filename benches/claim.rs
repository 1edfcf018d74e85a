//! Claim-next benchmark (issue 14): a project of 1 000 000 segments in a temporary SQLite
//! database built through the real schema (the app's migrations), half of them already
//! submitted, and a claim by each of 500 transcribers in turn through the real claim code
//! (`fangyan::tasks::claim::next`, in its write transaction), so every later claim skips the
//! segments leased before it. In the same run the old whole-project query (kept below as the
//! peer) answers the same question; the ratio of the two is printed. Exits 1 when the claim's
//! p99 (lookup and lease, the work done under the write lock) exceeds 5 ms. The time with the
//! commit is printed beside it: the commit is the fsync every write pays (`synchronous=FULL`,
//! with WAL checkpoints in its tail), not the claim's.
//!
//! `cargo bench --bench claim -- [--segments 1000000] [--recordings 100] [--claims 500] [--peer-runs 30] [--database-url postgres://…]`
//!
//! With `--database-url` (an empty Postgres database) the same project is built there instead,
//! and `ANALYZE`d as an operator's autovacuum would, so both backends are measured alike.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{arg, database_url};

use std::time::Instant;

use fangyan::app::{AppState, Config};
use fangyan::tasks::claim::{self, Claimed};

const P99_FLOOR_MS: f64 = 5.0;

/// The claim query before issue 14: every open segment of the project ranked and sorted under
/// the write lock. Binds: user, now, project, user, now, user.
const OLD_CLAIM: &str = "SELECT s.id, CASE WHEN s.assignee_id = $1 AND s.lease_until >= $2 THEN 0 \
                           WHEN s.status = 'rejected' THEN 1 ELSE 2 END AS rank \
         FROM segment s JOIN recording r ON r.id = s.recording_id \
         WHERE r.project_id = $3 AND r.status = 'ready' AND s.deleted = 0 AND ( \
           (s.status IN ('new', 'in_progress') AND (s.assignee_id IS NULL OR s.assignee_id = $4 \
              OR s.lease_until IS NULL OR s.lease_until < $5)) \
           OR (s.status = 'rejected' AND s.assignee_id = $6)) \
         ORDER BY rank, r.id, s.start_sample, s.id \
         LIMIT 1";

fn pct(v: &mut [f64], p: f64) -> f64 {
    v.sort_by(f64::total_cmp);
    v[((v.len() as f64 - 1.0) * p).round() as usize]
}

#[tokio::main]
async fn main() {
    let n = arg("--segments", 1_000_000) as i64;
    let recordings = arg("--recordings", 100) as i64;
    let claims = arg("--claims", 500) as i64;
    let peer_runs = arg("--peer-runs", 30);
    let dir = tempfile::tempdir().unwrap();
    let state = AppState::open(Config::new(dir.path()).with_database(database_url()))
        .await
        .unwrap();
    let db = &state.db;
    let project = fangyan::projects::db::create(db, "corpus").await.unwrap();

    let t0 = Instant::now();
    let mut tx = db.begin().await.unwrap();
    let now = fangyan::db::now_ms();
    // Users without passwords (one hash would cost 500 argon2 runs for nothing).
    sqlx::query(
        "WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < $1) \
         INSERT INTO app_user (name, password_hash, created_at) SELECT 'u' || i, 'x', $2 FROM c",
    )
    .bind(claims)
    .bind(now)
    .execute(&mut *tx)
    .await
    .unwrap();
    let per = n / recordings;
    for r in 0..recordings {
        let rec: i64 = sqlx::query_scalar(
            "INSERT INTO recording (project_id, name, status, analysis_rate, samples, created_at) \
             VALUES ($1, $2, 'ready', 16000, $3, $4) RETURNING id",
        )
        .bind(project)
        .bind(format!("r{r}"))
        .bind(per * 16_000)
        .bind(now)
        .fetch_one(&mut *tx)
        .await
        .unwrap();
        // The first half of the project is done work: submitted by user 1.
        let done = r < recordings / 2;
        sqlx::query(
            "WITH RECURSIVE c(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM c WHERE i < $1 - 1) \
             INSERT INTO segment (recording_id, start_sample, end_sample, status, assignee_id) \
             SELECT $2, i * 16000, i * 16000 + 12000, $3, $4 FROM c",
        )
        .bind(per)
        .bind(rec)
        .bind(if done { "submitted" } else { "new" })
        .bind(if done { Some(1_i64) } else { None })
        .execute(&mut *tx)
        .await
        .unwrap();
    }
    tx.commit().await.unwrap();
    let postgres = fangyan::db::backend(db) == fangyan::db::Backend::Postgres;
    if postgres {
        sqlx::query("ANALYZE").execute(db).await.unwrap();
        // And the build's writes flushed, as a server at work would have them: otherwise
        // the checkpoint of a million inserted rows runs during the measured claims.
        sqlx::query("CHECKPOINT").execute(db).await.unwrap();
    }
    let users: Vec<i64> = sqlx::query_scalar("SELECT id FROM app_user ORDER BY id")
        .fetch_all(db)
        .await
        .unwrap();
    println!(
        "on {}: built {n} segments in {recordings} recordings, {} users, in {:.1} s",
        if postgres { "Postgres" } else { "SQLite" },
        users.len(),
        t0.elapsed().as_secs_f64()
    );

    // The peer: the old query, for a transcriber with nothing of their own.
    let mut old = Vec::new();
    for i in 0..peer_runs {
        let user = users[(i as usize) % users.len()];
        let now = fangyan::db::now_ms();
        let t = Instant::now();
        let mut tx = fangyan::db::begin_write(db).await.unwrap();
        let _: Option<(i64, i64)> = sqlx::query_as(OLD_CLAIM)
            .bind(user)
            .bind(now)
            .bind(project)
            .bind(user)
            .bind(now)
            .bind(user)
            .fetch_optional(&mut *tx)
            .await
            .unwrap();
        tx.rollback().await.unwrap();
        old.push(t.elapsed().as_secs_f64() * 1e3);
    }

    // Each transcriber claims once (the first free segment past every live lease), then
    // claims again (their own open work, resumed).
    let mut lookup = Vec::new();
    let mut whole = Vec::new();
    let mut rounds = [Vec::new(), Vec::new()];
    let mut seen = std::collections::HashSet::new();
    for (round, times) in rounds.iter_mut().enumerate() {
        for &user in &users {
            let now = fangyan::db::now_ms();
            let t = Instant::now();
            let mut tx = fangyan::db::begin_write(db).await.unwrap();
            let got = claim::next(&mut tx, project, user, true, now)
                .await
                .unwrap();
            let inside = t.elapsed().as_secs_f64() * 1e3;
            tx.commit().await.unwrap();
            let total = t.elapsed().as_secs_f64() * 1e3;
            let Claimed::First(id) = got else {
                panic!("user {user} got {got:?}");
            };
            if round == 0 {
                assert!(seen.insert(id), "segment {id} handed out twice");
            } else {
                assert!(seen.contains(&id), "a second claim resumes the first");
            }
            lookup.push(inside);
            times.push(inside);
            whole.push(total);
        }
    }
    let (o50, o99) = (pct(&mut old, 0.5), pct(&mut old, 0.99));
    let (l50, l99) = (pct(&mut lookup, 0.5), pct(&mut lookup, 0.99));
    let (w50, w99) = (pct(&mut whole, 0.5), pct(&mut whole, 0.99));
    println!("old whole-project query ({peer_runs} runs): p50 {o50:.2} ms, p99 {o99:.2} ms");
    println!(
        "claim next, lookup + lease ({} claims): p50 {l50:.3} ms, p99 {l99:.3} ms",
        lookup.len()
    );
    for (v, name) in rounds
        .iter_mut()
        .zip(["a first claim (the free ranks)", "a resumed claim"])
    {
        let (p50, p99) = (pct(v, 0.5), pct(v, 0.99));
        println!("  {name}: p50 {p50:.3} ms, p99 {p99:.3} ms");
    }
    println!("claim next, with its commit: p50 {w50:.3} ms, p99 {w99:.3} ms");
    println!(
        "ratio old/new: p50 {:.0}x, p99 {:.0}x (lookup + lease)",
        o50 / l50,
        o99 / l99
    );
    if l99 > P99_FLOOR_MS {
        println!("FAIL: claim p99 {l99:.3} ms > {P99_FLOOR_MS} ms");
        std::process::exit(1);
    }
    println!("ok: claim p99 {l99:.3} ms <= {P99_FLOOR_MS} ms");
}
