use super::*;

/// The scenario's tiers as the network parameters' tier table, and the turnover period in days.
pub(crate) fn tier_limits(scenario: &Scenario) -> (Vec<dfc_core::TierLimits>, u32) {
    let tiers: Vec<dfc_core::TierLimits> = scenario
        .policy
        .tiers
        .iter()
        .enumerate()
        .map(|(i, t)| dfc_core::TierLimits {
            tier: u8::try_from(i).expect("at most 8 tiers (validated)"),
            name: t.name.clone(),
            max_payment: t.max_payment.0,
            max_balance: t.max_balance.0,
            offline_cap: t.offline_cap.0,
            // No turnover limit unless the scenario sets one.
            max_inflow: t.max_inflow.map(|m| m.0).unwrap_or_else(|| {
                dfc_core::Amount::from_units(dfc_core::Amount::MAX_SUPPLY)
                    .unwrap_or(t.max_balance.0)
            }),
        })
        .collect();
    let period_days = scenario
        .policy
        .turnover_period_days
        .unwrap_or(dfc_core::params::DEFAULT_TURNOVER_PERIOD_DAYS);
    (tiers, period_days)
}

/// Draws one member's tier, whether it double-spends, and whether it starts online, from the
/// population stream (the same draws in every fidelity).
pub(crate) fn draw_member(
    rng: &mut ChaCha20Rng,
    scenario: &Scenario,
    seg: &crate::scenario::Segment,
    cheats: bool,
) -> (usize, bool, bool) {
    let dev = &scenario.devices[scenario
        .device_index(&seg.device)
        .expect("segment devices exist (validated)")];
    let draw: f64 = rng.gen();
    let mut acc = 0.0;
    let mut tier = seg.tier_mix.len() - 1;
    for (t, share) in seg.tier_mix.iter().enumerate() {
        acc += share;
        if draw < acc {
            tier = t;
            break;
        }
    }
    let fraud = cheats
        && dev.offline_payments
        && rng.gen::<f64>() < scenario.adversaries.double_spend_share;
    let online = rng.gen::<f64>() >= dev.offline_share;
    (tier, fraud, online)
}

/// The flows as per-member schedules (members numbered segment by segment, in scenario order).
pub(crate) fn flow_plans(scenario: &Scenario) -> Vec<FlowPlan> {
    let mut starts = Vec::new();
    let mut offset = 0usize;
    for seg in &scenario.segments {
        starts.push(offset);
        offset += usize::try_from(seg.count).expect("segment counts fit in memory");
    }
    let members = |si: usize| -> Vec<usize> {
        let n = usize::try_from(scenario.segments[si].count).expect("fits");
        (starts[si]..starts[si] + n).collect()
    };
    scenario
        .flows
        .iter()
        .map(|f| {
            let from = scenario.segment_index(&f.from).expect("validated");
            let to = scenario.segment_index(&f.to).expect("validated");
            #[allow(
                clippy::cast_possible_truncation,
                clippy::cast_sign_loss,
                reason = "fee_percent is validated to 0..=100, so parts per million fit"
            )]
            let fee_ppm = (f.fee_percent.unwrap_or(0.0) * 10_000.0).round() as u64;
            FlowPlan {
                kind: f.kind,
                from: members(from),
                to: members(to),
                per_hour: {
                    let per_day = f.per_day.unwrap_or(0.0);
                    let mut p = [per_day / 24.0; 24];
                    if let Some(w) = &f.hourly_profile {
                        let sum: f64 = w.iter().sum();
                        for (h, x) in w.iter().enumerate().take(24) {
                            p[h] = per_day * x / sum;
                        }
                    }
                    p
                },
                interval_days: u64::from(f.interval_days.unwrap_or(1)),
                min: f.amount_min.units(),
                max: f.amount_max.units(),
                fee_ppm,
                fee_fixed: f.fee_fixed.map(|m| m.units()).unwrap_or(0),
            }
        })
        .collect()
}

