//! Keys at rest: the wallet's 64-byte BIP-39 seed, encrypted with a key derived from the passphrase
//! by argon2id, under XChaCha20-Poly1305.
//!
//! The key file (`keys.json`) is JSON with a SHA-256 checksum over all its other fields. A file whose
//! checksum fails is reported as corrupted; a file whose checksum holds but whose ciphertext does not
//! decrypt is reported as a wrong passphrase. The public spend and view keys are kept in the clear
//! (they are in the address anyway) and bound to the ciphertext as associated data, so the wallet's
//! address can be shown without the passphrase and a swapped header cannot go unnoticed.
//!
//! From the seed come the spend and view keys ([`WalletKeys::from_seed`]) and, under a separate HKDF
//! label, the [`DataKey`] that encrypts secret values in the wallet database.

use std::fs;
use std::io::Write;
use std::path::Path;

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use dfc_core::{PublicKey, WalletKeys};
use hkdf::Hkdf;
use rand_core::{OsRng, RngCore};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use zeroize::{Zeroize, Zeroizing};

use crate::error::{Result, WalletError};
// The passphrase sealing (argon2id, XChaCha20-Poly1305, cost limits, owner-only files) is shared
// with the node's and operators' key files in `dfc-keys`.
pub use dfc_keys::sealed::KdfCost;
use dfc_keys::sealed::{derive_key, private_file, CIPHER, KDF, NONCE_BYTES, SALT_BYTES};

const FORMAT: &str = "dfc-wallet-keys";
const VERSION: u32 = 1;
const SEED_BYTES: usize = 64;

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct KdfSection {
    algorithm: String,
    #[serde(flatten)]
    cost: KdfCost,
    salt: String,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct KeyFile {
    format: String,
    version: u32,
    spend_key: String,
    view_key: String,
    kdf: KdfSection,
    cipher: String,
    nonce: String,
    ciphertext: String,
    checksum: String,
}

impl KeyFile {
    /// SHA-256 over every field but the checksum, each length-prefixed in a fixed order.
    fn compute_checksum(&self) -> String {
        let mut h = Sha256::new();
        let fields = [
            self.format.as_str(),
            &self.version.to_string(),
            &self.spend_key,
            &self.view_key,
            &self.kdf.algorithm,
            &self.kdf.cost.memory_kib.to_string(),
            &self.kdf.cost.iterations.to_string(),
            &self.kdf.cost.parallelism.to_string(),
            &self.kdf.salt,
            &self.cipher,
            &self.nonce,
            &self.ciphertext,
        ];
        for f in fields {
            h.update((f.len() as u64).to_le_bytes());
            h.update(f.as_bytes());
        }
        hex::encode(h.finalize())
    }
}

/// The public half of a wallet, readable without the passphrase.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PublicKeys {
    /// Spend (owner) key.
    pub spend: PublicKey,
    /// View key.
    pub view: PublicKey,
}

/// The key that encrypts secret values in the wallet database (XChaCha20-Poly1305).
pub struct DataKey {
    key: Zeroizing<[u8; 32]>,
}

impl DataKey {
    /// Derives the data key from the wallet seed, under its own HKDF label.
    pub fn from_seed(seed: &[u8]) -> Self {
        let hk = Hkdf::<Sha256>::new(Some(b"dfc/wallet-data-key/v1"), seed);
        let mut key = Zeroizing::new([0u8; 32]);
        hk.expand(b"sqlite-values", key.as_mut())
            .expect("32 bytes is a valid HKDF-SHA256 output length");
        DataKey { key }
    }

    fn cipher(&self) -> XChaCha20Poly1305 {
        XChaCha20Poly1305::new_from_slice(self.key.as_ref()).expect("the data key is 32 bytes")
    }

    /// Encrypts `plain` bound to `aad` (the table and row it belongs to): `nonce || ciphertext`.
    pub fn seal(&self, aad: &[u8], plain: &[u8]) -> Vec<u8> {
        let mut nonce = [0u8; NONCE_BYTES];
        OsRng.fill_bytes(&mut nonce);
        let ct = self
            .cipher()
            .encrypt(XNonce::from_slice(&nonce), Payload { msg: plain, aad })
            .expect("XChaCha20-Poly1305 encryption of a short message cannot fail");
        let mut out = nonce.to_vec();
        out.extend_from_slice(&ct);
        out
    }

    /// Decrypts a value sealed by [`DataKey::seal`] with the same `aad`; `None` if it was altered,
    /// moved to another row, or sealed under another key.
    pub fn open(&self, aad: &[u8], blob: &[u8]) -> Option<Zeroizing<Vec<u8>>> {
        if blob.len() < NONCE_BYTES {
            return None;
        }
        let (nonce, ct) = blob.split_at(NONCE_BYTES);
        self.cipher()
            .decrypt(XNonce::from_slice(nonce), Payload { msg: ct, aad })
            .ok()
            .map(Zeroizing::new)
    }
}

/// What unlocking a key file yields.
pub struct Unlocked {
    /// The wallet's spend and view keys.
    pub keys: WalletKeys,
    /// The database value key.
    pub data: DataKey,
}

