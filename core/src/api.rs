//! Wire types of the node's HTTP/JSON API (`/v1`), shared by the node, the wallet, the console and
//! the simulator so that both sides of every call agree on one definition.
//!
//! Operator requests are signed: the signed bytes come from [`OperatorRequest::signing_hash`], a
//! transcript over the action's fields, never from serde output.

use merlin::Transcript;
use serde::{Deserialize, Serialize};

use crate::address::Address;
use crate::amount::Amount;
use crate::block::Block;
use crate::keys::{PublicKey, Signature, SigningKey};
use crate::note::{Hash32, NoteId, TxId};
use crate::operator_key::OperatorKey;
use crate::proposal::{DisclosedOpening, ProposalOutput};
use crate::transcript::TranscriptProtocol;
use crate::tx::{IssuerSignature, Transaction, TxKind};

pub mod batch;

/// Domain label of operator request signatures.
/// `v2`: the signed bytes include the request's sequence number. `v3`: registry changes (freeze,
/// unfreeze, tier) include the registry version they were made against.
pub const OPERATOR_DOMAIN: &[u8] = b"dfc/operator/v3";
/// Domain label of wallet registration signatures.
pub const REGISTER_DOMAIN: &[u8] = b"dfc/register/v1";
/// Domain label of checkpoints.
pub const CHECKPOINT_DOMAIN: &[u8] = b"dfc/checkpoint/v1";

/// Request header naming the network a client expects: the hex of its pinned genesis hash
/// ([`crate::NetworkParams::genesis_hash`]). A node whose genesis differs refuses the request
/// (409 `wrong_network`) before doing anything, so a wallet pointed at another node changes
/// nothing there, and nothing in the wallet is decided from that node's answer.
pub const GENESIS_HEADER: &str = "x-dfc-genesis";

/// `POST /v1/transactions`: submit a transfer.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SubmitRequest {
    /// The transaction, hex of its canonical encoding.
    pub tx: Transaction,
}

/// Proof that the node committed a transaction: returned only after the block is durable.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Receipt {
    /// Transaction id.
    pub txid: TxId,
    /// Height of the block holding it.
    pub height: u64,
    /// Hash of that block.
    pub block_hash: Hash32,
    /// Node signature over [`Receipt::signing_hash`].
    pub signature: Signature,
}

impl Receipt {
    /// What the node signs: txid, height and block hash.
    pub fn signing_hash(txid: &TxId, height: u64, block_hash: &Hash32) -> Hash32 {
        let mut t = Transcript::new(b"dfc/receipt/v1");
        t.append_message(b"txid", &txid.0);
        t.append_u64_le(b"height", height);
        t.append_message(b"block", &block_hash.0);
        Hash32(t.challenge_bytes32(b"receipt"))
    }
    /// Verifies the node's signature.
    pub fn verify(&self, node_key: &PublicKey) -> bool {
        node_key.verify(
            &Self::signing_hash(&self.txid, self.height, &self.block_hash).0,
            &self.signature,
        )
    }
}

/// Status of a transaction.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum TxStatus {
    /// Committed, with its receipt.
    Committed {
        /// The receipt.
        receipt: Receipt,
    },
    /// Waiting for operator approvals (issue and redeem).
    AwaitingApproval {
        /// Approvals so far.
        approvals: usize,
        /// Approvals needed.
        threshold: usize,
    },
    /// Not known to the node.
    Unknown,
}

/// `GET /v1/notes/{id}`.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NoteStatus {
    /// Note id.
    pub id: NoteId,
    /// Whether the note exists.
    pub exists: bool,
    /// Whether it is spent.
    pub spent: bool,
    /// Height of the block that created it.
    pub created_height: Option<u64>,
    /// Height of the block that spent it.
    pub spent_height: Option<u64>,
}

/// `GET /v1/blocks?from=H&limit=N`: blocks for wallet sync.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct BlocksResponse {
    /// Blocks from `from` on, in height order.
    pub blocks: Vec<Block>,
    /// The node's current height.
    pub tip_height: u64,
}

