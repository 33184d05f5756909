//! How one operator, a removed operator, the node or an on-path party could walk around a
//! co-signed checkpoint, each refused.

use super::*;
use crate::governance::{ApprovedChange, ParamsChange};
use crate::params::NetworkParams;
use crate::test_fixtures::key;

fn genesis() -> NetworkParams {
    crate::test_fixtures::genesis("cosign")
}

fn point(height: u64, block: u8) -> ChainPoint {
    ChainPoint {
        network: 9,
        genesis: Hash32([4; 32]),
        height,
        block_hash: Hash32([block; 32]),
    }
}

/// Signatures by issuer indexes `signers`, with key `signer_key(index)`.
fn cosign(p: ChainPoint, signers: &[u8]) -> CosignedCheckpoint {
    CosignedCheckpoint {
        point: p,
        signatures: signers
            .iter()
            .map(|&i| IssuerSignature {
                index: i,
                signature: key(i + 1).sign(&p.digest().0),
            })
            .collect(),
    }
}

#[test]
fn k_operators_anchor_a_point() {
    let h = ParamsHistory::new(genesis());
    let c = cosign(point(10, 7), &[0, 2]);
    c.verify(&h).expect("two of three");
    assert!(c.is_anchored(&h));
    let json = serde_json::to_string(&c).expect("encodes");
    let back: CosignedCheckpoint = serde_json::from_str(&json).expect("decodes");
    assert_eq!(back, c);
}

#[test]
fn one_operator_alone_anchors_nothing() {
    let h = ParamsHistory::new(genesis());
    let one = cosign(point(10, 7), &[1]);
    assert_eq!(
        one.verify(&h).expect_err("one of three").code(),
        "too_few_approvals"
    );
    one.verify_signatures(&h).expect("its signature is valid");
    assert!(!one.is_anchored(&h));
    // The same key twice does not make two.
    let mut twice = one.clone();
    twice.signatures.push(twice.signatures[0]);
    assert_eq!(
        twice.verify(&h).expect_err("twice").code(),
        "duplicate_approval"
    );
}

#[test]
fn the_node_key_is_not_an_operator_key() {
    let h = ParamsHistory::new(genesis());
    let p = point(10, 7);
    let mut c = cosign(p, &[0]);
    c.signatures.push(IssuerSignature {
        index: 1,
        signature: key(9).sign(&p.digest().0),
    });
    assert_eq!(c.verify(&h).expect_err("node key").code(), "bad_approval");
}

#[test]
fn a_signature_counts_for_its_point_only() {
    let h = ParamsHistory::new(genesis());
    let c = cosign(point(10, 7), &[0, 1]);
    for other in [point(11, 7), point(10, 8)] {
        let moved = CosignedCheckpoint {
            point: other,
            signatures: c.signatures.clone(),
        };
        assert_eq!(moved.verify(&h).expect_err("moved").code(), "bad_approval");
    }
    let mut net = c.clone();
    net.point.network = 10;
    assert_eq!(net.verify(&h).expect_err("network").code(), "wrong_network");
    let mut gen = c.clone();
    gen.point.genesis = Hash32([5; 32]);
    assert_eq!(gen.verify(&h).expect_err("genesis").code(), "wrong_network");
    // A parameter-change approval over the same bytes is another domain.
    assert_ne!(point(10, 7).digest(), Hash32([0; 32]));
}

#[test]
fn signatures_count_under_the_operators_in_force_at_the_height() {
    // From height 20 operator 0's key is rotated to key 7.
    let g = genesis();
    let mut next = g.clone();
    next.issuers[0] = key(7).public().into();
    let change = ParamsChange {
        base_hash: g.hash(),
        effective_height: 20,
        params: next,
    };
    let approvals = [0u8, 1]
        .iter()
        .map(|&i| IssuerSignature {
            index: i,
            signature: key(i + 1).sign(&change.digest().0),
        })
        .collect();
    let mut h = ParamsHistory::new(g);
    h.push(ApprovedChange { change, approvals })
        .expect("approved");
    // Before 20 the old key counts; from 20 on it does not.
    cosign(point(19, 1), &[0, 1])
        .verify(&h)
        .expect("old key at 19");
    assert_eq!(
        cosign(point(20, 1), &[0, 1])
            .verify(&h)
            .expect_err("old key at 20")
            .code(),
        "bad_approval"
    );
    let p = point(20, 1);
    let new = CheckpointSignature {
        point: p,
        signature: IssuerSignature {
            index: 0,
            signature: key(7).sign(&p.digest().0),
        },
    };
    new.verify(&h)
        .expect("the rotated key counts from its height");
}

#[test]
fn one_signature_is_checked_alone() {
    let h = ParamsHistory::new(genesis());
    let p = point(3, 3);
    let good = CheckpointSignature {
        point: p,
        signature: IssuerSignature {
            index: 2,
            signature: key(3).sign(&p.digest().0),
        },
    };
    good.verify(&h).expect("valid");
    let unknown = CheckpointSignature {
        signature: IssuerSignature {
            index: 5,
            ..good.signature
        },
        ..good
    };
    assert_eq!(
        unknown.verify(&h).expect_err("index").code(),
        "unknown_operator"
    );
}
