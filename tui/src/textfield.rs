//! Editing of single-line text fields, shared by the console and the wallet app.
//!
//! Terminal users expect readline's keys in any text field: Ctrl-A / Ctrl-E (start / end),
//! Ctrl-U (delete to the start), Ctrl-K (delete to the end), Ctrl-W (delete the word before the
//! cursor), Left / Right, Home / End, Backspace and Delete. Without this, Ctrl-U typed a `u`. The
//! keys are decoded once here ([`EditKey::from_key`]) and applied by [`crate::ui::Input::edit`],
//! so both apps behave the same and the rules are tested in one place.

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

/// An editing operation on a text field.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EditKey {
    /// Insert a character at the cursor.
    Insert(char),
    /// Delete the character before the cursor.
    Backspace,
    /// Delete the character under the cursor.
    Delete,
    /// Move one character left.
    Left,
    /// Move one character right.
    Right,
    /// Move to the start (Home, Ctrl-A).
    Home,
    /// Move to the end (End, Ctrl-E).
    End,
    /// Delete from the start to the cursor (Ctrl-U).
    KillToStart,
    /// Delete from the cursor to the end (Ctrl-K).
    KillToEnd,
    /// Delete the word before the cursor and the spaces after it (Ctrl-W).
    KillWordBack,
}

impl EditKey {
    /// The editing operation a key asks for, or `None` for keys that do not edit (Enter, Esc,
    /// Tab, Up/Down, and control chords without a meaning here, which must not type letters).
    pub fn from_key(key: KeyEvent) -> Option<EditKey> {
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        let alt = key.modifiers.contains(KeyModifiers::ALT);
        match key.code {
            KeyCode::Char(c) if ctrl => match c.to_ascii_lowercase() {
                'a' => Some(EditKey::Home),
                'e' => Some(EditKey::End),
                'u' => Some(EditKey::KillToStart),
                'k' => Some(EditKey::KillToEnd),
                'w' => Some(EditKey::KillWordBack),
                'h' => Some(EditKey::Backspace),
                'b' => Some(EditKey::Left),
                'f' => Some(EditKey::Right),
                'd' => Some(EditKey::Delete),
                _ => None,
            },
            KeyCode::Char(_) if alt => None,
            KeyCode::Char(c) => Some(EditKey::Insert(c)),
            KeyCode::Backspace if ctrl || alt => Some(EditKey::KillWordBack),
            KeyCode::Backspace => Some(EditKey::Backspace),
            KeyCode::Delete => Some(EditKey::Delete),
            KeyCode::Left => Some(EditKey::Left),
            KeyCode::Right => Some(EditKey::Right),
            KeyCode::Home => Some(EditKey::Home),
            KeyCode::End => Some(EditKey::End),
            _ => None,
        }
    }
}

