//! Connectivity, housekeeping of online wallets (settlement, purse sync, certificates), the
//! turnover limit and checkpoints (`engine/settle.rs` and `engine/turnover.rs` on integers).

use super::*;

impl Sim<'_> {
    /// Counts this hour's online and offline devices per profile.
    pub(super) fn count_device_hours(&mut self) {
        let mut counts = vec![(0u64, 0u64); self.scenario.devices.len()];
        for a in &self.agents {
            counts[a.device()].0 += 1;
            counts[a.device()].1 += u64::from(!a.online);
        }
        for (d, (all, off)) in counts.into_iter().enumerate() {
            self.metrics.device_hour(d, all, off);
        }
    }

    /// Moves each device along its two-state chain, then applies regional outages (the draws
    /// of `engine/settle.rs`, in the same order).
    pub(super) fn connectivity(&mut self, t: u64) {
        let chains: Vec<(f64, f64)> = self
            .conditions
            .devices
            .iter()
            .map(|&(share, m)| (1.0 / m, (share / (1.0 - share) / m).min(1.0)))
            .collect();
        for a in &mut self.agents {
            let (share, _) = self.conditions.devices[a.device()];
            if t > 0 {
                let draw: f64 = self.rng.gen();
                if share <= 0.0 {
                    a.online = true;
                } else {
                    let (p_on, p_off) = chains[a.device()];
                    a.online = if a.online { draw >= p_off } else { draw < p_on };
                }
            }
            if self.conditions.down[a.segment()] {
                a.online = false;
            }
        }
    }

    /// An online wallet settles what it can and renews its purse certificate.
    pub(super) fn housekeeping(&mut self, i: usize, t: u64) -> Result<(), SimError> {
        let outgoing = std::mem::take(&mut self.agents[i].outgoing);
        for p in outgoing {
            if self
                .packets
                .get(&p)
                .is_some_and(|pk| pk.state == PacketState::Pending)
            {
                self.settle(p, t)?;
            }
        }
        let held = std::mem::take(&mut self.agents[i].book.held);
        for p in held {
            if self.packets.get(&p).map(|pk| pk.state) == Some(PacketState::Pending) {
                self.settle(p, t)?;
            }
            let Some(pk) = self.packets.remove(&p) else {
                continue;
            };
            let purse = index(pk.payer);
            let book = &mut self.agents[i].book;
            if let Some(v) = book.per_purse.get_mut(&purse) {
                *v = v.saturating_sub(pk.amount);
                if *v == 0 {
                    book.per_purse.remove(&purse);
                }
            }
            book.total = book.total.saturating_sub(pk.amount);
        }
        self.claim_held(i, t);
        let ledger = &self.ledger;
        self.agents[i].purse.retain(|n| ledger.is_unspent(n.id));
        let a = &self.agents[i];
        let dev = &self.scenario.devices[a.device()];
        if !dev.offline_payments || a.frozen {
            return Ok(());
        }
        let validity = u64::from(self.scenario.policy.certificate_validity_hours) * TICK_MS;
        let now = now_ms(t);
        let renew = match &a.cert {
            None => true,
            Some(c) => c.expires_ms < now + validity / 2,
        };
        if renew {
            let cap = self
                .proto
                .params
                .tier(a.tier)
                .expect("agents' tiers exist (validated)")
                .offline_cap
                .units();
            self.agents[i].cert = Some(Cert {
                cap,
                expires_ms: now + validity,
            });
        }
        Ok(())
    }

    /// Settles packet `p` on the ledger: commits it, or catches a double spend.
    fn settle(&mut self, p: usize, t: u64) -> Result<(), SimError> {
        let Some(pk) = self.packets.get_mut(&p) else {
            return Ok(());
        };
        let Some(tx) = pk.tx.take() else {
            return Ok(());
        };
        let (amt, change, fraud, payer, payee, fee) = (
            pk.amount,
            pk.change_units,
            pk.fraud,
            pk.payer,
            pk.payee,
            pk.fee_units,
        );
        if fraud {
            self.pending.claims_units -= amt + fee;
        } else {
            self.pending.unsettled_units -= amt + fee;
            self.pending.change_units -= change;
        }
        self.agents[payee].owed_units -= amt;
        let me = Owner::Wallet(index(payee));
        let claimed = self.can_claim(payee, amt, t);
        let hold = if claimed {
            None
        } else {
            tx.outputs.iter().position(|(o, _)| *o == me)
        };
        let outputs = ledger_outputs(&tx.outputs);
        match self
            .ledger
            .apply(Kind::Transfer, &tx.inputs, &outputs, hold)
        {
            Ok(ids) => {
                let pk = self.packets.get_mut(&p).expect("present");
                pk.state = PacketState::Settled;
                pk.inputs = Vec::new();
                let paid = pk.paid_tick;
                for (id, (owner, units)) in ids.into_iter().zip(tx.outputs.iter().copied()) {
                    if owner == me {
                        self.receive(payee, Note { id, units }, claimed, t);
                    } else if owner == Owner::Scheme {
                        if let Some(s) = self.scheme.as_mut() {
                            s.notes.push(Note { id, units });
                        }
                    } else {
                        self.agents[payer].purse.push(PurseNote {
                            id,
                            units,
                            proof_leaves: None,
                        });
                    }
                }
                if fraud {
                    for input in &tx.inputs {
                        self.spent_by.insert(*input, p);
                    }
                    self.offline_txs.insert(p, tx.inputs.clone());
                }
                self.metrics.settled(t - paid, t / TICKS_PER_DAY);
            }
            Err(TxError::InputSpent { index: k, .. }) => {
                let pk = self.packets.get_mut(&p).expect("present");
                pk.state = PacketState::Conflicted;
                pk.inputs = Vec::new();
                let note = tx.inputs[k];
                // The evidence: the committed packet and this one both spend the note.
                let evidence_ok = self
                    .spent_by
                    .get(&note)
                    .and_then(|q| self.offline_txs.get(q))
                    .is_some_and(|committed| committed.contains(&note));
                let bearer = self.scenario.policy.loss_bearer;
                self.metrics.caught(
                    amt,
                    self.agents[payee].segment(),
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
                    self.issue_to(payee, amt)?;
                    self.metrics.issued_compensation += amt;
                }
            }
            Err(e) => {
                let pk = self.packets.get_mut(&p).expect("present");
                pk.state = PacketState::Rejected;
                let inputs = std::mem::take(&mut pk.inputs);
                self.metrics.settlement_rejected(&e);
                for h in inputs {
                    self.agents[payer].purse.push(PurseNote {
                        id: h.id,
                        units: h.units,
                        proof_leaves: None,
                    });
                }
            }
        }
        Ok(())
    }

    /// Online wallets with a purse get a fresh checkpoint and (nominal) proofs.
    pub(super) fn refresh_checkpoints(&mut self, t: u64) {
        let leaves = self.ledger.unspent_count();
        let now = now_ms(t);
        for a in &mut self.agents {
            if a.online && a.cert.is_some() && !a.purse.is_empty() {
                for n in &mut a.purse {
                    n.proof_leaves = Some(leaves);
                }
                a.checkpoint_ms = Some(now);
            }
        }
    }

    fn inflow_now(&self, i: usize, t: u64) -> u64 {
        let a = &self.agents[i];
        if a.inflow_period == self.proto.params.turnover_period(now_ms(t)) {
            a.inflow_units
        } else {
            0
        }
    }

    /// Whether wallet `i` can claim a note of `units` now (turnover and holding limits).
    pub(super) fn can_claim(&self, i: usize, units: u64, t: u64) -> bool {
        let a = &self.agents[i];
        let tier = self.tier(a.tier);
        self.inflow_now(i, t).saturating_add(units) <= tier.max_inflow
            && a.online_units() + a.purse_units() + units <= tier.max_balance
    }

    fn count_inflow(&mut self, i: usize, units: u64, t: u64) {
        let period = self.proto.params.turnover_period(now_ms(t));
        let now = self.inflow_now(i, t);
        let a = &mut self.agents[i];
        a.inflow_period = period;
        a.inflow_units = now + units;
    }

    /// The payee's note was committed: claimed into its notes when `claimed`, else held.
    pub(super) fn receive(&mut self, i: usize, note: Note, claimed: bool, t: u64) {
        if claimed {
            self.count_inflow(i, note.units, t);
            self.agents[i].notes.push(note);
        } else {
            self.agents[i].held.push(note);
            self.metrics.turnover.held(note.units);
        }
    }

    /// At a sync, wallet `i` claims the held notes that now fit, oldest first.
    fn claim_held(&mut self, i: usize, t: u64) {
        if self.agents[i].held.is_empty() {
            return;
        }
        let held = std::mem::take(&mut self.agents[i].held);
        let mut claimed = Vec::new();
        for note in held {
            if self.can_claim(i, note.units, t) {
                claimed.push(note.id);
                self.count_inflow(i, note.units, t);
                self.metrics.turnover.claimed_later(note.units);
                self.agents[i].notes.push(note);
            } else {
                self.agents[i].held.push(note);
            }
        }
        self.ledger.settle(&claimed);
    }
}
