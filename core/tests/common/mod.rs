//! Fixtures shared by the core integration tests: a 2-of-3 network, funded wallets (issued notes
//! are claimed at once, so they are spendable), claims of a wallet's pending notes, and a forger
//! that builds transactions with chosen (possibly dishonest) values.
#![allow(dead_code, clippy::unwrap_used)]

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

use bulletproofs::PedersenGens;
use curve25519_dalek::ristretto::{CompressedRistretto, RistrettoPoint};
use curve25519_dalek::scalar::Scalar;
use curve25519_dalek::traits::Identity;
use dfc_core::builder::build_claim;
use dfc_core::claim::{sum_openings, ClaimRequest, ClaimSection};
use dfc_core::compliance::{Compliance, ComplianceContext};
use dfc_core::params::{default_tiers, DEFAULT_TURNOVER_PERIOD_DAYS};
use dfc_core::{
    build, range, Address, Amount, BalanceProof, BuildError, Built, Commitment, Hash32, LedgerView,
    Limits, MemoryLedger, NetworkParams, NoteId, Opening, Output, Payment, SigningKey, SpendInput,
    Transaction, TxKind, WalletKeys,
};
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;

pub fn rng(seed: u64) -> ChaCha20Rng {
    ChaCha20Rng::seed_from_u64(seed)
}

pub struct Net {
    pub params: NetworkParams,
    pub issuers: Vec<SigningKey>,
    pub node: SigningKey,
}

/// The genesis hash of the test ledger of network `network_id`: distinct per network.
pub fn genesis(network_id: u32) -> Hash32 {
    let mut g = [0x6e; 32];
    g[..4].copy_from_slice(&network_id.to_le_bytes());
    Hash32(g)
}

pub fn net(network_id: u32) -> Net {
    let issuers: Vec<SigningKey> = (0..3u8)
        .map(|i| SigningKey::from_seed(&[i + 1; 32]))
        .collect();
    let node = SigningKey::from_seed(&[9; 32]);
    let params = NetworkParams {
        network_id,
        name: "test".into(),
        sandbox: true,
        currency: "DFC".into(),
        decimals: 2,
        issuers: issuers.iter().map(SigningKey::public).collect(),
        threshold: 2,
        node_key: node.public(),
        limits: Limits::default(),
        tiers: default_tiers(),
        turnover_period_days: DEFAULT_TURNOVER_PERIOD_DAYS,
        compliance: None,
        auditors: Vec::new(),
        tls_ca: None,
        genesis_hash: genesis(network_id),
    };
    params.validate().unwrap();
    Net {
        params,
        issuers,
        node,
    }
}

/// The highest tier of the default table: what the open registry gives every key.
pub const TOP_TIER: u8 = 2;

pub fn wallet(name: &str) -> WalletKeys {
    WalletKeys::from_seed(name.as_bytes())
}

pub fn amt(units: u64) -> Amount {
    Amount::from_units(units).unwrap()
}

pub fn pay(to: &WalletKeys, network: u32, units: u64) -> Payment {
    Payment {
        to: to.address(network),
        amount: amt(units),
        memo: Vec::new(),
    }
}

/// Issues `amounts` to `to`, signed by issuers 0 and 1, and applies it; its notes are pending.
pub fn issue_pending(
    n: &Net,
    ledger: &mut MemoryLedger,
    to: &WalletKeys,
    amounts: &[u64],
    seed: u64,
) -> Built {
    let total: u64 = amounts.iter().sum();
    let payments: Vec<Payment> = amounts
        .iter()
        .map(|a| pay(to, n.params.network_id, *a))
        .collect();
    let mut built = build(
        &n.params,
        TxKind::Issue,
        amt(total),
        &[],
        &payments,
        &mut rng(seed),
    )
    .unwrap();
    built.tx.sign_as_issuer(0, &n.issuers[0]);
    built.tx.sign_as_issuer(1, &n.issuers[1]);
    ledger.apply(&built.tx).unwrap();
    built
}

/// Issues `amounts` to `to` and claims them, so they are spendable. Returns the notes.
pub fn issue(
    n: &Net,
    ledger: &mut MemoryLedger,
    to: &WalletKeys,
    amounts: &[u64],
    seed: u64,
) -> Vec<SpendInput> {
    let built = issue_pending(n, ledger, to, amounts, seed);
    claim_pending(n, ledger, to, seed + 50_000).unwrap();
    spendable(&built, to)
}

