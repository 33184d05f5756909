//! An in-memory ledger that applies the protocol rules: the reference state machine used by tests,
//! the simulator and audits that replay a chain. The node keeps the same state in SQLite and applies
//! the same checks from [`crate::validate`].

use std::collections::{HashMap, HashSet};

use crate::amount::Amount;
use crate::error::{AuditError, TxError};
use crate::governance::{ApprovedChange, GovernanceError, ParamsHistory};
use crate::holdings::{effects, Effects, Holding};
use crate::keys::PublicKey;
use crate::note::{Commitment, NoteId, Output};
use crate::params::NetworkParams;
use crate::supply::SupplyAudit;
use crate::tx::Transaction;
use crate::validate::{self, Account, LedgerNote, LedgerView};

/// A note held by the in-memory ledger.
#[derive(Clone, Debug)]
pub struct StoredNote {
    /// The output that created it.
    pub output: Output,
    /// Whether it has been spent: always false in [`MemoryLedger::unspent`], since a spent note
    /// leaves the map and only its id is kept.
    pub spent: bool,
    /// Whether it is pending (received, not yet claimed).
    pub pending: bool,
}

/// The ledger state: notes, the spent set, the supply and the running excess sum.
///
/// The ledger validates under the parameters in force at its current height
/// ([`MemoryLedger::set_height`]): the genesis parameters and every approved change, each
/// verified against the k-of-n operator approvals of the parameters it replaces, exactly as the
/// node, the wallet and the audit apply them ([`ParamsHistory`]).
///
/// Unspent notes are kept whole; a spent note is kept as its id only, because nothing reads a
/// spent note's output again (every rule refuses a spent input before looking at its commitment
/// or owner) and a long simulation creates tens of millions of notes. [`LedgerView::note`]
/// reports a spent note as `spent` with a placeholder commitment and owner (the base point).
#[derive(Clone, Debug)]
pub struct MemoryLedger {
    history: ParamsHistory,
    /// The height of the block being built: it picks the parameters in force.
    height: u64,
    /// Unspent notes (pending or not).
    notes: HashMap<NoteId, StoredNote>,
    /// Spent notes, by id only.
    spent: HashSet<NoteId>,
    /// What [`LedgerView::note`] gives as the commitment and owner of a spent note.
    spent_placeholder: (Commitment, PublicKey),
    commitments: HashSet<[u8; 32]>,
    supply: Amount,
    audit: SupplyAudit,
    tx_count: u64,
    /// Registered keys: a purse key maps to its wallet's account.
    registry: HashMap<PublicKey, Account>,
    /// The tier of a key not in the registry, or `None` to refuse unregistered keys.
    open_tier: Option<u8>,
    holdings: HashMap<PublicKey, Holding>,
    time_ms: u64,
}

impl LedgerView for MemoryLedger {
    fn note(&self, id: &NoteId) -> Option<LedgerNote> {
        if self.spent.contains(id) {
            let (commitment, owner) = self.spent_placeholder;
            return Some(LedgerNote {
                commitment,
                owner,
                spent: true,
                pending: false,
            });
        }
        self.notes.get(id).map(|n| LedgerNote {
            commitment: n.output.commitment,
            owner: n.output.owner,
            spent: n.spent,
            pending: n.pending,
        })
    }
    fn commitment_exists(&self, commitment: &Commitment) -> bool {
        self.commitments.contains(&commitment.to_bytes())
    }
    fn account(&self, key: &PublicKey) -> Option<Account> {
        self.registry
            .get(key)
            .cloned()
            .or_else(|| self.open_tier.map(|tier| Account { key: *key, tier }))
    }
    fn holding(&self, account: &PublicKey) -> Holding {
        self.holdings.get(account).cloned().unwrap_or_default()
    }
}

impl MemoryLedger {
    /// An empty ledger (genesis) for `params` with an open registry: every key not registered is
    /// its own account at the top tier.
    pub fn new(params: NetworkParams) -> Self {
        let top = u8::try_from(params.tiers.len().saturating_sub(1)).unwrap_or(u8::MAX);
        MemoryLedger {
            history: ParamsHistory::new(params),
            height: 0,
            notes: HashMap::new(),
            spent: HashSet::new(),
            spent_placeholder: spent_placeholder(),
            commitments: HashSet::new(),
            supply: Amount::ZERO,
            audit: SupplyAudit::new(),
            tx_count: 0,
            registry: HashMap::new(),
            open_tier: Some(top),
            holdings: HashMap::new(),
            time_ms: 0,
        }
    }

    /// Registers `key` as its own account at `tier`.
    pub fn register(&mut self, key: PublicKey, tier: u8) {
        self.registry.insert(key, Account { key, tier });
    }

    /// Registers `purse` as a key of `wallet`'s account (with its tier).
    pub fn register_purse(&mut self, purse: PublicKey, wallet: &PublicKey) {
        if let Some(a) = self.account(wallet) {
            self.registry.insert(purse, a);
        }
    }

    /// Refuses keys that are not registered from now on ([`TxError::UnregisteredParty`]).
    pub fn close_registry(&mut self) {
        self.open_tier = None;
    }

    /// Sets the ledger's clock, which decides the turnover period.
    pub fn set_time(&mut self, time_ms: u64) {
        self.time_ms = time_ms;
    }

    /// Sets the height of the block being built, which decides the parameters in force.
    pub fn set_height(&mut self, height: u64) {
        self.height = height;
    }

    /// The height of the block being built.
    pub fn height(&self) -> u64 {
        self.height
    }

