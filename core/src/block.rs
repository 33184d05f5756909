//! Blocks: batches of transactions, hash-chained and signed by the node.

use merlin::Transcript;
use serde::{Deserialize, Serialize};

use crate::amount::Amount;
use crate::error::AuditError;
use crate::keys::{PublicKey, Signature, SigningKey};
use crate::merkle::{tx_leaf_hash, MerkleProof, MerkleTree};
use crate::note::Hash32;
use crate::transcript::{TranscriptProtocol, BLOCK_DOMAIN, TX_ROOT_DOMAIN};
use crate::tx::Transaction;

/// The header version blocks are built with: 2 added [`BlockHeader::history_root`]. Headers of
/// version 1 (no history root) are refused ([`AuditError::RetiredHeaderVersion`]).
pub const HEADER_VERSION: u32 = 2;

fn retired_header_version() -> u32 {
    1
}

/// A block header: what the node signs and the next block chains to.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BlockHeader {
    /// Header format version ([`HEADER_VERSION`]). Absent in headers written before versions
    /// existed, which read as version 1 and are refused.
    #[serde(default = "retired_header_version")]
    pub version: u32,
    /// Network.
    pub network: u32,
    /// Height; genesis is 0.
    pub height: u64,
    /// Hash of the previous header (zero for genesis).
    pub prev_hash: Hash32,
    /// Time the block was sealed, milliseconds since the Unix epoch.
    pub time_ms: u64,
    /// Commitment to the block's transactions, proofs and signatures included.
    pub tx_root: Hash32,
    /// Number of transactions.
    pub tx_count: u32,
    /// Public supply after this block.
    pub supply: Amount,
    /// Hash of the network parameters.
    pub params_hash: Hash32,
    /// Sequence number of the newest operator audit-log entry when the block was sealed (0: none).
    /// Anchors the log in the signed chain, so deleting its newest entries is detected.
    pub audit_seq: u64,
    /// Hash of that entry (zero when `audit_seq` is 0).
    pub audit_head: Hash32,
    /// Root of the Merkle mountain range over the hashes of every earlier block, `0..height`,
    /// bound to its leaf count ([`crate::history`]): one signed header proves any earlier block.
    /// Absent (zero) in version 1.
    #[serde(default = "zero_hash")]
    pub history_root: Hash32,
}

fn zero_hash() -> Hash32 {
    Hash32([0u8; 32])
}

impl BlockHeader {
    /// Checks this header against its predecessor and the node key: height, chain link and the
    /// node's `signature` over the header hash. What [`Block::check_link`] checks except the
    /// transaction root, which a light wallet checks per transaction with inclusion proofs.
    pub fn check_link(
        &self,
        signature: &Signature,
        prev: Option<&BlockHeader>,
        node_key: &PublicKey,
    ) -> Result<(), AuditError> {
        self.check_version()?;
        let expected = prev.map(|p| p.height + 1).unwrap_or(0);
        if self.height != expected {
            return Err(AuditError::BadHeight {
                height: self.height,
                expected,
            });
        }
        let prev_hash = prev.map(BlockHeader::hash).unwrap_or(Hash32([0u8; 32]));
        if self.prev_hash != prev_hash {
            return Err(AuditError::BrokenChain {
                height: self.height,
                prev: expected.saturating_sub(1),
            });
        }
        if !node_key.verify(&self.hash().0, signature) {
            return Err(AuditError::BadBlockSignature {
                height: self.height,
            });
        }
        Ok(())
    }

    /// Refuses a header of another version than [`HEADER_VERSION`] (version 1 has no history
    /// root: a ledger written before it).
    pub fn check_version(&self) -> Result<(), AuditError> {
        if self.version != HEADER_VERSION {
            return Err(AuditError::RetiredHeaderVersion {
                height: self.height,
                version: self.version,
            });
        }
        Ok(())
    }

    /// The node signature over this header verifies under `node_key`.
    pub fn signature_ok(&self, signature: &Signature, node_key: &PublicKey) -> bool {
        node_key.verify(&self.hash().0, signature)
    }

