//! A seeded state-machine test: random sequences of valid and invalid operations (issue, pay,
//! redeem, replay, double spend, forged balance proof, wrong owner signature, spend of an unknown
//! note, issuance with too few issuer signatures) applied to the ledger and to a plain `u64`
//! model of balances, compared after every step. The same generator drives `dfc_core`'s
//! `MemoryLedger` (many steps) and the real node through its API (fewer).
//!
//! Long run: `DFC_MODEL_STEPS=20000 DFC_MODEL_NODE_STEPS=1000 cargo test -p dfc-tests --test
//! reliability model -- --nocapture`; a failure prints its seed (`DFC_MODEL_SEED` replays it).

use dfc_core::api::{OperatorAction, TxStatus};
use dfc_core::{
    build, Amount, MemoryLedger, NetworkParams, NoteId, Opening, Payment, SigningKey, Transaction,
    TxKind,
};
use dfc_tests::{init_sandbox, init_tracing, sandbox_operator, Node, TestWallet};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha20Rng;

use crate::{knob, register};

/// What the ledger must do with a step.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Expect {
    Commit,
    /// A committed transaction again: the node answers its receipt, the in-memory ledger refuses
    /// it; neither changes.
    Replay,
    /// Refused: the node's error code.
    Reject(&'static str),
}

struct Step {
    what: &'static str,
    tx: Transaction,
    expect: Expect,
}

/// The model: wallets with their notes, plain balances and the supply.
struct Sim {
    rng: ChaCha20Rng,
    params: NetworkParams,
    wallets: Vec<TestWallet>,
    balances: Vec<u64>,
    supply: u64,
    committed: Vec<Transaction>,
    spent: Vec<(usize, NoteId, Opening)>,
    /// The in-memory ledger has no k-of-n proposals: it can be sent under-signed issuances.
    memory: bool,
}

/// The disclosed openings of an issuance to the model's wallets (each opens its own output).
fn issue_openings(sim: &Sim, tx: &Transaction) -> Vec<dfc_core::proposal::DisclosedOpening> {
    tx.outputs
        .iter()
        .filter_map(|o| {
            let w = sim.wallets.iter().find(|w| w.address.spend == o.owner)?;
            o.open(&w.keys.view).ok()
        })
        .map(|opening| dfc_core::proposal::DisclosedOpening::of(&opening))
        .collect()
}

fn units(u: u64) -> Amount {
    Amount::from_units(u).expect("small")
}

impl Sim {
    fn new(params: NetworkParams, seed: u64, memory: bool) -> Sim {
        let wallets: Vec<TestWallet> = (0..3)
            .map(|i| TestWallet::new(&format!("model-{seed}-{i}"), &params))
            .collect();
        Sim {
            rng: ChaCha20Rng::seed_from_u64(seed),
            balances: vec![0; wallets.len()],
            wallets,
            params,
            supply: 0,
            committed: Vec::new(),
            spent: Vec::new(),
            memory,
        }
    }

    fn issue_tx(&mut self, to: usize, amount: u64) -> Transaction {
        build(
            &self.params,
            TxKind::Issue,
            units(amount),
            &[],
            &[Payment {
                to: self.wallets[to].address,
                amount: units(amount),
                memo: Vec::new(),
            }],
            &mut self.rng,
        )
        .expect("issue builds")
        .tx
    }

    /// Spends `note` of wallet `w` (which need not be in the wallet) to wallet `to`.
    fn spend_note(&self, w: usize, note: (NoteId, Opening), to: usize) -> Transaction {
        let mut payer = TestWallet::new(&self.wallets[w].name, &self.params);
        payer.notes = vec![note];
        payer
            .pay_note(&self.params, 0, &self.wallets[to].address)
            .expect("builds")
    }

