//! What every fidelity decides the same way before it touches notes: which payments a flow
//! attempts in an hour, and the checks that fail a payment before any note is chosen (agent
//! cash, payment and holding limits, connectivity, frozen wallets, offline support). The
//! `fast`/`full` engine and the `scale` engine both call these, so the two draw the same random
//! numbers in the same order and give the same reports (`sims/tests/scale.rs`).

use rand::Rng;
use rand_chacha::ChaCha20Rng;

use super::events::Conditions;
use super::fees::{FeePlan, Split};
use super::{FlowPlan, Intent, TierNow, TICKS_PER_DAY};
use crate::metrics::{FailReason, Metrics};
use crate::scenario::{FlowKind, Scenario};

/// What deciding a payment led to.
pub(crate) enum Decision<J> {
    /// A transaction or packet to build.
    Job(Box<J>),
    /// The payer's change from earlier this hour is needed: try again next round.
    Wait,
    /// Failed (already counted).
    Failed,
}

/// What an engine lends the shared decisions: its state, and the note selection that differs
/// between fidelities (notes with openings, or integer notes).
pub(crate) trait Payments {
    /// What a payment becomes: the transaction or packet to build.
    type Job;
    /// The scenario, the flows, the day's conditions, the fee plan, the metrics and the run's
    /// decision stream.
    fn parts(&mut self) -> Parts<'_>;
    /// What the checks need of agent `i`.
    fn party(&self, i: usize) -> Party;
    /// Chooses the notes of an online payment that passed the checks.
    fn decide_online(
        &mut self,
        intent: Intent,
        split: Split,
        fee_micro: u128,
        t: u64,
    ) -> Decision<Self::Job>;
    /// Chooses the purse notes of an offline payment that passed the checks; `None` when the
    /// purse cannot cover it.
    fn decide_offline(&mut self, intent: Intent, split: Split) -> Option<Self::Job>;
}

/// Borrowed engine state the shared decisions read and update.
pub(crate) struct Parts<'a> {
    pub(crate) scenario: &'a Scenario,
    pub(crate) flows: &'a [FlowPlan],
    pub(crate) conditions: &'a Conditions,
    pub(crate) fee_plan: &'a FeePlan,
    pub(crate) metrics: &'a mut Metrics,
    pub(crate) rng: &'a mut ChaCha20Rng,
}

/// Decides hour `t`'s payments: jobs go to `jobs`; returns those waiting for their payer's change.
pub(crate) fn decide_payments<P: Payments>(
    sim: &mut P,
    t: u64,
    jobs: &mut Vec<P::Job>,
) -> Vec<Intent> {
    let mut waiting = Vec::new();
    let mut intents: Vec<(usize, usize, u64)> = Vec::new();
    let flows = sim.parts().flows.len();
    for f in 0..flows {
        intents.clear();
        let p = sim.parts();
        let kind = p.flows[f].kind;
        draw_intents(&p.flows[f], f, p.conditions, t, p.rng, &mut intents);
        for &(payer, payee, units) in &intents {
            let segment = sim.party(payer).segment;
            sim.parts().metrics.attempt(kind, segment);
            let intent = Intent {
                flow: f,
                payer,
                payee,
                units,
            };
            match decide(sim, intent, t) {
                Decision::Job(job) => jobs.push(*job),
                Decision::Wait => waiting.push(intent),
                Decision::Failed => {}
            }
        }
    }
    waiting
}

/// Decides the payments still `waiting` for change after a round: jobs go to `jobs`; returns
/// those that still wait. When nothing is in flight any more, whoever waits cannot be paid this
/// hour and fails as `insufficient_funds`.
pub(crate) fn decide_again<P: Payments>(
    sim: &mut P,
    waiting: Vec<Intent>,
    t: u64,
    jobs: &mut Vec<P::Job>,
) -> Vec<Intent> {
    let mut next = Vec::new();
    for intent in waiting {
        match decide(sim, intent, t) {
            Decision::Job(job) => jobs.push(*job),
            Decision::Wait => next.push(intent),
            Decision::Failed => {}
        }
    }
    if jobs.is_empty() {
        let p = sim.parts();
        for intent in next.drain(..) {
            let kind = p.flows[intent.flow].kind;
            p.metrics
                .failed(kind, FailReason::InsufficientFunds, t / TICKS_PER_DAY);
        }
    }
    next
}

/// Decides how one payment goes: fails now, waits for change in flight, or becomes a job.
pub(crate) fn decide<P: Payments>(sim: &mut P, intent: Intent, t: u64) -> Decision<P::Job> {
    let (payer, payee) = (sim.party(intent.payer), sim.party(intent.payee));
    let p = sim.parts();
    let plan = &p.flows[intent.flow];
    let kind = plan.kind;
    let fee = fee_micro(plan, intent.units);
    let way = route(
        kind,
        intent.units,
        payer,
        payee,
        p.scenario,
        p.conditions,
        p.fee_plan,
        p.rng,
    );
    let reason = match way {
        Route::Online(split) => return sim.decide_online(intent, split, fee, t),
        Route::Offline(split) => match sim.decide_offline(intent, split) {
            Some(job) => return Decision::Job(Box::new(job)),
            None => FailReason::PurseInsufficient,
        },
        Route::Fail(reason) => reason,
    };
    sim.parts().metrics.failed(kind, reason, t / TICKS_PER_DAY);
    Decision::Failed
}

