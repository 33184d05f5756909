//! Merkle trees: over the unspent notes at a height (the `ledger_root` of a signed checkpoint, and
//! the inclusion proofs an offline payee checks against it), and over a block's transactions (the
//! header's `tx_root`, and the inclusion proofs a light wallet checks against it).
//!
//! Transaction leaves are `SHA-256(0x00 ‖ "dfc/tx-leaf/v1" ‖ full transaction hash)` in block
//! order; inner nodes and root are built as below. The two leaf domains differ, so no note leaf
//! is ever a transaction leaf.
//!
//! Leaves are `SHA-256(0x00 ‖ "dfc/merkle-leaf/v1" ‖ note id ‖ commitment ‖ owner)` in note-id order;
//! inner nodes `SHA-256(0x01 ‖ left ‖ right)`. A node without a sibling is carried up unchanged
//! (never duplicated, which would let two different leaf sets share a root). The root commits to the
//! leaf count: `SHA-256(0x02 ‖ count ‖ top)`.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::codec::{Reader, Writer};
use crate::error::DecodeError;
use crate::keys::PublicKey;
use crate::note::{Commitment, Hash32, NoteId};

/// The deepest proof accepted: enough for 2^40 notes.
pub const MAX_PROOF_DEPTH: usize = 40;

/// The leaf hash of a note.
pub fn leaf_hash(id: &NoteId, commitment: &Commitment, owner: &PublicKey) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update([0u8]);
    h.update(b"dfc/merkle-leaf/v1");
    h.update(id.0);
    h.update(commitment.to_bytes());
    h.update(owner.to_bytes());
    h.finalize().into()
}

/// The leaf hash of a transaction in its block's tree, from its full hash
/// ([`crate::Transaction::full_hash`], which covers proofs and signatures).
pub fn tx_leaf_hash(full_hash: &Hash32) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update([0u8]);
    h.update(b"dfc/tx-leaf/v1");
    h.update(full_hash.0);
    h.finalize().into()
}

fn node(left: &[u8; 32], right: &[u8; 32]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update([1u8]);
    h.update(left);
    h.update(right);
    h.finalize().into()
}

fn root_of(count: u64, top: &[u8; 32]) -> Hash32 {
    let mut h = Sha256::new();
    h.update([2u8]);
    h.update(count.to_le_bytes());
    h.update(top);
    Hash32(h.finalize().into())
}

/// A Merkle tree with every level kept, so proofs are cheap to produce.
#[derive(Clone, Debug)]
pub struct MerkleTree {
    levels: Vec<Vec<[u8; 32]>>,
}

impl MerkleTree {
    /// Builds the tree over `leaves` (already in note-id order).
    pub fn new(leaves: Vec<[u8; 32]>) -> Self {
        let mut levels = vec![leaves];
        while levels.last().map(|l| l.len() > 1).unwrap_or(false) {
            let prev = levels.last().map(Vec::as_slice).unwrap_or(&[]);
            let next: Vec<[u8; 32]> = prev
                .chunks(2)
                .map(|pair| match pair {
                    [l, r] => node(l, r),
                    // `chunks(2)` never yields an empty chunk: a lone node is carried up.
                    _ => pair[0],
                })
                .collect();
            levels.push(next);
        }
        MerkleTree { levels }
    }

    /// Number of leaves.
    pub fn len(&self) -> usize {
        self.levels[0].len()
    }

    /// Whether the tree has no leaves.
    pub fn is_empty(&self) -> bool {
        self.levels[0].is_empty()
    }

    /// The root, committing to the leaf count.
    pub fn root(&self) -> Hash32 {
        let top = self
            .levels
            .last()
            .and_then(|l| l.first())
            .copied()
            .unwrap_or([0u8; 32]);
        root_of(self.len() as u64, &top)
    }

    /// The inclusion proof of leaf `index`, if it exists.
    pub fn proof(&self, index: usize) -> Option<MerkleProof> {
        if index >= self.len() {
            return None;
        }
        let mut siblings = Vec::new();
        let mut i = index;
        for level in &self.levels[..self.levels.len() - 1] {
            let sib = i ^ 1;
            if sib < level.len() {
                siblings.push(level[sib]);
            }
            i /= 2;
        }
        Some(MerkleProof {
            index: index as u64,
            leaf_count: self.len() as u64,
            siblings,
        })
    }
}

/// The tree over a ledger's unspent notes, in note-id order, with the lookup from id to position.
#[derive(Clone, Debug)]
pub struct LedgerTree {
    ids: Vec<NoteId>,
    tree: MerkleTree,
}

