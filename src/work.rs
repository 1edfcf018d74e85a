//! Bounded heavy work: the one pool where CPU- or memory-heavy jobs run (regex and substring
//! scans, ASR parsing), away from the async workers that answer every other request.
//!
//! Owns admission, the worker count and deadlines; it does not know what a job does. A job is
//! a synchronous closure that receives a [`Deadline`] and checks it cooperatively (a scan loop
//! asks [`Deadline::expired`] every few segments and stops early).
//!
//! Decisions worth knowing:
//! - **A semaphore in front of `spawn_blocking`.** Tokio's blocking pool has 512 threads; left
//!   alone, 512 hostile searches would run at once on 2 cores. `workers` permits (default: the
//!   cores) bound how many jobs run; the permit moves into the job, so a job whose request was
//!   cancelled still holds its slot until it really stops.
//! - **A queue bound that sheds.** At most `queue` jobs wait for a worker; one more is refused
//!   at once ([`WorkError::Overloaded`], answered 503 `overloaded`) instead of queueing forever.
//! - **The deadline counts from admission.** Time spent waiting for a worker is part of the
//!   budget, so a job that never got a worker in time ends as [`WorkError::Timeout`] without
//!   starting.
//! - **Its own threads, at a lower priority.** Jobs run on a rayon pool of `workers` threads
//!   whose OS scheduling priority is lowered (nice 10, through `thread-priority`), not on
//!   tokio's blocking pool: when hostile searches fill every core, the async workers that
//!   answer `/api/me`, saves and claims still get the CPU first (weight 1024 against 110 per
//!   thread), so ordinary requests stay fast while the heavy ones slow down.
//! - **Cancellation is cooperative.** Dropping the future of [`Pool::run`] (a client that went
//!   away, the request timeout) marks the deadline expired, so the job stops at its next check.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use tokio::sync::Semaphore;

/// The settings of heavy work (part of the server's `Config`; README "Budgets").
#[derive(Debug, Clone)]
pub struct Budgets {
    /// Jobs running at once on the pool (default: the cores).
    pub workers: usize,
    /// Jobs waiting for a worker beyond which new ones are refused, 503 `overloaded` (64).
    pub queue: usize,
    /// Time one concordance search may take, queueing included (2 s); then 503 `search_timeout`.
    pub search_time: Duration,
    /// Time one ASR file may take to parse, queueing included (30 s).
    pub parse_time: Duration,
    /// What one ASR file may hold (elements, nesting); beyond it 413 `too_complex`.
    pub asr: crate::text::asr::Limits,
}

impl Default for Budgets {
    /// The defaults, each overridable by an environment variable (README "Budgets"):
    /// `FANGYAN_WORKERS`, `FANGYAN_WORK_QUEUE`, `FANGYAN_SEARCH_MS`, `FANGYAN_PARSE_MS`,
    /// `FANGYAN_ASR_TREE_MIB`.
    fn default() -> Self {
        let env = |name: &str| {
            std::env::var(name)
                .ok()
                .and_then(|v| v.trim().parse::<u64>().ok())
        };
        let size = |name: &str, default: usize| env(name).map_or(default, |v| v as usize);
        let ms = |name: &str, default: u64| Duration::from_millis(env(name).unwrap_or(default));
        Self {
            workers: size("FANGYAN_WORKERS", Pool::default_workers()),
            queue: size("FANGYAN_WORK_QUEUE", 64),
            search_time: ms("FANGYAN_SEARCH_MS", 2_000),
            parse_time: ms("FANGYAN_PARSE_MS", 30_000),
            asr: crate::text::asr::Limits {
                max_tree_bytes: size("FANGYAN_ASR_TREE_MIB", 32) << 20,
            },
        }
    }
}

/// Why a job did not produce its value.
#[derive(Debug, Clone, Copy, thiserror::Error, PartialEq, Eq)]
pub enum WorkError {
    /// Every worker is busy and the queue is full.
    #[error("the server is busy; try again in a moment")]
    Overloaded,
    /// The deadline passed while the job waited for a worker.
    #[error("the work did not start before its deadline")]
    Timeout,
    /// The job panicked (a bug): logged, answered 500.
    #[error("the job panicked")]
    Panicked,
}

impl From<WorkError> for crate::error::AppError {
    fn from(e: WorkError) -> Self {
        use crate::error::AppError;
        match e {
            WorkError::Overloaded => {
                AppError::Unavailable("overloaded", "the server is busy; try again in a moment")
            }
            WorkError::Timeout => {
                AppError::Unavailable("timeout", "the request took too long; try again")
            }
            WorkError::Panicked => AppError::Internal(anyhow::anyhow!("a pool job panicked")),
        }
    }
}

