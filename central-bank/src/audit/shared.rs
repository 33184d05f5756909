//! The audit of a ledger behind the store trait ([`LedgerRead`]): what `dfc-bank audit --store
//! postgres://…` runs on the shared PostgreSQL ledger.
//!
//! It replays every block from genesis as the SQLite audit does (header hash as stored, chain
//! link and node signature, transaction root, each receipt's signature, the stateful rules
//! against the ledger rebuilt so far, every proof and signature of every transaction, the supply
//! in each header) and then compares the store's notes, spent set and holdings with the replay
//! and checks the supply invariant over the unspent commitments.
//!
//! Every block is judged under the parameters in force at its height: the genesis parameters and
//! the approved changes the shared ledger holds (`param_changes`, copied there by the sealer with
//! the command that scheduled them), each change's k-of-n approvals verified again when the
//! history is built ([`ParamsHistory::from_parts`]).
//!
//! Narrower than the SQLite audit, for now: proofs are verified one transaction at a time (not
//! on the batch pipeline), and the operator audit log is checked only as far as the block
//! headers anchor it (its head is at or after the tip's anchor), not entry by entry.

use std::collections::{HashMap, HashSet};

use dfc_core::governance::ParamsHistory;
use dfc_core::holdings::{effects, Holding};
use dfc_core::validate::{
    check_claim_holding, check_outputs_fresh, check_structure, next_supply, resolve, verify_crypto,
};
use dfc_core::{
    Account, Amount, BlockHeader, Commitment, LedgerNote, LedgerView, NoteId, PublicKey,
    SupplyAudit, TxId, TxKind,
};

use super::{IntegrityError, LedgerSummary};
use crate::error::StoreError;
use crate::store::LedgerRead;

/// Blocks read per query.
const CHUNK: usize = 256;

fn bad(height: u64, reason: impl Into<String>) -> IntegrityError {
    IntegrityError::Block {
        height,
        reason: reason.into(),
    }
}

fn table(table: &'static str, reason: impl Into<String>) -> IntegrityError {
    IntegrityError::Table {
        table,
        reason: reason.into(),
    }
}

/// The ledger rebuilt from the blocks, with the registry read from the store.
struct Rebuilt<'a> {
    store: &'a dyn LedgerRead,
    notes: HashMap<NoteId, LedgerNote>,
    commitments: HashSet<[u8; 32]>,
    spent: HashMap<NoteId, (TxId, u64)>,
    holdings: HashMap<PublicKey, Holding>,
    registry_error: std::cell::RefCell<Option<StoreError>>,
}

impl LedgerView for Rebuilt<'_> {
    fn note(&self, id: &NoteId) -> Option<LedgerNote> {
        self.notes.get(id).cloned()
    }
    fn commitment_exists(&self, commitment: &Commitment) -> bool {
        self.commitments.contains(&commitment.to_bytes())
    }
    fn account(&self, key: &PublicKey) -> Option<Account> {
        match self.store.owner_wallet(key) {
            Ok(w) => w.map(|w| Account {
                key: w.address.spend,
                tier: w.tier,
            }),
            Err(e) => {
                self.registry_error.borrow_mut().get_or_insert(e);
                None
            }
        }
    }
    fn holding(&self, account: &PublicKey) -> Holding {
        self.holdings.get(account).cloned().unwrap_or_default()
    }
}

