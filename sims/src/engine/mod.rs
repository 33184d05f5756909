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
use std::sync::Arc;

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
    /// A calibration entry names a metric the report does not have.
    #[error("calibration: no metric is named `{metric}`; known metrics: {known}")]
    Calibration {
        /// The name given.
        metric: String,
        /// The names there are.
        known: String,
    },
    /// Money does not add up: the ledger's supply differs from what wallets hold plus what rides
    /// on unsettled offline payments. A simulator bug: the run's numbers cannot be used.
    #[error(
        "accounting identity broken on day {day}: supply {supply} != balances {balances} + \
         unsettled {unsettled} + pending change {pending_change} (minor units)"
    )]
    Accounting {
        /// Day (from 0).
        day: u64,
        /// Ledger supply.
        supply: u64,
        /// Notes wallets hold (online and purse) that are unspent on the ledger.
        balances: u64,
        /// Value of honest offline payments accepted and not yet settled.
        unsettled: u64,
        /// Change of those payments, owed back to their payers' purses.
        pending_change: u64,
    },
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
    /// Shared: in `fast` every note of a checkpoint has the same nominal proof, so a country-size
    /// run keeps one, not one per note.
    proof: Option<Arc<MerkleProof>>,
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
    checkpoint: Option<Arc<Checkpoint>>,
    counter: u64,
    book: Book,
    /// Packets this payer made and should submit when online (honest payers only).
    outgoing: Vec<usize>,
    /// Value of accepted offline payments to this wallet not yet resolved on the ledger.
    owed_units: u64,
    /// Change of this wallet's online payments being built this tick (spendable once committed).
    inflight_change_units: u64,
    /// Notes received beyond the turnover limit: pending on the ledger, not spendable, claimed
    /// (oldest first) when a later period leaves room, as the wallet does.
    held: Vec<Held>,
    /// Value claimed in the turnover period `inflow_period`.
    inflow_units: u64,
    inflow_period: u64,
}

