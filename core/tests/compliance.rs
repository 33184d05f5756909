//! Flow sections without seeing amounts: tier caps over what each party really receives, proven in
//! zero knowledge; disclosure of receipts at or above the threshold; the regulator's decryption.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use dfc_core::compliance::{ComplianceContext, ComplianceParams, RegulatorKey};
use dfc_core::{
    build_with, Amount, BuildError, BuildOptions, Built, MemoryLedger, SpendInput, Transaction,
    TxError, TxKind, WalletKeys,
};

const THRESHOLD: u64 = 50_000;
/// `max_payment` of tier 0.
const CAP: u64 = 5_000;

struct Cx {
    n: Net,
    ledger: MemoryLedger,
    regulator: RegulatorKey,
    alice: WalletKeys,
    bob: WalletKeys,
    notes: Vec<SpendInput>,
}

/// A network with a regulator; alice (open registry, top tier) holds 100,000; bob is registered
/// at tier `bob_tier`.
fn setup(bob_tier: u8) -> Cx {
    let mut n = net(1);
    let regulator = RegulatorKey::from_seed(&[42; 32]);
    n.params.compliance = Some(ComplianceParams {
        regulator_key: regulator.public(),
        reporting_threshold: amt(THRESHOLD),
    });
    let mut ledger = MemoryLedger::new(n.params.clone());
    let alice = wallet("alice");
    let bob = wallet("bob");
    ledger.register(bob.spend.public(), bob_tier);
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

fn ctx(payer_tier: u8, payees: &[(&WalletKeys, u8)]) -> BuildOptions {
    BuildOptions {
        compliance: Some(ComplianceContext {
            payer_tier,
            own_keys: Vec::new(),
            payee_tiers: payees.iter().map(|(w, t)| (w.spend.public(), *t)).collect(),
        }),
    }
}

/// Alice pays bob `units` in one output (change to herself), stating bob at `bob_tier`.
fn pay_bob(c: &Cx, units: u64, bob_tier: u8, seed: u64) -> Result<Built, BuildError> {
    build_with(
        &c.n.params,
        TxKind::Transfer,
        Amount::ZERO,
        &c.notes,
        &[pay(&c.bob, 1, units), pay(&c.alice, 1, 100_000 - units)],
        &ctx(TOP_TIER, &[(&c.bob, bob_tier)]),
        &mut rng(seed),
    )
}

/// Applies `tx` to a copy of the ledger; on a rejection, checks the copy did not change.
fn node_checks(c: &Cx, tx: &Transaction) -> Result<(), TxError> {
    let mut ledger = c.ledger.clone();
    let before = snapshot(&ledger);
    let result = ledger.apply(tx).map(|_| ());
    if result.is_err() {
        assert_eq!(snapshot(&ledger), before, "a rejection changed the ledger");
    }
    result
}

fn blindings(b: &Built) -> Vec<curve25519_dalek::scalar::Scalar> {
    b.openings.iter().map(|o| o.blinding).collect()
}

#[test]
fn a_payment_at_the_cap_passes_and_reveals_nothing() {
    let c = setup(0);
    let b = pay_bob(&c, CAP, 0, 2).unwrap();
    let section = b.tx.compliance.as_ref().unwrap();
    assert!(
        section.disclosures.is_empty(),
        "nothing under the threshold is disclosed"
    );
    assert_eq!(section.parties, vec![1, 0]);
    assert_eq!(section.payee_tiers, vec![0]);
    let mut ledger = c.ledger.clone();
    let ids = ledger.apply(&b.tx).unwrap();
    assert!(ledger.is_pending(&ids[0]), "a payee's receipt is pending");
    assert!(!ledger.is_pending(&ids[1]), "change settles at once");
}

#[test]
fn a_capped_wallet_cannot_receive_over_its_cap() {
    let c = setup(0);
    // An honest builder refuses outright.
    assert!(matches!(
        pay_bob(&c, CAP + 1, 0, 3),
        Err(BuildError::Rule(TxError::OverCap { bound: CAP }))
    ));
    // Stating a higher tier than the registry's is caught by the registry comparison.
    let lie = pay_bob(&c, CAP + 1, 1, 4).unwrap();
    assert_eq!(
        node_checks(&c, &lie.tx),
        Err(TxError::WrongTier {
            party: "payee 1".into(),
            stated: 1,
            registered: 0
        })
    );
    // Stating the right tier over a proof made for another is caught by the bound proof.
    let mut forged = lie.clone();
    forged.tx.compliance.as_mut().unwrap().payee_tiers[0] = 0;
    resign(&mut forged.tx, &c.notes, blindings(&lie), 4);
    assert_eq!(node_checks(&c, &forged.tx), Err(TxError::BadBoundProof));
    // A tier the network does not have is refused before any lookup.
    let mut unknown = lie.clone();
    unknown.tx.compliance.as_mut().unwrap().payee_tiers[0] = 7;
    resign(&mut unknown.tx, &c.notes, blindings(&lie), 5);
    assert_eq!(
        node_checks(&c, &unknown.tx),
        Err(TxError::UnknownTier { tier: 7 })
    );
}

#[test]
fn a_capped_wallet_cannot_pay_over_its_cap() {
    let mut c = setup(TOP_TIER);
    let carol = wallet("carol");
    c.ledger.register(carol.spend.public(), 0);
    let notes = issue(&c.n, &mut c.ledger, &carol, &[10_000], 6);
    let over = |units: u64, tier: u8, seed: u64| {
        build_with(
            &c.n.params,
            TxKind::Transfer,
            Amount::ZERO,
            &notes,
            &[pay(&c.bob, 1, units), pay(&carol, 1, 10_000 - units)],
            &ctx(tier, &[(&c.bob, TOP_TIER)]),
            &mut rng(seed),
        )
    };
    assert!(matches!(
        over(CAP + 1, 0, 6),
        Err(BuildError::Rule(TxError::OverCap { bound: CAP }))
    ));
    let lie = over(CAP + 1, 1, 7).unwrap();
    assert_eq!(
        node_checks(&c, &lie.tx),
        Err(TxError::WrongTier {
            party: "payer".into(),
            stated: 1,
            registered: 0
        })
    );
    node_checks(&c, &over(CAP, 0, 8).unwrap().tx).unwrap();
}

#[test]
fn large_receipts_are_disclosed_to_the_regulator_only() {
    let c = setup(TOP_TIER);
    let b = pay_bob(&c, 60_000, TOP_TIER, 7).unwrap();
    let section = b.tx.compliance.as_ref().unwrap();
    assert_eq!(section.disclosures.len(), 1);
    assert_eq!(section.disclosures[0].party, 1);
    assert_eq!(
        c.regulator.decrypt(&section.disclosures[0]),
        Some(amt(60_000))
    );
    let wrong = RegulatorKey::from_seed(&[43; 32]);
    assert_eq!(wrong.decrypt(&section.disclosures[0]), None);
    node_checks(&c, &b.tx).unwrap();

    // Split into two outputs under the threshold each, the receipt is still summed and disclosed.
    let split = build_with(
        &c.n.params,
        TxKind::Transfer,
        Amount::ZERO,
        &c.notes,
        &[
            pay(&c.bob, 1, 30_000),
            pay(&c.alice, 1, 40_000),
            pay(&c.bob, 1, 30_000),
        ],
        &ctx(TOP_TIER, &[(&c.bob, TOP_TIER)]),
        &mut rng(8),
    )
    .unwrap();
    let section = split.tx.compliance.as_ref().unwrap();
    assert_eq!(section.parties, vec![1, 0, 1]);
    assert_eq!(section.disclosures.len(), 1);
    assert_eq!(
        c.regulator.decrypt(&section.disclosures[0]),
        Some(amt(60_000))
    );
    node_checks(&c, &split.tx).unwrap();
}

#[test]
fn a_missing_or_wrong_disclosure_is_rejected() {
    let c = setup(TOP_TIER);
    let b = pay_bob(&c, 60_000, TOP_TIER, 8).unwrap();

    // Without its disclosure the payee is bounded by threshold − 1, which the proof does not meet.
    let mut missing = b.clone();
    missing.tx.compliance.as_mut().unwrap().disclosures.clear();
    resign(&mut missing.tx, &c.notes, blindings(&b), 8);
    assert_eq!(node_checks(&c, &missing.tx), Err(TxError::BadBoundProof));

    // A disclosure of a different amount, made honestly for another transaction, does not open
    // this payee's commitment.
    let other = pay_bob(&c, 60_001, TOP_TIER, 9).unwrap();
    let mut swapped = b.clone();
    swapped.tx.compliance.as_mut().unwrap().disclosures[0] =
        other.tx.compliance.as_ref().unwrap().disclosures[0].clone();
    resign(&mut swapped.tx, &c.notes, blindings(&b), 9);
    assert_eq!(
        node_checks(&c, &swapped.tx),
        Err(TxError::BadDisclosure { party: 1 })
    );

    // A transfer without its flow section is refused before any proof.
    let mut bare = b.clone();
    bare.tx.compliance = None;
    resign(&mut bare.tx, &c.notes, blindings(&b), 10);
    assert_eq!(node_checks(&c, &bare.tx), Err(TxError::ComplianceMissing));

    // A disclosure on a network without a regulator is refused.
    let mut plain = c.n.params.clone();
    plain.compliance = None;
    let mut ledger = MemoryLedger::new(plain);
    assert_eq!(ledger.apply(&b.tx), Err(TxError::ComplianceNotAllowed));
}

#[test]
fn flow_sections_round_trip_their_encoding() {
    let c = setup(TOP_TIER);
    let b = pay_bob(&c, 60_000, TOP_TIER, 11).unwrap();
    let bytes = b.tx.encode();
    assert_eq!(bytes[0], 3, "version 3 carries the flow section");
    let back = Transaction::decode(&bytes).unwrap();
    assert_eq!(back, b.tx);
    assert_eq!(back.id(), b.tx.id());
    let plain = pay_bob(&c, 100, TOP_TIER, 12).unwrap();
    eprintln!(
        "sizes: transfer 1-in/2-out with flow section, payee disclosed = {} bytes; undisclosed = {} bytes",
        bytes.len(),
        plain.tx.encode().len()
    );
}
