//! What a run measures, and the report it produces. Everything here is counts and amounts in
//! minor units, so the same run gives the same report byte for byte.

use std::collections::{BTreeMap, HashSet};

pub use inclusion::FINDEX_WINDOW_DAYS;

use dfc_core::offline::OfflineError;
use dfc_core::{Amount, NoteId, TxError};
use serde::Serialize;

use crate::engine::Identity;
use crate::proto::{Fidelity, Work};
use crate::scenario::{FlowKind, LossBearer, Scenario, DECIMALS};

mod costs;
mod inclusion;
mod report;
mod turnover;
pub use costs::CostReport;
pub use report::*;
pub use turnover::TurnoverReport;

/// Why a payment failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FailReason {
    /// The payer's online notes do not cover the amount.
    InsufficientFunds,
    /// The payer's tier does not allow a payment this large.
    OverPaymentLimit,
    /// The payee's tier balance limit would be exceeded.
    PayeeOverBalanceLimit,
    /// A remote payment while the payer is offline.
    PayerOffline,
    /// An in-person payment while a party is offline, and a device cannot pay offline.
    NoOfflineSupport,
    /// The payer's certified purse notes do not cover the amount (or it has no purse yet).
    PurseInsufficient,
    /// The payer's wallet was frozen after double-spend evidence.
    WalletFrozen,
    /// Covering the amount needs more notes than a transaction may spend.
    TooManyNotes,
    /// The payee refused: the payer's purse certificate expired.
    CertificateExpired,
    /// The payee refused: the payer's checkpoint is older than its policy allows.
    CheckpointTooOld,
    /// The payee refused: over the certificate's offline cap.
    OverOfflineCap,
    /// The payee refused: it would hold too much unsettled from this payer.
    OverPerPayerLimit,
    /// The payee refused: it would hold too much unsettled in all.
    OverUnsettledLimit,
    /// The packet does not fit one QR code.
    PacketTooLarge,
    /// The payee refused for another reason.
    OfflineRefused,
    /// The ledger refused the transaction.
    LedgerRejected,
    /// A cash-out agent had no cash (an `agent_liquidity` event).
    AgentOutOfCash,
}

impl FailReason {
    /// Every reason, in report order.
    pub const ALL: [FailReason; 17] = [
        FailReason::InsufficientFunds,
        FailReason::OverPaymentLimit,
        FailReason::PayeeOverBalanceLimit,
        FailReason::PayerOffline,
        FailReason::NoOfflineSupport,
        FailReason::PurseInsufficient,
        FailReason::WalletFrozen,
        FailReason::TooManyNotes,
        FailReason::CertificateExpired,
        FailReason::CheckpointTooOld,
        FailReason::OverOfflineCap,
        FailReason::OverPerPayerLimit,
        FailReason::OverUnsettledLimit,
        FailReason::PacketTooLarge,
        FailReason::OfflineRefused,
        FailReason::LedgerRejected,
        FailReason::AgentOutOfCash,
    ];

    /// Snake-case name (CSV column, JSON key).
    pub fn name(self) -> &'static str {
        match self {
            FailReason::InsufficientFunds => "insufficient_funds",
            FailReason::OverPaymentLimit => "over_payment_limit",
            FailReason::PayeeOverBalanceLimit => "payee_over_balance_limit",
            FailReason::PayerOffline => "payer_offline",
            FailReason::NoOfflineSupport => "no_offline_support",
            FailReason::PurseInsufficient => "purse_insufficient",
            FailReason::WalletFrozen => "wallet_frozen",
            FailReason::TooManyNotes => "too_many_notes",
            FailReason::CertificateExpired => "certificate_expired",
            FailReason::CheckpointTooOld => "checkpoint_too_old",
            FailReason::OverOfflineCap => "over_offline_cap",
            FailReason::OverPerPayerLimit => "over_per_payer_limit",
            FailReason::OverUnsettledLimit => "over_unsettled_limit",
            FailReason::PacketTooLarge => "packet_too_large",
            FailReason::OfflineRefused => "offline_refused",
            FailReason::LedgerRejected => "ledger_rejected",
            FailReason::AgentOutOfCash => "agent_out_of_cash",
        }
    }

    /// The reason for a payee's refusal.
    pub fn from_offline(e: &OfflineError) -> FailReason {
        match e {
            OfflineError::CertificateExpired { .. } => FailReason::CertificateExpired,
            OfflineError::CheckpointTooOld { .. } => FailReason::CheckpointTooOld,
            OfflineError::OverCap { .. } => FailReason::OverOfflineCap,
            OfflineError::OverPerPayer { .. } => FailReason::OverPerPayerLimit,
            OfflineError::OverUnsettled { .. } => FailReason::OverUnsettledLimit,
            _ => FailReason::OfflineRefused,
        }
    }
}

