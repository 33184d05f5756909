//! `dfc-bank audit --bank URL --key FILE`: the supply audit of a remote node by anyone holding an
//! operator or auditor key, over the API (full blocks and the audit log are served to them only).
//!
//! It replays every block from genesis: chain link, node signature, network and parameters,
//! transaction root; every transaction's structure, signatures and proofs (with the batch verifier
//! on every core, a page of blocks at a time), inputs that exist and
//! are unspent, fresh outputs, the supply each header records; then the supply invariant over the
//! unspent commitments, the audit log's hash chain and its anchor in the tip header. Each block is
//! judged under the parameters in force at its height (the node's parameter history, whose every
//! change carries k operator approvals, from the genesis parameters on), and the co-signed
//! checkpoints the node stores and those the auditor brings must name the blocks it served. The holding
//! and tier rules of claims are the node's (they need the registry's history); they move no
//! value, which the invariant checks.

use std::collections::{HashMap, HashSet};

use dfc_core::api::AuditEntry;
use dfc_core::cosign::CosignedCheckpoint;
use dfc_core::validate::{check_structure, next_supply, InputNote};
use dfc_core::{
    Amount, AuditError, BlockHeader, Commitment, Hash32, NetworkParams, NoteId, PublicKey,
    SupplyAudit, Transaction, TxError, TxKind,
};
use serde::Serialize;
use thiserror::Error;

use crate::client::{BankClient, ClientError};

/// Blocks per request.
const PAGE: u32 = 500;
/// Audit-log entries per request (the node's page size).
const LOG_PAGE: usize = 1000;

/// What a passing remote audit found.
#[derive(Clone, Debug, Serialize)]
pub struct RemoteAudit {
    /// Tip height.
    pub height: u64,
    /// Supply at the tip.
    pub supply: Amount,
    /// Unspent notes.
    pub notes_outstanding: u64,
    /// Transactions replayed.
    pub tx_count: u64,
    /// Audit-log entries checked.
    pub audit_entries: u64,
    /// The highest block co-signed by k operators (stored by the node or brought by the
    /// auditor), if any.
    pub anchored_height: Option<u64>,
}

