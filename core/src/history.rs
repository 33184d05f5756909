//! The history root: every block header (version 2, [`crate::block::HEADER_VERSION`]) commits to
//! a Merkle mountain range (MMR) over the hashes of **all earlier blocks**, so one signed header
//! proves any earlier block with a logarithmic proof, and a light wallet needs only the headers
//! of its own blocks plus one recent signed header.
//!
//! The MMR is the one of `ckb-merkle-mountain-range` (positions, peaks, bagging and proof
//! verification are that crate's); this module fixes what is hashed, and binds the leaf count.
//! See `docs/protocol.md` ("History root") for the math note:
//!
//! - **What is committed.** Leaf `i` is the hash of the block at height `i`:
//!   `leaf_i = SHA-256(0x00 ‖ "dfc/history-leaf/v1" ‖ block_hash_i)`. Inner nodes are
//!   `SHA-256(0x01 ‖ "dfc/history-node/v1" ‖ left ‖ right)`; peaks are bagged right to left with
//!   `SHA-256(0x03 ‖ "dfc/history-peaks/v1" ‖ right ‖ left)`. The header at height `h` carries
//!   `history_root = SHA-256(0x02 ‖ "dfc/history-root/v1" ‖ h as u64 LE ‖ mmr_root)` over leaves
//!   `0..h` (and `mmr_root` = 32 zero bytes when `h = 0`).
//! - **Why a proof binds a leaf at a position.** The MMR over `n` leaves has a shape fixed by `n`
//!   alone (its peaks are the binary digits of `n`). The root binds `n`, so the verifier derives
//!   the shape from the header, never from the proof, and recomputes the root from the leaf
//!   hash, its position `leaf_index_to_pos(i)` and the siblings: each step hashes left ‖ right in
//!   an order fixed by the position. A proof for another position or another leaf count would
//!   need a SHA-256 collision (or second preimage) somewhere on the path.
//! - **Domain separation.** Leaves, inner nodes, bagged peaks and the bound root are hashed
//!   with distinct first bytes and labels, so no leaf can be read as an inner node (which would
//!   let a proof stop early at an inner node, i.e. prove a "leaf" that is no block hash), and no
//!   bagged value as a node. The leaf label also differs from the transaction and note leaves of
//!   [`crate::merkle`].
//! - **What it buys.** Block `h`'s hash covers its own history root, so a header whose hash is
//!   proven in the tip's history fixes, transitively, the whole chain below it: a node cannot
//!   show a wallet a header that is not an ancestor of the tip it signed, nor a tip that forks
//!   away from the wallet's last verified tip or from a co-signed checkpoint, without a hash
//!   collision.

use std::collections::BTreeMap;

use ckb_merkle_mountain_range::helper::{get_peaks, leaf_index_to_mmr_size, leaf_index_to_pos};
use ckb_merkle_mountain_range::{Merge, MerkleProof, MMR};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use thiserror::Error;

use crate::note::Hash32;

pub use ckb_merkle_mountain_range::{Error as StoreErrorKind, MMRStoreReadOps, MMRStoreWriteOps};

/// Most leaves (blocks) a history may hold: 2^48, about 9,000 years of one block per second.
/// Bounds the shapes a verifier derives from a header's height.
pub const MAX_HISTORY_LEAVES: u64 = 1 << 48;

/// Most sibling hashes accepted in one proof: 64 per proven leaf, plus the peaks.
pub const MAX_PROOF_ITEMS_PER_LEAF: usize = 64;

/// Why a history proof is refused, or the MMR cannot be read or written.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum HistoryError {
    /// A proven height is not below the anchor's height (the anchor's history holds `0..count`).
    #[error("block {height} is not in a history of {count} blocks")]
    OutOfRange {
        /// Height.
        height: u64,
        /// Leaf count of the history.
        count: u64,
    },
    /// The history is longer than [`MAX_HISTORY_LEAVES`].
    #[error("a history of {0} blocks is beyond the supported {MAX_HISTORY_LEAVES}")]
    TooLong(u64),
    /// The proof carries more hashes than its leaves can need.
    #[error("history proof of {items} hashes for {leaves} blocks is too long")]
    ProofTooLong {
        /// Hashes in the proof.
        items: usize,
        /// Leaves proven.
        leaves: usize,
    },
    /// The proof does not recompute the history root.
    #[error("history proof does not verify against the history root of the {count}-block history")]
    BadProof {
        /// Leaf count.
        count: u64,
    },
    /// The stored MMR is inconsistent or unreadable.
    #[error("history store: {0}")]
    Store(String),
}

/// The hash merge of the history MMR (see the module note for the domains).
#[derive(Debug)]
pub struct HistoryMerge;

