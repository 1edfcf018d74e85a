//! The database: one pool type for both backends, migrations, and the one backend-specific
//! choice, how a write transaction begins.
//!
//! The embedded default is a SQLite file in the data directory, in WAL mode with
//! `synchronous=FULL`: a save is acknowledged only after its commit reached the disk
//! (RELIABILITY.md §0.6–7). `--database-url postgres://…` selects Postgres instead. Both run
//! through sqlx's `Any` driver, so every query is written once: `$1`-style parameters (SQLite
//! reads them by number too), portable SQL, integers, doubles and text only (booleans are
//! checked 0/1 integers; sums are cast to BIGINT, averages to DOUBLE PRECISION, because Postgres
//! would answer NUMERIC, which `Any` cannot decode).

pub mod copy;

use std::path::Path;
use std::time::Duration;

use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::{Any, AnyPool, Executor, Transaction};

/// The pool type used across the stage modules.
pub type Db = AnyPool;

/// A write transaction; writer functions take `&mut Tx` so that one HTTP action commits once.
pub type Tx = Transaction<'static, Any>;

/// A result row of [`Db`].
pub type DbRow = AnyRow;

/// Which database a pool talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// The embedded file (the default).
    Sqlite,
    /// A Postgres server (`--database-url postgres://…`).
    Postgres,
}

impl Backend {
    /// The backend of a database URL, or an error naming what is accepted.
    pub fn of_url(url: &str) -> anyhow::Result<Self> {
        if url.starts_with("sqlite:") {
            Ok(Self::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Self::Postgres)
        } else {
            anyhow::bail!("the database URL must start with postgres:// (or sqlite:)")
        }
    }
}

/// The backend of an open pool.
pub fn backend(db: &Db) -> Backend {
    Backend::of_url(db.connect_options().database_url.as_str()).unwrap_or(Backend::Sqlite)
}

/// The backend of an open transaction's connection.
pub fn backend_of(tx: &mut Tx) -> Backend {
    match (**tx).backend_name() {
        "PostgreSQL" => Backend::Postgres,
        _ => Backend::Sqlite,
    }
}

/// Opens the database: `url` when given (Postgres), else the SQLite file at `file`, creating
/// it if needed; then applies the migrations of that backend.
pub async fn connect(url: Option<&str>, file: &Path) -> anyhow::Result<Db> {
    sqlx::any::install_default_drivers();
    let url = match url {
        Some(url) => url.to_owned(),
        None => format!("sqlite://{}?mode=rwc", file.display()),
    };
    let pool = match Backend::of_url(&url)? {
        Backend::Sqlite => {
            AnyPoolOptions::new()
                .max_connections(32)
                .after_connect(|conn, _| {
                    Box::pin(async move {
                        conn.execute(
                            "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; \
                             PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 10000;",
                        )
                        .await?;
                        Ok(())
                    })
                })
                .connect(&url)
                .await?
        }
        Backend::Postgres => {
            AnyPoolOptions::new()
                .max_connections(32)
                .acquire_timeout(Duration::from_secs(30))
                // sqlx prepares every query; after five runs Postgres may switch a prepared
                // query to one generic plan for all parameters, which for the claim's ranks
                // is a scan and a sort (95 ms a claim on a million segments instead of < 1).
                .after_connect(|conn, _| {
                    Box::pin(async move {
                        conn.execute("SET plan_cache_mode = force_custom_plan")
                            .await?;
                        Ok(())
                    })
                })
                .connect(&url)
                .await?
        }
    };
    match backend(&pool) {
        Backend::Sqlite => sqlx::migrate!("migrations/sqlite").run(&pool).await?,
        Backend::Postgres => sqlx::migrate!("migrations/postgres").run(&pool).await?,
    }
    Ok(pool)
}

/// Begins a write transaction. On SQLite it holds the write lock from the start
/// (`BEGIN IMMEDIATE`), so concurrent writers wait out `busy_timeout` instead of failing at
/// their first write; Postgres locks rows as they are written.
pub async fn begin_write(db: &Db) -> sqlx::Result<Tx> {
    match backend(db) {
        Backend::Sqlite => db.begin_with("BEGIN IMMEDIATE").await,
        Backend::Postgres => db.begin().await,
    }
}

/// A query assembled from optional fragments, each with `?` where its parameters go, with
/// the `?`s numbered `$1, $2, …` in order: Postgres takes only numbered parameters. Question
/// marks inside quoted SQL literals are left alone. (Fixed queries are written numbered.)
pub fn numbered(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len() + 16);
    let (mut n, mut quoted) = (0, false);
    for c in sql.chars() {
        match c {
            '\'' => {
                quoted = !quoted;
                out.push(c);
            }
            '?' if !quoted => {
                n += 1;
                out.push('$');
                out.push_str(&n.to_string());
            }
            _ => out.push(c),
        }
    }
    out
}

/// Milliseconds since the Unix epoch, the time format of every table.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

#[cfg(test)]
mod tests {
    use super::numbered;

    #[test]
    fn fragments_are_numbered_in_order_outside_literals() {
        assert_eq!(
            numbered(
                "SELECT 1 WHERE a = $1 AND b LIKE $2 ESCAPE '\\' AND c = '?' AND d IN ($3, $4)"
            ),
            "SELECT 1 WHERE a = $1 AND b LIKE $2 ESCAPE '\\' AND c = '?' AND d IN ($3, $4)"
        );
    }
}