/// The outputs of `built` owned by `owner`, as spend inputs.
pub fn spendable(built: &Built, owner: &WalletKeys) -> Vec<SpendInput> {
    let ids = built.tx.output_ids();
    built
        .tx
        .outputs
        .iter()
        .zip(ids)
        .filter(|(o, _)| o.owner == owner.spend.public())
        .map(|(o, id)| SpendInput {
            id,
            opening: o.open(&owner.view).unwrap(),
            key: owner.spend.clone(),
        })
        .collect()
}

/// Supply, unspent notes, transactions applied.
pub fn snapshot(l: &MemoryLedger) -> (u64, usize, u64) {
    (l.supply().units(), l.unspent_count(), l.tx_count())
}

/// The openings of sums of commitments that tests' claims took into an inflow, by the summed
/// commitment. A wallet learns its inflow's opening by adding up what it claimed; the reference
/// ledger keeps only the point, so tests look the opening up here by the point it opens (Pedersen
/// binding makes the point a sound key). Shared by every ledger and clone: an entry for a claim
/// that was never applied is simply never looked up.
fn inflow_openings() -> &'static Mutex<HashMap<[u8; 32], Opening>> {
    static MAP: OnceLock<Mutex<HashMap<[u8; 32], Opening>>> = OnceLock::new();
    MAP.get_or_init(|| Mutex::new(HashMap::new()))
}

fn zero_opening() -> Opening {
    Opening {
        amount: Amount::ZERO,
        blinding: Scalar::ZERO,
        memo: Vec::new(),
    }
}

fn point_of(o: &Opening) -> CompressedRistretto {
    PedersenGens::default()
        .commit(Scalar::from(o.amount.units()), o.blinding)
        .compress()
}

/// What `wallet` knows to claim on `ledger` now: its tier, the period, its pending notes (sorted
/// by id) with their openings, and the openings of its balance and of this period's inflow,
/// checked against the ledger's holding.
pub struct ClaimParts {
    pub tier: u8,
    pub period: u64,
    pub pending: Vec<(NoteId, Opening)>,
    pub balance: Opening,
    pub inflow: Opening,
}

impl ClaimParts {
    /// The request for `notes` (a subset of `pending`, or any notes with their openings).
    pub fn request<'a>(
        &self,
        key: &'a SigningKey,
        notes: &'a [(NoteId, Opening)],
    ) -> ClaimRequest<'a> {
        ClaimRequest {
            key,
            tier: self.tier,
            period: self.period,
            notes,
            balance: self.balance.clone(),
            inflow: self.inflow.clone(),
        }
    }
}

pub fn claim_parts(ledger: &MemoryLedger, wallet: &WalletKeys) -> ClaimParts {
    let me = wallet.spend.public();
    let account = ledger.account(&me).expect("the wallet is registered");
    let mut mine: Vec<(NoteId, bool, Opening)> = ledger
        .unspent()
        .filter(|(_, n)| ledger.account(&n.output.owner).map(|a| a.key) == Some(me))
        .map(|(id, n)| (*id, n.pending, n.output.open(&wallet.view).unwrap()))
        .collect();
    mine.sort_by_key(|(id, _, _)| *id);
    let balance = sum_openings(mine.iter().filter(|m| !m.1).map(|m| &m.2)).unwrap();
    let holding = ledger.holding(&me);
    assert_eq!(
        point_of(&balance),
        holding.balance.compress(),
        "the wallet's settled notes do not sum to the ledger's balance point"
    );
    let period = ledger.period();
    let inflow_point = holding.inflow_in(period);
    let inflow = if inflow_point == RistrettoPoint::identity() {
        zero_opening()
    } else {
        inflow_openings()
            .lock()
            .unwrap()
            .get(&inflow_point.compress().to_bytes())
            .cloned()
            .expect("the inflow was claimed through the test helpers")
    };
    ClaimParts {
        tier: account.tier,
        period,
        pending: mine
            .into_iter()
            .filter(|m| m.1)
            .map(|(id, _, o)| (id, o))
            .collect(),
        balance,
        inflow,
    }
}

/// Builds the claim of `req` and records the opening of the inflow it leads to.
pub fn make_claim(n: &Net, req: &ClaimRequest<'_>, seed: u64) -> Result<Transaction, BuildError> {
    let tx = build_claim(&n.params, req, &mut rng(seed))?;
    let after =
        sum_openings(std::iter::once(&req.inflow).chain(req.notes.iter().map(|(_, o)| o))).unwrap();
    inflow_openings()
        .lock()
        .unwrap()
        .insert(point_of(&after).to_bytes(), after);
    Ok(tx)
}

