//! Costs of payments under the scenario's fee schedule (`policy.fees`): to users, to merchants,
//! and the agents' commission against their float rebalancing; and what was moved on the ledger.

use serde::Serialize;

use super::{money, r4, round_micro};
use crate::scenario::{Fees, FlowKind, Scenario, SegmentKind};

fn ppm(percent: Option<f64>) -> u128 {
    #[allow(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        reason = "percentages are validated to 0..=100, so parts per million fit"
    )]
    let v = (percent.unwrap_or(0.0) * 10_000.0).round() as u128;
    v
}

fn fixed_micro(m: Option<crate::scenario::Money>) -> u128 {
    u128::from(m.map(|m| m.units()).unwrap_or(0)) * 1_000_000
}

/// Running cost totals, exact in millionths of a minor unit.
#[derive(Clone, Debug, Default)]
pub(super) struct Costs {
    fees: Fees,
    agents: u64,
    days: u64,
    user_fee_micro: u128,
    user_payments: u64,
    user_value: u64,
    merchant_fee_micro: u128,
    merchant_value: u64,
    commission_micro: u128,
    rebalancing_trips: u64,
    moved_to_scheme: u64,
    commission_moved: u64,
}

impl Costs {
    pub(super) fn new(s: &Scenario) -> Self {
        Costs {
            fees: s.policy.fees.clone(),
            agents: s
                .segments
                .iter()
                .filter(|g| g.kind == SegmentKind::Agent)
                .map(|g| u64::from(g.count))
                .sum(),
            days: u64::from(s.days),
            ..Costs::default()
        }
    }

    /// A completed domestic payment.
    pub(super) fn payment(&mut self, flow: FlowKind, units: u64) {
        let f = &self.fees;
        let amt = u128::from(units);
        let (user, merchant, commission) = match flow {
            FlowKind::P2p => (fixed_micro(f.p2p_fixed) + amt * ppm(f.p2p_percent), 0, 0),
            FlowKind::Merchant => (
                0,
                fixed_micro(f.merchant_fixed) + amt * ppm(f.merchant_percent),
                0,
            ),
            FlowKind::CashIn => (
                amt * ppm(f.cash_in_percent),
                0,
                amt * ppm(f.agent_commission_percent),
            ),
            FlowKind::CashOut => (
                amt * ppm(f.cash_out_percent),
                0,
                amt * ppm(f.agent_commission_percent),
            ),
            FlowKind::G2p | FlowKind::Remittance => return,
        };
        if flow == FlowKind::Merchant {
            self.merchant_fee_micro += merchant;
            self.merchant_value += units;
            // The buyer pays nothing extra, but it is a user payment.
        } else {
            self.commission_micro += commission;
        }
        self.user_fee_micro += user;
        self.user_payments += 1;
        self.user_value += units;
    }

    /// Fees moved on the ledger with a completed payment: to the scheme, and the commission in
    /// the agent's output (whole minor units, each rounded half up from the exact price).
    pub(super) fn moved(&mut self, scheme: u64, commission: u64) {
        self.moved_to_scheme += scheme;
        self.commission_moved += commission;
    }

    /// Agents whose float ended the day below the rebalancing threshold.
    pub(super) fn low_float_agents(&mut self, count: u64) {
        self.rebalancing_trips += count;
    }

    /// The rebalancing threshold, minor units (`None`: not modelled).
    pub(super) fn rebalance_below(&self) -> Option<u64> {
        self.fees.agent_rebalance_below.map(|m| m.units())
    }

    pub(super) fn report(&self) -> CostReport {
        let per = |micro: u128, n: u64| -> f64 {
            if n == 0 {
                0.0
            } else {
                micro as f64 / 1e6 / 100.0 / n as f64
            }
        };
        let pct = |micro: u128, value: u64| -> f64 {
            if value == 0 {
                0.0
            } else {
                micro as f64 / 1e6 / value as f64 * 100.0
            }
        };
        let trip_cost = self
            .fees
            .agent_rebalance_cost
            .map(|m| m.units())
            .unwrap_or(0);
        let trips_micro = u128::from(self.rebalancing_trips * trip_cost) * 1_000_000;
        let agent_days = self.agents * self.days;
        CostReport {
            user_fees: money(round_micro(self.user_fee_micro)),
            user_payments: self.user_payments,
            user_fee_per_payment: r4(per(self.user_fee_micro, self.user_payments)),
            user_cost_percent_of_value: r4(pct(self.user_fee_micro, self.user_value)),
            merchant_fees: money(round_micro(self.merchant_fee_micro)),
            merchant_cost_percent_of_value: r4(pct(self.merchant_fee_micro, self.merchant_value)),
            agent_commission: money(round_micro(self.commission_micro)),
            fees_moved_to_scheme: money(self.moved_to_scheme),
            agent_commission_moved: money(self.commission_moved),
            agent_rebalancing_trips: self.rebalancing_trips,
            agent_rebalancing_cost: money(round_micro(trips_micro)),
            agent_net_income_per_agent_day: r4(if agent_days == 0 {
                0.0
            } else {
                (self.commission_micro as f64 - trips_micro as f64)
                    / 1e6
                    / 100.0
                    / agent_days as f64
            }),
        }
    }
}

/// Costs under `policy.fees`: priced exactly, and moved on the ledger (`engine/fees.rs`).
#[derive(Clone, Debug, Serialize)]
pub struct CostReport {
    /// Fees users paid: p2p payers' fees and cash-in/cash-out fees.
    pub user_fees: String,
    /// Payments users made (p2p, merchant, cash-in, cash-out).
    pub user_payments: u64,
    /// user fees ÷ user payments, currency units.
    pub user_fee_per_payment: f64,
    /// user fees ÷ value of user payments × 100.
    pub user_cost_percent_of_value: f64,
    /// Fees merchants paid on payments received (merchant discount).
    pub merchant_fees: String,
    /// merchant fees ÷ value merchants received × 100.
    pub merchant_cost_percent_of_value: f64,
    /// Commission agents earned on cash-in and cash-out.
    pub agent_commission: String,
    /// Fees moved on the ledger to the payment scheme's wallet (customer and merchant fees less
    /// the commissions paid out of them), each payment's rounded half up to minor units.
    pub fees_moved_to_scheme: String,
    /// Commission moved on the ledger into agents' outputs (at most the customer's fee).
    pub agent_commission_moved: String,
    /// Agent-days that ended with float below `agent_rebalance_below` (one trip each).
    pub agent_rebalancing_trips: u64,
    /// trips × `agent_rebalance_cost`.
    pub agent_rebalancing_cost: String,
    /// (commission − rebalancing cost) ÷ (agents × days), currency units.
    pub agent_net_income_per_agent_day: f64,
}