impl Agent {
    fn online_units(&self) -> u64 {
        self.notes.iter().map(|n| n.opening.amount.units()).sum()
    }
    fn purse_units(&self) -> u64 {
        self.purse.iter().map(|n| n.opening.amount.units()).sum()
    }
    /// Settled holdings plus value accepted offline and not yet resolved: what the balance limit
    /// applies to. (Counting the payee's book instead would count a payment twice once the payer
    /// has settled it and the payee's device has not synced yet.)
    ///
    /// Held notes count too: a payment the payee could never claim within its holding limit is
    /// refused like any other over it, so claiming a held note is bounded by turnover alone.
    fn balance_units(&self) -> u64 {
        self.online_units() + self.purse_units() + self.owed_units + self.held_units()
    }
    fn held_units(&self) -> u64 {
        self.held.iter().map(|n| n.opening.amount.units()).sum()
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
    /// The transaction and the payer's certificate, until the packet is resolved (then dropped:
    /// a long run keeps only these few fields per payment).
    tx: Option<Transaction>,
    cert: Option<PurseCertificate>,
    txid: TxId,
    purse: [u8; 32],
    payer: usize,
    payee: usize,
    amount: Amount,
    paid_tick: u64,
    state: PacketState,
    double_spend: bool,
    /// Whether the payer is a double spender (its inputs stay in its purse).
    fraud: bool,
    /// Value of the inputs above the amount and the fee: the purse's change.
    change_units: u64,
    /// The scheme's fee output.
    fee_units: u64,
    /// An honest payer's input notes, given back to its purse if settlement is refused.
    inputs: Vec<Held>,
}

/// Offline payments accepted and not yet forgotten, by number. A packet is dropped once its payee
/// has learned how it was resolved, so a long run keeps only the packets in flight (a payer's
/// reference to a dropped packet is a no-op: it was resolved).
#[derive(Default)]
struct Packets {
    map: HashMap<usize, Packet>,
    next: usize,
}

impl Packets {
    /// Adds a packet under the next number.
    fn push(&mut self, packet: Packet) -> usize {
        let p = self.next;
        self.next += 1;
        self.map.insert(p, packet);
        p
    }
    fn get(&self, p: usize) -> Option<&Packet> {
        self.map.get(&p)
    }
    fn remove(&mut self, p: usize) {
        self.map.remove(&p);
    }
    fn values(&self) -> impl Iterator<Item = &Packet> {
        self.map.values()
    }
}

impl std::ops::Index<usize> for Packets {
    type Output = Packet;
    fn index(&self, p: usize) -> &Packet {
        self.map
            .get(&p)
            .expect("packets are dropped only after their payee has learned their fate")
    }
}

impl std::ops::IndexMut<usize> for Packets {
    fn index_mut(&mut self, p: usize) -> &mut Packet {
        self.map
            .get_mut(&p)
            .expect("packets are dropped only after their payee has learned their fate")
    }
}

/// What a tick's job builds.
enum JobKind {
    Online {
        payer: usize,
        payee: usize,
        split: fees::Split,
        flow: FlowKind,
        /// Sender's fee, in millionths of a minor unit (exact: rounded once, in the report).
        fee_micro: u128,
    },
    Offline {
        payer: usize,
        payee: usize,
        /// What the payee's output holds (what it checks the packet against).
        amount: Amount,
        split: fees::Split,
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
    /// Purse notes an online payment spends (given back to the purse if the job fails).
    purse_held: Vec<PurseNote>,
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
pub(crate) struct FlowPlan {
    pub(crate) kind: FlowKind,
    pub(crate) from: Vec<usize>,
    pub(crate) to: Vec<usize>,
    /// Probability that a member initiates a payment, by hour of the day.
    pub(crate) per_hour: [f64; 24],
    pub(crate) interval_days: u64,
    pub(crate) min: u64,
    pub(crate) max: u64,
    /// Sender's percentage fee in parts per million of the amount.
    pub(crate) fee_ppm: u64,
    pub(crate) fee_fixed: u64,
}

/// A tier's limits as they stand (events may change them during a run), minor units.
#[derive(Clone, Copy, Debug)]
pub(crate) struct TierNow {
    pub(crate) max_payment: u64,
    pub(crate) max_balance: u64,
    pub(crate) offline_cap: u64,
    /// Turnover limit per period (`u64::MAX`: none).
    pub(crate) max_inflow: u64,
}

/// A payment decided but waiting for its payer's change from earlier in the same hour.
#[derive(Clone, Copy)]
pub(crate) struct Intent {
    pub(crate) flow: usize,
    pub(crate) payer: usize,
    pub(crate) payee: usize,
    pub(crate) units: u64,
}

/// Running totals of offline payments accepted and not yet resolved.
#[derive(Default, Clone, Copy)]
pub(crate) struct Pending {
    /// Honest payments: the amount owed to payees.
    pub(crate) unsettled_units: u64,
    /// Honest payments: the change owed back to payers' purses.
    pub(crate) change_units: u64,
    /// Double spenders' payments: claims backed by notes still in the cheat's purse.
    pub(crate) claims_units: u64,
}

/// A simulation in progress.
pub struct Sim<'a> {
    scenario: &'a Scenario,
    seed: u64,
    proto: Protocol,
    ledger: MemoryLedger,
    agents: Vec<Agent>,
    packets: Packets,
    /// Which offline transaction of a double spender spent a note, for the evidence against it
    /// (honest payers never reuse a note, so theirs are not kept).
    spent_by: HashMap<NoteId, TxId>,
    offline_txs: HashMap<TxId, Transaction>,
    flows: Vec<FlowPlan>,
    rng: ChaCha20Rng,
    next_job: u64,
    cert_serial: u64,
    policy: AcceptPolicy,
    pending: Pending,
    tiers: Vec<TierNow>,
    conditions: events::Conditions,
    /// Domestic fees moved on the ledger, and the scheme's wallet that collects them (only when
    /// the scenario charges any).
    fee_plan: fees::FeePlan,
    scheme: Option<fees::Scheme>,
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

pub(crate) fn amount(units: u64) -> Amount {
    Amount::from_units(units).expect("simulated amounts stay far below the maximum supply")
}

/// Picks notes covering `target`, largest first; `Err(true)` when funds suffice but need more
/// than `max_inputs` notes.
pub(crate) fn select(amounts: &[u64], target: u64, max_inputs: usize) -> Result<Vec<usize>, bool> {
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
pub(crate) fn take<T>(v: &mut Vec<T>, indices: &[usize]) -> Vec<T> {
    let mut sorted: Vec<usize> = indices.to_vec();
    sorted.sort_unstable_by(|a, b| b.cmp(a));
    let mut taken: BTreeMap<usize, T> = BTreeMap::new();
    for i in sorted {
        taken.insert(i, v.remove(i));
    }
    indices.iter().filter_map(|i| taken.remove(i)).collect()
}

mod accounting;
pub use accounting::Identity;
mod commit;
pub(crate) mod events;
pub(crate) mod fees;
mod pay;
mod settle;
pub(crate) mod setup;
mod turnover;

impl Sim<'_> {
    fn tier(&self, tier: u8) -> TierNow {
        self.tiers[usize::from(tier)]
    }

    fn job_rng(&self, id: u64) -> ChaCha20Rng {
        ChaCha20Rng::seed_from_u64(job_seed(self.seed, id))
    }

    /// Runs every tick; `progress` is called after each.
    pub fn run(&mut self, mut progress: impl FnMut(u64)) -> Result<(), SimError> {
        let ticks = u64::from(self.scenario.days) * TICKS_PER_DAY;
        for t in 0..ticks {
            self.tick(t)?;
            progress(t + 1);
            if (t + 1) % TICKS_PER_DAY == 0 {
                self.end_of_day(t / TICKS_PER_DAY)?;
            }
        }
        self.finish()
    }

    fn now_ms(t: u64) -> u64 {
        EPOCH_MS + t * TICK_MS
    }

    fn tick(&mut self, t: u64) -> Result<(), SimError> {
        self.ledger.set_time(Self::now_ms(t));
        if t % TICKS_PER_DAY == 0 {
            self.apply_events(t / TICKS_PER_DAY);
            self.top_up(t)?;
        }
        self.connectivity(t);
        self.count_device_hours();
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
        let mut waiting = self.decide_payments(t, &mut jobs);
        // Rounds within the hour: a payer whose notes are all in flight waits for the change of
        // its earlier payments (committed in milliseconds on a real node) instead of failing.
        // Every round commits at least one job or ends, so the loop terminates.
        loop {
            let results = self.build_jobs(&jobs);
            for (job, result) in std::mem::take(&mut jobs).into_iter().zip(results) {
                self.commit_job(job, result?, t);
            }
            if waiting.is_empty() {
                break;
            }
            let mut next = Vec::new();
            for intent in std::mem::take(&mut waiting) {
                match self.decide(intent, t) {
                    Decision::Job(job) => jobs.push(*job),
                    Decision::Wait => next.push(intent),
                    Decision::Failed => {}
                }
            }
            waiting = next;
            if jobs.is_empty() {
                // Nothing in flight any more: whoever still waits cannot be paid this hour.
                for intent in std::mem::take(&mut waiting) {
                    let kind = self.flows[intent.flow].kind;
                    self.metrics
                        .failed(kind, FailReason::InsufficientFunds, t / TICKS_PER_DAY);
                }
                break;
            }
        }
        self.refresh_checkpoints(t);
        Ok(())
    }
}

/// What deciding a payment led to.
enum Decision {
    /// A transaction or packet to build.
    Job(Box<Job>),
    /// The payer's change from earlier this hour is needed: try again next round.
    Wait,
    /// Failed (already counted).
    Failed,
}
