//! Operator commands against a running node: issuance and redemption approvals, the registry,
//! proposals, the regulator's tool, and the signers that sign them (`--signer`).

use std::path::Path;
use std::sync::Arc;

use anyhow::{anyhow, bail, Result};
use dfc_central_bank::datadir::{self};
use dfc_client::BankClient;
use dfc_client::Operator;
use dfc_client::{DynSigner, Signer, SignerError};
use dfc_core::api::{OperatorAction, OperatorResponse};
use dfc_core::{Address, Amount, Hash32, NetworkParams, PublicKey, TxKind};

use crate::*;

pub(crate) async fn regulator_cmd(client: BankClient, key_path: &Path, json: bool) -> Result<()> {
    let key = datadir::read_regulator_key(key_path)?;
    let params = client.params().await?;
    let Some(rules) = &params.compliance else {
        bail!(
            "network {} has no compliance rules: nothing is disclosed",
            params.network_id
        );
    };
    // The regulator key can be rotated by k of n operators: a key reads the disclosures of the
    // heights where it was in force, and no others.
    let history = client.params_history().await?;
    let key_at = |height: u64| {
        history
            .at(height)
            .compliance
            .as_ref()
            .map(|c| c.regulator_key)
    };
    let ever = std::iter::once(history.genesis())
        .chain(history.changes().iter().map(|c| &c.change.params))
        .any(|p| p.compliance.as_ref().map(|c| c.regulator_key) == Some(key.public()));
    if !ever {
        bail!("this key is not the network's regulator key at any height");
    }
    if rules.regulator_key != key.public() {
        eprintln!(
            "note: this regulator key was rotated out; listing the heights where it was in force"
        );
    }
    // Blocks are served to named readers only: the regulator reads with the signing key derived
    // from the same seed, which `init` names among the auditors.
    let reader = datadir::read_regulator_read_key(key_path)?;
    if !params.auditors.contains(&reader.public().into()) {
        bail!("the regulator's read key is not among this network's auditors (made by an older `dfc-bank init`?)");
    }
    let client = client.with_reader(&params, reader);
    let mut payments = dfc_central_bank::regulator::fetch_disclosed(&client, &key).await?;
    payments.retain(|p| key_at(p.height) == Some(key.public()));
    if json {
        return print_json(&payments);
    }
    println!(
        "{} disclosed payment(s) at or above {}",
        payments.len(),
        params.format(rules.reporting_threshold)
    );
    for p in &payments {
        let amount = p
            .amount
            .map(|a| params.format(a))
            .unwrap_or_else(|| "does not decrypt".into());
        println!(
            "height {:>6}  tx {}  output {}  to {}  {}",
            p.height,
            p.txid,
            p.output,
            hex::encode(p.recipient.to_bytes()),
            amount
        );
    }
    Ok(())
}

/// Signs a registry action (freeze, unfreeze, set tier) as the operator and shows the answer.
/// The registry version a registry change is made against: the one given, or the record's
/// current one read from the node now.
pub(crate) async fn registry_version_of(
    client: &BankClient,
    wallet: &PublicKey,
    given: Option<u64>,
) -> Result<u64> {
    match given {
        Some(v) => Ok(v),
        None => Ok(client.wallet(wallet).await?.registry_version),
    }
}

/// Sends the registry change `action` builds for the target wallet, at the registry version
/// given or, without one, the version the node reports just before.
async fn registry_change(
    client: &BankClient,
    params: &NetworkParams,
    op: &OpArgs,
    target: &RegistryTarget,
    json: bool,
    action: impl FnOnce(PublicKey, u64) -> OperatorAction,
) -> Result<()> {
    let wallet = parse_wallet(&target.wallet)?;
    let registry_version = registry_version_of(client, &wallet, target.registry_version).await?;
    registry_action(client, params, op, action(wallet, registry_version), json).await
}

pub(crate) async fn registry_action(
    client: &BankClient,
    params: &NetworkParams,
    op: &OpArgs,
    action: OperatorAction,
    json: bool,
) -> Result<()> {
    let operator = operator_of(op, params)?;
    let r = client
        .operator(&operator.try_request(params, action)?)
        .await?;
    show_response(&r, params, json)
}

/// An operator whose signatures go through the signer a command names (`--signer`): a key
/// file or a PKCS#11 token, one code path ([`Operator::try_request`] and friends).
pub(crate) type CliOperator = Operator<Arc<DynSigner>>;

