//! Pieces both apps draw with: the tab bar, the status bar, the notice line, the help overlay,
//! text inputs, QR codes in half blocks, and time formatting. Everything here is a pure function of
//! its arguments so screens can be snapshot-tested.

use ratatui::layout::{Constraint, Flex, Layout, Rect};
use ratatui::style::{Color, Modifier, Style, Stylize};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph, Tabs, Wrap};
use ratatui::Frame;

use crate::textfield::EditKey;

/// Longest text a form field accepts, in characters (an address is about 115).
pub const MAX_INPUT_CHARS: usize = 200;

/// The connection to the node as the status bar shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Conn {
    /// No answer yet.
    Connecting,
    /// The last call succeeded.
    Connected,
    /// The last call failed; retrying.
    Reconnecting {
        /// Why the last call failed.
        error: String,
        /// Failed attempts in a row.
        attempts: u32,
    },
    /// The node answers but has halted: it stopped writing after a storage failure.
    Halted,
    /// The node answers but is checking its stored tables after a start: writes wait.
    CheckingTables,
    /// Cannot continue (e.g. the in-process node stopped).
    Error(String),
}

impl Conn {
    /// The status-bar text and colour.
    pub fn label(&self) -> (String, Color) {
        match self {
            Conn::Connecting => ("connecting".into(), Color::Yellow),
            Conn::Connected => ("connected".into(), Color::Green),
            Conn::Reconnecting { error, attempts } => (
                format!("reconnecting (attempt {attempts}): {error}"),
                Color::Yellow,
            ),
            Conn::Halted => ("NODE HALTED".into(), Color::Red),
            Conn::CheckingTables => (
                "node checking its tables: writes wait".into(),
                Color::Yellow,
            ),
            Conn::Error(e) => (format!("error: {e}"), Color::Red),
        }
    }
}

/// A one-line message about the last action.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Notice {
    /// Success or failure.
    pub ok: bool,
    /// The message.
    pub text: String,
}

impl Notice {
    /// A success message.
    pub fn ok(text: impl Into<String>) -> Self {
        Notice {
            ok: true,
            text: text.into(),
        }
    }
    /// A failure message.
    pub fn err(text: impl Into<String>) -> Self {
        Notice {
            ok: false,
            text: text.into(),
        }
    }
}

/// How long a success message stays on the notice line.
pub const NOTICE_OK_MS: u64 = 5_000;
/// How long an error (red ✗) stays: longer, as it needs reading, but it does not stay forever
/// over a screen that has moved on.
pub const NOTICE_ERR_MS: u64 = 8_000;

/// Clears the notice line's message once it has been shown for [`NOTICE_OK_MS`] or
/// [`NOTICE_ERR_MS`]. The apps set their notice in many places; this watches it from the tick
/// instead, so none of them has to remember to time it.
#[derive(Clone, Debug, Default)]
pub struct NoticeTimer {
    shown: Option<Notice>,
    since_ms: u64,
}

impl NoticeTimer {
    /// Called on every tick with the app's notice: starts timing a new message, clears an old one.
    pub fn expire(&mut self, notice: &mut Option<Notice>, now_ms: u64) {
        if *notice != self.shown {
            self.shown = notice.clone();
            self.since_ms = now_ms;
            return;
        }
        let Some(n) = notice else {
            return;
        };
        let ttl = if n.ok { NOTICE_OK_MS } else { NOTICE_ERR_MS };
        if now_ms.saturating_sub(self.since_ms) >= ttl {
            *notice = None;
            self.shown = None;
        }
    }
}

/// A single-line text input with a cursor.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Input {
    /// The text typed so far.
    pub text: String,
    /// Characters after the cursor (0: at the end). Counted from the end so that code which sets
    /// `text` directly (a pre-filled address) leaves the cursor at the end.
    back: usize,
}

