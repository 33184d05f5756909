//! Secrets at rest under a passphrase: a key derived by argon2id from the passphrase and a random
//! salt encrypts the secret under XChaCha20-Poly1305, bound to associated data the caller names
//! (the file's format and public key), so a swapped header cannot go unnoticed.
//!
//! Shared by the wallet's key file (`keys.json`) and the node's and operators' key files
//! ([`crate::keyfile`]); moved here from the wallet so both use the one implementation.

use std::fs;
use std::io::Write;
use std::path::Path;

use argon2::{Algorithm, Argon2, Params, Version};
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use rand_core::{OsRng, RngCore};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

/// The cipher's name as written in key files.
pub const CIPHER: &str = "xchacha20poly1305";
/// The key derivation's name as written in key files.
pub const KDF: &str = "argon2id";
/// Nonce length of XChaCha20-Poly1305.
pub const NONCE_BYTES: usize = 24;
/// Salt length of the key derivation.
pub const SALT_BYTES: usize = 16;
/// Largest argon2 memory cost accepted from a key file, so a damaged file cannot ask for terabytes.
pub const MAX_MEMORY_KIB: u32 = 1 << 20;
/// Largest argon2 iteration count accepted from a key file.
pub const MAX_ITERATIONS: u32 = 16;
/// Largest argon2 parallelism accepted from a key file.
pub const MAX_PARALLELISM: u32 = 16;

/// Cost of the passphrase key derivation (argon2id).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KdfCost {
    /// Memory in KiB.
    pub memory_kib: u32,
    /// Passes over the memory.
    pub iterations: u32,
    /// Lanes.
    pub parallelism: u32,
}

impl Default for KdfCost {
    /// 64 MiB, 3 passes, 1 lane: about a tenth of a second on a laptop core, and expensive enough
    /// per guess to make a stolen key file costly to brute-force.
    fn default() -> Self {
        KdfCost {
            memory_kib: 64 * 1024,
            iterations: 3,
            parallelism: 1,
        }
    }
}

impl KdfCost {
    /// A cheap cost for unit tests only.
    pub fn insecure_for_tests() -> Self {
        KdfCost {
            memory_kib: 64,
            iterations: 1,
            parallelism: 1,
        }
    }
    /// Whether a cost read from a file is within the accepted maxima.
    pub fn within_limits(&self) -> bool {
        self.memory_kib <= MAX_MEMORY_KIB
            && self.iterations <= MAX_ITERATIONS
            && self.parallelism <= MAX_PARALLELISM
    }
}

/// Derives the 32-byte encryption key from `passphrase` and `salt`; an error names parameters
/// argon2 refuses.
pub fn derive_key(
    passphrase: &str,
    salt: &[u8],
    cost: KdfCost,
) -> Result<Zeroizing<[u8; 32]>, String> {
    let params = Params::new(cost.memory_kib, cost.iterations, cost.parallelism, Some(32))
        .map_err(|e| e.to_string())?;
    let mut key = Zeroizing::new([0u8; 32]);
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
        .hash_password_into(passphrase.as_bytes(), salt, key.as_mut())
        .map_err(|e| e.to_string())?;
    Ok(key)
}

/// A secret sealed under a passphrase: salt, nonce and ciphertext (with its tag).
pub struct Sealed {
    /// argon2 salt.
    pub salt: [u8; SALT_BYTES],
    /// XChaCha20-Poly1305 nonce.
    pub nonce: [u8; NONCE_BYTES],
    /// Ciphertext and tag.
    pub ciphertext: Vec<u8>,
}

/// Encrypts `secret` under `passphrase` bound to `aad`, with a fresh salt and nonce.
pub fn seal(passphrase: &str, cost: KdfCost, aad: &[u8], secret: &[u8]) -> Result<Sealed, String> {
    let mut salt = [0u8; SALT_BYTES];
    let mut nonce = [0u8; NONCE_BYTES];
    OsRng.fill_bytes(&mut salt);
    OsRng.fill_bytes(&mut nonce);
    let key = derive_key(passphrase, &salt, cost)?;
    let ciphertext = XChaCha20Poly1305::new_from_slice(key.as_ref())
        .map_err(|e| e.to_string())?
        .encrypt(XNonce::from_slice(&nonce), Payload { msg: secret, aad })
        .map_err(|e| e.to_string())?;
    Ok(Sealed {
        salt,
        nonce,
        ciphertext,
    })
}

/// Why [`open`] failed.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// The key derivation refused the file's parameters.
    #[error("key derivation: {0}")]
    Kdf(String),
    /// The ciphertext did not authenticate: a wrong passphrase (the caller has checked the
    /// file's integrity otherwise).
    #[error("wrong passphrase")]
    WrongPassphrase,
}

/// Decrypts a secret sealed by [`seal`] with the same `aad`.
pub fn open(
    passphrase: &str,
    cost: KdfCost,
    salt: &[u8],
    nonce: &[u8; NONCE_BYTES],
    aad: &[u8],
    ciphertext: &[u8],
) -> Result<Zeroizing<Vec<u8>>, OpenError> {
    let key = derive_key(passphrase, salt, cost).map_err(OpenError::Kdf)?;
    XChaCha20Poly1305::new_from_slice(key.as_ref())
        .map_err(|e| OpenError::Kdf(e.to_string()))?
        .decrypt(
            XNonce::from_slice(nonce),
            Payload {
                msg: ciphertext,
                aad,
            },
        )
        .map(Zeroizing::new)
        .map_err(|_| OpenError::WrongPassphrase)
}

/// Opens `path` for writing with owner-only permissions (0600 on Unix).
pub fn private_file(path: &Path) -> std::io::Result<fs::File> {
    let mut opts = fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    opts.open(path)
}

/// Writes `text` to `path` through a temporary file that is synced then renamed into place, so a
/// crash leaves either the old file or the complete new one; the file is owner-only.
pub fn write_atomic(path: &Path, text: &[u8]) -> std::io::Result<()> {
    let mut tmp_name = path.as_os_str().to_owned();
    tmp_name.push(".tmp");
    let tmp = std::path::PathBuf::from(tmp_name);
    {
        let mut f = private_file(&tmp)?;
        f.write_all(text)?;
        f.sync_all()?;
    }
    fs::rename(&tmp, path)?;
    if let Some(dir) = path.parent() {
        // Make the rename itself durable.
        if let Ok(d) = fs::File::open(dir) {
            let _ = d.sync_all();
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seal_open_round_trip_and_refusals() {
        let cost = KdfCost::insecure_for_tests();
        let s = seal("pass", cost, b"aad", b"secret").expect("seal");
        let plain = open("pass", cost, &s.salt, &s.nonce, b"aad", &s.ciphertext).expect("open");
        assert_eq!(plain.as_slice(), b"secret");
        assert!(matches!(
            open("wrong", cost, &s.salt, &s.nonce, b"aad", &s.ciphertext),
            Err(OpenError::WrongPassphrase)
        ));
        assert!(matches!(
            open("pass", cost, &s.salt, &s.nonce, b"other", &s.ciphertext),
            Err(OpenError::WrongPassphrase)
        ));
    }
}
