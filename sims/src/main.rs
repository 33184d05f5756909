//! `dfc-sim`: run financial-inclusion scenarios on the dfc ledger rules, and load-test a node.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand};
use dfc_sims::experiment::{self, Variant};
use dfc_sims::load::{self, LoadOptions};
use dfc_sims::scenario::Scenario;
use dfc_sims::{bundled, output, Fidelity, BUNDLED};
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::json;

#[derive(Parser)]
#[command(
    name = "dfc-sim",
    version,
    about = "dfc scenario simulator and node load generator"
)]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Run a scenario: a TOML file, or the name of a bundled scenario (see `list`).
    Run {
        /// Scenario file or bundled scenario name.
        scenario: String,
        /// Directory for report.json, daily.csv, balances.csv, summary.md and the charts.
        #[arg(long)]
        out: PathBuf,
        /// Seed (default: the scenario's `seed`).
        #[arg(long)]
        seed: Option<u64>,
        /// `full`: real proofs and signatures; `fast`: the same rules without proofs; `scale`: the
        /// same rules on integer notes, no curve arithmetic (country-size runs).
        #[arg(long, value_enum, default_value = "full")]
        fidelity: Fidelity,
        /// No progress bar.
        #[arg(long)]
        quiet: bool,
        /// Run this many seeds (the seed, seed + 1, ...) in parallel and report each metric's
        /// mean, standard deviation and 95% interval.
        #[arg(long, default_value_t = 1)]
        replications: usize,
    },
    /// Sweep parameters: every combination of the `--set` values, each replicated; writes a
    /// comparison with the first combination (the baseline).
    Sweep {
        /// Scenario file or bundled scenario name.
        scenario: String,
        /// `PATH=V1,V2,...`, e.g. `policy.tiers.0.max_balance=100.00,50.00` or
        /// `events.0.enabled=false,true`; repeatable.
        #[arg(long = "set", required = true)]
        sets: Vec<String>,
        /// Seeds per variant.
        #[arg(long, default_value_t = 10)]
        replications: usize,
        /// Output directory.
        #[arg(long)]
        out: PathBuf,
        /// First seed (default: the scenario's).
        #[arg(long)]
        seed: Option<u64>,
        /// Fidelity.
        #[arg(long, value_enum, default_value = "fast")]
        fidelity: Fidelity,
    },
    /// Compare a baseline scenario with a variant, each replicated on the same seeds.
    Compare {
        /// Baseline scenario (file or bundled name).
        base: String,
        /// Variant scenario (file or bundled name).
        variant: String,
        /// Seeds per scenario.
        #[arg(long, default_value_t = 10)]
        replications: usize,
        /// Output directory.
        #[arg(long)]
        out: PathBuf,
        /// First seed (default: the baseline's).
        #[arg(long)]
        seed: Option<u64>,
        /// Fidelity.
        #[arg(long, value_enum, default_value = "fast")]
        fidelity: Fidelity,
    },
    /// List the bundled scenarios.
    List {
        /// Print a scenario's TOML instead.
        #[arg(long)]
        show: Option<String>,
    },
    /// Drive a live node: register, fund, pre-build N transfers, submit them concurrently.
    Load {
        /// The node's URL.
        #[arg(long)]
        bank: String,
        /// The node's sandbox data directory (operator keys).
        #[arg(long)]
        data: PathBuf,
        /// Transfers to submit.
        #[arg(long, default_value_t = 1000)]
        payments: usize,
        /// Submissions in flight.
        #[arg(long, default_value_t = 32)]
        concurrency: usize,
        /// Seed of the wallet keys.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Transactions timed to measure the verification ceiling.
        #[arg(long, default_value_t = 50)]
        verify_samples: usize,
        /// Open-loop arrival rate (payments per second): send each payment on schedule whatever
        /// the answers, and count latency from the scheduled time. Without it: closed loop.
        #[arg(long)]
        rate: Option<f64>,
        /// Submission format: `json` (hex in JSON), `binary` (canonical bytes) or `batch`
        /// (binary batches of `--batch-size` per request).
        #[arg(long, default_value = "json")]
        wire: String,
        /// Transfers per request with `--wire batch`.
        #[arg(long, default_value_t = 32)]
        batch_size: usize,
        /// Open loop (`--rate`): payments due within this many milliseconds of the first of a
        /// request join it (up to `--batch-size` with `--wire batch`); the request leaves when
        /// its last payment is due, and each payment's latency counts from its own due time.
        #[arg(long, default_value_t = 5.0)]
        linger_ms: f64,
        /// Create this file when the submission phase starts (setup done), for profilers.
        #[arg(long)]
        mark_submit: Option<PathBuf>,
        /// The node's TLS certificate or CA (PEM) to trust; without it, DATA/tls-cert.pem if
        /// present (plain HTTP otherwise).
        #[arg(long, env = dfc_client::tls::CA_ENV, value_name = "FILE")]
        ca: Option<PathBuf>,
        /// Print JSON only (otherwise JSON and a one-line summary on stderr).
        #[arg(long)]
        json: bool,
    },
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    // `--json` belongs to `load`; given anywhere, errors come as JSON too (as `dfc-bank` does).
    let json = std::env::args().any(|a| a == "--json");
    match run_cli(cli) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            if json {
                println!("{}", dfc_sims::cli_error::error_json(&e));
            }
            eprintln!("error: {}", dfc_sims::cli_error::error_line(&e));
            std::process::ExitCode::FAILURE
        }
    }
}

