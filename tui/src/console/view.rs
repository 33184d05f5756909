//! Rendering of the console: a pure function of [`Console`]. This file holds the frame, the
//! dashboard and its alerts, the proposal lists and the ledger; the registry is drawn by
//! [`super::registry_view`], the audit and regulator tabs by [`super::audit_view`].

use dfc_core::api::Proposal;
use dfc_core::TxKind;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Style, Stylize};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Cell, Paragraph, Row, Sparkline, Table, TableState, Wrap};
use ratatui::Frame;

use super::{Console, Mode, Tab};
use crate::ui::{self, date_time, hms, short, short_address};

/// Draws the whole console.
pub fn draw(frame: &mut Frame, c: &Console) {
    let area = frame.area();
    let notice_text = c.busy.as_ref().map(|b| ui::Notice::ok(b.clone()));
    let nh = ui::notice_height(notice_text.as_ref().or(c.notice.as_ref()), area.width);
    let [tabs, body, notice, status] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(0),
        Constraint::Length(nh),
        Constraint::Length(1),
    ])
    .areas(area);
    let titles: Vec<&str> = Tab::ALL.iter().map(|t| t.title()).collect();
    let network = c
        .params
        .as_ref()
        .map(|p| format!("{} · {}", p.name, p.currency))
        .unwrap_or_default();
    ui::tab_bar(frame, tabs, &titles, c.tab.index(), &network);
    match c.tab {
        Tab::Dashboard => dashboard(frame, body, c),
        Tab::Issuance => issuance(frame, body, c),
        Tab::Redemption => redemption(frame, body, c),
        Tab::Ledger => ledger(frame, body, c),
        Tab::Wallets => super::registry_view::wallets(frame, body, c),
        Tab::Audit => super::audit_view::audit(frame, body, c),
        Tab::Regulator => super::audit_view::regulator(frame, body, c),
        Tab::Governance => super::governance_view::governance(frame, body, c),
    }
    ui::notice_line(frame, notice, c.notice.as_ref(), c.busy.as_deref());
    let mut segs = Vec::new();
    if let Some(op) = c.operator() {
        segs.push(format!("operator {op}"));
    }
    segs.push(c.bank_url.clone());
    if let Some(p) = &c.params {
        segs.push(format!("{}-of-{} approvals", p.threshold, p.issuers.len()));
    }
    ui::status_bar(frame, status, &c.conn, &segs);
    if let Mode::ProposalDetail { txid, confirm } = c.mode {
        super::detail::proposal_detail(frame, c, &txid, confirm);
    }
    if c.help {
        let title = format!("{} keys", c.tab.title());
        ui::help_overlay(frame, &title, &crate::help::console(c.tab));
    }
}

pub(super) fn state_cell_style(state: &str) -> Style {
    Style::new().fg(match state {
        "pending" => Color::Yellow,
        "committed" => Color::Green,
        _ => Color::Red,
    })
}

pub(super) fn kv(label: &str, value: String, width: usize) -> Line<'static> {
    Line::from(vec![
        Span::styled(format!("{label:<width$}"), ui::label()),
        Span::raw(value),
    ])
}

pub(super) fn audit_summary(c: &Console) -> (String, Color) {
    match (&c.audit, c.auditing) {
        (_, true) => ("running".into(), Color::Yellow),
        (Some(a), false) if a.pass() => (format!("PASS at {} UTC", hms(a.time_ms)), Color::Green),
        (Some(a), false) => (format!("FAIL at {} UTC", hms(a.time_ms)), Color::Red),
        (None, false) => ("not run yet (r)".into(), Color::Yellow),
    }
}

