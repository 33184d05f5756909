//! Events: time-windowed shocks and parameter changes at a given day.

use serde::{Deserialize, Serialize};

use super::{check_outage, invalid, round9, share, Money, Scenario, ScenarioError, SegmentKind};

/// What an event changes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    /// A device profile's connectivity (or every profile's) changes for the window:
    /// `offline_share`, optionally `mean_outage_hours`, optionally only `device`.
    Connectivity,
    /// A regional outage: every member of `segment` is offline for the window.
    Outage,
    /// Agents of `segment` run short of cash: a cash-out at one of them finds cash with
    /// probability `cash_share` (otherwise it fails as `agent_out_of_cash`).
    AgentLiquidity,
    /// A policy change: tier `tier`'s `max_payment`, `max_balance` and/or `offline_cap` from
    /// `day` (for `days`, or to the end).
    TierLimits,
    /// Activity changes: flow `flow` (or every flow) runs at `per_day_factor` times its rate.
    Activity,
}

/// One event of a scenario's `[[events]]`.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Event {
    /// What it changes.
    pub kind: EventKind,
    /// First day it applies (days count from 0).
    pub day: u32,
    /// How many days it lasts; absent: to the end of the run.
    #[serde(default)]
    pub days: Option<u32>,
    /// Off switch (default on), so one scenario file can be swept with and without it.
    #[serde(default)]
    pub enabled: Option<bool>,
    /// `connectivity`: the device profile (absent: all profiles).
    #[serde(default)]
    pub device: Option<String>,
    /// `connectivity`: long-run share of hours offline during the window.
    #[serde(default)]
    pub offline_share: Option<f64>,
    /// `connectivity`: mean outage length during the window (absent: the profile's).
    #[serde(default)]
    pub mean_outage_hours: Option<f64>,
    /// `outage`, `agent_liquidity`: the segment.
    #[serde(default)]
    pub segment: Option<String>,
    /// `agent_liquidity`: probability that an agent has cash for a cash-out, in [0, 1].
    #[serde(default)]
    pub cash_share: Option<f64>,
    /// `tier_limits`: the tier (0 first).
    #[serde(default)]
    pub tier: Option<u8>,
    /// `tier_limits`: new largest payment.
    #[serde(default)]
    pub max_payment: Option<Money>,
    /// `tier_limits`: new holding limit.
    #[serde(default)]
    pub max_balance: Option<Money>,
    /// `tier_limits`: new offline cap.
    #[serde(default)]
    pub offline_cap: Option<Money>,
    /// `activity`: index of the flow in `flows` (absent: all flows).
    #[serde(default)]
    pub flow: Option<usize>,
    /// `activity`: multiplier of `per_day`, ≥ 0.
    #[serde(default)]
    pub per_day_factor: Option<f64>,
}

impl Event {
    /// Whether the event is switched on.
    pub fn is_enabled(&self) -> bool {
        self.enabled.unwrap_or(true)
    }

    /// Whether the event applies on `day`.
    pub fn active_on(&self, day: u64) -> bool {
        let start = u64::from(self.day);
        self.is_enabled() && day >= start && self.days.is_none_or(|d| day < start + u64::from(d))
    }

    /// The kind as written in the file.
    pub fn kind_name(&self) -> String {
        serde_json::to_value(self.kind)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default()
    }

    fn only(&self, i: usize, allowed: &[&str]) -> Result<(), ScenarioError> {
        let given = [
            ("device", self.device.is_some()),
            ("offline_share", self.offline_share.is_some()),
            ("mean_outage_hours", self.mean_outage_hours.is_some()),
            ("segment", self.segment.is_some()),
            ("cash_share", self.cash_share.is_some()),
            ("tier", self.tier.is_some()),
            ("max_payment", self.max_payment.is_some()),
            ("max_balance", self.max_balance.is_some()),
            ("offline_cap", self.offline_cap.is_some()),
            ("flow", self.flow.is_some()),
            ("per_day_factor", self.per_day_factor.is_some()),
        ];
        for (name, set) in given {
            if set && !allowed.contains(&name) {
                return Err(invalid(
                    format!("events[{i}].{name}"),
                    format!("{} events do not take it", self.kind_name()),
                ));
            }
        }
        Ok(())
    }
}

