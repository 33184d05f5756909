//! The `checkpoint_signatures` table: one row per operator signature over a point of the chain.
//!
//! The rows are not trusted by their readers: the audit verifies every signature again, and a
//! row whose block is not the chain's fails the audit.

use std::collections::BTreeMap;

use dfc_core::cosign::{ChainPoint, CheckpointSignature, CosignedCheckpoint};
use dfc_core::{Hash32, IssuerSignature, NetworkParams, Signature};
use rusqlite::{params, Connection};

use crate::error::StoreError;

/// Schema (a migration of [`crate::store::migrations`]).
pub const SCHEMA: &str = "
CREATE TABLE checkpoint_signatures (
    height INTEGER NOT NULL,
    block_hash BLOB NOT NULL,
    operator INTEGER NOT NULL,
    signature BLOB NOT NULL,
    time_ms INTEGER NOT NULL,
    UNIQUE (height, operator)
);
";

const TABLE: &str = "checkpoint_signatures";

fn i64_of(v: u64) -> Result<i64, StoreError> {
    i64::try_from(v).map_err(|_| StoreError::corrupt(TABLE, format!("height {v} out of range")))
}

/// Stores `sig` once per (height, operator); returns whether it was new.
pub fn insert(
    conn: &Connection,
    sig: &CheckpointSignature,
    time_ms: u64,
) -> Result<bool, StoreError> {
    let n = conn.execute(
        "INSERT OR IGNORE INTO checkpoint_signatures (height, block_hash, operator, signature, time_ms)
         VALUES (?1, ?2, ?3, ?4, ?5)",
        params![
            i64_of(sig.point.height)?,
            sig.point.block_hash.0.to_vec(),
            i64::from(sig.signature.index),
            sig.signature.signature.to_bytes().to_vec(),
            i64_of(time_ms)?,
        ],
    )?;
    Ok(n == 1)
}

/// Every stored checkpoint from height `from` on (at most `limit` heights), in height order, each
/// with its signatures by operator index. Rows of one height naming different blocks come out
/// as separate checkpoints (the audit refuses them).
pub fn list(
    conn: &Connection,
    params: &NetworkParams,
    from: u64,
    limit: u32,
) -> Result<Vec<CosignedCheckpoint>, StoreError> {
    let mut st = conn.prepare(
        "SELECT height, block_hash, operator, signature FROM checkpoint_signatures
         WHERE height IN (SELECT DISTINCT height FROM checkpoint_signatures WHERE height >= ?1
                          ORDER BY height LIMIT ?2)
         ORDER BY height, block_hash, operator",
    )?;
    let rows = st.query_map(params![i64_of(from)?, i64::from(limit)], |r| {
        Ok((
            r.get::<_, i64>(0)?,
            r.get::<_, Vec<u8>>(1)?,
            r.get::<_, i64>(2)?,
            r.get::<_, Vec<u8>>(3)?,
        ))
    })?;
    let mut out: BTreeMap<(u64, [u8; 32]), Vec<IssuerSignature>> = BTreeMap::new();
    for row in rows {
        let (height, hash, operator, sig) = row?;
        let height =
            u64::try_from(height).map_err(|_| StoreError::corrupt(TABLE, "negative height"))?;
        let hash: [u8; 32] = hash
            .try_into()
            .map_err(|_| StoreError::corrupt(TABLE, "a block hash is not 32 bytes"))?;
        let index = u8::try_from(operator)
            .map_err(|_| StoreError::corrupt(TABLE, format!("operator index {operator}")))?;
        let sig: [u8; 64] = sig
            .try_into()
            .map_err(|_| StoreError::corrupt(TABLE, "a signature is not 64 bytes"))?;
        let signature = Signature::from_bytes(&sig).map_err(|e| StoreError::corrupt(TABLE, e))?;
        out.entry((height, hash))
            .or_default()
            .push(IssuerSignature { index, signature });
    }
    Ok(out
        .into_iter()
        .map(|((height, hash), signatures)| CosignedCheckpoint {
            point: ChainPoint {
                network: params.network_id,
                genesis: params.genesis_hash,
                height,
                block_hash: Hash32(hash),
            },
            signatures,
        })
        .collect())
}

/// The checkpoint stored at `height` for block `block_hash`, if any signature is stored.
pub fn at(
    conn: &Connection,
    params: &NetworkParams,
    height: u64,
    block_hash: &Hash32,
) -> Result<Option<CosignedCheckpoint>, StoreError> {
    Ok(list(conn, params, height, 1)?
        .into_iter()
        .find(|c| c.point.height == height && c.point.block_hash == *block_hash))
}

/// Most heights looked at, newest first, for [`latest_anchored`].
const ANCHOR_SCAN: u32 = 64;

/// The newest stored checkpoint that holds k valid signatures under the parameters of its
/// height (what a purse certificate names), among the newest [`ANCHOR_SCAN`] signed heights.
pub fn latest_anchored(
    conn: &Connection,
    history: &dfc_core::governance::ParamsHistory,
) -> Result<Option<dfc_core::offline::CheckpointRef>, StoreError> {
    let heights: Vec<i64> = conn
        .prepare_cached(
            "SELECT DISTINCT height FROM checkpoint_signatures ORDER BY height DESC LIMIT ?1",
        )?
        .query_map([i64::from(ANCHOR_SCAN)], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    for h in heights {
        let h = u64::try_from(h).map_err(|_| StoreError::corrupt(TABLE, "negative height"))?;
        for cp in list(conn, history.genesis(), h, 1)? {
            if cp.point.height == h && cp.verify(history).is_ok() {
                return Ok(Some(dfc_core::offline::CheckpointRef {
                    height: h,
                    block_hash: cp.point.block_hash,
                }));
            }
        }
    }
    Ok(None)
}
