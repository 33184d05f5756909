//! `dfc-bank audit`: the full audit with a progress bar (on a terminal) or progress log lines
//! (otherwise), `--jobs`, `--from-checkpoint` and `--save-checkpoint`.

use std::io::IsTerminal;
use std::path::Path;
use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use dfc_central_bank::audit::{self, AuditOptions, AuditReport, Depth, Progress};
use dfc_central_bank::summary::{self, SignedSummary};
use dfc_central_bank::{datadir, store};
use dfc_core::NetworkParams;
use indicatif::{ProgressBar, ProgressStyle};

/// Progress on stderr: a bar with rate and ETA on a terminal, a line every few seconds otherwise
/// (so logs of scripted runs stay readable).
enum CliProgress {
    Bar(ProgressBar),
    Lines {
        started: Instant,
        last: Mutex<Instant>,
        done: AtomicU64,
        total: AtomicU64,
    },
}

impl CliProgress {
    fn new() -> Self {
        if std::io::stderr().is_terminal() {
            let bar = ProgressBar::new(0);
            bar.set_style(
                ProgressStyle::with_template(
                    "{spinner} [{elapsed_precise}] {bar:40} {pos}/{len} txs  {per_sec}  ETA {eta}",
                )
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
            );
            CliProgress::Bar(bar)
        } else {
            let now = Instant::now();
            CliProgress::Lines {
                started: now,
                last: Mutex::new(now),
                done: AtomicU64::new(0),
                total: AtomicU64::new(0),
            }
        }
    }

    fn finish(&self) {
        if let CliProgress::Bar(bar) = self {
            bar.finish_and_clear();
        }
    }
}

const LINE_EVERY: Duration = Duration::from_secs(5);

impl Progress for CliProgress {
    fn start(&self, total_txs: u64) {
        match self {
            CliProgress::Bar(bar) => bar.set_length(total_txs),
            CliProgress::Lines { total, .. } => {
                total.store(total_txs, Ordering::Relaxed);
                eprintln!("audit: {total_txs} transactions to verify");
            }
        }
    }

    fn advance(&self, txs: u64) {
        match self {
            CliProgress::Bar(bar) => bar.inc(txs),
            CliProgress::Lines {
                started,
                last,
                done,
                total,
            } => {
                let d = done.fetch_add(txs, Ordering::Relaxed) + txs;
                let Ok(mut last) = last.lock() else { return };
                if last.elapsed() < LINE_EVERY {
                    return;
                }
                *last = Instant::now();
                let t = total.load(Ordering::Relaxed).max(1);
                let secs = started.elapsed().as_secs_f64();
                let rate = d as f64 / secs.max(1e-9);
                let eta = t.saturating_sub(d) as f64 / rate.max(1e-9);
                eprintln!(
                    "audit: {d}/{t} transactions ({:.0}%), {rate:.0}/s, ETA {eta:.0} s",
                    100.0 * d as f64 / t as f64
                );
            }
        }
    }
}

/// The options of `dfc-bank audit`.
pub struct AuditArgs<'a> {
    pub data: &'a Path,
    pub json: bool,
    pub jobs: usize,
    pub from_checkpoint: Option<&'a Path>,
    pub save_checkpoint: Option<&'a Path>,
    /// Co-signed checkpoints kept outside the node (`GET /v1/checkpoints/cosigned` output).
    pub cosigned: Option<&'a Path>,
}

/// Reads a file of co-signed checkpoints: the `GET /v1/checkpoints/cosigned` answer, or a bare
/// list of checkpoints.
pub(crate) fn read_cosigned(path: &Path) -> Result<Vec<dfc_core::cosign::CosignedCheckpoint>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    if let Ok(list) = serde_json::from_str::<dfc_central_bank::cosign::api::CosignedList>(&text) {
        return Ok(list.checkpoints);
    }
    serde_json::from_str(&text)
        .with_context(|| format!("{} is not a list of co-signed checkpoints", path.display()))
}

fn read_checkpoint(path: &Path, params: &NetworkParams) -> Result<summary::Summary> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the checkpoint {}", path.display()))?;
    let signed: SignedSummary = serde_json::from_str(&text)
        .with_context(|| format!("{} is not a ledger summary", path.display()))?;
    Ok(audit::trusted_checkpoint(&signed, params)?)
}

