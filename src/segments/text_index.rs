//! The one writer of the text search index, `segment_grams` (one document of terms per
//! segment, rowid = segment id; the terms are [`crate::text::grams`]'), and of
//! `segment_grams_built` (how far the index of segments older than it has been built).
//! [`super::write`] and [`super::edit`] call [`put`] and [`remove`] in the transaction of
//! every change of a segment's verbatim text, so the index never lags an acknowledged save.
//!
//! Decisions worth knowing:
//! - **One write path, one query text but for one clause.** The index is SQLite's FTS5 (a
//!   contentless table, deletable by rowid) or a Postgres table with a GIN index over a
//!   `tsvector` that a trigger fills from the same `grams` column (migrations `0019` and
//!   `0010`). So `remove` is the same SQL on both; `put` differs in how it says "replace"
//!   (`INSERT OR REPLACE` or `ON CONFLICT`), and the match ([`candidate_ids`]) and the
//!   query's syntax ([`query`]) differ.
//! - **The index is asked only for sparse needles.** FTS5 walks its lists in rowid order and
//!   stops at a page, but a GIN index answers a whole bitmap, which Postgres then reads row by
//!   row: for a common word over the whole corpus, millions of rows to keep a page of them.
//!   So the concordance reads its first window of segments itself, where a common word fills
//!   the page, and asks the index only when the hits there are few, in id windows sized by
//!   the hits so far (`tags::concordance`); on Postgres a BRIN index of the id bounds what
//!   the GIN bitmap makes it read to the window.
//! - **Segments older than the index are indexed at start** ([`catch_up`]), in batches that
//!   record their progress, so a restart resumes and two replicas starting together share
//!   the work instead of colliding (the state row is locked first, and on Postgres each
//!   batch's segments, so a live save of one of them waits rather than racing it).

use sqlx::Row;

use crate::db::{Backend, Db, Tx, backend_of, begin_write};
use crate::text::grams;

/// Segments indexed per catch-up transaction.
const CATCH_UP_BATCH: i64 = 2_000;
/// Rows per multi-row INSERT (two parameters each).
const INSERT_BATCH: usize = 500;

/// Indexes (or re-indexes) segment `id` with its verbatim `text`.
pub async fn put(tx: &mut Tx, id: i64, text: &str) -> sqlx::Result<()> {
    put_many(tx, &[(id, text)]).await
}

/// [`put`] for many segments at once (the catch-up, a bulk import, the benchmarks).
///
/// One statement per batch: a segment already in the index is replaced in place (SQLite's
/// `INSERT OR REPLACE`, which a contentless-delete FTS5 table takes; on Postgres `ON CONFLICT`
/// with the terms the insert trigger made, migration `0011`), so a save's re-index is one
/// round trip on the writer, not a delete and an insert.
pub async fn put_many(tx: &mut Tx, rows: &[(i64, &str)]) -> sqlx::Result<()> {
    // An empty text has no terms: it is simply not in the index.
    let (empty, full): (Vec<_>, Vec<_>) = rows.iter().partition(|(_, t)| t.is_empty());
    for batch in empty.chunks(INSERT_BATCH) {
        let marks: Vec<String> = (1..=batch.len()).map(|i| format!("${i}")).collect();
        let sql = format!(
            "DELETE FROM segment_grams WHERE rowid IN ({})",
            marks.join(", ")
        );
        let mut delete = sqlx::query(&sql);
        for (id, _) in batch {
            delete = delete.bind(*id);
        }
        delete.execute(&mut **tx).await?;
    }
    let (verb, on_conflict) = match backend_of(tx) {
        Backend::Sqlite => ("INSERT OR REPLACE", ""),
        Backend::Postgres => (
            "INSERT",
            " ON CONFLICT (rowid) DO UPDATE SET terms = EXCLUDED.terms",
        ),
    };
    for batch in full.chunks(INSERT_BATCH) {
        let values: Vec<String> = (0..batch.len())
            .map(|i| format!("(${}, ${})", 2 * i + 1, 2 * i + 2))
            .collect();
        let sql = format!(
            "{verb} INTO segment_grams (rowid, grams) VALUES {}{on_conflict}",
            values.join(", ")
        );
        let mut insert = sqlx::query(&sql);
        for (id, text) in batch {
            insert = insert.bind(*id).bind(grams::document(text));
        }
        insert.execute(&mut **tx).await?;
    }
    Ok(())
}