/// Opens the signer of `op`: `--signer`/`--key`/`DFC_SIGNER` (a key file or a PKCS#11 URI), or
/// a sandbox's `--data DIR --operator N` key file; with `auditor_ok`, a sandbox directory alone
/// reads with its auditor key.
pub(crate) fn signer_of(op: &OpArgs, auditor_ok: bool) -> Result<Arc<DynSigner>> {
    Ok(match (&op.key, &op.data, op.operator) {
        (Some(_), _, Some(_)) => bail!(
            "give --signer (or --key, or DFC_SIGNER) or --data DIR --operator N, not both"
        ),
        (Some(spec), _, None) => dfc_client::keyfile::open_signer(spec)?,
        (None, Some(d), Some(n)) => {
            dfc_client::keyfile::open_key_file(&datadir::operator_key_path(d, n))?
        }
        // A sandbox directory alone: read with its auditor key, which may read and sign nothing.
        (None, Some(d), None) if auditor_ok && datadir::auditor_key_path(d, 0).exists() => {
            dfc_client::keyfile::open_key_file(&datadir::auditor_key_path(d, 0))?
        }
        _ if auditor_ok => bail!(
            "operator commands and listings need a key: give --signer FILE|PKCS11-URI (an operator or auditor key), or --data DIR for a sandbox"
        ),
        _ => bail!(
            "give the operator's signer with --signer FILE|PKCS11-URI (or --data DIR --operator N for a sandbox)"
        ),
    })
}

/// The signer of this command's reads: the operator's, or an auditor key (listings need one of
/// the two; see docs/api.md).
pub(crate) fn reader_of(op: &OpArgs, params: &NetworkParams) -> Result<Arc<DynSigner>> {
    let signer = signer_of(op, true)?;
    let public = signer.public();
    if !params.issuers.contains(&public) && !params.auditors.contains(&public) {
        bail!(
            "{} is neither an operator nor an auditor key of this network (its key: {public})",
            signer.describe()
        );
    }
    Ok(signer)
}

pub(crate) fn operator_of(op: &OpArgs, params: &NetworkParams) -> Result<CliOperator> {
    let signer = signer_of(op, false)?;
    let (what, public) = (signer.describe(), signer.public());
    Operator::find(params, signer).ok_or_else(|| {
        anyhow!("{what} is not one of this network's operator keys (its key: {public})")
    })
}

/// A proposal's build or signing failure, the signer's kept as its own type (for its code).
pub(crate) fn propose_err(e: dfc_client::ProposeError<SignerError>) -> anyhow::Error {
    match e {
        dfc_client::ProposeError::Build(b) => b.into(),
        dfc_client::ProposeError::Sign(s) => s.into(),
    }
}

pub(crate) fn parse_wallet(text: &str) -> Result<PublicKey> {
    if let Ok(addr) = text.parse::<Address>() {
        return Ok(addr.spend);
    }
    let h = Hash32::from_hex(text)
        .map_err(|e| anyhow!("'{text}' is neither an address nor a hex spend key: {e}"))?;
    Ok(PublicKey::from_bytes(&h.0)?)
}

pub(crate) fn show_response(
    r: &OperatorResponse,
    params: &NetworkParams,
    json: bool,
) -> Result<()> {
    if json {
        return print_json(&cli_out::response_json(r, params));
    }
    println!("{}", r.message);
    if let Some(p) = &r.proposal {
        println!(
            "proposal {}: {} {} ({} of {} approvals, {})",
            p.txid,
            p.kind.name(),
            params.format(p.amount),
            p.approvals.len(),
            p.threshold,
            p.state
        );
    }
    if let Some(rc) = &r.receipt {
        println!(
            "committed at height {} in block {}",
            rc.height, rc.block_hash
        );
    }
    Ok(())
}

