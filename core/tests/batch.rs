//! Soundness of batch verification: a batch of valid transactions passes and agrees with one-by-one
//! verification, and one bad transaction among many valid ones is always caught and named, with
//! the error one-by-one verification gives.
#![allow(clippy::unwrap_used)]

mod common;

use std::sync::OnceLock;

use common::*;
use curve25519_dalek::scalar::Scalar;
use dfc_core::batch::{batch_holds, verify_all, verify_batch, verify_batch_with_rng, BatchItem};
use dfc_core::validate::{check_structure, resolve_inputs, verify_crypto};
use dfc_core::{
    build, range, Amount, BalanceProof, InputNote, MemoryLedger, SigningKey, SpendInput,
    Transaction, TxError, TxKind, WalletKeys,
};
use proptest::prelude::*;

/// A ledger where alice holds `pairs` pairs of notes worth 600 and 400.
struct Fx {
    n: Net,
    ledger: MemoryLedger,
    alice: WalletKeys,
    bob: WalletKeys,
    pairs: Vec<Vec<SpendInput>>,
    issues: Vec<Transaction>,
    /// Wallets at the top tier with four pending notes each.
    claimers: Vec<WalletKeys>,
    /// A tier-0 wallet (holding limit 20,000) with pending notes of 15,000 and 10,000.
    dave: WalletKeys,
}

fn fx(pairs: usize) -> Fx {
    let n = net(1);
    let mut ledger = MemoryLedger::new(n.params.clone());
    let alice = wallet("alice");
    let bob = wallet("bob");
    let mut notes = Vec::new();
    let mut issues = Vec::new();
    let mut seed = 10_000;
    while notes.len() < 2 * pairs {
        let amounts = [600, 400, 600, 400, 600, 400, 600, 400];
        let payments: Vec<_> = amounts.iter().map(|a| pay(&alice, 1, *a)).collect();
        let mut built = build(
            &n.params,
            TxKind::Issue,
            amt(4000),
            &[],
            &payments,
            &mut rng(seed),
        )
        .unwrap();
        built.tx.sign_as_issuer(0, &n.issuers[0]);
        built.tx.sign_as_issuer(2, &n.issuers[2]);
        ledger.apply(&built.tx).unwrap();
        notes.extend(spendable(&built, &alice));
        issues.push(built.tx);
        seed += 1;
    }
    claim_pending(&n, &mut ledger, &alice, 19_000).unwrap();
    let pairs = notes.chunks(2).take(pairs).map(<[_]>::to_vec).collect();
    let claimers: Vec<WalletKeys> = (0..4).map(|i| wallet(&format!("claimer-{i}"))).collect();
    for (i, c) in claimers.iter().enumerate() {
        issue_pending(&n, &mut ledger, c, &[100, 200, 300, 400], 30_000 + i as u64);
    }
    let dave = wallet("dave");
    ledger.register(dave.spend.public(), 0);
    issue_pending(&n, &mut ledger, &dave, &[15_000, 10_000], 31_000);
    Fx {
        n,
        ledger,
        alice,
        bob,
        pairs,
        issues,
        claimers,
        dave,
    }
}

/// A transaction with what its maker knows: the spent notes and the output blindings.
#[derive(Clone)]
struct Made {
    tx: Transaction,
    inputs: Vec<SpendInput>,
    blindings: Vec<Scalar>,
}

impl Made {
    /// Re-makes the balance proof and owner signatures for the current body, as the payer could.
    fn resign(&mut self, seed: u64) {
        resign(&mut self.tx, &self.inputs, self.blindings.clone(), seed);
    }
}

/// A transfer spending pair `pair` (1000) into `outputs` outputs.
fn transfer_n(f: &Fx, pair: usize, outputs: u64, seed: u64) -> Made {
    let inputs = f.pairs[pair].clone();
    let each = 1000 / outputs;
    let mut payments: Vec<_> = (0..outputs - 1).map(|_| pay(&f.bob, 1, each)).collect();
    payments.push(pay(&f.alice, 1, 1000 - each * (outputs - 1)));
    let built = build(
        &f.n.params,
        TxKind::Transfer,
        Amount::ZERO,
        &inputs,
        &payments,
        &mut rng(seed),
    )
    .unwrap();
    Made {
        blindings: built.openings.iter().map(|o| o.blinding).collect(),
        tx: built.tx,
        inputs,
    }
}