impl Input {
    /// Appends a character at the cursor, up to [`MAX_INPUT_CHARS`].
    pub fn push(&mut self, c: char) {
        self.push_up_to(c, MAX_INPUT_CHARS);
    }
    /// Inserts a character at the cursor, up to `max` characters (fields that take pasted text).
    pub fn push_up_to(&mut self, c: char, max: usize) {
        self.edit(EditKey::Insert(c), max);
    }
    /// Removes the character before the cursor.
    pub fn pop(&mut self) {
        self.edit(EditKey::Backspace, MAX_INPUT_CHARS);
    }
    /// Applies a readline-style edit, inserting up to `max` characters.
    pub fn edit(&mut self, op: EditKey, max: usize) {
        self.back = crate::textfield::apply(&mut self.text, self.back, op, max);
    }
    /// Empties the field.
    pub fn clear(&mut self) {
        self.text.clear();
        self.back = 0;
    }
    /// The cursor's position in characters from the start.
    pub fn cursor(&self) -> usize {
        let len = self.text.chars().count();
        len - self.back.min(len)
    }
    /// The field as a line `label: text` fitting `width` columns, with the cursor `▏` where
    /// typing goes when focused: a long value shows the part around the cursor, cut with `…`.
    pub fn line(&self, label: &str, focused: bool, width: u16) -> Line<'static> {
        let label = format!("{label:>12}: ");
        let room = usize::from(width)
            .saturating_sub(label.chars().count())
            .saturating_sub(1);
        let chars: Vec<char> = self.text.chars().collect();
        let at = if focused { self.cursor() } else { chars.len() };
        let (before, after) = visible_around(&chars, at, room);
        let text_style = if focused {
            Style::new().fg(Color::Cyan)
        } else {
            Style::new()
        };
        let mut spans = vec![
            Span::styled(
                label,
                if focused {
                    Style::new().bold()
                } else {
                    Style::new()
                },
            ),
            Span::styled(before, text_style),
        ];
        if focused {
            spans.push(Span::styled("▏", Style::new().fg(Color::Cyan)));
        }
        if !after.is_empty() {
            spans.push(Span::styled(after, text_style));
        }
        Line::from(spans)
    }
}

/// The text before and after the cursor at `at` that fits `room` columns: the whole text when it
/// fits; otherwise a window ending at the cursor (or at the end, cut after the cursor), with `…`
/// marking each side that is cut.
fn visible_around(chars: &[char], at: usize, room: usize) -> (String, String) {
    if chars.len() <= room {
        let before = chars[..at].iter().collect();
        let after = chars[at..].iter().collect();
        return (before, after);
    }
    // Show up to the cursor (after a `…` when its start is cut), then what still fits after it.
    let start = at.saturating_sub(room.saturating_sub(1));
    let shown: String = chars[start..at].iter().collect();
    let (before, used) = if start > 0 {
        (format!("…{shown}"), at - start + 1)
    } else {
        (shown, at)
    };
    let left = room.saturating_sub(used);
    let mut after: String = String::new();
    if at < chars.len() && left > 1 {
        let end = (at + left).min(chars.len());
        after = chars[at..end].iter().collect();
        if end < chars.len() {
            after.pop();
            after.push('…');
        }
    }
    (before, after)
}

