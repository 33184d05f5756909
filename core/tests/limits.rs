//! Attacks on the holding, turnover and payment limits, on pending notes and on the replay domain.
//! Each asserts the exact error and that the ledger did not change: supply, unspent notes,
//! transactions applied, and the pending state of the notes involved.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use dfc_core::compliance::{Compliance, ComplianceContext};
use dfc_core::{
    build, build_with, Amount, BatchState, BuildError, BuildOptions, Built, Hash32, MemoryLedger,
    NoteId, Opening, SpendInput, Transaction, TxError, TxKind, WalletKeys,
};

/// What a rejection must leave as it was.
#[derive(Debug, PartialEq, Eq)]
struct State {
    snapshot: (u64, usize, u64),
    pending: Vec<bool>,
}

fn state(l: &MemoryLedger, watched: &[NoteId]) -> State {
    State {
        snapshot: snapshot(l),
        pending: watched.iter().map(|id| l.is_pending(id)).collect(),
    }
}

/// Applies `tx`, expects exactly `err`, and checks nothing changed, `watched` notes included.
fn rejects(l: &mut MemoryLedger, tx: &Transaction, err: TxError, watched: &[NoteId]) {
    let before = state(l, watched);
    assert_eq!(l.apply(tx), Err(err));
    assert_eq!(
        state(l, watched),
        before,
        "a rejected transaction changed the ledger"
    );
    l.audit().unwrap();
}

fn ids(notes: &[(NoteId, Opening)]) -> Vec<NoteId> {
    notes.iter().map(|(id, _)| *id).collect()
}

fn opts(payer_tier: u8, own: &[&WalletKeys], payees: &[(&WalletKeys, u8)]) -> BuildOptions {
    BuildOptions {
        compliance: Some(ComplianceContext {
            payer_tier,
            own_keys: own.iter().map(|w| w.spend.public()).collect(),
            payee_tiers: payees.iter().map(|(w, t)| (w.spend.public(), *t)).collect(),
        }),
    }
}

fn redeem(
    n: &Net,
    inputs: &[SpendInput],
    public: u64,
    back: &[(&WalletKeys, u64)],
    seed: u64,
) -> Built {
    let payments: Vec<_> = back.iter().map(|(w, u)| pay(w, 1, *u)).collect();
    let mut b = build(
        &n.params,
        TxKind::Redeem,
        amt(public),
        inputs,
        &payments,
        &mut rng(seed),
    )
    .unwrap();
    b.tx.sign_as_issuer(0, &n.issuers[0]);
    b.tx.sign_as_issuer(1, &n.issuers[1]);
    b
}

#[test]
fn a_claim_over_notes_of_another_account_is_refused() {
    let n = net(1);
    let mut l = MemoryLedger::new(n.params.clone());
    let alice = wallet("alice");
    let bob = wallet("bob");
    issue_pending(&n, &mut l, &alice, &[700], 1);
    issue_pending(&n, &mut l, &bob, &[10], 2);
    let alices = claim_parts(&l, &alice).pending;
    // Bob claims alice's note: he cannot open it, but ownership is checked before any proof.
    let fake = vec![(
        alices[0].0,
        Opening::random(amt(700), Vec::new(), &mut rng(3)),
    )];
    let parts = claim_parts(&l, &bob);
    let tx = make_claim(&n, &parts.request(&bob.spend, &fake), 4).unwrap();
    let watched = [ids(&alices), ids(&parts.pending)].concat();
    rejects(
        &mut l,
        &tx,
        TxError::ClaimNotOwner {
            index: 0,
            note: alices[0].0.to_hex(),
        },
        &watched,
    );
    // Nor can a purse key claim its wallet's notes: the claimant must be the account's own key.
    let purse = alice.purse_key(0);
    l.register_purse(purse.public(), &alice.spend.public());
    let parts = claim_parts(&l, &alice);
    let tx = make_claim(&n, &parts.request(&purse, &parts.pending), 5).unwrap();
    rejects(
        &mut l,
        &tx,
        TxError::ClaimNotOwner {
            index: 0,
            note: alices[0].0.to_hex(),
        },
        &watched,
    );
    // Alice's own claim goes through.
    let tx = make_claim(&n, &parts.request(&alice.spend, &parts.pending), 6).unwrap();
    l.apply(&tx).unwrap();
    assert!(!l.is_pending(&alices[0].0));
}

