//! `fangyan db copy`: an embedded SQLite database moved into an empty Postgres database in one
//! pass, every table in foreign-key order, ids kept, then the identity sequences set past the
//! largest id and both checked (row counts per table, sequence values). The audio store is not
//! touched: the store path is the same for either database.
//!
//! This is the one place that writes every table: a bulk move of rows as they are, below the
//! stage modules that own them (see `lib.rs`), in one transaction on the target.

use anyhow::{Context, bail};
use sqlx::{Row, ValueRef};

use super::Db;

/// Every table, parents before children (foreign keys point up this list).
pub const TABLES: &[&str] = &[
    "project",
    "app_user",
    "membership",
    "session",
    "api_token",
    "user_settings",
    "speaker",
    "recording",
    "segment",
    "segment_revision",
    "review",
    "second_pass",
    "second_pass_tag",
    "segment_tag",
    "span_tag",
    "export",
    // After `export`: an export job references its export.
    "job",
    "login_bucket",
    "invite",
    "segment_comment",
    "comment_read",
    "guideline",
    "guideline_ack",
];

/// Tables not copied: the text search index (each engine's own kind of table) and its build
/// state, which the copy resets so that the target indexes every segment at its first start.
pub const REBUILT: &[&str] = &["segment_grams", "segment_grams_built"];

/// Rows per INSERT: well under Postgres' 65 535 parameters for the widest table (18 columns).
const BATCH: usize = 500;

/// What was copied: rows per table, in [`TABLES`] order.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Copied {
    /// `(table, rows)`.
    pub tables: Vec<(String, i64)>,
}

/// A column's type on the target, which decides how its values are read from the source.
#[derive(Debug, Clone, Copy)]
enum Kind {
    Int,
    Float,
    Text,
}

/// Copies every row of `from` (SQLite) into `to` (Postgres, migrated and empty).
pub async fn copy(from: &Db, to: &Db) -> anyhow::Result<Copied> {
    if super::backend(to) != super::Backend::Postgres {
        bail!("the target of a copy is a Postgres database (postgres://…)");
    }
    for table in TABLES {
        let n: i64 = sqlx::query(&format!("SELECT COUNT(*) FROM {table}"))
            .fetch_one(to)
            .await?
            .try_get(0)?;
        if n > 0 {
            bail!(
                "the target database is not empty: {table} has {n} row(s); copy into a new database"
            );
        }
    }
    let mut tx = to.begin().await?;
    let mut copied = Vec::new();
    for table in TABLES {
        let columns = target_columns(to, table).await?;
        let names: Vec<&str> = columns.iter().map(|(n, _)| n.as_str()).collect();
        let select = format!("SELECT {} FROM {table} ORDER BY 1", names.join(", "));
        let rows = sqlx::query(&select)
            .fetch_all(from)
            .await
            .with_context(|| format!("reading {table}"))?;
        for chunk in rows.chunks(BATCH) {
            let mut sql = format!("INSERT INTO {table} ({}) VALUES ", names.join(", "));
            let mut n = 0;
            for (i, _) in chunk.iter().enumerate() {
                sql.push_str(if i == 0 { "(" } else { ", (" });
                for c in 0..columns.len() {
                    n += 1;
                    sql.push_str(&format!("{}${n}", if c == 0 { "" } else { ", " }));
                }
                sql.push(')');
            }
            let mut q = sqlx::query(&sql);
            for row in chunk {
                for (i, (name, kind)) in columns.iter().enumerate() {
                    let null = row.try_get_raw(i)?.is_null();
                    q = match (kind, null) {
                        (Kind::Int, false) => q.bind(row.try_get::<i64, _>(i)?),
                        (Kind::Int, true) => q.bind(None::<i64>),
                        (Kind::Float, false) => q.bind(float(row, i)?),
                        (Kind::Float, true) => q.bind(None::<f64>),
                        (Kind::Text, false) => q.bind(
                            row.try_get::<String, _>(i)
                                .with_context(|| format!("{table}.{name}"))?,
                        ),
                        (Kind::Text, true) => q.bind(None::<String>),
                    };
                }
            }
            q.execute(&mut *tx)
                .await
                .with_context(|| format!("writing {table}"))?;
        }
        copied.push((table.to_string(), rows.len() as i64));
    }
    for table in TABLES {
        if has_identity(to, table).await? {
            sqlx::query(&format!(
                "SELECT setval(pg_get_serial_sequence('{table}', 'id'), \
                 COALESCE((SELECT MAX(id) FROM {table}), 0) + 1, false)"
            ))
            .execute(&mut *tx)
            .await?;
        }
    }
    // The search index is not a table of rows to move: the target builds it again at start.
    crate::segments::text_index::rebuild_later(&mut tx).await?;
    tx.commit().await?;
    verify(from, to, &copied).await?;
    Ok(Copied { tables: copied })
}

