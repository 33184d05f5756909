//! The simulation: hourly ticks over a population of wallets paying each other through the real
//! ledger rules.
//!
//! Each tick: connectivity changes; online wallets settle offline packets (payer or payee, whoever
//! comes online first), refresh their purse certificate and refill their purse; payments are
//! decided one by one from the decision stream of the seed (reserving the notes they spend);
//! then every transaction of the tick is built (and, in `full`, verified) in parallel, each from
//! its own seeded stream; then the results are committed to the ledger and offline packets are
//! checked by their payees, in decision order. Decisions never depend on the build streams, so the
//! same seed gives the same outcomes at both fidelities and any number of threads.

use std::collections::{BTreeMap, HashMap, HashSet};

use dfc_core::api::Checkpoint;
use dfc_core::merkle::MerkleProof;
use dfc_core::offline::{
    AcceptPolicy, DoubleSpendEvidence, PayeeBook, PaymentPacket, PurseCertificate,
};
use dfc_core::{
    Address, Amount, MemoryLedger, NoteId, Opening, Payment, PublicKey, SigningKey, SpendInput,
    Transaction, TxError, TxId, TxKind, WalletKeys,
};
use rand::Rng;
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use rayon::prelude::*;
use thiserror::Error;

use crate::metrics::{FailReason, Metrics, PaymentPath};
use crate::proto::{nominal_depth, nominal_proof, Fidelity, Protocol, Work};
use crate::scenario::{FlowKind, LossBearer, Scenario, SegmentKind};

/// Hours per simulated day.
pub const TICKS_PER_DAY: u64 = 24;
/// Milliseconds per tick.
pub const TICK_MS: u64 = 3_600_000;
/// Simulated time of tick 0, ms since the Unix epoch (fixed: reports never read the clock).
pub const EPOCH_MS: u64 = 1_800_000_000_000;

