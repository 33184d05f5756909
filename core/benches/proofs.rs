//! Criterion benchmarks of the protocol's hot paths: aggregated range proofs for 1, 2, 4 and 8
//! outputs; building and verifying a full 2-input, 2-output transfer with its flow section; a
//! claim's proof (holding and turnover limits), made and verified; and the verification of 8
//! transfers one by one against one batch. Sizes are printed to stderr.
#![allow(missing_docs, clippy::unwrap_used)]

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use curve25519_dalek::scalar::Scalar;
use dfc_core::batch::{verify_batch, BatchItem};
use dfc_core::builder::build_claim;
use dfc_core::claim::{sum_openings, ClaimRequest};
use dfc_core::params::{default_tiers, DEFAULT_TURNOVER_PERIOD_DAYS};
use dfc_core::{
    build, range, validate, Amount, Hash32, InputNote, Limits, MemoryLedger, NetworkParams, NoteId,
    Opening, Payment, SigningKey, SpendInput, Transaction, TxKind, WalletKeys,
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
        turnover_period_days: DEFAULT_TURNOVER_PERIOD_DAYS,
        compliance: None,
        auditors: Vec::new(),
        tls_ca: None,
        genesis_hash: Hash32([0x6e; 32]),
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

fn zero() -> Opening {
    Opening {
        amount: Amount::ZERO,
        blinding: Scalar::ZERO,
        memo: Vec::new(),
    }
}

/// Issues one note per entry of `amounts` to `owner` and leaves them pending. Returns the notes
/// with their openings.
fn issue_pending(
    p: &NetworkParams,
    issuers: &[SigningKey],
    ledger: &mut MemoryLedger,
    owner: &WalletKeys,
    amounts: &[u64],
    rng: &mut ChaCha20Rng,
) -> Vec<(NoteId, Opening)> {
    let total = Amount::from_units(amounts.iter().sum()).unwrap();
    let payments: Vec<Payment> = amounts.iter().map(|a| pay(owner, *a)).collect();
    let mut issue = build(p, TxKind::Issue, total, &[], &payments, rng).unwrap();
    issue.tx.sign_as_issuer(0, &issuers[0]);
    issue.tx.sign_as_issuer(1, &issuers[1]);
    ledger.apply(&issue.tx).unwrap();
    issue
        .tx
        .output_ids()
        .into_iter()
        .zip(&issue.tx.outputs)
        .map(|(id, o)| (id, o.open(&owner.view).unwrap()))
        .collect()
}

/// A ledger where `owner` holds one settled note per entry of `amounts` (issued, then claimed
/// into an empty balance), and those notes as spend inputs.
fn funded(
    p: &NetworkParams,
    issuers: &[SigningKey],
    owner: &WalletKeys,
    amounts: &[u64],
    rng: &mut ChaCha20Rng,
) -> (MemoryLedger, Vec<SpendInput>) {
    let mut ledger = MemoryLedger::new(p.clone());
    let notes = issue_pending(p, issuers, &mut ledger, owner, amounts, rng);
    let req = ClaimRequest {
        key: &owner.spend,
        tier: 2,
        period: ledger.period(),
        notes: &notes,
        balance: zero(),
        inflow: zero(),
    };
    ledger.apply(&build_claim(p, &req, rng).unwrap()).unwrap();
    let inputs = notes
        .into_iter()
        .map(|(id, opening)| SpendInput {
            id,
            opening,
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
        b.iter(|| validate::validate(&tx, &p, &ledger, 0).unwrap())
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
        "sizes: transfer_2in_2out with flow section (one payee) = {} bytes: one range proof over 2 outputs and 2 bounds {} bytes",
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
            payer_tier: 2,
            own_keys: Vec::new(),
            payee_tiers: vec![(bob.spend.public(), 2)],
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

/// A claim of four pending notes into a balance of two settled ones: making it (the aggregated
/// two-value proof over the holding and turnover slacks) and verifying it.
fn claim(c: &mut Criterion) {
    let (p, issuers) = params();
    let mut rng = ChaCha20Rng::seed_from_u64(4);
    let alice = WalletKeys::from_seed(b"alice");
    let (mut ledger, settled) = funded(&p, &issuers, &alice, &[600, 400], &mut rng);
    let pending = issue_pending(
        &p,
        &issuers,
        &mut ledger,
        &alice,
        &[100, 200, 300, 400],
        &mut rng,
    );
    let held = sum_openings(settled.iter().map(|s| &s.opening)).unwrap();
    let req = ClaimRequest {
        key: &alice.spend,
        tier: 2,
        period: ledger.period(),
        notes: &pending,
        balance: held.clone(),
        inflow: held,
    };
    let mut group = c.benchmark_group("claim_4_notes");
    group.bench_function("build", |b| {
        b.iter(|| build_claim(&p, &req, &mut rng).unwrap())
    });
    let tx = build_claim(&p, &req, &mut rng).unwrap();
    validate::validate(&tx, &p, &ledger, ledger.period()).unwrap();
    let resolved = validate::resolve_inputs(&tx, &ledger).unwrap();
    group.bench_function("verify_crypto", |b| {
        b.iter(|| validate::verify_crypto(&tx, &p, &resolved).unwrap())
    });
    group.bench_function("validate", |b| {
        b.iter(|| validate::validate(&tx, &p, &ledger, 0).unwrap())
    });
    group.finish();
    eprintln!(
        "sizes: claim of 4 notes = {} bytes, claim proof = {} bytes",
        tx.encode().len(),
        tx.claim.as_ref().unwrap().proof.len()
    );
}

/// Verification of 8 transfers (16 notes: one issue, one claim) (2 in, 2 out, flow section with one payee): one by one with
/// `verify_crypto`, and as one batch with `verify_batch`.
fn transfer_verification(c: &mut Criterion) {
    const COUNT: usize = 8;
    let (p, issuers) = params();
    let mut rng = ChaCha20Rng::seed_from_u64(5);
    let alice = WalletKeys::from_seed(b"alice");
    let bob = WalletKeys::from_seed(b"bob");
    let amounts: Vec<u64> = (0..2 * COUNT)
        .map(|i| if i % 2 == 0 { 600 } else { 400 })
        .collect();
    let (ledger, inputs) = funded(&p, &issuers, &alice, &amounts, &mut rng);
    let items: Vec<(Transaction, Vec<InputNote>)> = inputs
        .chunks(2)
        .map(|pair| {
            let tx = build(
                &p,
                TxKind::Transfer,
                Amount::ZERO,
                pair,
                &[pay(&bob, 700), pay(&alice, 300)],
                &mut rng,
            )
            .unwrap()
            .tx;
            let resolved = validate::resolve_inputs(&tx, &ledger).unwrap();
            (tx, resolved)
        })
        .collect();
    let refs: Vec<BatchItem<'_>> = items.iter().map(|(t, i)| (t, i.as_slice())).collect();
    let mut group = c.benchmark_group("verify_8_transfers");
    group.throughput(criterion::Throughput::Elements(COUNT as u64));
    group.bench_function("one_by_one", |b| {
        b.iter(|| {
            for (tx, inputs) in &items {
                validate::verify_crypto(tx, &p, inputs).unwrap();
            }
        })
    });
    group.bench_function("batched", |b| {
        b.iter(|| assert!(verify_batch(&refs, &p).iter().all(Result::is_ok)))
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20).warm_up_time(std::time::Duration::from_millis(500)).measurement_time(std::time::Duration::from_secs(2));
    targets = range_proofs, transfer, compliance, claim, transfer_verification
}
criterion_main!(benches);
