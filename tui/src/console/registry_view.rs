//! The Wallets tab: the registry (columns sized by content, filtered with `/`), the selected
//! wallet with its freeze reason and registry version, the prompts and confirmations of registry
//! changes, and the double-spend evidence against the selected wallet.

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Style, Stylize};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Cell, Paragraph, Row, Table, TableState, Wrap};
use ratatui::Frame;

use super::view::*;
use super::{Console, Mode, WalletPromptKind};
use crate::ui::{self, date_time, hms, short, short_address};

pub(super) fn wallets(frame: &mut Frame, area: Rect, c: &Console) {
    let ws = c.wallets_by_tier();
    let evidence = ws
        .get(c.sel[3])
        .map(|w| c.evidence_of(&w.address.spend))
        .unwrap_or_default();
    let ev_rows = if evidence.is_empty() {
        0
    } else {
        // Header and borders, and as many records as the screen allows.
        let room = area.height.saturating_sub(7 + 8 + 3);
        u16::try_from(evidence.len())
            .unwrap_or(u16::MAX)
            .min(room.max(1))
            + 3
    };
    let [list, detail, ev] = Layout::vertical([
        Constraint::Min(7),
        Constraint::Length(8),
        Constraint::Length(ev_rows),
    ])
    .areas(area);
    if !evidence.is_empty() {
        evidence_table(frame, ev, &evidence);
    }
    // Columns sized by their content: the Label column is as wide as the longest label (an empty
    // registry of labels takes 5 columns, not half the screen) and the address gets the rest, in
    // full when it fits.
    let label_w = ws
        .iter()
        .map(|w| w.label.chars().count())
        .max()
        .unwrap_or(0)
        .clamp(5, 24);
    let fixed = 13 + label_w + 6 + 5 + 16 + 5 + 2;
    let address_w = usize::from(area.width).saturating_sub(fixed).max(17);
    let keep = address_w.saturating_sub(1) / 2;
    let rows: Vec<Row> = ws
        .iter()
        .map(|w| {
            let tier_name = c
                .params
                .as_ref()
                .and_then(|p| p.tier(w.tier))
                .map(|t| t.name.clone())
                .unwrap_or_default();
            Row::new(vec![
                Cell::from(format!("{} {tier_name}", w.tier)),
                Cell::from(w.label.clone()),
                Cell::from(short_address(&w.address.to_string(), keep)),
                if w.frozen {
                    Cell::from("frozen").style(Style::new().fg(Color::Red))
                } else {
                    Cell::from("active").style(Style::new().fg(Color::Green))
                },
                if w.flags > 0 {
                    Cell::from(w.flags.to_string()).style(Style::new().fg(Color::Red).bold())
                } else {
                    Cell::from("0")
                },
                Cell::from(date_time(w.registered_ms)),
            ])
        })
        .collect();
    let table = Table::new(
        rows,
        [
            Constraint::Length(13),
            Constraint::Length(u16::try_from(label_w).unwrap_or(24)),
            Constraint::Min(u16::try_from(address_w).unwrap_or(u16::MAX)),
            Constraint::Length(6),
            Constraint::Length(5),
            Constraint::Length(16),
        ],
    )
    .header(
        Row::new(vec![
            "Tier",
            "Label",
            "Address",
            "Status",
            "Flags",
            "Registered UTC",
        ])
        .style(ui::label()),
    )
    .row_highlight_style(ui::selected())
    .block(Block::bordered().title(registry_title(c, ws.len())));
    if ws.is_empty() && !c.filter.text.trim().is_empty() {
        frame.render_widget(
            Paragraph::new(format!(
                "No wallet's label or address contains \"{}\". / changes the filter; Esc while typing it clears it.",
                c.filter.text.trim()
            ))
            .wrap(Wrap { trim: true })
            .block(Block::bordered().title(registry_title(c, 0))),
            list,
        );
    } else if ws.is_empty() {
        frame.render_widget(
            Paragraph::new(
                "No wallet is registered yet. Wallets register with `dfc-wallet register`.",
            )
            .wrap(Wrap { trim: true })
            .block(Block::bordered().title(" Registry by tier ")),
            list,
        );
    } else {
        let mut state = TableState::default().with_selected(Some(c.sel[3]));
        frame.render_stateful_widget(table, list, &mut state);
        c.record_list(3, list, state.offset());
    }

    let prompting = matches!(
        c.mode,
        Mode::WalletPrompt(_) | Mode::WalletConfirm(_) | Mode::Filter
    );
    let block = ui::form_block(" Selected wallet ", prompting, detail.width);
    let inner = block.inner(detail);
    frame.render_widget(block, detail);
    let Some(w) = ws.get(c.sel[3]) else {
        if c.mode == Mode::Filter {
            let [_, last] =
                Layout::vertical([Constraint::Min(0), Constraint::Length(1)]).areas(inner);
            frame.render_widget(
                Paragraph::new(c.filter.line("Filter", true, inner.width)),
                last,
            );
        }
        return;
    };
    let d = c.params.as_ref().map(|p| p.decimals).unwrap_or(0);
    // Status and the freeze reason first: on a small screen they are what must show.
    let mut lines = Vec::new();
    lines.push(Line::from(vec![
        if w.frozen {
            Span::styled("Frozen", Style::new().fg(Color::Red).bold())
        } else {
            Span::styled("Active", Style::new().fg(Color::Green))
        },
        Span::raw(format!(
            " · {} offline double-spend flag{} · label {} · registry version {}",
            w.flags,
            if w.flags == 1 { "" } else { "s" },
            if w.label.is_empty() { "none" } else { &w.label },
            w.registry_version
        )),
    ]));
    if w.frozen {
        lines.push(Line::from(vec![
            Span::styled("Frozen because: ", Style::new().fg(Color::Red)),
            Span::raw(
                w.freeze_reason
                    .clone()
                    .unwrap_or_else(|| "(no reason recorded)".into()),
            ),
        ]));
    }
    lines.push(Line::from(w.address.to_string()));
    if let Some(t) = c.params.as_ref().and_then(|p| p.tier(w.tier)) {
        lines.push(Line::from(format!(
            "Tier {} {}: pays ≤ {} · holds ≤ {} · offline ≤ {} {}",
            t.tier,
            t.name,
            t.max_payment.display(d),
            t.max_balance.display(d),
            t.offline_cap.display(d),
            c.params
                .as_ref()
                .map(|p| p.currency.as_str())
                .unwrap_or_default()
        )));
    }
    let bottom = match c.mode {
        Mode::WalletPrompt(kind) => {
            let label = match kind {
                WalletPromptKind::Freeze => "Freeze, why".to_string(),
                WalletPromptKind::Unfreeze => "Unfreeze, why".to_string(),
                // The prompt names the tiers, so nobody has to look up what "2" means.
                WalletPromptKind::SetTier => format!(
                    "New tier ({})",
                    c.params
                        .as_ref()
                        .map(|p| p
                            .tiers
                            .iter()
                            .map(|t| format!("{} {}", t.tier, t.name))
                            .collect::<Vec<_>>()
                            .join(" · "))
                        .unwrap_or_default()
                ),
            };
            c.prompt.line(&label, true, inner.width)
        }
        Mode::WalletConfirm(kind) => confirm_line(c, kind, w),
        Mode::Filter => c.filter.line("Filter", true, inner.width),
        _ => Line::from("f freeze · u unfreeze · t set tier · i issue to this wallet · / filter")
            .dim(),
    };
    let [top, last] = Layout::vertical([Constraint::Min(0), Constraint::Length(1)]).areas(inner);
    frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: true }), top);
    frame.render_widget(Paragraph::new(bottom), last);
}

