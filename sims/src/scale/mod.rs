//! The `scale` fidelity: the engine's rules with notes as integers, for country-size runs.
//!
//! It runs the same hourly tick as [`crate::engine`] (connectivity, settlement, purse refill,
//! payments decided one by one and committed in decision order, checkpoints) and shares its
//! decision-making pieces (population and flow draws, fee splits, events, note selection), but a
//! note is a sequential id and an amount, a wallet is a compact struct with no keys, a
//! transaction is its inputs and outputs, and the ledger ([`ledger::NoteLedger`]) keeps two
//! bytes of state and the amount per note. No commitment, key, encryption or signature is
//! computed; sizes reported per payment come from one built transaction per shape
//! ([`sizes::SizeOracle`]). The payee's offline acceptance runs the checks of
//! `offline::precheck_packet` and `offline::check_packet_amount` that can fail for honest
//! parties, in their order: certificate expiry, checkpoint age, the certificate's cap, the
//! per-payer and the total unsettled limit.
//!
//! Outcomes are those of `fast` (a test compares every count and amount on the bundled
//! scenarios); `compute` reports no cryptographic work.

use std::collections::HashMap;

use dfc_core::TxError;
use rand::Rng;
use rand_chacha::ChaCha20Rng;

use crate::engine::events::{self, Conditions};
use crate::engine::fees::{FeePlan, Split};
use crate::engine::{select, take, FlowPlan, Intent, Pending, SimError, TierNow, TICKS_PER_DAY};
use crate::engine::{EPOCH_MS, TICK_MS};
use crate::metrics::{FailReason, Metrics, PaymentPath};
use crate::proto::{nominal_depth, Protocol, Work};
use crate::scenario::{FlowKind, LossBearer, Scenario, SegmentKind};

mod commit;
mod ledger;
mod pay;
mod run;
mod settle;
mod sizes;

use ledger::{Kind, NoteLedger};
use sizes::{Role, Shape, SizeOracle};

/// A note: its ledger id and amount (minor units).
#[derive(Clone, Copy, Debug)]
struct Note {
    id: u64,
    units: u64,
}

/// A purse note, with the leaf count of the checkpoint whose (nominal) inclusion proof it holds.
#[derive(Clone, Copy, Debug)]
struct PurseNote {
    id: u64,
    units: u64,
    proof_leaves: Option<u64>,
}

/// A purse certificate: what the payee checks of it.
#[derive(Clone, Copy)]
struct Cert {
    cap: u64,
    expires_ms: u64,
}

/// Whom an output pays.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Owner {
    /// A wallet's address.
    Wallet(u32),
    /// A wallet's purse address.
    Purse(u32),
    /// The payment scheme's wallet.
    Scheme,
}

impl Owner {
    /// The key that owns the output on the ledger (a wallet's spend key or its purse key).
    fn key(self) -> u32 {
        match self {
            Owner::Wallet(w) => w * 2,
            Owner::Purse(w) => w * 2 + 1,
            Owner::Scheme => u32::MAX,
        }
    }
}

/// A transaction: the notes it spends and the outputs it creates.
#[derive(Clone)]
struct Tx {
    inputs: Vec<u64>,
    outputs: Vec<(Owner, u64)>,
}

/// What a payee holds unsettled (the `PayeeBook` of the engine). Packet numbers are unique, so
/// a payee never sees one transaction twice; counters only grow per payer.
#[derive(Default)]
struct Book {
    /// Unsettled value per paying purse (entries at zero are dropped).
    per_purse: HashMap<u32, u64>,
    total: u64,
    counters: HashMap<u32, u64>,
    /// Packets accepted and not yet known to be resolved.
    held: Vec<usize>,
}

/// One simulated wallet.
struct Agent {
    segment: u16,
    device: u16,
    tier: u8,
    online: bool,
    fraud: bool,
    frozen: bool,
    notes: Vec<Note>,
    purse: Vec<PurseNote>,
    cert: Option<Cert>,
    checkpoint_ms: Option<u64>,
    counter: u64,
    book: Book,
    outgoing: Vec<usize>,
    owed_units: u64,
    inflight_change_units: u64,
    held: Vec<Note>,
    inflow_units: u64,
    inflow_period: u64,
}