/// A statement by the node of its ledger state at a height, for offline verification.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Checkpoint {
    /// Network.
    pub network: u32,
    /// Height.
    pub height: u64,
    /// Block hash at that height.
    pub block_hash: Hash32,
    /// Root over the unspent notes at that height.
    pub ledger_root: Hash32,
    /// Time of the checkpoint, ms since the Unix epoch.
    pub time_ms: u64,
    /// Node signature over [`Checkpoint::signing_hash`].
    pub signature: Signature,
}

impl Checkpoint {
    /// What the node signs.
    pub fn signing_hash(
        network: u32,
        height: u64,
        block_hash: &Hash32,
        ledger_root: &Hash32,
        time_ms: u64,
    ) -> Hash32 {
        let mut t = Transcript::new(CHECKPOINT_DOMAIN);
        t.append_message(b"network", &network.to_le_bytes());
        t.append_u64_le(b"height", height);
        t.append_message(b"block", &block_hash.0);
        t.append_message(b"root", &ledger_root.0);
        t.append_u64_le(b"time_ms", time_ms);
        Hash32(t.challenge_bytes32(b"checkpoint"))
    }
    /// Signs a checkpoint with the node key.
    pub fn sign(
        network: u32,
        height: u64,
        block_hash: Hash32,
        ledger_root: Hash32,
        time_ms: u64,
        node_key: &SigningKey,
    ) -> Self {
        let h = Self::signing_hash(network, height, &block_hash, &ledger_root, time_ms);
        Checkpoint {
            network,
            height,
            block_hash,
            ledger_root,
            time_ms,
            signature: node_key.sign(&h.0),
        }
    }

    /// Verifies the node's signature.
    pub fn verify(&self, node_key: &PublicKey) -> bool {
        let h = Self::signing_hash(
            self.network,
            self.height,
            &self.block_hash,
            &self.ledger_root,
            self.time_ms,
        );
        node_key.verify(&h.0, &self.signature)
    }
}

/// `GET /v1/supply`: the public supply and the last audit.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SupplySummary {
    /// Public supply.
    pub supply: Amount,
    /// Unspent notes.
    pub notes_outstanding: u64,
    /// Height.
    pub height: u64,
    /// Hash of the tip block.
    pub tip_hash: Hash32,
    /// Whether the supply invariant held at the last check.
    pub invariant_ok: bool,
    /// Transactions committed in all.
    pub tx_count: u64,
    /// The node has halted: its sequencer stopped after a storage failure, so it refuses every
    /// change (503 `node_halted`) and the figures above are its last. Monitors show it as an
    /// alert, never as a healthy node.
    #[serde(default)]
    pub halted: bool,
    /// The node is checking its stored tables against its signed summary after a start: it
    /// answers, and writes (payments, approvals) wait until the check passes (`GET /readyz`).
    #[serde(default)]
    pub checking_tables: bool,
}

/// `POST /v1/wallets`: a wallet asks to be registered. Signed by its spend key.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegisterRequest {
    /// The wallet's address.
    pub address: Address,
    /// Optional display label (e.g. a phone number hash); at most 64 bytes.
    #[cfg_attr(feature = "openapi", schema(max_length = 64))]
    pub label: String,
    /// Signature by the address's spend key over [`RegisterRequest::signing_hash`].
    pub signature: Signature,
}

impl RegisterRequest {
    /// What the wallet signs.
    pub fn signing_hash(address: &Address, label: &str) -> Hash32 {
        let mut t = Transcript::new(REGISTER_DOMAIN);
        t.append_message(b"address", address.to_string().as_bytes());
        t.append_message(b"label", label.as_bytes());
        Hash32(t.challenge_bytes32(b"register"))
    }
    /// Builds and signs a request.
    pub fn new(address: Address, label: String, spend: &SigningKey) -> Self {
        let signature = spend.sign(&Self::signing_hash(&address, &label).0);
        RegisterRequest {
            address,
            label,
            signature,
        }
    }
}

