//! Disclosures to the regulator in the batch (issue 16): their limb range proofs, validity proofs
//! and recomposition proofs are equations of the batch's one multiscalar multiplication. Valid
//! disclosures pass the batch check itself (no fallback), and each kind of bad disclosure, re-signed
//! by its payer so that only the disclosure is wrong, fails it, is named by bisection with the
//! error one-by-one verification gives, and leaves the other transactions accepted.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use curve25519_dalek::scalar::Scalar;
use dfc_core::batch::{batch_holds, verify_batch_counted, BatchItem};
use dfc_core::compliance::{ComplianceContext, ComplianceParams, RegulatorKey};
use dfc_core::validate::{resolve_inputs, verify_crypto};
use dfc_core::{
    build_with, range, Amount, BuildOptions, Built, InputNote, MemoryLedger, SpendInput,
    Transaction, TxError, TxKind,
};

struct Fx {
    n: Net,
    ledger: MemoryLedger,
    notes: Vec<SpendInput>,
    /// Four transfers to bob; those at index 1 and 3 (60,000 and 70,000) are disclosed.
    built: Vec<Built>,
}

fn fx() -> Fx {
    let mut n = net(1);
    n.params.compliance = Some(ComplianceParams {
        regulator_key: RegulatorKey::from_seed(&[42; 32]).public(),
        reporting_threshold: amt(50_000),
    });
    let mut ledger = MemoryLedger::new(n.params.clone());
    let alice = wallet("alice");
    let bob = wallet("bob");
    let notes = issue(&n, &mut ledger, &alice, &[100_000], 1);
    let built = [1_000, 60_000, 2_000, 70_000]
        .iter()
        .enumerate()
        .map(|(k, units)| {
            build_with(
                &n.params,
                TxKind::Transfer,
                Amount::ZERO,
                &notes,
                &[pay(&bob, 1, *units), pay(&alice, 1, 100_000 - units)],
                &BuildOptions {
                    compliance: Some(ComplianceContext {
                        payer_tier: TOP_TIER,
                        own_keys: Vec::new(),
                        payee_tiers: vec![(bob.spend.public(), TOP_TIER)],
                    }),
                },
                &mut rng(900 + k as u64),
            )
            .unwrap()
        })
        .collect();
    Fx {
        n,
        ledger,
        notes,
        built,
    }
}

impl Fx {
    fn owned(&self, txs: &[Transaction]) -> Vec<(Transaction, Vec<InputNote>)> {
        txs.iter()
            .map(|tx| (tx.clone(), resolve_inputs(tx, &self.ledger).unwrap()))
            .collect()
    }
    fn txs(&self) -> Vec<Transaction> {
        self.built.iter().map(|b| b.tx.clone()).collect()
    }
    /// Transaction `k` with its disclosure changed by `f`, re-signed by the payer.
    fn altered(
        &self,
        k: usize,
        f: impl FnOnce(&mut dfc_core::compliance::Compliance),
    ) -> Transaction {
        let mut tx = self.built[k].tx.clone();
        f(tx.compliance.as_mut().unwrap());
        let blindings: Vec<Scalar> = self.built[k].openings.iter().map(|o| o.blinding).collect();
        resign(&mut tx, &self.notes, blindings, 950 + k as u64);
        tx
    }
}

fn refs(owned: &[(Transaction, Vec<InputNote>)]) -> Vec<BatchItem<'_>> {
    owned.iter().map(|(t, i)| (t, i.as_slice())).collect()
}

/// `bad` replaces transaction 1 among the four: the batch check fails, bisection names exactly it
/// with one-by-one's error (a `BadDisclosure` of party 1), the others pass.
fn caught(f: &Fx, bad: Transaction) {
    let mut txs = f.txs();
    txs[1] = bad;
    let owned = f.owned(&txs);
    let expected: Vec<_> = owned
        .iter()
        .map(|(t, i)| verify_crypto(t, &f.n.params, i))
        .collect();
    assert_eq!(expected[1], Err(TxError::BadDisclosure { party: 1 }));
    assert!(!batch_holds(&refs(&owned), &f.n.params, &mut rng(5)));
    let (got, checks) = verify_batch_counted(&refs(&owned), &f.n.params, &mut rng(6));
    assert_eq!(got, expected);
    assert!(checks > 0, "the batch itself must have failed");
    assert_eq!(got.iter().filter(|r| r.is_err()).count(), 1);
}

