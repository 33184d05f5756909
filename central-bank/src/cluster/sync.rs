//! How a handler on a node of a shared ledger waits for its replica to have applied everything
//! PostgreSQL committed before a moment: the driver counts its complete passes over the log, and
//! a pass that began after the moment has applied every entry committed before it.
//!
//! Used where the replica's lag would otherwise give a wrong answer: a payment whose input note
//! was committed (through another node) an instant ago is not refused as spending an unknown
//! note; the node first waits for such a pass, then looks again.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use tokio::sync::Notify;

/// Passes of the log by the driver (nothing on a node of its own).
#[derive(Debug, Default)]
pub struct ReplicaSync {
    enabled: AtomicBool,
    passes: AtomicU64,
    notify: Notify,
}

impl ReplicaSync {
    /// Turned on by the driver of a shared ledger.
    pub(crate) fn enable(&self) {
        self.enabled.store(true, Ordering::SeqCst);
    }

    /// Whether this node's ledger is a replica of a shared one.
    pub fn enabled(&self) -> bool {
        self.enabled.load(Ordering::SeqCst)
    }

    /// Called by the driver after each complete pass over the log.
    pub(crate) fn passed(&self) {
        self.passes.fetch_add(1, Ordering::SeqCst);
        self.notify.notify_waiters();
    }

    /// Waits until the replica holds everything committed before this call (two passes: the
    /// one under way may have read the log before the call), at most `limit`. Returns at once
    /// on a node of its own; false when `limit` passed first.
    pub async fn caught_up(&self, limit: Duration) -> bool {
        if !self.enabled() {
            return true;
        }
        let target = self.passes.load(Ordering::SeqCst) + 2;
        let wait = async {
            loop {
                let notified = self.notify.notified();
                if self.passes.load(Ordering::SeqCst) >= target {
                    return;
                }
                notified.await;
            }
        };
        tokio::time::timeout(limit, wait).await.is_ok()
    }
}
