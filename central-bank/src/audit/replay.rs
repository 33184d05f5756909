//! The replay of the blocks against an in-memory ledger: header hash, chain link, node signature,
//! transaction root, the stateful rules, the supply in each header, the receipts' signatures; at
//! the end the table comparisons of [`super::tables`]. At [`Depth::Full`] every transaction also
//! goes to the batch-verification pipeline of [`super::crypto`].

use std::collections::{HashMap, HashSet};

use dfc_core::api::Receipt;
use dfc_core::holdings::{effects, Holding};
use dfc_core::validate::{
    check_claim_holding, check_outputs_fresh, check_structure, next_supply, resolve,
};
use dfc_core::{
    Account, Amount, BlockHeader, Commitment, LedgerNote, LedgerView, NetworkParams, NoteId,
    PublicKey, SupplyAudit, TxId, TxKind,
};
use rusqlite::Connection;

use super::crypto::{Item, Pipeline};
use super::{checkpoint, tables, AuditOptions, Depth, IntegrityError, LedgerSummary};
use crate::error::StoreError;
use crate::store;

/// The ledger rebuilt from the blocks alone, with the registry's key-to-account mapping (which
/// never changes once a key is registered) read from the database.
pub(super) struct Replay<'a> {
    pub conn: &'a Connection,
    pub notes: HashMap<NoteId, (LedgerNote, u64, TxId)>,
    pub commitments: HashSet<[u8; 32]>,
    pub spent: HashMap<NoteId, (TxId, u64)>,
    pub holdings: HashMap<PublicKey, Holding>,
}

impl LedgerView for Replay<'_> {
    fn note(&self, id: &NoteId) -> Option<LedgerNote> {
        self.notes.get(id).map(|(n, _, _)| n.clone())
    }
    fn commitment_exists(&self, commitment: &Commitment) -> bool {
        self.commitments.contains(&commitment.to_bytes())
    }
    fn account(&self, key: &PublicKey) -> Option<Account> {
        crate::holdings::account(self.conn, key).ok().flatten()
    }
    fn holding(&self, account: &PublicKey) -> Holding {
        self.holdings.get(account).cloned().unwrap_or_default()
    }
}

/// Blocks read per query.
const CHUNK: usize = 256;

pub(super) fn bad(height: u64, reason: impl Into<String>) -> IntegrityError {
    IntegrityError::Block {
        height,
        reason: reason.into(),
    }
}

/// Where the replay starts: genesis, or a checkpoint's state.
pub(super) struct Start<'a> {
    pub replay: Replay<'a>,
    pub audit: SupplyAudit,
    pub prev: Option<BlockHeader>,
    pub supply: Amount,
    pub tx_count: u64,
    /// False from a checkpoint: the holdings at the checkpoint are not known, so claims' limits
    /// and the holdings table are not re-checked.
    pub holdings_known: bool,
}

/// Replays and checks the ledger as `opts` asks.
pub(super) fn run(
    conn: &Connection,
    params: &NetworkParams,
    opts: &AuditOptions<'_>,
) -> Result<LedgerSummary, IntegrityError> {
    let start = match opts.from {
        None => Start {
            replay: Replay {
                conn,
                notes: HashMap::new(),
                commitments: HashSet::new(),
                spent: HashMap::new(),
                holdings: HashMap::new(),
            },
            audit: SupplyAudit::new(),
            prev: None,
            supply: Amount::ZERO,
            tx_count: 0,
            holdings_known: true,
        },
        Some(s) => checkpoint::seed(conn, s)?,
    };
    let mut pipeline = match opts.depth {
        Depth::Full => Some(Pipeline::new(params, opts.jobs, opts.progress)?),
        Depth::Structure => None,
    };
    let result = replay_blocks(conn, params, opts, start, pipeline.as_mut());
    // The earliest problem wins: a bad proof in a batch still in flight may come before the
    // structural failure just found.
    let mut verify_us = 0;
    let crypto = match (pipeline, &result) {
        (Some(p), Ok(_)) => {
            let (failure, us) = p.finish();
            verify_us = us;
            failure
        }
        (Some(p), Err(_)) => p.abandon(),
        (None, _) => None,
    };
    let (summary, replay, audit, holdings_known, anchors) = match (result, crypto) {
        (Err(e), Some((h, _, reason))) => {
            return Err(match e {
                IntegrityError::Block { height, .. } if height < h => e,
                _ => bad(h, reason),
            })
        }
        (Err(e), None) => return Err(e),
        (Ok(_), Some((h, _, reason))) => return Err(bad(h, reason)),
        (Ok(done), None) => done,
    };
    tables::compare_tables(conn, &replay, holdings_known)?;
    let mut audit = audit;
    for (note, _, _) in replay.notes.values().filter(|(n, _, _)| !n.spent) {
        audit.add_unspent(&note.commitment);
    }
    audit
        .check(summary.supply)
        .map_err(|e| IntegrityError::Supply(e.to_string()))?;
    let (audit_entries, audit_head) = tables::verify_audit_log(conn)?;
    let history = crate::governance::store::load_history(conn, params)?;
    let anchored_height = super::cosigned::check(conn, &history, opts.cosigned)?;
    tables::check_anchors(conn, &anchors)?;
    tables::check_registry(conn)?;
    Ok(LedgerSummary {
        notes_outstanding: audit.unspent_count(),
        audit_entries,
        audit_head,
        verify_us,
        anchored_height,
        ..summary
    })
}

