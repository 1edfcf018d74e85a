//! The database: one type for both backends, migrations, and the one backend-specific
//! choice, how a write transaction begins.
//!
//! The embedded default is a SQLite file in the data directory, in WAL mode with
//! `synchronous=FULL`: a save is acknowledged only after its commit reached the disk
//! (RELIABILITY.md §0.6–7); its writes go through one connection with group commit
//! ([`writer`]). `--database-url postgres://…` selects Postgres instead. Both run
//! through sqlx's `Any` driver, so every query is written once: `$1`-style parameters (SQLite
//! reads them by number too), portable SQL, integers, doubles and text only (booleans are
//! checked 0/1 integers; sums are cast to BIGINT, averages to DOUBLE PRECISION, because Postgres
//! would answer NUMERIC, which `Any` cannot decode).

pub mod copy;
mod writer;

use std::ops::{Deref, DerefMut};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use futures_util::future::BoxFuture;
use futures_util::stream::BoxStream;
use futures_util::{StreamExt, TryStreamExt};
use sqlx::any::{AnyPoolOptions, AnyQueryResult, AnyRow, AnyStatement, AnyTypeInfo};
use sqlx::{Any, AnyConnection, AnyPool, Either, Execute, Executor, Transaction};

/// The database of either backend: a pool for reads and Postgres writes, and on SQLite the
/// one writer connection that every write goes through ([`writer`]: group commit).
///
/// Queries run on `&Db` as on a pool. On SQLite a lone `INSERT`, `UPDATE` or `DELETE` run on
/// `&Db` is sent to the writer as its own transaction, so it queues with the rest instead of
/// waiting for the file lock in SQLite's busy handler.
#[derive(Debug, Clone)]
pub struct Db {
    pool: AnyPool,
    writer: Option<Arc<writer::Writer>>,
}

impl Deref for Db {
    type Target = AnyPool;
    fn deref(&self) -> &AnyPool {
        &self.pool
    }
}

/// A write transaction; writer functions take `&mut Tx` so that one HTTP action commits once.
/// It derefs to the connection, so queries run on `&mut **tx`.
pub struct Tx(TxInner);

enum TxInner {
    /// Postgres: an ordinary transaction on a pooled connection.
    Pooled(Transaction<'static, Any>),
    /// SQLite: a savepoint in the writer's group transaction.
    Grouped(writer::GroupTx),
}

impl Tx {
    /// Commits; returns once the change is durable.
    pub async fn commit(self) -> sqlx::Result<()> {
        match self.0 {
            TxInner::Pooled(tx) => tx.commit().await,
            TxInner::Grouped(tx) => tx.commit().await,
        }
    }

    /// Undoes the transaction's writes (dropping it does the same).
    pub async fn rollback(self) -> sqlx::Result<()> {
        match self.0 {
            TxInner::Pooled(tx) => tx.rollback().await,
            TxInner::Grouped(tx) => tx.rollback().await,
        }
    }
}

impl From<Transaction<'static, Any>> for Tx {
    fn from(tx: Transaction<'static, Any>) -> Self {
        Self(TxInner::Pooled(tx))
    }
}

impl Deref for Tx {
    type Target = AnyConnection;
    fn deref(&self) -> &AnyConnection {
        match &self.0 {
            TxInner::Pooled(tx) => tx,
            TxInner::Grouped(tx) => tx,
        }
    }
}

impl DerefMut for Tx {
    fn deref_mut(&mut self) -> &mut AnyConnection {
        match &mut self.0 {
            TxInner::Pooled(tx) => tx,
            TxInner::Grouped(tx) => tx,
        }
    }
}

/// Whether a statement writes (and so, on SQLite, belongs to the writer).
fn writes(sql: &str) -> bool {
    let word: String = sql
        .trim_start()
        .chars()
        .take_while(char::is_ascii_alphabetic)
        .collect();
    ["INSERT", "UPDATE", "DELETE"]
        .iter()
        .any(|w| word.eq_ignore_ascii_case(w))
}

