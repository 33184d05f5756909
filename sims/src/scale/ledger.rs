//! The ledger of the `scale` fidelity: notes as (sequential id, amount), with the ledger's state
//! rules on them and no commitments.
//!
//! It keeps what the simulation's outcomes depend on: a note is created pending or settled,
//! is spent at most once (a second spend is `InputSpent`, which is how double spends are
//! caught), cannot be spent while pending, all inputs of a transfer belong to one key (the
//! ledger's `MultiplePayers`: a wallet's notes and its purse's are two accounts, so one payment
//! cannot mix them), and a transaction must balance (inputs = outputs, issuance = its public
//! amount). Supply, unspent and spent counts and the transaction count are the figures
//! `MemoryLedger` reports. Thirteen bytes per note ever created (amount, owner, state): a
//! country-month of notes fits in about a gigabyte.

use dfc_core::{Limits, TxError};

/// A note's state.
#[derive(Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
enum State {
    /// Unspent and settled (spendable by its owner).
    Unspent,
    /// Unspent, created pending: not spendable until claimed.
    Pending,
    /// Spent.
    Spent,
}

/// Notes by id (ids are their index: the order of creation).
pub(super) struct NoteLedger {
    amounts: Vec<u64>,
    owners: Vec<u32>,
    states: Vec<State>,
    supply: u64,
    unspent: u64,
    tx_count: u64,
    limits: Limits,
}

/// What a transaction moves.
pub(super) enum Kind {
    /// Issuance of its public amount (no inputs).
    Issue(u64),
    /// A transfer: inputs equal outputs.
    Transfer,
}

fn hex(id: u64) -> String {
    format!("{id:016x}")
}

impl NoteLedger {
    pub(super) fn new(limits: Limits) -> Self {
        NoteLedger {
            amounts: Vec::new(),
            owners: Vec::new(),
            states: Vec::new(),
            supply: 0,
            unspent: 0,
            tx_count: 0,
            limits,
        }
    }

    /// Applies a transaction spending `inputs` and creating `outputs` (owner key, amount), all
    /// settled but output `hold`, which stays pending. On error nothing changes.
    pub(super) fn apply(
        &mut self,
        kind: Kind,
        inputs: &[u64],
        outputs: &[(u32, u64)],
        hold: Option<usize>,
    ) -> Result<Vec<u64>, TxError> {
        if outputs.is_empty() {
            return Err(TxError::NoOutputs);
        }
        if outputs.len() > self.limits.max_outputs {
            return Err(TxError::TooManyOutputs {
                count: outputs.len(),
                limit: self.limits.max_outputs,
            });
        }
        let out_total: u64 = outputs.iter().map(|(_, u)| *u).sum();
        match kind {
            Kind::Issue(public) => {
                if !inputs.is_empty() {
                    return Err(TxError::InputsNotAllowed);
                }
                if public != out_total {
                    return Err(TxError::Unbalanced);
                }
            }
            Kind::Transfer => {
                if inputs.is_empty() {
                    return Err(TxError::NoInputs { kind: "transfer" });
                }
                if inputs.len() > self.limits.max_inputs {
                    return Err(TxError::TooManyInputs {
                        count: inputs.len(),
                        limit: self.limits.max_inputs,
                    });
                }
                let mut in_total = 0u64;
                for (index, id) in inputs.iter().enumerate() {
                    if inputs[..index].contains(id) {
                        return Err(TxError::DuplicateInput { index });
                    }
                    let k = usize::try_from(*id).unwrap_or(usize::MAX);
                    match self.states.get(k) {
                        None => {
                            return Err(TxError::UnknownInput {
                                index,
                                note: hex(*id),
                            })
                        }
                        Some(State::Spent) => {
                            return Err(TxError::InputSpent {
                                index,
                                note: hex(*id),
                            })
                        }
                        Some(State::Pending) => {
                            return Err(TxError::InputPending {
                                index,
                                note: hex(*id),
                            })
                        }
                        Some(State::Unspent) => in_total += self.amounts[k],
                    }
                }
                let payer = self.owners[usize::try_from(inputs[0]).unwrap_or(0)];
                if let Some(index) = inputs
                    .iter()
                    .position(|id| self.owners[usize::try_from(*id).unwrap_or(0)] != payer)
                {
                    return Err(TxError::MultiplePayers { index });
                }
                if in_total != out_total {
                    return Err(TxError::Unbalanced);
                }
            }
        }
        for id in inputs {
            let k = usize::try_from(*id).unwrap_or(usize::MAX);
            self.states[k] = State::Spent;
            self.unspent -= 1;
        }
        if let Kind::Issue(public) = kind {
            self.supply += public;
        }
        let first = self.amounts.len() as u64;
        for (k, (owner, units)) in outputs.iter().enumerate() {
            self.amounts.push(*units);
            self.owners.push(*owner);
            self.states.push(if hold == Some(k) {
                State::Pending
            } else {
                State::Unspent
            });
        }
        self.unspent += outputs.len() as u64;
        self.tx_count += 1;
        Ok((first..first + outputs.len() as u64).collect())
    }

