//! Governance on the node: parameter changes proposed by one operator, approved by k, committed
//! with their approvals, and the parameters in force at each height ([`Rules`]).
//!
//! The rule itself ([`dfc_core::governance`]) lives in core; this module keeps the proposals in
//! their own table ([`store`]), applies operator requests in the sequencer ([`apply`]) and serves
//! the history and the proposals ([`api`]).

pub mod api;
pub mod apply;
pub mod store;

use std::sync::Arc;

use dfc_core::governance::{ApprovedChange, GovernanceError, ParamsHistory};
use dfc_core::{Hash32, NetworkParams};

/// The parameter history and the parameters in force at the next block, kept together so that
/// they never disagree.
#[derive(Clone, Debug)]
pub struct Rules {
    history: Arc<ParamsHistory>,
    next_height: u64,
    current: Arc<NetworkParams>,
    current_hash: Hash32,
}

impl Rules {
    /// The rules of `history` for the block at `next_height`.
    pub fn new(history: ParamsHistory, next_height: u64) -> Self {
        let current = history.at(next_height).clone();
        Rules {
            current_hash: current.hash(),
            current: Arc::new(current),
            history: Arc::new(history),
            next_height,
        }
    }

    /// The whole history.
    pub fn history(&self) -> Arc<ParamsHistory> {
        self.history.clone()
    }

    /// The parameters in force at the next block.
    pub fn current(&self) -> Arc<NetworkParams> {
        self.current.clone()
    }

    /// Their hash.
    pub fn current_hash(&self) -> Hash32 {
        self.current_hash
    }

    /// Moves on to the block at `next_height` (after a block was committed).
    pub fn advance_to(&mut self, next_height: u64) {
        self.next_height = next_height;
        let now = self.history.at(next_height);
        if now.hash() != self.current_hash {
            self.current_hash = now.hash();
            self.current = Arc::new(now.clone());
        }
    }

    /// Adds an approved change (after it was committed to the database).
    pub fn schedule(&mut self, change: ApprovedChange) -> Result<(), GovernanceError> {
        let mut h = (*self.history).clone();
        h.push(change)?;
        *self = Rules::new(h, self.next_height);
        Ok(())
    }
}
