//! The one transcript protocol of dfc: every hash, challenge and signed message is derived from a
//! `merlin` transcript with versioned domain labels, never from serde output.
//!
//! The labels carry a version (`/v1`) so that a future format cannot be confused with this one, and
//! point appends refuse the identity (the bulletproofs crate's habit).

use curve25519_dalek::ristretto::CompressedRistretto;
use curve25519_dalek::scalar::Scalar;
use merlin::Transcript;

/// Domain label of transaction bodies (version 3: binds the genesis hash).
pub const TX_DOMAIN: &[u8] = b"dfc/tx/v3";
/// Domain label of the id of a transaction with a flow section.
pub const TX_FLOWS_DOMAIN: &[u8] = b"dfc/tx-flows/v3";
/// Domain label of the aggregated range proof of a transaction.
pub const RANGE_DOMAIN: &[u8] = b"dfc/range/v3";
/// Domain label of the balance (excess) proof.
pub const BALANCE_DOMAIN: &[u8] = b"dfc/balance/v1";
/// Signing context of owner and issuer authorisations.
pub const AUTH_CONTEXT: &[u8] = b"dfc/tx-auth/v1";
/// Domain label of block headers.
pub const BLOCK_DOMAIN: &[u8] = b"dfc/block/v1";
/// Domain label of a block's transaction root.
pub const TX_ROOT_DOMAIN: &[u8] = b"dfc/tx-root/v1";
/// Domain label of the hash of a whole encoded transaction (with its proofs and signatures).
pub const WTXID_DOMAIN: &[u8] = b"dfc/wtxid/v1";
/// Domain label of note identifiers.
pub const NOTE_ID_DOMAIN: &[u8] = b"dfc/note-id/v1";
/// Domain label of network parameters.
pub const PARAMS_DOMAIN: &[u8] = b"dfc/params/v1";

/// dfc's extension of `merlin::Transcript`.
pub trait TranscriptProtocol {
    /// Appends a u64 under `label`.
    fn append_u64_le(&mut self, label: &'static [u8], v: u64);
    /// Appends a point; callers only pass points already checked to be non-identity.
    fn append_point(&mut self, label: &'static [u8], p: &CompressedRistretto);
    /// Derives a 32-byte hash output.
    fn challenge_bytes32(&mut self, label: &'static [u8]) -> [u8; 32];
    /// Derives a challenge scalar.
    fn challenge_scalar(&mut self, label: &'static [u8]) -> Scalar;
}

impl TranscriptProtocol for Transcript {
    fn append_u64_le(&mut self, label: &'static [u8], v: u64) {
        self.append_message(label, &v.to_le_bytes());
    }
    fn append_point(&mut self, label: &'static [u8], p: &CompressedRistretto) {
        self.append_message(label, p.as_bytes());
    }
    fn challenge_bytes32(&mut self, label: &'static [u8]) -> [u8; 32] {
        let mut out = [0u8; 32];
        Transcript::challenge_bytes(self, label, &mut out);
        out
    }
    fn challenge_scalar(&mut self, label: &'static [u8]) -> Scalar {
        let mut wide = [0u8; 64];
        Transcript::challenge_bytes(self, label, &mut wide);
        Scalar::from_bytes_mod_order_wide(&wide)
    }
}

/// Hashes labelled byte strings under a domain: a convenience for ids and roots.
pub fn hash32(domain: &'static [u8], parts: &[(&'static [u8], &[u8])]) -> [u8; 32] {
    let mut t = Transcript::new(domain);
    for (label, bytes) in parts {
        t.append_message(label, bytes);
    }
    t.challenge_bytes32(b"hash")
}