    fn next(&mut self) -> Step {
        let n = self.wallets.len();
        let from = self.rng.gen_range(0..n);
        let to = (from + self.rng.gen_range(1..n)) % n;
        let roll = self.rng.gen_range(0..100);
        let spendable = self.wallets[from].balance().units();
        let funded = spendable > 0;
        // Payments stay within the tier-0 cap of payer and payee.
        let cap = self.params.tier(0).map_or(1, |t| t.max_payment.units());
        match roll {
            _ if self.supply == 0 || roll < 15 || (!funded && roll < 60) => {
                let amount = self.rng.gen_range(1..=1000);
                Step {
                    what: "issue",
                    tx: self.issue_tx(to, amount),
                    expect: Expect::Commit,
                }
            }
            15..=54 if funded => {
                let amount = self.rng.gen_range(1..=spendable.min(cap));
                let tx = self.wallets[from]
                    .pay(&self.params, &self.wallets[to].address, units(amount))
                    .expect("payment builds");
                Step {
                    what: "pay",
                    tx,
                    expect: Expect::Commit,
                }
            }
            55..=61 if funded => {
                let amount = self.rng.gen_range(1..=spendable.min(100));
                let tx = self.wallets[from]
                    .redeem(&self.params, units(amount))
                    .expect("redeem builds");
                Step {
                    what: "redeem",
                    tx,
                    expect: Expect::Commit,
                }
            }
            62..=68 if self.committed.iter().any(|t| t.kind == TxKind::Transfer) => {
                let transfers: Vec<&Transaction> = self
                    .committed
                    .iter()
                    .filter(|t| t.kind == TxKind::Transfer)
                    .collect();
                let i = self.rng.gen_range(0..transfers.len());
                Step {
                    what: "replay",
                    tx: transfers[i].clone(),
                    expect: Expect::Replay,
                }
            }
            69..=75 if !self.spent.is_empty() => {
                let i = self.rng.gen_range(0..self.spent.len());
                let (w, id, opening) = self.spent[i].clone();
                Step {
                    what: "double spend",
                    tx: self.spend_note(w, (id, opening), to),
                    expect: Expect::Reject("input_spent"),
                }
            }
            76..=82 if funded => {
                let mut tx = self.wallets[from]
                    .pay_note(&self.params, 0, &self.wallets[to].address)
                    .expect("builds");
                let other = self.wallets[from]
                    .pay_note(&self.params, 0, &self.wallets[from].address)
                    .expect("builds");
                tx.balance_proof = other.balance_proof;
                Step {
                    what: "value from nowhere (forged balance proof)",
                    tx,
                    expect: Expect::Reject("unbalanced"),
                }
            }
            83..=88 if funded => {
                let mut tx = self.wallets[from]
                    .pay_note(&self.params, 0, &self.wallets[to].address)
                    .expect("builds");
                tx.owner_signatures[0] = self.wallets[to].keys.spend.sign(&tx.id().0);
                Step {
                    what: "signed by another wallet",
                    tx,
                    expect: Expect::Reject("bad_owner_signature"),
                }
            }
            89..=94 => {
                let ghost = self.issue_tx(from, 77);
                let id = ghost.output_ids()[0];
                let opening = ghost.outputs[0]
                    .open(&self.wallets[from].keys.view)
                    .expect("opens");
                Step {
                    what: "spend of a note never issued",
                    tx: self.spend_note(from, (id, opening), to),
                    expect: Expect::Reject("unknown_input"),
                }
            }
            _ if self.memory => Step {
                what: "issue with one issuer signature",
                tx: self.issue_tx(to, 5),
                expect: Expect::Reject("not_enough_issuer_signatures"),
            },
            _ => {
                let amount = self.rng.gen_range(1..=1000);
                Step {
                    what: "issue",
                    tx: self.issue_tx(to, amount),
                    expect: Expect::Commit,
                }
            }
        }
    }

    /// The claims each wallet holding pending notes makes in `period` (what fits its limits).
    fn claims(&self, period: u64) -> Vec<(usize, Transaction)> {
        self.wallets
            .iter()
            .enumerate()
            .filter_map(|(i, w)| w.build_claim(period).map(|c| (i, c)))
            .collect()
    }

    /// The model after a committed step in turnover period `period`.
    fn commit(&mut self, tx: &Transaction, period: u64) {
        for (i, w) in self.wallets.iter().enumerate() {
            for (id, opening) in &w.notes {
                if tx.inputs.contains(id) {
                    self.spent.push((i, *id, opening.clone()));
                }
            }
        }
        for (i, w) in self.wallets.iter_mut().enumerate() {
            w.apply(tx, period);
            self.balances[i] = w.balance().units() + w.held_balance().units();
        }
        match tx.kind {
            TxKind::Issue => self.supply += tx.public_amount.units(),
            TxKind::Redeem => self.supply -= tx.public_amount.units(),
            TxKind::Transfer | TxKind::Claim => {}
        }
        self.committed.push(tx.clone());
        let total: u64 = self.balances.iter().sum();
        assert_eq!(total, self.supply, "model: balances add up to the supply");
    }