pub(super) fn dashboard(frame: &mut Frame, area: Rect, c: &Console) {
    let [stats, rate, alerts] = Layout::vertical([
        Constraint::Length(6),
        Constraint::Min(5),
        Constraint::Min(4),
    ])
    .areas(area);
    let block = Block::bordered().title(" Ledger ");
    let inner = block.inner(stats);
    frame.render_widget(block, stats);
    let [left, right] =
        Layout::horizontal([Constraint::Percentage(50), Constraint::Percentage(50)]).areas(inner);
    let dash = "—".to_string();
    let s = c.supply.as_ref();
    let w = 19;
    let left_lines = vec![
        kv(
            "Supply",
            s.map(|s| c.fmt(s.supply)).unwrap_or(dash.clone()),
            w,
        ),
        kv(
            "Notes outstanding",
            s.map(|s| s.notes_outstanding.to_string())
                .unwrap_or(dash.clone()),
            w,
        ),
        kv(
            "Height",
            s.map(|s| s.height.to_string()).unwrap_or(dash.clone()),
            w,
        ),
        kv(
            "Transactions",
            s.map(|s| s.tx_count.to_string()).unwrap_or(dash.clone()),
            w,
        ),
    ];
    frame.render_widget(Paragraph::new(left_lines), left);
    let (audit_text, audit_color) = audit_summary(c);
    let frozen = c.wallets.iter().filter(|w| w.frozen).count();
    let right_lines = vec![
        kv("Pending proposals", c.pending().to_string(), w),
        Line::from(vec![
            Span::styled(format!("{:<w$}", "Last audit"), ui::label()),
            Span::styled(audit_text, Style::new().fg(audit_color)),
        ]),
        kv(
            "Wallets",
            format!("{} · {frozen} frozen", c.wallets.len()),
            w,
        ),
        kv(
            "Operators",
            c.params
                .as_ref()
                .map(|p| format!("{} of {} must approve", p.threshold, p.issuers.len()))
                .unwrap_or(dash),
            w,
        ),
    ];
    frame.render_widget(Paragraph::new(right_lines), right);

    let block = Block::bordered();
    let inner = block.inner(rate);
    let n = usize::from(inner.width).min(c.rate.len());
    let data = &c.rate[c.rate.len() - n..];
    let now = data.last().copied().unwrap_or(0);
    let peak = data.iter().copied().max().unwrap_or(0);
    let title = format!(" Payments per second: now {now}, peak {peak} over the last {n} s ");
    frame.render_widget(
        Sparkline::default()
            .block(block.title(ui::truncate(
                &title,
                usize::from(rate.width).saturating_sub(2),
            )))
            .data(data)
            .max(peak.max(1))
            .style(Style::new().fg(Color::Cyan)),
        rate,
    );

    let lines = alert_lines(c);
    frame.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: true })
            .block(Block::bordered().title(" Alerts ")),
        alerts,
    );
}

pub(super) fn alert_lines(c: &Console) -> Vec<Line<'static>> {
    let red = Style::new().fg(Color::Red).bold();
    let yellow = Style::new().fg(Color::Yellow);
    let mut out = Vec::new();
    // Everything below comes from the last answer: while the node does not answer, that is the
    // first thing to say, never "No alerts.".
    match &c.conn {
        ui::Conn::Connected => {}
        ui::Conn::Connecting => out.push(Line::styled(
            format!("Connecting to the node at {}…", c.bank_url),
            yellow,
        )),
        ui::Conn::Reconnecting { error, attempts } => out.push(Line::styled(
            format!(
                "The node at {} is unreachable ({attempts} failed attempt{}): {error}. Figures are from its last answer.",
                c.bank_url,
                if *attempts == 1 { "" } else { "s" }
            ),
            red,
        )),
        ui::Conn::Halted => out.push(Line::styled(
            format!(
                "The node at {} has HALTED: it stopped writing after a storage failure and refuses every change. Figures are its last; see its log, fix the store and restart it.",
                c.bank_url
            ),
            red,
        )),
        ui::Conn::CheckingTables => out.push(Line::styled(
            format!(
                "The node at {} is checking its stored tables against its signed summary after a start: it answers, and approvals and payments wait until the check passes.",
                c.bank_url
            ),
            yellow,
        )),
        ui::Conn::Error(e) => out.push(Line::styled(format!("The node stopped: {e}"), red)),
    }
    if c.supply.as_ref().is_some_and(|s| !s.invariant_ok) {
        out.push(Line::styled(
            "The node reports the supply invariant FAILED: unspent notes do not add up to the supply.",
            red,
        ));
    }
    if let Some(a) = c.audit.as_ref().filter(|a| !a.pass()) {
        out.push(Line::styled(
            format!(
                "The audit at {} UTC FAILED: see the Audit tab.",
                hms(a.time_ms)
            ),
            red,
        ));
    }
    for w in c.wallets.iter().filter(|w| w.flags > 0) {
        let records = c.evidence_of(&w.address.spend).len();
        out.push(Line::styled(
            format!(
                "Offline double-spend: {} has {} flag{}, {} evidence record{} (see Wallets).",
                wallet_name(&w.label, &w.address.to_string()),
                w.flags,
                if w.flags == 1 { "" } else { "s" },
                records,
                if records == 1 { "" } else { "s" }
            ),
            red,
        ));
    }
    // Evidence against a wallet the registry does not flag (or does not list).
    let mut others: Vec<&dfc_core::PublicKey> = c
        .evidence
        .iter()
        .map(|e| &e.wallet)
        .filter(|k| {
            !c.wallets
                .iter()
                .any(|w| w.flags > 0 && w.address.spend == **k)
        })
        .collect();
    others.sort_by_key(|k| k.to_bytes());
    others.dedup();
    for k in others {
        out.push(Line::styled(
            format!(
                "Offline double-spend evidence against wallet {}.",
                c.wallet_label(k)
                    .filter(|l| !l.is_empty())
                    .map(str::to_string)
                    .unwrap_or_else(|| short(&hex::encode(k.to_bytes()), 12))
            ),
            red,
        ));
    }
    let frozen: Vec<String> = c
        .wallets
        .iter()
        .filter(|w| w.frozen)
        .map(|w| wallet_name(&w.label, &w.address.to_string()))
        .collect();
    if !frozen.is_empty() {
        out.push(Line::styled(
            format!("Frozen wallets: {}.", frozen.join(", ")),
            yellow,
        ));
    }
    let pending = c.pending();
    if pending > 0 {
        out.push(Line::styled(
            format!(
                "{pending} proposal{} waiting for operator approval.",
                if pending == 1 { " is" } else { "s are" }
            ),
            yellow,
        ));
    }
    if c.params.as_ref().is_some_and(|p| p.sandbox) {
        out.push(
            Line::from("Sandbox: the operator keys sit beside the ledger; never for real money.")
                .dim(),
        );
    }
    if out.is_empty() {
        out.push(Line::styled("No alerts.", Style::new().fg(Color::Green)));
    }
    out
}