/// A 2-in/2-out transfer: 700 to bob, 300 change.
fn transfer(f: &Fx, pair: usize, seed: u64) -> Made {
    transfer_n(f, pair, 2, seed)
}

/// Each transaction with its resolved inputs.
fn resolve(f: &Fx, txs: &[Transaction]) -> Vec<(Transaction, Vec<InputNote>)> {
    txs.iter()
        .map(|tx| {
            check_structure(tx, &f.n.params).unwrap();
            (tx.clone(), resolve_inputs(tx, &f.ledger).unwrap())
        })
        .collect()
}

fn refs(owned: &[(Transaction, Vec<InputNote>)]) -> Vec<BatchItem<'_>> {
    owned.iter().map(|(t, i)| (t, i.as_slice())).collect()
}

fn one_by_one(f: &Fx, owned: &[(Transaction, Vec<InputNote>)]) -> Vec<Result<(), TxError>> {
    owned
        .iter()
        .map(|(t, i)| verify_crypto(t, &f.n.params, i))
        .collect()
}

/// The shared fixture: 24 pairs of notes, 16 valid 2-in/2-out transfers of the first 16, and one
/// valid claim per claimer (not applied: their notes stay pending).
struct Base {
    f: Fx,
    valid: Vec<Made>,
    claims: Vec<Transaction>,
}

/// The claim of every pending note of `who`, as `make` builds it.
fn claim_of(
    f: &Fx,
    who: &WalletKeys,
    pick: impl Fn(
        &[(dfc_core::NoteId, dfc_core::Opening)],
    ) -> Vec<(dfc_core::NoteId, dfc_core::Opening)>,
    forged: bool,
    seed: u64,
) -> Transaction {
    let parts = claim_parts(&f.ledger, who);
    let notes = pick(&parts.pending);
    let req = parts.request(&who.spend, &notes);
    if forged {
        forge_claim(&f.n, &req, seed)
    } else {
        make_claim(&f.n, &req, seed).unwrap()
    }
}

fn all(p: &[(dfc_core::NoteId, dfc_core::Opening)]) -> Vec<(dfc_core::NoteId, dfc_core::Opening)> {
    p.to_vec()
}

fn base() -> &'static Base {
    static BASE: OnceLock<Base> = OnceLock::new();
    BASE.get_or_init(|| {
        let f = fx(24);
        let valid = (0..16).map(|i| transfer(&f, i, 100 + i as u64)).collect();
        let claims = f
            .claimers
            .iter()
            .enumerate()
            .map(|(i, c)| claim_of(&f, c, all, false, 200 + i as u64))
            .collect();
        Base { f, valid, claims }
    })
}

/// Puts `bad` at every position of a batch of valid transfers plus two issues, and checks that the
/// batch names it, alone, with `expected`, which is also what one-by-one verification says.
fn caught_everywhere(bad: &Transaction, expected: TxError) {
    let b = base();
    let mut txs: Vec<Transaction> = b.valid.iter().map(|m| m.tx.clone()).collect();
    txs.extend(b.f.issues.iter().take(2).cloned());
    txs.extend(b.claims.iter().take(2).cloned());
    let positions = [0, 1, 7, txs.len() / 2, txs.len()];
    // Each position twice: as built, and as the node and the audit hold them, decoded from their
    // encoding with the range proofs' points kept (`RangeProofBytes`).
    for (pos, decoded) in positions.into_iter().flat_map(|p| [(p, false), (p, true)]) {
        let mut batch = txs.clone();
        batch.insert(pos, bad.clone());
        if decoded {
            batch = batch.iter().map(redecoded).collect();
        }
        let owned = resolve(&b.f, &batch);
        let got = verify_batch(&refs(&owned), &b.f.n.params);
        assert_eq!(got, one_by_one(&b.f, &owned), "position {pos}");
        for (i, r) in got.iter().enumerate() {
            if i == pos {
                assert_eq!(r, &Err(expected.clone()), "position {pos}");
            } else {
                assert_eq!(r, &Ok(()), "valid item {i} with the bad one at {pos}");
            }
        }
        assert!(!batch_holds(
            &refs(&owned),
            &b.f.n.params,
            &mut rng(pos as u64)
        ));
        let err = verify_all(&refs(&owned), &b.f.n.params).unwrap_err();
        assert_eq!(err.failed, vec![(pos, expected.clone())]);
        assert_eq!(err.total, batch.len());
    }
}