/// The tab bar: titles, the selected one highlighted, and `right` (e.g. the network name) at the
/// right edge when there is room.
pub fn tab_bar(frame: &mut Frame, area: Rect, titles: &[&str], selected: usize, right: &str) {
    let tabs_width: usize = titles.iter().map(|t| t.chars().count() + 3).sum::<usize>() + 1;
    let right_width = right.chars().count() + 1;
    let [tabs_area, right_area] = if tabs_width + right_width <= usize::from(area.width) {
        Layout::horizontal([
            Constraint::Min(0),
            Constraint::Length(u16::try_from(right_width).unwrap_or(0)),
        ])
        .areas(area)
    } else {
        [area, Rect::default()]
    };
    // On a narrow screen, drop tabs from the left (marked `…`) so the selected one stays in view.
    let width = |ts: &[&str]| ts.iter().map(|t| t.chars().count() + 3).sum::<usize>() + 1;
    let selected = selected.min(titles.len().saturating_sub(1));
    let mut first = 0;
    while first < selected && width(&titles[first..=selected]) + 1 > usize::from(tabs_area.width) {
        first += 1;
    }
    let shown: Vec<Line> = titles
        .iter()
        .enumerate()
        .skip(first)
        .map(|(i, t)| {
            if i == first && first > 0 {
                Line::from(format!("…{t}"))
            } else {
                Line::from(*t)
            }
        })
        .collect();
    let tabs = Tabs::new(shown)
        .select(selected - first)
        .divider("│")
        .padding(" ", " ")
        .highlight_style(Style::new().fg(Color::Black).bg(Color::Cyan).bold());
    frame.render_widget(tabs, tabs_area);
    if right_area.width > 0 {
        frame.render_widget(
            Paragraph::new(Line::from(right.to_string()).dim()).right_aligned(),
            right_area,
        );
    }
}

/// The status bar: the connection state first, then `segments` in priority order, each included
/// only if it fits in full; `? help  q quit` at the right when there is room.
pub fn status_bar(frame: &mut Frame, area: Rect, conn: &Conn, segments: &[String]) {
    let (text, color) = conn.label();
    let width = usize::from(area.width);
    let hint = " ? help  q quit ";
    let mut spans = vec![Span::styled(
        format!(" ● {} ", truncate(&text, width.saturating_sub(4))),
        Style::new().fg(color).bold(),
    )];
    let mut used: usize = spans.iter().map(|s| s.content.chars().count()).sum();
    for seg in segments {
        let piece = format!("│ {seg} ");
        let len = piece.chars().count();
        if used + len + hint.len() <= width {
            spans.push(Span::raw(piece));
            used += len;
        }
    }
    let left = Line::from(spans);
    let bar = Style::new().bg(Color::DarkGray).fg(Color::White);
    frame.render_widget(Paragraph::new(left).style(bar), area);
    if used + hint.len() <= width {
        frame.render_widget(
            Paragraph::new(Line::from(hint).right_aligned()).style(bar),
            area,
        );
    }
}

/// Lines a notice needs at `width` (at least 1, at most 3).
pub fn notice_height(notice: Option<&Notice>, width: u16) -> u16 {
    let Some(n) = notice else { return 1 };
    let len = n.text.chars().count() + 2;
    let w = usize::from(width.max(1));
    u16::try_from(len.div_ceil(w).clamp(1, 3)).unwrap_or(3)
}

/// The notice line(s) above the status bar; `busy` (an action in flight) wins over the notice.
pub fn notice_line(frame: &mut Frame, area: Rect, notice: Option<&Notice>, busy: Option<&str>) {
    let line = match (busy, notice) {
        (Some(b), _) => Line::from(Span::styled(
            format!("… {b}"),
            Style::new().fg(Color::Yellow),
        )),
        (None, Some(n)) if n.ok => Line::from(Span::styled(
            format!("✓ {}", n.text),
            Style::new().fg(Color::Green),
        )),
        (None, Some(n)) => Line::from(Span::styled(
            format!("✗ {}", n.text),
            Style::new().fg(Color::Red),
        )),
        (None, None) => Line::default(),
    };
    frame.render_widget(Paragraph::new(line).wrap(Wrap { trim: false }), area);
}

/// The bordered block around a form: its title cut to the width, the border highlighted while the
/// form is being edited.
pub fn form_block(title: &str, editing: bool, width: u16) -> Block<'static> {
    Block::bordered()
        .title(truncate(title, usize::from(width).saturating_sub(2)))
        .border_style(if editing {
            Style::new().fg(Color::Cyan)
        } else {
            Style::new()
        })
}

