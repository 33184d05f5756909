//! Light sync and authenticated reads: the wire types of `/v1/light/*`, the signed read
//! credential every non-public `GET` carries, and the checks a light wallet makes before it
//! believes anything a node tells it.
//!
//! A light wallet asks only for what concerns its key: the transactions that pay it, spend its
//! notes or claim them, each with a Merkle inclusion proof against its block header's `tx_root`
//! ([`crate::block::tx_proof`]), and the chain of signed headers. [`LightSync::verify`] checks the
//! headers exactly as full sync checks blocks (height, chain link, node signature, network and
//! parameters), and every transaction against its header, so a node can withhold a payment but
//! cannot show a fake one. The node signs each answer over (key, height range, complete list of
//! transactions), so a payment it left out, once the payee learns of it from the payer's
//! receipt, is signed evidence against the node ([`LightSync::omits`]).

use merlin::Transcript;
use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::block::{verify_tx_proof, BlockHeader};
use crate::error::AuditError;
use crate::governance::ParamsHistory;
use crate::keys::{PublicKey, Signature, SigningKey};
use crate::merkle::MerkleProof;
use crate::note::{Hash32, NoteId, TxId};
use crate::operator_key::OperatorKey;
use crate::params::NetworkParams;
use crate::transcript::TranscriptProtocol;
use crate::tx::Transaction;

/// Domain label of read credentials.
pub const READ_DOMAIN: &[u8] = b"dfc/read/v1";
/// Domain label of the node's signature over a light-sync answer.
pub const LIGHT_ANSWER_DOMAIN: &[u8] = b"dfc/light-answer/v1";
/// The HTTP header that carries a [`ReadAuth`].
pub const READ_AUTH_HEADER: &str = "x-dfc-read";
/// How far a read credential's time may be from the node's clock, ms.
pub const READ_AUTH_WINDOW_MS: u64 = 5 * 60 * 1000;
/// Most headers per light-sync answer.
pub const MAX_LIGHT_HEADERS: usize = 2000;
/// Most transactions per light-sync answer (the answer ends early at a block boundary).
pub const MAX_LIGHT_TXS: usize = 500;

/// A signed read credential: the holder of `key` asks for exactly this request (network, genesis,
/// path and query), now, once.
///
/// The key carries its algorithm ([`OperatorKey`]): a wallet's or a file-held operator's key is
/// sr25519 (its header and signed bytes are as before algorithm tags), an operator or auditor
/// key held in a token is Ed25519 (`ed25519:HEX` in the header, its own label in the signed
/// bytes, so the two algorithms never sign alike).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReadAuth {
    /// The reader's key.
    pub key: OperatorKey,
    /// Time of the request, ms since the Unix epoch.
    pub time_ms: u64,
    /// Random nonce; the node refuses one it has seen within the window.
    pub nonce: Hash32,
    /// Signature by `key` over [`ReadAuth::signing_hash`].
    pub signature: Signature,
}

/// Why a read credential header cannot be parsed.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[error("read credential: {0}")]
pub struct ReadAuthFormatError(pub String);

impl ReadAuth {
    /// What the reader signs: the network, its genesis, the request's path and query, key, time
    /// and nonce. Binding the path and query means a credential seen on the way cannot be used
    /// for another request; binding the genesis means it cannot be used on another ledger.
    pub fn signing_hash(
        network: u32,
        genesis: &Hash32,
        path_and_query: &str,
        key: &OperatorKey,
        time_ms: u64,
        nonce: &Hash32,
    ) -> Hash32 {
        let mut t = Transcript::new(READ_DOMAIN);
        t.append_message(b"network", &network.to_le_bytes());
        t.append_message(b"genesis", &genesis.0);
        t.append_message(b"request", path_and_query.as_bytes());
        match key {
            // Byte-identical to credentials made before keys carried an algorithm.
            OperatorKey::Sr25519(k) => t.append_message(b"key", &k.to_bytes()),
            OperatorKey::Ed25519(k) => t.append_message(b"ed25519-key", &k.to_bytes()),
        }
        t.append_u64_le(b"time_ms", time_ms);
        t.append_message(b"nonce", &nonce.0);
        Hash32(t.challenge_bytes32(b"read"))
    }

