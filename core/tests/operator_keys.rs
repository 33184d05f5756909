//! Operator keys carry an algorithm (sr25519 or Ed25519). These tests pin what existed before:
//! parameters, their hash and operator requests of sr25519 operators stay byte-identical, and a
//! request signed before algorithm tags existed keeps verifying.
//!
//! The vectors in `tests/vectors/operator/` were written by the code before the change
//! (`DFC_WRITE_VECTORS=1 cargo test -p dfc-core --test operator_keys` regenerates them: only on
//! a deliberate format change).
#![allow(clippy::unwrap_used)]

use dfc_core::api::{OperatorAction, OperatorRequest};
use dfc_core::{Hash32, NetworkParams, SigningKey};
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
