//! Cheaper ways in for transfers and claims, beside the JSON `POST /v1/transactions`:
//!
//! - **binary bodies**: `Content-Type: application/octet-stream` with the canonical transaction
//!   bytes ([`dfc_core::Transaction::encode`]) instead of JSON with hex: no JSON parse, no hex
//!   decode, half the bytes;
//! - **batches**: `POST /v1/transactions/batch`, up to
//!   [`MAX_BATCH_SUBMIT`](dfc_core::api::batch::MAX_BATCH_SUBMIT) transactions in one request
//!   (binary framing or JSON, `dfc_core::api::batch`), one outcome each in order. Each goes through
//!   the checks of a single submission ([`crate::server::submit_transfer`]: kind and structure,
//!   already committed, registry and state rules, per-wallet limit, verification pool, sequencer)
//!   and they run concurrently, so they share verification batches and blocks; a refused one does
//!   not affect the others. The state checks of the whole batch run in one read transaction on
//!   one reader connection (one snapshot, one hop to the blocking pool) instead of one each: the
//!   same checks against the same kind of snapshot, and the sequencer checks every transaction
//!   again against the state it commits on.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{FromRequest, Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::Json;
use dfc_core::api::batch::{split_batch, BatchOutcome, SubmitBatchRequest, SubmitBatchResponse};
use dfc_core::api::SubmitRequest;
use dfc_core::{Transaction, TxError, TxKind};

use crate::error::{ApiErr, StoreError};
use crate::server::{after_state_checks, seen, submit_transfer, ApiJson, AppState, Seen};

/// Media type of canonical binary bodies.
pub const OCTET_STREAM: &str = "application/octet-stream";

fn is_binary(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with(OCTET_STREAM))
}

async fn body_bytes(req: Request) -> Result<Bytes, ApiErr> {
    Bytes::from_request(req, &()).await.map_err(|e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiErr::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "body_too_large",
                e.body_text(),
            )
        } else {
            ApiErr::bad_request("malformed_body", e.body_text())
        }
    })
}

fn decode(bytes: &[u8]) -> Result<Transaction, ApiErr> {
    Transaction::decode(bytes).map_err(|e| ApiErr::from(TxError::Decode(e)))
}

/// The transaction of a `POST /v1/transactions` body: canonical bytes
/// (`application/octet-stream`) or [`SubmitRequest`] JSON.
pub struct TxBody(pub Transaction);

impl<S: Send + Sync> FromRequest<S> for TxBody {
    type Rejection = ApiErr;
    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        if is_binary(req.headers()) {
            let bytes = body_bytes(req).await?;
            return Ok(TxBody(decode(&bytes)?));
        }
        let ApiJson(SubmitRequest { tx }) = ApiJson::from_request(req, state).await?;
        Ok(TxBody(tx))
    }
}

/// Refuses kinds that go through operator proposals.
pub(crate) fn check_kind(tx: &Transaction) -> Result<(), ApiErr> {
    if matches!(tx.kind, TxKind::Transfer | TxKind::Claim) {
        return Ok(());
    }
    Err(ApiErr::bad_request(
        "kind_not_allowed",
        format!(
            "{} transactions go through operator proposals, not /v1/transactions",
            tx.kind.name()
        ),
    ))
}

fn outcome(r: Result<dfc_core::api::Receipt, ApiErr>) -> BatchOutcome {
    match r {
        Ok(receipt) => BatchOutcome::Receipt(receipt),
        Err(e) => BatchOutcome::Error {
            status: e.status.as_u16(),
            error: e.body(),
        },
    }
}

/// `POST /v1/transactions/batch`: many transfers or claims, one outcome each, in order. The
/// request fails as a whole only when its framing is bad (400 `malformed_batch`); a transaction
/// that does not decode or is refused gets its own error outcome.
#[utoipa::path(post, path = "/v1/transactions/batch", operation_id = "submit_batch", tag = "transactions",
    request_body(content = dfc_core::api::batch::SubmitBatchRequest, description = "1 to 256 transactions as JSON; the binary framing is also accepted as application/octet-stream (docs/api.md)"),
    responses((status = 200, description = "A receipt or an error per transaction, in request order", body = dfc_core::api::batch::SubmitBatchResponse),
              (status = 400, description = "`malformed_batch` (bad framing or count), `malformed_json`, `malformed_body`", body = dfc_core::api::ApiError),
              (status = 413, description = "`body_too_large` (batches are limited to 2 MiB)", body = dfc_core::api::ApiError)))]
