//! A transfer's disclosures to the regulator, as equations of the batch (issue 16): the 16-bit
//! range proof over the limbs joins the multiscalar multiplication like any range proof, and the
//! per-limb validity proofs and the recomposition proof become linear equations over points.
//!
//! # The equations
//! For a disclosure of party `k` with limbs `(C_i, D_i)`, validity proofs `(A1_i, A2_i, z_a, z_r)`
//! with challenges `c_i` (replayed from the disclosure transcript, after the limb proof, exactly
//! as [`Disclosure::verify`](crate::compliance::Disclosure::verify) does), recomposition proof
//! `(R, s)` with challenge `c_r` over `P = C_k − Σ 2^{16i}·C_i` (`C_k` the party's summed output
//! commitment):
//!
//! - validity, per limb: `z_a·B + z_r·H − c_i·C_i − A1_i = 0` and `z_r·PK − c_i·D_i − A2_i = 0`;
//! - recomposition: `s·H − c_r·P − R = 0`.
//!
//! These are the checks of the one-by-one verifier, each moved to one side (`lhs == A` becomes
//! `lhs − A = 0`), so each holds exactly when its one-by-one check passes.
//!
//! # Soundness
//! Every equation is multiplied by its own weight drawn from the batch's weight rng (keyed with the
//! chunk's transactions and finalised with fresh randomness after the proofs were made) and added
//! to the one sum the batch checks is the identity. If some equation `E_j ≠ 0`, then for any fixed
//! values of the other weights the sum is the identity for at most one value of `E_j`'s weight
//! (`w_j·E_j = −rest` has at most one solution in a group of prime order ℓ), so a false equation
//! passes with probability at most 1/ℓ ≈ 2⁻²⁵² per check: the same argument as for the range and
//! balance equations (`core/src/batch.rs`). The challenges `c_i`, `c_r` are the Fiat–Shamir
//! challenges of the proofs themselves and are not affected by batching.

use curve25519_dalek::ristretto::{CompressedRistretto, RistrettoPoint};
use curve25519_dalek::scalar::Scalar;

use super::bulletproof::{self, Accumulator, RangeTerms};
use crate::balance;
use crate::compliance::{
    disclosure_transcript, recompose_context, recomposition_point, Disclosure, LIMBS, LIMB_BITS,
    RECOMPOSE_DOMAIN,
};
use crate::keys::PublicKey;
use crate::note::Hash32;
use crate::transcript::TranscriptProtocol;

/// `b·B + b_blinding·B_blinding + Σ sᵢ·Pᵢ = 0`: one verification equation of a sigma proof.
pub(crate) struct LinearEq {
    b: Scalar,
    b_blinding: Scalar,
    terms: Vec<(Scalar, RistrettoPoint)>,
}

impl LinearEq {
    /// Adds `weight` times the equation to `acc`.
    pub(crate) fn add_to(&self, acc: &mut Accumulator, weight: Scalar) {
        acc.b += weight * self.b;
        acc.b_blinding += weight * self.b_blinding;
        for (s, p) in &self.terms {
            acc.scalars.push(weight * s);
            acc.points.push(*p);
        }
    }
}

/// What one disclosure adds to the batch.
pub(crate) struct DisclosureTerms {
    /// The limb range proof (16 bits, 4 values).
    pub(crate) limbs: RangeTerms,
    /// The validity and recomposition equations.
    pub(crate) equations: Vec<LinearEq>,
}

/// Parses `d` and replays its transcripts; `None` if it fails a check that needs no curve
/// arithmetic to fail (encodings, sizes), in which case the caller verifies it one by one for the
/// exact error. `commitment` is the disclosed party's summed output commitment.
pub(crate) fn prepare(
    d: &Disclosure,
    body_id: &Hash32,
    commitment: &RistrettoPoint,
    pk: &PublicKey,
    padding: &CompressedRistretto,
) -> Option<DisclosureTerms> {
    let mut t = disclosure_transcript(body_id, d.party, &d.limbs);
    let mut cs = Vec::with_capacity(LIMBS);
    let mut ds = Vec::with_capacity(LIMBS);
    for l in &d.limbs {
        cs.push((l.c, l.c.decompress()?));
        ds.push(l.d.decompress()?);
    }
    let limbs = bulletproof::prepare_bits(&mut t, &cs, &d.limb_proof, None, padding, LIMB_BITS)?;
    let mut equations = Vec::with_capacity(2 * LIMBS + 1);
    for ((v, (_, c_point)), d_point) in d.validity.iter().zip(&cs).zip(&ds) {
        t.append_point(b"A1", &v.a1);
        t.append_point(b"A2", &v.a2);
        let c = t.challenge_scalar(b"c");
        let a1 = v.a1.decompress()?;
        let a2 = v.a2.decompress()?;
        equations.push(LinearEq {
            b: v.z_a,
            b_blinding: v.z_r,
            terms: vec![(-c, *c_point), (-Scalar::ONE, a1)],
        });
        equations.push(LinearEq {
            b: Scalar::ZERO,
            b_blinding: Scalar::ZERO,
            terms: vec![(v.z_r, *pk.point()), (-c, *d_point), (-Scalar::ONE, a2)],
        });
    }
    let point = recomposition_point(commitment, &d.limbs)?;
    let (r, s) = d.recomposition.parts();
    let c = balance::challenge(
        RECOMPOSE_DOMAIN,
        &recompose_context(body_id, d.party),
        &point,
        r,
    );
    equations.push(LinearEq {
        b: Scalar::ZERO,
        b_blinding: *s,
        terms: vec![(-c, point), (-Scalar::ONE, *d.recomposition.r_point())],
    });
    Some(DisclosureTerms { limbs, equations })
}
