use super::*;
use crate::block::{tx_proof_of_hashes, tx_root_of_hashes};
use crate::merkle::tx_leaf_hash;

fn hashes(n: usize) -> Vec<Hash32> {
    (0..n)
        .map(|i| {
            Hash32(crate::transcript::hash32(
                b"test",
                &[(b"i", &i.to_le_bytes())],
            ))
        })
        .collect()
}

/// Agreement: for every block size up to 40 and every position, the proof the node builds
/// verifies against the root the header commits to, and against no other position or root.
#[test]
fn tx_proofs_agree_with_tx_root() {
    for n in 1..40 {
        let hs = hashes(n);
        let root = tx_root_of_hashes(hs.clone());
        for (i, h) in hs.iter().enumerate() {
            let proof = tx_proof_of_hashes(hs.clone(), i).expect("index in range");
            assert_eq!(proof.index, i as u64);
            assert_eq!(proof.leaf_count, n as u64);
            assert!(proof.verify(&tx_leaf_hash(h), &root), "n={n} i={i}");
            let other = &hs[(i + 1) % n];
            if n > 1 {
                assert!(!proof.verify(&tx_leaf_hash(other), &root));
            }
            let fewer = tx_root_of_hashes(hs[..n - 1].to_vec());
            assert!(!proof.verify(&tx_leaf_hash(h), &fewer));
        }
        assert!(tx_proof_of_hashes(hs.clone(), n).is_none());
    }
}

/// A transaction leaf is never a note leaf: the roots of the two trees differ over the same bytes.
#[test]
fn tx_leaves_are_domain_separated() {
    let h = Hash32([5; 32]);
    assert_ne!(tx_leaf_hash(&h), [0u8; 32]);
    assert_ne!(
        tx_root_of_hashes(vec![h]),
        crate::merkle::MerkleTree::new(vec![h.0]).root()
    );
}

/// The shared fixture on network 7 with genesis hash `[3; 32]` (the values these tests' headers
/// and answers name), and its node key.
fn params() -> (NetworkParams, SigningKey) {
    let mut p = crate::test_fixtures::genesis("t");
    p.network_id = 7;
    p.genesis_hash = Hash32([3; 32]);
    (p, crate::test_fixtures::key(9))
}

#[test]
fn read_credentials_bind_request_network_and_genesis() {
    let (p, _) = params();
    let k = SigningKey::from_seed(&[4; 32]);
    let a = ReadAuth::sign(&p, "/v1/blocks?from=0", &k, 1000, Hash32([8; 32]));
    let back = ReadAuth::from_header(&a.to_header()).expect("round trip");
    assert_eq!(back, a);
    assert!(back.verify(&p, "/v1/blocks?from=0"));
    assert!(!back.verify(&p, "/v1/blocks?from=1"));
    let mut other = p.clone();
    other.genesis_hash = Hash32([4; 32]);
    assert!(!back.verify(&other, "/v1/blocks?from=0"));
    other = p.clone();
    other.network_id = 8;
    assert!(!back.verify(&other, "/v1/blocks?from=0"));
    for bad in ["", "a.b.c", "a.b.c.d.e", &a.to_header().replace('.', ",")] {
        assert!(ReadAuth::from_header(bad).is_err(), "{bad}");
    }
}

fn sealed(node: &SigningKey, wallet: PublicKey, anchor: Option<SignedHeader>) -> LightSync {
    LightSync::seal(
        7,
        LightBody {
            key: wallet,
            from: 0,
            tip_height: 0,
            anchor,
            headers: Vec::new(),
            checkpoint: None,
            history_proof: Default::default(),
            txs: Vec::new(),
        },
        node,
    )
}

#[test]
fn genesis_answer_verifies_and_tampering_is_caught() {
    let (p, node) = params();
    let wallet = SigningKey::from_seed(&[4; 32]).public();
    let genesis = crate::block::Block::seal(
        BlockHeader {
            version: crate::block::HEADER_VERSION,
            network: 7,
            height: 0,
            prev_hash: Hash32([0; 32]),
            time_ms: 1,
            tx_root: Hash32([0; 32]),
            tx_count: 0,
            supply: crate::Amount::ZERO,
            params_hash: p.hash(),
            audit_seq: 0,
            audit_head: Hash32([0; 32]),
            history_root: crate::history::HistoryPeaks::new().root(),
        },
        Vec::new(),
        &node,
    );
    let sh = SignedHeader {
        header: genesis.header.clone(),
        signature: genesis.signature,
    };
    let ans = sealed(&node, wallet, Some(sh.clone()));
    let ok = ans.verify(&wallet, 0, None, &p).expect("honest answer");
    assert_eq!(ok.len(), 1);
    // Another key's answer, or one for another height, is not the answer to my question.
    let other = SigningKey::from_seed(&[5; 32]).public();
    assert!(matches!(
        ans.verify(&other, 0, None, &p),
        Err(LightError::WrongQuestion { .. })
    ));
    // The anchor changed after signing (the answer re-signed: the header's own signature fails).
    let mut bad = ans.clone();
    if let Some(a) = bad.anchor.as_mut() {
        a.header.time_ms += 1;
    }
    bad.signature = node.sign(&bad.signing_hash(7).0);
    assert!(matches!(
        bad.verify(&wallet, 0, None, &p),
        Err(LightError::Chain(AuditError::BadBlockSignature { .. }))
    ));
    // The anchor dropped (the node signs a range it does not cover).
    let bad = sealed(&node, wallet, None);
    assert!(matches!(
        bad.verify(&wallet, 0, None, &p),
        Err(LightError::HeadersIncomplete { .. })
    ));
    // A wallet that has verified a co-signed checkpoint refuses an answer without one (before
    // any proof is checked); a wallet that never saw one, or an answer covering nothing, passes.
    assert_eq!(ans.check_checkpoint_floor(None), Ok(()));
    assert_eq!(
        ans.check_checkpoint_floor(Some(0)),
        Err(LightError::CheckpointWithheld {
            known: 0,
            given: None
        })
    );
    assert_eq!(
        sealed(&node, wallet, None).check_checkpoint_floor(Some(5)),
        Ok(())
    );
    // The answer signed by someone else.
    let mut bad = ans;
    bad.signature = SigningKey::from_seed(&[6; 32]).sign(b"x");
    assert_eq!(
        bad.verify(&wallet, 0, None, &p).err(),
        Some(LightError::BadAnswerSignature)
    );
}