impl Agent {
    fn online_units(&self) -> u64 {
        self.notes.iter().map(|n| n.units).sum()
    }
    fn purse_units(&self) -> u64 {
        self.purse.iter().map(|n| n.units).sum()
    }
    fn held_units(&self) -> u64 {
        self.held.iter().map(|n| n.units).sum()
    }
    fn balance_units(&self) -> u64 {
        self.online_units() + self.purse_units() + self.owed_units + self.held_units()
    }
    fn segment(&self) -> usize {
        usize::from(self.segment)
    }
    fn device(&self) -> usize {
        usize::from(self.device)
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
    /// Until settlement is tried.
    tx: Option<Tx>,
    payer: usize,
    payee: usize,
    amount: u64,
    paid_tick: u64,
    state: PacketState,
    double_spend: bool,
    fraud: bool,
    change_units: u64,
    fee_units: u64,
    /// An honest payer's input notes, given back to its purse if settlement is refused.
    inputs: Vec<Note>,
}

/// What a decided payment commits.
enum JobKind {
    Online {
        payer: usize,
        payee: usize,
        split: Split,
        flow: FlowKind,
        fee_micro: u128,
    },
    Offline {
        payer: usize,
        payee: usize,
        split: Split,
        flow: FlowKind,
        counter: u64,
        /// Leaf count of the first input's proof (packet size at nominal depth).
        leaves: u64,
    },
    Fund {
        agent: usize,
        purse_outputs: usize,
    },
}

struct Job {
    kind: JobKind,
    /// Inputs spent with the wallet key, then with the purse key.
    spend_inputs: Vec<Note>,
    purse_inputs: Vec<PurseNote>,
    outputs: Vec<(Owner, u64)>,
}

impl Job {
    fn tx(&self) -> Tx {
        Tx {
            inputs: self
                .spend_inputs
                .iter()
                .map(|n| n.id)
                .chain(self.purse_inputs.iter().map(|n| n.id))
                .collect(),
            outputs: self.outputs.clone(),
        }
    }
    fn input_units(&self) -> u64 {
        self.spend_inputs.iter().map(|n| n.units).sum::<u64>()
            + self.purse_inputs.iter().map(|n| n.units).sum::<u64>()
    }
}

/// What deciding a payment led to.
enum Decision {
    Job(Box<Job>),
    Wait,
    Failed,
}

/// The payment scheme's wallet (collects fees, never spends).
#[derive(Default)]
struct Scheme {
    notes: Vec<Note>,
}

/// A `scale` simulation in progress.
pub struct Sim<'a> {
    scenario: &'a Scenario,
    proto: Protocol,
    ledger: NoteLedger,
    sizes: SizeOracle,
    agents: Vec<Agent>,
    packets: HashMap<usize, Packet>,
    next_packet: usize,
    /// A double spender's notes spent in accepted packets.
    offline_spent_notes: std::collections::HashSet<u64>,
    /// Which settled packet of a double spender spent a note, and that packet's inputs.
    spent_by: HashMap<u64, usize>,
    offline_txs: HashMap<usize, Vec<u64>>,
    flows: Vec<FlowPlan>,
    rng: ChaCha20Rng,
    policy: dfc_core::offline::AcceptPolicy,
    pending: Pending,
    tiers: Vec<TierNow>,
    conditions: Conditions,
    fee_plan: FeePlan,
    scheme: Option<Scheme>,
    /// Metrics collected so far.
    pub metrics: Metrics,
}

fn now_ms(t: u64) -> u64 {
    EPOCH_MS + t * TICK_MS
}

fn index(i: usize) -> u32 {
    u32::try_from(i).expect("at most 2 billion wallets")
}

/// Outputs as the ledger takes them: (owner key, amount).
fn ledger_outputs(outputs: &[(Owner, u64)]) -> Vec<(u32, u64)> {
    outputs.iter().map(|(o, u)| (o.key(), *u)).collect()
}

impl Sim<'_> {
    fn tier(&self, tier: u8) -> TierNow {
        self.tiers[usize::from(tier)]
    }

    /// Cryptographic work done: none.
    pub fn work(&self) -> Work {
        Work::default()
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

    fn tick(&mut self, t: u64) -> Result<(), SimError> {
        if t % TICKS_PER_DAY == 0 {
            let (c, tiers) = events::on_day(self.scenario, t / TICKS_PER_DAY);
            self.conditions = c;
            self.tiers = tiers;
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
        loop {
            for job in std::mem::take(&mut jobs) {
                self.commit_job(job, t)?;
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

    /// The role of `owner` in a transaction paid by `payer`.
    fn role(payer: usize, owner: Owner) -> Role {
        match owner {
            Owner::Scheme => Role::Scheme,
            Owner::Wallet(w) if w == index(payer) => Role::PayerAddress,
            Owner::Purse(w) if w == index(payer) => Role::PayerPurse,
            _ => Role::Payee,
        }
    }

    /// The sizes of job `job` paid by `payer`.
    fn job_sizes(
        &mut self,
        payer: usize,
        job: &Job,
        packet: bool,
    ) -> Result<sizes::Sizes, SimError> {
        let shape = Shape {
            spend_inputs: job.spend_inputs.len(),
            purse_inputs: job.purse_inputs.len(),
            outputs: job
                .outputs
                .iter()
                .map(|(o, _)| Self::role(payer, *o))
                .collect(),
            packet,
        };
        self.sizes.sizes(&self.proto, &shape)
    }
}