    /// Signs a credential for `path_and_query` (e.g. `/v1/blocks?from=0&limit=10`) with an
    /// sr25519 key in memory.
    pub fn sign(
        params: &NetworkParams,
        path_and_query: &str,
        key: &SigningKey,
        time_ms: u64,
        nonce: Hash32,
    ) -> Self {
        let signed: Result<Self, std::convert::Infallible> = Self::try_sign(
            params,
            path_and_query,
            key.public().into(),
            time_ms,
            nonce,
            |h| Ok(key.sign(h)),
        );
        match signed {
            Ok(auth) => auth,
            Err(never) => match never {},
        }
    }

    /// Signs a credential for `path_and_query` by `key` through `sign` (a signer that may fail,
    /// such as a hardware token), which is handed [`ReadAuth::signing_hash`].
    pub fn try_sign<E>(
        params: &NetworkParams,
        path_and_query: &str,
        key: OperatorKey,
        time_ms: u64,
        nonce: Hash32,
        sign: impl FnOnce(&[u8; 32]) -> Result<Signature, E>,
    ) -> Result<Self, E> {
        let h = Self::signing_hash(
            params.network_id,
            &params.genesis_hash,
            path_and_query,
            &key,
            time_ms,
            &nonce,
        );
        Ok(ReadAuth {
            key,
            time_ms,
            nonce,
            signature: sign(&h.0)?,
        })
    }

    /// Whether the signature is `key`'s over this request, in the key's algorithm.
    pub fn verify(&self, params: &NetworkParams, path_and_query: &str) -> bool {
        let h = Self::signing_hash(
            params.network_id,
            &params.genesis_hash,
            path_and_query,
            &self.key,
            self.time_ms,
            &self.nonce,
        );
        self.key.verify(&h.0, &self.signature)
    }

    /// The header value: `key.time.nonce.signature`, hex and decimal (an Ed25519 key as
    /// `ed25519:HEX`).
    pub fn to_header(&self) -> String {
        format!(
            "{}.{}.{}.{}",
            self.key,
            self.time_ms,
            self.nonce.to_hex(),
            hex::encode(self.signature.to_bytes())
        )
    }

    /// Parses [`ReadAuth::to_header`]'s form.
    pub fn from_header(text: &str) -> Result<Self, ReadAuthFormatError> {
        let bad = |what: &str| ReadAuthFormatError(what.to_string());
        let mut parts = text.trim().split('.');
        let (Some(key), Some(time), Some(nonce), Some(sig), None) = (
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
        ) else {
            return Err(bad("expected key.time.nonce.signature"));
        };
        let key: OperatorKey = key
            .parse()
            .map_err(|e: crate::error::DecodeError| bad(&e.to_string()))?;
        let time_ms = time
            .parse()
            .map_err(|_| bad("time is not a whole number"))?;
        let nonce = Hash32::from_hex(nonce).map_err(|e| bad(&e.to_string()))?;
        let signature = crate::codec::hex_array::<64>(sig, "signature")
            .map_err(|e| bad(&e.to_string()))
            .and_then(|b| Signature::from_bytes(&b).map_err(|e| bad(&e.to_string())))?;
        Ok(ReadAuth {
            key,
            time_ms,
            nonce,
            signature,
        })
    }
}

/// A header with the node's signature over its hash.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignedHeader {
    /// The header.
    pub header: BlockHeader,
    /// Node signature over the header hash.
    pub signature: Signature,
}

/// A transaction with the proof that it is in the block at `height`.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProvenTx {
    /// Height of its block.
    pub height: u64,
    /// The transaction (whole: the wallet opens its outputs and checks its inputs).
    pub tx: Transaction,
    /// Inclusion proof against that block's `tx_root`; its index is the position in the block.
    pub proof: MerkleProof,
}

/// `GET /v1/light/sync?key=K&from=H`: what concerns `key` in blocks `from..=to`.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LightSync {
    /// The wallet key asked about (its certified purse keys are included).
    pub key: PublicKey,
    /// First height covered.
    pub from: u64,
    /// Last height covered (`from - 1` when nothing is: the wallet is at the tip).
    pub to: u64,
    /// The node's tip when it answered.
    pub tip_height: u64,
    /// Headers `from..=to`, in order.
    pub headers: Vec<SignedHeader>,
    /// Every transaction in `from..=to` that pays, spends or claims for `key` or its purses, in
    /// chain order.
    pub txs: Vec<ProvenTx>,
    /// Node signature over [`LightSync::signing_hash`].
    pub signature: Signature,
}