#[test]
fn a_claim_that_omits_a_note_from_its_balance_or_inflow_is_refused() {
    let n = net(1);
    let mut l = MemoryLedger::new(n.params.clone());
    let alice = wallet("alice");
    let settled = issue(&n, &mut l, &alice, &[600, 400], 1);
    issue_pending(&n, &mut l, &alice, &[300], 2);
    let parts = claim_parts(&l, &alice);
    let watched = ids(&parts.pending);
    // The 400 note left out of the stated balance: the proof would be against 600, not 1000.
    let mut req = parts.request(&alice.spend, &parts.pending);
    req.balance = settled[0].opening.clone();
    let tx = make_claim(&n, &req, 3).unwrap();
    rejects(&mut l, &tx, TxError::StaleBalance, &watched);
    // Stating no inflow this period, though 1000 was claimed.
    let mut req = parts.request(&alice.spend, &parts.pending);
    req.inflow = Opening {
        amount: Amount::ZERO,
        blinding: curve25519_dalek::scalar::Scalar::ZERO,
        memo: Vec::new(),
    };
    let tx = make_claim(&n, &req, 4).unwrap();
    rejects(&mut l, &tx, TxError::StaleInflow, &watched);
    let tx = make_claim(&n, &parts.request(&alice.spend, &parts.pending), 5).unwrap();
    l.apply(&tx).unwrap();
}

#[test]
fn a_claim_over_the_holding_limit_is_refused_by_the_builder_and_the_ledger() {
    let n = net(1);
    let mut l = MemoryLedger::new(n.params.clone());
    let alice = wallet("alice");
    // Tier 0 holds at most 20,000.
    l.register(alice.spend.public(), 0);
    issue(&n, &mut l, &alice, &[15_000], 1);
    let pending = spendable(&issue_pending(&n, &mut l, &alice, &[6_000], 2), &alice);
    let parts = claim_parts(&l, &alice);
    let req = parts.request(&alice.spend, &parts.pending);
    assert!(matches!(
        make_claim(&n, &req, 3),
        Err(BuildError::Rule(TxError::OverHoldingLimit {
            would_hold: 21_000,
            limit: 20_000
        }))
    ));
    let forged = forge_claim(&n, &req, 4);
    let watched = ids(&parts.pending);
    rejects(&mut l, &forged, TxError::BadClaimProof, &watched);
    assert!(l.is_pending(&watched[0]));
    // The note it cannot claim it can still redeem to its bank account (the reverse waterfall).
    let out = redeem(&n, &pending, 6_000 - 1, &[(&alice, 1)], 5);
    l.apply(&out.tx).unwrap();
    assert_eq!(l.supply().units(), 15_001);
    l.audit().unwrap();
}

#[test]
fn a_claim_over_the_turnover_limit_is_refused_until_the_next_period() {
    let mut n = net(1);
    // Tier 0 with a turnover limit of 30,000 a period (holding limit 20,000).
    n.params.tiers[0].max_inflow = amt(30_000);
    let mut l = MemoryLedger::new(n.params.clone());
    let alice = wallet("alice");
    l.register(alice.spend.public(), 0);
    let notes = issue(&n, &mut l, &alice, &[20_000], 1);
    l.apply(&redeem(&n, &notes, 15_000, &[(&alice, 5_000)], 2).tx)
        .unwrap();
    // Balance 5,000 + 12,000 stays under 20,000, but inflow 20,000 + 12,000 exceeds 30,000.
    issue_pending(&n, &mut l, &alice, &[12_000], 3);
    let parts = claim_parts(&l, &alice);
    let req = parts.request(&alice.spend, &parts.pending);
    assert!(matches!(
        make_claim(&n, &req, 4),
        Err(BuildError::Rule(TxError::OverTurnoverLimit {
            would_receive: 32_000,
            limit: 30_000
        }))
    ));
    let watched = ids(&parts.pending);
    rejects(
        &mut l,
        &forge_claim(&n, &req, 5),
        TxError::BadClaimProof,
        &watched,
    );
    // In the next turnover period the inflow starts again from zero.
    let period_ms = u64::from(n.params.turnover_period_days) * 86_400_000;
    l.set_time(period_ms);
    assert_eq!(l.period(), 1);
    claim_pending(&n, &mut l, &alice, 6).unwrap();
    assert!(!l.is_pending(&watched[0]));
}

