//! Compliance without seeing amounts: tier caps proven in zero knowledge, and disclosure of large
//! payments to the regulator only.
//!
//! A transfer on a network with [`ComplianceParams`] carries a [`Compliance`] section:
//!
//! - **Caps.** It states the cap of the paying tier (`sender_cap`) and of each receiving tier
//!   (`receiver_caps`). One aggregated 64-bit range proof (the *bound proof*) shows, for every claim
//!   `(bound, outputs)`, that `bound − Σ amount(outputs) ≥ 0`. The verifier derives each claim's
//!   commitment itself, `bound·B − Σ C_o`, so it learns nothing about the amounts. The node checks
//!   the stated caps against its registry (a cheap comparison, [`check_caps`]).
//! - **Disclosure.** Every output at or above the reporting threshold carries a [`Disclosure`]: its
//!   amount split into four 16-bit limbs, each encrypted to the regulator under twisted ElGamal
//!   (`C_i = a_i·B + r_i·H`, `D_i = r_i·PK`, with `H = B_blinding` and `PK = sk·H`), a 16-bit
//!   range proof on the limbs, a proof per limb that `C_i` and `D_i` share `r_i`, and a proof that
//!   the limbs recompose the output commitment (`C − Σ 2^{16i}·C_i` is a multiple of `H`). Every
//!   output *without* a disclosure gets a bound claim of `threshold − 1`: it is proven below the
//!   threshold and nothing is disclosed. The node verifies all of it without being able to read it;
//!   the regulator decrypts with [`RegulatorKey::decrypt`].

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
use crate::error::{DecodeError, TxError};
use crate::keys::PublicKey;
use crate::note::{pedersen_gens, Hash32, Opening};
use crate::range;
use crate::transcript::TranscriptProtocol;

/// Bits per disclosed limb.
pub const LIMB_BITS: usize = 16;
/// Limbs per disclosed amount (4 × 16 = 64 bits).
pub const LIMBS: usize = 4;
const DISCLOSURE_DOMAIN: &[u8] = b"dfc/disclosure/v1";
const RECOMPOSE_DOMAIN: &[u8] = b"dfc/disclosure-recompose/v1";
const BOUND_DOMAIN: &[u8] = b"dfc/bound/v1";

/// The compliance rules of a network.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ComplianceParams {
    /// The regulator's public key `PK = sk·B_blinding`.
    pub regulator_key: PublicKey,
    /// Outputs at or above this amount must be disclosed to the regulator.
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
    a1: CompressedRistretto,
    a2: CompressedRistretto,
    z_a: Scalar,
    z_r: Scalar,
}

/// An output's amount, encrypted to the regulator, with the proofs that it is the committed one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Disclosure {
    /// Index of the disclosed output.
    pub output: u8,
    /// The four encrypted limbs, least significant first.
    pub limbs: [Limb; LIMBS],
    /// 16-bit range proof over the limb commitments.
    pub limb_proof: Vec<u8>,
    /// Per-limb validity proofs.
    pub validity: [LimbValidity; LIMBS],
    /// Proof that `C_output − Σ 2^{16i}·C_i` is a multiple of `H`.
    pub recomposition: BalanceProof,
}

/// The compliance section of a transfer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Compliance {
    /// The paying tier's cap the sender claims against.
    pub sender_cap: Option<Amount>,
    /// Per output, the receiving tier's cap (none for change back to the sender).
    pub receiver_caps: Vec<Option<Amount>>,
    /// Disclosures, by strictly increasing output index.
    pub disclosures: Vec<Disclosure>,
    /// One aggregated 64-bit range proof over every claim's derived commitment.
    pub bound_proof: Vec<u8>,
}

/// A statement "these outputs together are worth at most `bound`".
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Claim {
    /// The bound.
    pub bound: Amount,
    /// The outputs it covers.
    pub outputs: Vec<usize>,
}