/// A registered wallet as the node's registry holds it.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WalletInfo {
    /// Address.
    pub address: Address,
    /// Label.
    pub label: String,
    /// KYC tier.
    pub tier: u8,
    /// Frozen wallets cannot spend.
    pub frozen: bool,
    /// Offline double-spend flags raised against the wallet.
    pub flags: u32,
    /// Registration time, ms since the Unix epoch.
    pub registered_ms: u64,
    /// Version of this wallet's registry record: 0 at registration, one more at every freeze,
    /// unfreeze and tier change. A registry change names the version it was decided on
    /// ([`OperatorAction::Freeze::registry_version`]) and is refused (`stale_registry`) if the
    /// record has moved since.
    #[serde(default)]
    pub registry_version: u64,
    /// Why the wallet is frozen: the reason of the freeze in force (`None` when not frozen).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub freeze_reason: Option<String>,
}

/// What an operator asks the node to do.
// A proposal carries a whole transaction (larger since version 3: genesis hash, claim section);
// operator actions are rare, short-lived messages, so boxing it would only burden every caller.
#[allow(clippy::large_enum_variant)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case", deny_unknown_fields)]
pub enum OperatorAction {
    /// Propose a transaction that needs issuer approval (issue or redeem); the proposer's own
    /// issuer signature on it counts as the first approval.
    Propose {
        /// The transaction.
        tx: Transaction,
        /// The proposer's issuer signature over the txid.
        approval: IssuerSignature,
        /// For an issuance: the opening of every output, in output order, so that every approver
        /// sees each recipient's amount ([`crate::proposal`]). The node refuses an issuance
        /// without them; a redemption (proposed by its wallet) carries none.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        openings: Vec<DisclosedOpening>,
    },
    /// Approve a pending proposal.
    Approve {
        /// The proposal's transaction id.
        txid: TxId,
        /// The approver's issuer signature over the txid.
        approval: IssuerSignature,
    },
    /// Freeze a wallet: its notes cannot be spent.
    Freeze {
        /// The wallet's spend key.
        wallet: PublicKey,
        /// Why (kept in the audit log and shown with the wallet).
        reason: String,
        /// The wallet's [`WalletInfo::registry_version`] the operator decided on.
        registry_version: u64,
    },
    /// Unfreeze a wallet.
    Unfreeze {
        /// The wallet's spend key.
        wallet: PublicKey,
        /// Why.
        reason: String,
        /// The wallet's [`WalletInfo::registry_version`] the operator decided on.
        registry_version: u64,
    },
    /// Set a wallet's KYC tier.
    SetTier {
        /// The wallet's spend key.
        wallet: PublicKey,
        /// New tier.
        tier: u8,
        /// The wallet's [`WalletInfo::registry_version`] the operator decided on.
        registry_version: u64,
    },
    /// Propose a change of the network parameters ([`crate::governance`]); the proposer's own
    /// approval counts as the first.
    ProposeChange {
        /// The change.
        change: crate::governance::ParamsChange,
        /// The proposer's issuer signature over the change's digest.
        approval: IssuerSignature,
    },
    /// Approve a pending parameter change.
    ApproveChange {
        /// The change's digest ([`crate::governance::ParamsChange::digest`]).
        digest: Hash32,
        /// The approver's issuer signature over that digest.
        approval: IssuerSignature,
    },
}

