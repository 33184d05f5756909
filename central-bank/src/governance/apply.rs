//! Applying governance requests in the sequencer, in the same SQLite transaction as the request's
//! nonce, sequence number and audit-log entry.
//!
//! Every check is made again here against the newest rules (the HTTP handler checked against the
//! rules it saw, which a change scheduled meanwhile may have replaced): the change must follow
//! the history, take effect above the tip, and each approval must be the approving operator's
//! own signature by a key of the rules the change replaces.

use dfc_core::api::OperatorAction;
use dfc_core::governance::{verify_approvals, ApprovedChange, GovernanceError, ParamsChange};
use dfc_core::{Hash32, IssuerSignature, NetworkParams};
use rusqlite::Connection;

use super::store::{self, Stored};
use super::Rules;
use crate::error::{ApiErr, StoreError};

/// What a governance request did.
pub struct Applied {
    /// Message for the operator.
    pub message: String,
    /// Audit-log action name.
    pub action: &'static str,
    /// Audit-log detail (JSON).
    pub detail: String,
    /// The change that now has k approvals: add it to the rules once the transaction commits.
    pub scheduled: Option<ApprovedChange>,
}

/// Where a governance request is applied.
pub struct Context<'a> {
    /// The node keys this node holds: a change of node key must name one of them.
    pub node_keys: &'a crate::node_keys::NodeKeys,
    /// The rules now.
    pub rules: &'a Rules,
    /// Height of the tip: a change takes effect above it.
    pub tip_height: u64,
    /// Lifetime of a new proposal, ms.
    pub ttl_ms: u64,
    /// Node time.
    pub now_ms: u64,
}

fn refuse(e: GovernanceError) -> ApiErr {
    match e {
        GovernanceError::StaleBase { .. } => ApiErr::conflict(e.code(), e.to_string()),
        _ => ApiErr::bad_request(e.code(), e.to_string()),
    }
}

/// Checks what makes a change acceptable now (not its approvals).
fn check_change(cx: &Context<'_>, change: &ParamsChange) -> Result<(), ApiErr> {
    let history = cx.rules.history();
    history.check_next(change).map_err(refuse)?;
    if change.effective_height <= cx.tip_height {
        return Err(ApiErr::bad_request(
            "bad_effective_height",
            format!(
                "effective height {} is not above the tip height {}",
                change.effective_height, cx.tip_height
            ),
        ));
    }
    // A node-key rotation must name a key this node holds, or no block could be sealed from the
    // change's height on.
    let new_key = &change.params.node_key;
    if *new_key != history.latest().node_key && cx.node_keys.for_public(new_key).is_none() {
        return Err(ApiErr::bad_request(
            "node_key_unavailable",
            format!(
                "this node holds no key {}: create it with `dfc-bank node-key new --data DIR` \
                 and restart the node before proposing the rotation",
                hex::encode(new_key.to_bytes())
            ),
        ));
    }
    Ok(())
}

/// Checks that `approval` is operator `op`'s own signature over `digest` by its key in `base`.
pub fn check_approval(
    base: &NetworkParams,
    op: u8,
    digest: &Hash32,
    approval: &IssuerSignature,
) -> Result<(), ApiErr> {
    if approval.index != op {
        return Err(ApiErr::bad_request(
            "approval_mismatch",
            format!(
                "operator {op} can only approve with its own key, not key {}",
                approval.index
            ),
        ));
    }
    let key = base.issuers.get(usize::from(op)).ok_or_else(|| {
        ApiErr::forbidden(
            "unknown_operator",
            format!("operator {op} is not an operator of the rules this change replaces"),
        )
    })?;
    if !key.verify(&digest.0, &approval.signature) {
        return Err(ApiErr::bad_request(
            "bad_approval",
            format!("the approval is not operator {op}'s signature over change {digest}"),
        ));
    }
    Ok(())
}

