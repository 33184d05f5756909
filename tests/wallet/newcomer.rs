//! What a newcomer trips over in the CLIs (issue 19), checked against the real binaries: amounts
//! with thousands separators, formatted amounts and UTC times in `dfc-bank --json`, a second
//! approval by the same operator failing with a code, `dfc-bank` errors as JSON, the wallet's
//! text and JSON stating the same height, a node URL without `http://`, a missing wallet named
//! before any passphrase is asked for, and `DFC_WALLET_PASSPHRASE` in `--help`.

use std::process::{Command, Stdio};

use anyhow::{ensure, Context, Result};
use serde_json::Value;

use crate::bank::Bank;
use crate::cli::WalletCli;

/// The JSON object a failing `dfc-bank --json` printed on stdout.
fn bank_error(out: &std::process::Output) -> Result<Value> {
    ensure!(!out.status.success(), "dfc-bank should have failed");
    serde_json::from_slice(&out.stdout).with_context(|| {
        format!(
            "dfc-bank --json error is not JSON: {} / {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

/// Runs the phases with `alice` registered at `ops` and holding less than 1,000.00.
pub fn run(ops: &Bank, alice: &WalletCli) -> Result<()> {
    let a_addr = alice.address()?;
    tracing::info!("--- 1,000.00 is an amount; proposal JSON gives it formatted and times in UTC");
    ops.operator(0, &["wallet", "set-tier", &a_addr, "2"])?;
    let proposed = ops.operator(
        0,
        &["issue", "propose", "--to", &a_addr, "--amount", "1,000.00"],
    )?;
    let p = &proposed["proposal"];
    ensure!(p["amount"] == 100_000, "{p}");
    ensure!(p["amount_text"] == "1000.00 DFC", "{p}");
    ensure!(p["output_amounts_text"][0] == "1000.00 DFC", "{p}");
    let back: dfc_core::api::OperatorResponse = serde_json::from_value(proposed.clone())?;
    ensure!(
        back.proposal.is_some(),
        "the JSON still reads as the wire type"
    );
    ensure!(
        p["expires"].as_str().is_some_and(|e| e.ends_with(" UTC")),
        "{p}"
    );
    let txid = p["txid"].as_str().context("txid")?.to_string();

    tracing::info!("--- approving twice exits non-zero with a code, as JSON");
    let out = ops.operator_raw(0, &["issue", "approve", &txid])?;
    let err = bank_error(&out)?;
    ensure!(
        err["code"] == "already_approved" && err["error"] == "already_approved",
        "{err}"
    );
    ensure!(
        err["message"]
            .as_str()
            .is_some_and(|m| m.contains("already approved")),
        "{err}"
    );
    let approved = ops.operator(1, &["issue", "approve", &txid])?;
    ensure!(!approved["receipt"].is_null(), "committed: {approved}");
    let out = ops.operator_raw(1, &["issue", "approve", &txid])?;
    let err = bank_error(&out)?;
    ensure!(err["code"] == "proposal_not_pending", "{err}");

    tracing::info!("--- dfc-bank errors under --json are JSON; causes are not repeated");
    let out = dfc_tests::dfc_bank(&[
        "proposals",
        "--bank",
        "http://127.0.0.1:9",
        "--key",
        "/nonexistent/operator.key",
        "--json",
    ]);
    let err = bank_error(&out)?;
    ensure!(err["code"] == "node_unreachable", "{err}");
    let out = dfc_tests::dfc_bank(&[
        "issue",
        "approve",
        &txid,
        "--bank",
        &ops.url(),
        "--key",
        "/nonexistent/operator.key",
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    ensure!(!out.status.success(), "a missing key file fails");
    ensure!(
        stderr.matches("os error 2").count() <= 1,
        "the cause is said once: {stderr}"
    );

    tracing::info!("--- a node URL without http:// works");
    let bare = ops.url().trim_start_matches("http://").to_string();
    let synced = alice.ok(&["--bank", &bare, "sync"])?;
    ensure!(synced["at_height"].as_u64().is_some(), "{synced}");

    tracing::info!("--- the text and the JSON state the same height");
    let json = alice.ok(&["balance"])?;
    let at = json["at_height"].as_u64().context("at_height")?;
    let out = Command::new(&alice.bin)
        .arg("--wallet")
        .arg(&alice.dir)
        .arg("balance")
        .env("DFC_WALLET_PASSPHRASE", &alice.passphrase)
        .output()?;
    let text = String::from_utf8_lossy(&out.stdout);
    ensure!(
        text.contains(&format!("synced to height {at}")),
        "text {text} vs JSON {at}"
    );

    tracing::info!("--- ambiguous 1,00 is refused");
    let err = alice.err(&["pay", "--to", &a_addr, "--amount", "1,00"])?;
    ensure!(err.code == "bad_amount", "{err:?}");

    tracing::info!("--- a missing wallet is said before any passphrase is asked for");
    let out = Command::new(&alice.bin)
        .arg("--wallet")
        .arg(alice.dir.with_extension("missing"))
        .args(["--json", "balance"])
        .env_remove("DFC_WALLET_PASSPHRASE")
        .stdin(Stdio::null())
        .output()?;
    let v: Value = serde_json::from_slice(&out.stdout)
        .with_context(|| String::from_utf8_lossy(&out.stderr).into_owned())?;
    ensure!(v["code"] == "not_found", "{v}");
    ensure!(
        !String::from_utf8_lossy(&out.stderr).contains("passphrase"),
        "no passphrase asked"
    );

    tracing::info!("--- --help names DFC_WALLET_PASSPHRASE");
    let out = Command::new(&alice.bin).arg("--help").output()?;
    ensure!(
        String::from_utf8_lossy(&out.stdout).contains("DFC_WALLET_PASSPHRASE"),
        "help lists the environment"
    );
    Ok(())
}
