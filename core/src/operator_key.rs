//! Operator (issuer) keys carry their signature algorithm: sr25519 (schnorrkel, as every other
//! key of the protocol) or Ed25519, so an operator can keep its key in a hardware token
//! (PKCS#11 tokens offer Ed25519, `CKM_EDDSA`, and no sr25519).
//!
//! Both algorithms sign the same domain-separated bytes: sr25519 signs `msg` under the signing
//! context [`AUTH_CONTEXT`]; Ed25519 signs [`ed25519_message`]`(msg)`, which is `AUTH_CONTEXT`
//! followed by `msg` (a fixed-length prefix, so the split is unambiguous). `msg` itself is always
//! a domain-separated hash (an operator request's `signing_hash`, a transaction id, a governance
//! digest), so an Ed25519 operator signature over one kind of message never verifies as another.
//!
//! Encoding: an sr25519 key is 64 hex characters exactly as before algorithm tags existed, so
//! parameters, their hash, genesis hashes and requests of sr25519 operators are byte-identical
//! to theirs; an Ed25519 key is `ed25519:` and 64 hex characters, in JSON and in the parameters'
//! hash input alike.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::codec::hex_array;
use crate::error::DecodeError;
use crate::keys::{PublicKey, Signature};
use crate::transcript::AUTH_CONTEXT;

/// The prefix of an Ed25519 operator key's text form.
pub const ED25519_PREFIX: &str = "ed25519:";

/// The bytes an Ed25519 operator key signs for `msg`: [`AUTH_CONTEXT`] then `msg`.
pub fn ed25519_message(msg: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(AUTH_CONTEXT.len() + msg.len());
    out.extend_from_slice(AUTH_CONTEXT);
    out.extend_from_slice(msg);
    out
}

/// An Ed25519 public key: a valid curve point that is not of small order.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Ed25519Key(ed25519_dalek::VerifyingKey);

impl Ed25519Key {
    /// Decodes a key, refusing encodings that are not a point and weak (small-order) keys, which
    /// would let one signature verify for many messages.
    pub fn from_bytes(bytes: &[u8; 32]) -> Result<Self, DecodeError> {
        let key = ed25519_dalek::VerifyingKey::from_bytes(bytes).map_err(|_| {
            DecodeError::BadEd25519Key {
                field: "ed25519 key",
            }
        })?;
        if key.is_weak() {
            return Err(DecodeError::BadEd25519Key {
                field: "ed25519 key",
            });
        }
        Ok(Ed25519Key(key))
    }
    /// The 32-byte encoding.
    pub fn to_bytes(&self) -> [u8; 32] {
        self.0.to_bytes()
    }
    /// Verifies `sig` over [`ed25519_message`]`(msg)` (strict: canonical `R` and `s`, no
    /// small-order components).
    pub fn verify(&self, msg: &[u8], sig: &Signature) -> bool {
        if !sig.is_ed25519() {
            return false;
        }
        let sig = ed25519_dalek::Signature::from_bytes(&sig.to_bytes());
        self.0.verify_strict(&ed25519_message(msg), &sig).is_ok()
    }
}

/// The signature algorithm of an operator key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Algorithm {
    /// schnorrkel over Ristretto, as every other key of the protocol.
    Sr25519,
    /// Ed25519 (RFC 8032, pure), for keys held in PKCS#11 tokens.
    Ed25519,
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Algorithm::Sr25519 => "sr25519",
            Algorithm::Ed25519 => "ed25519",
        })
    }
}

/// An operator's public key with its algorithm.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum OperatorKey {
    /// An sr25519 key (every operator key before algorithm tags).
    Sr25519(PublicKey),
    /// An Ed25519 key (a key in a hardware token).
    Ed25519(Ed25519Key),
}

impl OperatorKey {
    /// The algorithm.
    pub fn algorithm(&self) -> Algorithm {
        match self {
            OperatorKey::Sr25519(_) => Algorithm::Sr25519,
            OperatorKey::Ed25519(_) => Algorithm::Ed25519,
        }
    }
    /// The 32 bytes of the key, without its algorithm: use [`OperatorKey`]'s `Display` form
    /// wherever the algorithm must be bound too.
    pub fn to_bytes(&self) -> [u8; 32] {
        match self {
            OperatorKey::Sr25519(k) => k.to_bytes(),
            OperatorKey::Ed25519(k) => k.to_bytes(),
        }
    }
    /// Verifies an operator signature over `msg` (a domain-separated hash) by this key, in its
    /// algorithm. A signature of the other algorithm never verifies.
    pub fn verify(&self, msg: &[u8], sig: &Signature) -> bool {
        match self {
            OperatorKey::Sr25519(k) => k.verify(msg, sig),
            OperatorKey::Ed25519(k) => k.verify(msg, sig),
        }
    }
    /// The sr25519 key, if this is one (for batch verification).
    pub fn sr25519(&self) -> Option<&PublicKey> {
        match self {
            OperatorKey::Sr25519(k) => Some(k),
            OperatorKey::Ed25519(_) => None,
        }
    }
}

impl From<PublicKey> for OperatorKey {
    fn from(k: PublicKey) -> Self {
        OperatorKey::Sr25519(k)
    }
}

impl PartialEq<PublicKey> for OperatorKey {
    fn eq(&self, other: &PublicKey) -> bool {
        self.sr25519() == Some(other)
    }
}

