//! `dfc-bank`: the central-bank node and its operator tools.

use std::process::ExitCode;

use anyhow::{bail, Result};
use clap::Parser;
use dfc_central_bank::admission::Admission;
use dfc_central_bank::server;
use dfc_client::BankClient;
use serde::Serialize;

mod assess_cmd;
mod audit_cmd;
mod ckpt_cli;
mod cli;
mod cli_out;
mod gov_cli;
mod keys_cli;
mod node_cmd;
mod operator_cmd;
mod pg_cli;
use cli_out::CliError;

use cli::*;
use node_cmd::*;
use operator_cmd::*;

/// The environment variable that selects the log format: `json` for one JSON object per line
/// (for log shippers), anything else for text.
const LOG_FORMAT_ENV: &str = "DFC_LOG_FORMAT";

/// Logs to stderr, filtered by `RUST_LOG`: text, coloured only when stderr is a terminal (a log
/// file or a journal gets no escape sequences), or JSON lines with `DFC_LOG_FORMAT=json`.
fn init_logging() {
    use std::io::IsTerminal;
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| "info,tower_http=warn".into());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if std::env::var(LOG_FORMAT_ENV).is_ok_and(|f| f.eq_ignore_ascii_case("json")) {
        builder.json().with_current_span(false).init();
    } else {
        builder.with_ansi(std::io::stderr().is_terminal()).init();
    }
}

fn main() -> ExitCode {
    init_logging();
    let cli = Cli::parse();
    // `--json` belongs to each subcommand; any of them asks for errors as JSON too.
    let json = std::env::args().any(|a| a == "--json");
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            if json {
                println!("{}", cli_out::error_json(&e));
            }
            eprintln!("error: {}", dfc_core::error::error_line(e.as_ref()));
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> Result<ExitCode> {
    match cli.command {
        Cmd::Init(a) => init(a),
        Cmd::Serve {
            data,
            listen,
            purse_ttl,
            verify,
            verify_workers,
            proposal_ttl,
            check_tables_first,
            limits,
            tls,
            store,
            cluster_poll_ms,
            lease_try_ms,
        } => {
            let cluster = match store {
                None => None,
                Some(dfc_central_bank::store::StoreLocation::Postgres(url)) => {
                    let mut c = dfc_central_bank::cluster::ClusterOptions::new(url, listen.clone());
                    c.poll_ms = cluster_poll_ms;
                    c.lease_try_ms = lease_try_ms;
                    Some(c)
                }
                Some(other) => bail!(
                    "--store {other}: serve shares only a PostgreSQL ledger (postgres://…); a SQLite ledger is served from --data"
                ),
            };
            let rt = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()?;
            let options = server::NodeOptions {
                purse_ttl_ms: purse_ttl,
                batch_verification: verify == "batch",
                verify_workers,
                proposal_ttl_ms: proposal_ttl,
                wallet_rate_per_second: limits.wallet_rate_limit,
                wallet_rate_burst: limits.wallet_rate_burst,
                check_tables_first,
                cluster,
            };
            let admission = Admission::new(limits.config())?;
            rt.block_on(serve(&data, &listen, options, admission, &tls))?;
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Audit {
            data: Some(data),
            store: Some(store),
            json,
            cosigned,
            ..
        } => pg_cli::audit(&data, &store, json, cosigned.as_deref()),
        Cmd::PgImport { data, store, json } => pg_cli::import(&data, &store, json),
        Cmd::Audit {
            data: Some(data),
            json,
            jobs,
            from_checkpoint,
            save_checkpoint,
            cosigned,
            ..
        } => audit_cmd::run(
            &audit_cmd::AuditArgs {
                data: &data,
                json,
                jobs,
                from_checkpoint: from_checkpoint.as_deref(),
                save_checkpoint: save_checkpoint.as_deref(),
                cosigned: cosigned.as_deref(),
            },
            print_json,
        ),
        Cmd::Keys { cmd } => {
            keys_cli::run(cmd)?;
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Audit {
            bank: Some(bank),
            key: Some(key),
            json,
            cosigned,
            ..
        } => {
            let rt = tokio::runtime::Runtime::new()?;
            rt.block_on(remote_audit_cmd(&bank, &key, json, cosigned.as_deref()))
        }
        Cmd::Audit { .. } => bail!("give --data DIR, or --bank URL --key FILE"),
        Cmd::NodeKeyNew { data, json } => {
            let public = dfc_central_bank::node_keys::NodeKeys::create_next(&data)?;
            let hex = hex::encode(public.to_bytes());
            if json {
                print_json(&serde_json::json!({ "node_key": hex }))?;
            } else {
                println!("next node key: {hex}");
                println!("restart the node, then propose a change with this node_key");
            }
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Checkpoint { cmd } => {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            rt.block_on(ckpt_cli::run(cmd))?;
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Assess {
            node,
            data,
            json,
            max_key_age,
            jobs,
            keys,
            key,
        } => assess_cmd::run(&assess_cmd::AssessArgs {
            node,
            data,
            json,
            max_key_age_ms: max_key_age,
            jobs,
            keys,
            key,
        }),
        Cmd::Governance { cmd } => {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            rt.block_on(gov_cli::run(cmd))?;
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Regulator {
            bank,
            key,
            ca,
            json,
        } => {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            let pin = dfc_client::TlsPin::bootstrap(ca.as_deref(), None)?;
            let client = BankClient::with_pin(&bank, pin.as_ref())?;
            rt.block_on(regulator_cmd(client, &key, json))?;
            Ok(ExitCode::SUCCESS)
        }
        other => {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            rt.block_on(operator_cmd(other))?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn print_json<T: Serialize>(v: &T) -> Result<()> {
    println!("{}", serde_json::to_string_pretty(v)?);
    Ok(())
}