/// Why a light-sync answer is refused.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum LightError {
    /// A header does not chain, is not signed by the node, or its height is wrong.
    #[error(transparent)]
    Chain(#[from] AuditError),
    /// A header is of another network or parameters.
    #[error("header {height} is of other network parameters")]
    ParamsMismatch {
        /// Height.
        height: u64,
    },
    /// The answer is about another key or another range than asked.
    #[error("the answer covers key {key} from {from}, not what was asked")]
    WrongQuestion {
        /// Key answered about.
        key: String,
        /// First height answered.
        from: u64,
    },
    /// The headers do not cover `from..=to` exactly.
    #[error("the answer's headers do not cover heights {from} to {to}")]
    HeadersIncomplete {
        /// From.
        from: u64,
        /// To.
        to: u64,
    },
    /// A transaction's inclusion proof does not verify against its header.
    #[error("transaction {txid} at height {height}: inclusion proof does not verify against the block header")]
    BadProof {
        /// Height.
        height: u64,
        /// Txid.
        txid: TxId,
    },
    /// Transactions out of chain order, repeated, or outside the range.
    #[error("transaction {txid} at height {height}: out of order or outside the answered range")]
    OutOfOrder {
        /// Height.
        height: u64,
        /// Txid.
        txid: TxId,
    },
    /// The node's signature over the answer does not verify.
    #[error("the node's signature over the answer does not verify")]
    BadAnswerSignature,
}

impl LightSync {
    /// What the node signs: network, key, range, and each transaction's height, position and full
    /// hash, in order.
    pub fn signing_hash(
        network: u32,
        key: &PublicKey,
        from: u64,
        to: u64,
        txs: &[ProvenTx],
    ) -> Hash32 {
        let mut t = Transcript::new(LIGHT_ANSWER_DOMAIN);
        t.append_message(b"network", &network.to_le_bytes());
        t.append_message(b"key", &key.to_bytes());
        t.append_u64_le(b"from", from);
        t.append_u64_le(b"to", to);
        t.append_u64_le(b"count", txs.len() as u64);
        for p in txs {
            t.append_u64_le(b"height", p.height);
            t.append_u64_le(b"index", p.proof.index);
            t.append_message(b"wtxid", &p.tx.full_hash().0);
        }
        Hash32(t.challenge_bytes32(b"answer"))
    }

    /// Signs an answer (the node).
    pub fn seal(
        network: u32,
        key: PublicKey,
        from: u64,
        tip_height: u64,
        headers: Vec<SignedHeader>,
        txs: Vec<ProvenTx>,
        node_key: &SigningKey,
    ) -> Self {
        let to = headers
            .last()
            .map(|h| h.header.height)
            .unwrap_or(from.saturating_sub(1));
        let h = Self::signing_hash(network, &key, from, to, &txs);
        LightSync {
            key,
            from,
            to,
            tip_height,
            headers,
            txs,
            signature: node_key.sign(&h.0),
        }
    }

    /// Whether the node's signature over the answer verifies, under `params`: the parameters in
    /// force at the answer's `tip_height` (the node signs with the key in force there).
    pub fn signature_ok(&self, params: &NetworkParams) -> bool {
        let h = Self::signing_hash(params.network_id, &self.key, self.from, self.to, &self.txs);
        params.node_key.verify(&h.0, &self.signature)
    }

    /// Checks the answer to "what concerns `key` from height `from`", given the wallet's last
    /// header `prev` (at `from - 1`; none before genesis): the node's signature over the answer,
    /// every header's chain link, signature, network and parameters, and every transaction's
    /// inclusion proof and order. Returns the headers, each with its transactions in block
    /// order, ready to apply.
    pub fn verify(
        &self,
        key: &PublicKey,
        from: u64,
        prev: Option<&BlockHeader>,
        params: &NetworkParams,
    ) -> Result<Vec<(&SignedHeader, Vec<&Transaction>)>, LightError> {
        self.verify_under(key, from, prev, &ParamsHistory::new(params.clone()))
    }

