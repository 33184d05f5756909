//! HTTP of co-signed checkpoints: an operator's signature over a point of the chain comes in
//! (`POST /v1/checkpoints/signatures`), and every stored checkpoint goes out with its signatures
//! (`GET /v1/checkpoints/cosigned`), for auditors and operators to keep outside the node.

use std::collections::HashMap;

use axum::extract::{Query, State};
use axum::routing::{get, post};
use axum::{Json, Router};
use dfc_core::api::ApiError;
use dfc_core::cosign::CheckpointSignature;
pub use dfc_core::cosign::{CosignResponse, CosignedList};

use crate::error::ApiErr;
use crate::sequencer::Command;
use crate::server::{query_u64, ApiJson, AppState};
use crate::store;

/// Most checkpoints listed per page.
pub const MAX_LISTED: u32 = 500;

/// The routes, merged into [`crate::server::app`].
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/checkpoints/signatures", post(sign))
        .route("/v1/checkpoints/cosigned", get(list))
}

/// Checks a signature and has the sequencer store it. Cheap checks first: the network and the
/// height, then the block at that height, then the signature.
#[utoipa::path(post, path = "/v1/checkpoints/signatures", operation_id = "cosign_checkpoint", tag = "checkpoints",
    request_body = CheckpointSignature,
    responses((status = 200, description = "The checkpoint with every signature stored for it, whether it now holds k (`anchored`) and whether this signature was new", body = CosignResponse),
              (status = 400, description = "`wrong_network`, `unknown_block`: another network or a height above the tip; `unknown_operator`, `bad_approval`: a signature that is not an operator's over this point (in its key's algorithm, sr25519 or Ed25519)", body = ApiError),
              (status = 409, description = "`not_this_chain`: the block at that height has another hash", body = ApiError)))]
pub async fn sign(
    State(s): State<AppState>,
    ApiJson(sig): ApiJson<CheckpointSignature>,
) -> Result<Json<CosignResponse>, ApiErr> {
    let history = s.rules().history();
    sig.point
        .check_network(&history)
        .map_err(|e| ApiErr::bad_request(e.code(), e.to_string()))?;
    let tip = s.status().tip.height;
    if sig.point.height > tip {
        return Err(ApiErr::bad_request(
            "unknown_block",
            format!("height {} is above the tip {tip}", sig.point.height),
        ));
    }
    let height = sig.point.height;
    let stored = s
        .read(move |c| Ok(store::header_at(c, height)?))
        .await?
        .ok_or_else(|| ApiErr::bad_request("unknown_block", format!("no block {height}")))?;
    if stored.hash != sig.point.block_hash {
        return Err(ApiErr::conflict(
            "not_this_chain",
            format!(
                "block {height} of this ledger is {}, not {}",
                stored.hash, sig.point.block_hash
            ),
        ));
    }
    sig.verify(&history)
        .map_err(|e| ApiErr::bad_request(e.code(), e.to_string()))?;
    let (checkpoint, new) = s.send(|reply| Command::Cosign { sig, reply }).await?;
    let anchored = checkpoint.is_anchored(&history);
    Ok(Json(CosignResponse {
        checkpoint,
        anchored,
        new,
    }))
}

/// `GET /v1/checkpoints/cosigned?from=H&limit=N`.
#[utoipa::path(get, path = "/v1/checkpoints/cosigned", operation_id = "cosigned_checkpoints", tag = "checkpoints",
    params(("from" = Option<u64>, Query, description = "first height (default 0)"), ("limit" = Option<u64>, Query, description = "most checkpoints to return (default and at most 500)")),
    responses((status = 200, description = "Stored checkpoints from height `from` on, each with its operator signatures", body = CosignedList),
              (status = 400, description = "`bad_query`: a parameter is not a whole number", body = ApiError)))]
pub async fn list(
    State(s): State<AppState>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Json<CosignedList>, ApiErr> {
    let from = query_u64(&q, "from", 0)?;
    let limit = u32::try_from(query_u64(&q, "limit", u64::from(MAX_LISTED))?)
        .unwrap_or(MAX_LISTED)
        .min(MAX_LISTED);
    let params = s.params();
    let from = from.min(i64::MAX as u64);
    let checkpoints = s
        .read(move |c| Ok(super::store::list(c, &params, from, limit)?))
        .await?;
    Ok(Json(CosignedList { checkpoints }))
}