/// What the builder needs to know to make the compliance section: the caps of the parties.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ComplianceContext {
    /// The paying wallet's tier cap.
    pub sender_cap: Option<Amount>,
    /// Each output's receiving tier cap (none for change to self).
    pub receiver_caps: Vec<Option<Amount>>,
}

/// The claims a transfer must prove, derived from the stated caps, the threshold and which
/// outputs are disclosed. Outputs whose owner is an input owner (change) are neither payments nor
/// receipts: no claim covers them.
pub fn claims(
    section: &Compliance,
    threshold: Amount,
    outputs: usize,
    change: &[bool],
) -> Result<Vec<Claim>, TxError> {
    let disclosed: Vec<usize> = section
        .disclosures
        .iter()
        .map(|d| usize::from(d.output))
        .collect();
    let mut out = Vec::new();
    for o in 0..outputs {
        let mut bound: Option<Amount> = None;
        let is_change = change.get(o).copied().unwrap_or(false);
        // Change back to the payer is not a payment: neither disclosed nor bounded.
        if !disclosed.contains(&o) && !is_change {
            let under = threshold
                .checked_sub(Amount::from_units(1)?)
                .map_err(|_| TxError::MissingDisclosure { output: o })?;
            bound = Some(under);
        }
        if let Some(Some(cap)) = section.receiver_caps.get(o) {
            if !change.get(o).copied().unwrap_or(false) {
                bound = Some(bound.map_or(*cap, |b| b.min(*cap)));
            }
        }
        if let Some(b) = bound {
            out.push(Claim {
                bound: b,
                outputs: vec![o],
            });
        }
    }
    if let Some(cap) = section.sender_cap {
        let paid: Vec<usize> = (0..outputs)
            .filter(|o| !change.get(*o).copied().unwrap_or(false))
            .collect();
        if !paid.is_empty() {
            out.push(Claim {
                bound: cap,
                outputs: paid,
            });
        }
    }
    Ok(out)
}

fn bound_transcript(body_id: &Hash32, claims: &[Claim]) -> Transcript {
    let mut t = Transcript::new(BOUND_DOMAIN);
    t.append_message(b"body", &body_id.0);
    for c in claims {
        t.append_u64_le(b"bound", c.bound.units());
        t.append_u64_le(b"n", c.outputs.len() as u64);
        for o in &c.outputs {
            t.append_u64_le(b"output", *o as u64);
        }
    }
    t
}

fn derived_point(claim: &Claim, commitments: &[RistrettoPoint]) -> RistrettoPoint {
    let b = Scalar::from(claim.bound.units()) * pedersen_gens().B;
    claim.outputs.iter().fold(b, |acc, o| acc - commitments[*o])
}

fn disclosure_transcript(body_id: &Hash32, output: u8, limbs: &[Limb; LIMBS]) -> Transcript {
    let mut t = Transcript::new(DISCLOSURE_DOMAIN);
    t.append_message(b"body", &body_id.0);
    t.append_message(b"output", &[output]);
    for l in limbs {
        t.append_point(b"C", &l.c);
        t.append_point(b"D", &l.d);
    }
    t
}

fn recompose_context(body_id: &Hash32, output: u8) -> Vec<u8> {
    let mut v = body_id.0.to_vec();
    v.push(output);
    v
}

/// Makes the disclosure of output `output` with opening `opening` to the regulator key `pk`.
pub fn disclose<R: RngCore + CryptoRng>(
    body_id: &Hash32,
    output: u8,
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
    let mut t = disclosure_transcript(body_id, output, &limbs);
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
        &recompose_context(body_id, output),
        &point,
        &x,
        rng,
    );
    Disclosure {
        output,
        limbs,
        limb_proof,
        validity,
        recomposition,
    }
}

