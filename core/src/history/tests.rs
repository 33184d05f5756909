//! Agreement and refusal tests of the history MMR.

use std::collections::BTreeMap;

use ckb_merkle_mountain_range::util::MemStore;
use sha2::{Digest, Sha256};

use super::*;

fn block(i: u64) -> Hash32 {
    Hash32(Sha256::digest(i.to_le_bytes()).into())
}

/// A stored MMR over blocks `0..n`, and the in-memory peaks over the same blocks.
fn build(n: u64) -> (MemStore<Hash32>, HistoryPeaks) {
    let store = MemStore::default();
    let mut peaks = HistoryPeaks::new();
    for i in 0..n {
        append(&store, i, &block(i)).expect("append");
        peaks.push(&block(i));
    }
    (store, peaks)
}

fn sha(parts: &[&[u8]]) -> [u8; 32] {
    let mut h = Sha256::new();
    for p in parts {
        h.update(p);
    }
    h.finalize().into()
}

#[test]
fn three_leaf_root_matches_the_formula_by_hand() {
    let l: Vec<[u8; 32]> = (0..3)
        .map(|i| sha(&[&[0u8], b"dfc/history-leaf/v1", &block(i).0]))
        .collect();
    let n01 = sha(&[&[1u8], b"dfc/history-node/v1", &l[0], &l[1]]);
    // Peaks [n01, l2], bagged right to left: H(0x03 ‖ label ‖ right ‖ left).
    let bagged = sha(&[&[3u8], b"dfc/history-peaks/v1", &l[2], &n01]);
    let bound = sha(&[&[2u8], b"dfc/history-root/v1", &3u64.to_le_bytes(), &bagged]);
    let (store, peaks) = build(3);
    assert_eq!(root(&store, 3).expect("root").0, bound);
    assert_eq!(peaks.root().0, bound);
    // The empty history binds count 0 and zero bytes.
    let empty = sha(&[
        &[2u8],
        b"dfc/history-root/v1",
        &0u64.to_le_bytes(),
        &[0u8; 32],
    ]);
    assert_eq!(HistoryPeaks::new().root().0, empty);
    assert_eq!(root(&store, 0).expect("root").0, empty);
}

#[test]
fn peaks_agree_with_the_stored_mmr_and_every_leaf_proves() {
    let (store, _) = build(70);
    let mut peaks = HistoryPeaks::new();
    for n in 0..=70u64 {
        assert_eq!(peaks.root(), root(&store, n).expect("root"), "n = {n}");
        assert!(peaks.is_consistent());
        for h in 0..n {
            let proof = prove(&store, n, &[h]).expect("prove");
            let blocks = BTreeMap::from([(h, block(h))]);
            proof.verify(&peaks.root(), n, &blocks).expect("verifies");
            assert!(
                proof.items.len() <= 2 * 7,
                "logarithmic: {}",
                proof.items.len()
            );
        }
        if n < 70 {
            peaks.push(&block(n));
        }
    }
}

#[test]
fn peaks_reload_from_the_stored_positions() {
    let (store, _) = build(46);
    for n in 0..=45u64 {
        let peaks: Vec<Hash32> = peak_positions(n)
            .into_iter()
            .map(|p| (&store).get_elem(p).expect("read").expect("stored"))
            .collect();
        let mut loaded = HistoryPeaks::from_peaks(n, peaks).expect("shape");
        assert_eq!(loaded.root(), root(&store, n).expect("root"));
        loaded.push(&block(n));
        assert_eq!(loaded.root(), root(&store, n + 1).expect("root"));
    }
    assert!(HistoryPeaks::from_peaks(3, vec![block(0)]).is_none());
}

#[test]
fn one_proof_covers_several_blocks() {
    let (store, peaks) = build(1000);
    let heights = [0u64, 17, 500, 501, 998, 999];
    let proof = prove(&store, 1000, &heights).expect("prove");
    let blocks: BTreeMap<u64, Hash32> = heights.iter().map(|&h| (h, block(h))).collect();
    proof
        .verify(&peaks.root(), 1000, &blocks)
        .expect("verifies");
}

#[test]
fn tampered_proofs_are_refused() {
    let (store, peaks) = build(100);
    let root100 = peaks.root();
    let proof = prove(&store, 100, &[37]).expect("prove");
    let good = BTreeMap::from([(37, block(37))]);
    proof
        .verify(&root100, 100, &good)
        .expect("the honest proof verifies");
    let bad = |r: Result<(), HistoryError>| assert!(r.is_err(), "accepted: {r:?}");
    // Another block at the height (a rewritten header).
    bad(proof.verify(&root100, 100, &BTreeMap::from([(37, block(38))])));
    // The block at another height.
    bad(proof.verify(&root100, 100, &BTreeMap::from([(36, block(37))])));
    // Another leaf count with the same root (the count is bound).
    bad(proof.verify(&root100, 99, &good));
    bad(proof.verify(&root100, 101, &good));
    // Every sibling flipped in turn, one dropped, one added.
    for i in 0..proof.items.len() {
        let mut p = proof.clone();
        p.items[i].0[0] ^= 1;
        bad(p.verify(&root100, 100, &good));
    }
    let mut short = proof.clone();
    short.items.pop();
    bad(short.verify(&root100, 100, &good));
    let mut long = proof.clone();
    long.items.push(block(1));
    bad(long.verify(&root100, 100, &good));
    // Beyond the history, and far beyond any history.
    assert_eq!(
        proof.verify(&root100, 100, &BTreeMap::from([(100, block(100))])),
        Err(HistoryError::OutOfRange {
            height: 100,
            count: 100
        })
    );
    bad(proof.verify(&root100, u64::MAX, &good));
    // A padded proof is refused before any hashing.
    let padded = HistoryProof {
        items: vec![block(0); 2 * MAX_PROOF_ITEMS_PER_LEAF + 1],
    };
    assert!(matches!(
        padded.verify(&root100, 100, &good),
        Err(HistoryError::ProofTooLong { .. })
    ));
    // An inner node cannot pass as a leaf: the proof of leaf 0 of a 2-leaf tree does not prove
    // the node over leaves 0 and 1 as a "block" of a 1-leaf history.
    let (s2, p2) = build(2);
    let node = HistoryMerge::merge(&leaf_hash(&block(0)), &leaf_hash(&block(1))).expect("merge");
    bad(HistoryProof::default().verify(&p2.root(), 1, &BTreeMap::from([(0, node)])));
    // A one-leaf history with a hash riding along.
    let p1 = prove(&s2, 1, &[0]).expect("prove");
    assert!(p1.items.is_empty());
    let mut h1 = HistoryPeaks::new();
    h1.push(&block(0));
    p1.verify(&h1.root(), 1, &BTreeMap::from([(0, block(0))]))
        .expect("one leaf");
    bad(HistoryProof {
        items: vec![block(9)],
    }
    .verify(&h1.root(), 1, &BTreeMap::from([(0, block(0))])));
}

#[test]
fn nothing_to_prove_needs_an_empty_proof() {
    let (_, peaks) = build(5);
    HistoryProof::default()
        .verify(&peaks.root(), 5, &BTreeMap::new())
        .expect("empty");
    assert!(HistoryProof {
        items: vec![block(0)]
    }
    .verify(&peaks.root(), 5, &BTreeMap::new())
    .is_err());
}
