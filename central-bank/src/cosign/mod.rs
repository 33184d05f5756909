//! Operator co-signed checkpoints on the node: operators sign points of the chain (network,
//! genesis, height, block hash; [`dfc_core::cosign`]), the node keeps every valid signature
//! ([`store`]) and serves them ([`api`]); `dfc-bank audit` checks every stored checkpoint against
//! the chain it audits ([`crate::audit`]).
//!
//! The node accepts a signature only if it verifies under the issuer keys in force at the
//! point's height and the point is a block of its own chain; k such signatures make the point
//! co-signed (anchored). Nothing the node key signs can make a co-signed point name another block:
//! a chain rewritten below it and re-signed with the node key alone fails the audit there.

pub mod api;
pub mod store;
