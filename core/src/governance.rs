//! Governance: parameter changes approved by k of n operators, and the parameters in force at
//! each height.
//!
//! A network starts with its genesis parameters. A [`ParamsChange`] replaces them from a stated
//! height on; it names the hash of the parameters it replaces (`base_hash`), so an approval
//! counts for exactly one change of exactly one state of the rules. It takes effect only with
//! approvals ([`IssuerSignature`]s over [`ParamsChange::digest`]) by `threshold` distinct issuer
//! keys *of the parameters it replaces*:
//!
//! - an approval cannot be replayed on another network or ledger: the digest binds the network
//!   id and the genesis hash;
//! - nor on another change, or on the same change of other rules: the digest binds the new
//!   parameters' hash, the base hash and the effective height;
//! - one key cannot count twice ([`verify_approvals`] refuses a repeated index);
//! - a removed or rotated-out operator key cannot approve anything after its removal took effect:
//!   approvals are checked against the issuer keys of the base parameters, in which it no longer
//!   appears.
//!
//! Every validator (node, wallet, audit) holds a [`ParamsHistory`] and applies
//! [`ParamsHistory::at`] to each block; a block header's `params_hash` is the hash of the
//! parameters in force at its height, so the node signs, in the chain, which rules it applied.
//! A history decodes only if every change in it verifies, so a forged history cannot be read in.

use merlin::Transcript;
use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::note::Hash32;
use crate::params::{NetworkParams, ParamsError};
use crate::transcript::TranscriptProtocol;
use crate::tx::IssuerSignature;

/// Domain label of a parameter change's digest (what operators approve).
pub const GOVERNANCE_DOMAIN: &[u8] = b"dfc/governance/v1";

/// Most changes a history holds (a bound on what a node or wallet decodes).
pub const MAX_CHANGES: usize = 4096;

/// A change of the network parameters: `params` replaces the parameters whose hash is
/// `base_hash` from block `effective_height` on.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ParamsChange {
    /// Hash of the parameters this change replaces.
    pub base_hash: Hash32,
    /// First block height sealed under the new parameters.
    pub effective_height: u64,
    /// The new parameters, complete.
    pub params: NetworkParams,
}

impl ParamsChange {
    /// What an operator signs to approve this change.
    pub fn digest(&self) -> Hash32 {
        let mut t = Transcript::new(GOVERNANCE_DOMAIN);
        t.append_message(b"network", &self.params.network_id.to_le_bytes());
        t.append_message(b"genesis", &self.params.genesis_hash.0);
        t.append_message(b"base", &self.base_hash.0);
        t.append_u64_le(b"effective_height", self.effective_height);
        t.append_message(b"params", &self.params.hash().0);
        Hash32(t.challenge_bytes32(b"change"))
    }

    /// Checks this change against the parameters it replaces: the base hash, the fields that
    /// never change, and the new parameters' own consistency. Cheap; no signatures.
    pub fn check_against(&self, base: &NetworkParams) -> Result<(), GovernanceError> {
        if self.base_hash != base.hash() {
            return Err(GovernanceError::StaleBase {
                expected: base.hash().to_hex(),
                got: self.base_hash.to_hex(),
            });
        }
        if self.effective_height == 0 {
            return Err(GovernanceError::GenesisHeight);
        }
        let p = &self.params;
        for (field, same) in [
            ("network_id", p.network_id == base.network_id),
            ("name", p.name == base.name),
            ("sandbox", p.sandbox == base.sandbox),
            ("currency", p.currency == base.currency),
            ("decimals", p.decimals == base.decimals),
            ("genesis_hash", p.genesis_hash == base.genesis_hash),
            // Per-transaction limits bound what every node and wallet decodes and builds; this
            // version keeps them fixed at genesis.
            ("limits", p.limits == base.limits),
        ] {
            if !same {
                return Err(GovernanceError::Immutable(field));
            }
        }
        if p.tiers.len() < base.tiers.len() {
            return Err(GovernanceError::TierRemoved {
                had: base.tiers.len(),
                got: p.tiers.len(),
            });
        }
        if p.hash() == base.hash() {
            return Err(GovernanceError::NoChange);
        }
        p.validate().map_err(GovernanceError::Params)
    }
}