#[test]
fn valid_disclosures_pass_the_batch_check_itself() {
    let f = fx();
    let txs = f.txs();
    let disclosed: Vec<usize> = txs
        .iter()
        .map(|t| t.compliance.as_ref().unwrap().disclosures.len())
        .collect();
    assert_eq!(disclosed, vec![0, 1, 0, 1]);
    let owned = f.owned(&txs);
    for (t, i) in &owned {
        assert_eq!(verify_crypto(t, &f.n.params, i), Ok(()));
    }
    // No fallback: the equations of the disclosures hold in the batch.
    assert!(batch_holds(&refs(&owned), &f.n.params, &mut rng(3)));
    let (got, checks) = verify_batch_counted(&refs(&owned), &f.n.params, &mut rng(4));
    assert!(got.iter().all(Result::is_ok), "{got:?}");
    assert_eq!(checks, 0);
    // Disclosed transfers alone, and one alone, hold too.
    let only = f.owned(&[txs[1].clone(), txs[3].clone()]);
    assert!(batch_holds(&refs(&only), &f.n.params, &mut rng(8)));
}

#[test]
fn limb_range_proof_with_one_bit_changed() {
    let f = fx();
    for start in [0, 200, 300] {
        let bad = f.altered(1, |c| {
            let proof = &c.disclosures[0].limb_proof;
            c.disclosures[0].limb_proof = flip_decodable(proof, start);
        });
        caught(&f, bad);
    }
}

#[test]
fn limb_range_proof_from_another_disclosure() {
    let f = fx();
    let other = f.built[3].tx.compliance.clone().unwrap().disclosures[0].clone();
    caught(
        &f,
        f.altered(1, |c| c.disclosures[0].limb_proof = other.limb_proof),
    );
}

#[test]
fn validity_proofs_swapped_or_from_another_disclosure() {
    let f = fx();
    let other = f.built[3].tx.compliance.clone().unwrap().disclosures[0].clone();
    caught(
        &f,
        f.altered(1, |c| c.disclosures[0].validity = other.validity),
    );
    caught(&f, f.altered(1, |c| c.disclosures[0].validity.swap(0, 1)));
    caught(
        &f,
        f.altered(1, |c| c.disclosures[0].validity[2] = other.validity[2]),
    );
}

#[test]
fn limb_ciphertext_replaced() {
    let f = fx();
    let other = f.built[3].tx.compliance.clone().unwrap().disclosures[0].clone();
    // D (the regulator's part) of one limb from another disclosure: C and D no longer share r.
    caught(
        &f,
        f.altered(1, |c| c.disclosures[0].limbs[1].d = other.limbs[1].d),
    );
    // The limbs of another amount: they do not recompose this payee's commitment.
    caught(&f, f.altered(1, |c| c.disclosures[0].limbs = other.limbs));
}

#[test]
fn recomposition_proof_from_another_disclosure() {
    let f = fx();
    let other = f.built[3].tx.compliance.clone().unwrap().disclosures[0].clone();
    caught(
        &f,
        f.altered(1, |c| c.disclosures[0].recomposition = other.recomposition),
    );
}

#[test]
fn whole_disclosure_from_another_transfer() {
    let f = fx();
    let other = f.built[3].tx.compliance.clone().unwrap().disclosures[0].clone();
    caught(&f, f.altered(1, |c| c.disclosures[0] = other));
}

/// Flips one bit of the 16-bit limb proof (4 values) at the first offset from `start` where the
/// result still decodes, so the batch, not the parser, must catch it.
fn flip_decodable(proof: &[u8], start: usize) -> Vec<u8> {
    for offset in start..proof.len() {
        for bit in 0..8 {
            let mut p = proof.to_vec();
            p[offset] ^= 1 << bit;
            if range::check_encoding_bits(&p, 4, 16).is_ok() {
                return p;
            }
        }
    }
    panic!("no decodable flip from {start}");
}
