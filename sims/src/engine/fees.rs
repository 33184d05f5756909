//! Domestic fees moved on the ledger: each payment's transaction (online) or packet (offline)
//! carries the fee as an output to the payment scheme's wallet, and an agent's commission, paid by
//! the scheme out of the customer's fee, in the agent's own output.
//!
//! Per payment of amount A, with the customer fee F and the commission C = min(commission, F)
//! (each priced exactly, then rounded half up to minor units):
//!
//! | flow | payer spends | payee receives | scheme receives |
//! |---|---|---|---|
//! | p2p | A + F | A | F |
//! | merchant | A | A − F (merchant discount) | F |
//! | cash-in (agent pays) | A − C | A − F | F − C |
//! | cash-out (agent paid) | A + F | A + C | F − C |
//!
//! A fee deducted from what a payee receives is capped at A less one minor unit. Remittances
//! and G2P move no domestic fee (the remittance fee is paid abroad). With no fee schedule the
//! payments are exactly as before: no scheme output.

use super::*;

/// How one payment's value splits between the parties, minor units.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Split {
    /// The payment's amount A (limits and reports are on it).
    pub amount: u64,
    /// What leaves the payer's wallet.
    pub payer_pays: u64,
    /// What the payee's output holds.
    pub payee_gets: u64,
    /// The scheme's output (0: none).
    pub scheme_gets: u64,
    /// The agent's commission inside the agent's amount.
    pub commission: u64,
}

/// Rounds millionths of a minor unit half up.
fn round_micro(micro: u128) -> u64 {
    u64::try_from((micro + 500_000) / 1_000_000).unwrap_or(u64::MAX)
}

/// The fee schedule in parts per million and minor units.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct FeePlan {
    p2p_ppm: u128,
    p2p_fixed: u128,
    merchant_ppm: u128,
    merchant_fixed: u128,
    cash_in_ppm: u128,
    cash_out_ppm: u128,
    commission_ppm: u128,
}

fn ppm(percent: Option<f64>) -> u128 {
    #[allow(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        reason = "percentages are validated to 0..=100, so parts per million fit"
    )]
    let v = (percent.unwrap_or(0.0) * 10_000.0).round() as u128;
    v
}

impl FeePlan {
    pub(crate) fn new(f: &crate::scenario::Fees) -> Self {
        let fixed = |m: Option<crate::scenario::Money>| {
            u128::from(m.map(|m| m.units()).unwrap_or(0)) * 1_000_000
        };
        FeePlan {
            p2p_ppm: ppm(f.p2p_percent),
            p2p_fixed: fixed(f.p2p_fixed),
            merchant_ppm: ppm(f.merchant_percent),
            merchant_fixed: fixed(f.merchant_fixed),
            cash_in_ppm: ppm(f.cash_in_percent),
            cash_out_ppm: ppm(f.cash_out_percent),
            commission_ppm: ppm(f.agent_commission_percent),
        }
    }

    /// Whether any fee is moved (otherwise the scheme has no wallet).
    pub(crate) fn any(&self) -> bool {
        self.p2p_ppm
            + self.p2p_fixed
            + self.merchant_ppm
            + self.merchant_fixed
            + self.cash_in_ppm
            + self.cash_out_ppm
            > 0
    }

    /// The split of a payment of `a` minor units of `flow`.
    pub(crate) fn split(&self, flow: FlowKind, a: u64) -> Split {
        let amt = u128::from(a);
        let plain = Split {
            amount: a,
            payer_pays: a,
            payee_gets: a,
            scheme_gets: 0,
            commission: 0,
        };
        let deducted = |micro: u128| round_micro(micro).min(a.saturating_sub(1));
        match flow {
            FlowKind::P2p => {
                let f = round_micro(self.p2p_fixed + amt * self.p2p_ppm);
                Split {
                    payer_pays: a + f,
                    scheme_gets: f,
                    ..plain
                }
            }
            FlowKind::Merchant => {
                let f = deducted(self.merchant_fixed + amt * self.merchant_ppm);
                Split {
                    payee_gets: a - f,
                    scheme_gets: f,
                    ..plain
                }
            }
            FlowKind::CashIn => {
                let f = deducted(amt * self.cash_in_ppm);
                let c = round_micro(amt * self.commission_ppm).min(f);
                Split {
                    payer_pays: a - c,
                    payee_gets: a - f,
                    scheme_gets: f - c,
                    commission: c,
                    ..plain
                }
            }
            FlowKind::CashOut => {
                let f = round_micro(amt * self.cash_out_ppm);
                let c = round_micro(amt * self.commission_ppm).min(f);
                Split {
                    payer_pays: a + f,
                    payee_gets: a + c,
                    scheme_gets: f - c,
                    commission: c,
                    ..plain
                }
            }
            FlowKind::G2p | FlowKind::Remittance => plain,
        }
    }
}

/// The payment scheme's wallet, which collects the fees moved on the ledger (never spends them).
pub(super) struct Scheme {
    pub keys: WalletKeys,
    pub address: Address,
    pub notes: Vec<Held>,
}

impl Scheme {
    pub(super) fn new(seed: u64, network: u32) -> Self {
        let keys = WalletKeys::from_seed(format!("dfc-sims/{seed}/payment scheme").as_bytes());
        let address = keys.address(network);
        Scheme {
            keys,
            address,
            notes: Vec::new(),
        }
    }

    pub(super) fn units(&self) -> u64 {
        self.notes.iter().map(|n| n.opening.amount.units()).sum()
    }
}

impl Sim<'_> {
    /// The outputs of a payment: the payee's, the scheme's (if any), then the payer's change to
    /// `change_to` (if any).
    pub(super) fn payment_outputs(
        &self,
        payee: usize,
        split: Split,
        total_in: u64,
        change_to: Address,
    ) -> Vec<Payment> {
        let mut payments = vec![Payment {
            to: self.agents[payee].address,
            amount: amount(split.payee_gets),
            memo: Vec::new(),
        }];
        if let (Some(s), true) = (&self.scheme, split.scheme_gets > 0) {
            payments.push(Payment {
                to: s.address,
                amount: amount(split.scheme_gets),
                memo: Vec::new(),
            });
        }
        if total_in > split.payer_pays {
            payments.push(Payment {
                to: change_to,
                amount: amount(total_in - split.payer_pays),
                memo: Vec::new(),
            });
        }
        payments
    }

    /// Whether `addr` is the scheme's.
    pub(super) fn is_scheme(&self, owner: &PublicKey) -> bool {
        self.scheme
            .as_ref()
            .is_some_and(|s| s.address.spend == *owner)
    }
}
