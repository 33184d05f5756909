//! Operator signing through a real PKCS#11 token: SoftHSM2 (Debian package `softhsm2`), with a
//! token initialised in a temporary directory (its own `SOFTHSM2_CONF`). Fails loudly when
//! SoftHSM2 is missing: `.ci/run` installs it.
#![allow(clippy::unwrap_used)]

use std::path::PathBuf;
use std::process::Command;

use dfc_core::api::{OperatorAction, OperatorRequest};
use dfc_core::{Algorithm, Hash32, SigningKey};
use dfc_keys::pkcs11::{generate_ed25519, Pkcs11Signer};
use dfc_keys::Pkcs11Uri;
use dfc_keys::{Signer, SignerError};

const MODULES: [&str; 2] = [
    "/usr/lib/softhsm/libsofthsm2.so",
    "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so",
];

fn module() -> PathBuf {
    MODULES
        .iter()
        .map(PathBuf::from)
        .find(|p| p.exists())
        .unwrap_or_else(|| {
            panic!(
                "SoftHSM2 is not installed: `apt-get install softhsm2` (Debian package softhsm2)"
            )
        })
}

#[test]
fn an_ed25519_operator_key_in_softhsm_signs_requests_and_a_wrong_pin_is_named() {
    let module = module();
    let dir = tempfile::tempdir().unwrap();
    let tokens = dir.path().join("tokens");
    std::fs::create_dir_all(&tokens).unwrap();
    let conf = dir.path().join("softhsm2.conf");
    std::fs::write(
        &conf,
        format!(
            "directories.tokendir = {}\nobjectstore.backend = file\n",
            tokens.display()
        ),
    )
    .unwrap();
    // The module reads SOFTHSM2_CONF when loaded; this test binary loads it once.
    std::env::set_var("SOFTHSM2_CONF", &conf);
    let out = Command::new("softhsm2-util")
        .args([
            "--init-token",
            "--free",
            "--label",
            "dfc-test",
            "--so-pin",
            "1234",
            "--pin",
            "5678",
        ])
        .env("SOFTHSM2_CONF", &conf)
        .output()
        .expect("softhsm2-util runs (Debian package softhsm2)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let uri = |object: &str, pin: &str| -> Pkcs11Uri {
        format!(
            "pkcs11:token=dfc-test;object={object}?module-path={}&pin-value={pin}",
            module.display()
        )
        .parse()
        .unwrap()
    };
    let public = generate_ed25519(&uri("operator-1", "5678")).unwrap();
    assert_eq!(public.algorithm(), Algorithm::Ed25519);
    // A second key under the same label is refused.
    assert!(generate_ed25519(&uri("operator-1", "5678")).is_err());

    let signer = Pkcs11Signer::open(&uri("operator-1", "5678")).unwrap();
    assert_eq!(signer.public(), public);
    let action = OperatorAction::Freeze {
        wallet: SigningKey::from_seed(&[9; 32]).public(),
        reason: "signed in a token".into(),
        registry_version: 1,
    };
    let req = OperatorRequest::try_new(7, 1, 1_700_000_000_000, Hash32([1; 32]), 1, action, |h| {
        signer.sign(h)
    })
    .unwrap();
    assert!(req.signature.is_ed25519());
    assert!(req.verify(7, &public));
    let wire: OperatorRequest =
        serde_json::from_str(&serde_json::to_string(&req).unwrap()).unwrap();
    assert!(wire.verify(7, &public));
    assert!(!wire.verify(8, &public));

    // A wrong PIN is a named error, not a crash or a generic failure. (Login state is per
    // process and token, so the signer above is closed first: its session held the login.)
    drop(signer);
    let err = Pkcs11Signer::open(&uri("operator-1", "0000"))
        .err()
        .unwrap();
    assert!(matches!(err, SignerError::WrongPin { .. }), "{err}");
    assert_eq!(err.code(), "wrong_pin");
    // An unknown key label, an unknown token and a missing module are named too.
    let err = Pkcs11Signer::open(&uri("nope", "5678")).err().unwrap();
    assert_eq!(err.code(), "pkcs11_object_not_found");
    assert!(err.to_string().contains("nope"), "{err}");
    let other_token: Pkcs11Uri = format!(
        "pkcs11:token=elsewhere;object=operator-1?module-path={}&pin-value=5678",
        module.display()
    )
    .parse()
    .unwrap();
    let err = Pkcs11Signer::open(&other_token).err().unwrap();
    assert_eq!(err.code(), "pkcs11_token_not_found");
    assert!(err.to_string().contains("'dfc-test'"), "{err}");
    let no_module: Pkcs11Uri =
        "pkcs11:token=dfc-test;object=operator-1?module-path=/nonexistent/libsofthsm2.so&pin-value=5678"
            .parse()
            .unwrap();
    let err = Pkcs11Signer::open(&no_module).err().unwrap();
    assert_eq!(err.code(), "pkcs11_module_missing");
}
