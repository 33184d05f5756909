//! The sequencer's operator commands: a wallet's redemption request, the operators' actions
//! (issuance and redemption proposals and approvals, freezes, tiers, node-key rotation) and
//! parameter changes, each applied in one SQLite transaction with its audit-log entry, and the
//! block a proposal's last approval seals ([`Sequencer::maybe_finalize`]).

use super::*;

impl Sequencer {
    pub(super) fn redemption(
        &mut self,
        tx: Transaction,
        wallet: dfc_core::PublicKey,
    ) -> Outcome<Proposal> {
        let db = self.begin()?;
        let txid = tx.id();
        if let Some(stored) =
            store::proposal_at(&db, &txid, self.shared.params().threshold, self.now())?
        {
            // An expired request says so: its wallet releases the notes and may ask again.
            if let Err(e) = crate::proposals::check_approvable(&stored.proposal) {
                return Ok(Err(e));
            }
            return Ok(Err(ApiErr::conflict(
                "proposal_exists",
                format!("redemption {txid} was already requested"),
            )));
        }
        if let Err(e) = state_checks(&db, &tx) {
            return Ok(Err(e));
        }
        if let Err(e) = crate::controls::check_proposal(&db, &self.shared.params(), &tx)? {
            return Ok(Err(e));
        }
        let now = self.now();
        let mut proposal = Proposal {
            txid,
            kind: TxKind::Redeem,
            amount: tx.public_amount,
            wallet: Some(wallet),
            approvals: Vec::new(),
            threshold: self.shared.params().threshold,
            created_ms: now,
            state: "pending".into(),
            proposed_by: None,
            expires_ms: now.saturating_add(self.shared.proposal_ttl_ms),
            outputs: Vec::new(),
        };
        store::insert_proposal(&db, &proposal, &tx)?;
        crate::proposals::record(&db, &txid, None, proposal.expires_ms, &[])?;
        crate::proposals::enrich(&db, &mut proposal, &tx, now)?;
        let wallet = serde_json::json!(hex::encode(wallet.to_bytes()));
        let detail = crate::proposals::audit_detail(&proposal, &[("wallet", wallet)]);
        store::append_audit(&db, now, None, "redemption_requested", &detail)?;
        // The signed summary describes exactly what this transaction commits (see `summary`).
        crate::summary::seal(&db, &self.shared.node_key)?;
        self.before_commit(&db)?;
        db.commit()?;
        Ok(Ok(proposal))
    }

