//! Batch verification against one-by-one verification of 1, 16, 64 and 256 two-input, two-output
//! transfers (each with its flow section: one payee, so one bound proof besides the range proof)
//! and of as many claims of two notes (each from its own wallet), in the same run. Criterion
//! measures both; summary tables of the time per transaction and the speed-up (median of a few
//! timed runs) are printed at the end.
#![allow(missing_docs, clippy::unwrap_used)]

use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, Throughput};
use dfc_core::batch::{verify_batch, BatchItem};
use dfc_core::builder::build_claim;
use dfc_core::claim::{sum_openings, ClaimRequest};
use dfc_core::params::{default_tiers, DEFAULT_TURNOVER_PERIOD_DAYS};
use dfc_core::validate::{resolve_inputs, verify_crypto};
use dfc_core::{
    build, Amount, Hash32, InputNote, Limits, MemoryLedger, NetworkParams, NoteId, Opening,
    Payment, SigningKey, SpendInput, Transaction, TxKind, WalletKeys,
};
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;

const SIZES: [usize; 4] = [1, 16, 64, 256];
/// Sizes of the printed summary: up to a whole `MAX_BATCH_TXS` chunk, the audit's question.
const SUMMARY_SIZES: [usize; 6] = [1, 16, 64, 128, 256, 1024];

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

fn pay(to: &WalletKeys, units: u64) -> Payment {
    Payment {
        to: to.address(1),
        amount: Amount::from_units(units).unwrap(),
        memo: Vec::new(),
    }
}

/// `count` valid 2-in/2-out transfers with their resolved inputs.
fn transfers(count: usize) -> (NetworkParams, Vec<(Transaction, Vec<InputNote>)>) {
    let (params, issuers) = params();
    let mut ledger = MemoryLedger::new(params.clone());
    let alice = WalletKeys::from_seed(b"alice");
    let bob = WalletKeys::from_seed(b"bob");
    let mut rng = ChaCha20Rng::seed_from_u64(7);
    let mut notes: Vec<SpendInput> = Vec::new();
    while notes.len() < 2 * count {
        let payments: Vec<Payment> = (0..8)
            .map(|i| pay(&alice, if i % 2 == 0 { 600 } else { 400 }))
            .collect();
        let mut issue = build(
            &params,
            TxKind::Issue,
            Amount::from_units(4000).unwrap(),
            &[],
            &payments,
            &mut rng,
        )
        .unwrap();
        issue.tx.sign_as_issuer(0, &issuers[0]);
        issue.tx.sign_as_issuer(1, &issuers[1]);
        ledger.apply(&issue.tx).unwrap();
        // Issued notes are pending: alice claims them into her balance (all in period 0, so the
        // balance and the period's inflow are the same sum).
        let issued: Vec<(NoteId, Opening)> = issue
            .tx
            .output_ids()
            .into_iter()
            .zip(&issue.tx.outputs)
            .map(|(id, o)| (id, o.open(&alice.view).unwrap()))
            .collect();
        let held = sum_openings(notes.iter().map(|n| &n.opening)).unwrap();
        let req = ClaimRequest {
            key: &alice.spend,
            tier: 2,
            period: ledger.period(),
            notes: &issued,
            balance: held.clone(),
            inflow: held,
        };
        ledger
            .apply(&build_claim(&params, &req, &mut rng).unwrap())
            .unwrap();
        for (id, opening) in issued {
            notes.push(SpendInput {
                id,
                opening,
                key: alice.spend.clone(),
            });
        }
    }
    let items = notes
        .chunks(2)
        .take(count)
        .map(|pair| {
            let tx = build(
                &params,
                TxKind::Transfer,
                Amount::ZERO,
                pair,
                &[pay(&bob, 700), pay(&alice, 300)],
                &mut rng,
            )
            .unwrap()
            .tx;
            let inputs = resolve_inputs(&tx, &ledger).unwrap();
            (tx, inputs)
        })
        .collect();
    (params, items)
}

