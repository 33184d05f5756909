//! Re-verification of the ledger from genesis: the startup integrity check of `serve` and the
//! full `dfc-bank audit`.
//!
//! Both replay every block against an in-memory state ([`replay`]): header hash, chain link, the
//! stateful rules (inputs exist and are unspent, outputs are fresh), the supply recorded in each
//! header, and at the end ([`tables`]) that the stored notes and spent tables equal the replay,
//! the operator audit log's hash chain and the supply invariant. The checks of each block that
//! need no ledger state (stored ids, transaction root, the node's signatures over the block and
//! its receipts, batched) run on a pool of verifier threads while the replay goes on ([`crypto`],
//! [`work`]); the full audit adds every transaction's signatures and proofs there, with the batch
//! verifier. It can start from a trusted summary instead of genesis ([`checkpoint`]).
//! `serve` runs this structural replay only when its ledger has no usable signed summary
//! (see [`crate::summary`]).

mod checkpoint;
pub mod cosigned;
mod crypto;
mod replay;
pub mod shared;
mod tables;
mod work;

pub use checkpoint::trusted as trusted_checkpoint;
pub use crypto::BATCH_TXS;
pub use tables::verify_audit_log;

use dfc_core::{Amount, BlockHeader, Hash32, NetworkParams};
use rusqlite::Connection;
use serde::Serialize;
use thiserror::Error;

use crate::error::StoreError;
use crate::store;
use crate::summary::Summary;

/// How much to verify.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Depth {
    /// Everything but the transactions' signatures and proofs (node startup).
    Structure,
    /// Everything (the `audit` command).
    Full,
}

/// The first bad record found.
#[derive(Debug, Error)]
pub enum IntegrityError {
    /// A block (or one of its transactions or notes) does not verify.
    #[error("block {height}: {reason}")]
    Block {
        /// Height of the first bad block.
        height: u64,
        /// What is wrong.
        reason: String,
    },
    /// An audit-log entry does not chain.
    #[error("audit log entry {seq}: {reason}")]
    AuditLog {
        /// Sequence number of the first bad entry.
        seq: u64,
        /// What is wrong.
        reason: String,
    },
    /// The stored notes or spent tables do not match the replay of the blocks.
    #[error("{table} table: {reason}")]
    Table {
        /// Table.
        table: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// The supply invariant does not hold.
    #[error("supply invariant: {0}")]
    Supply(String),
    /// The ledger is empty.
    #[error("the ledger has no genesis block")]
    NoGenesis,
    /// The ledger could not be read.
    #[error("storage: {0}")]
    Store(#[from] StoreError),
    /// The trusted checkpoint does not fit this ledger.
    #[error("checkpoint: {0}")]
    Checkpoint(String),
    /// A checkpoint co-signed by k operators names another block than the ledger's, or a
    /// stored checkpoint signature does not verify.
    #[error("co-signed checkpoint at height {height}: {reason}")]
    Cosigned {
        /// Height of the first failing checkpoint.
        height: u64,
        /// What is wrong.
        reason: String,
    },
    /// The caller cancelled the check before block `height`.
    #[error("cancelled before block {height}")]
    Cancelled {
        /// The next block that would have been checked.
        height: u64,
    },
    /// The verification threads could not be started.
    #[error("cannot start the verification threads: {0}")]
    Pool(String),
}

/// What a successful check found.
#[derive(Clone, Debug, Serialize)]
pub struct LedgerSummary {
    /// Tip height.
    pub height: u64,
    /// Tip header.
    pub tip: BlockHeader,
    /// Public supply at the tip.
    pub supply: Amount,
    /// Unspent notes.
    pub notes_outstanding: u64,
    /// Transactions committed.
    pub tx_count: u64,
    /// Audit log entries.
    pub audit_entries: u64,
    /// Hash of the last audit log entry (zero if none).
    pub audit_head: Hash32,
    /// Thread time spent in the batch verifier, in microseconds (0 without proof checks): wall
    /// time of the verifier threads inside it, summed.
    pub verify_us: u64,
    /// CPU time of the verifier threads inside the batch verifier, in microseconds (0 without
    /// proof checks): the batched verification cost of the audited transactions, measured.
    pub verify_cpu_us: u64,
    /// The highest height co-signed by k operators that this ledger holds, if any
    /// ([`cosigned`]).
    pub anchored_height: Option<u64>,
}

impl From<rusqlite::Error> for IntegrityError {
    fn from(e: rusqlite::Error) -> Self {
        IntegrityError::Store(StoreError::from(e))
    }
}

/// Reports the progress of a check and lets its caller cancel it. Implemented by the command
/// line's progress bar and the console's background audit.
pub trait Progress: Sync {
    /// Called once before the first block with the number of transactions to check.
    fn start(&self, total_txs: u64);
    /// `txs` more transactions were fully checked.
    fn advance(&self, txs: u64);
    /// Whether the caller asked to stop (checked before each block).
    fn cancelled(&self) -> bool {
        false
    }
}

/// How to run a check.
#[derive(Clone, Copy)]
pub struct AuditOptions<'a> {
    /// How much to verify.
    pub depth: Depth,
    /// Threads verifying proofs and signatures (0: one per core).
    pub jobs: usize,
    /// Start from this trusted summary instead of genesis (see [`checkpoint`]).
    pub from: Option<&'a Summary>,
    /// Progress and cancellation.
    pub progress: Option<&'a dyn Progress>,
    /// Co-signed checkpoints the auditor brings (kept outside the node), checked with those
    /// stored in the ledger.
    pub cosigned: &'a [dfc_core::cosign::CosignedCheckpoint],
}

impl AuditOptions<'_> {
    /// Every check, from genesis, on every core, silently.
    pub fn full() -> Self {
        AuditOptions {
            depth: Depth::Full,
            jobs: 0,
            from: None,
            progress: None,
            cosigned: &[],
        }
    }
}