#[test]
fn a_claim_for_another_period_is_refused() {
    let n = net(1);
    let mut l = MemoryLedger::new(n.params.clone());
    let alice = wallet("alice");
    issue_pending(&n, &mut l, &alice, &[500], 1);
    let parts = claim_parts(&l, &alice);
    let watched = ids(&parts.pending);
    let mut req = parts.request(&alice.spend, &parts.pending);
    req.period = 1;
    let ahead = make_claim(&n, &req, 2).unwrap();
    rejects(
        &mut l,
        &ahead,
        TxError::WrongPeriod {
            stated: 1,
            current: 0,
        },
        &watched,
    );
    // A claim made in period 0 and submitted in period 1.
    let late = make_claim(&n, &parts.request(&alice.spend, &parts.pending), 3).unwrap();
    l.set_time(u64::from(n.params.turnover_period_days) * 86_400_000);
    rejects(
        &mut l,
        &late,
        TxError::WrongPeriod {
            stated: 0,
            current: 1,
        },
        &watched,
    );
    l.apply(&ahead).unwrap();
}

#[test]
fn a_tier_stated_above_the_registry_is_refused() {
    let n = net(1);
    let mut l = MemoryLedger::new(n.params.clone());
    let alice = wallet("alice");
    let bob = wallet("bob");
    l.register(alice.spend.public(), 0);
    l.register(bob.spend.public(), 0);
    let notes = issue(&n, &mut l, &alice, &[1_000], 1);
    let watched: Vec<NoteId> = notes.iter().map(|s| s.id).collect();
    let payments = [pay(&bob, 1, 700), pay(&alice, 1, 300)];
    let transfer = |o: &BuildOptions, seed| {
        build_with(
            &n.params,
            TxKind::Transfer,
            Amount::ZERO,
            &notes,
            &payments,
            o,
            &mut rng(seed),
        )
        .unwrap()
        .tx
    };
    let payer_lies = transfer(&opts(2, &[], &[(&bob, 0)]), 2);
    let tier = |party: &str| TxError::WrongTier {
        party: party.into(),
        stated: 2,
        registered: 0,
    };
    rejects(&mut l, &payer_lies, tier("payer"), &watched);
    let payee_lies = transfer(&opts(0, &[], &[(&bob, 2)]), 3);
    rejects(&mut l, &payee_lies, tier("payee 1"), &watched);
    // A claimant stating tier 2 to prove against tier 2's limits.
    issue_pending(&n, &mut l, &bob, &[100], 4);
    let parts = claim_parts(&l, &bob);
    let mut req = parts.request(&bob.spend, &parts.pending);
    req.tier = 2;
    let claim = make_claim(&n, &req, 5).unwrap();
    rejects(&mut l, &claim, tier("claimant"), &ids(&parts.pending));
    l.apply(&transfer(&opts(0, &[], &[(&bob, 0)]), 6)).unwrap();
}

#[test]
fn a_payee_cosigning_to_pass_its_receipt_off_as_change_is_refused() {
    let n = net(1);
    let mut l = MemoryLedger::new(n.params.clone());
    let alice = wallet("alice");
    let bob = wallet("bob");
    let mut inputs = issue(&n, &mut l, &alice, &[1_000], 1);
    inputs.extend(issue(&n, &mut l, &bob, &[500], 2));
    // Every output goes to an input owner: as the builder sees it, all of it is change, so no cap
    // or disclosure applies to the 700 bob receives.
    let b = build(
        &n.params,
        TxKind::Transfer,
        Amount::ZERO,
        &inputs,
        &[pay(&bob, 1, 1_200), pay(&alice, 1, 300)],
        &mut rng(3),
    )
    .unwrap();
    assert_eq!(b.tx.compliance.as_ref().unwrap().parties, vec![0, 0]);
    let watched: Vec<NoteId> = inputs.iter().map(|s| s.id).collect();
    rejects(
        &mut l,
        &b.tx,
        TxError::MultiplePayers { index: 1 },
        &watched,
    );
}

