//! Moving a SQLite ledger onto PostgreSQL: the registry and the operator audit log are copied as
//! they are, and every block is replayed through the same admission the sequencer runs
//! (`BatchState::admit`, reading through [`DbView::over`] the PostgreSQL transaction) and written
//! with [`LedgerStore::write_block`]. So the PostgreSQL ledger is not a row copy that could carry
//! a bad row across: its notes, spent set, pending flags and holdings are recomputed on the way,
//! and a block the rules refuse stops the import. All of it is one PostgreSQL transaction: an
//! import that fails leaves the database as it was.
//!
//! The registry is taken as it stands at the end (tiers, freezes): a ledger whose wallets were
//! frozen after they paid is refused (typed error) rather than copied past the rule.

use dfc_core::{BatchState, NetworkParams};
use rusqlite::Connection;
use thiserror::Error;

use super::super::*;
use super::{PgConn, PgLedger};

/// Blocks read from SQLite per query.
const CHUNK: usize = 256;

/// Why an import stopped (nothing was written).
#[derive(Debug, Error)]
pub enum ImportError {
    /// Reading SQLite or writing PostgreSQL failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The PostgreSQL ledger already has blocks.
    #[error(
        "the PostgreSQL ledger is not empty (it has block {0}): import only into a new database"
    )]
    NotEmpty(u64),
    /// The SQLite ledger has no genesis block.
    #[error("the SQLite ledger has no genesis block")]
    NoGenesis,
    /// A stored transaction is refused by the rules on replay.
    #[error("block {height}: transaction {txid} is refused on replay: {reason}")]
    Refused {
        /// Its block.
        height: u64,
        /// The transaction.
        txid: TxId,
        /// The rule's message.
        reason: String,
    },
    /// A committed transaction has no stored receipt signature.
    #[error("block {height}: transaction {txid} has no receipt")]
    NoReceipt {
        /// Its block.
        height: u64,
        /// The transaction.
        txid: TxId,
    },
}

/// What an import wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Imported {
    /// Blocks (genesis included).
    pub blocks: u64,
    /// Transactions.
    pub txs: u64,
    /// Registered wallets.
    pub wallets: u64,
    /// Operator audit-log entries.
    pub audit_entries: u64,
}

/// Imports the SQLite ledger `src` into the empty PostgreSQL ledger `dst`, replaying every
/// block under `params`.
pub fn import_sqlite(
    src: &Connection,
    dst: &mut PgLedger,
    params: &NetworkParams,
) -> Result<Imported, ImportError> {
    if let Some(t) = dst.tip()? {
        return Err(ImportError::NotEmpty(t.header.height));
    }
    if tip(src)?.is_none() {
        return Err(ImportError::NoGenesis);
    }
    let tx = dst.begin()?;
    let mut done = Imported {
        blocks: 0,
        txs: 0,
        wallets: 0,
        audit_entries: 0,
    };
    done.wallets = copy_registry(src, &tx)?;
    done.audit_entries = copy_audit_log(src, &tx)?;
    let mut from = 0u64;
    loop {
        let blocks = blocks_from(src, from, CHUNK)?;
        let Some(last) = blocks.last() else { break };
        from = last.header.height + 1;
        for block in &blocks {
            replay_block(src, &tx, params, block)?;
            done.blocks += 1;
            done.txs += block.txs.len() as u64;
        }
    }
    tx.commit()?;
    Ok(done)
}

fn replay_block(
    src: &Connection,
    dst: &PgConn<postgres::Transaction<'_>>,
    params: &NetworkParams,
    block: &Block,
) -> Result<(), ImportError> {
    let height = block.header.height;
    let view = DbView::over(dst);
    let mut batch = BatchState::new(params.turnover_period(block.header.time_ms));
    let mut effects = Vec::with_capacity(block.txs.len());
    let mut sigs = Vec::with_capacity(block.txs.len());
    for t in &block.txs {
        let txid = t.id();
        let verdict = batch.admit(t, params, &view);
        view.finish()?;
        match verdict {
            Ok(fx) => effects.push(fx),
            Err(e) => {
                return Err(ImportError::Refused {
                    height,
                    txid,
                    reason: e.to_string(),
                })
            }
        }
        let receipt = receipt(src, &txid)?.ok_or(ImportError::NoReceipt { height, txid })?;
        sigs.push(receipt.signature);
    }
    let fx = BlockEffects {
        txs: &effects,
        holdings: batch.holdings(),
    };
    dst.write_block(block, &sigs, &fx)?;
    Ok(())
}

/// Copies wallets (with their registry version and freeze reason) and purse certificates.
fn copy_registry(src: &Connection, dst: &PgConn<postgres::Transaction<'_>>) -> StoreResult<u64> {
    let mut n = 0u64;
    for w in wallets(src, usize::MAX)? {
        dst.register_wallet(&w)?;
        let version = to_i64(w.registry_version)?;
        dst.with(|c| {
            c.execute(
                "UPDATE wallets SET registry_version = $2, freeze_reason = $3 WHERE spend_key = $1",
                &[&&w.address.spend.to_bytes()[..], &version, &w.freeze_reason],
            )?;
            Ok(())
        })?;
        n += 1;
    }
    let mut st = src.prepare(
        "SELECT serial, purse_key, wallet, cert, issued_ms, expires_ms FROM purses ORDER BY serial",
    )?;
    let rows = st.query_map([], |r| {
        Ok((
            r.get::<_, i64>(0)?,
            r.get::<_, Vec<u8>>(1)?,
            r.get::<_, Vec<u8>>(2)?,
            r.get::<_, String>(3)?,
            r.get::<_, i64>(4)?,
            r.get::<_, i64>(5)?,
        ))
    })?;
    for row in rows {
        let (serial, key, wallet, cert, issued, expires) = row?;
        dst.with(|c| {
            c.execute(
                "INSERT INTO purses (serial, purse_key, wallet, cert, issued_ms, expires_ms) VALUES ($1, $2, $3, $4, $5, $6)",
                &[&serial, &key, &wallet, &cert, &issued, &expires],
            )?;
            Ok(())
        })?;
    }
    Ok(n)
}

/// Copies the hash-chained operator audit log as it is (block headers anchor its head).
fn copy_audit_log(src: &Connection, dst: &PgConn<postgres::Transaction<'_>>) -> StoreResult<u64> {
    let mut st = src.prepare(
        "SELECT seq, time_ms, operator, action, detail, prev_hash, hash FROM audit_log ORDER BY seq",
    )?;
    let rows = st.query_map([], |r| {
        Ok((
            r.get::<_, i64>(0)?,
            r.get::<_, i64>(1)?,
            r.get::<_, Option<i64>>(2)?,
            r.get::<_, String>(3)?,
            r.get::<_, String>(4)?,
            r.get::<_, Vec<u8>>(5)?,
            r.get::<_, Vec<u8>>(6)?,
        ))
    })?;
    let mut n = 0u64;
    for row in rows {
        let (seq, time, op, action, detail, prev, hash) = row?;
        dst.with(|c| {
            c.execute(
                "INSERT INTO audit_log (seq, time_ms, operator, action, detail, prev_hash, hash) VALUES ($1, $2, $3, $4, $5, $6, $7)",
                &[&seq, &time, &op, &action, &detail, &prev, &hash],
            )?;
            Ok(())
        })?;
        n += 1;
    }
    Ok(n)
}