/// Verifies the ledger in `conn` from genesis to its tip.
pub fn verify_ledger(
    conn: &Connection,
    params: &NetworkParams,
    depth: Depth,
) -> Result<LedgerSummary, IntegrityError> {
    verify_with(
        conn,
        params,
        &AuditOptions {
            depth,
            ..AuditOptions::full()
        },
    )
}

/// Verifies the ledger in `conn` as `opts` asks.
pub fn verify_with(
    conn: &Connection,
    params: &NetworkParams,
    opts: &AuditOptions<'_>,
) -> Result<LedgerSummary, IntegrityError> {
    if let Some(p) = opts.progress {
        let total = store::counts(conn)?.1;
        let done = opts.from.map_or(0, Summary::tx_count);
        p.start(total.saturating_sub(done));
    }
    replay::run(conn, params, opts)
}

/// The result of `dfc-bank audit`, as printed with `--json`.
#[derive(Clone, Debug, Serialize)]
pub struct AuditReport {
    /// Whether everything verified.
    pub pass: bool,
    /// Tip height (if verified).
    pub height: Option<u64>,
    /// Supply in minor units (if verified).
    pub supply_units: Option<u64>,
    /// Supply as a decimal with the currency.
    pub supply: Option<String>,
    /// Unspent notes.
    pub notes_outstanding: Option<u64>,
    /// Transactions.
    pub tx_count: Option<u64>,
    /// Audit log entries.
    pub audit_entries: Option<u64>,
    /// The first bad record, on failure.
    pub error: Option<String>,
    /// Thread time spent in the batch verifier, in microseconds (with `elapsed_ms`, the audit's
    /// cost per transaction against the batched verification cost measured in the same run).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub verify_us: Option<u64>,
    /// CPU time of the verifier threads inside the batch verifier, in microseconds (with the
    /// process's own CPU time, the audit's cost against the batched verification cost on a
    /// machine shared with other work).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub verify_cpu_us: Option<u64>,
}

/// Runs the full audit and makes the report.
pub fn audit_report(conn: &Connection, params: &NetworkParams) -> AuditReport {
    audit_report_with(conn, params, &AuditOptions::full())
}

