//! Snapshot tests of the wallet screens at 80x24 and 160x45, from fixed data.

use dfc_wallet::wallet::offline::{AcceptReport, OfflinePayment, PacketLine, PurseStatus};
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
            held: "0.00 DFC".into(),
            held_units: 0,
            total: "124.50 DFC".into(),
            spendable_units: 12_450,
            reserved_units: 0,
            total_units: 12_450,
            currency: "DFC".into(),
            notes: 1,
            synced_height: 3,
            at_height: 2,
            pending: vec![],
            purse: "20.00 DFC".into(),
            purse_units: 2_000,
            unsettled_in: "0.00 DFC".into(),
            unsettled_in_units: 0,
            unsettled_out_units: 0,
        }),
        history: vec![
            HistoryLine {
                held_units: 0,
                txid: "c3".repeat(32),
                kind: "issue".into(),
                amount: "150.00 DFC".into(),
                amount_units: 15_000,
                height: Some(1),
                time_ms: T0 + 60_000,
                counterparty: None,
                memo: String::new(),
                reason: None,
            },
            HistoryLine {
                held_units: 0,
                txid: "d4".repeat(32),
                kind: "outgoing".into(),
                amount: "25.50 DFC".into(),
                amount_units: 2_550,
                height: Some(2),
                time_ms: T0 + 120_000,
                counterparty: Some(bob),
                memo: "rent".into(),
                reason: None,
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

/// Offline snapshots: 80x24, the usual wide size, and one large enough for a packet's QR code.
const OFFLINE_SIZES: [(u16, u16); 3] = [(80, 24), (160, 45), (180, 95)];

fn offline_snap(name: &str, w: &WalletApp) {
    for (width, height) in OFFLINE_SIZES {
        let t = render(w, width, height);
        insta::assert_snapshot!(format!("wallet_{name}_{width}x{height}"), t.backend());
    }
}

fn typed(w: &mut WalletApp, text: &str) {
    for c in text.chars() {
        key(w, KeyCode::Char(c));
    }
}

/// A packet's text form of the measured size (2,342 characters), from a fixed generator.
fn packet_text() -> String {
    const B64: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut x: u32 = 7;
    let body: String = (0..2_334)
        .map(|_| {
            x = x.wrapping_mul(1_103_515_245).wrapping_add(12_345);
            char::from(B64[usize::try_from((x >> 16) % 64).unwrap_or(0)])
        })
        .collect();
    format!("{}{body}", dfc_core::offline::PACKET_TEXT_PREFIX)
}

fn offline_app() -> WalletApp {
    let mut w = app();
    let carol = fixtures::address("carol").to_string();
    w.apply(WalletMsg::Offline(Box::new(worker::OfflineView {
        purse: Some(PurseStatus {
            serial: 4,
            cap: fixtures::units(5_000),
            expires_ms: T0 + 7 * 86_400_000,
            counter: 2,
            checkpoint_height: Some(3),
            ready_notes: 2,
            ready: fixtures::units(1_000),
            unproven_notes: 1,
            unproven: fixtures::units(250),
            spent_offline_notes: 1,
        }),
        packets: vec![
            PacketLine {
                direction: "out",
                txid: "e5".repeat(32),
                amount: "2.50 DFC".into(),
                amount_units: 250,
                state: "settled".into(),
                counter: 1,
                counterparty: Some(carol.clone()),
                memo: "coffee".into(),
                error: None,
                evidence: None,
                height: Some(3),
            },
            PacketLine {
                direction: "out",
                txid: "f6".repeat(32),
                amount: "7.50 DFC".into(),
                amount_units: 750,
                state: "pending".into(),
                counter: 2,
                counterparty: Some(carol),
                memo: "market".into(),
                error: None,
                evidence: None,
                height: None,
            },
            PacketLine {
                direction: "in",
                txid: "a7".repeat(32),
                amount: "4.00 DFC".into(),
                amount_units: 400,
                state: "failed".into(),
                counter: 9,
                counterparty: Some("b8".repeat(32)),
                memo: String::new(),
                error: Some("double_spend: note already spent".into()),
                evidence: Some("c9".repeat(32)),
                height: None,
            },
        ],
    })));
    key(&mut w, KeyCode::Char('5'));
    w
}

#[test]
fn offline_tab_shows_purse_and_packets() {
    let w = offline_app();
    assert_eq!(w.tab, WTab::Offline);
    offline_snap("offline", &w);
}

#[test]
fn offline_tab_before_any_purse() {
    let mut w = app();
    key(&mut w, KeyCode::Char('5'));
    let t = render(&w, 80, 24);
    insta::assert_snapshot!("wallet_offline_empty_80x24", t.backend());
}

#[test]
fn offline_pay_shows_the_packet_as_a_qr_code_or_the_size_needed() {
    let mut w = offline_app();
    key(&mut w, KeyCode::Char('p'));
    typed(&mut w, &fixtures::address("carol").to_string());
    key(&mut w, KeyCode::Enter);
    typed(&mut w, "7.50");
    key(&mut w, KeyCode::Enter);
    typed(&mut w, "market");
    offline_snap("offline_pay_form", &w);
    key(&mut w, KeyCode::Enter);
    assert!(w.offline.busy.is_some(), "sent to the wallet thread");
    assert!(w.offline.form.is_none());
    let text = packet_text();
    w.apply(WalletMsg::OfflinePaid(Box::new(Ok(worker::PacketOut {
        payment: OfflinePayment {
            txid: "f6".repeat(32),
            amount: "7.50 DFC".into(),
            amount_units: 750,
            change_units: 250,
            change: "2.50 DFC".into(),
            counter: 2,
            size_bytes: 1_750,
            text_chars: text.len(),
            text,
            build_ms: 38,
            bytes: vec![],
        },
        file: Ok("/home/alice/.dfc/wallet/packet-0002-f6f6f6f6f6f6.dfcpay".into()),
    }))));
    assert!(w.offline.busy.is_none());
    assert!(w.offline.showing_packet);
    offline_snap("offline_packet", &w);
    // Every size either shows the whole code or says how large the terminal must be.
    let qr = crate::ui::qr_lines(&packet_text()).expect("fits one code");
    let (qw, qh) = crate::ui::qr_size(&qr);
    for (width, height) in OFFLINE_SIZES {
        let t = render(&w, width, height);
        let screen = format!("{:?}", t.backend());
        let fits = width >= qw && height >= qh + 7;
        assert_eq!(
            screen.contains("Make the terminal at least"),
            !fits,
            "{width}x{height}"
        );
    }
    key(&mut w, KeyCode::Enter);
    assert!(!w.offline.showing_packet, "Enter closes the packet");
}

#[test]
fn offline_pay_refuses_a_bad_amount_without_sending() {
    let mut w = offline_app();
    key(&mut w, KeyCode::Char('p'));
    typed(&mut w, &fixtures::address("carol").to_string());
    key(&mut w, KeyCode::Enter);
    typed(&mut w, "0");
    key(&mut w, KeyCode::Enter);
    key(&mut w, KeyCode::Enter);
    assert!(w.offline.busy.is_none());
    assert_eq!(
        w.offline.form,
        Some((OfflineForm::Pay, 1)),
        "back on the amount"
    );
}

#[test]
fn offline_accept_shows_the_amount_or_the_refusal() {
    let mut w = offline_app();
    key(&mut w, KeyCode::Char('a'));
    typed(&mut w, "/home/alice/Downloads/packet-0001.dfcpay");
    let t = render(&w, 80, 24);
    insta::assert_snapshot!("wallet_offline_accept_form_80x24", t.backend());
    key(&mut w, KeyCode::Enter);
    assert!(w.offline.busy.is_some());
    w.apply(WalletMsg::OfflineAccepted(Box::new(Err(
        "offline packet refused: the purse certificate expired at 2025-11-25 17:00:00 UTC".into(),
    ))));
    offline_snap("offline_accept_refused", &w);
    assert_eq!(
        w.offline.form,
        Some((OfflineForm::Accept, 0)),
        "a refused form reopens"
    );
    assert!(
        !w.offline.accept.text.is_empty(),
        "a refused entry stays for correction"
    );
    // Ctrl-U empties the field (it used to type a `u`).
    w.on_key(KeyEvent::new(KeyCode::Char('u'), KeyModifiers::CONTROL));
    assert!(w.offline.accept.text.is_empty());
    // A pasted text form, longer than an ordinary field.
    typed(&mut w, &packet_text());
    assert_eq!(w.offline.accept.text, packet_text());
    key(&mut w, KeyCode::Enter);
    w.apply(WalletMsg::OfflineAccepted(Box::new(Ok(AcceptReport {
        txid: "d1".repeat(32),
        amount: "3.25 DFC".into(),
        amount_units: 325,
        payer: "b8".repeat(32),
        counter: 5,
        memo: "bread".into(),
        unsettled_units: 325,
    }))));
    assert!(w.offline.accept.text.is_empty());
    offline_snap("offline_accepted", &w);
}

#[test]
fn offline_fund_form() {
    let mut w = offline_app();
    key(&mut w, KeyCode::Char('f'));
    typed(&mut w, "20.00");
    let t = render(&w, 80, 24);
    insta::assert_snapshot!("wallet_offline_fund_form_80x24", t.backend());
    key(&mut w, KeyCode::Enter);
    assert!(w.offline.busy.is_some());
}

#[test]
fn packet_source_reads_text_or_a_file() {
    let text = packet_text();
    assert_eq!(
        worker::packet_source(&format!("  {text}\n")).expect("text"),
        text.as_bytes()
    );
    assert!(worker::packet_source("").is_err());
    assert!(worker::packet_source("/nonexistent/packet.dfcpay")
        .expect_err("no such file")
        .contains("/nonexistent/packet.dfcpay"));
}

#[test]
fn text_window_keeps_every_character_and_scrolls() {
    assert_eq!(
        view::text_window("abcdefgh", 3, 2, 0),
        (vec!["abc".to_string(), "def".to_string()], 0, 3)
    );
    // Scrolled past the end: clamped to the last full window.
    assert_eq!(
        view::text_window("abcdefgh", 3, 2, 9),
        (vec!["def".to_string(), "gh".to_string()], 1, 3)
    );
    assert_eq!(view::text_window("abcdef", 3, 2, 0).0.concat(), "abcdef");
}

/// Sizes of the screens changed for issue 19 (newcomer's rough edges).
const NEWCOMER_SIZES: [(u16, u16); 3] = [(60, 20), (80, 24), (200, 50)];

fn newcomer_snap(name: &str, w: &WalletApp) {
    for (width, height) in NEWCOMER_SIZES {
        let t = render(w, width, height);
        insta::assert_snapshot!(format!("wallet_{name}_{width}x{height}"), t.backend());
    }
}

#[test]
fn pay_form_edits_like_readline_and_empties_when_closed() {
    let mut w = app();
    key(&mut w, KeyCode::Char('p'));
    typed(&mut w, &fixtures::address("bob").to_string());
    key(&mut w, KeyCode::Enter);
    typed(&mut w, "500");
    key(&mut w, KeyCode::Esc);
    key(&mut w, KeyCode::Char('p'));
    key(&mut w, KeyCode::Enter);
    typed(&mut w, "20");
    assert_eq!(w.pay[1].text, "20", "a closed form starts empty, not 50020");
    w.on_key(KeyEvent::new(KeyCode::Char('u'), KeyModifiers::CONTROL));
    assert_eq!(w.pay[1].text, "", "Ctrl-U deletes, it does not type u");
    typed(&mut w, "1000.00");
    w.on_key(KeyEvent::new(KeyCode::Char('a'), KeyModifiers::CONTROL));
    key(&mut w, KeyCode::Right);
    key(&mut w, KeyCode::Char(','));
    assert_eq!(w.pay[1].text, "1,000.00");
    newcomer_snap("pay_form_cursor", &w);
}

#[test]
fn refused_payment_reopens_its_form_and_the_message_expires() {
    let mut w = app();
    key(&mut w, KeyCode::Char('p'));
    typed(&mut w, &fixtures::address("bob").to_string());
    key(&mut w, KeyCode::Enter);
    typed(&mut w, "1,000.00");
    key(&mut w, KeyCode::Enter);
    key(&mut w, KeyCode::Enter);
    assert!(w.paying, "1,000.00 is an amount");
    w.apply(WalletMsg::Paid(Box::new(Err(
        "insufficient funds: 124.50 DFC available, 1000.00 DFC asked".into(),
    ))));
    assert_eq!(w.editing, Some(0), "the refused form is open again");
    assert_eq!(w.pay[1].text, "1,000.00", "with what was typed");
    newcomer_snap("pay_refused", &w);
    w.notice_timer.expire(&mut w.notice, 1_000);
    w.notice_timer
        .expire(&mut w.notice, 1_000 + crate::ui::NOTICE_ERR_MS);
    assert_eq!(w.notice, None, "the red message expires");
}

#[test]
fn help_is_per_screen() {
    let mut w = app();
    key(&mut w, KeyCode::Char('5'));
    key(&mut w, KeyCode::Char('?'));
    newcomer_snap("help_offline", &w);
}
