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
//! | [`mem_index`] | the sequencer's in-memory registry records and holdings between blocks |
//! | [`server`] | the axum router, handlers, limits |
//! | [`submit`] | binary (`application/octet-stream`) and batch submission of transfers and claims |
//! | [`admission`] | connection caps and timeouts, per-client rate limit (429), load shedding (503) |
//! | [`wallet_limits`] | per-wallet-key rate limit on submissions (429), charged after the payer's signature |
//! | [`node_keys`] | the node keys held across node-key rotations; the key of each height |
//! | [`network_pin`] | refuses a request pinned to another network's genesis (`wrong_network`) |
//! | [`tls`] | TLS of the node: certificate loading, self-signed sandbox pairs, plain HTTP on loopback only |
//! | [`lock`] | the exclusive lock file: one writer per ledger |
//! | [`audit`] | replay verification from genesis (startup check and `dfc-bank audit`) |
//! | [`assess`] | the `dfc-bank assess` scorecard: checks of a ledger or node against the threat model |
//! | [`datadir`] | `init`, key files, parameters |
//! | [`opseq`] | the last sequence number accepted from each operator (ordered commands) |
//! | [`ops`] | signed operator requests: re-exported from `dfc-client`, which signs them |
//! | [`offline`] | purse certificates, checkpoint proofs, settlement, double-spend evidence |
//! | [`client`] | the async client of the API: re-exported from `dfc-client` |
//! | [`controls`] | the registry rule (purse = its wallet, freezes, tiers) at approval and commit |
//! | [`light`] | the owner index behind light sync and its queries |
//! | [`light_api`] | `/v1/light/*`: filtered, signed, provable answers for light wallets |
//! | [`remote_audit`] | the supply audit of a remote node with an auditor key |
//! | [`reads`] | signed read credentials and who may read what |
//! | [`cosign`] | operator co-signed checkpoints: stored, served, checked by the audit |
//! | [`proposals`] | disclosed outputs, proposer and expiry of proposals; their audit detail |

pub mod admission;
pub mod assess;
pub mod audit;
pub mod client;
pub mod cluster;
pub mod controls;
pub mod cosign;
pub mod datadir;
pub mod error;
pub mod governance;
pub mod history;
pub mod holdings;
pub mod light;
pub mod light_api;
pub mod lock;
pub mod mem_index;
pub mod network_pin;
pub mod node_keys;
pub mod offline;
pub mod openapi;
pub mod ops;
pub mod opseq;
pub mod proposals;
pub mod reads;
pub mod registry;
pub mod regulator;
pub mod remote_audit;
pub mod sequencer;
pub mod server;
pub mod store;
pub mod submit;
pub mod summary;
pub mod table_check;
pub mod tls;
pub mod verifier;
pub mod wallet_limits;

pub use server::{app, start, AppState};
