//! The database: pool setup, migrations, and the one SQLite-specific choice, write
//! transactions that take the write lock up front.
//!
//! SQLite runs in WAL mode with `synchronous=FULL`: a save is acknowledged only after its
//! commit reached the disk (RELIABILITY.md §0.6–7). Queries elsewhere are runtime `sqlx::query`
//! with bound parameters and portable SQL, so a Postgres pool can take this module's place.

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Sqlite, SqlitePool, Transaction};

/// The pool type used across the stage modules.
pub type Db = SqlitePool;

/// A write transaction; writer functions take `&mut Tx` so that one HTTP action commits once.
pub type Tx = Transaction<'static, Sqlite>;

/// A result row of [`Db`].
pub type DbRow = sqlx::sqlite::SqliteRow;

/// Opens (creating if needed) the database file and applies the migrations.
pub async fn connect(path: &Path) -> anyhow::Result<Db> {
    let url = format!("sqlite://{}", path.display());
    let options = SqliteConnectOptions::from_str(&url)?
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Full)
        .foreign_keys(true)
        .busy_timeout(Duration::from_secs(10));
    let pool = SqlitePoolOptions::new()
        .max_connections(32)
        .connect_with(options)
        .await?;
    sqlx::migrate!("migrations/sqlite").run(&pool).await?;
    Ok(pool)
}

/// Begins a write transaction holding SQLite's write lock from the start (`BEGIN IMMEDIATE`),
/// so concurrent writers wait out `busy_timeout` instead of failing at their first write.
pub async fn begin_write(db: &Db) -> sqlx::Result<Tx> {
    db.begin_with("BEGIN IMMEDIATE").await
}

/// Milliseconds since the Unix epoch, the time format of every table.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}