/// After a passing audit: the ledger's own signed summary, if it describes exactly what was
/// audited, becomes a checkpoint file for the next `--from-checkpoint`.
fn save_checkpoint(
    conn: &rusqlite::Connection,
    report: &AuditReport,
    params: &NetworkParams,
    path: &Path,
) -> Result<()> {
    let Some(signed) = summary::load(conn)? else {
        bail!("the ledger holds no signed summary yet (start the node once with this version)");
    };
    if !signed.verify(&params.node_key) {
        bail!("the ledger's summary is not signed by the node key");
    }
    let s = &signed.summary;
    let (unspent, sum) = summary::scan_unspent(conn)?;
    let audited = Some(s.height) == report.height
        && Some(s.supply_units) == report.supply_units
        && Some(s.unspent_count) == report.notes_outstanding
        && Some(s.tx_count()) == report.tx_count
        && unspent == s.unspent_count
        && hex::encode(sum.compress().to_bytes()) == s.unspent_sum;
    if !audited {
        bail!("the ledger's summary does not describe the audited tip; not saved");
    }
    std::fs::write(path, serde_json::to_string_pretty(&signed)?)
        .with_context(|| format!("cannot write {}", path.display()))?;
    Ok(())
}

/// Runs `dfc-bank audit`.
pub fn run(
    args: &AuditArgs<'_>,
    print_json: impl Fn(&serde_json::Value) -> Result<()>,
) -> Result<ExitCode> {
    let params = datadir::load_params(args.data)?;
    let conn = store::open_reader(&args.data.join(datadir::LEDGER_FILE))?;
    let from = args
        .from_checkpoint
        .map(|p| read_checkpoint(p, &params))
        .transpose()?;
    let cosigned = args
        .cosigned
        .map(read_cosigned)
        .transpose()?
        .unwrap_or_default();
    let progress = CliProgress::new();
    // One read transaction: blocks the running node commits meanwhile do not mix into the report.
    conn.execute_batch("BEGIN")?;
    let started = Instant::now();
    let result = audit::verify_with(
        &conn,
        &params,
        &AuditOptions {
            depth: Depth::Full,
            jobs: args.jobs,
            from: from.as_ref(),
            progress: Some(&progress),
            cosigned: &cosigned,
        },
    );
    let report = audit::report_of(&result, &params);
    let anchored = result.as_ref().ok().and_then(|s| s.anchored_height);
    // Whether the block the audit started from is co-signed by k operators (then the start is
    // as good as k operator keys, not only the node key).
    let from_cosigned = match &from {
        Some(s) => {
            let history = dfc_central_bank::governance::store::load_history(&conn, &params)?;
            Some(audit::cosigned::is_cosigned(
                &conn,
                &history,
                &cosigned,
                s.height,
                &s.block_hash,
            )?)
        }
        None => None,
    };
    progress.finish();
    let elapsed = started.elapsed();
    let saved = match (args.save_checkpoint, report.pass) {
        (Some(path), true) => Some(save_checkpoint(&conn, &report, &params, path)),
        _ => None,
    };
    conn.execute_batch("COMMIT")?;
    if args.json {
        let mut v = serde_json::to_value(&report)?;
        if let Some(o) = v.as_object_mut() {
            // The highest height co-signed by k operators (null: none yet).
            o.insert("anchored_height".into(), serde_json::json!(anchored));
            if let Some(c) = from_cosigned {
                o.insert("from_checkpoint_cosigned".into(), serde_json::json!(c));
            }
        }
        print_json(&v)?;
    } else if report.pass {
        if let Some(s) = &from {
            let by = if from_cosigned == Some(true) {
                "co-signed by k operators"
            } else {
                "signed by the node key only"
            };
            println!(
                "from checkpoint:   block {} ({}), {by}",
                s.height, s.block_hash
            );
        }
        println!("height:            {}", report.height.unwrap_or(0));
        println!(
            "supply:            {}",
            report.supply.clone().unwrap_or_default()
        );
        println!(
            "notes outstanding: {}",
            report.notes_outstanding.unwrap_or(0)
        );
        println!("transactions:      {}", report.tx_count.unwrap_or(0));
        println!("audit log entries: {}", report.audit_entries.unwrap_or(0));
        match anchored {
            Some(h) => println!("anchored:          block {h} (co-signed by k operators)"),
            None => println!("anchored:          no co-signed checkpoint yet"),
        }
        println!("time:              {:.2} s", elapsed.as_secs_f64());
        println!("PASS");
    } else {
        println!("FAIL: {}", report.error.clone().unwrap_or_default());
    }
    if let Some(r) = saved {
        r?;
        if let Some(p) = args.save_checkpoint {
            eprintln!("checkpoint saved to {}", p.display());
        }
    }
    Ok(if report.pass {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(2)
    })
}
