//! End-to-end test of offline payments: the real `dfc-wallet` and `dfc-bank` binaries. A payer
//! funds a purse while online; the node is then stopped and packets go from payer to payees as
//! files; payees accept or refuse them with no network; when the node is back the payees' syncs
//! settle them, a double spend is refused with evidence naming the payer's purse certificate, the
//! registry shows the flag, balances add up and `dfc-bank audit` passes.
//!
//! Re-spending a purse note (the double spend, the replayed counter, the over-cap packet) uses a
//! copy of the payer's wallet directory taken after funding: the copy does not know what the
//! original paid, exactly like a cloned or restored phone. The over-cap packet also needs the
//! test-only hook `DFC_WALLET_TEST_OFFLINE_IGNORE_CAP=1` (an honest wallet refuses to make one).

// Shared with the wallet test, which uses the helpers this one does not.
#[path = "../wallet/bank.rs"]
#[allow(dead_code)]
mod bank;
#[path = "../wallet/cli.rs"]
#[allow(dead_code)]
mod cli;
mod network_pin;
mod reconcile;

use std::path::Path;

use anyhow::{ensure, Context, Result};
use bank::Bank;
use cli::WalletCli;
use dfc_core::offline::PaymentPacket;
use serde_json::Value;

const IGNORE_CAP: (&str, &str) = ("DFC_WALLET_TEST_OFFLINE_IGNORE_CAP", "1");

/// The payee's balance and packet list: what a refusal must leave as it was.
fn state(w: &WalletCli) -> Result<(Value, Value)> {
    Ok((w.ok(&["balance"])?, w.ok(&["offline", "list"])?))
}

/// Asserts `accept FILE` is refused with `code` and changes nothing.
fn refused(w: &WalletCli, file: &Path, code: &str) -> Result<String> {
    let before = state(w)?;
    let f = file.to_str().context("utf-8 path")?;
    let err = w.err(&["offline", "accept", f])?;
    ensure!(
        err.code == code,
        "{}: accept {f} gave {} ({}), expected {code}",
        w.name,
        err.code,
        err.message
    );
    ensure!(
        state(w)? == before,
        "{}: a refused packet changed the wallet",
        w.name
    );
    tracing::info!(code, message = %err.message, "packet refused offline as expected");
    Ok(err.message)
}

fn pay(w: &WalletCli, to: &str, amount: &str, out: &Path, env: &[(&str, &str)]) -> Result<Value> {
    let out = out.to_str().context("utf-8 path")?;
    w.ok_env(
        &[
            "offline", "pay", "--to", to, "--amount", amount, "--out", out,
        ],
        env,
    )
}

fn accept(w: &WalletCli, file: &Path) -> Result<Value> {
    w.ok(&["offline", "accept", file.to_str().context("utf-8 path")?])
}

fn copy_dir(from: &Path, to: &Path) -> Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        std::fs::copy(entry.path(), to.join(entry.file_name()))?;
    }
    Ok(())
}

