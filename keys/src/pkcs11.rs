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
//! A key is named by a PKCS#11 URI (RFC 7512, [`crate::uri`]), e.g.
//! `pkcs11:token=dfc;object=operator-1?module-path=/usr/lib/softhsm/libsofthsm2.so&pin-source=env:DFC_PKCS11_PIN`.

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
use crate::uri::Pkcs11Uri;

pub use crate::uri::PIN_ENV;

/// DER of the Ed25519 curve OID (1.3.101.112), the `CKA_EC_PARAMS` of an Ed25519 key.
const ED25519_OID_DER: [u8; 5] = [0x06, 0x03, 0x2b, 0x65, 0x70];

/// Maps a token's error to a [`SignerError`], naming the PIN cases for `key`.
fn ck(what: &'static str, key: String) -> impl Fn(CkError) -> SignerError {
    move |e| match e {
        CkError::Pkcs11(RvError::PinIncorrect, _) => SignerError::WrongPin { key: key.clone() },
        CkError::Pkcs11(RvError::PinLocked, _) => SignerError::PinLocked { key: key.clone() },
        e => SignerError::Token(format!("{what}: {e}")),
    }
}

/// Loads the module, finds the one token the URI names, opens a read-write session and logs in
/// with the URI's PIN.
fn login(uri: &Pkcs11Uri) -> Result<(Pkcs11, Session), SignerError> {
    let module = uri
        .module_path()
        .map_err(|path| SignerError::ModuleMissing { path })?;
    if !module.exists() {
        return Err(SignerError::ModuleMissing { path: module });
    }
    let module_err = |e: CkError| SignerError::Module {
        path: module.clone(),
        why: e.to_string(),
    };
    let ctx = Pkcs11::new(&module).map_err(module_err)?;
    match ctx.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK)) {
        // Another signer of this process loaded the same module: its state is shared.
        Ok(()) | Err(CkError::Pkcs11(RvError::CryptokiAlreadyInitialized, _)) => {}
        Err(e) => return Err(module_err(e)),
    }
    let slot = find_token(&ctx, uri)?;
    let name = uri.key_name();
    let session = ctx
        .open_rw_session(slot)
        .map_err(ck("opening a session", name.clone()))?;
    // The PIN is asked for only once the token is known to be there.
    let pin = uri.pin()?;
    match session.login(UserType::User, Some(&AuthPin::new(pin.as_str().into()))) {
        // Login state is per process and token: another signer of this process logged in.
        Ok(()) | Err(CkError::Pkcs11(RvError::UserAlreadyLoggedIn, _)) => {}
        Err(e) => return Err(ck("logging in to the token", name)(e)),
    }
    Ok((ctx, session))
}

/// What the URI asks of a token, for messages.
fn token_want(uri: &Pkcs11Uri) -> String {
    let mut want = Vec::new();
    if let Some(t) = &uri.token {
        want.push(format!("token='{t}'"));
    }
    if let Some(s) = &uri.serial {
        want.push(format!("serial='{s}'"));
    }
    if let Some(m) = &uri.manufacturer {
        want.push(format!("manufacturer='{m}'"));
    }
    if let Some(m) = &uri.model {
        want.push(format!("model='{m}'"));
    }
    if let Some(s) = uri.slot_id {
        want.push(format!("slot-id={s}"));
    }
    if want.is_empty() {
        "any token".into()
    } else {
        want.join(", ")
    }
}

/// The one initialised token that matches every token attribute of the URI.
fn find_token(ctx: &Pkcs11, uri: &Pkcs11Uri) -> Result<Slot, SignerError> {
    let same =
        |want: &Option<String>, have: &str| want.as_deref().is_none_or(|w| w == have.trim_end());
    let mut present = Vec::new();
    let mut matching = Vec::new();
    for slot in ctx
        .get_slots_with_initialized_token()
        .map_err(ck("listing slots", uri.key_name()))?
    {
        let info = ctx
            .get_token_info(slot)
            .map_err(ck("reading token info", uri.key_name()))?;
        present.push(format!("'{}'", info.label().trim_end()));
        if same(&uri.token, info.label())
            && same(&uri.serial, info.serial_number())
            && same(&uri.manufacturer, info.manufacturer_id())
            && same(&uri.model, info.model())
            && uri.slot_id.is_none_or(|id| id == slot.id())
        {
            matching.push(slot);
        }
    }
    match matching.as_slice() {
        [one] => Ok(*one),
        [] => Err(SignerError::TokenNotFound {
            want: token_want(uri),
            present: if present.is_empty() {
                "none".into()
            } else {
                present.join(", ")
            },
        }),
        more => Err(SignerError::TokenAmbiguous {
            want: token_want(uri),
            count: more.len(),
        }),
    }
}

