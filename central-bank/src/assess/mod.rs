//! `dfc-bank assess`: a pass/warn/fail scorecard of the checks that can run against a live node
//! or a ledger, each naming the threats of `docs/threat-model.md` it covers.
//!
//! What is looked at is gathered once into [`Facts`] ([`facts`]): from a data directory (the
//! ledger read in one transaction, the full audit of [`crate::audit`], the key files beside it)
//! or from a node's API (the parameter history, the tip, the audit log, the registry). Each check
//! is a [`Check`] in [`CHECKS`], a pure function of the facts, grouped by what it looks at:
//! [`ledger`] (audit, anchoring, wallets), [`transport`], [`keys`] (sandbox keys, key files,
//! key ages) and [`rules`] (thresholds, compliance rules). A new check is one more entry in the
//! table.

pub mod facts;
pub mod keys;
pub mod ledger;
pub mod rules;
pub mod transport;

pub use facts::{AuditEvidence, Facts, KeyFile};

use serde::Serialize;

/// How a check came out, from best to worst.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Nothing to report.
    Pass,
    /// Worth knowing; not a weakness by itself.
    Info,
    /// Not applicable to what was given (e.g. key files through the API only).
    Skip,
    /// A weakness to fix before real money.
    Warn,
    /// A defence is missing or broken.
    Fail,
}

impl Status {
    /// Upper-case label of the human scorecard.
    pub fn label(self) -> &'static str {
        match self {
            Status::Pass => "PASS",
            Status::Info => "INFO",
            Status::Skip => "SKIP",
            Status::Warn => "WARN",
            Status::Fail => "FAIL",
        }
    }
}

/// A threat of `docs/threat-model.md` (its row number and short name).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Threat {
    /// Row number in the threat table.
    pub id: u32,
    /// Short name.
    pub name: &'static str,
}

/// The threats the checks name, as numbered in `docs/threat-model.md`.
pub mod threats {
    use super::Threat;
    /// 1: forgery and inflation.
    pub const FORGERY: Threat = Threat {
        id: 1,
        name: "forgery and inflation",
    };
    /// 2: issuance without k of n.
    pub const ISSUANCE_WITHOUT_K: Threat = Threat {
        id: 2,
        name: "issuance without k of n",
    };
    /// 4: double spend offline.
    pub const OFFLINE_DOUBLE_SPEND: Threat = Threat {
        id: 4,
        name: "double spend offline (device cloning)",
    };
    /// 7: fewer than k operators change the rules.
    pub const RULES_BELOW_K: Threat = Threat {
        id: 7,
        name: "one operator (or < k) changes the rules",
    };
    /// 8: a removed or rotated-out key keeps acting.
    pub const STALE_KEY: Threat = Threat {
        id: 8,
        name: "a removed or rotated-out operator key keeps acting",
    };
    /// 9: an outsider edits the ledger file.
    pub const LEDGER_TAMPER: Threat = Threat {
        id: 9,
        name: "outsider edits the ledger",
    };
    /// 10: the node operator rewrites history.
    pub const HISTORY_REWRITE: Threat = Threat {
        id: 10,
        name: "node operator rewrites history",
    };
    /// 12: node or operator key theft.
    pub const KEY_THEFT: Threat = Threat {
        id: 12,
        name: "node, operator or regulator key theft",
    };
    /// 14: regulatory evasion by splitting.
    pub const SPLITTING: Threat = Threat {
        id: 14,
        name: "regulatory evasion by splitting",
    };
    /// 15: Sybil wallets at tier 0.
    pub const SYBIL: Threat = Threat {
        id: 15,
        name: "Sybil wallets at tier 0",
    };
    /// 16: a frozen wallet moves value.
    pub const FROZEN_MOVES: Threat = Threat {
        id: 16,
        name: "frozen wallet moves value",
    };
    /// 21: an on-path attacker reads or alters traffic.
    pub const ON_PATH: Threat = Threat {
        id: 21,
        name: "on-path attacker reads or alters traffic",
    };
}

/// What one check found.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Outcome {
    /// How it came out.
    pub status: Status,
    /// What was seen, in one line.
    pub detail: String,
}

impl Outcome {
    /// An outcome of `status` saying `detail`.
    pub fn new(status: Status, detail: impl Into<String>) -> Self {
        Outcome {
            status,
            detail: detail.into(),
        }
    }
}

/// One check of the scorecard: a pure function of the [`Facts`].
pub trait Check: Sync {
    /// Stable identifier (`--json`, docs), e.g. `transport`.
    fn id(&self) -> &'static str;
    /// What it checks, in a few words.
    fn title(&self) -> &'static str;
    /// The threats of `docs/threat-model.md` it covers.
    fn threats(&self) -> &'static [Threat];
    /// Runs it.
    fn run(&self, facts: &Facts) -> Outcome;
}

/// Every check, in scorecard order.
pub static CHECKS: &[&dyn Check] = &[
    &ledger::Audit,
    &ledger::AnchoredLog,
    &transport::Transport,
    &keys::SandboxKeys,
    &keys::KeyFiles,
    &keys::KeyAges,
    &rules::Thresholds,
    &rules::Compliance,
    &ledger::Wallets,
];

/// One line of the scorecard.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Line {
    /// The check's identifier.
    pub id: &'static str,
    /// What it checks.
    pub title: &'static str,
    /// The threats it covers.
    pub threats: Vec<Threat>,
    /// How it came out.
    pub status: Status,
    /// What was seen.
    pub detail: String,
}

/// The scorecard, as `dfc-bank assess --json` prints it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Scorecard {
    /// What was assessed: the node's URL and/or the data directory.
    pub target: String,
    /// Tip height seen.
    pub height: u64,
    /// One line per check.
    pub checks: Vec<Line>,
    /// The worst status but `skip`/`info` (`pass`, `warn` or `fail`).
    pub overall: Status,
}

impl Scorecard {
    /// Whether no check failed (the exit code of `assess`).
    pub fn ok(&self) -> bool {
        self.overall != Status::Fail
    }

    /// The line of check `id`.
    pub fn line(&self, id: &str) -> Option<&Line> {
        self.checks.iter().find(|l| l.id == id)
    }

    /// Counts of (pass, warn, fail) lines.
    pub fn counts(&self) -> (usize, usize, usize) {
        let n = |s| self.checks.iter().filter(|l| l.status == s).count();
        (n(Status::Pass), n(Status::Warn), n(Status::Fail))
    }
}

/// Runs every check of [`CHECKS`] on `facts`.
pub fn assess(facts: &Facts) -> Scorecard {
    run_checks(facts, CHECKS)
}

/// Runs `checks` on `facts`.
pub fn run_checks(facts: &Facts, checks: &[&dyn Check]) -> Scorecard {
    let lines: Vec<Line> = checks
        .iter()
        .map(|c| {
            let o = c.run(facts);
            Line {
                id: c.id(),
                title: c.title(),
                threats: c.threats().to_vec(),
                status: o.status,
                detail: o.detail,
            }
        })
        .collect();
    let overall = lines
        .iter()
        .map(|l| match l.status {
            Status::Info | Status::Skip => Status::Pass,
            s => s,
        })
        .max()
        .unwrap_or(Status::Pass);
    Scorecard {
        target: facts.target(),
        height: facts.tip.height,
        checks: lines,
        overall,
    }
}

#[cfg(test)]
mod tests;