/// How a payment was made.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PaymentPath {
    /// Committed to the ledger at once.
    Online,
    /// An offline packet accepted by the payee, settled later.
    Offline,
}

/// One day's figures (a row of `daily.csv`).
#[derive(Clone, Debug, Default, Serialize)]
pub struct DayRow {
    /// Day number from 0.
    pub day: u64,
    /// Payments completed online.
    pub online_payments: u64,
    /// Payments completed offline.
    pub offline_payments: u64,
    /// Value paid online, minor units.
    pub online_value_units: u64,
    /// Value paid offline, minor units.
    pub offline_value_units: u64,
    /// Failed payments by reason.
    pub failed: BTreeMap<FailReason, u64>,
    /// Offline packets settled.
    pub settled: u64,
    /// Double-spend attempts.
    pub double_spend_attempts: u64,
    /// Double spends caught at settlement.
    pub double_spends_caught: u64,
    /// Value lost to double spends caught this day, minor units.
    pub double_spend_loss_units: u64,
    /// Value of accepted offline payments still unsettled at the end of the day (honest ones
    /// and double spenders' claims).
    pub unsettled_value_units: u64,
    /// Change of honest unsettled offline payments, owed back to payers' purses.
    pub pending_change_units: u64,
    /// Ledger supply at the end of the day.
    pub supply_units: u64,
    /// Settled balances by segment at the end of the day (online notes plus purse), minor units.
    pub balance_units_by_segment: Vec<u64>,
    /// Activity by segment this day.
    pub segments: Vec<SegmentDay>,
}

/// One segment's day (a row of `segments_daily.csv`).
#[derive(Clone, Copy, Debug, Default, Serialize)]
pub struct SegmentDay {
    /// Payments its members attempted as payers.
    pub attempted: u64,
    /// Payments its members completed as payers.
    pub made: u64,
    /// Payments its members received.
    pub received: u64,
    /// Value sent, minor units.
    pub sent_units: u64,
    /// Value received, minor units.
    pub received_units: u64,
}

#[derive(Clone, Debug, Default)]
struct SegAcc {
    attempted: u64,
    made: u64,
    received: u64,
    sent_units: u64,
    received_units: u64,
}

/// Figures of one flow kind.
#[derive(Clone, Debug, Default, Serialize)]
pub struct FlowReport {
    /// Payments attempted.
    pub attempted: u64,
    /// Completed.
    pub completed: u64,
    /// Completed offline.
    pub completed_offline: u64,
    /// Failed.
    pub failed: u64,
    /// Value completed.
    pub value: String,
    #[serde(skip)]
    value_units: u64,
}

