//! Holdings: per account, the running sums of commitments that holding and turnover limits are
//! proven against (see [`crate::claim`]), and what each transaction does to them.
//!
//! One rule, applied by the node's sequencer, the audit replay, the reference ledger and the
//! simulator alike ([`effects`]):
//!
//! | kind | inputs | outputs |
//! |---|---|---|
//! | issue | — | pending (the recipient claims them) |
//! | transfer | leave the payer's balance | change (party 0) settles into the payer's balance at once; payees' outputs are pending |
//! | redeem | settled ones leave the balance (pending ones may be redeemed: the reverse waterfall) | settle into the redeemer's balance if every input was settled, else pending |
//! | claim | — | the claimed notes settle into the balance and count in the period's inflow |
//!
//! A payer's change cannot raise its balance: a transfer has one paying account and its outputs
//! sum to its inputs, so its change is at most what it spent. Only claims raise a balance, and
//! every claim is proven within the limits.

use curve25519_dalek::ristretto::RistrettoPoint;
use curve25519_dalek::traits::Identity;

use crate::keys::PublicKey;
use crate::note::NoteId;
use crate::tx::{Transaction, TxKind};
use crate::validate::Resolved;

/// An account's running sums.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Holding {
    /// `Bal_A`: the sum of the account's settled unspent note commitments.
    pub balance: RistrettoPoint,
    /// The turnover period `inflow` counts in.
    pub period: u64,
    /// `In_A`: the sum of the commitments claimed in `period`.
    pub inflow: RistrettoPoint,
}

impl Default for Holding {
    fn default() -> Self {
        Holding {
            balance: RistrettoPoint::identity(),
            period: 0,
            inflow: RistrettoPoint::identity(),
        }
    }
}

impl Holding {
    /// The inflow of `period`: the identity if the stored inflow is of an earlier period.
    pub fn inflow_in(&self, period: u64) -> RistrettoPoint {
        if self.period == period {
            self.inflow
        } else {
            RistrettoPoint::identity()
        }
    }

    /// Applies a delta in turnover period `period`.
    pub fn apply(&mut self, delta: &Delta, period: u64) {
        self.balance += delta.balance;
        if delta.inflow != RistrettoPoint::identity() {
            self.inflow = self.inflow_in(period) + delta.inflow;
            self.period = period;
        }
    }
}

/// A change to one account's holding.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Delta {
    /// The account.
    pub account: PublicKey,
    /// Added to the balance (negative for notes leaving it).
    pub balance: RistrettoPoint,
    /// Added to the period's inflow.
    pub inflow: RistrettoPoint,
}

/// What a transaction does to note states and holdings.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Effects {
    /// Per output, whether it is created pending.
    pub pending_outputs: Vec<bool>,
    /// Notes a claim settles.
    pub claimed: Vec<NoteId>,
    /// Holding changes, at most one per account.
    pub deltas: Vec<Delta>,
}

fn add(
    deltas: &mut Vec<Delta>,
    account: PublicKey,
    balance: RistrettoPoint,
    inflow: RistrettoPoint,
) {
    match deltas.iter_mut().find(|d| d.account == account) {
        Some(d) => {
            d.balance += balance;
            d.inflow += inflow;
        }
        None => deltas.push(Delta {
            account,
            balance,
            inflow,
        }),
    }
}

/// The effects of `tx`, whose state checks resolved to `resolved`.
pub fn effects(tx: &Transaction, resolved: &Resolved) -> Effects {
    let zero = RistrettoPoint::identity();
    let mut fx = Effects {
        pending_outputs: vec![false; tx.outputs.len()],
        ..Effects::default()
    };
    match tx.kind {
        TxKind::Issue => fx.pending_outputs.iter_mut().for_each(|p| *p = true),
        TxKind::Transfer | TxKind::Redeem => {
            for ((input, pending), account) in resolved
                .inputs
                .iter()
                .zip(&resolved.input_pending)
                .zip(&resolved.input_accounts)
            {
                if !pending {
                    add(&mut fx.deltas, account.key, -input.commitment.point(), zero);
                }
            }
            let payer = resolved.input_accounts.first().map(|a| a.key);
            // Change settles at once only when every input was settled: change of a redeemed
            // pending note was never proven within the limits, so it stays pending until claimed
            // (otherwise redeeming 0.01 of a large pending receipt would settle the rest).
            let from_settled = !resolved.input_pending.iter().any(|p| *p);
            for (o, (output, account)) in
                tx.outputs.iter().zip(&resolved.output_accounts).enumerate()
            {
                if from_settled && Some(account.key) == payer {
                    add(
                        &mut fx.deltas,
                        account.key,
                        *output.commitment.point(),
                        zero,
                    );
                } else {
                    fx.pending_outputs[o] = true;
                }
            }
        }
        TxKind::Claim => {
            if let Some(claim) = &tx.claim {
                let sum: RistrettoPoint =
                    resolved.inputs.iter().map(|i| i.commitment.point()).sum();
                add(&mut fx.deltas, claim.claimant, sum, sum);
                fx.claimed = claim.notes.clone();
            }
        }
    }
    fx
}
