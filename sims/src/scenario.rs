//! Scenario files: who lives in the simulated economy, how they connect, how money flows, which
//! policy applies and who cheats. Parsed strictly from TOML (unknown fields are errors) and then
//! validated; every error names the field it is about. `docs/sims.md` documents every field.

use std::collections::BTreeSet;

use dfc_core::Amount;
use serde::{Deserialize, Deserializer, Serialize};
use thiserror::Error;

mod events;
mod fees;
pub use events::{Event, EventKind};
pub use fees::Fees;

/// Decimals of the simulated currency: scenario amounts are written like `"12.50"`.
pub const DECIMALS: u8 = 2;
/// Longest simulation, in days.
pub const MAX_DAYS: u32 = 3_650;
/// Most members in one segment.
pub const MAX_SEGMENT_COUNT: u32 = 1_000_000;
/// Tolerance when checking that shares add up to 1.
pub const SHARE_TOLERANCE: f64 = 1e-6;

/// An amount written in a scenario as a decimal string such as `"12.50"`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(into = "String")]
pub struct Money(pub Amount);

impl From<Money> for String {
    fn from(m: Money) -> String {
        m.0.display(DECIMALS)
    }
}

impl<'de> Deserialize<'de> for Money {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        Amount::parse(&text, DECIMALS)
            .map(Money)
            .map_err(|e| serde::de::Error::custom(format!("amount '{text}': {e}")))
    }
}

impl Money {
    /// Minor units.
    pub fn units(self) -> u64 {
        self.0.units()
    }
}

/// A whole scenario.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// Short name, shown in reports.
    pub name: String,
    /// What the scenario represents, for the analyst reading the report.
    pub description: String,
    /// Simulated days (each day has 24 hourly ticks).
    pub days: u32,
    /// Seed used when `dfc-sim run` gets no `--seed`.
    pub seed: u64,
    /// Limits, offline rules and who bears offline losses.
    pub policy: Policy,
    /// Device and connectivity profiles, referred to by segments.
    pub devices: Vec<Device>,
    /// Population segments.
    pub segments: Vec<Segment>,
    /// Payment flows between segments.
    pub flows: Vec<Flow>,
    /// Offline cheats.
    pub adversaries: Adversaries,
    /// Shocks and parameter changes at given days (optional).
    #[serde(default)]
    pub events: Vec<Event>,
    /// Published figures the baseline is compared with (optional).
    #[serde(default)]
    pub calibration: Vec<Calibration>,
}

/// A published figure a simulated metric should be compared with.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Calibration {
    /// A metric name as in `intervals.csv` (e.g. `account_use_households`).
    pub metric: String,
    /// The published value, in the metric's unit (shares as fractions, costs in percent).
    pub value: f64,
    /// Where the figure comes from: publication, table, year.
    pub source: String,
}

/// Policy: KYC tiers, offline purse rules, payee acceptance, loss allocation.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Policy {
    /// KYC tiers, lightest first (tier 0, 1, ...). Their limits become the network parameters.
    pub tiers: Vec<Tier>,
    /// Number of notes a purse is funded with, so that several offline payments can be made
    /// between two connections (each offline payment spends whole certified notes).
    pub purse_notes: u32,
    /// Hours a purse certificate stays valid after it is issued or renewed.
    pub certificate_validity_hours: u32,
    /// What payees accept offline.
    pub acceptance: Acceptance,
    /// Who bears the value lost to an offline double spend: `payee` or `central_bank` (which then
    /// issues the payee's loss back to it).
    pub loss_bearer: LossBearer,
    /// Whether the central bank freezes a wallet once double-spend evidence names it.
    pub freeze_on_evidence: bool,
    /// Domestic fee schedule (optional).
    #[serde(default)]
    pub fees: Fees,
    /// Length of the turnover period in days (1..366; optional, the protocol's default of 30):
    /// a tier's `max_inflow` applies to what a wallet receives in one period.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub turnover_period_days: Option<u32>,
}

/// One KYC tier.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Tier {
    /// Human name, e.g. "phone only".
    pub name: String,
    /// Largest single payment a wallet of the tier may make.
    pub max_payment: Money,
    /// Largest balance a wallet of the tier may hold; a payment that would take the payee above
    /// it fails.
    pub max_balance: Money,
    /// Most a wallet of the tier may hold in its offline purse (and pay in one offline payment).
    pub offline_cap: Money,
    /// Turnover limit: the most a wallet of the tier may receive (claim) in one turnover period
    /// (optional: no limit). Money received beyond it is held, pending, until a later period.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_inflow: Option<Money>,
}

