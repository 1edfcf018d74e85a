//! The embedded database's one writer, with group commit.
//!
//! SQLite admits one writer at a time, and with `synchronous=FULL` every commit waits for the
//! disk (about 6 ms here). One transaction per save therefore caps the server near 150 saves a
//! second, and writers on separate connections wait for the lock in SQLite's busy handler,
//! which sleeps in growing steps: under load the tail latency reaches seconds.
//!
//! So every write transaction on SQLite runs on one connection, taken in arrival order (a fair
//! mutex), each action inside its own `SAVEPOINT` of a shared transaction. The action that
//! opens a transaction (`BEGIN IMMEDIATE`) also queues a flusher behind everyone waiting at
//! that moment; they join the same transaction, and the flusher commits it once, for all of
//! them: one disk wait for the group. An action's `commit` hands the writer on and returns
//! only after that shared commit succeeded, so nothing is acknowledged before it is on disk;
//! its savepoint is released by the next action's `SAVEPOINT` (one round trip for both) or by
//! the group's `COMMIT`.
//! An action that fails or is dropped is rolled back to its savepoint and leaves the others
//! untouched; if the shared transaction itself cannot be trusted any more (a savepoint that
//! cannot be released or undone), the whole group is rolled back and every member's commit
//! fails: an error, never a lost acknowledgement.

use std::fmt;
use std::ops::{Deref, DerefMut};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use sqlx::{AnyConnection, Connection, Executor};
use tokio::sync::{Mutex, OwnedMutexGuard, watch};

/// Longest wait for the writer.
const WAIT: std::time::Duration = std::time::Duration::from_secs(10);

/// The outcome of a group's commit, shared by its members.
type Outcome = Option<Result<(), Arc<str>>>;

/// The writer connection and the group transaction open on it, if any.
struct Slot {
    conn: AnyConnection,
    group: Option<Group>,
    /// The last action committed without releasing its savepoint: the next action's
    /// `SAVEPOINT` releases it in the same round trip, or the group's `COMMIT` does.
    unreleased: bool,
}

struct Group {
    id: u64,
    /// Set when a member's savepoint could not be released or undone: the group rolls back.
    broken: bool,
    done: watch::Sender<Outcome>,
}

/// The one writer of an embedded database.
pub struct Writer {
    slot: Arc<Mutex<Slot>>,
    groups: Arc<AtomicU64>,
}

