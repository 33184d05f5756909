//! Findex-style account use: the Global Findex counts an adult as using an account when they
//! "made or received a digital payment in the past 12 months". Here: a member who completed or
//! received a payment (online, or offline accepted) in the last 365 days of the run, or in the
//! whole run when it is shorter. Households stand for adults; groups by region and gender come
//! from the segments that define them.

use std::collections::BTreeMap;

use super::{r4, ratio, GroupShare, InclusionReport, Metrics};

/// The Findex window: 12 months.
pub const FINDEX_WINDOW_DAYS: u64 = 365;

pub(super) struct Inclusion {
    pub(super) report: InclusionReport,
    by_segment: Vec<(u64, u64)>,
}

impl Inclusion {
    pub(super) fn segment_share(&self, i: usize) -> f64 {
        let (users, members) = self.by_segment[i];
        r4(ratio(users, members))
    }
}

impl Metrics {
    pub(super) fn inclusion(&self) -> Inclusion {
        let window = FINDEX_WINDOW_DAYS.min(self.days);
        // Stamps are 1 + day; the window is days [days − window, days).
        let first = self.days - window + 1;
        let mut by_segment = vec![(0u64, 0u64); self.segment_names.len()];
        for (a, seg) in self.agent_segment.iter().enumerate() {
            let last = u64::from(self.last_made[a].max(self.last_received[a]));
            by_segment[*seg].0 += u64::from(last >= first);
            by_segment[*seg].1 += 1;
        }
        let mut all = (0u64, 0u64);
        let mut regions: BTreeMap<String, (u64, u64)> = BTreeMap::new();
        let mut genders: BTreeMap<String, (u64, u64)> = BTreeMap::new();
        for (i, (users, members)) in by_segment.iter().enumerate() {
            if !self.segment_household[i] {
                continue;
            }
            all.0 += users;
            all.1 += members;
            if let Some(r) = &self.segment_region[i] {
                let e = regions.entry(r.clone()).or_default();
                e.0 += users;
                e.1 += members;
            }
            if let Some(g) = self.segment_gender[i] {
                let name = serde_json::to_value(g)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_string))
                    .unwrap_or_default();
                let e = genders.entry(name).or_default();
                e.0 += users;
                e.1 += members;
            }
        }
        let share = |group: String, (users, members): (u64, u64)| GroupShare {
            group,
            members,
            account_use_share: r4(ratio(users, members)),
        };
        Inclusion {
            report: InclusionReport {
                window_days: window,
                households: share("households".into(), all),
                by_region: regions.into_iter().map(|(g, v)| share(g, v)).collect(),
                by_gender: genders.into_iter().map(|(g, v)| share(g, v)).collect(),
            },
            by_segment,
        }
    }
}