/// Running metrics of a simulation.
pub struct Metrics {
    name: String,
    description: String,
    fidelity: Fidelity,
    seed: u64,
    days: u64,
    segment_names: Vec<String>,
    segment_kinds: Vec<String>,
    members: Vec<u64>,
    agent_segment: Vec<usize>,
    /// Per agent: 1 + the last day it made a payment (0: never). Compact, so a country-size
    /// population costs 8 bytes per member here.
    last_made: Vec<u32>,
    /// Per agent: 1 + the last day it received a payment (0: never).
    last_received: Vec<u32>,
    segment_region: Vec<Option<String>>,
    segment_gender: Vec<Option<crate::scenario::Gender>>,
    segment_household: Vec<bool>,
    segs: Vec<SegAcc>,
    flows: BTreeMap<FlowKind, FlowReport>,
    /// Day rows.
    pub days_rows: Vec<DayRow>,
    current: DayRow,
    /// Settlement delays: hours -> payments (streaming, exact percentiles).
    delays: BTreeMap<u64, u64>,
    /// Agent-hours per device: (all, offline).
    device_hours: Vec<(u64, u64)>,
    device_names: Vec<String>,
    device_targets: Vec<f64>,
    corridors: Vec<RpwCost>,
    /// Largest unsettled value one merchant held.
    merchant_exposure_peak: u64,
    costs: costs::Costs,
    failed: BTreeMap<FailReason, u64>,
    completed_online: u64,
    completed_offline: u64,
    value_online: u64,
    value_offline: u64,
    tx_bytes: u64,
    proof_bytes: u64,
    inputs: u64,
    payments_with_tx: u64,
    packet_bytes: u64,
    packet_max: u64,
    remit_count: u64,
    remit_value: u64,
    /// Fees in millionths of a minor unit, summed exactly and rounded once.
    remit_fees_micro: u128,
    adversaries: u64,
    adversaries_by_segment: BTreeMap<usize, u64>,
    ds_attempts: u64,
    ds_accepted: u64,
    ds_caught: u64,
    ds_evidence: u64,
    ds_loss: u64,
    ds_loss_by_segment: BTreeMap<usize, u64>,
    ds_bearer: LossBearer,
    settle_rejected: BTreeMap<String, u64>,
    purse_fundings: u64,
    purse_funding_bytes: u64,
    /// Wallets frozen on evidence.
    pub frozen: u64,
    /// Value issued at the start.
    pub issued_initial: u64,
    /// Value issued to top up government and remitter wallets.
    pub issued_topup: u64,
    /// Value issued to compensate payees for double spends.
    pub issued_compensation: u64,
    /// Notes spent by accepted offline packets.
    pub offline_spent_notes: HashSet<NoteId>,
    /// Notes held beyond the turnover limit.
    pub turnover: turnover::TurnoverStats,
    end: Option<EndState>,
}

/// What the engine knows at the end of a run.
pub struct EndInput {
    /// Accepted offline payments not resolved.
    pub pending: u64,
    /// Their value.
    pub pending_value: u64,
    /// Value of those that are double spends.
    pub pending_fraud_value: u64,
    /// Ledger transactions.
    pub tx_count: u64,
    /// Unspent notes.
    pub unspent: u64,
    /// Spent notes (the ledger keeps their ids only).
    pub spent: u64,
    /// Notes held beyond the turnover limit at the end, and their value.
    pub held: (u64, u64),
    /// The accounting identity at the end.
    pub identity: Identity,
}

struct EndState {
    input: EndInput,
    final_balance_by_segment: Vec<u64>,
}

fn money(units: u64) -> String {
    Amount::from_units(units)
        .map(|a| a.display(DECIMALS))
        .unwrap_or_else(|_| units.to_string())
}

/// `num / den`, or 0 when `den` is 0.
fn ratio(num: u64, den: u64) -> f64 {
    if den == 0 {
        0.0
    } else {
        num as f64 / den as f64
    }
}

/// Rounds to 4 decimals, so JSON shows stable short numbers.
fn r4(x: f64) -> f64 {
    (x * 10_000.0).round() / 10_000.0
}

/// Nearest-rank percentile of a histogram (value -> count).
fn percentile(hist: &BTreeMap<u64, u64>, p: u64) -> u64 {
    let n: u64 = hist.values().sum();
    if n == 0 {
        return 0;
    }
    let rank = (p * n).div_ceil(100).max(1);
    let mut seen = 0u64;
    for (v, c) in hist {
        seen += c;
        if seen >= rank {
            return *v;
        }
    }
    hist.keys().next_back().copied().unwrap_or(0)
}

/// `micro` millionths of a minor unit, rounded half up to minor units.
fn round_micro(micro: u128) -> u64 {
    u64::try_from((micro + 500_000) / 1_000_000).unwrap_or(u64::MAX)
}

