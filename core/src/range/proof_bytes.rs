//! A range proof's bytes, with the points its decoding decompressed kept beside them.
//!
//! Decoding a transaction decompresses every point of its range proof (to refuse a non-canonical
//! encoding before any proof is verified), and the batch verifier needs those points as points.
//! Keeping them saves decompressing about twenty points a second time per transaction (each an
//! inverse square root). The wire format is the bytes alone; the points are never encoded.
//!
//! # Why the kept points always match the bytes
//! Points are kept only by [`Transaction::decode`](crate::Transaction::decode), from exactly the
//! bytes it stores, after every point decoded. Every way of changing the bytes (`DerefMut`, a new
//! value from [`From<Vec<u8>>`]) drops them, so bytes changed after decoding (a test that flips a
//! byte, the builder that writes the proof) are decompressed again by the verifier, as if they
//! had never been decoded.

use std::ops::{Deref, DerefMut};
use std::sync::Arc;

use curve25519_dalek::ristretto::RistrettoPoint;

/// A range proof's encoding and, when it was decoded, its points in encoding order: `A`, `S`,
/// `T1`, `T2`, then `L_i`, `R_i` for each inner-product round. Equality, hashing of the
/// transaction and `Debug` see the bytes only.
#[derive(Clone, Default)]
pub struct RangeProofBytes {
    bytes: Vec<u8>,
    points: Option<Arc<[RistrettoPoint]>>,
}

impl RangeProofBytes {
    /// Bytes without kept points (a proof just made, or bytes from elsewhere).
    pub fn new(bytes: Vec<u8>) -> Self {
        RangeProofBytes {
            bytes,
            points: None,
        }
    }

    /// Bytes whose points `points` were just decompressed from them, in encoding order.
    pub(crate) fn decoded(bytes: Vec<u8>, points: Vec<RistrettoPoint>) -> Self {
        RangeProofBytes {
            bytes,
            points: Some(points.into()),
        }
    }

    /// The encoding.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The encoding, without the kept points.
    pub fn into_bytes(self) -> Vec<u8> {
        self.bytes
    }

    /// The points decoding kept, in encoding order; `None` if the bytes were not decoded or were
    /// changed since.
    pub(crate) fn points(&self) -> Option<&[RistrettoPoint]> {
        self.points.as_deref()
    }
}

impl Deref for RangeProofBytes {
    type Target = Vec<u8>;
    fn deref(&self) -> &Vec<u8> {
        &self.bytes
    }
}

impl DerefMut for RangeProofBytes {
    /// Any change to the bytes drops the kept points.
    fn deref_mut(&mut self) -> &mut Vec<u8> {
        self.points = None;
        &mut self.bytes
    }
}

impl From<Vec<u8>> for RangeProofBytes {
    fn from(bytes: Vec<u8>) -> Self {
        RangeProofBytes::new(bytes)
    }
}

impl PartialEq for RangeProofBytes {
    fn eq(&self, other: &Self) -> bool {
        self.bytes == other.bytes
    }
}

impl Eq for RangeProofBytes {}

impl std::fmt::Debug for RangeProofBytes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.bytes.fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use curve25519_dalek::constants::RISTRETTO_BASEPOINT_POINT;

    #[test]
    fn any_change_to_the_bytes_drops_the_points() {
        let decoded = RangeProofBytes::decoded(vec![1, 2, 3], vec![RISTRETTO_BASEPOINT_POINT]);
        assert_eq!(decoded.points().map(<[_]>::len), Some(1));
        let mut flipped = decoded.clone();
        assert!(flipped.points().is_some(), "a clone keeps them");
        flipped[0] ^= 1;
        assert!(flipped.points().is_none());
        let mut cleared = decoded.clone();
        cleared.clear();
        assert!(cleared.points().is_none());
        assert_eq!(
            decoded,
            RangeProofBytes::new(vec![1, 2, 3]),
            "equality is the bytes'"
        );
    }
}
