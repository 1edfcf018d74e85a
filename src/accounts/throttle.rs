//! The login throttle: how many password checks a client may ask for, kept in the database
//! (`login_bucket`) so that every replica draws on the same buckets: three servers behind a
//! load balancer allow the attempts of one, not three times as many.
//!
//! Decisions worth knowing:
//! - **Reserve, then check.** An attempt takes its slot before argon2 runs, under one lock, so
//!   200 concurrent guesses cannot all pass a "not yet blocked" test (issue 13 item 2). A
//!   successful login gives its slot back; a failed one keeps it.
//! - **Keyed by (client, name) and by client**, never by name alone: a storm on a name from one
//!   client does not lock the real user out from another. The per-client bucket bounds
//!   guesses spread over many names. The client is what [`super::client`] says it is.
//! - **Token buckets**: a bucket holds `burst` attempts and regains one every `refill`; an
//!   empty bucket answers 429 with the time until the next attempt.
//! - **One statement per bucket.** Taking a token is a conditional upsert (`ON CONFLICT DO
//!   UPDATE … WHERE` the bucket still has a token `RETURNING` what is left), so two replicas
//!   taking the last token at once cannot both get it: the second waits on the row and finds
//!   it empty. Both buckets are taken in one transaction, or neither.
//! - **Bounded table.** Names are keyed by a 16-byte hash, so a long name costs no more than
//!   a short one; an IPv6 client is keyed by its /64 (one host has billions of addresses).
//!   Buckets that have refilled are deleted (a full bucket is the same as none). Each server
//!   prunes and counts the table at most once a second or every tenth of `max_entries`
//!   attempts; while `max_entries` buckets are live, attempts that would need a new one are
//!   refused (429): the server is then under a distributed attack, and failing closed keeps
//!   the guessing bounded. Between two counts the table can grow by that tenth.

use std::fmt::Write;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};
use sqlx::Row;

use crate::db::{Db, Tx, now_ms, relax_durability};

/// Limits of the login path; part of [`crate::app::Config`].
#[derive(Debug, Clone)]
pub struct LoginLimits {
    /// Failed attempts one client may make on one name in a burst.
    pub name_burst: u32,
    /// One more attempt on that (client, name) every `name_refill`.
    pub name_refill: Duration,
    /// Failed attempts one client may make over all names in a burst.
    pub client_burst: u32,
    /// One more attempt for that client every `client_refill`.
    pub client_refill: Duration,
    /// Most buckets remembered at once.
    pub max_entries: usize,
    /// argon2 verifications running at once (each needs 19 MiB): the cores by default.
    pub workers: usize,
    /// Verifications that may wait for a worker; beyond them a login is answered 503 at once.
    pub queue: usize,
}

impl Default for LoginLimits {
    /// 5 attempts per (client, name), then one every 3 minutes (at most 10 in 15 minutes);
    /// 20 per client, then one every 10 s; 100 000 buckets (about 10 MB).
    fn default() -> Self {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        Self {
            name_burst: 5,
            name_refill: Duration::from_secs(180),
            client_burst: 20,
            client_refill: Duration::from_secs(10),
            max_entries: 100_000,
            workers: cores,
            queue: 4 * cores,
        }
    }
}

/// The client part of a key: an IPv4 address, or the /64 of an IPv6 one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum ClientKey {
    V4([u8; 4]),
    V6([u8; 8]),
}

impl From<IpAddr> for ClientKey {
    fn from(ip: IpAddr) -> Self {
        match ip.to_canonical() {
            IpAddr::V4(v4) => ClientKey::V4(v4.octets()),
            IpAddr::V6(v6) => {
                let mut prefix = [0; 8];
                prefix.copy_from_slice(&v6.octets()[..8]);
                ClientKey::V6(prefix)
            }
        }
    }
}