impl Metrics {
    /// Empty metrics for a run.
    pub fn new(s: &Scenario, fidelity: Fidelity, seed: u64, agent_segment: &[usize]) -> Self {
        Metrics {
            name: s.name.clone(),
            description: s.description.clone(),
            fidelity,
            seed,
            days: u64::from(s.days),
            segment_names: s.segments.iter().map(|g| g.name.clone()).collect(),
            segment_kinds: s
                .segments
                .iter()
                .map(|g| {
                    serde_json::to_value(g.kind)
                        .ok()
                        .and_then(|v| v.as_str().map(str::to_string))
                        .unwrap_or_default()
                })
                .collect(),
            members: s.segments.iter().map(|g| u64::from(g.count)).collect(),
            agent_segment: agent_segment.to_vec(),
            last_made: vec![0; agent_segment.len()],
            last_received: vec![0; agent_segment.len()],
            segment_region: s.segments.iter().map(|g| g.region.clone()).collect(),
            segment_gender: s.segments.iter().map(|g| g.gender).collect(),
            segment_household: s
                .segments
                .iter()
                .map(|g| g.kind == crate::scenario::SegmentKind::Household)
                .collect(),
            segs: vec![SegAcc::default(); s.segments.len()],
            flows: BTreeMap::new(),
            days_rows: Vec::new(),
            current: DayRow::default(),
            delays: BTreeMap::new(),
            merchant_exposure_peak: 0,
            costs: costs::Costs::new(s),
            device_hours: vec![(0, 0); s.devices.len()],
            device_names: s.devices.iter().map(|d| d.name.clone()).collect(),
            device_targets: s.devices.iter().map(|d| d.offline_share).collect(),
            corridors: s
                .flows
                .iter()
                .filter(|f| f.kind == FlowKind::Remittance)
                .map(RpwCost::of)
                .collect(),
            failed: BTreeMap::new(),
            completed_online: 0,
            completed_offline: 0,
            value_online: 0,
            value_offline: 0,
            tx_bytes: 0,
            proof_bytes: 0,
            inputs: 0,
            payments_with_tx: 0,
            packet_bytes: 0,
            packet_max: 0,
            remit_count: 0,
            remit_value: 0,
            remit_fees_micro: 0,
            adversaries: 0,
            adversaries_by_segment: BTreeMap::new(),
            ds_attempts: 0,
            ds_accepted: 0,
            ds_caught: 0,
            ds_evidence: 0,
            ds_loss: 0,
            ds_loss_by_segment: BTreeMap::new(),
            ds_bearer: s.policy.loss_bearer,
            settle_rejected: BTreeMap::new(),
            purse_fundings: 0,
            purse_funding_bytes: 0,
            frozen: 0,
            issued_initial: 0,
            issued_topup: 0,
            issued_compensation: 0,
            offline_spent_notes: HashSet::new(),
            turnover: turnover::TurnoverStats::default(),
            end: None,
        }
    }

    /// Records a double spender.
    pub fn adversary(&mut self, _agent: usize, segment: usize) {
        self.adversaries += 1;
        *self.adversaries_by_segment.entry(segment).or_default() += 1;
    }

    /// Connectivity of one hour: `offline` of `all` devices of profile `device` were offline.
    pub fn device_hour(&mut self, device: usize, all: u64, offline: u64) {
        let d = &mut self.device_hours[device];
        d.0 += all;
        d.1 += offline;
    }

    /// The agents' float threshold for a rebalancing trip, minor units.
    pub fn rebalance_below(&self) -> Option<u64> {
        self.costs.rebalance_below()
    }

    /// `count` agents ended the day below the rebalancing threshold.
    pub fn low_float_agents(&mut self, count: u64) {
        self.costs.low_float_agents(count);
    }

    fn seg_day(&mut self, i: usize) -> &mut SegmentDay {
        let n = self.segment_names.len();
        let segs = &mut self.current.segments;
        if segs.len() < n {
            segs.resize(n, SegmentDay::default());
        }
        &mut segs[i]
    }

    /// A merchant now holds `owed` unsettled.
    pub fn merchant_exposure(&mut self, owed: u64) {
        self.merchant_exposure_peak = self.merchant_exposure_peak.max(owed);
    }

    /// Fees moved on the ledger with a completed payment (minor units).
    pub fn fees_moved(&mut self, scheme: u64, commission: u64) {
        self.costs.moved(scheme, commission);
    }

    /// A payment was attempted.
    pub fn attempt(&mut self, flow: FlowKind, payer_segment: usize) {
        self.seg_day(payer_segment).attempted += 1;
        self.flows.entry(flow).or_default().attempted += 1;
        self.segs[payer_segment].attempted += 1;
    }

    /// A payment failed.
    pub fn failed(&mut self, flow: FlowKind, reason: FailReason, _day: u64) {
        self.flows.entry(flow).or_default().failed += 1;
        *self.failed.entry(reason).or_default() += 1;
        *self.current.failed.entry(reason).or_default() += 1;
    }