fn run_cli(cli: Cli) -> Result<()> {
    match cli.command {
        Cmd::List { show: Some(name) } => {
            let text = bundled(&name).with_context(|| format!("no bundled scenario '{name}'"))?;
            print!("{text}");
        }
        Cmd::List { show: None } => {
            for (name, text) in BUNDLED {
                let s = Scenario::from_toml(text)
                    .with_context(|| format!("bundled scenario {name} is invalid"))?;
                println!(
                    "{name:<22} {} days, {} members: {}",
                    s.days,
                    s.population(),
                    s.description.lines().next().unwrap_or_default()
                );
            }
        }
        Cmd::Run {
            scenario,
            out,
            seed,
            fidelity,
            quiet,
            replications,
        } => {
            if replications > 1 {
                replicated(&scenario, &out, seed, fidelity, replications, quiet)?
            } else {
                run(&scenario, &out, seed, fidelity, quiet)?
            }
        }
        Cmd::Sweep {
            scenario,
            sets,
            replications,
            out,
            seed,
            fidelity,
        } => {
            let text = scenario_text(&scenario)?;
            let sets = sets
                .iter()
                .map(|a| experiment::parse_set(a))
                .collect::<Result<Vec<_>, _>>()?;
            let variants = experiment::sweep_variants(&text, &sets)?;
            experiment_run(variants, &out, seed, fidelity, replications)?;
        }
        Cmd::Compare {
            base,
            variant,
            replications,
            out,
            seed,
            fidelity,
        } => {
            let mut variants = Vec::new();
            for (label, name) in [("baseline", &base), ("variant", &variant)] {
                let s = Scenario::from_toml(&scenario_text(name)?)
                    .with_context(|| format!("scenario {name}"))?;
                variants.push(Variant {
                    label: format!("{label}: {}", s.name),
                    scenario: s,
                });
            }
            experiment_run(variants, &out, seed, fidelity, replications)?;
        }
        Cmd::Load {
            bank,
            data,
            payments,
            concurrency,
            seed,
            verify_samples,
            rate,
            wire,
            batch_size,
            linger_ms,
            mark_submit,
            ca,
            json,
        } => {
            if !(0.0..=10_000.0).contains(&linger_ms) {
                anyhow::bail!("--linger-ms must be between 0 and 10000");
            }
            let wire = load::Wire::parse(&wire, batch_size).map_err(anyhow::Error::msg)?;
            let tls = dfc_client::TlsPin::bootstrap(ca.as_deref(), Some(&data))?;
            let opts = LoadOptions {
                tls,
                wire,
                linger: std::time::Duration::from_secs_f64(linger_ms / 1000.0),
                mark_submit,
                bank,
                data,
                payments,
                concurrency,
                seed,
                verify_samples,
                rate,
            };
            let rt = tokio::runtime::Runtime::new().context("starting the async runtime")?;
            let report = rt.block_on(load::run(&opts))?;
            println!("{}", serde_json::to_string_pretty(&report)?);
            if !json {
                eprintln!(
                    "{} of {} committed, {:.0}/s, p50 {:.1} ms, p99 {:.1} ms; verification ceiling {:.0}/s ({} cores x 1/{:.2} ms), ratio {:.2}",
                    report.committed,
                    report.payments,
                    report.committed_per_second,
                    report.latency_ms_p50,
                    report.latency_ms_p99,
                    report.verification_ceiling_per_second,
                    report.cores,
                    report.verify_ms_per_tx,
                    report.ratio_to_ceiling
                );
            }
        }
    }
    Ok(())
}

