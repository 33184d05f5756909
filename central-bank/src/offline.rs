//! Offline payments on the node: purse certificates, checkpoint proofs, settlement of payment
//! packets and double-spend evidence.
//!
//! Settlement runs a packet's transaction through the ordinary submission pipeline
//! ([`crate::server::submit_transfer`]) after the packet checks that need no ledger
//! ([`dfc_core::offline::verify_settlement`]: encoding, network, the certificate's validity window
//! judged by the checkpoint's date, the certificate's, checkpoint's and counter's signatures and
//! the inclusion proofs) and those that do (the certificate is the one the node issued, inputs are
//! notes of the certified purse). A packet refused by them yields no evidence: its checkpoint and
//! proofs are not signed by the payer, so anyone holding the packet could have altered them. The
//! registry rule (a frozen wallet's purse cannot spend) is applied by the pipeline and again by
//! the sequencer at commit ([`crate::controls`]). A packet whose input was already spent by another transaction of the same
//! purse key is a double spend: the node stores [`DoubleSpendEvidence`] (verified before it is
//! believed), flags the certificate's wallet and answers 409 `double_spend` naming the evidence.
//! Settling a committed packet again returns its receipt.

use std::collections::HashMap;

use axum::extract::{Query, State};
use axum::Json;
use dfc_core::api::{ApiError, Receipt};
use dfc_core::offline::{DoubleSpendEvidence, PaymentPacket, PurseCertificate};
use dfc_core::offline_api::{
    evidence_id, EvidenceRecord, ProofsRequest, ProofsResponse, PurseRequest, SettleRequest,
    MAX_PROOF_NOTES,
};
use dfc_core::{Hash32, LedgerView, NoteId, PublicKey};
use rusqlite::Connection;

use crate::datadir::now_ms;
use crate::error::{ApiErr, StoreError};
use crate::sequencer::{Command, MAX_CLOCK_SKEW_MS};
use crate::server::{
    parse_hash, parse_key_lookup, submit_transfer, ApiJson, AppState, MAX_EVIDENCE_PER_PAGE,
};
use crate::store::{self, DbView};

#[utoipa::path(post, path = "/v1/checkpoint/proofs", operation_id = "checkpoint_proofs", tag = "offline",
    request_body = ProofsRequest,
    responses((status = 200, description = "A signed checkpoint and one proof per note, in request order", body = ProofsResponse),
              (status = 400, description = "`malformed_json`, `no_notes`, `too_many_notes`", body = ApiError),
              (status = 404, description = "`unknown_note`", body = ApiError),
              (status = 409, description = "`note_spent`", body = ApiError)))]
pub(crate) async fn checkpoint_proofs(
    State(s): State<AppState>,
    ApiJson(req): ApiJson<ProofsRequest>,
) -> Result<Json<ProofsResponse>, ApiErr> {
    if req.notes.is_empty() {
        return Err(ApiErr::bad_request("no_notes", "ask for at least one note"));
    }
    if req.notes.len() > MAX_PROOF_NOTES {
        return Err(ApiErr::bad_request(
            "too_many_notes",
            format!(
                "{} notes asked, over the limit of {MAX_PROOF_NOTES} per request",
                req.notes.len()
            ),
        ));
    }
    let (checkpoint, tree) = s.checkpoint_tree().await?;
    let mut proofs = Vec::with_capacity(req.notes.len());
    for id in &req.notes {
        match tree.proof(id) {
            Some(p) => proofs.push(p),
            None => {
                let id = *id;
                let st = s.read(move |c| Ok(store::note_status(c, &id)?)).await?;
                return Err(if st.spent {
                    ApiErr::conflict(
                        "note_spent",
                        format!(
                            "note {id} was spent at height {}",
                            st.spent_height.unwrap_or(0)
                        ),
                    )
                } else {
                    ApiErr::not_found(
                        "unknown_note",
                        format!(
                            "note {id} is not an unspent note at checkpoint height {}",
                            checkpoint.height
                        ),
                    )
                });
            }
        }
    }
    Ok(Json(ProofsResponse { checkpoint, proofs }))
}

#[utoipa::path(post, path = "/v1/purses", operation_id = "certify_purse", tag = "offline",
    request_body(content = PurseRequest, description = "Signed by the wallet's spend key"),
    responses((status = 200, description = "The purse certificate", body = PurseCertificate),
              (status = 400, description = "`malformed_json`, `bad_signature`, `clock_skew`, `bad_ttl`", body = ApiError),
              (status = 403, description = "`unknown_wallet`, `frozen_wallet`, `offline_not_allowed`", body = ApiError),
              (status = 409, description = "`purse_taken`, `purse_key`", body = ApiError)))]
