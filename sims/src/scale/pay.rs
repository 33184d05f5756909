//! Purse refills and payments: decided as in the engine (`engine/pay.rs`), committed in
//! decision order (`engine/commit.rs`).

use super::*;

impl Sim<'_> {
    /// A purse below half its cap is refilled from the online notes, in `purse_notes` notes.
    pub(super) fn refill(&mut self, i: usize) -> Option<Job> {
        let a = &self.agents[i];
        let dev = &self.scenario.devices[a.device()];
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
        let amounts: Vec<u64> = a.notes.iter().map(|h| h.units).collect();
        let max_in = self.proto.params.limits.max_inputs;
        let chosen = select(&amounts, need, max_in).ok()?;
        let held = take(&mut self.agents[i].notes, &chosen);
        let total: u64 = held.iter().map(|h| h.units).sum();
        self.agents[i].inflight_change_units += total;
        let mut outputs: Vec<(Owner, u64)> = (0..n)
            .map(|k| (Owner::Purse(index(i)), need / n + u64::from(k < need % n)))
            .collect();
        if total > need {
            outputs.push((Owner::Wallet(index(i)), total - need));
        }
        Some(Job {
            kind: JobKind::Fund {
                agent: i,
                purse_outputs: usize::try_from(n).expect("at most 8"),
            },
            spend_inputs: held,
            purse_inputs: Vec::new(),
            outputs,
        })
    }

    /// Decides this hour's payments; returns those waiting for their payer's change.
    pub(super) fn decide_payments(&mut self, t: u64, jobs: &mut Vec<Job>) -> Vec<Intent> {
        let mut waiting = Vec::new();
        let day = t / TICKS_PER_DAY;
        let hour = t % TICKS_PER_DAY;
        let mut intents: Vec<(usize, usize, u64)> = Vec::new();
        for f in 0..self.flows.len() {
            intents.clear();
            let plan = &self.flows[f];
            let kind = plan.kind;
            if kind == FlowKind::G2p {
                if (8..18).contains(&hour) && day % plan.interval_days == 0 {
                    let (min, max) = (plan.min, plan.max);
                    for (k, payee) in plan.to.iter().enumerate() {
                        if u64::try_from(k % 10).expect("small") != hour - 8 {
                            continue;
                        }
                        let payer = plan.from[self.rng.gen_range(0..plan.from.len())];
                        let units = self.rng.gen_range(min..=max);
                        intents.push((payer, *payee, units));
                    }
                }
            } else {
                let (initiators, others) = if kind.initiated_by_payee() {
                    (&plan.to, &plan.from)
                } else {
                    (&plan.from, &plan.to)
                };
                let (p, min, max) = (
                    plan.per_hour[usize::try_from(hour).unwrap_or(0)]
                        * self.conditions.flow_factor[f],
                    plan.min,
                    plan.max,
                );
                for &me in initiators {
                    if self.rng.gen::<f64>() >= p {
                        continue;
                    }
                    let mut other = others[self.rng.gen_range(0..others.len())];
                    if other == me {
                        let k = others.iter().position(|x| *x == me).unwrap_or(0);
                        other = others
                            [(k + 1 + self.rng.gen_range(0..others.len() - 1)) % others.len()];
                    }
                    let units = self.rng.gen_range(min..=max);
                    if kind.initiated_by_payee() {
                        intents.push((other, me, units));
                    } else {
                        intents.push((me, other, units));
                    }
                }
            }
            for &(payer, payee, units) in &intents {
                self.metrics.attempt(kind, self.agents[payer].segment());
                let intent = Intent {
                    flow: f,
                    payer,
                    payee,
                    units,
                };
                match self.decide(intent, t) {
                    Decision::Job(job) => jobs.push(*job),
                    Decision::Wait => waiting.push(intent),
                    Decision::Failed => {}
                }
            }
        }
        waiting
    }

    /// Decides how one payment goes: fails now, waits for change in flight, or becomes a job.
    pub(super) fn decide(&mut self, intent: Intent, t: u64) -> Decision {
        let Intent {
            flow: f,
            payer,
            payee,
            units,
        } = intent;
        let plan = &self.flows[f];
        let kind = plan.kind;
        let fee_micro = if kind == FlowKind::Remittance {
            u128::from(plan.fee_fixed) * 1_000_000 + u128::from(units) * u128::from(plan.fee_ppm)
        } else {
            0
        };
        let day = t / TICKS_PER_DAY;
        let fail = |s: &mut Self, reason: FailReason| {
            s.metrics.failed(kind, reason, day);
            Decision::Failed
        };
        let (a, b) = (&self.agents[payer], &self.agents[payee]);
        let (payer_tier, payee_tier) = (self.tier(a.tier), self.tier(b.tier));
        if kind == FlowKind::CashOut {
            let cash = self.conditions.cash_share[b.segment()];
            if cash < 1.0 && self.rng.gen::<f64>() >= cash {
                return fail(self, FailReason::AgentOutOfCash);
            }
        }
        let (a, b) = (&self.agents[payer], &self.agents[payee]);
        if units > payer_tier.max_payment {
            return fail(self, FailReason::OverPaymentLimit);
        }
        let split = self.fee_plan.split(kind, units);
        if b.balance_units() + split.payee_gets > payee_tier.max_balance {
            return fail(self, FailReason::PayeeOverBalanceLimit);
        }
        let online = if kind.in_person() {
            a.online && b.online
        } else {
            if !a.online {
                return fail(self, FailReason::PayerOffline);
            }
            true
        };
        if online {
            if a.frozen {
                return fail(self, FailReason::WalletFrozen);
            }
            return self.decide_online(intent, split, fee_micro, t);
        }
        let devs = &self.scenario.devices;
        if !devs[a.device()].offline_payments || !devs[b.device()].offline_payments {
            return fail(self, FailReason::NoOfflineSupport);
        }
        match self.decide_offline(intent, split) {
            Some(job) => Decision::Job(Box::new(job)),
            None => fail(self, FailReason::PurseInsufficient),
        }
    }

    /// An online payment: online notes first, then free purse notes, largest first.
    fn decide_online(&mut self, intent: Intent, split: Split, fee_micro: u128, t: u64) -> Decision {
        let Intent {
            flow: f,
            payer,
            payee,
            ..
        } = intent;
        let units = split.payer_pays;
        let kind = self.flows[f].kind;
        let day = t / TICKS_PER_DAY;
        let max_in = self.proto.params.limits.max_inputs;
        let a = &self.agents[payer];
        let purse_free: Vec<usize> = (0..a.purse.len())
            .filter(|k| !a.fraud || !self.offline_spent_notes.contains(&a.purse[*k].id))
            .collect();
        let mut amounts: Vec<u64> = a.notes.iter().map(|h| h.units).collect();
        let online_count = amounts.len();
        let online_total: u64 = amounts.iter().sum();
        let chosen = if online_total >= units {
            select(&amounts, units, max_in)
        } else {
            amounts.extend(purse_free.iter().map(|k| a.purse[*k].units));
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
                        purse_free.iter().map(|k| a.purse[*k].units).sum()
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
        let total: u64 = held.iter().map(|h| h.units).sum::<u64>()
            + purse_held.iter().map(|h| h.units).sum::<u64>();
        let change = total - units;
        let outputs = self.payment_outputs(payee, split, total, Owner::Wallet(index(payer)));
        self.agents[payer].inflight_change_units += change;
        Decision::Job(Box::new(Job {
            kind: JobKind::Online {
                payer,
                payee,
                split,
                flow: kind,
                fee_micro,
            },
            spend_inputs: held,
            purse_inputs: purse_held,
            outputs,
        }))
    }

    /// An offline payment spends certified purse notes; `None` when they do not cover it.
    fn decide_offline(&mut self, intent: Intent, split: Split) -> Option<Job> {
        let Intent {
            flow: f,
            payer,
            payee,
            ..
        } = intent;
        let units = split.payer_pays;
        let kind = self.flows[f].kind;
        let max_in = self.proto.params.limits.max_inputs;
        let a = &self.agents[payer];
        if a.cert.is_none() || a.checkpoint_ms.is_none() {
            return None;
        }
        let ready: Vec<usize> = (0..a.purse.len())
            .filter(|k| a.purse[*k].proof_leaves.is_some())
            .collect();
        let amounts: Vec<u64> = ready.iter().map(|k| a.purse[*k].units).collect();
        let chosen: Vec<usize> = match select(&amounts, units, max_in) {
            Ok(c) => c.into_iter().map(|c| ready[c]).collect(),
            Err(_) => return None,
        };
        let fraud = a.fraud;
        let notes: Vec<PurseNote> = if fraud {
            chosen.iter().map(|k| a.purse[*k]).collect()
        } else {
            take(&mut self.agents[payer].purse, &chosen)
        };
        let a = &mut self.agents[payer];
        a.counter += 1;
        let counter = a.counter;
        let total: u64 = notes.iter().map(|n| n.units).sum();
        let outputs = self.payment_outputs(payee, split, total, Owner::Purse(index(payer)));
        let leaves = notes.first().and_then(|n| n.proof_leaves).unwrap_or(1);
        Some(Job {
            kind: JobKind::Offline {
                payer,
                payee,
                split,
                flow: kind,
                counter,
                leaves,
            },
            spend_inputs: Vec::new(),
            purse_inputs: notes,
            outputs,
        })
    }

    /// The payee's output, the scheme's (if any), then the change (if any).
    fn payment_outputs(
        &self,
        payee: usize,
        split: Split,
        total_in: u64,
        change_to: Owner,
    ) -> Vec<(Owner, u64)> {
        let mut outputs = vec![(Owner::Wallet(index(payee)), split.payee_gets)];
        if self.scheme.is_some() && split.scheme_gets > 0 {
            outputs.push((Owner::Scheme, split.scheme_gets));
        }
        if total_in > split.payer_pays {
            outputs.push((change_to, total_in - split.payer_pays));
        }
        outputs
    }
}