fn run(
    scenario: &str,
    out: &std::path::Path,
    seed: Option<u64>,
    fidelity: Fidelity,
    quiet: bool,
) -> Result<()> {
    let text = scenario_text(scenario)?;
    let s = Scenario::from_toml(&text).with_context(|| format!("scenario {scenario}"))?;
    let seed = seed.unwrap_or(s.seed);
    let started = Instant::now();
    let mut progress = Progress::new(&s.name, fidelity, s.days, quiet);
    let result = dfc_sims::run(&s, seed, fidelity, |t| progress.tick(t))?;
    progress.finish();
    let elapsed = started.elapsed();
    let files = output::write_all(out, &result.report, &result.days, &result.segment_names)?;
    // Wall-clock figures go to their own file: report.json stays a function of scenario and seed.
    let timing = serde_json::json!({
        "scenario": s.name,
        "fidelity": fidelity.name(),
        "seed": seed,
        "wall_seconds": elapsed.as_secs_f64(),
        "threads": rayon::current_num_threads(),
    });
    std::fs::write(out.join("timing.json"), format!("{timing:#}\n"))
        .context("writing timing.json")?;
    let r = &result.report;
    if !quiet {
        eprintln!(
            "{} ({}, seed {}): {} payments, {} completed ({:.1}% offline), {} failed; {:.1} s; {} files in {}",
            r.scenario,
            r.fidelity,
            r.seed,
            r.payments.attempted,
            r.payments.completed,
            r.payments.offline_share * 100.0,
            r.payments.failed,
            elapsed.as_secs_f64(),
            files.len() + 1,
            out.display()
        );
    }
    Ok(())
}

/// Progress of a run in days: a bar on a terminal, otherwise a log line at each tenth of the run
/// (so a batch job's log shows it is alive), nothing with `--quiet`.
struct Progress {
    bar: Option<ProgressBar>,
    log: bool,
    name: String,
    days: u64,
    last_logged: u64,
    started: Instant,
}

impl Progress {
    fn new(name: &str, fidelity: Fidelity, days: u32, quiet: bool) -> Self {
        let days = u64::from(days);
        let terminal = std::io::stderr().is_terminal();
        let bar = (!quiet && terminal).then(|| {
            let b = ProgressBar::new(days);
            b.set_style(
                ProgressStyle::with_template("{msg} [{bar:40}] day {pos}/{len} ({eta})")
                    .unwrap_or_else(|_| ProgressStyle::default_bar())
                    .progress_chars("=> "),
            );
            b.set_message(format!("{name} ({})", fidelity.name()));
            b
        });
        Progress {
            bar,
            log: !quiet && !terminal,
            name: name.to_string(),
            days,
            last_logged: 0,
            started: Instant::now(),
        }
    }

    /// `ticks` hours done.
    fn tick(&mut self, ticks: u64) {
        let day = ticks / dfc_sims::engine::TICKS_PER_DAY;
        if let Some(b) = &self.bar {
            b.set_position(day);
        }
        if self.log && ticks % dfc_sims::engine::TICKS_PER_DAY == 0 {
            let tenth = day * 10 / self.days.max(1);
            if tenth > self.last_logged || day == self.days {
                self.last_logged = tenth;
                eprintln!(
                    "dfc-sim: {}: day {day}/{} ({}%), {:.1} s",
                    self.name,
                    self.days,
                    day * 100 / self.days.max(1),
                    self.started.elapsed().as_secs_f64()
                );
            }
        }
    }

    fn finish(&self) {
        if let Some(b) = &self.bar {
            b.finish_and_clear();
        }
    }
}

/// A bundled scenario's text, or a file's (a file of the same name wins).
fn scenario_text(scenario: &str) -> Result<String> {
    Ok(match bundled(scenario) {
        Some(t) if !std::path::Path::new(scenario).exists() => t.to_string(),
        _ => std::fs::read_to_string(scenario)
            .with_context(|| format!("cannot read scenario {scenario}"))?,
    })
}

