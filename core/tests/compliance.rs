//! Compliance without seeing amounts: caps proven in zero knowledge, disclosure above a threshold,
//! and the regulator's decryption.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use dfc_core::compliance::{check_caps, ComplianceContext, ComplianceParams, RegulatorKey};
use dfc_core::validate::{change_outputs, resolve_inputs};
use dfc_core::{
    build_with, Amount, BuildError, BuildOptions, Built, MemoryLedger, SpendInput, TxError, TxKind,
    WalletKeys,
};

const THRESHOLD: u64 = 50_000;
const CAP: u64 = 5_000;

struct Cx {
    n: Net,
    ledger: MemoryLedger,
    regulator: RegulatorKey,
    alice: WalletKeys,
    bob: WalletKeys,
    notes: Vec<SpendInput>,
}

fn setup() -> Cx {
    let mut n = net(1);
    let regulator = RegulatorKey::from_seed(&[42; 32]);
    n.params.compliance = Some(ComplianceParams {
        regulator_key: regulator.public(),
        reporting_threshold: amt(THRESHOLD),
    });
    let mut ledger = MemoryLedger::new(n.params.clone());
    let alice = wallet("alice");
    let bob = wallet("bob");
    let notes = issue(&n, &mut ledger, &alice, &[100_000], 1);
    Cx {
        n,
        ledger,
        regulator,
        alice,
        bob,
        notes,
    }
}

/// Alice pays bob `units` (change to herself), claiming `receiver_cap` for bob and a sender cap of
/// 1,000,000.
fn pay_bob(c: &Cx, units: u64, receiver_cap: Option<u64>, seed: u64) -> Result<Built, BuildError> {
    let ctx = ComplianceContext {
        sender_cap: Some(amt(1_000_000)),
        receiver_caps: vec![receiver_cap.map(amt), None],
    };
    build_with(
        &c.n.params,
        TxKind::Transfer,
        Amount::ZERO,
        &c.notes,
        &[pay(&c.bob, 1, units), pay(&c.alice, 1, 100_000 - units)],
        &BuildOptions {
            compliance: Some(ctx),
        },
        &mut rng(seed),
    )
}

fn node_checks(c: &Cx, built: &Built, bob_tier_cap: u64) -> Result<(), TxError> {
    let tx = &built.tx;
    let inputs = resolve_inputs(tx, &c.ledger)?;
    let change = change_outputs(tx, &inputs);
    let section = tx.compliance.as_ref().ok_or(TxError::ComplianceMissing)?;
    check_caps(
        section,
        amt(1_000_000),
        &[Some(amt(bob_tier_cap)), None],
        &change,
    )?;
    let mut ledger = c.ledger.clone();
    ledger.apply(tx).map(|_| ())
}

fn blindings(b: &Built) -> Vec<curve25519_dalek::scalar::Scalar> {
    b.openings.iter().map(|o| o.blinding).collect()
}

#[test]
fn a_payment_just_under_the_cap_passes_and_reveals_nothing() {
    let c = setup();
    let b = pay_bob(&c, CAP, Some(CAP), 2).unwrap();
    let section = b.tx.compliance.as_ref().unwrap();
    assert!(
        section.disclosures.is_empty(),
        "nothing under the threshold is disclosed"
    );
    node_checks(&c, &b, CAP).unwrap();
}

#[test]
fn a_capped_wallet_cannot_receive_over_its_cap() {
    let c = setup();
    // An honest builder refuses outright.
    assert!(matches!(
        pay_bob(&c, CAP + 1, Some(CAP), 3),
        Err(BuildError::Rule(TxError::OverCap { bound: CAP }))
    ));
    // Claiming a bigger cap than the tier has is caught by the registry comparison.
    let lie = pay_bob(&c, CAP + 1, Some(CAP * 10), 4).unwrap();
    assert_eq!(
        node_checks(&c, &lie, CAP),
        Err(TxError::WrongCap {
            party: "receiver of output 0".into(),
            cap: CAP
        })
    );
    // Stating the right cap over a proof made for another is caught by the bound proof.
    let mut forged = lie.clone();
    forged.tx.compliance.as_mut().unwrap().receiver_caps[0] = Some(amt(CAP));
    resign(&mut forged.tx, &c.notes, blindings(&lie), 4);
    assert_eq!(node_checks(&c, &forged, CAP), Err(TxError::BadBoundProof));
    // A missing cap for a capped receiver is refused.
    let none = pay_bob(&c, 10, None, 5).unwrap();
    assert!(matches!(
        node_checks(&c, &none, CAP),
        Err(TxError::WrongCap { .. })
    ));
}