/// `tx` decoded from its encoding (points kept), or `tx` itself if its encoding does not decode.
fn redecoded(tx: &Transaction) -> Transaction {
    Transaction::decode(&tx.encode()).unwrap_or_else(|_| tx.clone())
}

#[test]
fn valid_batch_passes_and_agrees_with_one_by_one() {
    let b = base();
    let mut txs: Vec<Transaction> = b.valid.iter().map(|m| m.tx.clone()).collect();
    txs.extend(b.f.issues.iter().cloned());
    // Half as built (points decompressed by the verifier), half decoded (points kept).
    for t in txs.iter_mut().skip(1).step_by(2) {
        *t = Transaction::decode(&t.encode()).unwrap();
    }
    let owned = resolve(&b.f, &txs);
    let got = verify_batch(&refs(&owned), &b.f.n.params);
    assert_eq!(got, one_by_one(&b.f, &owned));
    assert!(got.iter().all(Result::is_ok));
    assert!(batch_holds(&refs(&owned), &b.f.n.params, &mut rng(1)));
    assert_eq!(verify_all(&refs(&owned), &b.f.n.params), Ok(()));
    // A single transaction is a batch too.
    assert_eq!(
        verify_batch(&refs(&owned[..1]), &b.f.n.params),
        vec![Ok(())]
    );
}

#[test]
fn empty_batch() {
    let b = base();
    assert!(verify_batch(&[], &b.f.n.params).is_empty());
    assert_eq!(verify_all(&[], &b.f.n.params), Ok(()));
    assert!(batch_holds(&[], &b.f.n.params, &mut rng(1)));
}

#[test]
fn range_proof_from_another_transaction() {
    let b = base();
    let mut bad = transfer(&b.f, 16, 500);
    bad.tx.range_proof = b.valid[3].tx.range_proof.clone();
    bad.resign(501);
    caught_everywhere(&bad.tx, TxError::BadRangeProof);
}

/// Flips one bit of `proof` at the first offset from `start` where the result still decodes.
fn flip_decodable(proof: &[u8], outputs: usize, start: usize) -> Vec<u8> {
    for offset in start..proof.len() {
        for bit in 0..8 {
            let mut p = proof.to_vec();
            p[offset] ^= 1 << bit;
            if range::check_encoding(&p, outputs).is_ok() {
                return p;
            }
        }
    }
    panic!("no decodable flip from {start}");
}

#[test]
fn range_proof_with_one_byte_changed() {
    let b = base();
    let proof_len = b.valid[0].tx.range_proof.len();
    // A, S, T1, T2, t_x, t_x_blinding, e_blinding, L_0, R_0, the last R, a, b.
    let offsets = [
        0,
        32,
        64,
        96,
        128,
        160,
        192,
        224,
        256,
        proof_len - 96,
        proof_len - 64,
        proof_len - 32,
    ];
    for (k, start) in offsets.into_iter().enumerate() {
        let mut bad = transfer(&b.f, 17, 510);
        // Two outputs and two bounds (the payer's, bob's).
        bad.tx.range_proof = flip_decodable(&bad.tx.range_proof, 4, start).into();
        bad.resign(511 + k as u64);
        assert_eq!(check_structure(&bad.tx, &b.f.n.params), Ok(()));
        caught_everywhere(&bad.tx, TxError::BadRangeProof);
    }
}

#[test]
fn commitment_to_a_negative_amount() {
    let b = base();
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
    let to = b.f.bob.address(1);
    let bad = forge(&b.f.n, TxKind::Transfer, 0, &b.f.pairs[18], &outs, &to, 520);
    caught_everywhere(&bad, TxError::BadRangeProof);
}

#[test]
fn unbalanced_transaction() {
    let b = base();
    let outs = [
        ForgedOut {
            committed: Scalar::from(701u64),
            proven: 701,
            blinding: Scalar::from(3u64),
        },
        ForgedOut {
            committed: Scalar::from(300u64),
            proven: 300,
            blinding: Scalar::from(4u64),
        },
    ];
    let to = b.f.bob.address(1);
    let bad = forge(&b.f.n, TxKind::Transfer, 0, &b.f.pairs[19], &outs, &to, 530);
    caught_everywhere(&bad, TxError::Unbalanced);
}

