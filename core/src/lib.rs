//! # dfc-core: the confidential-transaction protocol of dfc
//!
//! Amounts live in Pedersen commitments on Ristretto; every output carries a 64-bit range proof,
//! aggregated per transaction into one Bulletproof; inputs balance outputs through a Schnorr proof
//! over the commitment excess; owners authorise spends with Schnorr signatures. Issuance and
//! redemption move public amounts, so the total supply is public while payment amounts stay hidden,
//! and [`SupplyAudit`] lets anyone holding the ledger check that no money was created.
//!
//! This crate is pure and synchronous: no I/O, no async runtime, no storage.

pub mod address;
pub mod amount;
pub mod api;
pub mod balance;
pub mod batch;
pub mod block;
pub mod builder;
pub mod claim;
pub mod codec;
pub mod compliance;
pub mod cosign;
pub mod error;
pub mod governance;
pub mod history;
pub mod holdings;
pub mod keys;
pub mod ledger;
pub mod light;
pub mod merkle;
pub mod note;
pub mod offline;
pub mod offline_api;
pub mod operator_key;
pub mod params;
pub mod proposal;
pub mod range;
#[cfg(feature = "openapi")]
pub mod schema;
pub mod supply;
#[cfg(test)]
mod test_fixtures;
pub mod time;
pub mod transcript;
pub mod tx;
pub mod validate;

pub use address::Address;
pub use amount::Amount;
pub use balance::BalanceProof;
pub use block::{Block, BlockHeader};
pub use builder::{build, build_with, BuildOptions, Built, Payment, SpendInput};
pub use error::{AmountError, AuditError, BuildError, DecodeError, TxError};
pub use governance::{ApprovedChange, GovernanceError, ParamsChange, ParamsHistory};
pub use holdings::{Effects, Holding};
pub use keys::{PublicKey, Signature, SigningKey, ViewKey, WalletKeys};
pub use ledger::MemoryLedger;
pub use note::{Commitment, Hash32, NoteId, Opening, Output, TxId};
pub use operator_key::{Algorithm, Ed25519Key, OperatorKey};
pub use params::{Limits, NetworkParams, TierLimits};
pub use supply::SupplyAudit;
pub use tx::{IssuerSignature, Transaction, TxKind};
pub use validate::{Account, BatchState, InputNote, LedgerNote, LedgerView, Resolved};