impl ClientKey {
    fn hex(self) -> String {
        let bytes: &[u8] = match &self {
            ClientKey::V4(b) => b,
            ClientKey::V6(b) => b,
        };
        bytes.iter().fold(String::new(), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
    }
}

fn name_key(client: ClientKey, name: &str) -> String {
    let digest = Sha256::digest(name.as_bytes());
    let mut key = format!("n:{}:", client.hex());
    for b in &digest[..16] {
        let _ = write!(key, "{b:02x}");
    }
    key
}

fn client_key(client: ClientKey) -> String {
    format!("c:{}", client.hex())
}

/// One kind of bucket (per name or per client): its size and refill time.
#[derive(Debug, Clone, Copy)]
struct Kind {
    burst: f64,
    refill_ms: f64,
}

impl Kind {
    fn new(burst: u32, refill: Duration) -> Self {
        Self {
            burst: f64::from(burst.max(1)),
            refill_ms: refill.max(Duration::from_millis(1)).as_secs_f64() * 1e3,
        }
    }

    /// How long until a bucket holding `tokens` as of `at` has a token again at `now`.
    fn wait(self, tokens: f64, at: i64, now: i64) -> Duration {
        let level = (tokens + (now - at) as f64 / self.refill_ms).min(self.burst);
        Duration::from_secs_f64((1.0 - level).max(0.0) * self.refill_ms / 1e3)
    }
}

/// A bucket's level at `$4` (now), from its row, with `$3` the refill time in ms and `$2` the
/// burst; the SQL of [`Kind`]'s arithmetic.
const LEVEL: &str = "(CASE WHEN login_bucket.tokens + CAST($4 - login_bucket.at_ms AS DOUBLE PRECISION) / $3 >= $2 \
     THEN $2 ELSE login_bucket.tokens + CAST($4 - login_bucket.at_ms AS DOUBLE PRECISION) / $3 END)";

/// Takes a token from bucket `$1` if it has one: a new bucket starts full.
fn take_sql(create: bool) -> String {
    let set = format!(
        "tokens = {LEVEL} - 1, at_ms = $4, full_at_ms = $4 + CAST(($2 - ({LEVEL} - 1)) * $3 AS BIGINT)"
    );
    if create {
        format!(
            "INSERT INTO login_bucket (key, tokens, at_ms, full_at_ms) VALUES ($1, $2 - 1, $4, $4 + CAST($3 AS BIGINT)) \
             ON CONFLICT (key) DO UPDATE SET {set} WHERE {LEVEL} >= 1 RETURNING tokens"
        )
    } else {
        format!("UPDATE login_bucket SET {set} WHERE key = $1 AND {LEVEL} >= 1 RETURNING tokens")
    }
}

/// Gives bucket `$1` one token back (up to full).
fn give_back_sql() -> String {
    format!(
        "UPDATE login_bucket SET tokens = CASE WHEN {LEVEL} + 1 >= $2 THEN $2 ELSE {LEVEL} + 1 END, at_ms = $4, \
         full_at_ms = $4 + CAST(($2 - CASE WHEN {LEVEL} + 1 >= $2 THEN $2 ELSE {LEVEL} + 1 END) * $3 AS BIGINT) \
         WHERE key = $1"
    )
}

/// A throttle transaction: counters whose loss in a crash is harmless, so on Postgres their
/// commit does not wait for the disk (a login storm would otherwise queue on fsyncs).
async fn begin(db: &Db) -> sqlx::Result<Tx> {
    let mut tx = crate::db::begin_write(db).await?;
    relax_durability(&mut tx).await?;
    Ok(tx)
}

/// When this server last pruned and counted the table, and what it found.
#[derive(Debug)]
struct Census {
    at: Option<Instant>,
    since: usize,
    crowded: bool,
}

/// The login's token buckets per (client, name) and per client; see the module doc.
#[derive(Debug)]
pub struct LoginThrottle {
    names: Kind,
    clients: Kind,
    max_entries: usize,
    census: Mutex<Census>,
    /// Buckets this server found empty, until when: a storm on one name is refused from
    /// memory after its first refusal instead of asking the database again for every guess.
    /// Only ever refuses longer than the database would (another server's give-back is not
    /// seen until the time runs out; this server's own give-backs clear it), never lets more
    /// through.
    empty: Mutex<std::collections::HashMap<String, i64>>,
    /// Throttle transactions at once: a storm queues here rather than taking every pooled
    /// connection from the requests of people already logged in.
    lanes: tokio::sync::Semaphore,
}

/// Throttle transactions running at once (see [`LoginThrottle`]).
const LANES: usize = 4;

/// An attempt's reservation: hand it back through [`LoginThrottle::succeeded`] or
/// [`LoginThrottle::unchecked`], or drop it to keep it counted as a failure.
#[derive(Debug)]
pub struct Slot {
    name: String,
    client: String,
}

/// The throttle refused: retry after this long.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limited(pub Duration);

impl LoginThrottle {
    /// A throttle with these limits.
    pub fn new(limits: &LoginLimits) -> Self {
        Self {
            names: Kind::new(limits.name_burst, limits.name_refill),
            clients: Kind::new(limits.client_burst, limits.client_refill),
            max_entries: limits.max_entries.max(1),
            census: Mutex::new(Census {
                at: None,
                since: 0,
                crowded: false,
            }),
            empty: Mutex::default(),
            lanes: tokio::sync::Semaphore::new(LANES),
        }
    }