/// The Ed25519 object of `class` the URI names (by label and/or id), if any.
fn find_one(
    session: &Session,
    uri: &Pkcs11Uri,
    class: ObjectClass,
) -> Result<Option<ObjectHandle>, SignerError> {
    let mut template = vec![
        Attribute::Class(class),
        Attribute::KeyType(KeyType::EC_EDWARDS),
    ];
    if let Some(label) = &uri.object {
        template.push(Attribute::Label(label.as_bytes().to_vec()));
    }
    if let Some(id) = &uri.id {
        template.push(Attribute::Id(id.clone()));
    }
    let found = session
        .find_objects(&template)
        .map_err(ck("finding the key", uri.key_name()))?;
    match found.as_slice() {
        [] => Ok(None),
        [one] => Ok(Some(*one)),
        more => Err(SignerError::ObjectAmbiguous {
            key: uri.key_name(),
            count: more.len(),
        }),
    }
}

/// The Ed25519 public key of the public-key object `handle` (`CKA_EC_POINT`: the 32 bytes, or
/// the 32 bytes in a DER OCTET STRING, as tokens differ).
fn public_key(session: &Session, handle: ObjectHandle) -> Result<OperatorKey, SignerError> {
    let attrs = session
        .get_attributes(handle, &[AttributeType::EcPoint])
        .map_err(|e| SignerError::Token(format!("reading the public key: {e}")))?;
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

/// Generates an Ed25519 key pair in the token the URI names, labelled with its `object` (and
/// `id`, if given), refusing a name already in use, and returns its public key for the
/// network's parameters.
pub fn generate_ed25519(uri: &Pkcs11Uri) -> Result<OperatorKey, SignerError> {
    let Some(label) = &uri.object else {
        return Err(SignerError::Uri(crate::uri::UriError {
            uri: uri.to_string(),
            why: "a new key needs a label: add object=LABEL".into(),
        }));
    };
    let (_ctx, session) = login(uri)?;
    if find_one(&session, uri, ObjectClass::PRIVATE_KEY)?.is_some() {
        return Err(SignerError::Token(format!(
            "{}: the token already holds a key by that name",
            uri.key_name()
        )));
    }
    let mut public_template = vec![
        Attribute::Token(true),
        Attribute::Verify(true),
        Attribute::EcParams(ED25519_OID_DER.to_vec()),
        Attribute::Label(label.as_bytes().to_vec()),
    ];
    let mut private_template = vec![
        Attribute::Token(true),
        Attribute::Private(true),
        Attribute::Sensitive(true),
        Attribute::Extractable(false),
        Attribute::Sign(true),
        Attribute::Label(label.as_bytes().to_vec()),
    ];
    if let Some(id) = &uri.id {
        public_template.push(Attribute::Id(id.clone()));
        private_template.push(Attribute::Id(id.clone()));
    }
    let (public, _private) = session
        .generate_key_pair(
            &Mechanism::EccEdwardsKeyPairGen,
            &public_template,
            &private_template,
        )
        .map_err(|e| SignerError::Token(format!("generating an Ed25519 key pair: {e}")))?;
    public_key(&session, public)
}

/// An operator key in a PKCS#11 token.
pub struct Pkcs11Signer {
    uri: Pkcs11Uri,
    // The context must outlive the session; both are kept for the signer's life.
    _ctx: Pkcs11,
    session: Mutex<Session>,
    private: ObjectHandle,
    public: OperatorKey,
}

impl Pkcs11Signer {
    /// Logs in to the token the URI names and finds its Ed25519 key pair.
    pub fn open(uri: &Pkcs11Uri) -> Result<Self, SignerError> {
        let (ctx, session) = login(uri)?;
        let missing = || SignerError::ObjectNotFound {
            key: uri.key_name(),
        };
        let private = find_one(&session, uri, ObjectClass::PRIVATE_KEY)?.ok_or_else(missing)?;
        let public_handle =
            find_one(&session, uri, ObjectClass::PUBLIC_KEY)?.ok_or_else(missing)?;
        let public = public_key(&session, public_handle)?;
        Ok(Pkcs11Signer {
            uri: uri.clone(),
            _ctx: ctx,
            session: Mutex::new(session),
            private,
            public,
        })
    }
}

impl Signer for Pkcs11Signer {
    type Error = SignerError;

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
            .map_err(ck("signing", self.uri.key_name()))?;
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
        format!("{} (Ed25519 key in a PKCS#11 token)", self.uri)
    }
}