fn recomposition_point(
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
    /// Verifies the disclosure against the output commitment and the regulator key.
    pub fn verify(&self, body_id: &Hash32, commitment: &RistrettoPoint, pk: &PublicKey) -> bool {
        let g = pedersen_gens();
        let mut t = disclosure_transcript(body_id, self.output, &self.limbs);
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
            &recompose_context(body_id, self.output),
            &point,
        )
    }

    fn encode(&self, w: &mut Writer) {
        w.u8(self.output);
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
        let output = r.u8("disclosure output")?;
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
        let (rp, _) = decode_point(&rb, "recomposition R")?;
        let s = decode_scalar(r.array("recomposition s")?, "recomposition s")?;
        let recomposition = BalanceProof::from_parts(rp, s);
        Ok(Disclosure {
            output,
            limbs,
            limb_proof,
            validity,
            recomposition,
        })
    }
}

fn encode_cap(w: &mut Writer, cap: Option<Amount>) {
    match cap {
        Some(a) => {
            w.u8(1);
            w.u64(a.units());
        }
        None => w.u8(0),
    }
}

fn decode_cap(r: &mut Reader<'_>, field: &'static str) -> Result<Option<Amount>, DecodeError> {
    match r.u8(field)? {
        0 => Ok(None),
        1 => Amount::from_units(r.u64(field)?)
            .map(Some)
            .map_err(|source| DecodeError::Amount { field, source }),
        other => Err(DecodeError::Invalid {
            field,
            reason: format!("presence byte {other} is neither 0 nor 1"),
        }),
    }
}

impl Compliance {
    /// Canonical encoding.
    pub fn encode(&self, w: &mut Writer) {
        encode_cap(w, self.sender_cap);
        w.u8(u8::try_from(self.receiver_caps.len()).unwrap_or(u8::MAX));
        for c in &self.receiver_caps {
            encode_cap(w, *c);
        }
        w.u8(u8::try_from(self.disclosures.len()).unwrap_or(u8::MAX));
        for d in &self.disclosures {
            d.encode(w);
        }
        w.u16(u16::try_from(self.bound_proof.len()).unwrap_or(u16::MAX));
        w.bytes(&self.bound_proof);
    }

    /// Decodes, refusing anything non-canonical.
    pub fn decode(r: &mut Reader<'_>, outputs: usize) -> Result<Self, DecodeError> {
        let sender_cap = decode_cap(r, "sender cap")?;
        let n = r.count("receiver caps", crate::params::MAX_OUTPUTS_CAP)?;
        if n != outputs {
            return Err(DecodeError::BadLength {
                field: "receiver caps",
                len: n,
                expected: outputs.to_string(),
            });
        }
        let mut receiver_caps = Vec::with_capacity(n);
        for _ in 0..n {
            receiver_caps.push(decode_cap(r, "receiver cap")?);
        }
        let nd = r.count("disclosures", outputs)?;
        let mut disclosures: Vec<Disclosure> = Vec::with_capacity(nd);
        for _ in 0..nd {
            let d = Disclosure::decode(r)?;
            if usize::from(d.output) >= outputs
                || disclosures.last().is_some_and(|p| p.output >= d.output)
            {
                return Err(DecodeError::Invalid {
                    field: "disclosure output",
                    reason: "disclosures must name distinct outputs in increasing order".into(),
                });
            }
            disclosures.push(d);
        }
        let len = usize::from(r.u16("bound proof length")?);
        let bound_proof = r.take(len, "bound proof")?.to_vec();
        Ok(Compliance {
            sender_cap,
            receiver_caps,
            disclosures,
            bound_proof,
        })
    }