/// A payee's offline acceptance policy (the same fields as `dfc_core::offline::AcceptPolicy`).
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Acceptance {
    /// Most a payee holds unsettled from one payer.
    pub max_per_payer: Money,
    /// Most a payee holds unsettled in all.
    pub max_unsettled: Money,
    /// Oldest payer checkpoint accepted, in hours.
    pub max_checkpoint_age_hours: u32,
}

/// Who bears offline double-spend losses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LossBearer {
    /// The payee who accepted the packet loses the value.
    Payee,
    /// The central bank makes the payee whole by issuing the lost value to it.
    CentralBank,
}

/// A device and connectivity profile.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Device {
    /// Name segments refer to.
    pub name: String,
    /// Long-run share of hours the device is offline, in `[0, 1)`.
    pub offline_share: f64,
    /// Mean length of an outage, in hours (at least 1).
    pub mean_outage_hours: f64,
    /// Whether the device can make and accept offline payments (a purse and a local channel such
    /// as NFC or QR).
    pub offline_payments: bool,
}

/// What members of a segment are.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SegmentKind {
    /// A household (needs an income band).
    Household,
    /// A merchant.
    Merchant,
    /// A cash-in/cash-out agent.
    Agent,
    /// The government payer of transfer programmes (topped up by issuance every day).
    Government,
    /// A remittance company paying out transfers from abroad (topped up by issuance every day).
    Remitter,
}

/// Income band of a household segment.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum IncomeBand {
    /// Low income.
    Low,
    /// Middle income.
    Middle,
    /// High income.
    High,
}

/// Gender of a segment's members, for the Findex-style breakdown.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Gender {
    /// Women.
    Female,
    /// Men.
    Male,
}

/// A population segment.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Segment {
    /// Name flows refer to; unique.
    pub name: String,
    /// What the members are.
    pub kind: SegmentKind,
    /// Income band: required for households, refused for other kinds.
    pub income_band: Option<IncomeBand>,
    /// Number of members.
    pub count: u32,
    /// Balance each member starts with (issued at the start).
    pub initial_balance: Money,
    /// Name of the device profile of the members.
    pub device: String,
    /// Region the members live in (optional): account use is reported by region.
    #[serde(default)]
    pub region: Option<String>,
    /// Gender of the members (optional; a segment per gender): account use is reported by
    /// gender.
    #[serde(default)]
    pub gender: Option<Gender>,
    /// Share of members in each KYC tier, one share per tier of `policy.tiers`; adds up to 1.
    pub tier_mix: Vec<f64>,
}

/// Kind of a payment flow.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FlowKind {
    /// Person to person, in person.
    P2p,
    /// A household buying from a merchant, in person.
    Merchant,
    /// Government to person, remote, on a schedule.
    G2p,
    /// A transfer from abroad paid out by a remitter, remote, with a fee paid by the sender.
    Remittance,
    /// A household hands cash to an agent, who pays it in dfc, in person.
    CashIn,
    /// A household pays an agent in dfc and gets cash, in person.
    CashOut,
}

impl FlowKind {
    /// All kinds, in report order.
    pub const ALL: [FlowKind; 6] = [
        FlowKind::P2p,
        FlowKind::Merchant,
        FlowKind::G2p,
        FlowKind::Remittance,
        FlowKind::CashIn,
        FlowKind::CashOut,
    ];

    /// Lower-case name.
    pub fn name(self) -> &'static str {
        match self {
            FlowKind::P2p => "p2p",
            FlowKind::Merchant => "merchant",
            FlowKind::G2p => "g2p",
            FlowKind::Remittance => "remittance",
            FlowKind::CashIn => "cash_in",
            FlowKind::CashOut => "cash_out",
        }
    }

    /// Whether the two parties meet: then a payment goes offline when either is offline.
    /// Remote payments need the payer online.
    pub fn in_person(self) -> bool {
        !matches!(self, FlowKind::G2p | FlowKind::Remittance)
    }

    /// Whether the member of `to` starts the payment (cash-in, remittance pay-out), so `per_day`
    /// counts per member of `to`.
    pub fn initiated_by_payee(self) -> bool {
        matches!(self, FlowKind::CashIn | FlowKind::Remittance)
    }
}

