//! Node and operator key files (`node.key`, `operator-N.key`): a 32-byte sr25519 seed, either
//! encrypted under a passphrase ([`crate::sealed`]: argon2id + XChaCha20-Poly1305, JSON with
//! format `dfc-key`) or, for sandboxes, as 64 plain hex characters (read with a warning).
//!
//! An encrypted file keeps its public key in the clear, bound to the ciphertext as associated
//! data, so the key can be named without the passphrase and a swapped header is refused.

use std::path::{Path, PathBuf};

use dfc_core::{PublicKey, SigningKey};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::passphrase::{Passphrase, PASSPHRASE_ENV};
use crate::sealed::{self, KdfCost, OpenError, CIPHER, KDF, NONCE_BYTES};

const FORMAT: &str = "dfc-key";
const VERSION: u32 = 1;
const ALGORITHM: &str = "sr25519";

/// Why a key file could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum KeyFileError {
    /// The file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file does not hold a key.
    #[error("{path}: {reason}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// The passphrase does not open the file.
    #[error("{path}: wrong passphrase (or the file was altered)")]
    WrongPassphrase {
        /// The file.
        path: PathBuf,
    },
    /// The file is encrypted and no passphrase was given.
    #[error("{path} is encrypted: give its passphrase in {PASSPHRASE_ENV}, with --passphrase-file, or at a terminal prompt")]
    NoPassphrase {
        /// The file.
        path: PathBuf,
    },
    /// The file is already encrypted.
    #[error("{path} is already encrypted")]
    AlreadyEncrypted {
        /// The file.
        path: PathBuf,
    },
}

impl KeyFileError {
    /// A stable code for scripts and tests.
    pub fn code(&self) -> &'static str {
        match self {
            KeyFileError::Io { .. } => "key_file_io",
            KeyFileError::Invalid { .. } => "key_file_invalid",
            KeyFileError::WrongPassphrase { .. } => "wrong_passphrase",
            KeyFileError::NoPassphrase { .. } => "no_passphrase",
            KeyFileError::AlreadyEncrypted { .. } => "already_encrypted",
        }
    }
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct KdfSection {
    algorithm: String,
    #[serde(flatten)]
    cost: KdfCost,
    salt: String,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct EncryptedKeyFile {
    format: String,
    version: u32,
    algorithm: String,
    public_key: String,
    kdf: KdfSection,
    cipher: String,
    nonce: String,
    ciphertext: String,
}

/// How a key was stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AtRest {
    /// Passphrase-encrypted.
    Encrypted,
    /// Plain hex (a sandbox): anyone who reads the file has the key.
    Plain,
}

fn aad(public_hex: &str, cost: &KdfCost, salt: &str) -> Vec<u8> {
    format!(
        "{FORMAT}/v{VERSION}/{ALGORITHM}/{public_hex}/{KDF}/{}/{}/{}/{salt}/{CIPHER}",
        cost.memory_kib, cost.iterations, cost.parallelism
    )
    .into_bytes()
}

/// The key file of operator `index` in data directory `dir`.
pub fn operator_key_path(dir: &Path, index: usize) -> PathBuf {
    dir.join(format!("operator-{index}.key"))
}

/// Whether the file at `path` is encrypted (without reading the key).
pub fn is_encrypted(path: &Path) -> Result<bool, KeyFileError> {
    let text = std::fs::read_to_string(path).map_err(|source| KeyFileError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    Ok(text.trim_start().starts_with('{'))
}

/// The text of an encrypted key file holding `seed`.
pub fn encrypted_text(
    seed: &[u8; 32],
    passphrase: &str,
    cost: KdfCost,
) -> Result<String, KeyFileError> {
    let invalid = |reason: String| KeyFileError::Invalid {
        path: PathBuf::new(),
        reason,
    };
    if passphrase.is_empty() {
        return Err(invalid("an empty passphrase protects nothing".into()));
    }
    let public_hex = hex::encode(SigningKey::from_seed(seed).public().to_bytes());
    // The salt is chosen by `seal`; bind it after the fact by sealing under a fixed AAD built
    // from a salt we choose here.
    let mut salt = [0u8; sealed::SALT_BYTES];
    rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut salt);
    let salt_hex = hex::encode(salt);
    let key = sealed::derive_key(passphrase, &salt, cost).map_err(invalid)?;
    let mut nonce = [0u8; NONCE_BYTES];
    rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut nonce);
    let ciphertext = {
        use chacha20poly1305::aead::{Aead, KeyInit, Payload};
        chacha20poly1305::XChaCha20Poly1305::new_from_slice(key.as_ref())
            .map_err(|e| invalid(e.to_string()))?
            .encrypt(
                chacha20poly1305::XNonce::from_slice(&nonce),
                Payload {
                    msg: seed,
                    aad: &aad(&public_hex, &cost, &salt_hex),
                },
            )
            .map_err(|e| invalid(e.to_string()))?
    };
    let file = EncryptedKeyFile {
        format: FORMAT.into(),
        version: VERSION,
        algorithm: ALGORITHM.into(),
        public_key: public_hex,
        kdf: KdfSection {
            algorithm: KDF.into(),
            cost,
            salt: salt_hex,
        },
        cipher: CIPHER.into(),
        nonce: hex::encode(nonce),
        ciphertext: hex::encode(ciphertext),
    };
    serde_json::to_string_pretty(&file).map_err(|e| invalid(e.to_string()))
}

