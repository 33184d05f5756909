//! Light sync and authenticated reads: the wire types of `/v1/light/*`, the signed read
//! credential every non-public `GET` carries, and the checks a light wallet makes before it
//! believes anything a node tells it.
//!
//! A light wallet asks only for what concerns its key: the transactions that pay it, spend its
//! notes or claim them, each with a Merkle inclusion proof against its block header's `tx_root`
//! ([`crate::block::tx_proof`]), the signed header at the end of the range (the anchor), the
//! headers of the blocks holding its transactions, and one history proof ([`crate::history`])
//! that those headers, the wallet's previous tip and any co-signed checkpoint are ancestors of the
//! anchor. [`LightSync::verify`] checks every header's version, node signature, network and
//! parameters, the history proof, and every transaction against its header, so a node can
//! withhold a payment but cannot show a fake one, and what the wallet downloads grows with its own
//! transactions, not with the chain. The node signs each answer over (key, height range, complete list of
//! transactions), so a payment it left out, once the payee learns of it from the payer's
//! receipt, is signed evidence against the node ([`LightSync::omits`]).

use std::collections::BTreeMap;

use merlin::Transcript;
use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::block::{verify_tx_proof, BlockHeader};
use crate::cosign::CosignedCheckpoint;
use crate::error::AuditError;
use crate::governance::ParamsHistory;
use crate::history::{HistoryError, HistoryProof};
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
pub const LIGHT_ANSWER_DOMAIN: &[u8] = b"dfc/light-answer/v2";
/// The HTTP header that carries a [`ReadAuth`].
pub const READ_AUTH_HEADER: &str = "x-dfc-read";
/// How far a read credential's time may be from the node's clock, ms.
pub const READ_AUTH_WINDOW_MS: u64 = 5 * 60 * 1000;
/// Most headers per `/v1/light/headers` answer.
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

/// Version of the light-sync answer: 2 replaced "every header of the range" with the signed
/// header at the end of the range (the anchor), the headers of the wallet's own blocks, and one
/// history proof ([`crate::history`]). Answers without a version read as 1 and are refused.
pub const LIGHT_SYNC_VERSION: u32 = 2;

fn retired_answer_version() -> u32 {
    1
}

/// `GET /v1/light/sync?key=K&from=H`: what concerns `key` in blocks `from..=to`.
///
/// The wallet needs no header per block: the `anchor` (the signed header at `to`) commits to the
/// hashes of every earlier block (its `history_root`), and one [`HistoryProof`] shows against it
/// the headers of the blocks holding the wallet's transactions, the wallet's previous tip (at
/// `from - 1`: the node cannot fork it) and the co-signed checkpoint, if any (the node key alone
/// cannot rewrite it).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LightSync {
    /// Answer format version ([`LIGHT_SYNC_VERSION`]).
    #[serde(default = "retired_answer_version")]
    pub version: u32,
    /// The wallet key asked about (its certified purse keys are included).
    pub key: PublicKey,
    /// First height covered.
    pub from: u64,
    /// Last height covered (`from - 1` when nothing is: the wallet is at the tip).
    pub to: u64,
    /// The node's tip when it answered.
    pub tip_height: u64,
    /// The signed header at `to` (none when nothing is covered).
    #[serde(default)]
    pub anchor: Option<SignedHeader>,
    /// The signed headers of the blocks below `to` that hold the listed transactions, in order
    /// (the anchor stands for itself).
    #[serde(default)]
    pub headers: Vec<SignedHeader>,
    /// The newest co-signed checkpoint at or below `to` the node holds, if any.
    #[serde(default)]
    pub checkpoint: Option<CosignedCheckpoint>,
    /// One proof against the anchor's history root of: every block in `headers`, the block at
    /// `from - 1` (when `from > 0`) and the checkpoint's block (when below `to`).
    #[serde(default)]
    pub history_proof: HistoryProof,
    /// Every transaction in `from..=to` that pays, spends or claims for `key` or its purses, in
    /// chain order.
    pub txs: Vec<ProvenTx>,
    /// Node signature over [`LightSync::signing_hash`].
    pub signature: Signature,
}

/// What a node puts in a light-sync answer before signing it ([`LightSync::seal`]).
#[derive(Clone, Debug)]
pub struct LightBody {
    /// The wallet key.
    pub key: PublicKey,
    /// First height covered.
    pub from: u64,
    /// The node's tip.
    pub tip_height: u64,
    /// The signed header at the last height covered (none: nothing covered).
    pub anchor: Option<SignedHeader>,
    /// Headers of the wallet's blocks below the anchor.
    pub headers: Vec<SignedHeader>,
    /// Co-signed checkpoint at or below the anchor.
    pub checkpoint: Option<CosignedCheckpoint>,
    /// History proof against the anchor.
    pub history_proof: HistoryProof,
    /// The wallet's transactions.
    pub txs: Vec<ProvenTx>,
}

