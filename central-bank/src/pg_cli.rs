//! The PostgreSQL ledger from the command line: `dfc-bank audit --data DIR --store postgres://…`
//! (the audit of [`dfc_central_bank::audit::shared`], with the network parameters of `DIR`) and
//! `dfc-bank pg-import --data DIR --store postgres://…` (a data directory's SQLite ledger,
//! genesis included, moved onto a new PostgreSQL ledger by replaying its blocks).

use std::path::Path;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Context, Result};
use dfc_central_bank::audit::cosigned::check_points;
use dfc_central_bank::audit::shared::verify_store;
use dfc_central_bank::audit::IntegrityError;
use dfc_central_bank::store::pg::governance::approved_changes;
use dfc_central_bank::store::pg::import::import_sqlite;
use dfc_central_bank::store::pg::PgLedger;
use dfc_central_bank::store::{LedgerRead, StoreLocation};
use dfc_central_bank::{datadir, store};
use dfc_core::governance::ParamsHistory;

fn postgres_url(store: &str) -> Result<String> {
    match store.parse::<StoreLocation>() {
        Ok(StoreLocation::Postgres(url)) => Ok(url),
        _ => anyhow::bail!("--store takes a postgres://… connection string"),
    }
}

/// `dfc-bank audit --data DIR --store postgres://…`: exit 0 when the ledger verifies, 2 when not.
///
/// `cosigned` names a file of co-signed checkpoints kept outside the nodes: each is verified
/// under the operators in force at its height and must name the shared ledger's block there
/// (`anchored_height` in the report), as the SQLite audit does.
pub fn audit(
    data: &Path,
    store_url: &str,
    json: bool,
    cosigned: Option<&Path>,
) -> Result<ExitCode> {
    let url = postgres_url(store_url)?;
    let shown = StoreLocation::Postgres(url.clone()).to_string();
    let params = datadir::load_params(data)?;
    let brought = cosigned
        .map(crate::audit_cmd::read_cosigned)
        .transpose()?
        .unwrap_or_default();
    let ledger = PgLedger::connect(&url).with_context(|| format!("connecting to {shown}"))?;
    let started = Instant::now();
    // The genesis parameters of DIR and the changes the ledger holds, each change's approvals
    // verified again; a change that does not verify fails the audit.
    let result = approved_changes(&ledger)
        .map_err(IntegrityError::from)
        .and_then(|changes| {
            ParamsHistory::from_parts(params.clone(), changes).map_err(|e| IntegrityError::Table {
                table: "param_changes",
                reason: format!("an approved parameter change does not verify: {e}"),
            })
        })
        .and_then(|history| {
            let summary = verify_store(&ledger, &history)?;
            let anchored = check_points(&brought, &history, summary.height, |height| {
                Ok(ledger.header_at(height)?.map(|h| h.hash))
            })?;
            Ok((summary, anchored))
        });
    let elapsed_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    let report = match &result {
        Ok((s, anchored)) => serde_json::json!({
            "pass": true,
            "anchored_height": anchored,
            "store": shown,
            "height": s.height,
            "supply_units": s.supply.units(),
            "supply": params.format(s.supply),
            "notes_outstanding": s.notes_outstanding,
            "tx_count": s.tx_count,
            "audit_entries": s.audit_entries,
            "elapsed_ms": elapsed_ms,
        }),
        Err(e) => serde_json::json!({
            "pass": false,
            "store": shown,
            "error": e.to_string(),
            "elapsed_ms": elapsed_ms,
        }),
    };
    if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        match &result {
            Ok((s, anchored)) => {
                println!("ledger:            {shown}");
                if let Some(h) = anchored {
                    println!("co-signed up to:   block {h}");
                }
                println!("height:            {}", s.height);
                println!("supply:            {}", params.format(s.supply));
                println!("notes outstanding: {}", s.notes_outstanding);
                println!("transactions:      {}", s.tx_count);
                println!("PASS");
            }
            Err(e) => println!("FAIL: {e}"),
        }
    }
    Ok(if result.is_ok() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(2)
    })
}

/// `dfc-bank pg-import --data DIR --store postgres://…`.
pub fn import(data: &Path, store_url: &str, json: bool) -> Result<ExitCode> {
    let url = postgres_url(store_url)?;
    let shown = StoreLocation::Postgres(url.clone()).to_string();
    let params = datadir::load_params(data)?;
    let src = store::open_reader(&data.join(datadir::LEDGER_FILE))?;
    let mut ledger = PgLedger::connect(&url).with_context(|| format!("connecting to {shown}"))?;
    let done = import_sqlite(&src, &mut ledger, &params)?;
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({
                "store": shown,
                "blocks": done.blocks,
                "txs": done.txs,
                "wallets": done.wallets,
                "audit_entries": done.audit_entries,
            }))?
        );
    } else {
        println!(
            "imported {} blocks, {} transactions, {} wallets and {} audit-log entries into {shown}",
            done.blocks, done.txs, done.wallets, done.audit_entries
        );
    }
    Ok(ExitCode::SUCCESS)
}
