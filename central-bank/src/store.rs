//! The SQLite ledger: schema, connections and every query the node makes.
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
use std::path::Path;

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
        M::up_with_hook(crate::light::SCHEMA, backfill_light_claims),
    ])
}

fn backfill_light_claims(tx: &rusqlite::Transaction<'_>) -> rusqlite_migration::HookResult {
    crate::light::backfill_claims(tx)
        .map_err(|e| rusqlite_migration::HookError::Hook(e.to_string()))
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

// ---------------------------------------------------------------- blocks and transactions

/// A stored block header with its node signature.
#[derive(Clone, Debug)]
pub struct StoredHeader {
    /// The header.
    pub header: BlockHeader,
    /// The hash column as stored (checked against the header by the integrity check).
    pub hash: Hash32,
    /// Node signature.
    pub signature: Signature,
}

fn header_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<(Vec<u8>, String, Vec<u8>)> {
    Ok((r.get(0)?, r.get(1)?, r.get(2)?))
}

fn decode_header(row: (Vec<u8>, String, Vec<u8>)) -> StoreResult<StoredHeader> {
    let (hash, header, sig) = row;
    Ok(StoredHeader {
        header: serde_json::from_str(&header).map_err(|e| StoreError::corrupt("blocks", e))?,
        hash: h32(hash, "blocks")?,
        signature: signature(sig, "blocks")?,
    })
}

/// The tip (highest block), if the ledger has a genesis block.
pub fn tip(conn: &Connection) -> StoreResult<Option<StoredHeader>> {
    let mut st = conn.prepare_cached(
        "SELECT hash, header, signature FROM blocks ORDER BY height DESC LIMIT 1",
    )?;
    st.query_row([], header_row)
        .optional()?
        .map(decode_header)
        .transpose()
}

/// The header at `height`.
pub fn header_at(conn: &Connection, height: u64) -> StoreResult<Option<StoredHeader>> {
    let mut st =
        conn.prepare_cached("SELECT hash, header, signature FROM blocks WHERE height = ?1")?;
    st.query_row([to_i64(height)?], header_row)
        .optional()?
        .map(decode_header)
        .transpose()
}

/// Every stored header from `from` on, in height order, up to `limit`.
pub fn headers_from(
    conn: &Connection,
    from: u64,
    limit: usize,
) -> StoreResult<Vec<(u64, StoredHeader)>> {
    let mut st = conn.prepare_cached(
        "SELECT height, hash, header, signature FROM blocks WHERE height >= ?1 ORDER BY height LIMIT ?2",
    )?;
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let rows = st.query_map(params![to_i64(from)?, limit], |r| {
        Ok((r.get::<_, i64>(0)?, (r.get(1)?, r.get(2)?, r.get(3)?)))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (h, rest) = row?;
        out.push((to_u64(h, "blocks")?, decode_header(rest)?));
    }
    Ok(out)
}

/// The transactions of block `height`, in block order.
pub fn block_txs(conn: &Connection, height: u64) -> StoreResult<Vec<Transaction>> {
    let mut st = conn.prepare_cached("SELECT bytes FROM txs WHERE height = ?1 ORDER BY idx")?;
    let rows = st.query_map([to_i64(height)?], |r| r.get::<_, Vec<u8>>(0))?;
    let mut out = Vec::new();
    for row in rows {
        out.push(Transaction::decode(&row?).map_err(|e| StoreError::corrupt("txs", e))?);
    }
    Ok(out)
}

/// Blocks from `from` on, at most `limit`.
pub fn blocks_from(conn: &Connection, from: u64, limit: usize) -> StoreResult<Vec<Block>> {
    let mut out = Vec::new();
    for (height, h) in headers_from(conn, from, limit)? {
        out.push(Block {
            header: h.header,
            signature: h.signature,
            txs: block_txs(conn, height)?,
        });
    }
    Ok(out)
}

/// The receipt of a committed transaction.
pub fn receipt(conn: &Connection, txid: &TxId) -> StoreResult<Option<Receipt>> {
    let mut st = conn.prepare_cached(
        "SELECT t.height, b.hash, t.receipt_sig FROM txs t JOIN blocks b ON b.height = t.height WHERE t.txid = ?1",
    )?;
    let row = st
        .query_row([&txid.0[..]], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, Vec<u8>>(1)?,
                r.get::<_, Vec<u8>>(2)?,
            ))
        })
        .optional()?;
    row.map(|(height, hash, sig)| {
        Ok(Receipt {
            txid: *txid,
            height: to_u64(height, "txs")?,
            block_hash: h32(hash, "blocks")?,
            signature: signature(sig, "txs")?,
        })
    })
    .transpose()
}