    /// A payment completed.
    #[allow(clippy::too_many_arguments)]
    pub fn completed(
        &mut self,
        flow: FlowKind,
        path: PaymentPath,
        payer: (usize, usize),
        payee: (usize, usize),
        units: u64,
        fee_micro: u128,
        day: u64,
        sizes: (usize, usize, usize),
        inputs: usize,
    ) {
        let f = self.flows.entry(flow).or_default();
        f.completed += 1;
        f.value_units += units;
        match path {
            PaymentPath::Online => {
                self.completed_online += 1;
                self.value_online += units;
                self.current.online_payments += 1;
                self.current.online_value_units += units;
            }
            PaymentPath::Offline => {
                f.completed_offline += 1;
                self.completed_offline += 1;
                self.value_offline += units;
                self.current.offline_payments += 1;
                self.current.offline_value_units += units;
                let pb = u64::try_from(sizes.2).unwrap_or(u64::MAX);
                self.packet_bytes += pb;
                self.packet_max = self.packet_max.max(pb);
            }
        }
        self.costs.payment(flow, units);
        let stamp = u32::try_from(day + 1).unwrap_or(u32::MAX);
        self.last_made[payer.0] = stamp;
        self.last_received[payee.0] = stamp;
        self.segs[payer.1].made += 1;
        self.segs[payer.1].sent_units += units;
        let d = self.seg_day(payer.1);
        d.made += 1;
        d.sent_units += units;
        let d = self.seg_day(payee.1);
        d.received += 1;
        d.received_units += units;
        self.segs[payee.1].received += 1;
        self.segs[payee.1].received_units += units;
        self.tx_bytes += u64::try_from(sizes.0).unwrap_or(u64::MAX);
        self.proof_bytes += u64::try_from(sizes.1).unwrap_or(u64::MAX);
        self.inputs += u64::try_from(inputs).unwrap_or(u64::MAX);
        self.payments_with_tx += 1;
        if flow == FlowKind::Remittance {
            self.remit_count += 1;
            self.remit_value += units;
            self.remit_fees_micro += fee_micro;
        }
    }

    /// An offline packet settled `delay` hours after it was paid.
    pub fn settled(&mut self, delay_hours: u64, _day: u64) {
        *self.delays.entry(delay_hours).or_default() += 1;
        self.current.settled += 1;
    }

    /// A packet spending an already spent note was offered to a payee.
    pub fn double_spend_attempt(&mut self, accepted: bool, _day: u64) {
        self.ds_attempts += 1;
        self.current.double_spend_attempts += 1;
        if accepted {
            self.ds_accepted += 1;
        }
    }

    /// A double spend was caught at settlement.
    pub fn caught(
        &mut self,
        units: u64,
        payee_segment: usize,
        bearer: LossBearer,
        evidence_ok: bool,
        _day: u64,
    ) {
        self.ds_caught += 1;
        self.ds_loss += units;
        self.ds_bearer = bearer;
        if evidence_ok {
            self.ds_evidence += 1;
        }
        *self.ds_loss_by_segment.entry(payee_segment).or_default() += units;
        self.current.double_spends_caught += 1;
        self.current.double_spend_loss_units += units;
    }

    /// Settlement refused a packet for a reason other than a double spend.
    pub fn settlement_rejected(&mut self, e: &TxError) {
        let key = format!("{e:?}")
            .split([' ', '{', '('])
            .next()
            .unwrap_or("other")
            .to_string();
        *self.settle_rejected.entry(key).or_default() += 1;
    }

    /// A purse was funded.
    pub fn purse_funded(&mut self, bytes: usize, _proof_bytes: usize) {
        self.purse_fundings += 1;
        self.purse_funding_bytes += u64::try_from(bytes).unwrap_or(u64::MAX);
    }

    /// Closes a day.
    pub fn end_of_day(&mut self, day: u64, balances: Vec<u64>, id: Identity) {
        let mut row = std::mem::take(&mut self.current);
        row.day = day;
        row.unsettled_value_units = id.unsettled + id.double_spend_claims;
        row.pending_change_units = id.pending_change;
        row.supply_units = id.supply;
        row.balance_units_by_segment = balances;
        row.segments
            .resize(self.segment_names.len(), SegmentDay::default());
        self.days_rows.push(row);
    }

