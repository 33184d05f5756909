//! Operator signing in a PKCS#11 token (a hardware security module, a smart card, or SoftHSM2
//! in tests) through the `cryptoki` crate. The key never leaves the token: the token signs
//! [`dfc_core::operator_key::ed25519_message`] with `CKM_EDDSA` (pure Ed25519), and the operator's
//! parameters entry is its `ed25519:` public key.
//!
//! What the design needs from a token: Ed25519 key generation (`CKM_EC_EDWARDS_KEY_PAIR_GEN`,
//! curve OID 1.3.101.112) and pure Ed25519 signing (`CKM_EDDSA`, no context, no pre-hash), as in
//! PKCS#11 3.0. Tokens offer no sr25519, so the node's block key (sr25519, verified by every
//! wallet and auditor) stays in a passphrase-encrypted file ([`crate::keyfile`]).
//!
//! A signer is named `pkcs11:module=PATH;token=LABEL;key=LABEL`; the user PIN comes from
//! `DFC_PKCS11_PIN` or a prompt on a terminal.

use std::path::PathBuf;
use std::sync::Mutex;

use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
use cryptoki::error::{Error as CkError, RvError};
use cryptoki::mechanism::eddsa::{EddsaParams, EddsaSignatureScheme};
use cryptoki::mechanism::Mechanism;
use cryptoki::object::{Attribute, AttributeType, KeyType, ObjectClass, ObjectHandle};
use cryptoki::session::{Session, UserType};
use cryptoki::slot::Slot;
use cryptoki::types::AuthPin;
use dfc_core::operator_key::ed25519_message;
use dfc_core::{Ed25519Key, OperatorKey, Signature};

use crate::signer::{Signer, SignerError};

/// The environment variable holding the token's user PIN.
pub const PIN_ENV: &str = "DFC_PKCS11_PIN";
/// DER of the Ed25519 curve OID (1.3.101.112), the `CKA_EC_PARAMS` of an Ed25519 key.
const ED25519_OID_DER: [u8; 5] = [0x06, 0x03, 0x2b, 0x65, 0x70];

/// Where a key in a token is: the module, the token's label and the key's label.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pkcs11Spec {
    /// The PKCS#11 module (a shared library).
    pub module: PathBuf,
    /// The token's label.
    pub token: String,
    /// The key's label (`CKA_LABEL` of its private and public objects).
    pub key: String,
}

impl std::str::FromStr for Pkcs11Spec {
    type Err = SignerError;
    /// Parses `pkcs11:module=PATH;token=LABEL;key=LABEL` (fields in any order).
    fn from_str(text: &str) -> Result<Self, SignerError> {
        let bad = |why: &str| {
            SignerError::BadSpec(format!(
                "{why}: expected pkcs11:module=PATH;token=LABEL;key=LABEL, got '{text}'"
            ))
        };
        let rest = text
            .strip_prefix("pkcs11:")
            .ok_or_else(|| bad("not a pkcs11: signer"))?;
        let (mut module, mut token, mut key) = (None, None, None);
        for part in rest.split(';').filter(|p| !p.is_empty()) {
            let (name, value) = part
                .split_once('=')
                .ok_or_else(|| bad("a field lacks '='"))?;
            match name {
                "module" => module = Some(PathBuf::from(value)),
                "token" => token = Some(value.to_string()),
                "key" => key = Some(value.to_string()),
                _ => return Err(bad(&format!("unknown field '{name}'"))),
            }
        }
        Ok(Pkcs11Spec {
            module: module.ok_or_else(|| bad("no module"))?,
            token: token.ok_or_else(|| bad("no token"))?,
            key: key.ok_or_else(|| bad("no key"))?,
        })
    }
}

impl std::fmt::Display for Pkcs11Spec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "pkcs11:module={};token={};key={}",
            self.module.display(),
            self.token,
            self.key
        )
    }
}

fn ck(what: &'static str) -> impl Fn(CkError) -> SignerError {
    move |e| match e {
        CkError::Pkcs11(RvError::PinIncorrect, _) => SignerError::WrongPin,
        CkError::Pkcs11(RvError::PinLocked, _) => SignerError::Token(format!(
            "{what}: the token's PIN is locked after too many wrong attempts"
        )),
        e => SignerError::Token(format!("{what}: {e}")),
    }
}

/// Loads the module, finds the token by label, opens a read-write session and logs in.
fn login(spec: &Pkcs11Spec, pin: &str) -> Result<(Pkcs11, Session), SignerError> {
    if !spec.module.exists() {
        return Err(SignerError::Token(format!(
            "PKCS#11 module {} does not exist (for SoftHSM2: install the Debian package softhsm2)",
            spec.module.display()
        )));
    }
    let ctx = Pkcs11::new(&spec.module).map_err(ck("loading the PKCS#11 module"))?;
    match ctx.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK)) {
        // Another signer of this process loaded the same module: its state is shared.
        Ok(()) | Err(CkError::Pkcs11(RvError::CryptokiAlreadyInitialized, _)) => {}
        Err(e) => return Err(ck("initialising the PKCS#11 module")(e)),
    }
    let slot = find_token(&ctx, &spec.token)?;
    let session = ctx.open_rw_session(slot).map_err(ck("opening a session"))?;
    session
        .login(UserType::User, Some(&AuthPin::new(pin.to_string().into())))
        .map_err(ck("logging in to the token"))?;
    Ok((ctx, session))
}

fn find_token(ctx: &Pkcs11, label: &str) -> Result<Slot, SignerError> {
    for slot in ctx
        .get_slots_with_initialized_token()
        .map_err(ck("listing slots"))?
    {
        let info = ctx.get_token_info(slot).map_err(ck("reading token info"))?;
        if info.label().trim_end() == label {
            return Ok(slot);
        }
    }
    Err(SignerError::Token(format!(
        "no initialised token labelled '{label}'"
    )))
}

