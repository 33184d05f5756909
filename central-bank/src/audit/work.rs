//! The per-block checks that need no ledger state, done on the verifier threads for a batch of
//! whole blocks: each transaction's stored id against its id, each block's transaction root, the
//! node's signatures over the blocks and their receipts (one `schnorrkel` batch under the node key
//! in force for the batch), and, at [`Depth::Full`](super::Depth::Full), the transactions'
//! signatures and proofs with the batch verifier ([`dfc_core::batch::verify_batch`]).
//!
//! A batch that fails is checked again one record at a time, in block order, so the failure is
//! named exactly as the one-by-one replay names it (same height, same message). Each failure
//! carries its place in the replay's order ([`Place`]) so that the earliest of several wins.

use std::time::{Duration, Instant};

use dfc_core::api::Receipt;
use dfc_core::batch::{signatures_verify, verify_batch, BatchItem};
use dfc_core::block::{retired_tx_root_v1, tx_root_of_hashes};
use dfc_core::validate::InputNote;
use dfc_core::{
    AuditError, Hash32, NetworkParams, PublicKey, Signature, Transaction, TxError, TxId,
};
use rand_core::OsRng;

/// One transaction of a block, as the structural replay leaves it.
pub(super) struct TxWork {
    /// Position in the block.
    pub index: usize,
    /// The id stored beside the transaction (the replay builds its state with it; checked here).
    pub txid: TxId,
    /// The transaction.
    pub tx: Transaction,
    /// Its resolved inputs, for the proofs (empty at [`Depth::Structure`](super::Depth)).
    pub inputs: Vec<InputNote>,
    /// The node's signature of its receipt.
    pub receipt: Signature,
}

/// One block whose structure the replay accepted (height, link, state rules, supply).
pub(super) struct BlockWork {
    /// Height.
    pub height: u64,
    /// Its hash (already checked to be the stored header's hash).
    pub hash: Hash32,
    /// The header's transaction root.
    pub tx_root: Hash32,
    /// The node's signature over `hash`.
    pub signature: Signature,
    /// Every transaction of the block, in order.
    pub txs: Vec<TxWork>,
}

/// Where a failure is in the order of the one-by-one replay: height, then the block's own checks
/// (position 0) before its transactions (position `index + 1`), then the step within.
pub(super) type Place = (u64, usize, Step);

/// The checks of one record, in the order the replay makes them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Step {
    /// The node's signature over the block hash.
    BlockSignature,
    /// The transaction root (after the count, checked by the replay).
    TxRoot,
    /// A transaction's stored id.
    TxId,
    /// A transaction's receipt signature.
    Receipt,
    /// A transaction's ledger rules (checked by the replay on its thread).
    Rules,
    /// A transaction's signatures and proofs.
    Proofs,
}

/// The first bad record of a batch: where, and the message the replay gives for it.
#[derive(Debug)]
pub(super) struct Failure {
    /// Its place in the replay's order.
    pub place: Place,
    /// What is wrong (the reason of [`IntegrityError::Block`](super::IntegrityError::Block)).
    pub reason: String,
}

/// What checking a batch found and cost.
pub(super) struct Outcome {
    /// Transactions in the batch.
    pub txs: u64,
    /// The first failure, if any.
    pub failure: Option<Failure>,
    /// Wall time inside the batch verifier (proofs and transaction signatures).
    pub verify_wall: Duration,
    /// This thread's CPU time inside the batch verifier.
    pub verify_cpu: Duration,
}

/// The CPU time of the calling thread.
pub(super) fn thread_cpu() -> Duration {
    let t = rustix::time::clock_gettime(rustix::time::ClockId::ThreadCPUTime);
    Duration::new(
        u64::try_from(t.tv_sec).unwrap_or(0),
        u32::try_from(t.tv_nsec).unwrap_or(0),
    )
}

