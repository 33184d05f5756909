//! `dfc-sim load`: a load generator against a live sandbox node.
//!
//! 1. Registers payer and payee wallets (keys derived from `--seed`, so reruns reuse them).
//! 2. Funds the payers: one issuance of 16 notes per payer, proposed and approved with the
//!    sandbox operator keys found in the node's data directory, then claimed by each payer (issued
//!    notes arrive pending; 16 × 10.00 is within the tier-0 holding limit). Payers are new on every
//!    run (their keys mix in the start time), so each claims against an empty holding.
//! 3. Pre-builds N valid transfers, each spending 2 notes into 2 outputs (payment and change), in
//!    parallel.
//! 4. Measures in the same run how long `dfc_core::validate::verify_crypto` takes on one such
//!    transaction, giving the verification ceiling `cores / verify time`.
//! 5. Submits the transfers at the given concurrency and reports committed payments per second,
//!    latency percentiles and errors, and the ratio to the ceiling.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use dfc_client::keyfile::{operator_key_path, read_key};
use dfc_client::{BankClient, ClientError, Operator};
use dfc_core::api::{OperatorAction, RegisterRequest};
use dfc_core::compliance::ComplianceContext;
use dfc_core::validate::{verify_crypto, InputNote};
use dfc_core::{
    build, build_with, Amount, BuildOptions, NetworkParams, NoteId, Opening, Payment, SpendInput,
    Transaction, TxKind, WalletKeys,
};
use futures::StreamExt;
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use rayon::prelude::*;
use serde::Serialize;
use thiserror::Error;

pub mod wire;
pub use wire::Wire;

/// Notes issued per payer wallet (one issuance each): 8 transfers of 2 inputs.
pub const NOTES_PER_PAYER: usize = 16;
/// Value of each issued note, minor units.
pub const NOTE_UNITS: u64 = 1_000;
/// The tier load wallets are registered at (the default registration tier).
pub const LOAD_TIER: u8 = 0;
/// Most payments one run may ask for.
pub const MAX_PAYMENTS: usize = 1_000_000;
/// Transfers verified as one batch for the batched verification ceiling (the node's largest batch).
pub const BATCH_SAMPLES: usize = 256;
/// Most concurrent submissions.
pub const MAX_CONCURRENCY: usize = 4_096;

/// Options of a load run.
#[derive(Clone, Debug)]
pub struct LoadOptions {
    /// Node URL.
    pub bank: String,
    /// The node's sandbox data directory (for the operator keys).
    pub data: PathBuf,
    /// Transfers to submit.
    pub payments: usize,
    /// Submissions in flight at once.
    pub concurrency: usize,
    /// Seed of the wallet keys.
    pub seed: u64,
    /// Transactions timed for the verification ceiling.
    pub verify_samples: usize,
    /// Open-loop arrival rate in payments per second: each payment is sent at its scheduled time
    /// whether or not earlier ones have been answered, and its latency counts from that time (no
    /// coordinated omission). `None`: closed loop at `concurrency`.
    pub rate: Option<f64>,
    /// How transfers go on the wire (pre-encoded before the clock starts).
    pub wire: Wire,
    /// Open loop: payments due within this time of the first of a request join it (up to the
    /// wire's batch size); see [`wire::open_loop_groups`].
    pub linger: Duration,
    /// A file created when the submission phase starts (for profilers that should skip setup).
    pub mark_submit: Option<PathBuf>,
    /// The node's TLS certificate or CA to trust (`--ca`, or the data directory's
    /// `tls-cert.pem`); `None` for a plain-HTTP loopback node.
    pub tls: Option<dfc_client::TlsPin>,
}

