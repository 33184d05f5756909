//! The proposal endpoints: a redemption request, an operator's request (propose, approve,
//! reject, registry actions) and the proposals waiting for approvals. An issue or redeem
//! transaction is checked here before it is stored, and again at every approval.

use super::*;

/// Stateless checks of an issue or redeem transaction waiting for approvals: everything
/// `check_structure` checks except the issuer-signature threshold.
pub(super) fn check_proposal_structure(
    tx: &Transaction,
    params: &NetworkParams,
) -> Result<(), ApiErr> {
    if !tx.kind.is_public() {
        return Err(ApiErr::bad_request(
            "kind_not_allowed",
            "only issue and redeem transactions need approval; submit transfers to /v1/transactions",
        ));
    }
    let mut relaxed = params.clone();
    relaxed.threshold = 0;
    check_structure(tx, &relaxed)?;
    Ok(())
}

/// Registry, ledger and crypto checks of a proposed transaction (issuer signatures stripped),
/// with the redemption rules: within the wallet's tier and the supply.
pub(super) async fn check_proposal(
    s: &AppState,
    tx: &Transaction,
) -> Result<Option<WalletInfo>, ApiErr> {
    let probe = tx.clone();
    let (inputs, wallet) = s.read(move |c| precheck(c, &probe)).await?;
    if tx.kind == TxKind::Redeem {
        let w = wallet
            .clone()
            .ok_or_else(|| ApiErr::bad_request("no_inputs", "a redemption spends notes"))?;
        let params = s.params();
        let tier = params.tier(w.tier).ok_or_else(|| {
            ApiErr::internal(format!("wallet has tier {} which the params lack", w.tier))
        })?;
        if tx.public_amount > tier.max_payment {
            return Err(ApiErr::forbidden(
                "over_tier_limit",
                format!(
                    "redeeming {} is over the tier {} limit of {}",
                    params.format(tx.public_amount),
                    w.tier,
                    params.format(tier.max_payment)
                ),
            ));
        }
        next_supply(tx, s.status().tip.supply)?;
    }
    s.verify(tx.clone(), inputs).await?;
    Ok(wallet)
}

#[utoipa::path(post, path = "/v1/redemptions", operation_id = "request_redemption", tag = "proposals",
    request_body(content = SubmitRequest, description = "An owner-signed redeem transaction without issuer signatures"),
    responses((status = 200, description = "The proposal, pending operator approval", body = Proposal,
                  links(("proposal" = (operation_id = "get_proposal", parameters(("txid" = "$response.body#/txid")), description = "The proposal with its transaction, for approvers")),
                        ("status" = (operation_id = "get_transaction", parameters(("txid" = "$response.body#/txid")), description = "Its status: awaiting approval, then committed")))),
              (status = 400, description = "`malformed_json`, `kind_not_allowed`, `issuer_signatures_not_allowed`, `no_inputs` or a transaction rule", body = ApiError),
              (status = 403, description = "`over_tier_limit`, `frozen_wallet`, `unknown_wallet`", body = ApiError),
              (status = 404, description = "`unknown_input`", body = ApiError),
              (status = 409, description = "`input_spent`, `proposal_exists`, `supply_underflow`", body = ApiError)))]
pub(super) async fn redemption(
    State(s): State<AppState>,
    ApiJson(req): ApiJson<SubmitRequest>,
) -> Result<Json<Proposal>, ApiErr> {
    let tx = req.tx;
    if tx.kind != TxKind::Redeem {
        return Err(ApiErr::bad_request(
            "kind_not_allowed",
            "only redeem transactions are requested here",
        ));
    }
    if !tx.issuer_signatures.is_empty() {
        return Err(ApiErr::bad_request(
            "issuer_signatures_not_allowed",
            "a redemption request carries no issuer signatures: operators add them by approving",
        ));
    }
    check_proposal_structure(&tx, &s.params())?;
    let wallet = check_proposal(&s, &tx)
        .await?
        .ok_or_else(|| ApiErr::bad_request("no_inputs", "a redemption spends notes"))?;
    let key = wallet.address.spend;
    Ok(Json(
        s.send(|reply| Command::Redemption {
            tx,
            wallet: key,
            reply,
        })
        .await?,
    ))
}

#[utoipa::path(post, path = "/v1/operator", operation_id = "operator_request", tag = "proposals",
    request_body(content = OperatorRequest, description = "A request signed by an operator key (docs/api.md: signing)"),
    responses((status = 200, description = "What happened; the proposal for propose and approve; the receipt when an approval committed it", body = OperatorResponse,
                  links(("proposal" = (operation_id = "get_proposal", parameters(("txid" = "$response.body#/proposal/txid")), description = "The proposal, to approve it")),
                        ("approve" = (operation_id = "operator_request", description = "Approve the proposal (a new signed request naming `proposal.txid`)")),
                        ("status" = (operation_id = "get_transaction", parameters(("txid" = "$response.body#/proposal/txid")), description = "The proposed transaction's status")))),
              (status = 400, description = "`malformed_json`, `clock_skew`, `approval_mismatch`, `bad_issuer_signature`, `openings_required`, `bad_opening`, `kind_not_allowed` or a transaction rule", body = ApiError),
              (status = 401, description = "`bad_signature`: not signed by the operator's key", body = ApiError),
              (status = 403, description = "`unknown_operator`, `frozen_wallet`, `over_tier_limit`, `unknown_wallet`", body = ApiError),
              (status = 404, description = "`unknown_proposal`, `unknown_wallet`, `unknown_input`, `unknown_tier`", body = ApiError),
              (status = 409, description = "`replayed_nonce`, `stale_sequence`, `stale_registry`, `proposal_exists`, `proposal_expired`, `already_approved`, `input_spent`", body = ApiError)))]
