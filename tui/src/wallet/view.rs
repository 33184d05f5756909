//! Rendering of the wallet app: a pure function of [`WalletApp`].

use ratatui::layout::{Constraint, Flex, Layout, Rect};
use ratatui::style::{Color, Style, Stylize};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Cell, Paragraph, Row, Table, Wrap};
use ratatui::Frame;

use super::{WTab, WalletApp};
use crate::ui::{self, date_time, hms, short, short_address};

/// Keys shown by the help overlay.
pub const HELP: &[(&str, &str)] = &[
    ("1-4, Tab, ← →", "switch tab"),
    ("p", "pay (opens the form)"),
    ("Enter", "next field, then pay"),
    ("Tab, ↑ ↓", "move between fields while paying"),
    ("Esc", "close the form"),
    ("s", "sync now (also every 5 s)"),
    ("↑ ↓, j k", "scroll the history"),
    ("?", "this help"),
    ("q, Ctrl-C", "quit"),
];

/// Draws the whole app.
pub fn draw(frame: &mut Frame, w: &WalletApp) {
    let area = frame.area();
    let busy = w.busy();
    let shown = busy.clone().map(ui::Notice::ok).or(w.notice.clone());
    let nh = ui::notice_height(shown.as_ref(), area.width);
    let [tabs, body, notice, status] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(0),
        Constraint::Length(nh),
        Constraint::Length(1),
    ])
    .areas(area);
    let titles: Vec<&str> = WTab::ALL.iter().map(|t| t.title()).collect();
    let right = format!("{} · {}", w.params.name, w.params.currency);
    ui::tab_bar(frame, tabs, &titles, w.tab.index(), &right);
    match w.tab {
        WTab::Overview => overview(frame, body, w),
        WTab::Pay => pay(frame, body, w),
        WTab::Receive => receive(frame, body, w),
        WTab::History => history(frame, body, w, usize::MAX),
    }
    ui::notice_line(frame, notice, w.notice.as_ref(), busy.as_deref());
    let mut segs = vec![sync_text(w)];
    if let Some(b) = &w.bank {
        segs.push(b.clone());
    }
    segs.push(w.dir.clone());
    ui::status_bar(frame, status, &w.conn, &segs);
    if w.help {
        ui::help_overlay(frame, "dfc wallet keys", HELP);
    }
}

fn sync_text(w: &WalletApp) -> String {
    let h = w.balance.as_ref().map(|b| b.synced_height).unwrap_or(0);
    if w.syncing {
        format!("syncing from height {h}")
    } else {
        match w.last_sync_ms {
            Some(t) => format!("synced to height {} at {} UTC", h.saturating_sub(1), hms(t)),
            None => "not synced yet".to_string(),
        }
    }
}

fn overview(frame: &mut Frame, area: Rect, w: &WalletApp) {
    let [bal, recent] = Layout::vertical([Constraint::Length(8), Constraint::Min(3)]).areas(area);
    let block = Block::bordered().title(" Balance ");
    let inner = block.inner(bal);
    frame.render_widget(block, bal);
    let lines = match &w.balance {
        Some(b) => {
            let mut l = vec![
                Line::from(vec![
                    Span::styled(format!("{:<22}", "Spendable"), ui::label()),
                    Span::styled(b.spendable.clone(), Style::new().fg(Color::Green).bold()),
                ]),
                Line::from(vec![
                    Span::styled(format!("{:<22}", "Held by pending"), ui::label()),
                    Span::raw(b.reserved.clone()),
                ]),
                Line::from(vec![
                    Span::styled(format!("{:<22}", "Total"), ui::label()),
                    Span::raw(b.total.clone()),
                ]),
                Line::from(vec![
                    Span::styled(format!("{:<22}", "Notes"), ui::label()),
                    Span::raw(format!(
                        "{} unspent · {} payment{} pending",
                        b.notes,
                        b.pending.len(),
                        if b.pending.len() == 1 { "" } else { "s" }
                    )),
                ]),
            ];
            l.push(Line::from(vec![
                Span::styled(format!("{:<22}", "Offline purse"), ui::label()),
                Span::raw(format!(
                    "{} · received offline, unsettled {}",
                    b.purse, b.unsettled_in
                )),
            ]));
            l.push(Line::from(vec![
                Span::styled(format!("{:<22}", "Sync"), ui::label()),
                Span::raw(sync_text(w)),
            ]));
            l
        }
        None => vec![Line::from("Reading the wallet database.")],
    };
    frame.render_widget(Paragraph::new(lines), inner);
    history(
        frame,
        recent,
        w,
        usize::from(recent.height.saturating_sub(3)),
    );
}

