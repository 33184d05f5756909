//! The console's audit in the background: its progress (the audit library's [`Progress`]),
//! its ETA, and cancellation with a key, the rest of the console staying usable meanwhile.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use dfc_central_bank::audit::Progress;

use super::{Command, Console};
use crate::ui::Notice;

/// Progress of one audit run, shared by the console (which draws it and may cancel it) and the
/// verification threads (which advance it and check for cancellation before each block).
#[derive(Debug, Default)]
pub struct AuditProgress {
    total: AtomicU64,
    done: AtomicU64,
    started: AtomicBool,
    cancelled: AtomicBool,
    /// When the run began, ms since the epoch (the console's clock).
    pub started_ms: u64,
}

impl AuditProgress {
    /// A run that began at `started_ms`.
    pub fn new(started_ms: u64) -> Self {
        AuditProgress {
            started_ms,
            ..AuditProgress::default()
        }
    }

    /// Asks the run to stop before its next block.
    pub fn cancel(&self) {
        self.cancelled.store(true, Ordering::Relaxed);
    }

    /// `(done, total)` transactions, once the replay has started.
    pub fn counts(&self) -> Option<(u64, u64)> {
        self.started.load(Ordering::Relaxed).then(|| {
            (
                self.done.load(Ordering::Relaxed),
                self.total.load(Ordering::Relaxed),
            )
        })
    }

    /// Whether cancellation was asked for.
    pub fn is_cancelled(&self) -> bool {
        self.cancelled.load(Ordering::Relaxed)
    }

    /// Time left at `now_ms`, from the rate so far (`None` before the first transaction).
    pub fn eta_ms(&self, now_ms: u64) -> Option<u64> {
        let (done, total) = self.counts()?;
        if done == 0 {
            return None;
        }
        let elapsed = now_ms.saturating_sub(self.started_ms);
        let left = total.saturating_sub(done);
        Some(elapsed.saturating_mul(left) / done)
    }
}

impl Progress for AuditProgress {
    fn start(&self, total_txs: u64) {
        self.total.store(total_txs, Ordering::Relaxed);
        self.started.store(true, Ordering::Relaxed);
    }
    fn advance(&self, txs: u64) {
        self.done.fetch_add(txs, Ordering::Relaxed);
    }
    fn cancelled(&self) -> bool {
        self.is_cancelled()
    }
}

impl Console {
    /// Starts an audit in the background unless one is running; `announce` puts it on the
    /// notice line.
    pub(super) fn start_audit(&mut self, announce: bool) {
        if self.audit_progress.is_some() && self.auditing {
            return;
        }
        let progress = Arc::new(AuditProgress::new(self.now_ms));
        self.audit_progress = Some(progress.clone());
        self.auditing = true;
        let cmd = Command::Audit(progress);
        if announce {
            self.send(cmd, "running the audit (x cancels)".into());
        } else if let Some(tx) = &self.commands {
            if tx.send(cmd).is_err() {
                self.notice = Some(Notice::err("the background tasks stopped"));
            }
        }
    }

    /// Cancels the running audit: the last result stays on screen.
    pub(super) fn cancel_audit(&mut self) {
        match (&self.audit_progress, self.auditing) {
            (Some(p), true) => {
                p.cancel();
                self.notice = Some(Notice::ok("cancelling the audit…"));
            }
            _ => self.notice = Some(Notice::err("no audit is running")),
        }
    }
}
