//! A terminal app driven as a person at a terminal would: its own tmux server (private socket),
//! keys sent with `send-keys`, the screen read back with `capture-pane`. Used by the TUI suite and
//! by the hardware-token suite's console test.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use anyhow::{bail, ensure, Context, Result};

/// A guard against a hung app, not a performance assertion.
pub const DEADLINE: Duration = Duration::from_secs(180);

/// A tmux server of its own (private socket) running one app in a 120x40 window.
pub struct Tmux {
    socket: PathBuf,
    session: String,
}

impl Tmux {
    fn tmux(&self, args: &[&str]) -> Result<Output> {
        Command::new("tmux")
            .arg("-S")
            .arg(&self.socket)
            .args(args)
            .output()
            .context("running tmux")
    }

    /// Starts `cmd` (a shell command line) in a new session; the pane stays after the app exits
    /// and shows its exit status.
    pub fn start(socket: &Path, session: &str, cmd: &str) -> Result<Tmux> {
        let t = Tmux {
            socket: socket.to_path_buf(),
            session: session.to_string(),
        };
        let line = format!("{cmd}; echo \"EXITED $?\"; sleep 3600");
        // A session started just after the last one on this socket was killed can meet the
        // old tmux server on its way out ("server exited unexpectedly"): start it again then.
        let mut out = None;
        for _ in 0..10 {
            let o = t.tmux(&[
                "new-session",
                "-d",
                "-s",
                session,
                "-x",
                "120",
                "-y",
                "40",
                &line,
            ])?;
            let retry = !o.status.success()
                && String::from_utf8_lossy(&o.stderr).contains("server exited unexpectedly");
            out = Some(o);
            if !retry {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(200));
        }
        let out = out.context("tmux new-session ran")?;
        ensure!(out.status.success(), "tmux new-session: {out:?}");
        Ok(t)
    }

    /// The visible screen, as text.
    pub fn screen(&self) -> Result<String> {
        let out = self.tmux(&["capture-pane", "-p", "-t", &self.session])?;
        ensure!(out.status.success(), "tmux capture-pane: {out:?}");
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// Types `text` literally.
    pub fn type_text(&self, text: &str) -> Result<()> {
        let out = self.tmux(&["send-keys", "-t", &self.session, "-l", text])?;
        ensure!(out.status.success(), "tmux send-keys: {out:?}");
        Ok(())
    }

    /// Sends a key by tmux name (`Enter`, `Escape`, ...).
    pub fn key(&self, key: &str) -> Result<()> {
        let out = self.tmux(&["send-keys", "-t", &self.session, key])?;
        ensure!(out.status.success(), "tmux send-keys: {out:?}");
        Ok(())
    }

    /// Polls the screen until `pred` holds; fails with the screen after [`DEADLINE`].
    pub fn wait_for(&self, what: &str, pred: impl Fn(&str) -> bool) -> Result<String> {
        let start = Instant::now();
        loop {
            let s = self.screen()?;
            if pred(&s) {
                tracing::info!(what, "seen on screen");
                return Ok(s);
            }
            if start.elapsed() > DEADLINE {
                bail!("waited for {what}; the screen shows:\n{s}");
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Polls the screen until it holds `text`.
    pub fn wait_text(&self, text: &str) -> Result<String> {
        self.wait_for(text, |s| s.contains(text))
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.tmux(&["kill-server"]);
    }
}

/// `p` quoted for a POSIX shell command line.
pub fn shell_quote(p: &Path) -> String {
    format!("'{}'", p.display().to_string().replace('\'', "'\\''"))
}

/// Whether tmux is installed (the suites that need it say so and skip without it; `.ci/run`
/// installs it).
pub fn available() -> bool {
    Command::new("tmux").arg("-V").output().is_ok()
}
