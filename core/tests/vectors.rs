//! Committed transaction vectors that must keep verifying: if a change to the encoding, the
//! transcripts or the proofs breaks them, old transactions on real ledgers would stop verifying.
//!
//! Regenerate (only on a deliberate format change, with a new version label) with
//! `DFC_WRITE_VECTORS=1 cargo test -p dfc-core --test vectors`.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use dfc_core::{build, Amount, MemoryLedger, NetworkParams, Transaction, TxKind};
use std::path::PathBuf;

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
    for name in ["issue.hex", "transfer_2in_2out.hex", "redeem.hex"] {
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
    }
    assert_eq!(ledger.supply().units(), 750);
    ledger.audit().unwrap();
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
    std::fs::write(dir().join("issue.hex"), issue_b.tx.to_hex()).unwrap();
    std::fs::write(dir().join("transfer_2in_2out.hex"), transfer.tx.to_hex()).unwrap();
    std::fs::write(dir().join("redeem.hex"), redeem.tx.to_hex()).unwrap();
}