/// Claims every pending note of `wallet` (16 per claim) and applies the claims. Returns the
/// claimed notes.
pub fn claim_pending(
    n: &Net,
    ledger: &mut MemoryLedger,
    wallet: &WalletKeys,
    seed: u64,
) -> Result<Vec<NoteId>, BuildError> {
    let mut claimed = Vec::new();
    let mut seed = seed;
    loop {
        let parts = claim_parts(ledger, wallet);
        if parts.pending.is_empty() {
            return Ok(claimed);
        }
        let take = parts.pending.len().min(dfc_core::claim::MAX_CLAIM_NOTES);
        let notes = &parts.pending[..take];
        let tx = make_claim(n, &parts.request(&wallet.spend, notes), seed)?;
        ledger.apply(&tx).map_err(BuildError::Rule)?;
        claimed.extend(notes.iter().map(|(id, _)| *id));
        seed += 1;
    }
}

/// The outputs of `built` owned by `owner`, claimed first (they are pending: a payee's receipt).
pub fn receive(
    n: &Net,
    ledger: &mut MemoryLedger,
    built: &Built,
    owner: &WalletKeys,
    seed: u64,
) -> Vec<SpendInput> {
    claim_pending(n, ledger, owner, seed).unwrap();
    spendable(built, owner)
}

/// One forged output: the committed value as a scalar (may be "negative"), the value the range
/// proof claims, and the blinding.
pub struct ForgedOut {
    pub committed: Scalar,
    pub proven: u64,
    pub blinding: Scalar,
}

/// Builds a transfer spending `inputs` whose outputs commit to arbitrary scalars. The balance proof
/// uses the honest blinding difference, the range proof and the bound proof are made over the
/// `proven` values (every party at the top tier, as the open registry has them), so a dishonest
/// output is caught by exactly the check it breaks.
pub fn forge(
    n: &Net,
    kind: TxKind,
    public: u64,
    inputs: &[SpendInput],
    outs: &[ForgedOut],
    to: &Address,
    seed: u64,
) -> Transaction {
    let mut r = rng(seed);
    let gens = PedersenGens::default();
    let outputs: Vec<Output> = outs
        .iter()
        .map(|o| {
            let mut out = Output::new(to, &Opening::random(amt(1), Vec::new(), &mut r), &mut r);
            let point = gens.commit(o.committed, o.blinding);
            out.commitment = Commitment::from_bytes(&point.compress().to_bytes()).unwrap();
            out
        })
        .collect();
    let mut tx = Transaction {
        network: n.params.network_id,
        genesis: n.params.genesis_hash,
        kind,
        public_amount: amt(public),
        inputs: inputs.iter().map(|i| i.id).collect(),
        outputs,
        range_proof: Default::default(),
        balance_proof: BalanceProof::prove(
            &dfc_core::Hash32([0; 32]),
            &gens.B_blinding,
            &Scalar::ONE,
            &mut r,
        ),
        owner_signatures: Vec::new(),
        issuer_signatures: Vec::new(),
        compliance: None,
        claim: None,
    };
    let mut values: Vec<(u64, Scalar)> = outs.iter().map(|o| (o.proven, o.blinding)).collect();
    if kind == TxKind::Transfer {
        tx.compliance = Some(forge_section(n, &tx, inputs, outs, &mut values));
    }
    tx.range_proof = range::prove_bits(
        &mut tx.range_transcript(),
        &values,
        range::RANGE_BITS,
        &mut r,
    )
    .into();
    resign(
        &mut tx,
        inputs,
        outs.iter().map(|o| o.blinding).collect(),
        seed,
    );
    tx
}