/// Drops segment `id` from the index (deleted, or merged into its neighbour).
pub async fn remove(tx: &mut Tx, id: i64) -> sqlx::Result<()> {
    sqlx::query("DELETE FROM segment_grams WHERE rowid = $1")
        .bind(id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// After rows were moved in below the writers (`fangyan db copy`): every segment is to be
/// indexed again by the next [`catch_up`].
pub async fn rebuild_later(conn: &mut sqlx::AnyConnection) -> sqlx::Result<()> {
    sqlx::query("DELETE FROM segment_grams_built")
        .execute(&mut *conn)
        .await?;
    sqlx::query(
        "INSERT INTO segment_grams_built (pending, through) SELECT COALESCE(MAX(id), 0), 0 FROM segment",
    )
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Indexes the segments that are older than the index, batch by batch; returns how many this
/// call indexed (0 once the index is whole).
pub async fn catch_up(db: &Db) -> sqlx::Result<u64> {
    let mut done = 0;
    loop {
        let mut tx = begin_write(db).await?;
        // The state row is the lock: a second replica waits here, then reads the new `through`.
        sqlx::query("UPDATE segment_grams_built SET through = through")
            .execute(&mut *tx)
            .await?;
        let Some(row) = sqlx::query("SELECT pending, through FROM segment_grams_built")
            .fetch_optional(&mut *tx)
            .await?
        else {
            tx.rollback().await?;
            return Ok(done);
        };
        let (pending, through): (i64, i64) = (row.try_get(0)?, row.try_get(1)?);
        if through >= pending {
            tx.rollback().await?;
            return Ok(done);
        }
        let lock = if backend_of(&mut tx) == Backend::Postgres {
            " FOR UPDATE"
        } else {
            ""
        };
        let rows = sqlx::query(&format!(
            "SELECT id, text_verbatim FROM segment WHERE id > $1 AND id <= $2 AND deleted = 0 \
             ORDER BY id LIMIT $3{lock}"
        ))
        .bind(through)
        .bind(pending)
        .bind(CATCH_UP_BATCH)
        .fetch_all(&mut *tx)
        .await?;
        let mut texts = Vec::with_capacity(rows.len());
        for r in &rows {
            texts.push((r.try_get::<i64, _>(0)?, r.try_get::<String, _>(1)?));
        }
        let upto = match texts.last() {
            Some((id, _)) if i64::try_from(texts.len()).unwrap_or(0) == CATCH_UP_BATCH => *id,
            _ => pending,
        };
        let refs: Vec<(i64, &str)> = texts.iter().map(|(id, t)| (*id, t.as_str())).collect();
        put_many(&mut tx, &refs).await?;
        sqlx::query("UPDATE segment_grams_built SET through = $1")
            .bind(upto)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        done += refs.len() as u64;
    }
}

/// The ids of segments in `(after, upto]` that the index names for `query` (a [`query`]),
/// in id order, `cap` at most. Only the index is read: the caller fetches those segments.
pub async fn candidate_ids(
    db: &Db,
    query: &str,
    after: i64,
    upto: i64,
    cap: i64,
) -> sqlx::Result<Vec<i64>> {
    // FTS5 walks its lists in rowid order from `after` and stops at the cap. Postgres would
    // rather walk the primary key in order and test every row's terms than read the GIN
    // index, whose estimate for a rare term it cannot make; `rowid + 0` leaves it no such
    // path, only the GIN index and the BRIN index of `rowid + 0`, which it ANDs as bitmaps:
    // only the matches inside the window are read from the table.
    let sql = match crate::db::backend(db) {
        Backend::Sqlite => {
            "SELECT rowid FROM segment_grams WHERE segment_grams MATCH $1 \
             AND rowid > $2 AND rowid <= $3 ORDER BY rowid LIMIT $4"
        }
        Backend::Postgres => {
            "SELECT rowid FROM segment_grams WHERE terms @@ to_tsquery('simple', $1) \
             AND rowid + 0 > $2 AND rowid + 0 <= $3 ORDER BY rowid + 0 LIMIT $4"
        }
    };
    let q = sqlx::query(sql)
        .bind(query)
        .bind(after)
        .bind(upto)
        .bind(cap);
    let rows = match crate::db::backend(db) {
        Backend::Sqlite => q.fetch_all(db).await?,
        Backend::Postgres => {
            // Room for the bitmaps to stay exact (a lossy one makes Postgres test the terms
            // of every row on each page it names), no parallel workers to start for a
            // query that reads a page of rows, and a plan for this window's bounds
            // (`db::CUSTOM_PLANS`): one simple query, one round trip.
            let mut tx = db.begin().await?;
            sqlx::Executor::execute(
                &mut *tx,
                format!(
                    "SET LOCAL work_mem = '32MB'; SET LOCAL max_parallel_workers_per_gather = 0; {}",
                    crate::db::CUSTOM_PLANS
                )
                .as_str(),
            )
            .await?;
            let rows = q.fetch_all(&mut *tx).await?;
            tx.commit().await?;
            rows
        }
    };
    rows.iter().map(|r| r.try_get::<i64, _>(0)).collect()
}

/// How many of a long needle's pairs to ask the index for, the rarest first: FTS5's AND
/// walks every list it is given, so the rarest three are cheaper than all of them; a GIN
/// index intersects its lists almost for free but then reads every candidate row from the
/// table, so Postgres is given every pair (the fewest candidates).
pub fn pairs_to_ask(backend: Backend) -> usize {
    match backend {
        Backend::Sqlite => 3,
        Backend::Postgres => usize::MAX,
    }
}

/// The index query for segments whose text may contain `needle` (every term of it, or a
/// text indexed as [`grams::EVERYWHERE`]); None for an empty needle.
pub fn query(backend: Backend, needle: &str) -> Option<String> {
    query_of(backend, &grams::query_terms(needle))
}

/// The index query for texts holding every one of `terms` (a subset of a needle's terms
/// gives more candidates, never fewer hits); None for no terms.
pub fn query_of(backend: Backend, terms: &[String]) -> Option<String> {
    if terms.is_empty() {
        return None;
    }
    Some(match backend {
        Backend::Sqlite => format!("({}) OR {}", terms.join(" "), grams::EVERYWHERE),
        Backend::Postgres => format!("({}) | {}", terms.join(" & "), grams::EVERYWHERE),
    })
}
