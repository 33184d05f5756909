//! The light-sync index and its queries, over a plain `&Connection` so they sit beside any store.
//!
//! `light_index` lists, for every key a committed transaction touches (an output's owner, the
//! owner of a note it spends, a claim's claimant), the transaction's block height and position.
//! It is written in the same SQLite transaction as the block ([`index_block`]) and backfilled
//! from the notes, spends and claims of an older ledger when the migration runs.

use dfc_core::{Block, PublicKey, Transaction};
use rusqlite::{params, Connection, OptionalExtension};

use crate::error::StoreError;
use crate::store::StoreResult;

/// Schema: the owner index (migration 6).
pub const SCHEMA: &str = "
CREATE TABLE light_index (
    owner BLOB NOT NULL,
    height INTEGER NOT NULL,
    idx INTEGER NOT NULL,
    UNIQUE (owner, height, idx)
);
INSERT OR IGNORE INTO light_index (owner, height, idx)
    SELECT n.owner, t.height, t.idx FROM notes n JOIN txs t ON t.txid = n.txid;
INSERT OR IGNORE INTO light_index (owner, height, idx)
    SELECT n.owner, t.height, t.idx FROM spent s JOIN notes n ON n.id = s.note_id JOIN txs t ON t.txid = s.txid;
";

/// Backfills the claimants of committed claims (inside the transaction bytes, out of SQL's reach).
pub fn backfill_claims(conn: &Connection) -> StoreResult<()> {
    let mut st = conn.prepare("SELECT height, idx, bytes FROM txs WHERE kind = 'claim'")?;
    let rows = st.query_map([], |r| {
        Ok((
            r.get::<_, i64>(0)?,
            r.get::<_, i64>(1)?,
            r.get::<_, Vec<u8>>(2)?,
        ))
    })?;
    let mut ins =
        conn.prepare("INSERT OR IGNORE INTO light_index (owner, height, idx) VALUES (?1, ?2, ?3)")?;
    for row in rows {
        let (height, idx, bytes) = row?;
        let tx = Transaction::decode(&bytes).map_err(|e| StoreError::corrupt("txs", e))?;
        if let Some(c) = &tx.claim {
            ins.execute(params![&c.claimant.to_bytes()[..], height, idx])?;
        }
    }
    Ok(())
}

/// Indexes the transactions of `block`, after they and their notes are written.
pub fn index_block(conn: &Connection, block: &Block) -> StoreResult<()> {
    let height = i64::try_from(block.header.height)
        .map_err(|_| StoreError::corrupt("light_index", "height overflow"))?;
    let mut ins = conn.prepare_cached(
        "INSERT OR IGNORE INTO light_index (owner, height, idx) VALUES (?1, ?2, ?3)",
    )?;
    let mut ins_input = conn.prepare_cached(
        "INSERT OR IGNORE INTO light_index (owner, height, idx) SELECT owner, ?2, ?3 FROM notes WHERE id = ?1",
    )?;
    for (idx, tx) in block.txs.iter().enumerate() {
        let idx =
            i64::try_from(idx).map_err(|_| StoreError::corrupt("light_index", "index overflow"))?;
        for o in &tx.outputs {
            ins.execute(params![&o.owner.to_bytes()[..], height, idx])?;
        }
        for input in &tx.inputs {
            ins_input.execute(params![&input.0[..], height, idx])?;
        }
        if let Some(c) = &tx.claim {
            ins.execute(params![&c.claimant.to_bytes()[..], height, idx])?;
        }
    }
    Ok(())
}

/// The keys a wallet's light sync covers: its spend key and every purse key certified for it.
pub fn owner_keys(conn: &Connection, wallet: &PublicKey) -> StoreResult<Vec<[u8; 32]>> {
    let mut keys = vec![wallet.to_bytes()];
    let mut st = conn.prepare_cached("SELECT DISTINCT purse_key FROM purses WHERE wallet = ?1")?;
    let rows = st.query_map([&wallet.to_bytes()[..]], |r| r.get::<_, Vec<u8>>(0))?;
    for row in rows {
        let k: [u8; 32] = row?
            .try_into()
            .map_err(|_| StoreError::corrupt("purses", "purse key is not 32 bytes"))?;
        if !keys.contains(&k) {
            keys.push(k);
        }
    }
    Ok(keys)
}