/// Runs the audit `opts` describes and makes the report.
pub fn audit_report_with(
    conn: &Connection,
    params: &NetworkParams,
    opts: &AuditOptions<'_>,
) -> AuditReport {
    report_of(&verify_with(conn, params, opts), params)
}

/// The report of a check's result.
pub fn report_of(
    result: &Result<LedgerSummary, IntegrityError>,
    params: &NetworkParams,
) -> AuditReport {
    match result {
        Ok(s) => AuditReport {
            pass: true,
            height: Some(s.height),
            supply_units: Some(s.supply.units()),
            supply: Some(params.format(s.supply)),
            notes_outstanding: Some(s.notes_outstanding),
            tx_count: Some(s.tx_count),
            audit_entries: Some(s.audit_entries),
            error: None,
            verify_us: Some(s.verify_us),
            verify_cpu_us: Some(s.verify_cpu_us),
        },
        Err(e) => AuditReport {
            pass: false,
            height: None,
            supply_units: None,
            supply: None,
            notes_outstanding: None,
            tx_count: None,
            audit_entries: None,
            error: Some(e.to_string()),
            verify_us: None,
            verify_cpu_us: None,
        },
    }
}

impl AuditReport {
    /// The report of a check's result (what `dfc-bank audit --json` prints).
    pub fn from_result(
        result: Result<LedgerSummary, IntegrityError>,
        params: &NetworkParams,
    ) -> Self {
        report_of(&result, params)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::datadir::{init, InitOptions, LEDGER_FILE};

    fn fresh() -> (tempfile::TempDir, NetworkParams, Connection) {
        let dir = tempfile::tempdir().expect("tempdir");
        let report = init(dir.path(), &InitOptions::default()).expect("init");
        let conn = store::open_writer(&dir.path().join(LEDGER_FILE)).expect("open");
        (dir, report.params, conn)
    }

    #[test]
    fn genesis_verifies() {
        let (_dir, params, conn) = fresh();
        let s = verify_ledger(&conn, &params, Depth::Full).expect("a fresh ledger verifies");
        assert_eq!(
            (s.height, s.supply, s.notes_outstanding, s.audit_entries),
            (0, Amount::ZERO, 0, 1)
        );
    }

    #[test]
    fn tampered_header_names_the_block() {
        let (_dir, params, conn) = fresh();
        let header: String = conn
            .query_row("SELECT header FROM blocks WHERE height = 0", [], |r| {
                r.get(0)
            })
            .expect("genesis");
        let forged = header.replace("\"supply\":0", "\"supply\":100");
        assert_ne!(forged, header, "the header JSON holds the supply");
        conn.execute("UPDATE blocks SET header = ?1 WHERE height = 0", [forged])
            .expect("tamper");
        match verify_ledger(&conn, &params, Depth::Structure) {
            Err(IntegrityError::Block { height: 0, .. }) => {}
            other => panic!("expected block 0 to be named, got {other:?}"),
        }
    }

    #[test]
    fn tampered_audit_log_names_the_entry() {
        let (_dir, params, conn) = fresh();
        store::append_audit(&conn, 5, Some(1), "freeze", "{}").expect("append");
        store::append_audit(&conn, 6, Some(1), "unfreeze", "{}").expect("append");
        verify_ledger(&conn, &params, Depth::Structure).expect("chained log verifies");
        conn.execute("UPDATE audit_log SET detail = 'x' WHERE seq = 2", [])
            .expect("tamper");
        match verify_ledger(&conn, &params, Depth::Structure) {
            Err(IntegrityError::AuditLog { seq: 2, .. }) => {}
            other => panic!("expected entry 2 to be named, got {other:?}"),
        }
    }

    #[test]
    fn a_spend_row_without_a_block_is_found() {
        let (_dir, params, conn) = fresh();
        conn.execute(
            "INSERT INTO spent (note_id, txid, height) VALUES (?1, ?1, 0)",
            [vec![7u8; 32]],
        )
        .expect("insert");
        assert!(matches!(
            verify_ledger(&conn, &params, Depth::Structure),
            Err(IntegrityError::Table { table: "spent", .. })
        ));
    }
}