    /// Settles pending notes (their owner's claim fits its limits).
    pub(super) fn settle(&mut self, ids: &[u64]) {
        for id in ids {
            if let Some(s) = self
                .states
                .get_mut(usize::try_from(*id).unwrap_or(usize::MAX))
            {
                if *s == State::Pending {
                    *s = State::Unspent;
                }
            }
        }
    }

    /// Whether note `id` exists and is unspent.
    pub(super) fn is_unspent(&self, id: u64) -> bool {
        matches!(
            self.states.get(usize::try_from(id).unwrap_or(usize::MAX)),
            Some(State::Unspent | State::Pending)
        )
    }

    pub(super) fn supply(&self) -> u64 {
        self.supply
    }
    pub(super) fn unspent_count(&self) -> u64 {
        self.unspent
    }
    pub(super) fn spent_count(&self) -> u64 {
        self.amounts.len() as u64 - self.unspent
    }
    pub(super) fn tx_count(&self) -> u64 {
        self.tx_count
    }

    /// The supply audit: the unspent notes add up to the supply.
    pub(super) fn audit(&self) -> Result<(), String> {
        let sum: u64 = self
            .amounts
            .iter()
            .zip(&self.states)
            .filter(|(_, s)| **s != State::Spent)
            .map(|(a, _)| *a)
            .sum();
        if sum == self.supply {
            Ok(())
        } else {
            Err(format!(
                "unspent notes add up to {sum}, the supply is {} (minor units)",
                self.supply
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn ledger_with(notes: &[(u32, u64)]) -> NoteLedger {
        let mut l = NoteLedger::new(Limits::default());
        let total = notes.iter().map(|(_, u)| *u).sum();
        l.apply(Kind::Issue(total), &[], notes, None).unwrap();
        l
    }

    /// (supply, unspent, spent, transactions): unchanged by a refused transaction.
    fn state(l: &NoteLedger) -> (u64, u64, u64, u64) {
        (l.supply(), l.unspent_count(), l.spent_count(), l.tx_count())
    }

    #[test]
    fn a_transfer_moves_value_and_conserves_supply() {
        let mut l = ledger_with(&[(2, 500), (2, 300)]);
        let ids = l
            .apply(Kind::Transfer, &[0, 1], &[(4, 600), (2, 200)], None)
            .unwrap();
        assert_eq!(ids, vec![2, 3]);
        assert_eq!(state(&l), (800, 2, 2, 2));
        assert!(!l.is_unspent(0) && l.is_unspent(2));
        l.audit().unwrap();
    }

    #[test]
    fn refused_transactions_leave_the_ledger_unchanged() {
        let mut l = ledger_with(&[(2, 500), (3, 300), (2, 100)]);
        l.apply(Kind::Transfer, &[2], &[(4, 100)], Some(0)).unwrap();
        let before = state(&l);
        type Case = (Vec<u64>, Vec<(u32, u64)>, &'static str);
        let cases: Vec<Case> = vec![
            (vec![0], vec![(4, 501)], "Unbalanced"),
            (vec![0, 1], vec![(4, 800)], "MultiplePayers"),
            (vec![0, 0], vec![(4, 1000)], "DuplicateInput"),
            (vec![2], vec![(4, 100)], "InputSpent"),
            (vec![3], vec![(5, 100)], "InputPending"),
            (vec![9], vec![(4, 1)], "UnknownInput"),
            (vec![], vec![(4, 1)], "NoInputs"),
            (vec![0], vec![], "NoOutputs"),
        ];
        for (inputs, outputs, want) in cases {
            let e = l
                .apply(Kind::Transfer, &inputs, &outputs, None)
                .unwrap_err();
            assert!(format!("{e:?}").starts_with(want), "{want}: {e:?}");
            assert_eq!(state(&l), before, "{want}");
        }
        let e = l.apply(Kind::Issue(5), &[], &[(4, 6)], None).unwrap_err();
        assert!(matches!(e, TxError::Unbalanced));
        assert_eq!(state(&l), before);
        l.audit().unwrap();
    }

    #[test]
    fn a_pending_note_is_spendable_once_settled_and_spent_only_once() {
        let mut l = ledger_with(&[(2, 100)]);
        l.apply(Kind::Transfer, &[0], &[(4, 100)], Some(0)).unwrap();
        assert!(l.apply(Kind::Transfer, &[1], &[(6, 100)], None).is_err());
        l.settle(&[1]);
        l.apply(Kind::Transfer, &[1], &[(6, 100)], None).unwrap();
        let e = l
            .apply(Kind::Transfer, &[1], &[(8, 100)], None)
            .unwrap_err();
        assert!(matches!(e, TxError::InputSpent { index: 0, .. }));
        assert_eq!(l.supply(), 100);
        l.audit().unwrap();
    }
}
