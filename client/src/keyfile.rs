//! Operator key files (`operator-N.key` in a node's data directory): a 32-byte seed, encrypted
//! under a passphrase or (sandbox) as 64 hex characters. The format lives in `dfc-keys`
//! ([`dfc_keys::keyfile`]); this module keeps the entry points a client that signs operator
//! requests (the CLI, the console, `dfc-sim load`) has always called.

use std::path::Path;
use std::sync::OnceLock;

use dfc_core::SigningKey;
pub use dfc_keys::keyfile::{operator_key_path, KeyFileError};
use dfc_keys::Passphrase;

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
