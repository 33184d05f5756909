//! The dashboard's payment rate: payments per second from the blocks' transfer counts.

use std::collections::VecDeque;

use super::{BlockRow, RATE_BUCKET_MS};

/// Payments per second over the last `buckets` seconds ending at `now_ms`, oldest first, from
/// the blocks' transfer counts and times.
pub fn payment_rate(blocks: &VecDeque<BlockRow>, now_ms: u64, buckets: usize) -> Vec<u64> {
    let mut out = vec![0u64; buckets];
    let span = RATE_BUCKET_MS * buckets as u64;
    let start = now_ms.saturating_sub(span);
    for b in blocks.iter().rev() {
        if b.time_ms < start {
            break;
        }
        if b.time_ms >= now_ms {
            if let Some(last) = out.last_mut() {
                *last += b.transfers();
            }
            continue;
        }
        let i = usize::try_from((b.time_ms - start) / RATE_BUCKET_MS).unwrap_or(0);
        if let Some(slot) = out.get_mut(i.min(buckets.saturating_sub(1))) {
            *slot += b.transfers();
        }
    }
    out
}
