//! Blocks, their transactions and receipts: the block writer and block reads.

#[allow(unused_imports)]
use super::*;

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

pub(crate) fn decode_header(row: (Vec<u8>, String, Vec<u8>)) -> StoreResult<StoredHeader> {
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

/// What a block does to pending flags and holdings, computed once when its transactions were
/// admitted (`dfc_core::BatchState::admit`) and written as is.
#[derive(Debug, Clone, Copy)]
pub struct BlockEffects<'a> {
    /// Per transaction of the block, in block order.
    pub txs: &'a [Effects],
    /// The holding of every account the block changes, as it stands after the block
    /// (`BatchState::holdings`): one write per account per block.
    pub holdings: &'a HashMap<PublicKey, Holding>,
}

impl BlockEffects<'_> {
    /// The effects of a block without transactions (genesis).
    pub fn none() -> BlockEffects<'static> {
        static EMPTY: std::sync::OnceLock<HashMap<PublicKey, Holding>> = std::sync::OnceLock::new();
        BlockEffects {
            txs: &[],
            holdings: EMPTY.get_or_init(HashMap::new),
        }
    }
}

/// Writes a sealed block: the header, its transactions with their receipt signatures, the notes
/// they create (pending or not) and spend, the notes its claims settle, and the holdings after
/// it, from the effects its admission computed (nothing is re-derived from the database). Call
/// inside a SQLite transaction; the UNIQUE constraints refuse a double spend or a repeated note
/// even if the checks above were wrong.
pub fn insert_block(
    conn: &Connection,
    block: &Block,
    receipt_sigs: &[Signature],
    fx: &BlockEffects<'_>,
) -> StoreResult<()> {
    if fx.txs.len() != block.txs.len() || receipt_sigs.len() != block.txs.len() {
        return Err(StoreError::corrupt(
            "blocks",
            format!(
                "block of {} transactions written with {} effects and {} receipt signatures",
                block.txs.len(),
                fx.txs.len(),
                receipt_sigs.len()
            ),
        ));
    }
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
        "INSERT INTO notes (id, commitment, owner, created_height, txid, output_index, output, pending) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?;
    let mut ins_spent =
        conn.prepare_cached("INSERT INTO spent (note_id, txid, height) VALUES (?1, ?2, ?3)")?;
    let mut settle = conn.prepare_cached("UPDATE notes SET pending = 0 WHERE id = ?1")?;
    for (idx, ((tx, sig), tx_fx)) in block.txs.iter().zip(receipt_sigs).zip(fx.txs).enumerate() {
        let txid = tx.id();
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
            let pending = tx_fx.pending_outputs.get(i).copied().unwrap_or(false);
            let i = i64::try_from(i).map_err(|_| StoreError::corrupt("notes", "index overflow"))?;
            ins_note.execute(params![
                &id.0[..],
                &o.commitment.to_bytes()[..],
                &o.owner.to_bytes()[..],
                height,
                &txid.0[..],
                i,
                out,
                pending
            ])?;
        }
        for id in &tx_fx.claimed {
            settle.execute([&id.0[..]])?;
        }
    }
    for (account, h) in fx.holdings {
        crate::holdings::put_holding(conn, account, h)?;
    }
    // The owner index of light sync, in the same transaction as the block.
    crate::light::index_block(conn, block)?;
    // The history MMR gains the block's hash (header version 2), in the same transaction.
    crate::history::append_block(conn, block)?;
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
