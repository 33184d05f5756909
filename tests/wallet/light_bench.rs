//! Figures for `docs/benchmarks.md` (issue 18), run only with `DFC_LIGHT_BENCH_TXS=N`: a synced
//! wallet receives 10 payments while `dfc-sim load` commits about N transfers among other wallets;
//! then its catch-up is measured three ways in the same run: light sync with history proofs (what
//! the wallet does), the previous light sync (the same transactions and proofs, with every signed
//! header of the range instead of an anchor, its own headers and one history proof), and full
//! sync (every block). Bytes are the JSON bodies as the node serves them; CPU is the wallet-side
//! verification, single thread, in this process. Nothing here is asserted on time.

use std::time::Instant;

use anyhow::{ensure, Context, Result};
use dfc_central_bank::datadir;
use dfc_core::block::verify_tx_proof;
use dfc_core::{Address, BlockHeader};

use crate::bank::Bank;
use crate::cli::WalletCli;
use crate::light::load;

fn us(d: std::time::Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

/// Runs the measurement if `DFC_LIGHT_BENCH_TXS` is set.
pub fn run(ops: &Bank, alice: &WalletCli, bob: &WalletCli) -> Result<()> {
    let Some(total) = std::env::var("DFC_LIGHT_BENCH_TXS")
        .ok()
        .and_then(|v| v.parse::<usize>().ok())
    else {
        return Ok(());
    };
    tracing::info!(
        total,
        "--- bench: 10 payments to alice among {total} others"
    );
    let params = datadir::load_params(ops.data())?;
    let reader = ops.node.client();
    let a_addr = alice.address()?;
    let alice_key = a_addr
        .parse::<Address>()
        .map_err(|e| anyhow::anyhow!("{e}"))?
        .spend;
    alice.ok(&["sync"])?;
    let start = ops.supply()?;
    for _ in 0..10 {
        load(ops, total / 10)?;
        bob.ok(&["sync"])?;
        bob.ok(&["pay", "--to", &a_addr, "--amount", "0.01"])?;
    }
    let end = ops.supply()?;
    let (tip, txs) = (end.height, end.tx_count - start.tx_count);
    let blocks = tip - start.height;

    // Light sync with history proofs, from alice's tip.
    let mut prev: BlockHeader = ops
        .block_on(reader.light_headers(start.height, 1))?
        .headers
        .first()
        .context("alice's tip header")?
        .header
        .clone();
    let (mut new_bytes, mut new_cpu, mut answers) = (0usize, 0u64, 0u64);
    let (mut header_bytes, mut proof_bytes, mut proof_items, mut headers) = (0, 0, 0, 0);
    let mut all_txs = Vec::new();
    let mut from = start.height + 1;
    loop {
        let a = ops.block_on(reader.light_sync(&alice_key, from))?;
        new_bytes += serde_json::to_vec(&a)?.len();
        let t = Instant::now();
        let verified = a
            .verify(&alice_key, from, Some(&prev), &params)
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        new_cpu += us(t.elapsed());
        answers += 1;
        headers += verified.len();
        for sh in a.headers.iter().chain(a.anchor.iter()) {
            header_bytes += serde_json::to_vec(sh)?.len();
        }
        proof_bytes += serde_json::to_vec(&a.history_proof)?.len();
        proof_items += a.history_proof.items.len();
        prev = verified.last().context("an anchor")?.0.header.clone();
        all_txs.extend(a.txs.clone());
        from = a.to + 1;
        if a.to >= a.tip_height {
            break;
        }
    }
    ensure!(
        all_txs.len() >= 10,
        "alice's 10 payments: {}",
        all_txs.len()
    );

    // The previous light sync: every header of the range, chained, and the same proofs.
    let mut range_headers = Vec::new();
    while (range_headers.len() as u64) < blocks {
        let page = ops
            .block_on(reader.light_headers(start.height + 1 + range_headers.len() as u64, 2000))?;
        ensure!(!page.headers.is_empty(), "headers up to the tip");
        range_headers.extend(page.headers);
    }
    let all_header_bytes: usize = range_headers
        .iter()
        .map(|h| serde_json::to_vec(h).map(|v| v.len() + 1))
        .sum::<Result<usize, _>>()?;
    let old_bytes = new_bytes - header_bytes - proof_bytes + all_header_bytes;
    let t = Instant::now();
    let mut last = prev_at(&reader, ops, start.height)?;
    for sh in &range_headers {
        sh.header
            .check_link(&sh.signature, Some(&last), &params.node_key)
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        last = sh.header.clone();
    }
    for p in &all_txs {
        let i = usize::try_from(p.height - start.height - 1)?;
        ensure!(verify_tx_proof(&range_headers[i].header, &p.tx, &p.proof));
    }
    let old_cpu = us(t.elapsed());

    // Full sync: every block of the range, checked (link, signature, root) before the scan.
    let (mut full_bytes, mut full_blocks) = (0usize, Vec::new());
    while (full_blocks.len() as u64) < blocks {
        let page = ops.block_on(reader.blocks(start.height + 1 + full_blocks.len() as u64, 500))?;
        ensure!(!page.blocks.is_empty(), "blocks up to the tip");
        full_bytes += serde_json::to_vec(&page)?.len();
        full_blocks.extend(page.blocks);
    }
    let t = Instant::now();
    let mut last = prev_at(&reader, ops, start.height)?;
    for b in &full_blocks {
        b.check_link(Some(&last), &params.node_key)
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        last = b.header.clone();
    }
    let full_cpu = us(t.elapsed());
    tracing::info!(
        txs,
        blocks,
        answers,
        headers,
        proof_items,
        proof_bytes,
        header_bytes,
        avg_header_bytes = all_header_bytes / range_headers.len().max(1),
        new_bytes,
        old_bytes,
        full_bytes,
        new_cpu_us = new_cpu,
        old_cpu_us = old_cpu,
        full_cpu_us = full_cpu,
        "bench: catch-up after 10 payments"
    );
    println!(
        "LIGHT_BENCH txs={txs} blocks={blocks} answers={answers} headers={headers} \
         proof_items={proof_items} proof_bytes={proof_bytes} header_bytes={header_bytes} \
         avg_header_bytes={} new_bytes={new_bytes} old_bytes={old_bytes} full_bytes={full_bytes} \
         new_cpu_us={new_cpu} old_cpu_us={old_cpu} full_cpu_us={full_cpu}",
        all_header_bytes / range_headers.len().max(1)
    );
    Ok(())
}

fn prev_at(
    reader: &dfc_central_bank::client::BankClient,
    ops: &Bank,
    height: u64,
) -> Result<BlockHeader> {
    Ok(ops
        .block_on(reader.light_headers(height, 1))?
        .headers
        .first()
        .context("header")?
        .header
        .clone())
}
