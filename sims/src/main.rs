//! `dfc-sim`: run financial-inclusion scenarios on the dfc ledger rules, and load-test a node.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand};
use dfc_sims::load::{self, LoadOptions};
use dfc_sims::scenario::Scenario;
use dfc_sims::{bundled, output, Fidelity, BUNDLED};
use indicatif::{ProgressBar, ProgressStyle};

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
        /// `full`: real proofs and signatures; `fast`: the same rules without proofs.
        #[arg(long, value_enum, default_value = "full")]
        fidelity: Fidelity,
        /// No progress bar.
        #[arg(long)]
        quiet: bool,
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
        /// Print JSON only (otherwise JSON and a one-line summary on stderr).
        #[arg(long)]
        json: bool,
    },
}

fn main() -> Result<()> {
    let cli = Cli::parse();
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
        } => run(&scenario, &out, seed, fidelity, quiet)?,
        Cmd::Load {
            bank,
            data,
            payments,
            concurrency,
            seed,
            verify_samples,
            rate,
            json,
        } => {
            let opts = LoadOptions {
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
    let text = match bundled(scenario) {
        Some(t) if !std::path::Path::new(scenario).exists() => t.to_string(),
        _ => std::fs::read_to_string(scenario)
            .with_context(|| format!("cannot read scenario {scenario}"))?,
    };
    let s = Scenario::from_toml(&text).with_context(|| format!("scenario {scenario}"))?;
    let seed = seed.unwrap_or(s.seed);
    let ticks = u64::from(s.days) * dfc_sims::engine::TICKS_PER_DAY;
    let bar = if quiet || !std::io::stderr().is_terminal() {
        ProgressBar::hidden()
    } else {
        let b = ProgressBar::new(ticks);
        b.set_style(
            ProgressStyle::with_template("{msg} [{bar:40}] day {pos}/{len} hours ({eta})")
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
        );
        b.set_message(format!("{} ({})", s.name, fidelity.name()));
        b
    };
    let started = Instant::now();
    let result = dfc_sims::run(&s, seed, fidelity, |t| bar.set_position(t))?;
    bar.finish_and_clear();
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
    if r.payments.attempted == 0 {
        bail!("the scenario made no payments: check its flows");
    }
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
