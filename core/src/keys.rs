//! Keys and signatures: owner and issuer keys are `schnorrkel` keys on Ristretto (the group of the
//! commitments), view keys are Ristretto scalars used for Diffie-Hellman encryption of note openings.

use curve25519_dalek::constants::RISTRETTO_BASEPOINT_POINT;
use curve25519_dalek::ristretto::{CompressedRistretto, RistrettoPoint};
use curve25519_dalek::scalar::Scalar;
use hkdf::Hkdf;
use rand_core::{CryptoRng, RngCore};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sha2::Sha256;
use std::fmt;
use zeroize::Zeroize;

use crate::codec::{decode_point, hex_array};
use crate::error::DecodeError;
use crate::transcript::AUTH_CONTEXT;

/// A public key on Ristretto: a note owner, an issuer, the node, or a view key.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct PublicKey {
    compressed: CompressedRistretto,
    point: RistrettoPoint,
}

impl PublicKey {
    /// Decodes a canonical, non-identity key.
    pub fn from_bytes(bytes: &[u8; 32]) -> Result<Self, DecodeError> {
        let (compressed, point) = decode_point(bytes, "public key")?;
        Ok(PublicKey { compressed, point })
    }
    /// The 32-byte encoding.
    pub fn to_bytes(&self) -> [u8; 32] {
        self.compressed.to_bytes()
    }
    /// The compressed point.
    pub fn compressed(&self) -> &CompressedRistretto {
        &self.compressed
    }
    /// The point.
    pub fn point(&self) -> &RistrettoPoint {
        &self.point
    }
    pub(crate) fn from_point(point: RistrettoPoint) -> Self {
        PublicKey {
            compressed: point.compress(),
            point,
        }
    }
    /// Verifies a signature by this key over `msg` in dfc's authorisation context.
    pub fn verify(&self, msg: &[u8], sig: &Signature) -> bool {
        let SigInner::Sr25519(sig) = &sig.inner else {
            return false;
        };
        let pk = schnorrkel::PublicKey::from_point(self.point);
        pk.verify_simple(AUTH_CONTEXT, msg, sig).is_ok()
    }
    /// The schnorrkel form of the key, for batch verification.
    pub fn to_schnorrkel(&self) -> schnorrkel::PublicKey {
        schnorrkel::PublicKey::from_point(self.point)
    }
}

crate::codec::point_traits!(PublicKey, "public key");

/// A 64-byte signature over a transaction id, block hash or operator request: schnorrkel
/// (sr25519, every key but an Ed25519 operator's) or Ed25519 (an operator key held in a token,
/// [`OperatorKey::Ed25519`]).
///
/// The two encodings are told apart by the schnorrkel marker, the top bit of the last byte:
/// schnorrkel sets it, and an Ed25519 signature's `s` (below the group order, under 2^253) never
/// has it. So every sr25519 signature keeps exactly its encoding of before Ed25519 existed. A
/// signature of either kind whose scalar is not canonical is refused when decoded.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Signature {
    inner: SigInner,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum SigInner {
    Sr25519(schnorrkel::Signature),
    Ed25519(ed25519_dalek::Signature),
}

impl Signature {
    /// Decodes a 64-byte signature, refusing non-canonical scalars.
    pub fn from_bytes(bytes: &[u8; 64]) -> Result<Self, DecodeError> {
        let malformed = DecodeError::MalformedSignature { field: "signature" };
        if bytes[63] & 0x80 != 0 {
            return schnorrkel::Signature::from_bytes(bytes)
                .map(|s| Signature {
                    inner: SigInner::Sr25519(s),
                })
                .map_err(|_| malformed);
        }
        let mut s = [0u8; 32];
        s.copy_from_slice(&bytes[32..]);
        if bool::from(Scalar::from_canonical_bytes(s).is_none()) {
            return Err(malformed);
        }
        Ok(Signature {
            inner: SigInner::Ed25519(ed25519_dalek::Signature::from_bytes(bytes)),
        })
    }
    /// The 64-byte encoding.
    pub fn to_bytes(&self) -> [u8; 64] {
        match &self.inner {
            SigInner::Sr25519(s) => s.to_bytes(),
            SigInner::Ed25519(s) => s.to_bytes(),
        }
    }
    /// The schnorrkel form, for batch verification; `None` for an Ed25519 signature.
    pub fn to_schnorrkel(&self) -> Option<schnorrkel::Signature> {
        match &self.inner {
            SigInner::Sr25519(s) => Some(*s),
            SigInner::Ed25519(_) => None,
        }
    }
    /// Whether this is an Ed25519 signature (by an [`OperatorKey::Ed25519`]).
    pub fn is_ed25519(&self) -> bool {
        matches!(self.inner, SigInner::Ed25519(_))
    }
    /// An Ed25519 signature made outside this crate (by a hardware token), checked for a
    /// canonical scalar like any decoded signature.
    pub fn from_ed25519_bytes(bytes: &[u8; 64]) -> Result<Self, DecodeError> {
        let sig = Self::from_bytes(bytes)?;
        if sig.is_ed25519() {
            Ok(sig)
        } else {
            Err(DecodeError::MalformedSignature { field: "signature" })
        }
    }
}

impl fmt::Debug for Signature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Signature({})", hex::encode(self.to_bytes()))
    }
}

impl Serialize for Signature {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(self.to_bytes()))
    }
}

impl<'de> Deserialize<'de> for Signature {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        let bytes = hex_array::<64>(&text, "signature").map_err(serde::de::Error::custom)?;
        Signature::from_bytes(&bytes).map_err(serde::de::Error::custom)
    }
}