#[test]
fn forged_owner_signature() {
    let b = base();
    let mut bad = transfer(&b.f, 20, 540);
    let txid = bad.tx.id();
    // A stranger's signature over the right message.
    bad.tx.owner_signatures[1] = SigningKey::from_seed(&[66; 32]).sign(&txid.0);
    caught_everywhere(&bad.tx, TxError::BadOwnerSignature { index: 1 });
    // The owner's signature over another message.
    bad.tx.owner_signatures[1] = bad.inputs[1].key.sign(&b.valid[0].tx.id().0);
    caught_everywhere(&bad.tx, TxError::BadOwnerSignature { index: 1 });
}

#[test]
fn forged_issuer_signature() {
    let b = base();
    let mut bad = b.f.issues[2].clone();
    bad.sign_as_issuer(2, &SigningKey::from_seed(&[67; 32]));
    caught_everywhere(&bad, TxError::BadIssuerSignature { index: 2 });
    // A real issuer's signature moved to another issuer's index.
    let mut bad = b.f.issues[2].clone();
    let sig = bad.issuer_signatures[0].signature;
    bad.issuer_signatures[1].signature = sig;
    caught_everywhere(&bad, TxError::BadIssuerSignature { index: 2 });
}

#[test]
fn balance_proof_from_another_transaction() {
    let b = base();
    let mut bad = transfer(&b.f, 21, 550);
    bad.tx.balance_proof = b.valid[5].tx.balance_proof;
    caught_everywhere(&bad.tx, TxError::Unbalanced);
}

#[test]
fn mixed_aggregation_sizes() {
    let b = base();
    let sizes = [1u64, 2, 3, 4, 8, 16];
    let made: Vec<Made> = sizes
        .iter()
        .enumerate()
        .map(|(k, outputs)| transfer_n(&b.f, 16 + k, *outputs, 600 + k as u64))
        .collect();
    let mut txs: Vec<Transaction> = made.iter().map(|m| m.tx.clone()).collect();
    txs.extend(b.valid.iter().take(4).map(|m| m.tx.clone()));
    txs.push(b.f.issues[0].clone());
    let owned = resolve(&b.f, &txs);
    let got = verify_batch(&refs(&owned), &b.f.n.params);
    assert!(got.iter().all(Result::is_ok), "{got:?}");
    assert!(batch_holds(&refs(&owned), &b.f.n.params, &mut rng(2)));

    // One bad proof of each size, each alone in the mixed batch, is named.
    for (k, m) in made.iter().enumerate() {
        let mut bad = m.clone();
        // The proof covers the outputs and the transfer's bounds.
        let values =
            bad.tx.outputs.len() + bad.tx.compliance.as_ref().map_or(0, |c| c.bound_count());
        bad.tx.range_proof = flip_decodable(&bad.tx.range_proof, values, 128).into();
        bad.resign(700 + k as u64);
        let mut batch = txs.clone();
        batch[k] = bad.tx;
        let owned = resolve(&b.f, &batch);
        let got = verify_batch(&refs(&owned), &b.f.n.params);
        assert_eq!(got, one_by_one(&b.f, &owned));
        for (i, r) in got.iter().enumerate() {
            let want = if i == k {
                Err(TxError::BadRangeProof)
            } else {
                Ok(())
            };
            assert_eq!(r, &want, "size {} at {k}, item {i}", sizes[k]);
        }
    }
}

#[test]
fn several_bad_items_are_all_named() {
    let b = base();
    let mut txs: Vec<Transaction> = b.valid.iter().map(|m| m.tx.clone()).collect();
    txs[2].balance_proof = txs[9].balance_proof;
    txs[11].owner_signatures[0] = txs[12].owner_signatures[0];
    let owned = resolve(&b.f, &txs);
    let got = verify_batch(&refs(&owned), &b.f.n.params);
    assert_eq!(got, one_by_one(&b.f, &owned));
    assert_eq!(got[2], Err(TxError::Unbalanced));
    assert_eq!(got[11], Err(TxError::BadOwnerSignature { index: 0 }));
    assert_eq!(got.iter().filter(|r| r.is_err()).count(), 2);
}