impl OperatorAction {
    fn append(&self, t: &mut Transcript) {
        match self {
            OperatorAction::Propose {
                tx,
                approval,
                openings,
            } => {
                t.append_message(b"action", b"propose");
                t.append_message(b"tx", &tx.encode());
                t.append_message(b"index", &[approval.index]);
                t.append_message(b"sig", &approval.signature.to_bytes());
                // Absent openings add nothing, so a request without them signs as before.
                if !openings.is_empty() {
                    t.append_u64_le(b"openings", openings.len() as u64);
                    for o in openings {
                        t.append_u64_le(b"amount", o.amount.units());
                        t.append_message(b"blinding", &o.blinding.0);
                    }
                }
            }
            OperatorAction::Approve { txid, approval } => {
                t.append_message(b"action", b"approve");
                t.append_message(b"txid", &txid.0);
                t.append_message(b"index", &[approval.index]);
                t.append_message(b"sig", &approval.signature.to_bytes());
            }
            OperatorAction::Freeze {
                wallet,
                reason,
                registry_version,
            } => {
                t.append_message(b"action", b"freeze");
                t.append_message(b"wallet", &wallet.to_bytes());
                t.append_message(b"reason", reason.as_bytes());
                t.append_u64_le(b"registry_version", *registry_version);
            }
            OperatorAction::Unfreeze {
                wallet,
                reason,
                registry_version,
            } => {
                t.append_message(b"action", b"unfreeze");
                t.append_message(b"wallet", &wallet.to_bytes());
                t.append_message(b"reason", reason.as_bytes());
                t.append_u64_le(b"registry_version", *registry_version);
            }
            OperatorAction::SetTier {
                wallet,
                tier,
                registry_version,
            } => {
                t.append_message(b"action", b"set_tier");
                t.append_message(b"wallet", &wallet.to_bytes());
                t.append_message(b"tier", &[*tier]);
                t.append_u64_le(b"registry_version", *registry_version);
            }
            OperatorAction::ProposeChange { change, approval } => {
                t.append_message(b"action", b"propose_change");
                t.append_message(b"change", &change.digest().0);
                t.append_message(b"index", &[approval.index]);
                t.append_message(b"sig", &approval.signature.to_bytes());
            }
            OperatorAction::ApproveChange { digest, approval } => {
                t.append_message(b"action", b"approve_change");
                t.append_message(b"change", &digest.0);
                t.append_message(b"index", &[approval.index]);
                t.append_message(b"sig", &approval.signature.to_bytes());
            }
        }
    }
}

/// Largest operator sequence number: the node stores it as a SQLite integer.
pub const MAX_OPERATOR_SEQUENCE: u64 = u64::MAX >> 1;

/// A signed operator request: the action, who asks, when, a nonce against replay, and a sequence
/// number against reordering.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OperatorRequest {
    /// Index of the operator's key in the network's issuer keys.
    pub operator: u8,
    /// Request time, ms since the Unix epoch; the node refuses requests far from its clock.
    pub time_ms: u64,
    /// Random nonce; the node refuses a nonce it has seen.
    pub nonce: Hash32,
    /// Strictly increasing per operator: the node refuses a request whose sequence is not above
    /// the last one it accepted from this operator, so a request held back on the way cannot
    /// overtake (undo) a later decision. At most [`MAX_OPERATOR_SEQUENCE`]. Clients use the
    /// time in microseconds, bumped past their own previous value (see `Operator::request` in
    /// the node crate).
    #[cfg_attr(feature = "openapi", schema(maximum = 9_223_372_036_854_775_807_u64))]
    pub sequence: u64,
    /// What to do.
    pub action: OperatorAction,
    /// Operator signature over [`OperatorRequest::signing_hash`].
    pub signature: Signature,
}

impl OperatorRequest {
    /// What the operator signs.
    pub fn signing_hash(
        network: u32,
        operator: u8,
        time_ms: u64,
        nonce: &Hash32,
        sequence: u64,
        action: &OperatorAction,
    ) -> Hash32 {
        let mut t = Transcript::new(OPERATOR_DOMAIN);
        t.append_message(b"network", &network.to_le_bytes());
        t.append_message(b"operator", &[operator]);
        t.append_u64_le(b"time_ms", time_ms);
        t.append_message(b"nonce", &nonce.0);
        t.append_u64_le(b"sequence", sequence);
        action.append(&mut t);
        Hash32(t.challenge_bytes32(b"request"))
    }
    /// Builds and signs a request.
    pub fn new(
        network: u32,
        operator: u8,
        key: &SigningKey,
        time_ms: u64,
        nonce: Hash32,
        sequence: u64,
        action: OperatorAction,
    ) -> Self {
        let h = Self::signing_hash(network, operator, time_ms, &nonce, sequence, &action);
        OperatorRequest {
            operator,
            time_ms,
            nonce,
            sequence,
            action,
            signature: key.sign(&h.0),
        }
    }
    /// Builds a request signed by `sign` (a signer that may fail, such as a hardware token),
    /// which is handed the bytes [`OperatorRequest::signing_hash`] returns.
    pub fn try_new<E>(
        network: u32,
        operator: u8,
        time_ms: u64,
        nonce: Hash32,
        sequence: u64,
        action: OperatorAction,
        sign: impl FnOnce(&[u8; 32]) -> Result<Signature, E>,
    ) -> Result<Self, E> {
        let h = Self::signing_hash(network, operator, time_ms, &nonce, sequence, &action);
        Ok(OperatorRequest {
            operator,
            time_ms,
            nonce,
            sequence,
            action,
            signature: sign(&h.0)?,
        })
    }
    /// Verifies the signature against the operator's key, in the key's algorithm (sr25519 or
    /// Ed25519, [`OperatorKey`]).
    pub fn verify(&self, network: u32, key: &OperatorKey) -> bool {
        let h = Self::signing_hash(
            network,
            self.operator,
            self.time_ms,
            &self.nonce,
            self.sequence,
            &self.action,
        );
        key.verify(&h.0, &self.signature)
    }
}

