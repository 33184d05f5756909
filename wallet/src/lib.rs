//! # dfc-wallet: keys, notes and payments of a dfc wallet
//!
//! A wallet is a directory holding two files:
//! - `keys.json`: the BIP-39 seed encrypted with a passphrase (argon2id + XChaCha20-Poly1305), see
//!   [`keystore`];
//! - `wallet.db`: SQLite (WAL, `synchronous=FULL`) with the wallet's notes, stored outgoing
//!   transactions, history and sync state; secret values sealed with a key derived from the seed,
//!   see [`store`].
//!
//! [`Wallet`] holds the logic; the `dfc-wallet` binary is a thin CLI over it. Payments are built
//! locally, stored with their inputs reserved before they are sent, and resubmitted unchanged on
//! retry, so a wallet killed mid-payment neither loses nor double-spends money.

pub mod error;
pub mod keystore;
pub mod select;
pub mod store;
pub mod wallet;

pub use error::{Result, WalletError};
pub use keystore::KdfCost;
pub use wallet::{address_of, verify_block, FaultPoint, Wallet, DB_FILE, KEY_FILE};
