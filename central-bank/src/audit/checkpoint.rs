//! `dfc-bank audit --from-checkpoint`: start the replay from a ledger summary the auditor trusts
//! (see [`crate::summary`]) instead of genesis.
//!
//! The checkpoint names a block (height and hash), the supply there, and the count and sum of the
//! commitments unspent there. The state at the checkpoint is read from the tables (notes created
//! at or before it, spends at or before it) and accepted only if it matches: the block at that
//! height has that hash and supply, and the unspent notes are exactly as many and sum to exactly
//! that point. From there every later block is verified as in a full audit; the supply invariant
//! is carried over as `Σ unspent − supply·B` at the checkpoint.
//!
//! What is *not* re-checked from a checkpoint: the limits of claims (the holdings at the
//! checkpoint are not part of it) and the holdings table and pending flags. A checkpoint signed
//! only by the node is as good as the node key; the seam for a checkpoint co-signed by operators
//! is [`trusted`]: whatever verifies such a checkpoint hands its [`Summary`] here.

use std::collections::{HashMap, HashSet};

use curve25519_dalek::ristretto::RistrettoPoint;
use curve25519_dalek::traits::Identity;
use dfc_core::note::pedersen_gens;
use dfc_core::{
    Commitment, Hash32, LedgerNote, NetworkParams, NoteId, PublicKey, SupplyAudit, TxId,
};
use rusqlite::Connection;

use super::replay::{Replay, Start};
use super::IntegrityError;
use crate::store;
use crate::summary::{SignedSummary, Summary};

fn refuse(reason: impl Into<String>) -> IntegrityError {
    IntegrityError::Checkpoint(reason.into())
}

/// The summary of a checkpoint file, if its signature is the node's (the trust the auditor puts
/// in the node key). Co-signed checkpoints plug in here.
pub fn trusted(signed: &SignedSummary, params: &NetworkParams) -> Result<Summary, IntegrityError> {
    if !signed.verify(&params.node_key) {
        return Err(refuse("its signature is not this network's node key"));
    }
    Ok(signed.summary.clone())
}

fn h32(bytes: Vec<u8>) -> Result<Hash32, IntegrityError> {
    let arr: [u8; 32] = bytes
        .try_into()
        .map_err(|_| refuse("a stored id is not 32 bytes"))?;
    Ok(Hash32(arr))
}

/// The replay's state at the checkpoint, read from the tables and checked against it.
pub(super) fn seed<'a>(conn: &'a Connection, s: &Summary) -> Result<Start<'a>, IntegrityError> {
    let header = store::header_at(conn, s.height)?
        .ok_or_else(|| refuse(format!("the ledger has no block {}", s.height)))?;
    if header.header.hash() != s.block_hash || header.hash != s.block_hash {
        return Err(refuse(format!(
            "block {} of this ledger is not the checkpoint's block {}",
            s.height, s.block_hash
        )));
    }
    if header.header.supply.units() != s.supply_units {
        return Err(refuse("the checkpoint's supply is not its block's"));
    }
    let h = i64::try_from(s.height).map_err(|_| refuse("height out of range"))?;
    let mut spent: HashMap<NoteId, (TxId, u64)> = HashMap::new();
    {
        let mut st = conn.prepare("SELECT note_id, txid, height FROM spent WHERE height <= ?1")?;
        let rows = st.query_map([h], |r| {
            Ok((
                r.get::<_, Vec<u8>>(0)?,
                r.get::<_, Vec<u8>>(1)?,
                r.get::<_, i64>(2)?,
            ))
        })?;
        for row in rows {
            let (n, t, at) = row?;
            let at = u64::try_from(at).map_err(|_| refuse("negative height"))?;
            spent.insert(h32(n)?, (h32(t)?, at));
        }
    }
    let mut notes = HashMap::new();
    let mut commitments = HashSet::new();
    let mut sum = RistrettoPoint::identity();
    let mut unspent = 0u64;
    {
        let mut st = conn.prepare(
            "SELECT id, commitment, owner, created_height, txid, pending FROM notes WHERE created_height <= ?1",
        )?;
        let rows = st.query_map([h], |r| {
            Ok((
                r.get::<_, Vec<u8>>(0)?,
                r.get::<_, Vec<u8>>(1)?,
                r.get::<_, Vec<u8>>(2)?,
                r.get::<_, i64>(3)?,
                r.get::<_, Vec<u8>>(4)?,
                r.get::<_, bool>(5)?,
            ))
        })?;
        for row in rows {
            let (id, c, owner, created, txid, pending) = row?;
            let id = h32(id)?;
            let c: [u8; 32] = c
                .try_into()
                .map_err(|_| refuse("a commitment is not 32 bytes"))?;
            let commitment = Commitment::from_bytes(&c)
                .map_err(|_| refuse("a stored commitment is not a point"))?;
            let point = *commitment.point();
            let owner: [u8; 32] = owner
                .try_into()
                .map_err(|_| refuse("an owner key is not 32 bytes"))?;
            let owner = PublicKey::from_bytes(&owner).map_err(|e| refuse(e.to_string()))?;
            let is_spent = spent.contains_key(&id);
            if !is_spent {
                sum += point;
                unspent += 1;
            }
            commitments.insert(c);
            let created = u64::try_from(created).map_err(|_| refuse("negative height"))?;
            notes.insert(
                id,
                (
                    LedgerNote {
                        commitment,
                        owner,
                        spent: is_spent,
                        pending,
                    },
                    created,
                    h32(txid)?,
                ),
            );
        }
    }
    if unspent != s.unspent_count || hex::encode(sum.compress().to_bytes()) != s.unspent_sum {
        return Err(refuse(format!(
            "the notes unspent at block {} ({unspent}) are not the checkpoint's ({})",
            s.height, s.unspent_count
        )));
    }
    // Σ unspent = supply·B + Σ excess held at the checkpoint; carry its excess part over.
    let supply_point = pedersen_gens().B * curve25519_dalek::Scalar::from(s.supply_units);
    let mut audit = SupplyAudit::new();
    audit.add_excess(&(sum - supply_point));
    Ok(Start {
        replay: Replay {
            conn,
            notes,
            commitments,
            spent,
            holdings: HashMap::new(),
            accounts: Default::default(),
        },
        audit,
        prev: Some(header.header.clone()),
        supply: header.header.supply,
        tx_count: s.tx_count(),
        holdings_known: false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use dfc_core::Amount;

    #[test]
    fn the_supply_term_is_the_value_base() {
        // The carried-over excess must use the same base as the supply audit's check.
        let mut audit = SupplyAudit::new();
        let b = pedersen_gens().B;
        audit.add_excess(&(RistrettoPoint::identity() - b * curve25519_dalek::Scalar::from(5u64)));
        assert!(audit.check(Amount::from_units(5).expect("amount")).is_ok());
    }
}
