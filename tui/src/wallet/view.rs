//! Rendering of the wallet app: a pure function of [`WalletApp`].

use ratatui::layout::{Constraint, Flex, Layout, Rect};
use ratatui::style::{Color, Style, Stylize};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Cell, Paragraph, Row, Table, Wrap};
use ratatui::Frame;

use super::{OfflineForm, WTab, WalletApp};
use crate::ui::{self, date_time, hms, short, short_address};

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
        WTab::Offline => offline(frame, body, w),
    }
    ui::notice_line(frame, notice, w.notice.as_ref(), busy.as_deref());
    let mut segs = vec![sync_text(w)];
    if let Some(b) = &w.bank {
        segs.push(b.clone());
    }
    segs.push(w.dir.clone());
    ui::status_bar(frame, status, &w.conn, &segs);
    if w.help {
        let title = format!("{} keys", w.tab.title());
        ui::help_overlay(frame, &title, &crate::help::wallet(w.tab));
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
                    // Received but over the holding or turnover limit: not spendable, not in
                    // the total, until it fits (or is redeemed to the bank account).
                    Span::styled(
                        if b.held_units > 0 {
                            format!(" · {} held over your limit", b.held)
                        } else {
                            String::new()
                        },
                        Style::new().fg(Color::Yellow),
                    ),
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
    let block = ui::form_block(title, editing, form.width);
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

/// Lines of the packet details around its QR code.
const PACKET_INFO_LINES: u16 = 3;

fn kv(label: &str, value: impl Into<String>) -> Line<'static> {
    Line::from(vec![
        Span::styled(format!("{label:<16}"), ui::label()),
        Span::raw(value.into()),
    ])
}

fn fmt_units(w: &WalletApp, units: u64) -> String {
    dfc_core::Amount::from_units(units)
        .map(|a| w.params.format(a))
        .unwrap_or_else(|_| units.to_string())
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

fn offline(frame: &mut Frame, area: Rect, w: &WalletApp) {
    let o = &w.offline;
    if o.showing_packet {
        if let Some(p) = &o.packet {
            packet(frame, area, w, p);
            return;
        }
    }
    let [purse, mid, list] = Layout::vertical([
        Constraint::Length(6),
        Constraint::Length(5),
        Constraint::Min(4),
    ])
    .areas(area);

    let block = Block::bordered().title(" Offline purse ");
    let inner = block.inner(purse);
    frame.render_widget(block, purse);
    let lines = match &o.view.purse {
        None => vec![
            Line::from(
                "No purse yet: press f to fund one (online). Then pay with p, no network needed.",
            ),
            Line::from(
                "Packets you accept (a) count once they settle, at your or the payer's next sync.",
            )
            .dim(),
        ],
        Some(s) => {
            let expired = w.now_ms > s.expires_ms;
            let mut ready = format!(
                "{} in {}",
                w.params.format(s.ready),
                plural(s.ready_notes, "note", "notes")
            );
            if s.unproven_notes > 0 {
                ready.push_str(&format!(
                    " · {} usable after a sync",
                    w.params.format(s.unproven)
                ));
            }
            vec![
                Line::from(vec![
                    Span::styled(format!("{:<16}", "Usable offline"), ui::label()),
                    Span::styled(ready, Style::new().fg(Color::Green).bold()),
                ]),
                Line::from(vec![
                    Span::styled(format!("{:<16}", "Certificate"), ui::label()),
                    Span::raw(format!("#{} · cap {} · ", s.serial, w.params.format(s.cap))),
                    if expired {
                        Span::styled(
                            format!("EXPIRED {} UTC (f renews)", date_time(s.expires_ms)),
                            Style::new().fg(Color::Red).bold(),
                        )
                    } else {
                        Span::raw(format!("expires {} UTC", date_time(s.expires_ms)))
                    },
                ]),
                kv(
                    "Counter",
                    format!(
                        "{} made · {} spent by unsettled packets",
                        plural(
                            usize::try_from(s.counter).unwrap_or(usize::MAX),
                            "packet",
                            "packets"
                        ),
                        plural(s.spent_offline_notes, "note", "notes")
                    ),
                ),
                kv(
                    "Received",
                    format!(
                        "{} unsettled{}",
                        w.balance
                            .as_ref()
                            .map(|b| b.unsettled_in.clone())
                            .unwrap_or_default(),
                        s.checkpoint_height
                            .map(|h| format!(" · purse proofs at height {h}"))
                            .unwrap_or_default()
                    ),
                ),
            ]
        }
    };
    frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: true }), inner);

    offline_mid(frame, mid, w);
    let wide = list.width >= 120;

    let rows: Vec<Row> = o
        .view
        .packets
        .iter()
        .skip(o.scroll)
        .map(|p| {
            let state_color = match p.state.as_str() {
                "settled" => Color::Green,
                "failed" => Color::Red,
                _ => Color::Yellow,
            };
            let who = p
                .counterparty
                .as_deref()
                .map(|c| short_address(c, 6))
                .unwrap_or_default();
            // Narrow: the refusal's code only (the full message is in `dfc-wallet offline list`).
            let code = |e: &String| {
                if wide {
                    e.clone()
                } else {
                    e.split(':').next().unwrap_or_default().to_string()
                }
            };
            let detail = match (&p.error, &p.evidence, p.height) {
                (Some(e), Some(ev), _) if wide => format!("{e} · evidence {}", short(ev, 16)),
                (Some(e), Some(ev), _) => format!("{} · ev {}", code(e), short(ev, 4)),
                (Some(e), None, _) => code(e),
                (None, _, Some(h)) => format!("height {h}{}", memo_suffix(&p.memo)),
                (None, _, None) => p.memo.clone(),
            };
            Row::new(vec![
                Cell::from(p.direction),
                Cell::from(p.state.clone()).style(Style::new().fg(state_color)),
                Cell::from(p.amount.clone()),
                Cell::from(format!("#{}", p.counter)),
                Cell::from(who),
                Cell::from(short(&p.txid, 8)),
                Cell::from(detail),
            ])
        })
        .collect();
    let title = format!(
        " Packets: {} pending · {} settled · {} failed ",
        count_state(w, "pending"),
        count_state(w, "settled"),
        count_state(w, "failed")
    );
    let block = Block::bordered().title(ui::truncate(
        &title,
        usize::from(list.width).saturating_sub(2),
    ));
    if rows.is_empty() {
        frame.render_widget(Paragraph::new("No offline packets yet.").block(block), list);
        return;
    }
    let table = Table::new(
        rows,
        [
            Constraint::Length(3),
            Constraint::Length(7),
            Constraint::Length(12),
            Constraint::Length(4),
            Constraint::Length(13),
            Constraint::Length(9),
            Constraint::Min(10),
        ],
    )
    .header(
        Row::new(vec![
            "Dir", "State", "Amount", "No.", "With", "Txid", "Detail",
        ])
        .style(ui::label()),
    )
    .block(block);
    frame.render_widget(table, list);
}

