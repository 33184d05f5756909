//! The event loop both apps run: one `tokio::select!` over crossterm's event stream, a tick, and
//! messages from background tasks. Drawing happens between events and never waits on the network:
//! network calls run in tasks that report back through the message channel.

use std::time::Duration;

use futures::StreamExt;
use ratatui::crossterm::event::{
    DisableMouseCapture, EnableMouseCapture, Event, EventStream, KeyEvent, KeyEventKind, MouseEvent,
};
use ratatui::{DefaultTerminal, Frame};
use tokio::sync::mpsc;

/// A screen driven by the loop: keys become actions inside `on_key`, background results arrive in
/// `on_msg`, and `draw` renders the state.
pub trait Screen {
    /// What background tasks send.
    type Msg: Send + 'static;
    /// A key was pressed.
    fn on_key(&mut self, key: KeyEvent);
    /// A mouse click or wheel turn (the terminal selects text with Shift held meanwhile).
    fn on_mouse(&mut self, _mouse: MouseEvent) {}
    /// A background task reported.
    fn on_msg(&mut self, msg: Self::Msg);
    /// The tick: time-based state (polling, clocks).
    fn on_tick(&mut self);
    /// Renders the state.
    fn draw(&self, frame: &mut Frame);
    /// Whether to leave the loop.
    fn quit(&self) -> bool;
}

/// Runs `screen` until it asks to quit or the terminal's event stream ends.
pub async fn run<S: Screen>(
    terminal: &mut DefaultTerminal,
    screen: &mut S,
    rx: &mut mpsc::UnboundedReceiver<S::Msg>,
    tick: Duration,
) -> std::io::Result<()> {
    // Mouse reports on for the loop's lifetime; the guard turns them off on every way out.
    let _mouse = MouseCapture::start();
    let mut events = EventStream::new();
    let mut ticker = tokio::time::interval(tick);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    loop {
        terminal.draw(|f| screen.draw(f))?;
        if screen.quit() {
            return Ok(());
        }
        tokio::select! {
            ev = events.next() => match ev {
                Some(Ok(Event::Key(key))) if key.kind == KeyEventKind::Press => screen.on_key(key),
                Some(Ok(Event::Mouse(mouse))) => screen.on_mouse(mouse),
                Some(Ok(_)) => {}
                Some(Err(e)) => return Err(e),
                None => return Ok(()),
            },
            _ = ticker.tick() => screen.on_tick(),
            Some(msg) = rx.recv() => screen.on_msg(msg),
        }
    }
}

/// Mouse capture while the loop runs: turned off when dropped, on return, error or panic.
struct MouseCapture;

impl MouseCapture {
    fn start() -> Self {
        if let Err(e) = ratatui::crossterm::execute!(std::io::stdout(), EnableMouseCapture) {
            tracing::warn!(error = %e, "no mouse: the terminal refused mouse capture");
        }
        MouseCapture
    }
}

impl Drop for MouseCapture {
    fn drop(&mut self) {
        let _ = ratatui::crossterm::execute!(std::io::stdout(), DisableMouseCapture);
    }
}

/// Sets up logging to `path` (never the screen: it would corrupt the display). `RUST_LOG`
/// overrides the `info` default.
pub fn log_to_file(path: &std::path::Path) -> anyhow::Result<()> {
    let file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(|e| anyhow::anyhow!("cannot open the log file {}: {e}", path.display()))?;
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,tower_http=warn".into()),
        )
        .with_ansi(false)
        .with_writer(std::sync::Mutex::new(file))
        .init();
    Ok(())
}
