//! Checks of the rules in force: the operators' threshold, the compliance rules.

use super::threats::*;
use super::{Check, Facts, Outcome, Status, Threat};

/// k of n: one operator alone (k = 1) can issue and change the rules; with k = n, one lost key
/// stops issuance and governance for good.
pub struct Thresholds;

impl Check for Thresholds {
    fn id(&self) -> &'static str {
        "thresholds"
    }
    fn title(&self) -> &'static str {
        "operator threshold k of n"
    }
    fn threats(&self) -> &'static [Threat] {
        &[ISSUANCE_WITHOUT_K, RULES_BELOW_K]
    }
    fn run(&self, f: &Facts) -> Outcome {
        let p = f.history.at(f.tip.height);
        let (k, n) = (p.threshold, p.issuers.len());
        if k <= 1 {
            Outcome::new(
                Status::Warn,
                format!("{k} of {n}: one operator alone can issue and change the rules"),
            )
        } else if k >= n {
            Outcome::new(
                Status::Warn,
                format!("{k} of {n}: one lost operator key stops issuance and governance"),
            )
        } else {
            Outcome::new(Status::Pass, format!("{k} of {n} operators"))
        }
    }
}

/// The compliance rules: a reporting threshold (disclosure to the regulator) and tier caps.
pub struct Compliance;

impl Check for Compliance {
    fn id(&self) -> &'static str {
        "compliance"
    }
    fn title(&self) -> &'static str {
        "reporting threshold and tier caps present"
    }
    fn threats(&self) -> &'static [Threat] {
        &[SPLITTING, SYBIL]
    }
    fn run(&self, f: &Facts) -> Outcome {
        let p = f.history.at(f.tip.height);
        let capped = p
            .tiers
            .iter()
            .filter(|t| t.max_payment.units() > 0 && t.max_balance.units() > 0)
            .count();
        let tiers = if p.tiers.is_empty() {
            "no tier table".to_string()
        } else {
            format!("{capped} of {} tiers capped", p.tiers.len())
        };
        match &p.compliance {
            Some(c) if !p.tiers.is_empty() => Outcome::new(
                Status::Pass,
                format!(
                    "reporting threshold {}; {tiers}",
                    p.format(c.reporting_threshold)
                ),
            ),
            Some(_) => Outcome::new(Status::Warn, format!("reporting threshold set; {tiers}")),
            None => Outcome::new(
                Status::Warn,
                format!(
                    "no reporting threshold: nothing is disclosed and caps are not proven in zero knowledge; {tiers}"
                ),
            ),
        }
    }
}
