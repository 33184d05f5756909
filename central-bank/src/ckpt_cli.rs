//! `dfc-bank checkpoint`: an operator co-signs points of the chain (`sign`, or `watch --every N`
//! on an unattended operator machine) and anyone lists them (`list`, whose `--json` output
//! `dfc-bank audit --cosigned FILE` reads back).
//!
//! Before signing, the operator's machine checks what it signs: the parameter history decodes
//! only if every change in it carries k approvals; the block at the height is signed by the node
//! key in force at that height and its hash is the one signed. What is signed is recomputed here
//! ([`ChainPoint::digest`]), never taken from the node.

use std::time::Duration;

use anyhow::{bail, Result};
use clap::Subcommand;
use dfc_client::BankClient;
use dfc_core::cosign::{ChainPoint, CheckpointSignature, CosignResponse};
use dfc_core::governance::ParamsHistory;
use dfc_core::IssuerSignature;
use serde_json::json;

use crate::{operator_of, print_json, CliOperator, OpArgs};

/// Checkpoint subcommands.
#[derive(Subcommand)]
pub enum CkptCmd {
    /// Co-sign the block at a height (default: the tip) as this operator.
    Sign {
        #[command(flatten)]
        op: OpArgs,
        /// Height of the block to co-sign (default: the tip).
        #[arg(long)]
        height: Option<u64>,
    },
    /// Co-sign every N-th block as the chain grows (heights that are multiples of N), polling the
    /// node; for unattended operator machines. Runs until stopped.
    Watch {
        #[command(flatten)]
        op: OpArgs,
        /// Co-sign heights that are multiples of this.
        #[arg(long, default_value_t = 100)]
        every: u64,
        /// Seconds between polls.
        #[arg(long, default_value_t = 5)]
        poll_secs: u64,
    },
    /// List the checkpoints the node stores, with their signatures.
    List(OpArgs),
}

/// Checks the block at `height` and signs its point as `operator`.
async fn sign_at(
    client: &BankClient,
    history: &ParamsHistory,
    operator: &CliOperator,
    height: u64,
) -> Result<CosignResponse> {
    let page = client.blocks(height, 1).await?;
    let Some(block) = page.blocks.into_iter().next() else {
        bail!("the node has no block {height} (tip {})", page.tip_height);
    };
    if block.header.height != height {
        bail!(
            "the node sent block {} for height {height}",
            block.header.height
        );
    }
    let params = history.at(height);
    if block.header.network != params.network_id || block.header.params_hash != params.hash() {
        bail!("block {height} is not sealed under this network's parameters at its height");
    }
    let hash = block.header.hash();
    if !params.node_key.verify(&hash.0, &block.signature) {
        bail!("block {height} is not signed by the node key in force at its height");
    }
    let g = history.genesis();
    let point = ChainPoint {
        network: g.network_id,
        genesis: g.genesis_hash,
        height,
        block_hash: hash,
    };
    let sig = CheckpointSignature {
        point,
        signature: IssuerSignature {
            index: operator.index,
            signature: operator.sign(&point.digest().0)?,
        },
    };
    Ok(client.cosign(&sig).await?)
}

fn show(r: &CosignResponse, threshold: usize, json: bool) -> Result<()> {
    let signers: Vec<u8> = r.checkpoint.signatures.iter().map(|s| s.index).collect();
    if json {
        return print_json(&json!({
            "height": r.checkpoint.point.height,
            "block_hash": r.checkpoint.point.block_hash,
            "signers": signers,
            "threshold": threshold,
            "anchored": r.anchored,
            "new": r.new,
        }));
    }
    println!(
        "block {} ({}): signed by operators {signers:?}, {} of {threshold} needed{}",
        r.checkpoint.point.height,
        r.checkpoint.point.block_hash,
        signers.len(),
        if r.anchored { ": co-signed" } else { "" }
    );
    Ok(())
}

/// Runs a checkpoint subcommand.
pub async fn run(cmd: CkptCmd) -> Result<()> {
    let op = match &cmd {
        CkptCmd::Sign { op, .. } | CkptCmd::Watch { op, .. } | CkptCmd::List(op) => op,
    };
    let client = op.client()?;
    let history = client.params_history().await?;
    // Blocks are served to operators and auditors only: reads are signed with the operator key.
    let client = client.with_read_signer(history.latest(), crate::reader_of(op, history.latest())?);
    let json = op.json;
    match cmd {
        CkptCmd::List(_) => {
            let list = client.cosigned(0).await?;
            if json {
                return print_json(&list);
            }
            if list.checkpoints.is_empty() {
                println!("No checkpoints signed yet.");
            }
            for c in &list.checkpoints {
                let signers: Vec<u8> = c.signatures.iter().map(|s| s.index).collect();
                let k = history.at(c.point.height).threshold;
                let state = match c.verify(&history) {
                    Ok(()) => "co-signed".to_string(),
                    Err(e) => format!("not in force: {e}"),
                };
                println!(
                    "block {} ({}): operators {signers:?} of {k} needed: {state}",
                    c.point.height, c.point.block_hash
                );
            }
        }
        CkptCmd::Sign { op, height } => {
            let operator = operator_of(&op, history.latest())?;
            let height = match height {
                Some(h) => h,
                None => client.blocks(0, 0).await?.tip_height,
            };
            let r = sign_at(&client, &history, &operator, height).await?;
            show(&r, history.at(height).threshold, json)?;
        }
        CkptCmd::Watch {
            op,
            every,
            poll_secs,
        } => {
            if every == 0 {
                bail!("--every must be at least 1");
            }
            let mut last = None;
            loop {
                // The history is read again each round: operators and k change by governance.
                let history = client.params_history().await?;
                let operator = operator_of(&op, history.latest())?;
                let tip = client.blocks(0, 0).await?.tip_height;
                let target = tip - tip % every;
                if target > 0 && last.is_none_or(|l| target > l) {
                    match sign_at(&client, &history, &operator, target).await {
                        Ok(r) => {
                            show(&r, history.at(target).threshold, json)?;
                            last = Some(target);
                        }
                        Err(e) => eprintln!("checkpoint {target}: {e:#}"),
                    }
                }
                tokio::time::sleep(Duration::from_secs(poll_secs.max(1))).await;
            }
        }
    }
    Ok(())
}