#[test]
fn a_payment_split_under_the_cap_is_summed() {
    let n = net(1);
    let mut l = MemoryLedger::new(n.params.clone());
    let alice = wallet("alice");
    let bob = wallet("bob");
    // Bob at tier 0 may receive at most 50.00 in one payment.
    l.register(bob.spend.public(), 0);
    let notes = issue(&n, &mut l, &alice, &[30_000], 1);
    let watched: Vec<NoteId> = notes.iter().map(|s| s.id).collect();
    let mut payments = vec![pay(&bob, 1, 4_999); 4];
    payments.push(pay(&alice, 1, 30_000 - 4 * 4_999));
    let o = opts(TOP_TIER, &[], &[(&bob, 0)]);
    let built = build_with(
        &n.params,
        TxKind::Transfer,
        Amount::ZERO,
        &notes,
        &payments,
        &o,
        &mut rng(2),
    );
    assert!(matches!(
        built,
        Err(BuildError::Rule(TxError::OverCap { bound: 5_000 }))
    ));

    // A forger makes the section by hand. Take a transfer to one fake output owner so the builder
    // works, then replace the section.
    let honest_cap = build_with(
        &n.params,
        TxKind::Transfer,
        Amount::ZERO,
        &notes,
        &payments,
        &opts(TOP_TIER, &[], &[(&bob, TOP_TIER)]),
        &mut rng(3),
    )
    .unwrap();
    let tx = &honest_cap.tx;
    let owners: Vec<_> = tx.outputs.iter().map(|o| o.owner).collect();
    let blindings: Vec<_> = honest_cap.openings.iter().map(|o| o.blinding).collect();
    // A section stated for `fake_owners` and the one range proof over the outputs and that
    // section's bounds, proven from `openings` (which may lie about the amounts).
    let section_for = |fake_owners: &[dfc_core::PublicKey],
                       ctx: &ComplianceContext,
                       openings: &[Opening],
                       seed| {
        let (section, disclosed) = Compliance::plan(&n.params, ctx, fake_owners, openings).unwrap();
        let mut values: Vec<(u64, curve25519_dalek::scalar::Scalar)> = honest_cap
            .openings
            .iter()
            .map(|o| (o.amount.units(), o.blinding))
            .collect();
        values.extend(
            section
                .bound_values(&n.params, &disclosed, openings)
                .unwrap(),
        );
        let proof = dfc_core::range::prove_bits(
            &mut tx.range_transcript(),
            &values,
            dfc_core::range::RANGE_BITS,
            &mut rng(seed),
        );
        (section, proof)
    };

    // (1) Four payees for bob's one account, each under 50.00: a valid range proof for a false
    // grouping. The registry comparison refuses it before any proof.
    let fakes: Vec<_> = (0..4u8)
        .map(|i| dfc_core::SigningKey::from_seed(&[100 + i; 32]).public())
        .collect();
    let mut split_owners = fakes.clone();
    split_owners.push(owners[4]);
    let split_ctx = ComplianceContext {
        payer_tier: TOP_TIER,
        own_keys: vec![alice.spend.public()],
        payee_tiers: fakes.iter().map(|k| (*k, 0)).collect(),
    };
    let mut split = tx.clone();
    let (section, proof) = section_for(&split_owners, &split_ctx, &honest_cap.openings, 4);
    split.compliance = Some(section);
    split.range_proof = proof.into();
    assert_eq!(
        split.compliance.as_ref().unwrap().parties,
        vec![1, 2, 3, 4, 0]
    );
    resign(&mut split, &notes, blindings.clone(), 4);
    rejects(
        &mut l,
        &split,
        TxError::WrongParties {
            output: 1,
            reason: "one account is split over two payees: its receipts must be summed".into(),
        },
        &watched,
    );
    // The same section passes every proof: only the grouping check stands in the way.
    let inputs = dfc_core::validate::resolve_inputs(&split, &l).unwrap();
    assert_eq!(
        dfc_core::validate::verify_crypto(&split, &n.params, &inputs),
        Ok(())
    );

    // (2) The honest grouping (one payee, tier 0) with bounds proven over amounts the outputs do
    // not hold (1,000 each instead of 4,999).
    let mut lied: Vec<Opening> = honest_cap.openings.clone();
    for o in lied.iter_mut().take(4) {
        o.amount = amt(1_000);
    }
    let one_ctx = ComplianceContext {
        payer_tier: TOP_TIER,
        own_keys: vec![alice.spend.public()],
        payee_tiers: vec![(bob.spend.public(), 0)],
    };
    let mut forged = tx.clone();
    let (section, proof) = section_for(&owners, &one_ctx, &lied, 5);
    forged.compliance = Some(section);
    forged.range_proof = proof.into();
    assert_eq!(
        forged.compliance.as_ref().unwrap().parties,
        vec![1, 1, 1, 1, 0]
    );
    resign(&mut forged, &notes, blindings, 5);
    rejects(&mut l, &forged, TxError::BadRangeProof, &watched);
}