    fn notes(&self) -> usize {
        self.wallets
            .iter()
            .map(|w| w.notes.len() + w.held.len())
            .sum()
    }
}

fn memory_params(issuers: &[SigningKey]) -> NetworkParams {
    let params = NetworkParams {
        network_id: 77,
        name: "model".into(),
        sandbox: true,
        currency: "DFC".into(),
        decimals: 2,
        issuers: issuers.iter().map(SigningKey::public).collect(),
        threshold: 2,
        node_key: SigningKey::from_seed(&[9; 32]).public(),
        limits: dfc_core::Limits::default(),
        tiers: dfc_core::params::default_tiers(),
        turnover_period_days: dfc_core::params::DEFAULT_TURNOVER_PERIOD_DAYS,
        compliance: None,
        auditors: Vec::new(),
        tls_ca: None,
        genesis_hash: dfc_core::Hash32([77; 32]),
    };
    params.validate().expect("valid params");
    params
}

#[test]
fn memory_ledger_matches_the_model() {
    init_tracing();
    let steps = knob("DFC_MODEL_STEPS", 300);
    let seed = knob("DFC_MODEL_SEED", 0x5eed);
    let issuers: Vec<SigningKey> = (1..=3u8).map(|i| SigningKey::from_seed(&[i; 32])).collect();
    let params = memory_params(&issuers);
    let mut ledger = MemoryLedger::new(params.clone());
    let mut sim = Sim::new(params, seed, true);
    // As on a node: every wallet registered at tier 0.
    for w in &sim.wallets {
        ledger.register(w.address.spend, 0);
    }
    let period = ledger.period();
    let mut counts = std::collections::BTreeMap::<&str, u64>::new();
    for step_no in 0..steps {
        let step = sim.next();
        *counts.entry(step.what).or_default() += 1;
        let mut tx = step.tx.clone();
        if tx.kind.is_public() && step.expect == Expect::Commit {
            tx.sign_as_issuer(0, &issuers[0]);
            tx.sign_as_issuer(1, &issuers[1]);
        } else if tx.kind == TxKind::Issue {
            tx.sign_as_issuer(2, &issuers[2]);
        }
        let before = (ledger.supply(), ledger.tx_count(), ledger.unspent_count());
        let r = ledger.apply(&tx);
        let ctx = format!("seed {seed} step {step_no} ({})", step.what);
        match step.expect {
            Expect::Commit => {
                r.unwrap_or_else(|e| panic!("{ctx}: refused: {e}"));
                sim.commit(&tx, period);
                for (_, claim) in sim.claims(period) {
                    ledger
                        .apply(&claim)
                        .unwrap_or_else(|e| panic!("{ctx}: claim refused: {e}"));
                    sim.commit(&claim, period);
                }
            }
            Expect::Replay | Expect::Reject(_) => {
                assert!(r.is_err(), "{ctx}: accepted");
                assert_eq!(
                    (ledger.supply(), ledger.tx_count(), ledger.unspent_count()),
                    before,
                    "{ctx}: a refusal changed the ledger"
                );
            }
        }
        assert_eq!(ledger.supply().units(), sim.supply, "{ctx}: supply");
        assert_eq!(ledger.unspent_count(), sim.notes(), "{ctx}: unspent notes");
        assert_eq!(ledger.tx_count(), sim.committed.len() as u64, "{ctx}");
        for (id, _) in sim.wallets.iter().flat_map(|w| &w.notes) {
            assert!(
                ledger.unspent().any(|(n, _)| n == id),
                "{ctx}: a wallet note is not unspent in the ledger"
            );
        }
        if step_no % 25 == 0 {
            ledger.audit().expect("supply invariant");
        }
    }
    ledger.audit().expect("supply invariant");
    let summary = format!("model (memory): {steps} steps, seed {seed}: {counts:?}");
    tracing::info!("{summary}");
    println!("{summary}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn node_matches_the_model() {
    init_tracing();
    let steps = knob("DFC_MODEL_NODE_STEPS", 40);
    let seed = knob("DFC_MODEL_SEED", 0x5eed) ^ 1;
    let tmp = tempfile::tempdir().expect("tempdir");
    let data = tmp.path().join("bank");
    let params = init_sandbox(&data);
    let node = Node::start(&data);
    let client = node.client();
    let ops: Vec<_> = (0..2)
        .map(|i| sandbox_operator(&data, &params, i))
        .collect();
    let mut sim = Sim::new(params.clone(), seed, false);
    for w in &sim.wallets {
        register(&client, w).await;
    }
    let mut counts = std::collections::BTreeMap::<&str, u64>::new();
    for step_no in 0..steps {
        let step = sim.next();
        *counts.entry(step.what).or_default() += 1;
        let ctx = format!("seed {seed} step {step_no} ({})", step.what);
        let before = client.supply().await.expect("supply");
        let tx = step.tx;
        let outcome: Result<(), String> = match tx.kind {
            TxKind::Transfer | TxKind::Claim => client
                .submit(&tx)
                .await
                .map(|_| ())
                .map_err(|e| e.code().unwrap_or("transport").to_string()),
            TxKind::Issue => {
                let txid = tx.id();
                client
                    .operator(&ops[0].request(
                        &params,
                        OperatorAction::Propose {
                            tx: tx.clone(),
                            approval: ops[0].approval(&txid),
                            openings: issue_openings(&sim, &tx),
                        },
                    ))
                    .await
                    .expect("proposal");
                let r = client
                    .operator(&ops[1].approve(&params, &txid))
                    .await
                    .expect("approval");
                assert!(r.receipt.is_some(), "{ctx}: two approvals commit");
                Ok(())
            }
            TxKind::Redeem => {
                let txid = tx.id();
                client
                    .request_redemption(&tx)
                    .await
                    .unwrap_or_else(|e| panic!("{ctx}: {e}"));
                client
                    .operator(&ops[0].approve(&params, &txid))
                    .await
                    .expect("approval");
                let r = client
                    .operator(&ops[1].approve(&params, &txid))
                    .await
                    .expect("approval");
                assert!(r.receipt.is_some(), "{ctx}: two approvals commit");
                Ok(())
            }
        };
        match step.expect {
            Expect::Commit => {
                outcome.unwrap_or_else(|e| panic!("{ctx}: refused: {e}"));
                assert!(matches!(
                    client.tx_status(&tx.id()).await.expect("status"),
                    TxStatus::Committed { .. }
                ));
                let period = params.turnover_period(now_ms());
                sim.commit(&tx, period);
                for (_, claim) in sim.claims(period) {
                    let r = client
                        .submit(&claim)
                        .await
                        .unwrap_or_else(|e| panic!("{ctx}: claim refused: {e}"));
                    let block = client.blocks(r.height, 1).await.expect("block");
                    let time = block.blocks.first().map_or(0, |b| b.header.time_ms);
                    sim.commit(&claim, params.turnover_period(time));
                }
            }
            Expect::Replay => {
                outcome.unwrap_or_else(|e| panic!("{ctx}: a replay is answered: {e}"));
                assert_eq!(client.supply().await.expect("supply"), before, "{ctx}");
            }
            Expect::Reject(code) => {
                assert_eq!(outcome, Err(code.to_string()), "{ctx}");
                assert_eq!(client.supply().await.expect("supply"), before, "{ctx}");
            }
        }
        let s = client.supply().await.expect("supply");
        assert_eq!(s.supply.units(), sim.supply, "{ctx}: supply");
        assert_eq!(s.notes_outstanding, sim.notes() as u64, "{ctx}: notes");
        assert_eq!(s.tx_count, sim.committed.len() as u64, "{ctx}: tx count");
        for (i, w) in sim.wallets.iter().enumerate() {
            let mut fresh = TestWallet::new(&w.name, &params);
            fresh.scan(&client).await;
            assert_eq!(
                fresh.balance().units() + fresh.held_balance().units(),
                sim.balances[i],
                "{ctx}: {} resynced",
                w.name
            );
        }
    }
    crate::audit_passes(&data);
    let summary = format!("model (node): {steps} steps, seed {seed}: {counts:?}");
    tracing::info!("{summary}");
    println!("{summary}");
}

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}
