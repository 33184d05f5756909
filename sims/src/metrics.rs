//! What a run measures, and the report it produces. Everything here is counts and amounts in
//! minor units, so the same run gives the same report byte for byte.

use std::collections::{BTreeMap, HashSet};

use dfc_core::offline::OfflineError;
use dfc_core::{Amount, NoteId, TxError};
use serde::Serialize;

use crate::proto::{Fidelity, Work};
use crate::scenario::{FlowKind, LossBearer, Scenario, DECIMALS};

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
}

impl FailReason {
    /// Every reason, in report order.
    pub const ALL: [FailReason; 16] = [
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
    /// Value of accepted offline payments still unsettled at the end of the day.
    pub unsettled_value_units: u64,
    /// Settled balances by segment at the end of the day (online notes plus purse), minor units.
    pub balance_units_by_segment: Vec<u64>,
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
    made: HashSet<usize>,
    received: HashSet<usize>,
    segs: Vec<SegAcc>,
    flows: BTreeMap<FlowKind, FlowReport>,
    /// Day rows.
    pub days_rows: Vec<DayRow>,
    current: DayRow,
    delays: Vec<u64>,
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
    remit_fees: u64,
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
    end: Option<EndState>,
}

struct EndState {
    pending: u64,
    pending_value: u64,
    pending_fraud_value: u64,
    final_balance_by_segment: Vec<u64>,
    tx_count: u64,
    unspent: u64,
    supply: u64,
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

fn percentile(sorted: &[u64], p: u64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    let rank = (p * u64::try_from(sorted.len()).unwrap_or(u64::MAX)).div_ceil(100);
    let idx = usize::try_from(rank.saturating_sub(1)).unwrap_or(0);
    sorted[idx.min(sorted.len() - 1)]
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
            made: HashSet::new(),
            received: HashSet::new(),
            segs: vec![SegAcc::default(); s.segments.len()],
            flows: BTreeMap::new(),
            days_rows: Vec::new(),
            current: DayRow::default(),
            delays: Vec::new(),
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
            remit_fees: 0,
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
            end: None,
        }
    }

    /// Records a double spender.
    pub fn adversary(&mut self, _agent: usize, segment: usize) {
        self.adversaries += 1;
        *self.adversaries_by_segment.entry(segment).or_default() += 1;
    }

    /// A payment was attempted.
    pub fn attempt(&mut self, flow: FlowKind, payer_segment: usize) {
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
        fee_units: u64,
        _day: u64,
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
        self.made.insert(payer.0);
        self.received.insert(payee.0);
        self.segs[payer.1].made += 1;
        self.segs[payer.1].sent_units += units;
        self.segs[payee.1].received += 1;
        self.segs[payee.1].received_units += units;
        self.tx_bytes += u64::try_from(sizes.0).unwrap_or(u64::MAX);
        self.proof_bytes += u64::try_from(sizes.1).unwrap_or(u64::MAX);
        self.inputs += u64::try_from(inputs).unwrap_or(u64::MAX);
        self.payments_with_tx += 1;
        if flow == FlowKind::Remittance {
            self.remit_count += 1;
            self.remit_value += units;
            self.remit_fees += fee_units;
        }
    }

    /// An offline packet settled `delay` hours after it was paid.
    pub fn settled(&mut self, delay_hours: u64, _day: u64) {
        self.delays.push(delay_hours);
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
    pub fn end_of_day(
        &mut self,
        day: u64,
        balances: Vec<u64>,
        pending_units: u64,
        _held_units: u64,
    ) {
        let mut row = std::mem::take(&mut self.current);
        row.day = day;
        row.unsettled_value_units = pending_units;
        row.balance_units_by_segment = balances;
        self.days_rows.push(row);
    }

    /// Records the end state.
    #[allow(clippy::too_many_arguments)]
    pub fn finish(
        &mut self,
        pending: u64,
        pending_value: u64,
        pending_fraud_value: u64,
        balances: &[(usize, u64)],
        tx_count: u64,
        unspent: u64,
        supply: u64,
    ) {
        let mut by_seg = vec![0u64; self.segment_names.len()];
        for (s, u) in balances {
            by_seg[*s] += u;
        }
        self.end = Some(EndState {
            pending,
            pending_value,
            pending_fraud_value,
            final_balance_by_segment: by_seg,
            tx_count,
            unspent,
            supply,
        });
    }

    /// The report.
    pub fn report(&self, work: Work) -> Report {
        let completed = self.completed_online + self.completed_offline;
        let failed: u64 = self.failed.values().sum();
        let end = self.end.as_ref();
        let mut made_by_seg = vec![0u64; self.segment_names.len()];
        let mut recv_by_seg = vec![0u64; self.segment_names.len()];
        for a in &self.made {
            made_by_seg[self.agent_segment[*a]] += 1;
        }
        for a in &self.received {
            recv_by_seg[self.agent_segment[*a]] += 1;
        }
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
        let mut delays = self.delays.clone();
        delays.sort_unstable();
        let buckets: [(&str, u64, u64); 6] = [
            ("under 1 hour", 0, 0),
            ("1-6 hours", 1, 6),
            ("7-24 hours", 7, 24),
            ("1-3 days", 25, 72),
            ("3-7 days", 73, 168),
            ("over 7 days", 169, u64::MAX),
        ];
        let histogram = buckets
            .iter()
            .map(|(label, lo, hi)| DelayBucket {
                bucket: (*label).to_string(),
                count: delays.iter().filter(|d| **d >= *lo && **d <= *hi).count() as u64,
            })
            .collect();
        let delay_sum: u64 = delays.iter().sum();
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
            settlement: SettlementReport {
                offline_settled: u64::try_from(delays.len()).unwrap_or(u64::MAX),
                delay_hours_mean: r4(ratio(delay_sum, delays.len() as u64)),
                delay_hours_p50: percentile(&delays, 50),
                delay_hours_p90: percentile(&delays, 90),
                delay_hours_p99: percentile(&delays, 99),
                delay_hours_max: delays.last().copied().unwrap_or(0),
                histogram,
                unsettled_at_end: end.map(|e| e.pending).unwrap_or(0),
                unsettled_value_at_end: money(end.map(|e| e.pending_value).unwrap_or(0)),
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
                undetected_at_end: money(end.map(|e| e.pending_fraud_value).unwrap_or(0)),
                wallets_frozen: self.frozen,
            },
            remittances: RemittanceReport {
                count: self.remit_count,
                value: money(self.remit_value),
                fees: money(self.remit_fees),
                cost_percent: r4(100.0 * ratio(self.remit_fees, self.remit_value)),
            },
            issuance: IssuanceReport {
                initial: money(self.issued_initial),
                top_ups: money(self.issued_topup),
                double_spend_compensation: money(self.issued_compensation),
                supply_at_end: money(end.map(|e| e.supply).unwrap_or(0)),
            },
            ledger: LedgerReport {
                transactions: end.map(|e| e.tx_count).unwrap_or(0),
                unspent_notes: end.map(|e| e.unspent).unwrap_or(0),
                purse_fundings: self.purse_fundings,
                supply_audit: "passed".into(),
            },
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

/// `report.json`.
#[derive(Clone, Debug, Serialize)]
pub struct Report {
    /// Scenario name.
    pub scenario: String,
    /// Scenario description.
    pub description: String,
    /// Which fidelity made the report: `full` or `fast`.
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
    /// Fees paid by senders.
    pub fees: String,
    /// Fees as a percentage of value.
    pub cost_percent: f64,
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
