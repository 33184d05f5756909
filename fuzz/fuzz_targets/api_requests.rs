//! Arbitrary bytes parsed as every JSON request body the node accepts (the same serde types its
//! handlers use), and as a binary batch body (`POST /v1/transactions/batch` with
//! `application/octet-stream`). Properties: nothing panics; what parses serializes back to JSON
//! that parses to the same value; a batch body that splits re-frames to the same bytes (one
//! framing per batch), and each of its parts goes through `Transaction::decode` as the handler
//! does.
#![no_main]

use dfc_core::api::batch::{encode_batch, split_batch, SubmitBatchRequest};
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
    roundtrip::<SubmitBatchRequest>(data);
    if let Ok(parts) = split_batch(data) {
        assert_eq!(
            encode_batch(parts.iter().copied()),
            data,
            "a batch body has one framing"
        );
        for part in parts {
            let _ = dfc_core::Transaction::decode(part);
        }
    }
});
