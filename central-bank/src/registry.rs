//! Registry changes made against a known version of a wallet's record.
//!
//! Each wallet's registry record carries a version ([`WalletInfo::registry_version`]): 0 at
//! registration, one more at every freeze, unfreeze and tier change. An operator decides on the
//! record it was shown, and its request names that version; the sequencer, which applies registry
//! changes one at a time, refuses a change whose version is not the record's current one
//! (`stale_registry`, 409). So a decision made on a record that has moved since (another
//! operator froze the wallet, a held-back request arrived late) is never applied blindly: the
//! operator sees the new record and decides again. Per-operator sequence numbers
//! ([`crate::opseq`]) order one operator's requests; the version orders every operator's changes
//! to one wallet.
//!
//! The reason of the freeze in force is kept with the record ([`WalletInfo::freeze_reason`]).
//!
//! [`WalletInfo::registry_version`]: dfc_core::api::WalletInfo::registry_version
//! [`WalletInfo::freeze_reason`]: dfc_core::api::WalletInfo::freeze_reason

use dfc_core::PublicKey;
use rusqlite::{params, Connection, OptionalExtension};

use crate::controls::Checked;
use crate::error::{ApiErr, StoreError};

/// Schema of the registry versions (a migration of [`crate::store::migrations`]).
pub const SCHEMA: &str = "
ALTER TABLE wallets ADD COLUMN registry_version INTEGER NOT NULL DEFAULT 0;
ALTER TABLE wallets ADD COLUMN freeze_reason TEXT;
";

/// Refuses a change to `wallet` made against `expected` unless that is the record's version:
/// `unknown_wallet` (404) if it is not registered, `stale_registry` (409) if it has moved.
pub fn check_version(conn: &Connection, wallet: &PublicKey, expected: u64) -> Checked {
    let current: Option<i64> = conn
        .prepare_cached("SELECT registry_version FROM wallets WHERE spend_key = ?1")?
        .query_row([&wallet.to_bytes()[..]], |r| r.get(0))
        .optional()?;
    let Some(current) = current else {
        return Ok(Err(ApiErr::not_found(
            "unknown_wallet",
            format!(
                "wallet {} is not registered",
                hex::encode(wallet.to_bytes())
            ),
        )));
    };
    let current = u64::try_from(current)
        .map_err(|_| StoreError::corrupt("wallets", "negative registry version"))?;
    if current != expected {
        return Ok(Err(ApiErr::conflict(
            "stale_registry",
            format!(
                "wallet {}'s registry record is at version {current}, not {expected}: it changed \
                 after this decision was made; read it again and decide on what it says now",
                hex::encode(wallet.to_bytes())
            ),
        )));
    }
    Ok(Ok(()))
}

/// Freezes (with `reason`) or unfreezes a wallet and moves its record to the next version.
/// Returns false when the wallet is not registered.
pub fn set_frozen(
    conn: &Connection,
    wallet: &PublicKey,
    frozen: bool,
    reason: &str,
) -> Result<bool, StoreError> {
    let reason = frozen.then_some(reason);
    let n = conn
        .prepare_cached(
            "UPDATE wallets SET frozen = ?2, freeze_reason = ?3, \
             registry_version = registry_version + 1 WHERE spend_key = ?1",
        )?
        .execute(params![&wallet.to_bytes()[..], frozen, reason])?;
    Ok(n == 1)
}

/// Sets a wallet's tier and moves its record to the next version. Returns false when the wallet
/// is not registered.
pub fn set_tier(conn: &Connection, wallet: &PublicKey, tier: u8) -> Result<bool, StoreError> {
    let n = conn
        .prepare_cached(
            "UPDATE wallets SET tier = ?2, registry_version = registry_version + 1 \
             WHERE spend_key = ?1",
        )?
        .execute(params![&wallet.to_bytes()[..], i64::from(tier)])?;
    Ok(n == 1)
}