type Replayed<'a> = (
    LedgerSummary,
    Replay<'a>,
    SupplyAudit,
    bool,
    Vec<(u64, u64, dfc_core::Hash32)>,
);

fn replay_blocks<'a>(
    conn: &'a Connection,
    params: &NetworkParams,
    opts: &AuditOptions<'_>,
    start: Start<'a>,
    mut pipeline: Option<&mut Pipeline<'_>>,
) -> Result<Replayed<'a>, IntegrityError> {
    // Every block is checked under the parameters in force at its height, from the history of
    // approved changes in the ledger (each change's approvals are verified when it is loaded).
    let history = crate::governance::store::load_history(conn, params)?;
    let mut params = history.at(0);
    let mut params_hash = params.hash();
    let Start {
        mut replay,
        mut audit,
        mut prev,
        mut supply,
        mut tx_count,
        holdings_known,
    } = start;
    let mut next = prev.as_ref().map_or(0, |p| p.height + 1);
    // The history MMR's peaks: every header must carry the root over the blocks before it. From a
    // checkpoint, the stored peaks are checked against the (trusted) checkpoint header's root.
    let mut history_peaks = match &prev {
        None => dfc_core::history::HistoryPeaks::new(),
        Some(p) => {
            let mut peaks = crate::history::peaks_at(conn, p.height, &p.history_root)
                .map_err(|e| bad(p.height, e.to_string()))?;
            peaks.push(&p.hash());
            peaks
        }
    };
    let mut anchors: Vec<(u64, u64, dfc_core::Hash32)> = Vec::new();
    loop {
        let headers = store::headers_from(conn, next, CHUNK)?;
        if headers.is_empty() {
            break;
        }
        for (height, stored) in headers {
            if opts.progress.is_some_and(|p| p.cancelled()) {
                return Err(IntegrityError::Cancelled { height });
            }
            if let Some(p) = pipeline.as_deref_mut() {
                p.poll();
                if p.failed() {
                    // A batch failed: no need to read further, the earliest failure is reported.
                    return Err(bad(height, "stopped: an earlier transaction failed"));
                }
            }
            let h = &stored.header;
            let in_force = history.at(height);
            if !std::ptr::eq(in_force, params) {
                params = in_force;
                params_hash = params.hash();
                if let Some(p) = pipeline.as_deref_mut() {
                    p.set_params(params);
                }
            }
            if height != h.height {
                return Err(bad(
                    height,
                    format!("row holds a header of height {}", h.height),
                ));
            }
            if stored.hash != h.hash() {
                return Err(bad(
                    height,
                    "stored hash is not the hash of the stored header",
                ));
            }
            if h.network != params.network_id || h.params_hash != params_hash {
                return Err(bad(height, "header is for other network parameters"));
            }
            if height == 0 && stored.hash != params.genesis_hash {
                return Err(bad(
                    0,
                    format!(
                        "the genesis block is {} but the parameters name genesis {}",
                        stored.hash, params.genesis_hash
                    ),
                ));
            }
            if let Some(p) = &prev {
                if h.audit_seq < p.audit_seq {
                    return Err(bad(height, "audit-log anchor goes backwards"));
                }
            }
            anchors.push((height, h.audit_seq, h.audit_head));
            // A record that no longer decodes is named by its block, like any other bad record.
            let rows = store::block_tx_rows(conn, height).map_err(|e| match e {
                StoreError::Corrupt { table, reason } => bad(height, format!("{table}: {reason}")),
                other => IntegrityError::from(other),
            })?;
            let block = dfc_core::Block {
                header: h.clone(),
                signature: stored.signature,
                txs: rows.iter().map(|(_, tx, _)| tx.clone()).collect(),
            };
            block
                .check_link(prev.as_ref(), &params.node_key)
                .map_err(|e| bad(height, e.to_string()))?;
            if h.history_root != history_peaks.root() {
                return Err(bad(
                    height,
                    dfc_core::AuditError::BadHistoryRoot { height }.to_string(),
                ));
            }
            history_peaks.push(&stored.hash);
            for (index, (txid, tx, receipt_sig)) in rows.into_iter().enumerate() {
                let id = tx.id();
                if txid != id {
                    return Err(bad(
                        height,
                        format!("transaction {index}: stored txid is not its id"),
                    ));
                }
                let receipt = Receipt {
                    txid: id,
                    height,
                    block_hash: stored.hash,
                    signature: receipt_sig,
                };
                if !receipt.verify(&params.node_key) {
                    return Err(bad(
                        height,
                        format!("transaction {index}: receipt signature does not verify"),
                    ));
                }
                let reject = |e: dfc_core::TxError| {
                    bad(height, format!("transaction {index} ({id}) rejected: {e}"))
                };
                check_structure(&tx, params).map_err(reject)?;
                let period = params.turnover_period(h.time_ms);
                // Tiers are not re-checked: the registry keeps only the current tier and the node
                // checked them at commit. Claims are checked against the holdings rebuilt here.
                let res = resolve(&tx, &replay).map_err(reject)?;
                if holdings_known {
                    check_claim_holding(&tx, &replay, period).map_err(reject)?;
                }
                check_outputs_fresh(&tx, &replay).map_err(reject)?;
                supply = next_supply(&tx, supply).map_err(reject)?;
                let fx = effects(&tx, &res);
                if tx.kind != TxKind::Claim {
                    let commitments: Vec<Commitment> =
                        res.inputs.iter().map(|i| i.commitment).collect();
                    audit.add_excess(&tx.excess(&commitments));
                }
                for d in &fx.deltas {
                    replay
                        .holdings
                        .entry(d.account)
                        .or_default()
                        .apply(d, period);
                }
                for claimed in &fx.claimed {
                    if let Some((note, _, _)) = replay.notes.get_mut(claimed) {
                        note.pending = false;
                    }
                }
                for input in &tx.inputs {
                    if let Some((note, _, _)) = replay.notes.get_mut(input) {
                        note.spent = true;
                    }
                    replay.spent.insert(*input, (id, height));
                }
                for ((o, nid), pending) in tx
                    .outputs
                    .iter()
                    .zip(tx.output_ids())
                    .zip(fx.pending_outputs)
                {
                    replay.commitments.insert(o.commitment.to_bytes());
                    replay.notes.insert(
                        nid,
                        (
                            LedgerNote {
                                commitment: o.commitment,
                                owner: o.owner,
                                spent: false,
                                pending,
                            },
                            height,
                            id,
                        ),
                    );
                }
                tx_count += 1;
                match pipeline.as_deref_mut() {
                    Some(p) => p.push(Item {
                        height,
                        index,
                        tx,
                        inputs: res.inputs,
                    }),
                    None => {
                        if let Some(p) = opts.progress {
                            p.advance(1);
                        }
                    }
                }
            }
            if h.supply != supply {
                return Err(bad(
                    height,
                    format!(
                        "header records supply {} but its transactions give {}",
                        h.supply.units(),
                        supply.units()
                    ),
                ));
            }
            prev = Some(h.clone());
            next = height + 1;
        }
    }
    let tip = prev.ok_or(IntegrityError::NoGenesis)?;
    Ok((
        LedgerSummary {
            height: tip.height,
            supply,
            notes_outstanding: 0,
            tx_count,
            audit_entries: 0,
            audit_head: dfc_core::Hash32([0u8; 32]),
            verify_us: 0,
            anchored_height: None,
            tip,
        },
        replay,
        audit,
        holdings_known,
        anchors,
    ))
}