impl LedgerTree {
    /// Builds the tree over the unspent notes `(id, commitment, owner)`, in any order.
    pub fn new(mut notes: Vec<(NoteId, Commitment, PublicKey)>) -> Self {
        notes.sort_by_key(|n| n.0);
        let leaves = notes.iter().map(|(id, c, o)| leaf_hash(id, c, o)).collect();
        LedgerTree {
            ids: notes.into_iter().map(|(id, _, _)| id).collect(),
            tree: MerkleTree::new(leaves),
        }
    }
    /// The root a checkpoint signs.
    pub fn root(&self) -> Hash32 {
        self.tree.root()
    }
    /// The proof that note `id` is unspent, if it is.
    pub fn proof(&self, id: &NoteId) -> Option<MerkleProof> {
        let index = self.ids.binary_search(id).ok()?;
        self.tree.proof(index)
    }
    /// Number of unspent notes.
    pub fn len(&self) -> usize {
        self.ids.len()
    }
    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }
}

/// Proof that a leaf sits at `index` of a tree of `leaf_count` leaves.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MerkleProof {
    /// Leaf position.
    pub index: u64,
    /// Leaves in the tree.
    pub leaf_count: u64,
    /// Sibling hashes from the leaf up, skipping levels where the node had no sibling.
    #[serde(with = "hex_hashes")]
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<crate::note::Hash32>))]
    pub siblings: Vec<[u8; 32]>,
}

impl MerkleProof {
    /// Whether `leaf` is at `index` under `root`.
    pub fn verify(&self, leaf: &[u8; 32], root: &Hash32) -> bool {
        if self.index >= self.leaf_count {
            return false;
        }
        let mut acc = *leaf;
        let mut i = self.index;
        let mut width = self.leaf_count;
        let mut used = 0usize;
        while width > 1 {
            let sib = i ^ 1;
            if sib < width {
                let Some(s) = self.siblings.get(used) else {
                    return false;
                };
                used += 1;
                acc = if i.is_multiple_of(2) {
                    node(&acc, s)
                } else {
                    node(s, &acc)
                };
            }
            i /= 2;
            width = width.div_ceil(2);
        }
        used == self.siblings.len() && root_of(self.leaf_count, &acc) == *root
    }

    /// Canonical encoding.
    pub fn encode(&self, w: &mut Writer) {
        w.u64(self.index);
        w.u64(self.leaf_count);
        w.u8(u8::try_from(self.siblings.len()).unwrap_or(u8::MAX));
        for s in &self.siblings {
            w.bytes(s);
        }
    }

    /// Decodes, refusing proofs deeper than [`MAX_PROOF_DEPTH`].
    pub fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let index = r.u64("proof index")?;
        let leaf_count = r.u64("proof leaf count")?;
        let n = r.count("proof siblings", MAX_PROOF_DEPTH)?;
        let mut siblings = Vec::with_capacity(n);
        for _ in 0..n {
            siblings.push(r.array("proof sibling")?);
        }
        Ok(MerkleProof {
            index,
            leaf_count,
            siblings,
        })
    }
}

mod hex_hashes {
    use serde::{Deserialize, Deserializer, Serializer};
    pub fn serialize<S: Serializer>(v: &[[u8; 32]], s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(v.iter().map(hex::encode))
    }
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<[u8; 32]>, D::Error> {
        let v: Vec<String> = Vec::deserialize(d)?;
        v.iter()
            .map(|t| {
                crate::codec::hex_array::<32>(t, "proof sibling").map_err(serde::de::Error::custom)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn leaves(n: usize) -> Vec<[u8; 32]> {
        (0..n)
            .map(|i| Sha256::digest(i.to_le_bytes()).into())
            .collect()
    }

    proptest! {
        #[test]
        fn every_leaf_proves_and_no_other(n in 1usize..70, pick in any::<prop::sample::Index>()) {
            let tree = MerkleTree::new(leaves(n));
            let root = tree.root();
            let i = pick.index(n);
            let proof = tree.proof(i).expect("index in range");
            prop_assert!(proof.verify(&leaves(n)[i], &root));
            prop_assert!(!proof.verify(&[7u8; 32], &root));
            let mut wrong = proof.clone();
            wrong.leaf_count += 1;
            prop_assert!(!wrong.verify(&leaves(n)[i], &root));
            if n > 1 {
                let other = (i + 1) % n;
                prop_assert!(!proof.verify(&leaves(n)[other], &root));
            }
        }
    }

    #[test]
    fn roots_differ_by_count() {
        let a = MerkleTree::new(leaves(3)).root();
        let mut l = leaves(3);
        l.push(l[2]);
        assert_ne!(a, MerkleTree::new(l).root());
        assert_ne!(
            MerkleTree::new(Vec::new()).root(),
            MerkleTree::new(leaves(1)).root()
        );
    }
}
