//! End of day and end of run: balances by segment and the accounting identity.

use super::*;

/// The money identity at one moment, minor units.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Identity {
    /// The ledger's supply (sum of unspent notes).
    pub supply: u64,
    /// Notes wallets hold, online and in purses, that are unspent on the ledger.
    pub balances: u64,
    /// Honest offline payments accepted and not settled: owed to payees.
    pub unsettled: u64,
    /// Their change, owed back to the payers' purses.
    pub pending_change: u64,
    /// Double spenders' accepted payments not resolved: claims backed only by notes the cheat
    /// still holds (counted in `balances`), so not part of the identity.
    pub double_spend_claims: u64,
    /// Fees the payment scheme's wallet holds (part of `balances`).
    pub scheme: u64,
}

impl Sim<'_> {
    /// What each wallet holds on the ledger. Honest wallets give notes up when they spend them,
    /// so everything they hold is unspent; a double spender keeps purse notes it spent offline
    /// until it syncs, so its purse is checked against the ledger. If the first assumption were
    /// wrong the identity below would break.
    fn holdings(&self) -> Vec<u64> {
        self.agents
            .iter()
            .map(|a| {
                let purse: u64 = if a.fraud {
                    a.purse
                        .iter()
                        .filter(|n| {
                            matches!(
                                dfc_core::LedgerView::note(&self.ledger, &n.id),
                                Some(ln) if !ln.spent
                            )
                        })
                        .map(|n| n.opening.amount.units())
                        .sum()
                } else {
                    a.purse_units()
                };
                a.online_units() + purse + a.held_units()
            })
            .collect()
    }

    /// Checks supply = Σ balances + Σ unsettled + Σ pending change; a broken identity stops the
    /// run.
    fn check_identity(&self, day: u64, holdings: &[u64]) -> Result<Identity, SimError> {
        let scheme = self.scheme.as_ref().map_or(0, fees::Scheme::units);
        let id = Identity {
            supply: self.ledger.supply().units(),
            balances: holdings.iter().sum::<u64>() + scheme,
            scheme,
            unsettled: self.pending.unsettled_units,
            pending_change: self.pending.change_units,
            double_spend_claims: self.pending.claims_units,
        };
        if id.supply != id.balances + id.unsettled + id.pending_change {
            return Err(SimError::Accounting {
                day,
                supply: id.supply,
                balances: id.balances,
                unsettled: id.unsettled,
                pending_change: id.pending_change,
            });
        }
        Ok(id)
    }

    pub(super) fn end_of_day(&mut self, day: u64) -> Result<(), SimError> {
        let holdings = self.holdings();
        let id = self.check_identity(day, &holdings)?;
        let mut per_segment = vec![0u64; self.scenario.segments.len()];
        for (a, h) in self.agents.iter().zip(&holdings) {
            per_segment[a.segment] += h;
        }
        if let Some(below) = self.metrics.rebalance_below() {
            let low = self
                .agents
                .iter()
                .zip(&holdings)
                .filter(|(a, h)| {
                    self.scenario.segments[a.segment].kind == SegmentKind::Agent && **h < below
                })
                .count();
            self.metrics
                .low_float_agents(u64::try_from(low).unwrap_or(u64::MAX));
        }
        self.metrics.end_of_day(day, per_segment, id);
        Ok(())
    }

    pub(super) fn finish(&mut self) -> Result<(), SimError> {
        self.ledger
            .audit()
            .map_err(|e| SimError::Audit(e.to_string()))?;
        let holdings = self.holdings();
        let last_day = u64::from(self.scenario.days).saturating_sub(1);
        let identity = self.check_identity(last_day, &holdings)?;
        let mut pending = 0u64;
        let mut pending_value = 0u64;
        let mut pending_fraud_value = 0u64;
        for p in self.packets.values() {
            if p.state == PacketState::Pending {
                pending += 1;
                pending_value += p.amount.units();
                if p.double_spend {
                    pending_fraud_value += p.amount.units();
                }
            }
        }
        let balances: Vec<(usize, u64)> = self
            .agents
            .iter()
            .zip(&holdings)
            .map(|(a, h)| (a.segment, *h))
            .collect();
        self.metrics.finish(
            crate::metrics::EndInput {
                pending,
                pending_value,
                pending_fraud_value,
                tx_count: self.ledger.tx_count(),
                unspent: u64::try_from(self.ledger.unspent_count()).unwrap_or(u64::MAX),
                spent: u64::try_from(self.ledger.spent_count()).unwrap_or(u64::MAX),
                held: self.agents.iter().fold((0, 0), |(n, v), a| {
                    (
                        n + u64::try_from(a.held.len()).unwrap_or(u64::MAX),
                        v + a.held_units(),
                    )
                }),
                identity,
            },
            &balances,
        );
        Ok(())
    }
}