/// A point in time after which a job should stop, or an earlier cancellation.
#[derive(Debug, Clone)]
pub struct Deadline {
    at: Instant,
    cancelled: Arc<AtomicBool>,
}

impl Deadline {
    /// A deadline `budget` from now.
    pub fn after(budget: Duration) -> Self {
        Self {
            at: Instant::now() + budget,
            cancelled: Arc::default(),
        }
    }

    /// Whether the job should stop now: the time is up or the caller went away.
    pub fn expired(&self) -> bool {
        self.cancelled.load(Ordering::Relaxed) || Instant::now() >= self.at
    }

    /// The instant itself (for timeouts outside the pool, such as a database query).
    pub fn instant(&self) -> Instant {
        self.at
    }
}

/// Marks a deadline cancelled when the future awaiting the job is dropped before the job
/// ends; [`CancelOnDrop::disarm`] once it ended, so one deadline can serve several jobs in turn
/// (the concordance runs one per chunk).
struct CancelOnDrop(Option<Arc<AtomicBool>>);

impl CancelOnDrop {
    fn disarm(mut self) {
        self.0 = None;
    }
}

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        if let Some(flag) = &self.0 {
            flag.store(true, Ordering::Relaxed);
        }
    }
}

/// The bounded pool. Cheap to clone; clones share the bounds.
#[derive(Debug, Clone)]
pub struct Pool {
    /// Jobs running at once.
    workers: Arc<Semaphore>,
    /// Jobs admitted (running or waiting): `workers + queue`.
    admitted: Arc<Semaphore>,
    /// The `workers` threads the jobs run on (a job holds a worker permit, so it never waits
    /// in this pool's own queue).
    threads: Arc<rayon::ThreadPool>,
}

/// The nice value of the heavy-work threads (0 is normal, 19 the lowest priority).
pub const NICE: i32 = 10;

/// Lowers the calling thread's scheduling priority to [`NICE`]; where the platform refuses,
/// the thread keeps the normal priority (logged once per thread).
fn lower_priority() {
    use thread_priority::{ThreadPriority, ThreadPriorityValue};
    // thread-priority maps 0..=99 onto niceness -20..=19 in reverse: 22 is nice 10.
    let value = ThreadPriorityValue::try_from(22u8).map(ThreadPriority::Crossplatform);
    if let Err(e) = value
        .map_err(|e| format!("{e:?}"))
        .and_then(|p| thread_priority::set_current_thread_priority(p).map_err(|e| format!("{e:?}")))
    {
        tracing::warn!("heavy-work thread keeps its priority: {e}");
    }
}

impl Pool {
    /// A pool running `workers` jobs at once (at least 1) with up to `queue` waiting.
    pub fn new(workers: usize, queue: usize) -> Self {
        Self::named("fangyan-work", workers, queue)
    }

    /// [`Pool::new`] with threads called `{name}-{i}` (Linux keeps 15 bytes of a name).
    pub fn named(name: &'static str, workers: usize, queue: usize) -> Self {
        let workers = workers.max(1);
        let threads = rayon::ThreadPoolBuilder::new()
            .num_threads(workers)
            .thread_name(move |i| format!("{name}-{i}"))
            .start_handler(|_| lower_priority())
            .build()
            .unwrap_or_else(|e| panic!("cannot start the {workers} heavy-work threads: {e}"));
        Self {
            workers: Arc::new(Semaphore::new(workers)),
            admitted: Arc::new(Semaphore::new(workers + queue)),
            threads: Arc::new(threads),
        }
    }

    /// Worker count for this machine: its cores.
    pub fn default_workers() -> usize {
        std::thread::available_parallelism().map_or(2, usize::from)
    }

    /// Runs `job` on a worker thread once one is free, handing it `deadline` to check.
    ///
    /// Refuses at once when the queue is full; gives up with [`WorkError::Timeout`] when the
    /// deadline passes before a worker is free. The job's own early stop is its result.
    pub async fn run<T, F>(&self, deadline: Deadline, job: F) -> Result<T, WorkError>
    where
        T: Send + 'static,
        F: FnOnce(&Deadline) -> T + Send + 'static,
    {
        let admitted = Arc::clone(&self.admitted)
            .try_acquire_owned()
            .map_err(|_| WorkError::Overloaded)?;
        let worker = tokio::time::timeout_at(
            deadline.instant().into(),
            Arc::clone(&self.workers).acquire_owned(),
        )
        .await
        .map_err(|_| WorkError::Timeout)?
        .map_err(|_| WorkError::Overloaded)?;
        let cancel = CancelOnDrop(Some(Arc::clone(&deadline.cancelled)));
        let (done, out) = tokio::sync::oneshot::channel();
        self.threads.spawn(move || {
            let slots = (admitted, worker);
            let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| job(&deadline)));
            // The slots are free before the caller hears of the end, so its next job finds them.
            drop(slots);
            // The caller may have gone away; the job's end is then nobody's business.
            let _ = done.send(result);
        });
        let out = out.await;
        cancel.disarm();
        match out {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(_)) | Err(_) => {
                tracing::error!("pool job panicked");
                Err(WorkError::Panicked)
            }
        }
    }
}

