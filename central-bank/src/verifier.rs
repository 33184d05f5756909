//! The verification pool: transactions that passed the cheap checks wait here for their proofs and
//! signatures to be verified, off the async runtime, on one worker thread per core.
//!
//! Each worker takes the oldest waiting transaction and, in batch mode, every other one waiting up
//! to [`MAX_BATCH`], and verifies them together with `dfc_core::batch::verify_batch` (one
//! multiscalar multiplication for all range and balance proofs, one signature batch; a failed
//! batch is bisected to name the bad transactions). Batches grow with the load: an idle node
//! verifies each payment alone with no added latency, a saturated one verifies hundreds at once.
//! Under load (another worker is verifying a batch now) a worker that found fewer than
//! [`GATHER_TARGET`] waits up to [`GATHER_WAIT`] for more before verifying: the per-transaction
//! cost of a batch falls steeply up to a few dozen (the shared generators are paid once per batch),
//! and the wait costs no CPU. When no other worker is verifying, a core is free and waiting would
//! only add latency, so it verifies what it found at once ([`should_gather`]); and when other
//! workers are idle it takes only its share of what is waiting (at least [`MIN_SHARE`],
//! [`batch_cap`]), leaving the rest to them, so a burst is verified on every core at once instead
//! of one core verifying it all while the others wait. With batching off,
//! workers verify one transaction at a time (`verify_crypto`), which is the baseline the
//! benchmarks compare against.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, RecvTimeoutError, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use dfc_core::validate::verify_crypto;
use dfc_core::{InputNote, NetworkParams, Transaction, TxError};
use tokio::sync::oneshot;

/// Most transactions verified in one batch.
pub const MAX_BATCH: usize = 256;
/// Most transactions waiting for verification; beyond it submissions get `queue_full`.
pub const MAX_WAITING: usize = 4096;
/// Under load, the batch size a worker waits for (up to [`GATHER_WAIT`]) before verifying.
pub const GATHER_TARGET: usize = 64;
/// The longest a worker waits for a batch to fill under load.
pub const GATHER_WAIT: Duration = Duration::from_millis(2);
/// The smallest share of the waiting transactions a worker takes when it leaves the rest to idle
/// workers: below it the generators shared by a batch cost more per transaction than the wait.
pub const MIN_SHARE: usize = 16;
/// The shortest time between two log lines of the batch-size counters.
const REPORT_EVERY: Duration = Duration::from_secs(5);

struct Job {
    tx: Transaction,
    inputs: Vec<InputNote>,
    /// The parameters in force when it was submitted (governance can change them).
    params: Arc<NetworkParams>,
    reply: oneshot::Sender<Result<(), TxError>>,
}

/// Why a transaction could not be verified at all.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum VerifyError {
    /// The transaction is invalid.
    #[error(transparent)]
    Rejected(#[from] TxError),
    /// Too many transactions are waiting.
    #[error("the verification queue is full ({MAX_WAITING} waiting); retry later")]
    QueueFull,
    /// The pool has stopped.
    #[error("the verification pool has stopped")]
    Stopped,
}

/// Handle to the pool; cheap to clone.
#[derive(Clone)]
pub struct Verifier {
    queue: SyncSender<Job>,
    pool: Arc<Pool>,
}

/// What the workers know of each other: how many there are, how many are verifying now, and how
/// many jobs wait in the queue.
struct Pool {
    workers: usize,
    busy: AtomicUsize,
    waiting: AtomicUsize,
}

impl Verifier {
    /// Starts `workers` worker threads, batching if `batch`.
    pub fn start(workers: usize, batch: bool) -> std::io::Result<Verifier> {
        let (queue, rx) = sync_channel::<Job>(MAX_WAITING);
        let rx = Arc::new(Mutex::new(rx));
        let pool = Arc::new(Pool {
            workers: workers.max(1),
            busy: AtomicUsize::new(0),
            waiting: AtomicUsize::new(0),
        });
        for i in 0..workers.max(1) {
            let (rx, pool) = (rx.clone(), pool.clone());
            std::thread::Builder::new()
                .name(format!("verifier-{i}"))
                .spawn(move || work(&rx, &pool, batch))?;
        }
        Ok(Verifier { queue, pool })
    }