#[test]
fn a_capped_wallet_cannot_pay_over_its_cap() {
    let c = setup();
    let ctx = ComplianceContext {
        sender_cap: Some(amt(CAP)),
        receiver_caps: vec![None, None],
    };
    let over = build_with(
        &c.n.params,
        TxKind::Transfer,
        Amount::ZERO,
        &c.notes,
        &[pay(&c.bob, 1, CAP + 1), pay(&c.alice, 1, 100_000 - CAP - 1)],
        &BuildOptions {
            compliance: Some(ctx),
        },
        &mut rng(6),
    );
    assert!(matches!(
        over,
        Err(BuildError::Rule(TxError::OverCap { bound: CAP }))
    ));
}

#[test]
fn large_payments_are_disclosed_to_the_regulator_only() {
    let c = setup();
    let b = pay_bob(&c, 60_000, None, 7).unwrap();
    let section = b.tx.compliance.as_ref().unwrap();
    assert_eq!(section.disclosures.len(), 1);
    assert_eq!(section.disclosures[0].output, 0);
    assert_eq!(
        c.regulator.decrypt(&section.disclosures[0]),
        Some(amt(60_000))
    );
    let wrong = RegulatorKey::from_seed(&[43; 32]);
    assert_eq!(wrong.decrypt(&section.disclosures[0]), None);
    let mut ledger = c.ledger.clone();
    ledger.apply(&b.tx).unwrap();
    ledger.audit().unwrap();
}

#[test]
fn a_missing_or_wrong_disclosure_is_rejected() {
    let c = setup();
    let b = pay_bob(&c, 60_000, None, 8).unwrap();

    let mut missing = b.clone();
    missing.tx.compliance.as_mut().unwrap().disclosures.clear();
    resign(&mut missing.tx, &c.notes, blindings(&b), 8);
    let before = snapshot(&c.ledger);
    let mut ledger = c.ledger.clone();
    assert_eq!(ledger.apply(&missing.tx), Err(TxError::BadBoundProof));
    assert_eq!(snapshot(&ledger), before);

    // A disclosure of a different amount, made honestly for another transaction, does not open
    // this output's commitment.
    let other = pay_bob(&c, 60_001, None, 9).unwrap();
    let mut swapped = b.clone();
    swapped.tx.compliance.as_mut().unwrap().disclosures[0] =
        other.tx.compliance.as_ref().unwrap().disclosures[0].clone();
    resign(&mut swapped.tx, &c.notes, blindings(&b), 9);
    assert_eq!(
        ledger.apply(&swapped.tx),
        Err(TxError::BadDisclosure { output: 0 })
    );
    assert_eq!(snapshot(&ledger), before);

    // On a compliance network a transfer without the section is refused before any proof.
    let plain = dfc_core::build(
        &{
            let mut p = c.n.params.clone();
            p.compliance = None;
            p
        },
        TxKind::Transfer,
        Amount::ZERO,
        &c.notes,
        &[pay(&c.bob, 1, 100_000)],
        &mut rng(10),
    )
    .unwrap();
    assert_eq!(ledger.apply(&plain.tx), Err(TxError::ComplianceMissing));
}

#[test]
fn compliance_transactions_round_trip_their_encoding() {
    let c = setup();
    let b = pay_bob(&c, 60_000, Some(100_000), 11).unwrap();
    let bytes = b.tx.encode();
    assert_eq!(bytes[0], 2, "version 2 carries the compliance section");
    let back = dfc_core::Transaction::decode(&bytes).unwrap();
    assert_eq!(back, b.tx);
    assert_eq!(back.id(), b.tx.id());
    let plain = pay_bob(&c, 100, Some(100_000), 12).unwrap();
    eprintln!(
        "sizes: transfer with compliance, one output disclosed = {} bytes; none disclosed = {} bytes",
        bytes.len(),
        plain.tx.encode().len()
    );
}
