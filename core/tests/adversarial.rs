//! One adversarial test per rejection rule: each asserts the exact error and that the ledger is
//! unchanged afterwards.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use curve25519_dalek::scalar::Scalar;
use dfc_core::error::DecodeError;
use dfc_core::{
    build, Amount, BatchState, MemoryLedger, SigningKey, SpendInput, Transaction, TxError, TxKind,
};

struct Fx {
    n: Net,
    ledger: MemoryLedger,
    alice: dfc_core::WalletKeys,
    bob: dfc_core::WalletKeys,
    notes: Vec<SpendInput>,
}

/// A ledger where alice holds notes of 600 and 400.
fn fx() -> Fx {
    let n = net(1);
    let mut ledger = MemoryLedger::new(n.params.clone());
    let alice = wallet("alice");
    let bob = wallet("bob");
    let notes = issue(&n, &mut ledger, &alice, &[600, 400], 1);
    Fx {
        n,
        ledger,
        alice,
        bob,
        notes,
    }
}

/// A valid 2-in/2-out transfer: 700 to bob, 300 change to alice.
fn transfer(f: &Fx, seed: u64) -> Transaction {
    let id = f.n.params.network_id;
    build(
        &f.n.params,
        TxKind::Transfer,
        Amount::ZERO,
        &f.notes,
        &[pay(&f.bob, id, 700), pay(&f.alice, id, 300)],
        &mut rng(seed),
    )
    .unwrap()
    .tx
}

/// Applies `tx`, expects `err`, and checks nothing changed.
fn rejects(f: &mut Fx, tx: &Transaction, err: TxError) {
    let before = snapshot(&f.ledger);
    assert_eq!(f.ledger.apply(tx), Err(err));
    assert_eq!(
        snapshot(&f.ledger),
        before,
        "a rejected transaction changed the ledger"
    );
    f.ledger.audit().unwrap();
}

fn decode_rejects(bytes: &[u8], err: DecodeError) {
    assert_eq!(Transaction::decode(bytes), Err(err));
}

#[test]
fn valid_issue_transfer_redeem_keep_the_supply_invariant() {
    let mut f = fx();
    assert_eq!(f.ledger.supply().units(), 1000);
    let tx = transfer(&f, 2);
    f.ledger.apply(&tx).unwrap();
    assert_eq!(f.ledger.supply().units(), 1000);
    assert_eq!(f.ledger.unspent_count(), 2);
    f.ledger.audit().unwrap();

    let bob_notes = spendable(
        &dfc_core::Built {
            tx: tx.clone(),
            openings: Vec::new(),
        },
        &f.bob,
    );
    let mut redeem = build(
        &f.n.params,
        TxKind::Redeem,
        amt(500),
        &bob_notes,
        &[pay(&f.bob, 1, 200)],
        &mut rng(4),
    )
    .unwrap()
    .tx;
    rejects(
        &mut f,
        &redeem,
        TxError::NotEnoughIssuerSignatures { have: 0, need: 2 },
    );
    redeem.sign_as_issuer(0, &f.n.issuers[0]);
    redeem.sign_as_issuer(2, &f.n.issuers[2]);
    f.ledger.apply(&redeem).unwrap();
    assert_eq!(f.ledger.supply().units(), 500);
    f.ledger.audit().unwrap();
}

#[test]
fn negative_amount_hidden_in_a_commitment_fails_the_range_proof() {
    let mut f = fx();
    let to = f.bob.address(1);
    let outs = [
        ForgedOut {
            committed: Scalar::from(1005u64),
            proven: 1005,
            blinding: Scalar::from(11u64),
        },
        ForgedOut {
            committed: -Scalar::from(5u64),
            proven: 0,
            blinding: Scalar::from(12u64),
        },
    ];
    let tx = forge(&f.n, TxKind::Transfer, 0, &f.notes, &outs, &to, 5);
    rejects(&mut f, &tx, TxError::BadRangeProof);
}

#[test]
fn wrapped_amount_does_not_balance() {
    let mut f = fx();
    let to = f.bob.address(1);
    let wrapped = u64::MAX - 4;
    let outs = [
        ForgedOut {
            committed: Scalar::from(1005u64),
            proven: 1005,
            blinding: Scalar::from(11u64),
        },
        ForgedOut {
            committed: Scalar::from(wrapped),
            proven: wrapped,
            blinding: Scalar::from(12u64),
        },
    ];
    let tx = forge(&f.n, TxKind::Transfer, 0, &f.notes, &outs, &to, 6);
    rejects(&mut f, &tx, TxError::Unbalanced);
}

