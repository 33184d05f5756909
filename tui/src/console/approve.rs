//! Approving a proposal in the console: the detail view shows every output's recipient and
//! amount, and nothing is signed until the operator answers y to the question it asks.

use dfc_core::api::Proposal;
use dfc_core::{TxId, TxKind};

use super::{Command, Console, Mode, Tab};
use crate::ui::Notice;

impl Console {
    /// The proposal the Issuance or Redemption tab has selected, with its kind.
    pub(super) fn selected_proposal(&self) -> Option<(Proposal, TxKind)> {
        let kind = if self.tab == Tab::Redemption {
            TxKind::Redeem
        } else {
            TxKind::Issue
        };
        let idx = self.sel[if kind == TxKind::Issue { 0 } else { 1 }];
        self.proposals_of(kind)
            .get(idx)
            .map(|p| ((*p).clone(), kind))
    }

    /// The proposal a detail view shows, if still listed.
    pub fn proposal(&self, txid: &TxId) -> Option<&Proposal> {
        self.proposals.iter().find(|p| p.txid == *txid)
    }

    /// Why the current operator cannot approve `p`, if it cannot.
    fn cannot_approve(&self, p: &Proposal) -> Option<String> {
        let Some(op) = self.operator() else {
            return Some("no operator key is loaded".into());
        };
        if p.state != "pending" {
            return Some(format!(
                "proposal {} is {}, not pending",
                crate::ui::short(&p.txid.to_hex(), 12),
                p.state
            ));
        }
        if p.approvals.contains(&op) {
            return Some(format!(
                "operator {op} already approved this proposal: press o to act as another operator"
            ));
        }
        None
    }

    /// Opens the confirmation of an approval of the shown or selected proposal, with its outputs
    /// on screen; nothing is signed until it is confirmed.
    pub(super) fn approve(&mut self) {
        let p = match &self.mode {
            Mode::ProposalDetail { txid, .. } => self.proposal(txid).cloned(),
            _ => self.selected_proposal().map(|(p, _)| p),
        };
        let Some(p) = p else {
            self.notice = Some(Notice::err("no proposal to approve"));
            return;
        };
        if let Some(why) = self.cannot_approve(&p) {
            self.notice = Some(Notice::err(why));
            return;
        }
        self.mode = Mode::ProposalDetail {
            txid: p.txid,
            confirm: true,
        };
    }

    /// Signs and sends the approval the confirmation asked for.
    pub(super) fn confirm_approve(&mut self) {
        let Mode::ProposalDetail {
            txid,
            confirm: true,
        } = self.mode
        else {
            return;
        };
        self.mode = Mode::Normal;
        let Some(p) = self.proposal(&txid).cloned() else {
            self.notice = Some(Notice::err("the proposal is no longer listed"));
            return;
        };
        if let Some(why) = self.cannot_approve(&p) {
            self.notice = Some(Notice::err(why));
            return;
        }
        let Some(op) = self.operator() else {
            return;
        };
        let amount = self.fmt(p.amount);
        self.send(
            Command::Approve {
                operator: op,
                txid: p.txid,
                kind: p.kind,
            },
            format!("operator {op} approving the {} of {amount}", p.kind.name()),
        );
    }
}
