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
    let tip = store::tip(conn)?.ok_or(IntegrityError::NoGenesis)?;
    check_points(&all, history, tip.header.height, |height| {
        Ok(store::header_at(conn, height)?.map(|h| h.hash))
    })
}

/// Checks `checkpoints` against a ledger that ends at `tip_height` and holds, at each height,
/// the block whose hash `block_at` gives: every signature verifies under the operators in force
/// at its height, and every checkpoint with k of them names the ledger's block. Returns the
/// anchored height (the highest co-signed height), if any. The SQLite audit ([`check`]) and the
/// PostgreSQL one (`dfc-bank audit --store postgres://… --cosigned FILE`) share it.
pub fn check_points(
    checkpoints: &[CosignedCheckpoint],
    history: &ParamsHistory,
    tip_height: u64,
    block_at: impl Fn(u64) -> Result<Option<Hash32>, IntegrityError>,
) -> Result<Option<u64>, IntegrityError> {
    // Per height, the anchored block hashes (in height order: the first failure is the lowest).
    let mut anchored: BTreeMap<u64, Vec<(Hash32, Vec<u8>)>> = BTreeMap::new();
    for cp in checkpoints {
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
    let mut top = None;
    for (height, points) in anchored {
        let Some(stored) = block_at(height)? else {
            return Err(refuse(
                height,
                format!(
                    "operators co-signed block {height} but this ledger ends at height \
                     {tip_height}: the chain was cut back after they signed it"
                ),
            ));
        };
        for (hash, signers) in points {
            if stored != hash {
                return Err(refuse(
                    height,
                    format!(
                        "this ledger's block {height} is {stored}, but operators {signers:?} \
                         co-signed block {hash} at this height: the chain was rewritten after \
                         they signed it"
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

#[cfg(test)]
mod tests {
    use dfc_core::cosign::ChainPoint;
    use dfc_core::IssuerSignature;

    use super::*;
    use crate::audit::{verify_with, AuditOptions, Depth};
    use crate::datadir::{init, read_key, InitOptions, LEDGER_FILE};

    /// A fresh ledger (genesis only) and a checkpoint at `height` signed by operators `signers`.
    fn setup(
        height: u64,
        signers: &[usize],
    ) -> (
        tempfile::TempDir,
        dfc_core::NetworkParams,
        CosignedCheckpoint,
    ) {
        let dir = tempfile::tempdir().expect("tempdir");
        let report = init(dir.path(), &InitOptions::default()).expect("init");
        let p = &report.params;
        let point = ChainPoint {
            network: p.network_id,
            genesis: p.genesis_hash,
            height,
            block_hash: p.genesis_hash,
        };
        let signatures = signers
            .iter()
            .map(|&i| IssuerSignature {
                index: u8::try_from(i).expect("small"),
                signature: read_key(&report.operator_keys[i])
                    .expect("key")
                    .sign(&point.digest().0),
            })
            .collect();
        (dir, report.params, CosignedCheckpoint { point, signatures })
    }

    fn audit(
        dir: &tempfile::TempDir,
        params: &dfc_core::NetworkParams,
        brought: &[CosignedCheckpoint],
    ) -> Result<Option<u64>, IntegrityError> {
        let conn = store::open_writer(&dir.path().join(LEDGER_FILE)).expect("open");
        verify_with(
            &conn,
            params,
            &AuditOptions {
                depth: Depth::Structure,
                cosigned: brought,
                ..AuditOptions::full()
            },
        )
        .map(|s| s.anchored_height)
    }

    #[test]
    fn the_genesis_block_co_signed_by_k_is_the_anchor() {
        let (dir, params, cp) = setup(0, &[0, 2]);
        assert_eq!(audit(&dir, &params, &[cp]).expect("passes"), Some(0));
    }

    #[test]
    fn a_ledger_cut_back_below_a_co_signed_height_fails_there() {
        // Operators co-signed block 5 (as the genesis hash here); the ledger ends at 0.
        let (dir, params, cp) = setup(5, &[0, 1]);
        match audit(&dir, &params, &[cp]) {
            Err(IntegrityError::Cosigned { height: 5, reason }) => {
                assert!(reason.contains("ends at height 0"), "{reason}");
            }
            other => panic!("expected the cut-back chain to fail at 5, got {other:?}"),
        }
    }

    #[test]
    fn one_operator_alone_pins_nothing_and_fails_nothing() {
        // One signature on another block at height 0: no anchor, no failure.
        let (dir, params, mut cp) = setup(0, &[1]);
        cp.point.block_hash = Hash32([9; 32]);
        let key = read_key(&crate::datadir::operator_key_path(dir.path(), 1)).expect("key");
        cp.signatures[0].signature = key.sign(&cp.point.digest().0);
        assert_eq!(audit(&dir, &params, &[cp]).expect("passes"), None);
    }

    #[test]
    fn a_signature_that_does_not_verify_fails_the_audit() {
        let (dir, params, mut cp) = setup(0, &[0, 1]);
        cp.signatures[1].index = 2;
        assert!(matches!(
            audit(&dir, &params, &[cp]),
            Err(IntegrityError::Cosigned { height: 0, .. })
        ));
    }
}
