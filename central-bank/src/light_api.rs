//! `/v1/light/*`: what a light wallet downloads. Each answer concerns one wallet key (with its
//! certified purse keys), is readable only by that key's holder (or an operator or auditor), and
//! is signed by the node over (key, height range, complete list of transactions); every
//! transaction comes with its inclusion proof against its block header (see
//! [`dfc_core::light`]).

use std::collections::HashMap;

use axum::extract::{Query, State};
use axum::Json;
use dfc_core::api::ApiError;
use dfc_core::block::tx_proof;
use dfc_core::light::{
    LightBody, LightSync, OwnNoteStatus, OwnNotes, ProvenTx, SignedHeader, MAX_LIGHT_HEADERS,
    MAX_LIGHT_TXS,
};
use dfc_core::{Hash32, PublicKey};

use crate::error::{ApiErr, StoreError};
use crate::reads::Reader;
use crate::server::{parse_key_lookup, query_u64, AppState, MAX_LIST};
use crate::{light, store};

fn key_param(q: &HashMap<String, String>) -> Result<PublicKey, ApiErr> {
    let text = q.get("key").ok_or_else(|| {
        ApiErr::bad_request(
            "bad_query",
            "query parameter key (hex spend key) is required",
        )
    })?;
    parse_key_lookup(text)?.ok_or_else(|| {
        ApiErr::bad_request(
            "malformed_id",
            format!("key '{text}' is not a valid public key"),
        )
    })
}

#[utoipa::path(get, path = "/v1/light/sync", operation_id = "light_sync", tag = "light",
    params(("key" = String, Query, description = "hex wallet spend key"), ("from" = Option<u64>, Query, description = "first height (default 0)")),
    responses((status = 200, description = "The signed header at `to`, the headers of the key's blocks with a history proof against it, and the key's transactions with inclusion proofs, node-signed over the complete list", body = LightSync),
              (status = 400, description = "`malformed_id`, `bad_query`: a malformed key or height", body = ApiError),
              (status = 401, description = "`read_auth_required`, `bad_read_credential`, `bad_read_signature`, `stale_read_credential`, `replayed_read_credential`: no or bad read credential (`x-dfc-read`)", body = ApiError),
              (status = 403, description = "`read_forbidden`: another wallet's key", body = ApiError)))]
pub(crate) async fn sync(
    State(s): State<AppState>,
    reader: Reader,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Json<LightSync>, ApiErr> {
    let key = key_param(&q)?;
    reader.require_self_or_privileged(&key, "light sync")?;
    let from = query_u64(&q, "from", 0)?;
    let tip_height = s.tip_height();
    let network = s.params().network_id;
    let history = s.rules().history();
    let empty = LightBody {
        key,
        from,
        tip_height,
        anchor: None,
        headers: Vec::new(),
        checkpoint: None,
        history_proof: Default::default(),
        txs: Vec::new(),
    };
    let body = if from > tip_height {
        empty
    } else {
        s.read(move |c| {
            // One read transaction: headers, index and history of the same state.
            let t = c.unchecked_transaction().map_err(StoreError::from)?;
            let owners = light::owner_keys(&t, &key)?;
            let mut pos = light::positions(&t, &owners, from, tip_height, MAX_LIGHT_TXS + 1)?;
            let mut to = tip_height;
            if pos.len() > MAX_LIGHT_TXS {
                // Too many for one answer: end before the block of the first one left out, or,
                // if a single block holds them all, after that block.
                let cut = pos[MAX_LIGHT_TXS].0;
                to = if cut > from { cut - 1 } else { from };
                pos = light::positions(&t, &owners, from, to, usize::MAX)?;
            }
            let signed = |h: u64| -> Result<SignedHeader, ApiErr> {
                let stored = store::header_at(&t, h)?
                    .ok_or_else(|| ApiErr::internal(format!("no stored header at {h}")))?;
                Ok(SignedHeader {
                    header: stored.header,
                    signature: stored.signature,
                })
            };
            let anchor = signed(to)?;
            let mut heights: Vec<u64> = pos.iter().map(|p| p.0).filter(|&h| h < to).collect();
            heights.dedup();
            let headers = heights
                .iter()
                .map(|&h| signed(h))
                .collect::<Result<Vec<_>, _>>()?;
            // The newest co-signed checkpoint at or below the anchor.
            let checkpoint = match crate::cosign::store::latest_anchored(&t, &history)? {
                Some(r) if r.height <= to => {
                    crate::cosign::store::at(&t, history.at(r.height), r.height, &r.block_hash)?
                }
                _ => None,
            };
            let mut txs = Vec::with_capacity(pos.len());
            let mut block: Option<(u64, Vec<dfc_core::Transaction>)> = None;
            for (height, index) in pos {
                if block.as_ref().map(|b| b.0) != Some(height) {
                    block = Some((height, store::block_txs(&t, height)?));
                }
                let Some((_, block_txs)) = &block else {
                    continue;
                };
                let (Some(tx), Some(proof)) = (block_txs.get(index), tx_proof(block_txs, index))
                else {
                    return Err(ApiErr::internal(format!(
                        "light index names transaction {index} of block {height}, which has {}",
                        block_txs.len()
                    )));
                };
                txs.push(ProvenTx {
                    height,
                    tx: tx.clone(),
                    proof,
                });
            }
            let mut body = LightBody {
                key,
                from,
                tip_height,
                anchor: Some(anchor),
                headers,
                checkpoint,
                history_proof: Default::default(),
                txs,
            };
            body.history_proof = crate::history::prove(&t, to, &body.proven_heights())?;
            Ok(body)
        })
        .await?
    };
    // Signed by the node key in force at the answer's tip (keys rotate by governance).
    Ok(Json(LightSync::seal(
        network,
        body,
        &s.signer_at(tip_height),
    )))
}

#[utoipa::path(get, path = "/v1/light/notes", operation_id = "light_notes", tag = "light",
    params(("key" = String, Query, description = "hex wallet spend key")),
    responses((status = 200, description = "The key's notes (and its purses'), unspent first", body = OwnNotes),
              (status = 400, description = "`malformed_id`: a malformed key", body = ApiError),
              (status = 401, description = "`read_auth_required`, `bad_read_credential`, `bad_read_signature`, `stale_read_credential`, `replayed_read_credential`: no or bad read credential (`x-dfc-read`)", body = ApiError),
              (status = 403, description = "`read_forbidden`: another wallet's key", body = ApiError)))]
