//! Criterion benchmarks of the protocol's hot paths: aggregated range proofs for 1, 2, 4 and 8
//! outputs, and building and verifying a full 2-input, 2-output transfer.
#![allow(missing_docs, clippy::unwrap_used)]

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use curve25519_dalek::scalar::Scalar;
use dfc_core::params::default_tiers;
use dfc_core::{
    build, range, validate, Amount, Limits, MemoryLedger, NetworkParams, Payment, SigningKey,
    SpendInput, TxKind, WalletKeys,
};
use merlin::Transcript;
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;

fn params() -> (NetworkParams, Vec<SigningKey>) {
    let issuers: Vec<SigningKey> = (0..3u8)
        .map(|i| SigningKey::from_seed(&[i + 1; 32]))
        .collect();
    let p = NetworkParams {
        network_id: 1,
        name: "bench".into(),
        sandbox: true,
        currency: "DFC".into(),
        decimals: 2,
        issuers: issuers.iter().map(SigningKey::public).collect(),
        threshold: 2,
        node_key: SigningKey::from_seed(&[9; 32]).public(),
        limits: Limits::default(),
        tiers: default_tiers(),
        compliance: None,
    };
    (p, issuers)
}

fn range_proofs(c: &mut Criterion) {
    let mut rng = ChaCha20Rng::seed_from_u64(1);
    let mut group = c.benchmark_group("range_proof");
    for m in [1usize, 2, 4, 8] {
        let values: Vec<(u64, Scalar)> = (0..m)
            .map(|i| (1000 + i as u64, Scalar::random(&mut rng)))
            .collect();
        let commitments: Vec<dfc_core::Commitment> = values
            .iter()
            .map(|(v, b)| dfc_core::Commitment::commit(Amount::from_units(*v).unwrap(), b))
            .collect();
        group.bench_with_input(BenchmarkId::new("prove", m), &m, |b, _| {
            b.iter(|| range::prove(&mut Transcript::new(b"bench"), &values, &mut rng))
        });
        let proof = range::prove(&mut Transcript::new(b"bench"), &values, &mut rng);
        group.bench_with_input(BenchmarkId::new("verify", m), &m, |b, _| {
            b.iter(|| {
                assert!(range::verify(
                    &mut Transcript::new(b"bench"),
                    &commitments,
                    &proof
                ))
            })
        });
    }
    group.finish();
}

fn pay(to: &WalletKeys, units: u64) -> Payment {
    Payment {
        to: to.address(1),
        amount: Amount::from_units(units).unwrap(),
        memo: Vec::new(),
    }
}

/// A ledger where `owner` holds one note per entry of `amounts`, and those notes as spend inputs.
fn funded(
    p: &NetworkParams,
    issuers: &[SigningKey],
    owner: &WalletKeys,
    amounts: &[u64],
    rng: &mut ChaCha20Rng,
) -> (MemoryLedger, Vec<SpendInput>) {
    let mut ledger = MemoryLedger::new(p.clone());
    let total = Amount::from_units(amounts.iter().sum()).unwrap();
    let payments: Vec<Payment> = amounts.iter().map(|a| pay(owner, *a)).collect();
    let mut issue = build(p, TxKind::Issue, total, &[], &payments, rng).unwrap();
    issue.tx.sign_as_issuer(0, &issuers[0]);
    issue.tx.sign_as_issuer(1, &issuers[1]);
    ledger.apply(&issue.tx).unwrap();
    let inputs = issue
        .tx
        .output_ids()
        .into_iter()
        .zip(&issue.tx.outputs)
        .map(|(id, o)| SpendInput {
            id,
            opening: o.open(&owner.view).unwrap(),
            key: owner.spend.clone(),
        })
        .collect();
    (ledger, inputs)
}

