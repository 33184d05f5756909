//! The wallet database: one SQLite file per wallet (`wallet.db`), WAL journal, `synchronous=FULL`
//! (a committed payment record survives power loss: the whole point of storing a transaction
//! before sending it).
//!
//! What is in the clear and what is sealed with the wallet's [`DataKey`]:
//! - clear: note ids, heights, spent/reserved flags, transaction ids and hex (they are or will be
//!   public on the ledger), history kinds, the pinned network parameters and bank URL;
//! - sealed (XChaCha20-Poly1305, associated data = table name and row id, so a value cannot be moved
//!   to another row): note openings (amount, blinding, memo), the amount/recipient/memo of outgoing
//!   transactions and of history entries.
//!
//! So a stolen database reveals how many notes and transactions a wallet has, but not its balance,
//! amounts, counterparties or the blindings needed to link commitments.

use std::path::{Path, PathBuf};
use std::time::Duration;

use curve25519_dalek::scalar::Scalar;
use dfc_core::api::Receipt;
use dfc_core::history::HistoryPeaks;
use dfc_core::{Amount, BlockHeader, Hash32, NetworkParams, NoteId, Opening, PublicKey, TxId};
use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};
use rusqlite_migration::{Migrations, M};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::error::{Result, WalletError};
use crate::keystore::DataKey;

pub mod offline;

const MIGRATIONS: &[M<'static>] = &[
    M::up(
        "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
     CREATE TABLE notes (
         id TEXT NOT NULL UNIQUE,
         created_txid TEXT NOT NULL,
         created_height INTEGER NOT NULL,
         sealed BLOB NOT NULL,
         reserved_by TEXT,
         spent_txid TEXT,
         spent_height INTEGER
     );
     CREATE INDEX notes_reserved ON notes(reserved_by);
     CREATE TABLE outgoing (
         txid TEXT NOT NULL UNIQUE,
         kind TEXT NOT NULL,
         tx_hex TEXT NOT NULL,
         state TEXT NOT NULL,
         sealed BLOB NOT NULL,
         created_ms INTEGER NOT NULL,
         updated_ms INTEGER NOT NULL,
         height INTEGER,
         receipt TEXT,
         error TEXT
     );
     CREATE TABLE history (
         txid TEXT NOT NULL UNIQUE,
         kind TEXT NOT NULL,
         height INTEGER NOT NULL,
         time_ms INTEGER NOT NULL,
         sealed BLOB NOT NULL
     );",
    ),
    M::up(offline::SCHEMA),
    // Received notes are pending until claimed within the holding and turnover limits; a claimed
    // note remembers the turnover period it counted in.
    M::up(
        "ALTER TABLE notes ADD COLUMN pending INTEGER NOT NULL DEFAULT 0;
         ALTER TABLE notes ADD COLUMN claimed_period INTEGER;",
    ),
];

/// State of an outgoing transaction.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutgoingState {
    /// Stored, inputs reserved, not known to be committed.
    Pending,
    /// A redemption waiting for operator approvals.
    AwaitingApproval,
    /// Committed (receipt or block seen).
    Committed,
    /// Rejected for good; inputs released.
    Rejected,
}

impl OutgoingState {
    /// Name stored in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            OutgoingState::Pending => "pending",
            OutgoingState::AwaitingApproval => "awaiting_approval",
            OutgoingState::Committed => "committed",
            OutgoingState::Rejected => "rejected",
        }
    }
    fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "pending" => OutgoingState::Pending,
            "awaiting_approval" => OutgoingState::AwaitingApproval,
            "committed" => OutgoingState::Committed,
            "rejected" => OutgoingState::Rejected,
            _ => return None,
        })
    }
    /// Whether the transaction still holds its inputs and may yet commit.
    pub fn is_open(self) -> bool {
        matches!(
            self,
            OutgoingState::Pending | OutgoingState::AwaitingApproval
        )
    }
}