    pub(super) fn operator(&mut self, req: OperatorRequest) -> Outcome<OperatorResponse> {
        let now = self.now();
        if matches!(
            req.action,
            OperatorAction::ProposeChange { .. } | OperatorAction::ApproveChange { .. }
        ) {
            return self.governance(req, now);
        }
        let db = self.begin()?;
        if let Err(e) = fresh_request(&db, &req, now)? {
            return Ok(Err(e));
        }
        let op = req.operator;
        let threshold = self.shared.params().threshold;
        let (message, proposal, block, detail) = match &req.action {
            OperatorAction::Propose {
                tx,
                approval,
                openings,
            } => {
                let txid = tx.id();
                if store::proposal_at(&db, &txid, threshold, now)?.is_some() {
                    return Ok(Err(ApiErr::conflict(
                        "proposal_exists",
                        format!("{txid} is already proposed: approve it instead"),
                    )));
                }
                if store::receipt(&db, &txid)?.is_some() {
                    return Ok(Err(ApiErr::conflict(
                        "already_committed",
                        format!("{txid} is already committed"),
                    )));
                }
                if let Err(e) = state_checks(&db, tx) {
                    return Ok(Err(e));
                }
                if let Err(e) = crate::controls::check_proposal(&db, &self.shared.params(), tx)? {
                    return Ok(Err(e));
                }
                let mut bare = tx.clone();
                bare.issuer_signatures.clear();
                let wallet = match tx.kind {
                    TxKind::Issue => tx.outputs.first().map(|o| o.owner),
                    _ => None,
                };
                let mut p = Proposal {
                    txid,
                    kind: tx.kind,
                    amount: tx.public_amount,
                    wallet,
                    approvals: vec![approval.index],
                    threshold,
                    created_ms: now,
                    state: "pending".into(),
                    proposed_by: Some(op),
                    expires_ms: now.saturating_add(self.shared.proposal_ttl_ms),
                    outputs: Vec::new(),
                };
                store::insert_proposal(&db, &p, &bare)?;
                store::insert_approval(&db, &txid, approval, now)?;
                crate::proposals::record(&db, &txid, Some(op), p.expires_ms, openings)?;
                crate::proposals::enrich(&db, &mut p, &bare, now)?;
                let detail = crate::proposals::audit_detail(&p, &[]);
                let (message, proposal, block) = match self.maybe_finalize(&db, &txid)? {
                    Err(e) => return Ok(Err(e)),
                    Ok(x) => x,
                };
                (message, proposal, block, ("propose", detail))
            }
            OperatorAction::Approve { txid, approval } => {
                let Some(stored) = store::proposal_at(&db, txid, threshold, now)? else {
                    return Ok(Err(ApiErr::not_found(
                        "unknown_proposal",
                        format!("no proposal {txid}"),
                    )));
                };
                if let Err(e) = crate::proposals::check_approvable(&stored.proposal) {
                    return Ok(Err(e));
                }
                if stored.proposal.state != "pending" {
                    return Ok(Err(ApiErr::conflict(
                        "proposal_not_pending",
                        format!("proposal {txid} is {}", stored.proposal.state),
                    )));
                }
                let rules_now = self.shared.params();
                let params = &*rules_now;
                if let Err(e) = crate::controls::check_proposal(&db, params, &stored.tx)? {
                    return Ok(Err(e));
                }
                let counted = store::insert_approval(&db, txid, approval, now)?;
                let detail = crate::proposals::audit_detail(
                    &stored.proposal,
                    &[("counted", serde_json::json!(counted))],
                );
                let (message, proposal, block) = match self.maybe_finalize(&db, txid)? {
                    Err(e) => return Ok(Err(e)),
                    Ok(x) => x,
                };
                let message = if counted {
                    message
                } else {
                    format!("already approved by operator {op}; {message}")
                };
                (message, proposal, block, ("approve", detail))
            }
            OperatorAction::Freeze {
                wallet,
                reason,
                registry_version,
            }
            | OperatorAction::Unfreeze {
                wallet,
                reason,
                registry_version,
            } => {
                let freeze = matches!(req.action, OperatorAction::Freeze { .. });
                if let Err(e) = crate::registry::check_version(&db, wallet, *registry_version)? {
                    return Ok(Err(e));
                }
                if !crate::registry::set_frozen(&db, wallet, freeze, reason)? {
                    return Ok(Err(unknown_wallet(wallet)));
                }
                let name = if freeze { "freeze" } else { "unfreeze" };
                let detail = serde_json::json!({ "wallet": hex::encode(wallet.to_bytes()), "reason": reason, "registry_version": registry_version }).to_string();
                (format!("wallet {name} done"), None, None, (name, detail))
            }
            OperatorAction::ProposeChange { .. } | OperatorAction::ApproveChange { .. } => {
                return Ok(Err(ApiErr::internal(
                    "governance request in the operator path",
                )));
            }
            OperatorAction::SetTier {
                wallet,
                tier,
                registry_version,
            } => {
                if self.shared.params().tier(*tier).is_none() {
                    return Ok(Err(ApiErr::bad_request(
                        "unknown_tier",
                        format!(
                            "tier {tier} does not exist; the network has {} tiers",
                            self.shared.params().tiers.len()
                        ),
                    )));
                }
                if let Err(e) = crate::registry::check_version(&db, wallet, *registry_version)? {
                    return Ok(Err(e));
                }
                if !crate::registry::set_tier(&db, wallet, *tier)? {
                    return Ok(Err(unknown_wallet(wallet)));
                }
                let detail = serde_json::json!({ "wallet": hex::encode(wallet.to_bytes()), "tier": tier, "registry_version": registry_version })
                    .to_string();
                (
                    format!("wallet tier set to {tier}"),
                    None,
                    None,
                    ("set_tier", detail),
                )
            }
        };
        fail::fail_point!("seq::operator::before_audit", |_| Err(injected(
            "operator before_audit"
        )));
        store::append_audit(&db, now, Some(op), detail.0, &detail.1)?;
        if let Some((block, _)) = &block {
            let detail = serde_json::json!({ "txid": block.txs.first().map(Transaction::id), "height": block.header.height }).to_string();
            store::append_audit(&db, now, Some(op), "commit", &detail)?;
        }
        fail::fail_point!("seq::operator::before_commit", |_| Err(injected(
            "operator before_commit"
        )));
        // The signed summary describes exactly what this transaction commits (see `summary`).
        crate::summary::seal(&db, &self.shared.node_key)?;
        self.before_commit(&db)?;
        db.commit()?;
        fail::fail_point!("seq::operator::after_commit", |_| Err(injected(
            "operator after_commit"
        )));
        let receipt = block.map(|(block, sigs)| {
            self.advance(&block);
            Self::receipts(&block, &sigs).remove(0)
        });
        Ok(Ok(OperatorResponse {
            message,
            proposal,
            receipt,
        }))
    }

