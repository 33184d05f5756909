//! Notes: the outputs of transactions. A note is a Pedersen commitment to its amount, the public key
//! of its owner, and the opening (amount, blinding, memo) encrypted so only the owner can read it.

use bulletproofs::PedersenGens;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::ChaCha20Poly1305;
use curve25519_dalek::constants::RISTRETTO_BASEPOINT_POINT;
use curve25519_dalek::ristretto::{CompressedRistretto, RistrettoPoint};
use curve25519_dalek::scalar::Scalar;
use hkdf::Hkdf;
use rand_core::{CryptoRng, RngCore};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sha2::Sha256;
use std::fmt;
use zeroize::Zeroize;

use crate::address::Address;
use crate::amount::Amount;
use crate::codec::{decode_point, decode_scalar, hex_array, Reader, Writer};
use crate::error::DecodeError;
use crate::keys::{PublicKey, ViewKey};
use crate::transcript::{hash32, NOTE_ID_DOMAIN};

/// Longest memo a note may carry, in bytes.
pub const MAX_MEMO_BYTES: usize = 64;
/// AEAD tag length.
const TAG_BYTES: usize = 16;
/// Plaintext length of an opening without its memo: amount, blinding, memo length.
const OPENING_FIXED_BYTES: usize = 8 + 32 + 1;
/// Shortest encrypted opening.
pub const MIN_CIPHERTEXT_BYTES: usize = OPENING_FIXED_BYTES + TAG_BYTES;
/// Longest encrypted opening.
pub const MAX_CIPHERTEXT_BYTES: usize = MIN_CIPHERTEXT_BYTES + MAX_MEMO_BYTES;

/// The Pedersen generators of dfc: `B` for values, `B_blinding` for blindings. Built once per
/// process: `PedersenGens::default()` hashes to the curve for `B_blinding` on every call, which
/// the verifiers would otherwise pay several times per transaction.
pub fn pedersen_gens() -> PedersenGens {
    static GENS: std::sync::OnceLock<PedersenGens> = std::sync::OnceLock::new();
    *GENS.get_or_init(PedersenGens::default)
}

/// A Pedersen commitment `v·B + r·B_blinding` to an amount `v` with blinding `r`.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Commitment {
    compressed: CompressedRistretto,
    point: RistrettoPoint,
}

impl Commitment {
    /// Decodes a canonical, non-identity commitment.
    pub fn from_bytes(bytes: &[u8; 32]) -> Result<Self, DecodeError> {
        let (compressed, point) = decode_point(bytes, "commitment")?;
        Ok(Commitment { compressed, point })
    }
    /// Commits to `amount` with `blinding`.
    pub fn commit(amount: Amount, blinding: &Scalar) -> Self {
        let point = pedersen_gens().commit(Scalar::from(amount.units()), *blinding);
        Commitment {
            compressed: point.compress(),
            point,
        }
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
}

crate::codec::point_traits!(Commitment, "commitment");

/// A 32-byte identifier (transaction id, note id, block hash).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Hash32(pub [u8; 32]);

impl Hash32 {
    /// Lower-case hex.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }
    /// Parses 64 hex characters.
    pub fn from_hex(text: &str) -> Result<Self, DecodeError> {
        hex_array::<32>(text, "hash").map(Hash32)
    }
}

impl fmt::Debug for Hash32 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl fmt::Display for Hash32 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl Serialize for Hash32 {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_hex())
    }
}

impl<'de> Deserialize<'de> for Hash32 {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        Hash32::from_hex(&text).map_err(serde::de::Error::custom)
    }
}

/// A transaction id: the hash of a transaction's body (see [`crate::Transaction::id`]).
pub type TxId = Hash32;
/// A note id: the hash of the creating transaction's id and the output index.
pub type NoteId = Hash32;

/// The id of output `index` of transaction `txid`.
pub fn note_id(txid: &TxId, index: usize) -> NoteId {
    let index = u64::try_from(index).unwrap_or(u64::MAX);
    Hash32(hash32(
        NOTE_ID_DOMAIN,
        &[(b"txid", &txid.0), (b"index", &index.to_le_bytes())],
    ))
}