/// Applies a `ProposeChange` or `ApproveChange` by operator `op`.
pub fn apply(
    db: &Connection,
    cx: &Context<'_>,
    op: u8,
    action: &OperatorAction,
) -> Result<Result<Applied, ApiErr>, StoreError> {
    let latest = cx.rules.history().latest().clone();
    let (mut stored, counted, action_name) = match action {
        OperatorAction::ProposeChange { change, approval } => {
            if let Err(e) = check_change(cx, change) {
                return Ok(Err(e));
            }
            let digest = change.digest();
            if let Err(e) = check_approval(&latest, op, &digest, approval) {
                return Ok(Err(e));
            }
            if store::get(db, &digest)?.is_some() {
                return Ok(Err(ApiErr::conflict(
                    "change_exists",
                    format!("change {digest} is already proposed: approve it instead"),
                )));
            }
            let s = Stored {
                id: 0,
                change: change.clone(),
                approvals: vec![*approval],
                proposed_by: op,
                created_ms: cx.now_ms,
                expires_ms: cx.now_ms.saturating_add(cx.ttl_ms),
                state: "pending".into(),
            };
            store::insert(db, &s)?;
            let Some(s) = store::get(db, &digest)? else {
                return Err(StoreError::corrupt(
                    "param_changes",
                    "inserted row not found",
                ));
            };
            (s, true, "propose_change")
        }
        OperatorAction::ApproveChange { digest, approval } => {
            let Some(mut s) = store::get(db, digest)? else {
                return Ok(Err(ApiErr::not_found(
                    "unknown_change",
                    format!("no parameter change {digest}"),
                )));
            };
            if s.state != "pending" {
                return Ok(Err(ApiErr::conflict(
                    "change_not_pending",
                    format!("change {digest} is {}", s.state),
                )));
            }
            if cx.now_ms > s.expires_ms {
                return Ok(Err(ApiErr::conflict(
                    "change_expired",
                    format!(
                        "change {digest} expired at {} and can no longer be approved; propose it again",
                        dfc_core::time::utc_text(s.expires_ms)
                    ),
                )));
            }
            if let Err(e) = check_change(cx, &s.change) {
                return Ok(Err(e));
            }
            if let Err(e) = check_approval(&latest, op, digest, approval) {
                return Ok(Err(e));
            }
            let counted = !s.approvals.iter().any(|a| a.index == op);
            if counted {
                s.approvals.push(*approval);
            }
            (s, counted, "approve_change")
        }
        _ => {
            return Ok(Err(ApiErr::internal(
                "a non-governance request reached governance::apply",
            )))
        }
    };
    let digest = stored.change.digest();
    let mut scheduled = None;
    if stored.approvals.len() >= latest.threshold {
        if let Err(e) = verify_approvals(&latest, &digest, &stored.approvals) {
            return Ok(Err(refuse(e)));
        }
        stored.state = "scheduled".into();
        scheduled = Some(ApprovedChange {
            change: stored.change.clone(),
            approvals: stored.approvals.clone(),
        });
    }
    store::update(db, &stored)?;
    let approvers: Vec<u8> = stored.approvals.iter().map(|a| a.index).collect();
    let diff = dfc_core::governance::diff(&latest, &stored.change.params);
    let detail = serde_json::json!({
        "digest": digest,
        "effective_height": stored.change.effective_height,
        "base_hash": stored.change.base_hash,
        "params_hash": stored.change.params.hash(),
        "approvals": approvers,
        "threshold": latest.threshold,
        "counted": counted,
        "state": stored.state,
        "diff": diff,
    })
    .to_string();
    let mut message = if scheduled.is_some() {
        format!(
            "change {digest} approved by {} of {} operators: in force from height {}",
            approvers.len(),
            latest.issuers.len(),
            stored.change.effective_height
        )
    } else {
        format!(
            "change {digest} has {} of {} approvals needed",
            approvers.len(),
            latest.threshold
        )
    };
    if !counted {
        message = format!("already approved by operator {op}; {message}");
    }
    Ok(Ok(Applied {
        message,
        action: action_name,
        detail,
        scheduled,
    }))
}