/// A centered help window listing `keys` (key, what it does) over the screen.
pub fn help_overlay(frame: &mut Frame, title: &str, keys: &[(&str, &str)]) {
    let area = frame.area();
    let key_w = keys
        .iter()
        .map(|(k, _)| k.chars().count())
        .max()
        .unwrap_or(0);
    let text_w = keys
        .iter()
        .map(|(_, t)| t.chars().count())
        .max()
        .unwrap_or(0);
    let want_w = u16::try_from(key_w + text_w + 6).unwrap_or(u16::MAX);
    let want_h = u16::try_from(keys.len() + 2).unwrap_or(u16::MAX);
    let w = want_w.min(area.width);
    let h = want_h.min(area.height);
    let [popup] = Layout::horizontal([Constraint::Length(w)])
        .flex(Flex::Center)
        .areas(area);
    let [popup] = Layout::vertical([Constraint::Length(h)])
        .flex(Flex::Center)
        .areas(popup);
    let lines: Vec<Line> = keys
        .iter()
        .map(|(k, t)| {
            Line::from(vec![
                Span::styled(
                    format!(" {k:>key_w$} "),
                    Style::new().fg(Color::Cyan).bold(),
                ),
                Span::raw(format!(" {t}")),
            ])
        })
        .collect();
    frame.render_widget(Clear, popup);
    frame.render_widget(
        Paragraph::new(lines).block(
            Block::bordered()
                .title(format!(" {title} — any key closes "))
                .border_style(Style::new().fg(Color::Cyan)),
        ),
        popup,
    );
}

/// An address as typed or scanned, normalised for parsing: bech32 allows all upper case (what the
/// receive QR code carries, for its compact alphanumeric mode); `dfc_core::Address` parses lower
/// case.
pub fn normalize_address(text: &str) -> String {
    let t = text.trim();
    if t.chars().any(|c| c.is_ascii_lowercase()) {
        t.to_string()
    } else {
        t.to_ascii_lowercase()
    }
}

/// `text` cut to `max` characters, ending in `…` when cut.
pub fn truncate(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let mut out: String = text.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// The first `n` characters of a long hex id followed by `…`.
pub fn short(id: &str, n: usize) -> String {
    if id.chars().count() <= n {
        id.to_string()
    } else {
        format!("{}…", id.chars().take(n).collect::<String>())
    }
}

/// An address shortened to its start and end, e.g. `dfc1qy2…x7k3`.
pub fn short_address(addr: &str, keep: usize) -> String {
    let chars: Vec<char> = addr.chars().collect();
    if chars.len() <= keep * 2 + 1 {
        return addr.to_string();
    }
    let head: String = chars[..keep].iter().collect();
    let tail: String = chars[chars.len() - keep..].iter().collect();
    format!("{head}…{tail}")
}

/// `HH:MM:SS` (UTC) of a time in ms since the Unix epoch.
pub fn hms(ms: u64) -> String {
    let s = ms / 1000;
    format!("{:02}:{:02}:{:02}", (s / 3600) % 24, (s / 60) % 60, s % 60)
}

/// `YYYY-MM-DD HH:MM` (UTC) of a time in ms since the Unix epoch.
pub fn date_time(ms: u64) -> String {
    let secs = ms / 1000;
    let (y, m, d) = dfc_core::time::civil_from_days(secs / 86_400);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}",
        (secs / 3600) % 24,
        (secs / 60) % 60
    )
}

