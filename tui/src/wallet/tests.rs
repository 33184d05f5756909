//! Snapshot tests of the wallet screens at 80x24 and 160x45, from fixed data.

use dfc_wallet::wallet::{Balance, HistoryLine, PaymentReport};
use ratatui::backend::TestBackend;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;

use super::*;
use crate::fixtures::{self, T0};
use crate::ui::Conn;

const SIZES: [(u16, u16); 2] = [(80, 24), (160, 45)];

fn app() -> WalletApp {
    let alice = fixtures::address("alice").to_string();
    let bob = fixtures::address("bob").to_string();
    let mut w = WalletApp::offline(
        "/home/alice/.dfc/wallet",
        Some("http://127.0.0.1:7400".into()),
        &alice,
        fixtures::params(),
    );
    w.apply(WalletMsg::Local {
        balance: Box::new(Balance {
            spendable: "124.50 DFC".into(),
            reserved: "0.00 DFC".into(),
            total: "124.50 DFC".into(),
            spendable_units: 12_450,
            reserved_units: 0,
            total_units: 12_450,
            currency: "DFC".into(),
            notes: 1,
            synced_height: 3,
            pending: vec![],
            purse: "20.00 DFC".into(),
            purse_units: 2_000,
            unsettled_in: "0.00 DFC".into(),
            unsettled_in_units: 0,
            unsettled_out_units: 0,
        }),
        history: vec![
            HistoryLine {
                txid: "c3".repeat(32),
                kind: "issue".into(),
                amount: "150.00 DFC".into(),
                amount_units: 15_000,
                height: Some(1),
                time_ms: T0 + 60_000,
                counterparty: None,
                memo: String::new(),
            },
            HistoryLine {
                txid: "d4".repeat(32),
                kind: "outgoing".into(),
                amount: "25.50 DFC".into(),
                amount_units: 2_550,
                height: Some(2),
                time_ms: T0 + 120_000,
                counterparty: Some(bob),
                memo: "rent".into(),
            },
        ],
    });
    w.now_ms = T0 + 125_000;
    w.apply(WalletMsg::Synced(Ok(Default::default())));
    w
}

fn render(w: &WalletApp, width: u16, height: u16) -> Terminal<TestBackend> {
    let mut t = Terminal::new(TestBackend::new(width, height)).expect("test terminal");
    t.draw(|f| view::draw(f, w)).expect("draws");
    t
}

fn key(w: &mut WalletApp, code: KeyCode) {
    if let Some(a) = w.key_action(KeyEvent::new(code, KeyModifiers::NONE)) {
        w.update(a);
    }
}

fn snap(name: &str, w: &WalletApp) {
    for (width, height) in SIZES {
        let t = render(w, width, height);
        insta::assert_snapshot!(format!("wallet_{name}_{width}x{height}"), t.backend());
    }
}

#[test]
fn overview() {
    snap("overview", &app());
}

#[test]
fn overview_reconnecting() {
    let mut w = app();
    w.apply(WalletMsg::Synced(Err(
        "cannot reach the node at http://127.0.0.1:7400/v1/blocks: connection refused".into(),
    )));
    assert!(matches!(w.conn, Conn::Reconnecting { attempts: 1, .. }));
    snap("overview_reconnecting", &w);
}

#[test]
fn pay_form_and_result() {
    let mut w = app();
    key(&mut w, KeyCode::Char('p'));
    for c in fixtures::address("bob").to_string().chars() {
        key(&mut w, KeyCode::Char(c));
    }
    key(&mut w, KeyCode::Enter);
    for c in "25.50".chars() {
        key(&mut w, KeyCode::Char(c));
    }
    key(&mut w, KeyCode::Enter);
    for c in "rent".chars() {
        key(&mut w, KeyCode::Char(c));
    }
    snap("pay_form", &w);
    key(&mut w, KeyCode::Enter);
    assert!(w.paying, "the payment was sent to the worker");
    w.apply(WalletMsg::Paid(Box::new(Ok(PaymentReport {
        txid: "d4".repeat(32),
        kind: "transfer".into(),
        amount: "25.50 DFC".into(),
        amount_units: 2_550,
        to: Some(fixtures::address("bob").to_string()),
        change: "124.50 DFC".into(),
        inputs: 1,
        outputs: 2,
        build_ms: 41,
        tx_bytes: 1_541,
        state: "committed",
        receipt: None,
        approvals: None,
        threshold: None,
        note: None,
    }))));
    snap("pay_done", &w);
}

#[test]
fn pay_refuses_too_many_decimals() {
    let mut w = app();
    key(&mut w, KeyCode::Char('p'));
    for c in fixtures::address("bob").to_string().chars() {
        key(&mut w, KeyCode::Char(c));
    }
    key(&mut w, KeyCode::Enter);
    for c in "1.005".chars() {
        key(&mut w, KeyCode::Char(c));
    }
    key(&mut w, KeyCode::Enter);
    key(&mut w, KeyCode::Enter);
    assert!(!w.paying);
    assert_eq!(w.editing, Some(1), "back on the amount");
}

#[test]
fn receive_shows_the_address_as_a_qr_code() {
    let mut w = app();
    key(&mut w, KeyCode::Char('3'));
    snap("receive", &w);
    let t = render(&w, 60, 20);
    insta::assert_snapshot!("wallet_receive_too_small_60x20", t.backend());
}

#[test]
fn history() {
    let mut w = app();
    key(&mut w, KeyCode::Char('4'));
    snap("history", &w);
}

#[test]
fn help_overlay() {
    let mut w = app();
    key(&mut w, KeyCode::Char('?'));
    snap("help", &w);
}

#[test]
fn qr_payload_parses_back_to_the_address() {
    let a = fixtures::address("alice");
    let upper = view::qr_payload(&a.to_string());
    let back: dfc_core::Address = crate::ui::normalize_address(&upper)
        .parse()
        .expect("bech32 is case-insensitive");
    assert_eq!(back, a);
}