/// Why a remote audit failed.
#[derive(Debug, Error)]
pub enum RemoteAuditError {
    /// The node could not be read (a 401/403 means the key may not read blocks).
    #[error(transparent)]
    Client(#[from] ClientError),
    /// A block does not chain, is not signed, or its root is wrong.
    #[error(transparent)]
    Chain(#[from] AuditError),
    /// A block of other parameters.
    #[error("block {height} is of other network parameters")]
    Params {
        /// Height.
        height: u64,
    },
    /// A transaction is invalid.
    #[error("block {height}: transaction {index} rejected: {source}")]
    Tx {
        /// Height.
        height: u64,
        /// Index.
        index: usize,
        /// Why.
        source: TxError,
    },
    /// A header's supply does not follow from its transactions.
    #[error("block {height}: recorded supply {recorded} but transactions give {computed}")]
    Supply {
        /// Height.
        height: u64,
        /// Recorded.
        recorded: u64,
        /// Computed.
        computed: u64,
    },
    /// The audit log is broken or does not match its anchor in the chain.
    #[error("audit log: {0}")]
    Log(String),
    /// The node's parameter history is of another network than its parameters.
    #[error("the node's parameter history is of another network than its parameters")]
    History,
    /// A co-signed checkpoint does not verify, or names another block than the node served.
    #[error("{0}")]
    Cosigned(String),
}

/// Runs the audit against the node behind `client` (which must sign reads with an operator or
/// auditor key of `params`, the genesis parameters); `brought` are co-signed checkpoints the
/// auditor kept outside the node.
pub async fn audit_remote(
    client: &BankClient,
    params: &NetworkParams,
    brought: &[CosignedCheckpoint],
) -> Result<RemoteAudit, RemoteAuditError> {
    // Parameter changes take effect at a height; each carries k approvals (checked when the
    // history decodes), and the history must be this network's (`params` are the node's current
    // parameters): the genesis block is checked against its genesis parameters below.
    let changes = client.params_history().await?;
    if changes.genesis().genesis_hash != params.genesis_hash
        || changes.genesis().network_id != params.network_id
    {
        return Err(RemoteAuditError::History);
    }
    let mut params = changes.at(0);
    let mut params_hash = params.hash();
    // Every block's hash, for the co-signed checkpoints (32 bytes a block).
    let mut hashes: Vec<Hash32> = Vec::new();
    let mut unspent: HashMap<NoteId, (Commitment, PublicKey)> = HashMap::new();
    let mut commitments: HashSet<[u8; 32]> = HashSet::new();
    let mut excess = SupplyAudit::new();
    let mut supply = Amount::ZERO;
    let mut tx_count = 0u64;
    let mut prev: Option<BlockHeader> = None;
    // Every header must carry the root of the history of block hashes before it.
    let mut history = dfc_core::history::HistoryPeaks::new();
    let mut from = 0u64;
    loop {
        let page = client.blocks(from, PAGE).await?;
        // The page's transactions, their proofs verified in batches at the end of the page.
        let mut pending: Vec<Pending<'_>> = Vec::new();
        let replayed: Result<(), RemoteAuditError> = (|| {
            for block in &page.blocks {
                let height = block.header.height;
                let in_force = changes.at(height);
                if !std::ptr::eq(in_force, params) {
                    params = in_force;
                    params_hash = params.hash();
                }
                block.check_link(prev.as_ref(), &params.node_key)?;
                if height == 0 && block.header.hash() != params.genesis_hash {
                    return Err(RemoteAuditError::Params { height });
                }
                hashes.push(block.header.hash());
                if block.header.history_root != history.root() {
                    return Err(AuditError::BadHistoryRoot { height }.into());
                }
                history.push(&block.header.hash());
                if block.header.network != params.network_id
                    || block.header.params_hash != params_hash
                {
                    return Err(RemoteAuditError::Params { height });
                }
                for (index, tx) in block.txs.iter().enumerate() {
                    let bad = |source| RemoteAuditError::Tx {
                        height,
                        index,
                        source,
                    };
                    check_structure(tx, params).map_err(bad)?;
                    // A claim's proof is over the notes it claims (which stay unspent).
                    let named: &[NoteId] = match (&tx.claim, tx.kind) {
                        (Some(c), TxKind::Claim) => &c.notes,
                        _ => &tx.inputs,
                    };
                    let mut inputs = Vec::with_capacity(named.len());
                    for (i, id) in named.iter().enumerate() {
                        let (commitment, owner) = unspent.get(id).copied().ok_or_else(|| {
                            bad(TxError::UnknownInput {
                                index: i,
                                note: id.to_hex(),
                            })
                        })?;
                        inputs.push(InputNote {
                            id: *id,
                            commitment,
                            owner,
                        });
                    }
                    for (i, o) in tx.outputs.iter().enumerate() {
                        if commitments.contains(&o.commitment.to_bytes()) {
                            return Err(bad(TxError::CommitmentExists { index: i }));
                        }
                    }
                    supply = next_supply(tx, supply).map_err(bad)?;
                    if tx.kind != TxKind::Claim {
                        let cs: Vec<Commitment> = inputs.iter().map(|n| n.commitment).collect();
                        excess.add_excess(&tx.excess(&cs));
                    }
                    for id in &tx.inputs {
                        unspent.remove(id);
                    }
                    for (o, id) in tx.outputs.iter().zip(tx.output_ids()) {
                        commitments.insert(o.commitment.to_bytes());
                        unspent.insert(id, (o.commitment, o.owner));
                    }
                    tx_count += 1;
                    pending.push(Pending {
                        height,
                        index,
                        tx,
                        inputs,
                        params,
                    });
                }
                if block.header.supply != supply {
                    return Err(RemoteAuditError::Supply {
                        height,
                        recorded: block.header.supply.units(),
                        computed: supply.units(),
                    });
                }
                from = height + 1;
                prev = Some(block.header.clone());
            }
            Ok(())
        })();
        // Every pending transaction comes before whatever stopped the replay: a bad proof among
        // them is the first failure.
        verify_pending(&pending)?;
        replayed?;
        if page.blocks.is_empty() || from > page.tip_height {
            break;
        }
    }
    for (c, _) in unspent.values() {
        excess.add_unspent(c);
    }
    excess.check(supply)?;
    let tip = prev.ok_or_else(|| RemoteAuditError::Log("the node served no genesis".into()))?;
    let audit_entries = check_log(client, &tip).await?;
    let mut checkpoints = stored_checkpoints(client).await?;
    checkpoints.extend(brought.iter().cloned());
    let anchored_height =
        crate::audit::cosigned::check_points(&checkpoints, &changes, tip.height, |h| {
            Ok(usize::try_from(h).ok().and_then(|i| hashes.get(i)).copied())
        })
        .map_err(|e| RemoteAuditError::Cosigned(e.to_string()))?;
    Ok(RemoteAudit {
        height: tip.height,
        supply,
        notes_outstanding: unspent.len() as u64,
        tx_count,
        audit_entries,
        anchored_height,
    })
}

/// A replayed transaction whose signatures and proofs are still to be verified.
struct Pending<'a> {
    height: u64,
    index: usize,
    tx: &'a Transaction,
    inputs: Vec<InputNote>,
    /// The parameters in force at its height.
    params: &'a NetworkParams,
}

/// Transactions per batch: past 64–128 a batch gets little cheaper per transaction, and smaller
/// batches keep every core busy on a page (`docs/benchmarks.md`, "Batch verification").
const VERIFY_BATCH: usize = 128;

/// Verifies the signatures and proofs of `pending` with the batch verifier on every core, in
/// batches of consecutive transactions under the same parameters; the first failure in replay
/// order is returned, with the error one-by-one verification gives.
fn verify_pending(pending: &[Pending<'_>]) -> Result<(), RemoteAuditError> {
    use rayon::prelude::*;
    let mut batches: Vec<&[Pending<'_>]> = Vec::new();
    let mut rest = pending;
    while let Some(first) = rest.first() {
        let same = rest
            .iter()
            .take(VERIFY_BATCH)
            .take_while(|p| std::ptr::eq(p.params, first.params))
            .count();
        let (batch, tail) = rest.split_at(same);
        batches.push(batch);
        rest = tail;
    }
    let failures: Vec<Option<RemoteAuditError>> = batches
        .par_iter()
        .map(|batch| {
            let first = batch.first()?;
            let items: Vec<dfc_core::batch::BatchItem<'_>> =
                batch.iter().map(|p| (p.tx, p.inputs.as_slice())).collect();
            let results = dfc_core::batch::verify_batch(&items, first.params);
            batch.iter().zip(results).find_map(|(p, r)| {
                r.err().map(|source| RemoteAuditError::Tx {
                    height: p.height,
                    index: p.index,
                    source,
                })
            })
        })
        .collect();
    match failures.into_iter().flatten().next() {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

/// Every co-signed checkpoint the node stores, all pages.
async fn stored_checkpoints(
    client: &BankClient,
) -> Result<Vec<CosignedCheckpoint>, RemoteAuditError> {
    let mut out: Vec<CosignedCheckpoint> = Vec::new();
    let mut from = 0u64;
    loop {
        let page = client.cosigned(from).await?.checkpoints;
        let Some(last) = page.last().map(|c| c.point.height) else {
            break;
        };
        out.extend(page);
        match last.checked_add(1) {
            // A node answering a page that does not move on would loop: stop there.
            Some(next) if next > from => from = next,
            _ => break,
        }
    }
    Ok(out)
}

/// Checks the audit log's hash chain and that the tip header's anchor is one of its entries.
async fn check_log(client: &BankClient, tip: &BlockHeader) -> Result<u64, RemoteAuditError> {
    let mut prev = Hash32([0; 32]);
    let mut next = 1u64;
    let mut anchored = tip.audit_seq == 0;
    loop {
        let page: Vec<AuditEntry> = client.audit_log(next).await?;
        for e in &page {
            let h =
                AuditEntry::compute_hash(e.seq, e.time_ms, e.operator, &e.action, &e.detail, &prev);
            if e.seq != next || e.prev_hash != prev || h != e.hash {
                return Err(RemoteAuditError::Log(format!(
                    "entry {} does not follow entry {} or does not match its hash",
                    e.seq,
                    next - 1
                )));
            }
            if e.seq == tip.audit_seq {
                anchored = e.hash == tip.audit_head;
            }
            prev = e.hash;
            next += 1;
        }
        if page.len() < LOG_PAGE {
            break;
        }
    }
    if !anchored {
        return Err(RemoteAuditError::Log(format!(
            "entry {} anchored in block {} is missing or differs",
            tip.audit_seq, tip.height
        )));
    }
    Ok(next - 1)
}