pub(super) async fn operator(
    State(s): State<AppState>,
    ApiJson(mut req): ApiJson<OperatorRequest>,
) -> Result<Json<OperatorResponse>, ApiErr> {
    let params = s.params();
    let key = params
        .issuers
        .get(usize::from(req.operator))
        .ok_or_else(|| {
            ApiErr::forbidden(
                "unknown_operator",
                format!(
                    "operator {} does not exist; the network has {}",
                    req.operator,
                    params.issuers.len()
                ),
            )
        })?;
    if !req.verify(params.network_id, key) {
        return Err(ApiErr::new(
            StatusCode::UNAUTHORIZED,
            "bad_signature",
            format!(
                "the request is not signed by operator {}'s key",
                req.operator
            ),
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
    let op = req.operator;
    match &mut req.action {
        OperatorAction::Propose {
            tx,
            approval,
            openings,
        } => {
            check_approval(&params, op, &tx.id(), approval)?;
            tx.issuer_signatures.clear();
            check_proposal_structure(tx, &params)?;
            crate::proposals::check_openings(tx, openings)?;
            check_proposal(&s, tx).await?;
        }
        OperatorAction::Approve { txid, approval } => check_approval(&params, op, txid, approval)?,
        OperatorAction::ProposeChange { change, approval } => {
            let history = s.rules().history();
            crate::governance::apply::check_approval(
                history.latest(),
                op,
                &change.digest(),
                approval,
            )?;
        }
        OperatorAction::ApproveChange { digest, approval } => {
            let history = s.rules().history();
            crate::governance::apply::check_approval(history.latest(), op, digest, approval)?;
        }
        OperatorAction::Freeze { .. }
        | OperatorAction::Unfreeze { .. }
        | OperatorAction::SetTier { .. } => {}
    }
    Ok(Json(
        s.send(|reply| Command::Operator { req, reply }).await?,
    ))
}

pub(super) fn check_approval(
    params: &NetworkParams,
    op: u8,
    txid: &Hash32,
    approval: &dfc_core::IssuerSignature,
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
    let key = params.issuers.get(usize::from(op)).ok_or_else(|| {
        ApiErr::forbidden("unknown_operator", format!("operator {op} does not exist"))
    })?;
    if !key.verify(&txid.0, &approval.signature) {
        return Err(ApiErr::bad_request(
            "bad_issuer_signature",
            format!("the approval is not operator {op}'s signature over {txid}"),
        ));
    }
    Ok(())
}

#[utoipa::path(get, path = "/v1/proposals", operation_id = "list_proposals", tag = "proposals",
    responses((status = 200, description = "Proposals, pending first", body = Vec<Proposal>),
              (status = 401, description = "`read_auth_required`, `bad_read_credential`, `bad_read_signature`, `stale_read_credential`, `replayed_read_credential`: no or bad read credential (`x-dfc-read`)", body = ApiError),
              (status = 403, description = "`read_forbidden`: the key may not read this", body = ApiError)))]
pub(super) async fn proposals(
    State(s): State<AppState>,
    reader: Reader,
) -> Result<Json<Vec<Proposal>>, ApiErr> {
    reader.require_privileged("the proposal listing")?;
    let threshold = s.params().threshold;
    Ok(Json(
        s.read(move |c| Ok(store::proposals(c, threshold, MAX_LIST)?))
            .await?,
    ))
}

/// Body of `GET /v1/proposals/{txid}` (a wire type of `dfc-core`).
pub use dfc_core::api::ProposalDetail;

#[utoipa::path(get, path = "/v1/proposals/{txid}", operation_id = "get_proposal", tag = "proposals",
    params(("txid" = Hash32, Path, description = "The proposed transaction's id")),
    responses((status = 200, description = "The proposal and its transaction, which an approver signs", body = ProposalDetail),
              (status = 400, description = "`malformed_id`", body = ApiError),
              (status = 404, description = "`unknown_proposal`", body = ApiError)))]
pub(super) async fn proposal(
    State(s): State<AppState>,
    UrlPath(txid): UrlPath<String>,
) -> Result<Json<ProposalDetail>, ApiErr> {
    let txid = parse_hash(&txid, "transaction id")?;
    let threshold = s.params().threshold;
    let p = s
        .read(move |c| Ok(store::proposal(c, &txid, threshold)?))
        .await?;
    let p =
        p.ok_or_else(|| ApiErr::not_found("unknown_proposal", format!("no proposal {txid}")))?;
    Ok(Json(ProposalDetail {
        proposal: p.proposal,
        tx: p.tx,
    }))
}
