use super::*;

impl Sim<'_> {
    /// Counts this hour's online and offline devices per profile (the measured offline share).
    pub(super) fn count_device_hours(&mut self) {
        let mut counts = vec![(0u64, 0u64); self.scenario.devices.len()];
        for a in &self.agents {
            counts[a.device].0 += 1;
            counts[a.device].1 += u64::from(!a.online);
        }
        for (d, (all, off)) in counts.into_iter().enumerate() {
            self.metrics.device_hour(d, all, off);
        }
    }

    /// Moves each device along its two-state chain (mean outage m hours, long-run offline
    /// share s: p_on = 1/m, p_off = s/(1−s)/m; validation guarantees p_off ≤ 1), then takes
    /// segments under a regional outage offline. Every device draws every hour whatever the
    /// conditions, so a variant with a shock uses the same random numbers as its baseline.
    pub(super) fn connectivity(&mut self, t: u64) {
        for a in &mut self.agents {
            let (share, m) = self.conditions.devices[a.device];
            let draw: f64 = if t > 0 { self.rng.gen() } else { 0.0 };
            if t > 0 {
                if share <= 0.0 {
                    a.online = true;
                } else {
                    let p_on = 1.0 / m;
                    let p_off = (share / (1.0 - share) / m).min(1.0);
                    a.online = if a.online { draw >= p_off } else { draw < p_on };
                }
            }
            if self.conditions.down[a.segment] {
                a.online = false;
            }
        }
    }

    /// An online wallet settles what it can and renews its purse certificate.
    pub(super) fn housekeeping(&mut self, i: usize, t: u64) -> Result<(), SimError> {
        // Payer side: honest payers submit their own offline payments.
        let outgoing = std::mem::take(&mut self.agents[i].outgoing);
        for p in outgoing {
            // Gone: its payee already learned how it was resolved.
            if self
                .packets
                .get(p)
                .is_some_and(|pk| pk.state == PacketState::Pending)
            {
                self.settle(p, t)?;
            }
        }
        // Payee side: submit held packets, and learn how each was resolved.
        let held = std::mem::take(&mut self.agents[i].book.held);
        for p in held {
            if self.packets[p].state == PacketState::Pending {
                self.settle(p, t)?;
            }
            let pk = &self.packets[p];
            let (purse, txid, amt) = (pk.purse, pk.txid, pk.amount);
            // Resolved, and its payee knows: nothing refers to it any more.
            self.packets.remove(p);
            let book = &mut self.agents[i].book;
            book.txids.remove(&txid);
            if let Some(v) = book.per_purse.get_mut(&purse) {
                *v = v.checked_sub(amt).unwrap_or(Amount::ZERO);
            }
            book.total = book.total.checked_sub(amt).unwrap_or(Amount::ZERO);
        }
        // Held notes that now fit the limits are claimed.
        self.claim_held(i, t);
        // The wallet syncs: purse notes spent on the ledger are dropped.
        let ledger = &self.ledger;
        self.agents[i]
            .purse
            .retain(|n| matches!(dfc_core::LedgerView::note(ledger, &n.id), Some(ln) if !ln.spent));
        let a = &self.agents[i];
        let dev = &self.scenario.devices[a.device];
        if !dev.offline_payments || a.frozen {
            return Ok(());
        }
        let validity = u64::from(self.scenario.policy.certificate_validity_hours) * TICK_MS;
        let now = Self::now_ms(t);
        let renew = match &a.cert {
            None => true,
            Some(c) => c.expires_ms < now + validity / 2,
        };
        if renew {
            let tier = self
                .proto
                .params
                .tier(a.tier)
                .expect("agents' tiers exist (validated)");
            self.cert_serial += 1;
            let cert = self.proto.certify(
                &a.keys,
                &a.purse_key,
                tier.offline_cap,
                a.tier,
                now,
                now + validity,
                self.cert_serial,
            );
            self.agents[i].cert = Some(cert);
        }
        Ok(())
    }

    /// Settles packet `p` on the ledger: commits it, or catches a double spend.
    pub(super) fn settle(&mut self, p: usize, t: u64) -> Result<(), SimError> {
        let (Some(tx), Some(cert)) = (self.packets[p].tx.take(), self.packets[p].cert.take())
        else {
            return Ok(());
        };
        let txid = self.packets[p].txid;
        // Whatever the outcome, the packet stops being pending.
        {
            let pk = &self.packets[p];
            let (amt, change, fraud, payee) =
                (pk.amount.units(), pk.change_units, pk.fraud, pk.payee);
            if fraud {
                self.pending.claims_units -= amt + pk.fee_units;
            } else {
                self.pending.unsettled_units -= amt + pk.fee_units;
                self.pending.change_units -= change;
            }
            self.agents[payee].owed_units -= amt;
        }
        let (payee, amt) = (self.packets[p].payee, self.packets[p].amount.units());
        let payee_owner = self.agents[payee].address.spend;
        let claimed = self.can_claim(payee, amt, t);
        let hold = if claimed {
            None
        } else {
            tx.outputs.iter().position(|o| o.owner == payee_owner)
        };
        match self
            .proto
            .submit(&mut self.ledger, &tx, hold, &mut self.work)
        {
            Ok(ids) => {
                let pk = &mut self.packets[p];
                pk.state = PacketState::Settled;
                // Spent for good: nothing to give back any more.
                pk.inputs = Vec::new();
                let (payer, payee) = (pk.payer, pk.payee);
                let payee_owner = self.agents[payee].address.spend;
                for (k, (id, o)) in ids.iter().zip(&tx.outputs).enumerate() {
                    // Output 0 pays the payee; output 1, if any, is the purse's change.
                    let opening = self.open_output(&tx, p, k)?;
                    if o.owner == payee_owner {
                        self.receive(payee, Held { id: *id, opening }, claimed, t);
                    } else if self.is_scheme(&o.owner) {
                        if let Some(s) = self.scheme.as_mut() {
                            s.notes.push(Held { id: *id, opening });
                        }
                    } else {
                        self.agents[payer].purse.push(PurseNote {
                            id: *id,
                            opening,
                            proof: None,
                        });
                    }
                }
                if self.packets[p].fraud {
                    for input in &tx.inputs {
                        self.spent_by.insert(*input, txid);
                    }
                    self.offline_txs.insert(txid, tx.clone());
                }
                let delay = t - self.packets[p].paid_tick;
                self.metrics.settled(delay, t / TICKS_PER_DAY);
            }
            Err(TxError::InputSpent { index, .. }) => {
                self.packets[p].state = PacketState::Conflicted;
                self.packets[p].inputs = Vec::new();
                let note = tx.inputs[index];
                let committed = self
                    .spent_by
                    .get(&note)
                    .and_then(|id| self.offline_txs.get(id))
                    .cloned();
                let evidence_ok = match committed {
                    Some(committed) => {
                        let evidence = DoubleSpendEvidence {
                            note,
                            committed,
                            conflicting: tx.clone(),
                            cert,
                        };
                        self.proto.check_evidence(&evidence, &mut self.work)
                    }
                    None => false,
                };
                let (payer, payee, amt) = {
                    let pk = &self.packets[p];
                    (pk.payer, pk.payee, pk.amount)
                };
                let bearer = self.scenario.policy.loss_bearer;
                self.metrics.caught(
                    amt.units(),
                    self.agents[payee].segment,
                    bearer,
                    evidence_ok,
                    t / TICKS_PER_DAY,
                );
                if evidence_ok
                    && self.scenario.policy.freeze_on_evidence
                    && !self.agents[payer].frozen
                {
                    self.agents[payer].frozen = true;
                    self.agents[payer].cert = None;
                    self.metrics.frozen += 1;
                }
                if bearer == LossBearer::CentralBank {
                    self.issue_to(payee, amt.units())?;
                    self.metrics.issued_compensation += amt.units();
                }
            }
            Err(e) => {
                self.packets[p].state = PacketState::Rejected;
                self.metrics.settlement_rejected(&e);
                // An honest payer's notes were never spent: they go back to its purse (a new
                // checkpoint certifies them again).
                let payer = self.packets[p].payer;
                let inputs = std::mem::take(&mut self.packets[p].inputs);
                for h in inputs {
                    self.agents[payer].purse.push(PurseNote {
                        id: h.id,
                        opening: h.opening,
                        proof: None,
                    });
                }
            }
        }
        Ok(())
    }

    /// The opening of output `k` of packet `p`'s transaction, as its owner reads it: the payee
    /// with its view key, the scheme (fee) with its own, the payer (change) with its own.
    pub(super) fn open_output(
        &self,
        tx: &Transaction,
        p: usize,
        k: usize,
    ) -> Result<Opening, SimError> {
        let pk = &self.packets[p];
        let owner = tx.outputs[k].owner;
        let view = match &self.scheme {
            Some(s) if s.address.spend == owner => &s.keys.view,
            _ if self.agents[pk.payee].address.spend == owner => &self.agents[pk.payee].keys.view,
            _ => &self.agents[pk.payer].keys.view,
        };
        tx.outputs[k].open(view).map_err(|_| SimError::Ledger {
            what: "an output opening",
            source: TxError::Unbalanced,
        })
    }

    /// Online wallets with a purse get a fresh checkpoint and proofs for their purse notes.
    pub(super) fn refresh_checkpoints(&mut self, t: u64) {
        let wanted: Vec<usize> = (0..self.agents.len())
            .filter(|i| {
                let a = &self.agents[*i];
                a.online && a.cert.is_some() && !a.purse.is_empty()
            })
            .collect();
        if wanted.is_empty() {
            return;
        }
        let leaves = u64::try_from(self.ledger.unspent_count()).expect("fits");
        let (cp, tree) = self.proto.checkpoint(&self.ledger, t, Self::now_ms(t));
        let cp = Arc::new(cp);
        let nominal = Arc::new(nominal_proof(leaves));
        for i in wanted {
            let a = &mut self.agents[i];
            for n in &mut a.purse {
                n.proof = match &tree {
                    Some(tree) => tree.proof(&n.id).map(Arc::new),
                    None => Some(Arc::clone(&nominal)),
                };
            }
            a.checkpoint = Some(Arc::clone(&cp));
        }
    }
}
