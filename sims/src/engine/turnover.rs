//! The turnover limit: what a wallet receives from others counts against its tier's `max_inflow`
//! for the turnover period (`turnover_period_days`, by ledger time, as the node and the wallet
//! count it). A payee's note that does not fit stays pending on the ledger and is held by the
//! wallet, not spendable, until a later sync finds room (`wallet/src/wallet/claims.rs`): oldest
//! first, each note that fits both the holding and the turnover limit.

use super::*;

impl Sim<'_> {
    /// What wallet `i` has claimed in the period of tick `t` (a new period starts from zero).
    fn inflow_now(&self, i: usize, t: u64) -> u64 {
        let a = &self.agents[i];
        if a.inflow_period == self.proto.params.turnover_period(Self::now_ms(t)) {
            a.inflow_units
        } else {
            0
        }
    }

    /// Whether wallet `i` can claim a note of `units` now: within the turnover limit and, after
    /// what it holds settled, within the holding limit.
    pub(super) fn can_claim(&self, i: usize, units: u64, t: u64) -> bool {
        let a = &self.agents[i];
        let tier = self.tier(a.tier);
        self.inflow_now(i, t).saturating_add(units) <= tier.max_inflow
            && a.online_units() + a.purse_units() + units <= tier.max_balance
    }

    /// Counts a claimed note of `units` in wallet `i`'s inflow.
    fn count_inflow(&mut self, i: usize, units: u64, t: u64) {
        let period = self.proto.params.turnover_period(Self::now_ms(t));
        let now = self.inflow_now(i, t);
        let a = &mut self.agents[i];
        a.inflow_period = period;
        a.inflow_units = now + units;
    }

    /// The payee's output `id` of `units` was committed: claimed into its notes (settled on the
    /// ledger by the caller) when `claimed`, otherwise held pending.
    pub(super) fn receive(&mut self, i: usize, note: Held, claimed: bool, t: u64) {
        let units = note.opening.amount.units();
        if claimed {
            self.count_inflow(i, units, t);
            self.agents[i].notes.push(note);
        } else {
            self.agents[i].held.push(note);
            self.metrics.turnover.held(units);
        }
    }

    /// At a sync, wallet `i` claims the held notes that now fit, oldest first.
    pub(super) fn claim_held(&mut self, i: usize, t: u64) {
        if self.agents[i].held.is_empty() {
            return;
        }
        let held = std::mem::take(&mut self.agents[i].held);
        let mut claimed = Vec::new();
        for note in held {
            let units = note.opening.amount.units();
            if self.can_claim(i, units, t) {
                claimed.push(note.id);
                self.count_inflow(i, units, t);
                self.metrics.turnover.claimed_later(units);
                self.agents[i].notes.push(note);
            } else {
                self.agents[i].held.push(note);
            }
        }
        self.ledger.settle_unproven(&claimed);
    }
}
