//! The signer interface: what signs an operator's requests, approvals, checkpoint signatures and
//! read credentials, whatever holds the key. Two backends: a key in memory read from a
//! (passphrase-encrypted or plain) key file ([`KeySigner`], sr25519), and a key in a PKCS#11
//! token ([`crate::pkcs11::Pkcs11Signer`], Ed25519). Both sign the same domain-separated bytes in
//! their own algorithm ([`dfc_core::OperatorKey::verify`] checks either). [`open`] turns a
//! `--signer` value (a key file's path or a PKCS#11 URI) into one of them.

use std::convert::Infallible;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use dfc_core::{OperatorKey, Signature, SigningKey};

use crate::keyfile::KeyFileError;
use crate::passphrase::Passphrase;
use crate::uri::{PinError, UriError};

/// Why a signer could not be opened or could not sign. Each has a stable [`SignerError::code`].
#[derive(Debug, thiserror::Error)]
pub enum SignerError {
    /// The PKCS#11 URI is malformed.
    #[error(transparent)]
    Uri(#[from] UriError),
    /// The PKCS#11 module (library) is not there.
    #[error(
        "PKCS#11 module {path} does not exist (for SoftHSM2: install the Debian package softhsm2)"
    )]
    ModuleMissing {
        /// The path looked for.
        path: PathBuf,
    },
    /// The module could not be loaded or initialised.
    #[error("PKCS#11 module {path}: {why}")]
    Module {
        /// The module.
        path: PathBuf,
        /// Why.
        why: String,
    },
    /// No initialised token matches the URI.
    #[error("no initialised token matches {want}; tokens present: {present}")]
    TokenNotFound {
        /// What the URI asks for.
        want: String,
        /// The labels of the tokens that are there.
        present: String,
    },
    /// More than one token matches the URI.
    #[error("{count} tokens match {want}: name one with token=, serial= or slot-id=")]
    TokenAmbiguous {
        /// What the URI asks for.
        want: String,
        /// How many match.
        count: usize,
    },
    /// The token holds no Ed25519 key pair the URI names.
    #[error("{key}: the token holds no Ed25519 key pair by that name")]
    ObjectNotFound {
        /// The token and object asked for.
        key: String,
    },
    /// More than one key matches.
    #[error("{key}: {count} Ed25519 keys match; a URI must name one key")]
    ObjectAmbiguous {
        /// The token and object asked for.
        key: String,
        /// How many match.
        count: usize,
    },
    /// The token refused the PIN.
    #[error("{key}: the token refused the PIN (CKR_PIN_INCORRECT); nothing was signed")]
    WrongPin {
        /// The token and object.
        key: String,
    },
    /// The token's PIN is locked.
    #[error("{key}: the token's user PIN is locked after too many wrong attempts; the security officer must reset it")]
    PinLocked {
        /// The token and object.
        key: String,
    },
    /// The PIN could not be had from its source.
    #[error(transparent)]
    Pin(#[from] PinError),
    /// A key file could not be read or opened.
    #[error(transparent)]
    KeyFile(#[from] KeyFileError),
    /// The token failed otherwise.
    #[error("PKCS#11: {0}")]
    Token(String),
}

impl SignerError {
    /// A stable code for scripts and tests.
    pub fn code(&self) -> &'static str {
        match self {
            SignerError::Uri(_) => "bad_pkcs11_uri",
            SignerError::ModuleMissing { .. } => "pkcs11_module_missing",
            SignerError::Module { .. } => "pkcs11_module_error",
            SignerError::TokenNotFound { .. } => "pkcs11_token_not_found",
            SignerError::TokenAmbiguous { .. } => "pkcs11_token_ambiguous",
            SignerError::ObjectNotFound { .. } => "pkcs11_object_not_found",
            SignerError::ObjectAmbiguous { .. } => "pkcs11_object_ambiguous",
            SignerError::WrongPin { .. } => "wrong_pin",
            SignerError::PinLocked { .. } => "pin_locked",
            SignerError::Pin(_) => "pin_unavailable",
            SignerError::KeyFile(e) => e.code(),
            SignerError::Token(_) => "token_error",
        }
    }
}

/// Something that signs with an operator (or reader) key.
///
/// `Error` is [`Infallible`] for a key in memory ([`SigningKey`]), so code holding one signs
/// without a `Result` to unwrap, and [`SignerError`] for signers that can fail (a token, or a key
/// behind [`DynSigner`]). Code that signs is written once, generic over `Signer`.
pub trait Signer: Send + Sync {
    /// Why signing can fail.
    type Error: std::error::Error + Send + Sync + 'static;
    /// The public key, with its algorithm.
    fn public(&self) -> OperatorKey;
    /// Signs `msg` (a domain-separated hash) in the key's algorithm.
    fn sign(&self, msg: &[u8]) -> Result<Signature, Self::Error>;
    /// A human description (the key file, or the token and key label), for messages.
    fn describe(&self) -> String;
}

