//! [`ClusterHook`] over PostgreSQL: what makes the sealer's writes durable in the shared ledger
//! before its replica commits them, and what feeds a replica the stored blocks it replays.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use dfc_core::governance::ApprovedChange;
use dfc_core::holdings::Holding;
use dfc_core::{Block, BlockHeader, Effects, PublicKey, Signature, Transaction, TxId};
use rusqlite::{params, Connection, OptionalExtension};

use super::ClusterHook;
use crate::error::StoreError;
use crate::store::pg::cluster::{self as log, AuditRow, LogEntry, LogKind};
use crate::store::pg::PgLedger;
use crate::store::{BlockEffects, LedgerRead, LedgerStore};

/// The replica's position in the log, kept in its SQLite file (written in the transaction of
/// each applied entry). Not a migration of the SQLite schema: only nodes of a shared ledger
/// create it.
const POSITION_TABLE: &str =
    "CREATE TABLE IF NOT EXISTS cluster_position (id INTEGER PRIMARY KEY CHECK (id = 0), pos INTEGER NOT NULL)";

/// The replica's position (0 before its first entry).
pub(crate) fn replica_position(conn: &Connection) -> Result<u64, StoreError> {
    conn.execute_batch(POSITION_TABLE)?;
    let pos: Option<i64> = conn
        .query_row("SELECT pos FROM cluster_position WHERE id = 0", [], |r| {
            r.get(0)
        })
        .optional()?;
    u64::try_from(pos.unwrap_or(0))
        .map_err(|_| StoreError::corrupt("cluster_position", "negative position"))
}

fn set_position(db: &Connection, pos: u64) -> Result<(), StoreError> {
    let pos =
        i64::try_from(pos).map_err(|_| StoreError::corrupt("cluster_position", "overflow"))?;
    db.execute(
        "INSERT INTO cluster_position (id, pos) VALUES (0, ?1) ON CONFLICT (id) DO UPDATE SET pos = excluded.pos",
        params![pos],
    )?;
    Ok(())
}

/// What the next write transaction is.
#[derive(Debug, Clone)]
pub(crate) enum Mode {
    /// Nothing expected: a write now is a bug (refused).
    Idle,
    /// Sealing a block of transfers.
    SealBlock,
    /// Applying a command live (as the sealer), recorded with its time and request.
    SealCommand {
        /// The command's JSON.
        body: String,
        /// The forwarded request it answers.
        request: Option<i64>,
        /// The registry records it may write (copied to PostgreSQL with it).
        registry: Box<(Vec<PublicKey>, Option<PublicKey>)>,
    },
    /// Replaying log position `pos`.
    Replay {
        /// The position.
        pos: u64,
    },
}

/// A block written in the current transaction, with its effects, owned until the commit.
struct Written {
    block: Block,
    sigs: Vec<Signature>,
    effects: Vec<Effects>,
    holdings: HashMap<PublicKey, Holding>,
}

struct State {
    pg: PgLedger,
    node: String,
    mode: Mode,
    /// The time of the current write, ms.
    time_ms: u64,
    written: Option<Written>,
    /// The replica's position.
    applied: u64,
    /// Set when the current write committed its log position.
    committed: bool,
}

/// The hook, shared between the sequencer (which calls it) and the driver (which sets its mode).
#[derive(Clone)]
pub(crate) struct PgHook {
    state: Arc<Mutex<State>>,
}

impl PgHook {
    /// A hook writing through `pg`, the replica being at `applied`.
    pub(crate) fn new(pg: PgLedger, node: String, applied: u64) -> Self {
        PgHook {
            state: Arc::new(Mutex::new(State {
                pg,
                node,
                mode: Mode::Idle,
                time_ms: 0,
                written: None,
                applied,
                committed: false,
            })),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        match self.state.lock() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        }
    }

    /// Sets what the next write is, at `time_ms`.
    pub(crate) fn expect(&self, mode: Mode, time_ms: u64) {
        let mut s = self.lock();
        s.mode = mode;
        s.time_ms = time_ms;
        s.written = None;
        s.committed = false;
    }

    /// Ends the current write: whether it committed a log position.
    pub(crate) fn finish(&self) -> bool {
        let mut s = self.lock();
        s.mode = Mode::Idle;
        s.written = None;
        std::mem::take(&mut s.committed)
    }

    /// The replica's position.
    pub(crate) fn applied(&self) -> u64 {
        self.lock().applied
    }
}

/// The stored block at `height` with its receipt signatures.
fn stored_at(pg: &PgLedger, height: u64) -> Result<(Block, Vec<Signature>), StoreError> {
    let block = pg
        .blocks_from(height, 1)?
        .into_iter()
        .next()
        .filter(|b| b.header.height == height)
        .ok_or_else(|| StoreError::corrupt("blocks", format!("block {height} is not stored")))?;
    let mut sigs = Vec::with_capacity(block.txs.len());
    for tx in &block.txs {
        let r = pg.receipt_of(&tx.id())?.ok_or_else(|| {
            StoreError::corrupt(
                "txs",
                format!("block {height}: a transaction has no receipt"),
            )
        })?;
        sigs.push(r.signature);
    }
    Ok((block, sigs))
}

