//! Leases: which server runs a job, for how long, and who takes it over when that server dies.
//!
//! A job row names its runner (`lease_owner`, one id per server process) and the time its lease
//! runs out (`lease_until`). The runner renews the lease every third of its length while the
//! job runs ([`Lease`]); every write that ends a job is conditional on still holding it, so a
//! server that paused past its lease, or was declared dead, can no longer finish a job that
//! another server has taken. Every server's [`takeover`] loop claims jobs whose lease ran out
//! (or that were released, or queued) with one conditional `UPDATE`, so two servers never take
//! the same job: ingests start again from their stored upload; jobs that cannot start again
//! (an ASR pass) end failed as `interrupted`.
//!
//! SIGTERM releases this server's leases at once ([`release_all`]), so another replica takes
//! its jobs within one poll instead of one lease.

use std::sync::Arc;
use std::time::Duration;

use sqlx::Row;

use crate::db::{Db, now_ms};

/// How long a lease lasts unless renewed (`FANGYAN_JOB_LEASE_MS`, default 15 s): a dead
/// server's job is taken over after at most this long.
pub fn lease_length() -> Duration {
    let ms = std::env::var("FANGYAN_JOB_LEASE_MS")
        .ok()
        .and_then(|v| v.trim().parse::<u64>().ok())
        .filter(|&ms| ms >= 100)
        .unwrap_or(15_000);
    Duration::from_millis(ms)
}

/// Attempts after which a job that keeps losing its runner is failed instead of restarted.
pub const MAX_ATTEMPTS: i64 = 5;

/// A job this server just claimed.
#[derive(Debug, Clone)]
pub struct Claimed {
    /// The job.
    pub job: i64,
    /// Its kind (`ingest`, `asr`, `export`).
    pub kind: String,
    /// Its recording.
    pub recording: Option<i64>,
    /// The stored file it works on.
    pub input: Option<String>,
    /// Its export (an `export` job).
    pub export: Option<i64>,
    /// How many times a server has started it, this one included.
    pub attempts: i64,
}

/// Claims the oldest job that nobody holds: queued, released, or whose lease ran out.
pub async fn claim(db: &Db, owner: &str, lease: Duration) -> sqlx::Result<Option<Claimed>> {
    let now = now_ms();
    // The claim re-checks the condition on the row it updates, so of two servers that picked
    // the same job only one changes it (Postgres re-reads the row after the other's commit).
    let row = sqlx::query(
        "UPDATE job SET status = 'running', lease_owner = $1, lease_until = $2, attempts = attempts + 1, \
         progress = 0, updated_at = $3 \
         WHERE id = (SELECT id FROM job WHERE status IN ('queued', 'running') AND COALESCE(lease_until, 0) < $3 \
                     ORDER BY id LIMIT 1) \
           AND status IN ('queued', 'running') AND COALESCE(lease_until, 0) < $3 \
         RETURNING id, kind, recording_id, input, export_id, attempts",
    )
    .bind(owner)
    .bind(now + lease.as_millis() as i64)
    .bind(now)
    .fetch_optional(db)
    .await?;
    row.map(|r| {
        Ok(Claimed {
            job: r.try_get("id")?,
            kind: r.try_get("kind")?,
            recording: r.try_get("recording_id")?,
            input: r.try_get("input")?,
            export: r.try_get("export_id")?,
            attempts: r.try_get("attempts")?,
        })
    })
    .transpose()
}

/// Renews `owner`'s lease on `job`; false when the job is no longer `owner`'s to run.
pub async fn renew(db: &Db, job: i64, owner: &str, lease: Duration) -> sqlx::Result<bool> {
    let done = sqlx::query(
        "UPDATE job SET lease_until = $1 WHERE id = $2 AND lease_owner = $3 AND status IN ('queued', 'running')",
    )
    .bind(now_ms() + lease.as_millis() as i64)
    .bind(job)
    .bind(owner)
    .execute(db)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Gives up every lease `owner` holds (a graceful stop), so other servers take the jobs now.
pub async fn release_all(db: &Db, owner: &str) -> sqlx::Result<u64> {
    let done = sqlx::query(
        "UPDATE job SET lease_until = 0 WHERE lease_owner = $1 AND status IN ('queued', 'running')",
    )
    .bind(owner)
    .execute(db)
    .await?;
    Ok(done.rows_affected())
}

/// Lets every unfinished job be claimed now. Only for a server that knows it is alone on its
/// database (SQLite, whose data directory it has locked): nobody else can be running them.
pub async fn expire_all(db: &Db) -> sqlx::Result<u64> {
    let done = sqlx::query("UPDATE job SET lease_until = 0 WHERE status IN ('queued', 'running')")
        .execute(db)
        .await?;
    Ok(done.rows_affected())
}

/// Keeps a lease renewed while it lives: dropped, it stops renewing (the job's end is written
/// by the conditional finish, not here).
pub struct Lease {
    renewing: tokio::task::JoinHandle<()>,
}

impl Lease {
    /// Renews `owner`'s lease on `job` every third of `length` until dropped.
    pub fn hold(db: Db, job: i64, owner: Arc<str>, length: Duration) -> Self {
        let renewing = tokio::spawn(async move {
            let mut tick = tokio::time::interval(length / 3);
            tick.tick().await;
            loop {
                tick.tick().await;
                match renew(&db, job, &owner, length).await {
                    Ok(true) => {}
                    Ok(false) => {
                        tracing::warn!(
                            "job {job}: the lease was taken over; its result will not count"
                        );
                        return;
                    }
                    Err(e) => tracing::warn!("job {job}: renewing the lease failed: {e}"),
                }
            }
        });
        Self { renewing }
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        self.renewing.abort();
    }
}