impl LightBody {
    /// The heights the history proof must cover: the headers', the wallet's previous tip and the
    /// checkpoint's, when below the anchor; sorted, without repeats.
    pub fn proven_heights(&self) -> Vec<u64> {
        let to = self.anchor.as_ref().map(|a| a.header.height).unwrap_or(0);
        let mut hs: Vec<u64> = self.headers.iter().map(|h| h.header.height).collect();
        if let Some(p) = self.from.checked_sub(1) {
            hs.push(p);
        }
        if let Some(c) = &self.checkpoint {
            hs.push(c.point.height);
        }
        hs.retain(|&h| h < to);
        hs.sort_unstable();
        hs.dedup();
        hs
    }
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
    /// The answer is of a retired format version.
    #[error("light-sync answer version {0} is retired (this wallet accepts version 2: history proofs instead of every header); update the node")]
    RetiredVersion(u32),
    /// The answer has no signed header at the end of its range, or one of another height.
    #[error("the answer's headers do not cover heights {from} to {to}")]
    HeadersIncomplete {
        /// From.
        from: u64,
        /// To.
        to: u64,
    },
    /// A header is out of order, repeated or outside the range.
    #[error("header {height}: out of order or outside the answered range")]
    HeaderOutOfRange {
        /// Height.
        height: u64,
    },
    /// The history proof does not show the wallet's blocks, its previous tip or the checkpoint
    /// in the anchor's history: a rewritten header, a fork of what the wallet verified before,
    /// or a bad proof.
    #[error("history proof against the signed header at {anchor}: {source}")]
    History {
        /// Anchor height.
        anchor: u64,
        /// Why.
        source: HistoryError,
    },
    /// The co-signed checkpoint does not verify, or the chain forks from it.
    #[error("co-signed checkpoint at height {height}: {reason}")]
    Checkpoint {
        /// Checkpoint height.
        height: u64,
        /// Why.
        reason: String,
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
    /// The answer covers blocks but carries no co-signed checkpoint as new as the newest the
    /// wallet has already verified: a node withholding newer checkpoints could be steering the
    /// wallet onto a history their signers did not sign.
    #[error("co-signed checkpoint withheld: this wallet has verified one at height {known}, the answer carries {}", given.map_or_else(|| "none".to_string(), |h| format!("only one at height {h}")))]
    CheckpointWithheld {
        /// Height of the newest co-signed checkpoint the wallet has verified.
        known: u64,
        /// Height of the answer's checkpoint, if any.
        given: Option<u64>,
    },
}

impl LightSync {
    /// What the node signs: network, key, range, the anchor's hash, the checkpoint's point, and
    /// each transaction's height, position and full hash, in order.
    pub fn signing_hash(&self, network: u32) -> Hash32 {
        let mut t = Transcript::new(LIGHT_ANSWER_DOMAIN);
        t.append_message(b"network", &network.to_le_bytes());
        t.append_u64_le(b"version", u64::from(self.version));
        t.append_message(b"key", &self.key.to_bytes());
        t.append_u64_le(b"from", self.from);
        t.append_u64_le(b"to", self.to);
        t.append_u64_le(b"tip", self.tip_height);
        let anchor = self.anchor.as_ref().map(|a| a.header.hash());
        t.append_message(b"anchor", &anchor.unwrap_or(Hash32([0; 32])).0);
        match &self.checkpoint {
            Some(c) => t.append_message(b"checkpoint", &c.point.digest().0),
            None => t.append_message(b"checkpoint", b""),
        }
        t.append_u64_le(b"count", self.txs.len() as u64);
        for p in &self.txs {
            t.append_u64_le(b"height", p.height);
            t.append_u64_le(b"index", p.proof.index);
            t.append_message(b"wtxid", &p.tx.full_hash().0);
        }
        Hash32(t.challenge_bytes32(b"answer"))
    }

    /// Signs an answer (the node).
    pub fn seal(network: u32, body: LightBody, node_key: &SigningKey) -> Self {
        let to = body
            .anchor
            .as_ref()
            .map(|h| h.header.height)
            .unwrap_or(body.from.saturating_sub(1));
        let mut a = LightSync {
            version: LIGHT_SYNC_VERSION,
            key: body.key,
            from: body.from,
            to,
            tip_height: body.tip_height,
            anchor: body.anchor,
            headers: body.headers,
            checkpoint: body.checkpoint,
            history_proof: body.history_proof,
            txs: body.txs,
            signature: node_key.sign(&[]),
        };
        a.signature = node_key.sign(&a.signing_hash(network).0);
        a
    }

    /// Whether the node's signature over the answer verifies, under `params`: the parameters in
    /// force at the answer's `tip_height` (the node signs with the key in force there).
    pub fn signature_ok(&self, params: &NetworkParams) -> bool {
        let h = self.signing_hash(params.network_id);
        params.node_key.verify(&h.0, &self.signature)
    }