/// Positions `(height, index)` of the transactions touching any of `owners` in `from..=to`, in
/// chain order, at most `limit`.
pub fn positions(
    conn: &Connection,
    owners: &[[u8; 32]],
    from: u64,
    to: u64,
    limit: usize,
) -> StoreResult<Vec<(u64, usize)>> {
    let from = i64::try_from(from).unwrap_or(i64::MAX);
    let to = i64::try_from(to).unwrap_or(i64::MAX);
    let mut st = conn.prepare_cached(
        "SELECT height, idx FROM light_index WHERE owner = ?1 AND height BETWEEN ?2 AND ?3 ORDER BY height, idx LIMIT ?4",
    )?;
    let lim = i64::try_from(limit).unwrap_or(i64::MAX);
    let mut out = Vec::new();
    for owner in owners {
        let rows = st.query_map(params![&owner[..], from, to, lim], |r| {
            Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?))
        })?;
        for row in rows {
            let (h, i) = row?;
            let h = u64::try_from(h).map_err(|_| StoreError::corrupt("light_index", "height"))?;
            let i = usize::try_from(i).map_err(|_| StoreError::corrupt("light_index", "index"))?;
            out.push((h, i));
        }
    }
    out.sort_unstable();
    out.dedup();
    out.truncate(limit);
    Ok(out)
}

/// A note of a wallet: id, owner, created height, spent height, pending flag.
pub type OwnNoteRow = ([u8; 32], [u8; 32], u64, Option<u64>, bool);

/// The notes owned by `owners`, unspent first, then newest first, at most `limit`.
pub fn own_notes(
    conn: &Connection,
    owners: &[[u8; 32]],
    limit: usize,
) -> StoreResult<Vec<OwnNoteRow>> {
    let mut st = conn.prepare_cached(
        "SELECT n.id, n.owner, n.created_height, s.height, n.pending FROM notes n
         LEFT JOIN spent s ON s.note_id = n.id WHERE n.owner = ?1
         ORDER BY s.height IS NOT NULL, n.created_height DESC LIMIT ?2",
    )?;
    let lim = i64::try_from(limit).unwrap_or(i64::MAX);
    let mut out = Vec::new();
    for owner in owners {
        let rows = st.query_map(params![&owner[..], lim], |r| {
            Ok((
                r.get::<_, Vec<u8>>(0)?,
                r.get::<_, Vec<u8>>(1)?,
                r.get::<_, i64>(2)?,
                r.get::<_, Option<i64>>(3)?,
                r.get::<_, bool>(4)?,
            ))
        })?;
        for row in rows {
            let (id, owner, created, spent, pending) = row?;
            let bad = |what| StoreError::corrupt("notes", what);
            out.push((
                id.try_into().map_err(|_| bad("id"))?,
                owner.try_into().map_err(|_| bad("owner"))?,
                u64::try_from(created).map_err(|_| bad("height"))?,
                spent
                    .map(|h| u64::try_from(h).map_err(|_| bad("spent height")))
                    .transpose()?,
                pending,
            ));
        }
    }
    out.sort_by_key(|n| (n.3.is_some(), std::cmp::Reverse(n.2)));
    out.truncate(limit);
    Ok(out)
}

/// Whether `key` is a registered wallet's spend key.
pub fn is_registered(conn: &Connection, key: &PublicKey) -> StoreResult<bool> {
    Ok(conn
        .prepare_cached("SELECT 1 FROM wallets WHERE spend_key = ?1")?
        .query_row([&key.to_bytes()[..]], |_| Ok(()))
        .optional()?
        .is_some())
}