impl fmt::Debug for Writer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Writer")
            .field("groups", &self.groups.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

impl Writer {
    /// The writer over its own connection (opened with the pool's settings).
    pub fn new(conn: AnyConnection) -> Self {
        Self {
            slot: Arc::new(Mutex::new(Slot {
                conn,
                group: None,
                unreleased: false,
            })),
            groups: Arc::new(AtomicU64::new(0)),
        }
    }

    /// Begins one action's transaction: waits for its turn, joins (or opens) the group
    /// transaction, and sets its savepoint.
    ///
    /// The statements run on a task of their own, which the caller's cancellation (a client
    /// that hangs up, a request timeout) does not stop: a `BEGIN IMMEDIATE` that SQLite ran
    /// while its caller was dropped would otherwise leave a transaction open that the writer
    /// knows nothing of, and every later write would fail with "cannot start a transaction
    /// within a transaction". A caller that has gone drops the action it would have got,
    /// which undoes its savepoint ([`GroupTx`]'s `Drop`).
    pub async fn begin(&self) -> sqlx::Result<GroupTx> {
        let (slot, groups) = (self.slot.clone(), self.groups.clone());
        tokio::spawn(begin_on(slot, groups))
            .await
            .map_err(|_| sqlx::Error::WorkerCrashed)?
    }
}

async fn begin_on(slot: Arc<Mutex<Slot>>, groups: Arc<AtomicU64>) -> sqlx::Result<GroupTx> {
    // As SQLite's busy_timeout would: a writer that waits this long gets an error, never
    // a hang (a task that waits for the writer while holding it would otherwise wait forever).
    let mut guard = tokio::time::timeout(WAIT, slot.clone().lock_owned())
        .await
        .map_err(|_| sqlx::Error::PoolTimedOut)?;
    if guard.group.as_ref().is_some_and(|g| g.broken) {
        finish(&mut guard).await;
    }
    if guard.group.is_none() {
        guard.conn.execute("BEGIN IMMEDIATE").await?;
        let id = groups.fetch_add(1, Ordering::Relaxed);
        guard.group = Some(Group {
            id,
            broken: false,
            done: watch::channel(None).0,
        });
        // Queued behind everyone waiting now: they join this group, then it commits.
        tokio::spawn(async move {
            let mut slot = slot.lock_owned().await;
            if slot.group.as_ref().is_some_and(|g| g.id == id) {
                finish(&mut slot).await;
            }
        });
    }
    let open = if std::mem::take(&mut guard.unreleased) {
        "RELEASE action; SAVEPOINT action"
    } else {
        "SAVEPOINT action"
    };
    if let Err(e) = guard.conn.execute(open).await {
        break_group(&mut guard);
        return Err(e);
    }
    Ok(GroupTx { slot: Some(guard) })
}

/// Commits (or, when broken, rolls back) the open group and tells its members.
async fn finish(slot: &mut Slot) {
    let Some(group) = slot.group.take() else {
        return;
    };
    // COMMIT (or ROLLBACK) ends a last savepoint still open with the transaction.
    slot.unreleased = false;
    let outcome = if group.broken {
        let _ = slot.conn.execute("ROLLBACK").await;
        Err(Arc::from(
            "the write group was rolled back after a member's failure",
        ))
    } else {
        match slot.conn.execute("COMMIT").await {
            Ok(_) => Ok(()),
            Err(e) => {
                let _ = slot.conn.execute("ROLLBACK").await;
                Err(Arc::from(e.to_string()))
            }
        }
    };
    group.done.send_replace(Some(outcome));
}

fn break_group(slot: &mut Slot) {
    if let Some(group) = slot.group.as_mut() {
        group.broken = true;
    }
}

async fn undo(slot: &mut Slot) {
    let undone = match slot.conn.execute("ROLLBACK TO action").await {
        Ok(_) => slot.conn.execute("RELEASE action").await.map(|_| ()),
        Err(e) => Err(e),
    };
    if undone.is_err() {
        break_group(slot);
    }
}

/// One action's transaction on the writer: a savepoint inside the group transaction, holding
/// the writer until it commits or rolls back.
pub struct GroupTx {
    slot: Option<OwnedMutexGuard<Slot>>,
}

impl GroupTx {
    /// Hands the writer on and waits until the group's commit is on disk.
    ///
    /// The savepoint is left open, to be released by the next action's `SAVEPOINT` or by the
    /// group's `COMMIT`, whichever comes first: a round trip fewer while the writer is held.
    /// If that release fails, the group is broken and this action's wait ends in an error.
    /// Nothing here waits while holding the writer, so a caller dropped mid-commit cannot
    /// leave it half done.
    pub async fn commit(mut self) -> sqlx::Result<()> {
        let mut slot = self.slot.take().expect("an open action holds the writer");
        slot.unreleased = true;
        let mut done = slot
            .group
            .as_ref()
            .expect("an open action belongs to a group")
            .done
            .subscribe();
        drop(slot);
        let outcome = done
            .wait_for(Option::is_some)
            .await
            .map_err(|_| sqlx::Error::WorkerCrashed)?
            .clone();
        match outcome {
            Some(Ok(())) => Ok(()),
            Some(Err(e)) => Err(sqlx::Error::Protocol(e.to_string())),
            None => Err(sqlx::Error::WorkerCrashed),
        }
    }

    /// Undoes this action's writes; the others in its group are untouched.
    pub async fn rollback(mut self) -> sqlx::Result<()> {
        if let Some(mut slot) = self.slot.take() {
            undo(&mut slot).await;
        }
        Ok(())
    }
}

impl Drop for GroupTx {
    fn drop(&mut self) {
        let Some(mut slot) = self.slot.take() else {
            return;
        };
        // Dropped without commit (an error, a timeout): undo on the runtime, still holding
        // the writer so that nobody writes on top of the half-done action.
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => {
                runtime.spawn(async move { undo(&mut slot).await });
            }
            Err(_) => break_group(&mut slot),
        }
    }
}

impl Deref for GroupTx {
    type Target = AnyConnection;
    fn deref(&self) -> &AnyConnection {
        &self
            .slot
            .as_ref()
            .expect("an open action holds the writer")
            .conn
    }
}

impl DerefMut for GroupTx {
    fn deref_mut(&mut self) -> &mut AnyConnection {
        &mut self
            .slot
            .as_mut()
            .expect("an open action holds the writer")
            .conn
    }
}

/// Opens the writer's connection with the pool's per-connection settings.
pub async fn open(url: &str, settings: &str) -> sqlx::Result<Writer> {
    let mut conn = AnyConnection::connect(url).await?;
    conn.execute(settings).await?;
    Ok(Writer::new(conn))
}

#[cfg(test)]
mod tests {
    use sqlx::Row;

    use crate::db::{Db, begin_write, connect};

    async fn table(dir: &std::path::Path) -> Db {
        let db = connect(None, &dir.join("w.sqlite")).await.unwrap();
        sqlx::query("CREATE TABLE t (n BIGINT NOT NULL)")
            .execute(&db.pool)
            .await
            .unwrap();
        db
    }

    /// One action, committed: inserts `n` (if any), runs `then` on the writer's connection (if
    /// any), then commits.
    async fn action(db: Db, n: Option<i64>, then: Option<&'static str>) -> sqlx::Result<()> {
        let mut tx = begin_write(&db).await?;
        if let Some(n) = n {
            sqlx::query("INSERT INTO t (n) VALUES ($1)")
                .bind(n)
                .execute(&mut *tx)
                .await?;
        }
        if let Some(sql) = then {
            sqlx::query(sql).execute(&mut *tx).await?;
        }
        tx.commit().await
    }