pub(crate) async fn purse(
    State(s): State<AppState>,
    ApiJson(req): ApiJson<PurseRequest>,
) -> Result<Json<PurseCertificate>, ApiErr> {
    let network = s.params().network_id;
    if !req.verify(network) {
        return Err(ApiErr::bad_request(
            "bad_signature",
            "the purse request is not signed by the wallet's spend key",
        ));
    }
    let now = now_ms();
    if now.abs_diff(req.time_ms) > MAX_CLOCK_SKEW_MS {
        return Err(ApiErr::bad_request(
            "clock_skew",
            format!(
                "request time is {} ms from the node clock, more than {MAX_CLOCK_SKEW_MS} ms",
                now.abs_diff(req.time_ms)
            ),
        ));
    }
    let max_ttl = s.options().purse_ttl_ms;
    let ttl_ms = req.ttl_ms.unwrap_or(max_ttl).min(max_ttl);
    if ttl_ms == 0 {
        return Err(ApiErr::bad_request(
            "bad_ttl",
            "a purse certificate must be valid for at least 1 ms",
        ));
    }
    let (wallet, purse) = (req.wallet, req.purse);
    Ok(Json(
        s.send(|reply| Command::IssuePurse {
            wallet,
            purse,
            ttl_ms,
            reply,
        })
        .await?,
    ))
}

/// What the ledger says about a packet before it is submitted.
enum Standing {
    /// Already committed: its receipt.
    Committed(Receipt),
    /// An input was spent by another transaction of the purse.
    DoubleSpend(Box<DoubleSpendEvidence>),
    /// Nothing known against it.
    Fresh,
}

/// Checks, on one snapshot, whether the packet is committed, that its inputs are notes of the
/// certified purse, and whether one of them was spent by another transaction (a double spend).
fn standing(conn: &Connection, packet: &PaymentPacket) -> Result<Standing, ApiErr> {
    let snap = conn.unchecked_transaction().map_err(StoreError::from)?;
    let txid = packet.tx.id();
    if let Some(r) = store::receipt(&snap, &txid)? {
        return Ok(Standing::Committed(r));
    }
    let cert = &packet.cert;
    match store::purse_cert(&snap, cert.serial)? {
        Some(stored) if stored == *cert => {}
        _ => {
            return Err(ApiErr::not_found(
                "unknown_purse",
                format!("the node issued no purse certificate {}", cert.serial),
            ))
        }
    }
    let view = DbView::new(&snap);
    let notes: Vec<(usize, NoteId, Option<dfc_core::LedgerNote>)> = packet
        .tx
        .inputs
        .iter()
        .enumerate()
        .map(|(i, id)| (i, *id, view.note(id)))
        .collect();
    view.finish()?;
    for (index, id, note) in notes {
        // An unknown input is left to the pipeline, which names it.
        let Some(note) = note else { continue };
        if note.owner != cert.purse {
            return Err(ApiErr::bad_request(
                "not_purse_note",
                format!("input {index} (note {id}) is not a note of the certified purse"),
            ));
        }
        if note.spent {
            if let Some(committed) = store::spender(&snap, &id)? {
                let evidence = DoubleSpendEvidence {
                    note: id,
                    committed,
                    conflicting: packet.tx.clone(),
                    cert: cert.clone(),
                };
                return Ok(Standing::DoubleSpend(Box::new(evidence)));
            }
        }
    }
    Ok(Standing::Fresh)
}

/// Verifies and stores evidence; returns the 409 naming it, or `None` if the evidence does not
/// stand (then the caller's own error applies).
async fn convict(s: &AppState, evidence: DoubleSpendEvidence) -> Result<Option<ApiErr>, ApiErr> {
    if let Err(e) = evidence.verify(&s.params().node_key) {
        tracing::warn!(error = %e, "a conflicting spend that is not evidence of a double spend");
        return Ok(None);
    }
    let committed_txid = evidence.committed.id();
    let conflicting_txid = evidence.conflicting.id();
    let id = evidence_id(&evidence.note, &committed_txid, &conflicting_txid);
    let record = EvidenceRecord {
        id,
        wallet: evidence.cert.wallet,
        purse: evidence.cert.purse,
        serial: evidence.cert.serial,
        note: evidence.note,
        committed_txid,
        conflicting_txid,
        recorded_ms: now_ms(),
        evidence,
    };
    let (wallet, serial, note) = (record.wallet, record.serial, record.note);
    s.send(|reply| Command::Evidence {
        record: Box::new(record),
        reply,
    })
    .await?;
    Ok(Some(ApiErr::conflict(
        "double_spend",
        format!(
            "note {note} of purse certificate {serial} was already spent by {committed_txid}: \
             double spend by wallet {}, evidence {id}",
            hex::encode(wallet.to_bytes())
        ),
    )))
}