/// Row counts equal on both sides, and every identity's next value past the largest id.
async fn verify(from: &Db, to: &Db, copied: &[(String, i64)]) -> anyhow::Result<()> {
    for (table, rows) in copied {
        for (side, db) in [("source", from), ("target", to)] {
            let n: i64 = sqlx::query(&format!("SELECT COUNT(*) FROM {table}"))
                .fetch_one(db)
                .await?
                .try_get(0)?;
            if n != *rows {
                bail!("{table}: {rows} row(s) copied but the {side} holds {n}");
            }
        }
        if has_identity(to, table).await? {
            let sequence: String = sqlx::query("SELECT pg_get_serial_sequence($1, 'id')")
                .bind(table.as_str())
                .fetch_one(to)
                .await?
                .try_get(0)?;
            let max: i64 = sqlx::query(&format!("SELECT COALESCE(MAX(id), 0) FROM {table}"))
                .fetch_one(to)
                .await?
                .try_get(0)?;
            let next: i64 = sqlx::query(&format!(
                "SELECT CASE WHEN is_called THEN last_value + 1 ELSE last_value END FROM {sequence}"
            ))
            .fetch_one(to)
            .await?
            .try_get(0)?;
            if next <= max {
                bail!("{table}: the next id would be {next}, but {max} is taken");
            }
        }
    }
    Ok(())
}

/// A REAL column may hold an integer in SQLite (a value written as `0`): read either.
fn float(row: &super::DbRow, i: usize) -> anyhow::Result<f64> {
    match row.try_get::<f64, _>(i) {
        Ok(v) => Ok(v),
        Err(_) => Ok(row.try_get::<i64, _>(i)? as f64),
    }
}

/// The target's columns of `table` in table order, with their kinds.
async fn target_columns(to: &Db, table: &str) -> anyhow::Result<Vec<(String, Kind)>> {
    let rows = sqlx::query(
        "SELECT CAST(column_name AS TEXT), CAST(data_type AS TEXT) FROM information_schema.columns \
         WHERE table_schema = current_schema() AND table_name = $1 ORDER BY ordinal_position",
    )
    .bind(table)
    .fetch_all(to)
    .await?;
    rows.iter()
        .map(|r| {
            let name: String = r.try_get(0)?;
            let kind = match r.try_get::<String, _>(1)?.as_str() {
                "bigint" | "integer" | "smallint" => Kind::Int,
                "double precision" | "real" => Kind::Float,
                "text" => Kind::Text,
                other => bail!("{table}.{name}: a column of type {other} cannot be copied"),
            };
            Ok((name, kind))
        })
        .collect()
}

/// Whether `table` has an identity `id` column (link tables have composite keys).
async fn has_identity(to: &Db, table: &str) -> anyhow::Result<bool> {
    let n: i64 = sqlx::query(
        "SELECT COUNT(*) FROM information_schema.columns WHERE table_schema = current_schema() \
         AND table_name = $1 AND column_name = 'id' AND is_identity = 'YES'",
    )
    .bind(table)
    .fetch_one(to)
    .await?
    .try_get(0)?;
    Ok(n > 0)
}