    fn empty(&self) -> std::sync::MutexGuard<'_, std::collections::HashMap<String, i64>> {
        self.empty.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A turn for one throttle transaction (see `lanes`).
    async fn lane(&self) -> sqlx::Result<tokio::sync::SemaphorePermit<'_>> {
        self.lanes
            .acquire()
            .await
            .map_err(|_| sqlx::Error::PoolClosed)
    }

    /// A refusal remembered for `slot`'s buckets at `now`, if any.
    fn known_empty(&self, slot: &Slot, now: i64) -> Option<Limited> {
        let empty = self.empty();
        let until = [&slot.name, &slot.client]
            .iter()
            .filter_map(|k| empty.get(*k))
            .copied()
            .max()?;
        (until > now).then(|| {
            Limited(
                Duration::from_millis(u64::try_from(until - now).unwrap_or(0))
                    .max(Duration::from_secs(1)),
            )
        })
    }

    /// Remembers that `key` has no token until `until`, in a map bounded like the table.
    fn remember_empty(&self, key: &str, until: i64, now: i64) {
        let mut empty = self.empty();
        if empty.len() >= self.max_entries {
            empty.retain(|_, t| *t > now);
            if empty.len() >= self.max_entries {
                empty.clear();
            }
        }
        empty.insert(key.to_string(), until);
    }

    /// Takes one attempt from both buckets of (client, name), or neither: the check and the
    /// record are one step.
    pub async fn reserve(
        &self,
        db: &Db,
        client: IpAddr,
        name: &str,
    ) -> sqlx::Result<Result<Slot, Limited>> {
        self.reserve_at(db, client, name, now_ms()).await
    }

    async fn reserve_at(
        &self,
        db: &Db,
        client: IpAddr,
        name: &str,
        now: i64,
    ) -> sqlx::Result<Result<Slot, Limited>> {
        let client = ClientKey::from(client);
        let slot = Slot {
            name: name_key(client, name),
            client: client_key(client),
        };
        if let Some(limited) = self.known_empty(&slot, now) {
            return Ok(Err(limited));
        }
        let _lane = self.lane().await?;
        // Others queued in the same storm may have found the bucket empty meanwhile.
        if let Some(limited) = self.known_empty(&slot, now) {
            return Ok(Err(limited));
        }
        let crowded = self.census(db, now).await?;
        let take = take_sql(!crowded);
        let mut tx = begin(db).await?;
        for (key, kind) in [(&slot.name, self.names), (&slot.client, self.clients)] {
            let taken = sqlx::query(&take)
                .bind(key)
                .bind(kind.burst)
                .bind(kind.refill_ms)
                .bind(now)
                .fetch_optional(&mut *tx)
                .await?;
            if taken.is_none() {
                tx.rollback().await?;
                let limited = self.limited(db, &slot, crowded, now).await?;
                let until = now + i64::try_from(limited.0.as_millis()).unwrap_or(i64::MAX / 2);
                self.remember_empty(key, until, now);
                return Ok(Err(limited));
            }
        }
        tx.commit().await?;
        Ok(Ok(slot))
    }