/// Why a load run failed.
#[derive(Debug, Error)]
pub enum LoadError {
    /// A bad option.
    #[error("{0}")]
    Options(String),
    /// The node refused or failed a setup call.
    #[error("{what}: {source}")]
    Node {
        /// What was being done.
        what: String,
        /// The node's answer.
        source: ClientError,
    },
    /// Operator keys could not be read.
    #[error("operator keys: {0}")]
    Keys(String),
    /// A transaction could not be built.
    #[error("building transactions: {0}")]
    Build(#[from] dfc_core::BuildError),
}

fn node(what: impl Into<String>) -> impl FnOnce(ClientError) -> LoadError {
    let what = what.into();
    move |source| LoadError::Node { what, source }
}

/// The JSON `dfc-sim load` prints.
#[derive(Clone, Debug, Serialize)]
pub struct LoadReport {
    /// Node URL.
    pub bank: String,
    /// Transfers submitted.
    pub payments: usize,
    /// Concurrency.
    pub concurrency: usize,
    /// Open-loop arrival rate asked for (payments per second), if any.
    pub rate_target: Option<f64>,
    /// Transfers committed (durable receipt).
    pub committed: usize,
    /// Submissions that failed, by the node's error code (or `unreachable`/`server`).
    pub errors: BTreeMap<String, usize>,
    /// Wall time of the submission phase, seconds.
    pub submit_seconds: f64,
    /// Committed transfers per second.
    pub committed_per_second: f64,
    /// Latency of one submission until its receipt, milliseconds.
    pub latency_ms_p50: f64,
    /// 90th percentile.
    pub latency_ms_p90: f64,
    /// 99th percentile.
    pub latency_ms_p99: f64,
    /// Longest.
    pub latency_ms_max: f64,
    /// Time to pre-build all transfers, seconds.
    pub build_seconds: f64,
    /// Mean time to verify one 2-input 2-output transfer (`verify_crypto`), milliseconds.
    pub verify_ms_per_tx: f64,
    /// Cores of this machine.
    pub cores: usize,
    /// `cores / verify time`: the payments per second verification alone allows.
    pub verification_ceiling_per_second: f64,
    /// `committed_per_second / verification_ceiling_per_second`.
    pub ratio_to_ceiling: f64,
    /// Mean time per transfer to verify up to [`BATCH_SAMPLES`] of them as one batch
    /// (`dfc_core::batch::batch_holds`), milliseconds.
    pub batch_verify_ms_per_tx: f64,
    /// `cores / batched verify time per transfer`: the payments per second batched verification
    /// alone allows.
    pub batch_verification_ceiling_per_second: f64,
    /// Encoded size of one transfer, bytes.
    pub tx_bytes: usize,
    /// Requests sent (payments per request = payments / requests).
    pub requests: usize,
    /// Open loop: the linger that grouped payments into requests, milliseconds.
    pub linger_ms: Option<f64>,
    /// The submission format (`json`, `binary`, `batch of N`).
    pub wire: String,
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn percentile_ms(sorted: &[Duration], p: usize) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = (p * sorted.len()).div_ceil(100).max(1);
    ms(sorted[(rank - 1).min(sorted.len() - 1)])
}

struct Payer {
    keys: WalletKeys,
    notes: Vec<(NoteId, Opening)>,
}

async fn register(
    client: &BankClient,
    keys: &WalletKeys,
    params: &NetworkParams,
    label: &str,
) -> Result<(), LoadError> {
    let req = RegisterRequest::new(
        keys.address(params.network_id),
        label.to_string(),
        &keys.spend,
    );
    match client.register(&req).await {
        Ok(_) => Ok(()),
        // A rerun with the same seed finds its wallets registered already.
        Err(ClientError::Rejected { .. })
            if client
                .clone()
                .with_reader(params, keys.spend.clone())
                .wallet(&keys.spend.public())
                .await
                .is_ok() =>
        {
            Ok(())
        }
        Err(e) => Err(node(format!("registering {label}"))(e)),
    }
}

/// Runs the load test.
pub async fn run(opts: &LoadOptions) -> Result<LoadReport, LoadError> {
    if opts.payments == 0 || opts.payments > MAX_PAYMENTS {
        return Err(LoadError::Options(format!(
            "--payments must be between 1 and {MAX_PAYMENTS}"
        )));
    }
    if opts.concurrency == 0 || opts.concurrency > MAX_CONCURRENCY {
        return Err(LoadError::Options(format!(
            "--concurrency must be between 1 and {MAX_CONCURRENCY}"
        )));
    }
    let client = BankClient::with_pin(&opts.bank, opts.tls.as_ref())
        .map_err(node("connecting to the node"))?;
    let params = client
        .params()
        .await
        .map_err(node("reading the parameters"))?;
    let mut operators = Vec::new();
    for i in 0..params.threshold {
        let path = operator_key_path(&opts.data, i);
        let key = read_key(&path).map_err(|e| LoadError::Keys(e.to_string()))?;
        let op = Operator::find(&params, key).ok_or_else(|| {
            LoadError::Keys(format!(
                "{} is not an issuer key of this node",
                path.display()
            ))
        })?;
        operators.push(op);
    }
    let per_payer = NOTES_PER_PAYER / 2;
    let n_payers = opts.payments.div_ceil(per_payer);
    let payee_keys: Vec<WalletKeys> = (0..4)
        .map(|i| WalletKeys::from_seed(format!("dfc-sim load {} payee {i}", opts.seed).as_bytes()))
        .collect();
    for (i, k) in payee_keys.iter().enumerate() {
        register(&client, k, &params, &format!("load payee {i}")).await?;
    }
    let mut payers: Vec<Payer> = Vec::with_capacity(n_payers);
    let run = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    for i in 0..n_payers {
        let keys = WalletKeys::from_seed(
            format!("dfc-sim load {} run {run} payer {i}", opts.seed).as_bytes(),
        );
        register(&client, &keys, &params, &format!("load payer {i}")).await?;
        payers.push(Payer {
            keys,
            notes: Vec::new(),
        });
    }
    // Funding: one 16-note issuance per payer, built in parallel, then proposed and approved.
    let note = Amount::from_units(NOTE_UNITS).expect("a small constant amount");
    let issues: Vec<Result<dfc_core::Built, dfc_core::BuildError>> = payers
        .par_iter()
        .map(|p| {
            let to = p.keys.address(params.network_id);
            let payments: Vec<Payment> = (0..NOTES_PER_PAYER)
                .map(|_| Payment {
                    to,
                    amount: note,
                    memo: Vec::new(),
                })
                .collect();
            let total = Amount::from_units(NOTE_UNITS * NOTES_PER_PAYER as u64)
                .expect("a small constant amount");
            build(
                &params,
                TxKind::Issue,
                total,
                &[],
                &payments,
                &mut rand::rngs::OsRng,
            )
        })
        .collect();
    for (p, built) in payers.iter_mut().zip(issues) {
        let built = built?;
        let txid = built.tx.id();
        let first = &operators[0];
        let req = first.request(
            &params,
            OperatorAction::Propose {
                tx: built.tx.clone(),
                approval: first.approval(&txid),
                openings: dfc_core::proposal::disclose(&built.openings),
            },
        );
        client
            .operator(&req)
            .await
            .map_err(node("proposing an issuance"))?;
        for op in &operators[1..] {
            client
                .operator(&op.approve(&params, &txid))
                .await
                .map_err(node("approving an issuance"))?;
        }
        p.notes = built
            .tx
            .output_ids()
            .into_iter()
            .zip(built.openings)
            .collect();
    }
    // The issued notes are pending: each payer claims its 16 within its tier's limits.
    let period = params.turnover_period(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
            .unwrap_or_default(),
    );
    let empty = dfc_core::claim::sum_openings([]).map_err(dfc_core::BuildError::from)?;
    let claims: Vec<Result<Transaction, dfc_core::BuildError>> = payers
        .par_iter()
        .map(|p| {
            let req = dfc_core::claim::ClaimRequest {
                key: &p.keys.spend,
                tier: LOAD_TIER,
                period,
                notes: &p.notes,
                balance: empty.clone(),
                inflow: empty.clone(),
            };
            dfc_core::builder::build_claim(&params, &req, &mut rand::rngs::OsRng)
        })
        .collect();
    for claim in claims {
        client
            .submit(&claim?)
            .await
            .map_err(node("claiming the issued notes"))?;
    }
    // Pre-build the transfers, each from its own seeded stream.
    let jobs: Vec<(usize, usize)> = (0..opts.payments)
        .map(|k| (k / per_payer, k % per_payer))
        .collect();
    let started = Instant::now();
    let built: Vec<Result<(Transaction, Vec<InputNote>), dfc_core::BuildError>> = jobs
        .par_iter()
        .enumerate()
        .map(|(k, (payer, slot))| {
            let p = &payers[*payer];
            let inputs: Vec<SpendInput> = p.notes[slot * 2..slot * 2 + 2]
                .iter()
                .map(|(id, opening)| SpendInput {
                    id: *id,
                    opening: opening.clone(),
                    key: p.keys.spend.clone(),
                })
                .collect();
            let to = payee_keys[k % payee_keys.len()].address(params.network_id);
            let pay = Amount::from_units(NOTE_UNITS + NOTE_UNITS / 2).expect("small");
            let change = Amount::from_units(NOTE_UNITS / 2).expect("small");
            let payments = [
                Payment {
                    to,
                    amount: pay,
                    memo: Vec::new(),
                },
                Payment {
                    to: p.keys.address(params.network_id),
                    amount: change,
                    memo: Vec::new(),
                },
            ];
            // Each transfer's stream is seeded by its first input note: reproducible from the
            // funding, and new on every run (a rerun funds new notes), so outputs never repeat a
            // commitment already on the ledger.
            let mut rng = ChaCha20Rng::from_seed(inputs[0].id.0);
            let options = BuildOptions {
                compliance: Some(ComplianceContext {
                    payer_tier: LOAD_TIER,
                    own_keys: vec![p.keys.spend.public()],
                    payee_tiers: vec![(to.spend, LOAD_TIER)],
                }),
            };
            let b = build_with(
                &params,
                TxKind::Transfer,
                Amount::ZERO,
                &inputs,
                &payments,
                &options,
                &mut rng,
            )?;
            let resolved = inputs
                .iter()
                .map(|i| InputNote {
                    id: i.id,
                    commitment: i.opening.commitment(),
                    owner: i.key.public(),
                })
                .collect();
            Ok((b.tx, resolved))
        })
        .collect();
    let mut txs = Vec::with_capacity(built.len());
    for b in built {
        txs.push(b?);
    }
    let build_seconds = started.elapsed().as_secs_f64();
    // The verification ceiling, measured now on this machine, on these transactions.
    let samples = opts.verify_samples.clamp(1, txs.len());
    let t0 = Instant::now();
    for (tx, inputs) in txs.iter().take(samples) {
        // Every sample is valid; an error here would make the ceiling meaningless.
        if let Err(e) = verify_crypto(tx, &params, inputs) {
            return Err(LoadError::Options(format!(
                "a pre-built transfer does not verify: {e}"
            )));
        }
    }
    let verify = t0.elapsed() / u32::try_from(samples).unwrap_or(u32::MAX);
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    let ceiling = cores as f64 / verify.as_secs_f64().max(1e-9);
    // The batched verification ceiling: the same transactions verified as one batch (up to
    // BATCH_SAMPLES, the node's largest batch), with the check alone (no fallback needed).
    let batch_items: Vec<dfc_core::batch::BatchItem<'_>> = txs
        .iter()
        .take(BATCH_SAMPLES)
        .map(|(tx, inputs)| (tx, inputs.as_slice()))
        .collect();
    let t0 = Instant::now();
    if !dfc_core::batch::batch_holds(&batch_items, &params, &mut rand::rngs::OsRng) {
        return Err(LoadError::Options(
            "the pre-built transfers do not verify as a batch".into(),
        ));
    }
    let batch_verify = t0.elapsed() / u32::try_from(batch_items.len().max(1)).unwrap_or(u32::MAX);
    drop(batch_items);
    let batch_ceiling = cores as f64 / batch_verify.as_secs_f64().max(1e-9);
    let tx_bytes = txs.first().map(|(t, _)| t.encode().len()).unwrap_or(0);
    // Submission: every body encoded before the clock starts.
    let only: Vec<Transaction> = txs.into_iter().map(|(tx, _)| tx).collect();
    let open_rate = opts.rate.filter(|r| *r > 0.0);
    let groups = match open_rate {
        Some(rate) => {
            wire::open_loop_groups(only.len(), rate, opts.linger, opts.wire.per_request())
        }
        None => wire::chunks(only.len(), opts.wire.per_request()),
    };
    let requests = wire::encode(&only, opts.wire, &groups);
    let request_count = requests.len();
    drop(only);
    let mut http = reqwest::Client::builder().pool_max_idle_per_host(opts.concurrency);
    if let Some(pin) = &opts.tls {
        http = pin.configure(http);
    }
    let http = http
        .build()
        .map_err(|e| LoadError::Options(format!("HTTP client: {e}")))?;
    let base = opts.bank.trim_end_matches('/').to_string();
    let w = opts.wire;
    if let Some(mark) = &opts.mark_submit {
        std::fs::write(mark, b"submitting\n")
            .map_err(|e| LoadError::Options(format!("{}: {e}", mark.display())))?;
    }
    let t0 = Instant::now();
    let results: Vec<(Duration, Result<(), String>)> = match open_rate {
        Some(rate) => {
            let start = tokio::time::Instant::from_std(t0);
            let due = move |k: usize| start + Duration::from_secs_f64(k as f64 / rate);
            let handles: Vec<_> = requests
                .into_iter()
                .map(|req| {
                    let (http, base) = (http.clone(), base.clone());
                    // A request leaves when its last payment is due; each payment's latency
                    // counts from its own due time.
                    let dues: Vec<tokio::time::Instant> =
                        (req.first..req.first + req.count).map(due).collect();
                    tokio::spawn(async move {
                        if let Some(last) = dues.last() {
                            tokio::time::sleep_until(*last).await;
                        }
                        let out = wire::send(&http, &base, w, &req).await;
                        let answered = tokio::time::Instant::now();
                        out.into_iter()
                            .zip(dues)
                            .map(|(r, d)| (answered.saturating_duration_since(d), r))
                            .collect::<Vec<_>>()
                    })
                })
                .collect();
            let mut out = Vec::new();
            for h in handles {
                match h.await {
                    Ok(v) => out.extend(v),
                    Err(e) => out.push((Duration::ZERO, Err(format!("task: {e}")))),
                }
            }
            out
        }
        None => {
            let per_request: Vec<Vec<(Duration, Result<(), String>)>> =
                futures::stream::iter(requests.into_iter().map(|req| {
                    let (http, base) = (http.clone(), base.clone());
                    async move {
                        let s = Instant::now();
                        let out = wire::send(&http, &base, w, &req).await;
                        let d = s.elapsed();
                        out.into_iter().map(|r| (d, r)).collect()
                    }
                }))
                .buffer_unordered(opts.concurrency)
                .collect()
                .await;
            per_request.into_iter().flatten().collect()
        }
    };
    let submit = t0.elapsed();
    let mut latencies: Vec<Duration> = Vec::new();
    let mut errors: BTreeMap<String, usize> = BTreeMap::new();
    for (d, r) in results {
        match r {
            Ok(()) => latencies.push(d),
            Err(code) => *errors.entry(code).or_default() += 1,
        }
    }
    latencies.sort_unstable();
    let committed = latencies.len();
    let rate = committed as f64 / submit.as_secs_f64().max(1e-9);
    Ok(LoadReport {
        bank: opts.bank.clone(),
        payments: opts.payments,
        concurrency: opts.concurrency,
        rate_target: opts.rate,
        committed,
        errors,
        submit_seconds: submit.as_secs_f64(),
        committed_per_second: rate,
        latency_ms_p50: percentile_ms(&latencies, 50),
        latency_ms_p90: percentile_ms(&latencies, 90),
        latency_ms_p99: percentile_ms(&latencies, 99),
        latency_ms_max: latencies.last().copied().map(ms).unwrap_or(0.0),
        build_seconds,
        verify_ms_per_tx: ms(verify),
        cores,
        verification_ceiling_per_second: ceiling,
        ratio_to_ceiling: rate / ceiling,
        batch_verify_ms_per_tx: ms(batch_verify),
        batch_verification_ceiling_per_second: batch_ceiling,
        tx_bytes,
        requests: request_count,
        linger_ms: open_rate.map(|_| ms(opts.linger)),
        wire: opts.wire.name(),
    })
}
