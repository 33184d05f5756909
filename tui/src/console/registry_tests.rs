//! Tests of what the console shows of the node's state and registry: a halted node is a red
//! alert (never "connected"), a frozen wallet's reason and registry version are shown, registry
//! changes carry the version of the record on screen, and the registry's columns are sized by
//! their content. Snapshots at 60x20, 80x24 and 200x50.

use ratatui::backend::TestBackend;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::style::Color;
use ratatui::Terminal;

use super::tests::console;
use super::*;
use crate::fixtures::{self, T0};

const SIZES: [(u16, u16); 3] = [(60, 20), (80, 24), (200, 50)];

fn render(c: &Console, w: u16, h: u16) -> String {
    let mut t = Terminal::new(TestBackend::new(w, h)).expect("test terminal");
    t.draw(|f| view::draw(f, c)).expect("draws");
    format!("{}", t.backend())
}

fn snap(name: &str, c: &Console) {
    for (w, h) in SIZES {
        insta::assert_snapshot!(format!("console_{name}_{w}x{h}"), render(c, w, h));
    }
}

fn key(c: &mut Console, code: KeyCode) {
    if let Some(a) = c.key_action(KeyEvent::new(code, KeyModifiers::NONE)) {
        c.update(a);
    }
}

fn poll_with(supply: dfc_core::api::SupplySummary, wallets: Vec<WalletInfo>) -> Msg {
    Msg::Polled(Box::new(Poll {
        supply,
        proposals: fixtures::proposals(),
        wallets,
        evidence: fixtures::evidence(),
        new_blocks: Vec::new(),
        time_ms: T0 + 301_500,
    }))
}

#[test]
fn a_halted_node_is_a_red_alert_never_connected() {
    let mut c = console();
    assert_eq!(c.conn, Conn::Connected);
    let mut supply = fixtures::supply();
    supply.halted = true;
    c.apply(poll_with(supply, fixtures::wallets()));
    assert_eq!(c.conn, Conn::Halted);
    let (label, colour) = c.conn.label();
    assert_eq!((label.as_str(), colour), ("NODE HALTED", Color::Red));
    let screen = render(&c, 80, 24);
    assert!(!screen.contains("connected"), "{screen}");
    assert!(screen.contains("HALTED"), "{screen}");
    snap("dashboard_halted", &c);

    // A later poll of a node that writes again (restarted on a fixed store) clears it.
    c.apply(poll_with(fixtures::supply(), fixtures::wallets()));
    assert_eq!(c.conn, Conn::Connected);
}

#[test]
fn a_node_checking_its_tables_is_shown_as_such_not_connected() {
    let mut c = console();
    let mut supply = fixtures::supply();
    supply.checking_tables = true;
    c.apply(poll_with(supply, fixtures::wallets()));
    assert_eq!(c.conn, Conn::CheckingTables);
    let (label, colour) = c.conn.label();
    assert_eq!(
        (label.as_str(), colour),
        ("node checking its tables: writes wait", Color::Yellow)
    );
    let screen = render(&c, 200, 50);
    assert!(!screen.contains("connected"), "{screen}");
    assert!(screen.contains("checking its stored tables"), "{screen}");

    // The check passed: the next poll shows the node connected.
    c.apply(poll_with(fixtures::supply(), fixtures::wallets()));
    assert_eq!(c.conn, Conn::Connected);
}

#[test]
fn a_frozen_wallet_shows_its_reason_and_registry_version() {
    let mut c = console();
    key(&mut c, KeyCode::Char('5'));
    // The registry by tier: alice, carol (frozen), bob, dave.
    key(&mut c, KeyCode::Down);
    for (w, h) in SIZES {
        let screen = render(&c, w, h);
        assert!(
            screen.contains("Frozen because: court order 17/2026"),
            "{w}x{h}\n{screen}"
        );
    }
    assert!(render(&c, 200, 50).contains("registry version 1"));
    snap("wallets_frozen_reason", &c);
}