/// The registry table's title: how many wallets are listed, and the filter if one is set.
pub(super) fn registry_title(c: &Console, shown: usize) -> String {
    let filter = c.filter.text.trim();
    if filter.is_empty() {
        format!(" Registry by tier: {shown} wallets ")
    } else {
        format!(
            " Registry by tier: {shown} of {} wallets · filter \"{filter}\" ",
            c.wallets.len()
        )
    }
}

/// The question asked before a freeze, unfreeze or tier change is sent: the action, the wallet
/// and the reason or tier in full, answered with y or n.
pub(super) fn confirm_line(
    c: &Console,
    kind: WalletPromptKind,
    w: &dfc_core::api::WalletInfo,
) -> Line<'static> {
    let who = wallet_name(&w.label, &w.address.to_string());
    let text = c.prompt.text.trim();
    let question = match kind {
        WalletPromptKind::Freeze => format!("Freeze {who} (reason: {text})?"),
        WalletPromptKind::Unfreeze => format!("Unfreeze {who} (reason: {text})?"),
        WalletPromptKind::SetTier => {
            let name = text
                .parse::<u8>()
                .ok()
                .and_then(|t| c.params.as_ref().and_then(|p| p.tier(t)))
                .map(|t| format!(" {}", t.name))
                .unwrap_or_default();
            format!("Move {who} from tier {} to tier {text}{name}?", w.tier)
        }
    };
    Line::from(vec![
        Span::styled(question, Style::new().fg(Color::Yellow).bold()),
        Span::raw("  y yes · n back"),
    ])
}

pub(super) fn evidence_table(frame: &mut Frame, area: Rect, evidence: &[&super::EvidenceRow]) {
    let wide = area.width >= 120;
    let id = |h: &[u8; 32]| short(&hex::encode(h), if wide { 24 } else { 10 });
    let rows: Vec<Row> = evidence
        .iter()
        .map(|e| {
            Row::new(vec![
                Cell::from(if wide {
                    date_time(e.recorded_ms)
                } else {
                    hms(e.recorded_ms)
                }),
                Cell::from(id(&e.note.0)),
                Cell::from(id(&e.committed.0)).style(Style::new().fg(Color::Green)),
                Cell::from(id(&e.conflicting.0)).style(Style::new().fg(Color::Red)),
                Cell::from(format!("#{}", e.serial)),
            ])
        })
        .collect();
    let idw = if wide { 25 } else { 11 };
    let title = format!(
        " Double-spend evidence: {} record{}, newest first (checkable with the node key) ",
        evidence.len(),
        if evidence.len() == 1 { "" } else { "s" }
    );
    let table = Table::new(
        rows,
        [
            Constraint::Length(if wide { 16 } else { 8 }),
            Constraint::Length(idw),
            Constraint::Length(idw),
            Constraint::Length(idw),
            Constraint::Min(6),
        ],
    )
    .header(
        Row::new(vec![
            if wide { "Recorded UTC" } else { "UTC" },
            "Note",
            "Committed",
            "Refused",
            "Cert.",
        ])
        .style(ui::label()),
    )
    .block(
        Block::bordered()
            .title(ui::truncate(
                &title,
                usize::from(area.width).saturating_sub(2),
            ))
            .border_style(Style::new().fg(Color::Red)),
    );
    frame.render_widget(table, area);
}