pub(crate) async fn operator_cmd(cmd: Cmd) -> Result<()> {
    let op_args = match &cmd {
        Cmd::Issue {
            cmd: IssueCmd::Propose { op, .. } | IssueCmd::Approve { op, .. },
        } => op.clone(),
        Cmd::Redeem {
            cmd: RedeemCmd::Approve { op, .. },
        } => op.clone(),
        Cmd::Proposals(op) | Cmd::Evidence { op, .. } => op.clone(),
        Cmd::Wallet {
            cmd:
                WalletCmd::List(op)
                | WalletCmd::Freeze { op, .. }
                | WalletCmd::Unfreeze { op, .. }
                | WalletCmd::SetTier { op, .. },
        } => op.clone(),
        Cmd::Init(_)
        | Cmd::Serve { .. }
        | Cmd::Audit { .. }
        | Cmd::PgImport { .. }
        | Cmd::Assess { .. }
        | Cmd::Regulator { .. }
        | Cmd::Governance { .. }
        | Cmd::Keys { .. }
        | Cmd::NodeKeyNew { .. }
        | Cmd::Checkpoint { .. } => {
            bail!("not an operator command")
        }
    };
    let client = op_args.client()?;
    let params = client.params().await?;
    let json = op_args.json;
    // Every operator command reads something only operators may (a listing, or the registry
    // record a registry change is decided on), so its reads are signed with the operator key or
    // the auditor key given.
    let client = client.with_read_signer(&params, reader_of(&op_args, &params)?);
    match cmd {
        Cmd::Proposals(_) => {
            let list = client.proposals().await?;
            if json {
                let list: Vec<_> = list
                    .iter()
                    .map(|p| cli_out::proposal_json(p, &params))
                    .collect();
                return print_json(&list);
            }
            for p in &list {
                print_proposal(p, &params);
            }
        }
        Cmd::Wallet {
            cmd: WalletCmd::List(_),
        } => {
            let list = client.wallets().await?;
            if json {
                return print_json(&list);
            }
            let evidence = client.evidence(None, None).await?;
            for w in list {
                println!(
                    "{}  tier {}  {}  flags {}  registry version {}  {}  {}",
                    hex::encode(w.address.spend.to_bytes()),
                    w.tier,
                    if w.frozen { "FROZEN" } else { "active" },
                    w.flags,
                    w.registry_version,
                    w.label,
                    w.address
                );
                if let Some(reason) = &w.freeze_reason {
                    println!("    frozen because: {reason}");
                }
                for e in evidence.iter().filter(|e| e.wallet == w.address.spend) {
                    println!(
                        "    double spend: evidence {} (purse certificate {}, note {}, committed {}, refused {})",
                        e.id, e.serial, e.note, e.committed_txid, e.conflicting_txid
                    );
                }
            }
        }
        Cmd::Evidence { wallet, .. } => {
            let wallet = wallet.as_deref().map(parse_wallet).transpose()?;
            let list = client.evidence(wallet.as_ref(), None).await?;
            if json {
                return print_json(&list);
            }
            if list.is_empty() {
                println!("No double-spend evidence.");
            }
            for e in list {
                let verdict = match e.evidence.verify(&params.node_key) {
                    Ok(()) => "verified".to_string(),
                    Err(err) => format!("DOES NOT VERIFY: {err}"),
                };
                println!(
                    "evidence {}\n  wallet {}  purse certificate {}  ({verdict})\n  note {} spent by committed {} and refused {}",
                    e.id,
                    hex::encode(e.wallet.to_bytes()),
                    e.serial,
                    e.note,
                    e.committed_txid,
                    e.conflicting_txid
                );
            }
        }
        Cmd::Issue {
            cmd: IssueCmd::Propose { op, to, amount },
        } => {
            let operator = operator_of(&op, &params)?;
            let to: Address = to.parse().map_err(|e| anyhow!("--to: {e}"))?;
            let amount =
                Amount::parse(&amount, params.decimals).map_err(|e| anyhow!("--amount: {e}"))?;
            let (_, req) = operator
                .try_propose_issue(&params, &to, amount)
                .map_err(propose_err)?;
            let r = client.operator(&req).await?;
            show_response(&r, &params, json)?;
        }
        Cmd::Issue {
            cmd: IssueCmd::Approve { op, txid, yes },
        } => approve(&client, &params, &op, &txid, TxKind::Issue, json || yes).await?,
        Cmd::Redeem {
            cmd: RedeemCmd::Approve { op, txid, yes },
        } => approve(&client, &params, &op, &txid, TxKind::Redeem, json || yes).await?,
        Cmd::Wallet {
            cmd: WalletCmd::Freeze { op, target, reason },
        } => {
            registry_change(
                &client,
                &params,
                &op,
                &target,
                json,
                |wallet, registry_version| OperatorAction::Freeze {
                    wallet,
                    reason,
                    registry_version,
                },
            )
            .await?
        }
        Cmd::Wallet {
            cmd: WalletCmd::Unfreeze { op, target, reason },
        } => {
            registry_change(
                &client,
                &params,
                &op,
                &target,
                json,
                |wallet, registry_version| OperatorAction::Unfreeze {
                    wallet,
                    reason,
                    registry_version,
                },
            )
            .await?
        }
        Cmd::Wallet {
            cmd: WalletCmd::SetTier { op, target, tier },
        } => {
            registry_change(
                &client,
                &params,
                &op,
                &target,
                json,
                |wallet, registry_version| OperatorAction::SetTier {
                    wallet,
                    tier,
                    registry_version,
                },
            )
            .await?
        }
        Cmd::Init(_)
        | Cmd::Serve { .. }
        | Cmd::Audit { .. }
        | Cmd::PgImport { .. }
        | Cmd::Assess { .. }
        | Cmd::Regulator { .. }
        | Cmd::Governance { .. }
        | Cmd::Keys { .. }
        | Cmd::NodeKeyNew { .. }
        | Cmd::Checkpoint { .. } => {
            bail!("not an operator command")
        }
    }
    Ok(())
}

