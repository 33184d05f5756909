//! Setup, issuance, and the end of each day and of the run (balances, the accounting identity).

use rand_core::SeedableRng;

use super::*;
use crate::engine::setup::{accept_policy, draw_member, flow_plans, tier_limits};
use crate::engine::Identity;
use crate::proto::Fidelity;

impl<'a> Sim<'a> {
    /// Sets up the population and issues the initial balances.
    pub fn new(scenario: &'a Scenario, seed: u64) -> Result<Self, SimError> {
        let (tiers, period_days) = tier_limits(scenario);
        // The `fast` protocol: its parameters, and the builder the size oracle measures with.
        let proto = Protocol::new(Fidelity::Fast, seed, tiers, period_days);
        let mut rng = ChaCha20Rng::seed_from_u64(seed);
        let total: u64 = scenario.segments.iter().map(|s| u64::from(s.count)).sum();
        let mut agents = Vec::with_capacity(usize::try_from(total).unwrap_or(0));
        for (si, seg) in scenario.segments.iter().enumerate() {
            let device = scenario
                .device_index(&seg.device)
                .expect("segment devices exist (validated)");
            let cheats = scenario.adversaries.segments.contains(&seg.name);
            for _ in 0..seg.count {
                let (tier, fraud, online) = draw_member(&mut rng, scenario, seg, cheats);
                agents.push(Agent {
                    segment: u16::try_from(si).expect("few segments"),
                    device: u16::try_from(device).expect("few devices"),
                    tier: u8::try_from(tier).expect("at most 8 tiers (validated)"),
                    online,
                    fraud,
                    frozen: false,
                    notes: Vec::new(),
                    purse: Vec::new(),
                    cert: None,
                    checkpoint_ms: None,
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
        let segments: Vec<usize> = agents.iter().map(Agent::segment).collect();
        let metrics = Metrics::new(scenario, Fidelity::Scale, seed, &segments);
        let fee_plan = FeePlan::new(&scenario.policy.fees);
        let ledger = NoteLedger::new(proto.params.limits.clone());
        let mut sim = Sim {
            scenario,
            proto,
            ledger,
            sizes: SizeOracle::new(),
            agents,
            packets: HashMap::new(),
            next_packet: 0,
            offline_spent_notes: std::collections::HashSet::new(),
            spent_by: HashMap::new(),
            offline_txs: HashMap::new(),
            flows: flow_plans(scenario),
            rng,
            policy: accept_policy(scenario),
            pending: Pending::default(),
            tiers: events::base_tiers(scenario),
            conditions: Conditions::base(scenario),
            fee_plan,
            scheme: fee_plan.any().then(Scheme::default),
            metrics,
        };
        for (i, a) in sim.agents.iter().enumerate() {
            if a.fraud {
                sim.metrics.adversary(i, a.segment());
            }
        }
        sim.initial_issuance()?;
        Ok(sim)
    }

    /// Government and remitter wallets hold their float in 16 notes.
    fn float_notes(&self, i: usize) -> u64 {
        let kind = self.scenario.segments[self.agents[i].segment()].kind;
        if matches!(kind, SegmentKind::Government | SegmentKind::Remitter) {
            16
        } else {
            1
        }
    }

    /// Issues every member's initial balance, up to 16 notes per issuance as in `fast`.
    fn initial_issuance(&mut self) -> Result<(), SimError> {
        let mut chunk: Vec<(usize, u64)> = Vec::new();
        for i in 0..self.agents.len() {
            let units = self.scenario.segments[self.agents[i].segment()]
                .initial_balance
                .units();
            let n = self.float_notes(i).min(units);
            if n == 0 {
                continue;
            }
            if chunk.len() + usize::try_from(n).expect("small") > 16 {
                self.issue_chunk(&std::mem::take(&mut chunk))?;
            }
            for k in 0..n {
                chunk.push((i, units / n + u64::from(k < units % n)));
            }
        }
        if !chunk.is_empty() {
            self.issue_chunk(&chunk)?;
        }
        Ok(())
    }

    fn issue_chunk(&mut self, chunk: &[(usize, u64)]) -> Result<(), SimError> {
        let outputs: Vec<(u32, u64)> = chunk
            .iter()
            .map(|(i, u)| (Owner::Wallet(index(*i)).key(), *u))
            .collect();
        let total: u64 = outputs.iter().map(|(_, u)| *u).sum();
        let ids = self
            .ledger
            .apply(Kind::Issue(total), &[], &outputs, None)
            .map_err(|source| SimError::Ledger {
                what: "the initial issuance",
                source,
            })?;
        for ((i, units), id) in chunk.iter().zip(ids) {
            self.agents[*i].notes.push(Note { id, units: *units });
        }
        self.metrics.issued_initial += total;
        Ok(())
    }

    /// Government and remitter wallets are topped up to their initial balance each day.
    pub(super) fn top_up(&mut self, t: u64) -> Result<(), SimError> {
        for i in 0..self.agents.len() {
            let seg = &self.scenario.segments[self.agents[i].segment()];
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
        let n = self.float_notes(i).min(units);
        let key = Owner::Wallet(index(i)).key();
        let outputs: Vec<(u32, u64)> = (0..n)
            .map(|k| (key, units / n + u64::from(k < units % n)))
            .collect();
        let ids = self
            .ledger
            .apply(Kind::Issue(units), &[], &outputs, None)
            .map_err(|source| SimError::Ledger {
                what: "an issuance",
                source,
            })?;
        for (id, (_, units)) in ids.into_iter().zip(outputs) {
            self.agents[i].notes.push(Note { id, units });
        }
        Ok(())
    }

    /// What each wallet holds on the ledger (a double spender's purse checked against it).
    fn holdings(&self) -> Vec<u64> {
        self.agents
            .iter()
            .map(|a| {
                let purse: u64 = if a.fraud {
                    a.purse
                        .iter()
                        .filter(|n| self.ledger.is_unspent(n.id))
                        .map(|n| n.units)
                        .sum()
                } else {
                    a.purse_units()
                };
                a.online_units() + purse + a.held_units()
            })
            .collect()
    }

    /// Checks supply = Σ balances + Σ unsettled + Σ pending change.
    fn check_identity(&self, day: u64, holdings: &[u64]) -> Result<Identity, SimError> {
        let scheme = self
            .scheme
            .as_ref()
            .map_or(0, |s| s.notes.iter().map(|n| n.units).sum());
        let id = Identity {
            supply: self.ledger.supply(),
            balances: holdings.iter().sum::<u64>() + scheme,
            scheme,
            unsettled: self.pending.unsettled_units,
            pending_change: self.pending.change_units,
            double_spend_claims: self.pending.claims_units,
        };
        if id.supply != id.balances + id.unsettled + id.pending_change {
            return Err(SimError::Accounting {
                day,
                supply: id.supply,
                balances: id.balances,
                unsettled: id.unsettled,
                pending_change: id.pending_change,
            });
        }
        Ok(id)
    }

    pub(super) fn end_of_day(&mut self, day: u64) -> Result<(), SimError> {
        let holdings = self.holdings();
        let id = self.check_identity(day, &holdings)?;
        let mut per_segment = vec![0u64; self.scenario.segments.len()];
        for (a, h) in self.agents.iter().zip(&holdings) {
            per_segment[a.segment()] += h;
        }
        if let Some(below) = self.metrics.rebalance_below() {
            let low = self
                .agents
                .iter()
                .zip(&holdings)
                .filter(|(a, h)| {
                    self.scenario.segments[a.segment()].kind == SegmentKind::Agent && **h < below
                })
                .count();
            self.metrics
                .low_float_agents(u64::try_from(low).unwrap_or(u64::MAX));
        }
        self.metrics.end_of_day(day, per_segment, id);
        Ok(())
    }

    pub(super) fn finish(&mut self) -> Result<(), SimError> {
        self.ledger.audit().map_err(SimError::Audit)?;
        let holdings = self.holdings();
        let last_day = u64::from(self.scenario.days).saturating_sub(1);
        let identity = self.check_identity(last_day, &holdings)?;
        let (mut pending, mut pending_value, mut pending_fraud_value) = (0u64, 0u64, 0u64);
        for p in self.packets.values() {
            if p.state == PacketState::Pending {
                pending += 1;
                pending_value += p.amount;
                if p.double_spend {
                    pending_fraud_value += p.amount;
                }
            }
        }
        let balances: Vec<(usize, u64)> = self
            .agents
            .iter()
            .zip(&holdings)
            .map(|(a, h)| (a.segment(), *h))
            .collect();
        self.metrics.finish(
            crate::metrics::EndInput {
                pending,
                pending_value,
                pending_fraud_value,
                tx_count: self.ledger.tx_count(),
                unspent: self.ledger.unspent_count(),
                spent: self.ledger.spent_count(),
                held: self.agents.iter().fold((0, 0), |(n, v), a| {
                    (
                        n + u64::try_from(a.held.len()).unwrap_or(u64::MAX),
                        v + a.held_units(),
                    )
                }),
                identity,
            },
            &balances,
        );
        Ok(())
    }
}
