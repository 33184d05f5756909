//! The console's text fields and messages: which field has focus, editing it, clearing every form
//! when it closes (so a form reopened after Esc starts empty instead of appending to the old
//! value: "500", Esc, "20" once became 50020.00), and the clock that expires messages.

use super::{payment_rate, Console, Mode, RATE_BUCKETS};
use crate::textfield::EditKey;
use crate::ui::{Input, MAX_INPUT_CHARS};

impl Console {
    /// The field that keyboard input goes to, if a form is open.
    fn focused_input(&mut self) -> Option<&mut Input> {
        match self.mode {
            Mode::IssueForm { on_to: false } => Some(&mut self.issue_amount),
            Mode::IssueForm { on_to: true } => Some(&mut self.issue_to),
            Mode::WalletPrompt(_) => Some(&mut self.prompt),
            Mode::Filter => Some(&mut self.filter),
            Mode::Normal
            | Mode::WalletConfirm(_)
            | Mode::ProposalDetail { .. }
            | Mode::ChangeConfirm { .. } => None,
        }
    }

    /// Applies a readline-style edit to the focused field.
    pub(super) fn edit_field(&mut self, op: EditKey) {
        if let Some(field) = self.focused_input() {
            field.edit(op, MAX_INPUT_CHARS);
        }
        if self.mode == Mode::Filter {
            // The list shrinks as the filter grows: keep the selection on it.
            self.sel[3] = 0;
            self.clamp_selection();
        }
    }

    /// Empties every form field: called when a form closes or a new one opens.
    pub(super) fn clear_forms(&mut self) {
        self.issue_amount.clear();
        self.issue_to.clear();
        self.prompt.clear();
    }

    /// The periodic update at `now_ms`: the payment rate, and the notice expires.
    pub fn tick_at(&mut self, now_ms: u64) {
        self.now_ms = now_ms;
        self.rate = payment_rate(&self.blocks, self.now_ms, RATE_BUCKETS);
        self.notice_timer.expire(&mut self.notice, now_ms);
    }
}
