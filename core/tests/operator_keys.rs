//! Operator keys carry an algorithm (sr25519 or Ed25519). These tests pin what existed before:
//! parameters, their hash and operator requests of sr25519 operators stay byte-identical, and a
//! request signed before algorithm tags existed keeps verifying.
//!
//! The vectors in `tests/vectors/operator/` were written by the code before the change
//! (`DFC_WRITE_VECTORS=1 cargo test -p dfc-core --test operator_keys` regenerates them: only on
//! a deliberate format change).
#![allow(clippy::unwrap_used)]

use dfc_core::api::{OperatorAction, OperatorRequest};
use dfc_core::operator_key::ed25519_message;
use dfc_core::{Algorithm, Ed25519Key, Hash32, NetworkParams, OperatorKey, Signature, SigningKey};
use std::path::PathBuf;

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/vectors")
}

fn params() -> NetworkParams {
    serde_json::from_str(&std::fs::read_to_string(dir().join("params.json")).unwrap()).unwrap()
}

fn write_vectors() {
    let p = params();
    let key = SigningKey::from_seed(&[42u8; 32]);
    let req = OperatorRequest::new(
        p.network_id,
        1,
        &key,
        1_700_000_000_000,
        Hash32([5u8; 32]),
        1_700_000_000_000_000,
        OperatorAction::Freeze {
            wallet: SigningKey::from_seed(&[9u8; 32]).public(),
            reason: "vector".into(),
            registry_version: 3,
        },
    );
    let out = dir().join("operator");
    std::fs::create_dir_all(&out).unwrap();
    std::fs::write(
        out.join("request_sr25519.json"),
        serde_json::to_string_pretty(&req).unwrap(),
    )
    .unwrap();
    std::fs::write(
        out.join("operator_public.hex"),
        hex::encode(key.public().to_bytes()),
    )
    .unwrap();
    std::fs::write(out.join("params_hash.hex"), hex::encode(p.hash().0)).unwrap();
    std::fs::write(
        out.join("params.json"),
        serde_json::to_string_pretty(&p).unwrap(),
    )
    .unwrap();
}

#[test]
fn write_if_asked() {
    if std::env::var("DFC_WRITE_VECTORS").is_ok() {
        write_vectors();
    }
}

fn read(name: &str) -> String {
    std::fs::read_to_string(dir().join("operator").join(name)).unwrap()
}

#[test]
fn sr25519_parameters_and_their_hash_are_byte_identical() {
    let p = params();
    // The JSON form of the parameters is the one written before algorithm tags...
    assert_eq!(
        serde_json::to_string_pretty(&p).unwrap(),
        read("params.json")
    );
    // ...and so is their hash, which every block header and the genesis block commit to.
    assert_eq!(hex::encode(p.hash().0), read("params_hash.hex"));
    assert!(p
        .issuers
        .iter()
        .all(|k| k.algorithm() == Algorithm::Sr25519));
}

#[test]
fn an_operator_request_signed_before_algorithm_tags_still_verifies() {
    let p = params();
    let req: OperatorRequest = serde_json::from_str(&read("request_sr25519.json")).unwrap();
    let key: OperatorKey = read("operator_public.hex").parse().unwrap();
    assert_eq!(key.algorithm(), Algorithm::Sr25519);
    assert!(req.verify(p.network_id, &key));
    // Re-encoded, it is the same text (the signature keeps its bytes).
    assert_eq!(
        serde_json::to_string_pretty(&req).unwrap(),
        read("request_sr25519.json")
    );
    // Any other network, or another key, refuses it.
    assert!(!req.verify(p.network_id + 1, &key));
    assert!(!req.verify(p.network_id, &p.issuers[0]));
}

