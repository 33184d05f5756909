//! Decode once: a decoded transaction keeps its range proof's points (and its balance proof's `R`)
//! for the verifiers, and every bad point is still refused exactly as before, with the same typed
//! error: a non-canonical encoding by decoding, the identity by the verifier (batched or one by
//! one), a changed proof by verifying its new bytes.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use curve25519_dalek::scalar::Scalar;
use dfc_core::batch::verify_batch;
use dfc_core::validate::{check_structure, resolve_inputs, verify_crypto};
use dfc_core::{
    build, Amount, DecodeError, MemoryLedger, SpendInput, Transaction, TxError, TxKind,
};

/// A ledger with a valid 2-in/2-out transfer (not applied), its spent notes and output blindings,
/// and the issue that funded it.
struct Fx {
    n: Net,
    ledger: MemoryLedger,
    transfer: Transaction,
    inputs: Vec<SpendInput>,
    blindings: Vec<Scalar>,
    issue: Transaction,
}

fn fx() -> Fx {
    let n = net(1);
    let mut ledger = MemoryLedger::new(n.params.clone());
    let alice = wallet("alice");
    let bob = wallet("bob");
    let built = issue_pending(&n, &mut ledger, &alice, &[600, 400], 1);
    claim_pending(&n, &mut ledger, &alice, 2).unwrap();
    let inputs = spendable(&built, &alice);
    let made = build(
        &n.params,
        TxKind::Transfer,
        Amount::ZERO,
        &inputs,
        &[pay(&bob, 1, 700), pay(&alice, 1, 300)],
        &mut rng(3),
    )
    .unwrap();
    Fx {
        n,
        ledger,
        blindings: made.openings.iter().map(|o| o.blinding).collect(),
        transfer: made.tx,
        inputs,
        issue: built.tx,
    }
}

/// What the batch verifier and the one-by-one verifier say of `tx`, which must agree.
fn verdict(f: &Fx, tx: &Transaction) -> Result<(), TxError> {
    check_structure(tx, &f.n.params).unwrap();
    let inputs = resolve_inputs(tx, &f.ledger).unwrap_or_default();
    let batched = verify_batch(&[(tx, &inputs)], &f.n.params).remove(0);
    assert_eq!(batched, verify_crypto(tx, &f.n.params, &inputs));
    batched
}

/// Where the range proof's bytes start in the encoding of `tx`.
fn proof_at(tx: &Transaction, enc: &[u8]) -> usize {
    enc.windows(tx.range_proof.len())
        .position(|w| w == tx.range_proof.as_slice())
        .unwrap()
}

/// The offsets (in the proof) of `A`, `T2`, the first `L` and the last `R`.
fn point_offsets(proof_len: usize) -> [usize; 4] {
    [0, 96, 224, proof_len - 96]
}

#[test]
fn decoded_transactions_verify_as_built_ones_do() {
    let f = fx();
    for tx in [&f.transfer, &f.issue] {
        let decoded = Transaction::decode(&tx.encode()).unwrap();
        assert_eq!(&decoded, tx);
        assert_eq!(
            decoded.encode(),
            tx.encode(),
            "the wire format is unchanged"
        );
        assert_eq!(verdict(&f, &decoded), Ok(()));
        assert_eq!(verdict(&f, tx), Ok(()));
    }
}

#[test]
fn a_non_canonical_range_proof_point_is_refused_at_decode() {
    let f = fx();
    let enc = f.transfer.encode();
    let at = proof_at(&f.transfer, &enc);
    for offset in point_offsets(f.transfer.range_proof.len()) {
        // A field element ≥ p (the top bit set): no canonical encoding looks like this.
        let mut bad = enc.clone();
        bad[at + offset..at + offset + 32].fill(0xff);
        assert_eq!(
            Transaction::decode(&bad),
            Err(DecodeError::NonCanonicalPoint {
                field: "range proof point"
            }),
            "offset {offset}"
        );
    }
}

/// The identity decodes (it is a canonical encoding) and is refused by the verifiers, as the
/// `bulletproofs` verifier refuses it: from the kept points as from the bytes.
#[test]
fn an_identity_range_proof_point_is_refused_by_the_verifiers() {
    let f = fx();
    let enc = f.transfer.encode();
    let at = proof_at(&f.transfer, &enc);
    for (k, offset) in point_offsets(f.transfer.range_proof.len())
        .into_iter()
        .enumerate()
    {
        let mut bytes = enc.clone();
        bytes[at + offset..at + offset + 32].fill(0);
        let mut decoded = Transaction::decode(&bytes).unwrap();
        // Re-signed for the new body, as its payer could: only the range proof is wrong. The
        // proof's bytes are not touched, so their kept points stay.
        resign(&mut decoded, &f.inputs, f.blindings.clone(), 10 + k as u64);
        assert_eq!(verdict(&f, &decoded), Err(TxError::BadRangeProof));
        let built = Transaction {
            range_proof: decoded.range_proof.as_bytes().to_vec().into(),
            ..decoded.clone()
        };
        assert_eq!(verdict(&f, &built), Err(TxError::BadRangeProof));
    }
}

#[test]
fn a_bad_balance_proof_point_is_refused_at_decode() {
    let f = fx();
    let enc = f.transfer.encode();
    let r = f.transfer.balance_proof.to_bytes();
    let at = enc.windows(64).position(|w| w == r.as_slice()).unwrap();
    let mut bad = enc.clone();
    bad[at..at + 32].fill(0xff);
    assert_eq!(
        Transaction::decode(&bad),
        Err(DecodeError::NonCanonicalPoint {
            field: "balance proof R"
        })
    );
    bad[at..at + 32].fill(0);
    assert_eq!(
        Transaction::decode(&bad),
        Err(DecodeError::IdentityPoint {
            field: "balance proof R"
        })
    );
}

/// Bytes changed after decoding are verified as they are now, never with the points decoding
/// kept: every point position, changed to another valid point (another proof's), is refused.
#[test]
fn a_proof_changed_after_decoding_is_verified_from_its_new_bytes() {
    let f = fx();
    let other = build(
        &f.n.params,
        TxKind::Transfer,
        Amount::ZERO,
        &f.inputs,
        &[pay(&wallet("bob"), 1, 500), pay(&wallet("alice"), 1, 500)],
        &mut rng(4),
    )
    .unwrap()
    .tx;
    for (k, offset) in point_offsets(f.transfer.range_proof.len())
        .into_iter()
        .enumerate()
    {
        let mut changed = Transaction::decode(&f.transfer.encode()).unwrap();
        changed.range_proof[offset..offset + 32]
            .copy_from_slice(&other.range_proof[offset..offset + 32]);
        resign(&mut changed, &f.inputs, f.blindings.clone(), 20 + k as u64);
        assert_eq!(verdict(&f, &changed), Err(TxError::BadRangeProof));
        // And the same bytes decoded afresh say the same.
        let fresh = Transaction::decode(&changed.encode()).unwrap();
        assert_eq!(verdict(&f, &fresh), Err(TxError::BadRangeProof));
    }
}
