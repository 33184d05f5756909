//! The report's types: what `report.json` holds.

use std::collections::BTreeMap;

use serde::Serialize;

use super::FlowReport;
use crate::proto::Work;

/// `report.json`.
#[derive(Clone, Debug, Serialize)]
pub struct Report {
    /// Scenario name.
    pub scenario: String,
    /// Scenario description.
    pub description: String,
    /// Which fidelity made the report: `full`, `fast` or `scale`.
    pub fidelity: String,
    /// Seed.
    pub seed: u64,
    /// Days simulated.
    pub days: u64,
    /// Members in all segments.
    pub population: u64,
    /// Decimals of the amounts below (written as decimal strings).
    pub currency_decimals: u8,
    /// Payments.
    pub payments: PaymentsReport,
    /// Per segment.
    pub segments: Vec<SegmentReport>,
    /// Findex-style account use of households, by region and gender.
    pub inclusion: InclusionReport,
    /// Offline settlement.
    pub settlement: SettlementReport,
    /// Offline double spends.
    pub double_spend: DoubleSpendReport,
    /// Remittances.
    pub remittances: RemittanceReport,
    /// Money issued.
    pub issuance: IssuanceReport,
    /// Ledger at the end.
    pub ledger: LedgerReport,
    /// The accounting identity at the end.
    pub accounting: AccountingReport,
    /// The scenario's published figures against the simulated metrics.
    pub calibration: Vec<CalibrationRow>,
    /// Costs under the fee schedule.
    pub costs: super::CostReport,
    /// Money received beyond the turnover limit.
    pub turnover: super::TurnoverReport,
    /// Offline exposure: value merchants held unsettled.
    pub exposure: ExposureReport,
    /// Measured connectivity by device profile.
    pub connectivity: Vec<DeviceReport>,
    /// Sizes and verification work per payment (the same at both fidelities).
    pub per_payment: PerPaymentReport,
    /// Cryptographic work actually done (differs between fidelities by design).
    pub compute: Work,
}

/// Payment outcomes.
#[derive(Clone, Debug, Serialize)]
pub struct PaymentsReport {
    /// Attempted.
    pub attempted: u64,
    /// Completed (online or accepted offline).
    pub completed: u64,
    /// Completed online.
    pub completed_online: u64,
    /// Completed offline.
    pub completed_offline: u64,
    /// Share of completed payments made offline.
    pub offline_share: f64,
    /// Value completed.
    pub value_completed: String,
    /// Value paid online.
    pub value_online: String,
    /// Value paid offline.
    pub value_offline: String,
    /// Failed.
    pub failed: u64,
    /// Failed / attempted.
    pub failure_rate: f64,
    /// Failed payments by reason.
    pub failed_by_reason: BTreeMap<String, u64>,
    /// By flow kind.
    pub by_flow: BTreeMap<String, FlowReport>,
}

/// One segment.
#[derive(Clone, Debug, Serialize)]
pub struct SegmentReport {
    /// Name.
    pub name: String,
    /// Kind.
    pub kind: String,
    /// Members.
    pub members: u64,
    /// Share of members who completed at least one payment.
    pub made_payment_share: f64,
    /// Share of members who received at least one payment.
    pub received_payment_share: f64,
    /// Findex-style account use: share of members who made or received a digital payment in
    /// the last 365 days of the run (the whole run if shorter).
    pub account_use_share: f64,
    /// Payments the members attempted.
    pub payments_attempted: u64,
    /// Payments the members completed.
    pub payments_made: u64,
    /// Payments the members received.
    pub payments_received: u64,
    /// Value sent.
    pub value_sent: String,
    /// Value received.
    pub value_received: String,
    /// Settled holdings at the end (online notes plus purse), all members.
    pub final_balance_total: String,
    /// Settled holdings at the end per member.
    pub final_balance_mean: String,
    /// Double spenders among the members.
    pub adversaries: u64,
    /// Double-spend losses the members bore as payees.
    pub double_spend_loss_borne: String,
}

/// A bucket of the settlement-delay histogram.
#[derive(Clone, Debug, Serialize)]
pub struct DelayBucket {
    /// Label.
    pub bucket: String,
    /// Offline payments settled with a delay in the bucket.
    pub count: u64,
}

/// Offline settlement.
#[derive(Clone, Debug, Serialize)]
pub struct SettlementReport {
    /// Offline payments settled (double spends excluded).
    pub offline_settled: u64,
    /// Mean delay between payment and settlement, hours.
    pub delay_hours_mean: f64,
    /// Median delay, hours.
    pub delay_hours_p50: u64,
    /// 90th percentile, hours.
    pub delay_hours_p90: u64,
    /// 99th percentile, hours.
    pub delay_hours_p99: u64,
    /// Longest, hours.
    pub delay_hours_max: u64,
    /// Histogram.
    pub histogram: Vec<DelayBucket>,
    /// Accepted offline payments not settled when the run ended.
    pub unsettled_at_end: u64,
    /// Their value.
    pub unsettled_value_at_end: String,
    /// Settlement refusals other than double spends, by ledger error.
    pub rejected_other_than_double_spend: BTreeMap<String, u64>,
}

