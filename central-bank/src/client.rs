//! The client of the API is the `dfc-client` crate (one client for the wallet, the terminal apps,
//! the simulator and this crate's commands); re-exported here for the node's own callers.

pub use dfc_client::http::*;
