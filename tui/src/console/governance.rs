//! The Governance tab's state and actions: proposed parameter changes with their diff against
//! the parameters in force, approval after confirmation (signed by the console's operator key,
//! as `dfc-bank governance approve` does), and the history of applied changes.

use dfc_core::governance::{diff, ChangeProposal, FieldChange, ParamsHistory};
use dfc_core::Hash32;

use super::{Command, Console, Mode};
use crate::ui::Notice;

/// What the Governance tab shows, read from `GET /v1/governance/changes` and `/history`.
#[derive(Clone, Debug)]
pub struct GovData {
    /// Proposed changes, newest first.
    pub changes: Vec<ChangeProposal>,
    /// Genesis and every approved change.
    pub history: ParamsHistory,
}

impl GovData {
    /// The diff of `change` against the newest parameters (what approvers are shown).
    pub fn diff_of(&self, change: &ChangeProposal) -> Vec<FieldChange> {
        diff(self.history.latest(), &change.change.params)
    }
}

impl Console {
    /// The selected proposed change, if any.
    pub fn selected_change(&self) -> Option<&ChangeProposal> {
        match &self.governance {
            Some(Ok(g)) => g.changes.get(self.gov_sel),
            _ => None,
        }
    }

    /// Reads the proposals and the history again.
    pub(super) fn refresh_governance(&mut self) {
        self.send(Command::Governance, "reading the parameter changes".into());
    }

    /// Moves the selection by `delta` rows.
    pub(super) fn gov_move(&mut self, down: bool) {
        let n = match &self.governance {
            Some(Ok(g)) => g.changes.len(),
            _ => 0,
        };
        self.gov_sel = if down {
            (self.gov_sel + 1).min(n.saturating_sub(1))
        } else {
            self.gov_sel.saturating_sub(1)
        };
    }

    /// Asks to approve the selected change: the confirmation shows its diff; nothing is signed
    /// before `y`.
    pub(super) fn approve_change(&mut self) {
        let Some(p) = self.selected_change() else {
            self.notice = Some(Notice::err("no parameter change selected"));
            return;
        };
        if p.state != "pending" {
            self.notice = Some(Notice::err(format!(
                "this change is {}: only a pending change can be approved",
                p.state
            )));
            return;
        }
        let digest = p.digest;
        match self.operator() {
            Some(op) if p.approvals.contains(&op) => {
                self.notice = Some(Notice::err(format!(
                    "operator {op} already approved this change"
                )))
            }
            Some(_) => self.mode = Mode::ChangeConfirm { digest },
            None => self.notice = Some(Notice::err("no operator key is loaded")),
        }
    }

    /// Signs and sends the approval asked for.
    pub(super) fn confirm_change(&mut self, digest: Hash32) {
        self.mode = Mode::Normal;
        let Some(op) = self.operator() else {
            self.notice = Some(Notice::err("no operator key is loaded"));
            return;
        };
        self.send(
            Command::ApproveChange {
                operator: op,
                digest,
            },
            format!(
                "operator {op} approving change {}",
                crate::ui::short(&digest.to_hex(), 12)
            ),
        );
    }
}