    async fn rows(db: &Db) -> Vec<i64> {
        sqlx::query("SELECT n FROM t ORDER BY n")
            .fetch_all(db)
            .await
            .unwrap()
            .iter()
            .map(|r| r.get(0))
            .collect()
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_actions_share_commits_and_a_failed_one_leaves_the_rest() {
        let dir = tempfile::tempdir().unwrap();
        let db = table(dir.path()).await;
        let before = db
            .writer
            .as_ref()
            .unwrap()
            .groups
            .load(super::Ordering::Relaxed);
        let tasks: Vec<_> = (0..200i64)
            .map(|n| {
                let db = db.clone();
                tokio::spawn(async move {
                    let mut tx = begin_write(&db).await.unwrap();
                    sqlx::query("INSERT INTO t (n) VALUES ($1)")
                        .bind(n)
                        .execute(&mut *tx)
                        .await
                        .unwrap();
                    match n % 3 {
                        0 => drop(tx),
                        1 => tx.rollback().await.unwrap(),
                        _ => tx.commit().await.unwrap(),
                    }
                })
            })
            .collect();
        for t in tasks {
            t.await.unwrap();
        }
        let groups = db
            .writer
            .as_ref()
            .unwrap()
            .groups
            .load(super::Ordering::Relaxed)
            - before;
        assert_eq!(
            rows(&db).await,
            (0..200).filter(|n| n % 3 == 2).collect::<Vec<_>>()
        );
        assert!(groups < 100, "200 concurrent actions took {groups} commits");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_member_that_ends_the_group_fails_every_member_instead_of_losing_them() {
        let dir = tempfile::tempdir().unwrap();
        let db = table(dir.path()).await;
        let pause = std::time::Duration::from_millis(100);
        // Hold the writer so that both actions queue and land in one group, in this order.
        let held = db.writer.as_ref().unwrap().slot.clone().lock_owned().await;
        let honest = tokio::spawn(action(db.clone(), Some(1), None));
        tokio::time::sleep(pause).await;
        // Ends the shared transaction under the first member's feet.
        let rogue = tokio::spawn(action(db.clone(), None, Some("ROLLBACK")));
        tokio::time::sleep(pause).await;
        drop(held);
        assert!(rogue.await.unwrap().is_err());
        assert!(
            honest.await.unwrap().is_err(),
            "acknowledged a write that was undone"
        );
        // The writer recovers: the next action commits on its own.
        action(db.clone(), Some(2), None).await.unwrap();
        // A lone write on the database goes through the writer too.
        sqlx::query("INSERT INTO t (n) VALUES (3)")
            .execute(&db)
            .await
            .unwrap();
        assert_eq!(rows(&db).await, vec![2, 3]);
    }

    /// The savepoint of a committed action is released by the next action's `SAVEPOINT`: when
    /// that release fails (here the first action released it itself, so there is none), the
    /// group cannot be trusted, and both members fail instead of the first being acknowledged.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_deferred_release_that_fails_fails_the_group_instead_of_acknowledging_it() {
        let dir = tempfile::tempdir().unwrap();
        let db = table(dir.path()).await;
        let held = db.writer.as_ref().unwrap().slot.clone().lock_owned().await;
        let pause = std::time::Duration::from_millis(100);
        let first = tokio::spawn(action(db.clone(), Some(1), Some("RELEASE action")));
        tokio::time::sleep(pause).await;
        let second = tokio::spawn({
            let db = db.clone();
            async move { begin_write(&db).await.map(drop) }
        });
        tokio::time::sleep(pause).await;
        drop(held);
        assert!(second.await.unwrap().is_err(), "began on a broken group");
        assert!(
            first.await.unwrap().is_err(),
            "acknowledged a member of a broken group"
        );
        assert_eq!(rows(&db).await, Vec::<i64>::new());
        action(db.clone(), Some(2), None).await.unwrap();
        assert_eq!(rows(&db).await, vec![2]);
    }

    /// Found by a browser test: clients that hang up mid-save left SQLite inside a
    /// transaction the writer did not know of, and every later write failed with "cannot
    /// start a transaction within a transaction" until the server restarted.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn actions_cancelled_at_any_point_leave_the_writer_working() {
        let dir = tempfile::tempdir().unwrap();
        let db = table(dir.path()).await;
        let mut committed = Vec::new();
        for n in 0..600i64 {
            // Cut off after 0 to 299 microseconds: inside the lock wait, BEGIN, the previous
            // action's RELEASE with this one's SAVEPOINT, the insert or the wait for the
            // group's commit.
            let cut = std::time::Duration::from_micros((n * 37 % 300) as u64);
            let attempt = tokio::time::timeout(cut, action(db.clone(), Some(n), None)).await;
            if let Ok(r) = attempt {
                r.unwrap();
                committed.push(n);
            }
        }
        // Every action that was not cut off committed, and the writer still works.
        action(db.clone(), Some(-1), None).await.unwrap();
        let got = rows(&db).await;
        assert!(got.contains(&-1));
        for n in &committed {
            assert!(got.contains(n), "acknowledged {n} is missing");
        }
    }
}
