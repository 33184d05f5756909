//! Light sync against real transactions (answer version 2: an anchor header, the wallet's own
//! headers and one history proof): an honest answer verifies; a forged transaction, a swapped
//! proof, a rewritten header (even re-signed by the node key), a bad history proof, a fork of the
//! wallet's previous tip or of a co-signed checkpoint, or a reordered list is refused; headers
//! and answers of the retired versions are refused by name.

mod common;

use ckb_merkle_mountain_range::util::MemStore;
use common::*;
use dfc_core::block::{tx_proof, Block, BlockHeader, HEADER_VERSION};
use dfc_core::cosign::{ChainPoint, CosignedCheckpoint};
use dfc_core::history::{self, HistoryPeaks};
use dfc_core::light::{LightBody, LightError, LightSync, ProvenTx, SignedHeader};
use dfc_core::tx::IssuerSignature;
use dfc_core::{Amount, AuditError, Hash32, MemoryLedger, Transaction};

/// Blocks in the fixture chain.
const CHAIN: u64 = 9;

fn header(n: &Net, height: u64, prev: Option<&BlockHeader>, peaks: &HistoryPeaks) -> BlockHeader {
    BlockHeader {
        version: HEADER_VERSION,
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
        history_root: peaks.root(),
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
    mmr: MemStore<Hash32>,
}

/// Genesis, a block of three issuances of which the middle one pays `alice`, then empty blocks
/// up to height `CHAIN - 1`; every header carries its history root.
fn fixture() -> Fixture {
    let n = net(41);
    let mut ledger = MemoryLedger::new(n.params.clone());
    let alice = wallet("alice");
    let bob = wallet("bob");
    let mmr = MemStore::default();
    let mut peaks = HistoryPeaks::new();
    let mut blocks: Vec<Block> = Vec::new();
    for h in 0..CHAIN {
        let txs: Vec<Transaction> = if h == 1 {
            [(&bob, 1), (&alice, 2), (&bob, 3)]
                .iter()
                .map(|(w, seed)| issue_pending(&n, &mut ledger, w, &[100], *seed).tx)
                .collect()
        } else {
            Vec::new()
        };
        let prev = blocks.last().map(|b| &b.header);
        let b = Block::seal(header(&n, h, prev, &peaks), txs, &n.node);
        history::append(&mmr, h, &b.header.hash()).expect("append");
        peaks.push(&b.header.hash());
        blocks.push(b);
    }
    Fixture { n, blocks, mmr }
}

/// The honest answer from `from` to the tip listing `picks` (height, index).
fn answer(f: &Fixture, from: u64, picks: &[(u64, usize)]) -> LightSync {
    let txs: Vec<ProvenTx> = picks
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
    let to = CHAIN - 1;
    let mut heights: Vec<u64> = picks.iter().map(|p| p.0).filter(|&h| h < to).collect();
    heights.dedup();
    let mut body = LightBody {
        key: wallet("alice").spend.public(),
        from,
        tip_height: to,
        anchor: Some(signed(&f.blocks[usize::try_from(to).expect("small")])),
        headers: heights
            .iter()
            .map(|&h| signed(&f.blocks[usize::try_from(h).expect("small")]))
            .collect(),
        checkpoint: None,
        history_proof: Default::default(),
        txs,
    };
    body.history_proof = history::prove(&f.mmr, to, &body.proven_heights()).expect("prove");
    LightSync::seal(f.n.params.network_id, body, &f.n.node)
}

fn reseal(f: &Fixture, mut a: LightSync) -> LightSync {
    a.signature = f.n.node.sign(&a.signing_hash(f.n.params.network_id).0);
    a
}

const MINE: &[(u64, usize)] = &[(1, 1)];

#[test]
fn honest_answer_gives_exactly_my_transaction_with_two_headers() {
    let f = fixture();
    let a = answer(&f, 0, MINE);
    let key = wallet("alice").spend.public();
    let out = a.verify(&key, 0, None, &f.n.params).expect("verifies");
    // Her block and the anchor: not one header per block.
    assert_eq!(out.len(), 2);
    assert_eq!(out[0].0.header.height, 1);
    assert_eq!(out[0].1, vec![&f.blocks[1].txs[1]]);
    assert_eq!(out[1].0.header.height, CHAIN - 1);
    assert!(out[1].1.is_empty());
    assert!(!a.omits(&f.blocks[1].txs[1].id(), 1));
    assert!(a.omits(&f.blocks[1].txs[0].id(), 1));
    // From her previous tip at height 4: nothing of hers, the anchor alone.
    let later = answer(&f, 5, &[]);
    let out = later
        .verify(&key, 5, Some(&f.blocks[4].header), &f.n.params)
        .expect("verifies");
    assert_eq!(out.len(), 1);
}

#[test]
fn lying_node_is_caught() {
    let f = fixture();
    let key = wallet("alice").spend.public();
    let p = &f.n.params;

    // A transaction that is not in the block, with the proof of one that is (node re-signs).
    let mut forged = answer(&f, 0, MINE);
    let mut ledger = MemoryLedger::new(p.clone());
    forged.txs[0].tx = issue_pending(&f.n, &mut ledger, &wallet("alice"), &[9_000], 77).tx;
    let forged = reseal(&f, forged);
    assert!(matches!(
        forged.verify(&key, 0, None, p),
        Err(LightError::BadProof { height: 1, .. })
    ));

    // A proof of another position.
    let mut swapped = answer(&f, 0, MINE);
    swapped.txs[0].proof = tx_proof(&f.blocks[1].txs, 0).expect("index");
    let swapped = reseal(&f, swapped);
    assert!(matches!(
        swapped.verify(&key, 0, None, p),
        Err(LightError::BadProof { .. })
    ));

    // A proof claiming a smaller block than the header says.
    let mut short = answer(&f, 0, MINE);
    short.txs[0].proof.leaf_count = 2;
    let short = reseal(&f, short);
    assert!(short.verify(&key, 0, None, p).is_err());

    // A header rewritten to commit to a forged root, not re-signed: its signature fails.
    let mut rewritten = answer(&f, 0, MINE);
    rewritten.headers[0].header.tx_root = Hash32([1; 32]);
    let rewritten = reseal(&f, rewritten);
    assert!(matches!(
        rewritten.verify(&key, 0, None, p),
        Err(LightError::Chain(AuditError::BadBlockSignature {
            height: 1
        }))
    ));

    // The same, re-signed by the node key: the header is not in the anchor's history.
    let mut resigned = answer(&f, 0, MINE);
    resigned.headers[0].header.tx_root = Hash32([1; 32]);
    resigned.headers[0].signature = f.n.node.sign(&resigned.headers[0].header.hash().0);
    let resigned = reseal(&f, resigned);
    assert!(matches!(
        resigned.verify(&key, 0, None, p),
        Err(LightError::History { .. })
    ));

    // A bad history proof: a hash flipped, one dropped.
    let mut flipped = answer(&f, 0, MINE);
    flipped.history_proof.items[0].0[3] ^= 0x10;
    assert!(matches!(
        reseal(&f, flipped).verify(&key, 0, None, p),
        Err(LightError::History { .. })
    ));
    let mut dropped = answer(&f, 0, MINE);
    dropped.history_proof.items.pop();
    assert!(matches!(
        reseal(&f, dropped).verify(&key, 0, None, p),
        Err(LightError::History { .. })
    ));

    // Transactions out of order (or repeated).
    let twice = answer(&f, 0, &[(1, 1), (1, 1)]);
    assert!(matches!(
        twice.verify(&key, 0, None, p),
        Err(LightError::OutOfOrder { .. })
    ));

    // A transaction placed at a height the answer has no header for.
    let mut outside = answer(&f, 0, MINE);
    outside.txs[0].height = 5;
    let outside = reseal(&f, outside);
    assert!(matches!(
        outside.verify(&key, 0, None, p),
        Err(LightError::OutOfOrder { .. })
    ));

    // A header outside the range (the anchor's height, or below `from`).
    let mut beyond = answer(&f, 0, MINE);
    beyond.headers.push(signed(&f.blocks[8]));
    assert!(matches!(
        reseal(&f, beyond).verify(&key, 0, None, p),
        Err(LightError::HeaderOutOfRange { height: 8 })
    ));

    // The answer's anchor dropped while it claims a range.
    let mut no_anchor = answer(&f, 0, MINE);
    no_anchor.anchor = None;
    assert!(matches!(
        reseal(&f, no_anchor).verify(&key, 0, None, p),
        Err(LightError::HeadersIncomplete { .. })
    ));

    // A fork of the wallet's previous tip: another block at height 4 is not in the history.
    let fork = Block::seal(
        BlockHeader {
            time_ms: 99,
            ..f.blocks[4].header.clone()
        },
        Vec::new(),
        &f.n.node,
    );
    let from5 = answer(&f, 5, &[]);
    assert!(from5.verify(&key, 5, Some(&f.blocks[4].header), p).is_ok());
    assert!(matches!(
        from5.verify(&key, 5, Some(&fork.header), p),
        Err(LightError::History { .. })
    ));
    // A previous tip at another height than `from - 1`.
    assert!(matches!(
        from5.verify(&key, 5, Some(&f.blocks[3].header), p),
        Err(LightError::Chain(_))
    ));
}

fn cosigned(f: &Fixture, height: u64, block_hash: Hash32) -> CosignedCheckpoint {
    let point = ChainPoint {
        network: f.n.params.network_id,
        genesis: f.n.params.genesis_hash,
        height,
        block_hash,
    };
    let signatures =
        f.n.issuers
            .iter()
            .enumerate()
            .take(f.n.params.threshold)
            .map(|(i, k)| IssuerSignature {
                index: u8::try_from(i).expect("few issuers"),
                signature: k.sign(&point.digest().0),
            })
            .collect();
    CosignedCheckpoint { point, signatures }
}

/// The checkpoint co-signed by operators is shown in the anchor's history; a chain that forks
/// from it is refused even when the node key signs everything.
#[test]
fn cosigned_checkpoint_is_in_the_anchors_history() {
    let f = fixture();
    let key = wallet("alice").spend.public();
    let p = &f.n.params;
    let with_cp = |cp: CosignedCheckpoint| {
        let mut a = answer(&f, 0, MINE);
        let mut body = LightBody {
            key: a.key,
            from: 0,
            tip_height: a.tip_height,
            anchor: a.anchor.take(),
            headers: a.headers.clone(),
            checkpoint: Some(cp),
            history_proof: Default::default(),
            txs: a.txs.clone(),
        };
        body.history_proof =
            history::prove(&f.mmr, CHAIN - 1, &body.proven_heights()).expect("prove");
        LightSync::seal(p.network_id, body, &f.n.node)
    };
    let good = with_cp(cosigned(&f, 3, f.blocks[3].header.hash()));
    good.verify(&key, 0, None, p)
        .expect("checkpoint in history");
    // Operators signed another block at height 3: the node's chain forks from it.
    let other = with_cp(cosigned(&f, 3, Hash32([7; 32])));
    assert!(matches!(
        other.verify(&key, 0, None, p),
        Err(LightError::History { .. })
    ));
    // At the anchor's height, it must be the anchor.
    let at_tip = with_cp(cosigned(&f, CHAIN - 1, Hash32([7; 32])));
    assert!(matches!(
        at_tip.verify(&key, 0, None, p),
        Err(LightError::Checkpoint { .. })
    ));
    // Not signed by the operators.
    let mut unsigned = cosigned(&f, 3, f.blocks[3].header.hash());
    unsigned.signatures.clear();
    assert!(matches!(
        with_cp(unsigned).verify(&key, 0, None, p),
        Err(LightError::Checkpoint { .. })
    ));
}

/// Old vectors: a header of version 1 (no version, no history root, as stored by a ledger of the
/// previous format) and an answer of version 1 (every header, no anchor) are refused by name.
#[test]
fn retired_header_and_answer_versions_are_refused() {
    let f = fixture();
    let mut v1 = serde_json::to_value(&f.blocks[1].header).expect("json");
    let obj = v1.as_object_mut().expect("object");
    obj.remove("version");
    obj.remove("history_root");
    let old: BlockHeader = serde_json::from_value(v1).expect("old headers still parse");
    assert_eq!(old.version, 1);
    let sig = f.n.node.sign(&old.hash().0);
    assert!(matches!(
        old.check_link(&sig, Some(&f.blocks[0].header), &f.n.node.public()),
        Err(AuditError::RetiredHeaderVersion {
            height: 1,
            version: 1
        })
    ));
    // The version-1 hash is the transcript it always was (a stored ledger's hashes still match).
    assert_ne!(old.hash(), f.blocks[1].header.hash());

    let mut a = serde_json::to_value(answer(&f, 0, MINE)).expect("json");
    let obj = a.as_object_mut().expect("object");
    for k in ["version", "anchor", "checkpoint", "history_proof"] {
        obj.remove(k);
    }
    let old: LightSync = serde_json::from_value(a).expect("old answers parse");
    let key = wallet("alice").spend.public();
    assert_eq!(
        old.verify(&key, 0, None, &f.n.params).err(),
        Some(LightError::RetiredVersion(1))
    );
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
