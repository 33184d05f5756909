//! The SQLite ledger: schema, connections and every query the node makes, split by what they
//! hold ([`blocks`], [`notes`], [`registry`], [`proposals`], [`audit_log`]); [`ledger`] holds the
//! store traits ([`LedgerRead`], [`LedgerStore`]) the sequencer and the protocol checks go
//! through, which [`pg`] implements on a shared PostgreSQL ledger; [`location`] tells the two
//! apart in `--store`.
//!
//! Durability: WAL journal with `synchronous=FULL`. In WAL mode `NORMAL` may lose the last
//! transactions on power loss (it syncs only at checkpoints); `FULL` syncs the WAL on every commit,
//! so a receipt, which the node returns only after its block's commit, survives power loss. Group
//! commit (many transactions per block, one SQLite transaction per block) pays for that fsync.
//!
//! Integrity is also enforced by the schema: `spent.note_id` is UNIQUE, so a double spend cannot be
//! written even by a bug in the code above; note ids and commitments are UNIQUE too.
//!
//! One writer connection, owned by the sequencer; readers use separate connections marked
//! `query_only`.

use std::cell::RefCell;
use std::collections::HashMap;
use std::path::Path;

use dfc_core::holdings::{Effects, Holding};

use dfc_core::api::{AuditEntry, NoteStatus, Proposal, Receipt, WalletInfo};
use dfc_core::{
    Address, Amount, Block, BlockHeader, Commitment, Hash32, IssuerSignature, LedgerNote,
    LedgerView, NoteId, Output, PublicKey, Signature, Transaction, TxId, TxKind,
};
use rusqlite::{params, Connection, OpenFlags, OptionalExtension};
use rusqlite_migration::{Migrations, M};

use crate::error::StoreError;

/// Result of a store operation.
pub type StoreResult<T> = Result<T, StoreError>;

const SCHEMA_V1: &str = "
CREATE TABLE blocks (
    height INTEGER PRIMARY KEY,
    hash BLOB NOT NULL UNIQUE,
    header TEXT NOT NULL,
    signature BLOB NOT NULL
);
CREATE TABLE txs (
    txid BLOB NOT NULL UNIQUE,
    height INTEGER NOT NULL,
    idx INTEGER NOT NULL,
    kind TEXT NOT NULL,
    public_amount INTEGER NOT NULL,
    bytes BLOB NOT NULL,
    receipt_sig BLOB NOT NULL,
    UNIQUE (height, idx)
);
CREATE TABLE notes (
    id BLOB NOT NULL UNIQUE,
    commitment BLOB NOT NULL UNIQUE,
    owner BLOB NOT NULL,
    created_height INTEGER NOT NULL,
    txid BLOB NOT NULL,
    output_index INTEGER NOT NULL,
    output TEXT NOT NULL
);
CREATE INDEX notes_owner ON notes (owner);
CREATE TABLE spent (
    note_id BLOB NOT NULL UNIQUE,
    txid BLOB NOT NULL,
    height INTEGER NOT NULL
);
CREATE TABLE wallets (
    spend_key BLOB NOT NULL UNIQUE,
    address TEXT NOT NULL,
    label TEXT NOT NULL,
    tier INTEGER NOT NULL,
    frozen INTEGER NOT NULL,
    flags INTEGER NOT NULL,
    registered_ms INTEGER NOT NULL
);
CREATE TABLE proposals (
    txid BLOB NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    amount INTEGER NOT NULL,
    wallet BLOB,
    tx BLOB NOT NULL,
    created_ms INTEGER NOT NULL,
    state TEXT NOT NULL
);
CREATE TABLE approvals (
    txid BLOB NOT NULL,
    operator INTEGER NOT NULL,
    signature BLOB NOT NULL,
    time_ms INTEGER NOT NULL,
    UNIQUE (txid, operator)
);
CREATE TABLE audit_log (
    seq INTEGER PRIMARY KEY,
    time_ms INTEGER NOT NULL,
    operator INTEGER,
    action TEXT NOT NULL,
    detail TEXT NOT NULL,
    prev_hash BLOB NOT NULL,
    hash BLOB NOT NULL
);
CREATE TABLE operator_nonces (
    nonce BLOB NOT NULL UNIQUE,
    time_ms INTEGER NOT NULL
);
";

