//! The replay of the blocks against an in-memory ledger, on the calling thread: header hash,
//! chain link, parameters in force, the stateful rules (inputs exist and are unspent, outputs are
//! fresh, claims against the holdings), the supply in each header; at the end the table
//! comparisons of [`super::tables`]. Each block it accepts goes to the verifier threads
//! ([`super::crypto`], [`super::work`]): stored ids, transaction root, the node's signatures over
//! the block and its receipts, and at [`Depth::Full`] every transaction's signatures and proofs.
//!
//! The replay builds its state with the stored transaction ids (the verifier threads check them)
//! and reads each registry key once, so what stays on this thread is decoding and the rules.

use std::cell::RefCell;
use std::collections::{HashMap, HashSet};

use dfc_core::holdings::{effects, Holding};
use dfc_core::note::note_id;
use dfc_core::validate::{
    check_claim_holding, check_outputs_fresh, check_structure, next_supply, resolve, InputNote,
};
use dfc_core::{
    Account, Amount, AuditError, BlockHeader, Commitment, Hash32, LedgerNote, LedgerView,
    NetworkParams, NoteId, PublicKey, SupplyAudit, Transaction, TxId, TxKind,
};
use rusqlite::Connection;

use super::crypto::Pipeline;
use super::work::{self, BlockWork, Place, Step, TxWork};
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
    /// The registry's answer for each key already asked: the check reads one snapshot of the
    /// database, in which a key's account does not change, so each key is read (and its wallet
    /// row decoded) once.
    pub accounts: RefCell<HashMap<PublicKey, Option<Account>>>,
}

impl LedgerView for Replay<'_> {
    fn note(&self, id: &NoteId) -> Option<LedgerNote> {
        self.notes.get(id).map(|(n, _, _)| n.clone())
    }
    fn commitment_exists(&self, commitment: &Commitment) -> bool {
        self.commitments.contains(&commitment.to_bytes())
    }
    fn account(&self, key: &PublicKey) -> Option<Account> {
        if let Some(known) = self.accounts.borrow().get(key) {
            return known.clone();
        }
        // A read error is not remembered: the next lookup asks again, as before the cache.
        let found = crate::holdings::account(self.conn, key).ok()?;
        self.accounts.borrow_mut().insert(*key, found.clone());
        found
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
                accounts: RefCell::default(),
            },
            audit: SupplyAudit::new(),
            prev: None,
            supply: Amount::ZERO,
            tx_count: 0,
            holdings_known: true,
        },
        Some(s) => checkpoint::seed(conn, s)?,
    };
    let mut pipeline = Pipeline::new(params, opts.jobs, opts.depth == Depth::Full, opts.progress)?;
    let result = replay_blocks(conn, params, opts, start, &mut pipeline);
    let result = match result {
        // Cancelled: only the batches in flight are waited for.
        Err(e @ IntegrityError::Cancelled { .. }) => {
            return Err(match pipeline.abandon() {
                Some(f) => bad(f.place.0, f.reason),
                None => e,
            })
        }
        // The tables are compared while the verifier threads finish the last batches.
        Ok(replayed) => {
            pipeline.flush();
            final_checks(conn, params, opts, replayed)
        }
        Err(e) => Err(e),
    };
    let (failure, verify_wall, verify_cpu) = pipeline.finish();
    // The earliest problem wins: every block the pipeline checked comes before the block the
    // replay stopped at, and every block comes before the final table checks.
    match (result, failure) {
        (Err(e @ IntegrityError::Block { .. }), Some(f)) if block_height(&e) < Some(f.place.0) => {
            Err(e)
        }
        (_, Some(f)) => Err(bad(f.place.0, f.reason)),
        (Err(e), None) => Err(e),
        (Ok(summary), None) => Ok(LedgerSummary {
            verify_us: u64::try_from(verify_wall.as_micros()).unwrap_or(u64::MAX),
            verify_cpu_us: u64::try_from(verify_cpu.as_micros()).unwrap_or(u64::MAX),
            ..summary
        }),
    }
}

fn block_height(e: &IntegrityError) -> Option<u64> {
    match e {
        IntegrityError::Block { height, .. } => Some(*height),
        _ => None,
    }
}