    /// [`Self::verify`] on a network whose parameters changed by governance: every header is
    /// checked against the parameters in force at its height (`history`, verified by the caller).
    pub fn verify_under(
        &self,
        key: &PublicKey,
        from: u64,
        prev: Option<&BlockHeader>,
        history: &ParamsHistory,
    ) -> Result<Vec<(&SignedHeader, Vec<&Transaction>)>, LightError> {
        // The node key rotates by governance: the answer is signed with the key in force at
        // the tip it reports.
        let params = history.at(self.tip_height);
        if self.key != *key || self.from != from {
            return Err(LightError::WrongQuestion {
                key: hex::encode(self.key.to_bytes()),
                from: self.from,
            });
        }
        if !self.signature_ok(params) {
            return Err(LightError::BadAnswerSignature);
        }
        let expected = self.to.checked_add(1).and_then(|e| e.checked_sub(from));
        let heights_ok = self
            .headers
            .iter()
            .enumerate()
            .all(|(i, h)| Some(h.header.height) == from.checked_add(i as u64));
        if expected != Some(self.headers.len() as u64) || !heights_ok {
            return Err(LightError::HeadersIncomplete { from, to: self.to });
        }
        let mut out: Vec<(&SignedHeader, Vec<&Transaction>)> = Vec::new();
        let mut prev = prev;
        for sh in &self.headers {
            let h = &sh.header;
            let in_force = history.at(h.height);
            h.check_link(&sh.signature, prev, &in_force.node_key)?;
            if h.network != in_force.network_id || h.params_hash != in_force.hash() {
                return Err(LightError::ParamsMismatch { height: h.height });
            }
            out.push((sh, Vec::new()));
            prev = Some(h);
        }
        let mut last: Option<(u64, u64)> = None;
        for p in &self.txs {
            let out_of_order = || LightError::OutOfOrder {
                height: p.height,
                txid: p.tx.id(),
            };
            if last.is_some_and(|l| (p.height, p.proof.index) <= l) {
                return Err(out_of_order());
            }
            last = Some((p.height, p.proof.index));
            let slot = p
                .height
                .checked_sub(from)
                .and_then(|i| usize::try_from(i).ok())
                .and_then(|i| out.get_mut(i))
                .ok_or_else(out_of_order)?;
            if !verify_tx_proof(&slot.0.header, &p.tx, &p.proof) {
                return Err(LightError::BadProof {
                    height: p.height,
                    txid: p.tx.id(),
                });
            }
            slot.1.push(&p.tx);
        }
        Ok(out)
    }

    /// Whether this signed answer covers the block at `height` and does not list `txid`: with a
    /// receipt for `txid` at `height` that pays this key, the answer is signed evidence that the
    /// node withheld the payment.
    pub fn omits(&self, txid: &TxId, height: u64) -> bool {
        height >= self.from && height <= self.to && !self.txs.iter().any(|p| p.tx.id() == *txid)
    }
}

/// One note of a wallet, as `GET /v1/light/notes` lists it.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OwnNoteStatus {
    /// Note id.
    pub id: NoteId,
    /// Owner key (the wallet's spend key or one of its purse keys).
    pub owner: PublicKey,
    /// Height of the block that created it.
    pub created_height: u64,
    /// Height of the block that spent it, if spent.
    pub spent_height: Option<u64>,
    /// Received and not yet claimed (over a holding or turnover limit, or not claimed yet).
    pub pending: bool,
}

/// `GET /v1/light/notes?key=K`: the status of the wallet's notes.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OwnNotes {
    /// The wallet key.
    pub key: PublicKey,
    /// Tip height at the answer.
    pub tip_height: u64,
    /// Unspent notes first, then spent ones, newest first, at most [`MAX_LIGHT_TXS`] spent.
    pub notes: Vec<OwnNoteStatus>,
}

/// Body of `GET /v1/light/headers`: signed block headers without their transactions.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Headers {
    /// Signed headers from the asked height, in order.
    pub headers: Vec<SignedHeader>,
    /// The tip height.
    pub tip_height: u64,
}

mod omission;
pub use omission::{contradicts, OmissionError, OmissionEvidence, PaymentProof};

#[cfg(test)]
mod tests;
