//! The balance proof: a Schnorr signature of knowledge over the commitment excess.
//!
//! For a transaction the excess is `E = ΣC_out − ΣC_in − (issued − redeemed)·B`. If inputs equal
//! outputs plus the public amounts, the value parts cancel and `E = x·B_blinding` where `x` is the
//! difference of the blindings. Proving knowledge of `x` for the base `B_blinding` alone shows that
//! `E` has no `B` component, i.e. no value was created or destroyed (under the discrete-log
//! assumption between `B` and `B_blinding`). The proof is bound to the transaction id.

use curve25519_dalek::ristretto::{CompressedRistretto, RistrettoPoint};
use curve25519_dalek::scalar::Scalar;
use curve25519_dalek::traits::VartimeMultiscalarMul;
use merlin::Transcript;
use rand_core::{CryptoRng, RngCore};
use serde::{Deserialize, Serialize};

use crate::codec::{decode_point, decode_scalar, hex_array, Reader, Writer};
use crate::error::DecodeError;
use crate::note::{pedersen_gens, TxId};
use crate::transcript::{TranscriptProtocol, BALANCE_DOMAIN};

/// A Schnorr proof of knowledge of `x` with `E = x·B_blinding`.
#[derive(Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct BalanceProof {
    r: CompressedRistretto,
    /// `r` decompressed: decoding checks it anyway, and the batch verifier needs the point, so it
    /// is kept rather than decompressed a second time. Always `r`'s point (every constructor sets
    /// both from one value), so the derived equality is the encoding's.
    r_point: RistrettoPoint,
    s: Scalar,
}

/// The proof's Fiat–Shamir challenge under `domain` and `context` (the batch verifier replays it
/// for the disclosures' recomposition proofs).
pub(crate) fn challenge(
    domain: &'static [u8],
    context: &[u8],
    excess: &RistrettoPoint,
    r: &CompressedRistretto,
) -> Scalar {
    let mut t = Transcript::new(domain);
    // The label is "txid" for every domain: balance proofs bind the txid, other users bind their
    // own context under their own domain.
    t.append_message(b"txid", context);
    t.append_point(b"E", &excess.compress());
    t.append_point(b"R", r);
    t.challenge_scalar(b"c")
}

impl BalanceProof {
    /// Proves knowledge of `x` for `excess = x·B_blinding`, bound to `txid`.
    pub fn prove<R: RngCore + CryptoRng>(
        txid: &TxId,
        excess: &RistrettoPoint,
        x: &Scalar,
        rng: &mut R,
    ) -> Self {
        Self::prove_in(BALANCE_DOMAIN, &txid.0, excess, x, rng)
    }

    /// Verifies the proof: `s·B_blinding − c·E = R`.
    pub fn verify(&self, txid: &TxId, excess: &RistrettoPoint) -> bool {
        self.verify_in(BALANCE_DOMAIN, &txid.0, excess)
    }

    /// Proves knowledge of `x` with `point = x·B_blinding` under another domain and context (the
    /// same proof serves the recomposition of disclosed amounts).
    pub fn prove_in<R: RngCore + CryptoRng>(
        domain: &'static [u8],
        context: &[u8],
        point: &RistrettoPoint,
        x: &Scalar,
        rng: &mut R,
    ) -> Self {
        let h = pedersen_gens().B_blinding;
        let mut nonce_rng = Transcript::new(domain)
            .build_rng()
            .rekey_with_witness_bytes(b"x", x.as_bytes())
            .rekey_with_witness_bytes(b"txid", context)
            .finalize(rng);
        let k = Scalar::random(&mut nonce_rng);
        let r_point = k * h;
        let r = r_point.compress();
        let c = challenge(domain, context, point, &r);
        BalanceProof {
            r,
            r_point,
            s: k + c * x,
        }
    }

    /// Verifies a proof made by [`BalanceProof::prove_in`].
    pub fn verify_in(&self, domain: &'static [u8], context: &[u8], point: &RistrettoPoint) -> bool {
        let h = pedersen_gens().B_blinding;
        let c = challenge(domain, context, point, &self.r);
        let lhs = RistrettoPoint::vartime_multiscalar_mul([self.s, -c], [h, *point]);
        lhs.compress() == self.r
    }

    /// A proof from its already-validated parts (`r_point` is `r` decompressed).
    pub(crate) fn from_parts(r: (CompressedRistretto, RistrettoPoint), s: Scalar) -> Self {
        BalanceProof {
            r: r.0,
            r_point: r.1,
            s,
        }
    }

    /// The 64-byte encoding `R ‖ s`.
    pub fn to_bytes(&self) -> [u8; 64] {
        let mut out = [0u8; 64];
        out[..32].copy_from_slice(self.r.as_bytes());
        out[32..].copy_from_slice(self.s.as_bytes());
        out
    }

    /// The proof's parts `(R, s)`, for batch verification, which folds `s·B_blinding − c·E − R = 0`
    /// into one multiscalar multiplication.
    pub(crate) fn parts(&self) -> (&CompressedRistretto, &Scalar) {
        (&self.r, &self.s)
    }

    /// `R` as a point (decompressed once, when the proof was decoded or made).
    pub(crate) fn r_point(&self) -> &RistrettoPoint {
        &self.r_point
    }

    pub(crate) fn encode(&self, w: &mut Writer) {
        w.bytes(self.r.as_bytes());
        w.bytes(self.s.as_bytes());
    }

    pub(crate) fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let (rp, r_point) = r.point("balance proof R")?;
        let s = r.scalar("balance proof s")?;
        Ok(BalanceProof { r: rp, r_point, s })
    }
}

impl std::fmt::Debug for BalanceProof {
    // The kept point is `r` again: not printed.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BalanceProof")
            .field("r", &self.r)
            .field("s", &self.s)
            .finish()
    }
}

impl TryFrom<String> for BalanceProof {
    type Error = DecodeError;
    fn try_from(text: String) -> Result<Self, Self::Error> {
        let bytes = hex_array::<64>(&text, "balance proof")?;
        let mut rb = [0u8; 32];
        rb.copy_from_slice(&bytes[..32]);
        let mut sb = [0u8; 32];
        sb.copy_from_slice(&bytes[32..]);
        let (r, r_point) = decode_point(&rb, "balance proof R")?;
        let s = decode_scalar(sb, "balance proof s")?;
        Ok(BalanceProof { r, r_point, s })
    }
}

impl From<BalanceProof> for String {
    fn from(p: BalanceProof) -> String {
        let mut w = Writer::new();
        p.encode(&mut w);
        hex::encode(w.finish())
    }
}