/// The secret opening of a note: what the owner needs to spend it.
#[derive(Clone, PartialEq, Eq, Zeroize)]
#[zeroize(drop)]
pub struct Opening {
    /// The amount.
    #[zeroize(skip)]
    pub amount: Amount,
    /// The blinding of the commitment.
    pub blinding: Scalar,
    /// A short free-text note from the payer.
    pub memo: Vec<u8>,
}

impl fmt::Debug for Opening {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Opening({} units, memo {} bytes)",
            self.amount.units(),
            self.memo.len()
        )
    }
}

impl Opening {
    /// A new opening with a random blinding.
    pub fn random<R: RngCore + CryptoRng>(amount: Amount, memo: Vec<u8>, rng: &mut R) -> Self {
        Opening {
            amount,
            blinding: Scalar::random(rng),
            memo,
        }
    }
    /// The commitment this opening opens.
    pub fn commitment(&self) -> Commitment {
        Commitment::commit(self.amount, &self.blinding)
    }
    fn encode(&self) -> Vec<u8> {
        let mut w = Writer::new();
        w.u64(self.amount.units());
        w.bytes(self.blinding.as_bytes());
        w.u8(u8::try_from(self.memo.len()).unwrap_or(u8::MAX));
        w.bytes(&self.memo);
        w.finish()
    }
    fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(bytes);
        let amount =
            Amount::from_units(r.u64("opening amount")?).map_err(|source| DecodeError::Amount {
                field: "opening amount",
                source,
            })?;
        let blinding = decode_scalar(r.array("opening blinding")?, "opening blinding")?;
        let len = r.count("memo", MAX_MEMO_BYTES)?;
        let memo = r.take(len, "memo")?.to_vec();
        r.finish()?;
        Ok(Opening {
            amount,
            blinding,
            memo,
        })
    }
}

/// A transaction output: a new note.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Output {
    /// Commitment to the amount.
    pub commitment: Commitment,
    /// Key that must sign to spend the note.
    pub owner: PublicKey,
    /// The payer's ephemeral Diffie-Hellman key for the encrypted opening.
    pub ephemeral: PublicKey,
    /// The opening, encrypted to the owner's view key (ChaCha20-Poly1305).
    #[serde(with = "hex_bytes")]
    pub encrypted_opening: Vec<u8>,
}

/// Why an opening could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OpeningError {
    /// The ciphertext does not decrypt under this view key: the note is not ours, or was altered.
    #[error("the note's opening does not decrypt with this view key")]
    Undecryptable,
    /// The plaintext is malformed.
    #[error("the note's opening is malformed: {0}")]
    Malformed(#[from] DecodeError),
    /// The opening does not open the commitment: the payer lied about the amount.
    #[error("the note's opening does not match its commitment")]
    Mismatch,
}

fn note_cipher(
    shared: &RistrettoPoint,
    ephemeral: &PublicKey,
    owner: &PublicKey,
    commitment: &Commitment,
) -> ChaCha20Poly1305 {
    let mut info = Vec::with_capacity(96);
    info.extend_from_slice(&ephemeral.to_bytes());
    info.extend_from_slice(&owner.to_bytes());
    info.extend_from_slice(&commitment.to_bytes());
    let hk = Hkdf::<Sha256>::new(Some(b"dfc/note-key/v1"), shared.compress().as_bytes());
    let mut key = [0u8; 32];
    hk.expand(&info, &mut key)
        .expect("32 bytes is a valid HKDF-SHA256 output length");
    let cipher = ChaCha20Poly1305::new(&key.into());
    key.zeroize();
    cipher
}

