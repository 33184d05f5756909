//! Signed evidence that a node withheld a payment from a light wallet.
//!
//! A light wallet sees only what the node's filtered answer lists. The node cannot show it a
//! fake payment (every transaction carries an inclusion proof against a signed header), but it
//! could leave one out. Two signed statements of the node's own then contradict each other:
//! - the **receipt** it gave the payer: transaction `txid` is in the block at `height`;
//! - the **light-sync answer** it gave the payee: the complete list of what concerns the payee's
//!   key from `from` to `to`, signed over (key, range, list) — and `txid` is not in it, although
//!   `height` is in the range (or the answer claims a tip below `height`).
//!
//! With the transaction itself, which shows that an output is owned by the payee's key, anyone
//! holding the network's parameters can check the contradiction: [`OmissionEvidence::verify`].
//! The payer hands the payee a [`PaymentProof`] (the transaction and its receipt); the payee's
//! wallet asks the node again from the receipt's height, and keeps the answer as evidence if the
//! payment is still missing.

use serde::{Deserialize, Serialize};
use thiserror::Error;

use super::LightSync;
use crate::api::Receipt;
use crate::governance::ParamsHistory;
use crate::keys::PublicKey;
use crate::note::TxId;
use crate::tx::Transaction;

/// What a payer hands a payee to show a payment committed: the transaction and the node's
/// receipt for it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PaymentProof {
    /// The whole transaction (its outputs name their owners' keys).
    pub tx: Transaction,
    /// The node's receipt: `tx` committed at `receipt.height`.
    pub receipt: Receipt,
}

/// The node's receipt for a payment, and its signed light-sync answer to the payee that does
/// not list that payment.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OmissionEvidence {
    /// The payment and its receipt.
    pub payment: PaymentProof,
    /// The node's signed answer to the payee.
    pub answer: LightSync,
}

/// Why a payment proof or an omission claim does not hold.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum OmissionError {
    /// The receipt is for another transaction.
    #[error("the receipt is for transaction {receipt}, not {tx}")]
    ReceiptForOtherTx {
        /// The transaction's id.
        tx: TxId,
        /// The receipt's txid.
        receipt: TxId,
    },
    /// The receipt's signature does not verify under the node key in force at its height.
    #[error("the receipt's node signature does not verify (height {height})")]
    BadReceipt {
        /// Height the receipt names.
        height: u64,
    },
    /// No output of the transaction is owned by the payee's key.
    #[error("transaction {txid} pays nothing to key {key}")]
    NotPayee {
        /// Transaction.
        txid: TxId,
        /// The key that claims to be paid.
        key: String,
    },
    /// The answer's node signature does not verify.
    #[error("the light-sync answer's node signature does not verify")]
    BadAnswerSignature,
    /// The answer lists the payment, or does not cover its height: no contradiction.
    #[error("the answer (heights {from} to {to}, tip {tip}) does not omit transaction {txid} at height {height}")]
    NotOmitted {
        /// Transaction.
        txid: TxId,
        /// Its receipt's height.
        height: u64,
        /// First height answered.
        from: u64,
        /// Last height answered.
        to: u64,
        /// The answer's tip.
        tip: u64,
    },
}

impl PaymentProof {
    /// Checks that the receipt is the node's, for this transaction, and that the transaction
    /// pays `payee` (one of its outputs is owned by that key).
    pub fn check(&self, payee: &PublicKey, history: &ParamsHistory) -> Result<(), OmissionError> {
        let txid = self.tx.id();
        if self.receipt.txid != txid {
            return Err(OmissionError::ReceiptForOtherTx {
                tx: txid,
                receipt: self.receipt.txid,
            });
        }
        if !self
            .receipt
            .verify(&history.at(self.receipt.height).node_key)
        {
            return Err(OmissionError::BadReceipt {
                height: self.receipt.height,
            });
        }
        if !self.tx.outputs.iter().any(|o| o.owner == *payee) {
            return Err(OmissionError::NotPayee {
                txid,
                key: hex::encode(payee.to_bytes()),
            });
        }
        Ok(())
    }
}

/// Whether the signed `answer` contradicts a receipt at `height` for `txid`: the height is in
/// its range and the transaction is not listed, or the answer starts at or before the height and
/// claims a tip below it.
pub fn contradicts(answer: &LightSync, txid: &TxId, height: u64) -> bool {
    answer.omits(txid, height) || (answer.from <= height && answer.tip_height < height)
}

impl OmissionEvidence {
    /// Checks the evidence with the network's parameter history (verified by the caller): the
    /// payment proof holds for the answer's key, the answer is signed by the node, and it
    /// [`contradicts`] the receipt.
    pub fn verify(&self, history: &ParamsHistory) -> Result<(), OmissionError> {
        self.payment.check(&self.answer.key, history)?;
        if !self.answer.signature_ok(history.at(self.answer.tip_height)) {
            return Err(OmissionError::BadAnswerSignature);
        }
        let txid = self.payment.tx.id();
        let height = self.payment.receipt.height;
        if !contradicts(&self.answer, &txid, height) {
            return Err(OmissionError::NotOmitted {
                txid,
                height,
                from: self.answer.from,
                to: self.answer.to,
                tip: self.answer.tip_height,
            });
        }
        Ok(())
    }
}