impl Scenario {
    pub(super) fn validate_events(&self) -> Result<(), ScenarioError> {
        for (i, e) in self.events.iter().enumerate() {
            let f = |x: &str| format!("events[{i}].{x}");
            if e.day >= self.days {
                return Err(invalid(
                    f("day"),
                    format!("{} is not within the run's days 0..{}", e.day, self.days),
                ));
            }
            if e.days == Some(0) {
                return Err(invalid(
                    f("days"),
                    "must be at least 1 (or absent: to the end)",
                ));
            }
            match e.kind {
                EventKind::Connectivity => {
                    e.only(i, &["device", "offline_share", "mean_outage_hours"])?;
                    let s = e.offline_share.ok_or_else(|| {
                        invalid(f("offline_share"), "a connectivity event needs it")
                    })?;
                    share(&f("offline_share"), s, 1.0)?;
                    if s >= 1.0 {
                        return Err(invalid(f("offline_share"), "must be below 1"));
                    }
                    if let Some(m) = e.mean_outage_hours {
                        if !m.is_finite() || m < 1.0 {
                            return Err(invalid(f("mean_outage_hours"), "must be at least 1"));
                        }
                    }
                    let targets: Vec<usize> = match &e.device {
                        Some(name) => vec![self.device_index(name).ok_or_else(|| {
                            invalid(f("device"), format!("no device profile is named '{name}'"))
                        })?],
                        None => (0..self.devices.len()).collect(),
                    };
                    for d in targets {
                        let m = e
                            .mean_outage_hours
                            .unwrap_or(self.devices[d].mean_outage_hours);
                        let field = if e.mean_outage_hours.is_some() {
                            f("mean_outage_hours")
                        } else {
                            format!(
                                "events[{i}].offline_share (with devices[{d}].mean_outage_hours)"
                            )
                        };
                        check_outage(&field, s, m)?;
                    }
                }
                EventKind::Outage => {
                    e.only(i, &["segment"])?;
                    self.event_segment(i, e)?;
                }
                EventKind::AgentLiquidity => {
                    e.only(i, &["segment", "cash_share"])?;
                    let seg = self.event_segment(i, e)?;
                    if self.segments[seg].kind != SegmentKind::Agent {
                        return Err(invalid(f("segment"), "must be an agent segment"));
                    }
                    let c = e.cash_share.ok_or_else(|| {
                        invalid(f("cash_share"), "an agent_liquidity event needs it")
                    })?;
                    share(&f("cash_share"), c, 1.0)?;
                }
                EventKind::TierLimits => {
                    e.only(i, &["tier", "max_payment", "max_balance", "offline_cap"])?;
                    let t = e
                        .tier
                        .ok_or_else(|| invalid(f("tier"), "a tier_limits event needs it"))?;
                    let tier = self.policy.tiers.get(usize::from(t)).ok_or_else(|| {
                        invalid(
                            f("tier"),
                            format!("there are {} tiers (0 first)", self.policy.tiers.len()),
                        )
                    })?;
                    if e.max_payment.is_none() && e.max_balance.is_none() && e.offline_cap.is_none()
                    {
                        return Err(invalid(
                            f("tier"),
                            "a tier_limits event changes max_payment, max_balance or offline_cap",
                        ));
                    }
                    if e.max_payment.is_some_and(|m| m.units() == 0) {
                        return Err(invalid(f("max_payment"), "must be above zero"));
                    }
                    let bal = e.max_balance.unwrap_or(tier.max_balance);
                    let cap = e.offline_cap.unwrap_or(tier.offline_cap);
                    if cap > bal {
                        return Err(invalid(
                            f("offline_cap"),
                            "must not exceed the tier's max_balance (offline_cap ≤ max_balance)",
                        ));
                    }
                }
                EventKind::Activity => {
                    e.only(i, &["flow", "per_day_factor"])?;
                    let k = e.per_day_factor.ok_or_else(|| {
                        invalid(f("per_day_factor"), "an activity event needs it")
                    })?;
                    if !k.is_finite() || k < 0.0 {
                        return Err(invalid(f("per_day_factor"), format!("{k} is negative")));
                    }
                    let flows: Vec<usize> = match e.flow {
                        Some(x) if x >= self.flows.len() => {
                            return Err(invalid(
                                f("flow"),
                                format!("there are {} flows (0 first)", self.flows.len()),
                            ))
                        }
                        Some(x) => vec![x],
                        None => (0..self.flows.len()).collect(),
                    };
                    for x in flows {
                        if let Some(p) = self.flows[x].per_day {
                            if p * k > 24.0 {
                                return Err(invalid(
                                    f("per_day_factor"),
                                    format!(
                                        "flows[{x}].per_day × per_day_factor = {p} × {k} = {} is \
                                         above 24 (one payment an hour per member)",
                                        round9(p * k)
                                    ),
                                ));
                            }
                            if let Some(w) = &self.flows[x].hourly_profile {
                                super::check_profile(
                                    &format!(
                                        "events[{i}].per_day_factor (with flows[{x}].hourly_profile)"
                                    ),
                                    p * k,
                                    w,
                                )?;
                            }
                        }
                    }
                }
            }
        }
        Ok(())
    }

    fn event_segment(&self, i: usize, e: &Event) -> Result<usize, ScenarioError> {
        let name = e
            .segment
            .as_ref()
            .ok_or_else(|| invalid(format!("events[{i}].segment"), "this event needs it"))?;
        self.segment_index(name).ok_or_else(|| {
            invalid(
                format!("events[{i}].segment"),
                format!("no segment is named '{name}'"),
            )
        })
    }
}