/// Applies `op` to `text` whose cursor sits `back` characters before its end; returns the new
/// `back`. Characters past `max` are not inserted; control characters never are.
pub fn apply(text: &mut String, back: usize, op: EditKey, max: usize) -> usize {
    let mut chars: Vec<char> = text.chars().collect();
    let len = chars.len();
    let mut at = len - back.min(len);
    match op {
        EditKey::Insert(c) => {
            if len < max && !c.is_control() {
                chars.insert(at, c);
                at += 1;
            }
        }
        EditKey::Backspace => {
            if at > 0 {
                chars.remove(at - 1);
                at -= 1;
            }
        }
        EditKey::Delete => {
            if at < len {
                chars.remove(at);
            }
        }
        EditKey::Left => at = at.saturating_sub(1),
        EditKey::Right => at = (at + 1).min(len),
        EditKey::Home => at = 0,
        EditKey::End => at = len,
        EditKey::KillToStart => {
            chars.drain(..at);
            at = 0;
        }
        EditKey::KillToEnd => {
            chars.truncate(at);
        }
        EditKey::KillWordBack => {
            let mut start = at;
            while start > 0 && chars[start - 1].is_whitespace() {
                start -= 1;
            }
            while start > 0 && !chars[start - 1].is_whitespace() {
                start -= 1;
            }
            chars.drain(start..at);
            at = start;
        }
    }
    *text = chars.iter().collect();
    chars.len() - at
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(code: KeyCode, modifiers: KeyModifiers) -> KeyEvent {
        KeyEvent::new(code, modifiers)
    }

    /// Types `keys` into an empty field; returns the text and the cursor's index.
    fn run(keys: &[EditKey]) -> (String, usize) {
        let mut text = String::new();
        let mut back = 0;
        for k in keys {
            back = apply(&mut text, back, *k, 200);
        }
        let at = text.chars().count() - back;
        (text, at)
    }

    fn typed(s: &str) -> Vec<EditKey> {
        s.chars().map(EditKey::Insert).collect()
    }

    #[test]
    fn control_chords_edit_instead_of_typing() {
        let ctrl = |c| EditKey::from_key(key(KeyCode::Char(c), KeyModifiers::CONTROL));
        assert_eq!(ctrl('a'), Some(EditKey::Home));
        assert_eq!(ctrl('e'), Some(EditKey::End));
        assert_eq!(ctrl('u'), Some(EditKey::KillToStart));
        assert_eq!(ctrl('w'), Some(EditKey::KillWordBack));
        assert_eq!(ctrl('k'), Some(EditKey::KillToEnd));
        assert_eq!(ctrl('x'), None, "unknown chords do nothing, never type");
        assert_eq!(
            EditKey::from_key(key(KeyCode::Char('u'), KeyModifiers::NONE)),
            Some(EditKey::Insert('u'))
        );
        assert_eq!(
            EditKey::from_key(key(KeyCode::Char('U'), KeyModifiers::SHIFT)),
            Some(EditKey::Insert('U'))
        );
        assert_eq!(
            EditKey::from_key(key(KeyCode::Left, KeyModifiers::NONE)),
            Some(EditKey::Left)
        );
        assert_eq!(
            EditKey::from_key(key(KeyCode::Enter, KeyModifiers::NONE)),
            None
        );
    }

    #[test]
    fn readline_editing() {
        let mut k = typed("12.50");
        k.extend([EditKey::Home, EditKey::Insert('1'), EditKey::Insert(',')]);
        assert_eq!(run(&k), ("1,12.50".into(), 2));
        k.push(EditKey::End);
        k.push(EditKey::Backspace);
        assert_eq!(run(&k), ("1,12.5".into(), 6));
        k.extend([EditKey::Left, EditKey::Left, EditKey::KillToStart]);
        assert_eq!(run(&k), (".5".into(), 0));
        k.extend([EditKey::Right, EditKey::KillToEnd]);
        assert_eq!(run(&k), (".".into(), 1));

        let mut k = typed("freeze for  fraud ");
        k.push(EditKey::KillWordBack);
        assert_eq!(run(&k), ("freeze for  ".into(), 12));
        k.push(EditKey::KillWordBack);
        assert_eq!(run(&k), ("freeze ".into(), 7));
        k.extend([EditKey::Left, EditKey::Left, EditKey::KillWordBack]);
        assert_eq!(run(&k), ("e ".into(), 0));
        k.extend([EditKey::Delete, EditKey::Right]);
        assert_eq!(run(&k), (" ".into(), 1));
    }

    #[test]
    fn edits_at_the_bounds_are_harmless() {
        let k = [
            EditKey::Backspace,
            EditKey::Delete,
            EditKey::Left,
            EditKey::KillWordBack,
            EditKey::KillToStart,
            EditKey::Right,
        ];
        assert_eq!(run(&k), (String::new(), 0));
        let mut text = "ab".to_string();
        assert_eq!(apply(&mut text, 0, EditKey::Insert('c'), 2), 0);
        assert_eq!(text, "ab", "nothing past the limit");
        // A cursor beyond the text (the text was replaced) counts from the start.
        assert_eq!(apply(&mut text, 9, EditKey::Insert('x'), 10), 2);
        assert_eq!(text, "xab");
    }
}
