//! A light wallet that was away (issue 18, history proofs), against the real binaries: while
//! other wallets transact over many blocks, the wallet is paid once; when it syncs it gets
//! exactly its note, and the number of headers it downloads does not grow with the blocks it
//! missed (one signed anchor per answer plus the headers of its own blocks). A lying node that
//! rewrites a header (re-signed with the node's own key) or sends a bad history proof is caught
//! with `bad_light_sync`, and the wallet is unchanged; so is one that withholds the co-signed
//! checkpoint once the wallet has verified one.

use anyhow::{ensure, Context, Result};
use dfc_central_bank::datadir;
use dfc_core::light::LightSync;

use crate::bank::Bank;
use crate::cli::WalletCli;
use crate::light::load;
use crate::omission::lying_node;

/// Bob pays alice `amount` while others make `others` payments before and after; alice then
/// syncs. Returns (blocks alice covered, headers she downloaded).
fn away(
    ops: &Bank,
    alice: &WalletCli,
    bob: &WalletCli,
    others: usize,
    amount_units: u64,
) -> Result<(u64, u64)> {
    let before = alice.total()?;
    load(ops, others)?;
    bob.ok(&["sync"])?;
    let a_addr = alice.address()?;
    let amount = format!("{}.{:02}", amount_units / 100, amount_units % 100);
    bob.ok(&["pay", "--to", &a_addr, "--amount", &amount])?;
    load(ops, others)?;
    let report = alice.ok(&["sync"])?;
    ensure!(report["notes_received"] == 1, "exactly her note: {report}");
    ensure!(
        alice.total()? == before + amount_units,
        "exactly her payment: {report}"
    );
    let blocks = report["blocks"].as_u64().context("blocks")?;
    let headers = report["headers_downloaded"]
        .as_u64()
        .context("headers_downloaded")?;
    tracing::info!(others, blocks, headers, "alice was away");
    Ok((blocks, headers))
}

/// Runs the scenario; alice has synced, bob holds funds.
pub fn run(ops: &Bank, alice: &WalletCli, bob: &WalletCli, others: usize) -> Result<()> {
    tracing::info!("--- alice is away while others transact; she syncs and gets exactly her note");
    alice.ok(&["sync"])?;
    let (blocks1, headers1) = away(ops, alice, bob, others, 100)?;
    tracing::info!("--- away twice as long: as many headers, more blocks");
    let (blocks2, headers2) = away(ops, alice, bob, 2 * others, 101)?;
    // Per sync: the block paying her, the claim of it, and an anchor per answer.
    ensure!(
        headers1 <= 4 && headers2 <= 4,
        "headers downloaded ({headers1}, {headers2}) grow with her own blocks only"
    );
    ensure!(
        blocks2 > blocks1 && blocks1 > headers1,
        "she covered {blocks1} then {blocks2} blocks with {headers1} and {headers2} headers"
    );

    tracing::info!(
        "--- a lying node rewrites a header or the history proof: caught, nothing applied"
    );
    let params = datadir::load_params(ops.data())?;
    let node = datadir::read_key(&ops.data().join("node.key"))?;
    let rt = tokio::runtime::Runtime::new()?;
    bob.ok(&["sync"])?;
    bob.ok(&["pay", "--to", &alice.address()?, "--amount", "1.02"])?;
    load(ops, others)?;
    let signer = node.clone();
    // The block paying alice, rewritten and re-signed by the node key: its signature verifies,
    // but its hash is not in the anchor's history.
    let rewrite = lying_node(
        &rt,
        ops.url(),
        node.clone(),
        params.network_id,
        move |a: &mut LightSync| {
            if let Some(h) = a.headers.first_mut() {
                h.header.time_ms += 1;
                h.signature = signer.sign(&h.header.hash().0);
            }
        },
    )?;
    let bad_proof = lying_node(
        &rt,
        ops.url(),
        node,
        params.network_id,
        |a: &mut LightSync| {
            if let Some(item) = a.history_proof.items.first_mut() {
                item.0[0] ^= 1;
            }
        },
    )?;
    for liar in [&rewrite, &bad_proof] {
        let msg = crate::refused(alice, &["--bank", liar, "sync"], &[], "bad_light_sync")?;
        ensure!(msg.contains("history proof"), "{msg}");
    }
    tracing::info!("--- the honest node: her payment arrives");
    let before = alice.total()?;
    let report = alice.ok(&["sync"])?;
    ensure!(report["notes_received"] == 1, "{report}");
    ensure!(alice.total()? == before + 102, "{report}");

    tracing::info!("--- a co-signed checkpoint seen once must be in every later answer");
    for op in [0, 1] {
        ops.operator(op, &["checkpoint", "sign"])?;
    }
    bob.ok(&["sync"])?;
    bob.ok(&["pay", "--to", &alice.address()?, "--amount", "1.03"])?;
    alice.ok(&["sync"])?;
    bob.ok(&["sync"])?;
    bob.ok(&["pay", "--to", &alice.address()?, "--amount", "1.04"])?;
    load(ops, others)?;
    // The answer without its checkpoint, otherwise as the node made it, re-signed by the node
    // key: refused before any proof is checked.
    let withholder = lying_node(
        &rt,
        ops.url(),
        datadir::read_key(&ops.data().join("node.key"))?,
        params.network_id,
        |a: &mut LightSync| a.checkpoint = None,
    )?;
    let before = alice.total()?;
    let msg = crate::refused(
        alice,
        &["--bank", &withholder, "sync"],
        &[],
        "bad_light_sync",
    )?;
    ensure!(msg.contains("checkpoint withheld"), "{msg}");
    ensure!(alice.total()? == before, "nothing applied");
    let report = alice.ok(&["sync"])?;
    ensure!(
        alice.total()? == before + 104,
        "the honest node's answer applies: {report}"
    );
    Ok(())
}