    /// Applies a governance request ([`crate::governance::apply`]) with its nonce, sequence and
    /// audit-log entry in one transaction; a change that reached k approvals joins the rules
    /// only after that transaction commits.
    pub(super) fn governance(
        &mut self,
        req: OperatorRequest,
        now: u64,
    ) -> Outcome<OperatorResponse> {
        let db = self.begin()?;
        if let Err(e) = fresh_request(&db, &req, now)? {
            return Ok(Err(e));
        }
        let rules = self.shared.rules();
        let cx = crate::governance::apply::Context {
            node_keys: &self.shared.node_keys,
            rules: &rules,
            tip_height: self.shared.status().tip.height,
            ttl_ms: self.shared.proposal_ttl_ms,
            now_ms: now,
        };
        let applied = match crate::governance::apply::apply(&db, &cx, req.operator, &req.action)? {
            Ok(a) => a,
            Err(e) => return Ok(Err(e)),
        };
        store::append_audit(
            &db,
            now,
            Some(req.operator),
            applied.action,
            &applied.detail,
        )?;
        self.before_commit(&db)?;
        db.commit()?;
        if let Some(change) = applied.scheduled {
            let mut refused = None;
            self.shared
                .update_rules(|r| refused = r.schedule(change).err());
            if let Some(e) = refused {
                // Checked in the same order under the same rules before commit: a refusal here
                // means the stored history and the rules in memory disagree.
                return Err(StoreError::corrupt("param_changes", e));
            }
        }
        Ok(Ok(OperatorResponse {
            message: applied.message,
            proposal: None,
            receipt: None,
        }))
    }

    /// If the proposal has k approvals, assembles the signed transaction, validates it fully and
    /// writes its block (the caller commits).
    #[allow(clippy::type_complexity)]
    pub(super) fn maybe_finalize(
        &self,
        db: &Connection,
        txid: &TxId,
    ) -> Outcome<(String, Option<Proposal>, Option<(Block, Vec<Signature>)>)> {
        let rules_now = self.shared.params();
        let params = &*rules_now;
        let Some(stored) = store::proposal_at(db, txid, params.threshold, self.now())? else {
            return Ok(Err(ApiErr::not_found(
                "unknown_proposal",
                format!("no proposal {txid}"),
            )));
        };
        let mut proposal = stored.proposal;
        if proposal.approvals.len() < params.threshold {
            let msg = format!(
                "{} of {} approvals",
                proposal.approvals.len(),
                params.threshold
            );
            return Ok(Ok((msg, Some(proposal), None)));
        }
        // At commit, against the state committed on: a freeze or a lower tier since the
        // proposal (or since the approval that completed it) stops it here.
        if let Err(e) = crate::controls::check_proposal(db, params, &stored.tx)? {
            return Ok(Err(e));
        }
        let mut tx = stored.tx;
        for sig in stored.signatures {
            tx.add_issuer_signature(sig);
        }
        let view = DbView::new(db);
        let (time_ms, period) = self.next_time();
        // `validate`'s checks in its order (structure, state, cryptography), through a batch of
        // one so that the effects computed by the state checks are the ones written.
        let mut batch = BatchState::new(period);
        let checked = check_structure(&tx, params)
            .and_then(|()| batch.admit(&tx, params, &view))
            .and_then(|fx| {
                let inputs = resolve_inputs(&tx, &view)?;
                verify_crypto(&tx, params, &inputs)?;
                Ok(fx)
            });
        view.finish()?;
        let fx = match checked {
            Ok(fx) => fx,
            Err(e) => return Ok(Err(e.into())),
        };
        let supply = match next_supply(&tx, self.shared.status().tip.supply) {
            Ok(s) => s,
            Err(e) => return Ok(Err(e.into())),
        };
        let audit = store::audit_head(db)?;
        let (block, sigs) = self.seal(vec![tx], supply, audit, time_ms)?;
        let txs_fx = [fx];
        let fx = store::BlockEffects {
            txs: &txs_fx,
            holdings: batch.holdings(),
        };
        db.write_block(&block, &sigs, &fx)?;
        if let Some(hook) = &self.cluster {
            hook.block_written(&block, &sigs, &fx);
        }
        store::set_proposal_state(db, txid, "committed")?;
        proposal.state = "committed".into();
        let msg = format!(
            "{} approvals reached: {} of {} committed at height {}",
            proposal.approvals.len(),
            proposal.kind.name(),
            params.format(proposal.amount),
            block.header.height
        );
        Ok(Ok((msg, Some(proposal), Some((block, sigs)))))
    }
}

/// The replay checks of a signed operator request, in the write transaction `db` of its action
/// (so a refusal consumes nothing): its nonce not used before (recorded now), and its sequence
/// above the last accepted from that operator (advanced now).
fn fresh_request(
    db: &rusqlite::Transaction<'_>,
    req: &OperatorRequest,
    now: u64,
) -> Result<Result<(), ApiErr>, StoreError> {
    if !store::record_nonce(
        db,
        &req.nonce,
        req.time_ms,
        now.saturating_sub(3 * MAX_CLOCK_SKEW_MS),
    )? {
        return Ok(Err(ApiErr::conflict(
            "replayed_nonce",
            "this request nonce was already used",
        )));
    }
    crate::opseq::advance(db, req.operator, req.sequence)
}