/// Why a run stopped.
#[derive(Debug, Error)]
pub enum SimError {
    /// A transaction the simulator built was refused by the builder: a simulator bug.
    #[error("building a transaction failed: {0}")]
    Build(#[from] dfc_core::BuildError),
    /// The ledger refused a transaction the simulator relies on (initial issuance).
    #[error("the ledger refused {what}: {source}")]
    Ledger {
        /// What.
        what: &'static str,
        /// Why.
        source: TxError,
    },
    /// The supply audit failed at the end.
    #[error("supply audit failed: {0}")]
    Audit(String),
}

/// A note a wallet holds with its opening.
#[derive(Clone)]
struct Held {
    id: NoteId,
    opening: Opening,
}

/// A purse note, with its inclusion proof once a checkpoint covers it.
#[derive(Clone)]
struct PurseNote {
    id: NoteId,
    opening: Opening,
    proof: Option<MerkleProof>,
}

/// What a payee holds unsettled: the `PayeeBook` `verify_packet` consults.
#[derive(Default)]
struct Book {
    per_purse: BTreeMap<[u8; 32], Amount>,
    total: Amount,
    counters: BTreeMap<[u8; 32], u64>,
    txids: HashSet<TxId>,
    /// Packets accepted and not yet known to be resolved.
    held: Vec<usize>,
}

impl PayeeBook for Book {
    fn unsettled_total(&self) -> Amount {
        self.total
    }
    fn unsettled_from(&self, purse: &PublicKey) -> Amount {
        self.per_purse
            .get(&purse.to_bytes())
            .copied()
            .unwrap_or(Amount::ZERO)
    }
    fn last_counter(&self, purse: &PublicKey) -> Option<u64> {
        self.counters.get(&purse.to_bytes()).copied()
    }
    fn has_tx(&self, txid: &TxId) -> bool {
        self.txids.contains(txid)
    }
}

/// One simulated wallet.
struct Agent {
    segment: usize,
    device: usize,
    tier: u8,
    keys: WalletKeys,
    address: Address,
    purse_key: SigningKey,
    purse_address: Address,
    online: bool,
    fraud: bool,
    frozen: bool,
    notes: Vec<Held>,
    purse: Vec<PurseNote>,
    cert: Option<PurseCertificate>,
    checkpoint: Option<Checkpoint>,
    counter: u64,
    book: Book,
    /// Packets this payer made and should submit when online (honest payers only).
    outgoing: Vec<usize>,
}

impl Agent {
    fn online_units(&self) -> u64 {
        self.notes.iter().map(|n| n.opening.amount.units()).sum()
    }
    fn purse_units(&self) -> u64 {
        self.purse.iter().map(|n| n.opening.amount.units()).sum()
    }
    /// Settled holdings plus value accepted offline and not yet settled: what the balance limit
    /// applies to.
    fn balance_units(&self) -> u64 {
        self.online_units() + self.purse_units() + self.book.total.units()
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum PacketState {
    Pending,
    Settled,
    Conflicted,
    Rejected,
}

/// An offline payment accepted by its payee.
struct Packet {
    tx: Transaction,
    cert: PurseCertificate,
    payer: usize,
    payee: usize,
    amount: Amount,
    paid_tick: u64,
    state: PacketState,
    double_spend: bool,
}

/// What a tick's job builds.
enum JobKind {
    Online {
        payer: usize,
        payee: usize,
        amount: Amount,
        flow: FlowKind,
        fee: Amount,
    },
    Offline {
        payer: usize,
        payee: usize,
        amount: Amount,
        flow: FlowKind,
        counter: u64,
        proofs: Vec<MerkleProof>,
    },
    Fund {
        agent: usize,
        purse_outputs: usize,
    },
}

struct Job {
    id: u64,
    kind: JobKind,
    inputs: Vec<SpendInput>,
    /// The input notes (to give back if the job fails).
    held: Vec<Held>,
    payments: Vec<Payment>,
}

struct JobResult {
    tx: Transaction,
    openings: Vec<Opening>,
    packet: Option<PaymentPacket>,
    verdict: Result<(), TxError>,
    work: Work,
}

/// Per-member flow schedule derived from the scenario.
struct FlowPlan {
    kind: FlowKind,
    from: Vec<usize>,
    to: Vec<usize>,
    per_tick: f64,
    interval_days: u64,
    min: u64,
    max: u64,
    fee_bp: u64,
    fee_fixed: u64,
}

/// A simulation in progress.
pub struct Sim<'a> {
    scenario: &'a Scenario,
    seed: u64,
    proto: Protocol,
    ledger: MemoryLedger,
    agents: Vec<Agent>,
    packets: Vec<Packet>,
    /// Which offline transaction spent a note, for double-spend evidence.
    spent_by: HashMap<NoteId, TxId>,
    offline_txs: HashMap<TxId, Transaction>,
    flows: Vec<FlowPlan>,
    rng: ChaCha20Rng,
    next_job: u64,
    cert_serial: u64,
    policy: AcceptPolicy,
    /// Metrics collected so far.
    pub metrics: Metrics,
    /// Cryptographic work done.
    pub work: Work,
}

/// splitmix64: a stream seed per job from the run seed and the job number.
fn job_seed(seed: u64, job: u64) -> u64 {
    let mut z = seed ^ job.wrapping_mul(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

fn amount(units: u64) -> Amount {
    Amount::from_units(units).expect("simulated amounts stay far below the maximum supply")
}

/// Picks notes covering `target`, largest first; `Err(true)` when funds suffice but need more
/// than `max_inputs` notes.
fn select(amounts: &[u64], target: u64, max_inputs: usize) -> Result<Vec<usize>, bool> {
    let mut order: Vec<usize> = (0..amounts.len()).collect();
    order.sort_by(|a, b| amounts[*b].cmp(&amounts[*a]).then(a.cmp(b)));
    let mut total = 0u64;
    let mut chosen = Vec::new();
    for i in order {
        if total >= target {
            break;
        }
        total += amounts[i];
        chosen.push(i);
    }
    if total < target {
        return Err(false);
    }
    if chosen.len() > max_inputs {
        return Err(true);
    }
    Ok(chosen)
}

/// Removes the elements at `indices` from `v`, returning them in the order of `indices`.
fn take<T>(v: &mut Vec<T>, indices: &[usize]) -> Vec<T> {
    let mut sorted: Vec<usize> = indices.to_vec();
    sorted.sort_unstable_by(|a, b| b.cmp(a));
    let mut taken: BTreeMap<usize, T> = BTreeMap::new();
    for i in sorted {
        taken.insert(i, v.remove(i));
    }
    indices.iter().filter_map(|i| taken.remove(i)).collect()
}

impl<'a> Sim<'a> {
    /// Sets up the population and issues the initial balances.
    pub fn new(scenario: &'a Scenario, seed: u64, fidelity: Fidelity) -> Result<Self, SimError> {
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
                // The engine bounds holdings in the clear; the turnover limit is not modelled.
                max_inflow: dfc_core::Amount::from_units(dfc_core::Amount::MAX_SUPPLY)
                    .unwrap_or(t.max_balance.0),
            })
            .collect();
        let proto = Protocol::new(fidelity, seed, tiers);
        let network = proto.params.network_id;
        let mut rng = ChaCha20Rng::seed_from_u64(seed);
        let mut agents = Vec::new();
        for (si, seg) in scenario.segments.iter().enumerate() {
            let device = scenario
                .device_index(&seg.device)
                .expect("segment devices exist (validated)");
            let dev = &scenario.devices[device];
            let cheats = scenario.adversaries.segments.contains(&seg.name);
            for m in 0..seg.count {
                let keys =
                    WalletKeys::from_seed(format!("dfc-sims/{seed}/{}/{m}", seg.name).as_bytes());
                let purse_key = keys.purse_key(0);
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
                });
            }
        }
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
        let flows = scenario
            .flows
            .iter()
            .map(|f| {
                let from = scenario.segment_index(&f.from).expect("validated");
                let to = scenario.segment_index(&f.to).expect("validated");
                #[allow(
                    clippy::cast_possible_truncation,
                    clippy::cast_sign_loss,
                    reason = "fee_percent is validated to 0..=100, so basis points fit"
                )]
                let fee_bp = (f.fee_percent.unwrap_or(0.0) * 100.0).round() as u64;
                FlowPlan {
                    kind: f.kind,
                    from: members(from),
                    to: members(to),
                    per_tick: f.per_day.unwrap_or(0.0) / 24.0,
                    interval_days: u64::from(f.interval_days.unwrap_or(1)),
                    min: f.amount_min.units(),
                    max: f.amount_max.units(),
                    fee_bp,
                    fee_fixed: f.fee_fixed.map(|m| m.units()).unwrap_or(0),
                }
            })
            .collect();
        let acc = &scenario.policy.acceptance;
        let policy = AcceptPolicy {
            max_per_payer: acc.max_per_payer.0,
            max_unsettled: acc.max_unsettled.0,
            max_checkpoint_age_ms: u64::from(acc.max_checkpoint_age_hours) * TICK_MS,
        };
        let metrics = Metrics::new(scenario, fidelity, seed, &agents_segments(&agents));
        let ledger = MemoryLedger::new(proto.params.clone());
        let mut sim = Sim {
            scenario,
            seed,
            proto,
            ledger,
            agents,
            packets: Vec::new(),
            spent_by: HashMap::new(),
            offline_txs: HashMap::new(),
            flows,
            rng,
            next_job: 0,
            cert_serial: 0,
            policy,
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

    fn job_rng(&self, id: u64) -> ChaCha20Rng {
        ChaCha20Rng::seed_from_u64(job_seed(self.seed, id))
    }

    /// Government and remitter wallets hold their float in 16 notes, so that they can make up to
    /// 16 payments in one hour (a note's change is only spendable once committed).
    fn float_notes(&self, i: usize) -> u64 {
        let kind = self.scenario.segments[self.agents[i].segment].kind;
        if matches!(kind, SegmentKind::Government | SegmentKind::Remitter) {
            16
        } else {
            1
        }
    }

    /// Issues every member's initial balance (up to 16 notes per issuance), built in parallel.
    fn initial_issuance(&mut self) -> Result<(), SimError> {
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
                .submit(&mut self.ledger, &built.tx, &mut self.work)
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

    /// Runs every tick; `progress` is called after each.
    pub fn run(&mut self, mut progress: impl FnMut(u64)) -> Result<(), SimError> {
        let ticks = u64::from(self.scenario.days) * TICKS_PER_DAY;
        for t in 0..ticks {
            self.tick(t)?;
            progress(t + 1);
            if (t + 1) % TICKS_PER_DAY == 0 {
                self.end_of_day(t / TICKS_PER_DAY);
            }
        }
        self.finish()
    }

    fn now_ms(t: u64) -> u64 {
        EPOCH_MS + t * TICK_MS
    }

    fn tick(&mut self, t: u64) -> Result<(), SimError> {
        if t % TICKS_PER_DAY == 0 {
            self.top_up(t)?;
        }
        if t > 0 {
            self.connectivity();
        }
        for i in 0..self.agents.len() {
            if self.agents[i].online {
                self.housekeeping(i, t)?;
            }
        }
        let mut jobs = Vec::new();
        for i in 0..self.agents.len() {
            if let Some(job) = self.refill(i) {
                jobs.push(job);
            }
        }
        self.decide_payments(t, &mut jobs);
        let results = self.build_jobs(&jobs);
        for (job, result) in jobs.into_iter().zip(results) {
            self.commit_job(job, result?, t);
        }
        self.refresh_checkpoints(t);
        Ok(())
    }

    /// Government and remitter wallets are topped up to their initial balance by issuance at the
    /// start of every day (conversion of reserves).
    fn top_up(&mut self, t: u64) -> Result<(), SimError> {
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

    fn issue_to(&mut self, i: usize, units: u64) -> Result<(), SimError> {
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
            .submit(&mut self.ledger, &built.tx, &mut self.work)
            .map_err(|source| SimError::Ledger {
                what: "an issuance",
                source,
            })?;
        for (id, opening) in ids.into_iter().zip(built.openings) {
            self.agents[i].notes.push(Held { id, opening });
        }
        Ok(())
    }

    fn connectivity(&mut self) {
        for a in &mut self.agents {
            let dev = &self.scenario.devices[a.device];
            if dev.offline_share <= 0.0 {
                a.online = true;
                continue;
            }
            let p_on = 1.0 / dev.mean_outage_hours;
            let p_off = (dev.offline_share * p_on / (1.0 - dev.offline_share)).min(1.0);
            let draw: f64 = self.rng.gen();
            a.online = if a.online { draw >= p_off } else { draw < p_on };
        }
    }

    /// An online wallet settles what it can and renews its purse certificate.
    fn housekeeping(&mut self, i: usize, t: u64) -> Result<(), SimError> {
        // Payer side: honest payers submit their own offline payments.
        let outgoing = std::mem::take(&mut self.agents[i].outgoing);
        for p in outgoing {
            if self.packets[p].state == PacketState::Pending {
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
            let purse = pk.cert.purse.to_bytes();
            let amt = pk.amount;
            let book = &mut self.agents[i].book;
            if let Some(v) = book.per_purse.get_mut(&purse) {
                *v = v.checked_sub(amt).unwrap_or(Amount::ZERO);
            }
            book.total = book.total.checked_sub(amt).unwrap_or(Amount::ZERO);
        }
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
    fn settle(&mut self, p: usize, t: u64) -> Result<(), SimError> {
        let tx = self.packets[p].tx.clone();
        let txid = tx.id();
        match self.proto.submit(&mut self.ledger, &tx, &mut self.work) {
            Ok(ids) => {
                let pk = &mut self.packets[p];
                pk.state = PacketState::Settled;
                let (payer, payee) = (pk.payer, pk.payee);
                let payee_owner = self.agents[payee].address.spend;
                for (k, (id, o)) in ids.iter().zip(&tx.outputs).enumerate() {
                    // Output 0 pays the payee; output 1, if any, is the purse's change.
                    let opening = self.open_output(p, k, o.owner == payee_owner)?;
                    if o.owner == payee_owner {
                        self.agents[payee].notes.push(Held { id: *id, opening });
                    } else {
                        self.agents[payer].purse.push(PurseNote {
                            id: *id,
                            opening,
                            proof: None,
                        });
                    }
                }
                for input in &tx.inputs {
                    self.spent_by.insert(*input, txid);
                }
                self.offline_txs.insert(txid, tx);
                let delay = t - self.packets[p].paid_tick;
                self.metrics.settled(delay, t / TICKS_PER_DAY);
            }
            Err(TxError::InputSpent { index, .. }) => {
                self.packets[p].state = PacketState::Conflicted;
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
                            cert: self.packets[p].cert.clone(),
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
            }
        }
        Ok(())
    }

    /// The opening of output `k` of packet `p`'s transaction, as its owner reads it: the payee
    /// with its view key, the payer (change) with its own.
    fn open_output(&self, p: usize, k: usize, payee: bool) -> Result<Opening, SimError> {
        let pk = &self.packets[p];
        let who = if payee { pk.payee } else { pk.payer };
        pk.tx.outputs[k]
            .open(&self.agents[who].keys.view)
            .map_err(|_| SimError::Ledger {
                what: "an output opening",
                source: TxError::Unbalanced,
            })
    }

    /// A purse below half its cap is refilled from the online notes, in `purse_notes` notes.
    fn refill(&mut self, i: usize) -> Option<Job> {
        let a = &self.agents[i];
        let dev = &self.scenario.devices[a.device];
        if !a.online || !dev.offline_payments || a.frozen || a.cert.is_none() {
            return None;
        }
        let cap = self.proto.params.tier(a.tier)?.offline_cap.units();
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
        let a = &self.agents[i];
        let total: u64 = held.iter().map(|h| h.opening.amount.units()).sum();
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
            payments,
        })
    }

    fn decide_payments(&mut self, t: u64, jobs: &mut Vec<Job>) {
        let day = t / TICKS_PER_DAY;
        let hour = t % TICKS_PER_DAY;
        for f in 0..self.flows.len() {
            let plan = &self.flows[f];
            let kind = plan.kind;
            let mut intents: Vec<(usize, usize, u64)> = Vec::new();
            if kind == FlowKind::G2p {
                // Disbursement runs over office hours 08:00-17:59, a tenth of the list an hour.
                if (8..18).contains(&hour) && day % plan.interval_days == 0 {
                    let (min, max) = (plan.min, plan.max);
                    let to: Vec<usize> = plan
                        .to
                        .iter()
                        .enumerate()
                        .filter(|(k, _)| u64::try_from(*k % 10).expect("small") == hour - 8)
                        .map(|(_, a)| *a)
                        .collect();
                    let from = plan.from.clone();
                    for payee in to {
                        let payer = from[self.rng.gen_range(0..from.len())];
                        let units = self.rng.gen_range(min..=max);
                        intents.push((payer, payee, units));
                    }
                }
            } else {
                let initiators = if kind.initiated_by_payee() {
                    plan.to.clone()
                } else {
                    plan.from.clone()
                };
                let others = if kind.initiated_by_payee() {
                    plan.from.clone()
                } else {
                    plan.to.clone()
                };
                let (p, min, max) = (plan.per_tick, plan.min, plan.max);
                for me in initiators {
                    if self.rng.gen::<f64>() >= p {
                        continue;
                    }
                    let mut other = others[self.rng.gen_range(0..others.len())];
                    if other == me {
                        // Pick again among the others (segments paying themselves have >= 2).
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
            for (payer, payee, units) in intents {
                if let Some(job) = self.decide(f, payer, payee, units, t) {
                    jobs.push(job);
                }
            }
        }
    }

    /// Decides how one payment goes: fails now, or becomes a job.
    fn decide(&mut self, f: usize, payer: usize, payee: usize, units: u64, t: u64) -> Option<Job> {
        let plan = &self.flows[f];
        let kind = plan.kind;
        let fee = if kind == FlowKind::Remittance {
            plan.fee_fixed + units * plan.fee_bp / 10_000
        } else {
            0
        };
        let day = t / TICKS_PER_DAY;
        self.metrics.attempt(kind, self.agents[payer].segment);
        let fail = |s: &mut Self, reason: FailReason| {
            s.metrics.failed(kind, reason, day);
            None
        };
        let (a, b) = (&self.agents[payer], &self.agents[payee]);
        let params = &self.proto.params;
        let payer_tier = params.tier(a.tier).expect("validated tiers");
        let payee_tier = params.tier(b.tier).expect("validated tiers");
        if units > payer_tier.max_payment.units() {
            return fail(self, FailReason::OverPaymentLimit);
        }
        if b.balance_units() + units > payee_tier.max_balance.units() {
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
        let max_in = params.limits.max_inputs;
        if online {
            if a.frozen {
                return fail(self, FailReason::WalletFrozen);
            }
            let amounts: Vec<u64> = a.notes.iter().map(|h| h.opening.amount.units()).collect();
            let chosen = match select(&amounts, units, max_in) {
                Ok(c) => c,
                Err(true) => return fail(self, FailReason::TooManyNotes),
                Err(false) => return fail(self, FailReason::InsufficientFunds),
            };
            let held = take(&mut self.agents[payer].notes, &chosen);
            let a = &self.agents[payer];
            let total: u64 = held.iter().map(|h| h.opening.amount.units()).sum();
            let mut payments = vec![Payment {
                to: self.agents[payee].address,
                amount: amount(units),
                memo: Vec::new(),
            }];
            if total > units {
                payments.push(Payment {
                    to: a.address,
                    amount: amount(total - units),
                    memo: Vec::new(),
                });
            }
            let id = self.next_job;
            self.next_job += 1;
            return Some(Job {
                id,
                kind: JobKind::Online {
                    payer,
                    payee,
                    amount: amount(units),
                    flow: kind,
                    fee: amount(fee),
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
                payments,
            });
        }
        let devs = &self.scenario.devices;
        if !devs[a.device].offline_payments || !devs[b.device].offline_payments {
            return fail(self, FailReason::NoOfflineSupport);
        }
        if a.cert.is_none() || a.checkpoint.is_none() {
            return fail(self, FailReason::PurseInsufficient);
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
            Err(_) => return fail(self, FailReason::PurseInsufficient),
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
        let mut payments = vec![Payment {
            to: self.agents[payee].address,
            amount: amount(units),
            memo: Vec::new(),
        }];
        let a = &self.agents[payer];
        if total > units {
            payments.push(Payment {
                to: a.purse_address,
                amount: amount(total - units),
                memo: Vec::new(),
            });
        }
        let id = self.next_job;
        self.next_job += 1;
        Some(Job {
            id,
            kind: JobKind::Offline {
                payer,
                payee,
                amount: amount(units),
                flow: kind,
                counter: a.counter,
                proofs: notes
                    .iter()
                    .map(|n| n.proof.clone().expect("only checkpointed notes are chosen"))
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
            payments,
        })
    }

    fn build_jobs(&self, jobs: &[Job]) -> Vec<Result<JobResult, SimError>> {
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

    fn commit_job(&mut self, job: Job, r: JobResult, t: u64) {
        self.work.add(r.work);
        let day = t / TICKS_PER_DAY;
        let bytes = r.tx.encode().len();
        let proof_bytes = r.tx.range_proof.len();
        match job.kind {
            JobKind::Fund {
                agent,
                purse_outputs,
            } => {
                let result = r
                    .verdict
                    .and_then(|()| self.proto.commit(&mut self.ledger, &r.tx));
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
                amount: amt,
                flow,
                fee,
            } => {
                let result = r
                    .verdict
                    .and_then(|()| self.proto.commit(&mut self.ledger, &r.tx));
                match result {
                    Ok(ids) => {
                        for (k, (id, opening)) in ids.into_iter().zip(r.openings).enumerate() {
                            let owner = if k == 0 { payee } else { payer };
                            self.agents[owner].notes.push(Held { id, opening });
                        }
                        let (ps, qs) = (self.agents[payer].segment, self.agents[payee].segment);
                        self.metrics.completed(
                            flow,
                            PaymentPath::Online,
                            (payer, ps),
                            (payee, qs),
                            amt.units(),
                            fee.units(),
                            day,
                            (bytes, proof_bytes, 0),
                            r.tx.inputs.len(),
                        );
                    }
                    Err(_) => {
                        self.agents[payer].notes.extend(job.held);
                        self.metrics.failed(flow, FailReason::LedgerRejected, day);
                    }
                }
            }
            JobKind::Offline {
                payer,
                payee,
                amount: amt,
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
                        let p = self.packets.len();
                        for input in &packet.tx.inputs {
                            self.metrics.offline_spent_notes.insert(*input);
                        }
                        let fraud = self.agents[payer].fraud;
                        self.packets.push(Packet {
                            tx: packet.tx.clone(),
                            cert: packet.cert.clone(),
                            payer,
                            payee,
                            amount: amt,
                            paid_tick: t,
                            state: PacketState::Pending,
                            double_spend: reused,
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
                            amt.units(),
                            0,
                            day,
                            (bytes, proof_bytes, packet_bytes),
                            packet.tx.inputs.len(),
                        );
                    }
                    Err(reason) => {
                        // The refused packet is discarded; an honest purse takes its notes back
                        // (their proofs still hold at the same checkpoint).
                        let proofs = packet.inputs.iter().map(|p| p.proof.clone());
                        for (h, proof) in job.held.into_iter().zip(proofs) {
                            self.agents[payer].purse.push(PurseNote {
                                id: h.id,
                                opening: h.opening,
                                proof: Some(proof),
                            });
                        }
                        self.metrics.failed(flow, reason, day);
                    }
                }
            }
        }
    }

    /// Online wallets with a purse get a fresh checkpoint and proofs for their purse notes.
    fn refresh_checkpoints(&mut self, t: u64) {
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
        for i in wanted {
            let a = &mut self.agents[i];
            for n in &mut a.purse {
                n.proof = match &tree {
                    Some(tree) => tree.proof(&n.id),
                    None => Some(nominal_proof(leaves)),
                };
            }
            a.checkpoint = Some(cp.clone());
        }
    }

    fn end_of_day(&mut self, day: u64) {
        let mut per_segment = vec![0u64; self.scenario.segments.len()];
        let mut unsettled = 0u64;
        for a in &self.agents {
            per_segment[a.segment] += a.online_units() + a.purse_units();
            unsettled += a.book.total.units();
        }
        let pending: u64 = self
            .packets
            .iter()
            .filter(|p| p.state == PacketState::Pending)
            .map(|p| p.amount.units())
            .sum();
        self.metrics
            .end_of_day(day, per_segment, pending, unsettled);
    }

    fn finish(&mut self) -> Result<(), SimError> {
        self.ledger
            .audit()
            .map_err(|e| SimError::Audit(e.to_string()))?;
        let mut pending = 0u64;
        let mut pending_value = 0u64;
        let mut pending_fraud_value = 0u64;
        for p in &self.packets {
            if p.state == PacketState::Pending {
                pending += 1;
                pending_value += p.amount.units();
                if p.double_spend {
                    pending_fraud_value += p.amount.units();
                }
            }
        }
        let balances: Vec<(usize, u64)> = self
            .agents
            .iter()
            .map(|a| (a.segment, a.online_units() + a.purse_units()))
            .collect();
        self.metrics.finish(
            pending,
            pending_value,
            pending_fraud_value,
            &balances,
            self.ledger.tx_count(),
            u64::try_from(self.ledger.unspent_count()).expect("fits"),
            self.ledger.supply().units(),
        );
        Ok(())
    }
}

fn agents_segments(agents: &[Agent]) -> Vec<usize> {
    agents.iter().map(|a| a.segment).collect()
}