#[test]
fn a_pending_note_cannot_be_spent_by_a_transfer() {
    let n = net(1);
    let mut l = MemoryLedger::new(n.params.clone());
    let alice = wallet("alice");
    let bob = wallet("bob");
    let carol = wallet("carol");
    let notes = issue(&n, &mut l, &alice, &[1_000], 1);
    let paid = build(
        &n.params,
        TxKind::Transfer,
        Amount::ZERO,
        &notes,
        &[pay(&bob, 1, 700), pay(&alice, 1, 300)],
        &mut rng(2),
    )
    .unwrap();
    l.apply(&paid.tx).unwrap();
    let bobs = spendable(&paid, &bob);
    let watched: Vec<NoteId> = bobs.iter().map(|s| s.id).collect();
    assert!(l.is_pending(&watched[0]));
    let onward = |seed| {
        build(
            &n.params,
            TxKind::Transfer,
            Amount::ZERO,
            &bobs,
            &[pay(&carol, 1, 700)],
            &mut rng(seed),
        )
        .unwrap()
        .tx
    };
    rejects(
        &mut l,
        &onward(3),
        TxError::InputPending {
            index: 0,
            note: watched[0].to_hex(),
        },
        &watched,
    );
    // Claimed, the same payment goes through.
    claim_pending(&n, &mut l, &bob, 4).unwrap();
    l.apply(&onward(5)).unwrap();
}

#[test]
fn a_redemption_paying_another_account_is_refused() {
    let n = net(1);
    let mut l = MemoryLedger::new(n.params.clone());
    let alice = wallet("alice");
    let bob = wallet("bob");
    let notes = issue(&n, &mut l, &alice, &[1_000], 1);
    let watched: Vec<NoteId> = notes.iter().map(|s| s.id).collect();
    let to_bob = redeem(&n, &notes, 400, &[(&alice, 100), (&bob, 500)], 2);
    rejects(
        &mut l,
        &to_bob.tx,
        TxError::RedeemToOther { output: 1 },
        &watched,
    );
    l.apply(&redeem(&n, &notes, 400, &[(&alice, 600)], 3).tx)
        .unwrap();
}

#[test]
fn a_transaction_for_another_ledger_is_refused() {
    let n = net(1);
    let mut l = MemoryLedger::new(n.params.clone());
    let alice = wallet("alice");
    let bob = wallet("bob");
    let notes = issue(&n, &mut l, &alice, &[1_000], 1);
    let watched: Vec<NoteId> = notes.iter().map(|s| s.id).collect();
    // Same network id, another genesis: a fork or a test ledger.
    let mut other = n.params.clone();
    other.genesis_hash = Hash32([0xee; 32]);
    let payments = [pay(&bob, 1, 700), pay(&alice, 1, 300)];
    let tx = build(
        &other,
        TxKind::Transfer,
        Amount::ZERO,
        &notes,
        &payments,
        &mut rng(2),
    )
    .unwrap()
    .tx;
    rejects(
        &mut l,
        &tx,
        TxError::WrongGenesis {
            expected: n.params.genesis_hash.to_hex(),
            got: other.genesis_hash.to_hex(),
        },
        &watched,
    );
    // Relabelled with this ledger's genesis, the signatures no longer match: the genesis is signed.
    let mut relabelled = tx.clone();
    relabelled.genesis = n.params.genesis_hash;
    rejects(
        &mut l,
        &relabelled,
        TxError::BadOwnerSignature { index: 0 },
        &watched,
    );
    // A claim for another ledger likewise.
    issue_pending(&n, &mut l, &bob, &[50], 3);
    let parts = claim_parts(&l, &bob);
    let other_net = Net {
        params: other,
        issuers: n.issuers.clone(),
        node: n.node.clone(),
    };
    let claim = make_claim(&other_net, &parts.request(&bob.spend, &parts.pending), 4).unwrap();
    rejects(
        &mut l,
        &claim,
        TxError::WrongGenesis {
            expected: n.params.genesis_hash.to_hex(),
            got: Hash32([0xee; 32]).to_hex(),
        },
        &ids(&parts.pending),
    );
}

