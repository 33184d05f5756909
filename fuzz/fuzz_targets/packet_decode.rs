//! Arbitrary bytes and text through `PaymentPacket::decode` / `from_text`, then the payee's
//! cheap checks (`precheck_packet`) with an empty book. Property: nothing panics, and a decoded
//! packet re-encodes to bytes that decode to the same packet.
#![no_main]

use dfc_core::offline::{precheck_packet, AcceptPolicy, PayeeBook, PaymentPacket};
use dfc_core::{Amount, NetworkParams, PublicKey, TxId};
use libfuzzer_sys::fuzz_target;

struct EmptyBook;

impl PayeeBook for EmptyBook {
    fn unsettled_total(&self) -> Amount {
        Amount::ZERO
    }
    fn unsettled_from(&self, _purse: &PublicKey) -> Amount {
        Amount::ZERO
    }
    fn last_counter(&self, _purse: &PublicKey) -> Option<u64> {
        None
    }
    fn has_tx(&self, _txid: &TxId) -> bool {
        false
    }
}

fn check(packet: &PaymentPacket) {
    let params: NetworkParams =
        serde_json::from_str(include_str!("../../core/tests/vectors/params.json"))
            .expect("committed params parse");
    let again = PaymentPacket::decode(&packet.encode()).expect("an encoded packet decodes");
    assert_eq!(again.encode(), packet.encode(), "re-encoding is stable");
    for payee in packet.tx.outputs.iter().map(|o| o.owner) {
        let _ = precheck_packet(
            packet,
            &params,
            &payee,
            &AcceptPolicy::default(),
            &EmptyBook,
            packet.checkpoint.time_ms,
        );
    }
}

fuzz_target!(|data: &[u8]| {
    if let Ok(p) = PaymentPacket::decode(data) {
        check(&p);
    }
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(p) = PaymentPacket::from_text(text) {
            check(&p);
        }
    }
});
