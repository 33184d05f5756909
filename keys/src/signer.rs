//! The signer interface: what signs an operator's requests and approvals, whatever holds the
//! key. Two backends: a key in memory, read from a (passphrase-encrypted) key file
//! ([`dfc_core::SigningKey`], sr25519), and a key in a PKCS#11 token
//! ([`crate::pkcs11::Pkcs11Signer`], Ed25519). Both sign the same domain-separated bytes in their
//! own algorithm ([`dfc_core::OperatorKey::verify`] checks either).

use dfc_core::{OperatorKey, Signature, SigningKey};

/// Why a signer could not sign or be opened.
#[derive(Debug, thiserror::Error)]
pub enum SignerError {
    /// The token refused the PIN.
    #[error("the token refused the PIN (CKR_PIN_INCORRECT): check DFC_PKCS11_PIN")]
    WrongPin,
    /// A signer specification could not be read.
    #[error("{0}")]
    BadSpec(String),
    /// The token or its module failed.
    #[error("PKCS#11: {0}")]
    Token(String),
}

impl SignerError {
    /// A stable code for scripts and tests.
    pub fn code(&self) -> &'static str {
        match self {
            SignerError::WrongPin => "wrong_pin",
            SignerError::BadSpec(_) => "bad_signer",
            SignerError::Token(_) => "token_error",
        }
    }
}

/// Something that signs with an operator key.
pub trait Signer: Send + Sync {
    /// The public key, with its algorithm.
    fn public(&self) -> OperatorKey;
    /// Signs `msg` (a domain-separated hash) in the key's algorithm.
    fn sign(&self, msg: &[u8]) -> Result<Signature, SignerError>;
    /// A human description (the key file, or the token and key label), for messages.
    fn describe(&self) -> String;
}

impl Signer for SigningKey {
    fn public(&self) -> OperatorKey {
        OperatorKey::Sr25519(SigningKey::public(self))
    }
    fn sign(&self, msg: &[u8]) -> Result<Signature, SignerError> {
        Ok(SigningKey::sign(self, msg))
    }
    fn describe(&self) -> String {
        format!(
            "sr25519 key {}",
            hex::encode(SigningKey::public(self).to_bytes())
        )
    }
}
