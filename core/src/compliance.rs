//! Per-party flows of a transfer, tier caps proven in zero knowledge, and disclosure of large
//! receipts to the regulator only.
//!
//! Every transfer (encoding version 3) carries a [`Compliance`] section that groups its outputs by
//! *party*: party 0 is the payer (the one account that owns every input; its outputs are change),
//! and parties 1..=n are the payees, numbered in order of first appearance, one per receiving
//! account. Caps and the reporting threshold apply to what each party really receives, the sum of
//! its outputs, so no split of a payment into several outputs, and no choice of change, escapes
//! them. (A transfer has exactly one paying account: a payee cannot add an input of its own to turn
//! its receipt into "change"; the node refuses that before any proof, `TxError::MultiplePayers`.)
//!
//! - **Caps.** The section states the payer's tier and each payee's tier; the node compares them
//!   with its registry, as it does the grouping of outputs into parties (cheap, before any proof).
//!   The transaction's one aggregated 64-bit range proof covers, after its outputs, every bound
//!   `(b, outputs)`: `b − Σ amount(outputs) ≥ 0` for the payer's tier `max_payment` over every
//!   payee output, and per payee its own tier's `max_payment` over its outputs. The verifier
//!   derives each bound's commitment itself, `b·B − Σ C_o`, so it learns nothing about the
//!   amounts; one proof over outputs and bounds is 672 bytes smaller than two, and cheaper to
//!   verify.
//! - **Disclosure.** On a network with a regulator ([`ComplianceParams`]), every payee whose
//!   receipt is at or above the reporting threshold carries a [`Disclosure`] of the party's summed
//!   commitment: the amount split into four 16-bit limbs, each encrypted to the regulator under
//!   twisted ElGamal (`C_i = a_i·B + r_i·H`, `D_i = r_i·PK`, with `H = B_blinding` and
//!   `PK = sk·H`), a 16-bit range proof on the limbs, a proof per limb that `C_i` and `D_i` share
//!   `r_i`, and a proof that the limbs recompose the party's commitment. Every payee *without* a
//!   disclosure is bounded by `threshold − 1`. The regulator decrypts with
//!   [`RegulatorKey::decrypt`].
//!
//! Soundness of the bounds: every output is range-proven in `[0, 2^64)` and a transfer has at most
//! 16 outputs, so a party's sum is below `2^68 ≪ ℓ` and `b − Σ` cannot wrap; a proof that
//! `b − Σ ∈ [0, 2^64)` is a proof that `Σ ≤ b` under the binding of Pedersen commitments.

mod section;

pub use section::{
    bounds, check_parties, lowest_cap_tier, party_commitments, Bound, Compliance, ComplianceContext,
};

use std::collections::HashMap;
use std::sync::OnceLock;

use curve25519_dalek::ristretto::{CompressedRistretto, RistrettoPoint};
use curve25519_dalek::scalar::Scalar;
use curve25519_dalek::traits::{Identity, VartimeMultiscalarMul};
use merlin::Transcript;
use rand_core::{CryptoRng, RngCore};
use serde::{Deserialize, Serialize};

use crate::amount::Amount;
use crate::balance::BalanceProof;
use crate::codec::{decode_point, decode_scalar, Reader, Writer};
use crate::error::DecodeError;
use crate::keys::PublicKey;
use crate::note::{pedersen_gens, Hash32, Opening};
use crate::range;
use crate::transcript::TranscriptProtocol;

/// Bits per disclosed limb.
pub const LIMB_BITS: usize = 16;
/// Limbs per disclosed amount (4 × 16 = 64 bits).
pub const LIMBS: usize = 4;
const DISCLOSURE_DOMAIN: &[u8] = b"dfc/disclosure/v1";
pub(crate) const RECOMPOSE_DOMAIN: &[u8] = b"dfc/disclosure-recompose/v1";

/// The compliance rules of a network.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ComplianceParams {
    /// The regulator's public key `PK = sk·B_blinding`.
    pub regulator_key: PublicKey,
    /// Receipts (a payee's summed outputs) at or above this amount are disclosed to the regulator.
    pub reporting_threshold: Amount,
}

/// The regulator's secret key.
#[derive(Clone)]
pub struct RegulatorKey {
    secret: Scalar,
}

impl RegulatorKey {
    /// The key derived from a 32-byte seed.
    pub fn from_seed(seed: &[u8; 32]) -> Self {
        let mut wide = [0u8; 64];
        wide[..32].copy_from_slice(seed);
        wide[32..].copy_from_slice(&crate::transcript::hash32(
            b"dfc/regulator-key/v1",
            &[(b"seed", seed)],
        ));
        RegulatorKey {
            secret: Scalar::from_bytes_mod_order_wide(&wide),
        }
    }
    /// The public key `sk·B_blinding`.
    pub fn public(&self) -> PublicKey {
        PublicKey::from_point(self.secret * pedersen_gens().B_blinding)
    }
    /// Decrypts a disclosure: each limb is `C_i − sk⁻¹·D_i = a_i·B`, looked up in a table of the
    /// 65,536 possible limbs.
    pub fn decrypt(&self, d: &Disclosure) -> Option<Amount> {
        let inv = self.secret.invert();
        let table = limb_table();
        let mut units: u64 = 0;
        for (i, limb) in d.limbs.iter().enumerate() {
            let c = limb.c.decompress()?;
            let dd = limb.d.decompress()?;
            let point = (c - inv * dd).compress();
            let a = u64::from(*table.get(point.as_bytes())?);
            units = units.checked_add(a << (LIMB_BITS * i))?;
        }
        Amount::from_units(units).ok()
    }
}