/// The payees' acceptance policy.
pub(crate) fn accept_policy(scenario: &Scenario) -> AcceptPolicy {
    let acc = &scenario.policy.acceptance;
    AcceptPolicy {
        max_per_payer: acc.max_per_payer.0,
        max_unsettled: acc.max_unsettled.0,
        max_checkpoint_age_ms: u64::from(acc.max_checkpoint_age_hours) * TICK_MS,
    }
}

impl<'a> Sim<'a> {
    /// Sets up the population and issues the initial balances.
    pub fn new(scenario: &'a Scenario, seed: u64, fidelity: Fidelity) -> Result<Self, SimError> {
        let (tiers, period_days) = tier_limits(scenario);
        let proto = Protocol::new(fidelity, seed, tiers, period_days);
        let network = proto.params.network_id;
        let mut rng = ChaCha20Rng::seed_from_u64(seed);
        let mut agents = Vec::new();
        for (si, seg) in scenario.segments.iter().enumerate() {
            let device = scenario
                .device_index(&seg.device)
                .expect("segment devices exist (validated)");
            let cheats = scenario.adversaries.segments.contains(&seg.name);
            for m in 0..seg.count {
                let keys =
                    WalletKeys::from_seed(format!("dfc-sims/{seed}/{}/{m}", seg.name).as_bytes());
                let purse_key = keys.purse_key(0);
                let (tier, fraud, online) = draw_member(&mut rng, scenario, seg, cheats);
                agents.push(Agent {
                    segment: si,
                    device,
                    tier: u8::try_from(tier).expect("at most 8 tiers (validated)"),
                    address: keys.address(network),
                    purse_address: keys.purse_address(network, 0),
                    keys,
                    purse_key,
                    online,
                    fraud,
                    frozen: false,
                    notes: Vec::new(),
                    purse: Vec::new(),
                    cert: None,
                    checkpoint: None,
                    counter: 0,
                    book: Book::default(),
                    outgoing: Vec::new(),
                    owed_units: 0,
                    inflight_change_units: 0,
                    held: Vec::new(),
                    inflow_units: 0,
                    inflow_period: 0,
                });
            }
        }
        let flows = flow_plans(scenario);
        let policy = accept_policy(scenario);
        let metrics = Metrics::new(scenario, fidelity, seed, &agents_segments(&agents));
        let ledger = MemoryLedger::new(proto.params.clone());
        let tiers = events::base_tiers(scenario);
        let conditions = events::Conditions::base(scenario);
        let fee_plan = fees::FeePlan::new(&scenario.policy.fees);
        let scheme = fee_plan
            .any()
            .then(|| fees::Scheme::new(seed, proto.params.network_id));
        let mut sim = Sim {
            scenario,
            seed,
            proto,
            ledger,
            agents,
            packets: Packets::default(),
            spent_by: HashMap::new(),
            offline_txs: HashMap::new(),
            flows,
            rng,
            next_job: 0,
            cert_serial: 0,
            policy,
            pending: Pending::default(),
            tiers,
            conditions,
            fee_plan,
            scheme,
            metrics,
            work: Work::default(),
        };
        for (i, a) in sim.agents.iter().enumerate() {
            if a.fraud {
                sim.metrics.adversary(i, a.segment);
            }
        }
        sim.initial_issuance()?;
        Ok(sim)
    }
}