/// Appends to `out` the payments flow `plan` (number `flow`) attempts in hour `t`, as
/// (payer, payee, units).
fn draw_intents(
    plan: &FlowPlan,
    flow: usize,
    conditions: &Conditions,
    t: u64,
    rng: &mut ChaCha20Rng,
    out: &mut Vec<(usize, usize, u64)>,
) {
    let day = t / TICKS_PER_DAY;
    let hour = t % TICKS_PER_DAY;
    let (min, max) = (plan.min, plan.max);
    if plan.kind == FlowKind::G2p {
        // Disbursement runs over office hours 08:00-17:59, a tenth of the list an hour.
        if (8..18).contains(&hour) && day % plan.interval_days == 0 {
            for (k, payee) in plan.to.iter().enumerate() {
                if u64::try_from(k % 10).expect("small") != hour - 8 {
                    continue;
                }
                let payer = plan.from[rng.gen_range(0..plan.from.len())];
                let units = rng.gen_range(min..=max);
                out.push((payer, *payee, units));
            }
        }
        return;
    }
    let by_payee = plan.kind.initiated_by_payee();
    let (initiators, others) = if by_payee {
        (&plan.to, &plan.from)
    } else {
        (&plan.from, &plan.to)
    };
    let p = plan.per_hour[usize::try_from(hour).unwrap_or(0)] * conditions.flow_factor[flow];
    for &me in initiators {
        if rng.gen::<f64>() >= p {
            continue;
        }
        let mut other = others[rng.gen_range(0..others.len())];
        if other == me {
            // Pick again among the others (segments paying themselves have >= 2).
            let k = others.iter().position(|x| *x == me).unwrap_or(0);
            other = others[(k + 1 + rng.gen_range(0..others.len() - 1)) % others.len()];
        }
        let units = rng.gen_range(min..=max);
        out.push(if by_payee {
            (other, me, units)
        } else {
            (me, other, units)
        });
    }
}

/// The sender's remittance fee in millionths of a minor unit (0 for domestic flows).
fn fee_micro(plan: &FlowPlan, units: u64) -> u128 {
    if plan.kind == FlowKind::Remittance {
        u128::from(plan.fee_fixed) * 1_000_000 + u128::from(units) * u128::from(plan.fee_ppm)
    } else {
        0
    }
}

/// What the checks need of one party, whichever engine holds it.
#[derive(Clone, Copy)]
pub(crate) struct Party {
    pub(crate) segment: usize,
    pub(crate) device: usize,
    pub(crate) online: bool,
    pub(crate) frozen: bool,
    pub(crate) balance_units: u64,
    pub(crate) tier: TierNow,
}

/// How a payment may go once the checks pass.
enum Route {
    /// Failed with this reason (not yet counted).
    Fail(FailReason),
    /// Online, with this fee split.
    Online(Split),
    /// Offline (both devices support it), with this fee split.
    Offline(Split),
}

/// The checks before any note is chosen, in the order both engines apply them. A cash-out
/// draws from `rng` for the agent's cash.
#[allow(clippy::too_many_arguments)]
fn route(
    kind: FlowKind,
    units: u64,
    payer: Party,
    payee: Party,
    scenario: &Scenario,
    conditions: &Conditions,
    fee_plan: &FeePlan,
    rng: &mut ChaCha20Rng,
) -> Route {
    if kind == FlowKind::CashOut {
        let cash = conditions.cash_share[payee.segment];
        if cash < 1.0 && rng.gen::<f64>() >= cash {
            return Route::Fail(FailReason::AgentOutOfCash);
        }
    }
    if units > payer.tier.max_payment {
        return Route::Fail(FailReason::OverPaymentLimit);
    }
    let split = fee_plan.split(kind, units);
    if payee.balance_units + split.payee_gets > payee.tier.max_balance {
        return Route::Fail(FailReason::PayeeOverBalanceLimit);
    }
    let online = if kind.in_person() {
        payer.online && payee.online
    } else {
        if !payer.online {
            return Route::Fail(FailReason::PayerOffline);
        }
        true
    };
    if online {
        if payer.frozen {
            return Route::Fail(FailReason::WalletFrozen);
        }
        return Route::Online(split);
    }
    let devs = &scenario.devices;
    if !devs[payer.device].offline_payments || !devs[payee.device].offline_payments {
        return Route::Fail(FailReason::NoOfflineSupport);
    }
    Route::Offline(split)
}