fn limb_table() -> &'static HashMap<[u8; 32], u16> {
    static TABLE: OnceLock<HashMap<[u8; 32], u16>> = OnceLock::new();
    TABLE.get_or_init(|| {
        let b = pedersen_gens().B;
        let mut table = HashMap::with_capacity(1 << LIMB_BITS);
        let mut acc = RistrettoPoint::identity();
        for a in 0..=u16::MAX {
            table.insert(acc.compress().to_bytes(), a);
            acc += b;
        }
        table
    })
}

/// One encrypted limb.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limb {
    /// `a_i·B + r_i·H`.
    pub c: CompressedRistretto,
    /// `r_i·PK`.
    pub d: CompressedRistretto,
}

/// Proof that a limb's `C` and `D` share their randomness: a Sigma protocol for
/// `∃ a, r: C = a·B + r·H ∧ D = r·PK`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LimbValidity {
    pub(crate) a1: CompressedRistretto,
    pub(crate) a2: CompressedRistretto,
    pub(crate) z_a: Scalar,
    pub(crate) z_r: Scalar,
}

/// A payee's receipt, encrypted to the regulator, with the proofs that it is the committed one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Disclosure {
    /// The disclosed payee party (1-based, as in [`Compliance::parties`]).
    pub party: u8,
    /// The four encrypted limbs, least significant first.
    pub limbs: [Limb; LIMBS],
    /// 16-bit range proof over the limb commitments.
    pub limb_proof: Vec<u8>,
    /// Per-limb validity proofs.
    pub validity: [LimbValidity; LIMBS],
    /// Proof that `C_output − Σ 2^{16i}·C_i` is a multiple of `H`.
    pub recomposition: BalanceProof,
}

pub(crate) fn disclosure_transcript(
    body_id: &Hash32,
    party: u8,
    limbs: &[Limb; LIMBS],
) -> Transcript {
    let mut t = Transcript::new(DISCLOSURE_DOMAIN);
    t.append_message(b"body", &body_id.0);
    t.append_message(b"party", &[party]);
    for l in limbs {
        t.append_point(b"C", &l.c);
        t.append_point(b"D", &l.d);
    }
    t
}

pub(crate) fn recompose_context(body_id: &Hash32, party: u8) -> Vec<u8> {
    let mut v = body_id.0.to_vec();
    v.push(party);
    v
}

/// Makes the disclosure of payee `party`, whose summed commitment `commitment` opens to
/// `opening`, to the regulator key `pk`.
pub fn disclose<R: RngCore + CryptoRng>(
    body_id: &Hash32,
    party: u8,
    commitment: &RistrettoPoint,
    opening: &Opening,
    pk: &PublicKey,
    rng: &mut R,
) -> Disclosure {
    let g = pedersen_gens();
    let amount = opening.amount.units();
    let mut values = [0u64; LIMBS];
    let mut rs = [Scalar::ZERO; LIMBS];
    let mut limbs = [Limb {
        c: CompressedRistretto::default(),
        d: CompressedRistretto::default(),
    }; LIMBS];
    for i in 0..LIMBS {
        values[i] = (amount >> (LIMB_BITS * i)) & 0xffff;
        rs[i] = Scalar::random(rng);
        limbs[i] = Limb {
            c: g.commit(Scalar::from(values[i]), rs[i]).compress(),
            d: (rs[i] * pk.point()).compress(),
        };
    }
    let mut t = disclosure_transcript(body_id, party, &limbs);
    let pairs: Vec<(u64, Scalar)> = values.iter().copied().zip(rs.iter().copied()).collect();
    let limb_proof = range::prove_bits(&mut t, &pairs, LIMB_BITS, rng);
    let mut validity = [LimbValidity {
        a1: CompressedRistretto::default(),
        a2: CompressedRistretto::default(),
        z_a: Scalar::ZERO,
        z_r: Scalar::ZERO,
    }; LIMBS];
    for i in 0..LIMBS {
        let k_a = Scalar::random(rng);
        let k_r = Scalar::random(rng);
        let a1 = g.commit(k_a, k_r).compress();
        let a2 = (k_r * pk.point()).compress();
        t.append_point(b"A1", &a1);
        t.append_point(b"A2", &a2);
        let c = t.challenge_scalar(b"c");
        validity[i] = LimbValidity {
            a1,
            a2,
            z_a: k_a + c * Scalar::from(values[i]),
            z_r: k_r + c * rs[i],
        };
    }
    let weighted_r: Scalar = (0..LIMBS)
        .map(|i| Scalar::from(1u64 << (LIMB_BITS * i)) * rs[i])
        .sum();
    let x = opening.blinding - weighted_r;
    let point = recomposition_point(commitment, &limbs).unwrap_or_else(RistrettoPoint::identity);
    let recomposition = BalanceProof::prove_in(
        RECOMPOSE_DOMAIN,
        &recompose_context(body_id, party),
        &point,
        &x,
        rng,
    );
    Disclosure {
        party,
        limbs,
        limb_proof,
        validity,
        recomposition,
    }
}