pub(super) fn wallet_name(label: &str, address: &str) -> String {
    if label.is_empty() {
        short_address(address, 8)
    } else {
        label.to_string()
    }
}

pub(super) fn approvals_text(p: &Proposal) -> String {
    let who: Vec<String> = p.approvals.iter().map(|a| a.to_string()).collect();
    format!(
        "{}/{} ({})",
        p.approvals.len(),
        p.threshold,
        if who.is_empty() {
            "none".to_string()
        } else {
            format!("op {}", who.join(","))
        }
    )
}

pub(super) fn state_cell(state: &str) -> Cell<'static> {
    Cell::from(state.to_string()).style(state_cell_style(state))
}

pub(super) fn issuance(frame: &mut Frame, area: Rect, c: &Console) {
    let [form, list] = Layout::vertical([Constraint::Length(5), Constraint::Min(3)]).areas(area);
    let editing = matches!(c.mode, Mode::IssueForm { .. });
    let on_to = matches!(c.mode, Mode::IssueForm { on_to: true });
    let title = if editing {
        " New issuance: Enter next/submit · Tab switch field · Esc close "
    } else {
        " New issuance: press n "
    };
    let block = ui::form_block(title, editing, form.width);
    let inner = block.inner(form);
    frame.render_widget(block, form);
    let currency = c
        .params
        .as_ref()
        .map(|p| p.currency.clone())
        .unwrap_or_default();
    let op_line = match (c.operator(), &c.params) {
        (Some(op), Some(p)) => format!(
            "Proposed by operator {op}, which counts as its approval ({} of {} needed).",
            p.threshold,
            p.issuers.len()
        ),
        _ => "No operator key is loaded: proposals cannot be signed.".to_string(),
    };
    let lines = vec![
        c.issue_amount.line(
            &format!("Amount {currency}"),
            editing && !on_to,
            inner.width,
        ),
        c.issue_to.line("Destination", on_to, inner.width),
        Line::from(ui::truncate(&op_line, usize::from(inner.width))).dim(),
    ];
    frame.render_widget(Paragraph::new(lines), inner);
    proposal_table(frame, list, c, TxKind::Issue);
}

pub(super) fn redemption(frame: &mut Frame, area: Rect, c: &Console) {
    proposal_table(frame, area, c, TxKind::Redeem);
}

