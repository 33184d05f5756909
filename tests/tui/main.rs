//! End-to-end test of the terminal apps: the real `dfc-tui` driven in tmux (`send-keys`, read back
//! with `capture-pane`), as a person at a terminal would. The console runs the newcomer's sandbox
//! (`dfc-tui console --sandbox`, node in-process); operator 0 proposes an issuance to a wallet
//! created and registered with the `dfc-wallet` CLI, operator 1 opens it (every output's recipient
//! and amount on screen), is asked to confirm and approves, and the new supply is read from the
//! screen. Then `dfc-tui wallet` pays another wallet and the balance is read from the
//! screen. Skipped (with a message) only when tmux is not installed.

mod reopen;

use std::path::PathBuf;
use std::process::Command;

use anyhow::{ensure, Context, Result};
pub(crate) use dfc_tests::tmux::{shell_quote, Tmux};
use serde_json::Value;

/// A wallet driven through the `dfc-wallet` CLI.
struct CliWallet {
    dir: PathBuf,
    passphrase: String,
}

impl CliWallet {
    fn run(&self, args: &[&str]) -> Result<Value> {
        let out = Command::new(dfc_tests::bin_path("dfc-wallet"))
            .arg("--wallet")
            .arg(&self.dir)
            .arg("--json")
            .args(args)
            .env("DFC_WALLET_PASSPHRASE", &self.passphrase)
            .output()?;
        ensure!(
            out.status.success(),
            "dfc-wallet {args:?}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        Ok(serde_json::from_slice(&out.stdout)?)
    }

    fn create_and_register(dir: PathBuf, name: &str, url: &str) -> Result<(CliWallet, String)> {
        let w = CliWallet {
            dir,
            passphrase: format!("passphrase of {name}"),
        };
        w.run(&["create"])?;
        let reg = w.run(&["--bank", url, "register", "--label", name])?;
        let addr = reg["address"].as_str().context("address")?.to_string();
        Ok((w, addr))
    }
}

/// The first `http://127.0.0.1:PORT` on the screen.
fn url_on(screen: &str) -> Option<String> {
    let at = screen.find("http://127.0.0.1:")?;
    let rest = &screen[at..];
    let end = rest
        .find(|c: char| c.is_whitespace() || c == '│')
        .unwrap_or(rest.len());
    Some(rest[..end].to_string())
}

/// The `words` words after `label` on the first screen line holding it.
fn value_after(screen: &str, label: &str, words: usize) -> Option<String> {
    let line = screen.lines().find(|l| l.contains(label))?;
    let rest = &line[line.find(label)? + label.len()..];
    let words: Vec<&str> = rest.split_whitespace().take(words).collect();
    Some(words.join(" "))
}

#[test]
fn console_and_wallet_in_a_real_terminal() -> Result<()> {
    dfc_tests::init_tracing();
    if Command::new("tmux").arg("-V").output().is_err() {
        eprintln!("SKIPPED: tmux is not installed (.ci/run installs it); the TUI end-to-end test needs it");
        return Ok(());
    }
    let tmp = tempfile::tempdir()?;
    let tui = dfc_tests::bin_path("dfc-tui");
    let socket = tmp.path().join("tmux.sock");
    let bank_dir = tmp.path().join("bank");

    tracing::info!("--- the newcomer's command: a sandbox created and served inside the console");
    let console = Tmux::start(
        &socket,
        "console",
        &format!(
            "{} console --sandbox --data {}",
            shell_quote(&tui),
            shell_quote(&bank_dir)
        ),
    )?;
    let screen = console.wait_for("connected to the sandbox node", |s| {
        s.contains("connected") && s.contains("operator 0") && url_on(s).is_some()
    })?;
    let url = url_on(&screen).context("the URL is on the status bar")?;
    ensure!(
        bank_dir.join("ledger.sqlite").exists(),
        "the sandbox ledger was created"
    );
    console.wait_text("PASS")?;

    tracing::info!("--- two wallets created and registered with the dfc-wallet CLI");
    let (alice, alice_addr) =
        CliWallet::create_and_register(tmp.path().join("alice"), "alice", &url)?;
    let (bob, bob_addr) = CliWallet::create_and_register(tmp.path().join("bob"), "bob", &url)?;
    console.key("5")?;
    console.wait_text("Registry by tier: 2 wallets")?;

    tracing::info!("--- operator 0 proposes an issuance of 150.00 to alice");
    console.key("2")?;
    console.key("n")?;
    // Readline keys in a real terminal: Ctrl-U clears "999", Ctrl-A goes back to put the 1 first.
    console.type_text("999")?;
    console.key("C-u")?;
    console.type_text("50.00")?;
    console.key("C-a")?;
    console.type_text("1")?;
    // The cursor (▏) sits after the 1 just typed.
    console.wait_text("Amount DFC: 1▏50.00")?;
    console.key("Enter")?;
    console.type_text(&alice_addr)?;
    console.key("Enter")?;
    console.wait_for("the pending proposal with operator 0's approval", |s| {
        s.contains("150.00 DFC") && s.contains("1/2 (op 0)") && s.contains("pending")
    })?;

    tracing::info!("--- switch to operator 1 and approve: the issuance commits");
    console.key("o")?;
    console.wait_text("now acting as operator 1")?;
    tracing::info!("--- Enter shows the proposal's output (recipient and amount); a asks y/n");
    console.key("Enter")?;
    let screen = console.wait_for("the proposal's output", |s| {
        s.contains("150.00 DFC  to alice") && s.contains("proposed by operator 0")
    })?;
    let (head, tail) = alice_addr.split_at(40);
    ensure!(
        screen.contains(head) && screen.contains(&tail[tail.len() - 12..]),
        "alice's address is shown, from start to end:\n{screen}"
    );
    console.key("a")?;
    console.wait_text("as operator 1?")?;
    console.wait_text("y approve · n cancel")?;
    console.key("n")?;
    console.wait_text("a approve · Esc close")?;
    ensure!(
        console.screen()?.contains("1/2 (op 0)"),
        "declining signs nothing"
    );
    console.key("a")?;
    console.wait_text("y approve")?;
    console.key("y")?;
    console.wait_for("the committed proposal", |s| {
        s.contains("2/2 (op 0,1)") && s.contains("committed")
    })?;

    tracing::info!("--- the new supply, read from the dashboard");
    console.key("1")?;
    let screen = console.wait_for("the supply of 150.00", |s| {
        value_after(s, "Supply", 2).as_deref() == Some("150.00 DFC")
    })?;
    ensure!(
        value_after(&screen, "Notes outstanding", 1).as_deref() == Some("1"),
        "one note outstanding:\n{screen}"
    );

    tracing::info!("--- the wallet app: alice sees the issuance and pays bob 25.50");
    let wallet = Tmux::start(
        &socket,
        "wallet",
        &format!(
            "DFC_WALLET_PASSPHRASE='{}' {} wallet --wallet {} --bank {url}",
            alice.passphrase,
            shell_quote(&tui),
            shell_quote(&alice.dir)
        ),
    )?;
    wallet.wait_for("alice's balance", |s| {
        value_after(s, "Spendable", 2).as_deref() == Some("150.00 DFC")
    })?;
    wallet.key("p")?;
    wallet.type_text(&bob_addr)?;
    wallet.key("Enter")?;
    wallet.type_text("25.50")?;
    wallet.key("Enter")?;
    wallet.type_text("rent")?;
    wallet.key("Enter")?;
    wallet.wait_text("paid 25.50 DFC (committed)")?;
    wallet.key("1")?;
    let screen = wallet.wait_for("alice's balance after paying", |s| {
        value_after(s, "Spendable", 2).as_deref() == Some("124.50 DFC")
    })?;
    ensure!(
        screen.contains("rent"),
        "the memo is in the history:\n{screen}"
    );

    tracing::info!("--- bob's CLI wallet received it; the console's ledger shows the transfer");
    bob.run(&["sync"])?;
    let bal = bob.run(&["balance"])?;
    ensure!(bal["total_units"] == 2_550, "bob holds 25.50: {bal}");
    console.key("4")?;
    // Newest first: once the console has seen bob's claim of the payment, it is the newest block
    // and the transfer is the one below it.
    let screen = console.wait_for("the newest block in the explorer", |s| {
        s.contains("hidden") && (s.contains("transfer") || s.contains("claim"))
    })?;
    if !screen.contains("transfer") {
        console.key("Down")?;
    }
    console.wait_for("the transfer in the explorer", |s| {
        s.contains("transfer") && s.contains("hidden")
    })?;

    tracing::info!("--- the Regulator tab of the default sandbox explains why it lists nothing");
    console.key("7")?;
    console.wait_text("No compliance rules on this network")?;

    tracing::info!("--- the Audit tab's scorecard warns about the sandbox's keys");
    console.key("6")?;
    console.wait_for("the assessment of the sandbox", |s| {
        s.contains("Assessment") && s.contains("WARN  sandbox-keys")
    })?;

    tracing::info!("--- the Governance tab lists no proposed change and the genesis rules");
    console.key("8")?;
    console.wait_for("the governance tab", |s| {
        s.contains("Proposed changes: none") && s.contains("genesis: 2-of-3 operators")
    })?;

    tracing::info!(
        "--- the wallet app's Offline tab: fund the purse, pay bob offline, bob accepts"
    );
    wallet.key("5")?;
    wallet.wait_text("No purse yet")?;
    wallet.key("f")?;
    wallet.type_text("20.00")?;
    wallet.key("Enter")?;
    wallet.wait_text("moved 20.00 DFC into the purse")?;
    wallet.key("p")?;
    wallet.type_text(&bob_addr)?;
    wallet.key("Enter")?;
    wallet.type_text("2.50")?;
    wallet.key("Enter")?;
    wallet.key("Enter")?;
    wallet.wait_text("Paid offline 2.50 DFC")?;
    let packet = std::fs::read_dir(&alice.dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .find(|p| p.extension().is_some_and(|x| x == "dfcpay"))
        .context("the packet file is in alice's wallet directory")?;
    let accepted = bob.run(&["offline", "accept", &packet.display().to_string()])?;
    ensure!(
        accepted["amount_units"] == 250,
        "bob accepted 2.50: {accepted}"
    );
    wallet.key("Enter")?;
    wallet.wait_for("the pending packet in the list", |s| {
        s.contains("1 pending") && s.contains("2.50 DFC")
    })?;

    tracing::info!("--- both apps quit cleanly (terminal restored, exit status 0)");
    wallet.key("q")?;
    wallet.wait_text("EXITED 0")?;
    console.key("q")?;
    console.wait_text("EXITED 0")?;
    Ok(())
}
