//! Operator key files (`operator-N.key` in a node's data directory: a 32-byte seed as 64 hex
//! characters, readable by its owner only). Reading them lives here so a client that signs
//! operator requests (the CLI, the console, `dfc-sim load`) needs no node crate.

use std::path::{Path, PathBuf};

use dfc_core::SigningKey;

/// Why a key file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum KeyFileError {
    /// The file could not be read.
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
}

/// The key file of operator `index` in data directory `dir`.
pub fn operator_key_path(dir: &Path, index: usize) -> PathBuf {
    dir.join(format!("operator-{index}.key"))
}

/// Reads a key file written by `dfc-bank init`.
pub fn read_key(path: &Path) -> Result<SigningKey, KeyFileError> {
    let text = std::fs::read_to_string(path).map_err(|source| KeyFileError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let bytes = hex::decode(text.trim()).map_err(|e| KeyFileError::Invalid {
        path: path.to_path_buf(),
        reason: format!("not hex: {e}"),
    })?;
    let seed: [u8; 32] = bytes.try_into().map_err(|_| KeyFileError::Invalid {
        path: path.to_path_buf(),
        reason: "a key file holds 32 bytes as 64 hex characters".into(),
    })?;
    Ok(SigningKey::from_seed(&seed))
}