fn memo_suffix(memo: &str) -> String {
    if memo.is_empty() {
        String::new()
    } else {
        format!(" · {memo}")
    }
}

fn count_state(w: &WalletApp, state: &str) -> usize {
    w.offline
        .view
        .packets
        .iter()
        .filter(|p| p.state == state)
        .count()
}

fn offline_mid(frame: &mut Frame, area: Rect, w: &WalletApp) {
    let o = &w.offline;
    let editing = o.form.map(|(f, _)| f);
    let focus = |f: OfflineForm, i: usize| o.form == Some((f, i));
    let (title, lines): (&str, Vec<Line>) = match editing {
        Some(OfflineForm::Pay) => (
            " Offline pay (no network): Enter next/pay · Tab field · Esc close ",
            vec![
                o.pay[0].line("To address", focus(OfflineForm::Pay, 0), area.width.saturating_sub(2)),
                o.pay[1].line(
                    &format!("Amount {}", w.params.currency),
                    focus(OfflineForm::Pay, 1),
                    area.width.saturating_sub(2),
                ),
                o.pay[2].line("Memo", focus(OfflineForm::Pay, 2), area.width.saturating_sub(2)),
            ],
        ),
        Some(OfflineForm::Accept) => (
            " Accept a packet (no network): Enter check · Esc close ",
            vec![
                o.accept.line("Packet", true, area.width.saturating_sub(2)),
                Line::from(format!(
                    "The path of a packet file, or its pasted {} text.",
                    dfc_core::offline::PACKET_TEXT_PREFIX
                ))
                .dim(),
            ],
        ),
        Some(OfflineForm::Fund) => (
            " Fund the purse (online): Enter fund · Esc close ",
            vec![
                o.fund.line(
                    &format!("Amount {}", w.params.currency),
                    true,
                    area.width.saturating_sub(2),
                ),
                Line::from(format!(
                    "Moves money from your balance into {} purse notes, at most the tier's offline cap.",
                    dfc_wallet::wallet::offline::DEFAULT_PURSE_NOTES
                ))
                .dim(),
            ],
        ),
        None => match &o.accepted {
            Some(Ok(a)) => (
                " Last packet accepted ",
                vec![
                    Line::from(vec![
                        Span::styled("Accepted ", ui::label()),
                        Span::styled(a.amount.clone(), Style::new().fg(Color::Green).bold()),
                        Span::raw(format!(
                            " from purse {} (counter {}){}",
                            short(&a.payer, 12),
                            a.counter,
                            if a.memo.is_empty() {
                                String::new()
                            } else {
                                format!(" \"{}\"", a.memo)
                            }
                        )),
                    ]),
                    Line::from("Unsettled: it counts once the packet settles at a sync.").dim(),
                    Line::from("p pay offline · a accept a packet · f fund the purse").dim(),
                ],
            ),
            Some(Err(e)) => (
                " Last packet refused ",
                vec![
                    Line::styled(format!("Refused: {e}"), Style::new().fg(Color::Red)),
                    Line::from("Nothing was recorded. p pay offline · a accept · f fund").dim(),
                ],
            ),
            None => (
                " Offline ",
                vec![
                    Line::from("p pay offline (a packet as a QR code and a file) · a accept a packet · f fund the purse"),
                    Line::from("Paid and accepted packets settle at the next sync, whoever is online first.").dim(),
                ],
            ),
        },
    };
    let block = ui::form_block(title, editing.is_some(), area.width);
    frame.render_widget(
        Paragraph::new(lines).wrap(Wrap { trim: true }).block(block),
        area,
    );
}

