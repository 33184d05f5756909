//! Committing a round's jobs in decision order (`engine/commit.rs` on integers): purse
//! fundings and online payments to the ledger, offline packets to their payee's checks.

use super::*;

impl Sim<'_> {
    pub(super) fn commit_job(&mut self, job: Job, t: u64) -> Result<(), SimError> {
        let day = t / TICKS_PER_DAY;
        let outputs = ledger_outputs(&job.outputs);
        let inputs: Vec<u64> = job.tx().inputs;
        match job.kind {
            JobKind::Fund {
                agent,
                purse_outputs,
            } => {
                let sizes = self.job_sizes(agent, &job, false)?;
                let total = job.input_units();
                let a = &mut self.agents[agent];
                a.inflight_change_units = a.inflight_change_units.saturating_sub(total);
                match self.ledger.apply(Kind::Transfer, &inputs, &outputs, None) {
                    Ok(ids) => {
                        for (k, (id, (_, units))) in ids.into_iter().zip(outputs).enumerate() {
                            let a = &mut self.agents[agent];
                            if k < purse_outputs {
                                a.purse.push(PurseNote {
                                    id,
                                    units,
                                    proof_leaves: None,
                                });
                            } else {
                                a.notes.push(Note { id, units });
                            }
                        }
                        self.metrics.purse_funded(sizes.tx, sizes.range_proof);
                    }
                    Err(e) => {
                        self.agents[agent].notes.extend(job.spend_inputs);
                        self.metrics.settlement_rejected(&e);
                    }
                }
            }
            JobKind::Online {
                payer,
                payee,
                split,
                flow,
                fee_micro,
            } => {
                let sizes = self.job_sizes(payer, &job, false)?;
                let me = Owner::Wallet(index(payer));
                let change: u64 = job
                    .outputs
                    .iter()
                    .filter(|(o, _)| *o == me)
                    .map(|(_, u)| *u)
                    .sum();
                let a = &mut self.agents[payer];
                a.inflight_change_units = a.inflight_change_units.saturating_sub(change);
                let claimed = self.can_claim(payee, split.payee_gets, t);
                let hold = (!claimed).then_some(0);
                match self.ledger.apply(Kind::Transfer, &inputs, &outputs, hold) {
                    Ok(ids) => {
                        for (k, (id, (owner, units))) in
                            ids.into_iter().zip(job.outputs.iter().copied()).enumerate()
                        {
                            let note = Note { id, units };
                            if k == 0 {
                                self.receive(payee, note, claimed, t);
                            } else if owner == me {
                                self.agents[payer].notes.push(note);
                            } else if let Some(s) = self.scheme.as_mut() {
                                s.notes.push(note);
                            }
                        }
                        self.metrics.fees_moved(split.scheme_gets, split.commission);
                        let (ps, qs) = (self.agents[payer].segment(), self.agents[payee].segment());
                        self.metrics.completed(
                            flow,
                            PaymentPath::Online,
                            (payer, ps),
                            (payee, qs),
                            split.amount,
                            fee_micro,
                            day,
                            (sizes.tx, sizes.range_proof, 0),
                            inputs.len(),
                        );
                    }
                    Err(_) => {
                        self.agents[payer].notes.extend(job.spend_inputs);
                        self.agents[payer].purse.extend(job.purse_inputs);
                        self.metrics.failed(flow, FailReason::LedgerRejected, day);
                    }
                }
            }
            JobKind::Offline {
                payer,
                payee,
                split,
                flow,
                counter,
                leaves,
            } => {
                let sizes = self.job_sizes(payer, &job, true)?;
                let fraud = self.agents[payer].fraud;
                // Only a double spender's notes can be offered twice.
                let reused = fraud && inputs.iter().any(|n| self.offline_spent_notes.contains(n));
                let packet_bytes = sizes.packet_base + inputs.len() * nominal_depth(leaves) * 32;
                let amt = split.payee_gets;
                let verdict = if packet_bytes > dfc_core::offline::MAX_PACKET_BYTES {
                    Err(FailReason::PacketTooLarge)
                } else {
                    self.accept(payer, payee, amt, counter, t)
                };
                if reused {
                    self.metrics.double_spend_attempt(verdict.is_ok(), day);
                }
                match verdict {
                    Ok(()) => {
                        if fraud {
                            self.offline_spent_notes.extend(inputs.iter().copied());
                        }
                        let fee_units = split.scheme_gets;
                        let change_units = job.input_units() - amt - fee_units;
                        if fraud {
                            self.pending.claims_units += amt + fee_units;
                        } else {
                            self.pending.unsettled_units += amt + fee_units;
                            self.pending.change_units += change_units;
                        }
                        self.agents[payee].owed_units += amt;
                        let payee_kind = self.scenario.segments[self.agents[payee].segment()].kind;
                        if payee_kind == SegmentKind::Merchant {
                            self.metrics
                                .merchant_exposure(self.agents[payee].owed_units);
                        }
                        let p = self.next_packet;
                        self.next_packet += 1;
                        let tx = job.tx();
                        self.packets.insert(
                            p,
                            Packet {
                                tx: Some(tx),
                                payer,
                                payee,
                                amount: amt,
                                paid_tick: t,
                                state: PacketState::Pending,
                                double_spend: reused,
                                fraud,
                                change_units,
                                fee_units,
                                inputs: if fraud {
                                    Vec::new()
                                } else {
                                    job.purse_inputs
                                        .iter()
                                        .map(|n| Note {
                                            id: n.id,
                                            units: n.units,
                                        })
                                        .collect()
                                },
                            },
                        );
                        let book = &mut self.agents[payee].book;
                        *book.per_purse.entry(index(payer)).or_insert(0) += amt;
                        book.total += amt;
                        book.counters.insert(index(payer), counter);
                        book.held.push(p);
                        if !fraud {
                            self.agents[payer].outgoing.push(p);
                        }
                        let (ps, qs) = (self.agents[payer].segment(), self.agents[payee].segment());
                        self.metrics.completed(
                            flow,
                            PaymentPath::Offline,
                            (payer, ps),
                            (payee, qs),
                            split.amount,
                            0,
                            day,
                            (sizes.tx, sizes.range_proof, packet_bytes),
                            inputs.len(),
                        );
                        self.metrics.fees_moved(split.scheme_gets, split.commission);
                    }
                    Err(reason) => {
                        // An honest purse takes its notes back (their proofs still hold).
                        if !fraud {
                            self.agents[payer].purse.extend(job.purse_inputs);
                        }
                        self.metrics.failed(flow, reason, day);
                    }
                }
            }
        }
        Ok(())
    }

    /// The payee's offline checks that can fail for honest parties, in `verify_packet`'s order:
    /// certificate expiry, checkpoint age, counter, then the certificate's cap, the per-payer
    /// and the total unsettled limit.
    fn accept(
        &self,
        payer: usize,
        payee: usize,
        amt: u64,
        counter: u64,
        t: u64,
    ) -> Result<(), FailReason> {
        let now = now_ms(t);
        let a = &self.agents[payer];
        let (Some(cert), Some(cp_ms)) = (a.cert, a.checkpoint_ms) else {
            return Err(FailReason::OfflineRefused);
        };
        let book = &self.agents[payee].book;
        if now > cert.expires_ms {
            return Err(FailReason::CertificateExpired);
        }
        if now.saturating_sub(cp_ms) > self.policy.max_checkpoint_age_ms {
            return Err(FailReason::CheckpointTooOld);
        }
        if book
            .counters
            .get(&index(payer))
            .is_some_and(|last| counter <= *last)
        {
            return Err(FailReason::OfflineRefused);
        }
        if amt > cert.cap {
            return Err(FailReason::OverOfflineCap);
        }
        let from_payer = book.per_purse.get(&index(payer)).copied().unwrap_or(0) + amt;
        if from_payer > self.policy.max_per_payer.units() {
            return Err(FailReason::OverPerPayerLimit);
        }
        if book.total + amt > self.policy.max_unsettled.units() {
            return Err(FailReason::OverUnsettledLimit);
        }
        Ok(())
    }
}