/// A signer chosen at run time (`--signer`): a key file or a token.
pub type DynSigner = dyn Signer<Error = SignerError>;

impl Signer for SigningKey {
    type Error = Infallible;
    fn public(&self) -> OperatorKey {
        OperatorKey::Sr25519(SigningKey::public(self))
    }
    fn sign(&self, msg: &[u8]) -> Result<Signature, Infallible> {
        Ok(SigningKey::sign(self, msg))
    }
    fn describe(&self) -> String {
        format!(
            "sr25519 key {}",
            hex::encode(SigningKey::public(self).to_bytes())
        )
    }
}

impl<T: Signer + ?Sized> Signer for Arc<T> {
    type Error = T::Error;
    fn public(&self) -> OperatorKey {
        (**self).public()
    }
    fn sign(&self, msg: &[u8]) -> Result<Signature, T::Error> {
        (**self).sign(msg)
    }
    fn describe(&self) -> String {
        (**self).describe()
    }
}

/// An sr25519 key in memory behind the fallible interface of [`DynSigner`], named by where it
/// came from (its key file).
pub struct KeySigner {
    key: SigningKey,
    origin: String,
}

impl KeySigner {
    /// `key`, described as `origin` in messages.
    pub fn new(key: SigningKey, origin: impl Into<String>) -> Self {
        KeySigner {
            key,
            origin: origin.into(),
        }
    }

    /// Reads the key file at `path` (encrypted: its passphrase from `passphrase`; or plain hex,
    /// with a warning).
    pub fn from_file(path: &Path, passphrase: &Passphrase) -> Result<Self, SignerError> {
        let key = crate::keyfile::read_key(path, passphrase)?;
        Ok(KeySigner::new(key, path.display().to_string()))
    }

    /// The key.
    pub fn key(&self) -> &SigningKey {
        &self.key
    }
}

impl Signer for KeySigner {
    type Error = SignerError;
    fn public(&self) -> OperatorKey {
        OperatorKey::Sr25519(self.key.public())
    }
    fn sign(&self, msg: &[u8]) -> Result<Signature, SignerError> {
        Ok(self.key.sign(msg))
    }
    fn describe(&self) -> String {
        format!("{} (sr25519 key file)", self.origin)
    }
}

/// Opens the signer named by `spec`: a PKCS#11 URI (`pkcs11:...`, RFC 7512; see [`crate::uri`])
/// or the path of a key file, encrypted (its passphrase from `passphrase`) or plain.
///
/// A token is opened (and logged in to) once per process: opening the same URI again returns the
/// same signer, as a command that signs its reads and its request with one key does.
pub fn open(spec: &str, passphrase: &Passphrase) -> Result<Arc<DynSigner>, SignerError> {
    if spec.starts_with("pkcs11:") {
        static OPENED: Mutex<Vec<(String, Arc<DynSigner>)>> = Mutex::new(Vec::new());
        let mut opened = OPENED.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((_, s)) = opened.iter().find(|(s, _)| s == spec) {
            return Ok(Arc::clone(s));
        }
        let uri: crate::uri::Pkcs11Uri = spec.parse()?;
        let signer: Arc<DynSigner> = Arc::new(crate::pkcs11::Pkcs11Signer::open(&uri)?);
        opened.push((spec.to_string(), Arc::clone(&signer)));
        return Ok(signer);
    }
    open_file(Path::new(spec), passphrase)
}

/// Opens the key file at `path` as a signer (encrypted: its passphrase from `passphrase`).
pub fn open_file(path: &Path, passphrase: &Passphrase) -> Result<Arc<DynSigner>, SignerError> {
    Ok(Arc::new(KeySigner::from_file(path, passphrase)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_file_signer_signs_as_its_key() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("operator-0.key");
        std::fs::write(&path, hex::encode([7u8; 32])).expect("write");
        let signer = open(path.to_str().expect("utf-8"), &Passphrase::given("unused"))
            .expect("opens a plain key file");
        let key = SigningKey::from_seed(&[7; 32]);
        assert_eq!(signer.public(), OperatorKey::Sr25519(key.public()));
        let sig = signer.sign(b"m").expect("signs");
        assert!(signer.public().verify(b"m", &sig));
        assert!(signer.describe().contains("operator-0.key"));
    }

    #[test]
    fn a_missing_key_file_and_a_bad_uri_have_their_codes() {
        let e = open("/no/such/dir/operator.key", &Passphrase::given("x")).err();
        assert_eq!(e.map(|e| e.code()), Some("key_file_io"));
        let e = open("pkcs11:token=dfc", &Passphrase::given("x")).err();
        assert_eq!(e.map(|e| e.code()), Some("bad_pkcs11_uri"));
        let e = open(
            "pkcs11:token=dfc;object=k?module-path=/no/such/libpkcs11.so&pin-value=1",
            &Passphrase::given("x"),
        )
        .err();
        assert_eq!(e.map(|e| e.code()), Some("pkcs11_module_missing"));
    }
}
