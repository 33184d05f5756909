//! The supply invariant: anyone holding the ledger can check that no money was created or
//! destroyed outside public issuance and redemption.
//!
//! Every transaction's excess is `E = ΣC_out − ΣC_in − (issued − redeemed)·B` (see
//! [`crate::Transaction::excess`]), proven by its balance proof to be a multiple of `B_blinding`
//! alone. Summing over the whole ledger, spent notes cancel and
//! `Σ unspent C = supply·B + Σ E`, which [`SupplyAudit`] checks.

use curve25519_dalek::constants::RISTRETTO_BASEPOINT_POINT;
use curve25519_dalek::ristretto::RistrettoPoint;
use curve25519_dalek::scalar::Scalar;
use curve25519_dalek::traits::Identity;

use crate::amount::Amount;
use crate::error::AuditError;
use crate::note::Commitment;

/// Accumulates unspent commitments and transaction excesses, then checks the invariant.
#[derive(Clone, Debug)]
pub struct SupplyAudit {
    unspent: RistrettoPoint,
    excess: RistrettoPoint,
    unspent_count: u64,
}

impl Default for SupplyAudit {
    fn default() -> Self {
        SupplyAudit {
            unspent: RistrettoPoint::identity(),
            excess: RistrettoPoint::identity(),
            unspent_count: 0,
        }
    }
}

impl SupplyAudit {
    /// An empty audit.
    pub fn new() -> Self {
        Self::default()
    }
    /// Adds an unspent note's commitment.
    pub fn add_unspent(&mut self, c: &Commitment) {
        self.unspent += c.point();
        self.unspent_count += 1;
    }
    /// Adds a transaction's excess.
    pub fn add_excess(&mut self, e: &RistrettoPoint) {
        self.excess += e;
    }
    /// How many unspent notes were added.
    pub fn unspent_count(&self) -> u64 {
        self.unspent_count
    }
    /// Checks `Σ unspent = supply·B + Σ excess`.
    pub fn check(&self, supply: Amount) -> Result<(), AuditError> {
        let expected = Scalar::from(supply.units()) * RISTRETTO_BASEPOINT_POINT + self.excess;
        if expected.compress() == self.unspent.compress() {
            Ok(())
        } else {
            Err(AuditError::SupplyMismatch {
                supply: supply.units(),
            })
        }
    }
}
