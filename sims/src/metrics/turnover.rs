//! Turnover-limit counters: received notes held beyond `max_inflow` and claimed later.

use serde::Serialize;

use super::money;

/// Running counts (minor units).
#[derive(Default)]
pub struct TurnoverStats {
    held_notes: u64,
    held_units: u64,
    claimed_notes: u64,
    claimed_units: u64,
}

impl TurnoverStats {
    /// A payee's note was held: it did not fit the turnover (or holding) limit when received.
    pub fn held(&mut self, units: u64) {
        self.held_notes += 1;
        self.held_units += units;
    }

    /// A held note was claimed at a later sync.
    pub fn claimed_later(&mut self, units: u64) {
        self.claimed_notes += 1;
        self.claimed_units += units;
    }

    /// The report, with what is still held at the end.
    pub fn report(&self, held_at_end: (u64, u64)) -> TurnoverReport {
        TurnoverReport {
            notes_held: self.held_notes,
            value_held: money(self.held_units),
            notes_claimed_later: self.claimed_notes,
            value_claimed_later: money(self.claimed_units),
            notes_held_at_end: held_at_end.0,
            value_held_at_end: money(held_at_end.1),
        }
    }
}

/// Money received beyond the turnover limit (`max_inflow` per `turnover_period_days`).
#[derive(Clone, Debug, Default, Serialize)]
pub struct TurnoverReport {
    /// Received notes held pending because they did not fit the payee's limits.
    pub notes_held: u64,
    /// Their value.
    pub value_held: String,
    /// Held notes claimed at a later sync (a later period).
    pub notes_claimed_later: u64,
    /// Their value.
    pub value_claimed_later: String,
    /// Notes still held at the end of the run (counted in balances).
    pub notes_held_at_end: u64,
    /// Their value.
    pub value_held_at_end: String,
}