/// A failed batch is bisected: with one bad item among 16 it takes about 2·log₂16 sub-batch checks,
/// not 16 one-by-one verifications, and with bad items at scattered positions every one is named
/// with one-by-one's error while the good ones pass.
#[test]
fn failed_batch_is_bisected_not_reverified_one_by_one() {
    use dfc_core::batch::verify_batch_counted;
    let b = base();
    let txs: Vec<Transaction> = b.valid.iter().map(|m| m.tx.clone()).collect();
    let n = txs.len();
    let log2 = n.ilog2() as usize;
    // All good: no bisection.
    let owned = resolve(&b.f, &txs);
    let (got, checks) = verify_batch_counted(&refs(&owned), &b.f.n.params, &mut rng(7));
    assert!(got.iter().all(Result::is_ok));
    assert_eq!(checks, 0);
    for bad_at in [vec![0], vec![n - 1], vec![5], vec![1, 14], vec![3, 4, 10]] {
        let mut batch = txs.clone();
        for &i in &bad_at {
            batch[i].owner_signatures[0] = txs[(i + 1) % n].owner_signatures[0];
        }
        let owned = resolve(&b.f, &batch);
        let (got, checks) = verify_batch_counted(&refs(&owned), &b.f.n.params, &mut rng(8));
        assert_eq!(got, one_by_one(&b.f, &owned), "bad at {bad_at:?}");
        for (i, r) in got.iter().enumerate() {
            assert_eq!(
                r.is_err(),
                bad_at.contains(&i),
                "item {i}, bad at {bad_at:?}"
            );
        }
        // Each bad item costs at most two checks per level (the half it is in and its sibling)
        // plus its own one-by-one verification.
        let bound = bad_at.len() * (2 * log2 + 1);
        assert!(
            checks <= bound,
            "{checks} checks for {} bad of {n} (bound {bound})",
            bad_at.len()
        );
        assert!(
            checks < n || bad_at.len() > 2,
            "{checks} checks: no better than one by one"
        );
    }
}

/// Inputs that never reach the batch equation (wrong counts, unknown issuer, proofs of the wrong
/// size, identity points, truncated proofs) get one-by-one's exact error and never panic.
#[test]
fn malformed_items_never_panic_and_match_one_by_one() {
    let b = base();
    let good = &b.valid[0].tx;
    let good_inputs = resolve(&b.f, std::slice::from_ref(good)).remove(0).1;
    let mut cases: Vec<(Transaction, Vec<InputNote>)> = Vec::new();
    cases.push((good.clone(), good_inputs[..1].to_vec()));
    let mut t = good.clone();
    t.owner_signatures.pop();
    cases.push((t, good_inputs.clone()));
    let mut t = b.f.issues[0].clone();
    t.issuer_signatures[1].index = 9;
    cases.push((t, Vec::new()));
    for len in [
        0,
        31,
        32 * 7,
        good.range_proof.len() - 64,
        good.range_proof.len() + 64,
    ] {
        let mut t = good.clone();
        t.range_proof = vec![1; len].into();
        cases.push((t, good_inputs.clone()));
    }
    for field in [0, 3, 7, 8] {
        let mut t = good.clone();
        t.range_proof[32 * field..32 * field + 32].fill(0);
        cases.push((t, good_inputs.clone()));
    }
    let mut t = good.clone();
    t.outputs.clear();
    cases.push((t, good_inputs.clone()));
    let mut owned: Vec<(Transaction, Vec<InputNote>)> = b.valid[1..6]
        .iter()
        .map(|m| resolve(&b.f, std::slice::from_ref(&m.tx)).remove(0))
        .collect();
    owned.extend(cases);
    let got = verify_batch(&refs(&owned), &b.f.n.params);
    assert_eq!(got, one_by_one(&b.f, &owned));
    assert!(got[..5].iter().all(Result::is_ok));
    assert!(got[5..].iter().all(Result::is_err));
}

