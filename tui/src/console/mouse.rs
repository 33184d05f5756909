//! The mouse in the console: the wheel moves the selection of the current tab's list, a left
//! click selects the row under it. Each list records where it was drawn ([`ListArea`]) so a
//! click can be mapped to a row without redoing the layout.

use ratatui::crossterm::event::{MouseButton, MouseEvent, MouseEventKind};
use ratatui::layout::Rect;

use super::{Action, Console, Mode};

/// Where a list was drawn, for mouse clicks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ListArea {
    /// The table's area, borders included.
    pub area: Rect,
    /// Its first visible row.
    pub offset: usize,
}

impl Console {
    /// Records where list `i` was drawn (its table's area and first visible row).
    pub(super) fn record_list(&self, i: usize, area: Rect, offset: usize) {
        let mut all = self.list_areas.get();
        if let Some(slot) = all.get_mut(i) {
            *slot = Some(ListArea { area, offset });
        }
        self.list_areas.set(all);
    }

    /// A mouse event: the wheel moves the selection, a left click selects the row under it (in
    /// the list of the current tab, as last drawn).
    pub fn mouse(&mut self, m: MouseEvent) {
        if self.help || self.mode != Mode::Normal {
            return;
        }
        match m.kind {
            MouseEventKind::ScrollUp => self.update(Action::Up),
            MouseEventKind::ScrollDown => self.update(Action::Down),
            MouseEventKind::Down(MouseButton::Left) => {
                let Some(i) = self.list_index() else {
                    return;
                };
                let Some(Some(l)) = self.list_areas.get().get(i).copied() else {
                    return;
                };
                // Border and header rows above the first data row.
                let top = l.area.y.saturating_add(2);
                let inside = m.column > l.area.x
                    && m.column < l.area.x.saturating_add(l.area.width).saturating_sub(1)
                    && m.row >= top
                    && m.row < l.area.y.saturating_add(l.area.height).saturating_sub(1);
                if !inside {
                    return;
                }
                let row = l.offset + usize::from(m.row - top);
                if row < self.list_len(i) {
                    self.sel[i] = row;
                }
            }
            _ => {}
        }
    }
}