/// Offline payments: certified purses (purse key -> wallet) and double-spend evidence.
const SCHEMA_V2_OFFLINE: &str = "
CREATE TABLE purses (
    serial INTEGER PRIMARY KEY,
    purse_key BLOB NOT NULL,
    wallet BLOB NOT NULL,
    cert TEXT NOT NULL,
    issued_ms INTEGER NOT NULL,
    expires_ms INTEGER NOT NULL
);
CREATE INDEX purses_key ON purses (purse_key);
CREATE TABLE evidence (
    id BLOB NOT NULL UNIQUE,
    wallet BLOB NOT NULL,
    conflicting_txid BLOB NOT NULL,
    recorded_ms INTEGER NOT NULL,
    record TEXT NOT NULL
);
CREATE INDEX evidence_wallet ON evidence (wallet);
";

/// The schema migrations, applied in order on open.
pub fn migrations() -> Migrations<'static> {
    Migrations::new(vec![
        M::up(SCHEMA_V1),
        M::up(SCHEMA_V2_OFFLINE),
        M::up(crate::holdings::SCHEMA_V3_HOLDINGS),
        M::up(crate::proposals::SCHEMA),
        M::up(crate::opseq::SCHEMA),
        // Issue 15: registry versions and freeze reasons.
        M::up(crate::registry::SCHEMA),
        // Issue 22: running table digests and the signed ledger summary.
        M::up(crate::summary::SCHEMA),
        // Issue 20: approved parameter changes.
        M::up(crate::governance::store::SCHEMA),
        // Issue 18: the owner index of light sync, backfilled from the notes already stored.
        M::up_with_hook(crate::light::SCHEMA, backfill_light_claims),
        // Issue 20: operator signatures over checkpoints of the chain.
        M::up(crate::cosign::store::SCHEMA),
        // Issue 18: the history MMR over block hashes (header version 2), backfilled from the
        // blocks already stored.
        M::up_with_hook(crate::history::SCHEMA, backfill_history),
    ])
}

fn backfill_light_claims(tx: &rusqlite::Transaction<'_>) -> rusqlite_migration::HookResult {
    crate::light::backfill_claims(tx)
        .map_err(|e| rusqlite_migration::HookError::Hook(e.to_string()))
}

fn backfill_history(tx: &rusqlite::Transaction<'_>) -> rusqlite_migration::HookResult {
    crate::history::backfill(tx).map_err(|e| rusqlite_migration::HookError::Hook(e.to_string()))
}

fn pragmas(conn: &Connection) -> StoreResult<()> {
    conn.busy_timeout(std::time::Duration::from_secs(10))?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    conn.set_prepared_statement_cache_capacity(64);
    Ok(())
}

/// Opens (creating if needed) the ledger for writing: WAL, `synchronous=FULL`, migrations applied.
pub fn open_writer(path: &Path) -> StoreResult<Connection> {
    // SQLite would open a read-only file read-only without a word and fail at the first commit;
    // the node must know at start that it can write.
    if path.exists() {
        std::fs::OpenOptions::new()
            .append(true)
            .open(path)
            .map_err(|source| StoreError::NotWritable {
                path: path.to_path_buf(),
                source,
            })?;
    }
    let mut conn = Connection::open(path)?;
    pragmas(&conn)?;
    let mode: String = conn.query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0))?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(StoreError::corrupt(
            "pragma",
            format!("journal mode is {mode}, WAL was asked"),
        ));
    }
    conn.pragma_update(None, "synchronous", "FULL")?;
    migrations().to_latest(&mut conn)?;
    Ok(conn)
}

