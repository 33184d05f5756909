//! The Audit tab (the supply audit and the audit-log check) and the Regulator tab (payments
//! disclosed to the regulator).

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Style, Stylize};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Cell, Paragraph, Row, Table, Wrap};
use ratatui::Frame;

use super::Console;
use crate::ui::{self, date_time, hms, short};

pub(super) fn audit(frame: &mut Frame, area: Rect, c: &Console) {
    let ok = |b: bool| {
        if b {
            Span::styled("✓ ", Style::new().fg(Color::Green).bold())
        } else {
            Span::styled("✗ ", Style::new().fg(Color::Red).bold())
        }
    };
    let mut lines = Vec::new();
    match &c.audit {
        None => lines.push(Line::from(match (c.auditing, c.has_data_dir) {
            (true, _) => "The audit is running.",
            (false, true) => {
                "No audit has run yet: press r to check the supply invariant, the audit log and replay the ledger from genesis."
            }
            (false, false) => {
                "No audit has run yet: press r to check the supply invariant and the audit log."
            }
        })),
        Some(a) => {
            let verdict = if a.pass() {
                Span::styled("PASS", Style::new().fg(Color::Green).bold())
            } else {
                Span::styled("FAIL", Style::new().fg(Color::Red).bold())
            };
            lines.push(Line::from(vec![
                Span::raw(format!("Audit of {} UTC: ", date_time(a.time_ms))),
                verdict,
            ]));
            lines.push(Line::default());
            let s = &a.summary;
            lines.push(Line::from(vec![
                ok(s.invariant_ok),
                Span::raw(format!(
                    "Supply invariant (node): {} in {} unspent notes at height {}; every block is validated before commit.",
                    c.fmt(s.supply),
                    s.notes_outstanding,
                    s.height
                )),
            ]));
            lines.push(Line::from(match &a.log {
                Ok(n) => vec![
                    ok(true),
                    Span::raw(format!("Operator audit log: {n} entries, hash chain intact.")),
                ],
                Err(e) => vec![ok(false), Span::raw(format!("Operator audit log: {e}."))],
            }));
            lines.push(Line::from(match &a.replay {
                Some(r) if r.pass => vec![
                    ok(true),
                    Span::raw(format!(
                        "Replay from genesis (dfc-bank audit): every block, proof and signature re-verified; height {}, supply {}, {} notes, {} transactions.",
                        r.height.unwrap_or(0),
                        r.supply.clone().unwrap_or_default(),
                        r.notes_outstanding.unwrap_or(0),
                        r.tx_count.unwrap_or(0)
                    )),
                ],
                Some(r) => vec![
                    ok(false),
                    Span::raw(format!(
                        "Replay from genesis (dfc-bank audit): {}",
                        r.error.clone().unwrap_or_default()
                    )),
                ],
                None => vec![
                    Span::styled("– ", Style::new().dim()),
                    Span::raw(
                        "Replay from genesis: needs the ledger file; run the console with --sandbox or --data DIR on the node's machine.",
                    )
                    .dim(),
                ],
            }));
        }
    }
    lines.push(Line::default());
    lines.push(
        Line::from(if c.auditing {
            "Running… (x cancels)"
        } else {
            "Press r to run the audit now."
        })
        .dim(),
    );
    let [top, gauge, card] = Layout::vertical([
        Constraint::Length(10),
        Constraint::Length(u16::from(c.auditing)),
        Constraint::Min(0),
    ])
    .areas(area);
    frame.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: true })
            .block(Block::bordered().title(" Supply audit ")),
        top,
    );
    super::scorecard_view::progress(frame, gauge, c);
    super::scorecard_view::scorecard(frame, card, c);
}

/// Why the Regulator tab cannot list disclosures, in one line; `None` when it can.
pub fn regulator_unavailable(c: &Console) -> String {
    match &c.params {
        None => "Not connected to the node yet.".into(),
        Some(p) if p.compliance.is_none() => {
            "No compliance rules on this network: no payment is disclosed to a regulator.".into()
        }
        Some(_) if !c.has_regulator_key => {
            "No regulator key loaded: start the console with --regulator-key FILE.".into()
        }
        Some(_) => String::new(),
    }
}