impl<'p> Executor<'p> for &'_ Db {
    type Database = Any;

    fn fetch_many<'e, 'q: 'e, E>(
        self,
        query: E,
    ) -> BoxStream<'e, sqlx::Result<Either<AnyQueryResult, AnyRow>>>
    where
        'p: 'e,
        E: 'q + Execute<'q, Any>,
    {
        match &self.writer {
            Some(writer) if writes(query.sql()) => {
                let writer = writer.clone();
                futures_util::stream::once(async move {
                    let mut tx = writer.begin().await?;
                    let steps: Vec<_> = (&mut *tx).fetch_many(query).try_collect().await?;
                    tx.commit().await?;
                    Ok::<_, sqlx::Error>(futures_util::stream::iter(
                        steps.into_iter().map(Ok::<_, sqlx::Error>),
                    ))
                })
                .try_flatten()
                .boxed()
            }
            _ => self.pool.fetch_many(query),
        }
    }

    fn fetch_optional<'e, 'q: 'e, E>(self, query: E) -> BoxFuture<'e, sqlx::Result<Option<AnyRow>>>
    where
        'p: 'e,
        E: 'q + Execute<'q, Any>,
    {
        match &self.writer {
            Some(writer) if writes(query.sql()) => {
                let writer = writer.clone();
                Box::pin(async move {
                    let mut tx = writer.begin().await?;
                    let row = (&mut *tx).fetch_optional(query).await?;
                    tx.commit().await?;
                    Ok(row)
                })
            }
            _ => self.pool.fetch_optional(query),
        }
    }

    fn prepare_with<'e, 'q: 'e>(
        self,
        sql: &'q str,
        parameters: &'e [AnyTypeInfo],
    ) -> BoxFuture<'e, sqlx::Result<AnyStatement<'q>>>
    where
        'p: 'e,
    {
        self.pool.prepare_with(sql, parameters)
    }

    fn describe<'e, 'q: 'e>(self, sql: &'q str) -> BoxFuture<'e, sqlx::Result<sqlx::Describe<Any>>>
    where
        'p: 'e,
    {
        self.pool.describe(sql)
    }
}

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

/// The backend of an open database.
pub fn backend(db: &Db) -> Backend {
    if db.writer.is_some() {
        Backend::Sqlite
    } else {
        Backend::Postgres
    }
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
    let backend = Backend::of_url(&url)?;
    let pool = match backend {
        Backend::Sqlite => {
            AnyPoolOptions::new()
                .max_connections(32)
                .after_connect(|conn, _| {
                    Box::pin(async move {
                        conn.execute(SQLITE_SETTINGS).await?;
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
                // No JIT: compiling a query whose estimate looks costly took 60 ms of a search
                // that then ran in 8 (the concordance on ten million segments). Prepared
                // queries keep Postgres's default plan cache: after five runs a query whose
                // plan does not depend on its parameters is planned once, not on every run
                // (planning took 0.2-0.8 ms of a claim's queries that ran in 0.1-0.4). Where a
                // generic plan would be a scan and a sort, the query asks for custom plans
                // itself: claim next and the text index ([`CUSTOM_PLANS`]), the concordance's
                // window (an unnamed statement, planned for its parameters on every run).
                .after_connect(|conn, _| {
                    Box::pin(async move {
                        conn.execute("SET jit = off").await?;
                        Ok(())
                    })
                })
                .connect(&url)
                .await?
        }
    };
    let writer = match backend {
        Backend::Sqlite => {
            sqlx::migrate!("migrations/sqlite").run(&pool).await?;
            Some(Arc::new(writer::open(&url, SQLITE_SETTINGS).await?))
        }
        Backend::Postgres => {
            sqlx::migrate!("migrations/postgres").run(&pool).await?;
            None
        }
    };
    Ok(Db { pool, writer })
}

/// Every SQLite connection's settings: WAL, a commit waits for the disk, foreign keys, and a
/// wait for the file lock (held by another process, such as an admin command).
const SQLITE_SETTINGS: &str = "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; \
                               PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 10000;";

/// Makes Postgres plan every later query of the transaction for its parameters (`SET LOCAL`
/// of a simple query, so one round trip). For queries whose best plan depends on them: a
/// generic plan of a claim's ranks is a scan and a sort of the project (95 ms a claim on a
/// million segments instead of < 1).
pub const CUSTOM_PLANS: &str = "SET LOCAL plan_cache_mode = force_custom_plan";

/// Begins a write transaction. On SQLite it is a turn on the one writer (a savepoint in a
/// group transaction that holds the write lock from the start, `BEGIN IMMEDIATE`); Postgres
/// locks rows as they are written.
pub async fn begin_write(db: &Db) -> sqlx::Result<Tx> {
    match &db.writer {
        Some(writer) => Ok(Tx(TxInner::Grouped(writer.begin().await?))),
        None => Ok(Tx(TxInner::Pooled(db.pool.begin().await?))),
    }
}

/// Marks a write transaction as one whose loss in a crash would be harmless (the login
/// throttle's counters): on Postgres its commit does not wait for the disk
/// (`synchronous_commit = off` for this transaction only; the data stays consistent, at most
/// the last such commits are lost in a crash of the server). SQLite's group commit is already
/// cheap for them, so there it changes nothing.
pub async fn relax_durability(tx: &mut Tx) -> sqlx::Result<()> {
    if backend_of(tx) == Backend::Postgres {
        sqlx::query("SET LOCAL synchronous_commit TO OFF")
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
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