/// Runs `job` on `pool` with a deadline `budget` from now (see [`Pool::run`]).
pub async fn run_bounded<T, F>(pool: &Pool, budget: Duration, job: F) -> Result<T, WorkError>
where
    T: Send + 'static,
    F: FnOnce(&Deadline) -> T + Send + 'static,
{
    pool.run(Deadline::after(budget), job).await
}

/// The nice value of a thread, from a Linux `/proc/…/stat` file (field 19; for tests).
#[cfg(all(test, target_os = "linux"))]
#[allow(clippy::unwrap_used)]
pub(crate) fn nice_of(stat: impl AsRef<std::path::Path>) -> i32 {
    let stat = std::fs::read_to_string(stat).unwrap();
    let after_name = &stat[stat.rfind(')').unwrap() + 2..];
    after_name.split(' ').nth(16).unwrap().parse().unwrap()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_deadline_outlives_a_job_that_ended() {
        let pool = Pool::new(1, 1);
        let deadline = Deadline::after(Duration::from_secs(5));
        pool.run(deadline.clone(), |_| ()).await.unwrap();
        assert!(
            !deadline.expired(),
            "a finished job must not cancel its deadline"
        );
        let again = pool.run(deadline.clone(), |d| d.expired()).await.unwrap();
        assert!(!again);
    }

    #[tokio::test]
    async fn a_full_queue_is_refused_at_once() {
        let pool = Pool::new(1, 0);
        let (tx, rx) = std::sync::mpsc::channel::<()>();
        let busy = pool.clone();
        let first = tokio::spawn(async move {
            run_bounded(&busy, Duration::from_secs(5), move |_| rx.recv().ok()).await
        });
        while pool.admitted.available_permits() > 0 {
            tokio::task::yield_now().await;
        }
        let second = run_bounded(&pool, Duration::from_secs(5), |_| ()).await;
        assert_eq!(second, Err(WorkError::Overloaded));
        tx.send(()).unwrap();
        assert_eq!(first.await.unwrap(), Ok(Some(())));
    }

    #[tokio::test]
    async fn waiting_past_the_deadline_times_out_and_the_job_sees_its_deadline() {
        let pool = Pool::new(1, 1);
        let (tx, rx) = std::sync::mpsc::channel::<()>();
        let busy = pool.clone();
        let first = tokio::spawn(async move {
            run_bounded(&busy, Duration::from_secs(5), move |_| rx.recv().ok()).await
        });
        while pool.workers.available_permits() > 0 {
            tokio::task::yield_now().await;
        }
        let waited = run_bounded(&pool, Duration::from_millis(50), |_| ()).await;
        assert_eq!(waited, Err(WorkError::Timeout));
        tx.send(()).unwrap();
        first.await.unwrap().unwrap();
        let stopped = run_bounded(&pool, Duration::from_millis(20), |d| {
            let start = Instant::now();
            while !d.expired() {
                std::thread::yield_now();
            }
            start.elapsed()
        })
        .await
        .unwrap();
        assert!(stopped < Duration::from_secs(2), "{stopped:?}");
    }

    /// The nice value of the calling thread.
    #[cfg(target_os = "linux")]
    fn own_nice() -> i32 {
        nice_of("/proc/thread-self/stat")
    }

    /// Issue 13: hostile searches on every core must leave the async workers the CPU, so the
    /// jobs run at a lower priority than the thread that asked for them.
    #[cfg(target_os = "linux")]
    #[tokio::test]
    async fn jobs_run_on_threads_of_lower_priority_than_the_server() {
        let pool = Pool::new(2, 2);
        let caller = own_nice();
        let nice = run_bounded(&pool, Duration::from_secs(5), |_| own_nice())
            .await
            .unwrap();
        assert_eq!((caller, nice), (0, NICE));
    }

    #[tokio::test]
    async fn a_job_that_panics_is_an_error_and_frees_its_worker() {
        let pool = Pool::new(1, 0);
        let out = run_bounded(&pool, Duration::from_secs(5), |_| -> u8 {
            panic!("a bug in a job")
        })
        .await;
        assert_eq!(out, Err(WorkError::Panicked));
        let again = run_bounded(&pool, Duration::from_secs(5), |_| 7).await;
        assert_eq!(again, Ok(7));
    }
}