    /// Prunes full buckets and counts the rest when due; whether the table is at its cap.
    async fn census(&self, db: &Db, now: i64) -> sqlx::Result<bool> {
        {
            let mut c = self.census.lock().unwrap_or_else(|p| p.into_inner());
            c.since += 1;
            let due = c.at.is_none_or(|at| at.elapsed() >= Duration::from_secs(1))
                || c.since * 10 >= self.max_entries;
            if !due {
                return Ok(c.crowded);
            }
            (c.at, c.since) = (Some(Instant::now()), 0);
        }
        sqlx::query("DELETE FROM login_bucket WHERE full_at_ms <= $1")
            .bind(now)
            .execute(db)
            .await?;
        let live: i64 = sqlx::query("SELECT COUNT(*) FROM login_bucket")
            .fetch_one(db)
            .await?
            .try_get(0)?;
        let crowded = usize::try_from(live).unwrap_or(usize::MAX) >= self.max_entries;
        self.census
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .crowded = crowded;
        Ok(crowded)
    }

    /// How long the refused attempt must wait: until both its buckets have a token.
    async fn limited(
        &self,
        db: &Db,
        slot: &Slot,
        crowded: bool,
        now: i64,
    ) -> sqlx::Result<Limited> {
        let mut wait = Duration::ZERO;
        let mut missing = false;
        for (key, kind) in [(&slot.name, self.names), (&slot.client, self.clients)] {
            let row = sqlx::query("SELECT tokens, at_ms FROM login_bucket WHERE key = $1")
                .bind(key)
                .fetch_optional(db)
                .await?;
            match row {
                Some(r) => wait = wait.max(kind.wait(r.try_get(0)?, r.try_get(1)?, now)),
                None => missing = true,
            }
        }
        if crowded && missing {
            wait = wait.max(Duration::from_secs(1));
        }
        Ok(Limited(wait.max(Duration::from_secs(1))))
    }

    /// The password was right: the client's attempt is given back and its failures on this
    /// name are forgotten.
    pub async fn succeeded(&self, db: &Db, slot: Slot) -> sqlx::Result<()> {
        let _lane = self.lane().await?;
        self.empty().remove(&slot.name);
        let mut tx = begin(db).await?;
        sqlx::query("DELETE FROM login_bucket WHERE key = $1")
            .bind(&slot.name)
            .execute(&mut *tx)
            .await?;
        self.give_back(&mut tx, &slot.client, self.clients).await?;
        tx.commit().await
    }

    /// The attempt was never checked (the server was busy): both buckets get it back.
    pub async fn unchecked(&self, db: &Db, slot: Slot) -> sqlx::Result<()> {
        let _lane = self.lane().await?;
        let mut tx = begin(db).await?;
        self.give_back(&mut tx, &slot.name, self.names).await?;
        self.give_back(&mut tx, &slot.client, self.clients).await?;
        tx.commit().await
    }

    async fn give_back(&self, tx: &mut Tx, key: &str, kind: Kind) -> sqlx::Result<()> {
        // The bucket has a token again: stop refusing it from memory.
        self.empty().remove(key);
        sqlx::query(&give_back_sql())
            .bind(key)
            .bind(kind.burst)
            .bind(kind.refill_ms)
            .bind(now_ms())
            .execute(&mut **tx)
            .await?;
        Ok(())
    }

    /// Buckets not yet full (both kinds): the table's live rows.
    pub async fn len(&self, db: &Db) -> sqlx::Result<i64> {
        sqlx::query("SELECT COUNT(*) FROM login_bucket WHERE full_at_ms > $1")
            .bind(now_ms())
            .fetch_one(db)
            .await?
            .try_get(0)
    }
}

#[cfg(test)]
mod tests;