/// `count` valid claims of two pending notes each, every one by its own tier-0 wallet.
fn claims(count: usize) -> Vec<(Transaction, Vec<InputNote>)> {
    let (params, issuers) = params();
    let mut ledger = MemoryLedger::new(params.clone());
    let mut rng = ChaCha20Rng::seed_from_u64(11);
    let empty = sum_openings([]).unwrap();
    (0..count)
        .map(|i| {
            let w = WalletKeys::from_seed(format!("claimant {i}").as_bytes());
            ledger.register(w.spend.public(), 0);
            let mut issue = build(
                &params,
                TxKind::Issue,
                Amount::from_units(1_000).unwrap(),
                &[],
                &[pay(&w, 600), pay(&w, 400)],
                &mut rng,
            )
            .unwrap();
            issue.tx.sign_as_issuer(0, &issuers[0]);
            issue.tx.sign_as_issuer(1, &issuers[1]);
            ledger.apply(&issue.tx).unwrap();
            let notes: Vec<(NoteId, Opening)> = issue
                .tx
                .output_ids()
                .into_iter()
                .zip(&issue.tx.outputs)
                .map(|(id, o)| (id, o.open(&w.view).unwrap()))
                .collect();
            let req = ClaimRequest {
                key: &w.spend,
                tier: 0,
                period: ledger.period(),
                notes: &notes,
                balance: empty.clone(),
                inflow: empty.clone(),
            };
            let tx = build_claim(&params, &req, &mut rng).unwrap();
            let inputs = resolve_inputs(&tx, &ledger).unwrap();
            (tx, inputs)
        })
        .collect()
}

fn one_by_one(params: &NetworkParams, items: &[(Transaction, Vec<InputNote>)]) {
    for (tx, inputs) in items {
        assert!(verify_crypto(tx, params, inputs).is_ok());
    }
}

fn batched(params: &NetworkParams, items: &[BatchItem<'_>]) {
    assert!(verify_batch(items, params).iter().all(Result::is_ok));
}

/// The calling thread's CPU time: on a machine shared with other work, wall time mostly measures
/// waiting for a core, CPU time the work itself.
fn thread_cpu() -> Duration {
    let t = rustix::time::clock_gettime(rustix::time::ClockId::ThreadCPUTime);
    Duration::new(
        u64::try_from(t.tv_sec).unwrap_or(0),
        u32::try_from(t.tv_nsec).unwrap_or(0),
    )
}

/// Median time of `runs` calls of `f`: CPU time of this thread, or wall time with
/// `DFC_BENCH_WALL=1`.
fn median(runs: usize, mut f: impl FnMut()) -> Duration {
    let wall = std::env::var_os("DFC_BENCH_WALL").is_some();
    let mut times: Vec<Duration> = (0..runs)
        .map(|_| {
            let (start, cpu) = (Instant::now(), thread_cpu());
            f();
            if wall {
                start.elapsed()
            } else {
                thread_cpu().saturating_sub(cpu)
            }
        })
        .collect();
    times.sort();
    times[runs / 2]
}

fn main() {
    // `DFC_BENCH_PROFILE=N`: only N batched verifications of the 256 decoded transfers, for
    // `perf record` (the one-by-one runs would dominate a profile of the whole bench).
    if let Some(runs) = std::env::var("DFC_BENCH_PROFILE")
        .ok()
        .and_then(|v| v.parse::<usize>().ok())
    {
        let (params, all) = transfers(256);
        let decoded: Vec<(Transaction, Vec<InputNote>)> = all
            .iter()
            .map(|(t, i)| (Transaction::decode(&t.encode()).unwrap(), i.clone()))
            .collect();
        let refs: Vec<BatchItem<'_>> = decoded.iter().map(|(t, i)| (t, i.as_slice())).collect();
        eprintln!("profile: transactions made, verifying");
        for _ in 0..runs {
            batched(&params, &refs);
        }
        return;
    }
    let (params, all) = transfers(SUMMARY_SIZES[SUMMARY_SIZES.len() - 1]);
    let all_claims = claims(SIZES[SIZES.len() - 1]);
    // `DFC_BENCH_SUMMARY_ONLY=1`: only the summary tables (a few minutes less).
    if std::env::var_os("DFC_BENCH_SUMMARY_ONLY").is_none() {
        criterion_groups(&params, &all, &all_claims);
    }
    for (what, set) in [
        ("2-in/2-out transfers", &all),
        ("claims of 2 notes", &all_claims),
    ] {
        summary(&params, what, set);
    }
}

fn criterion_groups(
    params: &NetworkParams,
    all: &[(Transaction, Vec<InputNote>)],
    all_claims: &[(Transaction, Vec<InputNote>)],
) {
    let params = params.clone();
    let mut c = Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3))
        .configure_from_args();
    {
        let mut group = c.benchmark_group("verify_2in2out");
        for n in SIZES {
            let items = &all[..n];
            let refs: Vec<BatchItem<'_>> = items.iter().map(|(t, i)| (t, i.as_slice())).collect();
            group.throughput(Throughput::Elements(n as u64));
            group.bench_with_input(BenchmarkId::new("one_by_one", n), &n, |b, _| {
                b.iter(|| one_by_one(&params, items))
            });
            group.bench_with_input(BenchmarkId::new("batched", n), &n, |b, _| {
                b.iter(|| batched(&params, &refs))
            });
        }
        group.finish();
    }
    {
        let mut group = c.benchmark_group("verify_claim_2notes");
        for n in SIZES {
            let items = &all_claims[..n];
            let refs: Vec<BatchItem<'_>> = items.iter().map(|(t, i)| (t, i.as_slice())).collect();
            group.throughput(Throughput::Elements(n as u64));
            group.bench_with_input(BenchmarkId::new("one_by_one", n), &n, |b, _| {
                b.iter(|| one_by_one(&params, items))
            });
            group.bench_with_input(BenchmarkId::new("batched", n), &n, |b, _| {
                b.iter(|| batched(&params, &refs))
            });
        }
        group.finish();
    }
    c.final_summary();
}