/// Offline double spends.
#[derive(Clone, Debug, Serialize)]
pub struct DoubleSpendReport {
    /// Double spenders in the population.
    pub adversaries: u64,
    /// Packets offered that spend a note an accepted packet already spends.
    pub attempts: u64,
    /// Of which payees accepted offline (they cannot tell).
    pub attempts_accepted_offline: u64,
    /// Caught at settlement.
    pub caught: u64,
    /// Caught with double-spend evidence that verifies.
    pub caught_with_evidence: u64,
    /// Value lost.
    pub loss: String,
    /// Borne by payees.
    pub loss_borne_by_payees: String,
    /// Borne by the central bank (compensation issued).
    pub loss_borne_by_central_bank: String,
    /// Value of accepted double spends not yet settled at the end.
    pub undetected_at_end: String,
    /// Wallets frozen on evidence.
    pub wallets_frozen: u64,
}

/// Remittances.
#[derive(Clone, Debug, Serialize)]
pub struct RemittanceReport {
    /// Completed.
    pub count: u64,
    /// Value received.
    pub value: String,
    /// Fees paid by senders (each transfer's fee exact, the sum rounded once to minor units).
    pub fees: String,
    /// Fees paid as a percentage of the value actually sent: depends on the amounts drawn.
    pub cost_percent_of_value: f64,
    /// Cost of each remittance flow on the Remittance Prices Worldwide basis (sending the
    /// equivalent of USD 200): comparable with the World Bank's published corridor figures.
    pub corridors: Vec<RpwCost>,
}

/// A remittance corridor's cost on the RPW basis: (fee at the basis amount + FX margin × basis)
/// ÷ basis × 100.
#[derive(Clone, Debug, Serialize)]
pub struct RpwCost {
    /// Paying segment.
    pub from: String,
    /// Paid segment.
    pub to: String,
    /// The send amount equivalent to USD 200, in the scenario's currency.
    pub basis: String,
    /// Fee charged on the basis amount: fee_fixed + basis × fee_percent / 100.
    pub fee_at_basis: String,
    /// Exchange-rate margin, percent.
    pub fx_margin_percent: f64,
    /// Total cost, percent of the basis amount.
    pub cost_percent: f64,
}

impl RpwCost {
    /// The RPW cost of a remittance flow.
    pub fn of(f: &crate::scenario::Flow) -> RpwCost {
        let basis = f.rpw_basis.map(|m| m.units()).unwrap_or(RPW_BASIS_UNITS);
        let pct = f.fee_percent.unwrap_or(0.0);
        let fixed = f.fee_fixed.map(|m| m.units()).unwrap_or(0);
        let fee = fixed as f64 + basis as f64 * pct / 100.0;
        let fx = f.fx_margin_percent.unwrap_or(0.0);
        let cost = if basis == 0 {
            0.0
        } else {
            fee / basis as f64 * 100.0 + fx
        };
        #[allow(
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss,
            reason = "a fee on a validated amount with a percentage in 0..=100 is non-negative and small"
        )]
        let fee_units = fee.round() as u64;
        RpwCost {
            from: f.from.clone(),
            to: f.to.clone(),
            basis: super::money(basis),
            fee_at_basis: super::money(fee_units),
            fx_margin_percent: fx,
            cost_percent: super::r4(cost),
        }
    }
}

/// The RPW send amount when a flow does not give one: 200.00 (the currency taken at par with
/// the US dollar).
pub const RPW_BASIS_UNITS: u64 = 20_000;

/// The accounting identity at the end: supply = balances + unsettled + pending change.
#[derive(Clone, Debug, Default, Serialize)]
pub struct AccountingReport {
    /// Ledger supply.
    pub supply: String,
    /// Notes wallets hold (online and purse), unspent on the ledger.
    pub balances: String,
    /// Honest offline payments accepted, not settled.
    pub unsettled: String,
    /// Their change, owed to the payers' purses.
    pub pending_change: String,
    /// supply − balances − unsettled − pending change: always 0 (a run that breaks it fails).
    pub difference: String,
    /// Double spenders' accepted payments not resolved (not money: claims on notes the cheat
    /// still holds).
    pub double_spend_claims: String,
    /// Fees held by the payment scheme's wallet (included in `balances`).
    pub scheme_fees_held: String,
}

