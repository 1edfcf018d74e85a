//! Claim next as indexed lookups. The ranks, in order: rejected work returned to me, my own
//! open work (a reload resumes it), a second pass for agreement (transcribers only), the first
//! free segment in recording and time order. Each rank is one query answered from an index of
//! migration 0011 in the order it returns (no sort, no scan of the project: see the test that
//! reads `EXPLAIN QUERY PLAN`), then a conditional lease (`crate::segments::write::lease`,
//! `second_pass::take`) that fails instead of double-handing a segment if another claim took
//! it meanwhile; a lost race looks again.

use sqlx::Row;

use super::second_pass;
use crate::db::Tx;

/// Rejected work returned to the caller. Binds: user, project.
pub const REJECTED_TO_ME: &str = "SELECT s.id FROM segment s JOIN recording r ON r.id = s.recording_id \
     WHERE s.assignee_id = $1 AND s.status = 'rejected' AND s.deleted = 0 \
       AND r.project_id = $2 AND r.status = 'ready' \
     ORDER BY s.assignee_id, s.status, s.recording_id, s.start_sample, s.id LIMIT 1";

/// The caller's own open work under a live lease. Binds: user, project, now.
pub const MINE_OPEN: &str = "SELECT s.id FROM segment s JOIN recording r ON r.id = s.recording_id \
     WHERE s.assignee_id = $1 AND s.status IN ('new', 'in_progress') AND s.deleted = 0 \
       AND s.lease_until >= $3 AND r.project_id = $2 AND r.status = 'ready' \
     LIMIT 1";

/// The first free segment in recording and time order. Binds: project, now. `CROSS JOIN`
/// fixes SQLite's join order (the project's recordings in id order, then each one's open
/// segments from `segment_open` in time order, so nothing is sorted); Postgres reads it as the
/// inner join it is.
pub const FIRST_FREE: &str = "SELECT s.id FROM recording r CROSS JOIN segment s \
     WHERE s.recording_id = r.id AND r.project_id = $1 AND r.status = 'ready' \
       AND s.deleted = 0 AND s.status IN ('new', 'in_progress') \
       AND (s.assignee_id IS NULL OR s.lease_until IS NULL OR s.lease_until < $2) \
     ORDER BY r.project_id, r.id, s.start_sample, s.id LIMIT 1";

/// What a claim found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Claimed {
    /// A first-pass segment, leased to the caller.
    First(i64),
    /// A second pass of a segment, leased to the caller.
    Second(i64),
    /// Nothing left.
    Nothing,
    /// Every segment it found was taken by a concurrent claim first, `ATTEMPTS` times over:
    /// work may be left, so the caller is told to retry rather than that the queue is empty.
    Contended,
}

/// How often a claim looks again after losing a race for the segment it found.
const ATTEMPTS: usize = 8;

async fn first_of(tx: &mut Tx, sql: &str, binds: &[i64]) -> sqlx::Result<Option<i64>> {
    let mut q = sqlx::query(sql);
    for b in binds {
        q = q.bind(*b);
    }
    q.fetch_optional(&mut **tx)
        .await?
        .map(|r| r.try_get::<i64, _>(0))
        .transpose()
}

/// Claims the next piece of work in `project` for `user` at `now`, leasing it until
/// `now + LEASE_MS`; `second_passes` for transcribers.
pub async fn next(
    tx: &mut Tx,
    project: i64,
    user: i64,
    second_passes: bool,
    now: i64,
) -> sqlx::Result<Claimed> {
    let until = now + super::LEASE_MS;
    // On Postgres concurrent claims each lock a different free segment at once (`SKIP
    // LOCKED`) instead of all finding the same one and queueing on its row; SQLite has one
    // writer, which the write transaction already holds.
    let first_free = match crate::db::backend_of(tx) {
        crate::db::Backend::Postgres => format!("{FIRST_FREE} FOR UPDATE OF s SKIP LOCKED"),
        crate::db::Backend::Sqlite => FIRST_FREE.to_string(),
    };
    for _ in 0..ATTEMPTS {
        let mine = match first_of(tx, REJECTED_TO_ME, &[user, project]).await? {
            Some(id) => Some(id),
            None => first_of(tx, MINE_OPEN, &[user, project, now]).await?,
        };
        if let Some(id) = mine {
            if crate::segments::write::lease(tx, id, user, now, until).await? {
                return Ok(Claimed::First(id));
            }
            continue;
        }
        if second_passes && let Some(id) = second_pass::claim(tx, project, user, now).await? {
            return Ok(Claimed::Second(id));
        }
        match first_of(tx, &first_free, &[project, now]).await? {
            Some(id) if crate::segments::write::lease(tx, id, user, now, until).await? => {
                return Ok(Claimed::First(id));
            }
            Some(_) => continue,
            None => return Ok(Claimed::Nothing),
        }
    }
    Ok(Claimed::Contended)
}
