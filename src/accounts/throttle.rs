//! The login throttle: how many password checks a client may ask for, kept in memory.
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
//! - **Bounded memory.** Names are keyed by a 16-byte hash, so a long name costs no more than
//!   a short one; an IPv6 client is keyed by its /64 (one host has billions of addresses).
//!   Buckets that have refilled are forgotten (a full bucket is the same as none), pruned at
//!   most once a second; when `max_entries` buckets are still live, attempts that would need a
//!   new one are refused (429): the server is then under a distributed attack, and failing
//!   closed keeps the guessing bounded.
//!
//! Only this small interface ([`LoginThrottle::reserve`], [`Slot`], [`LoginThrottle::succeeded`])
//! is used by the login, so the memory can later move into the database.

use std::collections::HashMap;
use std::hash::Hash;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

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

type NameKey = (ClientKey, [u8; 16]);

fn name_key(client: ClientKey, name: &str) -> NameKey {
    let mut h = [0; 16];
    h.copy_from_slice(&Sha256::digest(name.as_bytes())[..16]);
    (client, h)
}

/// A token bucket: `tokens` as of `at`.
#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

/// One kind of bucket (per name or per client) with its limits.
struct Buckets<K> {
    map: HashMap<K, Bucket>,
    burst: f64,
    refill: Duration,
}

impl<K: Hash + Eq + Copy> Buckets<K> {
    fn new(burst: u32, refill: Duration) -> Self {
        Self {
            map: HashMap::new(),
            burst: f64::from(burst.max(1)),
            refill: refill.max(Duration::from_millis(1)),
        }
    }

    /// Tokens of `key` now.
    fn level(&self, key: &K, now: Instant) -> f64 {
        self.map.get(key).map_or(self.burst, |b| {
            let regained = now.duration_since(b.at).as_secs_f64() / self.refill.as_secs_f64();
            (b.tokens + regained).min(self.burst)
        })
    }

    /// How long until `key` has a token again (zero when it has one).
    fn wait(&self, key: &K, now: Instant) -> Duration {
        let missing = 1.0 - self.level(key, now);
        self.refill.mul_f64(missing.max(0.0))
    }

    fn set(&mut self, key: K, tokens: f64, now: Instant) {
        self.map.insert(key, Bucket { tokens, at: now });
    }

    fn prune(&mut self, now: Instant) {
        let (burst, refill) = (self.burst, self.refill.as_secs_f64());
        self.map
            .retain(|_, b| b.tokens + now.duration_since(b.at).as_secs_f64() / refill < burst);
    }
}

struct State {
    names: Buckets<NameKey>,
    clients: Buckets<ClientKey>,
    last_prune: Instant,
    max_entries: usize,
}

/// Remembers recent login attempts per (client, name) and per client; see the module doc.
pub struct LoginThrottle(Mutex<State>);

/// An attempt's reservation: hand it back through [`LoginThrottle::succeeded`] or
/// [`LoginThrottle::unchecked`], or drop it to keep it counted as a failure.
#[derive(Debug)]
pub struct Slot {
    name: NameKey,
    client: ClientKey,
}

/// The throttle refused: retry after this long.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limited(pub Duration);