/// A pending issue or redeem proposal.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Proposal {
    /// Transaction id.
    pub txid: TxId,
    /// Issue or redeem.
    pub kind: TxKind,
    /// The public amount.
    pub amount: Amount,
    /// Destination of an issuance (the first output's owner), or the redeeming wallet.
    pub wallet: Option<PublicKey>,
    /// Indices of the operators who approved.
    pub approvals: Vec<u8>,
    /// Approvals needed.
    pub threshold: usize,
    /// Proposal time, ms since the Unix epoch.
    pub created_ms: u64,
    /// `pending`, `committed` or `expired` (pending past `expires_ms`: it can no longer be
    /// approved).
    pub state: String,
    /// The operator who proposed it (`None` for a redemption, which its wallet requests).
    #[serde(default)]
    pub proposed_by: Option<u8>,
    /// Expiry, ms since the Unix epoch (0: none, for proposals stored before expiry existed).
    #[serde(default)]
    pub expires_ms: u64,
    /// Every output with its recipient and, for an issuance, its amount: what an approver checks.
    #[serde(default)]
    pub outputs: Vec<ProposalOutput>,
}

/// Body of `GET /v1/proposals/{txid}`: the proposal and its transaction, which an approving
/// operator signs.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ProposalDetail {
    /// The proposal.
    pub proposal: Proposal,
    /// Its transaction, without issuer signatures.
    pub tx: Transaction,
}

/// Result of an operator request.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct OperatorResponse {
    /// What happened, in words.
    pub message: String,
    /// The proposal, for propose and approve.
    pub proposal: Option<Proposal>,
    /// The receipt, when an approval reached the threshold and the transaction committed.
    pub receipt: Option<Receipt>,
}

/// An entry of the operator audit log.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    /// Sequence number from 1.
    pub seq: u64,
    /// Time, ms since the Unix epoch.
    pub time_ms: u64,
    /// Operator index, if an operator acted.
    pub operator: Option<u8>,
    /// What was done.
    pub action: String,
    /// Details (JSON).
    pub detail: String,
    /// Hash of the previous entry (zero for the first).
    pub prev_hash: Hash32,
    /// Hash of this entry.
    pub hash: Hash32,
}

impl AuditEntry {
    /// The hash of an entry from its fields and the previous hash.
    pub fn compute_hash(
        seq: u64,
        time_ms: u64,
        operator: Option<u8>,
        action: &str,
        detail: &str,
        prev_hash: &Hash32,
    ) -> Hash32 {
        let mut t = Transcript::new(b"dfc/audit-log/v1");
        t.append_u64_le(b"seq", seq);
        t.append_u64_le(b"time_ms", time_ms);
        t.append_message(
            b"operator",
            &operator.map(|o| vec![1, o]).unwrap_or_else(|| vec![0]),
        );
        t.append_message(b"action", action.as_bytes());
        t.append_message(b"detail", detail.as_bytes());
        t.append_message(b"prev", &prev_hash.0);
        Hash32(t.challenge_bytes32(b"entry"))
    }
}

/// A JSON error body: every 4xx and 5xx carries one.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiError {
    /// A stable machine-readable code, e.g. `input_spent`.
    pub code: String,
    /// A human-readable message naming what was wrong.
    pub message: String,
}