#[test]
fn outputs_worth_more_than_inputs_do_not_balance() {
    let mut f = fx();
    let to = f.bob.address(1);
    let outs = [ForgedOut {
        committed: Scalar::from(1001u64),
        proven: 1001,
        blinding: Scalar::from(3u64),
    }];
    let tx = forge(&f.n, TxKind::Transfer, 0, &f.notes, &outs, &to, 7);
    rejects(&mut f, &tx, TxError::Unbalanced);
}

#[test]
fn the_same_input_twice_is_refused() {
    let mut f = fx();
    let twice = vec![f.notes[0].clone(), f.notes[0].clone()];
    let to = f.bob.address(1);
    let outs = [ForgedOut {
        committed: Scalar::from(1200u64),
        proven: 1200,
        blinding: Scalar::from(3u64),
    }];
    let tx = forge(&f.n, TxKind::Transfer, 0, &twice, &outs, &to, 8);
    rejects(&mut f, &tx, TxError::DuplicateInput { index: 1 });
}

#[test]
fn a_repeated_output_commitment_is_refused() {
    let mut f = fx();
    let mut tx = transfer(&f, 9);
    tx.outputs[1].commitment = tx.outputs[0].commitment;
    rejects(&mut f, &tx, TxError::DuplicateOutputCommitment { index: 1 });

    let issued = f
        .ledger
        .unspent()
        .next()
        .map(|(_, n)| n.output.commitment)
        .unwrap();
    let mut tx = transfer(&f, 10);
    tx.outputs[0].commitment = issued;
    rejects(&mut f, &tx, TxError::CommitmentExists { index: 0 });
}

#[test]
fn missing_or_forged_owner_signatures_are_refused() {
    let mut f = fx();
    let mut tx = transfer(&f, 11);
    tx.owner_signatures.pop();
    rejects(
        &mut f,
        &tx,
        TxError::OwnerSignatureCount { have: 1, need: 2 },
    );

    let mut tx = transfer(&f, 12);
    let mallory = SigningKey::from_seed(&[66; 32]);
    tx.owner_signatures[1] = mallory.sign(&tx.id().0);
    rejects(&mut f, &tx, TxError::BadOwnerSignature { index: 1 });
}

#[test]
fn issuance_needs_k_distinct_issuer_signatures() {
    let mut f = fx();
    let alice = f.alice.clone();
    let mut b = build(
        &f.n.params,
        TxKind::Issue,
        amt(50),
        &[],
        &[pay(&alice, 1, 50)],
        &mut rng(13),
    )
    .unwrap();
    b.tx.sign_as_issuer(0, &f.n.issuers[0]);
    rejects(
        &mut f,
        &b.tx,
        TxError::NotEnoughIssuerSignatures { have: 1, need: 2 },
    );

    let mut tx = b.tx.clone();
    tx.sign_as_issuer(1, &SigningKey::from_seed(&[77; 32]));
    rejects(&mut f, &tx, TxError::BadIssuerSignature { index: 1 });

    let mut tx = b.tx.clone();
    tx.sign_as_issuer(7, &f.n.issuers[1]);
    rejects(&mut f, &tx, TxError::UnknownIssuer { index: 7, count: 3 });

    let mut tx = b.tx.clone();
    let sig = tx.issuer_signatures[0];
    tx.issuer_signatures.push(sig);
    rejects(
        &mut f,
        &tx,
        TxError::IssuerSignaturesUnordered { position: 1 },
    );

    let mut tx = b.tx.clone();
    tx.sign_as_issuer(2, &f.n.issuers[2]);
    f.ledger.apply(&tx).unwrap();
    assert_eq!(f.ledger.supply().units(), 1050);
}

#[test]
fn a_range_proof_moved_from_another_transaction_is_refused() {
    let mut f = fx();
    let other = transfer(&f, 14);
    let mut tx = transfer(&f, 15);
    tx.range_proof = other.range_proof.clone();
    // The owner re-signs and re-proves balance over the altered body, so only the range proof is
    // left wrong.
    let built = build(
        &f.n.params,
        TxKind::Transfer,
        Amount::ZERO,
        &f.notes,
        &[pay(&f.bob, 1, 700), pay(&f.alice, 1, 300)],
        &mut rng(15),
    )
    .unwrap();
    let out_blindings: Vec<Scalar> = built.openings.iter().map(|o| o.blinding).collect();
    resign(&mut tx, &f.notes, out_blindings, 15);
    rejects(&mut f, &tx, TxError::BadRangeProof);
}

