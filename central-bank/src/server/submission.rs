//! The state checks of one submission and its way to the sequencer: on one reader snapshot,
//! "already committed?" (its receipt), then the registry (inputs and outputs of registered,
//! unfrozen wallets) and the state rules, then the per-wallet limit, the proofs on the
//! verification pool and the sequencer. The JSON, binary and batch endpoints and offline
//! settlement all go through it; on a shared ledger a submission whose input another node
//! committed an instant ago waits for the replica to catch up before it is refused.

use dfc_core::api::{Receipt, WalletInfo};
use dfc_core::validate::{check_outputs_fresh, check_structure, resolve_inputs};
use dfc_core::{InputNote, NetworkParams, PublicKey, Transaction, TxKind};
use rusqlite::Connection;

use super::AppState;
use crate::error::{ApiErr, StoreError};
use crate::sequencer::Command;
use crate::store::{self, DbView};

/// Checks of a transaction against the registry and the ledger, on a reader connection: inputs
/// exist, are unspent and belong to registered, unfrozen wallets; outputs are fresh and go to
/// registered wallets (unfrozen ones, for an issuance). Returns the resolved inputs and the
/// wallet of the first input.
pub(super) fn precheck(
    conn: &Connection,
    tx: &Transaction,
) -> Result<(Vec<InputNote>, Option<WalletInfo>), ApiErr> {
    let view = DbView::new(conn);
    let inputs = resolve_inputs(tx, &view);
    view.finish()?;
    let inputs = inputs?;
    let mut first = None;
    for input in &inputs {
        let w = registered(conn, &input.owner)?;
        if w.frozen {
            return Err(frozen(&w, &input.owner));
        }
        first.get_or_insert(w);
    }
    let fresh = check_outputs_fresh(tx, &view);
    view.finish()?;
    fresh?;
    for o in &tx.outputs {
        let w = registered(conn, &o.owner)?;
        if tx.kind == TxKind::Issue && w.frozen {
            return Err(frozen(&w, &o.owner));
        }
    }
    Ok((inputs, first))
}

/// The state rules that need the registry and the holdings, on a snapshot before any proof: a
/// transfer's grouping of outputs into payer and payees and the stated tiers, a claim's claimant,
/// tier, period, balance and inflow (`dfc_core::validate::check_state`). The sequencer checks them
/// again against the state it commits on.
fn check_rules(conn: &Connection, params: &NetworkParams, tx: &Transaction) -> Result<(), ApiErr> {
    let view = DbView::new(conn);
    let period = params.turnover_period(crate::datadir::now_ms());
    let r = dfc_core::validate::check_state(tx, params, &view, period);
    view.finish()?;
    r?;
    Ok(())
}

fn registered(conn: &Connection, key: &PublicKey) -> Result<WalletInfo, ApiErr> {
    store::wallet_of_owner(conn, key)?.ok_or_else(|| {
        ApiErr::forbidden(
            "unknown_wallet",
            format!(
                "wallet {} is not registered with the node",
                hex::encode(key.to_bytes())
            ),
        )
    })
}

fn frozen(w: &WalletInfo, key: &PublicKey) -> ApiErr {
    crate::controls::frozen(w, key, "spend or receive issuance")
}

/// The submission pipeline of a transfer or claim (also used by offline settlement): structure, then one
/// snapshot for "already committed" and the registry and state checks, then the proofs on the
/// verification pool, then the sequencer.
pub(crate) async fn submit_transfer(s: &AppState, tx: Transaction) -> Result<Receipt, ApiErr> {
    let params = s.params();
    check_structure(&tx, &params)?;
    let txid = tx.id();
    let mut seen = seen_on_replica(s, &tx).await;
    // On a shared ledger the input may have been committed through another node an instant
    // ago: wait until this replica holds everything committed before now, then look again.
    if matches!(&seen, Err(e) if e.code == "unknown_input")
        && s.inner.shared.replica.enabled()
        && s.inner.shared.replica.caught_up(REPLICA_WAIT).await
    {
        seen = seen_on_replica(s, &tx).await;
    }
    after_state_checks(s, tx, txid, seen?).await
}

/// The state checks of a transaction that passed [`check_structure`], on one snapshot: either
/// the transaction is committed (a retry or a concurrent duplicate: its receipt) or none of its
/// inputs is spent by it, and the registry and state rules hold (`precheck`, `check_rules`).
pub(crate) fn seen(
    snap: &Connection,
    params: &NetworkParams,
    tx: &Transaction,
    txid: &dfc_core::TxId,
) -> Result<Seen, ApiErr> {
    if let Some(r) = store::receipt(snap, txid)? {
        return Ok(Seen::Committed(r));
    }
    let (inputs, payer) = precheck(snap, tx)?;
    check_rules(snap, params, tx)?;
    Ok(Seen::Fresh(inputs, payer.map(|w| w.address.spend)))
}

/// The rest of the pipeline after [`seen`]: the per-wallet limit, the verification pool, the
/// sequencer (or the receipt of a transaction already committed).
pub(crate) async fn after_state_checks(
    s: &AppState,
    tx: Transaction,
    txid: dfc_core::TxId,
    seen: Seen,
) -> Result<Receipt, ApiErr> {
    let inputs = match seen {
        Seen::Fresh(inputs, payer) => {
            s.charge_wallet(&tx, &txid, &inputs, payer)?;
            inputs
        }
        Seen::Committed(receipt) => return Ok(receipt),
    };
    s.verify(tx.clone(), inputs).await?;
    s.send(|reply| Command::Submit { tx, reply }).await
}

/// Longest wait of a submission for the replica of a shared ledger to catch up.
const REPLICA_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

/// The replica's view of a submission ([`seen`] on one snapshot): committed, or its inputs and
/// payer.
async fn seen_on_replica(s: &AppState, tx: &Transaction) -> Result<Seen, ApiErr> {
    let txid = tx.id();
    let probe = tx.clone();
    let params = s.params().clone();
    s.read(move |c| {
        let snap = c.unchecked_transaction().map_err(StoreError::from)?;
        seen(&snap, &params, &probe, &txid)
    })
    .await
}

/// What the state checks of a submission found.
pub(crate) enum Seen {
    /// Already committed: its receipt.
    Committed(Receipt),
    /// Not committed: the resolved inputs and the wallet of the first input.
    Fresh(Vec<InputNote>, Option<PublicKey>),
}