/// Writes `seed` to `path`, encrypted under `passphrase` (atomically, owner-only).
pub fn write_encrypted(
    path: &Path,
    seed: &[u8; 32],
    passphrase: &str,
    cost: KdfCost,
) -> Result<(), KeyFileError> {
    let text = encrypted_text(seed, passphrase, cost).map_err(|e| match e {
        KeyFileError::Invalid { reason, .. } => KeyFileError::Invalid {
            path: path.to_path_buf(),
            reason,
        },
        e => e,
    })?;
    sealed::write_atomic(path, text.as_bytes()).map_err(|source| KeyFileError::Io {
        path: path.to_path_buf(),
        source,
    })
}

fn read_plain(path: &Path, text: &str) -> Result<Zeroizing<[u8; 32]>, KeyFileError> {
    let bytes = Zeroizing::new(hex::decode(text.trim()).map_err(|e| KeyFileError::Invalid {
        path: path.to_path_buf(),
        reason: format!("neither an encrypted key file nor hex: {e}"),
    })?);
    let seed: [u8; 32] = bytes
        .as_slice()
        .try_into()
        .map_err(|_| KeyFileError::Invalid {
            path: path.to_path_buf(),
            reason: "a plain key file holds 32 bytes as 64 hex characters".into(),
        })?;
    Ok(Zeroizing::new(seed))
}

fn read_encrypted(
    path: &Path,
    text: &str,
    passphrase: &Passphrase,
) -> Result<Zeroizing<[u8; 32]>, KeyFileError> {
    let invalid = |reason: String| KeyFileError::Invalid {
        path: path.to_path_buf(),
        reason,
    };
    let file: EncryptedKeyFile = serde_json::from_str(text)
        .map_err(|e| invalid(format!("not a readable dfc key file ({e})")))?;
    if file.format != FORMAT || file.version != VERSION {
        return Err(invalid(format!(
            "format {} version {} is not {FORMAT} version {VERSION}",
            file.format, file.version
        )));
    }
    if file.algorithm != ALGORITHM || file.kdf.algorithm != KDF || file.cipher != CIPHER {
        return Err(invalid(format!(
            "unsupported algorithms {} / {} / {}",
            file.algorithm, file.kdf.algorithm, file.cipher
        )));
    }
    if !file.kdf.cost.within_limits() {
        return Err(invalid(format!(
            "key derivation cost {:?} is above the accepted maximum",
            file.kdf.cost
        )));
    }
    let salt = hex::decode(&file.kdf.salt).map_err(|_| invalid("salt is not hex".into()))?;
    let nonce: [u8; NONCE_BYTES] = hex::decode(&file.nonce)
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| invalid("nonce is not 24 bytes of hex".into()))?;
    let ct = hex::decode(&file.ciphertext).map_err(|_| invalid("ciphertext is not hex".into()))?;
    let pass = passphrase.get(path)?;
    let plain = sealed::open(
        &pass,
        file.kdf.cost,
        &salt,
        &nonce,
        &aad(&file.public_key, &file.kdf.cost, &file.kdf.salt),
        &ct,
    )
    .map_err(|e| match e {
        OpenError::WrongPassphrase => KeyFileError::WrongPassphrase {
            path: path.to_path_buf(),
        },
        OpenError::Kdf(reason) => invalid(reason),
    })?;
    let seed: [u8; 32] = plain
        .as_slice()
        .try_into()
        .map_err(|_| invalid("the decrypted seed is not 32 bytes".into()))?;
    let seed = Zeroizing::new(seed);
    if hex::encode(SigningKey::from_seed(&seed).public().to_bytes()) != file.public_key {
        return Err(invalid(
            "the decrypted key does not match the public key in the file".into(),
        ));
    }
    Ok(seed)
}

