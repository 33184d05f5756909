//! Scenario events: each day starts from the scenario's parameters and applies the events active
//! that day, in file order.

use super::*;
use crate::scenario::EventKind;

/// Parameters as they stand on a day.
#[derive(Clone)]
pub(crate) struct Conditions {
    /// Per device profile: (offline share, mean outage hours).
    pub(crate) devices: Vec<(f64, f64)>,
    /// Per segment: every member offline (regional outage).
    pub(crate) down: Vec<bool>,
    /// Per segment: probability that an agent has cash for a cash-out.
    pub(crate) cash_share: Vec<f64>,
    /// Per flow: multiplier of its rate.
    pub(crate) flow_factor: Vec<f64>,
}

impl Conditions {
    pub(crate) fn base(s: &Scenario) -> Self {
        Conditions {
            devices: s
                .devices
                .iter()
                .map(|d| (d.offline_share, d.mean_outage_hours))
                .collect(),
            down: vec![false; s.segments.len()],
            cash_share: vec![1.0; s.segments.len()],
            flow_factor: vec![1.0; s.flows.len()],
        }
    }
}

/// The tier table of the scenario's policy, in minor units.
pub(crate) fn base_tiers(s: &Scenario) -> Vec<TierNow> {
    s.policy
        .tiers
        .iter()
        .map(|t| TierNow {
            max_payment: t.max_payment.units(),
            max_balance: t.max_balance.units(),
            offline_cap: t.offline_cap.units(),
            max_inflow: t.max_inflow.map_or(u64::MAX, |m| m.units()),
        })
        .collect()
}

/// The conditions and tier limits of `day`: the scenario's parameters with the events active
/// that day applied in file order.
pub(crate) fn on_day(s: &Scenario, day: u64) -> (Conditions, Vec<TierNow>) {
    let mut c = Conditions::base(s);
    let mut tiers = base_tiers(s);
    for e in s.events.iter().filter(|e| e.active_on(day)) {
        match e.kind {
            EventKind::Connectivity => {
                for (d, dev) in s.devices.iter().enumerate() {
                    if e.device.as_ref().is_none_or(|n| *n == dev.name) {
                        let share = e.offline_share.unwrap_or(dev.offline_share);
                        let m = e.mean_outage_hours.unwrap_or(c.devices[d].1);
                        c.devices[d] = (share, m);
                    }
                }
            }
            EventKind::Outage => {
                if let Some(i) = e.segment.as_ref().and_then(|n| s.segment_index(n)) {
                    c.down[i] = true;
                }
            }
            EventKind::AgentLiquidity => {
                if let Some(i) = e.segment.as_ref().and_then(|n| s.segment_index(n)) {
                    c.cash_share[i] = e.cash_share.unwrap_or(1.0);
                }
            }
            EventKind::TierLimits => {
                if let Some(t) = e.tier.and_then(|t| tiers.get_mut(usize::from(t))) {
                    if let Some(m) = e.max_payment {
                        t.max_payment = m.units();
                    }
                    if let Some(m) = e.max_balance {
                        t.max_balance = m.units();
                    }
                    if let Some(m) = e.offline_cap {
                        t.offline_cap = m.units();
                    }
                }
            }
            EventKind::Activity => {
                let k = e.per_day_factor.unwrap_or(1.0);
                for (x, factor) in c.flow_factor.iter_mut().enumerate() {
                    if e.flow.is_none_or(|f| f == x) {
                        *factor *= k;
                    }
                }
            }
        }
    }
    (c, tiers)
}

impl Sim<'_> {
    /// Sets the day's conditions and tier limits from the scenario and its active events.
    pub(super) fn apply_events(&mut self, day: u64) {
        let (c, tiers) = on_day(self.scenario, day);
        self.conditions = c;
        self.tiers = tiers;
    }
}