/// The secret details of an outgoing transaction (sealed in the database).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutgoingDetail {
    /// Amount paid or redeemed, in minor units.
    pub amount_units: u64,
    /// Recipient address (transfers).
    pub to: Option<String>,
    /// Memo.
    pub memo: String,
    /// Change back to the wallet, in minor units.
    pub change_units: u64,
}

/// An outgoing transaction as stored.
#[derive(Clone, Debug)]
pub struct Outgoing {
    /// Transaction id.
    pub txid: TxId,
    /// `transfer` or `redeem`.
    pub kind: String,
    /// Hex of the exact transaction to (re)submit.
    pub tx_hex: String,
    /// State.
    pub state: OutgoingState,
    /// Secret details.
    pub detail: OutgoingDetail,
    /// Creation time, ms since the epoch.
    pub created_ms: u64,
    /// Height of the block that committed it.
    pub height: Option<u64>,
    /// The receipt, once known.
    pub receipt: Option<Receipt>,
    /// Why it was rejected.
    pub error: Option<String>,
}

/// The secret details of a history entry (sealed).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryDetail {
    /// Amount, in minor units.
    pub amount_units: u64,
    /// The other party, when known (the recipient of our own payments).
    pub counterparty: Option<String>,
    /// Memo (of a received note, or of our own payment).
    pub memo: String,
}

/// A history entry.
#[derive(Clone, Debug)]
pub struct HistoryEntry {
    /// Transaction id.
    pub txid: TxId,
    /// `incoming`, `outgoing`, `issue`, `redeem` or `self`.
    pub kind: String,
    /// Block height.
    pub height: u64,
    /// Block time, ms since the epoch.
    pub time_ms: u64,
    /// Details.
    pub detail: HistoryDetail,
}

/// A note the wallet owns.
#[derive(Clone, Debug)]
pub struct OwnedNote {
    /// Note id.
    pub id: NoteId,
    /// Its opening.
    pub opening: Opening,
    /// Height of the block that created it.
    pub created_height: u64,
    /// The stored outgoing transaction that reserves it.
    pub reserved_by: Option<TxId>,
    /// Pending: received but not yet claimed (not spendable).
    pub pending: bool,
    /// The transaction that created it.
    pub created_txid: TxId,
    /// The turnover period in which it was claimed, if it was.
    pub claimed_period: Option<u64>,
}

/// The wallet database.
pub struct Store {
    conn: Connection,
    path: PathBuf,
}

