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

impl Identity {
    /// The identity over the ledger's `supply`, what wallets hold (`holdings`, plus the scheme's
    /// `scheme` fees) and the offline payments `pending`; broken, it is [`SimError::Accounting`]
    /// on `day` and stops the run.
    pub(crate) fn check(
        day: u64,
        supply: u64,
        holdings: &[u64],
        scheme: u64,
        pending: &Pending,
    ) -> Result<Self, SimError> {
        let id = Identity {
            supply,
            balances: holdings.iter().sum::<u64>() + scheme,
            scheme,
            unsettled: pending.unsettled_units,
            pending_change: pending.change_units,
            double_spend_claims: pending.claims_units,
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
}

/// Records the end of `day`: holdings by segment (`segments` gives each wallet's, in the order
/// of `holdings`), agents whose float is below the rebalancing level, and the identity.
pub(crate) fn record_day(
    metrics: &mut Metrics,
    scenario: &Scenario,
    day: u64,
    segments: impl Iterator<Item = usize>,
    holdings: &[u64],
    id: Identity,
) {
    let mut per_segment = vec![0u64; scenario.segments.len()];
    let mut low = 0u64;
    let below = metrics.rebalance_below();
    for (s, h) in segments.zip(holdings) {
        per_segment[s] += h;
        if below.is_some_and(|b| scenario.segments[s].kind == SegmentKind::Agent && *h < b) {
            low += 1;
        }
    }
    if below.is_some() {
        metrics.low_float_agents(low);
    }
    metrics.end_of_day(day, per_segment, id);
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
        Identity::check(
            day,
            self.ledger.supply().units(),
            holdings,
            scheme,
            &self.pending,
        )
    }

    pub(super) fn end_of_day(&mut self, day: u64) -> Result<(), SimError> {
        let holdings = self.holdings();
        let id = self.check_identity(day, &holdings)?;
        let segments = self.agents.iter().map(|a| a.segment);
        record_day(
            &mut self.metrics,
            self.scenario,
            day,
            segments,
            &holdings,
            id,
        );
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