impl Output {
    /// Builds the output paying `opening` to `to`, encrypting the opening to its view key.
    pub fn new<R: RngCore + CryptoRng>(to: &Address, opening: &Opening, rng: &mut R) -> Self {
        let commitment = opening.commitment();
        let eph_secret = Scalar::random(rng);
        let ephemeral = PublicKey::from_point(eph_secret * RISTRETTO_BASEPOINT_POINT);
        let shared = eph_secret * to.view.point();
        let cipher = note_cipher(&shared, &ephemeral, &to.spend, &commitment);
        let mut aad = commitment.to_bytes().to_vec();
        aad.extend_from_slice(&to.spend.to_bytes());
        let mut plain = opening.encode();
        let encrypted_opening = cipher
            .encrypt(
                &Default::default(),
                Payload {
                    msg: &plain,
                    aad: &aad,
                },
            )
            .expect("ChaCha20-Poly1305 encryption of a short message cannot fail");
        plain.zeroize();
        Output {
            commitment,
            owner: to.spend,
            ephemeral,
            encrypted_opening,
        }
    }

    /// Decrypts the opening with `view` and checks it opens the commitment.
    pub fn open(&self, view: &ViewKey) -> Result<Opening, OpeningError> {
        let shared = view.scalar() * self.ephemeral.point();
        let cipher = note_cipher(&shared, &self.ephemeral, &self.owner, &self.commitment);
        let mut aad = self.commitment.to_bytes().to_vec();
        aad.extend_from_slice(&self.owner.to_bytes());
        let mut plain = cipher
            .decrypt(
                &Default::default(),
                Payload {
                    msg: &self.encrypted_opening,
                    aad: &aad,
                },
            )
            .map_err(|_| OpeningError::Undecryptable)?;
        let opening = Opening::decode(&plain);
        plain.zeroize();
        let opening = opening?;
        if opening.commitment() != self.commitment {
            return Err(OpeningError::Mismatch);
        }
        Ok(opening)
    }

    pub(crate) fn encode(&self, w: &mut Writer) {
        w.bytes(&self.commitment.to_bytes());
        w.bytes(&self.owner.to_bytes());
        w.bytes(&self.ephemeral.to_bytes());
        w.u8(u8::try_from(self.encrypted_opening.len()).unwrap_or(u8::MAX));
        w.bytes(&self.encrypted_opening);
    }

    pub(crate) fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let commitment = Commitment::from_bytes(&r.array("output commitment")?)?;
        let owner = PublicKey::from_bytes(&r.array("output owner")?)?;
        let ephemeral = PublicKey::from_bytes(&r.array("output ephemeral key")?)?;
        let len = r.count("encrypted opening", MAX_CIPHERTEXT_BYTES)?;
        if len < MIN_CIPHERTEXT_BYTES {
            return Err(DecodeError::BadLength {
                field: "encrypted opening",
                len,
                expected: format!("{MIN_CIPHERTEXT_BYTES} to {MAX_CIPHERTEXT_BYTES}"),
            });
        }
        let encrypted_opening = r.take(len, "encrypted opening")?.to_vec();
        Ok(Output {
            commitment,
            owner,
            ephemeral,
            encrypted_opening,
        })
    }
}

/// Serde helper: bytes as lower-case hex.
pub mod hex_bytes {
    use serde::{Deserialize, Deserializer, Serializer};
    /// Serialises bytes as hex.
    pub fn serialize<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(bytes))
    }
    /// Deserialises hex into bytes.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let text = String::deserialize(d)?;
        hex::decode(text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::WalletKeys;
    use rand_chacha::rand_core::SeedableRng;
    use rand_chacha::ChaCha20Rng;

    #[test]
    fn encrypt_open_round_trip_and_wrong_key() {
        let mut rng = ChaCha20Rng::seed_from_u64(1);
        let alice = WalletKeys::from_seed(b"alice");
        let bob = WalletKeys::from_seed(b"bob");
        let amount = Amount::from_units(1234).expect("small");
        let opening = Opening::random(amount, b"rent".to_vec(), &mut rng);
        let out = Output::new(&alice.address(1), &opening, &mut rng);
        assert_eq!(out.open(&alice.view), Ok(opening.clone()));
        assert_eq!(out.open(&bob.view), Err(OpeningError::Undecryptable));
        let mut tampered = out.clone();
        tampered.encrypted_opening[3] ^= 1;
        assert_eq!(tampered.open(&alice.view), Err(OpeningError::Undecryptable));
    }
}