pub(super) fn regulator(frame: &mut Frame, area: Rect, c: &Console) {
    let block =
        Block::bordered().title(" Regulator: payments disclosed at or above the threshold ");
    let threshold = c
        .params
        .as_ref()
        .and_then(|p| p.compliance.as_ref())
        .map(|r| c.fmt(r.reporting_threshold));
    let Some(threshold) = threshold.filter(|_| c.can_disclose()) else {
        frame.render_widget(
            Paragraph::new(regulator_unavailable(c))
                .wrap(Wrap { trim: true })
                .block(block),
            area,
        );
        return;
    };
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let [head, list] = Layout::vertical([Constraint::Length(2), Constraint::Min(0)]).areas(inner);
    let d = match &c.disclosed {
        None => {
            frame.render_widget(
                Paragraph::new("Reading every block's disclosures…").wrap(Wrap { trim: true }),
                inner,
            );
            return;
        }
        Some(Err(e)) => {
            frame.render_widget(
                Paragraph::new(vec![
                    Line::styled(
                        format!("Cannot read the disclosures: {e}."),
                        Style::new().fg(Color::Red),
                    ),
                    Line::from("Press r to try again.").dim(),
                ])
                .wrap(Wrap { trim: true }),
                inner,
            );
            return;
        }
        Some(Ok(d)) => d,
    };
    let total = dfc_core::Amount::sum(d.payments.iter().filter_map(|p| p.amount));
    let unreadable = d.payments.iter().filter(|p| p.amount.is_none()).count();
    let mut summary = format!("At or above {threshold}: {} disclosed", d.payments.len(),);
    if let Ok(t) = total {
        summary.push_str(&format!(", {} in all", c.fmt(t)));
    }
    if unreadable > 0 {
        summary.push_str(&format!(" · {unreadable} unreadable"));
    }
    let status = format!(
        "Height {} at {} UTC{} · r re-reads · smaller payments disclose nothing",
        d.height,
        hms(d.time_ms),
        if c.disclosing {
            ", reading again…"
        } else {
            ""
        }
    );
    frame.render_widget(
        Paragraph::new(vec![
            Line::from(ui::truncate(&summary, usize::from(head.width))).bold(),
            Line::from(ui::truncate(&status, usize::from(head.width))).dim(),
        ]),
        head,
    );
    if d.payments.is_empty() {
        frame.render_widget(
            Paragraph::new(format!("No payment at or above {threshold} yet.")),
            list,
        );
        return;
    }
    let wide = area.width >= 120;
    let rows: Vec<Row> = d
        .payments
        .iter()
        .rev()
        .map(|p| {
            let who = c
                .wallet_label(&p.recipient)
                .filter(|l| !l.is_empty())
                .map(str::to_string)
                .unwrap_or_else(|| short(&hex::encode(p.recipient.to_bytes()), 10));
            Row::new(vec![
                Cell::from(p.height.to_string()),
                Cell::from(if wide {
                    date_time(p.time_ms)
                } else {
                    hms(p.time_ms)
                }),
                Cell::from(format!(
                    "{}:{}",
                    short(&p.txid.to_hex(), if wide { 24 } else { 10 }),
                    p.output
                )),
                Cell::from(who),
                match p.amount {
                    Some(a) => Cell::from(c.fmt(a)).style(Style::new().bold()),
                    None => Cell::from("not readable").style(Style::new().fg(Color::Red)),
                },
            ])
        })
        .collect();
    let table = Table::new(
        rows,
        [
            Constraint::Length(7),
            Constraint::Length(if wide { 16 } else { 8 }),
            Constraint::Length(if wide { 28 } else { 14 }),
            Constraint::Length(if wide { 24 } else { 12 }),
            Constraint::Min(12),
        ],
    )
    .header(
        Row::new(vec![
            "Height",
            if wide { "Time UTC" } else { "UTC" },
            if wide {
                "Transaction:output"
            } else {
                "Tx:output"
            },
            "Recipient",
            "Amount",
        ])
        .style(ui::label()),
    );
    frame.render_widget(table, list);
}
