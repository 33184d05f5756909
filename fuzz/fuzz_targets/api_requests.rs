//! Arbitrary bytes parsed as every JSON request body the node accepts (the same serde types its
//! handlers use). Property: nothing panics, and what parses serializes back to JSON that parses
//! to the same value.
#![no_main]

use dfc_core::api::{OperatorRequest, RegisterRequest, SubmitRequest};
use dfc_core::offline_api::{ProofsRequest, PurseRequest, SettleRequest};
use libfuzzer_sys::fuzz_target;
use serde::de::DeserializeOwned;
use serde::Serialize;

fn roundtrip<T: DeserializeOwned + Serialize>(data: &[u8]) {
    if let Ok(v) = serde_json::from_slice::<T>(data) {
        let json = serde_json::to_vec(&v).expect("a parsed request serializes");
        let back: T = serde_json::from_slice(&json).expect("its own JSON parses");
        assert_eq!(
            serde_json::to_vec(&back).expect("serializes"),
            json,
            "JSON round trip is stable"
        );
    }
}

fuzz_target!(|data: &[u8]| {
    roundtrip::<SubmitRequest>(data);
    roundtrip::<RegisterRequest>(data);
    roundtrip::<OperatorRequest>(data);
    roundtrip::<ProofsRequest>(data);
    roundtrip::<PurseRequest>(data);
    roundtrip::<SettleRequest>(data);
});