fn history(frame: &mut Frame, area: Rect, w: &WalletApp, max_rows: usize) {
    let wide = area.width >= 110;
    let newest_first: Vec<_> = w.history.iter().rev().collect();
    let skip = if max_rows == usize::MAX { w.scroll } else { 0 };
    let rows: Vec<Row> = newest_first
        .iter()
        .skip(skip)
        .take(max_rows)
        .map(|h| {
            let incoming = matches!(h.kind.as_str(), "incoming" | "issue");
            let amount = if incoming {
                Cell::from(format!("+{}", h.amount)).style(Style::new().fg(Color::Green))
            } else {
                Cell::from(format!("-{}", h.amount))
            };
            let who = h
                .counterparty
                .as_deref()
                .map(|c| short_address(c, if wide { 16 } else { 6 }))
                .unwrap_or_default();
            Row::new(vec![
                Cell::from(if wide {
                    date_time(h.time_ms)
                } else {
                    hms(h.time_ms)
                }),
                Cell::from(h.kind.replace('_', " ")),
                amount,
                Cell::from(
                    h.height
                        .map(|x| x.to_string())
                        .unwrap_or_else(|| "—".into()),
                ),
                Cell::from(who),
                Cell::from(h.memo.clone()),
            ])
        })
        .collect();
    let title = if max_rows == usize::MAX {
        format!(" History: {} transactions, newest first ", w.history.len())
    } else {
        " Recent activity ".to_string()
    };
    if rows.is_empty() {
        frame.render_widget(
            Paragraph::new("No transactions yet. Share your address from the Receive tab.")
                .wrap(Wrap { trim: true })
                .block(Block::bordered().title(title)),
            area,
        );
        return;
    }
    let table = Table::new(
        rows,
        [
            Constraint::Length(if wide { 16 } else { 8 }),
            Constraint::Length(16),
            Constraint::Length(16),
            Constraint::Length(6),
            Constraint::Length(if wide { 33 } else { 13 }),
            Constraint::Min(4),
        ],
    )
    .header(
        Row::new(vec![
            if wide { "Time UTC" } else { "UTC" },
            "Kind",
            "Amount",
            "Height",
            "Counterparty",
            "Memo",
        ])
        .style(ui::label()),
    )
    .block(Block::bordered().title(title));
    frame.render_widget(table, area);
}