#[test]
fn seeded_weights_still_catch_every_fault() {
    // The weights come from a transcript over the batch finalised with the caller's rng; even a
    // fixed rng gives weights the prover did not choose.
    let b = base();
    let mut bad = transfer(&b.f, 22, 560);
    bad.tx.balance_proof = b.valid[1].tx.balance_proof;
    let mut txs: Vec<Transaction> = b.valid.iter().map(|m| m.tx.clone()).collect();
    txs.push(bad.tx);
    let owned = resolve(&b.f, &txs);
    for seed in 0..4 {
        let got = verify_batch_with_rng(&refs(&owned), &b.f.n.params, &mut rng(seed));
        assert_eq!(got, one_by_one(&b.f, &owned));
    }
}

/// Valid transfers with what is needed to re-sign them, for the property test.
fn prop_base() -> &'static Vec<Made> {
    static MADE: OnceLock<Vec<Made>> = OnceLock::new();
    MADE.get_or_init(|| base().valid[..8].to_vec())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    /// One random byte of one proof (range or balance) of one transaction in a batch, flipped: the
    /// batch names exactly that transaction. The payer re-signs, so the proof is the only fault.
    #[test]
    fn flipped_proof_byte_is_rejected(
        pos in 0usize..8,
        range_proof in any::<bool>(),
        byte in any::<prop::sample::Index>(),
        mask in 1u8..=255,
        seed in any::<u64>(),
    ) {
        let b = base();
        let mut made = prop_base().clone();
        let victim = &mut made[pos];
        let expected = if range_proof {
            let i = byte.index(victim.tx.range_proof.len());
            victim.tx.range_proof[i] ^= mask;
            victim.resign(seed % 1000);
            TxError::BadRangeProof
        } else {
            let mut hex = serde_json::to_value(victim.tx.balance_proof).unwrap().as_str().unwrap().to_string();
            let i = byte.index(64);
            let mut bytes = hex::decode(&hex).unwrap();
            bytes[i] ^= mask;
            hex = hex::encode(bytes);
            let Ok(p) = BalanceProof::try_from(hex) else {
                // The flip made the proof undecodable: a node never gets that far.
                return Ok(());
            };
            victim.tx.balance_proof = p;
            TxError::Unbalanced
        };
        let txs: Vec<Transaction> = made.iter().map(|m| m.tx.clone()).collect();
        let owned: Vec<(Transaction, Vec<InputNote>)> = txs
            .iter()
            .map(|tx| (tx.clone(), resolve_inputs(tx, &b.f.ledger).unwrap()))
            .collect();
        let got = verify_batch_with_rng(&refs(&owned), &b.f.n.params, &mut rng(seed));
        for (i, r) in got.iter().enumerate() {
            if i == pos {
                prop_assert_eq!(r, &Err(expected.clone()));
            } else {
                prop_assert_eq!(r, &Ok(()));
            }
        }
        prop_assert!(!batch_holds(&refs(&owned), &b.f.n.params, &mut rng(seed)));
    }
}

/// On a network with a regulator, transfers at or above the threshold carry a disclosure that
/// `verify_crypto` checks last; the batch checks it too and names a transaction whose section is
/// wrong.
#[test]
fn compliance_sections_are_checked() {
    use dfc_core::compliance::{ComplianceContext, ComplianceParams, RegulatorKey};
    use dfc_core::{build_with, BuildOptions};

    let mut n = net(1);
    n.params.compliance = Some(ComplianceParams {
        regulator_key: RegulatorKey::from_seed(&[42; 32]).public(),
        reporting_threshold: amt(50_000),
    });
    let mut ledger = MemoryLedger::new(n.params.clone());
    let alice = wallet("alice");
    let bob = wallet("bob");
    let notes = issue(&n, &mut ledger, &alice, &[100_000], 1);
    let pay_bob = |units: u64, seed: u64| {
        build_with(
            &n.params,
            TxKind::Transfer,
            Amount::ZERO,
            &notes,
            &[pay(&bob, 1, units), pay(&alice, 1, 100_000 - units)],
            &BuildOptions {
                compliance: Some(ComplianceContext {
                    payer_tier: TOP_TIER,
                    own_keys: Vec::new(),
                    payee_tiers: vec![(bob.spend.public(), TOP_TIER)],
                }),
            },
            &mut rng(seed),
        )
        .unwrap()
    };
    let built: Vec<_> = [1_000, 60_000, 2_000, 70_000]
        .iter()
        .enumerate()
        .map(|(k, units)| pay_bob(*units, 900 + k as u64))
        .collect();
    let mut txs: Vec<Transaction> = built.iter().map(|b| b.tx.clone()).collect();
    let resolve_all = |txs: &[Transaction]| -> Vec<(Transaction, Vec<InputNote>)> {
        txs.iter()
            .map(|tx| (tx.clone(), resolve_inputs(tx, &ledger).unwrap()))
            .collect()
    };
    let owned = resolve_all(&txs);
    let got = verify_batch(&refs(&owned), &n.params);
    assert!(got.iter().all(Result::is_ok), "{got:?}");

    // A disclosure removed, re-signed by the payer: only the compliance section is wrong.
    let mut bad = built[1].clone();
    bad.tx.compliance.as_mut().unwrap().disclosures.clear();
    let blindings: Vec<Scalar> = bad.openings.iter().map(|o| o.blinding).collect();
    resign(&mut bad.tx, &notes, blindings, 950);
    txs[1] = bad.tx;
    let owned = resolve_all(&txs);
    let got = verify_batch(&refs(&owned), &n.params);
    let expected: Vec<_> = owned
        .iter()
        .map(|(t, i)| verify_crypto(t, &n.params, i))
        .collect();
    assert_eq!(got, expected);
    assert!(got[1].is_err());
    assert_eq!(got.iter().filter(|r| r.is_err()).count(), 1);
}

