//! The full audit's proof and signature checks: transactions are gathered, in block order, into
//! batches of [`BATCH_TXS`] and each batch is verified with the batch verifier
//! ([`dfc_core::batch::verify_batch`]) on a pool of `jobs` threads, while the calling thread goes
//! on replaying the next blocks' structure. A failed batch falls back to one-by-one verification
//! inside the batch verifier, so the first bad transaction is still named exactly.
//!
//! At most `2 × jobs` batches are in flight, so memory stays bounded whatever the ledger's size.

use std::sync::mpsc;

use dfc_core::batch::{verify_batch, BatchItem};
use dfc_core::validate::InputNote;
use dfc_core::{NetworkParams, Transaction, TxError};

use super::{IntegrityError, Progress};

/// Transactions per batch: large enough that the shared generators' work is spread thin (see
/// `dfc_core::batch`), small enough that every thread gets work on a few thousand transactions.
pub const BATCH_TXS: usize = 128;

/// One transaction to verify, where it is, and its resolved inputs.
pub(super) struct Item {
    pub height: u64,
    pub index: usize,
    pub tx: Transaction,
    pub inputs: Vec<InputNote>,
}

/// The first failure of a batch: where, and what the one-by-one check says.
type Failure = (u64, usize, String);

/// What a batch sends back: transactions, microseconds spent verifying, first failure.
type Answer = (u64, u64, Option<Failure>);

/// Batches submitted to a thread pool, their results collected in any order.
pub(super) struct Pipeline<'p> {
    pool: rayon::ThreadPool,
    params: NetworkParams,
    gathering: Vec<Item>,
    in_flight: usize,
    max_in_flight: usize,
    tx: mpsc::Sender<Answer>,
    rx: mpsc::Receiver<Answer>,
    failures: Vec<Failure>,
    /// Thread time spent in the batch verifier, in microseconds.
    pub verify_us: u64,
    progress: Option<&'p dyn Progress>,
}

impl<'p> Pipeline<'p> {
    /// A pool of `jobs` threads (0: one per core).
    pub fn new(
        params: &NetworkParams,
        jobs: usize,
        progress: Option<&'p dyn Progress>,
    ) -> Result<Self, IntegrityError> {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(jobs)
            .thread_name(|i| format!("audit-{i}"))
            .build()
            .map_err(|e| IntegrityError::Pool(e.to_string()))?;
        let threads = pool.current_num_threads();
        let (tx, rx) = mpsc::channel();
        Ok(Pipeline {
            pool,
            params: params.clone(),
            gathering: Vec::new(),
            in_flight: 0,
            max_in_flight: 2 * threads.max(1),
            tx,
            rx,
            failures: Vec::new(),
            verify_us: 0,
            progress,
        })
    }

    /// Verifies the transactions queued from now on under `params` (a governance change in force
    /// from the next block): what was gathered under the old parameters is submitted first.
    pub fn set_params(&mut self, params: &NetworkParams) {
        self.submit();
        self.params = params.clone();
    }

    /// Queues one transaction; submits a batch when [`BATCH_TXS`] are gathered.
    pub fn push(&mut self, item: Item) {
        self.gathering.push(item);
        if self.gathering.len() >= BATCH_TXS {
            self.submit();
        }
    }

    fn submit(&mut self) {
        if self.gathering.is_empty() {
            return;
        }
        while self.in_flight >= self.max_in_flight {
            self.receive_one();
        }
        let batch = std::mem::take(&mut self.gathering);
        let params = self.params.clone();
        let tx = self.tx.clone();
        self.in_flight += 1;
        self.pool.spawn(move || {
            let n = u64::try_from(batch.len()).unwrap_or(u64::MAX);
            let items: Vec<BatchItem<'_>> =
                batch.iter().map(|i| (&i.tx, i.inputs.as_slice())).collect();
            let started = std::time::Instant::now();
            let results: Vec<Result<(), TxError>> = verify_batch(&items, &params);
            let us = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX);
            let failure = batch.iter().zip(results).find_map(|(item, r)| {
                r.err().map(|e| {
                    (
                        item.height,
                        item.index,
                        format!(
                            "transaction {} ({}) rejected: {e}",
                            item.index,
                            item.tx.id()
                        ),
                    )
                })
            });
            // The receiver lives until every batch answered (see `finish`).
            let _ = tx.send((n, us, failure));
        });
    }

    fn receive_one(&mut self) {
        if let Ok((n, us, failure)) = self.rx.recv() {
            self.in_flight -= 1;
            self.verify_us += us;
            if let Some(p) = self.progress {
                p.advance(n);
            }
            if let Some(f) = failure {
                self.failures.push(f);
            }
        }
    }

    /// Collects the batches already answered, without waiting.
    pub fn poll(&mut self) {
        while let Ok((n, us, failure)) = self.rx.try_recv() {
            self.in_flight -= 1;
            self.verify_us += us;
            if let Some(p) = self.progress {
                p.advance(n);
            }
            if let Some(f) = failure {
                self.failures.push(f);
            }
        }
    }

    /// Whether a batch failed already (the audit can stop early).
    pub fn failed(&self) -> bool {
        !self.failures.is_empty()
    }

    /// Submits the rest, waits for every batch and returns the first failure in block order.
    pub fn finish(mut self) -> (Option<Failure>, u64) {
        self.submit();
        while self.in_flight > 0 {
            self.receive_one();
        }
        self.failures.sort_by_key(|(h, i, _)| (*h, *i));
        (self.failures.into_iter().next(), self.verify_us)
    }

    /// Waits for the batches in flight, drops what is still gathered and returns the first
    /// failure (used when the structural replay stopped first, to report the earliest problem).
    pub fn abandon(mut self) -> Option<Failure> {
        self.gathering.clear();
        while self.in_flight > 0 {
            self.receive_one();
        }
        self.failures.sort_by_key(|(h, i, _)| (*h, *i));
        self.failures.into_iter().next()
    }
}