/// A change with the approvals that made it take effect.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApprovedChange {
    /// The change.
    pub change: ParamsChange,
    /// Issuer signatures over its digest, by keys of the replaced parameters.
    pub approvals: Vec<IssuerSignature>,
}

/// Checks that `approvals` are valid signatures over `digest` by at least `base.threshold`
/// distinct issuer keys of `base`.
pub fn verify_approvals(
    base: &NetworkParams,
    digest: &Hash32,
    approvals: &[IssuerSignature],
) -> Result<(), GovernanceError> {
    let mut seen = Vec::with_capacity(approvals.len());
    for a in approvals {
        if seen.contains(&a.index) {
            return Err(GovernanceError::DuplicateApproval(a.index));
        }
        seen.push(a.index);
        let key = base
            .issuers
            .get(usize::from(a.index))
            .ok_or(GovernanceError::UnknownOperator(a.index))?;
        if !key.verify(&digest.0, &a.signature) {
            return Err(GovernanceError::BadApproval(a.index));
        }
    }
    if approvals.len() < base.threshold {
        return Err(GovernanceError::TooFewApprovals {
            got: approvals.len(),
            threshold: base.threshold,
        });
    }
    Ok(())
}

/// The genesis parameters and every approved change, in order of effect.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "RawHistory", into = "RawHistory")]
pub struct ParamsHistory {
    genesis: NetworkParams,
    changes: Vec<ApprovedChange>,
}

/// The wire form of a history; decoding verifies it ([`ParamsHistory::from_parts`]).
#[derive(Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawHistory {
    genesis: NetworkParams,
    changes: Vec<ApprovedChange>,
}

impl TryFrom<RawHistory> for ParamsHistory {
    type Error = GovernanceError;
    fn try_from(raw: RawHistory) -> Result<Self, GovernanceError> {
        ParamsHistory::from_parts(raw.genesis, raw.changes)
    }
}

impl From<ParamsHistory> for RawHistory {
    fn from(h: ParamsHistory) -> Self {
        RawHistory {
            genesis: h.genesis,
            changes: h.changes,
        }
    }
}

impl ParamsHistory {
    /// A history with no changes.
    pub fn new(genesis: NetworkParams) -> Self {
        ParamsHistory {
            genesis,
            changes: Vec::new(),
        }
    }

    /// A history from its parts, verifying every change in order.
    pub fn from_parts(
        genesis: NetworkParams,
        changes: Vec<ApprovedChange>,
    ) -> Result<Self, GovernanceError> {
        if changes.len() > MAX_CHANGES {
            return Err(GovernanceError::TooManyChanges(changes.len()));
        }
        let mut h = ParamsHistory::new(genesis);
        for c in changes {
            h.push(c)?;
        }
        Ok(h)
    }

    /// Appends a change after verifying it against the newest parameters: its base, its
    /// fields, its effective height (after the previous change's) and its approvals.
    pub fn push(&mut self, c: ApprovedChange) -> Result<(), GovernanceError> {
        self.check_next(&c.change)?;
        verify_approvals(self.latest(), &c.change.digest(), &c.approvals)?;
        self.changes.push(c);
        Ok(())
    }

    /// Checks that `change` could follow this history (everything but the approvals).
    pub fn check_next(&self, change: &ParamsChange) -> Result<(), GovernanceError> {
        if self.changes.len() >= MAX_CHANGES {
            return Err(GovernanceError::TooManyChanges(self.changes.len() + 1));
        }
        if let Some(last) = self.changes.last() {
            if change.effective_height <= last.change.effective_height {
                return Err(GovernanceError::HeightNotAfter {
                    height: change.effective_height,
                    previous: last.change.effective_height,
                });
            }
        }
        change.check_against(self.latest())
    }

    /// The genesis parameters.
    pub fn genesis(&self) -> &NetworkParams {
        &self.genesis
    }