#[test]
fn valid_claims_and_transfers_batch_together() {
    let b = base();
    let mut txs: Vec<Transaction> = b.claims.clone();
    txs.extend(b.valid.iter().take(8).map(|m| m.tx.clone()));
    txs.extend(b.f.issues.iter().cloned());
    // Dave's claim of his 15,000 note keeps him under his tier-0 holding limit of 20,000.
    let max = |p: &[(dfc_core::NoteId, dfc_core::Opening)]| {
        p.iter()
            .filter(|(_, o)| o.amount == amt(15_000))
            .cloned()
            .collect()
    };
    txs.push(claim_of(&b.f, &b.f.dave, max, false, 210));
    let owned = resolve(&b.f, &txs);
    let got = verify_batch(&refs(&owned), &b.f.n.params);
    assert_eq!(got, one_by_one(&b.f, &owned));
    assert!(got.iter().all(Result::is_ok), "{got:?}");
    assert!(batch_holds(&refs(&owned), &b.f.n.params, &mut rng(3)));
    // Claims alone.
    let owned = resolve(&b.f, &b.claims);
    assert!(verify_batch(&refs(&owned), &b.f.n.params)
        .iter()
        .all(Result::is_ok));
}

#[test]
fn claim_proof_from_another_claim() {
    let b = base();
    let mut bad = b.claims[0].clone();
    bad.claim.as_mut().unwrap().proof = b.claims[1].claim.as_ref().unwrap().proof.clone();
    resign_claim(&mut bad, &b.f.claimers[0].spend, 220);
    caught_everywhere(&bad, TxError::BadClaimProof);
}

#[test]
fn forged_claim_over_the_holding_limit() {
    let b = base();
    // 15,000 + 10,000 over dave's limit of 20,000: the builder refuses, a forger's proof fails.
    let parts = claim_parts(&b.f.ledger, &b.f.dave);
    assert!(matches!(
        dfc_core::builder::build_claim(
            &b.f.n.params,
            &parts.request(&b.f.dave.spend, &parts.pending),
            &mut rng(1)
        ),
        Err(dfc_core::BuildError::Rule(TxError::OverHoldingLimit {
            would_hold: 25_000,
            limit: 20_000
        }))
    ));
    let bad = claim_of(&b.f, &b.f.dave, all, true, 230);
    caught_everywhere(&bad, TxError::BadClaimProof);
}

#[test]
fn claim_signed_by_another_key() {
    let b = base();
    let mut bad = b.claims[2].clone();
    bad.owner_signatures[0] = b.f.claimers[3].spend.sign(&bad.id().0);
    caught_everywhere(&bad, TxError::BadOwnerSignature { index: 0 });
}