/// A payment flow from members of one segment to members of another.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Flow {
    /// Kind of flow.
    pub kind: FlowKind,
    /// Paying segment.
    pub from: String,
    /// Paid segment.
    pub to: String,
    /// Expected payments per day per member of the initiating segment (`from`, or `to` for
    /// `cash_in` and `remittance`); at most 24. Refused for `g2p`.
    pub per_day: Option<f64>,
    /// For `g2p` only: every member of `to` is paid once every this many days.
    pub interval_days: Option<u32>,
    /// Smallest payment.
    pub amount_min: Money,
    /// Largest payment.
    pub amount_max: Money,
    /// For `remittance` only: fee paid by the sender abroad, percent of the amount.
    pub fee_percent: Option<f64>,
    /// For `remittance` only: fixed fee per transfer paid by the sender abroad.
    pub fee_fixed: Option<Money>,
    /// For `remittance` only, optional (default 0): exchange-rate margin, percent, counted in
    /// the cost on the Remittance Prices Worldwide basis.
    #[serde(default)]
    pub fx_margin_percent: Option<f64>,
    /// For `remittance` only, optional (default 200.00): the send amount equivalent to USD 200,
    /// the Remittance Prices Worldwide basis.
    #[serde(default)]
    pub rpw_basis: Option<Money>,
    /// Optional daily activity curve: 24 non-negative weights, one per hour from 00:00; a
    /// member's chance to pay in hour h is per_day × w[h] / Σw (flat when absent). Not for g2p
    /// (office hours).
    #[serde(default)]
    pub hourly_profile: Option<Vec<f64>>,
}

/// Offline double spenders.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Adversaries {
    /// Share of the offline-capable members of `segments` who double-spend their purse notes
    /// offline, in `[0, 1]`.
    pub double_spend_share: f64,
    /// Segments the double spenders come from.
    pub segments: Vec<String>,
}

/// Why a scenario is refused. Every variant names the field.
#[derive(Debug, Error)]
pub enum ScenarioError {
    /// The TOML does not parse or does not match the schema (unknown field, missing field,
    /// wrong type); the message names the field and its line.
    #[error("scenario does not parse: {0}")]
    Parse(String),
    /// A field's value is not allowed.
    #[error("{field}: {reason}")]
    Invalid {
        /// Path of the field, e.g. `segments[1].tier_mix`.
        field: String,
        /// Why.
        reason: String,
    },
}

fn invalid(field: impl Into<String>, reason: impl Into<String>) -> ScenarioError {
    ScenarioError::Invalid {
        field: field.into(),
        reason: reason.into(),
    }
}

/// Checks a share is a number in `[0, max]`.
fn share(field: &str, value: f64, max: f64) -> Result<(), ScenarioError> {
    if !value.is_finite() {
        return Err(invalid(field, "must be a finite number"));
    }
    if value < 0.0 {
        return Err(invalid(field, format!("share {value} is negative")));
    }
    if value > max {
        return Err(invalid(field, format!("{value} is above {max}")));
    }
    Ok(())
}

/// Checks a rate (events per day) is a number in `[0, max]`.
fn rate(field: &str, value: f64, max: f64) -> Result<(), ScenarioError> {
    if !value.is_finite() {
        return Err(invalid(field, "must be a finite number"));
    }
    if value < 0.0 {
        return Err(invalid(field, format!("{value} is negative")));
    }
    if value > max {
        return Err(invalid(field, format!("{value} is above {max}")));
    }
    Ok(())
}

/// An hourly profile: 24 weights ≥ 0, not all 0, and at most one payment per member an hour:
/// per_day × w[h] / Σw ≤ 1 for every hour h.
pub fn check_profile(field: &str, per_day: f64, w: &[f64]) -> Result<(), ScenarioError> {
    if w.len() != 24 {
        return Err(invalid(
            field,
            format!("{} weights, one per hour (24) needed", w.len()),
        ));
    }
    for (h, x) in w.iter().enumerate() {
        if !x.is_finite() || *x < 0.0 {
            return Err(invalid(format!("{field}[{h}]"), format!("{x} is negative")));
        }
    }
    let sum: f64 = w.iter().sum();
    if sum <= 0.0 {
        return Err(invalid(field, "all weights are 0"));
    }
    for (h, x) in w.iter().enumerate() {
        let p = per_day * x / sum;
        if p > 1.0 + 1e-9 {
            return Err(invalid(
                field,
                format!(
                    "per_day × w[{h}] / Σw = {per_day} × {x} / {} = {} is above 1 (at most one \
                     payment per member an hour)",
                    round9(sum),
                    round9(p)
                ),
            ));
        }
    }
    Ok(())
}

