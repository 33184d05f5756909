//! Snapshot tests of the console screens at 80x24 and 160x45, from fixed data.

use ratatui::backend::TestBackend;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;

use super::*;
use crate::fixtures::{self, T0};

const SIZES: [(u16, u16); 2] = [(80, 24), (160, 45)];

pub(super) fn console() -> Console {
    let mut c = Console::new("http://127.0.0.1:7400", true, None);
    c.apply(Msg::Connected {
        params: Box::new(fixtures::params()),
        operators: vec![0, 1, 2],
        problems: vec![],
    });
    c.auditing = false;
    c.now_ms = T0 + 300_500;
    c.apply(Msg::Polled(Box::new(Poll {
        supply: fixtures::supply(),
        proposals: fixtures::proposals(),
        wallets: fixtures::wallets(),
        evidence: fixtures::evidence(),
        new_blocks: fixtures::blocks(),
        time_ms: T0 + 300_500,
    })));
    c.apply(Msg::Audited(Box::new(Ok(AuditResult {
        time_ms: T0 + 299_000,
        summary: fixtures::supply(),
        log: Ok(7),
        replay: Some(AuditReport {
            pass: true,
            height: Some(12),
            supply_units: Some(15_000),
            supply: Some("150.00 DFC".into()),
            notes_outstanding: Some(19),
            tx_count: Some(32),
            audit_entries: Some(7),
            error: None,
            verify_us: None,
            verify_cpu_us: None,
        }),
        scorecard: Some(Ok(fixtures::scorecard())),
    }))));
    c.notice = None;
    c
}

fn render(c: &Console, w: u16, h: u16) -> Terminal<TestBackend> {
    let mut t = Terminal::new(TestBackend::new(w, h)).expect("test terminal");
    t.draw(|f| view::draw(f, c)).expect("draws");
    t
}

fn key(c: &mut Console, code: KeyCode) {
    if let Some(a) = c.key_action(KeyEvent::new(code, KeyModifiers::NONE)) {
        c.update(a);
    }
}

fn typed(c: &mut Console, text: &str) {
    for ch in text.chars() {
        key(c, KeyCode::Char(ch));
    }
}

fn snap(name: &str, c: &Console) {
    for (w, h) in SIZES {
        let t = render(c, w, h);
        insta::assert_snapshot!(format!("console_{name}_{w}x{h}"), t.backend());
    }
}

#[test]
fn dashboard() {
    snap("dashboard", &console());
}

#[test]
fn dashboard_disconnected_before_any_data() {
    let mut c = Console::new("http://127.0.0.1:7400", false, None);
    c.apply(Msg::PollFailed(
        "cannot reach the node at http://127.0.0.1:7400/v1/params: connection refused".into(),
    ));
    c.apply(Msg::PollFailed("connection refused".into()));
    snap("dashboard_disconnected", &c);
}

#[test]
fn issuance_with_form_filled_in() {
    let mut c = console();
    key(&mut c, KeyCode::Char('2'));
    key(&mut c, KeyCode::Char('n'));
    typed(&mut c, "250.00");
    key(&mut c, KeyCode::Enter);
    typed(&mut c, &fixtures::address("alice").to_string());
    snap("issuance_form", &c);
}

#[test]
fn issuance_approve_switching_operator() {
    let mut c = console();
    key(&mut c, KeyCode::Char('2'));
    key(&mut c, KeyCode::Char('a'));
    assert!(
        c.notice.as_ref().is_some_and(|n| !n.ok),
        "operator 0 already approved"
    );
    key(&mut c, KeyCode::Char('o'));
    assert_eq!(c.operator(), Some(1));
    key(&mut c, KeyCode::Char('a'));
    assert!(
        c.busy.is_none(),
        "nothing is signed before the confirmation"
    );
    assert!(matches!(c.mode, Mode::ProposalDetail { confirm: true, .. }));
    snap("issuance_confirm", &c);
    key(&mut c, KeyCode::Char('n'));
    assert!(
        c.busy.is_none() && matches!(c.mode, Mode::ProposalDetail { confirm: false, .. }),
        "n declines and goes back to the detail"
    );
    key(&mut c, KeyCode::Char('a'));
    key(&mut c, KeyCode::Char('y'));
    assert!(c.busy.is_some(), "approval sent after y");
    assert_eq!(c.mode, Mode::Normal);
    snap("issuance_approving", &c);
}