#[utoipa::path(post, path = "/v1/offline/settle", operation_id = "settle_packet", tag = "offline",
    request_body = SettleRequest,
    responses((status = 200, description = "Durable receipt (the same one on a repeat)", body = Receipt,
                  links(("status" = (operation_id = "get_transaction", parameters(("txid" = "$response.body#/txid")), description = "The settled transaction's status")))),
              (status = 400, description = "`malformed_packet`, `wrong_network`, `kind_not_allowed`, `proof_count`, `certificate_expired`, `bad_certificate`, `bad_checkpoint`, `bad_counter_signature`, `bad_inclusion_proof`, `not_purse_note` or a transaction rule", body = ApiError),
              (status = 403, description = "`frozen_wallet`: the paying wallet is frozen (the packet settles once it is unfrozen)", body = ApiError),
              (status = 404, description = "`unknown_purse`, `unknown_input`", body = ApiError),
              (status = 409, description = "`double_spend`, `input_spent`", body = ApiError)))]
pub(crate) async fn settle(
    State(s): State<AppState>,
    ApiJson(req): ApiJson<SettleRequest>,
) -> Result<Json<Receipt>, ApiErr> {
    let packet = PaymentPacket::from_text(&req.packet)
        .map_err(|e| ApiErr::bad_request("malformed_packet", e.to_string()))?;
    // The same checks the payee ran offline (core's code), except its own policy: networks,
    // kind, proofs per input, the certificate's validity window, the certificate's, checkpoint's
    // and counter's signatures, and every inclusion proof under the checkpoint root.
    dfc_core::offline::verify_settlement(&packet, &s.params())
        .map_err(crate::controls::settlement_refusal)?;
    let probe = packet.clone();
    match s.read(move |c| standing(c, &probe)).await? {
        Standing::Committed(r) => return Ok(Json(r)),
        Standing::DoubleSpend(ev) => {
            if let Some(e) = convict(&s, *ev).await? {
                return Err(e);
            }
        }
        Standing::Fresh => {}
    }
    match submit_transfer(&s, packet.tx.clone()).await {
        Ok(r) => Ok(Json(r)),
        // Lost a race with the other spend: look again, now that it is committed.
        Err(e) if e.code == "input_spent" => {
            let probe = packet.clone();
            match s.read(move |c| standing(c, &probe)).await? {
                Standing::Committed(r) => Ok(Json(r)),
                Standing::DoubleSpend(ev) => Err(convict(&s, *ev).await?.unwrap_or(e)),
                Standing::Fresh => Err(e),
            }
        }
        Err(e) => Err(e),
    }
}

#[utoipa::path(get, path = "/v1/evidence", operation_id = "list_evidence", tag = "offline",
    params(("wallet" = Option<PublicKey>, Query, description = "Only evidence against this wallet (spend key)"),
           ("txid" = Option<Hash32>, Query, description = "Only evidence whose refused transaction has this id")),
    responses((status = 200, description = "Double-spend evidence, newest first, at most 1000", body = Vec<EvidenceRecord>),
              (status = 400, description = "`malformed_id`", body = ApiError),
              (status = 401, description = "`read_auth_required`, `bad_read_credential`, `bad_read_signature`, `stale_read_credential`, `replayed_read_credential`: no or bad read credential (`x-dfc-read`)", body = ApiError),
              (status = 403, description = "`read_forbidden`: the key may not read this", body = ApiError)))]
pub(crate) async fn evidence(
    State(s): State<AppState>,
    reader: crate::reads::Reader,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Json<Vec<EvidenceRecord>>, ApiErr> {
    let wallet = match q.get("wallet").map(|w| parse_key_lookup(w)).transpose()? {
        // Hex that is no valid key names no wallet: nothing matches.
        Some(None) => return Ok(Json(Vec::new())),
        Some(Some(key)) => Some(key),
        None => None,
    };
    let txid = q
        .get("txid")
        .map(|t| parse_hash(t, "transaction id"))
        .transpose()?;
    // A wallet may ask why its own refused transaction was refused: knowing the txid is the
    // reason (only the parties to a packet know it). Anything wider is for operators and auditors.
    if wallet.is_some() || txid.is_none() {
        reader.require_privileged("the evidence listing")?;
    }
    Ok(Json(
        s.read(move |c| {
            Ok(store::evidence(
                c,
                wallet.as_ref(),
                txid.as_ref(),
                MAX_EVIDENCE_PER_PAGE,
            )?)
        })
        .await?,
    ))
}
