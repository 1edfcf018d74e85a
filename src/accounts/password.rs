//! Passwords: argon2id hashing, and verification with a budget.
//!
//! Decisions worth knowing:
//! - **A budget of cores.** Each argon2id check with the default parameters (m = 19 MiB,
//!   t = 2, p = 1) needs 19 MiB and tens of milliseconds of one core. Checks run on a pool of
//!   their own ([`crate::work::Pool`]), `workers` at once; `queue` more may wait; any beyond
//!   that is answered at once ([`Busy`]) rather than queued, so a login storm neither eats
//!   memory nor the async workers (issue 13 item 2: unbounded, a storm took RSS from 34 MB to
//!   3.9 GB).
//! - **At a lower priority.** That pool's threads run at nice [`crate::work::NICE`], like the
//!   heavy-work pool's but apart from it (a search storm does not block logins, nor a login
//!   storm searches): while a storm keeps every core checking passwords, the async workers
//!   that answer `/api/me` and saves still get the CPU first. On tokio's blocking pool, at the
//!   normal priority, two checks on two cores put `/api/me`'s p99 at 87 ms in CI.
//! - **Memory reused, not reallocated.** Each running check borrows a block buffer from a
//!   pool that never holds more than `workers` buffers. Freshly allocated 19 MiB buffers on
//!   ever-changing blocking threads end up retained in many malloc arenas; a pool of reused
//!   buffers makes the peak `workers` × 19 MiB, whatever the storm.
//! - **Unknown names cost the same.** A login for a name that does not exist is verified
//!   against a dummy hash made once with the same parameters, so the answer time does not tell
//!   which names exist.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};

use super::throttle::LoginLimits;
use crate::work::{Deadline, Pool, WorkError};

/// Hashes a password with argon2id (default parameters) and a random salt.
pub fn hash_password(password: &str) -> anyhow::Result<String> {
    let salt = SaltString::generate(&mut OsRng);
    Ok(Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map_err(|e| anyhow::anyhow!("hashing failed: {e}"))?
        .to_string())
}

/// The hash unknown names are checked against: same parameters as a real one.
fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| {
        let secret: [u8; 16] = rand::random();
        hash_password(&hex::encode(secret)).unwrap_or_default()
    })
}

/// Whether `password` matches the PHC string `phc`, computed in `memory` (grown if the hash
/// asks for more). The same computation as argon2's `verify_password`, but in a buffer the
/// caller keeps.
fn verify_in(memory: &mut Vec<Block>, password: &[u8], phc: &str) -> bool {
    let Ok(hash) = PasswordHash::new(phc) else {
        return false;
    };
    let (Some(salt), Some(expected)) = (hash.salt, hash.hash) else {
        return false;
    };
    let (Ok(algorithm), Ok(params)) =
        (Algorithm::try_from(hash.algorithm), Params::try_from(&hash))
    else {
        return false;
    };
    let version = match hash.version.map(Version::try_from).transpose() {
        Ok(v) => v.unwrap_or_default(),
        Err(_) => return false,
    };
    let mut salt_bytes = [0u8; 64];
    let Ok(salt) = salt.decode_b64(&mut salt_bytes) else {
        return false;
    };
    if memory.len() < params.block_count() {
        memory.resize(params.block_count(), Block::default());
    }
    let mut out = vec![0u8; expected.len()];
    Argon2::new(algorithm, version, params)
        .hash_password_into_with_memory(password, salt, &mut out, &mut memory[..])
        .is_ok()
        // `Output`'s equality is constant-time.
        && argon2::password_hash::Output::new(&out).is_ok_and(|o| o == expected)
}

/// The server had no room for another check; the client may retry shortly.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Busy;

/// Longest a check may wait for a worker before the login is answered [`Busy`]. The queue
/// bound keeps the wait far shorter (`queue` checks of tens of milliseconds each).
const WAIT: Duration = Duration::from_secs(10);

/// Runs argon2 verifications within the budget; see the module doc.
pub struct PasswordChecker {
    /// The checks' own threads and bounds: `workers` running, `queue` waiting.
    pool: Pool,
    memory: Arc<Mutex<Vec<Vec<Block>>>>,
    checks: Arc<AtomicU64>,
}

impl PasswordChecker {
    /// A checker with `limits.workers` running and `limits.queue` waiting.
    pub fn new(limits: &LoginLimits) -> Self {
        Self {
            pool: Pool::named("fangyan-login", limits.workers, limits.queue),
            memory: Arc::default(),
            checks: Arc::default(),
        }
    }