pub(crate) fn recomposition_point(
    commitment: &RistrettoPoint,
    limbs: &[Limb; LIMBS],
) -> Option<RistrettoPoint> {
    let mut acc = *commitment;
    for (i, l) in limbs.iter().enumerate() {
        acc -= Scalar::from(1u64 << (LIMB_BITS * i)) * l.c.decompress()?;
    }
    Some(acc)
}

impl Disclosure {
    /// Verifies the disclosure against the party's summed commitment and the regulator key.
    pub fn verify(&self, body_id: &Hash32, commitment: &RistrettoPoint, pk: &PublicKey) -> bool {
        let g = pedersen_gens();
        let mut t = disclosure_transcript(body_id, self.party, &self.limbs);
        let points: Vec<CompressedRistretto> = self.limbs.iter().map(|l| l.c).collect();
        if !range::verify_bits(&mut t, &points, &self.limb_proof, LIMB_BITS) {
            return false;
        }
        for (l, v) in self.limbs.iter().zip(&self.validity) {
            t.append_point(b"A1", &v.a1);
            t.append_point(b"A2", &v.a2);
            let c = t.challenge_scalar(b"c");
            let (Some(cc), Some(dd), Some(a1), Some(a2)) = (
                l.c.decompress(),
                l.d.decompress(),
                v.a1.decompress(),
                v.a2.decompress(),
            ) else {
                return false;
            };
            let lhs1 = RistrettoPoint::vartime_multiscalar_mul(
                [v.z_a, v.z_r, -c],
                [g.B, g.B_blinding, cc],
            );
            if lhs1 != a1 {
                return false;
            }
            let lhs2 = RistrettoPoint::vartime_multiscalar_mul([v.z_r, -c], [*pk.point(), dd]);
            if lhs2 != a2 {
                return false;
            }
        }
        let Some(point) = recomposition_point(commitment, &self.limbs) else {
            return false;
        };
        self.recomposition.verify_in(
            RECOMPOSE_DOMAIN,
            &recompose_context(body_id, self.party),
            &point,
        )
    }

    fn encode(&self, w: &mut Writer) {
        w.u8(self.party);
        for l in &self.limbs {
            w.bytes(l.c.as_bytes());
            w.bytes(l.d.as_bytes());
        }
        w.bytes(&self.limb_proof);
        for v in &self.validity {
            w.bytes(v.a1.as_bytes());
            w.bytes(v.a2.as_bytes());
            w.bytes(v.z_a.as_bytes());
            w.bytes(v.z_r.as_bytes());
        }
        w.bytes(&self.recomposition.to_bytes());
    }

    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let party = r.u8("disclosure party")?;
        let mut limbs = [Limb {
            c: CompressedRistretto::default(),
            d: CompressedRistretto::default(),
        }; LIMBS];
        for l in limbs.iter_mut() {
            l.c = r.point("disclosure limb C")?.0;
            l.d = r.point("disclosure limb D")?.0;
        }
        let proof_len = range::proof_len_bits(LIMBS, LIMB_BITS);
        let limb_proof = r.take(proof_len, "disclosure limb proof")?.to_vec();
        range::check_encoding_bits(&limb_proof, LIMBS, LIMB_BITS)?;
        let mut validity = [LimbValidity {
            a1: CompressedRistretto::default(),
            a2: CompressedRistretto::default(),
            z_a: Scalar::ZERO,
            z_r: Scalar::ZERO,
        }; LIMBS];
        for v in validity.iter_mut() {
            v.a1 = r.point("disclosure A1")?.0;
            v.a2 = r.point("disclosure A2")?.0;
            v.z_a = r.scalar("disclosure z_a")?;
            v.z_r = r.scalar("disclosure z_r")?;
        }
        let mut rb = [0u8; 32];
        rb.copy_from_slice(r.take(32, "recomposition R")?);
        let rp = decode_point(&rb, "recomposition R")?;
        let s = decode_scalar(r.array("recomposition s")?, "recomposition s")?;
        let recomposition = BalanceProof::from_parts(rp, s);
        Ok(Disclosure {
            party,
            limbs,
            limb_proof,
            validity,
            recomposition,
        })
    }
}