#[test]
fn a_replayed_claim_is_refused() {
    let n = net(1);
    let mut l = MemoryLedger::new(n.params.clone());
    let alice = wallet("alice");
    issue_pending(&n, &mut l, &alice, &[300, 200], 1);
    let parts = claim_parts(&l, &alice);
    let tx = make_claim(&n, &parts.request(&alice.spend, &parts.pending), 2).unwrap();
    l.apply(&tx).unwrap();
    let watched = ids(&parts.pending);
    rejects(
        &mut l,
        &tx,
        TxError::NoteNotPending {
            index: 0,
            note: watched[0].to_hex(),
        },
        &watched,
    );
}

#[test]
fn a_batch_admits_one_claim_per_balance_and_spends_what_it_claimed() {
    let n = net(1);
    let mut l = MemoryLedger::new(n.params.clone());
    let alice = wallet("alice");
    let bob = wallet("bob");
    let built = issue_pending(&n, &mut l, &alice, &[300, 200], 1);
    let parts = claim_parts(&l, &alice);
    let first = make_claim(&n, &parts.request(&alice.spend, &parts.pending[..1]), 2).unwrap();
    let second = make_claim(&n, &parts.request(&alice.spend, &parts.pending[1..]), 3).unwrap();
    let mut batch = BatchState::new(l.period());
    let fx = batch.admit(&first, l.params(), &l).unwrap();
    assert_eq!(fx.claimed, ids(&parts.pending[..1]));
    // Both claims were made against the empty balance; after the first, that is stale.
    assert_eq!(
        batch.admit(&second, l.params(), &l),
        Err(TxError::StaleBalance)
    );
    // A note claimed earlier in the batch may be spent later in it.
    let claimed: Vec<SpendInput> = spendable(&built, &alice)
        .into_iter()
        .filter(|s| s.id == parts.pending[0].0)
        .collect();
    let amount = claimed[0].opening.amount.units();
    let spend = build(
        &n.params,
        TxKind::Transfer,
        Amount::ZERO,
        &claimed,
        &[pay(&bob, 1, amount)],
        &mut rng(4),
    )
    .unwrap()
    .tx;
    let fx = batch.admit(&spend, l.params(), &l).unwrap();
    assert_eq!(fx.pending_outputs, vec![true]);
    assert_eq!(batch.spent_count(), 1);
}

#[test]
fn redeeming_a_pending_note_does_not_settle_its_change_past_the_limits() {
    let n = net(1);
    let mut l = MemoryLedger::new(n.params.clone());
    let bob = wallet("bob");
    let carol = wallet("carol");
    // Tier 0 holds at most 20,000; 50,000 arrives pending.
    l.register(bob.spend.public(), 0);
    let pending = spendable(&issue_pending(&n, &mut l, &bob, &[50_000], 1), &bob);
    // Redeeming 0.01 with 499.99 change back to himself must not make the change spendable
    // without a claim: that would take his balance to 49,999, over the holding limit.
    let out = redeem(&n, &pending, 1, &[(&bob, 49_999)], 2);
    let change = out.tx.output_ids()[0];
    l.apply(&out.tx).unwrap();
    assert!(
        l.is_pending(&change),
        "the change of a redeemed pending note settled without a claim"
    );
    let parts = claim_parts(&l, &bob);
    assert!(matches!(
        make_claim(&n, &parts.request(&bob.spend, &parts.pending), 3),
        Err(BuildError::Rule(TxError::OverHoldingLimit { .. }))
    ));
    let spend = build(
        &n.params,
        TxKind::Transfer,
        Amount::ZERO,
        &spendable(&out, &bob),
        &[pay(&carol, 1, 49_999)],
        &mut rng(4),
    )
    .unwrap()
    .tx;
    rejects(
        &mut l,
        &spend,
        TxError::InputPending {
            index: 0,
            note: change.to_hex(),
        },
        &[change],
    );
}