    /// The approved changes, in order.
    pub fn changes(&self) -> &[ApprovedChange] {
        &self.changes
    }

    /// The newest parameters (in force from the last change's height on).
    pub fn latest(&self) -> &NetworkParams {
        self.changes
            .last()
            .map(|c| &c.change.params)
            .unwrap_or(&self.genesis)
    }

    /// The parameters in force at block `height`.
    pub fn at(&self, height: u64) -> &NetworkParams {
        self.changes
            .iter()
            .rev()
            .find(|c| c.change.effective_height <= height)
            .map(|c| &c.change.params)
            .unwrap_or(&self.genesis)
    }

    /// The first height after `height` at which other parameters take effect, if any.
    pub fn next_change_after(&self, height: u64) -> Option<u64> {
        self.changes
            .iter()
            .map(|c| c.change.effective_height)
            .find(|&h| h > height)
    }
}

/// Why a parameter change or a history is refused.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum GovernanceError {
    /// The change replaces other parameters than those in force.
    #[error("the change replaces parameters {got}, but the parameters in force are {expected}")]
    StaleBase {
        /// Hash in force.
        expected: String,
        /// Hash named.
        got: String,
    },
    /// A change cannot take effect at genesis.
    #[error("a change cannot take effect at height 0")]
    GenesisHeight,
    /// Changes take effect in order.
    #[error("effective height {height} is not after the previous change's height {previous}")]
    HeightNotAfter {
        /// Height named.
        height: u64,
        /// Previous change's height.
        previous: u64,
    },
    /// A field that is fixed at genesis differs.
    #[error("{0} is fixed at genesis and cannot be changed")]
    Immutable(&'static str),
    /// Tiers can be added and changed, not removed (wallets hold tier numbers).
    #[error("the change has {got} tiers but the network has {had}: tiers cannot be removed")]
    TierRemoved {
        /// Tiers in force.
        had: usize,
        /// Tiers in the change.
        got: usize,
    },
    /// The new parameters equal the old.
    #[error("the change leaves the parameters as they are")]
    NoChange,
    /// The new parameters are inconsistent.
    #[error("the new parameters are invalid: {0}")]
    Params(ParamsError),
    /// An operator approved twice.
    #[error("operator {0} approves twice")]
    DuplicateApproval(u8),
    /// An approval names no issuer key of the replaced parameters.
    #[error("operator {0} is not an operator of the parameters in force")]
    UnknownOperator(u8),
    /// An approval's signature does not verify.
    #[error("the approval of operator {0} does not verify over this change")]
    BadApproval(u8),
    /// Fewer than k approvals.
    #[error("{got} approvals, {threshold} needed")]
    TooFewApprovals {
        /// Approvals.
        got: usize,
        /// k.
        threshold: usize,
    },
    /// More changes than a history may hold.
    #[error("{0} changes is over the limit of {MAX_CHANGES}")]
    TooManyChanges(usize),
}

impl GovernanceError {
    /// A stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            GovernanceError::StaleBase { .. } => "stale_base",
            GovernanceError::GenesisHeight => "bad_effective_height",
            GovernanceError::HeightNotAfter { .. } => "bad_effective_height",
            GovernanceError::Immutable(_) => "immutable_param",
            GovernanceError::TierRemoved { .. } => "tier_removed",
            GovernanceError::NoChange => "no_change",
            GovernanceError::Params(_) => "bad_params",
            GovernanceError::DuplicateApproval(_) => "duplicate_approval",
            GovernanceError::UnknownOperator(_) => "unknown_operator",
            GovernanceError::BadApproval(_) => "bad_approval",
            GovernanceError::TooFewApprovals { .. } => "too_few_approvals",
            GovernanceError::TooManyChanges(_) => "too_many_changes",
        }
    }
}

