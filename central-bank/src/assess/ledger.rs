//! Checks of the ledger itself: the audit, the anchoring of the audit log, frozen and flagged
//! wallets.

use super::threats::*;
use super::{AuditEvidence, Check, Facts, Outcome, Status, Threat};

/// The supply and chain audit (`dfc-bank audit` on a data directory; through the API what a
/// remote reader can verify).
pub struct Audit;

impl Check for Audit {
    fn id(&self) -> &'static str {
        "audit"
    }
    fn title(&self) -> &'static str {
        "supply and chain audit"
    }
    fn threats(&self) -> &'static [Threat] {
        &[FORGERY, LEDGER_TAMPER, HISTORY_REWRITE]
    }
    fn run(&self, f: &Facts) -> Outcome {
        match &f.audit {
            AuditEvidence::Full(r) if r.pass => Outcome::new(
                Status::Pass,
                format!(
                    "full replay from genesis: height {}, supply {}, {} transactions and {} audit-log entries verified",
                    r.height.unwrap_or(0),
                    r.supply.clone().unwrap_or_default(),
                    r.tx_count.unwrap_or(0),
                    r.audit_entries.unwrap_or(0)
                ),
            ),
            AuditEvidence::Full(r) => Outcome::new(
                Status::Fail,
                format!("full audit failed: {}", r.error.clone().unwrap_or_default()),
            ),
            AuditEvidence::Api { halted: true, .. } => {
                Outcome::new(Status::Fail, "the node has halted after a storage failure")
            }
            AuditEvidence::Api {
                invariant_ok: false,
                ..
            } => Outcome::new(Status::Fail, "the node reports its supply invariant broken"),
            AuditEvidence::Api { log: Err(e), .. } => Outcome::new(Status::Fail, e.clone()),
            AuditEvidence::Api {
                tip_signed: false, ..
            } => Outcome::new(
                Status::Fail,
                format!(
                    "the tip header (height {}) is not signed by the node key in force",
                    f.tip.height
                ),
            ),
            AuditEvidence::Api { log: Ok(n), .. } => Outcome::new(
                Status::Pass,
                format!(
                    "through the API: supply invariant holds, {n} audit-log entries chain, tip {} signed (the full replay needs --data)",
                    f.tip.height
                ),
            ),
        }
    }
}

/// Audit-log entries written after the last block header that anchors the log: until a block
/// anchors them, whoever holds the database could drop or alter them unseen.
pub struct AnchoredLog;

impl Check for AnchoredLog {
    fn id(&self) -> &'static str {
        "audit-log-anchor"
    }
    fn title(&self) -> &'static str {
        "audit-log tail anchored in a signed block"
    }
    fn threats(&self) -> &'static [Threat] {
        &[LEDGER_TAMPER, HISTORY_REWRITE]
    }
    fn run(&self, f: &Facts) -> Outcome {
        let anchored = f.tip.audit_seq;
        let tail = f.audit_last_seq.saturating_sub(anchored);
        if f.audit_last_seq < anchored {
            return Outcome::new(
                Status::Fail,
                format!(
                    "block {} anchors audit-log entry {anchored}, but the log ends at {}",
                    f.tip.height, f.audit_last_seq
                ),
            );
        }
        if tail == 0 {
            Outcome::new(
                Status::Pass,
                format!(
                    "all {} audit-log entries are anchored (block {})",
                    f.audit_last_seq, f.tip.height
                ),
            )
        } else {
            Outcome::new(
                Status::Warn,
                format!(
                    "{tail} audit-log entr{} after the last anchor (block {} anchors entry {anchored}): not yet in a signed header",
                    if tail == 1 { "y" } else { "ies" },
                    f.tip.height
                ),
            )
        }
    }
}

/// Frozen and flagged wallets, and double-spend evidence from offline payments.
pub struct Wallets;

impl Check for Wallets {
    fn id(&self) -> &'static str {
        "wallets"
    }
    fn title(&self) -> &'static str {
        "frozen and flagged wallets, double-spend evidence"
    }
    fn threats(&self) -> &'static [Threat] {
        &[FROZEN_MOVES, OFFLINE_DOUBLE_SPEND]
    }
    fn run(&self, f: &Facts) -> Outcome {
        let counts = format!(
            "{} wallets: {} frozen, {} flagged; {} double-spend evidence record(s)",
            f.wallets, f.frozen, f.flagged, f.evidence
        );
        let status = if f.evidence > 0 {
            Status::Warn
        } else if f.frozen > 0 || f.flagged > 0 {
            Status::Info
        } else {
            Status::Pass
        };
        Outcome::new(status, counts)
    }
}
