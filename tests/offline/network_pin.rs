//! A wallet pinned to one network and pointed at another node (another sandbox's data
//! directory): every call is refused `wrong_network` and nothing in the wallet changes, in
//! particular a pending offline packet is not marked failed (issue 19 saw a settled packet come
//! back `bad_certificate` from the wrong node). Back on its own node, the packet settles.

use anyhow::{ensure, Context, Result};
use dfc_client::{BankClient, ClientError};
use serde_json::Value;

use crate::bank::Bank;
use crate::cli::WalletCli;

/// Balance, history and packet list: what a refused call must leave as it was.
fn state(w: &WalletCli) -> Result<(Value, Value, Value)> {
    Ok((
        w.ok(&["balance"])?,
        w.ok(&["history"])?,
        w.ok(&["offline", "list"])?,
    ))
}

#[test]
fn wallet_pointed_at_another_network_changes_nothing() -> Result<()> {
    dfc_tests::init_tracing();
    let tmp = tempfile::tempdir()?;
    let bin = dfc_tests::bin_path("dfc-wallet");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;

    tracing::info!("--- node A (the wallets' network) and node B (another sandbox)");
    let a = Bank::start(&tmp.path().join("a"))?;
    let b = Bank::start(&tmp.path().join("b"))?;
    let (url_a, url_b) = (a.url(), b.url());

    tracing::info!("--- payer and payee on A; the payer pays offline, the packet is pending");
    let payer = WalletCli::new("payer", tmp.path().join("payer"), &bin);
    let payee = WalletCli::new("payee", tmp.path().join("payee"), &bin);
    for w in [&payer, &payee] {
        w.ok(&["create"])?;
        w.ok(&["--bank", &url_a, "register"])?;
    }
    a.issue(&payer.address()?, "50.00")?;
    ensure!(payer.synced_total()? == 5_000);
    payer.ok(&["offline", "fund", "--amount", "10.00", "--notes", "2"])?;
    let packet = tmp.path().join("p1.txt");
    let p = packet.to_str().context("utf-8 path")?;
    payer.ok(&[
        "offline",
        "pay",
        "--to",
        &payee.address()?,
        "--amount",
        "5.00",
        "--out",
        p,
    ])?;
    payee.ok(&["offline", "accept", p])?;
    let list = payee.ok(&["offline", "list"])?;
    ensure!(
        list.to_string().contains("pending"),
        "packet pending: {list}"
    );

    tracing::info!("--- pointed at B: sync (which settles packets) and pay refused wrong_network");
    let (payer_addr, payee_addr) = (payer.address()?, payee.address()?);
    for (w, to) in [(&payee, &payer_addr), (&payer, &payee_addr)] {
        let before = state(w)?;
        let pay = ["--bank", &url_b, "pay", "--to", to, "--amount", "1.00"];
        let sync = ["--bank", &url_b, "sync"];
        for args in [&sync[..], &pay[..]] {
            let err = w.err(args)?;
            ensure!(
                err.code == "wrong_network",
                "{}: {args:?} gave {} ({})",
                w.name,
                err.code,
                err.message
            );
            ensure!(
                err.message.contains("another network"),
                "the message says why: {}",
                err.message
            );
        }
        ensure!(
            state(w)? == before,
            "{}: calls refused by B changed the wallet",
            w.name
        );
    }

    tracing::info!("--- the node refuses a pinned request itself, before any handler");
    let params_a = rt.block_on(a.node.client().params())?;
    let pinned = BankClient::new(&url_b).pinned_to(params_a.genesis_hash);
    match rt.block_on(pinned.supply()) {
        Err(ClientError::WrongNetwork { message, .. }) => {
            ensure!(message.contains("genesis"), "names the genesis: {message}")
        }
        other => anyhow::bail!("B answered a request pinned to A: {other:?}"),
    }
    let unpinned = rt.block_on(BankClient::new(&url_b).supply());
    ensure!(
        unpinned.is_ok(),
        "an unpinned request is served: {unpinned:?}"
    );
    let own = BankClient::new(&url_a).pinned_to(params_a.genesis_hash);
    ensure!(rt.block_on(own.supply()).is_ok(), "A serves its own pin");

    tracing::info!("--- back on A, the payee's sync settles the packet");
    let sync = payee.ok(&["sync"])?;
    let list = payee.ok(&["offline", "list"])?;
    ensure!(
        list.to_string().contains("settled"),
        "packet settled on its own network: {list} (sync {sync})"
    );
    Ok(())
}
