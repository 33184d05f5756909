//! The README's story across a reopen: a fresh sandbox in the console, a wallet registered with
//! `dfc-wallet --sandbox DIR` (the URL found from the sandbox directory), the console quit and
//! opened again on the same sandbox, which serves the same URL, and the same wallet syncs with no
//! `--bank` and no second `register`. `dfc-bank --data DIR` finds the node the same way.

use std::process::Command;

use anyhow::{ensure, Context, Result};

use super::{shell_quote, url_on, CliWallet, Tmux};

#[test]
fn sandbox_keeps_its_url_across_reopen() -> Result<()> {
    dfc_tests::init_tracing();
    if Command::new("tmux").arg("-V").output().is_err() {
        eprintln!("SKIPPED: tmux is not installed (.ci/run installs it); the TUI end-to-end test needs it");
        return Ok(());
    }
    let tmp = tempfile::tempdir()?;
    let tui = dfc_tests::bin_path("dfc-tui");
    let socket = tmp.path().join("tmux.sock");
    let sandbox = tmp.path().join("sandbox");
    let open = format!(
        "{} console --sandbox --data {}",
        shell_quote(&tui),
        shell_quote(&sandbox)
    );
    let sandbox_arg = sandbox.display().to_string();

    tracing::info!("--- a fresh sandbox, as in the README");
    let console = Tmux::start(&socket, "first", &open)?;
    let screen = console.wait_for("connected to the sandbox node", |s| {
        s.contains("connected") && url_on(s).is_some()
    })?;
    let url = url_on(&screen).context("the URL is on the status bar")?;
    let kept = dfc_client::endpoint::read_node_url(&sandbox)?;
    ensure!(
        kept == url,
        "the sandbox keeps its URL: {kept} vs screen {url}"
    );

    tracing::info!("--- a wallet registered through the sandbox directory, not a typed URL");
    let alice = CliWallet {
        dir: tmp.path().join("alice"),
        passphrase: "passphrase of alice".into(),
    };
    alice.run(&["create"])?;
    let reg = alice.run(&["--sandbox", &sandbox_arg, "register", "--label", "alice"])?;
    ensure!(reg["bank"] == url.as_str(), "registered at {url}: {reg}");
    let listed = Command::new(dfc_tests::bin_path("dfc-bank"))
        .args(["wallet", "list", "--data", &sandbox_arg, "--json"])
        .output()?;
    ensure!(
        listed.status.success() && String::from_utf8_lossy(&listed.stdout).contains("alice"),
        "dfc-bank --data finds the sandbox's node: {listed:?}"
    );

    tracing::info!("--- the console quits and opens the same sandbox again");
    console.key("q")?;
    console.wait_text("EXITED 0")?;
    drop(console);
    let console = Tmux::start(&socket, "second", &open)?;
    let screen = console.wait_for("connected again", |s| {
        s.contains("connected") && url_on(s).is_some()
    })?;
    let again = url_on(&screen).context("the URL is on the status bar")?;
    ensure!(again == url, "same URL after reopening: {again} vs {url}");

    tracing::info!("--- the same wallet syncs at its stored URL, without registering again");
    let synced = alice.run(&["sync"])?;
    ensure!(
        synced["height"].as_u64().is_some(),
        "the wallet synced with the reopened sandbox: {synced}"
    );
    console.key("q")?;
    console.wait_text("EXITED 0")?;
    Ok(())
}
