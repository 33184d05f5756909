//! The Audit tab's lower half: the running audit's progress (with its ETA and the key that
//! cancels it) and the `dfc-bank assess` scorecard, each check with the threats it covers.

use ratatui::layout::{Constraint, Rect};
use ratatui::style::{Color, Style, Stylize};
use ratatui::text::Line;
use ratatui::widgets::{Block, Cell, Gauge, Paragraph, Row, Table, Wrap};
use ratatui::Frame;

use dfc_central_bank::assess::Status;

use super::Console;
use crate::ui;

fn status_style(s: Status) -> Style {
    match s {
        Status::Pass => Style::new().fg(Color::Green).bold(),
        Status::Info | Status::Skip => Style::new().dim(),
        Status::Warn => Style::new().fg(Color::Yellow).bold(),
        Status::Fail => Style::new().fg(Color::Red).bold(),
    }
}

/// The progress line of a running audit, if one runs (height 1).
pub(super) fn progress(frame: &mut Frame, area: Rect, c: &Console) {
    let Some(p) = c.audit_progress.as_ref().filter(|_| c.auditing) else {
        return;
    };
    let (label, ratio) = match p.counts() {
        Some((done, total)) => {
            let eta = p
                .eta_ms(c.now_ms)
                .map(|ms| format!(", ETA {} s", ms.div_ceil(1000)))
                .unwrap_or_default();
            let cancel = if p.is_cancelled() {
                " · cancelling…"
            } else {
                " · x cancels"
            };
            (
                format!("{done}/{total} transactions verified{eta}{cancel}"),
                if total == 0 {
                    0.0
                } else {
                    (done as f64 / total as f64).min(1.0)
                },
            )
        }
        None => ("reading the ledger… · x cancels".to_string(), 0.0),
    };
    frame.render_widget(
        Gauge::default()
            .gauge_style(Style::new().fg(Color::Cyan))
            .ratio(ratio)
            .label(label),
        area,
    );
}

/// The scorecard of the last audit.
pub(super) fn scorecard(frame: &mut Frame, area: Rect, c: &Console) {
    let block = Block::bordered().title(" Assessment (dfc-bank assess) ");
    let card = match c.audit.as_ref().and_then(|a| a.scorecard.as_ref()) {
        None => {
            frame.render_widget(
                Paragraph::new("The scorecard appears after the first audit.")
                    .dim()
                    .block(block),
                area,
            );
            return;
        }
        Some(Err(e)) => {
            frame.render_widget(
                Paragraph::new(Line::styled(
                    format!("The assessment could not run: {e}"),
                    Style::new().fg(Color::Red),
                ))
                .wrap(Wrap { trim: true })
                .block(block),
                area,
            );
            return;
        }
        Some(Ok(card)) => card,
    };
    let (pass, warn, fail) = card.counts();
    let block = block.title_bottom(
        Line::from(format!(
            " {}: {pass} pass, {warn} warn, {fail} fail ",
            card.overall.label()
        ))
        .style(status_style(card.overall)),
    );
    // Two lines a check (what was seen, then the threats it covers) when they all fit; else one,
    // the threats by their numbers in docs/threat-model.md.
    let rows_fit = usize::from(area.height.saturating_sub(3));
    let two_lines = rows_fit >= 2 * card.checks.len();
    let rows: Vec<Row> = card
        .checks
        .iter()
        .map(|l| {
            let status = Cell::from(l.status.label()).style(status_style(l.status));
            if two_lines {
                let threats: Vec<String> = l
                    .threats
                    .iter()
                    .map(|t| format!("T{} {}", t.id, t.name))
                    .collect();
                Row::new(vec![
                    status,
                    Cell::from(l.id),
                    Cell::from(vec![
                        Line::from(l.detail.clone()),
                        Line::from(format!("covers {}", threats.join("; "))).dim(),
                    ]),
                ])
                .height(2)
            } else {
                let ids: Vec<String> = l.threats.iter().map(|t| format!("T{}", t.id)).collect();
                Row::new(vec![
                    status,
                    Cell::from(l.id),
                    Cell::from(format!("[{}] {}", ids.join(" "), l.detail)),
                ])
            }
        })
        .collect();
    let table = Table::new(
        rows,
        [
            Constraint::Length(5),
            Constraint::Length(17),
            Constraint::Min(20),
        ],
    )
    .header(Row::new(vec!["", "Check", "What was seen / threats covered"]).style(ui::label()))
    .block(block);
    frame.render_widget(table, area);
}
