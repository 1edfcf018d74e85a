//! The two schemas say the same (issue 14): migrations/sqlite is the source of truth and
//! migrations/postgres its mirror. For every table both databases have the same columns, the
//! same NOT NULLs, defaults in the same places, the same unique keys and the same named
//! indexes, and every Postgres integer is a BIGINT and every float a DOUBLE PRECISION. Runs
//! where the tests have a Postgres server (`FANGYAN_TEST_DATABASE_URL`, set by scripts/test).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use std::collections::BTreeSet;

use fangyan::db::{self, Db};
use sqlx::Row;

async fn rows(db: &Db, sql: &str, bind: &str) -> Vec<Vec<String>> {
    sqlx::query(sql)
        .bind(bind.to_string())
        .fetch_all(db)
        .await
        .unwrap()
        .iter()
        .map(|r| {
            (0..sqlx::Row::len(r))
                .map(|i| {
                    r.try_get::<Option<String>, _>(i)
                        .map(|v| v.unwrap_or_default())
                        .or_else(|_| r.try_get::<i64, _>(i).map(|v| v.to_string()))
                        .unwrap()
                })
                .collect()
        })
        .collect()
}

#[tokio::test]
async fn the_postgres_schema_mirrors_the_sqlite_migrations() {
    let dir = common::scratch();
    let Some(url) = common::database_url_for(dir.path()) else {
        eprintln!("no FANGYAN_TEST_DATABASE_URL: nothing to compare the SQLite schema with");
        return;
    };
    let lite = db::connect(None, &dir.path().join("fangyan.sqlite"))
        .await
        .unwrap();
    let pg = db::connect(Some(&url), &dir.path().join("unused"))
        .await
        .unwrap();
    let tables: BTreeSet<String> = rows(
        &lite,
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' \
         AND name NOT LIKE '_sqlx%' AND name <> $1",
        "",
    )
    .await
    .into_iter()
    .map(|r| r[0].clone())
    .collect();
    let pg_tables: BTreeSet<String> = rows(
        &pg,
        "SELECT CAST(table_name AS TEXT) FROM information_schema.tables \
         WHERE table_schema = current_schema() AND table_name NOT LIKE '_sqlx%' AND table_name <> $1",
        "",
    )
    .await
    .into_iter()
    .map(|r| r[0].clone())
    .collect();
    // The text search index is each engine's own (an FTS5 table and its shadow tables; a
    // table with a tsvector and a GIN index): both have `segment_grams`, and the rest of it
    // is compared nowhere. It is not copied either (`db::copy::REBUILT`).
    let engine_own = |t: &String| t.starts_with("segment_grams") && t != "segment_grams_built";
    assert!(tables.contains("segment_grams") && pg_tables.contains("segment_grams"));
    let tables: BTreeSet<String> = tables.into_iter().filter(|t| !engine_own(t)).collect();
    let pg_tables: BTreeSet<String> = pg_tables.into_iter().filter(|t| !engine_own(t)).collect();
    assert_eq!(tables, pg_tables, "the two databases have different tables");
    let known: BTreeSet<&str> = fangyan::db::copy::TABLES
        .iter()
        .chain(fangyan::db::copy::REBUILT)
        .copied()
        .filter(|t| *t != "segment_grams")
        .collect();
    assert_eq!(
        tables.iter().map(String::as_str).collect::<BTreeSet<_>>(),
        known,
        "db::copy::TABLES and REBUILT must list every table"
    );

    let mut wrong = Vec::new();
    for t in &tables {
        // (name, not null, has default); SQLite's `INTEGER PRIMARY KEY` is the identity.
        let lite_cols: BTreeSet<(String, bool, bool)> = rows(
            &lite,
            "SELECT name, CAST(\"notnull\" AS TEXT), COALESCE(dflt_value, ''), CAST(pk AS TEXT), type \
             FROM pragma_table_info($1)",
            t,
        )
        .await
        .into_iter()
        .map(|r| {
            let identity = r[3] == "1" && r[4] == "INTEGER";
            (r[0].clone(), r[1] == "1" || r[3] != "0", !r[2].is_empty() && !identity)
        })
        .collect();
        let pg_rows = rows(
            &pg,
            "SELECT CAST(column_name AS TEXT), CAST(is_nullable AS TEXT), \
             COALESCE(CAST(column_default AS TEXT), ''), CAST(data_type AS TEXT) \
             FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = $1",
            t,
        )
        .await;
        for r in &pg_rows {
            if !matches!(r[3].as_str(), "bigint" | "double precision" | "text") {
                wrong.push(format!(
                    "{t}.{}: {} (BIGINT, DOUBLE PRECISION or TEXT)",
                    r[0], r[3]
                ));
            }
        }
        let pg_cols: BTreeSet<(String, bool, bool)> = pg_rows
            .into_iter()
            .map(|r| (r[0].clone(), r[1] == "NO", !r[2].is_empty()))
            .collect();
        if lite_cols != pg_cols {
            wrong.push(format!(
                "{t}: columns (name, not null, default) differ: only in SQLite {:?}, only in Postgres {:?}",
                lite_cols.difference(&pg_cols).collect::<Vec<_>>(),
                pg_cols.difference(&lite_cols).collect::<Vec<_>>()
            ));
        }
        // Unique keys and primary keys as column lists.
        let mut lite_keys = BTreeSet::new();
        for idx in rows(
            &lite,
            "SELECT name, CAST(\"unique\" AS TEXT), origin FROM pragma_index_list($1)",
            t,
        )
        .await
        {
            if idx[1] == "1" {
                let cols: Vec<String> =
                    rows(&lite, "SELECT name FROM pragma_index_info($1)", &idx[0])
                        .await
                        .into_iter()
                        .map(|r| r[0].clone())
                        .collect();
                lite_keys.insert(cols.join(","));
            }
        }
        // `INTEGER PRIMARY KEY` has no index in SQLite: it is the rowid.
        if let [key] = &rows(
            &lite,
            "SELECT name FROM pragma_table_info($1) WHERE pk = 1 AND type = 'INTEGER' \
                AND (SELECT COUNT(*) FROM pragma_table_info($1) WHERE pk > 0) = 1",
            t,
        )
        .await[..]
        {
            lite_keys.insert(key[0].clone());
        }
        let pg_keys: BTreeSet<String> = rows(
            &pg,
            "SELECT CAST(string_agg(a.attname, ',' ORDER BY k.ord) AS TEXT) FROM pg_index i \
             JOIN pg_class c ON c.oid = i.indrelid JOIN pg_namespace n ON n.oid = c.relnamespace \
             CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, ord) \
             JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = k.attnum \
             WHERE n.nspname = current_schema() AND c.relname = $1 AND i.indisunique \
             GROUP BY i.indexrelid",
            t,
        )
        .await
        .into_iter()
        .map(|r| r[0].clone())
        .collect();
        if lite_keys != pg_keys {
            wrong.push(format!(
                "{t}: unique keys differ: SQLite {lite_keys:?}, Postgres {pg_keys:?}"
            ));
        }
    }
    let lite_indexes: BTreeSet<String> = rows(
        &lite,
        "SELECT name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL AND name <> $1",
        "",
    )
    .await
    .into_iter()
    .map(|r| r[0].clone())
    .collect();
    let pg_indexes: BTreeSet<String> = rows(
        &pg,
        "SELECT CAST(i.relname AS TEXT) FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid \
         JOIN pg_namespace n ON n.oid = i.relnamespace \
         WHERE n.nspname = current_schema() AND NOT x.indisunique AND i.relname <> $1",
        "",
    )
    .await
    .into_iter()
    .map(|r| r[0].clone())
    .collect();
    let pg_indexes: BTreeSet<String> = pg_indexes
        .into_iter()
        .filter(|i| !i.starts_with("segment_grams"))
        .collect();
    if lite_indexes != pg_indexes {
        wrong.push(format!(
            "named indexes differ: SQLite {lite_indexes:?}, Postgres {pg_indexes:?}"
        ));
    }
    assert!(
        wrong.is_empty(),
        "the schemas differ:\n{}",
        wrong.join("\n")
    );
}