impl AccountingReport {
    /// From the identity.
    pub fn of(id: &crate::engine::Identity) -> AccountingReport {
        let diff = i128::from(id.supply)
            - i128::from(id.balances)
            - i128::from(id.unsettled)
            - i128::from(id.pending_change);
        AccountingReport {
            supply: super::money(id.supply),
            balances: super::money(id.balances),
            unsettled: super::money(id.unsettled),
            pending_change: super::money(id.pending_change),
            difference: if diff < 0 {
                format!(
                    "-{}",
                    super::money(u64::try_from(-diff).unwrap_or(u64::MAX))
                )
            } else {
                super::money(u64::try_from(diff).unwrap_or(u64::MAX))
            },
            double_spend_claims: super::money(id.double_spend_claims),
            scheme_fees_held: super::money(id.scheme),
        }
    }
}

/// Measured connectivity of a device profile.
#[derive(Clone, Debug, Serialize)]
pub struct DeviceReport {
    /// Profile name.
    pub device: String,
    /// `offline_share` in the scenario.
    pub offline_share_target: f64,
    /// Share of agent-hours offline in the run.
    pub offline_hour_share: f64,
    /// Agent-hours observed.
    pub agent_hours: u64,
}

/// Issuance.
#[derive(Clone, Debug, Serialize)]
pub struct IssuanceReport {
    /// Initial balances.
    pub initial: String,
    /// Daily top-ups of government and remitter wallets.
    pub top_ups: String,
    /// Compensation of double-spend losses.
    pub double_spend_compensation: String,
    /// Supply at the end.
    pub supply_at_end: String,
}

/// The ledger at the end.
#[derive(Clone, Debug, Serialize)]
pub struct LedgerReport {
    /// Transactions committed.
    pub transactions: u64,
    /// Unspent notes.
    pub unspent_notes: u64,
    /// Spent notes (kept as ids only).
    pub spent_notes: u64,
    /// Purse fundings.
    pub purse_fundings: u64,
    /// The supply audit (`MemoryLedger::audit`) at the end.
    pub supply_audit: String,
}

/// Sizes and verification work per completed payment.
#[derive(Clone, Debug, Serialize)]
pub struct PerPaymentReport {
    /// Mean encoded transaction size, bytes.
    pub tx_bytes_mean: f64,
    /// Mean range-proof size, bytes.
    pub range_proof_bytes_mean: f64,
    /// Mean inputs spent.
    pub inputs_mean: f64,
    /// Mean offline packet size (Merkle proofs at nominal depth), bytes.
    pub offline_packet_bytes_mean: f64,
    /// Largest offline packet, bytes.
    pub offline_packet_bytes_max: u64,
    /// Aggregated range proofs a verifier checks per payment.
    pub range_proofs_to_verify: u64,
    /// Owner signatures a verifier checks per payment (one per input).
    pub owner_signatures_to_verify_mean: f64,
    /// Extra signatures an offline payee checks (certificate, checkpoint, counter).
    pub offline_extra_signatures_to_verify: u64,
    /// Mean purse-funding transaction size, bytes.
    pub purse_funding_tx_bytes_mean: f64,
}

/// Findex-style account use: made or received a digital payment in the window.
#[derive(Clone, Debug, Serialize)]
pub struct InclusionReport {
    /// Window length, days: 365 (the Findex "past 12 months"), or the run if shorter.
    pub window_days: u64,
    /// All household members.
    pub households: GroupShare,
    /// Households by region (segments with a `region`).
    pub by_region: Vec<GroupShare>,
    /// Households by gender (segments with a `gender`).
    pub by_gender: Vec<GroupShare>,
}

/// Account use of a group.
#[derive(Clone, Debug, Serialize)]
pub struct GroupShare {
    /// The group.
    pub group: String,
    /// Members.
    pub members: u64,
    /// Share who made or received a digital payment in the window.
    pub account_use_share: f64,
}

/// Offline exposure: value accepted offline and not yet settled, which a payee stands to lose to
/// a double spend.
#[derive(Clone, Debug, Serialize)]
pub struct ExposureReport {
    /// Largest unsettled value one merchant held at any moment.
    pub peak_per_merchant: String,
    /// Largest unsettled value held by all payees at the end of a day.
    pub peak_day_total: String,
    /// The day of that peak (from 0).
    pub peak_day: u64,
}

/// A published figure against the simulated value.
#[derive(Clone, Debug, Serialize)]
pub struct CalibrationRow {
    /// Metric.
    pub metric: String,
    /// Published value.
    pub published: f64,
    /// Simulated value.
    pub simulated: f64,
    /// simulated − published.
    pub difference: f64,
    /// Source of the published value.
    pub source: String,
}
