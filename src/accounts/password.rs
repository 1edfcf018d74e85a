//! Passwords: argon2id hashing, and verification with a budget.
//!
//! Decisions worth knowing:
//! - **A budget of cores.** Each argon2id check with the default parameters (m = 19 MiB,
//!   t = 2, p = 1) needs 19 MiB and tens of milliseconds of one core. Checks run on the blocking
//!   pool, `workers` at once; `queue` more may wait; any beyond that is answered at once
//!   ([`Busy`]) rather than queued, so a login storm neither eats memory nor the async
//!   workers (issue 13 item 2: unbounded, a storm took RSS from 34 MB to 3.9 GB).
//! - **Memory reused, not reallocated.** Each running check borrows a block buffer from a
//!   pool that never holds more than `workers` buffers. Freshly allocated 19 MiB buffers on
//!   ever-changing blocking threads end up retained in many malloc arenas; a pool of reused
//!   buffers makes the peak `workers` × 19 MiB, whatever the storm.
//! - **Unknown names cost the same.** A login for a name that does not exist is verified
//!   against a dummy hash made once with the same parameters, so the answer time does not tell
//!   which names exist.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use tokio::sync::Semaphore;

use super::throttle::LoginLimits;

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

/// Runs argon2 verifications within the budget; see the module doc.
pub struct PasswordChecker {
    /// Checks admitted: running plus waiting.
    admitted: Arc<Semaphore>,
    /// Checks running.
    running: Arc<Semaphore>,
    memory: Arc<Mutex<Vec<Vec<Block>>>>,
    checks: AtomicU64,
}

impl PasswordChecker {
    /// A checker with `limits.workers` running and `limits.queue` waiting.
    pub fn new(limits: &LoginLimits) -> Self {
        let workers = limits.workers.max(1);
        Self {
            admitted: Arc::new(Semaphore::new(workers + limits.queue)),
            running: Arc::new(Semaphore::new(workers)),
            memory: Arc::default(),
            checks: AtomicU64::new(0),
        }
    }

    /// Checks `password` against `hash`, or against the dummy hash when there is no user;
    /// `Ok(false)` for a wrong password or no user.
    pub async fn verify(&self, password: String, hash: Option<String>) -> Result<bool, Busy> {
        let admitted = self
            .admitted
            .clone()
            .try_acquire_owned()
            .map_err(|_| Busy)?;
        let running = self
            .running
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| Busy)?;
        self.checks.fetch_add(1, Ordering::Relaxed);
        let pool = self.memory.clone();
        // The permits travel into the blocking task: if the request is cancelled, the check
        // still counts against the budget until it has finished.
        let task = tokio::task::spawn_blocking(move || {
            let _permits = (admitted, running);
            let mut memory = take(&pool);
            let ok = match &hash {
                Some(hash) => verify_in(&mut memory, password.as_bytes(), hash),
                None => {
                    verify_in(&mut memory, password.as_bytes(), dummy_hash());
                    false
                }
            };
            put(&pool, memory);
            ok
        });
        // A panic in argon2 is a failed check, not a crashed request.
        Ok(task.await.unwrap_or(false))
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
}