#[test]
fn issuance_detail_shows_every_output() {
    let mut c = console();
    key(&mut c, KeyCode::Char('2'));
    key(&mut c, KeyCode::Enter);
    assert!(matches!(
        c.mode,
        Mode::ProposalDetail { confirm: false, .. }
    ));
    for (w, h) in SIZES {
        let screen = format!("{}", render(&c, w, h).backend());
        for needle in [
            "0.01 DFC",
            "249.99 DFC",
            "to alice",
            "to dave",
            "proposed by operator 0",
        ] {
            assert!(screen.contains(needle), "{needle} at {w}x{h}:\n{screen}");
        }
        let alice = fixtures::address("alice").to_string();
        assert!(screen.contains(&alice[..20]), "alice's address at {w}x{h}");
    }
    snap("issuance_detail", &c);
    key(&mut c, KeyCode::Char('y'));
    assert!(c.busy.is_none(), "y without the question signs nothing");
    key(&mut c, KeyCode::Esc);
    assert_eq!(c.mode, Mode::Normal);
}

#[test]
fn expired_and_committed_proposals_cannot_be_approved() {
    let mut c = console();
    key(&mut c, KeyCode::Char('2'));
    key(&mut c, KeyCode::Down);
    key(&mut c, KeyCode::Char('a'));
    assert!(c.busy.is_none() && c.mode == Mode::Normal, "committed");
    c.proposals[0].state = "expired".into();
    key(&mut c, KeyCode::Up);
    key(&mut c, KeyCode::Char('o'));
    key(&mut c, KeyCode::Char('a'));
    assert!(
        c.busy.is_none()
            && c.notice
                .as_ref()
                .is_some_and(|n| n.text.contains("expired")),
        "expired"
    );
}

#[test]
fn redemption() {
    let mut c = console();
    key(&mut c, KeyCode::Char('3'));
    snap("redemption", &c);
}

#[test]
fn ledger_explorer() {
    let mut c = console();
    key(&mut c, KeyCode::Char('4'));
    key(&mut c, KeyCode::Down);
    snap("ledger", &c);
    // The oldest blocks: block 1 holds the issuance with its public amount.
    for _ in 0..10 {
        key(&mut c, KeyCode::Down);
    }
    let t = render(&c, 80, 24);
    insta::assert_snapshot!("console_ledger_issue_block_80x24", t.backend());
}

#[test]
fn wallets_with_freeze_prompt() {
    let mut c = console();
    key(&mut c, KeyCode::Char('5'));
    snap("wallets", &c);
    key(&mut c, KeyCode::Down);
    key(&mut c, KeyCode::Char('f'));
    typed(&mut c, "court order 17");
    let t = render(&c, 80, 24);
    insta::assert_snapshot!("console_wallets_freeze_prompt_80x24", t.backend());
}

#[test]
fn audit() {
    let mut c = console();
    key(&mut c, KeyCode::Char('6'));
    snap("audit", &c);
}

#[test]
fn audit_failure_raises_an_alert() {
    let mut c = console();
    c.apply(Msg::Audited(Box::new(Ok(AuditResult {
        time_ms: T0 + 300_000,
        summary: fixtures::supply(),
        log: Err("audit log entry 4 does not match its hash".into()),
        replay: None,
        scorecard: None,
    }))));
    snap("dashboard_audit_failed", &c);
}

#[test]
fn help_overlay() {
    let mut c = console();
    key(&mut c, KeyCode::Char('?'));
    snap("help", &c);
    key(&mut c, KeyCode::Char('x'));
    assert!(!c.help, "any key closes the help");
}

#[test]
fn rate_counts_transfers_per_second() {
    let blocks: VecDeque<BlockRow> = fixtures::blocks().into();
    let r = payment_rate(&blocks, T0 + 300_500, 10);
    // Blocks 3..=12 fall in the last 10 s; transfers per block are h % 4 + 1.
    assert_eq!(r, vec![4, 1, 2, 3, 4, 1, 2, 3, 4, 1]);
}

