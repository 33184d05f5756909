//! `dfc-bank governance`: propose, list and approve parameter changes, showing the diff of
//! every change before an operator signs it.

use std::path::PathBuf;

use anyhow::{anyhow, bail, Context, Result};
use clap::Subcommand;
use dfc_core::api::OperatorAction;
use dfc_core::governance::{diff, ChangeProposal, ParamsChange};
use dfc_core::{Hash32, IssuerSignature, NetworkParams};
use serde_json::json;

use crate::{operator_of, print_json, show_response, OpArgs};

/// Governance subcommands.
#[derive(Subcommand)]
pub enum GovCmd {
    /// List proposed parameter changes with their diff and approvals.
    Changes(OpArgs),
    /// Print the parameter history: genesis and every approved change.
    History(OpArgs),
    /// Propose new parameters (a complete `params.json`, e.g. `/v1/params` edited) in force from
    /// a height; counts as this operator's approval.
    Propose {
        #[command(flatten)]
        op: OpArgs,
        /// File with the complete new parameters (JSON, as `/v1/params` serves them).
        #[arg(long)]
        params: PathBuf,
        /// First block height sealed under the new parameters (above the tip).
        #[arg(long)]
        height: u64,
    },
    /// Approve a proposed change: shows its diff first and, at a terminal, asks for
    /// confirmation.
    Approve {
        #[command(flatten)]
        op: OpArgs,
        /// The change's digest (from `governance changes`).
        digest: String,
        /// Approve without asking (scripts; `--json` never asks either).
        #[arg(long)]
        yes: bool,
    },
}

fn print_diff(before: &NetworkParams, after: &NetworkParams) {
    for f in diff(before, after) {
        println!("  {:<28} {} -> {}", f.field, f.before, f.after);
    }
}

fn change_json(p: &ChangeProposal, before: &NetworkParams) -> serde_json::Value {
    json!({
        "digest": p.digest,
        "state": p.state,
        "effective_height": p.change.effective_height,
        "approvals": p.approvals,
        "threshold": p.threshold,
        "proposed_by": p.proposed_by,
        "expires_ms": p.expires_ms,
        "diff": diff(before, &p.change.params),
    })
}

/// Runs a governance subcommand.
pub async fn run(cmd: GovCmd) -> Result<()> {
    let op = match &cmd {
        GovCmd::Changes(op) | GovCmd::History(op) => op,
        GovCmd::Propose { op, .. } | GovCmd::Approve { op, .. } => op,
    };
    let client = op.client()?;
    let history = client.params_history().await?;
    let latest = history.latest().clone();
    let json = op.json;
    match cmd {
        GovCmd::History(_) => print_json(&history)?,
        GovCmd::Changes(_) => {
            let list = client.param_changes().await?;
            if json {
                let v: Vec<_> = list.iter().map(|p| change_json(p, &latest)).collect();
                return print_json(&v);
            }
            if list.is_empty() {
                println!("No parameter changes proposed.");
            }
            for p in &list {
                println!(
                    "change {}  {}  from height {}  approvals {:?} of {} needed",
                    p.digest, p.state, p.change.effective_height, p.approvals, p.threshold
                );
                print_diff(&latest, &p.change.params);
            }
        }
        GovCmd::Propose { op, params, height } => {
            let operator = operator_of(&op, &latest)?;
            let text = std::fs::read_to_string(&params)
                .with_context(|| format!("reading {}", params.display()))?;
            let new: NetworkParams = serde_json::from_str(&text)
                .with_context(|| format!("{} is not network parameters", params.display()))?;
            let change = ParamsChange {
                base_hash: latest.hash(),
                effective_height: height,
                params: new,
            };
            history
                .check_next(&change)
                .map_err(|e| anyhow!("this change cannot follow the rules in force: {e}"))?;
            if !json {
                println!("proposing, in force from height {height}:");
                print_diff(&latest, &change.params);
            }
            let digest = change.digest();
            let approval = IssuerSignature {
                index: operator.index,
                signature: operator.sign(&digest.0)?,
            };
            let req = operator
                .try_request(&latest, OperatorAction::ProposeChange { change, approval })?;
            let r = client.operator(&req).await?;
            if json {
                return print_json(&json!({ "digest": digest, "message": r.message }));
            }
            show_response(&r, &latest, false)?;
        }
        GovCmd::Approve { op, digest, yes } => {
            let operator = operator_of(&op, &latest)?;
            let digest = Hash32::from_hex(&digest).map_err(|e| anyhow!("digest: {e}"))?;
            let list = client.param_changes().await?;
            let Some(p) = list.iter().find(|p| p.digest == digest) else {
                bail!("the node lists no parameter change {digest}");
            };
            // What is signed is recomputed here from what is shown, never taken from the node.
            if p.change.digest() != digest {
                bail!("the node returned a change whose digest is not {digest}");
            }
            if !json {
                println!(
                    "approving change {digest} ({}), in force from height {}:",
                    p.state, p.change.effective_height
                );
                print_diff(&latest, &p.change.params);
            }
            if !(yes || json) && std::io::IsTerminal::is_terminal(&std::io::stdin()) {
                print!("approve this change as operator {}? [y/N] ", operator.index);
                std::io::Write::flush(&mut std::io::stdout())?;
                let mut answer = String::new();
                std::io::stdin().read_line(&mut answer)?;
                if !matches!(answer.trim(), "y" | "Y" | "yes") {
                    return Err(crate::cli_out::CliError::NotConfirmed.into());
                }
            }
            let approval = IssuerSignature {
                index: operator.index,
                signature: operator.sign(&digest.0)?,
            };
            let req = operator
                .try_request(&latest, OperatorAction::ApproveChange { digest, approval })?;
            let r = client.operator(&req).await?;
            if json {
                return print_json(&json!({ "digest": digest, "message": r.message }));
            }
            show_response(&r, &latest, false)?;
        }
    }
    Ok(())
}
