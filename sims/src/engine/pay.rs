use super::*;
use crate::engine::decide::{Parts, Party, Payments};
use crate::engine::fees::Split;

impl Payments for Sim<'_> {
    type Job = Job;

    fn parts(&mut self) -> Parts<'_> {
        Parts {
            scenario: self.scenario,
            flows: &self.flows,
            conditions: &self.conditions,
            fee_plan: &self.fee_plan,
            metrics: &mut self.metrics,
            rng: &mut self.rng,
        }
    }

    fn party(&self, i: usize) -> Party {
        let a = &self.agents[i];
        Party {
            segment: a.segment,
            device: a.device,
            online: a.online,
            frozen: a.frozen,
            balance_units: a.balance_units(),
            tier: self.tier(a.tier),
        }
    }

    fn decide_online(&mut self, intent: Intent, split: Split, fee_micro: u128, t: u64) -> Decision {
        self.choose_online(intent, split, fee_micro, t)
    }

    fn decide_offline(&mut self, intent: Intent, split: Split) -> Option<Job> {
        self.choose_offline(intent, split)
    }
}

impl Sim<'_> {
    /// A purse below half its cap is refilled from the online notes, in `purse_notes` notes.
    pub(super) fn refill(&mut self, i: usize) -> Option<Job> {
        let a = &self.agents[i];
        let dev = &self.scenario.devices[a.device];
        if !a.online || !dev.offline_payments || a.frozen || a.cert.is_none() {
            return None;
        }
        let cap = self.tier(a.tier).offline_cap;
        let have = a.purse_units();
        if cap == 0 || have * 2 >= cap {
            return None;
        }
        let need = (cap - have).min(a.online_units());
        let n = u64::from(self.scenario.policy.purse_notes);
        if need < n {
            return None;
        }
        let amounts: Vec<u64> = a.notes.iter().map(|h| h.opening.amount.units()).collect();
        let max_in = self.proto.params.limits.max_inputs;
        let chosen = select(&amounts, need, max_in).ok()?;
        let held = take(&mut self.agents[i].notes, &chosen);
        let total: u64 = held.iter().map(|h| h.opening.amount.units()).sum();
        // All of it comes back within the hour (purse notes are spendable online too).
        self.agents[i].inflight_change_units += total;
        let a = &self.agents[i];
        let mut payments: Vec<Payment> = (0..n)
            .map(|k| Payment {
                to: a.purse_address,
                amount: amount(need / n + u64::from(k < need % n)),
                memo: Vec::new(),
            })
            .collect();
        if total > need {
            payments.push(Payment {
                to: a.address,
                amount: amount(total - need),
                memo: Vec::new(),
            });
        }
        let id = self.next_job;
        self.next_job += 1;
        Some(Job {
            id,
            kind: JobKind::Fund {
                agent: i,
                purse_outputs: usize::try_from(n).expect("at most 8"),
            },
            inputs: held
                .iter()
                .map(|h| SpendInput {
                    id: h.id,
                    opening: h.opening.clone(),
                    key: a.keys.spend.clone(),
                })
                .collect(),
            held,
            purse_held: Vec::new(),
            payments,
        })
    }

    /// An online payment spends the wallet's online notes and, when they do not cover it, its
    /// purse notes too (they are ordinary ledger notes under the purse key). A double spender's
    /// purse notes already spent offline are left out: spending them online is not modelled.
    fn choose_online(
        &mut self,
        intent: Intent,
        split: fees::Split,
        fee_micro: u128,
        t: u64,
    ) -> Decision {
        let Intent {
            flow: f,
            payer,
            payee,
            ..
        } = intent;
        // What leaves the wallet: the amount and any fee on top.
        let units = split.payer_pays;
        let kind = self.flows[f].kind;
        let day = t / TICKS_PER_DAY;
        let max_in = self.proto.params.limits.max_inputs;
        let a = &self.agents[payer];
        let purse_free: Vec<usize> = (0..a.purse.len())
            .filter(|k| !self.metrics.offline_spent_notes.contains(&a.purse[*k].id))
            .collect();
        // Candidates: online notes first, then free purse notes.
        let mut amounts: Vec<u64> = a.notes.iter().map(|h| h.opening.amount.units()).collect();
        let online_count = amounts.len();
        let online_total: u64 = amounts.iter().sum();
        let chosen = if online_total >= units {
            select(&amounts, units, max_in)
        } else {
            amounts.extend(
                purse_free
                    .iter()
                    .map(|k| a.purse[*k].opening.amount.units()),
            );
            select(&amounts, units, max_in)
        };
        let chosen = match chosen {
            Ok(c) => c,
            Err(true) => {
                self.metrics.failed(kind, FailReason::TooManyNotes, day);
                return Decision::Failed;
            }
            Err(false) => {
                let spendable: u64 = amounts.iter().sum::<u64>()
                    + if amounts.len() == online_count {
                        purse_free
                            .iter()
                            .map(|k| a.purse[*k].opening.amount.units())
                            .sum()
                    } else {
                        0
                    };
                if a.inflight_change_units > 0 && spendable + a.inflight_change_units >= units {
                    return Decision::Wait;
                }
                self.metrics
                    .failed(kind, FailReason::InsufficientFunds, day);
                return Decision::Failed;
            }
        };
        let online_idx: Vec<usize> = chosen
            .iter()
            .copied()
            .filter(|c| *c < online_count)
            .collect();
        let purse_idx: Vec<usize> = chosen
            .iter()
            .filter(|c| **c >= online_count)
            .map(|c| purse_free[*c - online_count])
            .collect();
        let held = take(&mut self.agents[payer].notes, &online_idx);
        let purse_held = take(&mut self.agents[payer].purse, &purse_idx);
        let a = &self.agents[payer];
        let total: u64 = held.iter().map(|h| h.opening.amount.units()).sum::<u64>()
            + purse_held
                .iter()
                .map(|h| h.opening.amount.units())
                .sum::<u64>();
        let change = total - units;
        let payments = self.payment_outputs(payee, split, total, a.address);
        let mut inputs: Vec<SpendInput> = held
            .iter()
            .map(|h| SpendInput {
                id: h.id,
                opening: h.opening.clone(),
                key: a.keys.spend.clone(),
            })
            .collect();
        inputs.extend(purse_held.iter().map(|n| SpendInput {
            id: n.id,
            opening: n.opening.clone(),
            key: a.purse_key.clone(),
        }));
        let id = self.next_job;
        self.next_job += 1;
        self.agents[payer].inflight_change_units += change;
        Decision::Job(Box::new(Job {
            id,
            kind: JobKind::Online {
                payer,
                payee,
                split,
                flow: kind,
                fee_micro,
            },
            inputs,
            held,
            purse_held,
            payments,
        }))
    }

    /// An offline payment spends certified purse notes; `None` when they do not cover it.
    fn choose_offline(&mut self, intent: Intent, split: fees::Split) -> Option<Job> {
        let Intent {
            flow: f,
            payer,
            payee,
            ..
        } = intent;
        // What leaves the purse: the amount and any fee on top.
        let units = split.payer_pays;
        let kind = self.flows[f].kind;
        let max_in = self.proto.params.limits.max_inputs;
        let a = &self.agents[payer];
        if a.cert.is_none() || a.checkpoint.is_none() {
            return None;
        }
        let ready: Vec<usize> = (0..a.purse.len())
            .filter(|k| a.purse[*k].proof.is_some())
            .collect();
        let amounts: Vec<u64> = ready
            .iter()
            .map(|k| a.purse[*k].opening.amount.units())
            .collect();
        let chosen: Vec<usize> = match select(&amounts, units, max_in) {
            Ok(c) => c.into_iter().map(|c| ready[c]).collect(),
            Err(_) => return None,
        };
        let fraud = a.fraud;
        // An honest purse gives its notes up; a cheat keeps them to spend again.
        let notes: Vec<PurseNote> = if fraud {
            chosen.iter().map(|k| a.purse[*k].clone()).collect()
        } else {
            take(&mut self.agents[payer].purse, &chosen)
        };
        let a = &mut self.agents[payer];
        a.counter += 1;
        let total: u64 = notes.iter().map(|n| n.opening.amount.units()).sum();
        let payments = self.payment_outputs(payee, split, total, self.agents[payer].purse_address);
        let a = &self.agents[payer];
        let id = self.next_job;
        self.next_job += 1;
        Some(Job {
            id,
            kind: JobKind::Offline {
                payer,
                payee,
                amount: amount(split.payee_gets),
                split,
                flow: kind,
                counter: a.counter,
                proofs: notes
                    .iter()
                    .map(|n| {
                        MerkleProof::clone(
                            n.proof
                                .as_ref()
                                .expect("only checkpointed notes are chosen"),
                        )
                    })
                    .collect(),
            },
            inputs: notes
                .iter()
                .map(|n| SpendInput {
                    id: n.id,
                    opening: n.opening.clone(),
                    key: a.purse_key.clone(),
                })
                .collect(),
            held: if fraud {
                Vec::new()
            } else {
                notes
                    .into_iter()
                    .map(|n| Held {
                        id: n.id,
                        opening: n.opening,
                    })
                    .collect()
            },
            purse_held: Vec::new(),
            payments,
        })
    }
}