#[test]
fn issuance_form_refuses_bad_input_without_sending() {
    let mut c = console();
    key(&mut c, KeyCode::Char('2'));
    key(&mut c, KeyCode::Char('n'));
    typed(&mut c, "12.345");
    key(&mut c, KeyCode::Enter);
    typed(&mut c, &fixtures::address("alice").to_string());
    key(&mut c, KeyCode::Enter);
    assert!(c.busy.is_none());
    assert_eq!(
        c.mode,
        Mode::IssueForm { on_to: false },
        "back to the amount"
    );
    assert!(c.notice.as_ref().is_some_and(|n| !n.ok));
}

#[test]
fn wallets_shows_double_spend_evidence_of_the_selected_wallet() {
    let mut c = console();
    key(&mut c, KeyCode::Char('5'));
    // The registry by tier: alice, carol (0), bob (1), dave (2).
    for _ in 0..3 {
        key(&mut c, KeyCode::Down);
    }
    let dave = fixtures::address("dave").spend;
    assert_eq!(c.evidence_of(&dave).len(), 2);
    assert!(c.evidence_of(&dave)[0].recorded_ms > c.evidence_of(&dave)[1].recorded_ms);
    snap("wallets_evidence", &c);
}

#[test]
fn dashboard_alert_counts_evidence() {
    let c = console();
    let t = render(&c, 80, 24);
    assert!(format!("{:?}", t.backend()).contains("2 flags, 2 evidence records"));
}

fn regulator_console(key: bool) -> Console {
    let mut c = console();
    c.apply(Msg::Connected {
        params: Box::new(fixtures::params_with_compliance()),
        operators: vec![0, 1, 2],
        problems: vec![],
    });
    c.auditing = false;
    c.has_regulator_key = key;
    c
}

#[test]
fn regulator_without_rules_or_key_explains_in_one_line() {
    let mut c = console();
    c.has_regulator_key = true;
    key(&mut c, KeyCode::Char('7'));
    assert_eq!(c.tab, Tab::Regulator);
    assert!(!c.disclosing, "nothing to read without compliance rules");
    snap("regulator_no_rules", &c);
    let mut c = regulator_console(false);
    key(&mut c, KeyCode::Char('7'));
    assert!(!c.disclosing, "nothing to read without the key");
    snap("regulator_no_key", &c);
    key(&mut c, KeyCode::Char('r'));
    assert!(c.notice.as_ref().is_some_and(|n| !n.ok));
}

#[test]
fn regulator_lists_disclosed_payments() {
    let mut c = regulator_console(true);
    key(&mut c, KeyCode::Char('7'));
    assert!(c.disclosing, "opening the tab reads the disclosures");
    snap("regulator_reading", &c);
    c.apply(Msg::Disclosed(Box::new(Ok(Disclosures {
        payments: fixtures::disclosed(),
        height: 12,
        time_ms: T0 + 300_200,
    }))));
    assert!(!c.disclosing);
    snap("regulator", &c);
    // A new block while the tab is shown reads the list again.
    let mut supply = fixtures::supply();
    supply.height = 13;
    c.apply(Msg::Polled(Box::new(Poll {
        supply,
        proposals: fixtures::proposals(),
        wallets: fixtures::wallets(),
        evidence: fixtures::evidence(),
        new_blocks: vec![],
        time_ms: T0 + 301_000,
    })));
    assert!(c.disclosing);
}

#[test]
fn regulator_read_failure_is_shown() {
    let mut c = regulator_console(true);
    key(&mut c, KeyCode::Char('7'));
    c.apply(Msg::Disclosed(Box::new(Err(
        "the loaded key is not this network's regulator key".into(),
    ))));
    let t = render(&c, 80, 24);
    insta::assert_snapshot!("console_regulator_wrong_key_80x24", t.backend());
}

#[test]
fn audit_progress_shows_eta_and_x_cancels_leaving_the_last_result() {
    let mut c = console();
    key(&mut c, KeyCode::Char('6'));
    c.update(Action::RunAudit);
    assert!(c.auditing, "r starts an audit");
    let p = c.audit_progress.clone().expect("the run's progress");
    use dfc_central_bank::audit::Progress;
    p.start(400);
    p.advance(100);
    c.now_ms = p.started_ms + 3_000;
    c.notice = None;
    c.busy = None;
    snap("audit_running", &c);
    key(&mut c, KeyCode::Char('x'));
    assert!(p.cancelled(), "x asks the verification threads to stop");
    // The background task answers with the library's cancellation error.
    c.apply(Msg::Audited(Box::new(Err(
        "cancelled: cancelled before block 7".into(),
    ))));
    assert!(!c.auditing);
    assert!(c.audit.is_some(), "the last result stays on screen");
    let notice = c
        .notice
        .as_ref()
        .map(|n| n.text.clone())
        .unwrap_or_default();
    assert!(notice.contains("cancelled before block 7"), "{notice}");
    // The console stays usable: another tab, another audit.
    key(&mut c, KeyCode::Char('1'));
    assert_eq!(c.tab, Tab::Dashboard);
    c.update(Action::RunAudit);
    assert!(c.auditing);
    let again = c.audit_progress.clone().expect("a new run");
    assert!(!again.cancelled(), "a new run starts uncancelled");
}