fn tagged(tag: u8, label: &[u8], parts: &[&[u8]]) -> Hash32 {
    let mut h = Sha256::new();
    h.update([tag]);
    h.update(label);
    for p in parts {
        h.update(p);
    }
    Hash32(h.finalize().into())
}

impl Merge for HistoryMerge {
    type Item = Hash32;

    fn merge(left: &Hash32, right: &Hash32) -> ckb_merkle_mountain_range::Result<Hash32> {
        Ok(tagged(1, b"dfc/history-node/v1", &[&left.0, &right.0]))
    }

    fn merge_peaks(right: &Hash32, left: &Hash32) -> ckb_merkle_mountain_range::Result<Hash32> {
        Ok(tagged(3, b"dfc/history-peaks/v1", &[&right.0, &left.0]))
    }
}

/// The leaf of a block hash.
pub fn leaf_hash(block_hash: &Hash32) -> Hash32 {
    tagged(0, b"dfc/history-leaf/v1", &[&block_hash.0])
}

/// The root a header carries: the MMR root bound to its leaf count (`None`: the empty history).
pub fn bind_root(leaf_count: u64, mmr_root: Option<&Hash32>) -> Hash32 {
    let zero = Hash32([0u8; 32]);
    let root = mmr_root.unwrap_or(&zero);
    tagged(
        2,
        b"dfc/history-root/v1",
        &[&leaf_count.to_le_bytes(), &root.0],
    )
}

/// The MMR size (number of stored nodes) of a history of `leaf_count` leaves.
pub fn mmr_size(leaf_count: u64) -> u64 {
    match leaf_count.checked_sub(1) {
        None => 0,
        Some(last) => leaf_index_to_mmr_size(last),
    }
}

/// The MMR position of the leaf of height `height`.
pub fn leaf_pos(height: u64) -> u64 {
    leaf_index_to_pos(height)
}

fn store_err(e: ckb_merkle_mountain_range::Error) -> HistoryError {
    HistoryError::Store(e.to_string())
}

/// The history root over the `leaf_count` leaves held in `store` (the root the header at height
/// `leaf_count` carries).
pub fn root<S: MMRStoreReadOps<Hash32>>(store: S, leaf_count: u64) -> Result<Hash32, HistoryError> {
    if leaf_count == 0 {
        return Ok(bind_root(0, None));
    }
    let mmr: MMR<Hash32, HistoryMerge, S> = MMR::new(mmr_size(leaf_count), store);
    let r = mmr.get_root().map_err(store_err)?;
    Ok(bind_root(leaf_count, Some(&r)))
}

/// Appends the hash of the block at height `leaf_count` to the `leaf_count` leaves in `store`:
/// writes the leaf and the O(log n) inner nodes it completes.
pub fn append<S: MMRStoreReadOps<Hash32> + MMRStoreWriteOps<Hash32>>(
    store: S,
    leaf_count: u64,
    block_hash: &Hash32,
) -> Result<(), HistoryError> {
    if leaf_count >= MAX_HISTORY_LEAVES {
        return Err(HistoryError::TooLong(leaf_count));
    }
    let mut mmr: MMR<Hash32, HistoryMerge, S> = MMR::new(mmr_size(leaf_count), store);
    mmr.push(leaf_hash(block_hash)).map_err(store_err)?;
    mmr.commit().map_err(store_err)
}

/// The MMR positions of the peaks of a history of `leaf_count` leaves, left to right.
pub fn peak_positions(leaf_count: u64) -> Vec<u64> {
    if leaf_count == 0 {
        return Vec::new();
    }
    get_peaks(mmr_size(leaf_count))
}

/// A proof that some blocks are in a history (any number of them, in one proof).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HistoryProof {
    /// Sibling and peak hashes, in the order the MMR's verifier consumes them.
    pub items: Vec<Hash32>,
}

/// The proof that the blocks at `heights` are among the `leaf_count` leaves in `store`.
pub fn prove<S: MMRStoreReadOps<Hash32>>(
    store: S,
    leaf_count: u64,
    heights: &[u64],
) -> Result<HistoryProof, HistoryError> {
    if heights.is_empty() {
        return Ok(HistoryProof::default());
    }
    if let Some(&h) = heights.iter().find(|&&h| h >= leaf_count) {
        return Err(HistoryError::OutOfRange {
            height: h,
            count: leaf_count,
        });
    }
    let mmr: MMR<Hash32, HistoryMerge, S> = MMR::new(mmr_size(leaf_count), store);
    let proof = mmr
        .gen_proof(heights.iter().map(|&h| leaf_pos(h)).collect())
        .map_err(store_err)?;
    Ok(HistoryProof {
        items: proof.proof_items().to_vec(),
    })
}