/// New audit-log rows of the replica's transaction (`seq` above `after`).
fn audit_rows_after(db: &Connection, after: i64) -> Result<Vec<AuditRow>, StoreError> {
    let mut st = db.prepare(
        "SELECT seq, time_ms, operator, action, detail, prev_hash, hash FROM audit_log WHERE seq > ?1 ORDER BY seq",
    )?;
    let rows = st.query_map(params![after], |r| {
        Ok(AuditRow {
            seq: r.get(0)?,
            time_ms: r.get(1)?,
            operator: r.get(2)?,
            action: r.get(3)?,
            detail: r.get(4)?,
            prev_hash: r.get(5)?,
            hash: r.get(6)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// The scheduled parameter changes in the replica's transaction, in order, with their row ids.
fn scheduled_changes(db: &Connection) -> Result<Vec<(i64, ApprovedChange)>, StoreError> {
    // `list` gives the newest first.
    Ok(crate::governance::store::list(db, u32::MAX)?
        .into_iter()
        .rev()
        .filter(|s| s.state == "scheduled")
        .map(|s| {
            (
                s.id,
                ApprovedChange {
                    change: s.change,
                    approvals: s.approvals,
                },
            )
        })
        .collect())
}

/// The purse certificates of `purse` in the replica's transaction.
fn purse_rows(db: &Connection, purse: &PublicKey) -> Result<Vec<log::PurseRow>, StoreError> {
    let mut st = db.prepare(
        "SELECT serial, purse_key, wallet, cert, issued_ms, expires_ms FROM purses WHERE purse_key = ?1",
    )?;
    let rows = st.query_map(params![&purse.to_bytes()[..]], |r| {
        Ok(log::PurseRow {
            serial: r.get(0)?,
            purse_key: r.get(1)?,
            wallet: r.get(2)?,
            cert: r.get(3)?,
            issued_ms: r.get(4)?,
            expires_ms: r.get(5)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

impl ClusterHook for PgHook {
    fn stored_block(
        &self,
        header: &BlockHeader,
        txs: &[Transaction],
    ) -> Result<Option<(Block, Vec<Signature>)>, StoreError> {
        let s = self.lock();
        let Mode::Replay { pos } = s.mode else {
            return Ok(None);
        };
        let (block, sigs) = stored_at(&s.pg, header.height)?;
        // The replica must have sealed this very block: the same parent, supply, parameters,
        // audit-log anchor, history root and time, over the same transactions.
        let mut expected = header.clone();
        expected.tx_root = block.header.tx_root;
        expected.tx_count = block.header.tx_count;
        let same_txs = block.txs.len() == txs.len()
            && block.txs.iter().zip(txs).all(|(a, b)| a.id() == b.id());
        if expected != block.header || !same_txs {
            return Err(StoreError::corrupt(
                "cluster_log",
                format!(
                    "log position {pos}: the replica does not reach block {} as stored (it diverged; \
                     it would seal {expected:?} over {} transactions, the ledger holds {:?} over {}); it stops",
                    header.height,
                    txs.len(),
                    block.header,
                    block.txs.len()
                ),
            ));
        }
        Ok(Some((block, sigs)))
    }

    fn block_written(&self, block: &Block, sigs: &[Signature], fx: &BlockEffects<'_>) {
        self.lock().written = Some(Written {
            block: block.clone(),
            sigs: sigs.to_vec(),
            effects: fx.txs.to_vec(),
            holdings: fx.holdings.clone(),
        });
    }

    fn before_commit(&self, db: &Connection) -> Result<(), StoreError> {
        let mut guard = self.lock();
        let s = &mut *guard;
        let pos = s.applied + 1;
        let kind = match &s.mode {
            Mode::Idle => {
                return Err(StoreError::corrupt(
                    "cluster_log",
                    "a write outside the replication log; refused",
                ))
            }
            Mode::Replay { pos: p } => {
                if *p != pos {
                    return Err(StoreError::corrupt(
                        "cluster_log",
                        format!("replaying position {p} after {}", s.applied),
                    ));
                }
                set_position(db, pos)?;
                s.applied = pos;
                s.committed = true;
                return Ok(());
            }
            Mode::SealBlock => {
                let w = s.written.as_ref().ok_or_else(|| {
                    StoreError::corrupt("cluster_log", "a transfer commit without a block")
                })?;
                // A block is replayed at its own time.
                s.time_ms = w.block.header.time_ms;
                LogKind::Block(w.block.header.height)
            }
            Mode::SealCommand { body, request, .. } => LogKind::Command {
                body: body.clone(),
                request: *request,
            },
        };
        let registry = match &s.mode {
            Mode::SealCommand { registry, .. } => (**registry).clone(),
            _ => (Vec::new(), None),
        };
        let entry = LogEntry {
            pos,
            kind,
            time_ms: s.time_ms,
            node: s.node.clone(),
        };
        let tx = s.pg.begin()?;
        if let Some(w) = &s.written {
            let fx = BlockEffects {
                txs: &w.effects,
                holdings: &w.holdings,
            };
            tx.write_block(&w.block, &w.sigs, &fx)?;
            let ids: Vec<TxId> = w.block.txs.iter().map(Transaction::id).collect();
            log::dequeue_committed(&tx, &ids)?;
        }
        log::append(&tx, &entry)?;
        for key in &registry.0 {
            if let Some(w) = crate::store::wallet(db, key)? {
                log::upsert_wallet(&tx, &w)?;
            }
        }
        if let Some(purse) = &registry.1 {
            for row in purse_rows(db, purse)? {
                log::insert_purse(&tx, &row)?;
            }
        }
        if matches!(s.mode, Mode::SealCommand { .. }) {
            // A governance command may have scheduled a change: the audit of the shared ledger
            // judges later blocks under it.
            crate::store::pg::governance::copy_scheduled(&tx, &scheduled_changes(db)?)?;
        }
        let rows = audit_rows_after(db, log::audit_tail(&tx)?)?;
        log::append_audit_rows(&tx, &rows)?;
        set_position(db, pos)?;
        tx.commit()?;
        s.applied = pos;
        s.committed = true;
        Ok(())
    }
}
