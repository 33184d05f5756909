//! Committed transaction vectors that must keep verifying: if a change to the encoding, the
//! transcripts or the proofs breaks them, old transactions on real ledgers would stop verifying.
//!
//! `tests/vectors/` holds the current format (version 3): an issue, the recipient's claim, a
//! transfer with its flow section and a redemption. `tests/vectors/v1/` keeps the vectors of the
//! retired version 1, which must be refused with a clear error, never misread.
//!
//! Regenerate (only on a deliberate format change, with a new version label) with
//! `DFC_WRITE_VECTORS=1 cargo test -p dfc-core --test vectors`.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use dfc_core::{build, Amount, DecodeError, MemoryLedger, NetworkParams, Transaction, TxKind};
use std::path::PathBuf;

/// The current vectors, in the order they apply.
const V3: [&str; 4] = [
    "issue.hex",
    "claim.hex",
    "transfer_2in_2out.hex",
    "redeem.hex",
];
/// The retired version-1 vectors.
const V1: [&str; 3] = ["issue.hex", "transfer_2in_2out.hex", "redeem.hex"];

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/vectors")
}

#[test]
fn committed_vectors_verify() {
    if std::env::var("DFC_WRITE_VECTORS").is_ok() {
        write_vectors();
    }
    let params: NetworkParams = serde_json_from(&dir().join("params.json"));
    let mut ledger = MemoryLedger::new(params);
    let mut kinds = Vec::new();
    for name in V3 {
        let text = std::fs::read_to_string(dir().join(name)).unwrap();
        let tx = Transaction::from_hex(&text).unwrap();
        assert_eq!(
            tx.to_hex(),
            text.trim(),
            "{name} does not re-encode canonically"
        );
        ledger
            .apply(&tx)
            .unwrap_or_else(|e| panic!("vector {name} no longer verifies: {e}"));
        kinds.push(tx.kind);
    }
    assert_eq!(
        kinds,
        [
            TxKind::Issue,
            TxKind::Claim,
            TxKind::Transfer,
            TxKind::Redeem
        ]
    );
    assert_eq!(ledger.supply().units(), 750);
    ledger.audit().unwrap();
}

#[test]
fn retired_version_1_vectors_are_refused_with_a_clear_message() {
    for name in V1 {
        let text = std::fs::read_to_string(dir().join("v1").join(name)).unwrap();
        let err = Transaction::from_hex(&text).unwrap_err();
        assert_eq!(err, DecodeError::RetiredVersion(1), "{name}");
        let message = err.to_string();
        assert!(
            message.contains("version 1 is retired") && message.contains("rebuild"),
            "{name}: unclear message: {message}"
        );
    }
    // The version-1 parameters lack the fields version 3 requires: they are not silently taken.
    let old = std::fs::read_to_string(dir().join("v1/params.json")).unwrap();
    assert!(serde_json::from_str::<NetworkParams>(&old).is_err());
}

fn serde_json_from(path: &std::path::Path) -> NetworkParams {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn write_vectors() {
    let n = net(7);
    let mut ledger = MemoryLedger::new(n.params.clone());
    let alice = wallet("alice");
    let bob = wallet("bob");
    let mut issue_b = build(
        &n.params,
        TxKind::Issue,
        amt(1000),
        &[],
        &[pay(&alice, 7, 600), pay(&alice, 7, 400)],
        &mut rng(100),
    )
    .unwrap();
    issue_b.tx.sign_as_issuer(0, &n.issuers[0]);
    issue_b.tx.sign_as_issuer(2, &n.issuers[2]);
    ledger.apply(&issue_b.tx).unwrap();
    let parts = claim_parts(&ledger, &alice);
    let claim = make_claim(&n, &parts.request(&alice.spend, &parts.pending), 103).unwrap();
    ledger.apply(&claim).unwrap();
    let notes = spendable(&issue_b, &alice);
    let transfer = build(
        &n.params,
        TxKind::Transfer,
        Amount::ZERO,
        &notes,
        &[pay(&bob, 7, 700), pay(&alice, 7, 300)],
        &mut rng(101),
    )
    .unwrap();
    ledger.apply(&transfer.tx).unwrap();
    // Bob redeems his pending receipt without claiming it: the reverse waterfall.
    let bob_notes = spendable(&transfer, &bob);
    let mut redeem = build(
        &n.params,
        TxKind::Redeem,
        amt(250),
        &bob_notes,
        &[pay(&bob, 7, 450)],
        &mut rng(102),
    )
    .unwrap();
    redeem.tx.sign_as_issuer(1, &n.issuers[1]);
    redeem.tx.sign_as_issuer(2, &n.issuers[2]);
    ledger.apply(&redeem.tx).unwrap();
    std::fs::write(
        dir().join("params.json"),
        serde_json::to_string_pretty(&n.params).unwrap(),
    )
    .unwrap();
    for (name, tx) in V3
        .iter()
        .zip([&issue_b.tx, &claim, &transfer.tx, &redeem.tx])
    {
        std::fs::write(dir().join(name), tx.to_hex()).unwrap();
    }
}

/// The hash of the committed parameters, as computed before the optional `tls_ca` field existed:
/// parameters without it must keep their hash (and so every genesis and block header made from
/// them), and their JSON must not change.
const PARAMS_HASH_BEFORE_TLS_CA: &str =
    "ec532799b16322f2e81df2209f875d787c526e72504ca17d98f1903d009b6137";

#[test]
fn parameters_without_tls_ca_keep_their_hash_and_encoding() {
    let text = std::fs::read_to_string(dir().join("params.json")).unwrap();
    let params: NetworkParams = serde_json::from_str(&text).unwrap();
    assert_eq!(params.tls_ca, None);
    assert_eq!(params.hash().to_hex(), PARAMS_HASH_BEFORE_TLS_CA);
    let again: serde_json::Value = serde_json::to_value(&params).unwrap();
    let committed: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(again, committed, "re-encoding adds or drops a field");
    assert!(again.get("tls_ca").is_none());
    // With a pin the hash moves: the CA is bound into the genesis like every other parameter.
    let mut pinned = params.clone();
    pinned.tls_ca = Some("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n".into());
    assert_ne!(pinned.hash(), params.hash());
    let round: NetworkParams =
        serde_json::from_str(&serde_json::to_string(&pinned).unwrap()).unwrap();
    assert_eq!(round, pinned);
}
