//! Per-wallet-key rate limit on submissions (transfers, claims, offline settlements), beside the
//! per-client-address limit of [`crate::admission`]: a wallet that floods the node from many
//! addresses is still held to its own rate (`429 rate_limited` with `Retry-After`).
//!
//! # Whose budget a submission spends
//! A submission is charged to the wallet that **authorised** it: the registered wallet of its
//! first input's owner (for a claim, the claimant), and only after that owner's signature over
//! the transaction id has verified (one signature, tens of µs, before any proof is queued).
//! Charging the wallet named by unverified input ids would let anyone who knows a victim's
//! unspent note ids exhaust the victim's budget with forged submissions; here a forgery is
//! refused with `bad_owner_signature` before it reaches the limiter or the proof verifier, and the
//! per-address limit bounds how fast it can be tried.
//!
//! Since a purse key counts as its wallet, a wallet cannot widen its budget by spending through
//! its offline purse; a payer that registers many wallets gets one budget each, like an attacker
//! with many addresses: both are bounded by registration, which the operators control.

use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::http::StatusCode;
use dfc_core::PublicKey;
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota};

use crate::admission::AdmissionError;
use crate::error::ApiErr;

/// Default submissions per second per wallet: far above what a person pays, below what one
/// wallet could make the node verify.
pub const DEFAULT_WALLET_RATE: u32 = 50;
/// Default burst per wallet above the rate.
pub const DEFAULT_WALLET_BURST: u32 = 200;

/// Every this many charges, the buckets of wallets back to full are dropped.
const SWEEP_EVERY: u64 = 65_536;

/// The per-wallet token buckets.
pub struct WalletLimiter {
    limiter: Option<DefaultKeyedRateLimiter<[u8; 32]>>,
    rate: u32,
    burst: u32,
    limited: AtomicU64,
    charges: AtomicU64,
}

impl WalletLimiter {
    /// `rate` submissions per second per wallet with bursts of `burst` (at least `rate`); a
    /// `rate` of 0 turns the limit off.
    pub fn new(rate: u32, burst: u32) -> Result<WalletLimiter, AdmissionError> {
        let burst = burst.max(rate);
        let limiter = match NonZeroU32::new(rate) {
            None => None,
            Some(r) => {
                let b =
                    NonZeroU32::new(burst).ok_or(AdmissionError::Zero("--wallet-rate-burst"))?;
                Some(DefaultKeyedRateLimiter::keyed(
                    Quota::per_second(r).allow_burst(b),
                ))
            }
        };
        Ok(WalletLimiter {
            limiter,
            rate,
            burst,
            limited: AtomicU64::new(0),
            charges: AtomicU64::new(0),
        })
    }

    /// No limit.
    pub fn off() -> WalletLimiter {
        WalletLimiter {
            limiter: None,
            rate: 0,
            burst: 0,
            limited: AtomicU64::new(0),
            charges: AtomicU64::new(0),
        }
    }

    /// Spends one of `wallet`'s tokens, or refuses with `429 rate_limited` (the response gets
    /// `Retry-After` from [`ApiErr`]'s rendering of 429).
    pub fn charge(&self, wallet: &PublicKey) -> Result<(), ApiErr> {
        let Some(limiter) = &self.limiter else {
            return Ok(());
        };
        if self.charges.fetch_add(1, Ordering::Relaxed) % SWEEP_EVERY == SWEEP_EVERY - 1 {
            self.forget_idle();
        }
        match limiter.check_key(&wallet.to_bytes()) {
            Ok(()) => Ok(()),
            Err(not_until) => {
                self.limited.fetch_add(1, Ordering::Relaxed);
                let wait = not_until.wait_time_from(DefaultClock::default().now());
                let secs = (wait.as_secs() + u64::from(wait.subsec_nanos() > 0)).max(1);
                Err(ApiErr::new(
                    StatusCode::TOO_MANY_REQUESTS,
                    "rate_limited",
                    format!(
                        "too many submissions from wallet {}: at most {} per second (burst {}); \
                         retry in {secs} s",
                        hex::encode(wallet.to_bytes()),
                        self.rate,
                        self.burst
                    ),
                ))
            }
        }
    }

    /// Submissions refused so far.
    pub fn limited(&self) -> u64 {
        self.limited.load(Ordering::Relaxed)
    }

    /// Drops the buckets of wallets that are back to full (every [`SWEEP_EVERY`] charges), so
    /// the table does not grow with every wallet ever seen.
    pub fn forget_idle(&self) {
        if let Some(l) = &self.limiter {
            l.retain_recent();
            l.shrink_to_fit();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(seed: u8) -> PublicKey {
        dfc_core::SigningKey::from_seed(&[seed; 32]).public()
    }

    #[test]
    fn each_wallet_has_its_own_budget() {
        let l = WalletLimiter::new(1, 3).expect("valid limits");
        let (a, b) = (key(1), key(2));
        for _ in 0..3 {
            assert!(l.charge(&a).is_ok());
        }
        let err = l.charge(&a).expect_err("a's burst is spent");
        assert_eq!(err.status, StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(err.code, "rate_limited");
        // Another wallet is not affected.
        assert!(l.charge(&b).is_ok());
        assert_eq!(l.limited(), 1);
    }

    #[test]
    fn zero_rate_is_off() {
        let l = WalletLimiter::new(0, 0).expect("off");
        for _ in 0..1000 {
            assert!(l.charge(&key(1)).is_ok());
        }
        assert_eq!(l.limited(), 0);
    }
}
