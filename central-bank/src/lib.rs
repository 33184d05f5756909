//! # dfc-central-bank: the issuer node
//!
//! Holds the ledger in SQLite, serves the `/v1` API, and issues and redeems under k-of-n operator
//! approval.

pub mod client;
