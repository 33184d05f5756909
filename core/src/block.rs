//! Blocks: batches of transactions, hash-chained and signed by the node.

use merlin::Transcript;
use serde::{Deserialize, Serialize};

use crate::amount::Amount;
use crate::error::AuditError;
use crate::keys::{PublicKey, Signature, SigningKey};
use crate::note::Hash32;
use crate::transcript::{TranscriptProtocol, BLOCK_DOMAIN, TX_ROOT_DOMAIN};
use crate::tx::Transaction;

/// A block header: what the node signs and the next block chains to.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BlockHeader {
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
}

impl BlockHeader {
    /// The block hash.
    pub fn hash(&self) -> Hash32 {
        let mut t = Transcript::new(BLOCK_DOMAIN);
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
        Hash32(t.challenge_bytes32(b"block"))
    }
}

/// The root of a list of transactions: a transcript hash of their full hashes in order.
pub fn tx_root(txs: &[Transaction]) -> Hash32 {
    tx_root_of_hashes(txs.iter().map(Transaction::full_hash))
}

/// The root over already-computed full transaction hashes.
pub fn tx_root_of_hashes(hashes: impl IntoIterator<Item = Hash32>) -> Hash32 {
    let mut t = Transcript::new(TX_ROOT_DOMAIN);
    for h in hashes {
        t.append_message(b"wtxid", &h.0);
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
        let expected = prev.map(|p| p.height + 1).unwrap_or(0);
        if h.height != expected {
            return Err(AuditError::BadHeight {
                height: h.height,
                expected,
            });
        }
        let prev_hash = prev.map(BlockHeader::hash).unwrap_or(Hash32([0u8; 32]));
        if h.prev_hash != prev_hash {
            return Err(AuditError::BrokenChain {
                height: h.height,
                prev: expected.saturating_sub(1),
            });
        }
        if !node_key.verify(&h.hash().0, &self.signature) {
            return Err(AuditError::BadBlockSignature { height: h.height });
        }
        if tx_root(&self.txs) != h.tx_root
            || usize::try_from(h.tx_count).ok() != Some(self.txs.len())
        {
            return Err(AuditError::BadTxRoot { height: h.height });
        }
        Ok(())
    }
}
