//! Claim next as indexed lookups. The ranks, in order: rejected work returned to me, my own
//! open work (a reload resumes it), a second pass for agreement (transcribers only), abandoned
//! work (a lease that ran out), the first unassigned segment in recording and time order. Each
//! rank is one query answered from an index of migrations 0011 and 0016 in the order it returns (no sort, no scan of the project: see the test that
//! reads `EXPLAIN QUERY PLAN`), then a conditional lease (`crate::segments::write::lease`,
//! `second_pass::take`) that fails instead of double-handing a segment if another claim took
//! it meanwhile; a lost race looks again.

use sqlx::Row;

use super::second_pass;
use crate::db::Tx;

/// Rejected work returned to the caller. Binds: user, project (the same numbers as
/// [`MINE_OPEN`]'s, which the claim asks in one query with it).
pub const REJECTED_TO_ME: &str = "SELECT s.id FROM segment s JOIN recording r ON r.id = s.recording_id \
     WHERE s.assignee_id = $1 AND s.status = 'rejected' AND s.deleted = 0 \
       AND r.project_id = $2 AND r.status = 'ready' \
     ORDER BY s.assignee_id, s.status, s.recording_id, s.start_sample, s.id LIMIT 1";

/// The caller's own open work under a live lease. Binds: user, project, now.
pub const MINE_OPEN: &str = "SELECT s.id FROM segment s JOIN recording r ON r.id = s.recording_id \
     WHERE s.assignee_id = $1 AND s.status IN ('new', 'in_progress') AND s.deleted = 0 \
       AND s.lease_until >= $3 AND r.project_id = $2 AND r.status = 'ready' \
     LIMIT 1";

/// Abandoned work: an open segment whose holder's lease ran out (or who holds it with no
/// lease, as after an edit of a rejected segment by someone else), in recording order and the
/// longest-abandoned first within a recording. Answered from `segment_abandoned` (migration
/// 0016), which holds only held open segments: one probe per recording of the project, never
/// a step over live leases of others. Binds: project, now.
pub const ABANDONED: &str = "SELECT s.id FROM recording r CROSS JOIN segment s \
     WHERE s.recording_id = r.id AND r.project_id = $1 AND r.status = 'ready' \
       AND s.deleted = 0 AND s.status IN ('new', 'in_progress') \
       AND s.assignee_id IS NOT NULL AND COALESCE(s.lease_until, 0) < $2 \
     ORDER BY r.project_id, r.id, COALESCE(s.lease_until, 0), s.id LIMIT 1";

/// The first unassigned segment in recording and time order, from `segment_unassigned`,
/// which holds no leased segment: a claim never steps over the live leases of others.
/// Binds: project. `CROSS JOIN` fixes SQLite's join order (the project's recordings in id
/// order, then each one's unassigned segments in time order, so nothing is sorted); Postgres
/// reads it as the inner join it is.
pub const FIRST_UNASSIGNED: &str = "SELECT s.id FROM recording r CROSS JOIN segment s \
     WHERE s.recording_id = r.id AND r.project_id = $1 AND r.status = 'ready' \
       AND s.deleted = 0 AND s.status IN ('new', 'in_progress') AND s.assignee_id IS NULL \
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

/// Whether free work that `SKIP LOCKED` passed over is there (Postgres; on SQLite nothing is
/// ever skipped).
async fn is_busy(tx: &mut Tx, project: i64, now: i64) -> sqlx::Result<bool> {
    if crate::db::backend_of(tx) == crate::db::Backend::Sqlite {
        return Ok(false);
    }
    Ok(first_of(tx, ABANDONED, &[project, now]).await?.is_some()
        || first_of(tx, FIRST_UNASSIGNED, &[project]).await?.is_some())
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
    let lock = crate::db::backend_of(tx) == crate::db::Backend::Postgres;
    if lock {
        // Each rank's plan depends on its parameters: never a generic one (`db::CUSTOM_PLANS`).
        sqlx::Executor::execute(&mut **tx, crate::db::CUSTOM_PLANS).await?;
    }
    let locked = |sql: &str| {
        if lock {
            format!("{sql} FOR UPDATE OF s SKIP LOCKED")
        } else {
            sql.to_string()
        }
    };
    let (abandoned, unassigned) = (locked(ABANDONED), locked(FIRST_UNASSIGNED));
    // The caller's own two ranks in one round trip, each still its own indexed lookup.
    let mine = format!(
        "SELECT id FROM (SELECT 0 AS rnk, id FROM ({REJECTED_TO_ME}) a \
         UNION ALL SELECT 1 AS rnk, id FROM ({MINE_OPEN}) b) m ORDER BY rnk LIMIT 1"
    );
    for _ in 0..ATTEMPTS {
        let mine = first_of(tx, &mine, &[user, project, now]).await?;
        if let Some(id) = mine {
            if crate::segments::write::lease(tx, id, user, now, until).await? {
                return Ok(Claimed::First(id));
            }
            continue;
        }
        if second_passes && let Some(id) = second_pass::claim(tx, project, user, now).await? {
            return Ok(Claimed::Second(id));
        }
        let free = match first_of(tx, &abandoned, &[project, now]).await? {
            Some(id) => Some(id),
            None => first_of(tx, &unassigned, &[project]).await?,
        };
        match free {
            Some(id) if crate::segments::write::lease(tx, id, user, now, until).await? => {
                return Ok(Claimed::First(id));
            }
            Some(_) => continue,
            // Nothing unlocked; but rows locked by claims still in flight are skipped, not
            // gone: if any is there, the queue is busy, not empty.
            None if is_busy(tx, project, now).await? => return Ok(Claimed::Contended),
            None => return Ok(Claimed::Nothing),
        }
    }
    Ok(Claimed::Contended)
}
