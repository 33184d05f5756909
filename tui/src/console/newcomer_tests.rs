//! Tests of what a newcomer trips over in the console (issue 19): readline editing, forms that
//! empty when closed, amounts with thousands separators, expiring messages, the unreachable
//! node as an alert, y/n before freeze and tier changes, per-screen help and a narrow tab bar.
//! Snapshots at 60x20, 80x24 and 200x50.

use ratatui::backend::TestBackend;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;

use super::tests::console;
use super::*;
use crate::fixtures;

const SIZES: [(u16, u16); 3] = [(60, 20), (80, 24), (200, 50)];

fn snap(name: &str, c: &Console) {
    for (w, h) in SIZES {
        let mut t = Terminal::new(TestBackend::new(w, h)).expect("test terminal");
        t.draw(|f| view::draw(f, c)).expect("draws");
        insta::assert_snapshot!(format!("console_{name}_{w}x{h}"), t.backend());
    }
}

fn press(c: &mut Console, code: KeyCode, modifiers: KeyModifiers) {
    if let Some(a) = c.key_action(KeyEvent::new(code, modifiers)) {
        c.update(a);
    }
}

fn key(c: &mut Console, code: KeyCode) {
    press(c, code, KeyModifiers::NONE);
}

fn ctrl(c: &mut Console, ch: char) {
    press(c, KeyCode::Char(ch), KeyModifiers::CONTROL);
}

fn typed(c: &mut Console, text: &str) {
    for ch in text.chars() {
        key(c, KeyCode::Char(ch));
    }
}

#[test]
fn issuance_form_edits_like_readline() {
    let mut c = console();
    key(&mut c, KeyCode::Char('2'));
    key(&mut c, KeyCode::Char('n'));
    typed(&mut c, "1000.00");
    ctrl(&mut c, 'a');
    key(&mut c, KeyCode::Right);
    key(&mut c, KeyCode::Char(','));
    assert_eq!(
        c.issue_amount.text, "1,000.00",
        "Ctrl-A and → move, not type"
    );
    ctrl(&mut c, 'e');
    key(&mut c, KeyCode::Left);
    key(&mut c, KeyCode::Backspace);
    key(&mut c, KeyCode::Char('5'));
    assert_eq!(c.issue_amount.text, "1,000.50");
    ctrl(&mut c, 'u');
    assert_eq!(c.issue_amount.text, "0", "Ctrl-U deletes to the start");
    ctrl(&mut c, 'e');
    ctrl(&mut c, 'w');
    assert_eq!(c.issue_amount.text, "", "Ctrl-W deletes the word");
    typed(&mut c, "1,000.00");
    key(&mut c, KeyCode::Enter);
    typed(&mut c, &fixtures::address("alice").to_string());
    key(&mut c, KeyCode::Home);
    snap("issuance_form_cursor", &c);
    key(&mut c, KeyCode::Enter);
    assert_eq!(
        c.busy.as_deref(),
        Some("operator 0 proposing an issuance of 1000.00 DFC"),
        "1,000.00 is an amount"
    );
}

#[test]
fn a_closed_form_starts_empty() {
    let mut c = console();
    key(&mut c, KeyCode::Char('2'));
    key(&mut c, KeyCode::Char('n'));
    typed(&mut c, "500");
    key(&mut c, KeyCode::Esc);
    key(&mut c, KeyCode::Char('n'));
    typed(&mut c, "20");
    assert_eq!(c.issue_amount.text, "20", "not 50020");
    // A refused amount keeps the form open for correction; Esc then empties it.
    ctrl(&mut c, 'u');
    typed(&mut c, "1,00");
    key(&mut c, KeyCode::Enter);
    typed(&mut c, &fixtures::address("alice").to_string());
    key(&mut c, KeyCode::Enter);
    assert!(c.busy.is_none(), "1,00 is ambiguous: refused");
    let notice = c.notice.clone().expect("a refusal is shown");
    assert!(!notice.ok);
    assert_eq!(
        notice.text.matches("e.g.").count(),
        1,
        "the example is given once: {}",
        notice.text
    );
    key(&mut c, KeyCode::Esc);
    key(&mut c, KeyCode::Char('n'));
    assert!(c.issue_amount.text.is_empty() && c.issue_to.text.is_empty());
}