impl LoginThrottle {
    /// A throttle with these limits.
    pub fn new(limits: &LoginLimits) -> Self {
        Self(Mutex::new(State {
            names: Buckets::new(limits.name_burst, limits.name_refill),
            clients: Buckets::new(limits.client_burst, limits.client_refill),
            last_prune: Instant::now(),
            max_entries: limits.max_entries.max(1),
        }))
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Takes one attempt from both buckets of (client, name), or neither: the check and the
    /// record are one step.
    pub fn reserve(&self, client: IpAddr, name: &str) -> Result<Slot, Limited> {
        self.reserve_at(client, name, Instant::now())
    }

    fn reserve_at(&self, client: IpAddr, name: &str, now: Instant) -> Result<Slot, Limited> {
        let client = ClientKey::from(client);
        let name = name_key(client, name);
        let mut s = self.state();
        // At most once a second, so a full map under attack does not cost a scan per attempt.
        if now.duration_since(s.last_prune) >= Duration::from_secs(1) {
            s.names.prune(now);
            s.clients.prune(now);
            s.last_prune = now;
        }
        let (by_name, by_client) = (s.names.level(&name, now), s.clients.level(&client, now));
        if by_name < 1.0 || by_client < 1.0 {
            let wait = s.names.wait(&name, now).max(s.clients.wait(&client, now));
            return Err(Limited(wait.max(Duration::from_secs(1))));
        }
        let new = usize::from(!s.names.map.contains_key(&name))
            + usize::from(!s.clients.map.contains_key(&client));
        if s.names.map.len() + s.clients.map.len() + new > s.max_entries {
            return Err(Limited(Duration::from_secs(1)));
        }
        s.names.set(name, by_name - 1.0, now);
        s.clients.set(client, by_client - 1.0, now);
        Ok(Slot { name, client })
    }

    /// The password was right: the client's attempt is given back and its failures on this
    /// name are forgotten.
    pub fn succeeded(&self, slot: Slot) {
        let now = Instant::now();
        let mut s = self.state();
        s.names.map.remove(&slot.name);
        s.clients.give_back(slot.client, now);
    }

    /// The attempt was never checked (the server was busy): both buckets get it back.
    pub fn unchecked(&self, slot: Slot) {
        let now = Instant::now();
        let mut s = self.state();
        s.names.give_back(slot.name, now);
        s.clients.give_back(slot.client, now);
    }

    /// Buckets remembered now (both kinds).
    pub fn len(&self) -> usize {
        let s = self.state();
        s.names.map.len() + s.clients.map.len()
    }

    /// Whether no bucket is remembered.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl<K: Hash + Eq + Copy> Buckets<K> {
    fn give_back(&mut self, key: K, now: Instant) {
        let tokens = (self.level(&key, now) + 1.0).min(self.burst);
        if tokens >= self.burst {
            self.map.remove(&key);
        } else {
            self.set(key, tokens, now);
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn limits() -> LoginLimits {
        LoginLimits {
            name_burst: 3,
            name_refill: Duration::from_secs(60),
            client_burst: 5,
            client_refill: Duration::from_secs(10),
            max_entries: 1000,
            ..LoginLimits::default()
        }
    }

    const A: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(192, 0, 2, 1));
    const B: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(192, 0, 2, 2));

    #[test]
    fn a_name_gets_its_burst_per_client_then_one_per_refill() {
        let t = LoginThrottle::new(&limits());
        let now = Instant::now();
        for _ in 0..3 {
            t.reserve_at(A, "ana", now).unwrap();
        }
        let Limited(wait) = t.reserve_at(A, "ana", now).unwrap_err();
        assert_eq!(wait, Duration::from_secs(60));
        // Another client is not affected.
        t.reserve_at(B, "ana", now).unwrap();
        // One refill later, one more attempt.
        let later = now + Duration::from_secs(60);
        t.reserve_at(A, "ana", later).unwrap();
        assert!(t.reserve_at(A, "ana", later).is_err());
    }

    #[test]
    fn a_client_gets_its_burst_over_all_names() {
        let t = LoginThrottle::new(&limits());
        let now = Instant::now();
        for i in 0..5 {
            t.reserve_at(A, &format!("n{i}"), now).unwrap();
        }
        let Limited(wait) = t.reserve_at(A, "n9", now).unwrap_err();
        assert_eq!(wait, Duration::from_secs(10));
        t.reserve_at(B, "n9", now).unwrap();
    }

    #[test]
    fn a_refusal_takes_nothing_from_either_bucket() {
        let t = LoginThrottle::new(&limits());
        let now = Instant::now();
        for _ in 0..3 {
            t.reserve_at(A, "ana", now).unwrap();
        }
        for _ in 0..100 {
            assert!(t.reserve_at(A, "ana", now).is_err());
        }
        // The client bucket lost only the three checked attempts.
        t.reserve_at(A, "bo", now).unwrap();
        t.reserve_at(A, "bo", now).unwrap();
        assert!(t.reserve_at(A, "cy", now).is_err());
    }

    #[test]
    fn success_gives_the_slot_back_and_clears_the_name() {
        let t = LoginThrottle::new(&limits());
        let now = Instant::now();
        for _ in 0..2 {
            let _failed = t.reserve_at(A, "ana", now).unwrap();
        }
        let ok = t.reserve_at(A, "ana", now).unwrap();
        t.succeeded(ok);
        for _ in 0..3 {
            t.reserve_at(A, "ana", now).unwrap();
        }
        // 2 failures + 3 new = 5 taken from the client; the success was given back.
        assert!(t.reserve_at(A, "bo", now).is_err());
    }

    #[test]
    fn an_unchecked_attempt_costs_nothing() {
        let t = LoginThrottle::new(&limits());
        for _ in 0..50 {
            let slot = t.reserve(A, "ana").unwrap();
            t.unchecked(slot);
        }
        assert!(t.is_empty());
    }

    #[test]
    fn ipv6_clients_are_keyed_by_their_64() {
        let t = LoginThrottle::new(&limits());
        let now = Instant::now();
        for i in 0..5u16 {
            let ip = IpAddr::V6(std::net::Ipv6Addr::new(0x2001, 0xdb8, 0, 1, i, i, i, i));
            t.reserve_at(ip, &format!("n{i}"), now).unwrap();
        }
        let other_host = IpAddr::V6(std::net::Ipv6Addr::new(0x2001, 0xdb8, 0, 1, 9, 9, 9, 9));
        assert!(t.reserve_at(other_host, "n9", now).is_err());
        let other_net = IpAddr::V6(std::net::Ipv6Addr::new(0x2001, 0xdb8, 0, 2, 9, 9, 9, 9));
        t.reserve_at(other_net, "n9", now).unwrap();
    }

    #[test]
    fn memory_is_bounded_by_pruning_and_the_cap() {
        let t = LoginThrottle::new(&LoginLimits {
            max_entries: 100,
            client_burst: 1000,
            ..limits()
        });
        let now = Instant::now();
        let long = "x".repeat(100_000);
        let mut refused = 0;
        for i in 0..1000 {
            if t.reserve_at(A, &format!("{long}{i}"), now).is_err() {
                refused += 1;
            }
        }
        assert_eq!(t.len(), 100);
        assert_eq!(refused, 901);
        // Once the buckets have refilled they are forgotten and new names are taken again.
        let later = now + Duration::from_secs(3600);
        t.reserve_at(A, "new", later).unwrap();
        assert_eq!(t.len(), 2);
    }
}
