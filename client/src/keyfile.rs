//! Operator key files (`operator-N.key` in a node's data directory): a 32-byte seed, encrypted
//! under a passphrase or (sandbox) as 64 hex characters. The format lives in `dfc-keys`
//! ([`dfc_keys::keyfile`]); this module keeps the entry points a client that signs operator
//! requests (the CLI, the console, `dfc-sim load`) has always called.

use std::path::Path;
use std::sync::{Arc, OnceLock};

use dfc_core::SigningKey;
pub use dfc_keys::keyfile::{operator_key_path, KeyFileError};
use dfc_keys::{DynSigner, Passphrase, SignerError};

/// The process's passphrase source: `DFC_KEY_PASSPHRASE`, else a terminal prompt; asked once.
fn process_passphrase() -> &'static Passphrase {
    static P: OnceLock<Passphrase> = OnceLock::new();
    P.get_or_init(|| Passphrase::new(None))
}

/// Reads a key file written by `dfc-bank init`: an encrypted file is opened with the passphrase
/// from `DFC_KEY_PASSPHRASE` or a terminal prompt; a plain-hex file is read with a warning.
pub fn read_key(path: &Path) -> Result<SigningKey, KeyFileError> {
    dfc_keys::read_key(path, process_passphrase())
}

/// Reads a key file with the passphrase from `passphrase` (e.g. `--passphrase-file`).
pub fn read_key_with(path: &Path, passphrase: &Passphrase) -> Result<SigningKey, KeyFileError> {
    dfc_keys::read_key(path, passphrase)
}

/// Opens the signer `spec` names (`--signer`): a PKCS#11 URI (`pkcs11:...`) or a key file's
/// path, an encrypted file opened with the process's passphrase (as [`read_key`]).
pub fn open_signer(spec: &str) -> Result<Arc<DynSigner>, SignerError> {
    dfc_keys::signer::open(spec, process_passphrase())
}

/// Opens the key file at `path` as a signer, with the process's passphrase.
pub fn open_key_file(path: &Path) -> Result<Arc<DynSigner>, SignerError> {
    dfc_keys::signer::open_file(path, process_passphrase())
}
