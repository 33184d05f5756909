//! Arbitrary bytes through `Transaction::decode`, then stateless and full validation against a
//! fixed ledger (the committed test vectors: params, the issuance the transfer vector spends and
//! the claim that makes its notes spendable).
//!
//! Properties: nothing panics; whatever decodes re-encodes to the same bytes (one encoding per
//! value); the only transaction that validates is the committed transfer vector itself.
#![no_main]

use std::sync::OnceLock;

use dfc_core::validate::{check_structure, validate};
use dfc_core::{MemoryLedger, NetworkParams, Transaction};
use libfuzzer_sys::fuzz_target;

struct Fixture {
    params: NetworkParams,
    ledger: MemoryLedger,
    transfer: Vec<u8>,
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let params: NetworkParams =
            serde_json::from_str(include_str!("../../core/tests/vectors/params.json"))
                .expect("committed params parse");
        let issue =
            Transaction::from_hex(include_str!("../../core/tests/vectors/issue.hex").trim())
                .expect("committed issue decodes");
        let transfer = Transaction::from_hex(
            include_str!("../../core/tests/vectors/transfer_2in_2out.hex").trim(),
        )
        .expect("committed transfer decodes");
        let claim =
            Transaction::from_hex(include_str!("../../core/tests/vectors/claim.hex").trim())
                .expect("committed claim decodes");
        let mut ledger = MemoryLedger::new(params.clone());
        ledger
            .apply(&issue)
            .expect("the committed issuance verifies");
        ledger
            .apply(&claim)
            .expect("the committed claim of the issued notes verifies");
        Fixture {
            params,
            ledger,
            transfer: transfer.encode(),
        }
    })
}

fuzz_target!(|data: &[u8]| {
    let f = fixture();
    let Ok(tx) = Transaction::decode(data) else {
        return;
    };
    assert_eq!(
        tx.encode(),
        data,
        "decode then encode must give the input back"
    );
    if check_structure(&tx, &f.params).is_err() {
        return;
    }
    if validate(&tx, &f.params, &f.ledger, f.ledger.period()).is_ok() {
        assert_eq!(
            tx.encode(),
            f.transfer,
            "a transaction other than the committed vector validated"
        );
    }
});
