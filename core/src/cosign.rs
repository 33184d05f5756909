//! Operator co-signed checkpoints: history that the node key alone cannot rewrite.
//!
//! The node signs every block, so whoever holds the node key can rewrite a committed block and
//! re-sign the chain from there; the rewritten chain links and verifies. A [`ChainPoint`] names
//! one block of one network (network id, genesis hash, height, block hash), and operators sign
//! its [`ChainPoint::digest`] under their own domain ([`COSIGN_DOMAIN`]) with their issuer keys.
//! Once a point holds valid signatures by k distinct issuer keys *of the parameters in force at
//! its height* it is co-signed ([`CosignedCheckpoint::verify`]): a chain whose block at that
//! height has another hash, or that ends below it, is not the chain the operators saw, whatever
//! the node key signed.
//!
//! Operator signatures are checked by [`crate::governance::verify_approvals`], the same function
//! that checks approvals of parameter changes, so any change to how operator signatures verify
//! covers both. What the signature cannot be replayed on:
//! - another network or ledger: the digest binds the network id and the genesis hash;
//! - another block or height: the digest binds both;
//! - parameter changes or operator requests: they use other transcript domains.

use merlin::Transcript;
use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::governance::{verify_approvals, GovernanceError, ParamsHistory};
use crate::note::Hash32;
use crate::transcript::TranscriptProtocol;
use crate::tx::IssuerSignature;

/// Domain label of what operators sign to co-sign a checkpoint.
pub const COSIGN_DOMAIN: &[u8] = b"dfc/cosigned-checkpoint/v1";

/// Most signatures one checkpoint carries (a bound on what readers decode; an issuer index is
/// a `u8`).
pub const MAX_COSIGNATURES: usize = 256;

/// A block of a chain, as operators vouch for it.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChainPoint {
    /// Network id.
    pub network: u32,
    /// Genesis block hash of the ledger.
    pub genesis: Hash32,
    /// Height of the block.
    pub height: u64,
    /// Hash of the block at that height.
    pub block_hash: Hash32,
}

impl ChainPoint {
    /// What an operator signs to co-sign this point.
    pub fn digest(&self) -> Hash32 {
        let mut t = Transcript::new(COSIGN_DOMAIN);
        t.append_message(b"network", &self.network.to_le_bytes());
        t.append_message(b"genesis", &self.genesis.0);
        t.append_u64_le(b"height", self.height);
        t.append_message(b"block", &self.block_hash.0);
        Hash32(t.challenge_bytes32(b"cosign"))
    }

    /// Checks that this point is of the network of `history`.
    pub fn check_network(&self, history: &ParamsHistory) -> Result<(), CosignError> {
        let g = history.genesis();
        if self.network != g.network_id || self.genesis != g.genesis_hash {
            return Err(CosignError::WrongNetwork {
                height: self.height,
            });
        }
        Ok(())
    }
}

/// One operator's signature over a point: what `POST /v1/checkpoints/signatures` takes.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CheckpointSignature {
    /// The point signed.
    pub point: ChainPoint,
    /// Issuer key index and signature over [`ChainPoint::digest`].
    pub signature: IssuerSignature,
}

impl CheckpointSignature {
    /// Checks this one signature against the issuer keys in force at the point's height (not
    /// whether there are k of them).
    pub fn verify(&self, history: &ParamsHistory) -> Result<(), CosignError> {
        self.point.check_network(history)?;
        let params = history.at(self.point.height);
        // One signature: `verify_approvals` with a threshold of one signature is checked by
        // hand below, so that the error names what is wrong with this signature.
        match verify_approvals(
            params,
            &self.point.digest(),
            std::slice::from_ref(&self.signature),
        ) {
            Ok(()) | Err(GovernanceError::TooFewApprovals { .. }) => Ok(()),
            Err(e) => Err(CosignError::Signature {
                height: self.point.height,
                source: e,
            }),
        }
    }
}

/// A point with the operator signatures gathered for it.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CosignedCheckpoint {
    /// The point.
    pub point: ChainPoint,
    /// Operator signatures over its digest.
    pub signatures: Vec<IssuerSignature>,
}

impl CosignedCheckpoint {
    /// Checks that this checkpoint is in force: of this network, and signed by at least k
    /// distinct issuer keys of the parameters in force at its height, every signature valid.
    pub fn verify(&self, history: &ParamsHistory) -> Result<(), CosignError> {
        self.point.check_network(history)?;
        if self.signatures.len() > MAX_COSIGNATURES {
            return Err(CosignError::TooManySignatures(self.signatures.len()));
        }
        verify_approvals(
            history.at(self.point.height),
            &self.point.digest(),
            &self.signatures,
        )
        .map_err(|e| CosignError::Signature {
            height: self.point.height,
            source: e,
        })
    }

    /// Checks every signature (not the threshold): for checkpoints still gathering signatures.
    pub fn verify_signatures(&self, history: &ParamsHistory) -> Result<(), CosignError> {
        match self.verify(history) {
            Err(CosignError::Signature {
                source: GovernanceError::TooFewApprovals { .. },
                ..
            }) => Ok(()),
            other => other,
        }
    }

    /// Whether it holds k signatures under the parameters at its height (assuming they verify).
    pub fn is_anchored(&self, history: &ParamsHistory) -> bool {
        self.signatures.len() >= history.at(self.point.height).threshold
    }
}

/// Answer to a checkpoint signature.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CosignResponse {
    /// The checkpoint at that height with every signature stored for it.
    pub checkpoint: CosignedCheckpoint,
    /// Whether it now holds k signatures under the operators in force at its height.
    pub anchored: bool,
    /// Whether this signature was new (false: this operator had signed that height already).
    pub new: bool,
}

/// `GET /v1/checkpoints/cosigned` answer.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CosignedList {
    /// Checkpoints from `from` on, in height order, each with its signatures (anchored or not).
    pub checkpoints: Vec<CosignedCheckpoint>,
}

/// Why a checkpoint or a checkpoint signature is refused.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum CosignError {
    /// The point names another network or genesis.
    #[error("the checkpoint at height {height} is of another network")]
    WrongNetwork {
        /// Height named.
        height: u64,
    },
    /// A signature does not count (not an operator, does not verify, repeated, too few).
    #[error("checkpoint at height {height}: {source}")]
    Signature {
        /// Height of the checkpoint.
        height: u64,
        /// What is wrong, as operator approvals report it.
        source: GovernanceError,
    },
    /// More signatures than any checkpoint can hold.
    #[error("{0} signatures is over the limit of {MAX_COSIGNATURES}")]
    TooManySignatures(usize),
}

impl CosignError {
    /// A stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            CosignError::WrongNetwork { .. } => "wrong_network",
            CosignError::Signature { source, .. } => source.code(),
            CosignError::TooManySignatures(_) => "too_many_signatures",
        }
    }
}

#[cfg(test)]
mod tests;