    /// Checks `password` against `hash`, or against the dummy hash when there is no user;
    /// `Ok(false)` for a wrong password or no user.
    pub async fn verify(&self, password: String, hash: Option<String>) -> Result<bool, Busy> {
        let buffers = self.memory.clone();
        let checks = self.checks.clone();
        // The pool's permits stay with the job: if the request is cancelled, the check still
        // counts against the budget until it has finished.
        let result = self
            .pool
            .run(Deadline::after(WAIT), move |_| {
                checks.fetch_add(1, Ordering::Relaxed);
                let mut memory = take(&buffers);
                let ok = match &hash {
                    Some(hash) => verify_in(&mut memory, password.as_bytes(), hash),
                    None => {
                        verify_in(&mut memory, password.as_bytes(), dummy_hash());
                        false
                    }
                };
                put(&buffers, memory);
                ok
            })
            .await;
        match result {
            Ok(ok) => Ok(ok),
            Err(WorkError::Overloaded | WorkError::Timeout) => Err(Busy),
            // A panic in argon2 is a failed check, not a crashed request.
            Err(_) => Ok(false),
        }
    }

    /// argon2 checks started since the server started (for tests and diagnostics).
    pub fn checks(&self) -> u64 {
        self.checks.load(Ordering::Relaxed)
    }
}

fn take(pool: &Mutex<Vec<Vec<Block>>>) -> Vec<Block> {
    pool.lock()
        .unwrap_or_else(|p| p.into_inner())
        .pop()
        .unwrap_or_default()
}

fn put(pool: &Mutex<Vec<Vec<Block>>>, memory: Vec<Block>) {
    pool.lock().unwrap_or_else(|p| p.into_inner()).push(memory);
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use argon2::password_hash::PasswordVerifier;

    #[test]
    fn verify_in_agrees_with_argon2() {
        let phc = hash_password("correct horse").unwrap();
        let parsed = PasswordHash::new(&phc).unwrap();
        let mut memory = Vec::new();
        for guess in ["correct horse", "correct hors", "", "correct horse "] {
            let theirs = Argon2::default()
                .verify_password(guess.as_bytes(), &parsed)
                .is_ok();
            assert_eq!(
                verify_in(&mut memory, guess.as_bytes(), &phc),
                theirs,
                "{guess:?}"
            );
        }
        assert!(verify_in(&mut memory, b"correct horse", &phc));
        assert!(!verify_in(&mut memory, b"correct horse", "not a hash"));
    }

    #[test]
    fn other_parameters_are_verified_too() {
        let params = Params::new(8 * 1024, 1, 2, Some(24)).unwrap();
        let argon = Argon2::new(Algorithm::Argon2i, Version::V0x10, params);
        let salt = SaltString::generate(&mut OsRng);
        let phc = argon.hash_password(b"pw", &salt).unwrap().to_string();
        let mut memory = vec![Block::default(); 16];
        assert!(verify_in(&mut memory, b"pw", &phc));
        assert!(!verify_in(&mut memory, b"pW", &phc));
    }

    #[test]
    fn the_dummy_hash_has_the_default_parameters() {
        let dummy = PasswordHash::new(dummy_hash()).unwrap();
        let real_phc = hash_password("x").unwrap();
        let real = PasswordHash::new(&real_phc).unwrap();
        assert_eq!(dummy.algorithm, real.algorithm);
        assert_eq!(dummy.params, real.params);
    }

    #[tokio::test]
    async fn checks_beyond_the_queue_are_refused_at_once() {
        let checker = Arc::new(PasswordChecker::new(&LoginLimits {
            workers: 1,
            queue: 2,
            ..LoginLimits::default()
        }));
        let tasks: Vec<_> = (0..10)
            .map(|_| {
                let c = checker.clone();
                tokio::spawn(async move { c.verify("pw".into(), None).await })
            })
            .collect();
        let mut busy = 0;
        for t in tasks {
            match t.await.unwrap() {
                Err(Busy) => busy += 1,
                Ok(ok) => assert!(!ok),
            }
        }
        assert_eq!((busy, checker.checks()), (7, 3));
    }

    /// Issue 13: a login storm fills every core with argon2, and `/api/me` must still answer
    /// fast, so the checks run on threads of their own at the heavy-work pool's lower priority.
    #[cfg(target_os = "linux")]
    #[tokio::test]
    async fn checks_run_on_their_own_threads_at_a_lower_priority() {
        let checker = PasswordChecker::new(&LoginLimits {
            workers: 2,
            ..LoginLimits::default()
        });
        assert_eq!(checker.verify("pw".into(), None).await, Ok(false));
        let mut nices = Vec::new();
        for task in std::fs::read_dir("/proc/self/task").unwrap() {
            let task = task.unwrap().path();
            let Ok(name) = std::fs::read_to_string(task.join("comm")) else {
                continue; // a thread that ended meanwhile
            };
            if name.starts_with("fangyan-login-") {
                nices.push(crate::work::nice_of(task.join("stat")));
            }
        }
        // Other tests in this process may hold checkers of their own: all count.
        assert!(nices.len() >= 2, "{nices:?}");
        assert!(nices.iter().all(|&n| n == crate::work::NICE), "{nices:?}");
    }
}