/// `text` cut into rows of `width` characters, every character kept (no `…`: the text form must
/// be copyable whole), and the `rows` of them from `first` on, with `first` clamped so the last
/// window is full. Returns the rows shown, the first shown and the total.
pub fn text_window(
    text: &str,
    width: usize,
    rows: usize,
    first: usize,
) -> (Vec<String>, usize, usize) {
    let chars: Vec<char> = text.chars().collect();
    let width = width.max(1);
    let all: Vec<String> = chars.chunks(width).map(|c| c.iter().collect()).collect();
    let total = all.len();
    let first = first.min(total.saturating_sub(rows.max(1)));
    (
        all.into_iter().skip(first).take(rows).collect(),
        first,
        total,
    )
}

fn packet(frame: &mut Frame, area: Rect, w: &WalletApp, p: &super::worker::PacketOut) {
    let pay = &p.payment;
    let file = match &p.file {
        Ok(path) => Line::from(vec![
            Span::styled("Packet file ", ui::label()),
            Span::raw(path.display().to_string()),
        ]),
        Err(e) => Line::styled(format!("No file: {e}"), Style::new().fg(Color::Red)),
    };
    let info = vec![
        Line::from(vec![
            Span::styled("Paid offline ", ui::label()),
            Span::styled(pay.amount.clone(), Style::new().fg(Color::Green).bold()),
            Span::raw(format!(
                " · purse counter {} · {} bytes, {} characters as text · change {}",
                pay.counter,
                pay.size_bytes,
                pay.text_chars,
                fmt_units(w, pay.change_units)
            )),
        ]),
        file,
        Line::from(
            "Give the payee the QR code, the file or the text; it settles at the next sync of either of you. Enter closes.",
        )
        .dim(),
    ];
    let qr = ui::qr_lines(&pay.text);
    let (qw, qh) = qr
        .as_deref()
        .map(ui::qr_size)
        .unwrap_or((u16::MAX, u16::MAX));
    match qr {
        Some(qr) if area.width >= qw && area.height > qh.saturating_add(PACKET_INFO_LINES) => {
            let [code, txt] =
                Layout::vertical([Constraint::Length(qh), Constraint::Min(PACKET_INFO_LINES)])
                    .areas(area);
            frame.render_widget(Paragraph::new(qr).centered(), code);
            frame.render_widget(
                Paragraph::new(info).wrap(Wrap { trim: true }),
                ui::inset(txt),
            );
        }
        _ => {
            let block = Block::bordered().title(" Offline packet ");
            let inner = block.inner(area);
            frame.render_widget(block, area);
            let mut lines = info;
            // The tab bar, notice and status lines around the body.
            let need = if qw == u16::MAX {
                Line::styled(
                    "This packet is too large for one QR code: give the payee the file.",
                    Style::new().fg(Color::Yellow),
                )
            } else {
                Line::styled(
                    format!(
                        "Make the terminal at least {}x{} to show the packet as a QR code.",
                        qw,
                        qh.saturating_add(PACKET_INFO_LINES + 4)
                    ),
                    Style::new().fg(Color::Yellow),
                )
            };
            lines.push(need);
            let [top, hint, rest] = Layout::vertical([
                Constraint::Length(6),
                Constraint::Length(1),
                Constraint::Min(0),
            ])
            .areas(inner);
            frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: true }), top);
            let (rows, first, total) = text_window(
                &pay.text,
                usize::from(rest.width),
                usize::from(rest.height),
                w.offline.packet_scroll,
            );
            let last = first + rows.len();
            let whole = if total <= rows.len() {
                "The text form, whole:".to_string()
            } else {
                format!("The text form, rows {}–{last} of {total} (↑↓ scroll; whole in the .txt beside the file):", first + 1)
            };
            frame.render_widget(Paragraph::new(Line::styled(whole, ui::label())), hint);
            frame.render_widget(
                Paragraph::new(rows.into_iter().map(Line::from).collect::<Vec<_>>()),
                rest,
            );
        }
    }
}