/// Checks a batch of blocks, all under `node_key` and (for proofs) `params`; `proofs` says
/// whether to verify the transactions' signatures and proofs.
pub(super) fn check(
    blocks: &[BlockWork],
    node_key: &PublicKey,
    params: &NetworkParams,
    proofs: bool,
) -> Outcome {
    let txs = blocks.iter().map(|b| b.txs.len()).sum::<usize>();
    let mut failures: Vec<Failure> = Vec::new();
    let mut ids: Vec<TxId> = Vec::with_capacity(txs);
    for b in blocks {
        let start = ids.len();
        ids.extend(b.txs.iter().map(|t| t.tx.id()));
        if let Some(f) = ids_and_root(b, &ids[start..]) {
            failures.push(f);
        }
    }
    // The receipts sign the transaction's own id (as the replay computed it before).
    let receipts: Vec<[u8; 32]> = blocks
        .iter()
        .flat_map(|b| b.txs.iter().map(move |t| (b, t)))
        .zip(&ids)
        .map(|((b, _), id)| Receipt::signing_hash(id, b.height, &b.hash).0)
        .collect();
    let mut signed: Vec<(&[u8], &Signature, &PublicKey)> = Vec::with_capacity(blocks.len() + txs);
    for b in blocks {
        signed.push((b.hash.0.as_slice(), &b.signature, node_key));
    }
    let tx_sigs = blocks.iter().flat_map(|b| b.txs.iter().map(|t| &t.receipt));
    for (msg, sig) in receipts.iter().zip(tx_sigs) {
        signed.push((msg.as_slice(), sig, node_key));
    }
    if !signatures_verify(&signed, &mut OsRng) {
        failures.extend(signatures_one_by_one(blocks, &receipts, node_key));
    }
    let (mut verify_wall, mut verify_cpu) = (Duration::ZERO, Duration::ZERO);
    if proofs {
        let items: Vec<BatchItem<'_>> = blocks
            .iter()
            .flat_map(|b| b.txs.iter().map(|t| (&t.tx, t.inputs.as_slice())))
            .collect();
        let (wall0, cpu0) = (Instant::now(), thread_cpu());
        let results: Vec<Result<(), TxError>> = verify_batch(&items, params);
        verify_cpu = thread_cpu().saturating_sub(cpu0);
        verify_wall = wall0.elapsed();
        let placed = blocks
            .iter()
            .flat_map(|b| b.txs.iter().map(move |t| (b, t)));
        for (((b, t), id), r) in placed.zip(&ids).zip(results) {
            if let Err(e) = r {
                failures.push(Failure {
                    place: (b.height, t.index + 1, Step::Proofs),
                    reason: format!("transaction {} ({id}) rejected: {e}", t.index),
                });
            }
        }
    }
    Outcome {
        txs: u64::try_from(txs).unwrap_or(u64::MAX),
        failure: failures.into_iter().min_by_key(|f| f.place),
        verify_wall,
        verify_cpu,
    }
}

/// A wrong transaction root, else the first stored id that is not its transaction's id.
fn ids_and_root(b: &BlockWork, ids: &[TxId]) -> Option<Failure> {
    let root_failure = || {
        let hashes = b.txs.iter().map(|t| t.tx.full_hash());
        if tx_root_of_hashes(hashes) == b.tx_root {
            return None;
        }
        let txs: Vec<Transaction> = b.txs.iter().map(|t| t.tx.clone()).collect();
        let e = if retired_tx_root_v1(&txs) == b.tx_root {
            AuditError::RetiredTxRoot { height: b.height }
        } else {
            AuditError::BadTxRoot { height: b.height }
        };
        Some(Failure {
            place: (b.height, 0, Step::TxRoot),
            reason: e.to_string(),
        })
    };
    root_failure().or_else(|| {
        b.txs.iter().zip(ids).find_map(|(t, id)| {
            (t.txid != *id).then(|| Failure {
                place: (b.height, t.index + 1, Step::TxId),
                reason: format!("transaction {}: stored txid is not its id", t.index),
            })
        })
    })
}

/// After a failed signature batch: every bad signature, one by one.
fn signatures_one_by_one(
    blocks: &[BlockWork],
    receipts: &[[u8; 32]],
    node_key: &PublicKey,
) -> Vec<Failure> {
    let mut out = Vec::new();
    let mut receipts = receipts.iter();
    for b in blocks {
        if !node_key.verify(&b.hash.0, &b.signature) {
            out.push(Failure {
                place: (b.height, 0, Step::BlockSignature),
                reason: AuditError::BadBlockSignature { height: b.height }.to_string(),
            });
        }
        for (t, msg) in b.txs.iter().zip(receipts.by_ref()) {
            if !node_key.verify(msg, &t.receipt) {
                out.push(Failure {
                    place: (b.height, t.index + 1, Step::Receipt),
                    reason: format!("transaction {}: receipt signature does not verify", t.index),
                });
            }
        }
    }
    out
}