/// A QR code of `data` as lines of unicode half blocks (two modules per character row), dark
/// modules black on white whatever the terminal's colours, with a two-module quiet zone.
/// Alphanumeric data (an upper-cased bech32 address) makes the smallest code.
pub fn qr_lines(data: &str) -> Option<Vec<Line<'static>>> {
    let code =
        qrcode::QrCode::with_error_correction_level(data.as_bytes(), qrcode::EcLevel::L).ok()?;
    let width = code.width();
    let colors = code.to_colors();
    let quiet = 2;
    let full = width + 2 * quiet;
    let dark = |x: usize, y: usize| -> bool {
        if x < quiet || y < quiet || x >= width + quiet || y >= width + quiet {
            return false;
        }
        colors[(y - quiet) * width + (x - quiet)] == qrcode::Color::Dark
    };
    let style = Style::new().fg(Color::Black).bg(Color::White);
    let mut lines = Vec::with_capacity(full.div_ceil(2));
    let mut y = 0;
    while y < full {
        let row: String = (0..full)
            .map(|x| match (dark(x, y), y + 1 < full && dark(x, y + 1)) {
                (true, true) => '█',
                (true, false) => '▀',
                (false, true) => '▄',
                (false, false) => ' ',
            })
            .collect();
        lines.push(Line::from(Span::styled(row, style)));
        y += 2;
    }
    Some(lines)
}

/// Columns and rows of [`qr_lines`] output.
pub fn qr_size(lines: &[Line<'_>]) -> (u16, u16) {
    let w = lines.first().map(|l| l.width()).unwrap_or(0);
    (
        u16::try_from(w).unwrap_or(u16::MAX),
        u16::try_from(lines.len()).unwrap_or(u16::MAX),
    )
}

/// A bold label style.
pub fn label() -> Style {
    Style::new().add_modifier(Modifier::BOLD)
}

/// Style of a selected table row.
pub fn selected() -> Style {
    Style::new().bg(Color::Blue).fg(Color::White)
}

/// `area` minus a one-cell margin on the left and right when wide enough.
pub fn inset(area: Rect) -> Rect {
    if area.width > 40 {
        Rect {
            x: area.x + 1,
            width: area.width - 2,
            ..area
        }
    } else {
        area
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        assert_eq!(date_time(0), "1970-01-01 00:00");
        assert_eq!(date_time(1_764_090_000_000), "2025-11-25 17:00");
        assert_eq!(hms(1_764_090_061_000), "17:01:01");
    }

    #[test]
    fn notices_expire() {
        let mut timer = NoticeTimer::default();
        let mut notice = Some(Notice::err("amount: bad"));
        timer.expire(&mut notice, 1_000);
        timer.expire(&mut notice, 1_000 + NOTICE_ERR_MS - 1);
        assert!(notice.is_some(), "still shown just before its time");
        timer.expire(&mut notice, 1_000 + NOTICE_ERR_MS);
        assert_eq!(notice, None, "a red message clears");
        // A new message starts its own time.
        notice = Some(Notice::ok("done"));
        timer.expire(&mut notice, 50_000);
        timer.expire(&mut notice, 50_000 + NOTICE_OK_MS - 1);
        assert!(notice.is_some());
        notice = Some(Notice::err("other"));
        timer.expire(&mut notice, 50_000 + NOTICE_OK_MS);
        assert!(notice.is_some(), "replaced: timed from now");
    }

    #[test]
    fn input_shows_the_end_of_long_text() {
        let mut i = Input::default();
        for c in "abcdefghijklmnopqrstuvwxyz".chars() {
            i.push(c);
        }
        let line = i.line("to", false, 24);
        assert_eq!(line.to_string(), "          to: …stuvwxyz");
        assert!(line.width() <= 24);
        // With the cursor moved to the start, the start shows and the cut end is marked.
        i.edit(EditKey::Home, MAX_INPUT_CHARS);
        i.edit(EditKey::Right, MAX_INPUT_CHARS);
        let line = i.line("to", true, 24);
        assert_eq!(line.to_string(), "          to: a▏bcdefgh…");
        assert!(line.width() <= 24);
    }

    #[test]
    fn qr_is_square_in_modules() {
        let lines = qr_lines("DFC1ABC").expect("encodes");
        let (w, h) = qr_size(&lines);
        assert_eq!(usize::from(h), usize::from(w).div_ceil(2));
    }
}