/// `x` rounded to 9 decimals, so sums of shares print as written (0.9, not 0.8999999999999999).
pub fn round9(x: f64) -> f64 {
    (x * 1e9).round() / 1e9
}

/// Connectivity is a two-state Markov chain: online -> offline with probability p_off, offline
/// -> online with p_on = 1 / m (m = mean outage hours). Its long-run offline share is
/// s = p_off / (p_off + p_on), so p_off = s / (1 − s) / m, which must be at most 1:
/// m ≥ s / (1 − s).
pub fn check_outage(
    field: &str,
    offline_share: f64,
    mean_outage_hours: f64,
) -> Result<(), ScenarioError> {
    if offline_share <= 0.0 {
        return Ok(());
    }
    let min = offline_share / (1.0 - offline_share);
    if mean_outage_hours + 1e-9 < min {
        return Err(invalid(
            field,
            format!(
                "{mean_outage_hours} is too short for offline_share {offline_share}: a device that \
                 goes offline at most once an hour needs mean_outage_hours ≥ s / (1 − s) = \
                 {offline_share} / {} = {}",
                round9(1.0 - offline_share),
                (min * 1000.0).ceil() / 1000.0
            ),
        ));
    }
    Ok(())
}

impl Scenario {
    /// Parses and validates a scenario.
    pub fn from_toml(text: &str) -> Result<Scenario, ScenarioError> {
        let s: Scenario = toml::from_str(text).map_err(|e| ScenarioError::Parse(e.to_string()))?;
        s.validate()?;
        Ok(s)
    }

    /// Index of the segment named `name`.
    pub fn segment_index(&self, name: &str) -> Option<usize> {
        self.segments.iter().position(|s| s.name == name)
    }

    /// Index of the device named `name`.
    pub fn device_index(&self, name: &str) -> Option<usize> {
        self.devices.iter().position(|d| d.name == name)
    }

    /// Total members.
    pub fn population(&self) -> u64 {
        self.segments.iter().map(|s| u64::from(s.count)).sum()
    }

