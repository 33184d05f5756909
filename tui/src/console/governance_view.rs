//! The Governance tab: proposed parameter changes, the selected one's diff against the
//! parameters in force (shown before any approval), the confirmation, and the history.

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Style, Stylize};
use ratatui::text::Line;
use ratatui::widgets::{Block, Cell, Paragraph, Row, Table, TableState, Wrap};
use ratatui::Frame;

use super::{Console, Mode};
use crate::ui::{self, short};

pub(super) fn governance(frame: &mut Frame, area: Rect, c: &Console) {
    let g = match &c.governance {
        None => {
            frame.render_widget(
                Paragraph::new("Reading the parameter changes…")
                    .block(Block::bordered().title(" Governance ")),
                area,
            );
            return;
        }
        Some(Err(e)) => {
            frame.render_widget(
                Paragraph::new(vec![
                    Line::styled(
                        format!("Cannot read the parameter changes: {e}."),
                        Style::new().fg(Color::Red),
                    ),
                    Line::from("Press r to try again.").dim(),
                ])
                .wrap(Wrap { trim: true })
                .block(Block::bordered().title(" Governance ")),
                area,
            );
            return;
        }
        Some(Ok(g)) => g,
    };
    let [list, diff, history] = Layout::vertical([
        Constraint::Percentage(35),
        Constraint::Percentage(40),
        Constraint::Min(4),
    ])
    .areas(area);
    let rows: Vec<Row> = g
        .changes
        .iter()
        .map(|p| {
            Row::new(vec![
                Cell::from(short(&p.digest.to_hex(), 12)),
                Cell::from(p.state.clone()).style(super::view::state_cell_style(
                    if p.state == "scheduled" {
                        "committed"
                    } else {
                        &p.state
                    },
                )),
                Cell::from(p.change.effective_height.to_string()),
                Cell::from(format!("{}/{}", p.approvals.len(), p.threshold)),
                Cell::from(format!("operator {}", p.proposed_by)),
            ])
        })
        .collect();
    let title = if g.changes.is_empty() {
        " Proposed changes: none (dfc-bank governance propose) ".to_string()
    } else {
        format!(" Proposed changes ({}) ", g.changes.len())
    };
    let table = Table::new(
        rows,
        [
            Constraint::Length(14),
            Constraint::Length(10),
            Constraint::Length(12),
            Constraint::Length(10),
            Constraint::Min(10),
        ],
    )
    .header(
        Row::new(vec![
            "Change",
            "State",
            "From height",
            "Approvals",
            "Proposed by",
        ])
        .style(ui::label()),
    )
    .row_highlight_style(Style::new().reversed())
    .block(Block::bordered().title(title));
    let mut state = TableState::default().with_selected(Some(c.gov_sel));
    frame.render_stateful_widget(table, list, &mut state);

    let confirm = matches!(c.mode, Mode::ChangeConfirm { .. });
    let mut lines = Vec::new();
    if let Some(p) = c.selected_change() {
        if confirm {
            lines.push(Line::styled(
                format!(
                    "Approve change {} as operator {}? y signs and sends, n goes back.",
                    short(&p.digest.to_hex(), 16),
                    c.operator().map(|o| o.to_string()).unwrap_or_default()
                ),
                Style::new().fg(Color::Yellow).bold(),
            ));
        }
        let d = g.diff_of(p);
        if d.is_empty() {
            lines.push(Line::from(
                "No field changes against the parameters in force.",
            ));
        }
        for f in d {
            lines.push(Line::from(format!(
                "{:<28} {} → {}",
                f.field,
                short(&f.before, 20),
                short(&f.after, 20)
            )));
        }
    } else {
        lines.push(Line::from("Select a change to see what it changes.").dim());
    }
    let diff_title = c
        .selected_change()
        .map(|p| {
            format!(
                " Diff against the parameters in force, from height {} ",
                p.change.effective_height
            )
        })
        .unwrap_or_else(|| " Diff ".into());
    frame.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: true })
            .block(Block::bordered().title(diff_title)),
        diff,
    );

    let mut hist = vec![Line::from(format!(
        "genesis: {}-of-{} operators, {} tiers",
        g.history.genesis().threshold,
        g.history.genesis().issuers.len(),
        g.history.genesis().tiers.len()
    ))];
    let mut before = g.history.genesis();
    for a in g.history.changes() {
        let fields: Vec<String> = dfc_core::governance::diff(before, &a.change.params)
            .into_iter()
            .map(|f| f.field)
            .collect();
        hist.push(Line::from(format!(
            "from height {}: {} approvals; {}",
            a.change.effective_height,
            a.approvals.len(),
            fields.join(", ")
        )));
        before = &a.change.params;
    }
    frame.render_widget(
        Paragraph::new(hist)
            .wrap(Wrap { trim: true })
            .block(Block::bordered().title(" Applied changes ")),
        history,
    );
}