/// The checks after the last block: tables against the replay, the supply invariant, the audit
/// log, co-signed checkpoints, the blocks' anchors into the log, the registry.
fn final_checks(
    conn: &Connection,
    params: &NetworkParams,
    opts: &AuditOptions<'_>,
    replayed: Replayed<'_>,
) -> Result<LedgerSummary, IntegrityError> {
    let (summary, replay, mut audit, holdings_known, anchors) = replayed;
    tables::compare_tables(conn, &replay, holdings_known)?;
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

/// `e`, unless the verifier threads' checks of `block` (done one by one here) find a bad record
/// before `place`, the place of `e` in the replay's order.
fn first_before(
    block: &BlockWork,
    node_key: &PublicKey,
    place: Place,
    e: IntegrityError,
) -> IntegrityError {
    match work::check_before(block, node_key, place) {
        Some(f) => bad(f.place.0, f.reason),
        None => e,
    }
}

/// The running totals the replay carries from block to block.
struct Totals {
    supply: Amount,
    audit: SupplyAudit,
    holdings_known: bool,
}

fn replay_blocks<'a>(
    conn: &'a Connection,
    params: &NetworkParams,
    opts: &AuditOptions<'_>,
    start: Start<'a>,
    pipeline: &mut Pipeline<'_>,
) -> Result<Replayed<'a>, IntegrityError> {
    // Every block is checked under the parameters in force at its height, from the history of
    // approved changes in the ledger (each change's approvals are verified when it is loaded).
    let history = crate::governance::store::load_history(conn, params)?;
    let mut params = history.at(0);
    let mut params_hash = params.hash();
    let Start {
        mut replay,
        audit,
        mut prev,
        supply,
        mut tx_count,
        holdings_known,
    } = start;
    let mut totals = Totals {
        supply,
        audit,
        holdings_known,
    };
    let full = opts.depth == Depth::Full;
    let mut next = prev.as_ref().map_or(0, |p| p.height + 1);
    let mut prev_hash = prev.as_ref().map(BlockHeader::hash);
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
            pipeline.poll();
            if pipeline.failed() {
                // A batch failed: no need to read further, the earliest failure is reported.
                return Err(bad(height, "stopped: an earlier transaction failed"));
            }
            let h = &stored.header;
            let in_force = history.at(height);
            if !std::ptr::eq(in_force, params) {
                params = in_force;
                params_hash = params.hash();
                pipeline.set_params(params);
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
            // The chain link here (what `Block::check_link` checks first); the node's signature
            // and the transaction root on the verifier threads.
            h.check_version().map_err(|e| bad(height, e.to_string()))?;
            let expected = prev.as_ref().map_or(0, |p| p.height + 1);
            if h.height != expected {
                let e = AuditError::BadHeight {
                    height: h.height,
                    expected,
                };
                return Err(bad(height, e.to_string()));
            }
            if h.prev_hash != prev_hash.unwrap_or(Hash32([0u8; 32])) {
                let e = AuditError::BrokenChain {
                    height: h.height,
                    prev: expected.saturating_sub(1),
                };
                return Err(bad(height, e.to_string()));
            }
            // The history root: the accumulator over every block before this one.
            if h.history_root != history_peaks.root() {
                return Err(bad(
                    height,
                    dfc_core::AuditError::BadHistoryRoot { height }.to_string(),
                ));
            }
            history_peaks.push(&stored.hash);
            let count_ok = usize::try_from(h.tx_count).ok() == Some(rows.len());
            let mut block = BlockWork {
                height,
                hash: stored.hash,
                tx_root: h.tx_root,
                signature: stored.signature,
                txs: rows
                    .into_iter()
                    .enumerate()
                    .map(|(index, (txid, tx, receipt))| TxWork {
                        index,
                        txid,
                        tx,
                        inputs: Vec::new(),
                        receipt,
                    })
                    .collect(),
            };
            if !count_ok {
                let e = bad(height, AuditError::BadTxRoot { height }.to_string());
                return Err(first_before(
                    &block,
                    pipeline.node_key(),
                    (height, 0, Step::TxRoot),
                    e,
                ));
            }
            let period = params.turnover_period(h.time_ms);
            for i in 0..block.txs.len() {
                let t = &block.txs[i];
                match apply(&mut replay, &mut totals, t, height, params, period) {
                    Ok(inputs) => {
                        if full {
                            block.txs[i].inputs = inputs;
                        }
                    }
                    Err(e) => {
                        let place = (height, i + 1, Step::Rules);
                        return Err(first_before(&block, pipeline.node_key(), place, e));
                    }
                }
            }
            if h.supply != totals.supply {
                let e = bad(
                    height,
                    format!(
                        "header records supply {} but its transactions give {}",
                        h.supply.units(),
                        totals.supply.units()
                    ),
                );
                let place = (height, block.txs.len() + 1, Step::Rules);
                return Err(first_before(&block, pipeline.node_key(), place, e));
            }
            tx_count += u64::try_from(block.txs.len()).unwrap_or(u64::MAX);
            prev = Some(stored.header);
            prev_hash = Some(stored.hash);
            next = height + 1;
            pipeline.push(block);
        }
    }
    let tip = prev.ok_or(IntegrityError::NoGenesis)?;
    Ok((
        LedgerSummary {
            height: tip.height,
            supply: totals.supply,
            notes_outstanding: 0,
            tx_count,
            audit_entries: 0,
            audit_head: dfc_core::Hash32([0u8; 32]),
            verify_us: 0,
            verify_cpu_us: 0,
            anchored_height: None,
            tip,
        },
        replay,
        totals.audit,
        totals.holdings_known,
        anchors,
    ))
}

/// Applies one transaction's rules and effects to the replay; returns its resolved inputs (for
/// the proofs). The state is built with the stored id (the verifier threads check it is the
/// transaction's id).
fn apply(
    replay: &mut Replay<'_>,
    totals: &mut Totals,
    t: &TxWork,
    height: u64,
    params: &NetworkParams,
    period: u64,
) -> Result<Vec<InputNote>, IntegrityError> {
    let (tx, id, index): (&Transaction, TxId, usize) = (&t.tx, t.txid, t.index);
    let reject =
        |e: dfc_core::TxError| bad(height, format!("transaction {index} ({id}) rejected: {e}"));
    check_structure(tx, params).map_err(reject)?;
    // Tiers are not re-checked: the registry keeps only the current tier and the node checked
    // them at commit. Claims are checked against the holdings rebuilt here.
    let res = resolve(tx, &*replay).map_err(reject)?;
    if totals.holdings_known {
        check_claim_holding(tx, &*replay, period).map_err(reject)?;
    }
    check_outputs_fresh(tx, &*replay).map_err(reject)?;
    totals.supply = next_supply(tx, totals.supply).map_err(reject)?;
    let fx = effects(tx, &res);
    if tx.kind != TxKind::Claim {
        let commitments: Vec<Commitment> = res.inputs.iter().map(|i| i.commitment).collect();
        totals.audit.add_excess(&tx.excess(&commitments));
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
    for ((i, o), pending) in tx.outputs.iter().enumerate().zip(fx.pending_outputs) {
        replay.commitments.insert(o.commitment.to_bytes());
        replay.notes.insert(
            note_id(&id, i),
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
    Ok(res.inputs)
}
