//! Signing operator requests (domain `dfc/operator/v2`, [`dfc_core::api::OPERATOR_DOMAIN`]):
//! used by `dfc-bank`'s operator commands, the console, `dfc-sim load` and the tests. The node
//! checks what is signed here ([`OperatorRequest::verify`], and the order of sequence numbers in
//! the node's `opseq`); only the signing side lives in this crate.

use std::sync::atomic::{AtomicU64, Ordering};

use dfc_core::api::{OperatorAction, OperatorRequest, MAX_OPERATOR_SEQUENCE};
use dfc_core::{
    build, Address, Amount, BuildError, Hash32, IssuerSignature, NetworkParams, Payment,
    SigningKey, Transaction, TxId, TxKind,
};
use rand_core::{OsRng, RngCore};

use crate::now_ms;

/// The last sequence number this process signed.
static LAST_SEQUENCE: AtomicU64 = AtomicU64::new(0);

/// The sequence number of the next operator request signed by this process: the time in
/// microseconds since the Unix epoch, bumped past the previous one.
///
/// Why time and not "ask the node for the last one and add one": the order that must hold is
/// the order in which the operator *decided*, whatever order the requests travel in. A time
/// stamp taken at signing orders an `unfreeze` signed before a `freeze` below it even across
/// processes (a CLI call, then the console), with no round trip that an on-path party could
/// delay or answer falsely, and two requests from one process are never equal. A clock set
/// back makes the node refuse the new requests (`stale_sequence`): a safe failure that names
/// the last accepted value.
pub fn next_sequence() -> u64 {
    let now_us = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_micros()).unwrap_or(MAX_OPERATOR_SEQUENCE))
        .unwrap_or(0)
        .min(MAX_OPERATOR_SEQUENCE);
    let prev = LAST_SEQUENCE
        .fetch_update(Ordering::AcqRel, Ordering::Acquire, |last| {
            Some(now_us.max(last.saturating_add(1)))
        })
        .unwrap_or_else(|last| last);
    now_us.max(prev.saturating_add(1))
}

/// An operator: its index in the network's issuer keys and its key.
#[derive(Clone)]
pub struct Operator {
    /// Index into `NetworkParams::issuers`.
    pub index: u8,
    /// The operator's signing key.
    pub key: SigningKey,
}

impl Operator {
    /// Finds `key` among the network's issuer keys.
    pub fn find(params: &NetworkParams, key: SigningKey) -> Option<Operator> {
        let public = key.public();
        let index = params.issuers.iter().position(|k| *k == public)?;
        Some(Operator {
            index: u8::try_from(index).ok()?,
            key,
        })
    }

    /// A signed request for `action`, timed now, with a fresh random nonce and the next
    /// sequence number ([`next_sequence`]).
    pub fn request(&self, params: &NetworkParams, action: OperatorAction) -> OperatorRequest {
        let mut nonce = [0u8; 32];
        OsRng.fill_bytes(&mut nonce);
        OperatorRequest::new(
            params.network_id,
            self.index,
            &self.key,
            now_ms(),
            Hash32(nonce),
            next_sequence(),
            action,
        )
    }

    /// This operator's issuer signature over `txid`.
    pub fn approval(&self, txid: &TxId) -> IssuerSignature {
        IssuerSignature {
            index: self.index,
            signature: self.key.sign(&txid.0),
        }
    }

    /// Builds an issuance of `amount` to `to` and the request proposing it (with this operator's
    /// approval and the disclosed opening of its output, which every approver is shown).
    pub fn propose_issue(
        &self,
        params: &NetworkParams,
        to: &Address,
        amount: Amount,
    ) -> Result<(Transaction, OperatorRequest), BuildError> {
        let built = build(
            params,
            TxKind::Issue,
            amount,
            &[],
            &[Payment {
                to: *to,
                amount,
                memo: Vec::new(),
            }],
            &mut OsRng,
        )?;
        let openings = dfc_core::proposal::disclose(&built.openings);
        let tx = built.tx;
        let approval = self.approval(&tx.id());
        let req = self.request(
            params,
            OperatorAction::Propose {
                tx: tx.clone(),
                approval,
                openings,
            },
        );
        Ok((tx, req))
    }

    /// The request approving proposal `txid`.
    pub fn approve(&self, params: &NetworkParams, txid: &TxId) -> OperatorRequest {
        self.request(
            params,
            OperatorAction::Approve {
                txid: *txid,
                approval: self.approval(txid),
            },
        )
    }
}