/// Opens a reader on an existing ledger: it can never write.
pub fn open_reader(path: &Path) -> StoreResult<Connection> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY
            | OpenFlags::SQLITE_OPEN_NO_MUTEX
            | OpenFlags::SQLITE_OPEN_URI,
    )?;
    pragmas(&conn)?;
    conn.pragma_update(None, "query_only", "ON")?;
    Ok(conn)
}

fn h32(bytes: Vec<u8>, table: &'static str) -> StoreResult<Hash32> {
    let arr: [u8; 32] = bytes
        .try_into()
        .map_err(|_| StoreError::corrupt(table, "a 32-byte id has another length"))?;
    Ok(Hash32(arr))
}

fn pubkey(bytes: Vec<u8>, table: &'static str) -> StoreResult<PublicKey> {
    let arr: [u8; 32] = bytes
        .try_into()
        .map_err(|_| StoreError::corrupt(table, "a key has another length than 32 bytes"))?;
    PublicKey::from_bytes(&arr).map_err(|e| StoreError::corrupt(table, e))
}

fn signature(bytes: Vec<u8>, table: &'static str) -> StoreResult<Signature> {
    let arr: [u8; 64] = bytes
        .try_into()
        .map_err(|_| StoreError::corrupt(table, "a signature has another length than 64 bytes"))?;
    Signature::from_bytes(&arr).map_err(|e| StoreError::corrupt(table, e))
}

fn to_u64(v: i64, table: &'static str) -> StoreResult<u64> {
    u64::try_from(v).map_err(|_| StoreError::corrupt(table, format!("negative number {v}")))
}

fn to_i64(v: u64) -> StoreResult<i64> {
    i64::try_from(v)
        .map_err(|_| StoreError::corrupt("input", format!("number {v} does not fit SQLite")))
}

fn kind_from(text: &str, table: &'static str) -> StoreResult<TxKind> {
    match text {
        "issue" => Ok(TxKind::Issue),
        "transfer" => Ok(TxKind::Transfer),
        "redeem" => Ok(TxKind::Redeem),
        other => Err(StoreError::corrupt(table, format!("unknown kind {other}"))),
    }
}

pub mod blocks;
pub use blocks::*;
pub mod notes;
pub use notes::*;
pub mod registry;
pub use registry::*;
pub mod proposals;
pub use proposals::*;
pub mod audit_log;
pub use audit_log::*;
pub mod ledger;
pub use ledger::{LedgerRead, LedgerStore};
pub mod location;
pub mod pg;
pub use location::StoreLocation;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spent_is_unique_even_without_checks() {
        let dir = tempfile::tempdir().expect("tempdir");
        let conn = open_writer(&dir.path().join("l.sqlite")).expect("open");
        let id = vec![1u8; 32];
        conn.execute(
            "INSERT INTO spent (note_id, txid, height) VALUES (?1, ?1, 1)",
            [&id],
        )
        .expect("first spend");
        assert!(conn
            .execute(
                "INSERT INTO spent (note_id, txid, height) VALUES (?1, ?1, 2)",
                [&id]
            )
            .is_err());
    }

    #[test]
    fn nonces_are_single_use() {
        let dir = tempfile::tempdir().expect("tempdir");
        let conn = open_writer(&dir.path().join("l.sqlite")).expect("open");
        let n = Hash32([9u8; 32]);
        assert!(record_nonce(&conn, &n, 1000, 0).expect("record"));
        assert!(!record_nonce(&conn, &n, 1000, 0).expect("record"));
    }

    #[test]
    fn writer_uses_wal_and_full_sync() {
        let dir = tempfile::tempdir().expect("tempdir");
        let conn = open_writer(&dir.path().join("l.sqlite")).expect("open");
        let mode: String = conn
            .query_row("PRAGMA journal_mode", [], |r| r.get(0))
            .expect("pragma");
        let sync: i64 = conn
            .query_row("PRAGMA synchronous", [], |r| r.get(0))
            .expect("pragma");
        assert_eq!((mode.as_str(), sync), ("wal", 2));
    }
}