/// A proposed parameter change as the node lists it to operators.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChangeProposal {
    /// The change's digest: what approvers sign.
    pub digest: Hash32,
    /// The change.
    pub change: ParamsChange,
    /// Operators who approved so far.
    pub approvals: Vec<u8>,
    /// Approvals needed (k of the parameters the change replaces).
    pub threshold: usize,
    /// Operator who proposed it.
    pub proposed_by: u8,
    /// When it was proposed, ms since the Unix epoch.
    pub created_ms: u64,
    /// After this time it can no longer be approved.
    pub expires_ms: u64,
    /// `pending`, `scheduled` (approved; in force from its height), `expired` or `stale` (other
    /// rules took effect first).
    pub state: String,
}

/// One line of a parameter diff: a field, its value before and after.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldChange {
    /// Field name, e.g. `tiers[0].max_balance`.
    pub field: String,
    /// Value before (`-` when absent).
    pub before: String,
    /// Value after.
    pub after: String,
}

/// What a change changes, field by field, as approvers are shown before approving.
pub fn diff(before: &NetworkParams, after: &NetworkParams) -> Vec<FieldChange> {
    let mut out = Vec::new();
    let mut cmp = |field: String, a: String, b: String| {
        if a != b {
            out.push(FieldChange {
                field,
                before: a,
                after: b,
            });
        }
    };
    let key = |k: Option<&crate::operator_key::OperatorKey>| {
        k.map(|k| k.to_string()).unwrap_or_else(|| "-".into())
    };
    let n = before.issuers.len().max(after.issuers.len());
    for i in 0..n {
        cmp(
            format!("issuers[{i}]"),
            key(before.issuers.get(i)),
            key(after.issuers.get(i)),
        );
    }
    cmp(
        "threshold".into(),
        before.threshold.to_string(),
        after.threshold.to_string(),
    );
    cmp(
        "node_key".into(),
        hex::encode(before.node_key.to_bytes()),
        hex::encode(after.node_key.to_bytes()),
    );
    let t = before.tiers.len().max(after.tiers.len());
    for i in 0..t {
        let (a, b) = (before.tiers.get(i), after.tiers.get(i));
        let amount = |p: &NetworkParams, v: Option<crate::amount::Amount>| {
            v.map(|v| p.format(v)).unwrap_or_else(|| "-".into())
        };
        cmp(
            format!("tiers[{i}].name"),
            a.map(|x| x.name.clone()).unwrap_or_else(|| "-".into()),
            b.map(|x| x.name.clone()).unwrap_or_else(|| "-".into()),
        );
        for (name, f) in [
            (
                "max_payment",
                (|x: &crate::params::TierLimits| x.max_payment) as fn(&_) -> _,
            ),
            ("max_balance", |x| x.max_balance),
            ("offline_cap", |x| x.offline_cap),
            ("max_inflow", |x| x.max_inflow),
        ] {
            cmp(
                format!("tiers[{i}].{name}"),
                amount(before, a.map(f)),
                amount(after, b.map(f)),
            );
        }
    }
    cmp(
        "turnover_period_days".into(),
        before.turnover_period_days.to_string(),
        after.turnover_period_days.to_string(),
    );
    let reg = |p: &NetworkParams| {
        p.compliance
            .as_ref()
            .map(|c| hex::encode(c.regulator_key.to_bytes()))
            .unwrap_or_else(|| "-".into())
    };
    let threshold = |p: &NetworkParams| {
        p.compliance
            .as_ref()
            .map(|c| p.format(c.reporting_threshold))
            .unwrap_or_else(|| "-".into())
    };
    cmp("regulator_key".into(), reg(before), reg(after));
    cmp(
        "reporting_threshold".into(),
        threshold(before),
        threshold(after),
    );
    // A certificate is long: approvers see a digest of it (the same PEM, the same digest).
    let ca = |p: &NetworkParams| {
        p.tls_ca
            .as_ref()
            .map(|c| {
                use sha2::Digest;
                format!(
                    "pem-sha256:{}",
                    hex::encode(sha2::Sha256::digest(c.as_bytes()))
                )
            })
            .unwrap_or_else(|| "-".into())
    };
    cmp("tls_ca".into(), ca(before), ca(after));
    out
}

#[cfg(test)]
mod tests;
