//! The node's block-signing keys across node-key rotations.
//!
//! A rotation is a governance change of `node_key` (k of n operators, from a stated height). The
//! node must hold the new key before the change can be proposed, or a change could leave the
//! network with no node able to seal its next block: the next key is generated in the data
//! directory beside the current one (`dfc-bank node-key new`, file [`NEXT_NODE_KEY_FILE`], the
//! same key-file format as `node.key`) and read at start. Each block, and the receipts of its
//! transactions, is then signed by the key named by the parameters in force at its height
//! ([`NodeKeys::for_public`]); purse certificates and offline checkpoints by the key in force at
//! the next block. The ledger summary and its table digests stay keyed by the data directory's
//! `node.key` (they are the node's own start-up check, not part of the protocol).

use std::path::Path;

use dfc_core::{PublicKey, SigningKey};

use crate::datadir::{self, DataDirError};

/// The next node key, beside `node.key` in the data directory.
pub const NEXT_NODE_KEY_FILE: &str = "node-next.key";

/// The signing keys a node holds: `node.key` first.
#[derive(Clone)]
pub struct NodeKeys {
    keys: Vec<SigningKey>,
}

impl NodeKeys {
    /// `node.key` (already read) and the next key in `dir`, if there is one.
    pub fn load(dir: &Path, node_key: &SigningKey) -> Result<Self, DataDirError> {
        let mut keys = vec![node_key.clone()];
        let next = dir.join(NEXT_NODE_KEY_FILE);
        if next.exists() {
            keys.push(datadir::read_key(&next)?);
        }
        Ok(NodeKeys { keys })
    }

    /// The held key whose public key is `public`.
    pub fn for_public(&self, public: &PublicKey) -> Option<&SigningKey> {
        self.keys.iter().find(|k| k.public() == *public)
    }

    /// Writes a fresh next key into `dir` (refused if one is there) and returns its public key;
    /// encrypted (passphrase from `DFC_KEY_PASSPHRASE` or a prompt) when `node.key` is.
    pub fn create_next(dir: &Path) -> Result<PublicKey, DataDirError> {
        let path = dir.join(NEXT_NODE_KEY_FILE);
        if path.exists() {
            return Err(DataDirError::Exists(path));
        }
        let mut seed = [0u8; 32];
        rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut seed);
        let node_path = dir.join(datadir::NODE_KEY_FILE);
        let key_err = |e: dfc_keys::KeyFileError| DataDirError::Invalid {
            path: node_path.clone(),
            reason: format!("{}: {e}", e.code()),
        };
        let encrypted =
            node_path.exists() && dfc_keys::keyfile::is_encrypted(&node_path).map_err(key_err)?;
        if encrypted {
            // Encrypted like the key in force, under the same passphrase: `serve` reads both with
            // the one passphrase it is given, so one that does not open `node.key` is refused.
            let pass = dfc_keys::passphrase::new_passphrase(&path).map_err(key_err)?;
            dfc_keys::read_key(&node_path, &dfc_keys::Passphrase::given(&pass)).map_err(key_err)?;
            datadir::write_key_file(&path, &seed, Some(&datadir::KeyPassphrase(pass)))?;
        } else {
            datadir::write_key(&path, &seed)?;
        }
        Ok(SigningKey::from_seed(&seed).public())
    }
}
