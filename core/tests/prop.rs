//! Property tests: random valid transactions verify, and no single-byte change to an encoded
//! transaction is ever accepted.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use dfc_core::{build, Amount, MemoryLedger, Payment, Transaction, TxKind};
use proptest::prelude::*;

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, .. ProptestConfig::default() })]

    #[test]
    fn random_valid_transfers_verify(
        issued in prop::collection::vec(1u64..1_000_000, 1..4),
        split in prop::collection::vec(1u64..100, 1..5),
        seed in any::<u64>(),
    ) {
        let n = net(1);
        let mut ledger = MemoryLedger::new(n.params.clone());
        let alice = wallet("alice");
        let bob = wallet("bob");
        let notes = issue(&n, &mut ledger, &alice, &issued, seed);
        let total: u64 = issued.iter().sum();
        // Split the total across outputs in proportion to `split`, remainder to the last.
        let weight: u64 = split.iter().sum();
        let mut outs: Vec<u64> = split.iter().map(|w| total * w / weight).collect();
        let assigned: u64 = outs.iter().sum();
        *outs.last_mut().unwrap() += total - assigned;
        let payments: Vec<Payment> = outs.iter().map(|a| pay(&bob, 1, *a)).collect();
        let tx = build(&n.params, TxKind::Transfer, Amount::ZERO, &notes, &payments, &mut rng(seed ^ 1)).unwrap().tx;
        prop_assert_eq!(Transaction::decode(&tx.encode()).unwrap(), tx.clone());
        ledger.apply(&tx).unwrap();
        prop_assert_eq!(ledger.supply().units(), total);
        ledger.audit().unwrap();
    }
}

/// A fixed funded ledger and a valid transfer, built once: proofs are too slow to rebuild per case.
fn fixture() -> (MemoryLedger, Vec<u8>) {
    let n = net(1);
    let mut ledger = MemoryLedger::new(n.params.clone());
    let alice = wallet("alice");
    let bob = wallet("bob");
    let notes = issue(&n, &mut ledger, &alice, &[600, 400], 1);
    let tx = build(
        &n.params,
        TxKind::Transfer,
        Amount::ZERO,
        &notes,
        &[pay(&bob, 1, 700), pay(&alice, 1, 300)],
        &mut rng(2),
    )
    .unwrap()
    .tx;
    (ledger, tx.encode())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, .. ProptestConfig::default() })]

    #[test]
    fn flipping_any_byte_is_never_accepted(pos in any::<prop::sample::Index>(), mask in 1u8..=255) {
        thread_local! {
            static FIX: (MemoryLedger, Vec<u8>) = fixture();
        }
        FIX.with(|(ledger, bytes)| {
            let mut b = bytes.clone();
            let i = pos.index(b.len());
            b[i] ^= mask;
            if let Ok(tx) = Transaction::decode(&b) {
                let mut l = ledger.clone();
                let before = snapshot(&l);
                assert!(l.apply(&tx).is_err(), "a transaction with byte {i} altered was accepted");
                assert_eq!(snapshot(&l), before);
            }
        });
    }
}