pub(super) fn proposal_table(frame: &mut Frame, area: Rect, c: &Console, kind: TxKind) {
    let list = c.proposals_of(kind);
    let sel = if kind == TxKind::Issue {
        c.sel[0]
    } else {
        c.sel[1]
    };
    let op = c
        .operator()
        .map(|o| format!("Enter outputs · a approve as operator {o}"))
        .unwrap_or_default();
    let title = match kind {
        TxKind::Redeem => format!(" Redemption requests from wallets · ↑↓ select · {op} "),
        _ => format!(" Issue proposals · ↑↓ select · {op} "),
    };
    let block = Block::bordered().title(ui::truncate(
        &title,
        usize::from(area.width).saturating_sub(2),
    ));
    if list.is_empty() {
        let text = match kind {
            TxKind::Redeem => "No redemption requests. Wallets ask with `dfc-wallet redeem`.",
            _ => "No issue proposals yet: press n to propose one.",
        };
        frame.render_widget(
            Paragraph::new(text).wrap(Wrap { trim: true }).block(block),
            area,
        );
        return;
    }
    let wide = area.width >= 100;
    let mut header = vec!["Proposal", "Amount"];
    if kind == TxKind::Redeem {
        header.push("Wallet");
    }
    header.extend(["Approvals", "State", "Created"]);
    let rows: Vec<Row> = list
        .iter()
        .map(|p| {
            let mut cells = vec![
                Cell::from(short(&p.txid.to_hex(), if wide { 24 } else { 10 })),
                Cell::from(c.fmt(p.amount)),
            ];
            if kind == TxKind::Redeem {
                let who = p
                    .wallet
                    .map(|k| {
                        c.wallet_label(&k)
                            .filter(|l| !l.is_empty())
                            .map(str::to_string)
                            .unwrap_or_else(|| short(&hex::encode(k.to_bytes()), 8))
                    })
                    .unwrap_or_default();
                cells.push(Cell::from(who));
            }
            cells.push(Cell::from(approvals_text(p)));
            cells.push(state_cell(&p.state));
            cells.push(Cell::from(if wide {
                date_time(p.created_ms)
            } else {
                hms(p.created_ms)
            }));
            Row::new(cells)
        })
        .collect();
    let mut widths = vec![
        Constraint::Length(if wide { 25 } else { 11 }),
        Constraint::Min(12),
    ];
    if kind == TxKind::Redeem {
        widths.push(Constraint::Length(10));
    }
    widths.extend([
        Constraint::Length(14),
        Constraint::Length(9),
        Constraint::Length(if wide { 16 } else { 8 }),
    ]);
    let table = Table::new(rows, widths)
        .header(Row::new(header).style(ui::label()))
        .row_highlight_style(ui::selected())
        .block(block);
    let mut state = TableState::default().with_selected(Some(sel));
    frame.render_stateful_widget(table, area, &mut state);
    let i = if kind == TxKind::Issue { 0 } else { 1 };
    c.record_list(i, area, state.offset());
}

pub(super) fn ledger(frame: &mut Frame, area: Rect, c: &Console) {
    let [left, right] = if area.width >= 70 {
        Layout::horizontal([Constraint::Length(32), Constraint::Min(30)]).areas(area)
    } else {
        Layout::vertical([Constraint::Percentage(40), Constraint::Percentage(60)]).areas(area)
    };
    let newest_first: Vec<_> = c.blocks.iter().rev().collect();
    let rows: Vec<Row> = newest_first
        .iter()
        .map(|b| {
            Row::new(vec![
                Cell::from(b.height.to_string()),
                Cell::from(hms(b.time_ms)),
                Cell::from(b.txs.len().to_string()),
            ])
        })
        .collect();
    let table = Table::new(
        rows,
        [
            Constraint::Length(8),
            Constraint::Length(9),
            Constraint::Length(4),
        ],
    )
    .header(Row::new(vec!["Height", "Time UTC", "Txs"]).style(ui::label()))
    .row_highlight_style(ui::selected())
    .block(Block::bordered().title(" Blocks (newest first) "));
    let mut state = TableState::default().with_selected(Some(c.sel[2]));
    frame.render_stateful_widget(table, left, &mut state);
    c.record_list(2, left, state.offset());

    let Some(b) = newest_first.get(c.sel[2]) else {
        frame.render_widget(
            Paragraph::new("No blocks received from the node yet.")
                .block(Block::bordered().title(" Transactions ")),
            right,
        );
        return;
    };
    let wide = right.width >= 90;
    let rows: Vec<Row> = b
        .txs
        .iter()
        .map(|t| {
            Row::new(vec![
                Cell::from(t.kind.name()),
                Cell::from(format!("{} B", t.size)),
                match t.amount {
                    Some(a) => Cell::from(c.fmt(a)),
                    None => Cell::from("hidden").style(Style::new().dim()),
                },
                Cell::from(format!("{}→{}", t.inputs, t.outputs)),
                Cell::from(short(&t.txid.to_hex(), if wide { 32 } else { 8 })),
            ])
        })
        .collect();
    let room = usize::from(right.width).saturating_sub(2);
    let long = format!(
        " Block {} · {} · {} UTC · supply {} ",
        b.height,
        short(&b.hash, 16),
        date_time(b.time_ms),
        c.fmt(b.supply)
    );
    let title = if long.chars().count() <= room {
        long
    } else {
        format!(
            " Block {} · {} · supply {} ",
            b.height,
            hms(b.time_ms),
            c.fmt(b.supply)
        )
    };
    let table = Table::new(
        rows,
        [
            Constraint::Length(8),
            Constraint::Length(7),
            Constraint::Min(12),
            Constraint::Length(6),
            Constraint::Length(if wide { 33 } else { 9 }),
        ],
    )
    .header(Row::new(vec!["Kind", "Size", "Amount", "In→Out", "Txid"]).style(ui::label()))
    .block(Block::bordered().title(ui::truncate(
        &title,
        usize::from(right.width).saturating_sub(2),
    )));
    frame.render_widget(table, right);
}