    /// The block hash. Version 1 headers hash as they always did (so a stored ledger of that
    /// version is recognised and refused by version, not reported as corrupt); later versions
    /// bind the version and the history root.
    pub fn hash(&self) -> Hash32 {
        let mut t = Transcript::new(BLOCK_DOMAIN);
        if self.version != 1 {
            t.append_message(b"version", &self.version.to_le_bytes());
        }
        t.append_message(b"network", &self.network.to_le_bytes());
        t.append_u64_le(b"height", self.height);
        t.append_message(b"prev", &self.prev_hash.0);
        t.append_u64_le(b"time_ms", self.time_ms);
        t.append_message(b"tx_root", &self.tx_root.0);
        t.append_u64_le(b"tx_count", u64::from(self.tx_count));
        t.append_u64_le(b"supply", self.supply.units());
        t.append_message(b"params", &self.params_hash.0);
        t.append_u64_le(b"audit_seq", self.audit_seq);
        t.append_message(b"audit_head", &self.audit_head.0);
        if self.version != 1 {
            t.append_message(b"history", &self.history_root.0);
        }
        Hash32(t.challenge_bytes32(b"block"))
    }
}

/// The root of a list of transactions: the Merkle root ([`crate::merkle`]) over their full
/// hashes in block order, so one transaction can be proven in its block with a logarithmic proof
/// ([`tx_proof`]).
pub fn tx_root(txs: &[Transaction]) -> Hash32 {
    tx_root_of_hashes(txs.iter().map(Transaction::full_hash))
}

/// The root over already-computed full transaction hashes.
pub fn tx_root_of_hashes(hashes: impl IntoIterator<Item = Hash32>) -> Hash32 {
    tx_tree(hashes).root()
}

fn tx_tree(hashes: impl IntoIterator<Item = Hash32>) -> MerkleTree {
    MerkleTree::new(hashes.into_iter().map(|h| tx_leaf_hash(&h)).collect())
}

/// The inclusion proof of transaction `index` among `txs` (a block's transactions in order)
/// against [`tx_root`], if the index exists.
pub fn tx_proof(txs: &[Transaction], index: usize) -> Option<MerkleProof> {
    tx_proof_of_hashes(txs.iter().map(Transaction::full_hash), index)
}

/// [`tx_proof`] over already-computed full transaction hashes.
pub fn tx_proof_of_hashes(
    hashes: impl IntoIterator<Item = Hash32>,
    index: usize,
) -> Option<MerkleProof> {
    tx_tree(hashes).proof(index)
}

/// Whether `proof` shows `tx` in the block of `header`: the proof verifies against the header's
/// root and speaks of a tree of exactly the header's transaction count.
pub fn verify_tx_proof(header: &BlockHeader, tx: &Transaction, proof: &MerkleProof) -> bool {
    proof.leaf_count == u64::from(header.tx_count)
        && proof.verify(&tx_leaf_hash(&tx.full_hash()), &header.tx_root)
}

/// The transaction root of format 1 (a transcript hash of the full hashes in order), retired
/// because it admits no inclusion proof shorter than the whole list. Kept only to recognise a
/// ledger written before the change and refuse it with a clear error
/// ([`AuditError::RetiredTxRoot`]).
pub fn retired_tx_root_v1(txs: &[Transaction]) -> Hash32 {
    let mut t = Transcript::new(TX_ROOT_DOMAIN);
    for tx in txs {
        t.append_message(b"wtxid", &tx.full_hash().0);
    }
    Hash32(t.challenge_bytes32(b"root"))
}

/// A sealed block.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Block {
    /// Header.
    pub header: BlockHeader,
    /// Node signature over the header hash.
    pub signature: Signature,
    /// Transactions, in order of application.
    pub txs: Vec<Transaction>,
}

impl Block {
    /// Seals a block: computes the root and signs the header.
    pub fn seal(mut header: BlockHeader, txs: Vec<Transaction>, key: &SigningKey) -> Block {
        header.tx_root = tx_root(&txs);
        header.tx_count = u32::try_from(txs.len()).unwrap_or(u32::MAX);
        let signature = key.sign(&header.hash().0);
        Block {
            header,
            signature,
            txs,
        }
    }

    /// Checks this block against its predecessor and the node key: height, chain link, signature
    /// and transaction root. Transactions themselves are validated separately.
    pub fn check_link(
        &self,
        prev: Option<&BlockHeader>,
        node_key: &PublicKey,
    ) -> Result<(), AuditError> {
        let h = &self.header;
        h.check_link(&self.signature, prev, node_key)?;
        if usize::try_from(h.tx_count).ok() != Some(self.txs.len()) {
            return Err(AuditError::BadTxRoot { height: h.height });
        }
        if tx_root(&self.txs) != h.tx_root {
            if retired_tx_root_v1(&self.txs) == h.tx_root {
                return Err(AuditError::RetiredTxRoot { height: h.height });
            }
            return Err(AuditError::BadTxRoot { height: h.height });
        }
        Ok(())
    }
}
