//! `dfc-bank assess`: gathers the facts from a data directory or a node, runs the checks and
//! prints the scorecard (a table, or JSON with `--json`). Exits 2 when a check fails.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Result};
use dfc_central_bank::assess::facts::AssessOptions;
use dfc_central_bank::assess::{self, Facts, Scorecard};

/// The options of `dfc-bank assess`.
pub struct AssessArgs {
    pub node: Option<String>,
    pub data: Option<PathBuf>,
    pub json: bool,
    pub max_key_age_ms: u64,
    pub jobs: usize,
    pub keys: Vec<PathBuf>,
    /// An operator or auditor key that signs the reads of `--node` (blocks and the audit log
    /// are served to those only).
    pub key: Option<String>,
}

/// Prints the scorecard as a table.
fn print_card(card: &Scorecard) {
    println!("assessment of {} at height {}", card.target, card.height);
    for l in &card.checks {
        let threats: Vec<String> = l
            .threats
            .iter()
            .map(|t| format!("T{} {}", t.id, t.name))
            .collect();
        println!("{:<5} {:<17} {}", l.status.label(), l.id, l.detail);
        println!("      {:<17} covers: {}", "", threats.join("; "));
    }
    let (pass, warn, fail) = card.counts();
    println!(
        "{}: {pass} pass, {warn} warn, {fail} fail",
        card.overall.label()
    );
}

/// Runs `dfc-bank assess`.
pub fn run(args: &AssessArgs) -> Result<ExitCode> {
    let opts = AssessOptions {
        max_key_age_ms: args.max_key_age_ms,
        jobs: args.jobs,
        progress: None,
        key_dirs: &args.keys,
    };
    let facts = match (&args.data, &args.node) {
        (Some(dir), node) => Facts::from_data_dir(dir, node.clone(), &opts)?,
        (None, Some(url)) => {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            let ca = std::env::var_os(dfc_client::tls::CA_ENV).map(PathBuf::from);
            let pin = dfc_client::TlsPin::bootstrap(ca.as_deref(), None)?;
            let client = dfc_client::BankClient::with_pin(url, pin.as_ref())?;
            let client = match &args.key {
                Some(spec) => {
                    let signer = dfc_client::keyfile::open_signer(spec)?;
                    let params = rt.block_on(client.params())?;
                    client.with_read_signer(&params, signer)
                }
                None => client,
            };
            rt.block_on(Facts::from_node(&client, &opts))?
        }
        (None, None) => bail!("give the ledger with --data DIR or a node with --node URL"),
    };
    let card = assess::assess(&facts);
    if args.json {
        println!("{}", serde_json::to_string_pretty(&card)?);
    } else {
        print_card(&card);
    }
    Ok(if card.ok() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(2)
    })
}