/// Lets an issuer list be collected from sr25519 keys, as it was before keys carried an
/// algorithm (`keys.iter().map(SigningKey::public).collect()`).
impl FromIterator<PublicKey> for Vec<OperatorKey> {
    fn from_iter<I: IntoIterator<Item = PublicKey>>(iter: I) -> Self {
        iter.into_iter().map(OperatorKey::Sr25519).collect()
    }
}

impl fmt::Display for OperatorKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OperatorKey::Sr25519(k) => f.write_str(&hex::encode(k.to_bytes())),
            OperatorKey::Ed25519(k) => write!(f, "{ED25519_PREFIX}{}", hex::encode(k.to_bytes())),
        }
    }
}

impl fmt::Debug for OperatorKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "OperatorKey({self})")
    }
}

impl std::hash::Hash for OperatorKey {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.to_string().hash(state);
    }
}

impl FromStr for OperatorKey {
    type Err = DecodeError;
    /// `ed25519:HEX` is an Ed25519 key; `sr25519:HEX` or bare `HEX` an sr25519 key.
    fn from_str(text: &str) -> Result<Self, DecodeError> {
        if let Some(hex) = text.strip_prefix(ED25519_PREFIX) {
            let bytes = hex_array::<32>(hex, "ed25519 key")?;
            return Ed25519Key::from_bytes(&bytes).map(OperatorKey::Ed25519);
        }
        let hex = text.strip_prefix("sr25519:").unwrap_or(text);
        let bytes = hex_array::<32>(hex, "operator key")?;
        PublicKey::from_bytes(&bytes).map(OperatorKey::Sr25519)
    }
}

impl Serialize for OperatorKey {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

impl<'de> Deserialize<'de> for OperatorKey {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::SigningKey;

    fn ed(seed: u8) -> (ed25519_dalek::SigningKey, OperatorKey) {
        let sk = ed25519_dalek::SigningKey::from_bytes(&[seed; 32]);
        let pk = Ed25519Key::from_bytes(&sk.verifying_key().to_bytes()).expect("valid key");
        (sk, OperatorKey::Ed25519(pk))
    }

    fn ed_sign(sk: &ed25519_dalek::SigningKey, msg: &[u8]) -> Signature {
        use ed25519_dalek::Signer;
        Signature::from_ed25519_bytes(&sk.sign(&ed25519_message(msg)).to_bytes())
            .expect("an Ed25519 signature decodes")
    }

    #[test]
    fn ed25519_signs_the_domain_separated_message_only() {
        let (sk, key) = ed(3);
        let sig = ed_sign(&sk, b"hash");
        assert!(key.verify(b"hash", &sig));
        assert!(!key.verify(b"hasi", &sig));
        // The bare message (no context) is not what verifies.
        use ed25519_dalek::Signer;
        let bare = Signature::from_ed25519_bytes(&sk.sign(b"hash").to_bytes()).expect("decodes");
        assert!(!key.verify(b"hash", &bare));
        // Another key does not verify it.
        let (_, other) = ed(4);
        assert!(!other.verify(b"hash", &sig));
    }

    #[test]
    fn algorithms_never_cross() {
        let sr = SigningKey::from_seed(&[1; 32]);
        let sr_key = OperatorKey::from(sr.public());
        let (ed_sk, ed_key) = ed(1);
        let sr_sig = sr.sign(b"m");
        let ed_sig = ed_sign(&ed_sk, b"m");
        assert!(sr_key.verify(b"m", &sr_sig));
        assert!(!sr_key.verify(b"m", &ed_sig));
        assert!(!ed_key.verify(b"m", &sr_sig));
        assert!(!ed_sig.is_ed25519() || ed_sig.to_schnorrkel().is_none());
        // An sr25519 signature keeps its marker bit; an Ed25519 one never has it.
        assert_ne!(sr_sig.to_bytes()[63] & 0x80, 0);
        assert_eq!(ed_sig.to_bytes()[63] & 0x80, 0);
    }

    #[test]
    fn text_forms_round_trip_and_refuse_garbage() {
        let sr_key = OperatorKey::from(SigningKey::from_seed(&[1; 32]).public());
        let (_, ed_key) = ed(2);
        for k in [sr_key, ed_key] {
            let json = serde_json::to_string(&k).expect("serialises");
            assert_eq!(
                serde_json::from_str::<OperatorKey>(&json).expect("parses"),
                k
            );
            assert_eq!(k.to_string().parse::<OperatorKey>().expect("parses"), k);
        }
        assert!(!sr_key.to_string().contains(':'));
        assert!(ed_key.to_string().starts_with("ed25519:"));
        // The identity (a small-order point) is refused as an Ed25519 key.
        let mut identity = [0u8; 32];
        identity[0] = 1;
        assert!(Ed25519Key::from_bytes(&identity).is_err());
        assert!("ed25519:zz".parse::<OperatorKey>().is_err());
    }

    #[test]
    fn non_canonical_ed25519_scalar_is_refused_at_decoding() {
        let mut bytes = [0u8; 64];
        // s = 2^255 - 1 with the marker bit clear: 0x7f.. is above the group order.
        bytes[32..].fill(0xff);
        bytes[63] = 0x7f;
        assert!(Signature::from_bytes(&bytes).is_err());
    }
}