/// Converts a height or time to SQLite's integer.
pub(crate) fn sql_int(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

pub(crate) fn from_sql_int(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}

/// Milliseconds since the Unix epoch.
pub(crate) fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

fn encode_opening(o: &Opening) -> Zeroizing<Vec<u8>> {
    let mut v = Zeroizing::new(Vec::with_capacity(8 + 32 + 1 + o.memo.len()));
    v.extend_from_slice(&o.amount.units().to_le_bytes());
    v.extend_from_slice(o.blinding.as_bytes());
    v.extend_from_slice(&o.memo);
    v
}

fn decode_opening(bytes: &[u8]) -> Option<Opening> {
    if bytes.len() < 40 {
        return None;
    }
    let amount = Amount::from_units(u64::from_le_bytes(bytes[..8].try_into().ok()?)).ok()?;
    let blinding_bytes: [u8; 32] = bytes[8..40].try_into().ok()?;
    let blinding: Option<Scalar> = Scalar::from_canonical_bytes(blinding_bytes).into();
    Some(Opening {
        amount,
        blinding: blinding?,
        memo: bytes[40..].to_vec(),
    })
}

fn note_aad(id: &NoteId) -> Vec<u8> {
    [b"notes/".as_slice(), &id.0].concat()
}
fn outgoing_aad(txid: &TxId) -> Vec<u8> {
    [b"outgoing/".as_slice(), &txid.0].concat()
}
fn history_aad(txid: &TxId) -> Vec<u8> {
    [b"history/".as_slice(), &txid.0].concat()
}

impl Store {
    /// Opens (creating if needed) the database at `path`, applies migrations, and checks it belongs
    /// to the wallet with spend key `owner` (binding it on first open).
    pub fn open(path: &Path, owner: &PublicKey) -> Result<Store> {
        let corrupted = |reason: String| WalletError::CorruptedDatabase {
            path: path.to_path_buf(),
            reason,
        };
        if !path.exists() {
            // Create the file owner-only before SQLite opens it; its -wal and -shm files inherit
            // the mode.
            let mut opts = std::fs::OpenOptions::new();
            opts.write(true).create_new(true);
            #[cfg(unix)]
            {
                use std::os::unix::fs::OpenOptionsExt;
                opts.mode(0o600);
            }
            opts.open(path).map_err(|source| WalletError::Io {
                path: path.to_path_buf(),
                source,
            })?;
        }
        let mut conn = Connection::open(path).map_err(|e| corrupted(e.to_string()))?;
        conn.busy_timeout(Duration::from_secs(30))
            .map_err(|e| corrupted(e.to_string()))?;
        let mode: String = conn
            .query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0))
            .map_err(|e| corrupted(e.to_string()))?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(corrupted(format!(
                "could not switch to WAL (journal mode {mode})"
            )));
        }
        conn.execute_batch("PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;")
            .map_err(|e| corrupted(e.to_string()))?;
        Migrations::from_slice(MIGRATIONS)
            .to_latest(&mut conn)
            .map_err(|e| corrupted(format!("schema migration failed: {e}")))?;
        let store = Store {
            conn,
            path: path.to_path_buf(),
        };
        let owner_hex = hex::encode(owner.to_bytes());
        match store.meta("owner")? {
            Some(existing) if existing != owner_hex => {
                return Err(corrupted(
                    "the database belongs to another wallet's keys".into(),
                ))
            }
            Some(_) => {}
            None => store.set_meta("owner", &owner_hex)?,
        }
        Ok(store)
    }

    /// Path of the database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    pub(crate) fn corrupted(&self, reason: impl Into<String>) -> WalletError {
        WalletError::CorruptedDatabase {
            path: self.path.clone(),
            reason: reason.into(),
        }
    }

    /// A meta value.
    pub fn meta(&self, key: &str) -> Result<Option<String>> {
        Ok(self
            .conn
            .query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
            .optional()?)
    }

    /// Sets a meta value.
    pub fn set_meta(&self, key: &str, value: &str) -> Result<()> {
        set_meta(&self.conn, key, value)
    }

    /// The history of the blocks this wallet verified one by one (full sync), if it has it: the
    /// empty history before the first block; `None` once a light sync skipped blocks.
    pub fn block_history(&self) -> Result<Option<HistoryPeaks>> {
        let Some(text) = self.meta(HISTORY_KEY)? else {
            return Ok((self.sync_height()? == 0).then(HistoryPeaks::new));
        };
        let bad = || self.corrupted("the stored block history does not decode");
        let stored: StoredHistory = serde_json::from_str(&text).map_err(|_| bad())?;
        HistoryPeaks::from_peaks(stored.leaf_count, stored.peaks)
            .map(Some)
            .ok_or_else(bad)
    }

    /// The pinned network parameters, if registered.
    pub fn params(&self) -> Result<Option<NetworkParams>> {
        match self.meta("params")? {
            None => Ok(None),
            Some(text) => serde_json::from_str(&text)
                .map(Some)
                .map_err(|e| self.corrupted(format!("pinned parameters unreadable: {e}"))),
        }
    }

    /// Pins the network parameters, bank URL and tier after registration.
    pub fn set_registration(
        &mut self,
        params: &NetworkParams,
        bank_url: &str,
        tier: u8,
    ) -> Result<()> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        set_meta(
            &tx,
            "params",
            &serde_json::to_string(params).expect("params serialise"),
        )?;
        set_meta(&tx, "bank_url", bank_url)?;
        set_meta(&tx, "tier", &tier.to_string())?;
        tx.commit()?;
        Ok(())
    }

    /// Next block height to download.
    pub fn sync_height(&self) -> Result<u64> {
        Ok(self
            .meta("sync_height")?
            .map(|s| {
                s.parse::<u64>()
                    .map_err(|_| self.corrupted("sync height unreadable"))
            })
            .transpose()?
            .unwrap_or(0))
    }

    /// Header of the last synced block.
    pub fn tip_header(&self) -> Result<Option<BlockHeader>> {
        self.meta("tip_header")?
            .map(|t| {
                serde_json::from_str(&t)
                    .map_err(|e| self.corrupted(format!("tip header unreadable: {e}")))
            })
            .transpose()
    }

    /// Starts a write transaction applying one block (see [`BlockWriter`]).
    pub fn begin_block(&mut self) -> Result<BlockWriter<'_>> {
        let path = self.path.clone();
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        Ok(BlockWriter { tx, path })
    }

    /// Every unspent note, reserved or not, pending or not.
    pub fn unspent_notes(&self, data: &DataKey) -> Result<Vec<OwnedNote>> {
        self.notes_where(data, "spent_height IS NULL")
    }

    /// Every note claimed in turnover period `period`, spent or not (what the ledger's inflow
    /// commitment sums).
    pub fn claimed_in(&self, data: &DataKey, period: u64) -> Result<Vec<OwnedNote>> {
        self.notes_where(
            data,
            &format!(
                "claimed_period = {}",
                i64::try_from(period).unwrap_or(i64::MAX)
            ),
        )
    }

    fn notes_where(&self, data: &DataKey, filter: &str) -> Result<Vec<OwnedNote>> {
        let mut stmt = self.conn.prepare(&format!(
            "SELECT id, sealed, created_height, reserved_by, pending, claimed_period, created_txid FROM notes WHERE {filter} ORDER BY rowid"
        ))?;
        let rows = stmt.query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, Vec<u8>>(1)?,
                r.get::<_, i64>(2)?,
                r.get::<_, Option<String>>(3)?,
                r.get::<_, bool>(4)?,
                r.get::<_, Option<i64>>(5)?,
                r.get::<_, String>(6)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (id, sealed, height, reserved, pending, claimed, created) = row?;
            let created_txid = Hash32::from_hex(&created)
                .map_err(|e| self.corrupted(format!("note creator: {e}")))?;
            let id = Hash32::from_hex(&id).map_err(|e| self.corrupted(format!("note id: {e}")))?;
            let opening = open_note(data, &id, &sealed)
                .ok_or_else(|| self.corrupted(format!("note {id} does not decrypt")))?;
            let reserved_by = reserved
                .map(|t| {
                    Hash32::from_hex(&t).map_err(|e| self.corrupted(format!("reservation: {e}")))
                })
                .transpose()?;
            out.push(OwnedNote {
                id,
                opening,
                created_height: from_sql_int(height),
                reserved_by,
                pending,
                created_txid,
                claimed_period: claimed.map(from_sql_int),
            });
        }
        Ok(out)
    }

    /// Stores a built outgoing transaction as pending and reserves its inputs, atomically. Fails with
    /// [`WalletError::ConcurrentChange`] if any input is already reserved or spent, in which case
    /// nothing is written.
    pub fn record_outgoing(
        &mut self,
        data: &DataKey,
        txid: &TxId,
        kind: &str,
        tx_hex: &str,
        inputs: &[NoteId],
        detail: &OutgoingDetail,
    ) -> Result<()> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let txid_hex = txid.to_hex();
        for input in inputs {
            let n = tx.execute(
                "UPDATE notes SET reserved_by = ?1 WHERE id = ?2 AND reserved_by IS NULL AND spent_height IS NULL",
                params![txid_hex, input.to_hex()],
            )?;
            if n != 1 {
                // Dropping `tx` rolls back the reservations made so far.
                return Err(WalletError::ConcurrentChange);
            }
        }
        let sealed = data.seal(
            &outgoing_aad(txid),
            &serde_json::to_vec(detail).expect("details serialise"),
        );
        let now = sql_int(now_ms());
        tx.execute(
            "INSERT INTO outgoing (txid, kind, tx_hex, state, sealed, created_ms, updated_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6)",
            params![txid_hex, kind, tx_hex, OutgoingState::Pending.as_str(), sealed, now],
        )?;
        tx.commit()?;
        Ok(())
    }

    /// Sets the state of an outgoing transaction (and its receipt / error).
    pub fn set_outgoing_state(
        &mut self,
        txid: &TxId,
        state: OutgoingState,
        receipt: Option<&Receipt>,
        error: Option<&str>,
    ) -> Result<()> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let txid_hex = txid.to_hex();
        let receipt_json = receipt.map(|r| serde_json::to_string(r).expect("receipts serialise"));
        tx.execute(
            "UPDATE outgoing SET state = ?2, updated_ms = ?3,
                 receipt = COALESCE(?4, receipt), height = COALESCE(?5, height), error = COALESCE(?6, error)
             WHERE txid = ?1",
            params![
                txid_hex,
                state.as_str(),
                sql_int(now_ms()),
                receipt_json,
                receipt.map(|r| sql_int(r.height)),
                error
            ],
        )?;
        if state == OutgoingState::Rejected {
            tx.execute(
                "UPDATE notes SET reserved_by = NULL WHERE reserved_by = ?1 AND spent_height IS NULL",
                [&txid_hex],
            )?;
        }
        tx.commit()?;
        Ok(())
    }

    /// Outgoing transactions, newest first; only open ones if `open_only`.
    pub fn outgoing(&self, data: &DataKey, open_only: bool) -> Result<Vec<Outgoing>> {
        let mut stmt = self.conn.prepare(
            "SELECT txid, kind, tx_hex, state, sealed, created_ms, height, receipt, error FROM outgoing ORDER BY rowid DESC",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, Vec<u8>>(4)?,
                r.get::<_, i64>(5)?,
                r.get::<_, Option<i64>>(6)?,
                r.get::<_, Option<String>>(7)?,
                r.get::<_, Option<String>>(8)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (txid, kind, tx_hex, state, sealed, created_ms, height, receipt, error) = row?;
            let state = OutgoingState::parse(&state)
                .ok_or_else(|| self.corrupted(format!("unknown state {state}")))?;
            if open_only && !state.is_open() {
                continue;
            }
            let txid = Hash32::from_hex(&txid).map_err(|e| self.corrupted(format!("txid: {e}")))?;
            let plain = data
                .open(&outgoing_aad(&txid), &sealed)
                .ok_or_else(|| self.corrupted(format!("outgoing {txid} does not decrypt")))?;
            let detail: OutgoingDetail = serde_json::from_slice(&plain)
                .map_err(|e| self.corrupted(format!("outgoing {txid}: {e}")))?;
            let receipt = receipt
                .map(|r| {
                    serde_json::from_str(&r)
                        .map_err(|e| self.corrupted(format!("receipt of {txid}: {e}")))
                })
                .transpose()?;
            out.push(Outgoing {
                txid,
                kind,
                tx_hex,
                state,
                detail,
                created_ms: from_sql_int(created_ms),
                height: height.map(from_sql_int),
                receipt,
                error,
            });
        }
        Ok(out)
    }

    /// History, oldest first.
    pub fn history(&self, data: &DataKey) -> Result<Vec<HistoryEntry>> {
        let mut stmt = self.conn.prepare(
            "SELECT txid, kind, height, time_ms, sealed FROM history ORDER BY height, rowid",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, i64>(2)?,
                r.get::<_, i64>(3)?,
                r.get::<_, Vec<u8>>(4)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (txid, kind, height, time_ms, sealed) = row?;
            let txid = Hash32::from_hex(&txid).map_err(|e| self.corrupted(format!("txid: {e}")))?;
            let plain = data
                .open(&history_aad(&txid), &sealed)
                .ok_or_else(|| self.corrupted(format!("history entry {txid} does not decrypt")))?;
            let detail: HistoryDetail = serde_json::from_slice(&plain)
                .map_err(|e| self.corrupted(format!("history {txid}: {e}")))?;
            out.push(HistoryEntry {
                txid,
                kind,
                height: from_sql_int(height),
                time_ms: from_sql_int(time_ms),
                detail,
            });
        }
        Ok(out)
    }
}

