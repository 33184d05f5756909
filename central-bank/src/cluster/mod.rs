//! Several `dfc-bank serve --store postgres://…` nodes on one PostgreSQL ledger, exactly one of
//! them sealing (issue 17). `docs/architecture.md` ("Deployments") shows the design; in short:
//!
//! - **PostgreSQL is the ledger of record.** Every write the sealer makes (a block of transfers,
//!   or a command: a registration, an operator action, …) is committed there first, in one
//!   database transaction holding the block (written by the PostgreSQL block writer, so the
//!   schema refuses a second block at a height and a fork), the next position of the replication
//!   log (`store::pg::cluster`), the new audit-log entries, and the removal of the block's
//!   transactions from the hand-off queue. Only then does the sealer commit the same write to its
//!   own SQLite file.
//! - **Each node's SQLite ledger is a replica.** It applies the log in order through the
//!   sequencer's own code ([`crate::sequencer`]): a block is admitted and written by the same
//!   path the sealer used, except that the block is the stored one (its header checked against
//!   what the replica would have sealed: a replica that diverged stops); a command is applied at
//!   the time the sealer applied it. So every replica holds what the sealer's held (registry,
//!   proposals, nonces, governance), reads and cheap checks are served from it, and it never
//!   holds anything PostgreSQL did not commit.
//! - **One sealer** holds the lease (`store::pg::lease::SealerLease`, an advisory lock on a
//!   connection of its own). Before sealing it catches its replica up to the end of the log.
//!   Each node queues the transfers it accepted and verified in `handoff`; the sealer takes them
//!   in queue order. A command received by a node that does not seal is forwarded through
//!   `cluster_requests`; the node answers when its replica has applied the command (the answer
//!   is its own replay's) or when the sealer recorded a refusal.
//! - **Receipts only after the block's commit in PostgreSQL**: a node answers a transfer when the
//!   block holding it is in its replica (the sealer's signed receipt, from the block), or with the
//!   sealer's typed refusal.
//! - **Failover:** when the sealer dies its lease is released as soon as PostgreSQL sees its
//!   session end; another node takes it at its next try, catches up and seals. A sealer that lost
//!   its lease without knowing fails its next commit (the log position or the block height is
//!   taken) and goes back to following.

pub mod command;
mod driver;
mod hook;
pub mod sync;

use dfc_core::{Block, BlockHeader, Signature, Transaction};
use rusqlite::Connection;

use crate::error::StoreError;
use crate::store::BlockEffects;

pub use driver::run;

/// How a node joins a shared ledger (`dfc-bank serve --store postgres://…`).
#[derive(Clone, Debug)]
pub struct ClusterOptions {
    /// The PostgreSQL connection string (never logged: see `store::StoreLocation`).
    pub url: String,
    /// This node's name in the queue and the log (its listen address by default).
    pub node: String,
    /// How often an idle node reads the log, the queue and the lease, ms.
    pub poll_ms: u64,
    /// How often a node that does not seal tries to take the lease, ms.
    pub lease_try_ms: u64,
    /// How long a submission waits for its block before the node answers `not_yet_committed`
    /// (it stays queued: resubmitting it gives its one outcome), ms.
    pub wait_ms: u64,
}

/// Default poll interval, ms.
pub const DEFAULT_POLL_MS: u64 = 10;
/// Default interval between tries for the lease, ms.
pub const DEFAULT_LEASE_TRY_MS: u64 = 250;
/// Default wait of a submission for its block, ms.
pub const DEFAULT_WAIT_MS: u64 = 30_000;

impl ClusterOptions {
    /// Options with the defaults.
    pub fn new(url: String, node: String) -> Self {
        ClusterOptions {
            url,
            node,
            poll_ms: DEFAULT_POLL_MS,
            lease_try_ms: DEFAULT_LEASE_TRY_MS,
            wait_ms: DEFAULT_WAIT_MS,
        }
    }
}

/// What the sequencer calls on a node sharing a PostgreSQL ledger (none on a node of its own).
/// Methods take `&self` because the sequencer calls them while its SQLite transaction borrows it.
pub trait ClusterHook: Send {
    /// On replay, the stored block to write instead of sealing `header` over `txs` (an error if
    /// it is not the block the replica would have sealed); `None` when sealing.
    fn stored_block(
        &self,
        header: &BlockHeader,
        txs: &[Transaction],
    ) -> Result<Option<(Block, Vec<Signature>)>, StoreError>;
    /// The block a write transaction wrote, with its effects (written to PostgreSQL at
    /// [`ClusterHook::before_commit`]).
    fn block_written(&self, block: &Block, sigs: &[Signature], fx: &BlockEffects<'_>);
    /// Just before the SQLite commit of a write transaction: when sealing, commits it in
    /// PostgreSQL first (an error rolls the SQLite transaction back); in both cases records in
    /// `db` the log position it is.
    fn before_commit(&self, db: &Connection) -> Result<(), StoreError>;
}