/// The checks of this module for the records of block `b` that come before `place` in the
/// replay's order, one by one (after the replay found a bad record at `place`, to report an
/// earlier one if there is one). Proofs are not checked here.
pub(super) fn check_before(b: &BlockWork, node_key: &PublicKey, place: Place) -> Option<Failure> {
    let ids: Vec<TxId> = b.txs.iter().map(|t| t.tx.id()).collect();
    let receipts: Vec<[u8; 32]> = ids
        .iter()
        .map(|id| Receipt::signing_hash(id, b.height, &b.hash).0)
        .collect();
    let mut found = signatures_one_by_one(std::slice::from_ref(b), &receipts, node_key);
    found.extend(ids_and_root(b, &ids));
    found
        .into_iter()
        .filter(|f| f.place < place)
        .min_by_key(|f| f.place)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::crypto::Pipeline;
    use crate::datadir::{init, InitOptions};
    use curve25519_dalek::scalar::Scalar;
    use dfc_core::note::pedersen_gens;
    use dfc_core::{Amount, BalanceProof, SigningKey, TxKind};

    /// Blocks of `per_block` transactions each, signed (blocks and receipts) by `node`. The
    /// transactions carry no valid proofs: these tests check what needs none.
    fn blocks(node: &SigningKey, count: u64, per_block: usize) -> Vec<BlockWork> {
        let x = Scalar::from(3u64);
        let excess = pedersen_gens().B_blinding * x;
        (0..count)
            .map(|height| {
                let txs: Vec<Transaction> = (0..per_block)
                    .map(|i| Transaction {
                        network: 1,
                        genesis: Hash32([0; 32]),
                        kind: TxKind::Transfer,
                        public_amount: Amount::ZERO,
                        inputs: vec![Hash32([u8::try_from(i % 200).expect("small"); 32])],
                        outputs: Vec::new(),
                        range_proof: height.to_le_bytes().to_vec().into(),
                        balance_proof: BalanceProof::prove(
                            &Hash32([1; 32]),
                            &excess,
                            &x,
                            &mut OsRng,
                        ),
                        owner_signatures: Vec::new(),
                        issuer_signatures: Vec::new(),
                        compliance: None,
                        claim: None,
                    })
                    .collect();
                let hash = Hash32(dfc_core::transcript::hash32(
                    b"test block",
                    &[(b"height", &height.to_le_bytes())],
                ));
                let tx_root = dfc_core::block::tx_root(&txs);
                BlockWork {
                    height,
                    hash,
                    tx_root,
                    signature: node.sign(&hash.0),
                    txs: txs
                        .into_iter()
                        .enumerate()
                        .map(|(index, tx)| {
                            let txid = tx.id();
                            let receipt = node.sign(&Receipt::signing_hash(&txid, height, &hash).0);
                            TxWork {
                                index,
                                txid,
                                tx,
                                inputs: Vec::new(),
                                receipt,
                            }
                        })
                        .collect(),
                }
            })
            .collect()
    }

    fn params() -> (tempfile::TempDir, NetworkParams) {
        let dir = tempfile::tempdir().expect("tempdir");
        let report = init(dir.path(), &InitOptions::default()).expect("init");
        (dir, report.params)
    }

    fn node() -> SigningKey {
        SigningKey::from_seed(&[9; 32])
    }

    fn failure(bs: &[BlockWork], key: &PublicKey, params: &NetworkParams) -> Option<Failure> {
        check(bs, key, params, false).failure
    }

    #[test]
    fn signed_blocks_and_receipts_pass_as_one_batch() {
        let (_d, params) = params();
        let node = node();
        let bs = blocks(&node, 20, 7);
        let out = check(&bs, &node.public(), &params, false);
        assert!(out.failure.is_none(), "{:?}", out.failure);
        assert_eq!(out.txs, 140);
    }

    /// One bad receipt signature among 240 (another transaction's receipt put in its place) fails
    /// the batch, and the one-by-one fallback names its block and transaction, wherever it is.
    #[test]
    fn one_bad_receipt_in_a_batch_is_named() {
        let (_d, params) = params();
        let node = node();
        for (height, index) in [(0usize, 0usize), (11, 5), (29, 7)] {
            let mut bs = blocks(&node, 30, 8);
            let other = bs[(height + 1) % 30].txs[index].receipt;
            bs[height].txs[index].receipt = other;
            let f = failure(&bs, &node.public(), &params).expect("the bad receipt is found");
            let h = u64::try_from(height).expect("small");
            assert_eq!(f.place, (h, index + 1, Step::Receipt));
            assert_eq!(
                f.reason,
                format!("transaction {index}: receipt signature does not verify")
            );
        }
    }

    #[test]
    fn one_bad_block_signature_in_a_batch_is_named() {
        let (_d, params) = params();
        let node = node();
        let mut bs = blocks(&node, 30, 4);
        bs[17].signature = bs[18].signature;
        let f = failure(&bs, &node.public(), &params).expect("found");
        assert_eq!(f.place, (17, 0, Step::BlockSignature));
        assert_eq!(f.reason, "block 17: node signature does not verify");
    }

    /// With several bad records the earliest in the replay's order is named: a block's own
    /// signature before its transactions, an earlier block before a later one.
    #[test]
    fn the_earliest_of_several_bad_records_is_named() {
        let (_d, params) = params();
        let node = node();
        let mut bs = blocks(&node, 30, 4);
        bs[20].txs[1].receipt = bs[20].txs[2].receipt;
        bs[9].txs[3].receipt = bs[9].txs[0].receipt;
        bs[9].signature = bs[8].signature;
        let f = failure(&bs, &node.public(), &params).expect("found");
        assert_eq!(f.place, (9, 0, Step::BlockSignature));
        bs[9].signature = node.sign(&bs[9].hash.0);
        let f = failure(&bs, &node.public(), &params).expect("found");
        assert_eq!(f.place, (9, 4, Step::Receipt));
    }

    /// Blocks and receipts are checked under the key given for the batch (the node key in force
    /// at their height): the same signatures fail under another key.
    #[test]
    fn signatures_are_checked_under_the_key_in_force() {
        let (_d, params) = params();
        let bs = blocks(&node(), 5, 3);
        let other = SigningKey::from_seed(&[10; 32]).public();
        let f = failure(&bs, &other, &params).expect("refused under another key");
        assert_eq!(f.place, (0, 0, Step::BlockSignature));
    }

    #[test]
    fn a_wrong_stored_id_or_root_is_named() {
        let (_d, params) = params();
        let node = node();
        let mut bs = blocks(&node, 6, 5);
        bs[4].txs[3].txid = bs[4].txs[2].txid;
        let f = failure(&bs, &node.public(), &params).expect("found");
        assert_eq!(f.place, (4, 4, Step::TxId));
        assert_eq!(f.reason, "transaction 3: stored txid is not its id");
        let mut bs = blocks(&node, 6, 5);
        bs[2].txs.swap(0, 1);
        for (i, t) in bs[2].txs.iter_mut().enumerate() {
            t.index = i;
        }
        let f = failure(&bs, &node.public(), &params).expect("found");
        assert_eq!(f.place, (2, 0, Step::TxRoot));
        assert_eq!(
            f.reason,
            "block 2: transaction root does not match its transactions"
        );
    }

    /// `check_before` reports only what comes before the replay's own finding.
    #[test]
    fn check_before_reports_only_earlier_records() {
        let node = node();
        let mut bs = blocks(&node, 1, 6);
        bs[0].txs[4].receipt = bs[0].txs[0].receipt;
        let key = node.public();
        assert!(check_before(&bs[0], &key, (0, 3, Step::Rules)).is_none());
        let f = check_before(&bs[0], &key, (0, 6, Step::Rules)).expect("earlier");
        assert_eq!(f.place, (0, 5, Step::Receipt));
    }

    /// Through the pipeline's threads: batches answer in any order, and the first bad record in
    /// block order is still the one named.
    #[test]
    fn the_pipeline_names_the_first_bad_record_across_batches() {
        let (_d, params) = params();
        let node = SigningKey::from_seed(&[9; 32]);
        let mut params = params;
        params.node_key = node.public();
        let mut bs = blocks(&node, 60, 10);
        bs[47].txs[9].receipt = bs[47].txs[8].receipt;
        bs[33].txs[2].receipt = bs[33].txs[1].receipt;
        let mut p = Pipeline::new(&params, 2, false, None).expect("pool");
        for b in bs {
            p.push(b);
        }
        let (first, _, _) = p.finish();
        let f = first.expect("found");
        assert_eq!(f.place, (33, 3, Step::Receipt));
    }
}