/// The meta key of the verified block history ([`Store::block_history`]).
const HISTORY_KEY: &str = "history_peaks";

/// The verified block history as stored: its leaf count and peaks.
#[derive(Serialize, Deserialize)]
struct StoredHistory {
    leaf_count: u64,
    peaks: Vec<Hash32>,
}

fn set_meta(conn: &Connection, key: &str, value: &str) -> Result<()> {
    conn.execute(
        "INSERT INTO meta (key, value) VALUES (?1, ?2) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        params![key, value],
    )?;
    Ok(())
}

fn open_note(data: &DataKey, id: &NoteId, sealed: &[u8]) -> Option<Opening> {
    let plain = data.open(&note_aad(id), sealed)?;
    decode_opening(&plain)
}

/// One block's changes, applied in a single SQLite transaction: either the whole block is recorded
/// (notes, spends, history, pending confirmations, the new tip) or none of it.
pub struct BlockWriter<'a> {
    tx: rusqlite::Transaction<'a>,
    path: PathBuf,
}

impl BlockWriter<'_> {
    /// The opening of our unspent note `id`, if it is ours.
    pub fn own_note(&self, data: &DataKey, id: &NoteId) -> Result<Option<Opening>> {
        let sealed: Option<Vec<u8>> = self
            .tx
            .query_row(
                "SELECT sealed FROM notes WHERE id = ?1 AND spent_height IS NULL",
                [id.to_hex()],
                |r| r.get(0),
            )
            .optional()?;
        match sealed {
            None => Ok(None),
            Some(s) => {
                open_note(data, id, &s)
                    .map(Some)
                    .ok_or_else(|| WalletError::CorruptedDatabase {
                        path: self.path.clone(),
                        reason: format!("note {id} does not decrypt"),
                    })
            }
        }
    }

    /// Records a received note (idempotent on the note id); `pending` if it must be claimed.
    pub fn add_note(
        &self,
        data: &DataKey,
        id: &NoteId,
        txid: &TxId,
        height: u64,
        opening: &Opening,
        pending: bool,
    ) -> Result<()> {
        let sealed = data.seal(&note_aad(id), &encode_opening(opening));
        self.tx.execute(
            "INSERT OR IGNORE INTO notes (id, created_txid, created_height, sealed, pending) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![id.to_hex(), txid.to_hex(), sql_int(height), sealed, pending],
        )?;
        Ok(())
    }

    /// Whether our note `id` is pending.
    pub fn note_pending(&self, id: &NoteId) -> Result<bool> {
        Ok(self
            .tx
            .query_row(
                "SELECT pending FROM notes WHERE id = ?1",
                [id.to_hex()],
                |r| r.get::<_, bool>(0),
            )
            .optional()?
            .unwrap_or(false))
    }

    /// Marks our note `id` claimed in turnover period `period` (spendable from now on).
    pub fn claim_note(&self, id: &NoteId, period: u64) -> Result<()> {
        self.tx.execute(
            "UPDATE notes SET pending = 0, claimed_period = ?2 WHERE id = ?1",
            params![id.to_hex(), sql_int(period)],
        )?;
        Ok(())
    }

    /// Marks our note spent (clearing any reservation).
    pub fn spend_note(&self, id: &NoteId, txid: &TxId, height: u64) -> Result<()> {
        self.tx.execute(
            "UPDATE notes SET spent_txid = ?2, spent_height = ?3, reserved_by = NULL WHERE id = ?1",
            params![id.to_hex(), txid.to_hex(), sql_int(height)],
        )?;
        Ok(())
    }

    /// Records a history entry (idempotent on the txid).
    pub fn add_history(
        &self,
        data: &DataKey,
        txid: &TxId,
        kind: &str,
        height: u64,
        time_ms: u64,
        detail: &HistoryDetail,
    ) -> Result<()> {
        let sealed = data.seal(
            &history_aad(txid),
            &serde_json::to_vec(detail).expect("details serialise"),
        );
        self.tx.execute(
            "INSERT OR IGNORE INTO history (txid, kind, height, time_ms, sealed) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![txid.to_hex(), kind, sql_int(height), sql_int(time_ms), sealed],
        )?;
        Ok(())
    }

    /// The sealed details of our own outgoing transaction `txid`, if it is one.
    pub fn outgoing_detail(&self, data: &DataKey, txid: &TxId) -> Result<Option<OutgoingDetail>> {
        let sealed: Option<Vec<u8>> = self
            .tx
            .query_row(
                "SELECT sealed FROM outgoing WHERE txid = ?1",
                [txid.to_hex()],
                |r| r.get(0),
            )
            .optional()?;
        Ok(sealed
            .and_then(|s| data.open(&outgoing_aad(txid), &s))
            .and_then(|p| serde_json::from_slice(&p).ok()))
    }

    /// Marks our outgoing transaction committed at `height` (if we have one with that id).
    pub fn confirm_outgoing(&self, txid: &TxId, height: u64) -> Result<()> {
        self.tx.execute(
            "UPDATE outgoing SET state = 'committed', height = ?2, updated_ms = ?3, error = NULL WHERE txid = ?1",
            params![txid.to_hex(), sql_int(height), sql_int(now_ms())],
        )?;
        Ok(())
    }

    /// Keeps `history` (the history of the blocks verified so far, this one included) with the
    /// block, or forgets it (`None`: a light sync skips blocks, so it cannot extend it).
    pub fn set_history(&self, history: Option<&HistoryPeaks>) -> Result<()> {
        match history {
            Some(h) => {
                let stored = StoredHistory {
                    leaf_count: h.leaf_count(),
                    peaks: h.peak_hashes(),
                };
                set_meta(
                    &self.tx,
                    HISTORY_KEY,
                    &serde_json::to_string(&stored).expect("history serialises"),
                )
            }
            None => {
                self.tx
                    .execute("DELETE FROM meta WHERE key = ?1", [HISTORY_KEY])?;
                Ok(())
            }
        }
    }

    /// Records the new tip and commits the block.
    pub fn finish(self, header: &BlockHeader) -> Result<()> {
        set_meta(
            &self.tx,
            "tip_header",
            &serde_json::to_string(header).expect("headers serialise"),
        )?;
        set_meta(&self.tx, "sync_height", &(header.height + 1).to_string())?;
        self.tx.commit()?;
        Ok(())
    }

    /// The next height to download, read inside the transaction (guards against two syncs at once).
    pub fn sync_height(&self) -> Result<u64> {
        let v: Option<String> = self
            .tx
            .query_row(
                "SELECT value FROM meta WHERE key = 'sync_height'",
                [],
                |r| r.get(0),
            )
            .optional()?;
        Ok(v.and_then(|s| s.parse().ok()).unwrap_or(0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_core::OsRng;

    #[test]
    fn opening_encoding_round_trip() {
        let o = Opening::random(
            Amount::from_units(1234).expect("small"),
            b"lunch".to_vec(),
            &mut OsRng,
        );
        let bytes = encode_opening(&o);
        assert_eq!(decode_opening(&bytes), Some(o));
        assert_eq!(decode_opening(&bytes[..20]), None);
    }
}