#[test]
fn offline_payments_end_to_end() -> Result<()> {
    dfc_tests::init_tracing();
    let tmp = tempfile::tempdir()?;
    let bin = dfc_tests::bin_path("dfc-wallet");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;

    tracing::info!("--- two sandbox nodes: ours, and another network's (for a foreign checkpoint)");
    let mut ops = Bank::start(&tmp.path().join("bank"))?;
    let other = Bank::start(&tmp.path().join("other-bank"))?;
    let foreign_checkpoint = rt.block_on(other.node.client().checkpoint())?;
    drop(other);
    let url = ops.url();

    tracing::info!("--- payer, two payees and a short-lived purse holder register; issuance");
    let payer = WalletCli::new("payer", tmp.path().join("payer"), &bin);
    let payee = WalletCli::new("payee", tmp.path().join("payee"), &bin);
    let payee2 = WalletCli::new("payee2", tmp.path().join("payee2"), &bin);
    let sam = WalletCli::new("sam", tmp.path().join("sam"), &bin);
    for w in [&payer, &payee, &payee2, &sam] {
        w.ok(&["create"])?;
        w.ok(&["--bank", &url, "register"])?;
    }
    let (payee_addr, payee2_addr) = (payee.address()?, payee2.address()?);
    ops.issue(&payer.address()?, "100.00")?;
    ops.issue(&sam.address()?, "10.00")?;
    ensure!(payer.synced_total()? == 10_000);

    tracing::info!("--- the payer funds a purse of 4 notes while online; cap from tier 0");
    let funded = payer.ok(&["offline", "fund", "--amount", "20.00", "--notes", "4"])?;
    ensure!(
        funded["notes"] == 4 && funded["cap_units"] == 2_000 && funded["purse_units"] == 2_000,
        "funded: {funded}"
    );
    let over = payer.err(&["offline", "fund", "--amount", "1.00"])?;
    ensure!(over.code == "purse_full", "purse over its cap: {over:?}");
    // An over-full purse only through the test hook, so an over-cap packet can be made.
    payer.ok_env(
        &["offline", "fund", "--amount", "25.00", "--notes", "1"],
        &[IGNORE_CAP],
    )?;
    let b = payer.ok(&["balance"])?;
    ensure!(
        b["purse_units"] == 4_500 && b["total_units"] == 10_000,
        "purse is in the total: {b}"
    );
    let refused_pay = payer.err(&[
        "offline",
        "pay",
        "--to",
        &payee_addr,
        "--amount",
        "22.00",
        "--out",
        "/dev/null",
    ])?;
    ensure!(refused_pay.code == "over_purse_cap", "{refused_pay:?}");
    let mut payer_copy = WalletCli::new("payer-copy", tmp.path().join("payer-copy"), &bin);
    payer_copy.passphrase = payer.passphrase.clone();
    copy_dir(&payer.dir, &payer_copy.dir)?;

    tracing::info!("--- sam funds a purse whose certificate lives 8 s, and pays at once");
    let sam_fund = sam.ok(&[
        "offline", "fund", "--amount", "5.00", "--notes", "1", "--ttl", "8s",
    ])?;
    let expires_ms = sam_fund["expires_ms"].as_u64().context("expiry")?;
    let expired_file = tmp.path().join("expired.pkt");
    pay(&sam, &payee_addr, "1.00", &expired_file, &[])?;

    tracing::info!("--- the node stops: everything below until settlement is offline");
    ops.node.kill_hard();

    tracing::info!("--- three packets from payer to payee, as files (binary and text)");
    let files: Vec<_> = (1..=4)
        .map(|i| tmp.path().join(format!("p{i}.pkt")))
        .collect();
    let mut sizes = Vec::new();
    for (file, amount) in files.iter().zip(["2.50", "3.00", "4.00"]) {
        let p = pay(&payer, &payee_addr, amount, file, &[])?;
        let (bytes, chars) = (
            p["size_bytes"].as_u64().context("size")?,
            p["text_chars"].as_u64().context("chars")?,
        );
        ensure!(
            usize::try_from(bytes)? <= dfc_core::offline::MAX_PACKET_BYTES
                && usize::try_from(chars)? <= dfc_core::offline::MAX_PACKET_TEXT_CHARS,
            "packet of {bytes} bytes / {chars} chars fits one QR code"
        );
        sizes.push((bytes, chars));
    }
    tracing::info!(?sizes, "packet sizes (bytes, text chars)");
    // The second one travels as text.
    let p2 = PaymentPacket::decode(&std::fs::read(&files[1])?)?;
    std::fs::write(&files[1], p2.to_text())?;
    for f in &files[..3] {
        let a = accept(&payee, f)?;
        tracing::info!(amount = %a["amount"], counter = %a["counter"], "accepted offline");
    }
    let b = payee.ok(&["balance"])?;
    ensure!(
        b["unsettled_in_units"] == 950 && b["total_units"] == 0,
        "unsettled is shown apart: {b}"
    );
    ensure!(
        payer.ok(&["balance"])?["purse_units"] == 2_500 + 500,
        "three notes spent offline"
    );

    tracing::info!("--- refused offline, each with its reason and no change");
    let p4 = pay(&payer, &payee_addr, "1.00", &files[3], &[])?;
    ensure!(p4["counter"] == 4);
    let good = PaymentPacket::decode(&std::fs::read(&files[3])?)?;
    let mut altered = good.clone();
    altered.cert.cap = dfc_core::Amount::from_units(1_000_000)?;
    let f = tmp.path().join("altered.pkt");
    std::fs::write(&f, altered.encode())?;
    refused(&payee, &f, "bad_certificate")?;
    let mut flipped = good.encode();
    let i = flipped.len() - 70;
    flipped[i] ^= 0x01;
    std::fs::write(&f, &flipped)?;
    refused(&payee, &f, "bad_counter_signature")?;
    let mut foreign = good.clone();
    foreign.checkpoint = foreign_checkpoint;
    std::fs::write(&f, foreign.encode())?;
    // Networks created with the defaults have different ids: the other network's checkpoint is
    // refused for that first; claiming ours, its signature is not our node's.
    refused(&payee, &f, "wrong_network")?;
    foreign.checkpoint.network = good.checkpoint.network;
    std::fs::write(&f, foreign.encode())?;
    let msg = refused(&payee, &f, "bad_checkpoint")?;
    ensure!(msg.contains("checkpoint"), "{msg}");
    accept(&payee, &files[3])?;
    let wait_ms = expires_ms.saturating_sub(dfc_tests_now_ms()) + 500;
    std::thread::sleep(std::time::Duration::from_millis(wait_ms));
    refused(&payee, &expired_file, "certificate_expired")?;

    tracing::info!("--- the payer's copy re-spends: a double spend, a replay, an over-cap packet");
    let ds = tmp.path().join("double.pkt");
    pay(&payer_copy, &payee2_addr, "1.50", &ds, &[])?;
    accept(&payee2, &ds)?; // cannot be known offline
    let replay = tmp.path().join("replay.pkt");
    pay(&payer_copy, &payee_addr, "1.00", &replay, &[])?;
    refused(&payee, &replay, "replayed_counter")?;
    let big = tmp.path().join("overcap.pkt");
    pay(&payer_copy, &payee2_addr, "22.00", &big, &[IGNORE_CAP])?;
    refused(&payee2, &big, "over_cap")?;
    let again = refused(&payee, &files[0], "already_accepted")?;
    tracing::info!(%again, "the same packet twice");

    tracing::info!("--- the node is back: the payee's sync settles its four packets");
    ops.node.restart();
    let url = ops.url();
    let sync = payee.ok(&["--bank", &url, "sync"])?;
    ensure!(
        sync["offline"]
            .as_array()
            .is_some_and(|a| a.len() == 4 && a.iter().all(|p| p["state"] == "settled")),
        "settled: {sync}"
    );
    let b = payee.ok(&["balance"])?;
    ensure!(
        b["total_units"] == 1_050 && b["unsettled_in_units"] == 0,
        "settled value counts: {b}"
    );
    let receipt = rt.block_on(ops.node.client().settle(&good.to_text()))?;
    let receipt2 = rt.block_on(ops.node.client().settle(&good.to_text()))?;
    ensure!(receipt == receipt2, "settling twice gives the same receipt");

    tracing::info!("--- payee2's sync: the double spend is refused with evidence");
    payee2.ok(&["--bank", &url, "sync"])?;
    let list = payee2.ok(&["offline", "list"])?;
    let failed = &list[0];
    ensure!(
        failed["state"] == "failed"
            && failed["error"]
                .as_str()
                .is_some_and(|e| e.starts_with("double_spend"))
            && failed["evidence"].is_string(),
        "double spend failed with evidence: {list}"
    );
    ensure!(payee2.ok(&["balance"])?["total_units"] == 0);
    let evidence = rt.block_on(ops.node.client().evidence(None, None))?;
    ensure!(evidence.len() == 1, "one piece of evidence: {evidence:?}");
    let e = &evidence[0];
    let payer_key = payer.ok(&["address"])?;
    let params = rt.block_on(ops.node.client().params())?;
    e.evidence
        .verify(&params.node_key)
        .map_err(|err| anyhow::anyhow!("{err}"))?;
    ensure!(failed["evidence"] == e.id.to_hex().as_str());
    let payer_spend = payer_key["address"]
        .as_str()
        .context("address")?
        .parse::<dfc_core::Address>()?
        .spend;
    ensure!(
        e.wallet == payer_spend && e.evidence.cert.wallet == payer_spend,
        "the evidence names the payer's purse certificate"
    );
    let wallets: Value = serde_json::from_str(&dfc_tests::dfc_bank_ok(&[
        "wallet",
        "list",
        "--bank",
        &url,
        "--data",
        &ops.data().display().to_string(),
        "--json",
    ]))?;
    let flagged: Vec<&Value> = wallets
        .as_array()
        .context("list")?
        .iter()
        .filter(|w| w["flags"].as_u64() > Some(0))
        .collect();
    ensure!(
        flagged.len() == 1 && flagged[0]["address"] == payer_key["address"],
        "the payer's wallet is flagged: {wallets}"
    );
    let human = dfc_tests::dfc_bank_ok(&[
        "evidence",
        "--bank",
        &url,
        "--data",
        &ops.data().display().to_string(),
    ]);
    ensure!(human.contains("verified"), "{human}");

    tracing::info!("--- the payer syncs: change back in the purse, balances add up, audit passes");
    payer.ok(&["--bank", &url, "sync"])?;
    let b = payer.ok(&["balance"])?;
    // 55.00 online, purse: the 25.00 note and the change 2.50 + 2.00 + 1.00 + 4.00.
    ensure!(
        b["spendable_units"] == 5_500 && b["purse_units"] == 3_450 && b["total_units"] == 8_950,
        "payer: {b}"
    );
    ensure!(
        b["total_units"].as_u64().unwrap_or(0) + 1_050 == 10_000,
        "payer and payee hold what was issued to the payer"
    );
    let audit = ops.audit()?;
    ensure!(audit.contains("PASS"), "{audit}");
    Ok(())
}

fn dfc_tests_now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}