#[test]
fn a_transaction_replayed_on_another_network_is_refused() {
    let f = fx();
    let tx = transfer(&f, 16);
    let mut other_ledger = MemoryLedger::new(net(2).params);
    assert_eq!(
        other_ledger.apply(&tx),
        Err(TxError::WrongNetwork {
            expected: 2,
            got: 1
        })
    );
    // Relabelled for network 2, the owners' signatures no longer match: the network id is signed.
    let mut relabelled = tx.clone();
    relabelled.network = 2;
    let mut params2 = f.n.params.clone();
    params2.network_id = 2;
    let inputs = dfc_core::validate::resolve_inputs(&relabelled, &f.ledger).unwrap();
    assert_eq!(
        dfc_core::validate::verify_crypto(&relabelled, &params2, &inputs),
        Err(TxError::BadOwnerSignature { index: 0 })
    );
}

#[test]
fn non_canonical_encodings_are_refused() {
    let f = fx();
    let tx = transfer(&f, 17);
    let bytes = tx.encode();
    assert_eq!(Transaction::decode(&bytes).unwrap(), tx);
    // Layout: version(1) network(4) genesis(32) kind(1) n_in(1) inputs(64) n_out(1) then output 0.
    let commitment_at = 1 + 4 + 32 + 1 + 1 + 64 + 1;

    let mut b = bytes.clone();
    b[commitment_at..commitment_at + 32].copy_from_slice(&[0xff; 32]);
    decode_rejects(
        &b,
        DecodeError::NonCanonicalPoint {
            field: "commitment",
        },
    );

    let mut b = bytes.clone();
    b[commitment_at..commitment_at + 32].copy_from_slice(&[0; 32]);
    decode_rejects(
        &b,
        DecodeError::IdentityPoint {
            field: "commitment",
        },
    );

    let mut b = bytes.clone();
    b[commitment_at + 32..commitment_at + 64].copy_from_slice(&[0; 32]);
    decode_rejects(
        &b,
        DecodeError::IdentityPoint {
            field: "public key",
        },
    );

    let mut b = bytes.clone();
    b.push(0);
    decode_rejects(&b, DecodeError::TrailingBytes { count: 1 });

    let mut b = bytes.clone();
    b.truncate(b.len() - 1);
    assert!(matches!(
        Transaction::decode(&b),
        Err(DecodeError::Truncated { .. })
    ));

    // The balance proof's scalar s sits just before the owner signatures.
    let s_at = bytes.len() - 1 - 2 * 64 - 1 - 32;
    let mut b = bytes.clone();
    b[s_at..s_at + 32].copy_from_slice(&[0xff; 32]);
    decode_rejects(
        &b,
        DecodeError::NonCanonicalScalar {
            field: "balance proof s",
        },
    );

    let mut b = bytes.clone();
    b[0] = 4;
    decode_rejects(&b, DecodeError::UnknownVersion(4));
    for retired in [1, 2] {
        let mut b = bytes.clone();
        b[0] = retired;
        decode_rejects(&b, DecodeError::RetiredVersion(retired));
    }
    let mut b = bytes.clone();
    b[1 + 4 + 32] = 9;
    decode_rejects(&b, DecodeError::UnknownKind(9));
}

#[test]
fn oversized_transactions_are_refused_before_verification() {
    let mut f = fx();
    let tx = transfer(&f, 18);
    let mut bytes = tx.encode();
    // Claim 17 outputs: over the protocol cap, refused before anything is read.
    bytes[1 + 4 + 32 + 1 + 1 + 64] = 17;
    decode_rejects(
        &bytes,
        DecodeError::TooMany {
            field: "outputs",
            count: 17,
            limit: 16,
        },
    );
    decode_rejects(
        &vec![0u8; 70_000],
        DecodeError::TooLarge {
            size: 70_000,
            limit: 65_536,
        },
    );
    let mut small = f.ledger.params().clone();
    small.limits.max_tx_bytes = 1000;
    let mut ledger = MemoryLedger::new(small);
    let size = tx.encode().len();
    assert_eq!(
        ledger.apply(&tx),
        Err(TxError::TooLarge { size, limit: 1000 })
    );
    let mut few = f.ledger.params().clone();
    few.limits.max_inputs = 1;
    assert_eq!(
        dfc_core::validate::check_structure(&tx, &few),
        Err(TxError::TooManyInputs { count: 2, limit: 1 })
    );
    let mut unsigned = tx.clone();
    unsigned.owner_signatures.clear();
    rejects(
        &mut f,
        &unsigned,
        TxError::OwnerSignatureCount { have: 0, need: 2 },
    );
}