pub async fn submit_batch(
    State(s): State<AppState>,
    req: Request,
) -> Result<Json<SubmitBatchResponse>, ApiErr> {
    let decoded: Vec<Result<Transaction, ApiErr>> = if is_binary(req.headers()) {
        let bytes = body_bytes(req).await?;
        split_batch(&bytes)
            .map_err(|e| ApiErr::bad_request("malformed_batch", e.to_string()))?
            .into_iter()
            .map(decode)
            .collect()
    } else {
        let ApiJson(SubmitBatchRequest { txs }) = ApiJson::from_request(req, &()).await?;
        if txs.is_empty() || txs.len() > dfc_core::api::batch::MAX_BATCH_SUBMIT {
            return Err(ApiErr::bad_request(
                "malformed_batch",
                format!(
                    "a batch holds 1 to {} transactions, this one {}",
                    dfc_core::api::batch::MAX_BATCH_SUBMIT,
                    txs.len()
                ),
            ));
        }
        txs.into_iter().map(Ok).collect()
    };
    // Cheap checks first, on this task: kind and structure.
    let params = s.params();
    let checked: Vec<Result<Transaction, ApiErr>> = decoded
        .into_iter()
        .map(|tx| {
            let tx = tx?;
            check_kind(&tx)?;
            dfc_core::validate::check_structure(&tx, &params)?;
            Ok(tx)
        })
        .collect();
    let ids: Vec<Option<dfc_core::TxId>> = checked
        .iter()
        .map(|r| r.as_ref().ok().map(Transaction::id))
        .collect();
    // Then the state checks of all of them on one snapshot.
    let shared = Arc::new((checked, ids));
    let probe = shared.clone();
    let states = s
        .read(move |c| {
            let (txs, ids) = &*probe;
            let snap = c
                .unchecked_transaction()
                .map_err(|e| ApiErr::from(StoreError::from(e)));
            Ok(txs
                .iter()
                .zip(ids)
                .map(|(tx, id)| match (tx, id, &snap) {
                    (Ok(tx), Some(id), Ok(snap)) => Some(seen(snap, &params, tx, id)),
                    (Ok(_), _, Err(e)) => Some(Err(e.clone())),
                    _ => None,
                })
                .collect::<Vec<Option<Result<Seen, ApiErr>>>>())
        })
        .await;
    // The closure has run and been dropped: the batch is ours again (a copy otherwise).
    let (checked, ids) = Arc::try_unwrap(shared).unwrap_or_else(|a| (*a).clone());
    let states: Vec<Option<Result<Seen, ApiErr>>> = match states {
        Ok(states) => states,
        // No reader connection: every transaction that got this far gets the error.
        Err(e) => checked.iter().map(|_| Some(Err(e.clone()))).collect(),
    };
    let tasks: Vec<_> = checked
        .into_iter()
        .zip(ids)
        .zip(states)
        .map(|((tx, id), state)| {
            let s = s.clone();
            tokio::spawn(async move {
                let tx = tx?;
                match (id, state) {
                    // On a shared ledger the input may have been committed through another node
                    // an instant ago: the single-submission path waits for this replica to
                    // catch up and looks again.
                    (Some(_), Some(Err(e))) if e.code == "unknown_input" && s.replica_enabled() => {
                        submit_transfer(&s, tx).await
                    }
                    (Some(id), Some(state)) => after_state_checks(&s, tx, id, state?).await,
                    _ => Err(ApiErr::internal(
                        "a checked transaction without state checks",
                    )),
                }
            })
        })
        .collect();
    let mut outcomes = Vec::with_capacity(tasks.len());
    for t in tasks {
        outcomes.push(outcome(t.await.map_err(ApiErr::internal).and_then(|r| r)));
    }
    Ok(Json(SubmitBatchResponse { outcomes }))
}