fn transfer(c: &mut Criterion) {
    let (p, issuers) = params();
    let mut rng = ChaCha20Rng::seed_from_u64(2);
    let alice = WalletKeys::from_seed(b"alice");
    let bob = WalletKeys::from_seed(b"bob");
    let (ledger, inputs) = funded(&p, &issuers, &alice, &[600, 400], &mut rng);
    let outs = [pay(&bob, 700), pay(&alice, 300)];
    let mut group = c.benchmark_group("transfer_2in_2out");
    group.bench_function("build", |b| {
        b.iter(|| build(&p, TxKind::Transfer, Amount::ZERO, &inputs, &outs, &mut rng).unwrap())
    });
    let tx = build(&p, TxKind::Transfer, Amount::ZERO, &inputs, &outs, &mut rng)
        .unwrap()
        .tx;
    group.bench_function("validate", |b| {
        b.iter(|| validate::validate(&tx, &p, &ledger).unwrap())
    });
    let resolved = validate::resolve_inputs(&tx, &ledger).unwrap();
    group.bench_function("check_structure", |b| {
        b.iter(|| validate::check_structure(&tx, &p).unwrap())
    });
    group.bench_function("verify_crypto", |b| {
        b.iter(|| validate::verify_crypto(&tx, &p, &resolved).unwrap())
    });
    group.bench_function("decode", |b| {
        let bytes = tx.encode();
        b.iter(|| dfc_core::Transaction::decode(&bytes).unwrap())
    });
    group.finish();
    eprintln!(
        "sizes: transfer_2in_2out = {} bytes, range proof = {} bytes",
        tx.encode().len(),
        tx.range_proof.len()
    );
}

fn compliance(c: &mut Criterion) {
    use dfc_core::compliance::{ComplianceContext, ComplianceParams, RegulatorKey};
    let (mut p, issuers) = params();
    let regulator = RegulatorKey::from_seed(&[42; 32]);
    p.compliance = Some(ComplianceParams {
        regulator_key: regulator.public(),
        reporting_threshold: Amount::from_units(50_000).unwrap(),
    });
    let mut rng = ChaCha20Rng::seed_from_u64(3);
    let alice = WalletKeys::from_seed(b"alice");
    let bob = WalletKeys::from_seed(b"bob");
    let (ledger, inputs) = funded(&p, &issuers, &alice, &[100_000, 100_000], &mut rng);
    let options = dfc_core::BuildOptions {
        compliance: Some(ComplianceContext {
            sender_cap: Some(Amount::from_units(10_000_000).unwrap()),
            receiver_caps: vec![Some(Amount::from_units(10_000_000).unwrap()), None],
        }),
    };
    let mut group = c.benchmark_group("transfer_2in_2out_compliance");
    for (label, paid) in [("undisclosed", 700u64), ("disclosed", 60_000)] {
        let outs = [pay(&bob, paid), pay(&alice, 200_000 - paid)];
        group.bench_function(format!("build_{label}"), |b| {
            b.iter(|| {
                dfc_core::build_with(
                    &p,
                    TxKind::Transfer,
                    Amount::ZERO,
                    &inputs,
                    &outs,
                    &options,
                    &mut rng,
                )
                .unwrap()
            })
        });
        let tx = dfc_core::build_with(
            &p,
            TxKind::Transfer,
            Amount::ZERO,
            &inputs,
            &outs,
            &options,
            &mut rng,
        )
        .unwrap()
        .tx;
        let resolved = validate::resolve_inputs(&tx, &ledger).unwrap();
        group.bench_function(format!("verify_crypto_{label}"), |b| {
            b.iter(|| validate::verify_crypto(&tx, &p, &resolved).unwrap())
        });
        eprintln!(
            "sizes: transfer_2in_2out with compliance ({label}) = {} bytes",
            tx.encode().len()
        );
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20).warm_up_time(std::time::Duration::from_millis(500)).measurement_time(std::time::Duration::from_secs(2));
    targets = range_proofs, transfer, compliance
}
criterion_main!(benches);
