//! The stored history MMR (see [`dfc_core::history`]): every node of the Merkle mountain range
//! over block hashes, by position, over a plain `&Connection` so it sits beside any store.
//!
//! Appended in the same SQLite transaction as each block ([`append_block`], called by
//! `store::insert_block`): O(log n) reads and writes per block. The node reads the root for the
//! next header at seal time ([`root`]) and proofs for light-sync answers ([`prove`]).

use dfc_core::history::{
    self, HistoryError, HistoryProof, MMRStoreReadOps, MMRStoreWriteOps, StoreErrorKind,
};
use dfc_core::{Block, Hash32};
use rusqlite::{params, Connection, OptionalExtension};

use crate::error::StoreError;
use crate::store::StoreResult;

/// Schema: the MMR nodes (migration 11), backfilled from the stored blocks by [`backfill`].
pub const SCHEMA: &str = "
CREATE TABLE history_nodes (
    pos INTEGER PRIMARY KEY,
    hash BLOB NOT NULL
);
";

/// The MMR store over SQLite.
struct Nodes<'a>(&'a Connection);

fn mmr_err(e: impl std::fmt::Display) -> StoreErrorKind {
    StoreErrorKind::StoreError(e.to_string())
}

impl MMRStoreReadOps<Hash32> for Nodes<'_> {
    fn get_elem(&self, pos: u64) -> Result<Option<Hash32>, StoreErrorKind> {
        let pos = i64::try_from(pos).map_err(mmr_err)?;
        let row: Option<Vec<u8>> = self
            .0
            .prepare_cached("SELECT hash FROM history_nodes WHERE pos = ?1")
            .map_err(mmr_err)?
            .query_row([pos], |r| r.get(0))
            .optional()
            .map_err(mmr_err)?;
        row.map(|b| {
            <[u8; 32]>::try_from(b.as_slice())
                .map(Hash32)
                .map_err(|_| mmr_err("a stored node is not 32 bytes"))
        })
        .transpose()
    }
}

impl MMRStoreWriteOps<Hash32> for Nodes<'_> {
    fn append(&mut self, pos: u64, elems: Vec<Hash32>) -> Result<(), StoreErrorKind> {
        let mut st = self
            .0
            .prepare_cached("INSERT INTO history_nodes (pos, hash) VALUES (?1, ?2)")
            .map_err(mmr_err)?;
        for (i, e) in elems.iter().enumerate() {
            let p = pos
                .checked_add(i as u64)
                .and_then(|p| i64::try_from(p).ok())
                .ok_or_else(|| mmr_err("position overflow"))?;
            st.execute(params![p, &e.0[..]]).map_err(mmr_err)?;
        }
        Ok(())
    }
}

fn corrupt(e: HistoryError) -> StoreError {
    StoreError::corrupt("history_nodes", e)
}

/// The history root over blocks `0..leaf_count` (what the header at height `leaf_count` carries).
pub fn root(conn: &Connection, leaf_count: u64) -> StoreResult<Hash32> {
    history::root(Nodes(conn), leaf_count).map_err(corrupt)
}

/// Appends `block`'s hash as leaf `block.header.height`. Call inside the block's transaction.
pub fn append_block(conn: &Connection, block: &Block) -> StoreResult<()> {
    let height = block.header.height;
    let stored = stored_size(conn)?;
    if stored != history::mmr_size(height) {
        return Err(StoreError::corrupt(
            "history_nodes",
            format!(
                "{stored} nodes stored, but block {height} needs {}",
                history::mmr_size(height)
            ),
        ));
    }
    history::append(Nodes(conn), height, &block.header.hash()).map_err(corrupt)
}

/// The proof that the blocks at `heights` are in the history of `leaf_count` blocks.
pub fn prove(conn: &Connection, leaf_count: u64, heights: &[u64]) -> StoreResult<HistoryProof> {
    history::prove(Nodes(conn), leaf_count, heights).map_err(corrupt)
}

/// Number of stored nodes.
pub fn stored_size(conn: &Connection) -> StoreResult<u64> {
    let n: i64 = conn
        .prepare_cached("SELECT COUNT(*) FROM history_nodes")?
        .query_row([], |r| r.get(0))?;
    u64::try_from(n).map_err(|_| StoreError::corrupt("history_nodes", "negative count"))
}

/// Fills the MMR from the blocks already stored (the migration's hook): their hashes in height
/// order.
pub fn backfill(conn: &Connection) -> StoreResult<()> {
    let hashes: Vec<Vec<u8>> = conn
        .prepare("SELECT hash FROM blocks ORDER BY height")?
        .query_map([], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    for (i, h) in hashes.into_iter().enumerate() {
        let h: [u8; 32] = h
            .try_into()
            .map_err(|_| StoreError::corrupt("blocks", "hash is not 32 bytes"))?;
        history::append(Nodes(conn), i as u64, &Hash32(h)).map_err(corrupt)?;
    }
    Ok(())
}

/// Checks the stored MMR against the tip: the root over the blocks below it is the tip header's
/// history root, and the MMR holds exactly one leaf per block. Run when the node opens the
/// ledger, so nodes edited while it was stopped are found before a header is built on them.
pub fn check_tip(conn: &Connection, tip: &dfc_core::BlockHeader) -> StoreResult<()> {
    let stored = stored_size(conn)?;
    let want = history::mmr_size(tip.height + 1);
    if stored != want || root(conn, tip.height)? != tip.history_root {
        return Err(StoreError::corrupt(
            "history_nodes",
            format!(
                "the stored history does not match the tip header at height {} ({stored} nodes, {want} expected)",
                tip.height
            ),
        ));
    }
    Ok(())
}

/// The in-memory peaks of the history of `leaf_count` blocks, read from the stored MMR and checked
/// against `history_root` (the root the header at height `leaf_count` carries, trusted by the
/// caller): where an audit that starts from a checkpoint picks up the history.
pub fn peaks_at(
    conn: &Connection,
    leaf_count: u64,
    history_root: &Hash32,
) -> StoreResult<history::HistoryPeaks> {
    let nodes = Nodes(conn);
    let mut peaks = Vec::new();
    for pos in history::peak_positions(leaf_count) {
        peaks.push(
            nodes
                .get_elem(pos)
                .map_err(|e| StoreError::corrupt("history_nodes", e))?
                .ok_or_else(|| StoreError::corrupt("history_nodes", "a peak is missing"))?,
        );
    }
    history::HistoryPeaks::from_peaks(leaf_count, peaks)
        .filter(|p| p.root() == *history_root)
        .ok_or_else(|| {
            StoreError::corrupt(
                "history_nodes",
                format!("the stored peaks of {leaf_count} blocks are not the checkpoint header's history root"),
            )
        })
}