/// The public key an encrypted key file names in its clear header, read without the passphrase
/// (to tell which key a file holds, e.g. when assessing what sits beside a ledger). The header is
/// bound to the ciphertext, so a file whose header was swapped names a key it cannot open as.
pub fn stated_public_key(path: &Path) -> Result<PublicKey, KeyFileError> {
    let invalid = |reason: String| KeyFileError::Invalid {
        path: path.to_path_buf(),
        reason,
    };
    let text = std::fs::read_to_string(path).map_err(|source| KeyFileError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let file: EncryptedKeyFile = serde_json::from_str(&text)
        .map_err(|e| invalid(format!("not a readable dfc key file ({e})")))?;
    if file.format != FORMAT || file.algorithm != ALGORITHM {
        return Err(invalid(format!(
            "format {} algorithm {} is not {FORMAT} {ALGORITHM}",
            file.format, file.algorithm
        )));
    }
    let bytes: [u8; 32] = hex::decode(&file.public_key)
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| invalid("public key is not 32 bytes of hex".into()))?;
    PublicKey::from_bytes(&bytes).map_err(|e| invalid(format!("public key: {e}")))
}

/// Reads the seed of a key file, plain or encrypted, and says which it was.
pub fn read_seed(
    path: &Path,
    passphrase: &Passphrase,
) -> Result<(Zeroizing<[u8; 32]>, AtRest), KeyFileError> {
    let text =
        Zeroizing::new(
            std::fs::read_to_string(path).map_err(|source| KeyFileError::Io {
                path: path.to_path_buf(),
                source,
            })?,
        );
    if text.trim_start().starts_with('{') {
        Ok((read_encrypted(path, &text, passphrase)?, AtRest::Encrypted))
    } else {
        Ok((read_plain(path, &text)?, AtRest::Plain))
    }
}

/// Reads a key file, plain or encrypted; a plain file is read with a warning on stderr (fit for
/// a sandbox only).
pub fn read_key(path: &Path, passphrase: &Passphrase) -> Result<SigningKey, KeyFileError> {
    let (seed, at_rest) = read_seed(path, passphrase)?;
    if at_rest == AtRest::Plain {
        eprintln!(
            "warning: {} is a plain-hex key file (not encrypted): fit for a sandbox only; \
             encrypt it with `dfc-bank keys encrypt`",
            path.display()
        );
    }
    Ok(SigningKey::from_seed(&seed))
}

/// Encrypts a plain key file in place under `passphrase` (atomically: a crash leaves the plain
/// file or the encrypted one). Refuses an already encrypted file.
pub fn encrypt_in_place(path: &Path, passphrase: &str, cost: KdfCost) -> Result<(), KeyFileError> {
    if is_encrypted(path)? {
        return Err(KeyFileError::AlreadyEncrypted {
            path: path.to_path_buf(),
        });
    }
    let (seed, _) = read_seed(path, &Passphrase::default())?;
    write_encrypted(path, &seed, passphrase, cost)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encrypted_round_trip_wrong_passphrase_and_plain() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("operator-0.key");
        std::fs::write(&path, hex::encode([7u8; 32])).expect("write");
        let plain = read_key(&path, &Passphrase::given("x")).expect("plain reads");
        encrypt_in_place(&path, "good", KdfCost::insecure_for_tests()).expect("encrypt");
        assert!(is_encrypted(&path).expect("read"));
        let text = std::fs::read_to_string(&path).expect("read");
        assert!(!text.contains(&hex::encode([7u8; 32])));
        let key = read_key(&path, &Passphrase::given("good")).expect("unlocks");
        assert_eq!(key.public(), plain.public());
        let err = read_key(&path, &Passphrase::given("bad")).err();
        assert!(
            matches!(err, Some(KeyFileError::WrongPassphrase { .. })),
            "{err:?}"
        );
        assert!(matches!(
            encrypt_in_place(&path, "good", KdfCost::insecure_for_tests()),
            Err(KeyFileError::AlreadyEncrypted { .. })
        ));
        assert_eq!(
            stated_public_key(&path).expect("header"),
            plain.public(),
            "the header names the key without the passphrase"
        );
        // A swapped public key in the header is refused, not silently used.
        let other = hex::encode(SigningKey::from_seed(&[8u8; 32]).public().to_bytes());
        let swapped = text.replace(&hex::encode(plain.public().to_bytes()), &other);
        std::fs::write(&path, swapped).expect("write");
        assert!(read_key(&path, &Passphrase::given("good")).is_err());
    }
}
