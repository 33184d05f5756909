//! Fixtures shared by the core integration tests: a 2-of-3 network, funded wallets, and a forger
//! that builds transactions with chosen (possibly dishonest) values.
#![allow(dead_code, clippy::unwrap_used)]

use bulletproofs::PedersenGens;
use curve25519_dalek::scalar::Scalar;
use dfc_core::params::default_tiers;
use dfc_core::{
    build, range, Address, Amount, BalanceProof, Built, Commitment, Limits, MemoryLedger,
    NetworkParams, Opening, Output, Payment, SigningKey, SpendInput, Transaction, TxKind,
    WalletKeys,
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
        compliance: None,
    };
    params.validate().unwrap();
    Net {
        params,
        issuers,
        node,
    }
}

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

/// Issues `amounts` to `to`, signed by issuers 0 and 1, and applies it. Returns the spendable notes.
pub fn issue(
    n: &Net,
    ledger: &mut MemoryLedger,
    to: &WalletKeys,
    amounts: &[u64],
    seed: u64,
) -> Vec<SpendInput> {
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

pub fn snapshot(l: &MemoryLedger) -> (u64, usize, u64) {
    (l.supply().units(), l.unspent_count(), l.tx_count())
}

/// One forged output: the committed value as a scalar (may be "negative"), the value the range
/// proof claims, and the blinding.
pub struct ForgedOut {
    pub committed: Scalar,
    pub proven: u64,
    pub blinding: Scalar,
}

/// Builds a transfer spending `inputs` whose outputs commit to arbitrary scalars. The balance proof
/// uses the honest blinding difference and the range proof is made over the `proven` values, so a
/// dishonest output is caught by exactly the check it breaks.
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
        kind,
        public_amount: amt(public),
        inputs: inputs.iter().map(|i| i.id).collect(),
        outputs,
        range_proof: Vec::new(),
        balance_proof: BalanceProof::prove(
            &dfc_core::Hash32([0; 32]),
            &gens.B_blinding,
            &Scalar::ONE,
            &mut r,
        ),
        owner_signatures: Vec::new(),
        issuer_signatures: Vec::new(),
        compliance: None,
    };
    let values: Vec<(u64, Scalar)> = outs.iter().map(|o| (o.proven, o.blinding)).collect();
    tx.range_proof = range::prove(&mut tx.range_transcript(), &values, &mut r);
    resign(
        &mut tx,
        inputs,
        outs.iter().map(|o| o.blinding).collect(),
        seed,
    );
    tx
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
