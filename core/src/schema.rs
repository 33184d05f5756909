//! JSON Schemas of the wire types whose JSON form is a string (hex, bech32) or a bounded integer,
//! for the node's OpenAPI document (feature `openapi`). The structs and enums of
//! [`crate::api`] and [`crate::offline_api`] derive theirs; these are the leaves they refer to.
//!
//! A pattern says what the JSON text must look like. What it cannot say (that 32 bytes are a
//! valid Ristretto point, that hex decodes to a well-formed transaction) is in the description,
//! and the node refuses such values with a typed 400 (`malformed_json`).

use std::borrow::Cow;

use utoipa::openapi::schema::{ObjectBuilder, Schema, SchemaFormat, Type};
use utoipa::openapi::RefOr;
use utoipa::{PartialSchema, ToSchema};

use crate::address::Address;
use crate::amount::Amount;
use crate::keys::{PublicKey, Signature};
use crate::note::{Commitment, Hash32};
use crate::params::MAX_TX_BYTES_CAP;
use crate::tx::Transaction;

/// A string schema with a pattern and a description.
fn string(pattern: &str, description: &str) -> RefOr<Schema> {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .pattern(Some(pattern))
        .description(Some(description))
        .into()
}

macro_rules! string_schema {
    ($ty:ty, $name:literal, $pattern:expr, $description:literal) => {
        impl PartialSchema for $ty {
            fn schema() -> RefOr<Schema> {
                string($pattern, $description)
            }
        }
        impl ToSchema for $ty {
            fn name() -> Cow<'static, str> {
                Cow::Borrowed($name)
            }
        }
    };
}

string_schema!(
    Hash32,
    "Hash32",
    "^[0-9a-fA-F]{64}$",
    "32 bytes in hex: a hash, a transaction or note id, or a blinding."
);
string_schema!(
    PublicKey,
    "PublicKey",
    "^[0-9a-fA-F]{64}$",
    "A compressed Ristretto point in hex (32 bytes). Hex that is not a valid point is refused \
     with 400 `malformed_json`."
);
string_schema!(
    Commitment,
    "Commitment",
    "^[0-9a-fA-F]{64}$",
    "A Pedersen commitment: a compressed Ristretto point in hex (32 bytes)."
);
string_schema!(
    Signature,
    "Signature",
    "^[0-9a-fA-F]{128}$",
    "A signature in hex (64 bytes): schnorrkel (sr25519, top bit of the last byte set) or, by an \
     Ed25519 operator key, Ed25519. Bytes that are not a signature's encoding are \
     refused with 400 `malformed_json`."
);
string_schema!(
    Address,
    "Address",
    "^(dfc|DFC)1[02-9ac-hj-np-zAC-HJ-NP-Z]{6,}$",
    "A wallet address: bech32m with the `dfc` prefix, carrying the network, spend and view keys."
);

impl PartialSchema for Transaction {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .pattern(Some("^\\s*([0-9a-fA-F]{2})*\\s*$"))
            .max_length(Some(2 * MAX_TX_BYTES_CAP + 64))
            .description(Some(
                "A transaction: hex of its canonical encoding (docs/protocol.md). Hex that does \
                 not decode to a transaction is refused with 400 `malformed_json`.",
            ))
            .into()
    }
}
impl ToSchema for Transaction {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("Transaction")
    }
}

impl PartialSchema for Amount {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::Integer)
            .format(Some(SchemaFormat::KnownFormat(
                utoipa::openapi::KnownFormat::Int64,
            )))
            .minimum(Some(0))
            .maximum(Some(Amount::MAX_SUPPLY))
            .description(Some(
                "An amount in minor units (cents for two decimals), at most 10^17.",
            ))
            .into()
    }
}
impl ToSchema for Amount {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("Amount")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leaf_schemas_are_strings_with_patterns() {
        let json = serde_json::to_value(Hash32::schema()).unwrap_or_default();
        assert_eq!(json["type"], "string");
        assert_eq!(json["pattern"], "^[0-9a-fA-F]{64}$");
        let json = serde_json::to_value(Amount::schema()).unwrap_or_default();
        assert_eq!(json["maximum"], serde_json::json!(Amount::MAX_SUPPLY));
    }
}