#[test]
fn claim_with_a_stated_point_or_tier_changed() {
    let b = base();
    // Stated tier 1 instead of 2, re-signed: the proof was made against tier 2's limits. (The node's
    // state checks refuse it earlier, `WrongTier`; crypto alone must refuse it too.)
    let mut bad = b.claims[3].clone();
    bad.claim.as_mut().unwrap().tier = 1;
    resign_claim(&mut bad, &b.f.claimers[3].spend, 240);
    caught_everywhere(&bad, TxError::BadClaimProof);
    // The stated balance swapped for another claimer's, re-signed.
    let mut bad = b.claims[3].clone();
    bad.claim.as_mut().unwrap().balance = b.f.dave.spend.public().compressed().to_owned();
    resign_claim(&mut bad, &b.f.claimers[3].spend, 241);
    caught_everywhere(&bad, TxError::BadClaimProof);
}

#[test]
fn claim_proof_with_one_byte_changed() {
    let b = base();
    let len = b.claims[0].claim.as_ref().unwrap().proof.len();
    for (k, start) in [0, 128, len - 32].into_iter().enumerate() {
        let mut bad = b.claims[1].clone();
        let section = bad.claim.as_mut().unwrap();
        section.proof = flip_decodable(&section.proof, 2, start);
        resign_claim(&mut bad, &b.f.claimers[1].spend, 250 + k as u64);
        assert_eq!(check_structure(&bad, &b.f.n.params), Ok(()));
        caught_everywhere(&bad, TxError::BadClaimProof);
    }
}

#[test]
fn transfer_range_proof_over_bounds_from_another_transfer_or_altered() {
    let b = base();
    let mut bad = transfer(&b.f, 23, 560);
    bad.tx.range_proof = b.valid[4].tx.range_proof.clone();
    bad.resign(561);
    caught_everywhere(&bad.tx, TxError::BadRangeProof);

    let mut bad = transfer(&b.f, 23, 562);
    // Two outputs and two bounds (the payer's, bob's): a proof over four values.
    bad.tx.range_proof = flip_decodable(&bad.tx.range_proof, 4, 160).into();
    bad.resign(563);
    caught_everywhere(&bad.tx, TxError::BadRangeProof);
}

/// A batch of signatures under repeated and distinct keys holds; one signature that does not
/// verify (another message's, another key's, or over a changed message), at any position, makes
/// the whole batch fail, as one-by-one verification of that item does.
#[test]
fn signature_batch_catches_one_bad_signature_anywhere() {
    use dfc_core::batch::signatures_verify;
    use rand_core::OsRng;
    let node = SigningKey::from_seed(&[7u8; 32]);
    let other = SigningKey::from_seed(&[8u8; 32]);
    let messages: Vec<[u8; 32]> = (0..24u8).map(|i| [i; 32]).collect();
    let signed: Vec<(SigningKey, dfc_core::Signature)> = messages
        .iter()
        .enumerate()
        .map(|(i, m)| {
            let key = if i % 5 == 4 {
                other.clone()
            } else {
                node.clone()
            };
            let sig = key.sign(m);
            (key, sig)
        })
        .collect();
    let keys: Vec<dfc_core::PublicKey> = signed.iter().map(|(k, _)| k.public()).collect();
    let items = |sigs: &[dfc_core::Signature], keys: &[dfc_core::PublicKey]| -> bool {
        let entries: Vec<_> = messages
            .iter()
            .zip(sigs)
            .zip(keys)
            .map(|((m, s), k)| (m.as_slice(), s, k))
            .collect();
        signatures_verify(&entries, &mut OsRng)
    };
    let sigs: Vec<dfc_core::Signature> = signed.iter().map(|(_, s)| *s).collect();
    assert!(items(&sigs, &keys), "valid signatures verify as a batch");
    assert!(signatures_verify(&[], &mut OsRng), "the empty batch holds");
    for at in [0, 1, 11, 23] {
        let mut swapped = sigs.clone();
        swapped[at] = sigs[(at + 1) % sigs.len()];
        assert!(
            !items(&swapped, &keys),
            "another message's signature at {at}"
        );
        let mut wrong_key = keys.clone();
        wrong_key[at] = if keys[at] == node.public() {
            other.public()
        } else {
            node.public()
        };
        assert!(!items(&sigs, &wrong_key), "another key at {at}");
        assert!(
            !keys[at].verify(&messages[(at + 1) % messages.len()], &sigs[at]),
            "one by one, the swapped signature fails too"
        );
    }
}