impl Sim<'_> {
    /// Government and remitter wallets hold their float in 16 notes, so that they can make up to
    /// 16 payments in one hour (a note's change is only spendable once committed).
    pub(super) fn float_notes(&self, i: usize) -> u64 {
        let kind = self.scenario.segments[self.agents[i].segment].kind;
        if matches!(kind, SegmentKind::Government | SegmentKind::Remitter) {
            16
        } else {
            1
        }
    }

    /// Issues every member's initial balance (up to 16 notes per issuance), built in parallel.
    pub(super) fn initial_issuance(&mut self) -> Result<(), SimError> {
        let mut chunks: Vec<Vec<(usize, u64)>> = vec![Vec::new()];
        for i in 0..self.agents.len() {
            let units = self.scenario.segments[self.agents[i].segment]
                .initial_balance
                .units();
            let n = self.float_notes(i).min(units);
            if n == 0 {
                continue;
            }
            if chunks.last().map(Vec::len).unwrap_or(0) + usize::try_from(n).expect("small") > 16 {
                chunks.push(Vec::new());
            }
            let last = chunks.last_mut().expect("never empty");
            for k in 0..n {
                last.push((i, units / n + u64::from(k < units % n)));
            }
        }
        chunks.retain(|c| !c.is_empty());
        let base = self.next_job;
        self.next_job += u64::try_from(chunks.len()).expect("fits");
        let built: Vec<_> = chunks
            .par_iter()
            .enumerate()
            .map(|(k, chunk)| {
                let payments: Vec<Payment> = chunk
                    .iter()
                    .map(|(i, u)| Payment {
                        to: self.agents[*i].address,
                        amount: amount(*u),
                        memo: Vec::new(),
                    })
                    .collect();
                let total = amount(chunk.iter().map(|(_, u)| u).sum());
                let mut rng = self.job_rng(base + u64::try_from(k).expect("fits"));
                self.proto
                    .build(TxKind::Issue, total, &[], &payments, &mut rng)
            })
            .collect();
        for (chunk, b) in chunks.iter().zip(built) {
            let (built, work) = b?;
            self.work.add(work);
            let ids = self
                .proto
                .submit(&mut self.ledger, &built.tx, None, &mut self.work)
                .map_err(|source| SimError::Ledger {
                    what: "the initial issuance",
                    source,
                })?;
            for ((i, _), (id, opening)) in chunk.iter().zip(ids.into_iter().zip(built.openings)) {
                self.agents[*i].notes.push(Held { id, opening });
            }
            self.metrics.issued_initial += built.tx.public_amount.units();
        }
        Ok(())
    }

    /// Government and remitter wallets are topped up to their initial balance by issuance at the
    /// start of every day (conversion of reserves).
    pub(super) fn top_up(&mut self, t: u64) -> Result<(), SimError> {
        for i in 0..self.agents.len() {
            let seg = &self.scenario.segments[self.agents[i].segment];
            if !matches!(seg.kind, SegmentKind::Government | SegmentKind::Remitter) {
                continue;
            }
            let target = seg.initial_balance.units();
            let have = self.agents[i].online_units();
            if t == 0 || have >= target {
                continue;
            }
            let units = target - have;
            self.issue_to(i, units)?;
            self.metrics.issued_topup += units;
        }
        Ok(())
    }

    pub(super) fn issue_to(&mut self, i: usize, units: u64) -> Result<(), SimError> {
        let id = self.next_job;
        self.next_job += 1;
        let n = self.float_notes(i).min(units);
        let payments: Vec<Payment> = (0..n)
            .map(|k| Payment {
                to: self.agents[i].address,
                amount: amount(units / n + u64::from(k < units % n)),
                memo: Vec::new(),
            })
            .collect();
        let mut rng = self.job_rng(id);
        let (built, work) =
            self.proto
                .build(TxKind::Issue, amount(units), &[], &payments, &mut rng)?;
        self.work.add(work);
        let ids = self
            .proto
            .submit(&mut self.ledger, &built.tx, None, &mut self.work)
            .map_err(|source| SimError::Ledger {
                what: "an issuance",
                source,
            })?;
        for (id, opening) in ids.into_iter().zip(built.openings) {
            self.agents[i].notes.push(Held { id, opening });
        }
        Ok(())
    }
}

pub(super) fn agents_segments(agents: &[Agent]) -> Vec<usize> {
    agents.iter().map(|a| a.segment).collect()
}