fn aad(spend: &str, view: &str) -> Vec<u8> {
    format!("{FORMAT}/v{VERSION}/{spend}/{view}").into_bytes()
}

/// Writes a new key file at `path` holding `seed`, refusing to overwrite an existing file. The file
/// is written to a temporary name, synced, then renamed into place, so a crash leaves either no key
/// file or a complete one.
pub fn write_key_file(
    path: &Path,
    seed: &[u8; SEED_BYTES],
    passphrase: &str,
    cost: KdfCost,
) -> Result<PublicKeys> {
    if passphrase.is_empty() {
        return Err(WalletError::EmptyPassphrase);
    }
    if path.exists() {
        return Err(WalletError::AlreadyExists {
            path: path.parent().unwrap_or(path).to_path_buf(),
        });
    }
    let keys = WalletKeys::from_seed(seed);
    let public = PublicKeys {
        spend: keys.spend.public(),
        view: keys.view.public(),
    };
    let mut salt = [0u8; SALT_BYTES];
    let mut nonce = [0u8; NONCE_BYTES];
    OsRng.fill_bytes(&mut salt);
    OsRng.fill_bytes(&mut nonce);
    let key =
        derive_key(passphrase, &salt, cost).map_err(|reason| WalletError::CorruptedKeyFile {
            path: path.to_path_buf(),
            reason: format!("key derivation parameters refused: {reason}"),
        })?;
    let spend_hex = hex::encode(public.spend.to_bytes());
    let view_hex = hex::encode(public.view.to_bytes());
    let ct = XChaCha20Poly1305::new_from_slice(key.as_ref())
        .expect("the derived key is 32 bytes")
        .encrypt(
            XNonce::from_slice(&nonce),
            Payload {
                msg: seed,
                aad: &aad(&spend_hex, &view_hex),
            },
        )
        .expect("XChaCha20-Poly1305 encryption of 64 bytes cannot fail");
    let mut file = KeyFile {
        format: FORMAT.into(),
        version: VERSION,
        spend_key: spend_hex,
        view_key: view_hex,
        kdf: KdfSection {
            algorithm: KDF.into(),
            cost,
            salt: hex::encode(salt),
        },
        cipher: CIPHER.into(),
        nonce: hex::encode(nonce),
        ciphertext: hex::encode(ct),
        checksum: String::new(),
    };
    file.checksum = file.compute_checksum();
    let text = serde_json::to_string_pretty(&file).expect("a key file always serialises");
    let io = |source| WalletError::Io {
        path: path.to_path_buf(),
        source,
    };
    let tmp = path.with_extension("json.tmp");
    {
        let mut f = private_file(&tmp).map_err(io)?;
        f.write_all(text.as_bytes()).map_err(io)?;
        f.sync_all().map_err(io)?;
    }
    fs::rename(&tmp, path).map_err(io)?;
    if let Some(dir) = path.parent() {
        // Make the rename itself durable.
        if let Ok(d) = fs::File::open(dir) {
            let _ = d.sync_all();
        }
    }
    Ok(public)
}

fn read_key_file(path: &Path) -> Result<(KeyFile, PublicKeys)> {
    let text = match fs::read(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(WalletError::NotFound {
                path: path.parent().unwrap_or(path).to_path_buf(),
            })
        }
        Err(source) => {
            return Err(WalletError::Io {
                path: path.to_path_buf(),
                source,
            })
        }
    };
    let corrupted = |reason: String| WalletError::CorruptedKeyFile {
        path: path.to_path_buf(),
        reason,
    };
    let file: KeyFile = serde_json::from_slice(&text)
        .map_err(|e| corrupted(format!("not a readable dfc wallet key file ({e})")))?;
    if file.format != FORMAT {
        return Err(corrupted(format!(
            "format is '{}', expected '{FORMAT}'",
            file.format
        )));
    }
    if file.version != VERSION {
        return Err(corrupted(format!(
            "unknown key file version {}",
            file.version
        )));
    }
    if file.compute_checksum() != file.checksum {
        return Err(corrupted(
            "checksum mismatch: the file was altered or damaged".into(),
        ));
    }
    if file.kdf.algorithm != KDF || file.cipher != CIPHER {
        return Err(corrupted(format!(
            "unsupported algorithms {} / {}",
            file.kdf.algorithm, file.cipher
        )));
    }
    let c = file.kdf.cost;
    if !c.within_limits() {
        return Err(corrupted(format!(
            "key derivation cost {c:?} is above the accepted maximum"
        )));
    }
    let key = |text: &str, what: &str| -> Result<PublicKey> {
        let bytes: [u8; 32] = hex::decode(text)
            .ok()
            .and_then(|b| b.try_into().ok())
            .ok_or_else(|| corrupted(format!("{what} is not 32 bytes of hex")))?;
        PublicKey::from_bytes(&bytes).map_err(|e| corrupted(format!("{what}: {e}")))
    };
    let public = PublicKeys {
        spend: key(&file.spend_key, "spend key")?,
        view: key(&file.view_key, "view key")?,
    };
    Ok((file, public))
}

