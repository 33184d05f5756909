//! # dfc-client: a client of the dfc node's `/v1` API
//!
//! What a wallet, a terminal app, a load generator or an operator's command line needs to talk
//! to a node, without linking the node itself (its SQLite store, axum server and sequencer).
//!
//! | module | role |
//! |---|---|
//! | [`endpoint`] | the node's URL kept in its data directory (`node-url`), for `--sandbox DIR` / `--data DIR` |
//! | [`http`] | [`BankClient`]: one async method per endpoint; errors keep the node's `code` |
//! | [`keyfile`] | reading operator key files (`operator-N.key`) |
//! | [`tls`] | [`TlsPin`]: the node certificate or CA a client trusts, and nothing else |
//! | [`operator`] | [`Operator`]: signing operator requests (domain `dfc/operator/v2`, sequence numbers) |
//!
//! The wire types are `dfc-core`'s, re-exported here ([`api`], [`offline_api`]) so a client
//! needs no second dependency to name a request or a response.

pub mod endpoint;
pub mod http;
pub mod keyfile;
pub mod operator;
pub mod tls;

pub use dfc_core::{api, offline_api};
pub use dfc_keys::{DynSigner, Signer, SignerError};
pub use http::{base_url_of, BankClient, ClientError};
pub use operator::{next_sequence, Operator, ProposeError};
pub use tls::TlsPin;

/// Milliseconds since the Unix epoch by this machine's clock (0 before 1970).
pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}