/// Writes a sealed block: the header, its transactions with their receipt signatures, the notes
/// they create and the notes they spend. Call inside a SQLite transaction; the UNIQUE constraints
/// refuse a double spend or a repeated note even if the checks above were wrong.
/// Writes `block` (sealed in turnover period `period`) with its transactions' notes, spends,
/// pending flags and holdings.
pub fn insert_block(
    conn: &Connection,
    block: &Block,
    receipt_sigs: &[Signature],
    period: u64,
) -> StoreResult<()> {
    let height = to_i64(block.header.height)?;
    let header =
        serde_json::to_string(&block.header).map_err(|e| StoreError::corrupt("blocks", e))?;
    conn.prepare_cached(
        "INSERT INTO blocks (height, hash, header, signature) VALUES (?1, ?2, ?3, ?4)",
    )?
    .execute(params![
        height,
        &block.header.hash().0[..],
        header,
        &block.signature.to_bytes()[..]
    ])?;
    let mut ins_tx = conn.prepare_cached(
        "INSERT INTO txs (txid, height, idx, kind, public_amount, bytes, receipt_sig) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?;
    let mut ins_note = conn.prepare_cached(
        "INSERT INTO notes (id, commitment, owner, created_height, txid, output_index, output) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?;
    let mut ins_spent =
        conn.prepare_cached("INSERT INTO spent (note_id, txid, height) VALUES (?1, ?2, ?3)")?;
    for (idx, (tx, sig)) in block.txs.iter().zip(receipt_sigs).enumerate() {
        let txid = tx.id();
        let resolved = crate::holdings::resolve_before(conn, tx)?;
        let idx = i64::try_from(idx).map_err(|_| StoreError::corrupt("txs", "index overflow"))?;
        ins_tx.execute(params![
            &txid.0[..],
            height,
            idx,
            tx.kind.name(),
            to_i64(tx.public_amount.units())?,
            tx.encode(),
            &sig.to_bytes()[..]
        ])?;
        for input in &tx.inputs {
            ins_spent.execute(params![&input.0[..], &txid.0[..], height])?;
        }
        for (i, (o, id)) in tx.outputs.iter().zip(tx.output_ids()).enumerate() {
            let out = serde_json::to_string(o).map_err(|e| StoreError::corrupt("notes", e))?;
            let i = i64::try_from(i).map_err(|_| StoreError::corrupt("notes", "index overflow"))?;
            ins_note.execute(params![
                &id.0[..],
                &o.commitment.to_bytes()[..],
                &o.owner.to_bytes()[..],
                height,
                &txid.0[..],
                i,
                out
            ])?;
        }
        crate::holdings::apply_tx(conn, tx, &resolved, period)?;
    }
    crate::light::index_block(conn, block)?;
    Ok(())
}

/// Numbers for the supply summary: unspent notes and committed transactions.
pub fn counts(conn: &Connection) -> StoreResult<(u64, u64)> {
    let notes: i64 = conn
        .prepare_cached("SELECT (SELECT COUNT(*) FROM notes) - (SELECT COUNT(*) FROM spent)")?
        .query_row([], |r| r.get(0))?;
    let txs: i64 = conn
        .prepare_cached("SELECT COUNT(*) FROM txs")?
        .query_row([], |r| r.get(0))?;
    Ok((to_u64(notes, "notes")?, to_u64(txs, "txs")?))
}

// ---------------------------------------------------------------- notes

/// The status of a note.
pub fn note_status(conn: &Connection, id: &NoteId) -> StoreResult<NoteStatus> {
    let mut st = conn.prepare_cached(
        "SELECT n.created_height, s.height FROM notes n LEFT JOIN spent s ON s.note_id = n.id WHERE n.id = ?1",
    )?;
    let row = st
        .query_row([&id.0[..]], |r| {
            Ok((r.get::<_, i64>(0)?, r.get::<_, Option<i64>>(1)?))
        })
        .optional()?;
    Ok(match row {
        None => NoteStatus {
            id: *id,
            exists: false,
            spent: false,
            created_height: None,
            spent_height: None,
        },
        Some((created, spent)) => NoteStatus {
            id: *id,
            exists: true,
            spent: spent.is_some(),
            created_height: Some(to_u64(created, "notes")?),
            spent_height: spent.map(|h| to_u64(h, "spent")).transpose()?,
        },
    })
}

/// A stored note, for the audit's comparison with its replay.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NoteRow {
    /// Note id.
    pub id: NoteId,
    /// Commitment bytes.
    pub commitment: [u8; 32],
    /// Owner key bytes.
    pub owner: [u8; 32],
    /// Height of the creating block.
    pub created_height: u64,
    /// Creating transaction.
    pub txid: TxId,
}

/// Every stored note, ordered by id.
pub fn all_notes(conn: &Connection) -> StoreResult<Vec<NoteRow>> {
    let mut st =
        conn.prepare("SELECT id, commitment, owner, created_height, txid FROM notes ORDER BY id")?;
    let rows = st.query_map([], |r| {
        Ok((
            r.get::<_, Vec<u8>>(0)?,
            r.get::<_, Vec<u8>>(1)?,
            r.get::<_, Vec<u8>>(2)?,
            r.get::<_, i64>(3)?,
            r.get::<_, Vec<u8>>(4)?,
        ))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (id, c, o, h, t) = row?;
        out.push(NoteRow {
            id: h32(id, "notes")?,
            commitment: h32(c, "notes")?.0,
            owner: h32(o, "notes")?.0,
            created_height: to_u64(h, "notes")?,
            txid: h32(t, "notes")?,
        });
    }
    Ok(out)
}

/// Every spent record `(note id, spending txid, height)`, ordered by note id.
pub fn all_spent(conn: &Connection) -> StoreResult<Vec<(NoteId, TxId, u64)>> {
    let mut st = conn.prepare("SELECT note_id, txid, height FROM spent ORDER BY note_id")?;
    let rows = st.query_map([], |r| {
        Ok((
            r.get::<_, Vec<u8>>(0)?,
            r.get::<_, Vec<u8>>(1)?,
            r.get::<_, i64>(2)?,
        ))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (n, t, h) = row?;
        out.push((h32(n, "spent")?, h32(t, "spent")?, to_u64(h, "spent")?));
    }
    Ok(out)
}

/// Ids of the unspent notes, sorted, with their commitments.
pub fn unspent_notes(conn: &Connection) -> StoreResult<Vec<(NoteId, Commitment)>> {
    let mut st = conn.prepare(
        "SELECT n.id, n.commitment FROM notes n WHERE NOT EXISTS (SELECT 1 FROM spent s WHERE s.note_id = n.id) ORDER BY n.id",
    )?;
    let rows = st.query_map([], |r| {
        Ok((r.get::<_, Vec<u8>>(0)?, r.get::<_, Vec<u8>>(1)?))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (id, c) = row?;
        let c = h32(c, "notes")?;
        out.push((
            h32(id, "notes")?,
            Commitment::from_bytes(&c.0).map_err(|e| StoreError::corrupt("notes", e))?,
        ));
    }
    Ok(out)
}

/// Every unspent note as a Merkle leaf `(id, commitment, owner)`, ordered by id: what the
/// checkpoint's [`dfc_core::merkle::LedgerTree`] is built over.
pub fn unspent_leaves(conn: &Connection) -> StoreResult<Vec<(NoteId, Commitment, PublicKey)>> {
    let mut st = conn.prepare(
        "SELECT n.id, n.commitment, n.owner FROM notes n WHERE NOT EXISTS (SELECT 1 FROM spent s WHERE s.note_id = n.id) ORDER BY n.id",
    )?;
    let rows = st.query_map([], |r| {
        Ok((
            r.get::<_, Vec<u8>>(0)?,
            r.get::<_, Vec<u8>>(1)?,
            r.get::<_, Vec<u8>>(2)?,
        ))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (id, c, o) = row?;
        let c = h32(c, "notes")?;
        out.push((
            h32(id, "notes")?,
            Commitment::from_bytes(&c.0).map_err(|e| StoreError::corrupt("notes", e))?,
            pubkey(o, "notes")?,
        ));
    }
    Ok(out)
}

/// The transaction that spent note `id`, if it is spent.
pub fn spender(conn: &Connection, id: &NoteId) -> StoreResult<Option<Transaction>> {
    let mut st = conn.prepare_cached(
        "SELECT t.bytes FROM spent s JOIN txs t ON t.txid = s.txid WHERE s.note_id = ?1",
    )?;
    let row = st
        .query_row([&id.0[..]], |r| r.get::<_, Vec<u8>>(0))
        .optional()?;
    row.map(|b| Transaction::decode(&b).map_err(|e| StoreError::corrupt("txs", e)))
        .transpose()
}

/// A [`LedgerView`] over a connection (or an open SQLite transaction). The trait cannot return
/// errors, so the first storage error is kept and must be checked with [`DbView::finish`].
pub struct DbView<'a> {
    conn: &'a Connection,
    error: RefCell<Option<StoreError>>,
}

impl<'a> DbView<'a> {
    /// A view over `conn`.
    pub fn new(conn: &'a Connection) -> Self {
        DbView {
            conn,
            error: RefCell::new(None),
        }
    }
    /// The first storage error met, if any: a lookup answered "absent" may have been a failure.
    pub fn finish(&self) -> StoreResult<()> {
        match self.error.borrow_mut().take() {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }
    fn keep<T>(&self, r: StoreResult<T>, fallback: T) -> T {
        r.unwrap_or_else(|e| {
            let mut slot = self.error.borrow_mut();
            if slot.is_none() {
                *slot = Some(e);
            }
            fallback
        })
    }
    fn lookup_note(&self, id: &NoteId) -> StoreResult<Option<LedgerNote>> {
        let mut st = self.conn.prepare_cached(
            "SELECT n.commitment, n.owner, EXISTS (SELECT 1 FROM spent s WHERE s.note_id = n.id), n.pending FROM notes n WHERE n.id = ?1",
        )?;
        let row = st
            .query_row([&id.0[..]], |r| {
                Ok((
                    r.get::<_, Vec<u8>>(0)?,
                    r.get::<_, Vec<u8>>(1)?,
                    r.get::<_, bool>(2)?,
                    r.get::<_, bool>(3)?,
                ))
            })
            .optional()?;
        row.map(|(c, o, spent, pending)| {
            let c = h32(c, "notes")?;
            Ok(LedgerNote {
                commitment: Commitment::from_bytes(&c.0)
                    .map_err(|e| StoreError::corrupt("notes", e))?,
                owner: pubkey(o, "notes")?,
                spent,
                pending,
            })
        })
        .transpose()
    }
    fn lookup_commitment(&self, c: &Commitment) -> StoreResult<bool> {
        let mut st = self
            .conn
            .prepare_cached("SELECT EXISTS (SELECT 1 FROM notes WHERE commitment = ?1)")?;
        Ok(st.query_row([&c.to_bytes()[..]], |r| r.get::<_, bool>(0))?)
    }
}

impl LedgerView for DbView<'_> {
    fn note(&self, id: &NoteId) -> Option<LedgerNote> {
        let r = self.lookup_note(id);
        self.keep(r, None)
    }
    fn commitment_exists(&self, commitment: &Commitment) -> bool {
        let r = self.lookup_commitment(commitment);
        // On failure claim the commitment exists: a refusal is the safe side.
        self.keep(r, true)
    }
    fn account(&self, key: &PublicKey) -> Option<dfc_core::Account> {
        let r = crate::holdings::account(self.conn, key);
        self.keep(r, None)
    }
    fn holding(&self, account: &PublicKey) -> dfc_core::Holding {
        let r = crate::holdings::holding(self.conn, account);
        self.keep(r, dfc_core::Holding::default())
    }
}

// ---------------------------------------------------------------- wallets

fn wallet_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<(String, String, i64, bool, i64, i64)> {
    Ok((
        r.get(0)?,
        r.get(1)?,
        r.get(2)?,
        r.get(3)?,
        r.get(4)?,
        r.get(5)?,
    ))
}

fn decode_wallet(row: (String, String, i64, bool, i64, i64)) -> StoreResult<WalletInfo> {
    let (address, label, tier, frozen, flags, registered) = row;
    Ok(WalletInfo {
        address: address
            .parse::<Address>()
            .map_err(|e| StoreError::corrupt("wallets", e))?,
        label,
        tier: u8::try_from(tier)
            .map_err(|_| StoreError::corrupt("wallets", "tier out of range"))?,
        frozen,
        flags: u32::try_from(flags)
            .map_err(|_| StoreError::corrupt("wallets", "flags out of range"))?,
        registered_ms: to_u64(registered, "wallets")?,
    })
}

const WALLET_COLS: &str = "address, label, tier, frozen, flags, registered_ms";

/// The wallet registered with spend key `key`.
pub fn wallet(conn: &Connection, key: &PublicKey) -> StoreResult<Option<WalletInfo>> {
    let mut st = conn.prepare_cached(&format!(
        "SELECT {WALLET_COLS} FROM wallets WHERE spend_key = ?1"
    ))?;
    st.query_row([&key.to_bytes()[..]], wallet_row)
        .optional()?
        .map(decode_wallet)
        .transpose()
}

/// Every registered wallet, oldest first, at most `limit`.
pub fn wallets(conn: &Connection, limit: usize) -> StoreResult<Vec<WalletInfo>> {
    let mut st = conn.prepare_cached(&format!(
        "SELECT {WALLET_COLS} FROM wallets ORDER BY rowid LIMIT ?1"
    ))?;
    let rows = st.query_map([i64::try_from(limit).unwrap_or(i64::MAX)], wallet_row)?;
    let mut out = Vec::new();
    for row in rows {
        out.push(decode_wallet(row?)?);
    }
    Ok(out)
}

/// The wallet behind a note owner: the wallet whose certified purse key it is, else the wallet
/// whose spend key it is. Purse keys count as their wallet for registration, tier and freezes,
/// and the purse is looked up first so that a purse key registered as a wallet of its own (which
/// `controls::check_registration` now refuses, but an older ledger may hold) still answers for
/// the wallet it was certified for.
pub fn wallet_of_owner(conn: &Connection, key: &PublicKey) -> StoreResult<Option<WalletInfo>> {
    match purse_wallet(conn, key)? {
        Some(w) => wallet(conn, &w),
        None => wallet(conn, key),
    }
}

// ---------------------------------------------------------------- purses and evidence

/// The wallet a purse key was certified for.
pub fn purse_wallet(conn: &Connection, purse: &PublicKey) -> StoreResult<Option<PublicKey>> {
    let mut st = conn.prepare_cached("SELECT wallet FROM purses WHERE purse_key = ?1 LIMIT 1")?;
    st.query_row([&purse.to_bytes()[..]], |r| r.get::<_, Vec<u8>>(0))
        .optional()?
        .map(|w| pubkey(w, "purses"))
        .transpose()
}

/// The next certificate serial (1 for the first).
pub fn next_purse_serial(conn: &Connection) -> StoreResult<u64> {
    let max: Option<i64> = conn
        .prepare_cached("SELECT MAX(serial) FROM purses")?
        .query_row([], |r| r.get(0))?;
    Ok(max.map(|m| to_u64(m, "purses")).transpose()?.unwrap_or(0) + 1)
}

/// Records an issued purse certificate.
pub fn insert_purse(
    conn: &Connection,
    cert: &dfc_core::offline::PurseCertificate,
) -> StoreResult<()> {
    let json = serde_json::to_string(cert).map_err(|e| StoreError::corrupt("purses", e))?;
    conn.prepare_cached(
        "INSERT INTO purses (serial, purse_key, wallet, cert, issued_ms, expires_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?
    .execute(params![
        to_i64(cert.serial)?,
        &cert.purse.to_bytes()[..],
        &cert.wallet.to_bytes()[..],
        json,
        to_i64(cert.issued_ms)?,
        to_i64(cert.expires_ms)?
    ])?;
    Ok(())
}

/// The certificate with `serial`.
pub fn purse_cert(
    conn: &Connection,
    serial: u64,
) -> StoreResult<Option<dfc_core::offline::PurseCertificate>> {
    let mut st = conn.prepare_cached("SELECT cert FROM purses WHERE serial = ?1")?;
    st.query_row([to_i64(serial)?], |r| r.get::<_, String>(0))
        .optional()?
        .map(|c| serde_json::from_str(&c).map_err(|e| StoreError::corrupt("purses", e)))
        .transpose()
}

/// Stores evidence and raises the wallet's flag count; false (and nothing changed) if this
/// evidence was recorded before.
pub fn insert_evidence(
    conn: &Connection,
    rec: &dfc_core::offline_api::EvidenceRecord,
) -> StoreResult<bool> {
    let json = serde_json::to_string(rec).map_err(|e| StoreError::corrupt("evidence", e))?;
    let n = conn
        .prepare_cached(
            "INSERT OR IGNORE INTO evidence (id, wallet, conflicting_txid, recorded_ms, record) VALUES (?1, ?2, ?3, ?4, ?5)",
        )?
        .execute(params![
            &rec.id.0[..],
            &rec.wallet.to_bytes()[..],
            &rec.conflicting_txid.0[..],
            to_i64(rec.recorded_ms)?,
            json
        ])?;
    if n == 1 {
        conn.prepare_cached("UPDATE wallets SET flags = flags + 1 WHERE spend_key = ?1")?
            .execute([&rec.wallet.to_bytes()[..]])?;
    }
    Ok(n == 1)
}

/// Stored evidence, newest first, at most `limit`; only of `wallet` or only refusing
/// `conflicting` when given.
pub fn evidence(
    conn: &Connection,
    wallet: Option<&PublicKey>,
    conflicting: Option<&TxId>,
    limit: usize,
) -> StoreResult<Vec<dfc_core::offline_api::EvidenceRecord>> {
    let mut st = conn.prepare_cached(
        "SELECT record FROM evidence WHERE (?1 IS NULL OR wallet = ?1) AND (?2 IS NULL OR conflicting_txid = ?2) ORDER BY rowid DESC LIMIT ?3",
    )?;
    let rows = st.query_map(
        params![
            wallet.map(|w| w.to_bytes().to_vec()),
            conflicting.map(|t| t.0.to_vec()),
            i64::try_from(limit).unwrap_or(i64::MAX)
        ],
        |r| r.get::<_, String>(0),
    )?;
    let mut out = Vec::new();
    for row in rows {
        out.push(serde_json::from_str(&row?).map_err(|e| StoreError::corrupt("evidence", e))?);
    }
    Ok(out)
}

/// Registers a wallet.
pub fn insert_wallet(conn: &Connection, info: &WalletInfo) -> StoreResult<()> {
    conn.prepare_cached(
        "INSERT INTO wallets (spend_key, address, label, tier, frozen, flags, registered_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?
    .execute(params![
        &info.address.spend.to_bytes()[..],
        info.address.to_string(),
        info.label,
        i64::from(info.tier),
        info.frozen,
        i64::from(info.flags),
        to_i64(info.registered_ms)?
    ])?;
    Ok(())
}

/// Sets a wallet's frozen flag. Returns false when the wallet is not registered.
pub fn set_frozen(conn: &Connection, key: &PublicKey, frozen: bool) -> StoreResult<bool> {
    let n = conn
        .prepare_cached("UPDATE wallets SET frozen = ?2 WHERE spend_key = ?1")?
        .execute(params![&key.to_bytes()[..], frozen])?;
    Ok(n == 1)
}

/// Sets a wallet's tier. Returns false when the wallet is not registered.
pub fn set_tier(conn: &Connection, key: &PublicKey, tier: u8) -> StoreResult<bool> {
    let n = conn
        .prepare_cached("UPDATE wallets SET tier = ?2 WHERE spend_key = ?1")?
        .execute(params![&key.to_bytes()[..], i64::from(tier)])?;
    Ok(n == 1)
}

// ---------------------------------------------------------------- proposals

/// A stored proposal with its transaction (without issuer signatures) and approvals.
#[derive(Clone, Debug)]
pub struct StoredProposal {
    /// The wire form.
    pub proposal: Proposal,
    /// The transaction as proposed, issuer signatures stripped.
    pub tx: Transaction,
    /// The approvals' issuer signatures, by operator index.
    pub signatures: Vec<IssuerSignature>,
}

/// Inserts a new proposal.
pub fn insert_proposal(conn: &Connection, p: &Proposal, tx: &Transaction) -> StoreResult<()> {
    conn.prepare_cached(
        "INSERT INTO proposals (txid, kind, amount, wallet, tx, created_ms, state) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?
    .execute(params![
        &p.txid.0[..],
        p.kind.name(),
        to_i64(p.amount.units())?,
        p.wallet.map(|w| w.to_bytes().to_vec()),
        tx.encode(),
        to_i64(p.created_ms)?,
        p.state
    ])?;
    Ok(())
}

/// Records an approval; returns false if this operator had already approved (it counts once).
pub fn insert_approval(
    conn: &Connection,
    txid: &TxId,
    sig: &IssuerSignature,
    time_ms: u64,
) -> StoreResult<bool> {
    let n = conn
        .prepare_cached("INSERT OR IGNORE INTO approvals (txid, operator, signature, time_ms) VALUES (?1, ?2, ?3, ?4)")?
        .execute(params![
            &txid.0[..],
            i64::from(sig.index),
            &sig.signature.to_bytes()[..],
            to_i64(time_ms)?
        ])?;
    Ok(n == 1)
}

/// Sets a proposal's state (`pending`, `committed`).
pub fn set_proposal_state(conn: &Connection, txid: &TxId, state: &str) -> StoreResult<()> {
    conn.prepare_cached("UPDATE proposals SET state = ?2 WHERE txid = ?1")?
        .execute(params![&txid.0[..], state])?;
    Ok(())
}

fn approvals_of(conn: &Connection, txid: &TxId) -> StoreResult<Vec<IssuerSignature>> {
    let mut st = conn.prepare_cached(
        "SELECT operator, signature FROM approvals WHERE txid = ?1 ORDER BY operator",
    )?;
    let rows = st.query_map([&txid.0[..]], |r| {
        Ok((r.get::<_, i64>(0)?, r.get::<_, Vec<u8>>(1)?))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (op, sig) = row?;
        out.push(IssuerSignature {
            index: u8::try_from(op)
                .map_err(|_| StoreError::corrupt("approvals", "operator out of range"))?,
            signature: signature(sig, "approvals")?,
        });
    }
    Ok(out)
}

type ProposalRow = (Vec<u8>, String, i64, Option<Vec<u8>>, Vec<u8>, i64, String);

fn proposal_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<ProposalRow> {
    Ok((
        r.get(0)?,
        r.get(1)?,
        r.get(2)?,
        r.get(3)?,
        r.get(4)?,
        r.get(5)?,
        r.get(6)?,
    ))
}

fn decode_proposal(
    conn: &Connection,
    row: ProposalRow,
    threshold: usize,
) -> StoreResult<StoredProposal> {
    let (txid, kind, amount, wallet, tx, created, state) = row;
    let txid = h32(txid, "proposals")?;
    let signatures = approvals_of(conn, &txid)?;
    let mut stored = StoredProposal {
        proposal: Proposal {
            txid,
            kind: kind_from(&kind, "proposals")?,
            amount: Amount::from_units(to_u64(amount, "proposals")?)
                .map_err(|e| StoreError::corrupt("proposals", e))?,
            wallet: wallet.map(|w| pubkey(w, "proposals")).transpose()?,
            approvals: signatures.iter().map(|s| s.index).collect(),
            threshold,
            created_ms: to_u64(created, "proposals")?,
            state,
            proposed_by: None,
            expires_ms: 0,
            outputs: Vec::new(),
        },
        tx: Transaction::decode(&tx).map_err(|e| StoreError::corrupt("proposals", e))?,
        signatures,
    };
    let now = crate::datadir::now_ms();
    crate::proposals::enrich(conn, &mut stored.proposal, &stored.tx, now)?;
    Ok(stored)
}

const PROPOSAL_COLS: &str = "txid, kind, amount, wallet, tx, created_ms, state";

/// The proposal for `txid`.
pub fn proposal(
    conn: &Connection,
    txid: &TxId,
    threshold: usize,
) -> StoreResult<Option<StoredProposal>> {
    let mut st = conn.prepare_cached(&format!(
        "SELECT {PROPOSAL_COLS} FROM proposals WHERE txid = ?1"
    ))?;
    let row = st.query_row([&txid.0[..]], proposal_row).optional()?;
    row.map(|r| decode_proposal(conn, r, threshold)).transpose()
}

/// Pending proposals and the most recent others, newest first, at most `limit`.
pub fn proposals(conn: &Connection, threshold: usize, limit: usize) -> StoreResult<Vec<Proposal>> {
    let mut st = conn.prepare_cached(&format!(
        "SELECT {PROPOSAL_COLS} FROM proposals ORDER BY (state = 'pending') DESC, rowid DESC LIMIT ?1"
    ))?;
    let rows: Vec<ProposalRow> = st
        .query_map([i64::try_from(limit).unwrap_or(i64::MAX)], proposal_row)?
        .collect::<Result<_, _>>()?;
    rows.into_iter()
        .map(|r| decode_proposal(conn, r, threshold).map(|p| p.proposal))
        .collect()
}

// ---------------------------------------------------------------- audit log and nonces

/// The newest audit-log entry's sequence number and hash, `(0, zero)` for an empty log: what the
/// next block header anchors.
pub fn audit_head(conn: &Connection) -> StoreResult<(u64, Hash32)> {
    let last = conn
        .prepare_cached("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1")?
        .query_row([], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, Vec<u8>>(1)?)))
        .optional()?;
    match last {
        Some((seq, hash)) => Ok((to_u64(seq, "audit_log")?, h32(hash, "audit_log")?)),
        None => Ok((0, Hash32([0u8; 32]))),
    }
}

/// Appends an entry to the hash-chained operator audit log.
pub fn append_audit(
    conn: &Connection,
    time_ms: u64,
    operator: Option<u8>,
    action: &str,
    detail: &str,
) -> StoreResult<AuditEntry> {
    let last = conn
        .prepare_cached("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1")?
        .query_row([], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, Vec<u8>>(1)?)))
        .optional()?;
    let (seq, prev_hash) = match last {
        Some((seq, hash)) => (to_u64(seq, "audit_log")? + 1, h32(hash, "audit_log")?),
        None => (1, Hash32([0u8; 32])),
    };
    let hash = AuditEntry::compute_hash(seq, time_ms, operator, action, detail, &prev_hash);
    conn.prepare_cached(
        "INSERT INTO audit_log (seq, time_ms, operator, action, detail, prev_hash, hash) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?
    .execute(params![
        to_i64(seq)?,
        to_i64(time_ms)?,
        operator.map(i64::from),
        action,
        detail,
        &prev_hash.0[..],
        &hash.0[..]
    ])?;
    Ok(AuditEntry {
        seq,
        time_ms,
        operator,
        action: action.to_string(),
        detail: detail.to_string(),
        prev_hash,
        hash,
    })
}

/// Audit log entries from `from_seq` on, at most `limit`.
pub fn audit_entries(
    conn: &Connection,
    from_seq: u64,
    limit: usize,
) -> StoreResult<Vec<AuditEntry>> {
    let mut st = conn.prepare_cached(
        "SELECT seq, time_ms, operator, action, detail, prev_hash, hash FROM audit_log WHERE seq >= ?1 ORDER BY seq LIMIT ?2",
    )?;
    let rows = st.query_map(
        params![to_i64(from_seq)?, i64::try_from(limit).unwrap_or(i64::MAX)],
        |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, i64>(1)?,
                r.get::<_, Option<i64>>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, String>(4)?,
                r.get::<_, Vec<u8>>(5)?,
                r.get::<_, Vec<u8>>(6)?,
            ))
        },
    )?;
    let mut out = Vec::new();
    for row in rows {
        let (seq, time, op, action, detail, prev, hash) = row?;
        out.push(AuditEntry {
            seq: to_u64(seq, "audit_log")?,
            time_ms: to_u64(time, "audit_log")?,
            operator: op
                .map(|o| {
                    u8::try_from(o)
                        .map_err(|_| StoreError::corrupt("audit_log", "operator out of range"))
                })
                .transpose()?,
            action,
            detail,
            prev_hash: h32(prev, "audit_log")?,
            hash: h32(hash, "audit_log")?,
        });
    }
    Ok(out)
}

/// Records an operator request nonce; false if it was seen before (a replay). Forgets nonces older
/// than `forget_before_ms`, which the clock-skew check already refuses.
pub fn record_nonce(
    conn: &Connection,
    nonce: &Hash32,
    time_ms: u64,
    forget_before_ms: u64,
) -> StoreResult<bool> {
    conn.prepare_cached("DELETE FROM operator_nonces WHERE time_ms < ?1")?
        .execute([to_i64(forget_before_ms)?])?;
    let n = conn
        .prepare_cached("INSERT OR IGNORE INTO operator_nonces (nonce, time_ms) VALUES (?1, ?2)")?
        .execute(params![&nonce.0[..], to_i64(time_ms)?])?;
    Ok(n == 1)
}

/// Output of a stored note, for callers that need the full output.
pub fn note_output(conn: &Connection, id: &NoteId) -> StoreResult<Option<Output>> {
    let mut st = conn.prepare_cached("SELECT output FROM notes WHERE id = ?1")?;
    let row = st
        .query_row([&id.0[..]], |r| r.get::<_, String>(0))
        .optional()?;
    row.map(|s| serde_json::from_str(&s).map_err(|e| StoreError::corrupt("notes", e)))
        .transpose()
}

/// The transactions of block `height` with their stored txid column and receipt signature, for
/// the audit.
pub fn block_tx_rows(
    conn: &Connection,
    height: u64,
) -> StoreResult<Vec<(TxId, Transaction, Signature)>> {
    let mut st = conn.prepare_cached(
        "SELECT txid, bytes, receipt_sig FROM txs WHERE height = ?1 ORDER BY idx",
    )?;
    let rows = st.query_map([to_i64(height)?], |r| {
        Ok((
            r.get::<_, Vec<u8>>(0)?,
            r.get::<_, Vec<u8>>(1)?,
            r.get::<_, Vec<u8>>(2)?,
        ))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (id, bytes, sig) = row?;
        out.push((
            h32(id, "txs")?,
            Transaction::decode(&bytes).map_err(|e| StoreError::corrupt("txs", e))?,
            signature(sig, "txs")?,
        ));
    }
    Ok(out)
}

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