    /// Refuses an answer that covers blocks without a co-signed checkpoint at least as new as
    /// `known`, the newest the wallet has verified before (none: nothing to hold it to). The
    /// node answers with the newest checkpoint at or below its anchor, which is at or above the
    /// wallet's tip, so an honest node always passes once a checkpoint exists; a node that
    /// leaves it out (or sends an older one) could be hiding a fork. Cheap: run it before
    /// [`Self::verify_under`], which checks the checkpoint's signatures and that it is an
    /// ancestor of the anchor.
    pub fn check_checkpoint_floor(&self, known: Option<u64>) -> Result<(), LightError> {
        let (Some(known), Some(_)) = (known, &self.anchor) else {
            return Ok(());
        };
        let given = self.checkpoint.as_ref().map(|c| c.point.height);
        if given.is_some_and(|g| g >= known) {
            Ok(())
        } else {
            Err(LightError::CheckpointWithheld { known, given })
        }
    }

    /// Checks the answer to "what concerns `key` from height `from`", given the wallet's last
    /// verified header `prev` (at `from - 1`; none before genesis): the node's signature over
    /// the answer, the anchor's signature, network and parameters, every listed header's, the
    /// history proof of those headers, of `prev` and of the checkpoint against the anchor, and
    /// every transaction's inclusion proof and order. Returns the wallet's blocks, each with its
    /// transactions in block order, then the anchor (the new tip), ready to apply.
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
        if self.version != LIGHT_SYNC_VERSION {
            return Err(LightError::RetiredVersion(self.version));
        }
        if self.key != *key || self.from != from {
            return Err(LightError::WrongQuestion {
                key: hex::encode(self.key.to_bytes()),
                from: self.from,
            });
        }
        // The node key rotates by governance: the answer is signed with the key in force at
        // the tip it reports.
        if !self.signature_ok(history.at(self.tip_height)) {
            return Err(LightError::BadAnswerSignature);
        }
        let expected_prev = from.checked_sub(1);
        if prev.map(|p| p.height) != expected_prev {
            return Err(LightError::Chain(AuditError::BadHeight {
                height: from,
                expected: prev.map_or(0, |p| p.height + 1),
            }));
        }
        let Some(anchor) = &self.anchor else {
            // Nothing covered: the wallet is at the tip.
            let empty = self.headers.is_empty()
                && self.txs.is_empty()
                && self.checkpoint.is_none()
                && self.history_proof.items.is_empty()
                && self.to.checked_add(1) == Some(from)
                && self.tip_height < from;
            return if empty {
                Ok(Vec::new())
            } else {
                Err(LightError::HeadersIncomplete { from, to: self.to })
            };
        };
        let to = self.to;
        if anchor.header.height != to || to < from || self.tip_height < to {
            return Err(LightError::HeadersIncomplete { from, to });
        }
        let check_header = |sh: &SignedHeader| -> Result<(), LightError> {
            let h = &sh.header;
            h.check_version()?;
            let in_force = history.at(h.height);
            if !h.signature_ok(&sh.signature, &in_force.node_key) {
                return Err(AuditError::BadBlockSignature { height: h.height }.into());
            }
            if h.network != in_force.network_id || h.params_hash != in_force.hash() {
                return Err(LightError::ParamsMismatch { height: h.height });
            }
            Ok(())
        };
        check_header(anchor)?;
        // Blocks the history proof must show in the anchor's history, by height.
        let mut proven: BTreeMap<u64, Hash32> = BTreeMap::new();
        if let Some(p) = prev {
            if to == p.height {
                // Unreachable: to >= from > p.height.
                return Err(LightError::HeadersIncomplete { from, to });
            }
            proven.insert(p.height, p.hash());
        }
        let mut out: Vec<(&SignedHeader, Vec<&Transaction>)> = Vec::new();
        let mut last: Option<u64> = None;
        for sh in &self.headers {
            let h = sh.header.height;
            if h < from || h >= to || last.is_some_and(|l| h <= l) {
                return Err(LightError::HeaderOutOfRange { height: h });
            }
            last = Some(h);
            check_header(sh)?;
            proven.insert(h, sh.header.hash());
            out.push((sh, Vec::new()));
        }
        if let Some(cp) = &self.checkpoint {
            let height = cp.point.height;
            let fork = |reason: &str| LightError::Checkpoint {
                height,
                reason: reason.to_string(),
            };
            cp.verify(history).map_err(|e| LightError::Checkpoint {
                height,
                reason: e.to_string(),
            })?;
            if height > to {
                return Err(fork("above the answer's signed header"));
            }
            if height == to {
                if cp.point.block_hash != anchor.header.hash() {
                    return Err(fork("the signed header at its height is another block"));
                }
            } else if let Some(known) = proven.insert(height, cp.point.block_hash) {
                if known != cp.point.block_hash {
                    return Err(fork(
                        "the wallet's verified chain has another block at its height",
                    ));
                }
            }
        }
        self.history_proof
            .verify(&anchor.header.history_root, to, &proven)
            .map_err(|source| LightError::History { anchor: to, source })?;
        out.push((anchor, Vec::new()));
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
            let slot = out
                .iter_mut()
                .find(|(sh, _)| sh.header.height == p.height)
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