/// A signing key (owner, issuer/operator, or node). The secret is zeroised on drop by schnorrkel.
#[derive(Clone)]
pub struct SigningKey {
    keypair: schnorrkel::Keypair,
}

impl SigningKey {
    /// A fresh random key.
    pub fn generate<R: RngCore + CryptoRng>(rng: &mut R) -> Self {
        let mut seed = [0u8; 32];
        rng.fill_bytes(&mut seed);
        let key = Self::from_seed(&seed);
        seed.zeroize();
        key
    }
    /// The key derived from a 32-byte seed (the storable form of the key).
    pub fn from_seed(seed: &[u8; 32]) -> Self {
        let mini = schnorrkel::MiniSecretKey::from_bytes(seed)
            .expect("a 32-byte slice is always a valid mini secret key");
        SigningKey {
            keypair: mini.expand_to_keypair(schnorrkel::ExpansionMode::Uniform),
        }
    }
    /// The public key.
    pub fn public(&self) -> PublicKey {
        PublicKey::from_point(*self.keypair.public.as_point())
    }
    /// Signs `msg` in dfc's authorisation context.
    pub fn sign(&self, msg: &[u8]) -> Signature {
        Signature {
            inner: SigInner::Sr25519(self.keypair.sign_simple(AUTH_CONTEXT, msg)),
        }
    }
}

/// A view key: lets its holder read the openings of notes addressed to the wallet.
#[derive(Clone, Zeroize)]
#[zeroize(drop)]
pub struct ViewKey {
    secret: Scalar,
}

impl ViewKey {
    /// A view key from 64 bytes of key material, reduced modulo the group order.
    pub fn from_wide(bytes: &[u8; 64]) -> Self {
        ViewKey {
            secret: Scalar::from_bytes_mod_order_wide(bytes),
        }
    }
    /// The public view key.
    pub fn public(&self) -> PublicKey {
        PublicKey::from_point(self.secret * RISTRETTO_BASEPOINT_POINT)
    }
    pub(crate) fn scalar(&self) -> &Scalar {
        &self.secret
    }
}

/// A wallet's two keys, derived from one seed (the recovery phrase's seed).
#[derive(Clone)]
pub struct WalletKeys {
    /// Authorises spending of the wallet's notes.
    pub spend: SigningKey,
    /// Reads the openings of the wallet's notes.
    pub view: ViewKey,
    purse_root: [u8; 32],
}

impl Drop for WalletKeys {
    fn drop(&mut self) {
        self.purse_root.zeroize();
    }
}

impl WalletKeys {
    /// Derives both keys from seed material with HKDF-SHA256 under separate labels.
    pub fn from_seed(seed: &[u8]) -> Self {
        let hk = Hkdf::<Sha256>::new(Some(b"dfc/wallet-keys/v1"), seed);
        let mut spend_seed = [0u8; 32];
        let mut view_wide = [0u8; 64];
        let mut purse_root = [0u8; 32];
        hk.expand(b"purse", &mut purse_root)
            .expect("32 bytes is a valid HKDF-SHA256 output length");
        hk.expand(b"spend", &mut spend_seed)
            .expect("32 bytes is a valid HKDF-SHA256 output length");
        hk.expand(b"view", &mut view_wide)
            .expect("64 bytes is a valid HKDF-SHA256 output length");
        let keys = WalletKeys {
            spend: SigningKey::from_seed(&spend_seed),
            view: ViewKey::from_wide(&view_wide),
            purse_root,
        };
        spend_seed.zeroize();
        view_wide.zeroize();
        keys
    }
    /// The key of the wallet's offline purse number `serial`: a key of its own, so purse notes are
    /// told apart from the wallet's online notes and a certificate can name it.
    pub fn purse_key(&self, serial: u64) -> SigningKey {
        let hk = Hkdf::<Sha256>::new(Some(b"dfc/purse-key/v1"), &self.purse_root);
        let mut seed = [0u8; 32];
        hk.expand(&serial.to_le_bytes(), &mut seed)
            .expect("32 bytes is a valid HKDF-SHA256 output length");
        let key = SigningKey::from_seed(&seed);
        seed.zeroize();
        key
    }

    /// The address of purse `serial`: notes locked to the purse key, openings readable with the
    /// wallet's view key.
    pub fn purse_address(&self, network: u32, serial: u64) -> crate::address::Address {
        crate::address::Address {
            network,
            spend: self.purse_key(serial).public(),
            view: self.view.public(),
        }
    }

    /// The wallet's address on `network`.
    pub fn address(&self, network: u32) -> crate::address::Address {
        crate::address::Address {
            network,
            spend: self.spend.public(),
            view: self.view.public(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sign_verify_and_wrong_message() {
        let key = SigningKey::from_seed(&[7u8; 32]);
        let sig = key.sign(b"hello");
        assert!(key.public().verify(b"hello", &sig));
        assert!(!key.public().verify(b"hellp", &sig));
        let other = SigningKey::from_seed(&[8u8; 32]);
        assert!(!other.public().verify(b"hello", &sig));
    }

    #[test]
    fn identity_key_refused() {
        assert_eq!(
            PublicKey::from_bytes(&[0u8; 32]),
            Err(DecodeError::IdentityPoint { field: "point" }).map_err(|_: DecodeError| {
                DecodeError::IdentityPoint {
                    field: "public key",
                }
            })
        );
    }
}
