//! The audit's check of operator co-signed checkpoints ([`crate::cosign`]): every checkpoint
//! stored in the ledger, and every one the auditor brings (`dfc-bank audit --cosigned FILE`,
//! kept outside the node, so that deleting the table does not remove them), is verified again
//! under the operators in force at its height. Each one that holds k valid signatures must name
//! the block the ledger holds at that height; the first that does not fails the audit there,
//! whatever the node key signed. The highest such height is the audit's *anchored* height.
//!
//! Checkpoints with fewer than k signatures do not count (one operator alone cannot pin the
//! chain, nor make an audit fail), but their signatures must still verify: a stored row that
//! does not is a tampered table.

use std::collections::BTreeMap;

use dfc_core::cosign::CosignedCheckpoint;
use dfc_core::governance::ParamsHistory;
use dfc_core::Hash32;
use rusqlite::Connection;

use super::IntegrityError;
use crate::store;

fn refuse(height: u64, reason: impl Into<String>) -> IntegrityError {
    IntegrityError::Cosigned {
        height,
        reason: reason.into(),
    }
}

/// Every checkpoint stored in the ledger, all pages.
pub fn stored(
    conn: &Connection,
    history: &ParamsHistory,
) -> Result<Vec<CosignedCheckpoint>, IntegrityError> {
    let mut out: Vec<CosignedCheckpoint> = Vec::new();
    let mut from = 0u64;
    loop {
        let page = crate::cosign::store::list(conn, history.genesis(), from, 1000)?;
        let Some(last) = page.last() else { break };
        from = last.point.height.saturating_add(1);
        out.extend(page);
        if from == u64::MAX || from > i64::MAX as u64 {
            break;
        }
    }
    Ok(out)
}

/// Checks `checkpoints` (stored and brought) against the blocks stored in `conn`; returns the
/// anchored height (the highest co-signed height), if any.
pub(super) fn check(
    conn: &Connection,
    history: &ParamsHistory,
    brought: &[CosignedCheckpoint],
) -> Result<Option<u64>, IntegrityError> {
    let mut all = stored(conn, history)?;
    all.extend(brought.iter().cloned());
    // Per height, the anchored block hashes (in height order: the first failure is the lowest).
    let mut anchored: BTreeMap<u64, Vec<(Hash32, Vec<u8>)>> = BTreeMap::new();
    for cp in &all {
        let h = cp.point.height;
        cp.verify_signatures(history)
            .map_err(|e| refuse(h, format!("a signature does not verify: {e}")))?;
        if cp.is_anchored(history) {
            let signers = cp.signatures.iter().map(|s| s.index).collect();
            anchored
                .entry(h)
                .or_default()
                .push((cp.point.block_hash, signers));
        }
    }
    let tip = store::tip(conn)?.ok_or(IntegrityError::NoGenesis)?;
    let mut top = None;
    for (height, points) in anchored {
        let Some(stored) = store::header_at(conn, height)? else {
            return Err(refuse(
                height,
                format!(
                    "operators co-signed block {height} but this ledger ends at height {}: \
                     the chain was cut back after they signed it",
                    tip.header.height
                ),
            ));
        };
        for (hash, signers) in points {
            if stored.hash != hash {
                return Err(refuse(
                    height,
                    format!(
                        "this ledger's block {height} is {}, but operators {signers:?} co-signed \
                         block {hash} at this height: the chain was rewritten after they signed it",
                        stored.hash
                    ),
                ));
            }
        }
        top = Some(height);
    }
    Ok(top)
}

/// Whether block `height` with hash `block_hash` is co-signed by k operators (stored in the
/// ledger or brought by the auditor): what `dfc-bank audit --from-checkpoint` reports of the
/// block it starts from.
pub fn is_cosigned(
    conn: &Connection,
    history: &ParamsHistory,
    brought: &[CosignedCheckpoint],
    height: u64,
    block_hash: &Hash32,
) -> Result<bool, IntegrityError> {
    let stored = stored(conn, history)?;
    Ok(stored.iter().chain(brought).any(|cp| {
        cp.point.height == height
            && cp.point.block_hash == *block_hash
            && cp.verify(history).is_ok()
    }))
}