#[test]
fn an_ed25519_operator_signs_the_same_request_and_nothing_else() {
    use ed25519_dalek::Signer;
    let mut p = params();
    let sk = ed25519_dalek::SigningKey::from_bytes(&[11u8; 32]);
    let key = OperatorKey::Ed25519(Ed25519Key::from_bytes(&sk.verifying_key().to_bytes()).unwrap());
    let before = p.hash();
    p.issuers[1] = key;
    p.validate().unwrap();
    // The key's algorithm is bound into the parameters' hash.
    assert_ne!(p.hash(), before);
    let json = serde_json::to_string(&p).unwrap();
    assert!(json.contains(&format!("\"{key}\"")));
    let back: NetworkParams = serde_json::from_str(&json).unwrap();
    assert_eq!(back.hash(), p.hash());

    let action = OperatorAction::Freeze {
        wallet: SigningKey::from_seed(&[9u8; 32]).public(),
        reason: "token".into(),
        registry_version: 1,
    };
    let req = OperatorRequest::try_new(
        p.network_id,
        1,
        1_700_000_000_000,
        Hash32([6u8; 32]),
        5,
        action,
        |h| Signature::from_ed25519_bytes(&sk.sign(&ed25519_message(h)).to_bytes()),
    )
    .unwrap();
    assert!(req.verify(p.network_id, &key));
    // Through JSON, as the node receives it.
    let wire: OperatorRequest =
        serde_json::from_str(&serde_json::to_string(&req).unwrap()).unwrap();
    assert!(wire.verify(p.network_id, &key));
    // Changing any signed field breaks it.
    let mut later = wire.clone();
    later.sequence += 1;
    assert!(!later.verify(p.network_id, &key));
    // The same key bytes read as an sr25519 key do not verify it (if they decode at all).
    if let Ok(sr) = dfc_core::PublicKey::from_bytes(&key.to_bytes()) {
        assert!(!wire.verify(p.network_id, &OperatorKey::Sr25519(sr)));
    }
}

#[test]
fn read_credentials_take_either_algorithm_and_sr25519_ones_are_unchanged() {
    use dfc_core::light::{ReadAuth, READ_DOMAIN};
    use dfc_core::transcript::TranscriptProtocol;
    use ed25519_dalek::Signer;
    let p = params();
    let path = "/v1/blocks?from=0&limit=10";

    // sr25519: the signed bytes and the header are those of before keys carried an algorithm
    // (the transcript below is the one `ReadAuth::signing_hash` built then).
    let sr = SigningKey::from_seed(&[4u8; 32]);
    let a = ReadAuth::sign(&p, path, &sr, 1_000, Hash32([8u8; 32]));
    let mut t = merlin::Transcript::new(READ_DOMAIN);
    t.append_message(b"network", &p.network_id.to_le_bytes());
    t.append_message(b"genesis", &p.genesis_hash.0);
    t.append_message(b"request", path.as_bytes());
    t.append_message(b"key", &sr.public().to_bytes());
    t.append_u64_le(b"time_ms", 1_000);
    t.append_message(b"nonce", &[8u8; 32]);
    let mut old = [0u8; 32];
    t.challenge_bytes(b"read", &mut old);
    assert_eq!(
        ReadAuth::signing_hash(
            p.network_id,
            &p.genesis_hash,
            path,
            &a.key,
            1_000,
            &Hash32([8u8; 32])
        )
        .0,
        old
    );
    assert!(a
        .to_header()
        .starts_with(&format!("{}.", hex::encode(sr.public().to_bytes()))));
    assert!(ReadAuth::from_header(&a.to_header())
        .unwrap()
        .verify(&p, path));

    // Ed25519 (a key in a token): its own key label in the signed bytes, `ed25519:` in the header.
    let sk = ed25519_dalek::SigningKey::from_bytes(&[12u8; 32]);
    let key = OperatorKey::Ed25519(Ed25519Key::from_bytes(&sk.verifying_key().to_bytes()).unwrap());
    let e = ReadAuth::try_sign(&p, path, key, 1_000, Hash32([9u8; 32]), |h| {
        Signature::from_ed25519_bytes(&sk.sign(&ed25519_message(h)).to_bytes())
    })
    .unwrap();
    let header = e.to_header();
    assert!(header.starts_with("ed25519:"), "{header}");
    let back = ReadAuth::from_header(&header).unwrap();
    assert_eq!(back, e);
    assert!(back.verify(&p, path));
    assert!(!back.verify(&p, "/v1/blocks?from=1&limit=10"));
    // Claimed as an sr25519 key of the same bytes (if they decode), it does not verify.
    if let Ok(sr) = dfc_core::PublicKey::from_bytes(&key.to_bytes()) {
        let mut swapped = back.clone();
        swapped.key = OperatorKey::Sr25519(sr);
        assert!(!swapped.verify(&p, path));
    }
}