    /// Checks every rule a parsed scenario must meet.
    pub fn validate(&self) -> Result<(), ScenarioError> {
        if self.name.trim().is_empty() {
            return Err(invalid("name", "must not be empty"));
        }
        if self.days == 0 || self.days > MAX_DAYS {
            return Err(invalid("days", format!("must be between 1 and {MAX_DAYS}")));
        }
        self.validate_policy()?;
        let mut names = BTreeSet::new();
        for (i, d) in self.devices.iter().enumerate() {
            let f = |x: &str| format!("devices[{i}].{x}");
            if !names.insert(d.name.as_str()) {
                return Err(invalid(f("name"), format!("'{}' repeats", d.name)));
            }
            share(&f("offline_share"), d.offline_share, 1.0)?;
            if d.offline_share >= 1.0 {
                return Err(invalid(
                    f("offline_share"),
                    "must be below 1 (a device that is never online never gets funds)",
                ));
            }
            if !d.mean_outage_hours.is_finite() || d.mean_outage_hours < 1.0 {
                return Err(invalid(f("mean_outage_hours"), "must be at least 1"));
            }
            check_outage(
                &f("mean_outage_hours"),
                d.offline_share,
                d.mean_outage_hours,
            )?;
        }
        if self.segments.is_empty() {
            return Err(invalid("segments", "at least one segment is needed"));
        }
        let mut names = BTreeSet::new();
        for (i, s) in self.segments.iter().enumerate() {
            let f = |x: &str| format!("segments[{i}].{x}");
            if !names.insert(s.name.as_str()) {
                return Err(invalid(f("name"), format!("'{}' repeats", s.name)));
            }
            if s.count == 0 || s.count > MAX_SEGMENT_COUNT {
                return Err(invalid(
                    f("count"),
                    format!("must be between 1 and {MAX_SEGMENT_COUNT}"),
                ));
            }
            match (s.kind, s.income_band) {
                (SegmentKind::Household, None) => {
                    return Err(invalid(f("income_band"), "households need an income band"))
                }
                (k, Some(_)) if k != SegmentKind::Household => {
                    return Err(invalid(
                        f("income_band"),
                        "only households have an income band",
                    ))
                }
                _ => {}
            }
            if self.device_index(&s.device).is_none() {
                return Err(invalid(
                    f("device"),
                    format!("no device profile is named '{}'", s.device),
                ));
            }
            if s.tier_mix.len() != self.policy.tiers.len() {
                return Err(invalid(
                    f("tier_mix"),
                    format!(
                        "{} shares for {} tiers",
                        s.tier_mix.len(),
                        self.policy.tiers.len()
                    ),
                ));
            }
            for (t, v) in s.tier_mix.iter().enumerate() {
                share(&format!("segments[{i}].tier_mix[{t}]"), *v, 1.0)?;
            }
            let sum: f64 = s.tier_mix.iter().sum();
            if (sum - 1.0).abs() > SHARE_TOLERANCE {
                return Err(invalid(
                    f("tier_mix"),
                    format!("shares add up to {}, not 1", round9(sum)),
                ));
            }
            for (t, v) in s.tier_mix.iter().enumerate() {
                let tier = &self.policy.tiers[t];
                if *v > 0.0 && s.initial_balance > tier.max_balance {
                    return Err(invalid(
                        f("initial_balance"),
                        format!(
                            "{} is above the max_balance {} of tier {t}, which has members",
                            s.initial_balance.0.display(DECIMALS),
                            tier.max_balance.0.display(DECIMALS)
                        ),
                    ));
                }
            }
        }
        if self.flows.is_empty() {
            return Err(invalid(
                "flows",
                "at least one flow is needed: without flows nobody pays",
            ));
        }
        for (i, fl) in self.flows.iter().enumerate() {
            self.validate_flow(i, fl)?;
        }
        let adv = &self.adversaries;
        share(
            "adversaries.double_spend_share",
            adv.double_spend_share,
            1.0,
        )?;
        for (i, name) in adv.segments.iter().enumerate() {
            if self.segment_index(name).is_none() {
                return Err(invalid(
                    format!("adversaries.segments[{i}]"),
                    format!("no segment is named '{name}'"),
                ));
            }
        }
        for (i, c) in self.calibration.iter().enumerate() {
            if c.metric.trim().is_empty() || c.source.trim().is_empty() {
                return Err(invalid(
                    format!("calibration[{i}]"),
                    "metric and source must not be empty",
                ));
            }
            if !c.value.is_finite() {
                return Err(invalid(
                    format!("calibration[{i}].value"),
                    "must be a number",
                ));
            }
        }
        self.validate_events()
    }

    fn validate_policy(&self) -> Result<(), ScenarioError> {
        let p = &self.policy;
        if p.tiers.is_empty() || p.tiers.len() > 8 {
            return Err(invalid("policy.tiers", "between 1 and 8 tiers are needed"));
        }
        for (i, t) in p.tiers.iter().enumerate() {
            if t.max_payment.units() == 0 {
                return Err(invalid(
                    format!("policy.tiers[{i}].max_payment"),
                    "must be above zero",
                ));
            }
            if t.offline_cap > t.max_balance {
                return Err(invalid(
                    format!("policy.tiers[{i}].offline_cap"),
                    "must not exceed max_balance",
                ));
            }
        }
        p.fees.validate()?;
        if let Some(d) = p.turnover_period_days {
            if d == 0 || d > 366 {
                return Err(invalid(
                    "policy.turnover_period_days",
                    format!("{d} days: must be between 1 and 366"),
                ));
            }
        }
        if p.purse_notes == 0 || p.purse_notes > 8 {
            return Err(invalid("policy.purse_notes", "must be between 1 and 8"));
        }
        if p.certificate_validity_hours == 0 {
            return Err(invalid(
                "policy.certificate_validity_hours",
                "must be at least 1",
            ));
        }
        if p.acceptance.max_checkpoint_age_hours == 0 {
            return Err(invalid(
                "policy.acceptance.max_checkpoint_age_hours",
                "must be at least 1",
            ));
        }
        Ok(())
    }