impl HistoryProof {
    /// Checks that each `(height, block hash)` of `blocks` is the block at that height in the
    /// history `history_root` of `leaf_count` blocks (the header at height `leaf_count`).
    /// Nothing to prove (no blocks) verifies only with an empty proof.
    pub fn verify(
        &self,
        history_root: &Hash32,
        leaf_count: u64,
        blocks: &BTreeMap<u64, Hash32>,
    ) -> Result<(), HistoryError> {
        if leaf_count > MAX_HISTORY_LEAVES {
            return Err(HistoryError::TooLong(leaf_count));
        }
        if let Some((&h, _)) = blocks.range(leaf_count..).next() {
            return Err(HistoryError::OutOfRange {
                height: h,
                count: leaf_count,
            });
        }
        let limit = (blocks.len() + 1) * MAX_PROOF_ITEMS_PER_LEAF;
        if self.items.len() > limit {
            return Err(HistoryError::ProofTooLong {
                items: self.items.len(),
                leaves: blocks.len(),
            });
        }
        if blocks.is_empty() {
            return if self.items.is_empty() {
                Ok(())
            } else {
                Err(HistoryError::BadProof { count: leaf_count })
            };
        }
        let size = mmr_size(leaf_count);
        // A one-leaf MMR is its leaf: no proof hash may ride along unchecked.
        if size == 1 && !self.items.is_empty() {
            return Err(HistoryError::BadProof { count: leaf_count });
        }
        let leaves = blocks
            .iter()
            .map(|(&h, hash)| (leaf_pos(h), leaf_hash(hash)))
            .collect();
        let proof: MerkleProof<Hash32, HistoryMerge> = MerkleProof::new(size, self.items.clone());
        let computed = proof
            .calculate_root(leaves)
            .map_err(|_| HistoryError::BadProof { count: leaf_count })?;
        if bind_root(leaf_count, Some(&computed)) != *history_root {
            return Err(HistoryError::BadProof { count: leaf_count });
        }
        Ok(())
    }
}

/// The peaks of a history, kept in memory: appends and roots in O(log n) space, without the
/// inner nodes (what a replay or an audit needs; proofs need the stored MMR).
#[derive(Clone, Debug, Default)]
pub struct HistoryPeaks {
    leaf_count: u64,
    /// `(height of the peak's tree, hash)`, left to right.
    peaks: Vec<(u32, Hash32)>,
}

impl HistoryPeaks {
    /// The empty history.
    pub fn new() -> Self {
        Self::default()
    }

    /// The peaks of a history of `leaf_count` leaves, left to right, as stored at the MMR's peak
    /// positions ([`peak_positions`]); `None` if there are not as many as the shape needs.
    pub fn from_peaks(leaf_count: u64, peaks: Vec<Hash32>) -> Option<Self> {
        if leaf_count > MAX_HISTORY_LEAVES {
            return None;
        }
        // Peak heights are the one bits of the leaf count, highest first.
        let heights: Vec<u32> = (0..64u32)
            .rev()
            .filter(|b| leaf_count >> b & 1 == 1)
            .collect();
        if heights.len() != peaks.len() {
            return None;
        }
        Some(HistoryPeaks {
            leaf_count,
            peaks: heights.into_iter().zip(peaks).collect(),
        })
    }

    /// Leaves so far.
    pub fn leaf_count(&self) -> u64 {
        self.leaf_count
    }

    /// The peaks' hashes, left to right: with [`leaf_count`](Self::leaf_count), what
    /// [`from_peaks`](Self::from_peaks) takes back (for a wallet that keeps the history it
    /// verified between syncs).
    pub fn peak_hashes(&self) -> Vec<Hash32> {
        self.peaks.iter().map(|p| p.1).collect()
    }

    /// Appends the next block's hash.
    pub fn push(&mut self, block_hash: &Hash32) {
        let mut node = (0u32, leaf_hash(block_hash));
        while let Some(&(height, left)) = self.peaks.last() {
            if height != node.0 {
                break;
            }
            self.peaks.pop();
            node = (
                height + 1,
                tagged(1, b"dfc/history-node/v1", &[&left.0, &node.1 .0]),
            );
        }
        self.peaks.push(node);
        self.leaf_count += 1;
    }

    /// The history root over the leaves so far (bagged right to left, as the MMR crate does).
    pub fn root(&self) -> Hash32 {
        let mut peaks: Vec<Hash32> = self.peaks.iter().map(|p| p.1).collect();
        while peaks.len() > 1 {
            let (Some(right), Some(left)) = (peaks.pop(), peaks.pop()) else {
                break;
            };
            peaks.push(tagged(3, b"dfc/history-peaks/v1", &[&right.0, &left.0]));
        }
        bind_root(self.leaf_count, peaks.first())
    }

    /// The peaks' count must be the number of one bits of the leaf count (a consistency check
    /// for tests and loaders).
    pub fn is_consistent(&self) -> bool {
        peak_positions(self.leaf_count).len() == self.peaks.len()
    }
}

#[cfg(test)]
mod tests;
