//! Signing operator requests (domain `dfc/operator/v2`, [`dfc_core::api::OPERATOR_DOMAIN`]):
//! used by `dfc-bank`'s operator commands, the console, `dfc-sim load` and the tests. The node
//! checks what is signed here ([`OperatorRequest::verify`], and the order of sequence numbers in
//! the node's `opseq`); only the signing side lives in this crate.

use std::sync::atomic::{AtomicU64, Ordering};

use dfc_core::api::{OperatorAction, OperatorRequest, MAX_OPERATOR_SEQUENCE};
use std::convert::Infallible;

use dfc_core::{
    build, Address, Amount, BuildError, Hash32, IssuerSignature, NetworkParams, Payment, Signature,
    SigningKey, Transaction, TxId, TxKind,
};
use dfc_keys::Signer;
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

/// An operator: its index in the network's issuer keys and its signer.
///
/// Every operator signature (requests, approvals of transactions and parameter changes,
/// checkpoint signatures) is made here, through [`Signer`], whatever holds the key: a key in
/// memory (`Operator<SigningKey>`, the default: tests, the console's sandbox, `dfc-sim load`) or
/// a key chosen at run time, in a key file or a PKCS#11 token (`Operator<Arc<DynSigner>>`,
/// `dfc-bank --signer`). The `try_` methods are the one code path; the methods without the prefix
/// are for keys in memory, whose signing cannot fail.
#[derive(Clone)]
pub struct Operator<S = SigningKey> {
    /// Index into `NetworkParams::issuers`.
    pub index: u8,
    /// What signs for the operator.
    pub key: S,
}

/// Why an issuance could not be proposed.
#[derive(Debug, thiserror::Error)]
pub enum ProposeError<E> {
    /// The transaction could not be built.
    #[error(transparent)]
    Build(#[from] BuildError),
    /// The signer failed.
    #[error("signing: {0}")]
    Sign(E),
}

fn infallible<T>(r: Result<T, Infallible>) -> T {
    match r {
        Ok(t) => t,
        Err(never) => match never {},
    }
}

impl<S: Signer> Operator<S> {
    /// Finds the signer's key among the network's issuer keys (of either algorithm).
    pub fn find(params: &NetworkParams, key: S) -> Option<Operator<S>> {
        let public = Signer::public(&key);
        let index = params.issuers.iter().position(|k| *k == public)?;
        Some(Operator {
            index: u8::try_from(index).ok()?,
            key,
        })
    }

    /// The operator's signature over `msg` (a domain-separated hash: a governance digest, a
    /// checkpoint digest).
    pub fn sign(&self, msg: &[u8]) -> Result<Signature, S::Error> {
        Signer::sign(&self.key, msg)
    }

    /// A signed request for `action`, timed now, with a fresh random nonce and the next
    /// sequence number ([`next_sequence`]).
    pub fn try_request(
        &self,
        params: &NetworkParams,
        action: OperatorAction,
    ) -> Result<OperatorRequest, S::Error> {
        let mut nonce = [0u8; 32];
        OsRng.fill_bytes(&mut nonce);
        OperatorRequest::try_new(
            params.network_id,
            self.index,
            now_ms(),
            Hash32(nonce),
            next_sequence(),
            action,
            |h| Signer::sign(&self.key, h),
        )
    }

    /// This operator's issuer signature over `txid`.
    pub fn try_approval(&self, txid: &TxId) -> Result<IssuerSignature, S::Error> {
        Ok(IssuerSignature {
            index: self.index,
            signature: Signer::sign(&self.key, &txid.0)?,
        })
    }

    /// Builds an issuance of `amount` to `to` and the request proposing it (with this operator's
    /// approval and the disclosed opening of its output, which every approver is shown).
    pub fn try_propose_issue(
        &self,
        params: &NetworkParams,
        to: &Address,
        amount: Amount,
    ) -> Result<(Transaction, OperatorRequest), ProposeError<S::Error>> {
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
        let approval = self.try_approval(&tx.id()).map_err(ProposeError::Sign)?;
        let req = self
            .try_request(
                params,
                OperatorAction::Propose {
                    tx: tx.clone(),
                    approval,
                    openings,
                },
            )
            .map_err(ProposeError::Sign)?;
        Ok((tx, req))
    }

    /// The request approving proposal `txid`.
    pub fn try_approve(
        &self,
        params: &NetworkParams,
        txid: &TxId,
    ) -> Result<OperatorRequest, S::Error> {
        let approval = self.try_approval(txid)?;
        self.try_request(
            params,
            OperatorAction::Approve {
                txid: *txid,
                approval,
            },
        )
    }
}

/// The same operations for a key whose signing cannot fail (a key in memory).
impl<S: Signer<Error = Infallible>> Operator<S> {
    /// [`Operator::try_request`].
    pub fn request(&self, params: &NetworkParams, action: OperatorAction) -> OperatorRequest {
        infallible(self.try_request(params, action))
    }

    /// [`Operator::try_approval`].
    pub fn approval(&self, txid: &TxId) -> IssuerSignature {
        infallible(self.try_approval(txid))
    }

    /// [`Operator::try_propose_issue`].
    pub fn propose_issue(
        &self,
        params: &NetworkParams,
        to: &Address,
        amount: Amount,
    ) -> Result<(Transaction, OperatorRequest), BuildError> {
        self.try_propose_issue(params, to, amount)
            .map_err(|e| match e {
                ProposeError::Build(b) => b,
                ProposeError::Sign(never) => match never {},
            })
    }

    /// [`Operator::try_approve`].
    pub fn approve(&self, params: &NetworkParams, txid: &TxId) -> OperatorRequest {
        infallible(self.try_approve(params, txid))
    }
}
