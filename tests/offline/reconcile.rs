//! A balance that reconciles (issue 19): an offline packet whose payer is frozen before it
//! settles stays in the payer's history as its own line with the reason, the history adds up to
//! the balance at every step, the refusal names the frozen wallet of the registry (its address),
//! not its purse key, and after the unfreeze the packet settles and the sums still agree.

use anyhow::{ensure, Context, Result};
use serde_json::Value;

use crate::bank::Bank;
use crate::cli::WalletCli;

/// The history's effect on the balance, minor units: what the lines say came in, less what
/// went out. Lines that move money within the wallet (to its purse, change) or are not in the
/// total yet (a stored payment whose notes are reserved, a refused packet) count zero.
fn history_sum(history: &Value) -> Result<i128> {
    let mut sum = 0i128;
    for line in history.as_array().context("history is a list")? {
        let amount = i128::from(line["amount_units"].as_u64().context("amount_units")?);
        let held = i128::from(line["held_units"].as_u64().unwrap_or(0));
        sum += match line["kind"].as_str().context("kind")? {
            "issue" | "incoming" => amount - held,
            "outgoing" | "redeem" | "offline_outgoing" | "pending_offline_outgoing" => -amount,
            _ => 0,
        };
    }
    Ok(sum)
}

/// Asserts the history adds up to the balance; returns the history.
fn reconciles(w: &WalletCli, when: &str) -> Result<Value> {
    let history = w.ok(&["history"])?;
    let total = i128::from(w.total()?);
    let sum = history_sum(&history)?;
    ensure!(
        sum == total,
        "{} {when}: the history adds up to {sum}, the balance is {total}: {history}",
        w.name
    );
    Ok(history)
}

#[test]
fn frozen_payer_packet_reconciles_and_names_the_wallet() -> Result<()> {
    dfc_tests::init_tracing();
    let tmp = tempfile::tempdir()?;
    let bin = dfc_tests::bin_path("dfc-wallet");
    let bank = Bank::start(&tmp.path().join("bank"))?;
    let url = bank.url();

    tracing::info!("--- payer funded, purse of 2 notes, an offline payment of 3.00 accepted");
    let payer = WalletCli::new("payer", tmp.path().join("payer"), &bin);
    let payee = WalletCli::new("payee", tmp.path().join("payee"), &bin);
    for w in [&payer, &payee] {
        w.ok(&["create"])?;
        w.ok(&["--bank", &url, "register"])?;
    }
    let payer_addr = payer.address()?;
    bank.issue(&payer_addr, "50.00")?;
    ensure!(payer.synced_total()? == 5_000);
    payer.ok(&["offline", "fund", "--amount", "10.00", "--notes", "2"])?;
    reconciles(&payer, "after funding the purse")?;
    let packet = tmp.path().join("p.txt");
    let p = packet.to_str().context("utf-8 path")?;
    payer.ok(&[
        "offline",
        "pay",
        "--to",
        &payee.address()?,
        "--amount",
        "3.00",
        "--out",
        p,
    ])?;
    payee.ok(&["offline", "accept", p])?;
    let history = reconciles(&payer, "after paying offline")?;
    ensure!(
        history.to_string().contains("pending_offline_outgoing"),
        "the unsettled payment is a line of its own: {history}"
    );
    ensure!(
        payer.total()? == 4_700,
        "only the 3.00 paid left the balance"
    );

    tracing::info!("--- the payer is frozen; the payee's sync cannot settle the packet");
    bank.set_frozen(&payer_addr, true)?;
    let sync = payee.ok(&["sync"])?;
    let said = sync["offline"].to_string();
    ensure!(said.contains("frozen_wallet"), "settlement refused: {sync}");
    ensure!(
        said.contains(&payer_addr),
        "the refusal names the frozen wallet {payer_addr}, not only its purse key: {said}"
    );
    let list = payee.ok(&["offline", "list"])?;
    ensure!(list.to_string().contains("pending"), "kept pending: {list}");

    tracing::info!("--- the payer's own sync: the line shows why it waits; sums agree");
    payer.ok(&["sync"])?;
    let history = reconciles(&payer, "while frozen")?;
    let line = history
        .as_array()
        .and_then(|h| h.iter().find(|l| l["kind"] == "pending_offline_outgoing"))
        .context("the pending offline payment is in the history")?;
    ensure!(
        line["reason"]
            .as_str()
            .is_some_and(|r| r.contains("frozen")),
        "the line gives the reason: {line}"
    );

    tracing::info!("--- unfrozen: the packet settles, the line becomes offline_outgoing");
    bank.set_frozen(&payer_addr, false)?;
    payee.ok(&["sync"])?;
    payer.ok(&["sync"])?;
    let history = reconciles(&payer, "after settlement")?;
    ensure!(
        history.to_string().contains("\"offline_outgoing\"")
            && !history.to_string().contains("pending_offline_outgoing"),
        "settled: {history}"
    );
    ensure!(payer.total()? == 4_700, "3.00 paid in all");
    ensure!(payee.synced_total()? == 300, "the payee holds the 3.00");
    Ok(())
}