pub(crate) async fn notes(
    State(s): State<AppState>,
    reader: Reader,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Json<OwnNotes>, ApiErr> {
    let key = key_param(&q)?;
    reader.require_self_or_privileged(&key, "note status")?;
    let tip_height = s.tip_height();
    let rows = s
        .read(move |c| {
            let owners = light::owner_keys(c, &key)?;
            Ok(light::own_notes(c, &owners, MAX_LIST)?)
        })
        .await?;
    let mut notes = Vec::with_capacity(rows.len());
    for (id, owner, created_height, spent_height, pending) in rows {
        notes.push(OwnNoteStatus {
            id: Hash32(id),
            owner: PublicKey::from_bytes(&owner).map_err(ApiErr::internal)?,
            created_height,
            spent_height,
            pending,
        });
    }
    Ok(Json(OwnNotes {
        key,
        tip_height,
        notes,
    }))
}

/// Body of `GET /v1/light/headers` (a wire type of `dfc-core`).
pub use dfc_core::light::Headers;

#[utoipa::path(get, path = "/v1/light/headers", operation_id = "light_headers", tag = "light",
    params(("from" = Option<u64>, Query, description = "first height (default 0)"), ("limit" = Option<u64>, Query, description = "most headers to return (default and at most 2000)")),
    responses((status = 200, description = "Signed block headers (no transactions)", body = Headers),
              (status = 400, description = "`bad_query`: a parameter is not a whole number", body = ApiError)))]
pub(crate) async fn headers(
    State(s): State<AppState>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Json<Headers>, ApiErr> {
    let from = query_u64(&q, "from", 0)?;
    let limit = usize::try_from(query_u64(&q, "limit", MAX_LIGHT_HEADERS as u64)?)
        .unwrap_or(MAX_LIGHT_HEADERS)
        .min(MAX_LIGHT_HEADERS);
    let tip_height = s.tip_height();
    if from > tip_height {
        return Ok(Json(Headers {
            headers: Vec::new(),
            tip_height,
        }));
    }
    let headers = s
        .read(move |c| {
            Ok(store::headers_from(c, from, limit)?
                .into_iter()
                .map(|(_, h)| SignedHeader {
                    header: h.header,
                    signature: h.signature,
                })
                .collect())
        })
        .await?;
    Ok(Json(Headers {
        headers,
        tip_height,
    }))
}