    /// Verifies `tx` (its inputs already resolved) under `params` and waits for the verdict.
    pub async fn verify(
        &self,
        tx: Transaction,
        inputs: Vec<InputNote>,
        params: Arc<NetworkParams>,
    ) -> Result<(), VerifyError> {
        let (reply, verdict) = oneshot::channel();
        // Counted before it is sent, so a worker never counts it out before it was counted in.
        self.pool.waiting.fetch_add(1, Ordering::AcqRel);
        let sent = self.queue.try_send(Job {
            tx,
            inputs,
            params,
            reply,
        });
        if sent.is_err() {
            self.pool.waiting.fetch_sub(1, Ordering::AcqRel);
        }
        match sent {
            Ok(()) => {}
            Err(TrySendError::Full(_)) => return Err(VerifyError::QueueFull),
            Err(TrySendError::Disconnected(_)) => return Err(VerifyError::Stopped),
        }
        verdict
            .await
            .map_err(|_| VerifyError::Stopped)?
            .map_err(VerifyError::Rejected)
    }
}

/// Whether a worker that took `taken` jobs waits up to [`GATHER_WAIT`] for more: only in batch
/// mode, below [`GATHER_TARGET`], and while `others_busy` other workers are verifying (the node
/// is under load; with a core free, waiting would only add latency).
pub fn should_gather(batch: bool, taken: usize, others_busy: usize) -> bool {
    batch && taken < GATHER_TARGET && others_busy > 0
}

/// How many jobs a worker takes when `available` are waiting (its first included) and
/// `idle_others` other workers are free: one in one-by-one mode; all (up to [`MAX_BATCH`]) when
/// no other worker is free; otherwise an even share, but never less than [`MIN_SHARE`].
pub fn batch_cap(batch: bool, available: usize, idle_others: usize) -> usize {
    if !batch {
        return 1;
    }
    if idle_others == 0 {
        return MAX_BATCH;
    }
    available
        .div_ceil(idle_others + 1)
        .clamp(MIN_SHARE, MAX_BATCH)
}

/// Takes the oldest job and, in batch mode, whatever else is waiting up to [`batch_cap`]; if
/// [`should_gather`], also what arrives within [`GATHER_WAIT`].
fn take(rx: &Mutex<Receiver<Job>>, pool: &Pool, batch: bool) -> Option<Vec<Job>> {
    let rx = match rx.lock() {
        Ok(rx) => rx,
        Err(p) => p.into_inner(),
    };
    let received = |job: Job| {
        pool.waiting.fetch_sub(1, Ordering::AcqRel);
        job
    };
    let first = received(rx.recv().ok()?);
    let busy = pool.busy.load(Ordering::Acquire);
    // This worker is not counted as busy while it takes.
    let idle_others = pool.workers.saturating_sub(busy + 1);
    let available = pool.waiting.load(Ordering::Acquire) + 1;
    let cap = batch_cap(batch, available, idle_others);
    let mut jobs = vec![first];
    while jobs.len() < cap {
        match rx.try_recv() {
            Ok(job) => jobs.push(received(job)),
            Err(_) => break,
        }
    }
    if should_gather(batch, jobs.len(), busy) {
        let deadline = Instant::now() + GATHER_WAIT;
        while jobs.len() < GATHER_TARGET.min(cap) {
            let left = deadline.saturating_duration_since(Instant::now());
            match rx.recv_timeout(left) {
                Ok(job) => jobs.push(received(job)),
                Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => break,
            }
        }
    }
    Some(jobs)
}

