//! The detail of a proposal, drawn over the console: what an approver checks before it signs.

use ratatui::layout::{Constraint, Flex, Layout};
use ratatui::style::{Color, Style, Stylize};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph, Wrap};
use ratatui::Frame;

use super::view::{approvals_text, state_cell_style};
use super::Console;
use crate::ui::{self, date_time, short};

/// The detail of a proposal over the screen: every output's recipient (label and address) and
/// amount, who proposed it, the approvals, its expiry; with `confirm`, the question whether to
/// approve it, so an operator sees exactly what it signs before it signs.
pub(super) fn proposal_detail(
    frame: &mut Frame,
    c: &Console,
    txid: &dfc_core::TxId,
    confirm: bool,
) {
    let area = frame.area();
    let w = area.width.saturating_sub(4).min(110);
    let text_w = usize::from(w.saturating_sub(2));
    let mut lines: Vec<Line> = Vec::new();
    let title;
    match c.proposal(txid) {
        None => {
            title = " Proposal ".to_string();
            lines.push(Line::from("This proposal is no longer listed by the node."));
        }
        Some(p) => {
            title = format!(
                " {} proposal {} ",
                p.kind.name(),
                short(&p.txid.to_hex(), 16)
            );
            let by = p
                .proposed_by
                .map(|o| format!("operator {o}"))
                .unwrap_or_else(|| "its wallet".into());
            lines.push(Line::from(vec![
                Span::styled("Total ", ui::label()),
                Span::raw(c.fmt(p.amount)).bold(),
                Span::raw(format!(
                    " · proposed by {by} · approvals {} · ",
                    approvals_text(p)
                )),
                Span::styled(p.state.clone(), state_cell_style(&p.state)),
            ]));
            if p.expires_ms != 0 {
                lines.push(Line::from(format!(
                    "Expires {} UTC: after that it cannot be approved",
                    date_time(p.expires_ms)
                )));
            }
            lines.push(Line::default());
            lines.push(Line::from(Span::styled(
                format!("{} output(s): recipient and amount", p.outputs.len()),
                ui::label(),
            )));
            for o in &p.outputs {
                let amount = o
                    .amount
                    .map(|a| c.fmt(a))
                    .unwrap_or_else(|| "hidden".into());
                let who = o
                    .label
                    .clone()
                    .filter(|l| !l.is_empty())
                    .unwrap_or_else(|| "(no label)".into());
                let mut spans = vec![
                    Span::raw(format!(" #{:<2} ", o.index)),
                    Span::raw(format!("{amount:>18}")).bold(),
                    Span::raw(format!("  to {who}")),
                ];
                if o.frozen {
                    spans.push(Span::styled("  FROZEN", Style::new().fg(Color::Red).bold()));
                }
                lines.push(Line::from(spans));
                let addr = o.address.map(|a| a.to_string()).unwrap_or_else(|| {
                    format!("unregistered key {}", hex::encode(o.owner.to_bytes()))
                });
                // The whole address, over as many lines as it takes: an approver compares it.
                let chars: Vec<char> = addr.chars().collect();
                for chunk in chars.chunks(text_w.saturating_sub(5).max(16)) {
                    lines.push(Line::from(format!("     {}", String::from_iter(chunk))).dim());
                }
            }
            lines.push(Line::default());
            if confirm {
                let op = c.operator().map(|o| o.to_string()).unwrap_or_default();
                let ask = Style::new().fg(Color::Yellow).bold();
                lines.push(Line::from(Span::styled(
                    format!(
                        "Approve this {} of {} in {} output(s) as operator {op}?",
                        p.kind.name(),
                        c.fmt(p.amount),
                        p.outputs.len()
                    ),
                    ask,
                )));
                lines.push(Line::from(Span::styled("y approve · n cancel", ask)));
            } else {
                lines.push(Line::from("a approve · Esc close").dim());
            }
        }
    }
    let h = u16::try_from(lines.len() + 2)
        .unwrap_or(u16::MAX)
        .min(area.height);
    let [popup] = Layout::horizontal([Constraint::Length(w)])
        .flex(Flex::Center)
        .areas(area);
    let [popup] = Layout::vertical([Constraint::Length(h)])
        .flex(Flex::Center)
        .areas(popup);
    frame.render_widget(Clear, popup);
    frame.render_widget(
        Paragraph::new(lines).wrap(Wrap { trim: false }).block(
            Block::bordered()
                .title(ui::truncate(&title, text_w))
                .border_style(Style::new().fg(if confirm { Color::Yellow } else { Color::Cyan })),
        ),
        popup,
    );
}