    /// Builds the section for outputs with the given openings: disclosures for outputs at or above
    /// the threshold, and the bound proof over every claim.
    pub fn build<R: RngCore + CryptoRng>(
        body_id: &Hash32,
        params: &ComplianceParams,
        ctx: &ComplianceContext,
        commitments: &[RistrettoPoint],
        openings: &[Opening],
        change: &[bool],
        rng: &mut R,
    ) -> Result<Self, TxError> {
        let mut disclosures = Vec::new();
        for (i, (c, o)) in commitments.iter().zip(openings).enumerate() {
            if o.amount >= params.reporting_threshold && !change.get(i).copied().unwrap_or(false) {
                let index = u8::try_from(i).map_err(|_| TxError::TooManyOutputs {
                    count: i,
                    limit: crate::params::MAX_OUTPUTS_CAP,
                })?;
                disclosures.push(disclose(body_id, index, c, o, &params.regulator_key, rng));
            }
        }
        let mut section = Compliance {
            sender_cap: ctx.sender_cap,
            receiver_caps: (0..commitments.len())
                .map(|i| ctx.receiver_caps.get(i).copied().flatten())
                .collect(),
            disclosures,
            bound_proof: Vec::new(),
        };
        let claims = claims(
            &section,
            params.reporting_threshold,
            commitments.len(),
            change,
        )?;
        if !claims.is_empty() {
            let mut values = Vec::with_capacity(claims.len());
            for claim in &claims {
                let sum = Amount::sum(claim.outputs.iter().map(|o| openings[*o].amount))?;
                let slack = claim.bound.checked_sub(sum).map_err(|_| TxError::OverCap {
                    bound: claim.bound.units(),
                })?;
                let blinding: Scalar = -claim
                    .outputs
                    .iter()
                    .map(|o| openings[*o].blinding)
                    .sum::<Scalar>();
                values.push((slack.units(), blinding));
            }
            section.bound_proof = range::prove_bits(
                &mut bound_transcript(body_id, &claims),
                &values,
                range::RANGE_BITS,
                rng,
            );
        }
        Ok(section)
    }

    /// Verifies every disclosure and the bound proof.
    pub fn verify(
        &self,
        body_id: &Hash32,
        params: &ComplianceParams,
        commitments: &[RistrettoPoint],
        change: &[bool],
    ) -> Result<(), TxError> {
        for d in &self.disclosures {
            let c = commitments
                .get(usize::from(d.output))
                .ok_or(TxError::BadDisclosure {
                    output: usize::from(d.output),
                })?;
            if !d.verify(body_id, c, &params.regulator_key) {
                return Err(TxError::BadDisclosure {
                    output: usize::from(d.output),
                });
            }
        }
        let claims = claims(self, params.reporting_threshold, commitments.len(), change)?;
        if claims.is_empty() {
            if self.bound_proof.is_empty() {
                return Ok(());
            }
            return Err(TxError::BadBoundProof);
        }
        let points: Vec<CompressedRistretto> = claims
            .iter()
            .map(|c| derived_point(c, commitments).compress())
            .collect();
        if !range::verify_bits(
            &mut bound_transcript(body_id, &claims),
            &points,
            &self.bound_proof,
            range::RANGE_BITS,
        ) {
            return Err(TxError::BadBoundProof);
        }
        Ok(())
    }
}

/// Checks the caps a transfer states against the registry's: the sender's stated cap may not
/// exceed (or be missing for) the paying tier's cap, and each receiving output's stated cap may not
/// exceed its tier's cap. A cheap comparison, run before any proof.
pub fn check_caps(
    section: &Compliance,
    sender_tier_cap: Amount,
    receiver_tier_caps: &[Option<Amount>],
    change: &[bool],
) -> Result<(), TxError> {
    match section.sender_cap {
        Some(c) if c <= sender_tier_cap => {}
        _ => {
            return Err(TxError::WrongCap {
                party: "sender".into(),
                cap: sender_tier_cap.units(),
            })
        }
    }
    for (o, tier_cap) in receiver_tier_caps.iter().enumerate() {
        if change.get(o).copied().unwrap_or(false) {
            continue;
        }
        if let Some(tier_cap) = tier_cap {
            match section.receiver_caps.get(o).copied().flatten() {
                Some(c) if c <= *tier_cap => {}
                _ => {
                    return Err(TxError::WrongCap {
                        party: format!("receiver of output {o}"),
                        cap: tier_cap.units(),
                    })
                }
            }
        }
    }
    Ok(())
}