    fn validate_flow(&self, i: usize, fl: &Flow) -> Result<(), ScenarioError> {
        let f = |x: &str| format!("flows[{i}].{x}");
        let from = self
            .segment_index(&fl.from)
            .ok_or_else(|| invalid(f("from"), format!("no segment is named '{}'", fl.from)))?;
        let to = self
            .segment_index(&fl.to)
            .ok_or_else(|| invalid(f("to"), format!("no segment is named '{}'", fl.to)))?;
        let (from_kind, to_kind) = (self.segments[from].kind, self.segments[to].kind);
        let expect = |field: &str, ok: bool, what: &str| {
            if ok {
                Ok(())
            } else {
                Err(invalid(
                    f(field),
                    format!("a {} flow needs {what}", fl.kind.name()),
                ))
            }
        };
        use SegmentKind as K;
        match fl.kind {
            FlowKind::P2p => {
                expect("from", from_kind == K::Household, "a household segment")?;
                expect("to", to_kind == K::Household, "a household segment")?;
            }
            FlowKind::Merchant => {
                expect("to", to_kind == K::Merchant, "a merchant segment")?;
            }
            FlowKind::G2p => {
                expect("from", from_kind == K::Government, "a government segment")?;
            }
            FlowKind::Remittance => {
                expect("from", from_kind == K::Remitter, "a remitter segment")?;
            }
            FlowKind::CashIn => {
                expect("from", from_kind == K::Agent, "an agent segment")?;
            }
            FlowKind::CashOut => {
                expect("to", to_kind == K::Agent, "an agent segment")?;
            }
        }
        if fl.kind == FlowKind::G2p {
            if fl.per_day.is_some() {
                return Err(invalid(
                    f("per_day"),
                    "g2p flows are scheduled with interval_days",
                ));
            }
            match fl.interval_days {
                None => return Err(invalid(f("interval_days"), "g2p flows need it")),
                Some(0) => return Err(invalid(f("interval_days"), "must be at least 1")),
                Some(_) => {}
            }
        } else {
            if fl.interval_days.is_some() {
                return Err(invalid(f("interval_days"), "only g2p flows have it"));
            }
            if fl.kind == FlowKind::G2p && fl.hourly_profile.is_some() {
                return Err(invalid(
                    f("hourly_profile"),
                    "g2p flows run in office hours",
                ));
            }
            let per_day = fl
                .per_day
                .ok_or_else(|| invalid(f("per_day"), "missing field `per_day`"))?;
            rate(&f("per_day"), per_day, 24.0)?;
            if let Some(w) = &fl.hourly_profile {
                check_profile(&f("hourly_profile"), per_day, w)?;
            }
        }
        if fl.kind == FlowKind::Remittance {
            let pct = fl
                .fee_percent
                .ok_or_else(|| invalid(f("fee_percent"), "remittance flows need it"))?;
            share(&f("fee_percent"), pct, 100.0)?;
            if fl.fee_fixed.is_none() {
                return Err(invalid(f("fee_fixed"), "remittance flows need it"));
            }
            if let Some(fx) = fl.fx_margin_percent {
                share(&f("fx_margin_percent"), fx, 100.0)?;
            }
            if fl.rpw_basis.is_some_and(|b| b.units() == 0) {
                return Err(invalid(f("rpw_basis"), "must be above zero"));
            }
        } else {
            if fl.fee_percent.is_some() {
                return Err(invalid(f("fee_percent"), "only remittance flows have it"));
            }
            if fl.fee_fixed.is_some() {
                return Err(invalid(f("fee_fixed"), "only remittance flows have it"));
            }
            if fl.fx_margin_percent.is_some() {
                return Err(invalid(
                    f("fx_margin_percent"),
                    "only remittance flows have it",
                ));
            }
            if fl.rpw_basis.is_some() {
                return Err(invalid(f("rpw_basis"), "only remittance flows have it"));
            }
        }
        if fl.amount_min.units() == 0 {
            return Err(invalid(f("amount_min"), "must be above zero"));
        }
        if fl.amount_max < fl.amount_min {
            return Err(invalid(f("amount_max"), "must not be below amount_min"));
        }
        if from == to && self.segments[from].count < 2 {
            return Err(invalid(
                f("to"),
                "paying within a segment needs at least 2 members",
            ));
        }
        Ok(())
    }
}