#[test]
fn x_without_a_running_audit_says_so() {
    let mut c = console();
    c.auditing = false;
    key(&mut c, KeyCode::Char('6'));
    key(&mut c, KeyCode::Char('x'));
    let notice = c
        .notice
        .as_ref()
        .map(|n| n.text.clone())
        .unwrap_or_default();
    assert!(notice.contains("no audit is running"), "{notice}");
}

/// A pending change of tier 0's payment cap approved by operator 1, and an expired one.
fn gov_data() -> GovData {
    use dfc_core::governance::{ChangeProposal, ParamsChange, ParamsHistory};
    let base = fixtures::params();
    let proposal = |cap: u64, state: &str, by: u8| {
        let mut new = base.clone();
        new.tiers[0].max_payment = dfc_core::Amount::from_units(cap).expect("in range");
        let change = ParamsChange {
            base_hash: base.hash(),
            effective_height: 20,
            params: new,
        };
        ChangeProposal {
            digest: change.digest(),
            change,
            approvals: vec![by],
            threshold: base.threshold,
            proposed_by: by,
            created_ms: T0,
            expires_ms: T0 + 86_400_000,
            state: state.into(),
        }
    };
    GovData {
        changes: vec![proposal(8_000, "pending", 1), proposal(9_000, "expired", 2)],
        history: ParamsHistory::new(base),
    }
}

#[test]
fn governance_shows_the_diff_and_approves_only_after_y() {
    let mut c = console();
    key(&mut c, KeyCode::Char('8'));
    assert_eq!(c.tab, Tab::Governance);
    c.apply(Msg::Governance(Box::new(Ok(gov_data()))));
    c.notice = None;
    snap("governance", &c);
    // Operator 0 (not yet an approver) asks to approve: the confirmation, nothing sent yet.
    key(&mut c, KeyCode::Char('a'));
    let digest = gov_data().changes[0].digest;
    assert_eq!(c.mode, Mode::ChangeConfirm { digest });
    assert_eq!(c.busy, None, "nothing is signed before y");
    snap("governance_confirm", &c);
    key(&mut c, KeyCode::Char('n'));
    assert_eq!(c.mode, Mode::Normal);
    assert_eq!(c.busy, None);
    key(&mut c, KeyCode::Char('a'));
    key(&mut c, KeyCode::Char('y'));
    assert_eq!(c.mode, Mode::Normal);
    assert!(
        c.busy
            .as_deref()
            .is_some_and(|b| b.contains("operator 0 approving")),
        "{:?}",
        c.busy
    );
}

#[test]
fn governance_refuses_expired_changes_and_a_second_approval() {
    let mut c = console();
    key(&mut c, KeyCode::Char('8'));
    c.apply(Msg::Governance(Box::new(Ok(gov_data()))));
    // Operator 1 proposed the first change: its approval already counts.
    key(&mut c, KeyCode::Char('o'));
    assert_eq!(c.operator(), Some(1));
    key(&mut c, KeyCode::Char('a'));
    assert_eq!(c.mode, Mode::Normal);
    let notice = c
        .notice
        .as_ref()
        .map(|n| n.text.clone())
        .unwrap_or_default();
    assert!(notice.contains("already approved"), "{notice}");
    key(&mut c, KeyCode::Down);
    assert_eq!(c.gov_sel, 1);
    key(&mut c, KeyCode::Char('a'));
    assert_eq!(c.mode, Mode::Normal);
    let notice = c
        .notice
        .as_ref()
        .map(|n| n.text.clone())
        .unwrap_or_default();
    assert!(notice.contains("expired"), "{notice}");
}