/// A flow section for a forged transfer, and its bounds appended to the range proof's `values`:
/// proven over the `proven` values where they fit under the caps, otherwise over zeros (a
/// well-formed section whose bounds do not verify).
fn forge_section(
    n: &Net,
    tx: &Transaction,
    inputs: &[SpendInput],
    outs: &[ForgedOut],
    values: &mut Vec<(u64, Scalar)>,
) -> Compliance {
    let owners: Vec<_> = tx.outputs.iter().map(|o| o.owner).collect();
    let payees: Vec<_> = owners.iter().map(|k| (*k, TOP_TIER)).collect();
    let ctx = ComplianceContext {
        payer_tier: TOP_TIER,
        own_keys: inputs.iter().map(|i| i.key.public()).collect(),
        payee_tiers: payees,
    };
    let openings = |honest: bool| -> Vec<Opening> {
        outs.iter()
            .map(|o| Opening {
                amount: if honest {
                    Amount::from_units(o.proven).unwrap_or(Amount::ZERO)
                } else {
                    Amount::ZERO
                },
                blinding: o.blinding,
                memo: Vec::new(),
            })
            .collect()
    };
    let (section, disclosed) = Compliance::plan(&n.params, &ctx, &owners, &openings(true))
        .or_else(|_| Compliance::plan(&n.params, &ctx, &owners, &openings(false)))
        .unwrap();
    let bounds = section
        .bound_values(&n.params, &disclosed, &openings(true))
        .or_else(|_| section.bound_values(&n.params, &disclosed, &openings(false)))
        .unwrap();
    values.extend(bounds);
    section
}

/// Recomputes the balance proof and owner signatures for the current body of `tx`, as the owner
/// of the inputs could.
pub fn resign(tx: &mut Transaction, inputs: &[SpendInput], out_blindings: Vec<Scalar>, seed: u64) {
    let txid = tx.id();
    let x: Scalar = out_blindings.iter().sum::<Scalar>()
        - inputs.iter().map(|i| i.opening.blinding).sum::<Scalar>();
    let commitments: Vec<Commitment> = inputs.iter().map(|i| i.opening.commitment()).collect();
    tx.balance_proof =
        BalanceProof::prove(&txid, &tx.excess(&commitments), &x, &mut rng(seed + 1000));
    tx.owner_signatures = inputs.iter().map(|i| i.key.sign(&txid.0)).collect();
}

/// Re-signs a claim whose section was altered, as its claimant could.
pub fn resign_claim(tx: &mut Transaction, key: &SigningKey, seed: u64) {
    let txid = tx.id();
    tx.balance_proof =
        BalanceProof::prove(&txid, &tx.excess(&[]), &Scalar::ZERO, &mut rng(seed + 2000));
    tx.owner_signatures = vec![key.sign(&txid.0)];
}

/// A claim of `req` made past the builder's clear-text limit checks: the proof is over the slacks
/// computed with wrapping arithmetic, as a cheating wallet would make it. When the claim breaks a
/// limit, the proven values do not open the points the verifier derives.
pub fn forge_claim(n: &Net, req: &ClaimRequest<'_>, seed: u64) -> Transaction {
    let mut r = rng(seed);
    let limits = n.params.tier(req.tier).unwrap();
    let new = sum_openings(req.notes.iter().map(|(_, o)| o)).unwrap();
    let g = dfc_core::note::pedersen_gens();
    let commit = |o: &Opening| {
        g.commit(Scalar::from(o.amount.units()), o.blinding)
            .compress()
    };
    let slack = |limit: Amount, have: &Opening| {
        limit
            .units()
            .wrapping_sub(have.amount.units())
            .wrapping_sub(new.amount.units())
    };
    let mut section = ClaimSection {
        claimant: req.key.public(),
        tier: req.tier,
        period: req.period,
        notes: req.notes.iter().map(|(id, _)| *id).collect(),
        balance: commit(&req.balance),
        inflow: commit(&req.inflow),
        proof: Vec::new(),
    };
    let values = [
        (
            slack(limits.max_balance, &req.balance),
            -(req.balance.blinding + new.blinding),
        ),
        (
            slack(limits.max_inflow, &req.inflow),
            -(req.inflow.blinding + new.blinding),
        ),
    ];
    section.proof = range::prove(
        &mut section.transcript(n.params.network_id, &n.params.genesis_hash),
        &values,
        &mut r,
    );
    let mut tx = Transaction {
        network: n.params.network_id,
        genesis: n.params.genesis_hash,
        kind: TxKind::Claim,
        public_amount: Amount::ZERO,
        inputs: Vec::new(),
        outputs: Vec::new(),
        range_proof: Default::default(),
        balance_proof: BalanceProof::prove(&Hash32([0; 32]), &g.B_blinding, &Scalar::ONE, &mut r),
        owner_signatures: Vec::new(),
        issuer_signatures: Vec::new(),
        compliance: None,
        claim: Some(section),
    };
    resign_claim(&mut tx, req.key, seed);
    tx
}
