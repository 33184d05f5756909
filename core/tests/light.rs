//! Light sync against real transactions: an honest answer verifies; a forged transaction, a
//! swapped proof, a rewritten header or a reordered list is refused.

mod common;

use common::*;
use dfc_core::block::{tx_proof, Block, BlockHeader};
use dfc_core::light::{LightError, LightSync, ProvenTx, SignedHeader};
use dfc_core::{Amount, Hash32, MemoryLedger, Transaction};

fn header(n: &Net, height: u64, prev: Option<&BlockHeader>) -> BlockHeader {
    BlockHeader {
        network: n.params.network_id,
        height,
        prev_hash: prev.map(BlockHeader::hash).unwrap_or(Hash32([0; 32])),
        time_ms: 1 + height,
        tx_root: Hash32([0; 32]),
        tx_count: 0,
        supply: Amount::ZERO,
        params_hash: n.params.hash(),
        audit_seq: 0,
        audit_head: Hash32([0; 32]),
    }
}

fn signed(b: &Block) -> SignedHeader {
    SignedHeader {
        header: b.header.clone(),
        signature: b.signature,
    }
}

struct Fixture {
    n: Net,
    blocks: Vec<Block>,
    mine: Vec<(u64, usize)>,
}

/// Genesis, then a block of three issuances of which the middle one pays `alice`.
fn fixture() -> Fixture {
    let n = net(41);
    let mut ledger = MemoryLedger::new(n.params.clone());
    let alice = wallet("alice");
    let bob = wallet("bob");
    let g = Block::seal(header(&n, 0, None), Vec::new(), &n.node);
    let txs: Vec<Transaction> = [(&bob, 1), (&alice, 2), (&bob, 3)]
        .iter()
        .map(|(w, seed)| issue_pending(&n, &mut ledger, w, &[100], *seed).tx)
        .collect();
    let b1 = Block::seal(header(&n, 1, Some(&g.header)), txs, &n.node);
    Fixture {
        n,
        blocks: vec![g, b1],
        mine: vec![(1, 1)],
    }
}

fn answer(f: &Fixture, picks: &[(u64, usize)]) -> LightSync {
    let txs = picks
        .iter()
        .map(|(h, i)| {
            let b = &f.blocks[usize::try_from(*h).expect("small height")];
            ProvenTx {
                height: *h,
                tx: b.txs[*i].clone(),
                proof: tx_proof(&b.txs, *i).expect("index"),
            }
        })
        .collect();
    LightSync::seal(
        f.n.params.network_id,
        wallet("alice").spend.public(),
        0,
        1,
        f.blocks.iter().map(signed).collect(),
        txs,
        &f.n.node,
    )
}

fn reseal(f: &Fixture, mut a: LightSync) -> LightSync {
    let h = LightSync::signing_hash(f.n.params.network_id, &a.key, a.from, a.to, &a.txs);
    a.signature = f.n.node.sign(&h.0);
    a
}

#[test]
fn honest_answer_gives_exactly_my_transaction() {
    let f = fixture();
    let a = answer(&f, &f.mine);
    let key = wallet("alice").spend.public();
    let out = a.verify(&key, 0, None, &f.n.params).expect("verifies");
    assert_eq!(out.len(), 2);
    assert!(out[0].1.is_empty());
    assert_eq!(out[1].1, vec![&f.blocks[1].txs[1]]);
    assert!(!a.omits(&f.blocks[1].txs[1].id(), 1));
    assert!(a.omits(&f.blocks[1].txs[0].id(), 1));
}

#[test]
fn lying_node_is_caught() {
    let f = fixture();
    let key = wallet("alice").spend.public();
    let p = &f.n.params;

    // A transaction that is not in the block, with the proof of one that is (node re-signs).
    let mut forged = answer(&f, &f.mine);
    let mut ledger = MemoryLedger::new(p.clone());
    forged.txs[0].tx = issue_pending(&f.n, &mut ledger, &wallet("alice"), &[9_000], 77).tx;
    let forged = reseal(&f, forged);
    assert!(matches!(
        forged.verify(&key, 0, None, p),
        Err(LightError::BadProof { height: 1, .. })
    ));

    // A proof of another position.
    let mut swapped = answer(&f, &f.mine);
    swapped.txs[0].proof = tx_proof(&f.blocks[1].txs, 0).expect("index");
    let swapped = reseal(&f, swapped);
    assert!(matches!(
        swapped.verify(&key, 0, None, p),
        Err(LightError::BadProof { .. })
    ));

    // A proof claiming a smaller block than the header says.
    let mut short = answer(&f, &f.mine);
    short.txs[0].proof.leaf_count = 2;
    let short = reseal(&f, short);
    assert!(short.verify(&key, 0, None, p).is_err());

    // A header rewritten to commit to a forged root: its node signature fails.
    let mut rewritten = answer(&f, &f.mine);
    rewritten.headers[1].header.tx_root = Hash32([1; 32]);
    let rewritten = reseal(&f, rewritten);
    assert!(matches!(
        rewritten.verify(&key, 0, None, p),
        Err(LightError::Chain(_))
    ));

    // Transactions out of order (or repeated).
    let twice = reseal(&f, answer(&f, &[(1, 1), (1, 1)]));
    assert!(matches!(
        twice.verify(&key, 0, None, p),
        Err(LightError::OutOfOrder { .. })
    ));

    // A transaction placed at a height the answer does not cover.
    let mut outside = answer(&f, &f.mine);
    outside.txs[0].height = 5;
    let outside = reseal(&f, outside);
    assert!(outside.verify(&key, 0, None, p).is_err());

    // Headers that do not chain to the wallet's last header.
    let other_genesis = Block::seal(
        BlockHeader {
            time_ms: 99,
            ..header(&f.n, 0, None)
        },
        Vec::new(),
        &f.n.node,
    );
    let mut from1 = answer(&f, &f.mine);
    from1.from = 1;
    from1.headers.remove(0);
    let from1 = reseal(&f, from1);
    assert!(from1.verify(&key, 1, Some(&f.blocks[0].header), p).is_ok());
    assert!(matches!(
        from1.verify(&key, 1, Some(&other_genesis.header), p),
        Err(LightError::Chain(_))
    ));
}

/// A block whose root is of the retired format 1 is refused with its own error.
#[test]
fn retired_tx_root_is_named() {
    let f = fixture();
    let mut b = f.blocks[1].clone();
    b.header.tx_root = dfc_core::block::retired_tx_root_v1(&b.txs);
    b.signature = f.n.node.sign(&b.header.hash().0);
    assert!(matches!(
        b.check_link(Some(&f.blocks[0].header), &f.n.node.public()),
        Err(dfc_core::AuditError::RetiredTxRoot { height: 1 })
    ));
}