/// Per transaction: one by one; batched as built (the verifier decompresses the range proof's
/// points, as every verifier did before points were kept at decode); batched after decoding
/// (points kept: what the node and the audit verify); and decoding itself, which every verifier
/// of received bytes pays in both cases (it decompresses the points either way).
fn summary(params: &NetworkParams, what: &str, all: &[(Transaction, Vec<InputNote>)]) {
    let clock = if std::env::var_os("DFC_BENCH_WALL").is_some() {
        "wall time"
    } else {
        "thread CPU time"
    };
    println!("\nbatch verification of {what} ({clock}, median of 5 runs, same process)");
    println!(
        "| transactions | one by one, µs/tx | batched as built, µs/tx | batched decoded (points kept), µs/tx | decode, µs/tx | speed-up (decoded batch vs one by one) |"
    );
    println!("|---:|---:|---:|---:|---:|---:|");
    let decoded: Vec<(Transaction, Vec<InputNote>)> = all
        .iter()
        .map(|(t, i)| (Transaction::decode(&t.encode()).unwrap(), i.clone()))
        .collect();
    let encoded: Vec<Vec<u8>> = all.iter().map(|(t, _)| t.encode()).collect();
    for n in SUMMARY_SIZES.into_iter().filter(|n| *n <= all.len()) {
        let items = &all[..n];
        let refs: Vec<BatchItem<'_>> = items.iter().map(|(t, i)| (t, i.as_slice())).collect();
        let kept: Vec<BatchItem<'_>> = decoded[..n]
            .iter()
            .map(|(t, i)| (t, i.as_slice()))
            .collect();
        let single = median(5, || one_by_one(params, items));
        let batch = median(5, || batched(params, &refs));
        let batch_kept = median(5, || batched(params, &kept));
        let decode = median(5, || {
            for e in &encoded[..n] {
                std::hint::black_box(Transaction::decode(e).unwrap());
            }
        });
        let per = |d: Duration| d.as_secs_f64() * 1e6 / n as f64;
        println!(
            "| {n} | {:.0} | {:.0} | {:.0} | {:.0} | {:.1}× |",
            per(single),
            per(batch),
            per(batch_kept),
            per(decode),
            single.as_secs_f64() / batch_kept.as_secs_f64()
        );
    }
}