/// Transactions and batches verified since start, shared by the workers, logged at most every
/// [`REPORT_EVERY`] (the mean batch size is what decides the cost per transaction).
static VERIFIED_TXS: AtomicU64 = AtomicU64::new(0);
static VERIFIED_BATCHES: AtomicU64 = AtomicU64::new(0);
static LAST_REPORT: Mutex<Option<Instant>> = Mutex::new(None);

fn count(jobs: usize) {
    let txs = VERIFIED_TXS.fetch_add(jobs as u64, Ordering::Relaxed) + jobs as u64;
    let batches = VERIFIED_BATCHES.fetch_add(1, Ordering::Relaxed) + 1;
    let mut last = match LAST_REPORT.lock() {
        Ok(l) => l,
        Err(p) => p.into_inner(),
    };
    let now = Instant::now();
    if last.is_none_or(|t| now.duration_since(t) >= REPORT_EVERY) {
        *last = Some(now);
        drop(last);
        tracing::info!(
            txs,
            batches,
            mean_batch = txs as f64 / batches as f64,
            "verification batches since start"
        );
    }
}

/// Counts a worker as verifying while it lives.
struct Busy<'a>(&'a AtomicUsize);

impl<'a> Busy<'a> {
    fn new(busy: &'a AtomicUsize) -> Self {
        busy.fetch_add(1, Ordering::AcqRel);
        Busy(busy)
    }
}

impl Drop for Busy<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

fn work(rx: &Mutex<Receiver<Job>>, pool: &Pool, batch: bool) {
    while let Some(jobs) = take(rx, pool, batch) {
        let _verifying = Busy::new(&pool.busy);
        count(jobs.len());
        // A batch shares one set of parameters; jobs submitted across a parameter change are
        // verified one by one, each under its own.
        let shared = jobs.iter().all(|j| Arc::ptr_eq(&j.params, &jobs[0].params));
        let verdicts: Vec<Result<(), TxError>> = if jobs.len() == 1 || !shared {
            jobs.iter()
                .map(|j| verify_crypto(&j.tx, &j.params, &j.inputs))
                .collect()
        } else {
            let items: Vec<dfc_core::batch::BatchItem<'_>> =
                jobs.iter().map(|j| (&j.tx, j.inputs.as_slice())).collect();
            dfc_core::batch::verify_batch(&items, &jobs[0].params)
        };
        for (job, verdict) in jobs.into_iter().zip(verdicts) {
            // A submitter that gave up (timeout, closed connection) no longer listens.
            let _ = job.reply.send(verdict);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A worker waits for a fuller batch only while another one is verifying: an idle node
    /// verifies at once, and one-by-one mode never waits.
    #[test]
    fn gathers_only_under_load() {
        assert!(!should_gather(true, 1, 0), "a free core: verify now");
        assert!(!should_gather(true, 10, 0), "a free core: verify now");
        assert!(should_gather(true, 1, 1), "another batch in progress");
        assert!(should_gather(true, GATHER_TARGET - 1, 1));
        assert!(!should_gather(true, GATHER_TARGET, 1), "full enough");
        assert!(!should_gather(false, 1, 1), "one by one never waits");
    }

    /// With other workers free a burst is shared out, never in pieces below the minimum; with
    /// none free a worker takes all it may; one-by-one mode takes one.
    #[test]
    fn bursts_are_shared_with_idle_workers() {
        assert_eq!(batch_cap(true, 64, 1), 32, "two workers, half each");
        assert_eq!(batch_cap(true, 20, 1), MIN_SHARE, "not below the minimum");
        assert_eq!(batch_cap(true, 3, 1), MIN_SHARE);
        assert_eq!(batch_cap(true, 64, 0), MAX_BATCH, "nobody to share with");
        assert_eq!(batch_cap(true, 2000, 1), MAX_BATCH);
        assert_eq!(batch_cap(true, 90, 2), 30);
        assert_eq!(batch_cap(false, 64, 1), 1);
    }
}
