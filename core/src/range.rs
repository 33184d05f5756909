//! Aggregated 64-bit range proofs over a transaction's output commitments (Bulletproofs).
//!
//! One proof covers every output of a transaction. Bulletproofs aggregate a power-of-two number of
//! values, so the prover pads with commitments to zero under the fixed blinding one (the point
//! `B_blinding`); the verifier appends the same padding, so padding reveals nothing and proves
//! nothing beyond "zero is in range".

mod proof_bytes;

pub use proof_bytes::RangeProofBytes;

use bulletproofs::{BulletproofGens, RangeProof};
use curve25519_dalek::ristretto::{CompressedRistretto, RistrettoPoint};
use curve25519_dalek::scalar::Scalar;
use merlin::Transcript;
use rand_core::{CryptoRng, RngCore};
use std::sync::OnceLock;

use crate::codec::{decode_scalar, Reader};
use crate::error::DecodeError;
use crate::note::{pedersen_gens, Commitment};

/// Bits of every range proof: amounts are proven to lie in `[0, 2^64)`.
pub const RANGE_BITS: usize = 64;
/// The most values one output range proof aggregates, which bounds outputs per transaction.
pub const MAX_AGGREGATION: usize = 16;
/// The most values any proof aggregates: a transfer's one proof covers its outputs (at most 16)
/// and its bounds (the payer's and one per payee, at most 17), padded to 64.
pub const MAX_PARTIES: usize = 64;

/// The Bulletproof generators, built once per process (building them costs milliseconds).
pub fn bulletproof_gens() -> &'static BulletproofGens {
    static GENS: OnceLock<BulletproofGens> = OnceLock::new();
    GENS.get_or_init(|| BulletproofGens::new(RANGE_BITS, MAX_PARTIES))
}

/// The number of values a proof over `outputs` values aggregates after padding.
pub fn padded_len(outputs: usize) -> usize {
    outputs.max(1).next_power_of_two()
}

/// The exact size in bytes of a proof over `outputs` values: `32·(9 + 2·log2(64·m))`.
pub fn proof_len(outputs: usize) -> usize {
    proof_len_bits(outputs, RANGE_BITS)
}

/// The exact size in bytes of a proof over `values` values of `bits` bits each.
pub fn proof_len_bits(values: usize, bits: usize) -> usize {
    let m = padded_len(values);
    let rounds = (bits * m).trailing_zeros() as usize;
    32 * (9 + 2 * rounds)
}

fn padding_commitment() -> CompressedRistretto {
    pedersen_gens().B_blinding.compress()
}

/// Proves that every `(value, blinding)` is in range, bound to `transcript`.
pub fn prove<R: RngCore + CryptoRng>(
    transcript: &mut Transcript,
    values: &[(u64, Scalar)],
    rng: &mut R,
) -> Vec<u8> {
    prove_bits(transcript, values, RANGE_BITS, rng)
}

/// Proves that every value is in `[0, 2^bits)`; `bits` is 8, 16, 32 or 64 and at most
/// [`MAX_PARTIES`] values are aggregated.
pub fn prove_bits<R: RngCore + CryptoRng>(
    transcript: &mut Transcript,
    values: &[(u64, Scalar)],
    bits: usize,
    rng: &mut R,
) -> Vec<u8> {
    let m = padded_len(values.len());
    let mut vals: Vec<u64> = values.iter().map(|(v, _)| *v).collect();
    let mut blinds: Vec<Scalar> = values.iter().map(|(_, b)| *b).collect();
    vals.resize(m, 0);
    blinds.resize(m, Scalar::ONE);
    let (proof, _) = RangeProof::prove_multiple_with_rng(
        bulletproof_gens(),
        &pedersen_gens(),
        transcript,
        &vals,
        &blinds,
        bits,
        rng,
    )
    .expect("the aggregation size is a power of two within the generators' capacity");
    proof.to_bytes()
}

/// Verifies a proof produced by [`prove`] against the output commitments.
pub fn verify(transcript: &mut Transcript, commitments: &[Commitment], proof: &[u8]) -> bool {
    if commitments.len() > MAX_AGGREGATION {
        return false;
    }
    let points: Vec<CompressedRistretto> = commitments.iter().map(|c| *c.compressed()).collect();
    verify_bits(transcript, &points, proof, RANGE_BITS)
}

/// Verifies a proof made by [`prove_bits`] over already-compressed points.
pub fn verify_bits(
    transcript: &mut Transcript,
    points: &[CompressedRistretto],
    proof: &[u8],
    bits: usize,
) -> bool {
    if points.is_empty() || points.len() > MAX_PARTIES {
        return false;
    }
    let Ok(proof) = RangeProof::from_bytes(proof) else {
        return false;
    };
    let m = padded_len(points.len());
    let mut points = points.to_vec();
    points.resize(m, padding_commitment());
    proof
        .verify_multiple(
            bulletproof_gens(),
            &pedersen_gens(),
            transcript,
            &points,
            bits,
        )
        .is_ok()
}

/// Checks a proof's encoding without verifying it: exact length for the output count, every point
/// canonical and every scalar reduced. Cheap, and run before any verification.
pub fn check_encoding(proof: &[u8], outputs: usize) -> Result<(), DecodeError> {
    check_encoding_bits(proof, outputs, RANGE_BITS)
}

/// [`check_encoding`] for a proof over `values` values of `bits` bits.
pub fn check_encoding_bits(proof: &[u8], values: usize, bits: usize) -> Result<(), DecodeError> {
    decode_points_bits(proof, values, bits).map(|_| ())
}

/// [`check_encoding_bits`] that returns the proof's points, decompressed, in encoding order (`A`,
/// `S`, `T1`, `T2`, then `L_i`, `R_i` per round): what [`RangeProofBytes`] keeps for the batch
/// verifier. The same checks and errors.
pub fn decode_points_bits(
    proof: &[u8],
    values: usize,
    bits: usize,
) -> Result<Vec<RistrettoPoint>, DecodeError> {
    let expected = proof_len_bits(values, bits);
    if proof.len() != expected {
        return Err(DecodeError::BadLength {
            field: "range proof",
            len: proof.len(),
            expected: expected.to_string(),
        });
    }
    let rounds = (proof.len() / 32 - 9) / 2;
    let mut points = Vec::with_capacity(4 + 2 * rounds);
    let mut r = Reader::new(proof);
    for _ in 0..4 {
        points.push(point(&mut r)?);
    }
    for _ in 0..3 {
        decode_scalar(r.array("range proof scalar")?, "range proof scalar")?;
    }
    for _ in 0..(2 * rounds) {
        points.push(point(&mut r)?);
    }
    for _ in 0..2 {
        decode_scalar(r.array("range proof scalar")?, "range proof scalar")?;
    }
    r.finish()?;
    Ok(points)
}

fn point(r: &mut Reader<'_>) -> Result<RistrettoPoint, DecodeError> {
    let bytes = r.array::<32>("range proof point")?;
    CompressedRistretto(bytes)
        .decompress()
        .ok_or(DecodeError::NonCanonicalPoint {
            field: "range proof point",
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(proof_len(1), 672);
        assert_eq!(proof_len(2), 736);
        assert_eq!(proof_len(3), 800);
        assert_eq!(proof_len(4), 800);
        assert_eq!(proof_len(16), 928);
    }
}