/// `run --replications N`: the first seed's full outputs in `out`, every seed's `report.json`
/// and `daily.csv` in `out/seeds/SEED/`, and the intervals and bands.
fn replicated(
    scenario: &str,
    out: &std::path::Path,
    seed: Option<u64>,
    fidelity: Fidelity,
    n: usize,
    quiet: bool,
) -> Result<()> {
    let s = Scenario::from_toml(&scenario_text(scenario)?)
        .with_context(|| format!("scenario {scenario}"))?;
    let seed = seed.unwrap_or(s.seed);
    let label = s.name.clone();
    if !quiet {
        eprintln!(
            "dfc-sim: {label}: {n} replications from seed {seed} on {} threads",
            rayon::current_num_threads()
        );
    }
    let started = Instant::now();
    let log = run_logger(quiet);
    let reps = experiment::replicate_with_progress(
        &[Variant { label, scenario: s }],
        seed,
        n,
        fidelity,
        &log,
    )?;
    let rep = reps.first().context("no replications ran")?;
    if let Some(first) = rep.runs.first() {
        output::write_all(out, &first.report, &first.days, &first.segment_names)?;
    }
    for (seed, run) in rep.seeds.iter().zip(&rep.runs) {
        let dir = out.join("seeds").join(seed.to_string());
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        std::fs::write(dir.join("report.json"), output::report_json(&run.report))?;
        std::fs::write(dir.join("daily.csv"), output::daily_csv(&run.days))?;
    }
    let files = output::experiment::write_replications(out, rep)?;
    write_timing(
        out,
        json!({
            "scenario": rep.label, "fidelity": fidelity.name(), "first_seed": seed,
            "replications": n, "wall_seconds": started.elapsed().as_secs_f64(),
            "threads": rayon::current_num_threads(),
        }),
    )?;
    if !quiet {
        eprintln!(
            "dfc-sim: {n} replications in {:.1} s; {} files in {} (intervals.md)",
            started.elapsed().as_secs_f64(),
            files.len(),
            out.display()
        );
    }
    Ok(())
}

/// Logs each finished run of an experiment as a line (runs finish out of order, in parallel).
fn run_logger(quiet: bool) -> impl Fn(usize, usize) + Sync {
    let started = Instant::now();
    move |k, total| {
        if !quiet {
            eprintln!(
                "dfc-sim: run {k}/{total} done, {:.1} s",
                started.elapsed().as_secs_f64()
            );
        }
    }
}

fn write_timing(out: &std::path::Path, timing: serde_json::Value) -> Result<()> {
    std::fs::write(out.join("timing.json"), format!("{timing:#}\n")).context("writing timing.json")
}

/// Runs the variants on the same seeds and writes each variant's intervals under
/// `out/variants/K/` and the comparison in `out`.
fn experiment_run(
    variants: Vec<Variant>,
    out: &std::path::Path,
    seed: Option<u64>,
    fidelity: Fidelity,
    n: usize,
) -> Result<()> {
    if n == 0 {
        bail!("--replications must be at least 1");
    }
    let seed = seed.unwrap_or_else(|| variants.first().map(|v| v.scenario.seed).unwrap_or(1));
    eprintln!(
        "dfc-sim: {} variants x {n} replications from seed {seed} on {} threads",
        variants.len(),
        rayon::current_num_threads()
    );
    for (k, v) in variants.iter().enumerate() {
        eprintln!("  variant {k}: {}", v.label);
    }
    let started = Instant::now();
    let log = run_logger(false);
    let reps = experiment::replicate_with_progress(&variants, seed, n, fidelity, &log)?;
    let mut index = String::from("variant,label\n");
    for (k, rep) in reps.iter().enumerate() {
        output::experiment::write_replications(&out.join("variants").join(k.to_string()), rep)?;
        index.push_str(&format!("{k},\"{}\"\n", rep.label.replace('"', "'")));
    }
    std::fs::write(out.join("variants.csv"), index).context("writing variants.csv")?;
    output::experiment::write_comparison(out, &reps)?;
    write_timing(
        out,
        json!({
            "variants": reps.len(), "replications": n, "fidelity": fidelity.name(),
            "first_seed": seed, "wall_seconds": started.elapsed().as_secs_f64(),
            "threads": rayon::current_num_threads(),
        }),
    )?;
    eprintln!(
        "dfc-sim: {} runs in {:.1} s; comparison in {}",
        reps.len() * n,
        started.elapsed().as_secs_f64(),
        out.join("comparison.md").display()
    );
    Ok(())
}