/// Prints a proposal with every output's recipient and amount: what an approver signs.
pub(crate) fn print_proposal(p: &dfc_core::api::Proposal, params: &NetworkParams) {
    let by = p
        .proposed_by
        .map(|o| format!("operator {o}"))
        .unwrap_or_else(|| "its wallet".into());
    println!(
        "{}  {:<6} {:>16}  {}/{}  {}  proposed by {by}{}",
        p.txid,
        p.kind.name(),
        params.format(p.amount),
        p.approvals.len(),
        p.threshold,
        p.state,
        if p.expires_ms == 0 {
            String::new()
        } else {
            format!(", expires {}", dfc_core::time::utc_text(p.expires_ms))
        }
    );
    for o in &p.outputs {
        let who = match (&o.label, &o.address) {
            (Some(l), Some(a)) if !l.is_empty() => format!("{l} {a}"),
            (_, Some(a)) => a.to_string(),
            _ => format!("unregistered key {}", hex::encode(o.owner.to_bytes())),
        };
        println!(
            "    output {}: {:>16}  to {who}{}",
            o.index,
            o.amount
                .map(|a| params.format(a))
                .unwrap_or_else(|| "hidden".into()),
            if o.frozen { "  (FROZEN)" } else { "" }
        );
    }
}

/// Approves proposal `txid` of `kind` as the operator of `op`, after printing every output; at a
/// terminal it asks first unless `confirmed` (`--yes` or `--json`).
pub(crate) async fn approve(
    client: &BankClient,
    params: &NetworkParams,
    op: &OpArgs,
    txid: &str,
    kind: TxKind,
    confirmed: bool,
) -> Result<()> {
    let json = op.json;
    let operator = operator_of(op, params)?;
    let txid = Hash32::from_hex(txid).map_err(|e| anyhow!("transaction id: {e}"))?;
    let detail = client.proposal(&txid).await?;
    if detail.proposal.kind != kind {
        bail!(
            "{txid} is a {} proposal, not {}",
            detail.proposal.kind.name(),
            kind.name()
        );
    }
    if detail.tx.id() != txid {
        bail!("the node returned a transaction whose id is not {txid}");
    }
    // A pending proposal this operator already signed: a second approval would count for
    // nothing. (Other states are the node's to refuse, with its own code.)
    if detail.proposal.state == "pending" && detail.proposal.approvals.contains(&operator.index) {
        return Err(CliError::AlreadyApproved {
            operator: operator.index,
            txid: txid.to_hex(),
            approvals: detail.proposal.approvals.len(),
            threshold: detail.proposal.threshold,
        }
        .into());
    }
    if !json {
        println!("approving:");
        print_proposal(&detail.proposal, params);
    }
    if !confirmed && std::io::IsTerminal::is_terminal(&std::io::stdin()) {
        print!(
            "approve this {} as operator {}? [y/N] ",
            kind.name(),
            operator.index
        );
        std::io::Write::flush(&mut std::io::stdout())?;
        let mut answer = String::new();
        std::io::stdin().read_line(&mut answer)?;
        if !matches!(answer.trim(), "y" | "Y" | "yes") {
            return Err(CliError::NotConfirmed.into());
        }
    }
    let r = client
        .operator(&operator.try_approve(params, &txid)?)
        .await?;
    show_response(&r, params, json)
}
