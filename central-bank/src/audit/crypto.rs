//! The pipeline of the verifier threads: the blocks the structural replay accepted are gathered,
//! in block order, into batches of whole blocks holding at least [`BATCH_TXS`] transactions, and
//! each batch is checked by [`super::work::check`] (ids, transaction roots, node signatures over
//! blocks and receipts, and at [`Depth::Full`](super::Depth::Full) the transactions' signatures
//! and proofs with the batch verifier) on a pool of `jobs` threads, while the calling thread goes
//! on replaying the next blocks. A failed batch is checked again one record at a time, so the
//! first bad record is still named exactly.
//!
//! At most `2 × jobs` batches are in flight, so memory stays bounded whatever the ledger's size.

use std::sync::{mpsc, Arc};
use std::time::Duration;

use dfc_core::{NetworkParams, PublicKey};

use super::work::{self, BlockWork, Failure, Outcome};
use super::{IntegrityError, Progress};

/// Transactions per batch (at least; a batch holds whole blocks): large enough that the shared
/// generators' work is spread thin (see `dfc_core::batch`), small enough that every thread gets
/// work on a few thousand transactions.
pub const BATCH_TXS: usize = 128;

/// Blocks per batch at most, for ledgers of many empty or small blocks.
const BATCH_BLOCKS: usize = 512;

/// Batches submitted to a thread pool, their results collected in any order.
pub(super) struct Pipeline<'p> {
    pool: rayon::ThreadPool,
    proofs: bool,
    params: Arc<NetworkParams>,
    node_key: PublicKey,
    gathering: Vec<BlockWork>,
    gathered_txs: usize,
    in_flight: usize,
    max_in_flight: usize,
    tx: mpsc::Sender<Outcome>,
    rx: mpsc::Receiver<Outcome>,
    failures: Vec<Failure>,
    /// Wall time the threads spent in the batch verifier.
    pub verify_wall: Duration,
    /// CPU time the threads spent in the batch verifier.
    pub verify_cpu: Duration,
    progress: Option<&'p dyn Progress>,
}

impl<'p> Pipeline<'p> {
    /// A pool of `jobs` threads (0: one per core); `proofs` says whether transactions' signatures
    /// and proofs are verified too.
    pub fn new(
        params: &NetworkParams,
        jobs: usize,
        proofs: bool,
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
            proofs,
            params: Arc::new(params.clone()),
            node_key: params.node_key,
            gathering: Vec::new(),
            gathered_txs: 0,
            in_flight: 0,
            max_in_flight: 2 * threads.max(1),
            tx,
            rx,
            failures: Vec::new(),
            verify_wall: Duration::ZERO,
            verify_cpu: Duration::ZERO,
            progress,
        })
    }

    /// Checks the blocks queued from now on under `params` (a governance change in force from the
    /// next block, which may rotate the node key): what was gathered under the old parameters is
    /// submitted first.
    pub fn set_params(&mut self, params: &NetworkParams) {
        self.submit();
        self.params = Arc::new(params.clone());
        self.node_key = params.node_key;
    }

    /// The node key the blocks queued now are checked under.
    pub fn node_key(&self) -> &PublicKey {
        &self.node_key
    }

    /// Queues one block; submits a batch when [`BATCH_TXS`] transactions are gathered.
    pub fn push(&mut self, block: BlockWork) {
        self.gathered_txs += block.txs.len();
        self.gathering.push(block);
        if self.gathered_txs >= BATCH_TXS || self.gathering.len() >= BATCH_BLOCKS {
            self.submit();
        }
    }

    /// Submits what is gathered as one batch (after the last block, so that the verifier threads
    /// work while the caller goes on with other checks).
    pub fn flush(&mut self) {
        self.submit();
    }

    fn submit(&mut self) {
        if self.gathering.is_empty() {
            return;
        }
        while self.in_flight >= self.max_in_flight {
            self.receive_one();
        }
        let batch = std::mem::take(&mut self.gathering);
        self.gathered_txs = 0;
        let params = Arc::clone(&self.params);
        let node_key = self.node_key;
        let proofs = self.proofs;
        let tx = self.tx.clone();
        self.in_flight += 1;
        self.pool.spawn(move || {
            let outcome = work::check(&batch, &node_key, &params, proofs);
            // Dropping the batch here, on the verifier thread, keeps its deallocation off the
            // replay's thread. The receiver lives until every batch answered (see `finish`).
            drop(batch);
            let _ = tx.send(outcome);
        });
    }

    fn take(&mut self, o: Outcome) {
        self.in_flight -= 1;
        self.verify_wall += o.verify_wall;
        self.verify_cpu += o.verify_cpu;
        if let Some(p) = self.progress {
            p.advance(o.txs);
        }
        if let Some(f) = o.failure {
            self.failures.push(f);
        }
    }

    fn receive_one(&mut self) {
        if let Ok(o) = self.rx.recv() {
            self.take(o);
        }
    }

    /// Collects the batches already answered, without waiting.
    pub fn poll(&mut self) {
        while let Ok(o) = self.rx.try_recv() {
            self.take(o);
        }
    }

    /// Whether a batch failed already (the audit can stop early).
    pub fn failed(&self) -> bool {
        !self.failures.is_empty()
    }

    /// Submits the rest, waits for every batch and returns the first failure in block order.
    pub fn finish(mut self) -> (Option<Failure>, Duration, Duration) {
        self.submit();
        while self.in_flight > 0 {
            self.receive_one();
        }
        let first = self.failures.into_iter().min_by_key(|f| f.place);
        (first, self.verify_wall, self.verify_cpu)
    }

    /// Waits for the batches in flight, drops what is still gathered and returns the first
    /// failure (when the caller cancelled the check).
    pub fn abandon(mut self) -> Option<Failure> {
        self.gathering.clear();
        while self.in_flight > 0 {
            self.receive_one();
        }
        self.failures.into_iter().min_by_key(|f| f.place)
    }
}