fn find_one(
    session: &Session,
    class: ObjectClass,
    label: &str,
) -> Result<Option<ObjectHandle>, SignerError> {
    let found = session
        .find_objects(&[
            Attribute::Class(class),
            Attribute::KeyType(KeyType::EC_EDWARDS),
            Attribute::Label(label.as_bytes().to_vec()),
        ])
        .map_err(ck("finding the key"))?;
    match found.as_slice() {
        [] => Ok(None),
        [one] => Ok(Some(*one)),
        _ => Err(SignerError::Token(format!(
            "{} Ed25519 keys are labelled '{label}': a label must name one key",
            found.len()
        ))),
    }
}

/// The Ed25519 public key of the public-key object `handle` (`CKA_EC_POINT`: the 32 bytes, or
/// the 32 bytes in a DER OCTET STRING, as tokens differ).
fn public_key(session: &Session, handle: ObjectHandle) -> Result<OperatorKey, SignerError> {
    let attrs = session
        .get_attributes(handle, &[AttributeType::EcPoint])
        .map_err(ck("reading the public key"))?;
    let point = attrs
        .iter()
        .find_map(|a| match a {
            Attribute::EcPoint(p) => Some(p.clone()),
            _ => None,
        })
        .ok_or_else(|| SignerError::Token("the public key has no CKA_EC_POINT".into()))?;
    let raw: &[u8] = match point.as_slice() {
        [0x04, 0x20, rest @ ..] if rest.len() == 32 => rest,
        p if p.len() == 32 => p,
        p => {
            return Err(SignerError::Token(format!(
                "CKA_EC_POINT of {} bytes is not an Ed25519 key",
                p.len()
            )))
        }
    };
    let mut bytes = [0u8; 32];
    bytes.copy_from_slice(raw);
    Ed25519Key::from_bytes(&bytes)
        .map(OperatorKey::Ed25519)
        .map_err(|e| SignerError::Token(format!("the token's public key: {e}")))
}

/// Generates an Ed25519 key pair labelled `spec.key` in the token (refusing a label already in
/// use) and returns its public key, for the network's parameters.
pub fn generate_ed25519(spec: &Pkcs11Spec, pin: &str) -> Result<OperatorKey, SignerError> {
    let (_ctx, session) = login(spec, pin)?;
    if find_one(&session, ObjectClass::PRIVATE_KEY, &spec.key)?.is_some() {
        return Err(SignerError::Token(format!(
            "the token already holds a key labelled '{}'",
            spec.key
        )));
    }
    let label = Attribute::Label(spec.key.as_bytes().to_vec());
    let public_template = [
        Attribute::Token(true),
        Attribute::Verify(true),
        Attribute::EcParams(ED25519_OID_DER.to_vec()),
        label.clone(),
    ];
    let private_template = [
        Attribute::Token(true),
        Attribute::Private(true),
        Attribute::Sensitive(true),
        Attribute::Extractable(false),
        Attribute::Sign(true),
        label,
    ];
    let (public, _private) = session
        .generate_key_pair(
            &Mechanism::EccEdwardsKeyPairGen,
            &public_template,
            &private_template,
        )
        .map_err(ck("generating an Ed25519 key pair"))?;
    public_key(&session, public)
}

/// An operator key in a PKCS#11 token.
pub struct Pkcs11Signer {
    spec: Pkcs11Spec,
    // The context must outlive the session; both are kept for the signer's life.
    _ctx: Pkcs11,
    session: Mutex<Session>,
    private: ObjectHandle,
    public: OperatorKey,
}

impl Pkcs11Signer {
    /// Logs in to the token with `pin` and finds the key pair labelled `spec.key`.
    pub fn open(spec: &Pkcs11Spec, pin: &str) -> Result<Self, SignerError> {
        let (ctx, session) = login(spec, pin)?;
        let missing = || {
            SignerError::Token(format!(
                "token '{}' holds no Ed25519 key labelled '{}'",
                spec.token, spec.key
            ))
        };
        let private =
            find_one(&session, ObjectClass::PRIVATE_KEY, &spec.key)?.ok_or_else(missing)?;
        let public_handle =
            find_one(&session, ObjectClass::PUBLIC_KEY, &spec.key)?.ok_or_else(missing)?;
        let public = public_key(&session, public_handle)?;
        Ok(Pkcs11Signer {
            spec: spec.clone(),
            _ctx: ctx,
            session: Mutex::new(session),
            private,
            public,
        })
    }
}

impl Signer for Pkcs11Signer {
    fn public(&self) -> OperatorKey {
        self.public
    }

    fn sign(&self, msg: &[u8]) -> Result<Signature, SignerError> {
        let session = self
            .session
            .lock()
            .map_err(|_| SignerError::Token("the token session was poisoned".into()))?;
        let mechanism = Mechanism::Eddsa(EddsaParams::new(EddsaSignatureScheme::Pure));
        let bytes = session
            .sign(&mechanism, self.private, &ed25519_message(msg))
            .map_err(ck("signing"))?;
        let bytes: [u8; 64] = bytes.try_into().map_err(|b: Vec<u8>| {
            SignerError::Token(format!("the token returned a {}-byte signature", b.len()))
        })?;
        let sig = Signature::from_ed25519_bytes(&bytes)
            .map_err(|e| SignerError::Token(format!("the token's signature: {e}")))?;
        // A token that signs wrongly must not produce requests the node refuses later.
        if !self.public.verify(msg, &sig) {
            return Err(SignerError::Token(
                "the token's signature does not verify under its public key".into(),
            ));
        }
        Ok(sig)
    }

    fn describe(&self) -> String {
        self.spec.to_string()
    }
}
