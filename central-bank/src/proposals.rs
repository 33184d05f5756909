//! What operators approve, and for how long: the disclosed outputs of every proposal, its
//! proposer, its expiry, and what the audit log records about it.
//!
//! An issuance proposal carries the opening of each output ([`dfc_core::proposal`]); the node
//! checks them against the commitments ([`check_openings`]) and keeps them in `proposal_meta`
//! with the proposer and the expiry. Every read of a proposal ([`enrich`]) then shows each
//! output's recipient (the registered wallet's label and address, and whether it is frozen now)
//! and amount, and marks a pending proposal past its expiry `expired`; [`check_approvable`]
//! refuses to approve it. Redemptions, requested by their wallet, show their outputs' recipients
//! with hidden amounts.

use dfc_core::api::Proposal;
use dfc_core::proposal::{DisclosedOpening, ProposalOutput};
use dfc_core::{Transaction, TxId, TxKind};
use rusqlite::{params, Connection, OptionalExtension};

use crate::error::{ApiErr, StoreError};
use crate::store;

/// Schema of the proposal metadata (a migration of [`crate::store::migrations`]): one row per
/// proposal made since it exists. Older proposals have none: no expiry, no disclosed amounts.
pub const SCHEMA: &str = "
CREATE TABLE proposal_meta (
    txid BLOB NOT NULL UNIQUE,
    proposed_by INTEGER,
    expires_ms INTEGER NOT NULL,
    openings TEXT NOT NULL
);
";

/// Default lifetime of a proposal: 24 hours.
pub const DEFAULT_PROPOSAL_TTL_MS: u64 = 24 * 3600 * 1000;

/// State name of a pending proposal past its expiry.
pub const EXPIRED: &str = "expired";

/// Checks the openings a proposal discloses: one per output of an issuance, each opening its
/// output's commitment, and none for a redemption (whose change amounts are its wallet's). Cheap
/// (one commitment per output): run before any proof verification.
pub fn check_openings(tx: &Transaction, openings: &[DisclosedOpening]) -> Result<(), ApiErr> {
    match tx.kind {
        TxKind::Issue => {
            if openings.len() != tx.outputs.len() {
                return Err(ApiErr::bad_request(
                    "openings_required",
                    format!(
                        "an issuance proposal discloses the opening of each output so that \
                         approvers see every amount: {} openings for {} outputs",
                        openings.len(),
                        tx.outputs.len()
                    ),
                ));
            }
            for (i, (o, d)) in tx.outputs.iter().zip(openings).enumerate() {
                if !d.matches(o) {
                    return Err(ApiErr::bad_request(
                        "bad_opening",
                        format!("the disclosed opening of output {i} does not open its commitment"),
                    ));
                }
            }
            Ok(())
        }
        _ if openings.is_empty() => Ok(()),
        _ => Err(ApiErr::bad_request(
            "openings_not_allowed",
            format!(
                "only issuance proposals disclose openings, not {}",
                tx.kind.name()
            ),
        )),
    }
}

/// Records a new proposal's proposer (`None`: its wallet), expiry and disclosed openings. Call in
/// the transaction that inserts the proposal.
pub fn record(
    conn: &Connection,
    txid: &TxId,
    proposed_by: Option<u8>,
    expires_ms: u64,
    openings: &[DisclosedOpening],
) -> Result<(), StoreError> {
    let json =
        serde_json::to_string(openings).map_err(|e| StoreError::corrupt("proposal_meta", e))?;
    let expires = i64::try_from(expires_ms)
        .map_err(|_| StoreError::corrupt("proposal_meta", "expiry does not fit SQLite"))?;
    conn.prepare_cached(
        "INSERT INTO proposal_meta (txid, proposed_by, expires_ms, openings) VALUES (?1, ?2, ?3, ?4)",
    )?
    .execute(params![&txid.0[..], proposed_by.map(i64::from), expires, json])?;
    Ok(())
}

type Meta = (Option<u8>, u64, Vec<DisclosedOpening>);

fn meta(conn: &Connection, txid: &TxId) -> Result<Option<Meta>, StoreError> {
    let row = conn
        .prepare_cached(
            "SELECT proposed_by, expires_ms, openings FROM proposal_meta WHERE txid = ?1",
        )?
        .query_row([&txid.0[..]], |r| {
            Ok((
                r.get::<_, Option<i64>>(0)?,
                r.get::<_, i64>(1)?,
                r.get::<_, String>(2)?,
            ))
        })
        .optional()?;
    let corrupt = |reason: &str| StoreError::corrupt("proposal_meta", reason);
    row.map(|(by, expires, openings)| {
        Ok((
            by.map(|b| u8::try_from(b).map_err(|_| corrupt("operator out of range")))
                .transpose()?,
            u64::try_from(expires).map_err(|_| corrupt("negative expiry"))?,
            serde_json::from_str(&openings).map_err(|e| StoreError::corrupt("proposal_meta", e))?,
        ))
    })
    .transpose()
}

/// Fills what an approver must see into a proposal read from the store: the proposer, the expiry,
/// every output's recipient from the registry and its disclosed amount; and turns a pending
/// proposal past its expiry (at `now_ms`) into `expired`.
pub fn enrich(
    conn: &Connection,
    p: &mut Proposal,
    tx: &Transaction,
    now_ms: u64,
) -> Result<(), StoreError> {
    let (proposed_by, expires_ms, openings) = meta(conn, &p.txid)?.unwrap_or((None, 0, Vec::new()));
    p.proposed_by = proposed_by;
    p.expires_ms = expires_ms;
    if p.state == "pending" && expires_ms != 0 && now_ms > expires_ms {
        p.state = EXPIRED.into();
    }
    p.outputs = Vec::with_capacity(tx.outputs.len());
    for (index, o) in tx.outputs.iter().enumerate() {
        let w = store::wallet_of_owner(conn, &o.owner)?;
        p.outputs.push(ProposalOutput {
            index,
            owner: o.owner,
            address: w.as_ref().map(|w| w.address),
            label: w.as_ref().map(|w| w.label.clone()),
            frozen: w.as_ref().is_some_and(|w| w.frozen),
            amount: openings.get(index).map(|d| d.amount),
        });
    }
    Ok(())
}

/// Refuses to approve an expired proposal (it stays in the list as `expired`; propose again).
pub fn check_approvable(p: &Proposal) -> Result<(), ApiErr> {
    if p.state == EXPIRED {
        return Err(ApiErr::conflict(
            "proposal_expired",
            format!(
                "proposal {} expired at {} and can no longer be approved; propose it again",
                p.txid,
                dfc_core::time::utc_text(p.expires_ms)
            ),
        ));
    }
    Ok(())
}

/// The audit-log detail of a proposal: what it moves and to whom, so the log records what each
/// operator proposed or approved, not only a transaction id.
pub fn audit_detail(p: &Proposal, extra: &[(&str, serde_json::Value)]) -> String {
    let outputs: Vec<serde_json::Value> = p
        .outputs
        .iter()
        .map(|o| {
            serde_json::json!({
                "owner": hex::encode(o.owner.to_bytes()),
                "address": o.address.map(|a| a.to_string()),
                "label": o.label,
                "amount_units": o.amount.map(|a| a.units()),
            })
        })
        .collect();
    let mut detail = serde_json::json!({
        "txid": p.txid,
        "kind": p.kind.name(),
        "amount_units": p.amount.units(),
        "proposed_by": p.proposed_by,
        "expires_ms": p.expires_ms,
        "outputs": outputs,
    });
    for (k, v) in extra {
        detail[*k] = v.clone();
    }
    detail.to_string()
}
