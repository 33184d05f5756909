//! End-to-end test of the wallet: the real `dfc-wallet` binary, driven as a script would (`--json`,
//! passphrase from the environment), against a sandbox node on a loopback socket with a real SQLite
//! ledger. Three wallets, an issuance, payments across them (one to a wallet that syncs only at the
//! end), a wallet killed mid-payment twice and resumed, a redemption, every refusal changing
//! nothing, and at the end the balances add up to the node's supply.

mod bank;
mod cli;
mod light;
mod light_away;
mod light_bench;
mod newcomer;
mod omission;

use anyhow::{ensure, Context, Result};
use bank::Bank;
use cli::WalletCli;

/// Asserts a refused command gave `code` and left the wallet's balance, history and key file as
/// they were.
fn refused(w: &WalletCli, args: &[&str], env: &[(&str, &str)], code: &str) -> Result<String> {
    let before = w.snapshot()?;
    let err = w.err_env(args, env)?;
    ensure!(
        err.code == code,
        "{}: {args:?} gave {} ({}), expected {code}",
        w.name,
        err.code,
        err.message
    );
    ensure!(!err.message.is_empty(), "error {code} has no message");
    let after = w.snapshot()?;
    ensure!(
        before == after,
        "{}: refused {args:?} changed the wallet",
        w.name
    );
    tracing::info!(code, message = %err.message, "refused as expected");
    Ok(err.message)
}

