//! The domestic fee schedule: what users, merchants and the scheme pay per payment. Fees are
//! priced exactly on completed payments and reported, and moved on the simulated ledger with each
//! payment (`engine/fees.rs`), to the payment scheme's wallet, which the accounting identity
//! counts among balances.

use serde::{Deserialize, Serialize};

use super::{invalid, share, Money, ScenarioError};

/// `[policy.fees]`: percentages are of the payment amount; every field is optional (0).
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Fees {
    /// Payer's fee on a p2p payment, percent.
    #[serde(default)]
    pub p2p_percent: Option<f64>,
    /// Payer's fixed fee on a p2p payment.
    #[serde(default)]
    pub p2p_fixed: Option<Money>,
    /// Merchant discount rate: the merchant's fee on a payment it receives, percent.
    #[serde(default)]
    pub merchant_percent: Option<f64>,
    /// The merchant's fixed fee per payment received.
    #[serde(default)]
    pub merchant_fixed: Option<Money>,
    /// The household's fee on a cash-in, percent.
    #[serde(default)]
    pub cash_in_percent: Option<f64>,
    /// The household's fee on a cash-out, percent.
    #[serde(default)]
    pub cash_out_percent: Option<f64>,
    /// Commission the scheme pays the agent on a cash-in or cash-out, percent of the amount.
    #[serde(default)]
    pub agent_commission_percent: Option<f64>,
    /// An agent whose e-money float ends a day below this needs a rebalancing trip (to a bank
    /// branch or super-agent) the next day.
    #[serde(default)]
    pub agent_rebalance_below: Option<Money>,
    /// Cost of one rebalancing trip to the agent.
    #[serde(default)]
    pub agent_rebalance_cost: Option<Money>,
}

impl Fees {
    pub(super) fn validate(&self) -> Result<(), ScenarioError> {
        for (name, v) in [
            ("p2p_percent", self.p2p_percent),
            ("merchant_percent", self.merchant_percent),
            ("cash_in_percent", self.cash_in_percent),
            ("cash_out_percent", self.cash_out_percent),
            ("agent_commission_percent", self.agent_commission_percent),
        ] {
            if let Some(v) = v {
                share(&format!("policy.fees.{name}"), v, 100.0)?;
            }
        }
        if self.agent_rebalance_cost.is_some() && self.agent_rebalance_below.is_none() {
            return Err(invalid(
                "policy.fees.agent_rebalance_cost",
                "needs agent_rebalance_below (when a trip is needed)",
            ));
        }
        Ok(())
    }
}