fn pay(frame: &mut Frame, area: Rect, w: &WalletApp) {
    let [form, result] = Layout::vertical([Constraint::Length(7), Constraint::Min(3)]).areas(area);
    let editing = w.editing.is_some();
    let title = if editing {
        " Pay: Enter next field, then pay · Esc close "
    } else {
        " Pay: press p or Enter to fill in "
    };
    let block = Block::bordered()
        .title(ui::truncate(
            title,
            usize::from(form.width).saturating_sub(2),
        ))
        .border_style(if editing {
            Style::new().fg(Color::Cyan)
        } else {
            Style::new()
        });
    let inner = block.inner(form);
    frame.render_widget(block, form);
    let spendable = w
        .balance
        .as_ref()
        .map(|b| b.spendable.clone())
        .unwrap_or_default();
    let lines = vec![
        w.pay[0].line("To address", w.editing == Some(0), inner.width),
        w.pay[1].line(
            &format!("Amount {}", w.params.currency),
            w.editing == Some(1),
            inner.width,
        ),
        w.pay[2].line("Memo", w.editing == Some(2), inner.width),
        Line::default(),
        Line::from(format!(
            "Spendable: {spendable}. Amounts have up to {} decimals, e.g. 12.{}.",
            w.params.decimals,
            "5".repeat(usize::from(w.params.decimals))
        ))
        .dim(),
    ];
    frame.render_widget(Paragraph::new(lines), inner);

    let block = Block::bordered().title(" Last payment ");
    let lines = match &w.last_payment {
        None => vec![Line::from(
            "The payment is built here (proofs included), stored, sent to the bank, and shown once the bank's signed receipt is verified.",
        )],
        Some(p) => {
            let mut l = vec![
                Line::from(vec![
                    Span::styled("State      ", ui::label()),
                    Span::styled(p.state, Style::new().fg(Color::Green).bold()),
                ]),
                Line::from(vec![
                    Span::styled("Amount     ", ui::label()),
                    Span::raw(format!("{} (change {})", p.amount, p.change)),
                ]),
                Line::from(vec![
                    Span::styled("To         ", ui::label()),
                    Span::raw(p.to.clone().unwrap_or_default()),
                ]),
                Line::from(vec![
                    Span::styled("Transaction", ui::label()),
                    Span::raw(format!(
                        " {} · {} in, {} out · {} bytes · built in {} ms",
                        short(&p.txid, 16),
                        p.inputs,
                        p.outputs,
                        p.tx_bytes,
                        p.build_ms
                    )),
                ]),
            ];
            if let Some(r) = &p.receipt {
                l.push(Line::from(vec![
                    Span::styled("Receipt    ", ui::label()),
                    Span::raw(format!(
                        " height {}, block {}",
                        r.height,
                        short(&r.block_hash.to_hex(), 16)
                    )),
                ]));
            }
            if let Some(n) = &p.note {
                l.push(Line::from(n.clone()).fg(Color::Yellow));
            }
            l
        }
    };
    frame.render_widget(
        Paragraph::new(lines).wrap(Wrap { trim: true }).block(block),
        result,
    );
}

/// The QR payload of an address: upper case, so the code uses the compact alphanumeric mode
/// (bech32 is case-insensitive).
pub fn qr_payload(address: &str) -> String {
    address.to_uppercase()
}

fn receive(frame: &mut Frame, area: Rect, w: &WalletApp) {
    let qr = ui::qr_lines(&qr_payload(&w.address)).unwrap_or_default();
    let (qw, qh) = ui::qr_size(&qr);
    let text = vec![
        Line::styled("Your address", ui::label()),
        Line::from(w.address.clone()),
        Line::default(),
        Line::from(format!(
            "Anyone paying you needs this address ({} on {}). Scan the code or copy the text.",
            w.params.currency, w.params.name
        ))
        .dim(),
    ];
    // Side by side when the code and a readable text column fit, else the code above the text,
    // else the text alone.
    if area.width >= qw + 30 && area.height >= qh {
        let [left, right] =
            Layout::horizontal([Constraint::Length(qw + 2), Constraint::Min(28)]).areas(area);
        let [code] = Layout::vertical([Constraint::Length(qh)])
            .flex(Flex::Center)
            .areas(left);
        frame.render_widget(Paragraph::new(qr).centered(), code);
        let [txt] = Layout::vertical([Constraint::Length(8)])
            .flex(Flex::Center)
            .areas(right);
        frame.render_widget(Paragraph::new(text).wrap(Wrap { trim: true }), txt);
    } else if area.width >= qw && area.height >= qh + 3 {
        let [code, txt] =
            Layout::vertical([Constraint::Length(qh), Constraint::Min(3)]).areas(area);
        frame.render_widget(Paragraph::new(qr).centered(), code);
        frame.render_widget(
            Paragraph::new(text).wrap(Wrap { trim: true }).centered(),
            txt,
        );
    } else {
        let mut t = text;
        t.push(Line::default());
        t.push(
            Line::from(format!(
                "Make the terminal at least {}x{} to show the QR code.",
                qw + 30,
                qh + 3
            ))
            .fg(Color::Yellow),
        );
        frame.render_widget(
            Paragraph::new(t)
                .wrap(Wrap { trim: true })
                .block(Block::bordered().title(" Receive ")),
            area,
        );
    }
}