#[test]
fn wallet_end_to_end() -> Result<()> {
    dfc_tests::init_tracing();
    let tmp = tempfile::tempdir()?;
    let wallet_bin = dfc_tests::bin_path("dfc-wallet");

    tracing::info!("--- a sandbox node (dfc-bank init + serve) on a loopback port");
    let ops = Bank::start(&tmp.path().join("bank"))?;
    let url = ops.url();
    let supply_units = || -> Result<u64> { Ok(ops.supply()?.supply.units()) };

    tracing::info!("--- three wallets created and registered");
    let alice = WalletCli::new("alice", tmp.path().join("alice"), &wallet_bin);
    let bob = WalletCli::new("bob", tmp.path().join("bob"), &wallet_bin);
    let carol = WalletCli::new("carol", tmp.path().join("carol"), &wallet_bin);
    let mut phrase = String::new();
    for w in [&alice, &bob, &carol] {
        let created = w.ok(&["create"])?;
        let words = created["recovery_phrase"].as_str().context("phrase")?;
        ensure!(words.split_whitespace().count() == 24, "24-word phrase");
        if w.name == "alice" {
            phrase = words.to_string();
        }
        let reg = w.ok(&["--bank", &url, "register"])?;
        ensure!(reg["tier"].as_u64() == Some(0), "new wallets get tier 0");
        ensure!(reg["address"]
            .as_str()
            .is_some_and(|a| a.starts_with("dfc1")));
    }
    let (a_addr, b_addr, c_addr) = (alice.address()?, bob.address()?, carol.address()?);

    tracing::info!("--- an issuance of 150.00 to alice, found at her next sync");
    ops.issue(&a_addr, "150.00")?;
    ensure!(alice.synced_total()? == 15_000, "alice holds the issuance");
    let hist = alice.ok(&["history"])?;
    ensure!(
        hist[0]["kind"] == "issue" && hist[0]["amount_units"] == 15_000,
        "issue in history: {hist}"
    );

    tracing::info!("--- alice pays bob 25.50 with a memo; bob finds it at his sync");
    let paid = alice.ok(&[
        "pay", "--to", &b_addr, "--amount", "25.50", "--memo", "rent",
    ])?;
    ensure!(paid["state"] == "committed", "paid: {paid}");
    tracing::info!(build_ms = %paid["build_ms"], inputs = %paid["inputs"], outputs = %paid["outputs"], "payment built");
    let txid = paid["txid"].as_str().context("txid")?.to_string();
    let receipt = alice.ok(&["receipt", &txid])?;
    ensure!(receipt["verified"] == true && receipt["receipt"]["txid"] == txid.as_str());
    ensure!(alice.total()? == 15_000 - 2_550, "alice's change came back");
    ensure!(bob.synced_total()? == 2_550);
    let hist = bob.ok(&["history"])?;
    ensure!(
        hist[0]["kind"] == "incoming" && hist[0]["memo"] == "rent",
        "bob's history: {hist}"
    );

    tracing::info!("--- payments to carol, who is not running");
    alice.ok(&["pay", "--to", &c_addr, "--amount", "10"])?;
    bob.ok(&["pay", "--to", &c_addr, "--amount", "5.25"])?;

    tracing::info!("--- bob pays with two notes (2 in, 2 out)");
    bob.ok(&["pay", "--to", &a_addr, "--amount", "0.50"])?;
    alice.ok(&["pay", "--to", &b_addr, "--amount", "1.00"])?;
    ensure!(bob.synced_total()? == 2_550 - 525 - 50 + 100);
    let two_in = bob.ok(&["pay", "--to", &a_addr, "--amount", "20.00"])?;
    ensure!(
        two_in["inputs"] == 2 && two_in["outputs"] == 2,
        "2-in/2-out: {two_in}"
    );
    tracing::info!(build_ms = %two_in["build_ms"], "2-in/2-out payment built");

    tracing::info!("--- alice is killed right after storing a payment, then resumes it");
    let alice_before = alice.synced_total()?;
    let bob_before = bob.synced_total()?;
    let out = alice.raw(
        &["pay", "--to", &b_addr, "--amount", "3.00"],
        &[("DFC_WALLET_TEST_CRASH_AFTER", "store")],
    )?;
    ensure!(
        out.status.code() == Some(86),
        "the fault hook stops pay: {out:?}"
    );
    let bal = alice.ok(&["balance"])?;
    ensure!(
        bal["pending"].as_array().is_some_and(|p| p.len() == 1),
        "one stored payment: {bal}"
    );
    ensure!(
        bal["total_units"].as_u64() == Some(alice_before),
        "nothing lost while pending"
    );
    ensure!(bob.synced_total()? == bob_before, "not sent yet");
    let synced = alice.ok(&["sync"])?;
    ensure!(
        synced["resumed"][0]["state"] == "committed",
        "resumed: {synced}"
    );
    alice.ok(&["sync"])?;
    ensure!(alice.total()? == alice_before - 300);
    ensure!(bob.synced_total()? == bob_before + 300, "paid exactly once");

    tracing::info!("--- alice is killed after the node accepted a payment, before recording it");
    let out = alice.raw(
        &["pay", "--to", &b_addr, "--amount", "2.00"],
        &[("DFC_WALLET_TEST_CRASH_AFTER", "submit")],
    )?;
    ensure!(
        out.status.code() == Some(86),
        "the fault hook stops pay: {out:?}"
    );
    ensure!(
        alice.synced_total()? == alice_before - 500,
        "resumed by sync, paid once"
    );
    ensure!(bob.synced_total()? == bob_before + 500, "paid exactly once");
    let hist = alice.ok(&["history"])?;
    ensure!(
        hist.as_array().is_some_and(|h| h
            .iter()
            .all(|l| !l["kind"].as_str().unwrap_or("").starts_with("pending"))),
        "no payment left pending: {hist}"
    );

    tracing::info!("--- refusals: each names the problem and changes nothing");
    let msg = refused(
        &alice,
        &["balance"],
        &[("DFC_WALLET_PASSPHRASE", "not the passphrase")],
        "wrong_passphrase",
    )?;
    ensure!(msg.contains("wrong passphrase"));
    let mut typo: Vec<char> = b_addr.chars().collect();
    let i = typo.len() - 7;
    typo[i] = if typo[i] == 'q' { 'p' } else { 'q' };
    let typo: String = typo.into_iter().collect();
    let msg = refused(
        &alice,
        &["pay", "--to", &typo, "--amount", "1.00"],
        &[],
        "bad_address",
    )?;
    ensure!(msg.contains("checksum"), "{msg}");
    let msg = refused(
        &alice,
        &["pay", "--to", &b_addr, "--amount", "1.005"],
        &[],
        "bad_amount",
    )?;
    ensure!(msg.contains("more than 2 decimals"), "{msg}");
    let msg = refused(
        &alice,
        &["pay", "--to", &b_addr, "--amount", "100000"],
        &[],
        "insufficient_funds",
    )?;
    ensure!(
        msg.contains("available") && msg.contains("100000.00 DFC asked"),
        "{msg}"
    );
    let msg = refused(
        &alice,
        &[
            "--bank",
            "http://127.0.0.1:9",
            "pay",
            "--to",
            &b_addr,
            "--amount",
            "1.00",
        ],
        &[],
        "node_unreachable",
    )?;
    ensure!(msg.contains("cannot reach the node"), "{msg}");
    // A corrupted key file: restored afterwards, the wallet is as it was.
    let keys = alice.dir.join(dfc_wallet::KEY_FILE);
    let good = std::fs::read(&keys)?;
    let before = alice.snapshot()?;
    let mut bad = good.clone();
    let at = bad.len() / 2;
    bad[at] ^= 0x01;
    std::fs::write(&keys, &bad)?;
    let err = alice.err(&["pay", "--to", &b_addr, "--amount", "1.00"])?;
    ensure!(err.code == "corrupted_key_file", "{err:?}");
    ensure!(
        std::fs::read(&keys)? == bad,
        "a refused command does not rewrite the key file"
    );
    std::fs::write(&keys, &good)?;
    ensure!(
        alice.snapshot()? == before,
        "corruption refused, nothing changed"
    );
    // A frozen wallet: the node refuses the spend, the reservation is released.
    ops.set_frozen(&b_addr, true)?;
    let bob_spendable = bob.spendable()?;
    let err = bob.err(&["pay", "--to", &a_addr, "--amount", "1.00"])?;
    ensure!(
        err.code == "frozen_wallet" && err.message.contains("frozen"),
        "{err:?}"
    );
    ensure!(
        bob.spendable()? == bob_spendable,
        "frozen payment's notes released"
    );
    let hist = bob.ok(&["history"])?;
    ensure!(
        hist.as_array().is_some_and(|h| h
            .iter()
            .all(|l| !l["kind"].as_str().unwrap_or("").starts_with("pending"))),
        "nothing pending after a refusal: {hist}"
    );
    ops.set_frozen(&b_addr, false)?;
    bob.ok(&["pay", "--to", &a_addr, "--amount", "1.00"])?;

    tracing::info!("--- bob redeems 2.00: notes reserved until operators approve");
    let bob_before = bob.synced_total()?;
    let supply_before = supply_units()?;
    let red = bob.ok(&["redeem", "--amount", "2.00"])?;
    ensure!(red["state"] == "awaiting_approval", "redeem: {red}");
    ensure!(
        bob.total()? == bob_before,
        "still held while awaiting approval"
    );
    ensure!(bob.spendable()? < bob_before, "redeemed notes are reserved");
    ops.approve_redemption(red["txid"].as_str().context("txid")?)?;
    ensure!(bob.synced_total()? == bob_before - 200, "redeemed");
    ensure!(
        supply_units()? == supply_before - 200,
        "supply shrank by the redemption"
    );

    tracing::info!("--- carol syncs at last and finds both payments");
    ensure!(carol.synced_total()? == 1_525, "carol got 10.00 + 5.25");
    let hist = carol.ok(&["history"])?;
    ensure!(
        hist.as_array().map(Vec::len) == Some(2),
        "carol's history: {hist}"
    );

    tracing::info!("--- alice restored from her phrase sees the same money");
    let restored = WalletCli::new("alice-restored", tmp.path().join("alice2"), &wallet_bin);
    restored.ok_env(&["restore"], &[("DFC_WALLET_PHRASE", &phrase)])?;
    restored.ok(&["--bank", &url, "register"])?;
    ensure!(restored.address()? == a_addr, "same address");
    ensure!(
        restored.synced_total()? == alice.synced_total()?,
        "same balance"
    );

    tracing::info!("--- balances add up to the supply");
    let total: u64 = [&alice, &bob, &carol]
        .iter()
        .map(|w| w.synced_total())
        .sum::<Result<u64>>()?;
    let supply = ops.supply()?;
    ensure!(
        total == supply.supply.units(),
        "wallets hold {total}, supply is {}",
        supply.supply.units()
    );
    ensure!(supply.invariant_ok, "node invariant holds");
    newcomer::run(&ops, &alice)?;
    let audit = ops.audit()?;
    tracing::info!(%audit, "dfc-bank audit passed");
    Ok(())
}

#[test]
fn light_sync_and_authenticated_reads() -> Result<()> {
    dfc_tests::init_tracing();
    let tmp = tempfile::tempdir()?;
    let wallet_bin = dfc_tests::bin_path("dfc-wallet");
    let ops = Bank::start(&tmp.path().join("bank"))?;
    let url = ops.url();
    let alice = WalletCli::new("alice", tmp.path().join("alice"), &wallet_bin);
    let bob = WalletCli::new("bob", tmp.path().join("bob"), &wallet_bin);
    for w in [&alice, &bob] {
        w.ok(&["create"])?;
        w.ok(&["--bank", &url, "register"])?;
    }
    light::run(&ops, &alice, &bob)
}