/// Verifies the ledger behind `store` from genesis to its tip, each block under the parameters
/// `history` holds in force at its height.
pub fn verify_store(
    store: &dyn LedgerRead,
    history: &ParamsHistory,
) -> Result<LedgerSummary, IntegrityError> {
    let mut r = Rebuilt {
        store,
        notes: HashMap::new(),
        commitments: HashSet::new(),
        spent: HashMap::new(),
        holdings: HashMap::new(),
        registry_error: std::cell::RefCell::new(None),
    };
    let mut audit = SupplyAudit::new();
    let mut prev: Option<BlockHeader> = None;
    let mut supply = Amount::ZERO;
    let mut tx_count = 0u64;
    loop {
        let next = prev.as_ref().map_or(0, |p| p.height + 1);
        let blocks = store.blocks_from(next, CHUNK)?;
        if blocks.is_empty() {
            break;
        }
        for block in blocks {
            let h = &block.header;
            let height = h.height;
            let params = history.at(height);
            let stored = store
                .header_at(height)?
                .ok_or_else(|| bad(height, "header vanished while read"))?;
            if stored.hash != h.hash() {
                return Err(bad(
                    height,
                    "stored hash is not the hash of the stored header",
                ));
            }
            if h.network != params.network_id || h.params_hash != params.hash() {
                return Err(bad(height, "header is for other network parameters"));
            }
            if height == 0 && stored.hash != history.genesis().genesis_hash {
                return Err(bad(0, "the genesis block is not the parameters' genesis"));
            }
            if prev.as_ref().is_some_and(|p| h.audit_seq < p.audit_seq) {
                return Err(bad(height, "audit-log anchor goes backwards"));
            }
            block
                .check_link(prev.as_ref(), &params.node_key)
                .map_err(|e| bad(height, e.to_string()))?;
            let period = params.turnover_period(h.time_ms);
            for (index, tx) in block.txs.iter().enumerate() {
                let id = tx.id();
                let receipt = store
                    .receipt_of(&id)?
                    .ok_or_else(|| bad(height, format!("transaction {index}: no receipt")))?;
                if receipt.height != height
                    || receipt.block_hash != stored.hash
                    || !receipt.verify(&params.node_key)
                {
                    return Err(bad(
                        height,
                        format!("transaction {index}: receipt signature does not verify"),
                    ));
                }
                let reject = |e: dfc_core::TxError| {
                    bad(height, format!("transaction {index} ({id}) rejected: {e}"))
                };
                check_structure(tx, params).map_err(reject)?;
                let res = resolve(tx, &r).map_err(reject)?;
                if let Some(e) = r.registry_error.borrow_mut().take() {
                    return Err(e.into());
                }
                check_claim_holding(tx, &r, period).map_err(reject)?;
                check_outputs_fresh(tx, &r).map_err(reject)?;
                verify_crypto(tx, params, &res.inputs).map_err(reject)?;
                supply = next_supply(tx, supply).map_err(reject)?;
                let fx = effects(tx, &res);
                if tx.kind != TxKind::Claim {
                    let commitments: Vec<Commitment> =
                        res.inputs.iter().map(|i| i.commitment).collect();
                    audit.add_excess(&tx.excess(&commitments));
                }
                for d in &fx.deltas {
                    r.holdings.entry(d.account).or_default().apply(d, period);
                }
                for claimed in &fx.claimed {
                    if let Some(note) = r.notes.get_mut(claimed) {
                        note.pending = false;
                    }
                }
                for input in &tx.inputs {
                    if let Some(note) = r.notes.get_mut(input) {
                        note.spent = true;
                    }
                    r.spent.insert(*input, (id, height));
                }
                for ((o, nid), pending) in tx
                    .outputs
                    .iter()
                    .zip(tx.output_ids())
                    .zip(fx.pending_outputs)
                {
                    r.commitments.insert(o.commitment.to_bytes());
                    r.notes.insert(
                        nid,
                        LedgerNote {
                            commitment: o.commitment,
                            owner: o.owner,
                            spent: false,
                            pending,
                        },
                    );
                }
                tx_count += 1;
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
            prev = Some(block.header);
        }
    }
    let tip = prev.ok_or(IntegrityError::NoGenesis)?;
    compare(store, &r)?;
    for note in r.notes.values().filter(|n| !n.spent) {
        audit.add_unspent(&note.commitment);
    }
    audit
        .check(supply)
        .map_err(|e| IntegrityError::Supply(e.to_string()))?;
    let (audit_entries, audit_head) = store.audit_log_head()?;
    if audit_entries < tip.audit_seq {
        return Err(table(
            "audit_log",
            format!(
                "the log ends at entry {audit_entries} but block {} anchors entry {}",
                tip.height, tip.audit_seq
            ),
        ));
    }
    Ok(LedgerSummary {
        height: tip.height,
        supply,
        notes_outstanding: audit.unspent_count(),
        tx_count,
        audit_entries,
        audit_head,
        verify_us: 0,
        verify_cpu_us: 0,
        anchored_height: None,
        tip,
    })
}

/// The store's notes, spent set and holdings against the replay.
fn compare(store: &dyn LedgerRead, r: &Rebuilt<'_>) -> Result<(), IntegrityError> {
    let mut unspent: Vec<(NoteId, [u8; 32])> = r
        .notes
        .iter()
        .filter(|(_, n)| !n.spent)
        .map(|(id, n)| (*id, n.commitment.to_bytes()))
        .collect();
    unspent.sort();
    let stored: Vec<(NoteId, [u8; 32])> = store
        .unspent_notes()?
        .into_iter()
        .map(|(id, c)| (id, c.to_bytes()))
        .collect();
    if let Some(i) = (0..unspent.len().max(stored.len())).find(|&i| unspent.get(i) != stored.get(i))
    {
        let id = unspent.get(i).or(stored.get(i)).map(|(id, _)| *id);
        return Err(table(
            "notes",
            format!(
                "unspent notes differ from the blocks' at note {} ({} stored, {} from the blocks)",
                id.map(|i| i.to_string()).unwrap_or_default(),
                stored.len(),
                unspent.len()
            ),
        ));
    }
    let mut spent: Vec<(NoteId, TxId, u64)> =
        r.spent.iter().map(|(n, (t, h))| (*n, *t, *h)).collect();
    spent.sort();
    let stored = store.spent_records()?;
    if let Some(i) = (0..spent.len().max(stored.len())).find(|&i| spent.get(i) != stored.get(i)) {
        let id = spent.get(i).or(stored.get(i)).map(|(id, _, _)| *id);
        return Err(table(
            "spent",
            format!(
                "the spent set differs from the blocks' at note {} ({} stored, {} from the blocks)",
                id.map(|i| i.to_string()).unwrap_or_default(),
                stored.len(),
                spent.len()
            ),
        ));
    }
    for (account, h) in &r.holdings {
        if &store.holding_of(account)? != h {
            return Err(table(
                "holdings",
                format!(
                    "the holding of account {} differs from the blocks'",
                    hex::encode(account.to_bytes())
                ),
            ));
        }
    }
    for (id, n) in &r.notes {
        let stored = store.ledger_note(id)?;
        if stored.as_ref() != Some(n) {
            return Err(table(
                "notes",
                format!("note {id} differs from the blocks' (owner, commitment or pending flag)"),
            ));
        }
    }
    Ok(())
}
