//! An in-memory ledger that applies the protocol rules: the reference state machine used by tests,
//! the simulator and audits that replay a chain. The node keeps the same state in SQLite and applies
//! the same checks from [`crate::validate`].

use std::collections::{HashMap, HashSet};

use crate::amount::Amount;
use crate::error::{AuditError, TxError};
use crate::note::{Commitment, NoteId, Output};
use crate::params::NetworkParams;
use crate::supply::SupplyAudit;
use crate::tx::Transaction;
use crate::validate::{self, LedgerNote, LedgerView};

/// A note held by the in-memory ledger.
#[derive(Clone, Debug)]
pub struct StoredNote {
    /// The output that created it.
    pub output: Output,
    /// Whether it has been spent.
    pub spent: bool,
}

/// The ledger state: notes, the spent set, the supply and the running excess sum.
#[derive(Clone, Debug)]
pub struct MemoryLedger {
    params: NetworkParams,
    notes: HashMap<NoteId, StoredNote>,
    commitments: HashSet<[u8; 32]>,
    supply: Amount,
    audit: SupplyAudit,
    tx_count: u64,
}

impl LedgerView for MemoryLedger {
    fn note(&self, id: &NoteId) -> Option<LedgerNote> {
        self.notes.get(id).map(|n| LedgerNote {
            commitment: n.output.commitment,
            owner: n.output.owner,
            spent: n.spent,
        })
    }
    fn commitment_exists(&self, commitment: &Commitment) -> bool {
        self.commitments.contains(&commitment.to_bytes())
    }
}

impl MemoryLedger {
    /// An empty ledger (genesis) for `params`.
    pub fn new(params: NetworkParams) -> Self {
        MemoryLedger {
            params,
            notes: HashMap::new(),
            commitments: HashSet::new(),
            supply: Amount::ZERO,
            audit: SupplyAudit::new(),
            tx_count: 0,
        }
    }

    /// The parameters.
    pub fn params(&self) -> &NetworkParams {
        &self.params
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
        self.notes.iter().filter(|(_, n)| !n.spent)
    }

    /// Number of unspent notes.
    pub fn unspent_count(&self) -> usize {
        self.notes.values().filter(|n| !n.spent).count()
    }

    /// Validates `tx` fully and applies it. On error the ledger is unchanged.
    pub fn apply(&mut self, tx: &Transaction) -> Result<Vec<NoteId>, TxError> {
        let inputs = validate::validate(tx, &self.params, self)?;
        let supply = validate::next_supply(tx, self.supply)?;
        let commitments: Vec<Commitment> = inputs.iter().map(|i| i.commitment).collect();
        self.audit.add_excess(&tx.excess(&commitments));
        Ok(self.commit(tx, supply))
    }

    /// Applies a transaction already validated elsewhere (e.g. in a batch). Only the state checks
    /// are repeated.
    pub fn apply_prevalidated(&mut self, tx: &Transaction) -> Result<Vec<NoteId>, TxError> {
        let inputs = validate::resolve_inputs(tx, self)?;
        validate::check_outputs_fresh(tx, self)?;
        let supply = validate::next_supply(tx, self.supply)?;
        let commitments: Vec<Commitment> = inputs.iter().map(|i| i.commitment).collect();
        self.audit.add_excess(&tx.excess(&commitments));
        Ok(self.commit(tx, supply))
    }

    fn commit(&mut self, tx: &Transaction, supply: Amount) -> Vec<NoteId> {
        for id in &tx.inputs {
            if let Some(n) = self.notes.get_mut(id) {
                n.spent = true;
            }
        }
        let ids = tx.output_ids();
        for (id, output) in ids.iter().zip(&tx.outputs) {
            self.commitments.insert(output.commitment.to_bytes());
            self.notes.insert(
                *id,
                StoredNote {
                    output: output.clone(),
                    spent: false,
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
