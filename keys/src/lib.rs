//! # dfc-keys: keys at rest and the signers of dfc
//!
//! | module | role |
//! |---|---|
//! | [`sealed`] | passphrase encryption (argon2id + XChaCha20-Poly1305), shared with the wallet |
//! | [`keyfile`] | node and operator key files: encrypted, or plain hex for sandboxes |
//! | [`passphrase`] | where a passphrase comes from (file, `DFC_KEY_PASSPHRASE`, terminal) |
//! | [`signer`] | the [`Signer`] trait: a key in memory (sr25519) or in a token; [`signer::open`] for `--signer` |
//! | [`pkcs11`] | Ed25519 operator keys in a PKCS#11 token (`cryptoki`; SoftHSM2 in tests) |
//! | [`uri`] | PKCS#11 URIs (RFC 7512) naming a token's key, its module and its PIN source |

pub mod keyfile;
pub mod passphrase;
pub mod pkcs11;
pub mod sealed;
pub mod signer;
pub mod uri;

pub use keyfile::{read_key, KeyFileError};
pub use passphrase::Passphrase;
pub use signer::{DynSigner, KeySigner, Signer, SignerError};
pub use uri::Pkcs11Uri;