    /// Adopts an approved parameter change: it is verified against the newest parameters (base
    /// hash, fixed fields, a height after the previous change's) and their k-of-n operator
    /// approvals, and applies from its effective height. On error nothing changes.
    pub fn adopt(&mut self, change: ApprovedChange) -> Result<(), GovernanceError> {
        self.history.push(change)
    }

    /// The genesis parameters and every adopted change.
    pub fn history(&self) -> &ParamsHistory {
        &self.history
    }

    /// The current turnover period.
    pub fn period(&self) -> u64 {
        self.params().turnover_period(self.time_ms)
    }

    /// Settles pending notes without a claim proof, updating holdings as a claim would. Only for
    /// the simulator's fast path, whose engine enforces the holding limit in the clear before it
    /// makes a payment; anything that verifies uses claim transactions.
    pub fn settle_unproven(&mut self, ids: &[NoteId]) {
        let period = self.period();
        for id in ids {
            let Some(n) = self.notes.get_mut(id).filter(|n| n.pending && !n.spent) else {
                continue;
            };
            n.pending = false;
            let owner = n.output.owner;
            let c = *n.output.commitment.point();
            let account = self.account(&owner).map_or(owner, |a| a.key);
            self.holdings.entry(account).or_default().apply(
                &crate::holdings::Delta {
                    account,
                    balance: c,
                    inflow: c,
                },
                period,
            );
        }
    }

    /// Whether note `id` is pending.
    pub fn is_pending(&self, id: &NoteId) -> bool {
        self.notes.get(id).is_some_and(|n| n.pending)
    }

    /// The parameters in force at the current height.
    pub fn params(&self) -> &NetworkParams {
        self.history.at(self.height)
    }

    /// The public supply.
    pub fn supply(&self) -> Amount {
        self.supply
    }

    /// Transactions applied.
    pub fn tx_count(&self) -> u64 {
        self.tx_count
    }

    /// Unspent notes.
    pub fn unspent(&self) -> impl Iterator<Item = (&NoteId, &StoredNote)> {
        self.notes.iter()
    }

    /// Number of unspent notes.
    pub fn unspent_count(&self) -> usize {
        self.notes.len()
    }

    /// Number of spent notes (kept as ids).
    pub fn spent_count(&self) -> usize {
        self.spent.len()
    }

    /// Validates `tx` fully and applies it. On error the ledger is unchanged.
    pub fn apply(&mut self, tx: &Transaction) -> Result<Vec<NoteId>, TxError> {
        let resolved = validate::validate(tx, self.params(), self, self.period())?;
        let supply = validate::next_supply(tx, self.supply)?;
        Ok(self.commit(tx, &resolved, supply))
    }

    /// Applies a transaction already validated elsewhere (e.g. in a batch). Only the state checks
    /// are repeated.
    pub fn apply_prevalidated(&mut self, tx: &Transaction) -> Result<Vec<NoteId>, TxError> {
        validate::check_structure(tx, self.params())?;
        let resolved = validate::check_state(tx, self.params(), self, self.period())?;
        let supply = validate::next_supply(tx, self.supply)?;
        Ok(self.commit(tx, &resolved, supply))
    }

    fn commit(
        &mut self,
        tx: &Transaction,
        resolved: &validate::Resolved,
        supply: Amount,
    ) -> Vec<NoteId> {
        let fx: Effects = effects(tx, resolved);
        if tx.kind != crate::tx::TxKind::Claim {
            let commitments: Vec<Commitment> =
                resolved.inputs.iter().map(|i| i.commitment).collect();
            self.audit.add_excess(&tx.excess(&commitments));
        }
        let period = self.period();
        for d in &fx.deltas {
            self.holdings.entry(d.account).or_default().apply(d, period);
        }
        for id in &fx.claimed {
            if let Some(n) = self.notes.get_mut(id) {
                n.pending = false;
            }
        }
        for id in &tx.inputs {
            if self.notes.remove(id).is_some() {
                self.spent.insert(*id);
            }
        }
        let ids = tx.output_ids();
        for ((id, output), pending) in ids.iter().zip(&tx.outputs).zip(&fx.pending_outputs) {
            self.commitments.insert(output.commitment.to_bytes());
            self.notes.insert(
                *id,
                StoredNote {
                    output: output.clone(),
                    spent: false,
                    pending: *pending,
                },
            );
        }
        self.supply = supply;
        self.tx_count += 1;
        ids
    }

    /// The Merkle tree over the unspent notes, whose root a checkpoint signs.
    pub fn ledger_tree(&self) -> crate::merkle::LedgerTree {
        crate::merkle::LedgerTree::new(
            self.unspent()
                .map(|(id, n)| (*id, n.output.commitment, n.output.owner))
                .collect(),
        )
    }

    /// Checks the supply invariant over the current state.
    pub fn audit(&self) -> Result<(), AuditError> {
        let mut audit = self.audit.clone();
        for (_, n) in self.unspent() {
            audit.add_unspent(&n.output.commitment);
        }
        audit.check(self.supply)
    }
}

/// The base point as a commitment and a key: what a spent note's commitment and owner read as.
fn spent_placeholder() -> (Commitment, PublicKey) {
    let bytes = curve25519_dalek::constants::RISTRETTO_BASEPOINT_COMPRESSED.to_bytes();
    (
        Commitment::from_bytes(&bytes).expect("the base point is a canonical, non-identity point"),
        PublicKey::from_bytes(&bytes).expect("the base point is a canonical, non-identity point"),
    )
}