#[test]
fn messages_expire() {
    let mut c = console();
    let t = c.now_ms;
    c.notice = Some(Notice::err("amount: bad"));
    c.tick_at(t);
    c.tick_at(t + crate::ui::NOTICE_ERR_MS - 1);
    assert!(c.notice.is_some());
    c.tick_at(t + crate::ui::NOTICE_ERR_MS);
    assert_eq!(c.notice, None, "the red message is gone");
}

#[test]
fn unreachable_node_is_an_alert_not_no_alerts() {
    let mut c = Console::new("http://127.0.0.1:7400", false, None);
    c.apply(Msg::PollFailed(
        "cannot reach the node at http://127.0.0.1:7400: connection refused".into(),
    ));
    snap("dashboard_unreachable", &c);
    let mut c = console();
    c.apply(Msg::PollFailed("connection refused".into()));
    c.apply(Msg::PollFailed("connection refused".into()));
    snap("dashboard_lost_node", &c);
}

#[test]
fn freeze_asks_before_sending() {
    let mut c = console();
    key(&mut c, KeyCode::Char('5'));
    key(&mut c, KeyCode::Char('f'));
    typed(&mut c, "court order 17");
    key(&mut c, KeyCode::Enter);
    assert!(c.busy.is_none(), "nothing sent before y");
    assert_eq!(c.mode, Mode::WalletConfirm(WalletPromptKind::Freeze));
    snap("wallets_freeze_confirm", &c);
    key(&mut c, KeyCode::Char('n'));
    assert_eq!(
        c.mode,
        Mode::WalletPrompt(WalletPromptKind::Freeze),
        "n goes back to the prompt"
    );
    assert_eq!(c.prompt.text, "court order 17");
    key(&mut c, KeyCode::Enter);
    key(&mut c, KeyCode::Char('y'));
    assert_eq!(c.busy.as_deref(), Some("freezing alice"));
    assert_eq!(c.mode, Mode::Normal);
    assert!(c.prompt.text.is_empty());
}

#[test]
fn tier_prompt_lists_the_tiers_and_asks() {
    let mut c = console();
    key(&mut c, KeyCode::Char('5'));
    key(&mut c, KeyCode::Char('t'));
    snap("wallets_tier_prompt", &c);
    typed(&mut c, "2");
    key(&mut c, KeyCode::Enter);
    assert!(c.busy.is_none());
    snap("wallets_tier_confirm", &c);
    key(&mut c, KeyCode::Esc);
    key(&mut c, KeyCode::Esc);
    assert_eq!(c.mode, Mode::Normal);
    assert!(c.busy.is_none(), "declined: nothing sent");
}

#[test]
fn help_is_per_screen() {
    let mut c = console();
    key(&mut c, KeyCode::Char('5'));
    key(&mut c, KeyCode::Char('?'));
    snap("help_wallets", &c);
    key(&mut c, KeyCode::Char('?'));
    key(&mut c, KeyCode::Char('1'));
    key(&mut c, KeyCode::Char('?'));
    snap("help_dashboard", &c);
}

#[test]
fn narrow_tab_bar_keeps_the_active_tab() {
    let mut c = console();
    key(&mut c, KeyCode::Char('7'));
    let mut t = Terminal::new(TestBackend::new(60, 20)).expect("test terminal");
    t.draw(|f| view::draw(f, &c)).expect("draws");
    let first_row: String = (0..60)
        .map(|x| t.backend().buffer()[(x, 0)].symbol().to_string())
        .collect();
    assert!(first_row.contains("Regulator"), "{first_row}");
    snap("regulator_narrow", &c);
}
