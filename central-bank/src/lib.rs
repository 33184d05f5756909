//! # dfc-central-bank: the issuer node
//!
//! Holds the ledger in SQLite, serves the `/v1` API, and issues and redeems under k-of-n operator
//! approval.
//!
//! | module | role |
//! |---|---|
//! | [`store`] | SQLite schema, connections, queries |
//! | [`holdings`] | pending notes and account holdings (what claims are proven against) |
//! | [`sequencer`] | the single writer: group commit of blocks, registrations, operator actions |
//! | [`server`] | the axum router, handlers, limits |
//! | [`submit`] | binary (`application/octet-stream`) and batch submission of transfers and claims |
//! | [`admission`] | connection caps and timeouts, per-client rate limit (429), load shedding (503) |
//! | [`wallet_limits`] | per-wallet-key rate limit on submissions (429), charged after the payer's signature |
//! | [`network_pin`] | refuses a request pinned to another network's genesis (`wrong_network`) |
//! | [`lock`] | the exclusive lock file: one writer per ledger |
//! | [`audit`] | replay verification from genesis (startup check and `dfc-bank audit`) |
//! | [`assess`] | the `dfc-bank assess` scorecard: checks of a ledger or node against the threat model |
//! | [`datadir`] | `init`, key files, parameters |
//! | [`opseq`] | the last sequence number accepted from each operator (ordered commands) |
//! | [`ops`] | signed operator requests: re-exported from `dfc-client`, which signs them |
//! | [`offline`] | purse certificates, checkpoint proofs, settlement, double-spend evidence |
//! | [`client`] | the async client of the API: re-exported from `dfc-client` |
//! | [`controls`] | the registry rule (purse = its wallet, freezes, tiers) at approval and commit |
//! | [`proposals`] | disclosed outputs, proposer and expiry of proposals; their audit detail |

pub mod admission;
pub mod assess;
pub mod audit;
pub mod client;
pub mod controls;
pub mod datadir;
pub mod error;
pub mod governance;
pub mod holdings;
pub mod lock;
pub mod network_pin;
pub mod offline;
pub mod openapi;
pub mod ops;
pub mod opseq;
pub mod proposals;
pub mod registry;
pub mod regulator;
pub mod sequencer;
pub mod server;
pub mod store;
pub mod submit;
pub mod summary;
pub mod verifier;
pub mod wallet_limits;

pub use server::{app, start, AppState};
