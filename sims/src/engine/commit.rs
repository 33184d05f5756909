use super::*;

impl Sim<'_> {
    pub(super) fn build_jobs(&self, jobs: &[Job]) -> Vec<Result<JobResult, SimError>> {
        jobs.par_iter()
            .map(|job| {
                let mut rng = self.job_rng(job.id);
                match &job.kind {
                    JobKind::Offline {
                        payer,
                        counter,
                        proofs,
                        ..
                    } => {
                        let a = &self.agents[*payer];
                        let cert = a.cert.as_ref().expect("offline jobs need a certificate");
                        let cp = a
                            .checkpoint
                            .as_ref()
                            .expect("offline jobs need a checkpoint");
                        let inputs: Vec<(SpendInput, MerkleProof)> = job
                            .inputs
                            .iter()
                            .cloned()
                            .zip(proofs.iter().cloned())
                            .collect();
                        let (packet, built, work) = self.proto.make_packet(
                            cert,
                            cp,
                            &inputs,
                            &job.payments,
                            *counter,
                            &a.purse_key,
                            &mut rng,
                        )?;
                        Ok(JobResult {
                            tx: built.tx,
                            openings: built.openings,
                            packet: Some(packet),
                            verdict: Ok(()),
                            work,
                        })
                    }
                    _ => {
                        let (built, mut work) = self.proto.build(
                            TxKind::Transfer,
                            Amount::ZERO,
                            &job.inputs,
                            &job.payments,
                            &mut rng,
                        )?;
                        let verdict = self
                            .proto
                            .preverify(&built.tx, &self.ledger)
                            .map(|w| work.add(w));
                        Ok(JobResult {
                            tx: built.tx,
                            openings: built.openings,
                            packet: None,
                            verdict,
                            work,
                        })
                    }
                }
            })
            .collect()
    }

    pub(super) fn commit_job(&mut self, job: Job, r: JobResult, t: u64) {
        self.work.add(r.work);
        let day = t / TICKS_PER_DAY;
        let bytes = r.tx.encode().len();
        let proof_bytes = r.tx.range_proof.len();
        match job.kind {
            JobKind::Fund {
                agent,
                purse_outputs,
            } => {
                let total: u64 = job.inputs.iter().map(|i| i.opening.amount.units()).sum();
                let a = &mut self.agents[agent];
                a.inflight_change_units = a.inflight_change_units.saturating_sub(total);
                let result = r
                    .verdict
                    .and_then(|()| self.proto.commit(&mut self.ledger, &r.tx, None));
                match result {
                    Ok(ids) => {
                        for (k, (id, opening)) in ids.into_iter().zip(r.openings).enumerate() {
                            if k < purse_outputs {
                                self.agents[agent].purse.push(PurseNote {
                                    id,
                                    opening,
                                    proof: None,
                                });
                            } else {
                                self.agents[agent].notes.push(Held { id, opening });
                            }
                        }
                        self.metrics.purse_funded(bytes, proof_bytes);
                    }
                    Err(e) => {
                        self.agents[agent].notes.extend(job.held);
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
                let payer_address = self.agents[payer].address;
                let change: u64 = job
                    .payments
                    .iter()
                    .filter(|p| p.to == payer_address)
                    .map(|p| p.amount.units())
                    .sum();
                let payer_agent = &mut self.agents[payer];
                payer_agent.inflight_change_units =
                    payer_agent.inflight_change_units.saturating_sub(change);
                // Output 0 pays the payee: claimed at once if it fits its limits, else held.
                let claimed = self.can_claim(payee, split.payee_gets, t);
                let hold = (!claimed).then_some(0);
                let result = r
                    .verdict
                    .and_then(|()| self.proto.commit(&mut self.ledger, &r.tx, hold));
                match result {
                    Ok(ids) => {
                        for (k, (id, opening)) in ids.into_iter().zip(r.openings).enumerate() {
                            let note = Held { id, opening };
                            if k == 0 {
                                self.receive(payee, note, claimed, t);
                            } else if job.payments[k].to == payer_address {
                                self.agents[payer].notes.push(note);
                            } else if let Some(s) = self.scheme.as_mut() {
                                s.notes.push(note);
                            }
                        }
                        self.metrics.fees_moved(split.scheme_gets, split.commission);
                        let (ps, qs) = (self.agents[payer].segment, self.agents[payee].segment);
                        self.metrics.completed(
                            flow,
                            PaymentPath::Online,
                            (payer, ps),
                            (payee, qs),
                            split.amount,
                            fee_micro,
                            day,
                            (bytes, proof_bytes, 0),
                            r.tx.inputs.len(),
                        );
                    }
                    Err(_) => {
                        self.agents[payer].notes.extend(job.held);
                        self.agents[payer].purse.extend(job.purse_held);
                        self.metrics.failed(flow, FailReason::LedgerRejected, day);
                    }
                }
            }
            JobKind::Offline {
                payer,
                payee,
                amount: amt,
                split,
                flow,
                ..
            } => {
                let packet = r.packet.expect("offline jobs make packets");
                // A packet spending a note an accepted packet already spends is a double-spend
                // attempt (only cheats make them: honest purses give notes up).
                let reused = packet
                    .tx
                    .inputs
                    .iter()
                    .any(|n| self.metrics.offline_spent_notes.contains(n));
                let mut packet_bytes = packet.encode().len();
                // Merkle proofs are counted at the nominal depth of the tree, so sizes do not
                // depend on where note ids happen to sort.
                let leaves = packet
                    .inputs
                    .first()
                    .map(|p| p.proof.leaf_count)
                    .unwrap_or(1);
                let actual: usize = packet.inputs.iter().map(|p| p.proof.siblings.len()).sum();
                packet_bytes =
                    packet_bytes - actual * 32 + packet.inputs.len() * nominal_depth(leaves) * 32;
                let now = Self::now_ms(t);
                let verdict = if packet_bytes > dfc_core::offline::MAX_PACKET_BYTES {
                    Err(FailReason::PacketTooLarge)
                } else {
                    let b = &self.agents[payee];
                    self.proto
                        .accept_packet(
                            &packet,
                            &b.keys,
                            amt,
                            &self.policy,
                            &b.book,
                            now,
                            &mut self.work,
                        )
                        .map_err(|e| FailReason::from_offline(&e))
                };
                if reused {
                    self.metrics.double_spend_attempt(verdict.is_ok(), day);
                }
                match verdict {
                    Ok(()) => {
                        let txid = packet.tx.id();
                        let purse = packet.cert.purse.to_bytes();
                        let fraud = self.agents[payer].fraud;
                        // Only a double spender's notes can be offered twice.
                        if fraud {
                            for input in &packet.tx.inputs {
                                self.metrics.offline_spent_notes.insert(*input);
                            }
                        }
                        let inputs_units: u64 =
                            job.inputs.iter().map(|i| i.opening.amount.units()).sum();
                        let fee_units = split.scheme_gets;
                        let change_units = inputs_units - amt.units() - fee_units;
                        if fraud {
                            self.pending.claims_units += amt.units() + fee_units;
                        } else {
                            self.pending.unsettled_units += amt.units() + fee_units;
                            self.pending.change_units += change_units;
                        }
                        self.agents[payee].owed_units += amt.units();
                        let payee_kind = self.scenario.segments[self.agents[payee].segment].kind;
                        if payee_kind == SegmentKind::Merchant {
                            self.metrics
                                .merchant_exposure(self.agents[payee].owed_units);
                        }
                        let p = self.packets.push(Packet {
                            tx: Some(packet.tx.clone()),
                            cert: Some(packet.cert.clone()),
                            txid,
                            purse,
                            payer,
                            payee,
                            amount: amt,
                            paid_tick: t,
                            state: PacketState::Pending,
                            double_spend: reused,
                            fraud,
                            change_units,
                            fee_units,
                            inputs: job.held,
                        });
                        let book = &mut self.agents[payee].book;
                        let e = book.per_purse.entry(purse).or_insert(Amount::ZERO);
                        *e = e.checked_add(amt).unwrap_or(*e);
                        book.total = book.total.checked_add(amt).unwrap_or(book.total);
                        book.counters.insert(purse, packet.counter);
                        book.txids.insert(txid);
                        book.held.push(p);
                        if !fraud {
                            self.agents[payer].outgoing.push(p);
                        }
                        let (ps, qs) = (self.agents[payer].segment, self.agents[payee].segment);
                        self.metrics.completed(
                            flow,
                            PaymentPath::Offline,
                            (payer, ps),
                            (payee, qs),
                            split.amount,
                            0,
                            day,
                            (bytes, proof_bytes, packet_bytes),
                            packet.tx.inputs.len(),
                        );
                        self.metrics.fees_moved(split.scheme_gets, split.commission);
                    }
                    Err(reason) => {
                        // The refused packet is discarded; an honest purse takes its notes back
                        // (their proofs still hold at the same checkpoint).
                        let proofs = packet.inputs.iter().map(|p| p.proof.clone());
                        for (h, proof) in job.held.into_iter().zip(proofs) {
                            self.agents[payer].purse.push(PurseNote {
                                id: h.id,
                                opening: h.opening,
                                proof: Some(Arc::new(proof)),
                            });
                        }
                        self.metrics.failed(flow, reason, day);
                    }
                }
            }
        }
    }
}
