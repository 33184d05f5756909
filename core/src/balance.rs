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
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct BalanceProof {
    r: CompressedRistretto,
    s: Scalar,
}

fn challenge(txid: &TxId, excess: &RistrettoPoint, r: &CompressedRistretto) -> Scalar {
    let mut t = Transcript::new(BALANCE_DOMAIN);
    t.append_message(b"txid", &txid.0);
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
        let h = pedersen_gens().B_blinding;
        let mut nonce_rng = Transcript::new(BALANCE_DOMAIN)
            .build_rng()
            .rekey_with_witness_bytes(b"x", x.as_bytes())
            .rekey_with_witness_bytes(b"txid", &txid.0)
            .finalize(rng);
        let k = Scalar::random(&mut nonce_rng);
        let r = (k * h).compress();
        let c = challenge(txid, excess, &r);
        BalanceProof { r, s: k + c * x }
    }

    /// Verifies the proof: `s·B_blinding − c·E = R`.
    pub fn verify(&self, txid: &TxId, excess: &RistrettoPoint) -> bool {
        let h = pedersen_gens().B_blinding;
        let c = challenge(txid, excess, &self.r);
        let lhs = RistrettoPoint::vartime_multiscalar_mul([self.s, -c], [h, *excess]);
        lhs.compress() == self.r
    }

    pub(crate) fn encode(&self, w: &mut Writer) {
        w.bytes(self.r.as_bytes());
        w.bytes(self.s.as_bytes());
    }

    pub(crate) fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let (rp, _) = r.point("balance proof R")?;
        let s = r.scalar("balance proof s")?;
        Ok(BalanceProof { r: rp, s })
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
        let (r, _) = decode_point(&rb, "balance proof R")?;
        let s = decode_scalar(sb, "balance proof s")?;
        Ok(BalanceProof { r, s })
    }
}

impl From<BalanceProof> for String {
    fn from(p: BalanceProof) -> String {
        let mut w = Writer::new();
        p.encode(&mut w);
        hex::encode(w.finish())
    }
}