    /// Records the end state.
    pub fn finish(&mut self, input: EndInput, balances: &[(usize, u64)]) {
        let mut by_seg = vec![0u64; self.segment_names.len()];
        for (s, u) in balances {
            by_seg[*s] += u;
        }
        self.end = Some(EndState {
            input,
            final_balance_by_segment: by_seg,
        });
    }

    /// The report.
    pub fn report(&self, work: Work) -> Report {
        let completed = self.completed_online + self.completed_offline;
        let failed: u64 = self.failed.values().sum();
        let end = self.end.as_ref();
        let mut made_by_seg = vec![0u64; self.segment_names.len()];
        let mut recv_by_seg = vec![0u64; self.segment_names.len()];
        for (a, seg) in self.agent_segment.iter().enumerate() {
            made_by_seg[*seg] += u64::from(self.last_made[a] > 0);
            recv_by_seg[*seg] += u64::from(self.last_received[a] > 0);
        }
        let inclusion = self.inclusion();
        let segments = (0..self.segment_names.len())
            .map(|i| {
                let s = &self.segs[i];
                let bal = end.map(|e| e.final_balance_by_segment[i]).unwrap_or(0);
                SegmentReport {
                    name: self.segment_names[i].clone(),
                    kind: self.segment_kinds[i].clone(),
                    members: self.members[i],
                    made_payment_share: r4(ratio(made_by_seg[i], self.members[i])),
                    received_payment_share: r4(ratio(recv_by_seg[i], self.members[i])),
                    account_use_share: inclusion.segment_share(i),
                    payments_attempted: s.attempted,
                    payments_made: s.made,
                    payments_received: s.received,
                    value_sent: money(s.sent_units),
                    value_received: money(s.received_units),
                    final_balance_total: money(bal),
                    final_balance_mean: money(bal / self.members[i].max(1)),
                    adversaries: self.adversaries_by_segment.get(&i).copied().unwrap_or(0),
                    double_spend_loss_borne: money(if self.ds_bearer == LossBearer::Payee {
                        self.ds_loss_by_segment.get(&i).copied().unwrap_or(0)
                    } else {
                        0
                    }),
                }
            })
            .collect();
        // Delays are whole hourly ticks and at least 1: a payment made offline in one hour can
        // settle from the next hour on, so the first bucket is "1 hour".
        let buckets: [(&str, u64, u64); 6] = [
            ("1 hour", 0, 1),
            ("2-6 hours", 2, 6),
            ("7-24 hours", 7, 24),
            ("25-72 hours", 25, 72),
            ("73-168 hours", 73, 168),
            ("over 168 hours", 169, u64::MAX),
        ];
        let histogram = buckets
            .iter()
            .map(|(label, lo, hi)| DelayBucket {
                bucket: (*label).to_string(),
                count: self.delays.range(*lo..=*hi).map(|(_, c)| c).sum(),
            })
            .collect();
        let settled: u64 = self.delays.values().sum();
        let delay_sum: u64 = self.delays.iter().map(|(d, c)| d * c).sum();
        let flows = FlowKind::ALL
            .iter()
            .filter_map(|k| {
                self.flows.get(k).map(|f| {
                    let mut f = f.clone();
                    f.value = money(f.value_units);
                    (k.name().to_string(), f)
                })
            })
            .collect();
        let loss_payee = if self.ds_bearer == LossBearer::Payee {
            self.ds_loss
        } else {
            0
        };
        Report {
            scenario: self.name.clone(),
            description: self.description.clone(),
            fidelity: self.fidelity.name().to_string(),
            seed: self.seed,
            days: self.days,
            population: self.members.iter().sum(),
            currency_decimals: DECIMALS,
            payments: PaymentsReport {
                attempted: completed + failed,
                completed,
                completed_online: self.completed_online,
                completed_offline: self.completed_offline,
                offline_share: r4(ratio(self.completed_offline, completed)),
                value_completed: money(self.value_online + self.value_offline),
                value_online: money(self.value_online),
                value_offline: money(self.value_offline),
                failed,
                failure_rate: r4(ratio(failed, completed + failed)),
                failed_by_reason: FailReason::ALL
                    .iter()
                    .map(|r| {
                        (
                            r.name().to_string(),
                            self.failed.get(r).copied().unwrap_or(0),
                        )
                    })
                    .collect(),
                by_flow: flows,
            },
            segments,
            inclusion: inclusion.report,
            settlement: SettlementReport {
                offline_settled: settled,
                delay_hours_mean: r4(ratio(delay_sum, settled)),
                delay_hours_p50: percentile(&self.delays, 50),
                delay_hours_p90: percentile(&self.delays, 90),
                delay_hours_p99: percentile(&self.delays, 99),
                delay_hours_max: self.delays.keys().next_back().copied().unwrap_or(0),
                histogram,
                unsettled_at_end: end.map(|e| e.input.pending).unwrap_or(0),
                unsettled_value_at_end: money(end.map(|e| e.input.pending_value).unwrap_or(0)),
                rejected_other_than_double_spend: self.settle_rejected.clone(),
            },
            double_spend: DoubleSpendReport {
                adversaries: self.adversaries,
                attempts: self.ds_attempts,
                attempts_accepted_offline: self.ds_accepted,
                caught: self.ds_caught,
                caught_with_evidence: self.ds_evidence,
                loss: money(self.ds_loss),
                loss_borne_by_payees: money(loss_payee),
                loss_borne_by_central_bank: money(self.ds_loss - loss_payee),
                undetected_at_end: money(end.map(|e| e.input.pending_fraud_value).unwrap_or(0)),
                wallets_frozen: self.frozen,
            },
            remittances: RemittanceReport {
                count: self.remit_count,
                value: money(self.remit_value),
                fees: money(round_micro(self.remit_fees_micro)),
                cost_percent_of_value: r4(if self.remit_value == 0 {
                    0.0
                } else {
                    self.remit_fees_micro as f64 / 1e6 / self.remit_value as f64 * 100.0
                }),
                corridors: self.corridors.clone(),
            },
            issuance: IssuanceReport {
                initial: money(self.issued_initial),
                top_ups: money(self.issued_topup),
                double_spend_compensation: money(self.issued_compensation),
                supply_at_end: money(end.map(|e| e.input.identity.supply).unwrap_or(0)),
            },
            ledger: LedgerReport {
                transactions: end.map(|e| e.input.tx_count).unwrap_or(0),
                unspent_notes: end.map(|e| e.input.unspent).unwrap_or(0),
                spent_notes: end.map(|e| e.input.spent).unwrap_or(0),
                purse_fundings: self.purse_fundings,
                supply_audit: "passed".into(),
            },
            accounting: end
                .map(|e| AccountingReport::of(&e.input.identity))
                .unwrap_or_default(),
            calibration: Vec::new(),
            costs: self.costs.report(),
            turnover: self
                .turnover
                .report(end.map(|e| e.input.held).unwrap_or((0, 0))),
            exposure: {
                let (peak_day, peak) = self
                    .days_rows
                    .iter()
                    .map(|d| (d.day, d.unsettled_value_units))
                    .fold((0, 0), |acc, x| if x.1 > acc.1 { x } else { acc });
                ExposureReport {
                    peak_per_merchant: money(self.merchant_exposure_peak),
                    peak_day_total: money(peak),
                    peak_day,
                }
            },
            connectivity: (0..self.device_names.len())
                .map(|d| DeviceReport {
                    device: self.device_names[d].clone(),
                    offline_share_target: self.device_targets[d],
                    offline_hour_share: r4(ratio(self.device_hours[d].1, self.device_hours[d].0)),
                    agent_hours: self.device_hours[d].0,
                })
                .collect(),
            per_payment: PerPaymentReport {
                tx_bytes_mean: r4(ratio(self.tx_bytes, self.payments_with_tx)),
                range_proof_bytes_mean: r4(ratio(self.proof_bytes, self.payments_with_tx)),
                inputs_mean: r4(ratio(self.inputs, self.payments_with_tx)),
                offline_packet_bytes_mean: r4(ratio(self.packet_bytes, self.completed_offline)),
                offline_packet_bytes_max: self.packet_max,
                range_proofs_to_verify: 1,
                owner_signatures_to_verify_mean: r4(ratio(self.inputs, self.payments_with_tx)),
                offline_extra_signatures_to_verify: 3,
                purse_funding_tx_bytes_mean: r4(ratio(
                    self.purse_funding_bytes,
                    self.purse_fundings,
                )),
            },
            compute: work,
        }
    }
}