#[test]
fn zero_outputs_and_a_transfer_without_inputs_are_refused() {
    let mut f = fx();
    let mut tx = transfer(&f, 19);
    tx.outputs.clear();
    tx.range_proof.clear();
    let section = tx.compliance.as_mut().unwrap();
    section.parties.clear();
    section.payee_tiers.clear();
    let decoded = Transaction::decode(&tx.encode()).unwrap();
    rejects(&mut f, &decoded, TxError::NoOutputs);

    let mut tx = transfer(&f, 20);
    tx.inputs.clear();
    tx.owner_signatures.clear();
    rejects(&mut f, &tx, TxError::NoInputs { kind: "transfer" });

    let alice = f.alice.clone();
    let mut issue_with_input = build(
        &f.n.params,
        TxKind::Issue,
        amt(5),
        &[],
        &[pay(&alice, 1, 5)],
        &mut rng(21),
    )
    .unwrap()
    .tx;
    issue_with_input.inputs.push(f.notes[0].id);
    rejects(&mut f, &issue_with_input, TxError::InputsNotAllowed);

    let mut t = transfer(&f, 22);
    t.sign_as_issuer(0, &f.n.issuers[0]);
    rejects(&mut f, &t, TxError::IssuerSignaturesNotAllowed);
}

#[test]
fn public_amount_overflow_is_refused() {
    let mut f = fx();
    let alice = f.alice.clone();
    let mut b = build(
        &f.n.params,
        TxKind::Issue,
        amt(5),
        &[],
        &[pay(&alice, 1, 5)],
        &mut rng(23),
    )
    .unwrap()
    .tx;
    b.sign_as_issuer(0, &f.n.issuers[0]);
    b.sign_as_issuer(1, &f.n.issuers[1]);
    let mut bytes = b.encode();
    bytes[38..46].copy_from_slice(&(Amount::MAX_SUPPLY + 1).to_le_bytes());
    decode_rejects(
        &bytes,
        DecodeError::Amount {
            field: "public amount",
            source: dfc_core::AmountError::AboveMaxSupply {
                units: Amount::MAX_SUPPLY + 1,
            },
        },
    );
    let max = Amount::from_units(Amount::MAX_SUPPLY).unwrap();
    let big = build(
        &f.n.params,
        TxKind::Issue,
        max,
        &[],
        &[pay(&alice, 1, Amount::MAX_SUPPLY)],
        &mut rng(24),
    );
    let mut big = big.unwrap().tx;
    big.sign_as_issuer(0, &f.n.issuers[0]);
    big.sign_as_issuer(1, &f.n.issuers[1]);
    rejects(
        &mut f,
        &big,
        TxError::SupplyOverflow {
            amount: Amount::MAX_SUPPLY,
        },
    );
    assert!(build(
        &f.n.params,
        TxKind::Issue,
        amt(1),
        &[],
        &[pay(&alice, 1, 2)],
        &mut rng(25)
    )
    .is_err());
}

#[test]
fn spent_unknown_and_batch_double_spends_are_refused() {
    let mut f = fx();
    let first = f.notes[0].id.to_hex();
    let tx = transfer(&f, 26);
    let double = build(
        &f.n.params,
        TxKind::Transfer,
        Amount::ZERO,
        &f.notes,
        &[pay(&f.bob, 1, 1000)],
        &mut rng(27),
    )
    .unwrap()
    .tx;
    let mut batch = BatchState::new(f.ledger.period());
    batch.admit(&tx, f.ledger.params(), &f.ledger).unwrap();
    assert_eq!(
        batch.admit(&double, f.ledger.params(), &f.ledger),
        Err(TxError::InputSpentInBatch {
            index: 0,
            note: first.clone()
        })
    );
    let spent_before = f.ledger.spent_count();
    let unspent_before = f.ledger.unspent_count();
    f.ledger.apply(&tx).unwrap();
    // The spent inputs leave the note map and are kept as ids only; the ledger still knows them.
    assert_eq!(f.ledger.spent_count(), spent_before + tx.inputs.len());
    assert_eq!(
        f.ledger.unspent_count(),
        unspent_before - tx.inputs.len() + tx.outputs.len()
    );
    assert!(f.ledger.unspent().all(|(id, _)| !tx.inputs.contains(id)));
    assert!(tx
        .inputs
        .iter()
        .all(|id| dfc_core::LedgerView::note(&f.ledger, id).is_some_and(|n| n.spent)));
    f.ledger.audit().unwrap();
    rejects(
        &mut f,
        &double,
        TxError::InputSpent {
            index: 0,
            note: first,
        },
    );

    let mut g = fx();
    let mut unknown = transfer(&g, 28);
    unknown.inputs[1] = dfc_core::Hash32([5; 32]);
    rejects(
        &mut g,
        &unknown,
        TxError::UnknownInput {
            index: 1,
            note: dfc_core::Hash32([5; 32]).to_hex(),
        },
    );
}
