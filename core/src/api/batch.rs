//! Wire types of batch submission (`POST /v1/transactions/batch`): many transfers or claims in
//! one request, one outcome each, in order.
//!
//! Two encodings of the request:
//! - `application/octet-stream`: the framing below, version byte first;
//! - `application/json`: [`SubmitBatchRequest`] (each transaction as hex of its canonical bytes).
//!
//! Binary framing, version 1: `0x01`, then a `u16` little-endian count, then per transaction a
//! `u32` little-endian length and that many bytes of its canonical encoding
//! ([`Transaction::encode`]). Nothing may follow the last transaction.

use serde::{Deserialize, Serialize};

use super::{ApiError, Receipt};
use crate::params::MAX_TX_BYTES_CAP;
use crate::tx::Transaction;

/// Version byte of the binary batch framing.
pub const BATCH_FRAMING_VERSION: u8 = 1;
/// Most transactions in one batch request.
pub const MAX_BATCH_SUBMIT: usize = 256;
/// Largest batch body: every transaction at the protocol's size cap would not fit, so the node
/// refuses a body past this before reading it (`body_too_large`).
pub const MAX_BATCH_BODY_BYTES: usize = 2 * 1024 * 1024;

/// `POST /v1/transactions/batch` as JSON.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SubmitBatchRequest {
    /// The transactions, each as hex of its canonical encoding.
    #[cfg_attr(feature = "openapi", schema(min_items = 1, max_items = 256))]
    pub txs: Vec<Transaction>,
}

/// The outcome of one transaction of a batch: its durable receipt, or why it was refused (the
/// error `POST /v1/transactions` would have given, with its HTTP status).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub enum BatchOutcome {
    /// Committed.
    Receipt(Receipt),
    /// Refused.
    Error {
        /// The HTTP status a single submission would have had.
        status: u16,
        /// Code and message.
        error: ApiError,
    },
}

/// The answer to a batch: one outcome per transaction, in request order.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SubmitBatchResponse {
    /// Outcomes in request order.
    pub outcomes: Vec<BatchOutcome>,
}

/// Why a binary batch body does not decode.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BatchFramingError {
    /// The body is empty or its version byte is not [`BATCH_FRAMING_VERSION`].
    #[error("batch framing version {0:?} is not supported (this node reads version 1)")]
    Version(Option<u8>),
    /// The body ended inside a count, a length or a transaction.
    #[error("the batch body is truncated at byte {at}")]
    Truncated {
        /// Offset where more bytes were needed.
        at: usize,
    },
    /// More transactions than [`MAX_BATCH_SUBMIT`], or none.
    #[error("a batch holds 1 to {MAX_BATCH_SUBMIT} transactions, this one {count}")]
    Count {
        /// The count announced.
        count: usize,
    },
    /// A transaction longer than the protocol's size cap.
    #[error("transaction {index} is {len} bytes, over the cap of {MAX_TX_BYTES_CAP}")]
    TooLarge {
        /// Position in the batch.
        index: usize,
        /// Its announced length.
        len: usize,
    },
    /// Bytes after the last transaction.
    #[error("{0} bytes follow the last transaction")]
    Trailing(usize),
}

/// Frames canonical transaction encodings as a binary batch body.
pub fn encode_batch<'a>(txs: impl ExactSizeIterator<Item = &'a [u8]>) -> Vec<u8> {
    let mut out = vec![BATCH_FRAMING_VERSION];
    out.extend_from_slice(&u16::try_from(txs.len()).unwrap_or(u16::MAX).to_le_bytes());
    for tx in txs {
        out.extend_from_slice(&u32::try_from(tx.len()).unwrap_or(u32::MAX).to_le_bytes());
        out.extend_from_slice(tx);
    }
    out
}

/// Splits a binary batch body into the transactions' byte strings (not yet decoded: each is
/// decoded, and refused on its own, by the caller).
pub fn split_batch(body: &[u8]) -> Result<Vec<&[u8]>, BatchFramingError> {
    match body.first() {
        Some(&BATCH_FRAMING_VERSION) => {}
        other => return Err(BatchFramingError::Version(other.copied())),
    }
    let count_bytes: [u8; 2] = body
        .get(1..3)
        .and_then(|b| b.try_into().ok())
        .ok_or(BatchFramingError::Truncated { at: 1 })?;
    let count = usize::from(u16::from_le_bytes(count_bytes));
    if count == 0 || count > MAX_BATCH_SUBMIT {
        return Err(BatchFramingError::Count { count });
    }
    let mut at = 3;
    let mut out = Vec::with_capacity(count);
    for index in 0..count {
        let len_bytes: [u8; 4] = body
            .get(at..at + 4)
            .and_then(|b| b.try_into().ok())
            .ok_or(BatchFramingError::Truncated { at })?;
        let len = usize::try_from(u32::from_le_bytes(len_bytes)).unwrap_or(usize::MAX);
        if len > MAX_TX_BYTES_CAP {
            return Err(BatchFramingError::TooLarge { index, len });
        }
        at += 4;
        let tx = body
            .get(at..at + len)
            .ok_or(BatchFramingError::Truncated { at })?;
        out.push(tx);
        at += len;
    }
    if at != body.len() {
        return Err(BatchFramingError::Trailing(body.len() - at));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn framing_round_trips_and_refuses_bad_bodies() {
        let txs: Vec<Vec<u8>> = vec![vec![1, 2, 3], vec![], vec![9; 40]];
        let body = encode_batch(txs.iter().map(Vec::as_slice));
        let split = split_batch(&body).expect("well framed");
        assert_eq!(split, txs.iter().map(Vec::as_slice).collect::<Vec<_>>());
        assert_eq!(split_batch(&[]), Err(BatchFramingError::Version(None)));
        assert_eq!(
            split_batch(&[2, 1, 0]),
            Err(BatchFramingError::Version(Some(2)))
        );
        assert_eq!(
            split_batch(&[1, 0, 0]),
            Err(BatchFramingError::Count { count: 0 })
        );
        assert_eq!(
            split_batch(&[1, 0x01, 0x01]),
            Err(BatchFramingError::Count { count: 257 })
        );
        assert!(matches!(
            split_batch(&body[..body.len() - 1]),
            Err(BatchFramingError::Truncated { .. })
        ));
        let mut long = body.clone();
        long.push(0);
        assert_eq!(split_batch(&long), Err(BatchFramingError::Trailing(1)));
        let mut huge = vec![1, 1, 0];
        huge.extend_from_slice(&u32::MAX.to_le_bytes());
        assert!(matches!(
            split_batch(&huge),
            Err(BatchFramingError::TooLarge { index: 0, .. })
        ));
    }
}