#[test]
fn registry_changes_carry_the_version_on_screen() {
    let mut c = console();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    c.commands = Some(tx);
    key(&mut c, KeyCode::Char('5'));
    key(&mut c, KeyCode::Down);
    key(&mut c, KeyCode::Char('u'));
    for ch in "cleared".chars() {
        key(&mut c, KeyCode::Char(ch));
    }
    key(&mut c, KeyCode::Enter);
    key(&mut c, KeyCode::Char('y'));
    match rx.try_recv() {
        Ok(Command::Unfreeze {
            registry_version,
            wallet,
            ..
        }) => {
            assert_eq!(
                registry_version, 1,
                "the version of carol's record as shown"
            );
            assert_eq!(wallet, fixtures::address("carol").spend);
        }
        other => panic!("expected an unfreeze, got {other:?}"),
    }
}

#[test]
fn registry_columns_are_sized_by_content() {
    let mut c = console();
    let mut wallets = fixtures::wallets();
    for w in &mut wallets {
        w.label.clear();
    }
    c.apply(poll_with(fixtures::supply(), wallets.clone()));
    key(&mut c, KeyCode::Char('5'));
    let screen = render(&c, 200, 50);
    let full = wallets[0].address.to_string();
    assert!(
        screen.contains(&full),
        "at 200 columns an address is shown whole when labels are empty\n{screen}"
    );
    snap("wallets_no_labels", &c);
}

#[test]
fn slash_filters_the_registry_and_esc_clears_it() {
    let mut c = console();
    key(&mut c, KeyCode::Char('5'));
    key(&mut c, KeyCode::Char('/'));
    assert_eq!(c.mode, Mode::Filter);
    for ch in "DAVE".chars() {
        key(&mut c, KeyCode::Char(ch));
    }
    // Case-insensitive on labels: only dave.
    let shown: Vec<String> = c
        .wallets_by_tier()
        .iter()
        .map(|w| w.label.clone())
        .collect();
    assert_eq!(shown, vec!["dave".to_string()]);
    snap("wallets_filtered", &c);
    key(&mut c, KeyCode::Enter);
    assert_eq!(c.mode, Mode::Normal, "Enter keeps the filter");
    assert_eq!(c.wallets_by_tier().len(), 1);
    // Actions apply to the filtered list's selection: `i` issues to dave.
    assert_eq!(
        c.key_action(KeyEvent::new(KeyCode::Char('i'), KeyModifiers::NONE)),
        Some(Action::NewIssue(Some(
            fixtures::address("dave").to_string()
        )))
    );
    key(&mut c, KeyCode::Char('/'));
    key(&mut c, KeyCode::Esc);
    assert_eq!(c.mode, Mode::Normal);
    assert_eq!(
        c.wallets_by_tier().len(),
        4,
        "Esc while typing clears the filter"
    );
    key(&mut c, KeyCode::Char('/'));
    for ch in "nobody".chars() {
        key(&mut c, KeyCode::Char(ch));
    }
    assert!(render(&c, 80, 24).contains("No wallet's label or address contains"));
}

#[test]
fn mouse_wheel_scrolls_and_a_click_selects_the_row() {
    use ratatui::crossterm::event::{MouseButton, MouseEvent, MouseEventKind};
    let mouse = |kind, column, row| MouseEvent {
        kind,
        column,
        row,
        modifiers: KeyModifiers::NONE,
    };
    let mut c = console();
    key(&mut c, KeyCode::Char('5'));
    // Drawn once so the list knows where it is.
    let _ = render(&c, 80, 24);
    let area = c.list_areas.get()[3].expect("the registry was drawn").area;
    c.mouse(mouse(MouseEventKind::ScrollDown, 5, 5));
    c.mouse(mouse(MouseEventKind::ScrollDown, 5, 5));
    assert_eq!(c.sel[3], 2, "the wheel moves the selection");
    c.mouse(mouse(MouseEventKind::ScrollUp, 5, 5));
    assert_eq!(c.sel[3], 1);
    // The fourth data row (dave): border and header above the first.
    c.mouse(mouse(
        MouseEventKind::Down(MouseButton::Left),
        area.x + 3,
        area.y + 2 + 3,
    ));
    assert_eq!(c.sel[3], 3);
    assert_eq!(c.wallets_by_tier()[3].label, "dave");
    // A click on the border or below the rows changes nothing.
    c.mouse(mouse(
        MouseEventKind::Down(MouseButton::Left),
        area.x,
        area.y + 3,
    ));
    c.mouse(mouse(
        MouseEventKind::Down(MouseButton::Left),
        area.x + 3,
        area.y + 2 + 30,
    ));
    assert_eq!(c.sel[3], 3);
}
