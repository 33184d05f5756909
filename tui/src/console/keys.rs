//! The console's keys: what each key asks for, by mode and tab ([`Console::key_action`]). The
//! per-tab help (`crate::help::console`) lists the same keys.

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::{Action, Console, Mode, Tab, WalletPromptKind};
use crate::textfield::EditKey;

impl Console {
    /// The action a key asks for in the current mode.
    pub fn key_action(&self, key: KeyEvent) -> Option<Action> {
        if key.modifiers.contains(KeyModifiers::CONTROL) && key.code == KeyCode::Char('c') {
            return Some(Action::Quit);
        }
        if self.help {
            return Some(Action::ToggleHelp);
        }
        match self.mode {
            Mode::ProposalDetail { confirm, .. } => match key.code {
                KeyCode::Esc | KeyCode::Enter | KeyCode::Char('q') if !confirm => {
                    Some(Action::Cancel)
                }
                KeyCode::Char('a') if !confirm => Some(Action::Approve),
                KeyCode::Char('y') | KeyCode::Char('Y') if confirm => Some(Action::ConfirmApprove),
                KeyCode::Char('n') | KeyCode::Char('N') | KeyCode::Esc if confirm => {
                    Some(Action::Cancel)
                }
                _ => None,
            },
            Mode::ChangeConfirm { .. } => match key.code {
                KeyCode::Char('y') | KeyCode::Char('Y') => Some(Action::ConfirmChange),
                KeyCode::Char('n') | KeyCode::Char('N') | KeyCode::Esc => Some(Action::Cancel),
                _ => None,
            },
            Mode::WalletConfirm(_) => match key.code {
                KeyCode::Char('y') | KeyCode::Char('Y') => Some(Action::Submit),
                KeyCode::Char('n') | KeyCode::Char('N') | KeyCode::Esc => Some(Action::Cancel),
                _ => None,
            },
            Mode::Filter => match key.code {
                KeyCode::Esc => Some(Action::Cancel),
                KeyCode::Enter => Some(Action::Submit),
                _ => EditKey::from_key(key).map(Action::Edit),
            },
            Mode::IssueForm { .. } | Mode::WalletPrompt(_) => match key.code {
                KeyCode::Esc => Some(Action::Cancel),
                KeyCode::Enter => Some(Action::Submit),
                KeyCode::Tab | KeyCode::BackTab | KeyCode::Up | KeyCode::Down => {
                    Some(Action::SwitchField)
                }
                _ => EditKey::from_key(key).map(Action::Edit),
            },
            Mode::Normal => {
                let tab_key = match key.code {
                    KeyCode::Char(c @ '1'..='8') => {
                        let i = usize::from(u8::try_from(c).unwrap_or(b'1') - b'1');
                        Tab::ALL.get(i).copied()
                    }
                    _ => None,
                };
                if let Some(t) = tab_key {
                    return Some(Action::GoTab(t));
                }
                match key.code {
                    KeyCode::Char('q') => Some(Action::Quit),
                    KeyCode::Char('?') => Some(Action::ToggleHelp),
                    KeyCode::Tab | KeyCode::Right => Some(Action::NextTab),
                    KeyCode::BackTab | KeyCode::Left => Some(Action::PrevTab),
                    KeyCode::Up | KeyCode::Char('k') => Some(Action::Up),
                    KeyCode::Down | KeyCode::Char('j') => Some(Action::Down),
                    KeyCode::Char('o') => Some(Action::CycleOperator),
                    KeyCode::Char('n') if self.tab == Tab::Issuance => Some(Action::NewIssue(None)),
                    KeyCode::Char('a') if matches!(self.tab, Tab::Issuance | Tab::Redemption) => {
                        Some(Action::Approve)
                    }
                    KeyCode::Enter if matches!(self.tab, Tab::Issuance | Tab::Redemption) => {
                        Some(Action::ShowProposal)
                    }
                    KeyCode::Char('/') if self.tab == Tab::Wallets => Some(Action::Filter),
                    KeyCode::Char('f') if self.tab == Tab::Wallets => {
                        Some(Action::Prompt(WalletPromptKind::Freeze))
                    }
                    KeyCode::Char('u') if self.tab == Tab::Wallets => {
                        Some(Action::Prompt(WalletPromptKind::Unfreeze))
                    }
                    KeyCode::Char('t') if self.tab == Tab::Wallets => {
                        Some(Action::Prompt(WalletPromptKind::SetTier))
                    }
                    KeyCode::Char('i') if self.tab == Tab::Wallets => {
                        let w = self.wallets_by_tier();
                        w.get(self.sel[3])
                            .map(|w| Action::NewIssue(Some(w.address.to_string())))
                    }
                    KeyCode::Char('r') if matches!(self.tab, Tab::Audit | Tab::Dashboard) => {
                        Some(Action::RunAudit)
                    }
                    KeyCode::Char('x') if matches!(self.tab, Tab::Audit | Tab::Dashboard) => {
                        Some(Action::CancelAudit)
                    }
                    KeyCode::Char('r') if self.tab == Tab::Regulator => Some(Action::Disclosed),
                    KeyCode::Char('r') if self.tab == Tab::Governance => Some(Action::Governance),
                    KeyCode::Char('a') if self.tab == Tab::Governance => {
                        Some(Action::ApproveChange)
                    }
                    _ => None,
                }
            }
        }
    }
}