/// The wallet's public keys, read without the passphrase (the file's checksum is still checked).
pub fn read_public(path: &Path) -> Result<PublicKeys> {
    read_key_file(path).map(|(_, p)| p)
}

/// Decrypts the key file with `passphrase`.
pub fn unlock(path: &Path, passphrase: &str) -> Result<Unlocked> {
    let (file, public) = read_key_file(path)?;
    let corrupted = |reason: &str| WalletError::CorruptedKeyFile {
        path: path.to_path_buf(),
        reason: reason.to_string(),
    };
    let salt = hex::decode(&file.kdf.salt).map_err(|_| corrupted("salt is not hex"))?;
    let nonce: [u8; NONCE_BYTES] = hex::decode(&file.nonce)
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| corrupted("nonce is not 24 bytes of hex"))?;
    let ct = hex::decode(&file.ciphertext).map_err(|_| corrupted("ciphertext is not hex"))?;
    let key = derive_key(passphrase, &salt, file.kdf.cost)
        .map_err(|e| corrupted(&format!("key derivation: {e}")))?;
    let plain = XChaCha20Poly1305::new_from_slice(key.as_ref())
        .expect("the derived key is 32 bytes")
        .decrypt(
            XNonce::from_slice(&nonce),
            Payload {
                msg: &ct,
                aad: &aad(&file.spend_key, &file.view_key),
            },
        )
        .map_err(|_| WalletError::WrongPassphrase {
            path: path.to_path_buf(),
        })?;
    let mut plain = Zeroizing::new(plain);
    if plain.len() != SEED_BYTES {
        return Err(corrupted("decrypted seed has the wrong length"));
    }
    let keys = WalletKeys::from_seed(&plain);
    let data = DataKey::from_seed(&plain);
    plain.zeroize();
    // The header is authenticated, but check the pair anyway: the keys we will sign with must be
    // the keys the address advertises.
    if keys.spend.public() != public.spend || keys.view.public() != public.view {
        return Err(corrupted(
            "decrypted keys do not match the public keys in the file",
        ));
    }
    Ok(Unlocked { keys, data })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path) -> (std::path::PathBuf, PublicKeys) {
        let path = dir.join("keys.json");
        let public = write_key_file(
            &path,
            &[7u8; 64],
            "correct horse",
            KdfCost::insecure_for_tests(),
        )
        .expect("write");
        (path, public)
    }

    #[test]
    fn unlock_round_trip() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (path, public) = write(dir.path());
        let unlocked = unlock(&path, "correct horse").expect("unlock");
        assert_eq!(unlocked.keys.spend.public(), public.spend);
        assert_eq!(read_public(&path).expect("public"), public);
        let sealed = unlocked.data.seal(b"row", b"secret");
        assert_eq!(
            unlocked
                .data
                .open(b"row", &sealed)
                .as_deref()
                .map(|v| v.as_slice()),
            Some(&b"secret"[..])
        );
        assert!(unlocked.data.open(b"other row", &sealed).is_none());
    }

    #[test]
    fn wrong_passphrase_is_named_and_changes_nothing() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (path, _) = write(dir.path());
        let before = fs::read(&path).expect("read");
        assert!(matches!(
            unlock(&path, "wrong"),
            Err(WalletError::WrongPassphrase { .. })
        ));
        assert_eq!(fs::read(&path).expect("read"), before);
    }

    #[test]
    fn corrupted_file_is_named() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (path, _) = write(dir.path());
        let text = fs::read_to_string(&path).expect("read");
        // Flip one hex digit of the ciphertext: the checksum catches it.
        let file: KeyFile = serde_json::from_str(&text).expect("parse");
        let mut ct = file.ciphertext.clone().into_bytes();
        ct[10] = if ct[10] == b'0' { b'1' } else { b'0' };
        let damaged = text.replace(&file.ciphertext, &String::from_utf8(ct).expect("ascii"));
        fs::write(&path, &damaged).expect("write");
        let err = unlock(&path, "correct horse").err();
        assert!(
            matches!(err, Some(WalletError::CorruptedKeyFile { .. })),
            "{err:?}"
        );
        assert_eq!(fs::read_to_string(&path).expect("read"), damaged);
        // Truncated garbage.
        fs::write(&path, b"{\"format\": \"dfc-wal").expect("write");
        assert!(matches!(
            unlock(&path, "correct horse"),
            Err(WalletError::CorruptedKeyFile { .. })
        ));
        assert!(matches!(
            read_public(&path),
            Err(WalletError::CorruptedKeyFile { .. })
        ));
    }

    #[test]
    fn refuses_overwrite_and_empty_passphrase() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (path, _) = write(dir.path());
        assert!(matches!(
            write_key_file(&path, &[8u8; 64], "x", KdfCost::insecure_for_tests()),
            Err(WalletError::AlreadyExists { .. })
        ));
        let other = dir.path().join("other.json");
        assert!(matches!(
            write_key_file(&other, &[8u8; 64], "", KdfCost::insecure_for_tests()),
            Err(WalletError::EmptyPassphrase)
        ));
    }
}
